// One board on three processes and one real Redis (Debian's redis-server,
// started by the test on a free port, nothing kept on disk). The processes
// share a data directory (SQLite in WAL mode) and act as one board for web
// and telnet users, through a kill -9 of a process and a restart of Redis.
'use strict';
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');
const { Redis } = require('../lib/redis');

const DEAD_S = 2; // a process silent this long is gone (cluster_dead_s)

async function board(t, n = 3) {
  const redis = await Redis.start();
  const set = Object.assign({ redis: redis.where, cluster_dead_s: String(DEAD_S), grace_s: '5' }, t.opts || {});
  const first = await Server.start({ set });
  const servers = [first];
  for (let i = 1; i < n; i++) servers.push(await Server.start({ dir: first.dir, set }));
  // whole: each process has heard every other on the bus
  for (const s of servers) {
    const t0 = Date.now();
    while ((s.log.match(/is on the bus/g) || []).length < n - 1) {
      if (Date.now() - t0 > 8000) throw new Error('the processes never found each other:\n' + s.log.slice(-1500));
      await sleep(50);
    }
  }
  return { srv: first, servers, redis, teardown: () => redis.stop() };
}

exports.setup = (t) => board(t, t.processes || 3);

// A WebSocket client of server srv with a query (a resume, a token).
async function wsAt(srv, query = '') {
  const c = new WsClient(srv.url(query));
  srv.clients.push(c);
  await c.opened;
  return c;
}

// Waits until c's /who lists handle (who is where reaches the other
// processes within PRESENCE_FLUSH_MS).
async function sees(c, handle) {
  for (let i = 0; i < 40; i++) {
    if ((await who(c)).some((u) => u.startsWith(handle + '@'))) return;
    await sleep(50);
  }
  throw new Error(handle + ' never appeared in /who');
}

const who = async (c) => {
  c.input('/who');
  const ev = await c.waitFor((e) => e.type === 'who', 'who');
  return ev.users.map((u) => `${u.handle}@${u.node}`).sort();
};

