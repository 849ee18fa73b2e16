// HTTP as a hostile client speaks it: every method on the dynamic routes,
// pipelining, oversize heads, symbolic links out of www_dir, who may read
// /metrics, upgrades to anything but the chat protocol on /ws, and how long
// a plain HTTP connection may live. Raw sockets, so that nothing is hidden
// by a client library.
'use strict';
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { Server, sleep, assert, eq, ROOT, BUILD } = require('../lib/harness');

// opts may be a function, for set-ups made only when the test runs
exports.setup = async (t) => ({ srv: await Server.start(typeof t.opts === 'function' ? t.opts() : t.opts) });

// Sends bytes on a fresh connection; resolves with everything received
// once `want` responses are in, the server closes (closed: true), or
// `quiet` ms pass without data.
function exchange(port, bytes, { want = 0, quiet = 700, host = '127.0.0.1', heads = [] } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    let got = Buffer.alloc(0), timer = null, over = false;
    const done = (closed) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: got.toString('latin1'), closed });
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => done(false), quiet); };
    sock.on('connect', () => { sock.write(bytes); arm(); });
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (want && responses(got.toString('latin1'), heads).length >= want) done(false);
      else arm();
    });
    sock.on('error', () => {});
    sock.on('close', () => done(true));
  });
}

// Splits a byte stream of HTTP/1.1 responses (each with content-length).
function responses(text, heads = []) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const end = text.indexOf('\r\n\r\n', i);
    if (end < 0) break;
    const head = text.slice(i, end);
    const status = Number(/^HTTP\/1\.[01] (\d+)/.exec(head)?.[1]);
    const headers = {};
    for (const line of head.split('\r\n').slice(1)) {
      const c = line.indexOf(':');
      headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
    }
    const isHead = heads[out.length];
    const len = isHead ? 0 : Number(headers['content-length'] || 0);
    if (end + 4 + len > text.length) break; // not all here yet
    out.push({ status, headers, body: text.slice(end + 4, end + 4 + len) });
    i = end + 4 + len;
  }
  return out;
}

