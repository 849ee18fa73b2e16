// Test harness: starts the real server binary on free ports with a
// temporary data and scripts directory, and gives tests real clients.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = process.env.PARTYLINE_BUILD || 'build';
const BIN = path.join(ROOT, BUILD, 'partyline');
// under the sanitizers: any leak or undefined behaviour fails the run
const SAN_ENV = { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' };

// A free port below the kernel's ephemeral range: a port picked from inside
// it (listen on 0) can be taken as the local port of some outgoing
// connection between the check and the server's bind, and the server then
// fails with EADDRINUSE. Tests make thousands of outgoing connections.
function ephemeralLow() {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch (e) {
    return 32768;
  }
}
const PORT_LOW = 10000, PORT_HIGH = Math.max(PORT_LOW + 1000, ephemeralLow() - 1);
const portsGiven = new Set();

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true))); // all addresses, as the server binds
  });
}

async function freePort() {
  for (;;) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    if (portsGiven.has(port)) continue;
    if (await portFree(port)) {
      portsGiven.add(port);
      return port;
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name), b = path.join(to, e.name);
    if (e.isDirectory()) copyDir(a, b);
    else if (e.name.endsWith('.lua')) fs.copyFileSync(a, b);
  }
}

// One throwaway PostgreSQL cluster for the run (tests/lib/postgres.js), a
// database per board (its data directory), removed when the run ends.
let pgShared = null;
const pgStores = new Map();
async function pgStoreFor(dir) {
  if (!pgStores.has(dir)) {
    if (!pgShared) {
      const { Postgres } = require('./postgres');
      pgShared = await Postgres.start();
      process.on('exit', () => pgShared.stopSync());
    }
    pgStores.set(dir, pgShared.db());
  }
  return pgStores.get(dir);
}