exports.tests = [
  {
    name: 'chat, /me, joins and leaves, typing, /rooms and history cross processes both ways; nodes are unique, lowest free first',
    fn: async ({ servers: [a, b, c] }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      const carol = await c.telnetUser('carol', { chat: true });
      await alice.chat('join', { from: 'carol' }, 'carol (telnet, process 3) joins, seen on process 1');
      alice.input('hello from one');
      await bob.chat('say', { from: 'alice', body: 'hello from one' });
      await carol.expect(/<alice> hello from one/);
      carol.line('and hello from three');
      await alice.chat('say', { from: 'carol', body: 'and hello from three' });
      await bob.chat('say', { from: 'carol', body: 'and hello from three' });
      bob.input('/me waves');
      await alice.chat('action', { from: 'bob', body: 'waves' });
      await carol.expect(/bob waves/);
      // nodes over the whole board: 1, 2, 3 (one each), lowest first
      const nodes = [alice, bob].map((x) => x.events.find((e) => e.type === 'hello').node);
      assert(new Set(nodes).size === 2 && nodes.every((n) => n >= 1 && n <= 3), 'nodes ' + nodes);
      eq(JSON.stringify(await who(alice)), JSON.stringify(['alice@1', 'bob@2', 'carol@3'].sort()), '/who on one');
      carol.line('/who'); // and on a terminal of the third process
      await carol.expect(/1 +alice[\s\S]*2 +bob[\s\S]*3 +carol[\s\S]*3 users online/);
      // typing, from a client that asked for it
      const ta = await wsAt(a, '?typing=1');
      const tb = await wsAt(b, '?typing=1');
      for (const [cl, h] of [[ta, 'tina'], [tb, 'tom']]) {
        await cl.waitFor((e) => e.type === 'prompt');
        cl.send({ type: 'register', handle: h, password: 'harbor-tulip-' + h });
        await cl.waitFor((e) => e.type === 'auth');
        cl.input('c');
        await cl.chat('join', { from: h });
      }
      ta.send({ type: 'typing', state: 'start' });
      await tb.waitFor((e) => e.type === 'typing' && e.from === 'tina' && e.state === 'start', 'typing across');
      // /rooms counts the whole board; a room joined on one process
      bob.input('/join games');
      await alice.chat('leave', { from: 'bob' });
      let count = {};
      for (let i = 0; i < 20 && count.games !== 1; i++) {
        await sleep(50); // who is where is told to the other processes within PRESENCE_FLUSH_MS
        alice.input('/rooms');
        const rooms = await alice.waitFor((e) => e.type === 'rooms', 'rooms');
        count = Object.fromEntries(rooms.rooms.map((r) => [r.name, r.count]));
      }
      eq(count.lobby, 4, 'lobby over the board (alice, carol, tina, tom)');
      eq(count.games, 1, 'games (bob, on process 2)');
      // history of a room is the board's: someone joining on another process sees it
      const dave = await c.chatter('dave'); // the history comes before the join line
      assert(dave.events.some((e) => e.type === 'chat' && e.history && e.body === 'hello from one'), 'history across: ' + dave.tail(10));
    },
  },
  {
    name: '/who, /nodes and /whois show everyone; /msg, /r, /page and mail notices reach users on other processes',
    fn: async ({ servers: [a, b, c] }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      const carol = await c.telnetUser('carol', { chat: true });
      await sees(alice, 'carol');
      await sees(bob, 'alice');
      alice.input('/msg bob psst, bob');
      await bob.chat('direct', { from: 'alice', body: 'psst, bob' });
      await bob.waitFor((e) => e.type === 'bell', 'bell with the message');
      bob.input('/r got it');
      await alice.chat('direct', { from: 'bob', body: 'got it' });
      carol.line('/msg alice from telnet');
      await alice.chat('direct', { from: 'carol', body: 'from telnet' });
      alice.input('/r back to telnet');
      await carol.expect(/back to telnet/);
      bob.input('/page carol');
      await carol.expect(/\x07/);
      alice.input('/whois carol');
      await alice.text(/carol[\s\S]*(online|on node 3)/i, 'whois across');
      // mail to someone online elsewhere: they are told at once
      const mailer = await a.user('mailer');
      mailer.input('m');
      mailer.input('c');
      await mailer.text(/To \(a handle\)/);
      mailer.input('bob');
      await mailer.text(/Subject/);
      mailer.input('hi there');
      mailer.input('a line');
      mailer.input('.');
      await bob.chat('system', { body: 'New mail from mailer: hi there' }, 'mail notice across');
    },
  },
  {
    name: 'a sysop on one process kicks, bans, broadcasts to, spies on and promotes users of the others; a reload reaches every process',
    fn: async ({ servers: [a, b, c] }) => {
      const root = await a.sysop('root');
      const bob = await b.chatter('bob');
      const carol = await c.chatter('carol');
      root.input('/broadcast hear ye');
      await bob.chat('system', { body: /hear ye/ });
      await carol.chat('system', { body: /hear ye/ });
      // spy on a node of another process
      const node = bob.events.find((e) => e.type === 'hello').node;
      root.input('/spy ' + node);
      await root.text(/Watching node/);
      await bob.text(/A sysop is now watching/, 'bob told (after the watch itself reached his process)');
      bob.input('under watch');
      await root.waitFor((e) => e.type === 'spy' && e.node === node && /under watch/.test(strip(e.text)), 'spy copy across');
      root.input('/spy');
      // sysop rights take effect live, wherever the user is
      root.input('/sysop carol on');
      await root.text(/sysop/i);
      await sleep(300); // the change reaches carol's process
      carol.input('/nodes');
      await carol.text(/Node[\s\S]*root[\s\S]*bob/, 'carol may now list nodes');
      // a kick ends the session where it lives; the leave is told once
      root.input('/kick bob behave');
      await bob.waitFor((e) => e.type === 'bye' && e.reason === 'kicked', 'bob kicked from another process');
      await carol.chat('leave', { from: 'bob' });
      await carol.none((e) => e.type === 'chat' && e.kind === 'leave' && e.from === 'bob', 400, 'a second leave for bob');
      // a ban of a handle logs its user off wherever they are
      const dave = await b.chatter('dave');
      await sees(root, 'dave');
      root.input('/ban dave 1h flooding');
      await dave.waitFor((e) => e.type === 'bye' && e.reason === 'banned', 'dave banned from another process');
      // an address ban holds on every process
      root.input('/ban 127.0.0.9 1h');
      await root.text(/[Bb]anned/);
      for (const s of [b, c]) { // (the ban reaches the others over the bus: a moment later)
        let closed = null;
        for (const t0 = Date.now(); !closed && Date.now() - t0 < 5000;) {
          const refused = new WsClient(s.url(), { localAddress: '127.0.0.9' });
          closed = await Promise.race([refused.closedP, sleep(500).then(() => null)]);
          if (!closed) refused.ws.terminate();
        }
        eq(closed && closed.code, 1008, 'banned address on another process');
      }
      // a reload on one reloads all
      root.input('/reload');
      for (const s of [b, c]) await s.waitLog(/scripts reloaded \(.*another process/, 'reload on ' + s.wsPort);
    },
  },
  {
    name: 'failed logins are counted over the whole board: guesses spread over processes lock the handle out',
    opts: { login_lockout_after: '4', login_slow_after: '100' },
    fn: async ({ servers: [a, b, c] }) => {
      await a.user('victim', 'the-right-one-9');
      let n = 0;
      for (const s of [a, b, c, a]) {
        const g = await s.login('victim', 'wrong-guess-' + n++);
        await g.waitFor((e) => e.type === 'error' && e.code === 'bad_login', 'bad_login');
      }
      await sleep(300); // the last failure reaches the others
      for (const s of [b, c]) {
        const g = await s.login('victim', 'the-right-one-9');
        await g.waitFor((e) => e.type === 'error' && e.code === 'throttled', 'locked out on ' + s.wsPort);
      }
    },
  },
  {
    name: 'kill -9: its users leave /who within the bound, each leave told once, nodes freed; a web user is back on another process where they were, with what they missed, once',
    fn: async ({ servers: [a, b, c] }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      const tel = await b.telnetUser('tel', { chat: true });
      await alice.chat('join', { from: 'tel' });
      alice.input('before the crash');
      await bob.chat('say', { body: 'before the crash' });
      const auth = bob.events.find((e) => e.type === 'auth' && e.token);
      const session = [...bob.events].reverse().find((e) => e.type === 'auth').session;
      const lastSeq = bob.events[bob.events.length - 1].seq;
      const bobNode = bob.events.find((e) => e.type === 'hello').node;
      const t0 = Date.now();
      b.proc.kill('SIGKILL');
      // meanwhile on the board
      alice.input('while bob was away');
      // the web client comes back on another process with its token and session
      const back = await wsAt(c, `?resume=${session}&last_seq=${lastSeq}&token=${auth.token}`);
      await back.waitFor((e) => e.type === 'auth' && e.handle === 'bob', 'bob back by token');
      await back.text(/back in #lobby/, 'bob lands where he was');
      await sleep(300);
      assert(back.events.some((e) => e.type === 'chat' && e.body === 'while bob was away'), 'what he missed: ' + back.tail(12));
      const seen = back.events.filter((e) => e.type === 'chat' && e.body === 'while bob was away').length;
      eq(seen, 1, 'shown once');
      // telnet users of the dead process leave within the bound, told once
      await alice.chat('leave', { from: 'tel' }, 'tel leaves');
      assert(Date.now() - t0 < (DEAD_S * 2 + 3) * 1000, 'within the bound: ' + (Date.now() - t0) + ' ms');
      await alice.none((e) => e.type === 'chat' && e.kind === 'leave' && (e.from === 'tel' || e.from === 'bob'), 500, 'a second leave');
      assert(!alice.events.some((e) => e.type === 'chat' && e.kind === 'leave' && e.from === 'bob'), 'bob never left');
      assert(!alice.events.some((e) => e.type === 'bye' || /shutting down/.test(JSON.stringify(e))),
        'alice, on the process that goes on, is not told it is shutting down');
      const list = await who(alice);
      assert(list.includes(`bob@${bobNode}`) && !list.some((u) => u.startsWith('tel@')), '/who: ' + list);
      // nodes are free again: a newcomer takes the lowest
      const newcomer = await a.user('newbie');
      const n = newcomer.events.find((e) => e.type === 'hello').node;
      assert(n <= 4, 'a freed node is reused: ' + n);
    },
  },
  {
    name: 'Redis stopped: each process serves its own users and says so; Redis back: the board is whole again, lines cross again, users told',
    fn: async ({ servers: [a, b], redis }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      const amy = await a.chatter('amy');
      await redis.down();
      await alice.chat('system', { body: /out of reach/ }, 'alice told');
      alice.input('inside one');
      await amy.chat('say', { body: 'inside one' }, 'chat inside a process goes on');
      const list = await who(alice);
      assert(!list.some((u) => u.startsWith('bob@')), 'bob is not shown while apart: ' + list);
      alice.input('/who');
      await alice.text(/this part of the board only/i, '/who says so');
      await redis.up();
      await alice.chat('system', { body: /back/ }, 'alice told the board is whole', 15000); // (after a reconnect backoff of up to 5 s)
      await bob.chat('system', { body: /back/ }, 'bob told too');
      await sleep(300);
      alice.input('across again');
      await bob.chat('say', { body: 'across again' }, 'delivery after the Redis restart');
      const again = await who(bob);
      assert(again.some((u) => u.startsWith('alice@')) && again.some((u) => u.startsWith('amy@')), 'whole again: ' + again);
    },
  },
  {
    name: 'a subscriber Redis drops loses messages: the gap is noticed and users are told',
    processes: 2,
    fn: async ({ servers: [a, b], redis }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (let i = 0; i < 5; i++) alice.input('lost ' + i); // some of these miss the dropped subscribers
      await sleep(1500);
      alice.input('after the drop');
      await bob.chat('say', { body: 'after the drop' }, 'delivery resumes');
      // told when the gap was found: before the line above
      assert(bob.events.some((e) => e.type === 'chat' && e.kind === 'system' && /may not have reached you/.test(e.body)),
        'told of the gap: ' + bob.tail(10));
      await b.waitLog(/missed \d+ bus messages/);
    },
  },
  {
    name: 'a client that reconnects at once to another process keeps its session; moving again and again replays nothing twice',
    fn: async ({ servers }) => {
      const [a] = servers;
      const alice = await a.chatter('alice');
      const carl = await servers[2].chatter('carl');
      let session = [...alice.events].reverse().find((e) => e.type === 'auth').session;
      let token = alice.events.find((e) => e.type === 'auth' && e.token).token;
      let cl = alice;
      const said = [];
      for (let i = 0; i < 4; i++) {
        const to = servers[(i + 1) % servers.length];
        carl.input('line ' + i);
        said.push('line ' + i);
        await cl.chat('say', { body: 'line ' + i });
        const last = cl.events[cl.events.length - 1].seq;
        cl.close();
        const next = await wsAt(to, `?resume=${session}&last_seq=${last}&token=${token}`);
        await next.waitFor((e) => e.type === 'auth' && e.handle === 'alice', 'alice after move ' + i);
        await next.text(/back in #lobby/);
        const auths = next.events.filter((e) => e.type === 'auth');
        session = auths[auths.length - 1].session;
        token = (auths.find((e) => e.token) || {}).token || token;
        cl = next;
        await sleep(200);
        // what the earlier processes already showed is not shown again
        const dup = said.filter((l) => next.events.filter((e) => e.type === 'chat' && !e.history && e.body === l).length > 0);
        eq(dup.length, 0, 'replayed again after move ' + i + ': ' + dup);
      }
      carl.input('the end');
      await cl.chat('say', { body: 'the end' });
      const list = await who(carl);
      eq(list.filter((u) => u.startsWith('alice@')).length, 1, 'alice once on the board: ' + list);
    },
  },
  {
    name: 'a clean restart of one process tells its users; its web users are back on the others within seconds, where they were; its telnet users leave, once',
    fn: async ({ servers: [a, b], }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      const tel = await b.telnetUser('tel', { chat: true });
      await alice.chat('join', { from: 'tel' });
      const token = bob.events.find((e) => e.type === 'auth' && e.token).token;
      const session = [...bob.events].reverse().find((e) => e.type === 'auth').session;
      b.proc.kill('SIGTERM');
      await bob.chat('system', { body: /shutting down/ }, 'bob told');
      const bye = await bob.waitFor((e) => e.type === 'bye', 'bye');
      eq(bye.reason, 'shutdown', 'bye reason');
      const last = bob.events[bob.events.length - 1].seq;
      const t0 = Date.now();
      const back = await wsAt(a, `?resume=${session}&last_seq=${last}&token=${token}`);
      await back.text(/back in #lobby/, 'bob back where he was');
      assert(Date.now() - t0 < 2000, 'back within seconds: ' + (Date.now() - t0) + ' ms');
      await alice.chat('leave', { from: 'tel' }, 'the telnet user leaves');
      await alice.none((e) => e.type === 'chat' && e.kind === 'leave', 800, 'another leave');
      assert(!alice.events.some((e) => e.type === 'chat' && e.kind === 'leave' && e.from === 'bob'), 'bob never left');
      assert(!alice.events.some((e) => e.type === 'bye' || /shutting down/.test(JSON.stringify(e))),
        'alice, on the process that goes on, is not told it is shutting down');
      const exit = await b.exited;
      eq(exit.code, 0, 'clean exit');
    },
  },
  {
    name: '/metrics counts the bus and Redis: messages in and out, gaps, reconnects, the round trip',
    processes: 2,
    fn: async ({ servers: [a, b] }) => {
      const alice = await a.chatter('alice');
      const bob = await b.chatter('bob');
      alice.input('counted');
      await bob.chat('say', { body: 'counted' });
      await sleep(1200); // a watchdog PING or two
      const text = await (await fetch(a.http('/metrics'))).text();
      for (const name of ['partyline_bus_messages_out_total', 'partyline_bus_messages_in_total', 'partyline_bus_gaps_total',
        'partyline_redis_reconnects_total', 'partyline_redis_rtt_seconds_count', 'partyline_bus_processes']) {
        assert(new RegExp('^' + name + ' ', 'm').test(text), name + ' in /metrics');
      }
      assert(/^partyline_bus_messages_out_total [1-9]/m.test(text), 'messages out counted');
      assert(/^partyline_bus_processes 1$/m.test(text), 'one other process');
      assert(/^partyline_redis_rtt_seconds_count [1-9]/m.test(text), 'round trips measured');
    },
  },
];
