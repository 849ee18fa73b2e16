// A real PostgreSQL for the tests (Debian's postgresql 15): a throwaway
// cluster made with initdb in a temporary directory, on a free port with a
// socket directory of its own, removed afterwards; nothing depends on a
// system-wide database. PostgreSQL refuses to run as root: as root the
// cluster belongs to the `postgres` user the Debian package creates (runuser).
// initdb takes seconds, so a suite starts one cluster and makes a database
// per test (db()).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { freePort, sleep } = require('./harness');

const BIN = '/usr/lib/postgresql/15/bin';
const USER = 'partyline'; // the cluster's superuser, trusted from 127.0.0.1 only

function asOwner(cmd, args) {
  const root = process.getuid && process.getuid() === 0;
  const argv = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return spawnSync(argv[0], argv[1], { encoding: 'utf8', timeout: 60000 });
}

class Postgres {
  static available() { return fs.existsSync(path.join(BIN, 'initdb')); }

  static async start() {
    const p = new Postgres();
    p.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-pg-'));
    if (process.getuid && process.getuid() === 0) {
      const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const uid = Number(pw.stdout), gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
      fs.chownSync(p.dir, uid, gid);
    }
    p.port = await freePort();
    const init = asOwner(path.join(BIN, 'initdb'), ['-D', path.join(p.dir, 'data'), '-A', 'trust', '-U', USER, '-E', 'UTF8',
      '--no-sync']);
    if (init.status !== 0) throw new Error('initdb failed:\n' + init.stdout + init.stderr);
    await p.up();
    p.n = 0;
    return p;
  }

  async up() {
    const r = asOwner(path.join(BIN, 'pg_ctl'), ['-D', path.join(this.dir, 'data'), '-w', '-l', path.join(this.dir, 'pg.log'),
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    if (r.status !== 0) throw new Error('pg_ctl start failed:\n' + r.stdout + r.stderr + this.logText());
  }

  // Stops it at once (immediate: as a crash or a cut cable would).
  async down() {
    asOwner(path.join(BIN, 'pg_ctl'), ['-D', path.join(this.dir, 'data'), '-m', 'immediate', 'stop']);
    await sleep(50);
  }

  logText() {
    try { return fs.readFileSync(path.join(this.dir, 'pg.log'), 'utf8'); } catch (e) { return ''; }
  }

  // SQL as the cluster's superuser; the output of psql (unaligned, no headers).
  sql(db, text) {
    const r = spawnSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(this.port), '-U', USER,
      '-d', db, '-c', text], { encoding: 'utf8', timeout: 30000 });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  }

  // A new empty database; its URI for the server's `store`.
  db() {
    const name = 'board' + (++this.n);
    this.sql('postgres', `CREATE DATABASE ${name}`);
    return `postgresql://${USER}@127.0.0.1:${this.port}/${name}`;
  }

  async stop() { this.stopSync(); }

  // Also from process.on('exit'): a suite's one cluster goes when the run ends.
  stopSync() {
    if (!this.dir) return;
    asOwner(path.join(BIN, 'pg_ctl'), ['-D', path.join(this.dir, 'data'), '-m', 'immediate', 'stop']);
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

module.exports = { Postgres };
