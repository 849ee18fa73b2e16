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
      await srv.waitLog(/fell 16 events behind; dropping it \(4008\)/);
      a.input('after the drop');
      await b.chat('say', { from: 'alice', body: 'after the drop' }, 'others carry on');
      let m = '';
      for (let i = 0; i < 40 && !/^partyline_connections 2$/m.test(m); i++) {
        await sleep(100); // it gets 2 s to take its close frame
        m = await (await fetch(srv.http('/metrics'))).text();
      }
      assert(/^partyline_connections 2$/m.test(m), 'the slow connection is gone');
      assert(/^partyline_slow_disconnects_total 1$/m.test(m), 'counted in metrics');
    },
  },
  {
    name: 'a reader that lags skips room chatter past the soft bound, is told how much, and keeps everything else',
    opts: { set: { queue_max: '1024', queue_soft: '64', max_line: '60000', max_frame: '65536', rate_per_s: '0' } },
    fn: async ({ srv }) => {
      const slow = await srv.chatter('slow');
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await slow.chat('join', { from: 'bob' });
      slow.ws._socket.pause();
      const line = 'y'.repeat(30000);
      const N = 400;
      for (let i = 0; i < N; i++) {
        a.input(line + i);
        if (i % 50 === 49) await b.waitFor((e) => e.type === 'chat' && e.body === line + i, 'ack ' + i, 10000);
      }
      b.input('/msg slow you still get this');
      await b.chat('direct', { to: 'slow' });
      slow.ws._socket.resume();
      const missed = await slow.waitFor((e) => e.type === 'missed', 'missed notice', 10000);
      assert(missed.count > 0 && typeof missed.seq === 'number', 'count: ' + JSON.stringify(missed).slice(0, 200));
      const noun = missed.count === 1 ? 'line' : 'lines';
      assert(strip(missed.text).includes(`too far behind: ${missed.count} ${noun} of room chatter skipped`), 'text: ' + missed.text);
      const direct = await slow.chat('direct', { from: 'bob' }, 'the private message arrives', 10000);
      eq(direct.body, 'you still get this', 'direct body');
      assert(slow.events.some((e) => e.type === 'chat' && e.body === line + (N - 1)), 'the newest line arrived');
      const says = slow.events.filter((e) => e.type === 'chat' && e.kind === 'say' && e.from === 'alice').length;
      const skipped = slow.events.filter((e) => e.type === 'missed').reduce((n, e) => n + e.count, 0);
      eq(says + skipped, N, 'every line either arrived or was counted as missed');
      assert(!slow.closed, 'still connected');
      const m = await (await fetch(srv.http('/metrics'))).text();
      eq(Number(/^partyline_slow_chatter_dropped_total (\d+)$/m.exec(m)[1]), skipped, 'counted in metrics');
      eq(Number(/^partyline_slow_disconnects_total (\d+)$/m.exec(m)[1]), 0, 'nobody disconnected');
    },
  },
];
