// make bench: runs every scenario against partyline and the two reference
// servers (libwebsockets' mirror, a Node `ws` broadcast server) in one go,
// with the same load generator (build/loadgen), and writes
//   scripts/bench/results/latest.md    the table (also printed)
//   scripts/bench/results/latest.json  every raw figure
//   scripts/bench/results/plot.png     deliveries/s and p99 against users (gnuplot)
// Server CPU comes from /proc/<pid>/stat over the measuring window, memory
// from VmRSS / VmHWM. `node scripts/bench/bench.js quick` runs a short subset.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(__dirname, 'results');
const LOADGEN = path.join(ROOT, 'build', 'loadgen');
const QUICK = process.argv[2] === 'quick';
// `bench.js only bigroom,idle [partyline,mirror]`: those scenarios (and
// servers) alone, printed but not written to results/: for measuring a change.
const ONLY = process.argv[2] === 'only' ? process.argv[3].split(',') : null;
const SECRET = 'bench-secret-' + process.pid;
const TICK = os.constants ? 100 : 100; // USER_HZ on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The largest run: as many sessions as one process may hold here. The
// server keeps an eighth of its descriptors (at most 256) for files, and a
// few more go to listeners, the database and the loop.
const FD_LIMIT = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString());
const BIG = Math.min(19800, Math.floor((FD_LIMIT - Math.min(256, Math.floor(FD_LIMIT / 8)) - 200) / 100) * 100);

// Ports below the kernel's ephemeral range, as the tests pick them: a port
// from inside it can be the local port of one of the load generator's own
// outgoing connections by the time the server binds it.
const { freePort } = require('../../tests/lib/harness');

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}

function memKiB(pid, key) {
  const m = new RegExp(key + ':\\s+(\\d+) kB').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function waitPort(port, proc) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error('server exited early');
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error('server never listened on ' + port);
}

// --- the servers under test
// A port that was free a moment ago may be taken when the server binds it:
// try again on another.
async function startServer(kind, extra = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(kind, extra);
    } catch (e) {
      if (attempt >= 5) throw e;
      await sleep(500);
    }
  }
}

