// Runs every test: the C++ and Lua unit tests, then the integration suites
// in tests/integration against the real server. Ends with "N passed, N failed".
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT, BUILD } = require('./lib/harness');

let passed = 0, failed = 0;
const failures = [];

function countExternal(name, cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
  const out = (r.stdout || '') + (r.stderr || '');
  process.stdout.write(out.split('\n').filter((l) => /^(ok|FAIL)/.test(l)).map((l) => `  [${name}] ${l}`).join('\n') + '\n');
  const m = /(\d+) passed, (\d+) failed/.exec(out);
  if (!m || r.status !== 0 && Number(m ? m[2] : 0) === 0) {
    failed++;
    failures.push(`${name}: did not run cleanly (exit ${r.status})\n${out.slice(-2000)}`);
    console.log(`FAIL ${name} (exit ${r.status})`);
    return;
  }
  passed += Number(m[1]);
  failed += Number(m[2]);
  if (Number(m[2])) failures.push(`${name}:\n` + out.split('\n').filter((l) => l.startsWith('FAIL')).join('\n'));
}

async function main() {
  const only = process.argv[2];
  if (!only) {
    console.log('# unit: C++, the model alone (base + model: ring, ports, slow readers, routing)');
    countExternal('model', path.join(ROOT, BUILD, 'unit_model'), []);
    console.log('# unit: C++ (telnet engine, text, rooms, config, accounts policy, net)');
    countExternal('unit', path.join(ROOT, BUILD, 'unit_tests'), []);
    console.log('# unit: Lua (command parsing, rendering)');
    countExternal('lua', 'lua5.4', ['tests/unit/lua_test.lua']);
  }
  const dir = path.join(__dirname, 'integration');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.js') && (!only || f.includes(only))).sort();
  // The storage suites again on PostgreSQL (a throwaway cluster, a database
  // per board: tests/lib/harness.js), after everything on SQLite; and the
  // scripting ones, where hooks and timers run as tasks that wait for it.
  if (!only) {
    for (const f of ['accounts', 'mail', 'profile', 'ignore', 'sysop', 'history', 'tokens', 'crash', 'events', 'timers', 'sandbox', 'session', 'telnet', 'bbs', 'chat'])
      files.push(f + '.test.js@postgres');
  }
  for (const entry of files) {
    const [f, store] = entry.split('@');
    if (store) process.env.PARTYLINE_TEST_STORE = store;
    console.log('# ' + entry);
    const suite = require(path.join(dir, f));
    for (const t of suite.tests) {
      const t0 = Date.now();
      let ctx = null;
      try {
        ctx = suite.setup ? await suite.setup(t) : {};
        await Promise.race([
          t.fn(ctx),
          new Promise((_, rej) => setTimeout(() => rej(new Error('test took over 60 s')), 60000)),
        ]);
        passed++;
        console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        const log = ctx && ctx.srv ? '\n  server log tail:\n' + ctx.srv.log.split('\n').slice(-15).join('\n') : '';
        failures.push(`${f} :: ${t.name}\n  ${e.stack || e}${log}`);
        console.log(`FAIL ${t.name}: ${String(e.message).split('\n')[0]}`);
      } finally {
        // ctx.srv, and on a board of many processes the others (ctx.servers)
        const servers = ctx ? [...new Set([ctx.srv, ...(ctx.servers || [])].filter(Boolean))] : [];
        for (const srv of servers) {
          const exit = await srv.stop();
          // a clean stop exits 0; a crash, a sanitizer report or a leak does not
          const bad = (exit.signal && exit.signal !== 'SIGKILL') || (exit.code !== null && exit.code !== 0);
          if (bad || /ERROR: (Address|Leak)Sanitizer|runtime error:/.test(srv.log)) {
            failed++;
            failures.push(`${t.name}: server exit ${JSON.stringify(exit)}\n${srv.log.slice(-3000)}`);
            console.log(`FAIL ${t.name}: the server did not stop cleanly (${JSON.stringify(exit)})`);
          }
        }
        for (const srv of servers) srv.cleanup();
        if (ctx && ctx.teardown) await ctx.teardown();
      }
    }
  }
  if (failures.length) console.log('\nFailures:\n' + failures.join('\n\n'));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
