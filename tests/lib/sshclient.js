// OpenSSH's own `ssh`, on a real terminal: a tmux pane of its own (its own
// tmux server, on a socket in a temporary directory), whose raw output is
// copied to a file (pipe-pane) for tests to match, as TelnetClient does
// with telnet's. The pane's size is the pty size ssh reports, and resizing
// it is a real window change. A throwaway known_hosts, no keys, no user
// configuration: only what the test says.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";

class SshClient {
  // opts: cols, rows (the window), term (TERM), args (more ssh arguments),
  // knownHosts (a file to share between clients of one server), netns: run
  // ssh in that network namespace (tests/lib/netns.js), calling its host;
  // command: a remote command to ask for instead of a shell
  constructor(port, user, opts = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pl-ssh-'));
    this.sock = path.join(this.dir, 'tmux');
    this.outFile = path.join(this.dir, 'out');
    this.exitFile = path.join(this.dir, 'exit');
    this.pos = 0;
    fs.writeFileSync(this.outFile, '');
    const ns = opts.netns;
    const ssh = [...(ns ? ns.prefix() : []), 'ssh', '-F', '/dev/null', '-p', port, '-o', 'StrictHostKeyChecking=accept-new',
      '-o', 'UserKnownHostsFile=' + (opts.knownHosts || path.join(this.dir, 'known_hosts')),
      '-o', 'PubkeyAuthentication=no', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10',
      ...(opts.args || []), user + '@' + (ns ? ns.hostAddr : '127.0.0.1'), ...(opts.command || [])].map(quote).join(' ');
    // it waits for a line, so that nothing it prints comes before pipe-pane
    const cmd = `read go; TERM=${quote(opts.term || 'xterm-256color')} ${ssh}; echo $? > ${quote(this.exitFile)}`;
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'c', '-x', opts.cols || 80, '-y', opts.rows || 24, 'sh', '-c', cmd);
    this.tmux('pipe-pane', '-t', 'c', '-o', 'cat >> ' + quote(this.outFile));
    this.tmux('send-keys', '-t', 'c', 'Enter');
  }

  tmux(...args) {
    const r = spawnSync('tmux', ['-S', this.sock, ...args.map(String)], { encoding: 'utf8', timeout: 10000 });
    return r.status;
  }

  get out() { try { return fs.readFileSync(this.outFile, 'latin1'); } catch (e) { return ''; } }
  get exitCode() { try { return Number(fs.readFileSync(this.exitFile, 'utf8').trim()); } catch (e) { return null; } }

  // Types text and Enter (a pty sends CR for it).
  line(text) { this.tmux('send-keys', '-t', 'c', '-l', text, ';', 'send-keys', '-t', 'c', 'Enter'); }
  keys(...names) { this.tmux('send-keys', '-t', 'c', ...names); }
  // Types text as it is (\r is Enter), in pieces a tmux command can carry.
  type(text) {
    for (let i = 0; i < text.length; i += 4000) this.tmux('send-keys', '-t', 'c', '-l', text.slice(i, i + 4000));
  }
  // The terminal window changes size: ssh sends a window-change request.
  resize(cols, rows) { this.tmux('resize-window', '-t', 'c', '-x', cols, '-y', rows); }

  // Waits for re in the output after the last match; returns the match.
  async expect(re, timeout = 8000) {
    const t0 = Date.now();
    for (;;) {
      const rest = this.out.slice(this.pos);
      const m = re.exec(rest);
      if (m) {
        this.pos += m.index + m[0].length;
        return m;
      }
      if (this.exitCode !== null) {
        await sleep(50); // the last bytes may trail the exit
        const last = this.out.slice(this.pos);
        const m2 = re.exec(last);
        if (m2) {
          this.pos += m2.index + m2[0].length;
          return m2;
        }
        throw new Error(`ssh exited (${this.exitCode}) waiting for ${re}; output: ${JSON.stringify(last.slice(-400))}`);
      }
      if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${re}; output: ${JSON.stringify(rest.slice(-400))}`);
      await sleep(25);
    }
  }

  // Waits for ssh to end; its exit status.
  async exited(timeout = 8000) {
    const t0 = Date.now();
    while (this.exitCode === null) {
      if (Date.now() - t0 > timeout) throw new Error('ssh still running; output: ' + JSON.stringify(this.out.slice(-400)));
      await sleep(25);
    }
    return this.exitCode;
  }

  close() {
    this.tmux('kill-server');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { SshClient };
