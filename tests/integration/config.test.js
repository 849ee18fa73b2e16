// Configuration from one table (core/base/config_keys.h): `partyline --help`
// lists every key with its default and the values it takes; etc/partyline.conf
// and the README's configuration table must list exactly those keys (the file
// with each key's default); and every key refuses, at start and naming the
// key, a value it does not take, whether it comes from --set or from a file.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { assert, eq, ROOT, BUILD } = require('../lib/harness');

const BIN = path.join(ROOT, BUILD, 'partyline');
// under the sanitizers too: a leak or undefined behaviour in parsing fails
const ENV = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' };

function run(args) {
  const r = spawnSync(BIN, args.map(String), { encoding: 'utf8', timeout: 20000, env: ENV });
  assert(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(r.stderr), 'sanitizer report:\n' + r.stderr);
  return r;
}

// The keys --help lists, in its order: name -> { def, allowed } where allowed
// is the text in [...] at the end of the key's help line ("0..65535",
// "yes|no", "debug|info|warn|error") or null for free text.
function helpKeys() {
  const r = run(['--help']);
  eq(r.status, 0, '--help exit status');
  const lines = r.stdout.split('\n');
  const start = lines.findIndex((l) => /^configuration keys/.test(l));
  assert(start > 0, '--help lists the keys:\n' + r.stdout.slice(0, 600));
  const keys = new Map();
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^ {2}([a-z0-9_]+) = (.*)$/.exec(lines[i]);
    if (!m) continue;
    const help = lines[i + 1] || '';
    assert(/^ {6}\S/.test(help), `${m[1]} has a line of help: ${JSON.stringify(help)}`);
    assert(!keys.has(m[1]), `${m[1]} listed once`);
    const a = /\[([^\]]*)\]$/.exec(help);
    keys.set(m[1], { def: m[2].trim(), allowed: a ? a[1] : null });
  }
  assert(keys.size > 40, `--help lists ${keys.size} keys`);
  return keys;
}

// key = value lines as the server reads them ('#' to the end of a line is a comment)
function confKeys(file) {
  const keys = new Map(), twice = [];
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([^=]*?)\s*=\s*(.*)$/.exec(line);
    assert(m, `${path.basename(file)}: not a key = value line: ${raw}`);
    if (keys.has(m[1])) twice.push(m[1]);
    keys.set(m[1], m[2]);
  }
  return { keys, twice };
}

