// Behind a reverse proxy: a real nginx from Debian (HTTPS and WebSocket with
// X-Forwarded-For and X-Forwarded-Proto, and the stream module with the PROXY
// protocol for telnet) and a real HAProxy (the same, and PROXY v2), each run
// from the example configuration shipped in etc/proxy, moved to free ports
// in a temporary directory. Clients call from
// several loopback addresses (127.0.0.x), so each user has an address of
// their own, as on the internet; the proxies call from 127.0.0.1, the one
// trusted_proxies names. Every per-address rule must see the user's address.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { Server, WsClient, sleep, strip, assert, eq, freePort, ROOT } = require('../lib/harness');

const NGINX_STREAM = '/usr/lib/nginx/modules/ngx_stream_module.so';

async function waitPort(port, what, proc, logf) {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (proc.exitCode !== null || Date.now() - t0 > 10000)
      throw new Error(`${what} did not start: ` + (fs.existsSync(logf) ? fs.readFileSync(logf, 'utf8').slice(-800) : proc.exitCode));
    await sleep(50);
  }
}

// The example configurations shipped in etc/proxy, moved to free loopback
// ports: each replacement must find its text, so the files and the tests
// cannot drift apart.
function adapt(file, pairs) {
  let text = fs.readFileSync(path.join(ROOT, 'etc', 'proxy', file), 'utf8');
  for (const [from, to] of pairs) {
    assert(text.includes(from), `etc/proxy/${file} has ${JSON.stringify(from)}`);
    text = text.split(from).join(to);
  }
  return text.replace(/^.*listen \[::\].*\n/gm, ''); // loopback IPv4 is enough here
}

function makeCert(dir, name) {
  const key = path.join(dir, name + '.key'), cert = path.join(dir, name + '.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-days', '2', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert]);
  if (r.status !== 0) throw new Error('openssl req failed');
  return { key, cert, pem: fs.readFileSync(cert) };
}

// nginx in front of srv, from etc/proxy/nginx-site.conf and nginx-stream.conf.
async function startNginx(srv, dir) {
  const ports = { http: await freePort(), https: await freePort(), telnet: await freePort(), telnets: await freePort() };
  const c = makeCert(dir, 'nginx');
  const certs = [['/etc/letsencrypt/live/bbs.example.org/fullchain.pem', c.cert], ['/etc/letsencrypt/live/bbs.example.org/privkey.pem', c.key]];
  fs.writeFileSync(path.join(dir, 'site.conf'), adapt('nginx-site.conf', [['listen 80;', `listen 127.0.0.1:${ports.http};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`], ['127.0.0.1:8080', `127.0.0.1:${srv.wsPort}`],
    ['/var/www/letsencrypt', path.join(dir, 'acme')], ...certs]));
  fs.writeFileSync(path.join(dir, 'stream.conf'), adapt('nginx-stream.conf', [['listen 23;', `listen 127.0.0.1:${ports.telnet};`],
    ['listen 992 ssl;', `listen 127.0.0.1:${ports.telnets} ssl;`], ['127.0.0.1:2323', `127.0.0.1:${srv.telnetPort}`], ...certs]));
  // what Debian's /etc/nginx/nginx.conf gives, in a directory of our own
  const conf = `
load_module ${NGINX_STREAM};
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
include ${dir}/stream.conf;
`;
  const cf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(cf, conf);
  const logf = path.join(dir, 'error.log');
  const proc = spawn('nginx', ['-p', dir, '-c', cf, '-e', logf], { stdio: 'ignore' });
  for (const p of Object.values(ports)) await waitPort(p, 'nginx', proc, logf);
  return { proc, ports, cert: c.pem, certFile: c.cert };
}

