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
];
