// Faults stay with their author (issue 13): a failing message hook,
// command, service, timer or listener is blamed and put out of service on
// its own; nobody is left stranded by a failure at login, a service that
// is gone, or one put out of service; sysops see faults as they happen.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

function count(srv, re) { return (srv.log.match(re) || []).length; }
async function until(srv, re, n, what) {
  const t0 = Date.now();
  while (count(srv, re) < n) {
    if (Date.now() - t0 > 5000) throw new Error('never saw ' + what + '; log:\n' + srv.log.slice(-800));
    await sleep(20);
  }
}
const reloaded = (srv, n) => until(srv, /scripts reloaded/g, n, n + ' reloads');
function write(srv, files) {
  for (const [file, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(srv.scripts, file)), { recursive: true });
    fs.writeFileSync(path.join(srv.scripts, file), src);
  }
}
const system = (c, re, what) => c.chat('system', { body: re }, what);

exports.tests = [
  {
    // issue 13: three failures of a hook disabled chat for the whole board; "good night" then logged users off
    name: 'a message hook that fails on a trigger word typed three times: chat goes on for everyone, the hook alone is put out',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      write(srv, { 'zz_hook.lua': `pl.message_hook("20-trigger", function(s, msg)
  if msg.body:find("banana") then error("cannot handle fruit") end
end)
pl.message_hook("30-upper", function(s, msg) return { body = msg.body:gsub("loud", "LOUD") } end)
` });
      await reloaded(srv, 1);
      for (let i = 1; i <= 3; i++) {
        a.input('banana loud ' + i);
        eq((await b.chat('say', { from: 'alice' })).body, 'banana LOUD ' + i, 'the line went out, past the failing hook');
      }
      const first = await system(root, /^Script error in message hook '20-trigger', for alice: zz_hook\.lua:2: cannot handle fruit$/, 'told at once');
      assert(first, 'first failure');
      const off = await system(root, /^Message hook '20-trigger' failed 3 times within a minute and is disabled/);
      assert(/zz_hook\.lua:1\)\. The last error: zz_hook\.lua:2: cannot handle fruit$/.test(off.body), 'why: ' + off.body);
      eq(root.events.filter((e) => e.type === 'chat' && /^Script error in message hook/.test(e.body || '')).length, 1, 'the first failure is told once');
      // chat goes on, in chat: "good night" is a line, not the menu's Goodbye
      b.input('good night');
      eq((await a.chat('say', { from: 'bob' })).body, 'good night', 'chat still works');
      a.input('banana 4');
      eq((await b.chat('say', { from: 'alice' })).body, 'banana 4', 'the hook is out of service, lines go out');
      assert(!b.closed && !a.closed, 'nobody was logged off');
      await a.none((e) => e.type === 'menu', 100, 'nobody was thrown to the menu');
      eq(count(srv, /in message hook '20-trigger'/g), 3, 'three faults, then it is not run');
    },
  },
  {
    name: 'a service put out of service moves whoever is in it to the menu at once, told; a line typed then is no menu key',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.user('alice');
      const b = await srv.user('bob');
      write(srv, { 'zz_bar.lua': `pl.service{ id = "bar", enter = function(s) s:prompt("Order: ") end,
  input = function(s, line) if line == "beer" then error("out of beer") end s:text("served " .. line) s:prompt("Order: ") end }
pl.menu_item{ key = "B", label = "Bar", service = "bar" }
` });
      await reloaded(srv, 1);
      for (const c of [a, b]) {
        c.input('b');
        await c.waitFor((e) => e.type === 'prompt' && e.text === 'Order: ');
      }
      for (let i = 0; i < 3; i++) {
        a.input('beer');
        eq((await a.waitFor((e) => e.type === 'error')).code, 'script_error', 'fault ' + i);
      }
      await system(root, /^Service bar failed 3 times within a minute and is disabled until its file is reloaded/);
      for (const c of [a, b]) {
        await c.text(/out of order for now; the sysop has been told\. You are back at the main menu/, 'told');
        await c.waitFor((e) => e.type === 'menu' && e.id === 'main', 'at the menu');
      }
      b.input('good night');
      await b.text(/That line was meant for where you were\. You are at the main menu now: type the letter of your choice\./);
      await b.waitFor((e) => e.type === 'menu' && e.id === 'main');
      await b.none((e) => e.type === 'bye', 200, 'not logged off by the G of "good night"');
      b.input('c');
      await b.chat('join', { from: 'bob' });
    },
  },
  {
    // issue 13: "One moment, checking..." forever when a script failed during login
    name: 'login listeners that fail and run out of time: the user still reaches the menu',
    fn: async ({ srv }) => {
      write(srv, { 'zz_login.lua': `pl.on("login", function(s) error("welcome broke") end)
for i = 1, 11 do pl.on("login", function(s) while true do end end) end
` });
      await reloaded(srv, 1);
      const t = await srv.telnet();
      t.line('new');
      await t.expect(/New handle: /);
      t.line('carol');
      await t.expect(/Choose a password/);
      t.line('carol-pass-9');
      await t.expect(/Repeat the password/);
      t.line('carol-pass-9');
      await t.expect(/Welcome, carol!/);
      await t.expect(/Your choice: /, 8000);
      t.line('c');
      await t.expect(/You are in #lobby/);
    },
  },
  {
    name: 'the words for a failed login failing: an error and a fresh prompt, and the next try gets in',
    fn: async ({ srv }) => {
      write(srv, { 'zz_words.lua': `local failed = pl.services.login.login_failed
pl.services.login.login_failed = function(s, code) if code == "bad_login" then error("words broke") end return failed(s, code) end
` });
      await reloaded(srv, 1);
      srv.addUser('dave', 'dave-secret-1');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt' && /Handle/.test(e.text), 'prompt');
      c.input('dave');
      await c.waitFor((e) => e.type === 'prompt' && e.secret, 'password prompt');
      c.input('wrong-password');
      eq((await c.waitFor((e) => e.type === 'error', 'error', 8000)).code, 'script_error', 'the failure is told');
      await c.waitFor((e) => e.type === 'prompt' && /Handle/.test(e.text), 'a fresh prompt');
      c.input('dave');
      await c.waitFor((e) => e.type === 'prompt' && e.secret);
      c.input('dave-secret-1');
      await c.waitFor((e) => e.type === 'menu' && e.id === 'main', 'and in');
    },
  },
  {
    name: 'a banner that fails on connect: an error and the handle prompt',
    fn: async ({ srv }) => {
      write(srv, { 'zz_banner.lua': 'function pl.banner(s) error("banner broke") end\n' });
      await reloaded(srv, 1);
      const c = await srv.ws();
      eq((await c.waitFor((e) => e.type === 'error')).code, 'script_error', 'told');
      await c.waitFor((e) => e.type === 'prompt' && /Handle/.test(e.text), 'a fresh prompt');
      c.send({ type: 'register', handle: 'erin', password: 'erin-secret-1' });
      await c.waitFor((e) => e.type === 'menu' && e.id === 'main', 'in');
    },
  },
  {
    // issue 13: input was silently dropped for whoever was in a service whose file went away
    name: 'removing a service\'s file sends whoever is in it to the main menu with a notice',
    fn: async ({ srv }) => {
      write(srv, { 'games/door.lua': `pl.service{ id = "door", enter = function(s) s:prompt("Door> ") end,
  input = function(s, line) s:text("door heard " .. line) s:prompt("Door> ") end }
pl.menu_item{ key = "D", label = "Door", service = "door" }
` });
      await reloaded(srv, 1);
      const a = await srv.user('alice');
      a.input('d');
      await a.waitFor((e) => e.type === 'prompt' && e.text === 'Door> ');
      fs.rmSync(path.join(srv.scripts, 'games'), { recursive: true });
      await reloaded(srv, 2);
      await a.text(/That part of the system is gone; you are back at the main menu/);
      await a.waitFor((e) => e.type === 'menu' && e.id === 'main');
      a.input('g'); // on its way for the door as it went: not the menu's Goodbye
      await a.text(/That line was meant for where you were/);
      await a.none((e) => e.type === 'bye', 100, 'not logged off');
      a.input('c');
      await a.chat('join', { from: 'alice' });
    },
  },
  {
    // issue 13: 16 errors in 3 s, stopped each time and never disabled
    name: 'a timer that keeps failing is stopped after three faults within a minute, and the sysops are told why',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      write(srv, { 'zz_tick.lua': 'pl.every(100, function() error("tick broke") end)\n' });
      await reloaded(srv, 1);
      await system(root, /^Script error in timer: zz_tick\.lua:1: tick broke$/, 'the first at once');
      const off = await system(root, /^Timer failed 3 times within a minute and is disabled/);
      assert(/\(zz_tick\.lua:1\)\. The last error: zz_tick\.lua:1: tick broke$/.test(off.body), off.body);
      await sleep(500);
      eq(count(srv, /in a timer: zz_tick\.lua:1: tick broke/g), 3, 'no more runs after three');
    },
  },
  {
    name: 'sysops hear of each function\'s first fault at once; listeners that keep failing are put out; fault listeners get what, where, count',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      write(srv, {
        'commands/oops.lua': 'pl.command{ name = "oops", run = function(s) error("oops " .. s.handle) end }\n',
        'zz_listen.lua': `pl.on("line", function(s, ev) if ev.body == "boom" then error("listener boom") end end)
pl.on("fault", function(file, line, message, s, info)
  pl.log("fault info: " .. info.what .. " | " .. tostring(info.func) .. " | " .. info.count .. " | " .. tostring(info.disabled), "fault_info")
end)
`,
      });
      await reloaded(srv, 1);
      a.input('/oops');
      await a.waitFor((e) => e.type === 'error');
      await system(root, /^Script error in command \/oops, for alice: commands\/oops\.lua:1: oops alice$/, 'at once');
      a.input('/oops');
      await a.waitFor((e) => e.type === 'error');
      await srv.waitLog(/fault info: command \/oops \| commands\/oops\.lua:1 \| 2 \| false/);
      for (let i = 0; i < 3; i++) {
        a.input('boom');
        await a.chat('say', { from: 'alice', body: 'boom' });
      }
      await system(root, /^Listener of 'line' failed 3 times within a minute and is disabled .*zz_listen\.lua:1/);
      a.input('boom');
      await a.chat('say', { from: 'alice', body: 'boom' });
      await sleep(100);
      eq(count(srv, /in a listener of 'line': zz_listen\.lua:1: listener boom/g), 3, 'not run once out of service');
      eq(root.events.filter((e) => e.type === 'chat' && /^Script error in command \/oops/.test(e.body || '')).length, 1, 'once per function');
    },
  },
];