async function startServerOnce(kind, extra = {}) {
  const port = await freePort();
  let proc;
  let dir = null;
  let tport = 0;
  if (kind === 'partyline') {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-bench-'));
    const set = Object.assign({
      jwt_secret: SECRET, rate_per_s: '0', max_conns_per_addr: '0', login_timeout_s: '0', idle_timeout_s: '0',
      log_level: 'warn', queue_max: '256', ssh_port: '0', // SSH's default port would collide between servers
    }, extra);
    tport = await freePort();
    while (tport === port) tport = await freePort();
    const args = ['--ws-port', port, '--telnet-port', tport, '--data', path.join(dir, 'var'),
      '--scripts', path.join(ROOT, 'lua'), '--www', path.join(ROOT, 'etc', 'www')];
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    proc = spawn(path.join(ROOT, 'build', 'partyline'), args.map(String), { stdio: ['ignore', 'ignore', 'pipe'] });
  } else if (kind === 'mirror') {
    proc = spawn('libwebsockets-test-server', [`--port=${port}`, '-d', '0'], { stdio: ['ignore', 'ignore', 'ignore'] });
  } else {
    proc = spawn(process.execPath, [path.join(__dirname, 'ws_server.js'), port], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_PATH: path.join(ROOT, 'tests', 'node_modules') },
    });
  }
  let log = '';
  proc.stderr && proc.stderr.on('data', (d) => { log = (log + d).slice(-2000); });
  try {
    await waitPort(port, proc);
  } catch (e) {
    proc.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${kind}: ${e.message}\n${log}`);
  }
  await sleep(200);
  return { kind, port, tport, proc, dir, pid: proc.pid, baseRss: memKiB(proc.pid, 'VmRSS') };
}

async function stopServer(s) {
  if (s.proc.exitCode === null) {
    s.proc.kill('SIGTERM');
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 8000);
    await new Promise((r) => s.proc.on('exit', r));
    clearTimeout(t);
  }
  if (s.dir) fs.rmSync(s.dir, { recursive: true, force: true });
}

function loadgenArgs(s, args) {
  return ['--port', s.port, '--server', s.kind === 'node' ? 'plain' : s.kind,
    '--path', s.kind === 'partyline' ? '/ws' : '/', '--secret', SECRET].concat(args).map(String);
}

// The probe runs as a load generator of its own, started when the window
// opens: inside the loaded generator its round trips would also time that
// generator's own loop, busy with hundreds of clients.
function probe(s, seconds) {
  return new Promise((resolve) => {
    const g = spawn(LOADGEN, loadgenArgs(s, ['--mode', 'idle', '--clients', 1, '--duration', seconds, '--probe']),
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    g.stdout.on('data', (d) => { out += d; });
    g.on('exit', () => {
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch (e) { resolve({}); }
    });
  });
}

// Runs the load generator against s; during the window, onWindow(s) may act
// (a reload). Returns the generator's figures plus the server's CPU and memory;
// `--probe` in args times the server's loop from a separate process.
function loadgen(s, args, onWindow) {
  const probing = args.includes('--probe');
  args = args.filter((a) => a !== '--probe');
  const dIdx = args.indexOf('--duration');
  const window = dIdx >= 0 ? Number(args[dIdx + 1]) : 10;
  return new Promise((resolve, reject) => {
    let probed = null;
    const g = spawn(LOADGEN, loadgenArgs(s, args), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', cpu0 = 0, cpu1 = 0, rss = 0;
    g.stdout.on('data', (d) => { out += d; });
    g.stderr.on('data', (d) => {
      err += d;
      if (/measuring/.test(d) && !cpu0) {
        cpu0 = cpuSeconds(s.pid);
        rss = memKiB(s.pid, 'VmRSS');
        if (probing) probed = probe(s, Math.max(1, window - 1));
        if (onWindow) onWindow(s);
      }
      if (/window over/.test(d)) cpu1 = cpuSeconds(s.pid);
    });
    g.on('exit', async (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        if (probed) {
          const p = await probed;
          for (const k of ['probe_n', 'probe_p99_us', 'probe_max_us']) r[k] = p[k];
        }
        if (!cpu1) cpu1 = cpuSeconds(s.pid);
        r.cpu_s = cpu1 - cpu0;
        r.rss_kib = rss;
        r.hwm_kib = memKiB(s.pid, 'VmHWM');
        r.base_rss_kib = s.baseRss;
        resolve(r);
      } catch (e) {
        reject(new Error(`loadgen failed (${code}): ${err.slice(-500)}`));
      }
    });
  });
}

const results = { machine: {}, runs: [] };
function record(scenario, server, params, r) {
  const row = Object.assign({ scenario, server }, params, r);
  results.runs.push(row);
  const lat = r.delivered ? ` p50 ${(r.p50_us / 1000).toFixed(1)} ms p99 ${(r.p99_us / 1000).toFixed(1)} ms` : '';
  console.log(`  ${scenario} ${server} ${JSON.stringify(params)}: ${r.deliveries_per_s ? Math.round(r.deliveries_per_s) + ' deliveries/s' : ''}` +
    `${lat}${r.logins_per_s ? ` ${r.logins_per_s.toFixed(0)} logins/s` : ''}` +
    `${r.probe_max_us ? ` loop stall max ${(r.probe_max_us / 1000).toFixed(1)} ms p99 ${(r.probe_p99_us / 1000).toFixed(1)} ms` : ''}` +
    `${r.per_session_kib ? ` ${r.per_session_kib.toFixed(2)} KiB/session` : ''}` +
    `${r.ping_s !== undefined ? ` ping_s ${r.ping_s}: ${r.pings} pings, ${r.ping_drops} dropped` : ''} cpu ${r.cpu_s.toFixed(2)} s rss ${(r.rss_kib / 1024).toFixed(1)} MiB errors ${r.conn_errors} closed ${r.closed_unexpected}`);
  return row;
}

const ALL_SERVERS = ['partyline', 'mirror', 'node'];
const SERVERS = ONLY && process.argv[4] ? process.argv[4].split(',') : ALL_SERVERS;
const D = QUICK ? 3 : 8; // seconds of measuring per run
// Lines per second per sender in the big room: 10 senders x 5/s is 50,000
// deliveries/s at 1,000 users, which every server here carries without
// saturating its core (at 10/s all three sit at 100% and CPU per delivery
// stops saying anything).
const RATE = 5;

async function bigRoom() {
  console.log(`big room: everyone in one room, 10 senders at ${RATE} lines/s each`);
  const sizes = QUICK ? [250, 1000] : [250, 500, 1000, 2000];
  for (const users of sizes) {
    for (const kind of SERVERS) {
      const s = await startServer(kind);
      const r = await loadgen(s, ['--mode', 'chat', '--clients', users, '--senders', 10, '--rate', RATE, '--duration', D]);
      record('bigroom', kind, { users }, r);
      await stopServer(s);
    }
  }
}

// Telnet users register through the real prompts, so the server hashes at a
// light cost here; nothing else differs from the big room over WebSocket.
async function bigRoomTelnet() {
  const users = QUICK ? 250 : 1000;
  console.log(`big room over telnet: ${users} telnet users in one room, 10 senders at ${RATE} lines/s each`);
  if (!SERVERS.includes('partyline')) return;
  const s = await startServer('partyline', { pwhash_mem_kb: '8192', pwhash_ops: '1', register_per_hour: '0' }); // 1,000 registrations from 32 addresses
  const r = await loadgen(s, ['--mode', 'chat', '--telnet-port', s.tport, '--clients', users, '--senders', 10,
    '--rate', RATE, '--duration', D]);
  record('bigroom-telnet', 'partyline', { users }, r);
  await stopServer(s);
}

async function smallRooms() {
  const users = QUICK ? 2000 : 10000;
  console.log(`many small rooms: ${users} users in rooms of 10, one sender per room at 1 line/s`);
  for (const kind of SERVERS.filter((k) => k !== 'mirror')) { // the mirror has no rooms
    const s = await startServer(kind);
    const r = await loadgen(s, ['--mode', 'chat', '--clients', users, '--room-size', 10, '--senders', users / 10,
      '--rate', 1, '--duration', D]);
    record('rooms', kind, { users }, r);
    await stopServer(s);
  }
}

// partyline's keepalive counters (/metrics) for WebSockets.
async function keepalive(s) {
  const m = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  const v = (name) => Number((/ (\d+)$/.exec(m.split('\n').find((l) => l.startsWith(name + ' ')) || '') || [0, 0])[1]);
  return { probes: v('partyline_keepalive_probes_total{transport="websocket"}'),
    drops: v('partyline_keepalive_drops_total{transport="websocket"}') };
}

// Idle sessions cost memory, and partyline's keepalive pings each one that
// is silent for ping_s (default 30): its window is longer than ping_s, so
// that every session is pinged (and answers: the load generator is an lws
// client, and lws clients answer pings) while CPU is measured; one more run
// with ping_s = 0 shows what the pings cost against none.
const IDLE_WINDOW = 35;
async function idle() {
  console.log(`idle density: logged in (partyline: at the main menu), doing nothing; partyline over ${IDLE_WINDOW} s, its keepalive on`);
  const sizes = QUICK ? [1000] : [1000, 10000, BIG];
  const runs = [];
  for (const users of sizes) for (const kind of SERVERS) runs.push({ users, kind, ping: kind === 'partyline' ? 30 : null });
  if (SERVERS.includes('partyline')) runs.push({ users: QUICK ? 1000 : 10000, kind: 'partyline', ping: 0 });
  for (const { users, kind, ping } of runs) {
    const s = await startServer(kind, ping === null ? {} : { ping_s: String(ping) });
    let before = null;
    const window = kind === 'partyline' ? IDLE_WINDOW : 2;
    const r = await loadgen(s, ['--mode', 'idle', '--menu', '--clients', users, '--duration', window, '--concurrency', 500],
      kind === 'partyline' ? async (srv) => { before = await keepalive(srv); } : null);
    r.per_session_kib = (r.rss_kib - r.base_rss_kib) / users;
    r.window_s = window;
    if (kind === 'partyline') {
      const after = await keepalive(s);
      r.ping_s = ping;
      r.pings = after.probes - (before ? before.probes : 0);
      r.ping_drops = after.drops;
    }
    record(ping === 0 ? 'idle-noping' : 'idle', kind, { users }, r);
    await stopServer(s);
  }
}

async function scale() {
  const users = QUICK ? 4000 : BIG;
  console.log(`scale: ${users} logged-in users in rooms of 10 with chat flowing (1 line/s per room)`);
  const s = await startServer('partyline');
  const r = await loadgen(s, ['--mode', 'chat', '--clients', users, '--room-size', 10, '--senders', users / 10,
    '--rate', 1, '--duration', D, '--concurrency', 300]);
  record('scale', 'partyline', { users }, r);
  await stopServer(s);
}

async function churn() {
  console.log('churn: connect, log in (partyline: token), quit; 100 at a time');
  for (const kind of SERVERS) {
    const s = await startServer(kind);
    const r = await loadgen(s, ['--mode', 'churn', '--clients', 400, '--concurrency', 100, '--rate', 0, '--duration', D]);
    record('churn', kind, {}, r);
    await stopServer(s);
  }
}

async function reload() {
  const users = QUICK ? 2000 : 10000;
  console.log(`hot reload: ${users} users in chat rooms, three SIGHUP reloads during the window`);
  const s = await startServer('partyline');
  const r = await loadgen(s, ['--mode', 'idle', '--clients', users, '--room-size', 10, '--duration', 6, '--probe',
    '--concurrency', 300], async (srv) => {
    for (let i = 0; i < 3; i++) { await sleep(1500); srv.proc.kill('SIGHUP'); }
  });
  record('reload', 'partyline', { users }, r);
  await stopServer(s);
}

// --- many processes: the big room spread over two partyline processes and
// one Redis (issue 11), beside the single process in the same run.
function redisServer() {
  return new Promise(async (resolve, reject) => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-bench-redis-'));
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir], { stdio: ['ignore', 'pipe', 'ignore'] });
    let log = '';
    proc.stdout.on('data', (d) => {
      log += d;
      if (/Ready to accept connections/.test(log)) resolve({ port, dir, proc, pid: proc.pid });
    });
    proc.on('exit', () => reject(new Error('redis-server exited: ' + log.slice(-500))));
  });
}

function redisCalls(port) {
  // PUBLISH and EVAL calls so far, from INFO commandstats
  const out = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats']).toString();
  let n = 0;
  for (const m of out.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) if (!['info', 'ping'].includes(m[1])) n += Number(m[2]);
  return n;
}

// Two load generators at once, one per process, whose windows open at the
// same moment (process.hrtime is CLOCK_MONOTONIC, as the generators' clock).
// Redis commands are counted over the same window when redisPort is given.
function loadgenPair(servers, users, pids, redisPort) {
  return new Promise((resolve, reject) => {
    const outs = [], waits = [];
    let started = 0, over = 0, cpu0 = 0, cpu1 = 0, t0 = 0, t1 = 0, calls0 = 0, calls1 = 0;
    const calls = () => (redisPort ? redisCalls(redisPort) : 0);
    const cpuAll = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
    const at = process.hrtime.bigint() + 20000000000n; // time for both to log everyone in
    for (const s of servers) {
      const g = spawn(LOADGEN, loadgenArgs(s, ['--mode', 'chat', '--clients', users / 2, '--senders', 5, '--rate', RATE,
        '--duration', D, '--window-at', at.toString()]), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      g.stdout.on('data', (d) => { out += d; });
      g.stderr.on('data', (d) => {
        err += d;
        if (/measuring/.test(d) && ++started === servers.length) { cpu0 = cpuAll(); calls0 = calls(); t0 = Date.now(); }
        if (/window over/.test(d) && ++over === 1) { cpu1 = cpuAll(); calls1 = calls(); t1 = Date.now(); }
      });
      waits.push(new Promise((res) => g.on('exit', (code) => {
        try { outs.push(JSON.parse(out.trim().split('\n').pop())); res(); } catch (e) { reject(new Error(`loadgen failed (${code}): ${err.slice(-500)}`)); }
      })));
    }
    Promise.all(waits).then(() => resolve({ outs, cpu_s: cpu1 - cpu0, secs: (t1 - t0) / 1000, redis_calls: calls1 - calls0 }));
  });
}

async function cluster() {
  const users = QUICK ? 500 : 1000;
  console.log(`many processes: the big room (${users} users, 10 senders at ${RATE} lines/s) on one process, and on two processes with one Redis`);
  if (!SERVERS.includes('partyline')) return;
  const one = await startServer('partyline');
  const r1 = await loadgen(one, ['--mode', 'chat', '--clients', users, '--senders', 10, '--rate', RATE, '--duration', D]);
  r1.processes = 1;
  record('cluster', 'partyline', { users, processes: 1 }, r1);
  await stopServer(one);
  const redis = await redisServer();
  const set = { redis: `127.0.0.1:${redis.port}` };
  const servers = [await startServer('partyline', set), await startServer('partyline', set)];
  await sleep(1500); // the two find each other on the bus
  const pair = await loadgenPair(servers, users, servers.map((s) => s.pid).concat([redis.pid]), redis.port);
  const sent = pair.outs.reduce((a, o) => a + o.sent, 0);
  const dps = pair.outs.reduce((a, o) => a + o.deliveries_per_s, 0);
  const r2 = {
    clients: users, conn_errors: pair.outs.reduce((a, o) => a + o.conn_errors, 0),
    closed_unexpected: pair.outs.reduce((a, o) => a + o.closed_unexpected, 0),
    sent, delivered: pair.outs.reduce((a, o) => a + o.delivered, 0), deliveries_per_s: dps,
    p50_us: Math.max(...pair.outs.map((o) => o.p50_us)), p99_us: Math.max(...pair.outs.map((o) => o.p99_us)),
    p999_us: Math.max(...pair.outs.map((o) => o.p999_us)),
    // CPU of both processes and Redis over the time both windows were open, per delivery in that time
    cpu_s: pair.cpu_s, cpu_per_delivery_us: pair.secs > 0 ? pair.cpu_s / (dps * pair.secs) * 1e6 : 0,
    // lines sent in the window: deliveries over it, each line reaching every user
    redis_calls_per_line: dps ? pair.redis_calls / (dps * pair.secs / users) : 0, processes: 2,
    rss_kib: memKiB(servers[0].pid, 'VmRSS'), hwm_kib: memKiB(servers[0].pid, 'VmHWM'), base_rss_kib: servers[0].baseRss,
  };
  record('cluster', 'partyline', { users, processes: 2 }, r2);
  for (const s of servers) await stopServer(s);
  redis.proc.kill('SIGKILL');
  fs.rmSync(redis.dir, { recursive: true, force: true });
}

async function logins() {
  console.log('password logins (argon2id on the hashing threads) at 200/s, with a probe timing the loop');
  for (const [label, cost] of [['default cost (64 MiB, 2 passes)', {}], ['light cost (8 MiB, 1 pass)', { pwhash_mem_kb: '8192', pwhash_ops: '1' }]]) {
    const s = await startServer('partyline', cost);
    const r = await loadgen(s, ['--mode', 'login', '--clients', 400, '--concurrency', 200, '--rate', 200,
      '--duration', D, '--warmup', 3, '--probe']);
    record('logins', 'partyline', { cost: label }, r);
    await stopServer(s);
  }
}

// Each store side by side: password logins (light cost, so the store shows
// rather than the hashing) with the loop probe, and chat with history kept
// (history.lua writes every line), on SQLite and on PostgreSQL (a throwaway
// cluster, tests/lib/postgres.js).
async function store() {
  console.log('stores: logins/s with the loop probe, and chat lines/s with history, on SQLite and PostgreSQL');
  if (!SERVERS.includes('partyline')) return;
  const { Postgres } = require('../../tests/lib/postgres');
  const pg = await Postgres.start();
  try {
    for (const kind of ['sqlite', 'postgresql']) {
      const light = { pwhash_mem_kb: '8192', pwhash_ops: '1' };
      let s = await startServer('partyline', Object.assign({ store: kind === 'sqlite' ? 'sqlite' : pg.db() }, light));
      const l = await loadgen(s, ['--mode', 'login', '--clients', 400, '--concurrency', 200, '--rate', 400,
        '--duration', D, '--warmup', 3, '--probe']);
      record('store-logins', 'partyline', { store: kind }, l);
      await stopServer(s);
      s = await startServer('partyline', Object.assign({ store: kind === 'sqlite' ? 'sqlite' : pg.db() }, light));
      const c = await loadgen(s, ['--mode', 'chat', '--clients', 200, '--senders', 20, '--rate', 20, '--duration', D]);
      record('store-chat', 'partyline', { store: kind }, c);
      await stopServer(s);
    }
  } finally {
    pg.stopSync();
  }
}

// Presence (the web page's who and rooms panels, core/PROTOCOL.md): N users
// subscribed, in rooms of 100, while 50 others each second move room or log
// out and back in. What it costs the server (CPU) and each subscriber (bytes
// per second), against the same board with nobody subscribed. The movers are
// `ws` clients driven from here, logging in with tokens as the generator does.
function jwt(sub) {
  const b64 = (x) => Buffer.from(x).toString('base64url');
  const body = b64('{"alg":"HS256","typ":"JWT"}') + '.' + b64(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 86400 }));
  return body + '.' + require('crypto').createHmac('sha256', SECRET).update(body).digest('base64url');
}
function movers(s, count, perSecond, rooms) {
  const WebSocket = require(path.join(ROOT, 'tests', 'node_modules', 'ws'));
  const pool = [];
  let stopped = false, moves = 0, relogins = 0;
  const connect = (m) => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?token=${jwt(m.handle)}`);
    m.ws = ws;
    m.ready = false;
    ws.on('message', (d) => {
      const t = d.toString();
      if (!m.ready && t.includes('"type":"menu"')) ws.send(JSON.stringify({ type: 'input', text: 'c' }));
      else if (!m.ready && t.includes('"kind":"join"') && t.includes('"from":"' + m.handle + '"')) m.ready = true;
    });
    ws.on('error', () => {});
  };
  for (let i = 0; i < count; i++) { const m = { handle: 'mover' + i }; pool.push(m); connect(m); }
  let k = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    const m = pool[k++ % pool.length];
    if (!m.ready || m.ws.readyState !== 1) return;
    if (k % 2) { // a move: another room
      m.ws.send(JSON.stringify({ type: 'input', text: '/join r' + Math.floor(Math.random() * rooms) }));
      moves++;
    } else { // logs off and comes back
      m.ready = false;
      m.ws.send(JSON.stringify({ type: 'input', text: '/quit' }));
      m.ws.send(JSON.stringify({ type: 'input', text: 'g' }));
      m.ws.once('close', () => { if (!stopped) connect(m); });
      relogins++;
    }
  }, 1000 / perSecond);
  return {
    stop() { stopped = true; clearInterval(timer); for (const m of pool) m.ws.terminate(); },
    counts: () => ({ moves, relogins }),
    readyCount: () => pool.filter((m) => m.ready).length,
  };
}

