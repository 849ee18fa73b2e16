// Limits: input rate, floods, connections per address, login and idle
// timeouts, login throttling. Each drives a real client past the limit and
// checks that another user's chat carries on.
'use strict';
const net = require('net');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

async function metric(srv, name) {
  const m = await (await fetch(srv.http('/metrics'))).text();
  const r = new RegExp('^' + name + ' (\\d+)$', 'm').exec(m);
  assert(r, 'metric ' + name);
  return Number(r[1]);
}

exports.tests = [
  {
    name: 'input past the rate limit waits and is handled at the rate, in order; nothing is lost',
    opts: { set: { rate_per_s: '5', rate_burst: '10' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await sleep(2100); // refill the buckets used by logging in
      for (let i = 0; i < 25; i++) a.input('line ' + i);
      const limited = await a.waitFor((e) => e.type === 'error' && e.code === 'rate_limited');
      assert(/slow down/.test(limited.text), 'error text: ' + limited.text);
      // every line arrives, in order, past the burst too
      for (let i = 0; i < 25; i++) await b.chat('say', { body: 'line ' + i }, 'line ' + i, 8000);
      const said = b.events.filter((e) => e.type === 'chat' && e.kind === 'say' && /^line \d+$/.test(e.body)).map((e) => e.body);
      eq(said.join(','), Array.from({ length: 25 }, (_, i) => 'line ' + i).join(','), 'whole and in order, once each');
      eq(a.events.filter((e) => e.type === 'error' && e.code === 'rate_limited').length, 1, 'told once, not once per line');
      a.input('after the paste');
      await b.chat('say', { body: 'after the paste' });
      assert((await metric(srv, 'partyline_rate_limited_total')) >= 10, 'counted');
      assert(!a.closed, 'a paste under the budget does not disconnect');
    },
  },
  {
    name: 'a WebSocket client that floods past flood_bytes gets the reason and the 1008 frame; others carry on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const bad = await srv.ws();
      await bad.waitFor((e) => e.type === 'prompt');
      bad._closeOk = true;
      // 300 bad frames of ~200 bytes: more than the 32 KiB that may wait
      const pad = 'garbage'.repeat(28);
      for (let i = 0; i < 300; i++) bad.send(i % 2 ? '{"type":' + pad : '\u0000\u0001' + pad);
      const closed = await bad.closedP;
      // the client is still sending when it is closed: the server reads on, so no reset eats the frame
      eq(closed.code, 1008, 'close code');
      eq(closed.reason, 'flooding', 'close reason');
      const told = bad.events.filter((e) => e.type === 'error' && e.code === 'rate_limited').map((e) => e.message);
      assert(told.some((m) => /flooding/.test(m)), 'the reason arrives as an error before the close: ' + told);
      await srv.waitLog(/is flooding: over 32768 bytes of input waiting; closing it \(1008\)/);
      const codes = bad.events.filter((e) => e.type === 'error').map((e) => e.code);
      assert(codes.every((c) => c === 'bad_json' || c === 'rate_limited'), 'only these errors: ' + [...new Set(codes)]);
      eq(await metric(srv, 'partyline_flood_disconnects_total'), 1, 'counted');
      a.input('unbothered');
      await a.chat('say', { body: 'unbothered' });
      eq((await fetch(srv.http('/healthz'))).status, 200, 'healthy');
    },
  },
  {
    name: 'a telnet paste arrives whole and in order; a flood past flood_bytes is told why and closed',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const tn = await srv.telnetUser('paster', { chat: true });
      let lines = '';
      for (let i = 0; i < 60; i++) lines += 'paste ' + i + '\n';
      tn.raw(lines);
      for (let i = 0; i < 60; i++) await a.chat('say', { body: 'paste ' + i }, 'paste ' + i, 10000);
      const said = a.events.filter((e) => e.type === 'chat' && e.kind === 'say' && e.from === 'paster').map((e) => e.body);
      eq(said.length, 60, 'each line once');
      await tn.expect(/slow down/);
      assert(!tn.gone, 'a paste under the budget does not disconnect');
      lines = '';
      for (let i = 0; i < 400; i++) lines += 'flood '.repeat(30) + i + '\n';
      tn.raw(lines);
      await tn.expect(/flooding: too much input waiting; disconnecting/, 8000);
      await tn.exited;
      await srv.waitLog(/is flooding: over \d+ bytes of input waiting/);
      a.input('still here');
      await a.chat('say', { body: 'still here' });
    },
  },
  {
    name: 'connections past max_conns_per_addr are refused on both transports',
    opts: { set: { max_conns_per_addr: '3' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.ws();
      const c = await srv.ws();
      const d = new WsClient(srv.url());
      srv.clients.push(d);
      const closed = await d.closedP;
      eq(closed.code, 1008, 'fourth WebSocket refused');
      eq(closed.reason, 'too many connections from your address', 'reason');
      const sock = net.connect(srv.telnetPort, '127.0.0.1');
      let got = '';
      sock.on('data', (x) => { got += x; });
      await new Promise((r) => sock.on('close', r));
      assert(/too many connections from your address/.test(got), 'telnet told: ' + JSON.stringify(got));
      // plain HTTP connections count too, and are told why
      const busy = await fetch(srv.http('/healthz'));
      eq(busy.status, 503, 'HTTP past the limit');
      eq(await busy.text(), 'too many connections from your address\n', 'HTTP reason');
      c.close();
      await sleep(200);
      const e = await srv.ws();
      eq((await e.waitFor(() => true)).type, 'hello', 'a slot frees when one closes');
      a.input('fine');
      await a.chat('say', { body: 'fine' });
      b.close(); // a slot for the metrics request
      await sleep(200);
      assert((await metric(srv, 'partyline_addr_refused_total')) >= 3, 'counted');
    },
  },
  {
    name: 'a connection that never logs in is closed after login_timeout_s; logged-in users stay',
    opts: { set: { login_timeout_s: '1' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const lurker = await srv.ws();
      const e = await lurker.waitFor((x) => x.type === 'error', 'timeout error', 4000);
      eq(e.code, 'login_timeout', 'code');
      eq((await lurker.closedP).code, 1000, 'closed');
      const tn = await srv.telnet();
      await tn.expect(/no login in time/, 4000);
      await tn.exited;
      await sleep(1200);
      a.input('still logged in');
      await a.chat('say', { body: 'still logged in' });
    },
  },
  {
    name: 'an idle user is warned first, then logged off; typing resets the clock; sysops are exempt',
    opts: { set: { idle_timeout_s: '3', idle_warn_s: '2', sysops: 'root' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const root = await srv.sysop('root');
      const warn = await a.chat('system', { body: /idle/ }, 'warning', 4000);
      assert(/logged off in \d+ seconds/.test(strip(warn.text)), 'warning text: ' + warn.text);
      await a.waitFor((e) => e.type === 'bell', 'bell with the warning');
      a.input('I am here');
      await a.chat('say', { body: 'I am here' });
      const bye = await a.waitFor((e) => e.type === 'bye', 'bye', 5000);
      eq(bye.reason, 'idle', 'reason');
      await root.chat('leave', { from: 'alice' });
      assert(!root.closed, 'the sysop stays');
      eq(await metric(srv, 'partyline_idle_timeouts_total'), 1, 'counted');
    },
  },
  {
    name: 'failed logins for one handle slow down, then lock it out across sessions; the lock expires',
    opts: { set: { login_slow_after: '2', login_lockout_after: '4', login_lockout_s: '5', login_attempts: '100' } },
    fn: async ({ srv }) => {
      await srv.user('bob', 'right-password');
      const tries = [];
      for (let i = 0; i < 4; i++) {
        const c = await srv.ws();
        await c.waitFor((e) => e.type === 'prompt');
        const t0 = Date.now();
        c.send({ type: 'login', handle: 'bob', password: 'wrong' + i });
        const e = await c.waitFor((x) => x.type === 'error', 'failure ' + i, 5000);
        eq(e.code, 'bad_login', 'failure ' + i);
        tries.push(Date.now() - t0);
        c.close();
      }
      assert(tries[3] >= 900, 'later failures answer slowly: ' + tries.join(','));
      assert(tries[0] < 900, 'the first answers at once: ' + tries.join(','));
      const d = await srv.ws();
      await d.waitFor((e) => e.type === 'prompt');
      d.send({ type: 'login', handle: 'bob', password: 'right-password' });
      eq((await d.waitFor((e) => e.type === 'error')).code, 'throttled', 'locked, even with the right password');
      assert(/locked for 5s after 4 failures/.test(srv.log), 'lockout logged');
      assert(/"event":"login_failed","node":\d+,"addr":"[^"]+","msg":"failed login for 'bob'"/.test(srv.log), 'each failure logged with the address');
      assert(!/wrong\d/.test(srv.log), 'no password in the log');
      await sleep(3200);
      const e = await srv.ws();
      await e.waitFor((x) => x.type === 'prompt');
      e.send({ type: 'login', handle: 'bob', password: 'right-password' });
      eq((await e.waitFor((x) => x.type === 'auth')).handle, 'bob', 'the lock expires');
      assert((await metric(srv, 'partyline_login_failures_total')) >= 4, 'counted');
    },
  },
  {
    name: 'registrations from one address are limited per hour; other addresses and logins are not',
    opts: { set: { register_per_hour: '2' } },
    fn: async ({ srv }) => {
      await srv.user('one');
      await srv.user('two');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'register', handle: 'three', password: 'secret-three' });
      const e = await c.waitFor((x) => x.type === 'error', 'refusal');
      eq(e.code, 'register_limited', 'code');
      assert(/too many new accounts/.test(e.message), 'message: ' + e.message);
      await srv.waitLog(/"event":"register_limited"/);
      // the prompts say it in words
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('four');
      await tn.expect(/Choose a password/);
      tn.line('secret-four');
      await tn.expect(/Repeat the password/);
      tn.line('secret-four');
      await tn.expect(/Too many new accounts have been made from your address/);
      eq(await srv.login('three', 'secret-three').then((x) => x.waitFor((y) => y.type === 'error')).then((y) => y.code), 'bad_login', 'no account was made');
      // another address still may, and a user from the limited one still logs in
      const other = await srv.user('five', 'secret-five', { localAddress: '127.0.0.2' });
      eq(other.handle, 'five', 'another address registers');
      const back = await srv.login('one', 'secret-one');
      eq((await back.waitFor((x) => x.type === 'auth')).handle, 'one', 'logins are not limited');
    },
  },
  {
    name: 'a burst of registrations does not hold logins back: logins go first in the hashing queue',
    opts: { set: { hash_threads: '1', pwhash_mem_kb: '32768' } },
    fn: async ({ srv }) => {
      await srv.user('bob', 'bob-password');
      const order = [];
      const regs = [];
      for (let i = 0; i < 16; i++) {
        const c = await srv.ws();
        await c.waitFor((e) => e.type === 'prompt');
        regs.push(c);
      }
      const bob = await srv.ws();
      await bob.waitFor((e) => e.type === 'prompt');
      const watch = (c, name) => c.ws.on('message', (d) => { if (JSON.parse(String(d)).type === 'auth') order.push(name); });
      regs.forEach((c, i) => watch(c, 'reg' + i));
      watch(bob, 'bob');
      regs.forEach((c, i) => c.send({ type: 'register', handle: 'reg' + i, password: 'harbor-tulip-' + i }));
      bob.send({ type: 'login', handle: 'bob', password: 'bob-password' });
      await bob.waitFor((e) => e.type === 'auth', 'bob logged in', 20000);
      for (const c of regs) await c.waitFor((e) => e.type === 'auth', 'registered', 20000);
      const at = order.indexOf('bob');
      // FIFO would put bob after all 16; ahead of them he waits for at most the hash running
      assert(at >= 0 && at <= 4, 'bob came in at ' + at + ': ' + order.join(','));
    },
  },
];
