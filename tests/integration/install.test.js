// `make install` with PREFIX and DESTDIR: the binary, the default scripts,
// the web client and an example configuration where Debian expects them,
// and a systemd unit that systemd-analyze accepts. The installed server
// starts from what was installed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync, spawn } = require('child_process');
const { assert, eq, ROOT, BUILD, freePort, sleep } = require('../lib/harness');

exports.setup = async () => {
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-install-'));
  return { dest, teardown: () => fs.rmSync(dest, { recursive: true, force: true }) };
};

function make(args) {
  // the build the suite runs on (the sanitizers' too)
  if (BUILD === 'build-san') args = args.concat(['SAN=1']);
  const r = spawnSync('make', ['-s', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300000 });
  eq(r.status, 0, 'make ' + args.join(' ') + ':\n' + r.stdout + r.stderr);
  return r;
}

exports.tests = [
  {
    name: 'make install PREFIX=/usr DESTDIR=...: files in place, a hardened unit systemd-analyze verifies, and the installed server runs',
    fn: async ({ dest }) => {
      make(['install', 'PREFIX=/usr', 'DESTDIR=' + dest, 'BUILD=' + BUILD]);
      const at = (p) => path.join(dest, p);
      assert(fs.statSync(at('usr/bin/partyline')).mode & 0o111, 'the binary is executable');
      for (const f of ['usr/share/partyline/lua/init.lua', 'usr/share/partyline/lua/mail.lua', 'usr/share/partyline/www/index.html',
        'etc/partyline/partyline.conf', 'usr/share/partyline/partyline.conf.example', 'usr/lib/systemd/system/partyline.service'])
        assert(fs.existsSync(at(f)), f + ' installed');
      const conf = fs.readFileSync(at('etc/partyline/partyline.conf'), 'utf8');
      assert(/^data_dir = \/var\/lib\/partyline$/m.test(conf), 'data_dir is the state directory');
      assert(/^scripts_dir = \/usr\/share\/partyline\/lua$/m.test(conf), 'scripts from /usr/share');
      assert(/^www_dir = \/usr\/share\/partyline\/www$/m.test(conf), 'web client from /usr/share');
      const unit = fs.readFileSync(at('usr/lib/systemd/system/partyline.service'), 'utf8');
      for (const line of ['ExecStart=/usr/bin/partyline --config /etc/partyline/partyline.conf', 'DynamicUser=yes',
        'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'StateDirectory=partyline', 'LimitNOFILE=65536',
        'ExecReload=/bin/kill -HUP $MAINPID', 'KillSignal=SIGTERM'])
        assert(unit.split('\n').includes(line), 'the unit has ' + line);
      assert(!/@[A-Z]+@/.test(unit), 'every placeholder filled');
      // verify looks for ExecStart on this system, not in DESTDIR (--root would
      // need a whole system there): the same unit, its binary's path pointed
      // into DESTDIR, so the check also proves the installed binary runs as named
      const check = path.join(dest, 'partyline.service');
      fs.writeFileSync(check, unit.replace('ExecStart=/usr/bin/partyline', 'ExecStart=' + at('usr/bin/partyline')));
      const v = spawnSync('systemd-analyze', ['verify', check], { encoding: 'utf8', timeout: 60000 });
      eq(v.status, 0, 'systemd-analyze verify:\n' + v.stdout + v.stderr);
      // a second install keeps the sysop's configuration
      fs.appendFileSync(at('etc/partyline/partyline.conf'), '\nname = mine\n');
      make(['install', 'PREFIX=/usr', 'DESTDIR=' + dest, 'BUILD=' + BUILD]);
      assert(/name = mine/.test(fs.readFileSync(at('etc/partyline/partyline.conf'), 'utf8')), 'the configuration is kept');
      // the installed binary with the installed configuration, its paths under DESTDIR
      const port = await freePort();
      const p = spawn(at('usr/bin/partyline'), ['--config', at('etc/partyline/partyline.conf'), '--set', 'data_dir=' + at('var/lib/partyline'),
        '--set', 'scripts_dir=' + at('usr/share/partyline/lua'), '--set', 'www_dir=' + at('usr/share/partyline/www'),
        '--ws-port', String(port), '--telnet-port', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      p.stdout.on('data', (d) => { log += d; });
      p.stderr.on('data', (d) => { log += d; });
      const exited = new Promise((r) => p.on('close', (code, signal) => r({ code, signal })));
      try {
        const t0 = Date.now();
        while (!/ready/.test(log)) {
          assert(p.exitCode === null && Date.now() - t0 < 10000, 'the installed server starts:\n' + log);
          await sleep(50);
        }
        eq((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'it answers');
        const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        assert(/<html/i.test(page), 'the installed web client is served');
        p.kill('SIGHUP'); // systemctl reload
        await sleep(300);
        assert(p.exitCode === null, 'a reload keeps it running');
      } finally {
        p.kill('SIGTERM');
      }
      eq((await exited).code, 0, 'SIGTERM stops it cleanly');
    },
  },
];