// HAProxy in front of srv, from etc/proxy/haproxy.cfg.
async function startHaproxy(srv, dir) {
  const ports = { http: await freePort(), https: await freePort(), telnet: await freePort() };
  const c = makeCert(dir, 'haproxy');
  const both = path.join(dir, 'haproxy-both.pem');
  fs.writeFileSync(both, fs.readFileSync(c.cert) + fs.readFileSync(c.key));
  const cf = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cf, adapt('haproxy.cfg', [['bind :443 ssl crt /etc/haproxy/bbs.pem', `bind 127.0.0.1:${ports.https} ssl crt ${both}`],
    ['bind :80', `bind 127.0.0.1:${ports.http}`], ['bind :23', `bind 127.0.0.1:${ports.telnet}`],
    ['127.0.0.1:8080', `127.0.0.1:${srv.wsPort}`], ['127.0.0.1:2323', `127.0.0.1:${srv.telnetPort}`]]));
  const logf = path.join(dir, 'haproxy.log');
  const proc = spawn('haproxy', ['-db', '-f', cf], { stdio: ['ignore', fs.openSync(logf, 'w'), fs.openSync(logf, 'a')] });
  for (const p of Object.values(ports)) await waitPort(p, 'haproxy', proc, logf);
  return { proc, ports, cert: c.pem };
}

