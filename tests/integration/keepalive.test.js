// Keepalive (ping_s): clients that vanish without closing their socket are
// found and dropped on every transport; healthy idle ones never are; a
// telnet hang-up ends its session at once. The vanishing clients run in a
// network namespace of their own whose link is then taken down
// (tests/lib/netns.js), so their sockets neither close nor answer.
'use strict';
const { execFileSync } = require('child_process');
const { Server, sleep, assert, eq } = require('../lib/harness');
const { RawWs, OP } = require('../lib/rawws');
const { Netns } = require('../lib/netns');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

async function metrics(srv) {
  return (await fetch(srv.http('/metrics'))).text();
}

// The value of a counter line, e.g. counter(m, 'partyline_keepalive_drops_total{transport="telnet"}').
function counter(m, name) {
  const line = m.split('\n').find((l) => l.startsWith(name + ' '));
  assert(line, `/metrics has ${name}`);
  return Number(line.slice(name.length + 1));
}
const drops = (m, t) => counter(m, `partyline_keepalive_drops_total{transport="${t}"}`);
const probes = (m, t) => counter(m, `partyline_keepalive_probes_total{transport="${t}"}`);

async function who(c) {
  c.input('/who');
  return (await c.waitFor((e) => e.type === 'who', 'who')).users.map((u) => u.handle);
}

// Runs fn with a fresh namespace, removed afterwards whatever happens.
async function withNetns(fn) {
  const ns = Netns.create();
  try {
    return await fn(ns);
  } finally {
    ns.destroy();
  }
}

const isLeave = (handle) => (e) => e.type === 'chat' && e.kind === 'leave' && e.from === handle;

