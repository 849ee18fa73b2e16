// PostgreSQL as the board's shared store (issue 12, the accounts' part): a
// throwaway cluster (tests/lib/postgres.js), one database per test, and
// processes that share nothing on disk (each its own data_dir). Accounts,
// token revocations, the token key and the tool's queue of actions live in
// PostgreSQL; the loop never waits for it: a database that is down or slow
// turns a login into "try again later" while logged-in users chat on.
'use strict';
const { Server, WsClient, sleep, assert, eq } = require('../lib/harness');
const { Postgres } = require('../lib/postgres');

let pg = null;
process.on('exit', () => { if (pg) pg.stopSync(); });

async function board(n, t) {
  if (!pg) pg = await Postgres.start();
  try { pg.sql('postgres', 'SELECT 1'); } catch (e) { await pg.up(); } // a test that took it down failed midway
  const uri = pg.db();
  const servers = [];
  for (let i = 0; i < n; i++) servers.push(await Server.start({ set: Object.assign({ store: uri }, t.opts || {}) }));
  return { uri, servers };
}

exports.setup = async (t) => {
  const { uri, servers } = await board(t.processes || 1, t);
  return { srv: servers[0], servers, uri };
};

async function metric(srv, name) {
  const text = await (await fetch(srv.http('/metrics'))).text();
  const r = new RegExp('^' + name + ' (\\d+)$', 'm').exec(text);
  assert(r, 'metric ' + name);
  return Number(r[1]);
}

async function attempt(srv, type, handle, password) {
  const c = await srv.ws();
  await c.waitFor((e) => e.type === 'prompt');
  c.send({ type, handle, password });
  const e = await c.waitFor((x) => x.type === 'auth' || x.type === 'error', type + ' answer');
  return { c, e };
}

