// Sysop tools: /broadcast, /kick, /nodes, /reload; refused to everyone else.
'use strict';
const net = require('net');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

exports.tests = [
  {
    name: 'a non-sysop is refused every sysop command, and /help does not list them',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      for (const cmd of ['/broadcast hi all', '/kick bob', '/nodes', '/reload', '/ban bob', '/unban bob', '/bans',
        '/spy 1', '/sysop alice on', '/level alice 10']) {
        a.input(cmd);
        await a.text(/Unknown command/, 'refused: ' + cmd);
      }
      await b.none((e) => e.type === 'chat' && e.kind === 'system', 200, 'no broadcast went out');
      assert(!b.closed, 'bob was not kicked');
      a.input('/help');
      const h = strip((await a.text(/Commands:/)).text);
      for (const c of ['/broadcast', '/kick', '/nodes', '/reload', '/ban', '/spy', '/sysop']) assert(!h.includes(c), 'hidden: ' + c);
      a.input('/sysop alice on');
      await a.text(/Unknown command/);
      a.input('/quit');
      a.input('g');
      await a.closedP;
      const again = await srv.login('alice', a.password);
      eq((await again.waitFor((e) => e.type === 'auth')).sysop, false, 'still not a sysop');
    },
  },
  {
    name: 'a sysop broadcasts to every node, lists nodes with addresses, and kicks; each action is logged',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
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
  {
    name: 'a sysop bans a handle (kicked now, refused at login, its tokens revoked) and lifts it; a timed ban runs out',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const b = await srv.chatter('bob');
      const token = b.events.find((e) => e.type === 'auth').token;
      root.input('/ban root');
      await root.text(/cannot ban yourself/);
      // issue 13: the handle went into a pattern unescaped ("malformed pattern", a script error)
      for (const what of ['x(', 'a-a-a-%']) {
        root.input('/ban ' + what);
        await root.text(/is neither a handle nor an address/, 'refused in words: ' + what);
      }
      root.input('/ban Bob 2h spamming the lobby');
      const bye = await b.waitFor((e) => e.type === 'bye');
      eq(bye.reason, 'banned', 'bye reason');
      assert(/banned from this system until \d{4}-\d\d-\d\d \d\d:\d\d UTC: spamming the lobby/.test(bye.text), bye.text);
      await b.closedP;
      await root.text(/bob banned until .*: spamming the lobby \(1 node disconnected\)/);
      const again = await srv.login('bob', b.password);
      eq((await again.waitFor((e) => e.type === 'bye')).reason, 'banned', 'refused at login');
      await again.closedP;
      const byToken = new WsClient(srv.url('?token=' + token));
      srv.clients.push(byToken);
      const gone = await byToken.closedP;
      eq(gone.code, 1008, 'refused by token too');
      eq(gone.reason, 'token revoked', 'the ban revoked the tokens bob had');
      root.input('/bans');
      assert(/handle\s+bob\s+until .*root\s+spamming the lobby/.test(strip((await root.text(/Kind/)).text)), 'listed');
      root.input('/unban bob');
      await root.text(/bob is no longer banned/);
      const back = await srv.login('bob', b.password);
      await back.waitFor((e) => e.type === 'menu' && e.id === 'main', 'bob is back');
      root.input('/unban bob');
      await root.text(/bob is not banned/);
      root.input('/ban bob 1s');
      await back.waitFor((e) => e.type === 'bye' && e.reason === 'banned');
      await sleep(1100);
      const later = await srv.login('bob', b.password);
      await later.waitFor((e) => e.type === 'menu' && e.id === 'main', 'the 1 s ban ran out');
      await srv.waitLog(/"event":"ban".*root banned bob until .*: spamming the lobby/);
      await srv.waitLog(/"event":"ban".*root lifted the ban on bob/);
    },
  },
  {
    name: 'an address ban closes that address\'s nodes and refuses it at connect; the sysop cannot ban their own',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const far = await srv.user('faraway', undefined, { localAddress: '127.0.0.2' });
      const near = await srv.chatter('neighbour');
      root.input('/ban 127.0.0.1');
      await root.text(/would ban your own address/);
      root.input('/ban 127.0.0.* 1h');
      await root.text(/would ban your own address/);
      root.input('/ban 127.0.0.2 1h open proxy');
      eq((await far.waitFor((e) => e.type === 'bye')).reason, 'banned', 'the node on that address');
      await root.text(/address 127\.0\.0\.2 banned until .*: open proxy \(1 node disconnected\)/);
      const knock = new WsClient(srv.url(), { localAddress: '127.0.0.2' });
      srv.clients.push(knock);
      const refused = await knock.closedP;
      eq(refused.code, 1008, 'refused at accept');
      eq(refused.reason, 'banned', 'with a short reason');
      assert(!knock.events.length, 'no session, no prompt for a banned address');
      const tn = await srv.telnet(); // telnet from 127.0.0.1 still gets in
      tn.close();
      assert(!near.closed, 'another address is untouched');
      root.input('/unban 127.0.0.2');
      await root.text(/127\.0\.0\.2 is no longer banned/);
      const ok = await srv.ws(undefined, { localAddress: '127.0.0.2' });
      await ok.waitFor((e) => e.type === 'prompt', 'allowed again');
    },
  },
  {
    name: 'an address ban holds for every way in: a token, a resume, telnet; all refused at accept (issue 9.2)',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const vic = await srv.user('vic', undefined, { localAddress: '127.0.0.5' });
      const vicAuth = vic.events.find((e) => e.type === 'auth');
      const tok = (await srv.user('tok', undefined, { localAddress: '127.0.0.6' })).events.find((e) => e.type === 'auth').token;
      // vic also on a second connection, from the range about to be banned
      const roaming = await srv.ws(`?resume=${vicAuth.session}&last_seq=0&token=${vicAuth.token}`, { localAddress: '127.0.9.9' });
      await roaming.waitFor((e) => e.type === 'hello' && e.resumed);
      root.input('/ban 127.0.9.* 1h test range');
      await root.text(/address 127\.0\.9\.\* banned until .*: test range/);
      const cut = await roaming.closedP;
      eq(cut.code, 1008, 'an open connection from the range is closed too');
      eq(cut.reason, 'banned', 'reason');
      const knock = async (query, from) => {
        const c = new WsClient(srv.url(query), { localAddress: from });
        srv.clients.push(c);
        const closed = await c.closedP;
        eq(closed.code, 1008, 'refused: ' + query);
        eq(closed.reason, 'banned', 'reason for ' + query);
        assert(!c.events.length, 'nothing at all for a banned address: ' + JSON.stringify(c.events[0]));
      };
      await knock('?token=' + tok, '127.0.9.1'); // a valid token does not get around it
      await knock(`?resume=${vicAuth.session}&last_seq=0&token=${vicAuth.token}`, '127.0.9.3'); // nor a resume
      await knock('', '127.0.9.4');
      const told = await new Promise((resolve) => {
        let out = '';
        const sock = net.connect({ port: srv.telnetPort, host: '127.0.0.1', localAddress: '127.0.9.2' });
        sock.on('data', (d) => { out += d.toString('latin1'); });
        sock.on('close', () => resolve(out));
        sock.on('error', () => {});
      });
      assert(/You are banned from this system until .*: test range\r\n/.test(told), 'telnet hears the scripts\' words: ' + JSON.stringify(told));
      assert(!/Handle/.test(told), 'and gets no login prompt');
      await srv.waitLog(/"event":"telnet_refused".*"addr":"[^"]*127\.0\.9\.2".*banned/);
      vic.input('x');
      await vic.text(/No such choice/, 'the user elsewhere is untouched');
      root.input('/unban 127.0.9.*');
      await root.text(/127\.0\.9\.\* is no longer banned/);
      const back = await srv.ws('?token=' + tok, { localAddress: '127.0.9.1' });
      eq((await back.waitFor((e) => e.type === 'auth')).handle, 'tok', 'lifted for tokens too');
    },
  },
  {
    name: '/spy shows a sysop what a node sees, read-only; the user is told; it ends with /spy or the node',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.user('alice');
      const node = a.events.find((e) => e.type === 'hello').node;
      root.input('/spy 999');
      await root.text(/nobody on node 999/);
      root.input('/spy ' + node);
      await root.text(new RegExp(`Watching node ${node} \\(alice\\)`));
      await a.chat('system', { body: 'A sysop is now watching this node.' });
      const told = await root.waitFor((e) => e.type === 'spy', 'the watched node being told');
      eq(told.node, node, 'spy event names the node');
      assert(typeof told.ts === 'string' && told.event.ts, 'the spy event has its own ts, like every event');
      a.input('c');
      const join = await root.waitFor((e) => e.type === 'spy' && e.event.type === 'chat' && e.event.kind === 'join');
      eq(join.event.from, 'alice', 'the inner event is whole');
      assert(strip(join.text).startsWith(`[${node}] `), 'text led by the node: ' + join.text);
      a.input('hello, anyone?');
      await root.waitFor((e) => e.type === 'spy' && e.event.kind === 'say' && e.event.body === 'hello, anyone?');
      a.input('/help');
      await root.waitFor((e) => e.type === 'spy' && /Commands:/.test(e.text), 'replies only alice sees');
      assert(!root.events.some((e) => e.type === 'spy' && ['auth', 'typing'].includes(e.event.type)), 'no auth (token) or typing');
      root.input('/spy');
      await root.text(new RegExp(`stopped watching node ${node}`));
      await a.chat('system', { body: 'The sysop has stopped watching this node.' });
      a.input('not watched now');
      await a.chat('say', { body: 'not watched now' });
      await root.none((e) => e.type === 'spy' && e.event.body === 'not watched now', 200, 'nothing after /spy');
      const t = await srv.telnetUser('tess', { chat: true });
      root.input('/nodes');
      const tn = Number(new RegExp('^(\\d+)\\s+tess', 'm').exec(strip((await root.text(/Address/)).text))[1]);
      root.input('/spy ' + tn);
      await t.expect(/A sysop is now watching this node/);
      t.line('/quit');
      t.line('g');
      await root.chat('system', { body: `Node ${tn} logged off; you are no longer watching it.` });
      await srv.waitLog(new RegExp(`root started watching node ${node} \\(alice\\)`));
    },
  },
  {
    name: 'a sysop makes a user a sysop in the database (live, and kept at the next login), and takes it back',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      root.input('/sysop nobody on');
      await root.text(/no account called nobody/);
      root.input('/sysop alice');
      await root.text(/alice is not a sysop/);
      root.input('/sysop alice on');
      await root.text(/alice is now a sysop/);
      await a.chat('system', { body: /root made you a sysop/ });
      a.input('/nodes');
      await a.text(/Address/);
      a.input('/quit');
      a.input('g');
      await a.closedP;
      const again = await srv.login('alice', a.password);
      eq((await again.waitFor((e) => e.type === 'auth')).sysop, true, 'kept in the database');
      root.input('/sysop alice off');
      await root.text(/alice is no longer a sysop/);
      await again.chat('system', { body: /root took away your sysop rights/ });
      again.input('c');
      again.input('/nodes');
      await again.text(/Unknown command/);
      await srv.waitLog(/root gave sysop rights to alice/);
      await srv.waitLog(/root took sysop rights from alice/);
    },
  },
  {
    name: 'access levels: a command and a menu entry kept for a level are hidden and refused below it; /level sets it live, kept',
    fn: async ({ srv }) => {
      require('fs').writeFileSync(require('path').join(srv.scripts, 'zz_vault.lua'), `
pl.command{ name = "vault", level = 10, help = "The vault", run = function(s) s:text("vault opened for level " .. s.level) end }
pl.menu_item{ key = "V", label = "Vault", level = 10, run = function(s) s:text("the vault, from the menu") end }
`);
      await srv.waitLog(/scripts reloaded/);
      const root = await srv.sysop('root');
      const a = await srv.user('alice');
      assert(!a.events.find((e) => e.type === 'menu').items.some((it) => it.key === 'V'), 'no V in the menu below level 10');
      a.input('v');
      await a.text(/No such choice: v/);
      a.input('c');
      await a.chat('join', { from: 'alice' });
      a.input('/vault');
      await a.text(/Unknown command \/vault/);
      a.input('/help');
      assert(!/\/vault/.test((await a.text(/^Commands:/)).text), 'not in /help');
      root.input('/level alice');
      await root.text(/^alice is at level 0\.$/);
      root.input('/level alice 10');
      await root.text(/^alice is now at level 10 \(was 0\)\.$/);
      await a.chat('system', { body: 'root set your access level to 10.' });
      a.input('/vault');
      await a.text(/^vault opened for level 10$/);
      const again = await srv.login('alice', a.password);
      const menu = await again.waitFor((e) => e.type === 'menu' && e.id === 'main');
      assert(menu.items.some((it) => it.key === 'V'), 'kept in the account: V at the next login');
      again.input('v');
      await again.text(/^the vault, from the menu$/);
      root.input('/level alice 256');
      await root.text(/Usage: \/level/);
      await srv.waitLog(/"event":"sysop".*root set the level of alice to 10 \(was 0\)/);
    },
  },
];