exports.setup = async (t) => {
  const srv = await Server.start({ set: { trusted_proxies: '127.0.0.1', ...((t.opts && t.opts.set) || {}) } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-proxy-'));
  const orig = srv.stop.bind(srv);
  srv.stop = async () => {
    for (const p of [srv.nginx && srv.nginx.proc, srv.haproxy && srv.haproxy.proc]) {
      if (p && p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.on('exit', r));
      }
    }
    const r = await orig();
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  };
  srv.nginx = await startNginx(srv, dir);
  return { srv, nginx: srv.nginx, dir };
};

// A WebSocket through nginx (wss://, trusting nginx's certificate) from a
// loopback address of its own.
async function viaNginx(srv, nginx, from, opts = {}) {
  const c = new WsClient(`wss://localhost:${nginx.ports.https}/ws`, { localAddress: from, ca: nginx.cert, headers: opts.headers });
  srv.clients.push(c);
  await c.opened;
  return c;
}

async function register(c, handle) {
  await c.waitFor((e) => e.type === 'prompt');
  c.send({ type: 'register', handle, password: 'secret-' + handle });
  await c.waitFor((e) => e.type === 'auth' && e.handle === handle, 'auth for ' + handle);
  await c.waitFor((e) => e.type === 'prompt', 'menu prompt');
  c.handle = handle;
  return c;
}

// The sysop, straight to partyline from 127.0.0.1 (the proxies' address, with
// no forwarding header: its own connection), in chat; nodes() lists the nodes.
async function sysop(srv) {
  const root = await srv.sysop('root');
  root.nodes = async () => {
    root.input('/nodes');
    return strip((await root.text(/Address/)).text);
  };
  return root;
}

function curlFrom(from, url, extra = []) {
  return spawnSync('curl', ['-sS', '-i', '--max-time', '5', '--interface', from, ...extra, url], { encoding: 'utf8', timeout: 10000 });
}

// https:// through nginx, trusting its certificate.
const nginxUrl = (nginx, p) => [`https://localhost:${nginx.ports.https}${p}`, ['--cacert', nginx.certFile]];

exports.tests = [
  {
    name: 'nginx in front: 40 users, each from an address of their own, are all admitted (max_conns_per_addr 32), and /nodes shows each one\'s address',
    fn: async ({ srv, nginx }) => {
      const users = [];
      for (let i = 0; i < 40; i++) {
        const c = await viaNginx(srv, nginx, `127.0.0.${100 + i}`);
        await c.waitFor((e) => e.type === 'hello', 'hello for user ' + i);
        users.push(c);
      }
      await register(users[0], 'first');
      await register(users[39], 'last');
      const root = await sysop(srv);
      const n = await root.nodes();
      assert(/first\s+127\.0\.0\.100\s/.test(n) && /last\s+127\.0\.0\.139\s/.test(n), '/nodes: ' + n);
      for (let i = 0; i < 40; i++) assert(n.includes(`127.0.0.${100 + i} `), `127.0.0.${100 + i} in /nodes`);
      assert(!/too many connections/.test(srv.log), 'nobody refused');
      await srv.waitLog(/"event":"ws_connect","node":\d+,"addr":"127\.0\.0\.139"/);
    },
  },
  {
    name: 'one user through nginx is still held to max_conns_per_addr, by their own address: others are not',
    opts: { set: { max_conns_per_addr: '3' } },
    fn: async ({ srv, nginx }) => {
      const mine = [];
      for (let i = 0; i < 3; i++) {
        mine.push(await viaNginx(srv, nginx, '127.0.0.20'));
        await mine[i].waitFor((e) => e.type === 'hello');
      }
      const fourth = await viaNginx(srv, nginx, '127.0.0.20');
      const closed = await fourth.closedP;
      eq(closed.code, 1008, 'the fourth from 127.0.0.20 is refused');
      eq(closed.reason, 'too many connections from your address', 'with the reason');
      const other = await viaNginx(srv, nginx, '127.0.0.21');
      await other.waitFor((e) => e.type === 'hello', 'another address is let in');
      // plain HTTP through nginx counts the same way: 503 for the full address only
      const full = curlFrom('127.0.0.20', ...nginxUrl(nginx, '/healthz'));
      assert(/^HTTP\/1\.1 503/.test(full.stdout), 'HTTP from the full address: ' + full.stdout.slice(0, 80));
      const fine = curlFrom('127.0.0.22', ...nginxUrl(nginx, '/healthz'));
      assert(/^HTTP\/1\.1 200/.test(fine.stdout), 'HTTP from another: ' + fine.stdout.slice(0, 80));
      await srv.waitLog(/"event":"ws_refused","addr":"127\.0\.0\.20","msg":"refused: too many connections from your address"/);
    },
  },
  {
    name: 'an address ban of one forwarded address refuses that user, through nginx or not, and no other',
    fn: async ({ srv, nginx }) => {
      const root = await sysop(srv);
      const eve = await register(await viaNginx(srv, nginx, '127.0.0.30'), 'eve');
      const ann = await register(await viaNginx(srv, nginx, '127.0.0.31'), 'ann');
      root.input('/ban 127.0.0.30 1h spam');
      await root.text(/address 127\.0\.0\.30 banned/);
      const gone = await eve.closedP; // open connections from it go too
      eq(gone.code, 1008, 'eve is closed');
      const again = await viaNginx(srv, nginx, '127.0.0.30');
      const r = await again.closedP;
      eq(r.code, 1008, 'eve cannot come back through nginx');
      eq(r.reason, 'banned', 'refused as banned');
      ann.input('c');
      await ann.chat('join', { from: 'ann' }, 'ann, from another address, is untouched');
      const newcomer = await viaNginx(srv, nginx, '127.0.0.32');
      await newcomer.waitFor((e) => e.type === 'prompt', 'a third address is let in');
      // the proxy itself is not banned: the sysop's own connection from 127.0.0.1 stays
      assert(!root.closed, 'the sysop stays');
    },
  },
  {
    name: 'login throttling counts failures per forwarded address: one address locked out, the next one logs in',
    opts: { set: { login_slow_after: '100', login_lockout_after: '3', login_attempts: '100' } },
    fn: async ({ srv, nginx }) => {
      srv.addUser('victim', 'right-password-1');
      for (let i = 0; i < 3; i++) {
        const c = await viaNginx(srv, nginx, '127.0.0.40');
        await c.waitFor((e) => e.type === 'prompt');
        c.send({ type: 'login', handle: 'ghost' + i, password: 'guess' + i });
        eq((await c.waitFor((e) => e.type === 'error')).code, 'bad_login', 'failure ' + i);
        c.close();
      }
      const locked = await viaNginx(srv, nginx, '127.0.0.40');
      await locked.waitFor((e) => e.type === 'prompt');
      locked.send({ type: 'login', handle: 'victim', password: 'right-password-1' });
      eq((await locked.waitFor((e) => e.type === 'error')).code, 'throttled', '127.0.0.40 is locked out');
      const other = await viaNginx(srv, nginx, '127.0.0.41');
      await other.waitFor((e) => e.type === 'prompt');
      other.send({ type: 'login', handle: 'victim', password: 'right-password-1' });
      await other.waitFor((e) => e.type === 'auth' && e.handle === 'victim', 'another address logs in');
      await srv.waitLog(/a:127\.0\.0\.40 locked for \d+s after 3 failures/);
      assert(!/a:127\.0\.0\.1 locked/.test(srv.log), 'the proxy\'s address was never locked');
    },
  },
  {
    name: 'register_per_hour counts per forwarded address: one address used up, the next one registers',
    opts: { set: { register_per_hour: '1' } },
    fn: async ({ srv, nginx }) => {
      await register(await viaNginx(srv, nginx, '127.0.0.90'), 'one');
      const two = await viaNginx(srv, nginx, '127.0.0.90');
      await two.waitFor((e) => e.type === 'prompt');
      two.send({ type: 'register', handle: 'two', password: 'secret-two' });
      eq((await two.waitFor((e) => e.type === 'error')).code, 'register_limited', 'a second account from 127.0.0.90');
      await register(await viaNginx(srv, nginx, '127.0.0.91'), 'three');
    },
  },
  {
    name: 'X-Forwarded-For from anyone but a trusted proxy changes nothing (sent straight, or through nginx); /metrics goes by the client\'s address',
    opts: { set: { metrics_allow: '127.0.0.1, ::1' } },
    fn: async ({ srv, nginx }) => {
      const root = await sysop(srv);
      // straight to partyline, naming another address
      const direct = new WsClient(`ws://127.0.0.1:${srv.wsPort}/ws`, { localAddress: '127.0.0.50',
        headers: { 'X-Forwarded-For': '203.0.113.9', Forwarded: 'for=203.0.113.9' } });
      srv.clients.push(direct);
      await direct.opened;
      await register(direct, 'mallory');
      // through nginx, with a made-up address in front: nginx appends the real one
      const spoof = await viaNginx(srv, nginx, '127.0.0.51', { headers: { 'X-Forwarded-For': '203.0.113.10' } });
      await register(spoof, 'trudy');
      const n = await root.nodes();
      assert(/mallory\s+127\.0\.0\.50\s/.test(n) && /trudy\s+127\.0\.0\.51\s/.test(n), '/nodes: ' + n);
      assert(!/203\.0\.113/.test(n), 'no made-up address: ' + n);
      await srv.waitLog(/"event":"proxy_ignored","addr":"127\.0\.0\.50","msg":"a forwarding header from 127\.0\.0\.50, which is not in trusted_proxies: ignored"/);
      // a ban on the made-up address touches nobody
      root.input('/ban 203.0.113.9');
      await root.text(/address 203\.0\.113\.9 banned/);
      direct.input('c');
      await direct.chat('join', { from: 'mallory' }, 'mallory is not banned by it');
      // /metrics is the client's: through the proxy from outside metrics_allow, 403
      const outside = curlFrom('127.0.0.52', ...nginxUrl(nginx, '/metrics'));
      assert(/^HTTP\/1\.1 403/.test(outside.stdout), 'through nginx from 127.0.0.52: ' + outside.stdout.slice(0, 60));
      const spoofed = curlFrom('127.0.0.52', `http://127.0.0.1:${srv.wsPort}/metrics`, ['-H', 'X-Forwarded-For: 127.0.0.1']);
      assert(/^HTTP\/1\.1 403/.test(spoofed.stdout), 'naming 127.0.0.1 itself: ' + spoofed.stdout.slice(0, 60));
      const local = curlFrom('127.0.0.1', `http://127.0.0.1:${srv.wsPort}/metrics`);
      assert(/^HTTP\/1\.1 200/.test(local.stdout), 'the operator on the machine: ' + local.stdout.slice(0, 60));
    },
  },
  {
    name: 'TLS ended at nginx: X-Forwarded-Proto https makes the session secure (/nodes +tls); nginx\'s port 80 redirects; telnet over TLS at nginx names the caller',
    fn: async ({ srv, nginx }) => {
      const root = await sysop(srv);
      await register(await viaNginx(srv, nginx, '127.0.0.60'), 'safe');
      const r = curlFrom('127.0.0.61', `http://localhost:${nginx.ports.http}/x`);
      assert(/^HTTP\/1\.1 301/.test(r.stdout) && r.stdout.includes(`Location: https://localhost/x`), 'port 80: ' + r.stdout.slice(0, 300));
      // telnet inside TLS to nginx's stream module, PROXY v1 to partyline
      const t = tlsRaw(nginx.ports.telnets, '127.0.0.62', nginx.cert);
      await t.expect(/Handle/);
      const n = await root.nodes();
      assert(/safe\s+127\.0\.0\.60\s.*websocket\+tls/.test(n), 'safe: ' + n);
      assert(/127\.0\.0\.62\s.*telnet\s*$/m.test(n), 'telnet over TLS at nginx (not +tls: PROXY v1 cannot say so): ' + n);
      t.sock.destroy();
    },
  },
  {
    name: 'telnet through nginx\'s stream module (PROXY v1) and HAProxy (PROXY v2), the web through HAProxy: /nodes shows each caller\'s own address',
    fn: async ({ srv, nginx, dir }) => {
      srv.haproxy = await startHaproxy(srv, dir);
      const root = await sysop(srv);
      const w = new WsClient(`wss://localhost:${srv.haproxy.ports.https}/ws`, { localAddress: '127.0.0.72', ca: srv.haproxy.cert,
        headers: { 'X-Forwarded-For': '203.0.113.1' } });
      srv.clients.push(w);
      await w.opened;
      await register(w, 'hazel');
      const tn = await srv.telnetUser('tess', { port: nginx.ports.telnet, bind: '127.0.0.70', chat: true });
      const hp = await srv.telnetUser('hank', { port: srv.haproxy.ports.telnet, bind: '127.0.0.71', chat: true });
      const n = await root.nodes();
      assert(/tess\s+127\.0\.0\.70\s.*telnet/.test(n), 'tess through nginx: ' + n);
      assert(/hank\s+127\.0\.0\.71\s.*telnet/.test(n), 'hank through HAProxy: ' + n);
      assert(/hazel\s+127\.0\.0\.72\s.*websocket\+tls/.test(n), 'hazel through HAProxy: ' + n);
      const r = curlFrom('127.0.0.73', `http://localhost:${srv.haproxy.ports.http}/x`);
      assert(/^HTTP\/1\.1 301/.test(r.stdout) && /location: https:\/\/localhost(:\d+)?\/x\r\n/i.test(r.stdout), 'HAProxy\'s port 80: ' + r.stdout.slice(0, 300));
      tn.line('hello via nginx');
      await hp.expect(/<tess> hello via nginx/);
      await srv.waitLog(/"event":"telnet_connect","node":\d+,"addr":"127\.0\.0\.70"/);
    },
  },
];

// A raw TCP client (no telnet program): sends exactly the bytes given, from
// a loopback address of its own, and waits for what comes back.
function raw(port, from, opts = {}) {
  const c = { out: '', closed: false };
  c.sock = opts.tls ? require('tls').connect({ port, host: '127.0.0.1', localAddress: from, ca: opts.ca, servername: 'localhost' })
    : net.connect({ port, host: '127.0.0.1', localAddress: from });
  c.sock.on('data', (d) => { c.out += d.toString('latin1'); });
  c.sock.on('error', () => {});
  c.sock.on('close', () => { c.closed = true; });
  c.opened = new Promise((r) => c.sock.on('connect', r));
  c.expect = async (re, what = String(re), timeout = 5000) => {
    const t0 = Date.now();
    while (!re.test(c.out)) {
      if (c.closed || Date.now() - t0 > timeout) throw new Error(`never saw ${what}; got ${JSON.stringify(c.out.slice(-300))}`);
      await sleep(20);
    }
  };
  c.gone = async (timeout = 5000) => {
    const t0 = Date.now();
    while (!c.closed) {
      if (Date.now() - t0 > timeout) throw new Error('still open; got ' + JSON.stringify(c.out.slice(-200)));
      await sleep(20);
    }
  };
  return c;
}

// The same inside TLS, trusting ca.
function tlsRaw(port, from, ca) {
  const c = raw(port, from, { tls: true, ca });
  return c;
}

const V2_SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
// A PROXY v2 header for a TCP/IPv4 client.
function v2(client) {
  const addr = Buffer.from([...client.split('.').map(Number), 127, 0, 0, 1, 0xc3, 0x50, 0x09, 0x13]);
  return Buffer.concat([V2_SIG, Buffer.from([0x21, 0x11, 0, addr.length]), addr]);
}

exports.tests.push(
  {
    name: 'PROXY preambles straight to the telnet port: from the trusted host, in pieces, it names the caller; from anyone else it is ignored, logged, and not read as input',
    fn: async ({ srv }) => {
      const root = await sysop(srv);
      // from 127.0.0.1, the trusted proxy's address, split across writes
      const t = raw(srv.telnetPort, '127.0.0.1');
      await t.opened;
      t.sock.write('PROXY TCP4 198.51');
      await sleep(100);
      t.sock.write('.100.7 127.0.0.1 40000 2323\r\n');
      await t.expect(/Handle/);
      t.sock.write('new\r\n');
      await t.expect(/New handle: /);
      t.sock.write('paula\r\n');
      await t.expect(/Choose a password/);
      // from an address nobody trusts: the preamble is dropped, the address stays its own
      const u = raw(srv.telnetPort, '127.0.0.80');
      await u.opened;
      await u.expect(/Handle/);
      u.sock.write('PROXY TCP4 198.51.100.8 127.0.0.1 40000 2323\r\nnew\r\n');
      await u.expect(/New handle: /);
      assert(!/PROXY|valid handle|not a handle/i.test(u.out.slice(u.out.indexOf('Handle'))), 'the preamble was not read as a handle: ' + JSON.stringify(u.out.slice(-300)));
      await srv.waitLog(/"event":"proxy_ignored","node":\d+,"addr":"127\.0\.0\.80","msg":"a PROXY protocol preamble from 127\.0\.0\.80, which is not in trusted_proxies: ignored"/);
      const n = await root.nodes();
      assert(/198\.51\.100\.7\s/.test(n), 'the trusted preamble named the caller: ' + n);
      assert(/127\.0\.0\.80\s/.test(n) && !/198\.51\.100\.8/.test(n), 'the untrusted one did not: ' + n);
      t.sock.destroy();
      u.sock.destroy();
    },
  },
  {
    name: 'the trusted host\'s own telnet (no preamble: the sysop on the machine) gets in as itself; a broken preamble from it is closed and logged',
    fn: async ({ srv }) => {
      // a client that waits for the server to speak first
      const quiet = raw(srv.telnetPort, '127.0.0.1');
      await quiet.opened;
      await quiet.expect(/Handle/, 'the prompt, after a short wait for a preamble', 5000);
      // a client that negotiates first is taken at once
      const eager = raw(srv.telnetPort, '127.0.0.1');
      await eager.opened;
      eager.sock.write(Buffer.from([255, 251, 24])); // IAC WILL TERMINAL-TYPE
      await eager.expect(/Handle/);
      const broken = raw(srv.telnetPort, '127.0.0.1');
      await broken.opened;
      broken.sock.write('PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n');
      await broken.gone();
      assert(!/Handle/.test(broken.out), 'no session for a broken preamble');
      await srv.waitLog(/"event":"proxy_refused","addr":"127\.0\.0\.1","msg":"a broken PROXY protocol preamble from trusted proxy 127\.0\.0\.1: closed"/);
      quiet.sock.destroy();
      eager.sock.destroy();
    },
  },
  {
    name: 'PROXY v2 in front of HTTP (HAProxy in TCP mode): the preamble names the client, and that client\'s own X-Forwarded-For is ignored',
    opts: { set: { metrics_allow: '127.0.0.1, ::1' } },
    fn: async ({ srv }) => {
      const get = async (pre, headers) => {
        const c = raw(srv.wsPort, '127.0.0.1');
        await c.opened;
        c.sock.write(Buffer.concat([pre, Buffer.from(`GET /metrics HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`)]));
        await c.gone();
        return c.out;
      };
      assert(/^HTTP\/1\.1 403/.test(await get(v2('198.51.100.9'), '')), 'the client HAProxy named is not allowed /metrics');
      assert(/^HTTP\/1\.1 403/.test(await get(v2('198.51.100.9'), 'X-Forwarded-For: 127.0.0.1\r\n')), 'nor when it names 127.0.0.1 itself');
      assert(/^HTTP\/1\.1 200/.test(await get(Buffer.alloc(0), '')), 'the proxy host\'s own request is');
      await srv.waitLog(/"event":"proxy_ignored","addr":"198\.51\.100\.9","msg":"a forwarding header from 198\.51\.100\.9, which is not in trusted_proxies: ignored"/);
    },
  },
);
