// Presence as events (core/PROTOCOL.md, "Presence"): a connection that asks
// is sent who is online and where as a full list, then deltas gathered over
// presence_ms; they follow logins, rooms, services and logoffs, on one
// process or many, and only those who asked pay for them.
'use strict';
const { Server, WsClient, sleep, assert, eq } = require('../lib/harness');
const { Redis } = require('../lib/redis');

exports.setup = async (t) => {
  if (!t.processes) return { srv: await Server.start(t.opts || {}) };
  const redis = await Redis.start();
  const set = Object.assign({ redis: redis.where, cluster_dead_s: '2' }, (t.opts && t.opts.set) || {});
  const first = await Server.start({ set });
  const servers = [first];
  for (let i = 1; i < t.processes; i++) servers.push(await Server.start({ dir: first.dir, set }));
  for (const s of servers) {
    const t0 = Date.now();
    while ((s.log.match(/is on the bus/g) || []).length < t.processes - 1) {
      if (Date.now() - t0 > 8000) throw new Error('the processes never found each other:\n' + s.log.slice(-1500));
      await sleep(50);
    }
  }
  return { srv: first, servers, redis, teardown: () => redis.stop() };
};

// What a page does with the events: a full list replaces everything; a
// delta applies only on top of the one before it (`v`).
class Roster {
  constructor(client) {
    this.c = client;
    this.users = new Map();
    this.rooms = new Map();
    this.v = undefined;
    this.seen = 0; // events of the client read so far
    this.applied = []; // presence events, as they came
  }

  pump() {
    const evs = this.c.events;
    for (; this.seen < evs.length; this.seen++) {
      const e = evs[this.seen];
      if (e.type !== 'presence') continue;
      this.applied.push(e);
      if (e.full) {
        this.users = new Map(e.users.map((u) => [u.node, u]));
        this.rooms = new Map(e.rooms.map((r) => [r.name, r.count]));
        this.v = e.v;
        continue;
      }
      if (this.v === undefined || e.v <= this.v) continue;
      if (e.v !== this.v + 1) throw new Error(`a gap in v: had ${this.v}, got ${e.v}`);
      for (const n of e.gone || []) this.users.delete(n);
      for (const u of e.users || []) this.users.set(u.node, u);
      for (const r of e.rooms || []) {
        if (r.count) this.rooms.set(r.name, r.count);
        else this.rooms.delete(r.name);
      }
      this.v = e.v;
    }
  }

  who() {
    this.pump();
    // a bot whose script says nothing is doing "Bot" (who.lua; the page says so too)
    return [...this.users.values()].map((u) => `${u.handle}@${u.node} ${u.room || '-'} ${u.activity || (u.transport === 'bot' ? 'Bot' : '')}`)
      .sort().join('\n');
  }

  roomList() {
    this.pump();
    return [...this.rooms.entries()].map(([n, c]) => `${n} ${c}`).sort().join('\n');
  }

  // Waits until the list is what asker's /who (and /rooms) says.
  async matches(asker, what) {
    let want, wantRooms, got, gotRooms;
    for (let i = 0; i < 60; i++) {
      asker.input('/who');
      const w = await asker.waitFor((e) => e.type === 'who', 'who');
      want = w.users.map((u) => `${u.handle}@${u.node} ${u.room || '-'} ${u.activity}`).sort().join('\n');
      asker.input('/rooms');
      const r = await asker.waitFor((e) => e.type === 'rooms', 'rooms');
      wantRooms = r.rooms.map((x) => `${x.name} ${x.count}`).sort().join('\n');
      got = this.who();
      gotRooms = this.roomList();
      if (got === want && gotRooms === wantRooms) return;
      await sleep(100);
    }
    throw new Error(`${what}: the presence list never matched /who\nwant:\n${want}\n${wantRooms}\ngot:\n${got}\n${gotRooms}`);
  }
}

// A web user who asks for presence, logged in and in chat.
async function watcher(srv, handle, query = '?presence=1') {
  const c = await srv.ws(query);
  await c.waitFor((e) => e.type === 'prompt');
  c.send({ type: 'register', handle, password: 'secret-' + handle });
  await c.waitFor((e) => e.type === 'auth');
  c.input('c');
  await c.chat('join', { from: handle });
  c.handle = handle;
  return c;
}

