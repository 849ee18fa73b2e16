// Chat between web and telnet users, and every chat command.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const isChat = (kind, from) => (e) => e.type === 'chat' && e.kind === kind && (!from || e.from === from);

exports.tests = [
  {
    name: 'a web user and a telnet user chat both ways in the same room',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const tn = await srv.telnetUser('bob');
      tn.line('c');
      await tn.expect(/You are in #lobby\. 1 other person is here/);
      await web.chat('join', { from: 'bob', room: 'lobby' });
      web.input('hello from the web');
      await tn.expect(/<alice> hello from the web\r\n/);
      const own = await web.chat('say', { from: 'alice' }, 'sender sees own line');
      eq(own.body, 'hello from the web', 'body');
      eq(strip(own.text), '<alice> hello from the web', 'rendered text');
      assert(typeof own.id === 'string' && own.id.length > 0, 'chat event has an id');
      assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(own.ts), 'ts is ISO 8601 UTC: ' + own.ts);
      tn.line('hi from telnet');
      const e = await web.chat('say', { from: 'bob' });
      eq(e.body, 'hi from telnet', 'telnet line reaches the web user');
      eq(e.room, 'lobby', 'room');
    },
  },
  {
    name: '/me is an action everyone in the room sees, sender included',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/me waves hello');
      for (const c of [a, b]) {
        const e = await c.chat('action', { from: 'alice' });
        eq(e.body, 'waves hello', 'action body');
        eq(strip(e.text), '* alice waves hello', 'action text');
      }
      a.input('/me');
      await a.text(/Usage: \/me <action>/);
      await b.none(isChat('action'), 200, 'empty /me must not publish');
    },
  },
  {
    name: '/msg and /r are private, ring the bell, and /r survives the sender leaving and coming back',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      const c = await srv.chatter('carol');
      a.input('/msg BOB psst, over here'); // handles are case-insensitive
      const got = await b.chat('direct', { from: 'alice', to: 'bob' });
      eq(got.body, 'psst, over here', 'private body');
      await b.waitFor((e) => e.type === 'bell', 'bell for a private message');
      const echo = await a.chat('direct', { from: 'alice', to: 'bob' }, 'sender copy');
      assert(strip(echo.text).includes('-> *bob*'), 'sender sees where it went: ' + echo.text);
      await c.none(isChat('direct'), 200, 'a third user must not see the private message');
      b.input('/r got it');
      const back = await a.chat('direct', { from: 'bob', to: 'alice' });
      eq(back.body, 'got it', 'reply body');
      // alice leaves and logs in again on a new connection: bob's /r still finds her
      a.close();
      const a2 = await srv.ws();
      await a2.waitFor((e) => e.type === 'prompt');
      a2.send({ type: 'login', handle: 'alice', password: a.password });
      await a2.waitFor((e) => e.type === 'auth');
      b.input('/r welcome back');
      const again = await a2.chat('direct', { from: 'bob' });
      eq(again.body, 'welcome back', '/r after the sender came back');
      b.input('/msg nobody hello');
      await b.text(/Nobody called nobody is online/);
      b.input('/msg alice');
      await b.text(/Usage: \/msg <handle> <text>/);
      c.input('/r hi');
      await c.text(/Nobody has sent you a private message yet/);
    },
  },
  {
    name: '/page rings the target\'s bell with a notice; the sender is told',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.user('bob'); // at the main menu, not in chat
      a.input('/page Bob');
      const p = await b.chat('page', { from: 'alice', to: 'bob' });
      assert(/alice is paging you/.test(strip(p.text)), 'page notice: ' + p.text);
      await b.waitFor((e) => e.type === 'bell', 'bell');
      await a.chat('page', { from: 'alice', to: 'bob' }, 'sender confirmation');
      a.input('/page ghost');
      await a.text(/Nobody called ghost is online/);
    },
  },
  {
    name: '/join moves rooms with leave and join announcements; /rooms lists counts; names are case-insensitive',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/join Games');
      const left = await b.chat('leave', { from: 'alice', room: 'lobby' });
      assert(strip(left.text).includes('alice has left #lobby'), 'leave text');
      await a.chat('join', { from: 'alice', room: 'games' });
      b.input('/join GAMES');
      await a.chat('join', { from: 'bob', room: 'games' }, 'same room whatever the case');
      b.input('in games');
      await a.chat('say', { from: 'bob', room: 'games', body: 'in games' });
      const c = await srv.chatter('carol');
      c.input('/rooms');
      const r = await c.text(/Rooms:/);
      assert(/#games\s+2 people/.test(strip(r.text)), 'games has 2: ' + r.text);
      assert(/#lobby\s+1 person/.test(strip(r.text)), 'lobby has 1: ' + r.text);
      c.input('/join bad!room');
      await c.text(/Room names are/);
      c.input('/join lobby');
      await c.text(/already in #lobby/);
      c.input('lobby line');
      await a.none(isChat('say', 'carol'), 200, 'a line in the lobby must not reach #games');
    },
  },
  {
    name: '/who lists logged-in users with node, activity, room and idle time',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.user('bob');
      const anon = await srv.ws(); // at the login prompt: not listed
      await anon.waitFor((e) => e.type === 'prompt');
      a.input('/who');
      const w = await a.waitFor((e) => e.type === 'who');
      eq(w.users.length, 2, 'two logged-in users');
      const alice = w.users.find((u) => u.handle === 'alice');
      const bob = w.users.find((u) => u.handle === 'bob');
      eq(alice.activity, 'In Chat', 'alice activity');
      eq(alice.room, 'lobby', 'alice room');
      eq(bob.activity, 'Main Menu', 'bob activity');
      assert(typeof alice.node === 'number' && typeof alice.idle_s === 'number', 'node and idle_s are numbers');
      assert(/alice\s+In Chat\s+#lobby/.test(strip(w.text)), 'who text: ' + w.text);
      b.input('W'); // the menu's Who's online
      const w2 = await b.waitFor((e) => e.type === 'who');
      eq(w2.users.length, 2, 'menu who');
    },
  },
  {
    name: '/help lists every registered command with a description',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      a.input('/help');
      const h = strip((await a.text(/Commands:/)).text);
      for (const cmd of ['/me <action>', '/who', '/msg <handle> <text>', '/r <text>', '/page <handle>', '/join <room>', '/rooms', '/help', '/quit']) {
        assert(h.includes(cmd), `help lists ${cmd}: ${h}`);
      }
      assert(!h.includes('/reload'), 'sysop commands are hidden from users');
    },
  },
  {
    name: 'unknown commands and bad arguments give a clear message and change nothing',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/frobnicate now');
      await a.text(/Unknown command \/frobnicate/);
      a.input('/reload');
      await a.text(/Unknown command \/reload/, 'sysop command refused to a user');
      a.input('/join');
      await a.text(/Usage: \/join <room>/);
      await b.none((e) => e.type === 'chat' && e.from === 'alice', 300, 'nothing published');
      a.input('/who');
      const w = await a.waitFor((e) => e.type === 'who');
      eq(w.users.find((u) => u.handle === 'alice').room, 'lobby', 'still in the lobby');
    },
  },
  {
    name: '/quit announces the leave and returns to the main menu',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/quit');
      await b.chat('leave', { from: 'alice' });
      await a.waitFor((e) => e.type === 'menu' && e.id === 'main', 'menu again');
      b.input('/who');
      const w = await b.waitFor((e) => e.type === 'who');
      const alice = w.users.find((u) => u.handle === 'alice');
      eq(alice.activity, 'Main Menu', 'activity after /quit');
      eq(alice.room, undefined, 'no room after /quit');
    },
  },
  {
    name: 'a dropped user is announced as leaving only when the grace period ends',
    opts: { set: { grace_s: '1' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.close();
      await b.none(isChat('leave', 'alice'), 500, 'no leave during the grace period');
      const left = await b.chat('leave', { from: 'alice' }, 'leave after grace', 3000);
      assert(/disconnected/.test(strip(left.text)), 'leave says why: ' + left.text);
      b.input('/who');
      const w = await b.waitFor((e) => e.type === 'who');
      eq(w.users.length, 1, 'alice is gone from who');
    },
  },
  {
    name: 'log off from the menu says goodbye and closes; a telnet user can log off too',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      a.input('g');
      const bye = await a.waitFor((e) => e.type === 'bye');
      assert(/Goodbye, alice/.test(bye.text), 'bye text');
      const closed = await a.closedP;
      eq(closed.code, 1000, 'normal close after bye');
      const tn = await srv.telnet();
      tn.line('alice');
      await tn.expect(/Password: /);
      tn.line(a.password);
      await tn.expect(/Your choice: /);
      tn.line('G');
      await tn.expect(/Goodbye, alice/);
      await tn.expect(/Connection closed by foreign host/);
    },
  },
];
