// SSH (issue 14): OpenSSH's own ssh on a real terminal (tmux, tests/lib/
// sshclient.js) logs in with a handle and password, or as `new` to
// register; its pty's TERM and size are the terminal's, and a window change
// reflows like NAWS; wrong passwords count in the same throttling as the
// prompts'; clients that stall or speak no SSH hold nothing up; the host
// key is made once and kept, and a bad one stops the server at start.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const { Server, sleep, strip, assert, eq, ROOT, BUILD } = require('../lib/harness');
const { SshClient } = require('../lib/sshclient');
const { Netns } = require('../lib/netns');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ ssh: true }, t.opts)) });

function ssh(srv, user, opts) {
  const c = new SshClient(srv.sshPort, user, opts);
  srv.clients.push(c);
  return c;
}

// An account's SSH login, at the main menu (in chat with chat: true).
async function sshLogin(srv, handle, password, opts = {}) {
  const c = ssh(srv, handle, opts);
  await c.expect(/password: $/);
  c.line(password);
  await c.expect(new RegExp(`Welcome, (\\x1b\\[[0-9;]*m)?${handle}`));
  await c.expect(/Your choice: /);
  if (opts.chat) {
    c.line('c');
    await c.expect(/You are in #lobby/);
  }
  return c;
}

const PROBE = `pl.command{ name = "term", run = function(s)
  local t = s.terminal
  s:text("term: " .. t.type .. " " .. tostring(t.cols) .. "x" .. tostring(t.rows) .. " colors " .. t.colors ..
    " via " .. t.transport .. " " .. s.transport .. " secure " .. tostring(s.secure))
end }
`;

async function withProbe(srv) {
  fs.writeFileSync(path.join(srv.scripts, 'commands', 'term.lua'), PROBE);
  await srv.waitLog(/scripts reloaded/, 'reload', 5000);
}

exports.tests = [
  {
    name: 'ssh logs in with handle and password and chats with a web user; TERM and the pty size are the terminal, a window change reflows',
    opts: { set: { sysops: 'root' } },
    fn: async ({ srv }) => {
      await withProbe(srv);
      srv.addUser('sam', 'sam-password-1');
      const web = await srv.chatter('alice');
      const c = await sshLogin(srv, 'sam', 'sam-password-1', { cols: 100, rows: 30, chat: true });
      await web.chat('join', { from: 'sam' });
      assert(/logged in by ssh as sam/.test(srv.log), 'logged in without partyline\'s own prompts');
      c.line('/term');
      await c.expect(/term: xterm-256color 100x30 colors 256 via ssh ssh secure true/);
      c.line('hello from ssh');
      await web.chat('say', { from: 'sam', body: 'hello from ssh' });
      web.input('hello from the web');
      await c.expect(/\x1b\[96m<alice>\x1b\[0m hello from the web\r\n/);
      // the window shrinks: the size changes, and text wraps at the new width
      c.resize(40, 20);
      await sleep(200);
      c.line('/term');
      await c.expect(/term: xterm-256color 40x20/);
      web.input('the quick brown fox jumps over the lazy dog and keeps on running far away');
      const m = await c.expect(/<alice>[\s\S]*?away\r\n/);
      const lines = strip(m[0]).split('\r\n').filter((l) => l);
      assert(lines.length >= 2, 'wrapped: ' + JSON.stringify(m[0]));
      for (const l of lines) assert(l.length <= 40, `fits in 40 columns: "${l}"`);
      // the sysop's /nodes says ssh (encrypted by itself: no +tls)
      const root = await srv.sysop('root');
      root.input('/nodes');
      const nodes = await root.text(/sam/);
      assert(/sam\s.*\sssh\s*$/m.test(strip(nodes.text)), 'transport ssh: ' + nodes.text);
      // logging off ends the ssh command cleanly
      c.line('/quit');
      await c.expect(/Your choice: /);
      c.line('g');
      eq(await c.exited(), 0, 'ssh exit status');
      await web.chat('leave', { from: 'sam' });
    },
  },
  {
    name: 'ssh as `new` goes straight to registering at the prompts, with no SSH password asked',
    fn: async ({ srv }) => {
      const c = ssh(srv, 'new', { term: 'vt100' });
      await c.expect(/New handle: /);
      assert(!/password:/.test(c.out), 'ssh asked no password');
      c.line('nina');
      await c.expect(/Choose a password/);
      c.line('nina-password-1');
      await c.expect(/Repeat the password/);
      c.line('nina-password-1');
      await c.expect(/Welcome, (\x1b\[[0-9;]*m)?nina/);
      await c.expect(/Your choice: /);
      assert(!c.out.includes('nina-password-1'), 'the password was not echoed');
      c.line('g');
      await c.exited();
      // the account is real: the web logs in with it
      const w = await srv.login('nina', 'nina-password-1');
      eq((await w.waitFor((e) => e.type === 'auth')).handle, 'nina', 'registered');
    },
  },
  {
    name: 'wrong SSH passwords count in the same throttling: the handle locks out for SSH and the web alike',
    opts: { set: { login_attempts: '2', login_slow_after: '100', login_lockout_after: '3', login_lockout_s: '60' } },
    fn: async ({ srv }) => {
      srv.addUser('bob', 'bob-password-1');
      const web = await srv.chatter('alice');
      // two wrong passwords on one connection: login_attempts, then it is told to go
      const a = ssh(srv, 'bob', { args: ['-o', 'NumberOfPasswordPrompts=5'] });
      await a.expect(/password: $/);
      a.line('wrong-1');
      await a.expect(/password: $/);
      a.line('wrong-2');
      await a.expect(/too many failed attempts/i);
      assert(await a.exited() !== 0, 'ssh failed');
      // a third, on a new connection: the handle is locked out
      const b = ssh(srv, 'bob');
      await b.expect(/password: $/);
      b.line('wrong-3');
      await b.expect(/password: $/);
      b.line('bob-password-1');
      await b.expect(/too many failed attempts/i);
      await b.exited();
      const w = await srv.login('bob', 'bob-password-1');
      eq((await w.waitFor((e) => e.type === 'error')).code, 'throttled', 'the web is locked out too');
      eq((srv.log.match(/"event":"login_failed","addr":"127\.0\.0\.1","msg":"failed login for 'bob'"/g) || []).length, 3,
        'each failure logged with the address');
      assert(/locked for 60s after 3 failures/.test(srv.log), 'lockout logged');
      assert(!/wrong-\d/.test(srv.log), 'no password in the log');
      web.input('still here');
      await web.chat('say', { body: 'still here' });
    },
  },
  {
    name: 'clients that stall mid-handshake or send no SSH hold nothing up; others log in and chat meanwhile',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const socks = [];
      const connect = (send) => {
        const s = net.connect(srv.sshPort, '127.0.0.1');
        s.got = '';
        s.on('data', (d) => { s.got += d.toString('latin1'); });
        s.gone = new Promise((r) => s.on('close', r));
        s.on('error', () => {});
        if (send) s.write(send);
        socks.push(s);
        return s;
      };
      const silent = connect();                                   // says nothing at all
      const half = connect('SSH-2.0-stalling\r\n');                // a banner, then no key exchange
      const garbage = connect('GET / HTTP/1.0\r\n\r\n\x00\xff\xfe'); // not SSH
      await garbage.gone;
      assert(/^SSH-2\.0-partyline\r\n/.test(garbage.got), 'the server said what it speaks first: ' + JSON.stringify(garbage.got));
      await srv.waitLog(/"event":"ssh_closed","addr":"127\.0\.0\.1","msg":"closed during the key exchange/, 'garbage closed');
      // meanwhile: a full SSH login, and chat
      const c = ssh(srv, 'new');
      await c.expect(/New handle: /);
      web.input('chat goes on');
      await web.chat('say', { body: 'chat goes on' });
      assert(/^SSH-2\.0-/.test(silent.got) && /^SSH-2\.0-/.test(half.got), 'the stalled ones were greeted');
      assert(silent.readyState === 'open' && half.readyState === 'open', 'and are still waiting (login_timeout_s)');
      for (const s of socks) s.destroy();
      await sleep(100);
      web.input('and on');
      await web.chat('say', { body: 'and on' });
    },
  },
  {
    name: 'an SSH user whose network vanishes leaves within 2 x ping_s; an idle one that answers the probes stays',
    opts: { set: { ping_s: '1' } },
    fn: async ({ srv }) => {
      const ns = Netns.create();
      try {
        srv.addUser('vic', 'vic-password-1');
        const bob = await srv.chatter('bob');
        const c = await sshLogin(srv, 'vic', 'vic-password-1', { netns: ns, chat: true });
        await bob.chat('join', { from: 'vic' });
        await sleep(2500); // idle: probed, and answering
        assert(c.exitCode === null, 'healthy and idle: still connected');
        c.line('still here');
        await bob.chat('say', { from: 'vic', body: 'still here' });
        ns.down();
        await bob.chat('leave', { from: 'vic' }, 'the leave of vic', 6000);
        const m = await (await fetch(srv.http('/metrics'))).text();
        assert(/^partyline_keepalive_drops_total\{transport="ssh"\} 1$/m.test(m), 'counted as an ssh drop');
        assert(/^partyline_keepalive_probes_total\{transport="ssh"\} [1-9]/m.test(m), 'probes counted');
      } finally {
        ns.destroy();
      }
    },
  },
  {
    name: 'SSH connections count in max_conns_per_addr: one past it is told why in SSH\'s own words',
    opts: { set: { max_conns_per_addr: '2' } },
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const a = ssh(srv, 'new');
      await a.expect(/New handle: /);
      const b = ssh(srv, 'new');
      await b.expect(/too many connections from your address/);
      assert(await b.exited() !== 0, 'ssh failed');
      await srv.waitLog(/"event":"ssh_refused","addr":"127\.0\.0\.1","msg":"refused: too many connections/, 'logged');
      a.line('');
      web.input('fine');
      await web.chat('say', { body: 'fine' });
    },
  },
  {
    name: 'a remote command is refused (the shell is the board); ssh -T still gets the board; shutdown tells SSH users',
    fn: async ({ srv }) => {
      srv.addUser('tom', 'tom-password-1');
      const x = ssh(srv, 'tom', { command: ['ls'] });
      await x.expect(/password: $/);
      x.line('tom-password-1');
      await x.expect(/exec request failed/);
      assert(await x.exited() !== 0, 'ssh failed');
      const t = ssh(srv, 'tom', { args: ['-T'] }); // no pty: its own terminal echoes and edits
      await t.expect(/password: $/);
      t.line('tom-password-1');
      await t.expect(/Your choice: /);
      t.line('c');
      await t.expect(/You are in #lobby/);
      const c = ssh(srv, 'new');
      await c.expect(/New handle: /);
      srv.proc.kill('SIGTERM');
      await c.expect(/shutting down/);
      eq(await c.exited(), 0, 'ssh ends cleanly');
      await t.exited();
      eq((await srv.exited).code, 0, 'the server stopped cleanly');
    },
  },
  {
    name: 'an SSH paste arrives whole and in order while output flows; a flood past flood_bytes is told why and closed',
    fn: async ({ srv }) => {
      srv.addUser('pat', 'pat-password-1');
      const a = await srv.chatter('alice');
      const c = await sshLogin(srv, 'pat', 'pat-password-1', { chat: true });
      let lines = '';
      for (let i = 0; i < 60; i++) lines += 'paste ' + i + '\r';
      for (let i = 0; i < 10; i++) a.input('output ' + i); // the terminal is written to meanwhile
      c.type(lines);
      for (let i = 0; i < 60; i++) await a.chat('say', { body: 'paste ' + i }, 'paste ' + i, 10000);
      const said = a.events.filter((e) => e.type === 'chat' && e.kind === 'say' && e.from === 'pat').map((e) => e.body);
      eq(said.length, 60, 'each line once');
      await c.expect(/output 9/);
      lines = '';
      for (let i = 0; i < 400; i++) lines += 'flood '.repeat(30) + i + '\r';
      c.type(lines);
      await c.expect(/flooding: too much input waiting; disconnecting/, 10000);
      await c.exited();
      await srv.waitLog(/is flooding: over \d+ bytes of input waiting/);
      a.input('still here');
      await a.chat('say', { body: 'still here' });
    },
  },
  {
    name: 'a stalled handshake is closed after login_timeout_s',
    opts: { set: { login_timeout_s: '1' } },
    fn: async ({ srv }) => {
      const s = net.connect(srv.sshPort, '127.0.0.1');
      s.on('error', () => {});
      s.resume(); // (read what comes: its end is seen only then)
      s.write('SSH-2.0-stalling\r\n');
      await new Promise((r, j) => { s.on('close', r); setTimeout(() => j(new Error('not closed')), 5000); });
    },
  },
  {
    name: 'a banned address is refused in SSH\'s own words, before any password; a banned handle is told after it',
    opts: { set: { sysops: 'root' } },
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      root.input('/ban 127.0.0.2 1h no SSH from here');
      await root.text(/address 127\.0\.0\.2 banned/);
      const c = ssh(srv, 'bob', { args: ['-b', '127.0.0.2'] });
      await c.expect(/banned from this system until [^\r\n]*: no SSH from here/);
      assert(!/password:/.test(c.out), 'no password asked');
      assert(await c.exited() !== 0, 'ssh failed');
      assert(/"event":"ssh_refused","addr":"127\.0\.0\.2","msg":"refused: banned"/.test(srv.log), 'logged');
      // a banned handle knows its password and still goes, told why
      srv.addUser('bob', 'bob-password-1');
      root.input('/ban bob 1h spam');
      await root.text(/bob banned/);
      const b = ssh(srv, 'bob');
      await b.expect(/password: $/);
      b.line('bob-password-1');
      await b.expect(/banned from this system until [^\r\n]*: spam/);
      await b.exited();
    },
  },
  {
    name: 'the host key is made once (0600, fingerprint logged) and kept across restarts; a bad key file stops the start',
    fn: async ({ srv }) => {
      const key = path.join(srv.dir, 'var', 'ssh_host_ed25519_key');
      eq(fs.statSync(key).mode & 0o777, 0o600, 'private');
      const fp = /SSH host key [^:]+: ssh-ed25519 (SHA256:\S+)"/.exec(srv.log);
      assert(fp, 'fingerprint logged');
      const known = path.join(srv.dir, 'known_hosts');
      const a = ssh(srv, 'new', { knownHosts: known });
      await a.expect(/New handle: /);
      a.close();
      await srv.stop();
      const again = await Server.start({ dir: srv.dir, sshPort: srv.sshPort });
      try {
        assert(again.log.includes(fp[1]), 'the same key');
        const b = new SshClient(again.sshPort, 'new', { knownHosts: known, args: ['-o', 'StrictHostKeyChecking=yes'] });
        again.clients.push(b);
        await b.expect(/New handle: /); // ssh checked the key against the one it saw first
      } finally {
        await again.stop();
      }
      // a key file that is no key
      const bad = path.join(srv.dir, 'bad_key');
      fs.writeFileSync(bad, 'not a key\n', { mode: 0o600 });
      const r = spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--data', path.join(srv.dir, 'var'), '--scripts', srv.scripts,
        '--ws-port', srv.wsPort, '--telnet-port', srv.telnetPort, '--set', 'ssh_host_key=' + bad, '--ssh-port', srv.sshPort].map(String),
      { encoding: 'utf8', timeout: 10000 });
      assert(r.status !== 0, 'the start failed: ' + r.status);
      assert(/ssh_host_key: .*bad_key is not a private key/.test(r.stdout + r.stderr), 'said why: ' + r.stdout + r.stderr);
    },
  },
];
