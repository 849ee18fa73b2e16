// data_dir holds password hashes, mail and the token key: every file in it
// is the server's user's alone.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
const private_ = (p) => (fs.statSync(p).mode & 0o077) === 0;

exports.tests = [
  {
    name: 'the data directory is 0700 and the database, its WAL and the token key 0600; older 0644 files are made private',
    fn: async (ctx) => {
      const srv = ctx.srv;
      const a = await srv.user('alice'); // writes: the WAL has pages
      a.close();
      const dir = path.join(srv.dir, 'var');
      eq(mode(dir), '700', 'the data directory the server made');
      const files = ['partyline.db', 'partyline.db-wal', 'partyline.db-shm', 'jwt.key'];
      for (const f of files) eq(mode(path.join(dir, f)), '600', f);
      for (const f of fs.readdirSync(dir)) assert(private_(path.join(dir, f)), 'every file: ' + f + ' is ' + mode(path.join(dir, f)));
      // as an older version left them
      await srv.stop();
      for (const f of files) if (fs.existsSync(path.join(dir, f))) fs.chmodSync(path.join(dir, f), 0o644);
      const again = await Server.start({ dir: srv.dir });
      ctx.srv = again; // the runner stops and cleans up this one
      const b = await again.user('bob');
      for (const f of files) eq(mode(path.join(dir, f)), '600', f + ' after a restart');
      await again.waitLog(/"event":"data_dir".*made .*partyline\.db private to the server's user \(it was 644\)/);
      b.close();
    },
  },
];
