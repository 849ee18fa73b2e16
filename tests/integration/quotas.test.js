// Quotas that keep one user from growing the database without end: new
// rooms per user per hour, rooms with history (and the expiry of an empty
// room's history), mail size and mailbox size. Each is configurable and
// each refusal is told in words.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

async function join(c, room) {
  c.input('/join ' + room);
  return c.waitFor((e) => (e.type === 'chat' && e.kind === 'join' && e.from === c.handle && e.room === room) ||
    (e.type === 'text' && /You can open/.test(strip(e.text))), 'join ' + room);
}

async function compose(c, to, subject) {
  c.input('m');
  await c.waitFor((e) => e.type === 'menu' && e.id === 'mail');
  c.input('c');
  await c.waitFor((e) => e.type === 'prompt' && /To/.test(e.text));
  c.input(to);
  await c.waitFor((e) => e.type === 'prompt' && /Subject/.test(e.text));
  c.input(subject);
  await c.text(/A line with only \. sends it/);
}

exports.tests = [
  {
    name: 'a user may open rooms_per_hour new rooms an hour; rooms already open and sysops are not limited',
    opts: { set: { rooms_per_hour: '2' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await join(b, 'bobs-room');
      eq((await join(a, 'one')).type, 'chat', 'first new room');
      eq((await join(a, 'two')).type, 'chat', 'second new room');
      const no = await join(a, 'three');
      assert(/You can open 2 new rooms an hour; try again in \d+ minutes?/.test(strip(no.text)), 'told: ' + no.text);
      a.input('still here');
      await a.chat('say', { room: 'two', body: 'still here' }, 'stays where it was');
      eq((await join(a, 'bobs-room')).type, 'chat', 'a room with people in it is not new');
      const root = await srv.sysop('root');
      for (const r of ['s1', 's2', 's3']) eq((await join(root, r)).type, 'chat', 'sysop opens ' + r);
    },
  },
  {
    name: 'history is kept for history_rooms_max rooms; an empty room\'s history expires and frees its place',
    opts: { set: { history_rooms_max: '2', history_expire_s: '2', rooms_per_hour: '0' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      a.input('in the lobby');
      await a.chat('say', { body: 'in the lobby' });
      await join(a, 'first');
      a.input('in first');
      await a.chat('say', { body: 'in first' });
      await join(a, 'second'); // a third room: its lines are not kept; told before the join line
      const told = a.events.find((e) => e.type === 'chat' && e.kind === 'system' && /not kept/.test(e.body));
      assert(told && /Lines said in #second are not kept: this board keeps history for 2 rooms at most/.test(told.body),
        'told on joining: ' + a.tail());
      a.input('in second');
      await a.chat('say', { body: 'in second' });
      const b = await srv.user('bob');
      b.input('c');
      await b.chat('join', { from: 'bob' });
      await join(b, 'second');
      assert(b.events.some((e) => e.type === 'chat' && e.kind === 'system' && /not kept/.test(e.body)), 'bob told too');
      assert(!b.events.some((e) => e.history && e.room === 'second'), 'nothing kept for the room past the cap');
      // #first is empty now (alice left it): its history expires and frees a place
      await srv.waitLog(/history of \d+ empty rooms? expired/, 'the expiry', 6000);
      await join(b, 'first');
      assert(!b.events.some((e) => e.history && e.room === 'first'), 'the expired history is gone');
      a.input('kept now');
      await a.chat('say', { body: 'kept now' });
      await sleep(100);
      const c = await srv.user('carol');
      c.input('c');
      await c.chat('join', { from: 'carol' });
      await join(c, 'second'); // history comes before the join line
      assert(c.events.some((e) => e.type === 'chat' && e.history && e.room === 'second' && e.body === 'kept now'),
        'the freed place is taken by #second: ' + c.tail(8));
    },
  },
  {
    name: 'mail is limited in size (mail_max_bytes) and per mailbox (mailbox_max); the sender is told and keeps the message',
    opts: { set: { mail_max_bytes: '300', mailbox_max: '2' } },
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      const b = await srv.user('bob');
      await compose(a, 'bob', 'big');
      a.input('x'.repeat(200));
      a.input('y'.repeat(200));
      await a.text(/That line does not fit: one message holds 300 bytes/);
      a.input('.');
      await a.text(/Mail sent to bob\./);
      const got = await b.waitFor((e) => e.type === 'mail' && e.messages.length === 1);
      eq(got.unread, 1, 'the first arrives');
      await compose(a, 'bob', 'second');
      a.input('two');
      a.input('.');
      await a.text(/Mail sent to bob\./);
      await compose(a, 'bob', 'third');
      a.input('three');
      a.input('.');
      await a.text(/bob's mailbox is full, so the message was not sent\. It is kept/);
      await srv.waitLog(/mailbox full/);
      // bob makes room; alice sends the kept message
      b.input('m');
      await b.waitFor((e) => e.type === 'menu' && e.id === 'mail');
      b.input('d 1');
      await b.text(/Message 1 deleted/);
      a.input('.');
      await a.text(/Mail sent to bob\./);
      const box = await b.waitFor((e) => e.type === 'mail' && e.messages.some((m) => m.subject === 'third'));
      eq(box.messages.length, 2, 'two in the box');
    },
  },
];
