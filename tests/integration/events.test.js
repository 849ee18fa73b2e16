// The Lua API as a contract: events (pl.on, pl.emit) in load order, each
// listener under its own budget and blamed alone; the core's names in pl
// that no script replaces by accident; names taken twice refused with both
// files; pl.api and pl.loading_file.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

function count(srv, re) { return (srv.log.match(re) || []).length; }
async function until(srv, re, n, what) {
  const t0 = Date.now();
  while (count(srv, re) < n) {
    if (Date.now() - t0 > 4000) throw new Error('never saw ' + what + '; log:\n' + srv.log.slice(-800));
    await sleep(20);
  }
}
const reloaded = (srv, n) => until(srv, /scripts reloaded/g, n, n + ' reloads');
const failed = (srv, n) => until(srv, /script reload failed/g, n, n + ' failed reloads');

// Writes files (path under the scripts folder -> source) at once.
function write(srv, files) {
  for (const [file, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(srv.scripts, file)), { recursive: true });
    fs.writeFileSync(path.join(srv.scripts, file), src);
  }
}

async function metrics(srv) { return (await fetch(srv.http('/metrics'))).text(); }

// The texts a client got from index `from` on that start with tag.
const tagged = (c, tag) => c.events.filter((e) => typeof e.text === 'string' && e.text.startsWith(tag)).map((e) => e.text);

