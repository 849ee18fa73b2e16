// Mail: compose with the line editor, inbox with unread marks, read, reply,
// delete, "You have N new messages" at login (also after a restart), and
// /msg to someone offline offering to send it as mail.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const inMail = (c) => c.waitFor((e) => e.type === 'menu' && e.id === 'mail', 'the mail menu');

async function login(srv, handle, password) {
  const c = await srv.login(handle, password);
  await c.waitFor((e) => e.type === 'auth', 'auth for ' + handle);
  return c;
}

exports.tests = [
  {
    name: 'a user writes mail in the editor; the recipient is told, reads it (unread mark goes), replies and deletes',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      const b = await srv.user('bob');
      a.input('m');
      const empty = await inMail(a);
      assert(/mailbox is empty/.test(strip(empty.text)), 'empty inbox: ' + empty.text);
      a.input('c');
      await a.waitFor((e) => e.type === 'prompt' && /To/.test(e.text));
      a.input('nobody');
      await a.text(/There is no user called nobody/);
      a.input('BOB');
      await a.waitFor((e) => e.type === 'prompt' && /Subject/.test(e.text));
      a.input('Hello there');
      await a.text(/A line with only \. sends it/);
      eq(strip((await a.waitFor((e) => e.type === 'prompt')).text), '  1: ', 'numbered editor line');
      a.input('first line');
      a.input('  second line, indented');
      a.input('.');
      await a.text(/Mail sent to bob\./);
      await inMail(a);
      await b.chat('system', { body: 'New mail from alice: Hello there' });
      const note = await b.waitFor((e) => e.type === 'mail');
      eq(note.unread, 1, 'unread count pushed to the recipient');
      await b.waitFor((e) => e.type === 'bell', 'a bell for new mail');

      b.input('m');
      const box = await b.waitFor((e) => e.type === 'mail' && e.messages.length === 1);
      eq(box.messages[0].from, 'alice', 'from');
      eq(box.messages[0].unread, true, 'unread');
      const list = strip((await inMail(b)).text);
      assert(/\* 1\s+alice\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+Hello there/.test(list), 'inbox line with unread mark: ' + list);
      b.input('1');
      const msg = await b.waitFor((e) => e.type === 'mail_message', 'the message');
      eq(msg.body, 'first line\n  second line, indented', 'body kept line by line');
      eq((await b.waitFor((e) => e.type === 'mail')).unread, 0, 'read now');
      await b.waitFor((e) => e.type === 'menu' && e.id === 'mail_read');
      b.input('r');
      await b.text(/A line with only \. sends it/);
      b.input('thanks!');
      b.input('.');
      await b.text(/Mail sent to alice\./);
      await a.chat('system', { body: 'New mail from bob: Re: Hello there' });

      b.input('1'); // read again: no longer marked
      await b.waitFor((e) => e.type === 'mail_message');
      b.input('d');
      await b.text(/Message 1 deleted/);
      const after = await b.waitFor((e) => e.type === 'mail' && e.messages.length === 0, 'inbox now empty');
      eq(after.unread, 0, 'nothing left');
    },
  },
  {
    name: '/abort throws a message away, and an empty message is not sent',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      await srv.user('bob');
      a.input('m');
      await inMail(a);
      a.input('c');
      a.input('bob');
      a.input('draft');
      a.input('half a thought');
      a.input('/abort');
      await a.text(/Message thrown away/);
      await inMail(a);
      a.input('c');
      a.input('bob');
      a.input('nothing');
      a.input('.');
      await a.text(/Nothing written; nothing sent/);
      const b = await login(srv, 'bob', 'secret-bob');
      b.input('m');
      const box = await b.waitFor((e) => e.type === 'mail' && Array.isArray(e.messages));
      eq(box.messages.length, 0, 'no mail arrived');
    },
  },
  {
    name: 'mail waits for an offline user across a restart: "You have N new messages" at login',
    fn: async (ctx) => {
      const a = await ctx.srv.user('alice');
      const b = await ctx.srv.user('bob');
      b.input('g');
      await b.closedP;
      a.input('m');
      await inMail(a);
      for (const subject of ['one', 'two']) {
        a.input('c');
        a.input('bob');
        a.input(subject);
        a.input('body of ' + subject);
        a.input('.');
        await a.text(/Mail sent to bob/);
      }
      const dir = ctx.srv.dir;
      await ctx.srv.stop();
      ctx.srv = await Server.start({ dir });
      const b2 = await login(ctx.srv, 'bob', 'secret-bob');
      const note = await b2.waitFor((e) => e.type === 'mail');
      eq(note.unread, 2, 'two unread');
      assert(/You have 2 new messages/.test(strip(note.text)), note.text);
      b2.input('m');
      b2.input('2');
      eq((await b2.waitFor((e) => e.type === 'mail_message')).body, 'body of two', 'kept across the restart');
    },
  },
  {
    name: '/msg to someone offline offers mail; yes sends it, no does not; mail from someone ignored never arrives',
    fn: async ({ srv }) => {
      const c = await srv.user('carol');
      c.input('g');
      await c.closedP;
      const b = await srv.chatter('bob');
      b.input('/msg Carol are you coming tonight?');
      const q = await b.waitFor((e) => e.type === 'prompt');
      assert(/carol is not online\. Send it as mail instead\?/.test(q.text), q.text);
      b.input('y');
      await b.text(/Sent to carol as mail/);
      b.input('/msg carol another one');
      await b.waitFor((e) => e.type === 'prompt');
      b.input('n');
      await b.text(/Not sent/);
      b.input('/msg nobody hello');
      await b.text(/Nobody called nobody is online/);
      const c2 = await login(srv, 'carol', 'secret-carol');
      const note = await c2.waitFor((e) => e.type === 'mail');
      eq(note.unread, 1, 'only the one she said yes to');
      eq(note.messages[0].subject, 'are you coming tonight?', 'subject from the line');
      c2.input('c');
      await c2.chat('join', { from: 'carol' });
      c2.input('/ignore bob');
      await c2.text(/ignoring bob/i);
      c2.input('/quit');
      c2.input('g');
      await c2.closedP;
      b.input('/msg carol are you ignoring me?');
      await b.waitFor((e) => e.type === 'prompt');
      b.input('yes');
      await b.text(/Sent to carol as mail/); // the sender is not told
      const c3 = await login(srv, 'carol', 'secret-carol');
      eq((await c3.waitFor((e) => e.type === 'mail')).messages.length, 1, 'the ignored sender\'s mail was dropped');
    },
  },
  {
    name: 'a telnet user reads the inbox and writes mail through the real prompts',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      const t = await srv.telnetUser('tess');
      t.line('m');
      await t.expect(/mailbox is empty[\s\S]*Your choice: /);
      t.line('c');
      await t.expect(/To \(a handle\): /);
      t.line('alice');
      await t.expect(/Subject: /);
      t.line('from the terminal');
      await t.expect(/  1: /);
      t.line('hi alice');
      await t.expect(/  2: /);
      t.line('.');
      await t.expect(/Mail sent to alice\./);
      await a.chat('system', { body: 'New mail from tess: from the terminal' });
    },
  },
  {
    name: 'subjects are cut on whole characters (a cut inside one locked the recipient\'s browser out); the recipient stays connected',
    fn: async ({ srv }) => {
      const v = await srv.user('vic');
      v.input('g');
      await v.closedP;
      const m = await srv.chatter('mallory');
      // 39 a and an e-acute: byte 40 was the first half of the e-acute
      const line = 'a'.repeat(39) + '\u00e9 and the rest';
      m.input('/msg vic ' + line);
      await m.waitFor((e) => e.type === 'prompt' && /Send it as mail/.test(e.text));
      m.input('y');
      await m.text(/Sent to vic as mail/);
      m.input('/quit');
      await m.waitFor((e) => e.type === 'menu' && e.id === 'main');
      m.input('m');
      await inMail(m);
      m.input('c');
      m.input('vic');
      m.input('b'.repeat(59) + '\u20ac and more'); // a three-byte character across the 60th byte
      m.input('body');
      m.input('.');
      await m.text(/Mail sent to vic/);

      // the ws library, like a browser, fails the connection on invalid UTF-8
      const c = await login(srv, 'vic', 'secret-vic');
      const note = await c.waitFor((e) => e.type === 'mail' && e.messages.length === 2, 'the inbox at login');
      eq(note.messages[0].subject, 'a'.repeat(39) + '\u00e9...', 'offer subject: 40 characters, then ...');
      eq(note.messages[1].subject, 'b'.repeat(59) + '\u20ac', 'typed subject: 60 characters');
      c.input('m');
      c.input('2');
      await c.waitFor((e) => e.type === 'mail_message', 'the message');
      c.input('r'); // the reply's "Re: " pushes the subject over the limit again
      await c.text(/A line with only \. sends it/);
      c.input('thanks');
      c.input('.');
      await c.text(/Mail sent to mallory/);
      const back = await m.chat('system', { body: /^New mail from vic: Re: / });
      eq(back.body, 'New mail from vic: Re: ' + 'b'.repeat(56), 'reply subject cut to 60 characters');
      c.input('1');
      eq((await c.waitFor((e) => e.type === 'mail_message')).body, line, 'the whole line is the body');
      assert(!c.closed, 'vic is still connected');
    },
  },
];
