// JWT at connect time (PROTOCOL.md section 3) and tokens the server issues.
'use strict';
const crypto = require('crypto');
const { Server, WsClient, sleep, assert, eq } = require('../lib/harness');

const SECRET = 'test-secret-for-partyline';
exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { jwt_secret: SECRET } }, t.opts || {})) });

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
function jwt(payload, { alg = 'HS256', secret = SECRET, header } = {}) {
  const head = b64(header || { alg, typ: 'JWT' }) + '.' + b64(payload);
  const sig = alg === 'none' ? '' : crypto.createHmac('sha256', secret).update(head).digest('base64url');
  return head + '.' + sig;
}
const later = () => Math.floor(Date.now() / 1000) + 600;

async function refused(srv, query, headers) {
  const c = new WsClient(srv.url(query), headers ? { headers } : undefined);
  srv.clients.push(c);
  const closed = await c.closedP;
  eq(closed.code, 1008, 'close code for ' + (query || JSON.stringify(headers)));
  assert(closed.reason.length > 0, 'a short reason: ' + closed.reason);
  if (process.env.PARTYLINE_TEST_STORE === 'postgres') {
    // what only the store knows (a revocation, a lock) is answered after the
    // handshake there: hello first, as on every connection, then the close
    assert(!c.events.some((e) => e.type === 'auth' || e.type === 'prompt'), 'not logged in, no prompt');
  } else {
    assert(!c.events.some((e) => e.type === 'hello'), 'no session was made');
  }
  return closed.reason;
}

