// Storage trouble: the database locked by another process, and a full
// disk. Chat goes on for everyone, registration and mail say "try again
// later" (error `unavailable`), the loop never waits on the lock, what could
// not be written is kept and written when storage is back, and everything
// recovers by itself.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => {
  if (!t.tmpfs) return { srv: await Server.start(t.opts) };
  // data_dir on a 2 MiB tmpfs of its own, so that the test can fill it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-test-'));
  const data = path.join(dir, 'var');
  fs.mkdirSync(data);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', data]);
  let srv;
  try {
    srv = await Server.start(Object.assign({ dir }, t.opts));
  } catch (e) {
    execFileSync('umount', [data]);
    throw e;
  }
  const cleanup = srv.cleanup.bind(srv);
  srv.cleanup = () => { try { execFileSync('umount', [data]); } catch (e) { /* not mounted */ } cleanup(); };
  return { srv, data };
};

async function metrics(srv) { return (await fetch(srv.http('/metrics'))).text(); }

async function metric(srv, name) {
  const r = new RegExp('^' + name + ' (\\d+)$', 'm').exec(await metrics(srv));
  assert(r, 'metric ' + name);
  return Number(r[1]);
}

async function until(what, fn, timeout = 10000) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - t0 > timeout) throw new Error('never happened: ' + what);
    await sleep(100);
  }
}

// The sqlite3 shell holding the database's write lock until released.
async function lockDatabase(file) {
  const p = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const gone = new Promise((r) => p.on('exit', r));
  p.stdin.write('.timeout 5000\nBEGIN EXCLUSIVE;\n.print locked\n');
  await until('the lock is held', () => /locked/.test(out) || p.exitCode !== null, 6000);
  assert(/^locked/m.test(out), 'sqlite3 took the lock: ' + out);
  return { release: async () => { p.stdin.end('ROLLBACK;\n.quit\n'); await gone; } };
}

// No client message took the loop longer than 0.25 s (the histogram's last
// bound below +Inf): a 1 s busy wait on a lock would land above it.
async function noStall(srv) {
  const m = await metrics(srv);
  const below = Number(/^partyline_event_seconds_bucket\{le="0.25"\} (\d+)$/m.exec(m)[1]);
  const all = Number(/^partyline_event_seconds_count (\d+)$/m.exec(m)[1]);
  eq(all - below, 0, 'client messages that held the loop over 0.25 s');
}

// Chat between a and b goes on: each line said reaches the other, and the
// sender stays in chat (the chat service is not switched off).
async function chatGoesOn(a, b, tag, n) {
  for (let i = 0; i < n; i++) a.input(`${tag} ${i}`);
  for (let i = 0; i < n; i++) await b.chat('say', { body: `${tag} ${i}` });
  a.input(`${tag} after`);
  await b.chat('say', { body: `${tag} after` });
  await a.chat('say', { body: `${tag} after` });
  assert(!a.events.some((e) => typeof e.text === 'string' && /out of order/.test(strip(e.text))), 'chat was not switched off');
}

async function register(srv, handle) {
  const c = await srv.ws();
  await c.waitFor((e) => e.type === 'prompt');
  c.send({ type: 'register', handle, password: 'secret-' + handle });
  return c.waitFor((e) => (e.type === 'error' && e.code !== 'rate_limited') || e.type === 'auth', 'register answer');
}

// A telnet user going through the registration prompts; returns the output after the last answer.
async function telnetRegister(srv, handle, expect) {
  const tn = await srv.telnet();
  tn.line('new');
  await tn.expect(/New handle: /);
  tn.line(handle);
  await tn.expect(/Choose a password/);
  tn.line('secret-' + handle);
  await tn.expect(/Repeat the password/);
  tn.line('secret-' + handle);
  await tn.expect(expect);
  tn.close();
}

async function writeMail(c, to, lines) {
  c.input('m');
  await c.waitFor((e) => e.type === 'menu' && e.id === 'mail');
  c.input('c');
  await c.waitFor((e) => e.type === 'prompt' && /To/.test(e.text));
  c.input(to);
  await c.waitFor((e) => e.type === 'prompt' && /Subject/.test(e.text));
  c.input('while the disk was full');
  await c.text(/A line with only \. sends it/);
  for (const l of lines) c.input(l);
  c.input('.');
}

