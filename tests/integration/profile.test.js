// Profiles and /whois.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

exports.tests = [
  {
    name: 'a user edits their profile from the menu; /whois shows it with online status, then last seen',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      a.input('p');
      const m = await a.waitFor((e) => e.type === 'menu' && e.id === 'profile');
      assert(m.items.some((i) => i.key === 'N'), 'profile menu');
      a.input('n');
      await a.waitFor((e) => e.type === 'prompt' && /Real name/.test(e.text));
      a.input('Alice Liddell');
      await a.text(/Real name saved/);
      a.input('L');
      await a.waitFor((e) => e.type === 'prompt' && /Location/.test(e.text));
      a.input('Wonderland');
      a.input('t');
      await a.waitFor((e) => e.type === 'prompt' && /Tagline/.test(e.text));
      a.input('Curiouser and curiouser');
      const shown = await a.text(/Tagline:\s+Curiouser/);
      assert(/Location:\s+Wonderland/.test(strip(shown.text)), 'location shown');
      a.input('q');
      await a.waitFor((e) => e.type === 'menu' && e.id === 'main');
      const b = await srv.chatter('bob');
      b.input('/whois ALICE');
      const w = strip((await b.text(/Profile of alice/)).text);
      assert(/Real name:\s+Alice Liddell/.test(w) && /Tagline:\s+Curiouser and curiouser/.test(w), w);
      assert(/Online on node \d+ \(Main Menu\)/.test(w), 'online: ' + w);
      a.input('g');
      await a.closedP;
      await sleep(100);
      b.input('/finger alice');
      const gone = strip((await b.text(/Profile of alice/)).text);
      assert(/Last seen \d{4}-\d\d-\d\dT/.test(gone), 'last seen: ' + gone);
      b.input('/whois nobody');
      await b.text(/No user called nobody/);
    },
  },
  {
    name: 'a user changes their password from the profile; the old one stops working',
    fn: async ({ srv }) => {
      const a = await srv.user('alice', 'first-password');
      a.input('p');
      await a.waitFor((e) => e.type === 'menu' && e.id === 'profile');
      const change = async (old, nw, again) => {
        a.input('w');
        eq((await a.waitFor((e) => e.type === 'prompt' && /Current password/.test(e.text))).secret, true, 'current password is secret');
        a.input(old);
        eq((await a.waitFor((e) => e.type === 'prompt' && /New password/.test(e.text))).secret, true, 'new password is secret');
        a.input(nw);
        await a.waitFor((e) => e.type === 'prompt' && /Repeat/.test(e.text));
        a.input(again);
      };
      await change('wrong-one', 'second-password', 'second-password');
      await a.text(/not your current password/);
      await change('first-password', 'abc', 'abc');
      await a.text(/too weak/);
      await change('first-password', 'second-password', 'different');
      await a.text(/do not match/);
      await change('first-password', 'second-password', 'second-password');
      await a.text(/Your password has been changed/);
      await srv.waitLog(/"event":"password_change".*alice: changed/);
      assert(!/second-password|first-password/.test(srv.log), 'no passwords in the log');
      const old = await srv.ws();
      await old.waitFor((e) => e.type === 'prompt');
      old.send({ type: 'login', handle: 'alice', password: 'first-password' });
      eq((await old.waitFor((e) => e.type === 'error')).code, 'bad_login', 'old password refused');
      const nw = await srv.ws();
      await nw.waitFor((e) => e.type === 'prompt');
      nw.send({ type: 'login', handle: 'alice', password: 'second-password' });
      eq((await nw.waitFor((e) => e.type === 'auth')).handle, 'alice', 'new password works');
    },
  },
  {
    name: 'profile fields are cut on whole characters; /whois of such a profile keeps the reader connected',
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      a.input('p');
      await a.waitFor((e) => e.type === 'menu' && e.id === 'profile');
      a.input('n');
      await a.waitFor((e) => e.type === 'prompt' && /Real name/.test(e.text));
      a.input('a'.repeat(39) + '\u00e9t\u00e9'); // 40 characters kept: byte 40 is the first half of an e-acute
      await a.text(/Real name saved/);
      a.input('t');
      await a.waitFor((e) => e.type === 'prompt' && /Tagline/.test(e.text));
      a.input('\u{1f600}'.repeat(81));
      await a.text(/Tagline saved/);
      const b = await srv.chatter('bob'); // the ws library fails the connection on invalid UTF-8
      b.input('/whois alice');
      const p = await b.waitFor((e) => e.type === 'profile', 'the profile');
      eq(p.realname, 'a'.repeat(39) + '\u00e9', 'real name: 40 characters');
      eq(p.tagline, '\u{1f600}'.repeat(80), 'tagline: 80 characters');
      b.input('still here');
      await b.chat('say', { from: 'bob', body: 'still here' });
      assert(!b.closed, 'bob is still connected');
    },
  },
];
