// A real Redis for the tests (Debian's redis-server), on a free port in a
// temporary directory, with nothing kept on disk: stopped and started again
// on the same port, it comes back empty, as a restarted Redis without
// persistence does.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { freePort, sleep } = require('./harness');

class Redis {
  static async start() {
    const r = new Redis();
    r.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-redis-'));
    r.port = await freePort();
    await r.up();
    return r;
  }

  get where() { return `127.0.0.1:${this.port}`; }

  async up() {
    this.log = '';
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.log += d; });
    this.proc.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((res) => this.proc.on('close', res));
    const t0 = Date.now();
    while (!/Ready to accept connections/.test(this.log)) {
      if (this.proc.exitCode !== null || Date.now() - t0 > 10000) throw new Error('redis-server did not start:\n' + this.log);
      await sleep(20);
    }
  }

  // Stops it (SIGKILL: gone at once, as a crash or a cut cable would be).
  async down() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  // One command, as RESP; resolves with the raw reply text.
  command(...args) {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => { out += d; s.end(); });
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''));
    });
  }

  async stop() {
    await this.down();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { Redis };
