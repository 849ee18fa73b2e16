// Where the server listens (`bind`), and what it does at the open-file limit.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { Server, sleep, assert, eq, ROOT, BUILD } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

// The local addresses listening on a port, as `ss -ltnH` shows them.
function listening(port) {
  return execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' })
    .split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]).sort();
}

function canConnect(port, host) {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function healthz(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = '';
    s.setTimeout(3000, () => { s.destroy(); resolve('timeout'); });
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    s.on('data', (d) => { got += d; });
    s.on('error', (e) => resolve('error ' + e.code));
    s.on('close', () => resolve(got.split('\r\n')[0]));
  });
}

// CPU seconds the process has used (user + system), from /proc/PID/stat.
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

exports.tests = [
  {
    name: 'bind = 127.0.0.1: both ports listen there only, not on every address',
    opts: { set: { bind: '127.0.0.1' } },
    fn: async ({ srv }) => {
      eq(JSON.stringify(listening(srv.wsPort)), JSON.stringify([`127.0.0.1:${srv.wsPort}`]), 'HTTP');
      eq(JSON.stringify(listening(srv.telnetPort)), JSON.stringify([`127.0.0.1:${srv.telnetPort}`]), 'telnet');
      eq(await healthz(srv.wsPort), 'HTTP/1.1 200 OK', 'served on 127.0.0.1');
      eq(await canConnect(srv.wsPort, '::1'), false, 'not on ::1');
      await srv.waitLog(new RegExp(`listening: HTTP and WebSocket \\(/ws\\) on 127\\.0\\.0\\.1:${srv.wsPort}; telnet on 127\\.0\\.0\\.1:${srv.telnetPort}`));
    },
  },
  {
    name: 'bind = ::1 listens on IPv6 loopback only; a list binds each address',
    opts: { set: { bind: '::1' } },
    fn: async ({ srv }) => {
      eq(JSON.stringify(listening(srv.wsPort)), JSON.stringify([`[::1]:${srv.wsPort}`]), 'HTTP');
      eq(JSON.stringify(listening(srv.telnetPort)), JSON.stringify([`[::1]:${srv.telnetPort}`]), 'telnet');
      eq(await healthz(srv.wsPort, '::1'), 'HTTP/1.1 200 OK', 'served on ::1');
      eq(await canConnect(srv.wsPort, '127.0.0.1'), false, 'not on 127.0.0.1');
      await srv.stop();
      srv.cleanup();
      const two = await Server.start({ set: { bind: '127.0.0.1, [::1]' } });
      try {
        eq(JSON.stringify(listening(two.wsPort)), JSON.stringify([`127.0.0.1:${two.wsPort}`, `[::1]:${two.wsPort}`].sort()), 'both, HTTP');
        eq(JSON.stringify(listening(two.telnetPort)), JSON.stringify([`127.0.0.1:${two.telnetPort}`, `[::1]:${two.telnetPort}`].sort()), 'both, telnet');
        eq(await healthz(two.wsPort, '::1'), 'HTTP/1.1 200 OK', 'served on ::1');
        eq(await healthz(two.wsPort, '127.0.0.1'), 'HTTP/1.1 200 OK', 'served on 127.0.0.1');
      } finally {
        await two.stop();
        two.cleanup();
      }
    },
  },
  {
    name: 'an empty bind listens on every address, IPv4 and IPv6; a bad one stops the server with the reason',
    fn: async ({ srv }) => {
      eq(JSON.stringify(listening(srv.wsPort)), JSON.stringify([`*:${srv.wsPort}`]), 'one dual-stack socket');
      eq(await healthz(srv.wsPort, '127.0.0.1'), 'HTTP/1.1 200 OK', 'IPv4');
      eq(await healthz(srv.wsPort, '::1'), 'HTTP/1.1 200 OK', 'IPv6');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-bind-'));
      try {
        const r = spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--data', dir, '--scripts', path.join(ROOT, 'lua'),
          '--ws-port', String(srv.wsPort + 1), '--set', 'bind=127.0.0.1, no.such.host.invalid'], { encoding: 'utf8', timeout: 10000 });
        eq(r.status, 1, 'exit status');
        assert(/bind: 'no\.such\.host\.invalid' is not an address or a known host name/.test(r.stderr), 'says why: ' + r.stderr.slice(-300));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'at the open-file limit: no busy loop, a bounded log, users keep chatting, and it recovers',
    opts: { wrap: ['prlimit', '--nofile=128:128', '--'], set: { max_conns_per_addr: '0', login_timeout_s: '0' } },
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      // far more connections than descriptors
      const socks = [];
      let banners = 0;
      for (let i = 0; i < 200; i++) {
        const s = net.connect(srv.telnetPort, '127.0.0.1');
        s.on('error', () => {});
        s.on('data', (d) => { if (/Handle/.test(d.toString('latin1'))) { banners++; s.removeAllListeners('data'); } });
        socks.push(s);
      }
      // wait until no more get in: the server is at its limit
      for (let last = -1; last !== banners;) {
        last = banners;
        await sleep(700);
      }
      assert(banners < 200, 'not everyone got in: ' + banners);
      const cpu0 = cpuSeconds(srv.proc.pid), t0 = Date.now();
      await sleep(2000);
      const used = (cpuSeconds(srv.proc.pid) - cpu0) / ((Date.now() - t0) / 1000);
      assert(used < 0.5, `CPU while at the limit: ${Math.round(used * 100)}% of a core`);
      const lines = srv.log.split('\n').filter((l) => /fd_limit|accept|errno 24/.test(l));
      assert(lines.length >= 1 && lines.length <= 5, `a bounded log: ${lines.length} lines:\n${lines.slice(0, 8).join('\n')}`);
      assert(/"event":"fd_limit".*out of file descriptors/.test(lines[0]), 'says why: ' + lines[0]);
      a.input('still chatting');
      await b.chat('say', { body: 'still chatting' });
      // some leave: new ones and /healthz are served again
      for (const s of socks.splice(0, 60)) s.destroy();
      let health = '';
      for (let i = 0; i < 20 && health !== 'HTTP/1.1 200 OK'; i++) {
        health = await healthz(srv.wsPort);
        if (health !== 'HTTP/1.1 200 OK') await sleep(250);
      }
      eq(health, 'HTTP/1.1 200 OK', '/healthz after some left');
      const c = await srv.ws();
      eq((await c.waitFor(() => true)).type, 'hello', 'a new WebSocket user');
      for (const s of socks) s.destroy();
    },
  },
];