async function presenceBench() {
  const users = QUICK ? 2000 : 10000, PER_S = 50, ROOMS = users / 100;
  console.log(`presence: ${users} users in rooms of 100, ${PER_S} changes/s (half of them room moves, half log out and in)`);
  for (const subscribed of [true, false]) {
    const s = await startServer('partyline', { grace_s: '0' });
    const m = movers(s, 100, PER_S, ROOMS);
    // the subscribers come in after the movers are in chat, so the window sees only changes
    for (let i = 0; i < 100 && m.readyCount() < 100; i++) await sleep(100);
    let at = null;
    const r = await loadgen(s, ['--mode', 'idle', '--clients', users, '--room-size', 100, '--duration', D,
      '--concurrency', 300].concat(subscribed ? ['--presence'] : []), () => { at = { t: Date.now(), ...m.counts() }; });
    const c = m.counts(), secs = (Date.now() - at.t) / 1000;
    m.stop();
    r.changes_per_s = (c.moves + c.relogins - at.moves - at.relogins) / secs;
    r.bytes_per_user_s = r.rx_bytes / users / D;
    r.cpu_share = r.cpu_s / D;
    record('presence', 'partyline', { users, subscribed }, r);
    console.log(`    ${r.changes_per_s.toFixed(0)} changes/s; server CPU ${(100 * r.cpu_share).toFixed(1)}% of a core; ` +
      `${r.bytes_per_user_s.toFixed(0)} bytes/s to each user`);
    await stopServer(s);
  }
}