exports.tests = [
  {
    name: 'a database locked by another process: chat goes on without stalls, registration says try again later, all recovers',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      await srv.user('carol');
      const lock = await lockDatabase(path.join(srv.dir, 'var', 'partyline.db'));

      await chatGoesOn(a, b, 'locked', 6);
      eq((await fetch(srv.http('/healthz'))).status, 200, 'healthz answers');
      const refused = await register(srv, 'dave');
      eq(refused.code, 'unavailable', 'registration: try again later');
      assert(/try again later/.test(refused.message), 'message: ' + refused.message);
      await telnetRegister(srv, 'dave', /cannot reach its user records right now\. Please try again/);
      const c = await srv.login('carol', 'secret-carol');
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'carol', 'an existing user logs in (reads still work)');
      await c.waitFor((e) => e.type === 'menu', 'and reaches the menu');
      eq(await metric(srv, 'partyline_storage_up'), 0, 'storage shown down');
      assert((await metric(srv, 'partyline_storage_errors_total')) > 0, 'storage errors counted');
      assert((await metric(srv, 'partyline_storage_deferred')) >= 6, 'history lines kept in memory');
      await srv.waitLog(/"event":"storage_down"/);
      await noStall(srv);

      await lock.release();
      await until('the kept writes are stored', async () => (await metric(srv, 'partyline_storage_deferred')) === 0);
      eq(await metric(srv, 'partyline_storage_up'), 1, 'storage back');
      const e = await srv.chatter('erin');
      const hist = e.events.filter((x) => x.type === 'chat' && x.history).map((x) => x.body);
      for (let i = 0; i < 6; i++) assert(hist.includes('locked ' + i), 'history kept through the lock: ' + hist);
      eq((await register(srv, 'dave')).type, 'auth', 'registration works again');
      await chatGoesOn(b, a, 'after', 2);
    },
  },
  {
    name: 'a full disk: chat goes on, registration and mail say try again later (the mail is kept), all recovers when space is freed',
    tmpfs: true,
    fn: async ({ srv, data }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      const m = await srv.user('mailer');
      await srv.user('carol');
      // fill the disk, to the last page
      const fill = path.join(data, 'fill');
      const fd = fs.openSync(fill, 'w');
      for (const size of [65536, 4096, 512, 1]) {
        const buf = Buffer.alloc(size, 120);
        try { for (;;) fs.writeSync(fd, buf); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
      }
      fs.closeSync(fd);

      await chatGoesOn(a, b, 'full', 6);
      await until('storage is seen down', async () => (await metric(srv, 'partyline_storage_up')) === 0);
      eq((await fetch(srv.http('/healthz'))).status, 200, 'healthz answers');
      eq((await register(srv, 'dave')).code, 'unavailable', 'registration: try again later');
      await telnetRegister(srv, 'dave', /cannot reach its user records right now\. Please try again/);
      const c = await srv.login('carol', 'secret-carol');
      eq((await c.waitFor((e) => e.type === 'auth')).handle, 'carol', 'an existing user logs in');
      await writeMail(m, 'bob', ['kept safe']);
      await m.text(/could not be sent: the system cannot store mail right now\. It is kept/);
      await m.waitFor((e) => e.type === 'prompt' && /^\s*2: $/.test(strip(e.text)), 'still in the editor');
      await noStall(srv);

      fs.unlinkSync(fill);
      await until('the kept writes are stored', async () => (await metric(srv, 'partyline_storage_deferred')) === 0);
      eq(await metric(srv, 'partyline_storage_up'), 1, 'storage back');
      m.input('.');
      await m.text(/Mail sent to bob\./);
      await b.chat('system', { body: 'New mail from mailer: while the disk was full' });
      const e = await srv.chatter('erin');
      const hist = e.events.filter((x) => x.type === 'chat' && x.history).map((x) => x.body);
      for (let i = 0; i < 6; i++) assert(hist.includes('full ' + i), 'history kept through the full disk: ' + hist);
      eq((await register(srv, 'dave')).type, 'auth', 'registration works again');
      await chatGoesOn(b, a, 'after', 2);
    },
  },
];