exports.tests = [
  {
    name: 'a WebSocket client that does not answer pings is dropped after about 2 x ping_s; one that answers stays',
    opts: { set: { ping_s: '1' } },
    fn: async ({ srv }) => {
      const good = await srv.chatter('alice'); // the ws library answers pings
      let pinged = 0;
      good.ws.on('ping', () => pinged++);
      const mute = await RawWs.open(srv.wsPort); // a hand-made client that never answers one
      await mute.event((e) => e.type === 'hello', 'hello');
      await mute.waitFor((f) => f.op === OP.ping, 'a ping', 3000);
      await Promise.race([mute.closed, sleep(5000).then(() => { throw new Error('the silent client was not dropped'); })]);
      assert(!good.closed, 'the client that answers is still connected');
      await sleep(1500);
      assert(!good.closed && pinged >= 2, `the answering client stays (pinged ${pinged} times)`);
      const m = await metrics(srv);
      eq(drops(m, 'websocket'), 1, 'websocket keepalive drops');
      assert(probes(m, 'websocket') >= 3, 'websocket probes counted');
      // dropped like any lost connection: its session waits out the grace period
      await srv.waitLog(/"event":"keepalive_drop"[^\n]*\n[^\n]*"event":"ws_disconnect"/, 'drop, then disconnect');
      await srv.waitLog(/"event":"detach"/, 'the session detached for its grace period');
    },
  },
  {
    name: 'ping_s = 0 sends no pings and drops nobody',
    opts: { set: { ping_s: '0' } },
    fn: async ({ srv }) => {
      const mute = await RawWs.open(srv.wsPort);
      await mute.event((e) => e.type === 'hello', 'hello');
      await sleep(2500);
      assert(!mute.gone, 'still connected');
      assert(!mute.frames.some((f) => f.op === OP.ping), 'no ping sent');
      const m = await metrics(srv);
      eq(probes(m, 'websocket') + probes(m, 'telnet'), 0, 'no probes');
      mute.close();
    },
  },
  {
    name: 'a web user whose network vanishes leaves /who within 2 x ping_s (+ grace), with a leave announced',
    opts: { set: { ping_s: '1', grace_s: '1' } },
    fn: async ({ srv }) => withNetns(async (ns) => {
      const alice = await srv.chatter('alice', { netns: ns });
      const bob = await srv.chatter('bob');
      assert((await who(bob)).includes('alice'), 'alice listed before');
      await sleep(2500); // idle a while, answering pings: not dropped
      assert(!alice.closed, 'healthy and idle: still connected');
      ns.down();
      const t0 = Date.now();
      // 2 x ping_s to be dropped, grace_s to end, and a tick's slack
      await bob.waitFor(isLeave('alice'), 'the leave of alice', 8000);
      const took = Date.now() - t0;
      assert(!(await who(bob)).includes('alice'), 'alice no longer listed');
      eq(drops(await metrics(srv), 'websocket'), 1, 'websocket keepalive drops');
      assert(took >= 900, `not before a probe went unanswered (${took} ms)`);
    }),
  },
  {
    name: 'a telnet user whose network vanishes leaves /who within 2 x ping_s, with a leave announced, node freed',
    opts: { set: { ping_s: '1' } },
    fn: async ({ srv }) => withNetns(async (ns) => {
      const alice = await srv.telnetUser('alice', { chat: true, netns: ns });
      const bob = await srv.chatter('bob');
      bob.input('/who');
      const before = (await bob.waitFor((e) => e.type === 'who', 'who')).users.find((u) => u.handle === 'alice');
      assert(before, 'alice listed before');
      await sleep(2500); // idle, her terminal's TCP acknowledging each NOP: not dropped
      assert(!alice.gone, 'healthy and idle: still connected');
      alice.line('still here');
      await bob.chat('say', { from: 'alice', body: 'still here' });
      ns.down();
      await bob.waitFor(isLeave('alice'), 'the leave of alice', 6000);
      assert(!(await who(bob)).includes('alice'), 'alice no longer listed');
      const m = await metrics(srv);
      eq(drops(m, 'telnet'), 1, 'telnet keepalive drops');
      // the node is free again: the next caller gets it
      const carol = await srv.telnetUser('carol');
      bob.input('/who');
      const now = (await bob.waitFor((e) => e.type === 'who', 'who')).users.find((u) => u.handle === 'carol');
      eq(now.node, before.node, 'carol on the node alice had');
      carol.close();
    }),
  },
  {
    name: 'a web user whose network comes back within the grace period resumes its session, unseen by the room',
    opts: { set: { ping_s: '1', grace_s: '30' } },
    fn: async ({ srv }) => withNetns(async (ns) => {
      const alice = await srv.chatter('alice', { netns: ns });
      const auth = alice.events.filter((e) => e.type === 'auth').pop(); // the session's id changes at login
      const bob = await srv.chatter('bob');
      ns.down();
      await srv.waitLog(/"event":"keepalive_drop"[^\n]*"addr":"10\./, 'alice dropped', 6000);
      bob.input('meanwhile');
      await bob.chat('say', { from: 'bob', body: 'meanwhile' });
      ns.up();
      const last = alice.events.reduce((n, e) => Math.max(n, e.seq || 0), 0);
      const back = await srv.ws(`?resume=${encodeURIComponent(auth.session)}&last_seq=${last}`, { netns: ns });
      const h = await back.waitFor((e) => e.type === 'hello', 'hello');
      eq(h.resumed, true, 'resumed');
      await back.chat('say', { from: 'bob', body: 'meanwhile' }, 'what was said while away');
      back.input('back again');
      await bob.chat('say', { from: 'alice', body: 'back again' });
      await bob.none(isLeave('alice'), 200, 'no leave for alice');
      assert((await who(bob)).includes('alice'), 'alice still listed');
    }),
  },
  {
    name: 'telnet sockets carry the kernel\'s TCP keepalive, timed from ping_s; web sockets have pings instead',
    opts: { set: { ping_s: '20' } },
    fn: async ({ srv }) => {
      const t = await srv.telnet();
      const w = await srv.ws();
      // iproute2's ss shows each socket's timer: keepalive, due in about ping_s
      const ss = (port) => execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
      // (while the greeting is in flight the socket shows its retransmit
      // timer instead: the kernel shows one timer at a time)
      let tn, m;
      for (const t0 = Date.now(); Date.now() - t0 < 3000; await sleep(100)) {
        tn = ss(srv.telnetPort);
        m = /timer:\(keepalive,(\d+)(?:\.\d+)?sec/.exec(tn);
        if (m) break;
      }
      assert(m, 'a keepalive timer on the telnet socket: ' + tn);
      assert(Number(m[1]) > 10 && Number(m[1]) <= 20, 'due within ping_s: ' + tn);
      assert(!/keepalive/.test(ss(srv.wsPort)), 'none on the WebSocket');
      t.close();
      w.close();
    },
  },
  {
    name: 'a telnet hang-up ends the session at once: leave announced, node freed, no grace period',
    opts: { set: { grace_s: '60' } },
    fn: async ({ srv }) => {
      const bob = await srv.chatter('bob');
      const alice = await srv.telnetUser('alice', { chat: true });
      await bob.chat('join', { from: 'alice' });
      alice.close(); // the terminal goes: its socket closes
      await bob.waitFor(isLeave('alice'), 'the leave of alice', 3000);
      assert(!(await who(bob)).includes('alice'), 'alice no longer listed');
      await srv.waitLog(/"event":"hangup"/, 'the hang-up logged');
      assert(!/"event":"detach"/.test(srv.log), 'no grace period for a terminal');
    },
  },
];