class Server {
  // opts.set: extra configuration keys; opts.dir: reuse a data directory
  static async start(opts = {}) {
    const s = new Server();
    s.dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-test-'));
    s.scripts = path.join(s.dir, 'lua');
    if (!fs.existsSync(s.scripts)) copyDir(path.join(ROOT, 'lua'), s.scripts);
    s.wsPort = opts.wsPort || await freePort();
    s.telnetPort = opts.telnetPort || await freePort();
    // register_per_hour: tests register many users from 127.0.0.1; the limit has tests of its own
    // SSH (ssh_port, 2222 by default) only where a test asks for it (opts.ssh): on a port of its own
    s.sshPort = opts.sshPort || (opts.ssh ? await freePort() : 0);
    const sets = Object.assign({ pwhash_mem_kb: '8192', pwhash_ops: '1', grace_s: '60', register_per_hour: '0',
      ssh_port: String(s.sshPort) }, opts.set || {});
    // PARTYLINE_TEST_STORE=postgres: the same suites on PostgreSQL, a database per data directory
    if (process.env.PARTYLINE_TEST_STORE === 'postgres' && sets.store === undefined) sets.store = await pgStoreFor(s.dir);
    const args = ['--ws-port', s.wsPort, '--telnet-port', s.telnetPort, '--data', path.join(s.dir, 'var'),
      '--scripts', s.scripts, '--www', path.join(ROOT, 'etc', 'www')];
    for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
    s.sets = sets;
    s.log = '';
    // opts.wrap: a command the server runs under, e.g. ['prlimit', '--nofile=128:128', '--'] (it must exec, keeping the pid)
    const argv = (opts.wrap || []).concat([BIN], args.map(String));
    // opts.env: more environment for the server (e.g. OPENSSL_CONF)
    s.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...SAN_ENV, ...(opts.env || {}) } });
    s.proc.stdout.on('data', (d) => { s.log += d; });
    s.proc.stderr.on('data', (d) => { s.log += d; });
    // 'close', not 'exit': the last lines (an abort message) may still be in the pipes at exit
    s.exited = new Promise((r) => s.proc.on('close', (code, signal) => r({ code, signal })));
    const t0 = Date.now();
    while (!s.log.includes('ready')) {
      if (s.proc.exitCode !== null || Date.now() - t0 > 10000) throw new Error('server did not start:\n' + s.log);
      await sleep(20);
    }
    s.clients = [];
    return s;
  }

  // Waits until the server's log matches re (log lines arrive over a pipe,
  // so they may trail what a client already saw).
  async waitLog(re, what = String(re), timeout = 3000) {
    const t0 = Date.now();
    while (!re.test(this.log)) {
      if (Date.now() - t0 > timeout) throw new Error(`log never showed ${what}; tail:\n` + this.log.slice(-600));
      await sleep(20);
    }
  }

  url(query = '', host = '127.0.0.1') { return `ws://${host}:${this.wsPort}/ws${query}`; }
  http(p) { return `http://127.0.0.1:${this.wsPort}${p}`; }

  // options go to the ws library (localAddress: connect from 127.0.0.x);
  // options.netns: connect from that network namespace instead (tests/lib/netns.js)
  async ws(query, options) {
    const ns = options && options.netns;
    const c = ns ? new WsClient(null, null, ns.ws(this.url(query, ns.hostAddr))) : new WsClient(this.url(query), options);
    this.clients.push(c);
    await c.opened;
    return c;
  }

  // opts.bind: the local address to call from (127.0.0.x); opts.port: another
  // port; opts.argv: another client's command line; opts.netns: connect from
  // that network namespace (tests/lib/netns.js)
  async telnet(term = 'dumb', opts = {}) {
    const c = new TelnetClient(opts.port || this.telnetPort, term, opts.bind ? ['-b', opts.bind] : [], opts.argv,
      opts.netns ? { host: opts.netns.hostAddr, prefix: opts.netns.prefix() } : {});
    this.clients.push(c);
    await c.expect(/Handle/);
    return c;
  }

  // A new telnet user registered through the real prompts, at the main menu
  // (or in chat with opts.chat).
  async telnetUser(handle, opts = {}) {
    const c = await this.telnet(opts.term || 'dumb', opts);
    const password = opts.password || handle + '-pass';
    c.line('new');
    await c.expect(/New handle: /);
    c.line(handle);
    await c.expect(/Choose a password/);
    c.line(password);
    await c.expect(/Repeat the password/);
    c.line(password);
    await c.expect(new RegExp(`Welcome, (\\x1b\\[[0-9;]*m)?${handle}(\\x1b\\[0m)?!`));
    await c.expect(/Your choice: /);
    if (opts.chat) {
      c.line('c');
      await c.expect(/You are in #lobby\.[^\r]*\r\n/);
    }
    c.handle = handle;
    c.password = password;
    return c;
  }

  // Runs `partyline user ARGS` on this server's data directory with its
  // settings, as the operator would on the server machine (the server may be
  // running). input is what the tool reads on stdin (a password line).
  userTool(args, input = '') {
    const sets = [];
    for (const [k, v] of Object.entries(this.sets)) sets.push('--set', `${k}=${v}`);
    const r = spawnSync(BIN, ['user', ...args, '--data', path.join(this.dir, 'var'), ...sets].map(String),
      { input, encoding: 'utf8', env: { ...process.env, ...SAN_ENV }, timeout: 20000 });
    return { code: r.status, out: r.stdout || '', err: r.stderr || '' };
  }

  // An account made with `partyline user add` (the only way to make a sysop
  // account, or one with a reserved or configured-sysop handle).
  addUser(handle, password = 'secret-' + handle, { sysop = false } = {}) {
    const r = this.userTool(['add', handle, ...(sysop ? ['--sysop'] : [])], password + '\n');
    if (r.code !== 0) throw new Error(`partyline user add ${handle} failed (${r.code}): ${r.err}`);
    return r;
  }

  // A sysop account made with the tool, logged in over WebSocket and in chat.
  async sysop(handle = 'root', password = 'secret-' + handle) {
    this.addUser(handle, password, { sysop: true });
    const c = await this.login(handle, password);
    await c.waitFor((e) => e.type === 'auth' && e.sysop === true, 'auth as sysop ' + handle);
    await c.waitFor((e) => e.type === 'prompt', 'menu prompt');
    c.handle = handle;
    c.password = password;
    c.input('c');
    await c.waitFor((e) => e.type === 'chat' && e.kind === 'join' && e.from === handle, 'own join');
    return c;
  }

  // A new WebSocket user, registered and logged in, at the main menu.
  async user(handle, password = 'secret-' + handle, options) {
    const c = await this.ws(undefined, options);
    await c.waitFor((e) => e.type === 'prompt');
    c.send({ type: 'register', handle, password });
    await c.waitFor((e) => e.type === 'auth' && e.handle === handle, 'auth for ' + handle);
    await c.waitFor((e) => e.type === 'prompt', 'menu prompt');
    c.handle = handle;
    c.password = password;
    return c;
  }

  // An existing account logging in on a new connection; returns at once
  // after sending, so the caller sees every event that follows (auth, or bye).
  async login(handle, password) {
    const c = await this.ws();
    await c.waitFor((e) => e.type === 'prompt', 'login prompt');
    c.send({ type: 'login', handle, password });
    return c;
  }

  // A user already in chat (in the lobby).
  async chatter(handle, options) {
    const c = await this.user(handle, undefined, options);
    c.input('c');
    await c.waitFor((e) => e.type === 'chat' && e.kind === 'join' && e.from === handle, 'own join');
    return c;
  }

  async stop() {
    for (const c of this.clients) c.close();
    if (this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exited;
  }

  cleanup() { fs.rmSync(this.dir, { recursive: true, force: true }); }
}

// A WebSocket client that records every event and waits for ones that match.
// socket: something that behaves as the ws library's client does (open,
// message, close and error events; send, terminate), used instead of one:
// a client in another network namespace (tests/lib/netns.js).
class WsClient {
  constructor(url, options, socket) {
    this.events = [];
    this.pos = 0;
    this.waiters = [];
    this.closed = null;
    this.ws = socket || new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('error', reject);
    });
    this.closedP = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closed = { code, reason: String(reason) };
        resolve(this.closed);
        this._wake();
      });
    });
    this.ws.on('message', (data) => {
      let ev;
      try { ev = JSON.parse(String(data)); } catch (e) { ev = { type: '_unparsable', raw: String(data) }; }
      this.events.push(ev);
      this._wake();
    });
    this.ws.on('error', () => {});
  }

  _wake() { for (const w of this.waiters.slice()) w(); }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  input(text) { this.send({ type: 'input', text }); }

  // The next event (after earlier matches) for which pred is true.
  waitFor(pred, what = 'an event', timeout = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = this.pos; i < this.events.length; i++) {
          if (pred(this.events[i])) {
            this.pos = i + 1;
            done();
            resolve(this.events[i]);
            return true;
          }
        }
        if (this.closed && !this._closeOk) {
          done();
          reject(new Error(`connection closed (${this.closed.code}) while waiting for ${what}; got: ` + this.tail()));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; got: ` + this.tail())); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  // Chat event of a kind (and optional body/text match).
  chat(kind, match = {}, what, timeout) {
    return this.waitFor((e) => e.type === 'chat' && e.kind === kind &&
      Object.entries(match).every(([k, v]) => (v instanceof RegExp ? v.test(e[k]) : e[k] === v)),
    what || `chat ${kind} ${JSON.stringify(match)}`, timeout);
  }

  text(re, what) {
    return this.waitFor((e) => typeof e.text === 'string' && re.test(strip(e.text)), what || `text ${re}`);
  }

  // Asserts no event matching pred arrives within ms (from the current position).
  async none(pred, ms = 300, what = 'unexpected event') {
    await sleep(ms);
    const hit = this.events.slice(this.pos).find(pred);
    if (hit) throw new Error(`${what}: ${JSON.stringify(hit)}`);
  }

  tail(n = 6) { return this.events.slice(-n).map((e) => JSON.stringify(e).slice(0, 160)).join('\n  '); }
  close() { this._closeOk = true; try { this.ws.terminate(); } catch (e) { /* already gone */ } }
}

// A real telnet process (Debian's telnet), fed through a pipe; flags go
// before the address (-b 127.0.0.5). argv: another client instead (e.g.
// openssl s_client for telnet over TLS), its whole command line. ns.host:
// the server's address; ns.prefix: a command it runs under (`ip netns exec
// NAME`: a client in another network namespace, tests/lib/netns.js).
class TelnetClient {
  constructor(port, term, flags = [], argv = null, ns = {}) {
    this.out = '';
    this.pos = 0;
    this.waiters = [];
    const cmd = (ns.prefix || []).concat(argv || ['telnet', ...flags, ns.host || '127.0.0.1', String(port)]);
    this.proc = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, TERM: term } });
    this.proc.stdout.on('data', (d) => { this.out += d.toString('latin1'); this._wake(); });
    this.proc.stderr.on('data', (d) => { this.out += d.toString('latin1'); this._wake(); });
    this.exited = new Promise((r) => this.proc.on('exit', () => { this.gone = true; this._wake(); r(); }));
  }

  _wake() { for (const w of this.waiters.slice()) w(); }
  line(text) { this.proc.stdin.write(text + '\n'); }
  raw(bytes) { this.proc.stdin.write(bytes); }

  // Waits for re in the output after the last match; returns the match.
  expect(re, timeout = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const rest = this.out.slice(this.pos);
        const m = re.exec(rest);
        if (m) {
          this.pos += m.index + m[0].length;
          done();
          resolve(m);
          return true;
        }
        if (this.gone) { done(); reject(new Error(`telnet exited waiting for ${re}; output: ${JSON.stringify(rest.slice(-400))}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}; output: ${JSON.stringify(this.out.slice(this.pos).slice(-400))}`)); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  close() { if (!this.gone) this.proc.kill('SIGKILL'); }
}

const strip = (s) => String(s).replace(/\x1b\[[0-9;]*m/g, '');

function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) { if (a !== b) throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }

module.exports = { Server, WsClient, TelnetClient, sleep, strip, assert, eq, freePort, ROOT, BUILD };
