// Sessions and nodes: hello, node numbers, several connections, resume.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

// The id a logged-in client resumes with: the one its latest `auth` carries
// (login gives the session a new id; hello's is the one from before).
const sessionOf = (c) => c.events.filter((e) => e.type === 'auth').pop().session;

exports.tests = [
  {
    name: 'hello comes first with session, node, server and protocol; seq then grows by one',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      const h = await c.waitFor(() => true);
      eq(h.type, 'hello', 'first event');
      assert(/^[A-Za-z0-9_-]{22,}$/.test(h.session), 'session id is URL-safe with 128 bits: ' + h.session);
      eq(h.node, 1, 'first node');
      eq(h.protocol, 1, 'protocol');
      eq(h.server.name, 'partyline', 'server name');
      assert(h.server.version, 'server version');
      await c.waitFor((e) => e.type === 'prompt');
      const seqs = c.events.slice(1).map((e) => e.seq);
      seqs.forEach((s, i) => eq(s, h.seq + 1 + i, 'seq grows by one'));
      c.events.forEach((e) => assert(typeof e.ts === 'string', 'every event has ts'));
    },
  },
  {
    name: 'a new session gets the lowest free node number',
    fn: async ({ srv }) => {
      const a = await srv.ws(), b = await srv.ws(), c = await srv.ws();
      const nodes = [];
      for (const x of [a, b, c]) nodes.push((await x.waitFor((e) => e.type === 'hello')).node);
      eq(nodes.join(','), '1,2,3', 'nodes in order');
      b.close(); // not logged in, so it ends after the grace period; use grace 0 below
    },
  },
  {
    name: 'node numbers are reused once a session ends',
    opts: { set: { grace_s: '0' } },
    fn: async ({ srv }) => {
      const a = await srv.ws(), b = await srv.ws();
      await a.waitFor((e) => e.type === 'hello');
      eq((await b.waitFor((e) => e.type === 'hello')).node, 2, 'b on node 2');
      a.close();
      await sleep(200);
      const c = await srv.ws();
      eq((await c.waitFor((e) => e.type === 'hello')).node, 1, 'node 1 reused');
    },
  },
  {
    name: 'two tabs on one session stay in sync: input from either, events to both',
    fn: async ({ srv }) => {
      const tab1 = await srv.chatter('alice');
      const hello = tab1.events[0];
      const tab2 = await srv.ws();
      await tab2.waitFor((e) => e.type === 'hello');
      tab2.send({ type: 'resume', session: sessionOf(tab1), last_seq: tab1.events[tab1.events.length - 1].seq });
      const h2 = await tab2.waitFor((e) => e.type === 'hello' && e.resumed, 'second hello after resume');
      eq(h2.session, sessionOf(tab1), 'same session');
      eq(h2.node, hello.node, 'same node');
      await tab2.waitFor((e) => e.type === 'auth' && e.handle === 'alice', 'auth on resume of a logged-in session');
      const bob = await srv.chatter('bob');
      tab2.input('typed in tab two');
      for (const c of [tab1, tab2, bob]) await c.chat('say', { from: 'alice', body: 'typed in tab two' });
      tab1.input('/me types in tab one');
      for (const c of [tab1, tab2, bob]) await c.chat('action', { from: 'alice' });
      tab1.close();
      bob.input('still there?');
      await tab2.chat('say', { from: 'bob' }, 'the other tab keeps the session');
      await bob.none((e) => e.type === 'chat' && e.kind === 'leave', 300, 'closing one tab is no leave');
    },
  },
  {
    name: 'resume after a drop replays exactly the missed events, in order, without a leave',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await a.chat('join', { from: 'bob' }); // everything so far has reached alice
      const last = a.events[a.events.length - 1].seq;
      a.close();
      b.input('one');
      b.input('two');
      b.input('/me three');
      await b.chat('action', { from: 'bob' });
      const a2 = await srv.ws();
      await a2.waitFor((e) => e.type === 'hello');
      a2.send({ type: 'resume', session: sessionOf(a), last_seq: last });
      const h = await a2.waitFor((e) => e.type === 'hello' && e.resumed);
      eq(h.seq, last, 'hello after resume carries the seq it resumes after');
      const e1 = await a2.chat('say', { body: 'one' });
      const e2 = await a2.chat('say', { body: 'two' });
      const e3 = await a2.chat('action', { from: 'bob' });
      eq(e1.seq, last + 1, 'first missed event');
      eq(e2.seq, last + 2, 'second');
      eq(e3.seq, last + 3, 'third');
      const replayed = a2.events.filter((e) => e.seq > last && e.seq <= last + 3);
      eq(replayed.length, 3, 'nothing twice');
      await b.none((e) => e.type === 'chat' && e.kind === 'leave', 100, 'no leave announcement');
      a2.input('back');
      await b.chat('say', { from: 'alice', body: 'back' }, 'input works after resume');
    },
  },
  {
    name: 'resume in the connect URL attaches directly (no throwaway session)',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const last = a.events[a.events.length - 1].seq;
      a.close();
      const b = await srv.chatter('bob');
      b.input('while you were out');
      const a2 = await srv.ws(`?resume=${sessionOf(a)}&last_seq=${last}`);
      const h = await a2.waitFor(() => true);
      eq(h.type, 'hello', 'hello first');
      eq(h.session, sessionOf(a), 'same session');
      eq(h.resumed, true, 'resumed');
      await a2.chat('join', { from: 'bob' });
      await a2.chat('say', { body: 'while you were out' });
      assert(!a2.events.some((e) => e.type === 'prompt' && /Handle/.test(e.text)), 'no new login banner');
    },
  },
  {
    name: 'resume of an unknown session is an error and the connection keeps its own session',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      const h = await c.waitFor((e) => e.type === 'hello');
      c.send({ type: 'resume', session: 'no-such-session-aaaaaaaaaa', last_seq: 3 });
      const err = await c.waitFor((e) => e.type === 'error');
      eq(err.code, 'no_session', 'error code');
      c.send({ type: 'register', handle: 'alice', password: 'longpass1' });
      await c.waitFor((e) => e.type === 'auth', 'still usable');
      const u = await srv.ws('?resume=bogus&last_seq=1');
      const h2 = await u.waitFor(() => true);
      eq(h2.type, 'hello', 'hello first even when the URL resume fails');
      assert(h2.session !== h.session, 'a new session');
      eq((await u.waitFor((e) => e.type === 'error')).code, 'no_session', 'URL resume failure reported');
    },
  },
  {
    name: 'a session that ends is gone for resume',
    opts: { set: { grace_s: '1' } },
    fn: async ({ srv }) => {
      const a = await srv.user('alice');
      a.close();
      await sleep(1600);
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'hello');
      c.send({ type: 'resume', session: sessionOf(a), last_seq: 0 });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'no_session', 'ended session cannot be resumed');
    },
  },
  {
    name: 'the session id changes at login; auth carries the new one; the old id resumes nothing (issue 9.9)',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      const hello = await c.waitFor((e) => e.type === 'hello');
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'register', handle: 'alice', password: 'alice-password' });
      const auth = await c.waitFor((e) => e.type === 'auth');
      assert(/^[A-Za-z0-9_-]{22,}$/.test(auth.session) && auth.session !== hello.session, 'a new id in auth: ' + auth.session);
      const x = await srv.ws();
      await x.waitFor((e) => e.type === 'hello');
      x.send({ type: 'resume', session: hello.session, last_seq: 0 });
      eq((await x.waitFor((e) => e.type === 'error')).code, 'no_session', 'the id from before login is dead');
      const y = await srv.ws(`?resume=${auth.session}&last_seq=0`);
      const h = await y.waitFor(() => true);
      assert(h.type === 'hello' && h.resumed && h.session === auth.session, 'the new one resumes');
      eq((await y.waitFor((e) => e.type === 'auth' && e.token)).session, auth.session, 'and the resumer is told it');
    },
  },
  {
    name: 'a fixation link fails: another address cannot join a session before login; one from the same address is let go at login (issue 9.9)',
    fn: async ({ srv }) => {
      const fixer = await srv.ws(undefined, { localAddress: '127.0.0.7' });
      const planted = (await fixer.waitFor((e) => e.type === 'hello')).session;
      // the victim, elsewhere, opens the link
      const far = await srv.ws(`?resume=${planted}&last_seq=0`, { localAddress: '127.0.0.8' });
      const fh = await far.waitFor(() => true);
      assert(fh.type === 'hello' && fh.session !== planted && !fh.resumed, 'a session of its own');
      eq((await far.waitFor((e) => e.type === 'error')).code, 'no_session', 'told the link led nowhere');
      // behind the fixer's own address (a shared NAT) the link attaches; the login lets the fixer go
      const near = await srv.ws(`?resume=${planted}&last_seq=0`, { localAddress: '127.0.0.7' });
      eq((await near.waitFor((e) => e.type === 'hello')).session, planted, 'attached before login');
      for (const [prompt, line] of [[/Handle/, 'new'], [/New handle/, 'vera'], [/Choose a password/, 'vera-password'], [/Repeat/, 'vera-password']]) {
        await near.waitFor((e) => e.type === 'prompt' && prompt.test(e.text));
        near.input(line);
      }
      const auth = await near.waitFor((e) => e.type === 'auth');
      const gone = await fixer.closedP;
      eq(gone.code, 4009, 'the other connection is let go');
      eq(gone.reason, 'session logged in elsewhere', 'reason');
      assert(!fixer.events.some((e) => e.type === 'auth' || e.type === 'menu'), 'and saw nothing of the login');
      const back = await srv.ws(`?resume=${planted}&last_seq=0`, { localAddress: '127.0.0.7' });
      const bh = await back.waitFor(() => true);
      assert(bh.session !== planted && bh.session !== auth.session, 'what the fixer knew opens nothing');
      near.input('c');
      await near.chat('join', { from: 'vera' }, 'the victim carries on');
    },
  },
  {
    name: 'resuming a logged-in session needs its address or a token for its user, not the id alone (issue 9.9)',
    opts: { set: { jwt_secret: 'test-secret-for-partyline' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const { session, token } = a.events.find((e) => e.type === 'auth');
      const bobToken = (await srv.user('bob')).events.find((e) => e.type === 'auth').token;
      const x = await srv.ws(undefined, { localAddress: '127.0.0.9' });
      await x.waitFor((e) => e.type === 'hello');
      x.send({ type: 'resume', session, last_seq: 0 });
      eq((await x.waitFor((e) => e.type === 'error')).code, 'no_session', 'the id alone, from elsewhere');
      x.send({ type: 'resume', session, last_seq: 0, token: bobToken });
      eq((await x.waitFor((e) => e.type === 'error')).code, 'no_session', 'with someone else\'s token');
      x.send({ type: 'resume', session, last_seq: 0, token: 'not.a.token' });
      eq((await x.waitFor((e) => e.type === 'error')).code, 'no_session', 'with a bad token');
      x.send({ type: 'resume', session, last_seq: 0, token });
      eq((await x.waitFor((e) => e.type === 'hello' && e.resumed)).session, session, 'with the user\'s own token');
      eq((await x.waitFor((e) => e.type === 'auth' && e.token)).handle, 'alice', 'logged in as alice');
      const y = await srv.ws(`?resume=${session}&last_seq=0`, { localAddress: '127.0.0.10' });
      assert((await y.waitFor(() => true)).session !== session, 'the URL: not with the id alone');
      eq((await y.waitFor((e) => e.type === 'error')).code, 'no_session', 'told so');
      const z = await srv.ws(`?resume=${session}&last_seq=0&token=${token}`, { localAddress: '127.0.0.10' });
      eq((await z.waitFor(() => true)).session, session, 'the URL with the user\'s token');
      await srv.waitLog(/"event":"resume_refused"/);
      a.input('still mine');
      for (const c of [a, x, z]) await c.chat('say', { from: 'alice', body: 'still mine' });
    },
  },
];
