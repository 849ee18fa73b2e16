// TLS in partyline itself: HTTPS and wss:// on the web port, telnet over TLS
// on its own port, redirects from plain HTTP, and a certificate swapped on
// disk and re-read on SIGHUP. Certificates are made here with `openssl req`;
// the clients are real (Chromium, Node's TLS pinned to the certificate,
// openssl s_client, curl).
'use strict';
const { chromium } = require('playwright-core');
const { spawn, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tls = require('tls');
const { Server, WsClient, sleep, strip, assert, eq, freePort, ROOT, BUILD } = require('../lib/harness');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio'];

// A throwaway self-signed certificate for localhost and 127.0.0.1.
function makeCert(dir, name, { rsa = false, cn = name } = {}) {
  const key = path.join(dir, name + '.key'), cert = path.join(dir, name + '.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-days', '2', '-subj', '/CN=' + cn,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
    ...(rsa ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('openssl req failed: ' + r.stderr);
  const pem = fs.readFileSync(cert);
  const x = new crypto.X509Certificate(pem);
  // what Chromium's --ignore-certificate-errors-spki-list takes
  const spki = crypto.createHash('sha256').update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { key, cert, pem, fingerprint: x.fingerprint256, spki };
}

// An OpenSSL configuration that would allow TLS 1.0 at the lowest security
// level: given to the server, so that the floor of TLS 1.2 is shown to be
// the server's own, not the system's default; and to s_client, so that it
// offers the old versions at all.
function permissiveConf(dir) {
  const f = path.join(dir, 'openssl-old.cnf');
  fs.writeFileSync(f, 'openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n' +
    'system_default = system_default_sect\n[system_default_sect]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n');
  return f;
}

exports.setup = async (t) => {
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-tls-'));
  const a = makeCert(certs, 'first', { cn: 'first' });
  const b = makeCert(certs, 'second', { cn: 'second', rsa: true });
  // the files the server reads, as certbot's live/ names: replaced on renewal
  const live = { cert: path.join(certs, 'fullchain.pem'), key: path.join(certs, 'privkey.pem') };
  fs.copyFileSync(a.cert, live.cert);
  fs.copyFileSync(a.key, live.key);
  const conf = permissiveConf(certs);
  // a www_dir with an ACME HTTP-01 challenge in it, as certbot --webroot leaves it
  const www = path.join(certs, 'www');
  fs.mkdirSync(path.join(www, '.well-known', 'acme-challenge'), { recursive: true });
  fs.writeFileSync(path.join(www, '.well-known', 'acme-challenge', 'Tok3n_-x'), 'Tok3n_-x.thumbprint');
  fs.writeFileSync(path.join(www, 'secret.txt'), 'not for plain http');
  fs.symlinkSync('/etc/passwd', path.join(www, '.well-known', 'acme-challenge', 'linked'));
  const telnetTls = await freePort(), redirect = await freePort();
  const srv = await Server.start({
    set: { tls_cert: live.cert, tls_key: live.key, telnet_tls_port: telnetTls, http_redirect_port: redirect,
      ...(t.opts && t.opts.acme ? { www_dir: www } : {}), ...((t.opts && t.opts.set) || {}) },
    env: { OPENSSL_CONF: conf },
  });
  const orig = srv.stop.bind(srv);
  srv.stop = async () => {
    if (srv.browser) await srv.browser.close().catch(() => {});
    const r = await orig();
    fs.rmSync(certs, { recursive: true, force: true });
    return r;
  };
  return { srv, a, b, live, conf, telnetTls, redirect };
};

const wss = (srv, q = '') => `wss://localhost:${srv.wsPort}/ws${q}`;

// A WebSocket user over wss://, trusting only the certificate given (pinned).
async function wssUser(srv, ca, handle) {
  const c = new WsClient(wss(srv), { ca });
  srv.clients.push(c);
  await c.opened;
  await c.waitFor((e) => e.type === 'prompt');
  c.send({ type: 'register', handle, password: 'secret-' + handle });
  await c.waitFor((e) => e.type === 'auth' && e.handle === handle, 'auth for ' + handle);
  await c.waitFor((e) => e.type === 'prompt', 'menu prompt');
  c.input('c');
  await c.waitFor((e) => e.type === 'chat' && e.kind === 'join' && e.from === handle, 'own join');
  c.handle = handle;
  return c;
}

// The certificate a new TLS connection to port is served.
function servedCert(port) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function sClient(args, conf, input = '') {
  return spawnSync('openssl', ['s_client', ...args], { input, encoding: 'utf8', timeout: 10000, env: { ...process.env, OPENSSL_CONF: conf } });
}

function curl(args) {
  return spawnSync('curl', ['-sS', '-i', '--max-time', '5', ...args], { encoding: 'utf8', timeout: 10000 });
}

exports.tests = [
  {
    name: 'in Chromium over HTTPS: the page, and a wss:// chat with a pinned Node client both ways',
    fn: async ({ srv, a }) => {
      srv.browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
        args: [...CHROMIUM_ARGS, '--ignore-certificate-errors-spki-list=' + a.spki] });
      const page = await srv.browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const resp = await page.goto(`https://127.0.0.1:${srv.wsPort}/`);
      eq(resp.status(), 200, 'the page over HTTPS');
      eq((await resp.securityDetails()).protocol, 'TLS 1.3', 'Chromium speaks TLS 1.3');
      const bob = await wssUser(srv, a.pem, 'bob');
      await page.waitForSelector('#prompt:has-text("Handle")');
      for (const [sel, text] of [['Handle', 'new'], ['New handle', 'webber'], ['Choose a password', 'webpass12'], ['Repeat', 'webpass12']]) {
        await page.waitForSelector(`#prompt:has-text("${sel}")`);
        await page.fill('#line', text);
        await page.press('#line', 'Enter');
      }
      await page.waitForSelector('#menu button[data-key="C"]');
      await page.click('#menu button[data-key="C"]');
      await bob.chat('join', { from: 'webber' });
      await page.fill('#line', 'hello over wss');
      await page.press('#line', 'Enter');
      eq((await bob.chat('say', { from: 'webber' })).body, 'hello over wss', 'the page\'s line reaches bob');
      bob.input('hello browser');
      const t0 = Date.now();
      while (!/<bob> hello browser/.test(await page.$eval('#screen', (el) => el.innerText))) {
        if (Date.now() - t0 > 5000) throw new Error('the page never showed bob\'s line');
        await sleep(50);
      }
      eq(errors.length, 0, 'no page errors: ' + errors.join('; '));
      // the sysop sees both as secure
      srv.addUser('root', 'secret-root-pw', { sysop: true });
      const root = new WsClient(wss(srv), { ca: a.pem });
      srv.clients.push(root);
      await root.opened;
      await root.waitFor((e) => e.type === 'prompt');
      root.send({ type: 'login', handle: 'root', password: 'secret-root-pw' });
      await root.waitFor((e) => e.type === 'auth');
      await root.waitFor((e) => e.type === 'prompt', 'menu prompt');
      root.input('c');
      await root.chat('join', { from: 'root' });
      root.input('/nodes');
      const nodes = strip((await root.text(/Address/)).text);
      assert(/webber\s+127\.0\.0\.1\s.*websocket\+tls/.test(nodes) && /bob\s+127\.0\.0\.1\s.*websocket\+tls/.test(nodes), '/nodes: ' + nodes);
    },
  },
  {
    name: 'a client pinned to another certificate refuses the server; plain ws:// and http:// to the HTTPS port are redirected to https://',
    fn: async ({ srv, a, b }) => {
      const wrong = new WsClient(wss(srv), { ca: b.pem });
      let err = null;
      await wrong.opened.catch((e) => { err = e; });
      assert(err && /self[- ]signed|unable to verify|certificate/i.test(err.message), 'refused: ' + (err && err.message));
      // lws would move a connection to the vhost whose name starts like the
      // name the client asks for in SNI: one certificate serves every name
      for (const name of ['.telnet-tls', '.telnet', 'redirect', 'r', 'web', 'board.example.org']) {
        // (curl sends SNI for any name; the certificate is for localhost: -k)
        const r = curl(['-k', '-H', 'Host: localhost', '--connect-to', `${name}:${srv.wsPort}:127.0.0.1:${srv.wsPort}`, `https://${name}:${srv.wsPort}/healthz`]);
        assert(/^HTTP\/1\.1 200[^]*\r\n\r\nok\n$/.test(r.stdout), `SNI ${name}: ${JSON.stringify(r.stdout.slice(0, 200) + r.stderr)}`);
      }
      const plain = curl([`http://127.0.0.1:${srv.wsPort}/some/path?x=1&y=a%20b`]);
      assert(/^HTTP\/1\.1 301/.test(plain.stdout), 'plain HTTP on the HTTPS port: ' + plain.stdout);
      assert(plain.stdout.includes(`location: https://127.0.0.1:${srv.wsPort}/some/path?x=1&y=a%20b\r\n`), plain.stdout);
      const ws = new WsClient(`ws://127.0.0.1:${srv.wsPort}/ws`);
      let werr = null;
      await ws.opened.catch((e) => { werr = e; });
      assert(werr && /301/.test(werr.message), 'ws:// to the HTTPS port is told where to go: ' + (werr && werr.message));
    },
  },
  {
    name: 'http_redirect_port answers every request with a redirect to https:// (301, 308 for other methods); no usable Host: 400; ACME challenges are served',
    opts: { acme: true },
    fn: async ({ srv, redirect }) => {
      // certbot --webroot: the token's file, over plain HTTP, nothing else
      const tok = curl([`http://localhost:${redirect}/.well-known/acme-challenge/Tok3n_-x`]);
      assert(/^HTTP\/1\.1 200/.test(tok.stdout) && tok.stdout.endsWith('\r\n\r\nTok3n_-x.thumbprint'), 'the challenge: ' + tok.stdout);
      for (const p of ['/.well-known/acme-challenge/missing', '/.well-known/acme-challenge/linked']) {
        const r = curl([`http://localhost:${redirect}${p}`]);
        assert(/^HTTP\/1\.1 404/.test(r.stdout) && !/root:/.test(r.stdout), p + ': ' + r.stdout);
      }
      for (const p of ['/.well-known/acme-challenge/../../secret.txt', '/.well-known/acme-challenge/a.b', '/secret.txt']) {
        const r = curl(['--path-as-is', `http://localhost:${redirect}${p}`]);
        assert(/^HTTP\/1\.1 301/.test(r.stdout) && !/not for plain/.test(r.stdout), p + ' is only redirected: ' + r.stdout);
      }
      const get = curl([`http://localhost:${redirect}/`]);
      assert(/^HTTP\/1\.1 301/.test(get.stdout) && get.stdout.includes(`location: https://localhost:${srv.wsPort}/\r\n`), get.stdout);
      const post = curl(['-X', 'POST', '-d', 'x=1', `http://localhost:${redirect}/form`]);
      assert(/^HTTP\/1\.1 308/.test(post.stdout) && post.stdout.includes(`location: https://localhost:${srv.wsPort}/form\r\n`), post.stdout);
      const v6 = curl(['-H', 'Host: [::1]:80', `http://127.0.0.1:${redirect}/a`]);
      assert(v6.stdout.includes(`location: https://[::1]:${srv.wsPort}/a\r\n`), v6.stdout);
      for (const host of ['evil.example/x', 'a b', '']) {
        const bad = curl(['-H', `Host: ${host}`, `http://127.0.0.1:${redirect}/`]);
        assert(/^HTTP\/1\.1 400/.test(bad.stdout) && !/location:/i.test(bad.stdout), `Host ${JSON.stringify(host)}: ` + bad.stdout);
      }
      // curl follows it all the way to the page, trusting nothing but our certificate
      const follow = spawnSync('curl', ['-sS', '-L', '--cacert', path.join(path.dirname(srv.sets.tls_cert), 'fullchain.pem'),
        `http://localhost:${redirect}/healthz`], { encoding: 'utf8', timeout: 10000 });
      eq(follow.stdout, 'ok\n', 'followed to /healthz over HTTPS: ' + follow.stderr);
    },
  },
  {
    name: 'TLS 1.2 and 1.3 only, on both TLS ports, even where the system would allow older (openssl s_client)',
    fn: async ({ srv, conf, telnetTls }) => {
      for (const port of [srv.wsPort, telnetTls]) {
        for (const v of ['-tls1', '-tls1_1']) {
          const r = sClient(['-connect', `127.0.0.1:${port}`, v], conf);
          assert(r.status !== 0 && /alert protocol version/.test(r.stderr + r.stdout), `${v} on ${port} refused: ` + (r.stderr + r.stdout).slice(0, 400));
        }
        for (const [v, want] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']]) {
          const r = sClient(['-brief', '-connect', `127.0.0.1:${port}`, v], conf);
          assert((r.stderr + r.stdout).includes(`Protocol version: ${want}\n`), `${v} on ${port} spoken: ` + (r.stderr + r.stdout).slice(-600));
        }
      }
    },
  },
  {
    name: 'a certificate swapped on disk and SIGHUP: the next connection gets it, open ones stay; a broken one changes nothing',
    fn: async ({ srv, a, b, live }) => {
      eq(await servedCert(srv.wsPort), a.fingerprint, 'the first certificate at start');
      const alice = await wssUser(srv, a.pem, 'alice');
      // a renewal: new files in place, then the signal (certbot's deploy hook)
      fs.copyFileSync(b.key, live.key);
      fs.copyFileSync(b.cert, live.cert);
      srv.proc.kill('SIGHUP');
      await srv.waitLog(/"event":"tls_reload".*CN ?= ?second/);
      eq(await servedCert(srv.wsPort), b.fingerprint, 'the web port serves the new certificate');
      const carol = await wssUser(srv, b.pem, 'carol');
      await alice.chat('join', { from: 'carol' });
      alice.input('still here');
      eq((await carol.chat('say', { from: 'alice' })).body, 'still here', 'the connection made before the swap still chats');
      carol.input('hi alice');
      await alice.chat('say', { from: 'carol', body: 'hi alice' });
      // a broken renewal: half-written certificate, then a key of another certificate
      fs.writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nMIIB\n');
      srv.proc.kill('SIGHUP');
      await srv.waitLog(/"event":"tls_reload".*no PEM certificate.*the certificate in use stays/);
      fs.copyFileSync(b.cert, live.cert);
      fs.copyFileSync(a.key, live.key);
      srv.proc.kill('SIGHUP');
      await srv.waitLog(/"event":"tls_reload".*is not the key of the certificate.*the certificate in use stays/);
      eq(await servedCert(srv.wsPort), b.fingerprint, 'the last good certificate is still served');
      alice.input('and still');
      await carol.chat('say', { from: 'alice', body: 'and still' });
      assert(srv.proc.exitCode === null, 'the server is up');
    },
  },
  {
    name: 'telnet over TLS (openssl s_client): logs in, chats with a wss:// user, and stays past lws\'s handshake deadline',
    fn: async ({ srv, a, telnetTls, live }) => {
      const tn = await srv.telnet('dumb', { argv: ['openssl', 's_client', '-quiet', '-crlf', '-verify_return_error',
        '-CAfile', a.cert, '-servername', 'localhost', '-connect', `127.0.0.1:${telnetTls}`] });
      tn.line('new');
      await tn.expect(/New handle: /);
      tn.line('tess');
      await tn.expect(/Choose a password/);
      tn.line('tess-pass-1');
      await tn.expect(/Repeat the password/);
      tn.line('tess-pass-1');
      await tn.expect(/Welcome, tess!/);
      await tn.expect(/Your choice: /);
      tn.line('c');
      await tn.expect(/You are in #lobby/);
      const web = await wssUser(srv, fs.readFileSync(live.cert), 'webby');
      await tn.expect(/webby has joined/);
      tn.line('hello from telnet over tls');
      eq((await web.chat('say', { from: 'tess' })).body, 'hello from telnet over tls', 'telnet line reaches the web');
      // lws gives a raw TLS connection a deadline at its handshake that nothing
      // of lws's clears: a quiet session must outlive it
      await sleep(7000);
      web.input('still there?');
      await tn.expect(/<webby> still there\?/);
      assert(!tn.gone, 'the telnet session is open');
      await srv.waitLog(/"event":"telnet_connect","node":\d+,"addr":"127\.0\.0\.1"/);
    },
  },
  {
    name: 'a TLS head over the header buffer closes that connection and nothing else; no TLS handshake, no session',
    fn: async ({ srv, a, telnetTls }) => {
      const bob = await wssUser(srv, a.pem, 'bob');
      const big = await new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: srv.wsPort, servername: 'localhost', ca: a.pem }, () => {
          s.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
          for (let i = 0; i < 40; i++) s.write(`x-filler-${i}: ${'y'.repeat(400)}\r\n`);
          s.write('\r\n');
        });
        let got = '';
        s.on('data', (d) => { got += d; });
        s.on('error', () => {});
        s.on('close', () => resolve(got));
      });
      assert(!/^HTTP\/1\.1 200/.test(big), 'no page for an oversized head: ' + big.slice(0, 100));
      // a client that connects and never says hello: not a session, closed by the handshake deadline
      const sock = require('net').connect(telnetTls, '127.0.0.1');
      await new Promise((r) => sock.on('connect', r));
      await sleep(300);
      bob.input('/who');
      await bob.text(/bob/);
      sock.destroy();
      const health = spawnSync('curl', ['-sS', '--cacert', a.cert, `https://localhost:${srv.wsPort}/healthz`], { encoding: 'utf8' });
      eq(health.stdout, 'ok\n', 'still serving');
      assert(!/telnet_connect/.test(srv.log), 'no session before a handshake');
    },
  },
];