const req = (method, p, extra = '') => `${method} ${p} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

function get(url, options = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, ...options }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

// An upgrade request; resolves with the status line the server answers, or
// 'closed' when it hangs up without one.
async function upgrade(port, p, protocol) {
  const r = await exchange(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + '\r\n', { want: 1, quiet: 500 });
  return Number(/^HTTP\/1\.[01] (\d+)/.exec(r.text)?.[1]) || (r.closed ? 'closed' : 'silent');
}

exports.tests = [
  {
    name: 'HEAD is answered with the headers of GET; POST, PUT, OPTIONS, DELETE get 405 with Allow; the connection stays',
    fn: async ({ srv }) => {
      for (const p of ['/healthz', '/metrics', '/']) {
        // GET, HEAD, GET on one connection: the third answer parses only if HEAD had no body
        const heads = [false, true, false];
        const r = await exchange(srv.wsPort, req('GET', p) + req('HEAD', p) + req('GET', p), { want: 3, heads });
        const [g, h, g2] = responses(r.text, heads);
        eq(g.status, 200, 'GET ' + p);
        eq(h && h.status, 200, 'HEAD ' + p);
        eq(h.headers['content-length'], String(g.body.length), 'HEAD ' + p + ' tells the length of GET');
        eq(g2 && g2.status, 200, 'GET after HEAD ' + p);
        assert(r.text.endsWith(g2.body), 'HEAD ' + p + ' sent no body');
      }
      for (const m of ['POST', 'PUT', 'OPTIONS', 'DELETE', 'PATCH']) {
        for (const p of ['/healthz', '/metrics']) {
          const r = await exchange(srv.wsPort, req(m, p, 'Content-Length: 5\r\n') + 'hello' + req('GET', '/healthz'), { want: 2 });
          const [a, b] = responses(r.text);
          eq(a && a.status, 405, `${m} ${p}`);
          eq(a.headers.allow, 'GET, HEAD', `${m} ${p} Allow`);
          eq(b && b.status, 200, `the request after ${m} ${p} (its body skipped)`);
        }
      }
      const c = await exchange(srv.wsPort, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      eq(responses(c.text)[0]?.status, 405, 'CONNECT tunnels nothing');
      assert(c.closed, 'and the connection closes');
    },
  },
  {
    name: 'five pipelined requests get five answers, in order, on the dynamic routes and for files',
    fn: async ({ srv }) => {
      for (const p of ['/healthz', '/metrics', '/', '/app.js', '/nope.html']) {
        const r = await exchange(srv.wsPort, req('GET', p).repeat(5), { want: 5 });
        const all = responses(r.text);
        eq(all.length, 5, 'answers to 5 pipelined GET ' + p);
        assert(all.every((x) => x.status === all[0].status && x.body === all[0].body), 'the same answer each time for ' + p);
        eq(all[0].status, p === '/nope.html' ? 404 : 200, 'status for ' + p);
      }
      // a client that sends many and reads late: each waits its turn
      const many = await exchange(srv.wsPort, req('GET', '/app.js').repeat(40), { want: 40, quiet: 1500 });
      eq(responses(many.text).length, 40, '40 pipelined GET /app.js');
    },
  },
  {
    name: 'an 8 KB header and 5,000 headers get 431, a 100 KB URL gets 414; other users carry on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const big = await exchange(srv.wsPort, req('GET', '/healthz', 'X-Big: ' + 'a'.repeat(8192) + '\r\n'));
      eq(responses(big.text)[0]?.status, 431, '8 KB header');
      assert(big.closed, 'closed after 431');
      let hs = '';
      for (let i = 0; i < 5000; i++) hs += `X-H${i}: v\r\n`;
      eq(responses((await exchange(srv.wsPort, req('GET', '/healthz', hs))).text)[0]?.status, 431, '5,000 headers');
      const url = await exchange(srv.wsPort, req('GET', '/' + 'a'.repeat(100 * 1024)));
      eq(responses(url.text)[0]?.status, 414, '100 KB URL');
      const args = await exchange(srv.wsPort, req('GET', '/healthz?' + 'x=1&'.repeat(200)));
      eq(responses(args.text)[0]?.status, 414, '200 query arguments');
      // on a kept-alive connection lws reads the head itself: the target is still measured
      const later = responses((await exchange(srv.wsPort, req('GET', '/healthz') + req('GET', '/' + 'b'.repeat(6000)), { want: 2 })).text);
      eq(later.map((x) => x.status).join(), '200,414', 'a long target on the second request');
      // the same for a WebSocket upgrade
      const ws = await exchange(srv.wsPort, `GET /ws?token=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n`);
      eq(responses(ws.text)[0]?.status, 414, 'a 100 KB upgrade URL');
      // a head that ends just under the limit is served
      const fine = await exchange(srv.wsPort, req('GET', '/healthz', 'X-Fine: ' + 'a'.repeat(7000) + '\r\n'));
      eq(responses(fine.text)[0]?.status, 200, 'a 7 KB header is fine');
      a.input('still here');
      await a.chat('say', { body: 'still here' });
      await srv.waitLog(/"event":"http_refused".*request headers too large \(431\)/);
    },
  },
  {
    name: 'files past 128 KiB (the page\'s xterm.js, its fonts) come whole, alone, pipelined, and to a reader that reads late',
    opts: () => {
      const www = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-www-'));
      // bytes that show a cut or a shuffle: each 4 KiB block is numbered
      const big = Buffer.alloc(3 << 20);
      for (let i = 0; i < big.length; i += 4096) big.write(String(i / 4096).padStart(4096, '.'), i, 'latin1');
      fs.writeFileSync(path.join(www, 'big.js'), big);
      fs.writeFileSync(path.join(www, 'mid.js'), big.subarray(0, 300 * 1024));
      return { set: { www_dir: www } };
    },
    fn: async ({ srv }) => {
      const www = /--set www_dir=(\S+)/.exec(srv.proc.spawnargs.join(' '))[1];
      try {
        const big = fs.readFileSync(path.join(www, 'big.js'), 'latin1'), mid = big.slice(0, 300 * 1024);
        const one = await exchange(srv.wsPort, req('GET', '/mid.js'), { want: 1, quiet: 3000 });
        const [a] = responses(one.text);
        eq(a && a.status, 200, 'a 300 KiB file');
        assert(a.body === mid, `all of it: ${a ? a.body.length : 0} of ${mid.length} bytes`);
        const two = await exchange(srv.wsPort, req('GET', '/big.js') + req('GET', '/mid.js') + req('GET', '/healthz'), { want: 3, quiet: 3000 });
        const got = responses(two.text);
        eq(got.length, 3, 'three pipelined answers');
        assert(got[0].body === big && got[1].body === mid && got[2].body === 'ok\n', 'each whole, in order');
        // a reader that waits before reading: the server's writes fill the socket
        const late = await new Promise((resolve) => {
          const sock = net.connect(srv.wsPort, '127.0.0.1');
          let buf = Buffer.alloc(0);
          sock.on('connect', () => { sock.pause(); sock.write(req('GET', '/big.js') + req('GET', '/healthz')); setTimeout(() => sock.resume(), 1500); });
          sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (responses(buf.toString('latin1')).length >= 2) { sock.destroy(); resolve(buf); } });
          sock.on('error', () => {});
          sock.on('close', () => resolve(buf));
          setTimeout(() => { sock.destroy(); resolve(buf); }, 15000);
        });
        const l = responses(late.toString('latin1'));
        eq(l.length, 2, 'both answers to the late reader');
        assert(l[0].body === big && l[1].body === 'ok\n', 'whole and in order');
      } finally {
        fs.rmSync(www, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'a symbolic link out of www_dir is never followed; one inside it is',
    opts: () => {
      const www = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-www-'));
      fs.copyFileSync(path.join(ROOT, 'etc', 'www', 'index.html'), path.join(www, 'index.html'));
      fs.writeFileSync(path.join(os.tmpdir(), path.basename(www) + '-secret.txt'), 'top secret\n');
      fs.symlinkSync(path.join(os.tmpdir(), path.basename(www) + '-secret.txt'), path.join(www, 'leak.txt'));
      fs.symlinkSync('/etc', path.join(www, 'etc'));
      fs.symlinkSync('index.html', path.join(www, 'home.html'));
      fs.writeFileSync(path.join(www, '.hidden'), 'no\n');
      return { set: { www_dir: www } };
    },
    fn: async ({ srv }) => {
      const www = /--set www_dir=(\S+)/.exec(srv.proc.spawnargs.join(' '))[1];
      try {
        const leak = await get(srv.http('/leak.txt'));
        eq(leak.status, 404, 'a link to a file outside');
        assert(!/secret/.test(leak.body), 'nothing of it');
        eq((await get(srv.http('/etc/passwd'))).status, 404, 'a link to a directory outside');
        eq((await get(srv.http('/etc/'))).status, 404, 'its index');
        const home = await get(srv.http('/home.html'));
        eq(home.status, 200, 'a link inside www_dir');
        assert(/<title>partyline<\/title>/.test(home.body), 'the file it points to');
        eq((await get(srv.http('/.hidden'))).status, 404, 'hidden files');
        eq((await get(srv.http('/'))).status, 200, 'the index');
        await srv.waitLog(/not serving leak\.txt: it leads outside www_dir/);
      } finally {
        fs.rmSync(www, { recursive: true, force: true });
        fs.rmSync(www + '-secret.txt', { force: true });
      }
    },
  },
  {
    name: '/metrics answers loopback by default, and only the addresses in metrics_allow',
    opts: { set: { metrics_allow: '127.0.0.2, 10.0.0.0/8' } },
    fn: async ({ srv }) => {
      const no = await get(srv.http('/metrics'));
      eq(no.status, 403, '127.0.0.1 is not in the list');
      assert(!/partyline_/.test(no.body), 'and sees nothing');
      const yes = await get(srv.http('/metrics'), { localAddress: '127.0.0.2' });
      eq(yes.status, 200, '127.0.0.2 is');
      assert(/^partyline_connections \d+$/m.test(yes.body), 'metrics');
      eq((await get(srv.http('/healthz'))).status, 200, '/healthz stays open to all');
    },
  },
  {
    name: 'metrics_allow must be addresses or ranges',
    fn: async () => {
      const r = spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--set', 'metrics_allow=127.0.0.1, nonsense/99', '--version'],
        { encoding: 'utf8' });
      eq(r.status, 2, 'exit status');
      assert(/metrics_allow.*'nonsense\/99' is not an address or range/.test(r.stderr), 'says why: ' + r.stderr);
      const ok = spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--set', 'metrics_allow=10.0.0.0/8 ::1 ::ffff:192.168.0.0/112', '--version']);
      eq(ok.status, 0, 'ranges of both families');
    },
  },
  {
    name: 'only /ws upgrades, only to the chat protocol: not /, not /metrics, not the HTTP routes\' protocol',
    opts: { set: { max_conns_per_addr: '4', login_timeout_s: '2' } },
    fn: async ({ srv }) => {
      for (const p of ['/', '/metrics', '/healthz', '/elsewhere']) {
        eq(await upgrade(srv.wsPort, p, 'partyline-http'), 404, 'partyline-http on ' + p);
        eq(await upgrade(srv.wsPort, p), 404, 'no subprotocol on ' + p);
      }
      eq(await upgrade(srv.wsPort, '/ws', 'partyline-http'), 400, 'partyline-http on /ws');
      eq(await upgrade(srv.wsPort, '/ws', 'partyline-http, partyline'), 400, 'listed with the chat protocol');
      eq(await upgrade(srv.wsPort, '/ws'), 101, 'plain /ws upgrades');
      eq(await upgrade(srv.wsPort, '/ws', 'partyline'), 101, 'and names the chat protocol');
      // a client that asks for it and holds on is let go at once
      const held = [];
      for (let i = 0; i < 6; i++) {
        const s = net.connect(srv.wsPort, '127.0.0.1');
        s.on('error', () => {});
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: partyline-http\r\n\r\n');
        s.resume(); // read the answer, so that its end is seen
        held.push(new Promise((resolve) => s.on('close', resolve)));
      }
      await Promise.all(held);
      eq((await get(srv.http('/healthz'))).status, 200, 'they held no place');
    },
  },
  {
    name: 'a busy HTTP connection lives http_conn_max_s at most; sessions are not cut',
    opts: { set: { http_conn_max_s: '2' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const sock = net.connect(srv.wsPort, '127.0.0.1');
      let answers = 0, closed = false;
      sock.on('data', (d) => { answers += (d.toString('latin1').match(/HTTP\/1\.1 200/g) || []).length; });
      sock.on('error', () => {});
      sock.on('close', () => { closed = true; });
      const t0 = Date.now();
      while (!closed && Date.now() - t0 < 8000) {
        sock.write(req('GET', '/healthz'));
        await sleep(250);
      }
      assert(closed, 'the kept-alive connection was closed');
      assert(answers >= 4, 'it was served until then: ' + answers);
      await sleep(1000);
      a.input('still connected');
      await a.chat('say', { body: 'still connected' });
    },
  },
];

// lws moves an HTTP request to whichever of the server's vhosts its Host
// header names (by prefix); the telnet one answers no HTTP, so the request
// hung until the connection's lifetime ran out.
exports.tests.push({
  name: 'a Host header that spells the start of an inner vhost\'s name ("t", "telnet", "r") is served like any other',
  fn: async ({ srv }) => {
    for (const host of ['t', 'telnet', 'tel:80', 'r', 'redirect', 'web']) {
      const r = await exchange(srv.wsPort, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { want: 1 });
      assert(/^HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/.test(r.text), `Host: ${host}: ${JSON.stringify(r.text.slice(0, 120))}`);
    }
  },
});
