// Registration and login: prompts, the login/register messages, storage.
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');

// Sends register (or login) and returns the error code, or 'auth' when it worked.
async function attempt(c, type, handle, password) {
  c.send({ type, handle, password });
  const e = await c.waitFor((x) => x.type === 'error' || x.type === 'auth', `${type} ${handle}`);
  return e.type === 'auth' ? 'auth' : e.code;
}

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

exports.tests = [
  {
    name: 'register at the prompts, log out, log in again; a wrong password is refused',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt' && /Handle/.test(e.text));
      c.input('new');
      await c.waitFor((e) => e.type === 'prompt' && /New handle/.test(e.text));
      c.input('Alice');
      const pw = await c.waitFor((e) => e.type === 'prompt');
      eq(pw.secret, true, 'password prompt is secret');
      c.input('wonderland');
      eq((await c.waitFor((e) => e.type === 'prompt')).secret, true, 'confirm prompt is secret');
      c.input('wonderland');
      const auth = await c.waitFor((e) => e.type === 'auth');
      eq(auth.handle, 'Alice', 'handle as registered');
      eq(auth.sysop, false, 'not a sysop');
      c.input('g');
      await c.closedP;

      const d = await srv.ws();
      await d.waitFor((e) => e.type === 'prompt');
      d.input('alice'); // any case
      await d.waitFor((e) => e.type === 'prompt' && e.secret);
      d.input('not-the-password');
      await d.text(/Wrong handle or password/);
      await d.waitFor((e) => e.type === 'prompt' && /Handle/.test(e.text), 'asked again');
      d.input('ALICE');
      await d.waitFor((e) => e.type === 'prompt' && e.secret);
      d.input('wonderland');
      eq((await d.waitFor((e) => e.type === 'auth')).handle, 'Alice', 'logged in with the right password');
    },
  },
  {
    name: 'the login message gives bad_login for a wrong password or unknown handle, then throttled',
    opts: { set: { login_attempts: '3' } },
    fn: async ({ srv }) => {
      await srv.user('bob', 'correct-horse');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'login', handle: 'bob', password: 'wrong' });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'bad_login', 'wrong password');
      c.send({ type: 'login', handle: 'nobody', password: 'whatever' });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'bad_login', 'unknown handle');
      c.send({ type: 'login', handle: 'bob', password: 'wrong again' });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'bad_login', 'third failure');
      c.send({ type: 'login', handle: 'bob', password: 'correct-horse' });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'throttled', 'locked after 3 failures');
      assert(/failed login for 'bob'/.test(srv.log), 'failures are logged');
      const d = await srv.ws();
      await d.waitFor((e) => e.type === 'prompt');
      d.send({ type: 'login', handle: 'BOB', password: 'correct-horse' });
      eq((await d.waitFor((e) => e.type === 'auth')).handle, 'bob', 'login message works');
      await d.waitFor((e) => e.type === 'menu', 'straight to the menu');
      d.send({ type: 'login', handle: 'bob', password: 'correct-horse' });
      eq((await d.waitFor((e) => e.type === 'error')).code, 'logged_in', 'second login refused');
    },
  },
  {
    name: 'register errors: handle_taken (any case), bad_handle, weak_password',
    fn: async ({ srv }) => {
      await srv.user('carol');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      const tries = [
        [{ handle: 'CAROL', password: 'fine-password' }, 'handle_taken'],
        [{ handle: 'x', password: 'fine-password' }, 'bad_handle'],
        [{ handle: 'this-handle-is-far-too-long', password: 'fine-password' }, 'bad_handle'],
        [{ handle: 'bad handle', password: 'fine-password' }, 'bad_handle'],
        [{ handle: 'dave', password: 'abc' }, 'weak_password'],
        [{ handle: 'dave', password: 'DAVE' }, 'weak_password'],
      ];
      for (const [req, code] of tries) {
        c.send(Object.assign({ type: 'register' }, req));
        eq((await c.waitFor((e) => e.type === 'error')).code, code, JSON.stringify(req));
      }
      c.send({ type: 'register', handle: 'dave_2-x', password: 'good-password' });
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'dave_2-x', 'valid registration');
    },
  },
  {
    name: 'at the prompts a taken handle asks for another one, before the password',
    fn: async ({ srv }) => {
      await srv.user('erin');
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('Erin');
      await tn.expect(/That handle is taken/);
      await tn.expect(/New handle: /);
      tn.line('erin2');
      await tn.expect(/Choose a password/);
      tn.line('erinpass');
      await tn.expect(/Repeat/);
      tn.line('different');
      await tn.expect(/do not match/);
      await tn.expect(/Choose a password/);
      tn.line('erinpass');
      await tn.expect(/Repeat/);
      tn.line('erinpass');
      await tn.expect(/Welcome, erin2!/);
    },
  },
  {
    name: 'registration can be closed',
    opts: { set: { registration: 'no' } },
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'register', handle: 'frank', password: 'frank-pass' });
      eq((await c.waitFor((e) => e.type === 'error')).code, 'closed', 'register message refused');
      c.input('new');
      await c.text(/Registration is closed/);
    },
  },
  {
    name: 'accounts survive a restart; sysops come from the configuration',
    opts: { set: { sysops: 'gina' } },
    fn: async (ctx) => {
      ctx.srv.addUser('gina', 'gina-pass'); // a handle the configuration names: the operator makes it
      const g = await ctx.srv.login('gina', 'gina-pass');
      eq((await g.waitFor((e) => e.type === 'auth')).sysop, true, 'gina is a sysop');
      await ctx.srv.user('hank', 'hank-pass');
      const dir = ctx.srv.dir;
      await ctx.srv.stop();
      ctx.srv = await Server.start({ dir, set: { sysops: 'gina' } });
      const c = await ctx.srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'login', handle: 'hank', password: 'hank-pass' });
      const a = await c.waitFor((e) => e.type === 'auth');
      eq(a.handle, 'hank', 'hank still exists');
      eq(a.sysop, false, 'hank is no sysop');
    },
  },
  {
    name: 'a handle the configuration names as sysop, or a look-alike, cannot be registered; the operator makes it with partyline user add (issue 9.3)',
    opts: { set: { sysops: 'root1' } },
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      for (const handle of ['root1', 'ROOT1', 'r00tl', 'rOOtI']) {
        eq(await attempt(c, 'register', handle, 'fine-password'), 'handle_taken', 'refused like a taken handle: ' + handle);
      }
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('Root1');
      await tn.expect(/That handle is taken/);
      tn.close();
      const weak = srv.userTool(['add', 'root1', '--sysop'], 'short\n');
      assert(weak.code === 1 && /password refused: too short/.test(weak.err), 'the tool refuses a weak password: ' + weak.err);
      const made = srv.addUser('root1', 'operator-chosen', { sysop: true });
      assert(/created root1 \(sysop\)/.test(made.out), made.out);
      const again = srv.userTool(['add', 'R00T1'], 'operator-chosen\n');
      assert(again.code === 1 && /taken/.test(again.err), 'a look-alike is taken for the tool too: ' + again.err);
      const r = await srv.login('root1', 'operator-chosen');
      eq((await r.waitFor((e) => e.type === 'auth')).sysop, true, 'the sysop logs in');
      const list = srv.userTool(['list']);
      assert(list.code === 0 && /^root1\s+yes\s+no\s+\d{4}-\d\d-\d\dT/m.test(list.out), 'listed: ' + list.out);
      eq(srv.userTool(['frobnicate']).code, 2, 'an unknown command is a usage error');
    },
  },
  {
    name: 'partyline user lock logs the user off at once and refuses password and token; unlock lets them in; reset sets a new password (issue 9.3)',
    fn: async ({ srv }) => {
      const lou = await srv.chatter('lou');
      const token = lou.events.find((e) => e.type === 'auth').token;
      const bob = await srv.chatter('bob');
      const lock = srv.userTool(['lock', 'lou']);
      assert(lock.code === 0 && /locked lou/.test(lock.out), 'lock: ' + lock.err);
      eq((await lou.waitFor((e) => e.type === 'bye', 'logged off at once')).reason, 'locked', 'bye reason');
      await lou.closedP;
      await bob.chat('leave', { from: 'lou' });
      const pw = await srv.login('lou', 'secret-lou');
      eq((await pw.waitFor((e) => e.type === 'error')).code, 'locked', 'the right password is refused');
      const wrong = await srv.login('lou', 'not-the-password');
      eq((await wrong.waitFor((e) => e.type === 'error')).code, 'bad_login', 'a wrong one learns nothing of the lock');
      const byToken = new WsClient(srv.url('?token=' + token));
      srv.clients.push(byToken);
      const closed = await byToken.closedP;
      eq(closed.code, 1008, 'token refused');
      eq(closed.reason, 'account locked', 'reason');
      assert(/^lou\s+no\s+yes\s/m.test(srv.userTool(['list']).out), 'listed as locked');
      eq(srv.userTool(['unlock', 'lou']).code, 0, 'unlock');
      const back = await srv.login('lou', 'secret-lou');
      await back.waitFor((e) => e.type === 'menu' && e.id === 'main', 'unlocked');
      const stale = new WsClient(srv.url('?token=' + token));
      srv.clients.push(stale);
      eq((await stale.closedP).reason, 'token revoked', 'the lock revoked the tokens of before');
      const reset = srv.userTool(['reset', 'lou'], 'brand-new-secret\n');
      assert(reset.code === 0 && /password reset for lou/.test(reset.out), 'reset: ' + reset.err);
      eq((await back.waitFor((e) => e.type === 'bye')).reason, 'password_reset', 'logged off by the reset');
      const old = await srv.login('lou', 'secret-lou');
      eq((await old.waitFor((e) => e.type === 'error')).code, 'bad_login', 'old password refused');
      const now = await srv.login('lou', 'brand-new-secret');
      eq((await now.waitFor((e) => e.type === 'auth')).handle, 'lou', 'the new password works');
      eq(srv.userTool(['lock', 'nobody']).code, 1, 'no such account');
      assert(/"event":"account_action".*lou: lock/.test(srv.log), 'the server logs what the tool did');
    },
  },
  {
    name: 'handles of punctuation or digits only, reserved names and look-alikes are refused, at the prompts too (issue 9.15)',
    opts: { set: { reserved_handles: 'sysop,admin,root,new,guest,staff' } },
    fn: async ({ srv }) => {
      await srv.user('bill');
      await srv.user('Olga');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      const tries = [
        ['--', 'bad_handle'], ['__', 'bad_handle'], ['-_-', 'bad_handle'], ['1234', 'bad_handle'],
        ['sysop', 'handle_reserved'], ['Admin', 'handle_reserved'], ['root', 'handle_reserved'], ['new', 'handle_reserved'],
        ['r00t', 'handle_reserved'], ['ADM1N', 'handle_reserved'], ['stafF', 'handle_reserved'],
        ['BILL', 'handle_taken'], ['bi11', 'handle_taken'], ['BIlI', 'handle_taken'], ['b1ll', 'handle_taken'],
        ['0lga', 'handle_taken'], ['OIga', 'handle_taken'],
      ];
      for (const [handle, code] of tries) eq(await attempt(c, 'register', handle, 'fine-password'), code, handle);
      eq(await attempt(c, 'register', 'x-1', 'fine-password'), 'auth', 'a letter among digits and dashes is fine');
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('--');
      await tn.expect(/not a valid handle: use 2-20 letters, digits, _ or -, with at least one\s+letter/);
      tn.line('Sysop');
      await tn.expect(/That handle is reserved/);
      tn.line('b1ll');
      await tn.expect(/That handle is taken/);
      tn.line('billie');
      await tn.expect(/Choose a password \(at least 8 characters\)/);
    },
  },
  {
    name: 'passwords: at least 8 characters (not bytes), common and predictable ones refused, no other rules; prompts alike (issue 9.15)',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      const weak = [
        ['        ', 'repetitive'], // spaces only
        ['żółwik7', 'too_short'], // 7 characters in 11 bytes
        ['password1', 'common'], ['Dragon2024!', 'common'], ['letmein', 'too_short'],
        ['aaaaaaaa', 'repetitive'], ['abcabcabc', 'repetitive'], ['12345678', 'sequential'], ['zyxwvuts', 'sequential'],
        ['Patrick2024', 'context'], ['partyline!', 'context'],
      ];
      for (const [password, reason] of weak) {
        c.send({ type: 'register', handle: 'patrick', password });
        const e = await c.waitFor((x) => x.type === 'error' || x.type === 'auth', JSON.stringify(password));
        eq(e.code, 'weak_password', JSON.stringify(password));
        eq(e.reason, reason, 'reason for ' + JSON.stringify(password));
      }
      eq(await attempt(c, 'register', 'patrick', 'correct horse battery'), 'auth', 'lowercase and spaces: no composition rules');
      const d = await srv.ws();
      await d.waitFor((e) => e.type === 'prompt');
      eq(await attempt(d, 'register', 'quinn', 'żółwiki8'), 'auth', '8 characters in more bytes');
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('rhea');
      await tn.expect(/Choose a password/);
      tn.line('        ');
      await tn.expect(/only repeats itself/);
      await tn.expect(/Choose a password/);
      tn.line('password1');
      await tn.expect(/one of the most common passwords/);
      await tn.expect(/Choose a password/);
      tn.line('tiny');
      await tn.expect(/Too short: at least 8 characters/);
      await tn.expect(/Choose a password/);
      tn.line('rhea-was-here');
      await tn.expect(/Repeat/);
      tn.line('rhea-was-here');
      await tn.expect(/Welcome, rhea!/);
    },
  },
  {
    name: 'a database from before look-alike folding is upgraded in place; old look-alike pairs both log in, new ones are refused (issue 9.15)',
    // a SQLite file from before versioned migrations: SQLite's upgrade path,
    // on SQLite in the PostgreSQL pass too (PostgreSQL boards began folded)
    opts: { set: { store: 'sqlite' } },
    fn: async (ctx) => {
      await ctx.srv.user('bill', 'bills-password');
      await ctx.srv.user('kate', 'kates-password');
      const dir = ctx.srv.dir;
      await ctx.srv.stop();
      // the accounts table as it was, with a look-alike pair the old server let in
      execFileSync('sqlite3', [path.join(dir, 'var', 'partyline.db'), `
        CREATE TABLE old(id INTEGER PRIMARY KEY, handle TEXT NOT NULL, handle_key TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,
          sysop INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')), last_login TEXT);
        INSERT INTO old SELECT id, handle, handle_key, hash, sysop, created, last_login FROM accounts;
        INSERT INTO old(handle, handle_key, hash) SELECT 'B1LL', 'b1ll', hash FROM accounts WHERE handle_key = 'bill';
        DROP TABLE accounts; ALTER TABLE old RENAME TO accounts;
        DROP TABLE IF EXISTS token_revocations; DROP TABLE IF EXISTS account_actions;
        DROP TABLE IF EXISTS schema_version;`]); // as before versioned migrations
      ctx.srv = await Server.start({ dir, set: { store: 'sqlite' } });
      await ctx.srv.waitLog(/account 'B1LL' looks like an older one's handle; both keep working/);
      await ctx.srv.waitLog(/look-alike skeletons for 3 accounts/);
      for (const [handle, pw] of [['bill', 'bills-password'], ['B1LL', 'bills-password'], ['kate', 'kates-password']]) {
        const c = await ctx.srv.login(handle, pw);
        eq((await c.waitFor((e) => e.type === 'auth')).handle, handle, handle + ' still logs in');
      }
      const c = await ctx.srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      for (const h of ['bi1l', 'BILL', 'b1ii', 'KATE', 'kaTe']) eq(await attempt(c, 'register', h, 'fine-password'), 'handle_taken', h);
      await ctx.srv.stop();
      ctx.srv = await Server.start({ dir, set: { store: 'sqlite' } }); // the second start finds nothing to upgrade
      assert(!/accounts upgraded in place/.test(ctx.srv.log), 'upgraded once');
    },
  },
];
