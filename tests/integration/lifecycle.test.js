// Shutdown, slow readers, and the server staying up through it all.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

exports.tests = [
  {
    name: 'SIGTERM tells every user, closes cleanly, exits 0, and keeps the accounts',
    fn: async (ctx) => {
      const a = await ctx.srv.chatter('alice');
      const tn = await ctx.srv.telnet();
      const pre = await ctx.srv.ws(); // not logged in: told too
      await pre.waitFor((e) => e.type === 'prompt');
      ctx.srv.proc.kill('SIGTERM');
      const sys = await a.chat('system', {}, 'shutdown notice');
      assert(/shutting down/.test(strip(sys.text)), 'notice text');
      await a.waitFor((e) => e.type === 'bye', 'bye');
      eq((await a.closedP).code, 1000, 'clean close');
      await pre.waitFor((e) => e.type === 'bye', 'bye before login too');
      await tn.expect(/shutting down/);
      const exit = await ctx.srv.exited;
      eq(exit.code, 0, 'exit code');
      assert(/stopped/.test(ctx.srv.log), 'log says stopped');
      assert(!/handles still open/.test(ctx.srv.log), 'every handle closed: ' + ctx.srv.log.slice(-400));
      const dir = ctx.srv.dir;
      ctx.srv = await Server.start({ dir });
      const c = await ctx.srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'login', handle: 'alice', password: a.password });
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'alice', 'account kept');
    },
  },
  {
    name: 'a reader that stops reading is dropped at the queue bound and logged; others never notice',
    opts: { set: { queue_max: '16', max_line: '60000', max_frame: '65536', rate_per_s: '0' } },
    fn: async ({ srv }) => {
      const slow = await srv.chatter('slow');
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      slow.ws._socket.pause(); // stops reading; the kernel buffers fill up
      const big = 'x'.repeat(50000);
      for (let i = 0; i < 300 && !/fell 16 events behind/.test(srv.log); i++) {
        a.input(big + i);
        if (i % 20 === 19) { // bob keeps reading all along
          await b.waitFor((e) => e.type === 'chat' && e.kind === 'say' && e.body === big + i, 'line ' + i, 10000);
        }
      }
      await srv.waitLog(/fell 16 events behind; dropping it/);
      a.input('after the drop');
      await b.chat('say', { from: 'alice', body: 'after the drop' }, 'others carry on');
      const m = await (await fetch(srv.http('/metrics'))).text();
      assert(/^partyline_slow_disconnects_total 1$/m.test(m), 'counted in metrics');
      assert(/^partyline_connections 2$/m.test(m), 'the slow connection is gone: ' + m);
    },
  },
];
