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
    name: 'input past the rate limit is dropped with rate_limited; the burst gets through',
    opts: { set: { rate_per_s: '5', rate_burst: '10', flood_max: '1000' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await sleep(2100); // refill the buckets used by logging in
      for (let i = 0; i < 25; i++) a.input('line ' + i);
      const limited = await a.waitFor((e) => e.type === 'error' && e.code === 'rate_limited');
      assert(/slow down/.test(limited.text), 'error text: ' + limited.text);
      await b.chat('say', { body: 'line 9' });
      await b.none((e) => e.type === 'chat' && e.body === 'line 12', 300, 'dropped lines never reach others');
      await sleep(600);
      a.input('after a pause');
      await b.chat('say', { body: 'after a pause' }, 'the bucket refills');
      assert((await metric(srv, 'partyline_rate_limited_total')) >= 10, 'counted');
      assert(!a.closed, 'a short burst does not disconnect');
    },
  },
  {
    name: 'a WebSocket client that keeps flooding is disconnected (1008); others carry on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const bad = await srv.ws();
      await bad.waitFor((e) => e.type === 'prompt');
      bad._closeOk = true;
      for (let i = 0; i < 300; i++) bad.send(i % 2 ? '{"type":' : '\u0000\u0001garbage');
      const closed = await bad.closedP;
      // a client still sending when the server closes may see a reset (1006) instead of the close frame
      assert(closed.code === 1008 || closed.code === 1006, 'closed: ' + closed.code);
      await srv.waitLog(/keeps flooding; closing it \(1008\)/);
      const codes = bad.events.filter((e) => e.type === 'error').map((e) => e.code);
      assert(codes.every((c) => c === 'bad_json' || c === 'rate_limited'), 'only these errors: ' + [...new Set(codes)]);
      eq(await metric(srv, 'partyline_flood_disconnects_total'), 1, 'counted');
      a.input('unbothered');
      await a.chat('say', { body: 'unbothered' });
      eq((await fetch(srv.http('/healthz'))).status, 200, 'healthy');
    },
  },
  {
    name: 'a telnet user pasting a flood of lines is disconnected; others carry on',
    opts: { set: { flood_max: '20' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const tn = await srv.telnetUser('paster', { chat: true });
      let lines = '';
      for (let i = 0; i < 200; i++) lines += 'flood ' + i + '\n';
      tn.raw(lines);
      await tn.expect(/slow down/);
      await tn.exited;
      await srv.waitLog(/telnet connection \d+ keeps flooding/);
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
      const root = await srv.chatter('root');
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
];
