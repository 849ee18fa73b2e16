// Registration and login: prompts, the login/register messages, storage.
'use strict';
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

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
    name: 'at the prompts a taken handle asks for another one',
    fn: async ({ srv }) => {
      await srv.user('erin');
      const tn = await srv.telnet();
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('Erin');
      await tn.expect(/Choose a password/);
      tn.line('erinpass');
      await tn.expect(/Repeat/);
      tn.line('erinpass');
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
      const g = await ctx.srv.user('gina', 'gina-pass');
      eq(g.events.find((e) => e.type === 'auth').sysop, true, 'gina is a sysop');
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
];