// Set-ups the server refuses to start with, each named in the error.
exports.tests.push({
  name: 'bad TLS settings stop the server at start with the reason: a key without its certificate, a wrong key, a missing file, a TLS port without a certificate',
  fn: async ({ srv, a, b }) => {
    const bin = path.join(ROOT, BUILD, 'partyline');
    const run = (sets) => spawnSync(bin, ['--ws-port', '0', '--telnet-port', '0', '--data', path.join(srv.dir, 'other'),
      ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8', timeout: 10000 });
    const cases = [
      [[`tls_cert=${a.cert}`], /tls_cert and tls_key go together/],
      [[`tls_cert=${a.cert}`, `tls_key=${b.key}`], /is not the key of the certificate/],
      [[`tls_cert=${a.cert}.missing`, `tls_key=${a.key}`], /cannot read .*missing: No such file/],
      [['telnet_tls_port=9'], /telnet_tls_port needs a certificate/],
      [['http_redirect_port=9'], /http_redirect_port needs a certificate/],
      [[`tls_cert=${a.key}`, `tls_key=${a.key}`], /no PEM certificate/],
    ];
    for (const [sets, re] of cases) {
      const r = run(sets);
      assert(r.status !== 0 && re.test(r.stderr + r.stdout), `${sets.join(' ')}: exit ${r.status}: ` + (r.stderr + r.stdout).slice(-300));
    }
    // one file with both is fine
    const both = path.join(srv.dir, 'both.pem');
    fs.writeFileSync(both, fs.readFileSync(a.key) + fs.readFileSync(a.cert));
    const ok = spawn(bin, ['--ws-port', '0', '--telnet-port', '0', '--data', path.join(srv.dir, 'third'), '--set', `tls_cert=${both}`, '--set', `tls_key=${both}`]);
    let out = '';
    ok.stderr.on('data', (d) => { out += d; });
    ok.stdout.on('data', (d) => { out += d; });
    const t0 = Date.now();
    while (!/ready/.test(out) && Date.now() - t0 < 10000 && ok.exitCode === null) await sleep(50);
    ok.kill('SIGTERM');
    assert(/"event":"tls".*CN ?= ?first/.test(out) && /ready/.test(out), 'a combined PEM file: ' + out.slice(-400));
  },
});