// The table under "## Configuration": each `key` of the first column, with
// its part of the second (a row of n keys has n defaults, ", " between).
function readmeKeys() {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('Configuration'));
  assert(section, 'README.md has a Configuration section');
  const keys = [], defs = new Map();
  for (const line of section.split('\n')) {
    if (!/^\| `/.test(line)) continue;
    const cells = line.split('|');
    const names = [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const parts = names.length === 1 ? [cells[2].trim()] : cells[2].split(', ').map((s) => s.trim());
    assert(parts.length === names.length, `README.md: ${names.length} keys, ${parts.length} defaults: ${line}`);
    names.forEach((k, i) => { keys.push(k); defs.set(k, parts[i]); });
  }
  return { keys, defs };
}

// have: names; want: the Map from helpKeys
function sameSet(have, want, what) {
  const missing = [...want.keys()].filter((k) => !have.includes(k));
  const extra = have.filter((k) => !want.has(k));
  assert(!missing.length && !extra.length,
    `${what}: missing ${JSON.stringify(missing)}, not keys ${JSON.stringify(extra)}`);
}

// Values a key takes, and values it must refuse.
function samples(name, allowed) {
  if (allowed === null) return { good: [], bad: [] };
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(allowed);
  if (range) {
    const lo = Number(range[1]), hi = Number(range[2]);
    return { good: [lo, hi], bad: [lo - 1, hi + 1, '', 'many', `${lo}x`, '1.5', `${hi}0000000000000000000`] };
  }
  const words = allowed.split('|');
  assert(words.length >= 2 && words.every((w) => /^[a-z]+(-[a-z]+)*$/.test(w)), `${name}: ${allowed}`); // words, or words-with-hyphens
  return { good: words.concat(words[0].toUpperCase()), bad: ['', 'bogus', words[0] + 'x', words.join('|')] };
}

exports.setup = async () => ({});

exports.tests = [
  {
    name: 'etc/partyline.conf sets every key --help lists, once, to its default, and nothing else',
    fn: async () => {
      const keys = helpKeys();
      const file = path.join(ROOT, 'etc', 'partyline.conf');
      const conf = confKeys(file);
      eq(JSON.stringify(conf.twice), '[]', 'keys set twice');
      sameSet([...conf.keys.keys()], keys, 'etc/partyline.conf');
      for (const [k, { def }] of keys) eq(conf.keys.get(k), def, `etc/partyline.conf: ${k}`);
      const r = run(['--config', file, '--version']);
      eq(r.status, 0, `the file loads: ${r.stderr}`);
    },
  },
  {
    name: 'the README\'s configuration table names every key, once, with its default, and nothing else',
    fn: async () => {
      const keys = helpKeys();
      const { keys: readme, defs } = readmeKeys();
      eq(JSON.stringify(readme.filter((k, i) => readme.indexOf(k) !== i)), '[]', 'keys named twice');
      sameSet(readme, keys, 'README.md');
      // the default itself, perhaps with a word on what it means ("0 (queue_max/2)"),
      // or only such a word in parentheses ("(stderr)")
      for (const [k, { def }] of keys) {
        const d = defs.get(k);
        assert(d === def || d.startsWith(def + ' (') || /^\(.*\)$/.test(d), `README.md: ${k} defaults to ${JSON.stringify(def)}, not ${JSON.stringify(d)}`);
      }
    },
  },
  {
    name: 'every key takes the values --help names, and refuses others with the key\'s name',
    fn: async () => {
      const keys = helpKeys();
      const good = [];
      let checked = 0;
      for (const [k, { allowed }] of keys) {
        const s = samples(k, allowed);
        for (const v of s.good) good.push('--set', `${k}=${v}`);
        for (const v of s.bad) {
          const r = run(['--set', `${k}=${v}`, '--version']);
          eq(r.status, 2, `${k}=${v} refused`);
          assert(r.stderr.includes(`'${k}'`), `${k}=${v}: the error names the key: ${r.stderr}`);
          assert(!/^partyline \d/m.test(r.stdout), `${k}=${v}: stopped before anything else`);
          checked++;
        }
      }
      assert(checked > 200, `${checked} refusals checked`);
      const r = run(good.concat(['--version']));
      eq(r.status, 0, `every allowed value taken: ${r.stderr}`);
      const unknown = run(['--set', 'log_levle=info', '--version']);
      eq(unknown.status, 2, 'an unknown key');
      assert(/unknown key 'log_levle'/.test(unknown.stderr), unknown.stderr);
    },
  },
  {
    name: 'a refused value in a file names the file, the line and the key; the server does not start',
    fn: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partyline-config-'));
      try {
        const file = path.join(dir, 'bad.conf');
        fs.writeFileSync(file, '# a board\nname = test\nlog_level = verbose   # was read as info\n');
        const data = path.join(dir, 'var');
        // no --version: a real start, which must stop at the bad line
        const r = run(['--config', file, '--data', data, '--ws-port', '0', '--telnet-port', '0']);
        eq(r.status, 2, 'exit status');
        assert(r.stderr.includes(`${file}:3: 'log_level' wants one of debug|info|warn|error, not 'verbose'`), r.stderr);
        assert(!fs.existsSync(data), 'nothing was made');
        const log = run(['--data', data, '--ws-port', '0', '--telnet-port', '0', '--set', `log_file=${dir}/no/such/dir.log`]);
        eq(log.status, 2, 'a log file that cannot be opened');
        assert(/^partyline: log_file: cannot open .*no\/such\/dir\.log: No such file or directory$/m.test(log.stderr), log.stderr);
        assert(!fs.existsSync(data), 'nothing was made');
        for (const [line, key] of [['slow_policy = drop', 'slow_policy'], ['telnet_color = on', 'telnet_color'],
          ['registration = sometimes', 'registration'], ['grace_s = 1m', 'grace_s'], ['log_json =', 'log_json']]) {
          fs.writeFileSync(file, line + '\n');
          const b = run(['--config', file, '--version']);
          eq(b.status, 2, line);
          assert(b.stderr.includes(`${file}:1: '${key}'`), `${line}: ${b.stderr}`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