exports.tests = [
  {
    name: 'a page that asks gets the full list at login, then deltas as users log in, move and leave; others get none',
    fn: async ({ srv }) => {
      const bob = await srv.chatter('bob'); // already on: in the first list
      const alice = await srv.ws('?presence=1');
      await alice.waitFor((e) => e.type === 'prompt');
      await alice.none((e) => e.type === 'presence', 300, 'no presence before login');
      alice.send({ type: 'register', handle: 'alice', password: 'alicepass1' });
      const full = await alice.waitFor((e) => e.type === 'presence', 'the full list');
      eq(full.full, true, 'the first is the full list');
      assert(full.users.some((u) => u.handle === 'bob' && u.room === 'lobby' && u.transport === 'websocket'), 'bob in it: ' + JSON.stringify(full.users));
      assert(full.rooms.some((r) => r.name === 'lobby' && r.count === 1), 'the lobby in it: ' + JSON.stringify(full.rooms));
      const list = new Roster(alice);
      alice.input('c');
      const carol = await srv.telnetUser('carol', { chat: true });
      await list.matches(bob, 'a telnet user logs in and chats');
      eq(list.users.get([...list.users.keys()].find((n) => list.users.get(n).handle === 'carol')).transport, 'telnet', 'carol is on telnet');
      carol.line('/join games');
      await carol.expect(/You are in #games/);
      await list.matches(bob, 'carol opens #games');
      carol.line('/quit');
      await carol.expect(/Your choice: /);
      await list.matches(bob, 'carol leaves chat: #games is emptied');
      assert(!list.rooms.has('games'), 'an emptied room goes');
      carol.line('g');
      await carol.expect(/Goodbye/);
      await list.matches(bob, 'carol logs off');
      assert(list.applied.some((e) => (e.gone || []).length), 'a logoff is a `gone`');
      // every delta follows the one before it, and the who list comes with
      // no one typing /who on alice's side
      assert(!alice.events.some((e) => e.type === 'who'), 'alice never asked');
      assert(!bob.events.some((e) => e.type === 'presence'), 'bob did not ask and got none');
      assert(!/presence|"users"/.test(carol.out), 'telnet never sees them');
    },
  },
  {
    name: 'changes within presence_ms go out as one delta, the same bytes to every page that asked',
    opts: { set: { presence_ms: '1500' } },
    fn: async ({ srv }) => {
      const pages = [];
      for (let i = 0; i < 5; i++) pages.push(await watcher(srv, 'page' + i));
      const lists = pages.map((p) => new Roster(p));
      const bob = await srv.chatter('bob');
      await lists[0].matches(bob, 'settled');
      await sleep(1700); // nothing in flight
      for (const l of lists) l.pump();
      const before = lists.map((l) => l.applied.length);
      // a burst: rooms made and emptied, a service left and entered again
      bob.input('/join aa');
      bob.input('/join bb');
      bob.input('/join cc');
      bob.input('/quit');
      await bob.waitFor((e) => e.type === 'menu');
      bob.input('c');
      await bob.chat('join', { from: 'bob', room: 'cc' });
      await lists[0].matches(bob, 'after the burst');
      await sleep(1700);
      for (const l of lists) l.pump();
      const deltas = lists.map((l, i) => l.applied.slice(before[i]));
      eq(deltas[0].length, 1, 'one delta for the whole burst: ' + JSON.stringify(deltas[0]));
      const d = deltas[0][0];
      eq(JSON.stringify(d.users.map((u) => [u.handle, u.room, u.service])), JSON.stringify([[ 'bob', 'cc', 'chat' ]]), 'bob as he ends up');
      eq(JSON.stringify(d.rooms.map((r) => [r.name, r.count])), JSON.stringify([['aa', 0], ['bb', 0], ['cc', 1], ['lobby', 5]]),
        'every room that changed, once, the emptied ones with 0');
      const body = (e) => JSON.stringify(Object.assign({}, e, { seq: 0 }));
      for (const x of deltas) eq(x.length === 1 && body(x[0]), body(d), 'every page got the same delta');
    },
  },
  {
    name: 'a user moving to Mail is followed; bots are listed; a resume, and asking, get the full list again; "off" stops it',
    fn: async ({ srv }) => {
      const alice = await watcher(srv, 'alice');
      const list = new Roster(alice);
      const bob = await srv.chatter('bob');
      bob.input('/join games');
      await bob.chat('join', { from: 'bob', room: 'games' });
      const asker = await srv.chatter('asker');
      await list.matches(asker, 'bob in #games');
      bob.input('/quit');
      await bob.waitFor((e) => e.type === 'menu');
      bob.input('m');
      await bob.waitFor((e) => e.type === 'menu' && e.id === 'mail');
      await list.matches(asker, 'bob in Mail');
      const b = [...list.users.values()].find((u) => u.handle === 'bob');
      assert(!b.room && b.service === 'mail', 'bob is in Mail, in no room: ' + JSON.stringify(b));
      assert(!list.rooms.has('games'), '#games went with him');
      // a bot of the board's scripts is listed like anyone
      require('fs').writeFileSync(require('path').join(srv.scripts, 'zz_bot.lua'),
        'local b = pl.bot("helper", function() end)\npl.join(b, "lobby")\n');
      await srv.waitLog(/scripts reloaded/);
      await list.matches(asker, 'a bot came');
      eq([...list.users.values()].find((u) => u.handle === 'helper').transport, 'bot', 'the bot is a bot');
      // a dropped connection resumes: the full list again, after what it missed
      const hello = alice.events.find((e) => e.type === 'hello');
      const auth = alice.events.filter((e) => e.type === 'auth').pop();
      const last = alice.events[alice.events.length - 1].seq;
      alice.close();
      bob.input('q');
      await bob.waitFor((e) => e.type === 'menu' && e.id === 'main');
      const back = await srv.ws(`?presence=1&resume=${auth.session}&last_seq=${last}`);
      await back.waitFor((e) => e.type === 'hello' && e.resumed);
      const again = await back.waitFor((e) => e.type === 'presence' && e.full, 'the full list after resume');
      assert(again.users.some((u) => u.handle === 'bob' && u.service === 'menu'), 'as it is now: ' + JSON.stringify(again.users));
      assert(hello, 'had a hello');
      // asking by message; a bad state; off
      const other = await srv.user('other');
      other.send({ type: 'presence', state: 'sideways' });
      eq((await other.waitFor((e) => e.type === 'error')).code, 'bad_request', 'a bad state');
      other.send({ type: 'presence' });
      const asked = await other.waitFor((e) => e.type === 'presence', 'the list on asking');
      eq(asked.full, true, 'a full list');
      other.send({ type: 'presence', state: 'off' });
      await sleep(100);
      const n = other.events.length;
      bob.input('q');
      await bob.waitFor((e) => e.type === 'menu');
      bob.input('g');
      await bob.waitFor((e) => e.type === 'bye');
      await back.waitFor((e) => e.type === 'presence' && (e.gone || []).length, 'the page that asked hears bob go');
      assert(!other.events.slice(n).some((e) => e.type === 'presence'), 'no presence after "off"');
    },
  },
  {
    name: 'on a board of two processes each page sees the whole board, and a process that dies takes its users off',
    processes: 2,
    fn: async ({ servers: [a, b] }) => {
      const alice = await watcher(a, 'alice');
      const list = new Roster(alice);
      const bob = await b.chatter('bob');
      const carol = await b.telnetUser('carol', { chat: true });
      await list.matches(bob, 'users of the other process');
      bob.input('/join games');
      await bob.chat('join', { from: 'bob', room: 'games' });
      await list.matches(alice, 'a room made on the other process');
      carol.line('/quit');
      await carol.expect(/Your choice: /);
      await list.matches(alice, 'a user there leaves chat');
      b.proc.kill('SIGKILL');
      await b.exited;
      for (let i = 0; i < 80 && [...list.users.values()].some((u) => u.handle === 'bob'); i++) {
        await sleep(100);
        list.pump();
      }
      eq(list.who().split('\n').map((l) => l.split('@')[0]).join(','), 'alice', 'only alice is left');
      assert(!list.rooms.has('games'), 'and #games went with bob');
    },
  },
];