// --- the report
function ratio(a, b) { return b ? (a / b).toFixed(2) : 'n/a'; }

function report() {
  const runs = results.runs;
  const find = (sc, sv, k, v) => runs.find((r) => r.scenario === sc && r.server === sv && (k ? r[k] === v : true));
  const L = [];
  const m = results.machine;
  L.push(`Measured ${m.date} on ${m.cpus} × ${m.cpu} (${m.cores} cores), ${m.mem_gib} GiB, ${m.os}; ` +
    'loopback, load generator on the same two cores. Ratios are partyline ÷ reference (lower is better for CPU, latency, memory).');
  L.push('');
  L.push(`| big room (10 senders × ${RATE} lines/s) | users | deliveries/s | p50 ms | p99 ms | p99.9 ms | server CPU µs / delivery | peak RSS MiB |`);
  L.push('|---|---|---|---|---|---|---|---|');
  for (const r of runs.filter((x) => x.scenario === 'bigroom')) {
    L.push(`| ${r.server} | ${r.users} | ${Math.round(r.deliveries_per_s)} | ${(r.p50_us / 1000).toFixed(1)} | ${(r.p99_us / 1000).toFixed(1)} | ` +
      `${(r.p999_us / 1000).toFixed(1)} | ${(r.cpu_s / r.delivered * 1e6).toFixed(2)} | ${(r.hwm_kib / 1024).toFixed(1)} |`);
  }
  L.push('');
  L.push('| ratios at 1,000 users (big room) | CPU per delivery | p99 latency |');
  L.push('|---|---|---|');
  const p = find('bigroom', 'partyline', 'users', 1000);
  for (const ref of ['mirror', 'node']) {
    const q = find('bigroom', ref, 'users', 1000);
    if (p && q) L.push(`| partyline ÷ ${ref} | ${ratio(p.cpu_s / p.delivered, q.cpu_s / q.delivered)} | ${ratio(p.p99_us, q.p99_us)} |`);
  }
  L.push('');
  L.push('| other scenarios | server | figure | errors / unexpected closes |');
  L.push('|---|---|---|---|');
  for (const r of runs.filter((x) => x.scenario === 'bigroom-telnet')) {
    L.push(`| big room over telnet, ${r.users} users | partyline | ${Math.round(r.deliveries_per_s)} deliveries/s, ` +
      `p99 ${(r.p99_us / 1000).toFixed(1)} ms, ${(r.cpu_s / r.delivered * 1e6).toFixed(2)} µs CPU each, peak RSS ${(r.hwm_kib / 1024).toFixed(0)} MiB | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  const c1 = runs.find((x) => x.scenario === 'cluster' && x.processes === 1);
  const c2 = runs.find((x) => x.scenario === 'cluster' && x.processes === 2);
  if (c1 && c2) {
    const per1 = c1.cpu_s / c1.delivered * 1e6;
    L.push(`| big room on one process, ${c1.users} users | partyline | ${Math.round(c1.deliveries_per_s)} deliveries/s, p99 ${(c1.p99_us / 1000).toFixed(1)} ms, ${per1.toFixed(2)} µs CPU each | ${c1.conn_errors} / ${c1.closed_unexpected} |`);
    L.push(`| big room on two processes and Redis, ${c2.users} users | partyline | ${Math.round(c2.deliveries_per_s)} deliveries/s, p99 ${(c2.p99_us / 1000).toFixed(1)} ms, ` +
      `${c2.cpu_per_delivery_us.toFixed(2)} µs CPU each (both processes and Redis; ${ratio(c2.cpu_per_delivery_us, per1)}× one process, p99 ${ratio(c2.p99_us, c1.p99_us)}×), ` +
      `${c2.redis_calls_per_line.toFixed(2)} Redis commands per line, ${c2.sent} lines sent, ${c2.delivered} delivered | ${c2.conn_errors} / ${c2.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'rooms' || x.scenario === 'scale')) {
    L.push(`| ${r.scenario === 'rooms' ? 'small rooms' : 'scale'}, ${r.users} users | ${r.server} | ${Math.round(r.deliveries_per_s)} deliveries/s, ` +
      `p99 ${(r.p99_us / 1000).toFixed(1)} ms, ${(r.cpu_s / r.delivered * 1e6).toFixed(2)} µs CPU each, peak RSS ${(r.hwm_kib / 1024).toFixed(0)} MiB | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  const cpuPct = (r) => (100 * r.cpu_s / r.window_s).toFixed(2);
  for (const r of runs.filter((x) => x.scenario === 'idle')) {
    const pings = r.ping_s ? `; CPU ${cpuPct(r)}% of a core over ${r.window_s} s with keepalive (ping_s ${r.ping_s}: ${r.pings} pings, ${r.ping_drops} dropped)` : '';
    L.push(`| idle, ${r.users} sessions | ${r.server} | ${r.per_session_kib.toFixed(2)} KiB per session${pings} | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'idle-noping')) {
    L.push(`| idle, ${r.users} sessions, ping_s = 0 | ${r.server} | ${r.per_session_kib.toFixed(2)} KiB per session; CPU ${cpuPct(r)}% of a core over ${r.window_s} s without keepalive | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'churn')) {
    L.push(`| churn (connect${r.server === 'partyline' ? ', token login, quit' : ', close'}) | ${r.server} | ${r.churns_per_s.toFixed(0)} per second | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'reload')) {
    L.push(`| hot reload ×3, ${r.users} users | partyline | longest loop stall seen by the probe ${(r.probe_max_us / 1000).toFixed(1)} ms (p99 ${(r.probe_p99_us / 1000).toFixed(1)} ms) | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'store-logins')) {
    L.push(`| logins on ${r.store} (light cost, 400/s offered) | partyline | ${r.logins_per_s.toFixed(0)} logins/s, slowest ${(r.login_max_us / 1000).toFixed(0)} ms; loop stall max ${(r.probe_max_us / 1000).toFixed(1)} ms (p99 ${(r.probe_p99_us / 1000).toFixed(1)} ms) | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'store-chat')) {
    L.push(`| chat with history on ${r.store}, ${r.users || 200} users, 20 senders × 20 lines/s | partyline | ${(r.sent / D).toFixed(0)} lines/s stored and sent, ${Math.round(r.deliveries_per_s)} deliveries/s, p99 ${(r.p99_us / 1000).toFixed(1)} ms | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  for (const r of runs.filter((x) => x.scenario === 'logins')) {
    L.push(`| password logins at 200/s, ${r.cost} | partyline | ${r.logins_per_s.toFixed(0)} logins/s, slowest ${(r.login_max_us / 1000).toFixed(0)} ms; loop stall max ${(r.probe_max_us / 1000).toFixed(1)} ms (p99 ${(r.probe_p99_us / 1000).toFixed(1)} ms) | ${r.conn_errors} / ${r.closed_unexpected} |`);
  }
  const idleRatios = [];
  for (const users of [1000, 10000, BIG]) {
    const a = find('idle', 'partyline', 'users', users);
    for (const ref of ['mirror', 'node']) {
      const b = find('idle', ref, 'users', users);
      if (a && b) idleRatios.push(`${users}: ÷${ref} ${ratio(a.per_session_kib, b.per_session_kib)}`);
    }
  }
  if (idleRatios.length) { L.push(''); L.push('Idle memory ratios (partyline ÷ reference): ' + idleRatios.join(', ') + '.'); }
  return L.join('\n');
}

function plot() {
  const rows = results.runs.filter((r) => r.scenario === 'bigroom');
  const dat = path.join(OUT, 'bigroom.dat');
  const lines = ['# users ' + SERVERS.map((s) => `${s}_dps ${s}_p99ms`).join(' ')];
  for (const users of [...new Set(rows.map((r) => r.users))]) {
    lines.push([users].concat(SERVERS.flatMap((s) => {
      const r = rows.find((x) => x.users === users && x.server === s);
      return r ? [Math.round(r.deliveries_per_s), (r.p99_us / 1000).toFixed(2)] : ['?', '?'];
    })).join(' '));
  }
  fs.writeFileSync(dat, lines.join('\n') + '\n');
  const gp = `set terminal pngcairo size 1000,420 font ",10"
set output '${path.join(OUT, 'plot.png')}'
set multiplot layout 1,2 title "Big room: 10 senders x ${RATE} lines/s (loopback, 2 cores)"
set xlabel "users in the room"; set grid; set key top left
set ylabel "deliveries per second"
plot '${dat}' using 1:2 with linespoints title "partyline", '' using 1:4 with linespoints title "lws mirror", '' using 1:6 with linespoints title "node ws"
set ylabel "p99 latency (ms)"; set logscale y
plot '${dat}' using 1:3 with linespoints title "partyline", '' using 1:5 with linespoints title "lws mirror", '' using 1:7 with linespoints title "node ws"
unset multiplot
`;
  try {
    execFileSync('gnuplot', [], { input: gp });
  } catch (e) {
    execFileSync('gnuplot', [], { input: gp.replace('pngcairo', 'png') });
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  results.machine = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpu: cpu ? cpu[1] : 'unknown CPU', cpus: 1, cores: os.cpus().length,
    mem_gib: Math.round(os.totalmem() / 2 ** 30), os: fs.readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="(.*)"/)[1],
    fd_limit: FD_LIMIT,
  };
  const scenarios = { bigroom: bigRoom, telnet: bigRoomTelnet, cluster, rooms: smallRooms, idle, scale, churn, reload, logins, store, presence: presenceBench };
  if (ONLY) {
    for (const name of ONLY) await scenarios[name]();
    console.log('\n' + report()); // the rows of what ran, not written to the results
    return;
  }
  for (const run of Object.values(scenarios)) await run();
  const table = report();
  fs.writeFileSync(path.join(OUT, 'latest.json'), JSON.stringify(results, null, 1) + '\n');
  fs.writeFileSync(path.join(OUT, 'latest.md'), table + '\n');
  plot();
  console.log('\n' + table);
  console.log(`\nwritten: ${path.relative(ROOT, OUT)}/latest.md, latest.json, plot.png`);
}

main().catch((e) => { console.error(e); process.exit(1); });
