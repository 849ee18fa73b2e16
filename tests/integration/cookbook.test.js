// The cookbook in lua/README.md, read from the README itself: nine sysop
// customizations, each a complete file well under 30 lines. The shipped
// ones must be exactly the files in lua/; the others are loaded into a
// running server together and used, so the cookbook cannot rot.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq, ROOT } = require('../lib/harness');
const { RawTelnet } = require('../lib/rawtelnet');

const SHIPPED = ['commands/roll.lua', 'oneliners.lua', 'lastcallers.lua', 'commands/topic.lua'];

// The cookbook's files: every ```lua <path> block of the Cookbook section.
function cookbook() {
  const readme = fs.readFileSync(path.join(ROOT, 'lua', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Cookbook\n'));
  const end = section.indexOf('\n## ', 5);
  const text = end > 0 ? section.slice(0, end) : section;
  return [...text.matchAll(/^```lua ([\w/.-]+\.lua)\n([\s\S]*?)^```$/gm)].map((m) => ({ path: m[1], src: m[2] }));
}

exports.setup = async (t) => {
  if (t.noServer) return {};
  const srv = await Server.start({ set: { sysops: 'root' } });
  for (const { path: p, src } of cookbook()) {
    if (SHIPPED.includes(p)) continue; // already there, as the first test checks
    fs.mkdirSync(path.dirname(path.join(srv.scripts, p)), { recursive: true });
    fs.writeFileSync(path.join(srv.scripts, p), src);
  }
  const t0 = Date.now();
  while (!/scripts reloaded/.test(srv.log)) {
    if (Date.now() - t0 > 5000) throw new Error('the cookbook did not load:\n' + srv.log.slice(-1500));
    await sleep(20);
  }
  await sleep(300); // files saved one after another may set off a second reload
  return { srv };
};

exports.tests = [
  {
    name: 'the cookbook has nine complete files, each under 30 lines; the shipped ones are exactly the files in lua/',
    noServer: true,
    fn: async () => {
      const files = cookbook();
      eq(files.length, 9, 'nine files: ' + files.map((f) => f.path).join(', '));
      for (const f of files) {
        const lines = f.src.split('\n').length - 1;
        assert(lines < 30, `${f.path} has ${lines} lines`);
      }
      for (const p of SHIPPED) {
        const f = files.find((x) => x.path === p);
        assert(f, 'the cookbook shows ' + p);
        eq(f.src, fs.readFileSync(path.join(ROOT, 'lua', p), 'utf8'), p + ' as shipped');
      }
    },
  },
  {
    name: 'cookbook: dice, the wall, last callers, topics, timestamps and the first-login welcome, all loaded together',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.user('alice');
      assert(a.events.some((e) => e.type === 'text' && /^Welcome aboard, alice!/.test(strip(e.text))), 'welcomed at the first login');
      await root.chat('system', { body: /alice just joined the board/ });
      a.input('o');
      a.input('first on the wall');
      await a.text(/Your line is on the wall/);
      a.input('l');
      assert(/^alice\s/m.test(strip((await a.text(/== Last callers ==/)).text).split('\n').slice(2).join('\n')), 'in the last callers');
      a.input('c');
      await a.chat('join', { from: 'alice' });
      a.input('/topic dice night');
      const topic = await a.chat('system', { body: 'alice set the topic: dice night' });
      assert(/^\[\d\d:\d\d\] \*\*\* alice set the topic/.test(strip(topic.text)), 'a timestamp on the line: ' + topic.text);
      a.input('/roll 2d6');
      await root.chat('system', { body: /^alice rolls 2d6: \d \+ \d = \d+$/ });
      a.input('hello all');
      assert(/^\[\d\d:\d\d\] <alice> hello all$/.test(strip((await root.chat('say', { from: 'alice' })).text)), 'timestamps');
      root.input('/level alice');
      await root.text(/^alice is at level 10\.$/);
    },
  },
  {
    name: 'cookbook: the bot answers, the ANSI welcome suits each terminal, the door game plays on single keys',
    fn: async ({ srv }) => {
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('xterm-256color', 80, 24);
      await r.expect(/\x1b\[38;5;195;1m/, 4000); // the 256-colour art
      await r.expect(/Welcome to .*partyline.* You are on node \d+; it is \w+day, \d\d:\d\d\./);
      const v = new RawTelnet(srv.telnetPort);
      v.terminal('vt100', 80, 24);
      await v.expect(/Welcome to/);
      assert(!/38;5;/.test(v.text()) && !/38;5;/.test(v.buf.toString()), 'no palette codes on a 16-colour terminal');
      await r.register('dora');
      r.line('h');
      await r.expect(/The card is [A2-9TJQK]\. \[H\]igher, \[L\]ower, or \[Q\]uit\?/);
      r.send('h'); // one key, no Enter
      await r.expect(/[A2-9TJQK]: (right! Score 1|wrong\. Score 0)/);
      r.send('q');
      await r.expect(/You scored \d+; your best is \d+\./);
      await r.expect(/Your choice: /);
      r.line('c');
      await r.expect(/You are in #lobby/);
      r.line('/who');
      await r.expect(/Oracle\s+Answering questions/);
      r.line('Oracle: will it rain?');
      await r.expect(/<Oracle>.*dora: (It is certain|Ask again later|Very doubtful|Yes, definitely)\./);
      r.line('/msg oracle and tomorrow?');
      await r.expect(/\*Oracle\*.* (It is certain|Ask again later|Very doubtful|Yes, definitely)\./);
      r.close();
      v.close();
    },
  },
];