exports.tests = [
  {
    name: 'two processes with their own data_dir share the accounts: register on one, log in on the other by password and by token',
    processes: 2,
    fn: async ({ servers: [a, b], uri }) => {
      const alice = await a.user('alice', 'alices-password');
      const { e } = await attempt(b, 'login', 'ALICE', 'alices-password');
      eq(e.type, 'auth', 'a login on the other process');
      eq(e.handle, 'alice', 'the stored display case');
      assert(typeof e.token === 'string', 'a token');
      // the token key is the board's (kept in the store): the other process takes it
      const t = await b.ws('?token=' + e.token);
      eq((await t.waitFor((x) => x.type === 'auth')).handle, 'alice', 'token login on the other process');
      const t2 = await a.ws('?token=' + e.token);
      eq((await t2.waitFor((x) => x.type === 'auth')).handle, 'alice', 'and on the first');
      // a handle is unique board-wide, look-alikes included
      eq((await attempt(b, 'register', 'Al1ce', 'another-password')).e.code, 'handle_taken', 'look-alike refused on b');
      eq((await attempt(b, 'login', 'alice', 'wrong-password')).e.code, 'bad_login', 'a wrong password fails on b');
      // nothing of the accounts is in either data_dir's SQLite: both read one table
      eq(pg.sql(uri.split('/').pop(), "SELECT handle FROM partyline.accounts WHERE handle_key = 'alice'"), 'alice', 'in PostgreSQL');
      alice.close();
    },
  },
  {
    name: 'the schema is made at start and recorded (schema_version); a second process and a restart find it done',
    processes: 2,
    fn: async ({ servers: [a, b], uri }) => {
      const db = uri.split('/').pop();
      eq(pg.sql(db, 'SELECT max(version) FROM partyline.schema_version'), '1', 'version recorded');
      eq(pg.sql(db, 'SELECT count(*) FROM partyline.schema_version'), '1', 'applied once');
      const upgraded = [a, b].filter((s) => /PostgreSQL database upgraded to schema version 1/.test(s.log)).length;
      assert(upgraded <= 1, 'at most one process upgraded the PostgreSQL schema');
      await b.stop();
      const c = await Server.start({ set: { store: uri } });
      try {
        assert(!/PostgreSQL database upgraded/.test(c.log), 'a restart finds nothing to upgrade');
        eq(pg.sql(db, 'SELECT count(*) FROM partyline.schema_version'), '1', 'still applied once');
      } finally {
        await c.stop();
        c.cleanup();
      }
    },
  },
  {
    name: 'PostgreSQL down: chat goes on, a login is told to try again, /healthz answers; back up: logins work again',
    fn: async ({ srv }) => {
      const x = await srv.chatter('xavier');
      const y = await srv.chatter('yolanda');
      await srv.user('zoe', 'zoes-password');
      await pg.down();
      for (let i = 0; i < 5; i++) {
        x.input('while down ' + i);
        await y.waitFor((e) => e.type === 'chat' && e.body === 'while down ' + i, 'chat while the database is down');
      }
      eq((await fetch(srv.http('/healthz'))).status, 200, 'healthz answers');
      const { e } = await attempt(srv, 'login', 'zoe', 'zoes-password');
      eq(e.code, 'unavailable', 'a login is told to try again later');
      eq((await attempt(srv, 'register', 'walter', 'walters-password')).e.code, 'unavailable', 'so is a registration');
      eq(await metric(srv, 'partyline_storage_up'), 0, 'storage seen down');
      await pg.up();
      const t0 = Date.now();
      for (;;) {
        const r = await attempt(srv, 'login', 'zoe', 'zoes-password');
        if (r.e.type === 'auth') break;
        assert(Date.now() - t0 < 15000, 'logins work again after PostgreSQL is back: ' + JSON.stringify(r.e));
        await sleep(300);
      }
      x.input('after');
      await y.waitFor((e) => e.type === 'chat' && e.body === 'after', 'chat after');
    },
  },
  {
    name: '`partyline user` works on the PostgreSQL store: add, list, lock (the running server logs the user off and refuses them)',
    fn: async ({ srv }) => {
      srv.addUser('root', 'roots-password', { sysop: true });
      const { e } = await attempt(srv, 'login', 'root', 'roots-password');
      eq(e.type, 'auth', 'the tool-made account logs in');
      eq(e.sysop, true, 'as a sysop');
      const list = srv.userTool(['list']);
      eq(list.code, 0, 'list runs: ' + list.err);
      assert(/^root\s+yes\s+no/m.test(list.out), 'list shows it: ' + list.out);
      const u = await srv.user('ursula', 'ursulas-password');
      const token = u.events.find((e) => e.type === 'auth').token;
      const lock = srv.userTool(['lock', 'ursula']);
      eq(lock.code, 0, 'lock runs: ' + lock.err);
      eq((await u.waitFor((x) => x.type === 'bye', 'the locked user is logged off', 10000)).reason, 'locked', 'bye reason');
      eq((await attempt(srv, 'login', 'ursula', 'ursulas-password')).e.code, 'locked', 'the right password is refused');
      // the token is checked after the handshake here (the store answers later): refused all the same
      const byToken = new WsClient(srv.url('?token=' + token));
      srv.clients.push(byToken);
      const closed = await byToken.closedP;
      eq(closed.code, 1008, 'closed as a policy violation');
      eq(closed.reason, 'account locked', 'with the reason');
      assert(!byToken.events.some((e) => e.type === 'auth'), 'never logged in');
    },
  },
  {
    name: 'kill -9 in the middle of registrations on PostgreSQL loses no acknowledged account',
    fn: async (ctx) => {
      const srv = ctx.srv;
      const acked = [];
      const pending = [];
      // a steady stream of registrations; the kill lands once a few are acknowledged, with more under way
      for (let i = 0; i < 60 && srv.proc.exitCode === null; i++) {
        const handle = 'user' + i;
        pending.push((async () => {
          try {
            const c = await srv.ws();
            await c.waitFor((e) => e.type === 'hello');
            c.send({ type: 'register', handle, password: 'pass-' + handle });
            await c.waitFor((e) => e.type === 'auth', 'auth', 5000);
            acked.push(handle);
          } catch (e) { /* the server died before answering: not acknowledged */ }
        })());
        await sleep(15);
        if (acked.length >= 5) srv.proc.kill('SIGKILL');
      }
      await Promise.all(pending);
      eq((await srv.exited).signal, 'SIGKILL', 'it was killed');
      assert(acked.length >= 3, 'some registrations were acknowledged first: ' + acked.length);
      // another process, another data_dir: everything acknowledged is there
      const other = await Server.start({ set: { store: ctx.uri } });
      ctx.servers.push(other);
      for (const h of acked) {
        const { e } = await attempt(other, 'login', h, 'pass-' + h);
        eq(e.type, 'auth', h + ' was acknowledged, so it is stored');
      }
    },
  },
];