exports.tests = [
  {
    name: 'a valid token in the query or an Authorization header logs in directly, with no prompt',
    fn: async ({ srv }) => {
      await srv.user('alice'); // an account: its sysop flag and case come from it
      const c = await srv.ws('?token=' + jwt({ sub: 'ALICE', exp: later() }));
      eq((await c.waitFor(() => true)).type, 'hello', 'hello first');
      const a = await c.waitFor((e) => e.type === 'auth');
      eq(a.handle, 'alice', 'handle as registered');
      await c.waitFor((e) => e.type === 'menu', 'straight to the menu');
      assert(!c.events.some((e) => e.type === 'prompt' && /Handle/.test(e.text)), 'no login prompt');
      const bot = new WsClient(srv.url(), { headers: { Authorization: 'Bearer ' + jwt({ sub: 'relaybot', exp: later() }) } });
      srv.clients.push(bot);
      eq((await bot.waitFor((e) => e.type === 'auth')).handle, 'relaybot', 'a bot without an account');
      bot.input('c');
      await bot.chat('join', { from: 'relaybot' });
    },
  },
  {
    name: 'bad signature, expired, alg none, other algorithms and malformed tokens close with 1008',
    fn: async ({ srv }) => {
      const bob = await srv.chatter('bob');
      const reasons = [];
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory', exp: later() }, { secret: 'wrong' })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory', exp: 1000 })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory', exp: later() }, { alg: 'none' })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory', exp: later() }, { header: { alg: 'HS512' } })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory', exp: later() }, { header: { typ: 'JWT' } })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'mallory' })));
      reasons.push(await refused(srv, '?token=' + jwt({ sub: 'bad handle!', exp: later() })));
      reasons.push(await refused(srv, '?token=garbage'));
      reasons.push(await refused(srv, '', { Authorization: 'Bearer not.a.jwt' }));
      assert(reasons.includes('token expired') && reasons.includes('bad token signature') &&
        reasons.includes('only HS256 tokens are accepted'), 'reasons: ' + reasons);
      assert(/refused: bad token signature/.test(srv.log), 'refusals are logged');
      assert(!srv.log.includes(SECRET), 'the secret is never logged');
      bob.input('still here');
      await bob.chat('say', { body: 'still here' });
    },
  },
  {
    name: 'with require_token a connection without a token is refused (1008); one with a token is fine',
    opts: { set: { jwt_secret: SECRET, require_token: 'yes' } },
    fn: async ({ srv }) => {
      eq(await refused(srv, ''), 'a token is required', 'reason');
      const c = await srv.ws('?token=' + jwt({ sub: 'carol', exp: later() }));
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'carol', 'token accepted');
    },
  },
  {
    name: 'tokens are refused when the server has no secret',
    opts: { set: { jwt_secret: '' } },
    fn: async ({ srv }) => {
      eq(await refused(srv, '?token=' + jwt({ sub: 'dave', exp: later() })), 'tokens are not enabled on this server', 'reason');
      const c = await srv.user('dave');
      assert(!c.events.find((e) => e.type === 'auth').token, 'no token issued without a secret');
    },
  },
  {
    name: 'a logged-in user gets a token that logs back in after a server restart',
    fn: async (ctx) => {
      const c = await ctx.srv.user('erin');
      const token = c.events.find((e) => e.type === 'auth').token;
      assert(typeof token === 'string' && token.split('.').length === 3, 'auth carries a token');
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
      eq(claims.sub, 'erin', 'sub');
      assert(claims.exp > Date.now() / 1000 + 3600, 'expires later');
      const dir = ctx.srv.dir;
      await ctx.srv.stop();
      ctx.srv = await Server.start({ dir, set: { jwt_secret: SECRET } });
      const again = await ctx.srv.ws('?token=' + token);
      eq((await again.waitFor((e) => e.type === 'auth')).handle, 'erin', 'logged in after restart');
    },
  },
  {
    name: 'a token is written once, to the connections there at login; a resume replays auth without it and gets a fresh one',
    fn: async ({ srv }) => {
      const a = await srv.user('fay');
      const first = a.events.find((e) => e.type === 'auth');
      assert(first.token, 'the connection that logged in got a token');
      const b = await srv.ws(`?resume=${first.session}&last_seq=0`);
      await b.waitFor((e) => e.type === 'auth' && e.seq > first.seq, 'a fresh auth after the replay');
      const auths = b.events.filter((e) => e.type === 'auth');
      eq(auths.length, 2, 'the replayed auth and the fresh one');
      eq(auths[0].seq, first.seq, 'the replayed auth is the same event');
      eq(auths[0].token, undefined, 'the replay holds no token');
      eq(auths[0].handle, 'fay', 'but the rest of it');
      assert(auths[1].seq > first.seq && auths[1].token && auths[1].token.split('.').length === 3, 'the resumer gets a fresh token');
      await a.none((e) => e.type === 'auth' && e.seq === auths[1].seq, 300, 'the fresh token went to the resumer alone');
      const c = await srv.ws('?token=' + auths[1].token);
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'fay', 'the fresh token logs in');
    },
  },
  {
    name: 'a password change revokes the tokens issued before it and logs off the other nodes; the changer gets a fresh token at once (issue 9.9)',
    fn: async ({ srv }) => {
      const a = await srv.user('erin', 'first-password');
      const old = a.events.find((e) => e.type === 'auth').token;
      const other = await srv.ws('?token=' + old); // erin on another node, by token
      await other.waitFor((e) => e.type === 'auth');
      a.input('p');
      await a.waitFor((e) => e.type === 'menu' && e.id === 'profile');
      a.input('w');
      for (const [prompt, line] of [[/Current password/, 'first-password'], [/New password/, 'second-password'], [/Repeat/, 'second-password']]) {
        await a.waitFor((e) => e.type === 'prompt' && prompt.test(e.text));
        a.input(line);
      }
      const fresh = await a.waitFor((e) => e.type === 'auth' && e.token && e.token !== old, 'a fresh token after the change');
      await a.text(/Your password has been changed/);
      eq((await other.waitFor((e) => e.type === 'bye')).reason, 'password_changed', 'the other node is logged off');
      eq(await refused(srv, '?token=' + old), 'token revoked', 'the old token is void');
      // nor does it resume erin's session from another address
      const session = fresh.session;
      const away = new WsClient(srv.url(`?resume=${session}&last_seq=0&token=${old}`), { localAddress: '127.0.0.7' });
      srv.clients.push(away);
      // (refused at the handshake on SQLite; on PostgreSQL, whose answer
      // comes later, resumed and then cut)
      const cut = await away.closedP;
      eq([cut.code, cut.reason].join(' '), '1008 token revoked', 'no resume with a revoked token');
      await sleep(100);
      assert(!a.closed, 'erin\'s own connection stays');
      // issued in the same second as the revocation, after it: still good
      const again = await srv.ws('?token=' + fresh.token);
      eq((await again.waitFor((e) => e.type === 'auth')).handle, 'erin', 'the fresh token logs in');
    },
  },
  {
    name: 'a kicked user cannot come straight back with the same token; one issued after the kick works (issue 9.9)',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const botToken = jwt({ sub: 'relaybot', exp: later(), iat: Math.floor(Date.now() / 1000) - 5 });
      const bot = await srv.ws('?token=' + botToken);
      await bot.waitFor((e) => e.type === 'auth');
      const kim = await srv.user('kim');
      const kimToken = kim.events.find((e) => e.type === 'auth').token;
      root.input('/kick relaybot spamming');
      eq((await bot.waitFor((e) => e.type === 'bye')).reason, 'kicked', 'kicked');
      root.input('/kick kim');
      eq((await kim.waitFor((e) => e.type === 'bye')).reason, 'kicked', 'kicked');
      eq(await refused(srv, '?token=' + botToken), 'token revoked', 'the bot\'s token');
      eq(await refused(srv, '?token=' + kimToken), 'token revoked', 'a token the server issued');
      const noIat = jwt({ sub: 'relaybot', exp: later() });
      eq(await refused(srv, '?token=' + noIat), 'token revoked', 'a token without iat cannot show it is newer');
      const newer = await srv.ws('?token=' + jwt({ sub: 'relaybot', exp: later(), iat: Date.now() / 1000 }));
      eq((await newer.waitFor((e) => e.type === 'auth')).handle, 'relaybot', 'a token issued after the kick');
      const byPassword = await srv.login('kim', kim.password);
      eq((await byPassword.waitFor((e) => e.type === 'auth')).handle, 'kim', 'a kick is no ban: the password still works');
    },
  },
  {
    name: 'nbf and iat are checked: a token not valid yet, or issued in the future, is refused (issue 9.9)',
    fn: async ({ srv }) => {
      const now = Math.floor(Date.now() / 1000);
      eq(await refused(srv, '?token=' + jwt({ sub: 'nina', exp: later(), nbf: now + 600 })), 'token not valid yet', 'nbf');
      eq(await refused(srv, '?token=' + jwt({ sub: 'nina', exp: later(), iat: now + 600 })), 'token issued in the future', 'iat');
      eq(await refused(srv, '?token=' + jwt({ sub: 'nina', exp: later(), iat: 'yesterday' })), 'malformed token', 'iat not a number');
      const skew = await srv.ws('?token=' + jwt({ sub: 'nina', exp: later(), nbf: now + 20, iat: now + 20 }));
      eq((await skew.waitFor((e) => e.type === 'auth')).handle, 'nina', 'a few seconds of clock skew are fine');
    },
  },
];
