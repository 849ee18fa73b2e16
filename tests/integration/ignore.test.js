// /ignore and /unignore.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const from = (who) => (e) => (e.type === 'chat' && e.from === who && e.kind !== 'join' && e.kind !== 'leave') ||
  (e.type === 'typing' && e.from === who) || e.type === 'bell';

exports.tests = [
  {
    name: "an ignored user's lines, actions, private messages, pages and typing stop reaching you, across logins",
    fn: async ({ srv }) => {
      const a = await srv.ws('?typing=1');
      await a.waitFor((e) => e.type === 'prompt');
      a.send({ type: 'register', handle: 'alice', password: 'alice-pass' });
      await a.waitFor((e) => e.type === 'auth');
      a.input('c');
      await a.chat('join', { from: 'alice' });
      const b = await srv.chatter('bob');
      const c = await srv.chatter('carol');
      a.input('/ignore Bob');
      await a.text(/You are now ignoring Bob/);
      b.input('can you hear me');
      b.input('/me shouts');
      b.input('/msg alice psst');
      b.input('/page alice');
      b.send({ type: 'typing', state: 'start' });
      await c.chat('action', { from: 'bob' }, 'others still hear bob');
      await b.chat('direct', { from: 'bob', to: 'alice' }, 'bob is not told');
      await b.chat('page', { from: 'bob' });
      await a.none(from('bob'), 400, 'alice hears nothing from bob');
      c.input('carol is heard');
      await a.chat('say', { from: 'carol', body: 'carol is heard' });
      a.input('/ignore');
      await a.text(/You are ignoring: bob/);
      // a fresh login keeps the list
      a.close();
      const a2 = await srv.ws();
      await a2.waitFor((e) => e.type === 'prompt');
      a2.send({ type: 'login', handle: 'alice', password: 'alice-pass' });
      await a2.waitFor((e) => e.type === 'menu');
      a2.input('c');
      await a2.chat('join', { from: 'alice' });
      b.input('still ignored?');
      await c.chat('say', { body: 'still ignored?' });
      await a2.none((e) => e.type === 'chat' && e.body === 'still ignored?', 300, 'kept across logins');
      a2.input('/unignore bob');
      await a2.text(/You hear bob again/);
      b.input('back in');
      await a2.chat('say', { from: 'bob', body: 'back in' });
      a2.input('/ignore alice');
      await a2.text(/cannot ignore yourself/);
      a2.input('/unignore carol');
      await a2.text(/not ignoring carol/);
    },
  },
];
