// Sysop tools: /broadcast, /kick, /nodes, /reload; refused to everyone else.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

exports.tests = [
  {
    name: 'a non-sysop is refused every sysop command, and /help does not list them',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      for (const cmd of ['/broadcast hi all', '/kick bob', '/nodes', '/reload']) {
        a.input(cmd);
        await a.text(/Unknown command/, 'refused: ' + cmd);
      }
      await b.none((e) => e.type === 'chat' && e.kind === 'system', 200, 'no broadcast went out');
      assert(!b.closed, 'bob was not kicked');
      a.input('/help');
      const h = strip((await a.text(/Commands:/)).text);
      for (const c of ['/broadcast', '/kick', '/nodes', '/reload']) assert(!h.includes(c), 'hidden: ' + c);
    },
  },
  {
    name: 'a sysop broadcasts to every node, lists nodes with addresses, and kicks; each action is logged',
    fn: async ({ srv }) => {
      const root = await srv.chatter('root');
      const a = await srv.user('alice'); // at the menu: a broadcast reaches every node
      const tn = await srv.telnetUser('tess', { chat: true });
      root.input('/broadcast maintenance at noon');
      const got = await a.chat('system', { body: /maintenance at noon \(root\)/ });
      assert(got.text, 'rendered');
      await tn.expect(/maintenance at noon/);
      root.input('/nodes');
      const n = strip((await root.text(/Address/)).text);
      assert(/alice\s+\S*127\.0\.0\.1\s+Main Menu/.test(n), 'alice with address: ' + n);
      assert(/tess\s+\S*127\.0\.0\.1\s+In Chat\s+#lobby\s+\d+s\s+telnet/.test(n), 'tess via telnet: ' + n);
      root.input('/kick tess spamming');
      await tn.expect(/disconnected by root: spamming/);
      await tn.exited;
      await root.text(/Kicked tess/);
      await root.chat('leave', { from: 'tess' }, 'the room sees tess leave');
      await srv.waitLog(/"event":"kick","node":\d+,"addr":"[^"]+","msg":"root kicked tess: spamming"/);
      await srv.waitLog(/"event":"sysop".*root broadcast to 3 nodes: maintenance at noon/);
      await srv.waitLog(/root listed the nodes/);
    },
  },
];
