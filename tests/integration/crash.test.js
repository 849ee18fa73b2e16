// Crash safety: nothing acknowledged is lost to kill -9; SIGTERM under load
// still stops cleanly and promptly.
'use strict';
const { Server, WsClient, sleep, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

exports.tests = [
  {
    name: 'kill -9 in the middle of registrations and chat loses no acknowledged account',
    fn: async (ctx) => {
      const srv = ctx.srv;
      const chatter = await srv.chatter('chatty');
      let stop = false;
      const noise = (async () => { for (let i = 0; !stop; i++) { chatter.input('noise ' + i); await sleep(5); } })();
      const acked = [];
      const pending = [];
      // a steady stream; the kill lands once ten are acknowledged, with more
      // under way (at a fixed count of sends, a loaded machine had acknowledged
      // too few for the test to mean anything)
      for (let i = 0; i < 200 && srv.proc.exitCode === null; i++) {
        const handle = 'user' + i;
        pending.push((async () => {
          try {
            const c = await srv.ws();
            await c.waitFor((e) => e.type === 'hello');
            c.send({ type: 'register', handle, password: 'pass-' + handle });
            await c.waitFor((e) => e.type === 'auth', 'auth', 5000);
            acked.push(handle);
          } catch (e) { /* the server died before answering: not acknowledged */ }
        })());
        await sleep(10);
        if (acked.length >= 10) srv.proc.kill('SIGKILL');
      }
      await Promise.all(pending);
      stop = true;
      await noise.catch(() => {});
      const exit = await srv.exited;
      eq(exit.signal, 'SIGKILL', 'it was killed');
      assert(acked.length >= 10, 'some registrations were acknowledged first: ' + acked.length);
      const dir = srv.dir;
      ctx.srv = await Server.start({ dir });
      for (const handle of acked) {
        const c = await ctx.srv.ws();
        await c.waitFor((e) => e.type === 'hello');
        c.send({ type: 'login', handle, password: 'pass-' + handle });
        const r = await c.waitFor((e) => e.type === 'auth' || e.type === 'error', 'login ' + handle);
        eq(r.type, 'auth', `acknowledged account ${handle} survived`);
        c.close();
      }
    },
  },
  {
    name: 'SIGTERM under heavy traffic stops within 5 seconds with exit code 0',
    opts: { set: { rate_per_s: '0' } },
    fn: async ({ srv }) => {
      const users = [];
      for (let i = 0; i < 8; i++) users.push(await srv.chatter('load' + i));
      let stop = false;
      const floods = users.map(async (u, i) => {
        for (let n = 0; !stop && !u.closed; n++) {
          u.input(`load ${i} ${n} ` + 'z'.repeat(500));
          if (n % 20 === 0) await sleep(1);
        }
      });
      await sleep(500);
      const t0 = Date.now();
      srv.proc.kill('SIGTERM');
      const exit = await srv.exited;
      const took = Date.now() - t0;
      stop = true;
      await Promise.all(floods);
      eq(exit.code, 0, 'clean exit');
      assert(took < 5000, 'stopped in ' + took + ' ms');
      assert(/"event":"stopped"/.test(srv.log), 'logged the stop');
    },
  },
];
