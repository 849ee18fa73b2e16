// PostgreSQL as the board's shared store (issue 12, the accounts' part): a
// throwaway cluster (tests/lib/postgres.js), one database per test, and
// processes that share nothing on disk (each its own data_dir). Accounts,
// token revocations, the token key and the tool's queue of actions live in
// PostgreSQL; the loop never waits for it: a database that is down or slow
// turns a login into "try again later" while logged-in users chat on.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Server, WsClient, sleep, strip, assert, eq, ROOT, BUILD } = require('../lib/harness');
const { Postgres } = require('../lib/postgres');
const { Redis } = require('../lib/redis');

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

// t.redis: the processes are one board over a real Redis (as cluster.test.js)
exports.setup = async (t) => {
  const redis = t.redis ? await Redis.start() : null;
  const opts = redis ? Object.assign({ redis: redis.where, cluster_dead_s: '2' }, t.opts || {}) : t.opts;
  const { uri, servers } = await board(t.processes || 1, { opts });
  for (const s of redis ? servers : []) {
    const t0 = Date.now();
    while ((s.log.match(/is on the bus/g) || []).length < servers.length - 1) {
      if (Date.now() - t0 > 8000) throw new Error('the processes never found each other:\n' + s.log.slice(-1500));
      await sleep(50);
    }
  }
  return { srv: servers[0], servers, uri, redis, teardown: () => redis && redis.stop() };
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

async function writeMail(c, to, subject, body) {
  c.input('m');
  await c.waitFor((e) => e.type === 'menu' && e.id === 'mail');
  c.input('c');
  c.input(to);
  c.input(subject);
  c.input(body);
  c.input('.');
  await c.text(/Mail sent to/);
}

exports.tests = [
  {
    name: 'one board on two processes that share nothing on disk, one Redis and one PostgreSQL: accounts, mail, history and bans are the same on both',
    processes: 2,
    redis: true,
    fn: async ({ servers: [a, b] }) => {
      assert(a.dir !== b.dir, 'each process has its own data_dir');
      for (const s of [a, b]) assert(!fs.existsSync(path.join(s.dir, 'var', 'partyline.db')), 'no database in data_dir');
      const alice = await a.chatter('alice');
      await b.user('bob');
      const { e } = await attempt(b, 'login', 'alice', 'secret-alice');
      eq(e.type, 'auth', 'registered on a, logs in on b');
      // mail sent on a is read on b
      const c0 = await b.user('carol'); // carol is made on b, and leaves
      c0.input('g');
      await c0.closedP;
      const m = await a.user('mailer');
      await writeMail(m, 'carol', 'hello', 'sent on a');
      const carol = await b.login('carol', 'secret-carol');
      const note = await carol.waitFor((x) => x.type === 'mail', 'carol is told of her mail');
      eq(note.unread, 1, 'one unread, written on the other process');
      carol.input('m');
      carol.input('1');
      eq((await carol.waitFor((x) => x.type === 'mail_message')).body, 'sent on a', 'read on b');
      // room history: lines said on a are history for a joiner on b, and the same on a
      for (let i = 0; i < 3; i++) alice.input('line ' + i);
      await alice.chat('say', { body: 'line 2' });
      await sleep(300); // kept writes go out at once while storage is up
      const hist = async (srv, h) => {
        const c = await srv.chatter(h);
        return c.events.filter((x) => x.type === 'chat' && x.history).map((x) => x.body).filter((x) => /^line /.test(x));
      };
      const onB = await hist(b, 'dave'), onA = await hist(a, 'erin');
      eq(JSON.stringify(onB), JSON.stringify(['line 0', 'line 1', 'line 2']), 'history on b');
      eq(JSON.stringify(onA), JSON.stringify(onB), 'the same history on a');
      // a ban made on a holds on b
      a.addUser('root', 'secret-root', { sysop: true });
      const root = await a.login('root', 'secret-root');
      await root.waitFor((x) => x.type === 'auth' && x.sysop);
      root.input('c');
      await root.waitFor((x) => x.type === 'chat' && x.kind === 'join' && x.from === 'root');
      await b.user('mallory');
      root.input('/ban mallory 2h flooding');
      await root.text(/mallory banned until/);
      const again = await b.login('mallory', 'secret-mallory');
      eq((await again.waitFor((x) => x.type === 'bye')).reason, 'banned', 'refused at login on b');
    },
  },
  {
    name: 'a script on PostgreSQL reaches only its own schema, and a slow statement is stopped at its budget while chat goes on',
    opts: { script_budget_ms: '1000' },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'probe.lua'), `
local function try(sql, ...)
  local ok, err = pcall(pl.db.query, sql, ...)
  return ok and "ok" or (tostring(err):match("pl%.db: ([%w ]+)") or "error")
end
pl.command{ name = "probe", run = function(s)
  pl.db.exec("CREATE TABLE IF NOT EXISTS s_probe (id INTEGER PRIMARY KEY, who TEXT, n INTEGER)")
  local _, id = pl.db.exec("INSERT INTO s_probe (who, n) VALUES (?, ?)", s.handle, 2^40)
  s:text(table.concat({
    "core=" .. try("SELECT hash FROM partyline.accounts"),
    "path=" .. try("SELECT hash FROM accounts"),
    "update=" .. try("UPDATE partyline.accounts SET sysop = 1"),
    "role=" .. try("SET ROLE " .. "partyline"),
    "two=" .. try("SELECT 1; SELECT 2"),
    "mine=" .. pl.db.query("SELECT n FROM s_probe WHERE id = ?", id)[1].n,
    "id=" .. id,
  }, " "))
end }
pl.command{ name = "slow", run = function(s)
  local ok, err = pcall(pl.db.query, "SELECT pg_sleep(5)")
  s:text("slow: " .. (ok and "done" or tostring(err):match("pl%.db: (%w+)")))
end }
`);
      await srv.waitLog(/script_reload/);
      a.input('/probe');
      const probe = strip((await a.text(/core=/)).text);
      for (const part of ['core=', 'path=', 'update=', 'role=', 'two='])
        assert(!new RegExp(part + 'ok').test(probe), 'refused: ' + part + ' in ' + probe);
      assert(/mine=1099511627776/.test(probe), 'its own table, 64-bit integers: ' + probe);
      assert(/id=1\b/.test(probe), 'last insert id: ' + probe);
      const t0 = Date.now();
      const waits = await metric(srv, 'partyline_script_db_waits_total');
      a.input('/slow');
      await sleep(100);
      b.input('still here');
      await a.chat('say', { body: 'still here' });
      eq((await fetch(srv.http('/healthz'))).status, 200, '/healthz answers');
      // the loop did not wait for the statement: the line and /healthz came
      // while it ran (it is stopped at the budget, a second)
      assert(!a.events.some((x) => x.type === 'text' && /slow:/.test(x.text)), 'chat went on while the statement ran');
      assert(await metric(srv, 'partyline_script_db_waits_total') > waits, 'the call waited in a task');
      for (let t = Date.now(); !a.events.some((x) => x.type === 'text' && /slow:/.test(x.text)) && Date.now() - t < 3000;) await sleep(20);
      const slow = a.events.find((x) => x.type === 'text' && /slow:/.test(x.text));
      assert(slow && /slow: interrupted/.test(strip(slow.text)), 'the statement was stopped: ' + (slow && slow.text));
      assert(Date.now() - t0 < 4000, 'well before pg_sleep(5) would have ended');
      b.input('after');
      await a.chat('say', { body: 'after' });
    },
  },
  {
    name: 'while a hook waits for PostgreSQL: the same user\'s next lines wait behind it in order, others go on, a timer waits too, and a user who leaves meanwhile goes cleanly',
    opts: { script_budget_ms: '2000' },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'waits.lua'), `
pl.command{ name = "waits", run = function(s, args)
  pl.db.query("SELECT pg_sleep(1)")
  s:text("waited " .. args)
end }
pl.command{ name = "tick", run = function(s)
  pl.after(0, function()
    pl.db.query("SELECT pg_sleep(0.3)")
    s:text("timer waited")
  end)
end }
`);
      await srv.waitLog(/script_reload/);
      const waits = await metric(srv, 'partyline_script_db_waits_total');
      a.input('/waits one');
      a.input('/me after one');
      await sleep(50);
      b.input('bob meanwhile');
      // bob's line is not held behind alice's wait
      await a.chat('say', { from: 'bob', body: 'bob meanwhile' });
      assert(!a.events.some((x) => x.type === 'text' && /waited one/.test(x.text)), 'bob went first');
      await a.text(/waited one/);
      await a.chat('action', { from: 'alice', body: 'after one' });
      const order = a.events.filter((x) => (x.type === 'text' && /waited one/.test(x.text)) || (x.type === 'chat' && x.body === 'after one'));
      eq(order.map((x) => x.type).join(','), 'text,chat', 'alice\'s lines in the order typed');
      // a timer's run waits the same way
      a.input('/tick');
      b.input('during the timer');
      await a.chat('say', { from: 'bob', body: 'during the timer' });
      await a.text(/timer waited/);
      // one who leaves while their hook waits: nothing breaks, nobody else notices
      const c = await srv.chatter('carol');
      c.input('/waits gone');
      await sleep(50);
      c.close();
      await sleep(1300);
      b.input('still fine');
      await a.chat('say', { from: 'bob', body: 'still fine' });
      eq((await fetch(srv.http('/healthz'))).status, 200, '/healthz answers');
      assert(await metric(srv, 'partyline_script_db_waits_total') >= waits + 3, 'the calls waited in tasks');
      assert(!/script_error/.test(srv.log), 'no script failed: ' + srv.log.slice(-600));
      // stopped while a hook waits: a clean exit, nothing leaked (the
      // runner checks the exit and, under sanitizers, the leak report)
      a.input('/waits at the end');
      await sleep(100);
      const exit = await srv.stop();
      eq(exit.code, 0, 'a clean exit with a hook waiting: ' + srv.log.slice(-400));
    },
  },
  {
    name: 'a flood of lines behind one\'s own waiting hook (rate limit off): 256 wait in order, the rest are dropped with "busy"',
    opts: { script_budget_ms: '3000', rate_per_s: '0' },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'slowly.lua'),
        'pl.command{ name = "slowly", run = function(s) pl.db.query("SELECT pg_sleep(1)") s:text("slowly done") end }\n');
      await srv.waitLog(/script_reload/);
      a.input('/slowly');
      await sleep(100);
      for (let i = 1; i <= 300; i++) a.input('/me n' + i);
      const busy = await a.waitFor((e) => e.type === 'error' && e.code === 'busy', 'busy');
      assert(/dropped/.test(busy.message), busy.message);
      await a.text(/^slowly done$/);
      for (let i = 1; i <= 256; i++) await a.chat('action', { from: 'alice', body: 'n' + i }, 'n' + i + ' in order', 10000);
      await a.none((e) => e.type === 'chat' && e.body === 'n257', 300, 'the 257th was dropped');
    },
  },
  {
    name: 'many users whose hooks wait at once: a reload and hang-ups midway break nothing, each user\'s lines stay in order, pl.kv loses no increment',
    opts: { script_budget_ms: '2000' },
    fn: async ({ srv, uri }) => {
      const users = [];
      for (let i = 0; i < 24; i++) users.push(await srv.chatter('many' + i));
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'w.lua'), `
pl.db.exec("CREATE TABLE IF NOT EXISTS s_w (id INTEGER PRIMARY KEY, who TEXT, n INTEGER)")
pl.command{ name = "w", run = function(s, args)
  pl.kv.board:incr("w.count")
  local _, id = pl.db.exec("INSERT INTO s_w (who, n) VALUES (?, ?)", s.handle, tonumber(args) or 0)
  local row = pl.db.query("SELECT n, pg_sleep(0.05) AS z FROM s_w WHERE id = ?", id)[1]
  s:text("w " .. row.n)
end }
`);
      await srv.waitLog(/script_reload/);
      for (let round = 1; round <= 3; round++)
        for (const u of users) { u.input('/w ' + round); u.input('/me line ' + round); }
      // midway: the scripts reload, and a third of the users hang up
      await sleep(100);
      fs.writeFileSync(path.join(srv.scripts, 'zz_more.lua'), 'pl.more = true\n');
      for (const u of users.slice(16)) u.close();
      const stay = users.slice(0, 16);
      for (const [i, u] of stay.entries()) {
        for (let round = 1; round <= 3; round++) {
          try { await u.text(new RegExp('^w ' + round + '$'), 'its answer ' + round); } catch (e) {
            throw new Error('many' + i + ' round ' + round + ': ' + u.events.filter((x) => x.type === 'text' || x.type === 'error' || (x.type === 'chat' && x.from === 'many' + i)).map((x) => x.type + ':' + strip(x.text || x.message || '').slice(0, 40)).join(' | ').replace(/\n/g, ' '));
          }
          await u.chat('action', { from: 'many' + i, body: 'line ' + round }, 'its line ' + round, 15000);
        }
      }
      // every increment counted although the hooks interleaved (72 of them,
      // less what the users who hung up had not sent yet)
      stay[0].input('/w 0');
      await stay[0].text(/^w 0$/);
      const counted = Number(pg.sql(uri.split('/').pop(), "SELECT value FROM scripts.s_kv WHERE key = 'w.count'"));
      const done = Number(pg.sql(uri.split('/').pop(), 'SELECT count(*) FROM scripts.s_w'));
      eq(counted, done, 'pl.kv incr lost nothing');
      stay[0].input('still all here');
      for (const u of stay) await u.chat('say', { body: 'still all here' });
      eq((await fetch(srv.http('/healthz'))).status, 200, '/healthz answers');
      assert(!/script_error/.test(srv.log), 'no script failed: ' + (srv.log.match(/.*script_error.*/) || [''])[0].slice(0, 600));
    },
  },
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
    name: 'kill -9 in the middle of registrations and mail on PostgreSQL loses no acknowledged account or message',
    fn: async (ctx) => {
      const srv = ctx.srv;
      const r0 = await srv.user('rita');
      r0.input('g');
      await r0.closedP;
      // a writer sends mail after mail; each "Mail sent" is an acknowledgement
      const writer = await srv.user('writer');
      writer.input('m');
      await writer.waitFor((e) => e.type === 'menu' && e.id === 'mail');
      const sent = [];
      const mailing = (async () => {
        for (let i = 0; srv.proc.exitCode === null && i < 200; i++) {
          writer.input('c');
          writer.input('rita');
          writer.input('subject ' + i);
          writer.input('body ' + i);
          writer.input('.');
          try { await writer.text(/Mail sent to rita/); sent.push('subject ' + i); } catch (e) { return; }
        }
      })();
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
      await mailing;
      eq((await srv.exited).signal, 'SIGKILL', 'it was killed');
      assert(acked.length >= 3, 'some registrations were acknowledged first: ' + acked.length);
      assert(sent.length >= 1, 'some mail was acknowledged first: ' + sent.length);
      // another process, another data_dir: everything acknowledged is there
      const other = await Server.start({ set: { store: ctx.uri } });
      ctx.servers.push(other);
      for (const h of acked) {
        const { e } = await attempt(other, 'login', h, 'pass-' + h);
        eq(e.type, 'auth', h + ' was acknowledged, so it is stored');
      }
      const rita = await other.login('rita', 'secret-rita');
      const note = await rita.waitFor((e) => e.type === 'mail', 'rita is told of her mail');
      assert(note.unread >= sent.length, `every acknowledged message is there: ${note.unread} of ${sent.length}`);
    },
  },
  {
    name: 'partyline --copy-store moves a board from SQLite to PostgreSQL (accounts, mail, history, bans, script tables) and refuses a target that is not empty',
    fn: async (ctx) => {
      const uri = pg.db(); // an empty database: the board starts from the copy
      const old = await Server.start({ set: { store: 'sqlite' } });
      ctx.servers.push(old);
      const alice = await old.chatter('alice');
      for (let i = 0; i < 3; i++) alice.input('old line ' + i);
      await alice.chat('say', { body: 'old line 2' });
      const bob = await old.user('bob');
      bob.input('g');
      await bob.closedP;
      await writeMail(await old.user('walt'), 'bob', 'before the move', 'kept in the move');
      old.addUser('root', 'secret-root', { sysop: true });
      const root = await old.login('root', 'secret-root');
      await root.waitFor((x) => x.type === 'auth' && x.sysop);
      root.input('c');
      await root.waitFor((x) => x.type === 'chat' && x.kind === 'join' && x.from === 'root');
      await old.user('mallory');
      root.input('/ban mallory 2h flooding');
      await root.text(/mallory banned until/);
      await sleep(200);
      await old.stop();
      const copy = (to) => spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--copy-store', path.join(old.dir, 'var'), to],
        { encoding: 'utf8', timeout: 60000 });
      const r = copy(uri);
      eq(r.status, 0, 'copied:\n' + r.stdout + r.stderr);
      assert(/accounts\s+5 rows/.test(r.stdout), 'five accounts: ' + r.stdout);
      assert(/s_mail\s+1 rows/.test(r.stdout), 'the mail: ' + r.stdout);
      // the board on PostgreSQL, in a data_dir of its own
      const srv = await Server.start({ set: { store: uri } });
      ctx.servers.push(srv);
      const b2 = await srv.login('bob', 'secret-bob');
      eq((await b2.waitFor((x) => x.type === 'auth')).handle, 'bob', 'the password hash moved');
      eq((await b2.waitFor((x) => x.type === 'mail')).unread, 1, 'the mail moved');
      const e = await srv.chatter('erin');
      const hist = e.events.filter((x) => x.type === 'chat' && x.history).map((x) => x.body);
      for (let i = 0; i < 3; i++) assert(hist.includes('old line ' + i), 'history moved: ' + hist);
      const m = await srv.login('mallory', 'secret-mallory');
      eq((await m.waitFor((x) => x.type === 'bye')).reason, 'banned', 'the ban moved');
      const n = await srv.user('newbie'); // ids go on after the copied ones
      assert(n, 'a new account after the copy');
      // a second copy onto a board that now holds one is refused, and changes nothing
      const again = copy(uri);
      assert(again.status !== 0, 'refused');
      assert(/already holds a board/.test(again.stderr), again.stderr);
      eq(pg.sql(uri.split('/').pop(), 'SELECT count(*) FROM partyline.accounts'), '7', 'nothing copied twice (five copied, erin and newbie since)');
    },
  },
];