exports.tests = [
  {
    name: 'listeners run in load order (the files\' path order, then order within a file)',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      write(srv, {
        'zz_last.lua': 'pl.on("line", function(s, ev) s:text("order: zz_last " .. ev.body) end)\n',
        'commands/mid.lua': 'pl.on("line", function(s, ev) s:text("order: commands/mid " .. ev.body) end)\n',
        'aaa_first.lua': 'pl.on("line", function(s, ev) s:text("order: aaa_first 1 " .. ev.body) end)\n' +
          'pl.on("line", function(s, ev) s:text("order: aaa_first 2 " .. ev.body) end)\n',
      });
      await reloaded(srv, 1);
      a.input('hello');
      await a.text(/^order: zz_last hello$/);
      eq(tagged(a, 'order:').join(' | '),
        'order: aaa_first 1 hello | order: aaa_first 2 hello | order: commands/mid hello | order: zz_last hello', 'order');
    },
  },
  {
    name: 'a listener that fails or runs away is logged and counted against its own file; the others still run, each with its own budget',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      write(srv, {
        // a helper in another file raises: the listener's file is blamed
        'aa_helper.lua': 'function pl.trouble() error("listener trouble") end\n',
        'bb_fails.lua': 'pl.on("line", function() pl.trouble() end)\n',
        'cc_spins.lua': 'pl.on("line", function() while true do end end)\n',
        'dd_after.lua': 'pl.on("line", function(s, ev) s:text("after: " .. ev.body) end)\n',
        'ee_fault.lua': 'pl.on("fault", function(file, line, message, s)\n' +
          '  pl.tell_sysops("fault in " .. file .. " line " .. tostring(line) .. " for " .. tostring(s and s.handle) .. ": " .. message)\n' +
          'end)\n',
      });
      await reloaded(srv, 1);
      a.input('still heard');
      await root.chat('say', { from: 'alice', body: 'still heard' }, 'the line went out');
      await a.text(/^after: still heard$/, 'the listener after two failing ones ran');
      assert(/in a listener of 'line': aa_helper\.lua:1: listener trouble/.test(srv.log), 'logged: ' + srv.log.slice(-800));
      assert(/in a listener of 'line': cc_spins\.lua:1: script ran longer than 100 ms/.test(srv.log), 'stopped by its budget');
      const f1 = await root.chat('system', { body: /^fault in bb_fails\.lua/ });
      eq(f1.body, 'fault in bb_fails.lua line nil for alice: aa_helper.lua:1: listener trouble', 'fault event for a helper\'s error');
      const f2 = await root.chat('system', { body: /^fault in cc_spins\.lua/ });
      eq(f2.body, 'fault in cc_spins.lua line 1 for alice: cc_spins.lua:1: script ran longer than 100 ms and was stopped', 'fault event');
      await a.none((e) => e.type === 'error', 200, 'the user who spoke is not troubled');
      const m = await metrics(srv);
      assert(/^partyline_script_faults_total\{file="bb_fails\.lua"\} 1$/m.test(m), 'counted against the listener\'s file: ' + m);
      assert(/^partyline_script_faults_total\{file="cc_spins\.lua"\} 1$/m.test(m), 'the spinning one too');
      assert(!/file="aa_helper\.lua"/.test(m), 'not against the helper\'s file');
      a.input('and again');
      await a.text(/^after: and again$/);
    },
  },
  {
    name: 'register (before the account is made), login (first, previous, logins), logoff, join, leave and reload events carry what they say',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      write(srv, {
        'zz_watch.lua': [
          'pl.on("register", function(s, reg) pl.tell_sysops("register " .. reg.handle .. " logged in=" .. tostring(s.handle ~= nil)) end)',
          'pl.on("login", function(s, info) pl.tell_sysops("login " .. s.handle .. " first=" .. tostring(info.first) .. " previous=" .. tostring(info.previous) .. " logins=" .. info.logins) end)',
          'pl.on("logoff", function(s) pl.tell_sysops("logoff " .. s.handle) end)',
          'pl.on("join", function(s, room) pl.tell_sysops("join " .. s.handle .. " " .. room) end)',
          'pl.on("leave", function(s, room, reason) pl.tell_sysops("leave " .. s.handle .. " " .. room .. " " .. tostring(reason)) end)',
          'pl.on("reload", function() pl.tell_sysops("reload seen") end)',
          '',
        ].join('\n'),
      });
      await reloaded(srv, 1);
      await root.chat('system', { body: 'reload seen' });
      const n = await srv.user('newbie');
      await root.chat('system', { body: 'register newbie logged in=false' });
      await root.chat('system', { body: 'login newbie first=true previous=nil logins=1' });
      n.input('c');
      await root.chat('system', { body: 'join newbie lobby' });
      n.input('/join den');
      await root.chat('system', { body: 'leave newbie lobby nil' });
      await root.chat('system', { body: 'join newbie den' });
      n.input('/quit');
      await root.chat('system', { body: 'leave newbie den nil' });
      await n.waitFor((e) => e.type === 'menu' && e.id === 'main');
      n.input('g');
      await root.chat('system', { body: 'logoff newbie' });
      const before = Date.now();
      const again = await srv.login('newbie', n.password);
      await again.waitFor((e) => e.type === 'auth');
      const l = await root.chat('system', { body: /^login newbie / });
      const m = /^login newbie first=false previous=(\d+) logins=2$/.exec(l.body);
      assert(m, l.body);
      assert(Number(m[1]) <= before && Number(m[1]) > before - 60000, 'the previous login, in milliseconds: ' + m[1]);
      await again.text(/Welcome, newbie! You are on node \d+\. Your last login was \d{4}-\d\d-\d\d \d\d:\d\d \S+\./);
      await root.none((e) => e.type === 'chat' && /^register newbie/.test(e.body || ''), 200, 'register is for making the account only');
    },
  },
  {
    name: 'a gatekeeper on admit that fails keeps users out (try again later) but lets sysops in',
    fn: async ({ srv }) => {
      srv.addUser('carol');
      srv.addUser('root', 'secret-root', { sysop: true });
      write(srv, { 'zz_gate.lua': 'pl.on("admit", function(s) error("gate broken") end)\n' });
      await reloaded(srv, 1);
      const c = await srv.login('carol', 'secret-carol');
      const bye = await c.waitFor((e) => e.type === 'bye', 'bye');
      eq(bye.reason, 'unavailable', 'reason');
      assert(/try again/.test(bye.text), bye.text);
      await c.none((e) => e.type === 'menu', 200, 'no menu for carol');
      const r = await srv.login('root', 'secret-root');
      await r.waitFor((e) => e.type === 'menu' && e.id === 'main', 'the sysop reaches the menu');
    },
  },
  {
    name: 'the core\'s names in pl cannot be replaced by a script; scripts still add their own',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      write(srv, { 'zz_clobber.lua': 'pl.send = nil\n' });
      await failed(srv, 1);
      assert(/zz_clobber\.lua:1: pl\.send belongs to the core and cannot be replaced/.test(srv.log), srv.log.slice(-600));
      await root.chat('system', { body: /Script reload failed.*pl\.send belongs to the core/ });
      write(srv, { 'zz_clobber.lua': 'pl.db.exec = function() end\n' });
      await failed(srv, 2);
      assert(/zz_clobber\.lua:1: pl\.db\.exec belongs to the core/.test(srv.log), srv.log.slice(-600));
      write(srv, { 'zz_clobber.lua': 'pl.hooks = {}\n' });
      await failed(srv, 3);
      assert(/zz_clobber\.lua:1: pl\.hooks belongs to the core/.test(srv.log), srv.log.slice(-600));
      a.input('/me still sends');
      await a.chat('action', { from: 'alice', body: 'still sends' });
      write(srv, {
        'zz_clobber.lua': 'pl.mine = { word = "own names are fine" }\n' +
          'pl.command{ name = "mine", run = function(s) s:text(pl.mine.word .. " " .. tostring(getmetatable(pl))) end }\n',
      });
      await reloaded(srv, 1);
      a.input('/mine');
      await a.text(/^own names are fine false$/);
    },
  },
  {
    name: 'a second file taking a command, an alias or a menu key is refused, naming both files; the running scripts stay',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      write(srv, { 'commands/dup.lua': 'pl.command{ name = "me", run = function(s) s:text("the second /me") end }\n' });
      await failed(srv, 1);
      assert(/commands\/dup\.lua:1: command \/me is registered twice: in commands\/basic\.lua and in commands\/dup\.lua/.test(srv.log),
        srv.log.slice(-600));
      await root.chat('system', { body: /Script reload failed.*\/me is registered twice: in commands\/basic\.lua and in commands\/dup\.lua/ });
      a.input('/me is the first');
      await a.chat('action', { from: 'alice', body: 'is the first' });
      write(srv, { 'commands/dup.lua': 'pl.command{ name = "wave", aliases = { "j" }, run = function(s) end }\n' });
      await failed(srv, 2);
      // commands/dup.lua loads before commands/rooms.lua: rooms.lua is the second
      assert(/commands\/rooms\.lua:\d+: command \/j is registered twice: in commands\/dup\.lua and in commands\/rooms\.lua/.test(srv.log),
        srv.log.slice(-600));
      write(srv, { 'commands/dup.lua': 'pl.menu_item{ key = "m", label = "More", run = function(s) end }\n' });
      await failed(srv, 3);
      assert(/mail\.lua:\d+: menu key M is registered twice: in commands\/dup\.lua and in mail\.lua/.test(srv.log), srv.log.slice(-600));
      fs.unlinkSync(path.join(srv.scripts, 'commands', 'dup.lua'));
      await reloaded(srv, 1);
    },
  },
  {
    name: 'pl.api has a version; pl.loading_file names the file while it loads, nil after',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      write(srv, {
        'commands/probe.lua': 'local me = pl.loading_file()\n' +
          'pl.command{ name = "probe", run = function(s)\n' +
          '  s:text("api " .. pl.api.major .. "." .. pl.api.minor .. " " .. math.type(pl.api.major) .. " loaded " .. me .. " now " .. tostring(pl.loading_file()))\n' +
          'end }\n',
      });
      await reloaded(srv, 1);
      a.input('/probe');
      await a.text(/^api 2\.0 integer loaded commands\/probe\.lua now nil$/);
    },
  },
];
