// Live reload of the Lua scripts while users are connected.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

async function reloaded(srv, count) {
  const t0 = Date.now();
  const n = () => (srv.log.match(/scripts reloaded/g) || []).length;
  while (n() < count) {
    if (Date.now() - t0 > 3000) throw new Error('no reload in 3 s; log:\n' + srv.log.slice(-800));
    await sleep(20);
  }
}
async function failedReload(srv, count) {
  const t0 = Date.now();
  const n = () => (srv.log.match(/script reload failed/g) || []).length;
  while (n() < count) {
    if (Date.now() - t0 > 3000) throw new Error('no failed reload in 3 s; log:\n' + srv.log.slice(-800));
    await sleep(20);
  }
}

function edit(srv, file, from, to) {
  const p = path.join(srv.scripts, file);
  const src = fs.readFileSync(p, 'utf8');
  assert(src.includes(from), `${file} contains ${from}`);
  fs.writeFileSync(p, src.replace(from, to));
}

exports.tests = [
  {
    name: 'a changed command takes effect on its next use; nobody is disconnected or moved, /r still works',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      const tn = await srv.telnetUser('tess', { chat: true });
      a.input('/join den');
      await a.chat('join', { from: 'alice', room: 'den' });
      b.input('/join den');
      await a.chat('join', { from: 'bob', room: 'den' });
      a.input('/msg bob before reload');
      await b.chat('direct', { from: 'alice' });
      edit(srv, 'render.lua', 'return c("bright_magenta", "* " .. ev.from .. " " .. ev.body)',
        'return c("bright_magenta", "~~ " .. ev.from .. " " .. ev.body .. " ~~")');
      await reloaded(srv, 1);
      b.input('/me grins');
      const e = await a.chat('action', { from: 'bob' });
      eq(strip(e.text), '~~ bob grins ~~', 'new rendering');
      b.input('/r still works');
      eq((await a.chat('direct', { from: 'bob' })).body, 'still works', '/r after reload');
      b.input('/who');
      const w = await b.waitFor((x) => x.type === 'who');
      eq(w.users.find((u) => u.handle === 'alice').room, 'den', 'alice still in #den');
      eq(w.users.find((u) => u.handle === 'tess').activity, 'In Chat', 'telnet user still in chat');
      assert(!a.closed && !b.closed, 'web users connected');
      tn.line('/me is still here');
      await tn.expect(/~~ tess is still here ~~/);
    },
  },
  {
    name: 'a new command in a new file is picked up live',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      a.input('/flip');
      await a.text(/Unknown command \/flip/);
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'flip.lua'),
        'pl.command{ name = "flip", help = "Flip a coin", run = function(s) pl.chat.say(s, "action", "flips heads") end }\n');
      await reloaded(srv, 1);
      a.input('/flip');
      eq((await a.chat('action', { from: 'alice' })).body, 'flips heads', 'new command works');
      a.input('/help');
      assert(/\/flip\s+Flip a coin/.test(strip((await a.text(/Commands:/)).text)), '/help lists it');
    },
  },
  {
    name: 'a broken script leaves the old scripts running, logs file and line, and tells sysops online',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      const a = await srv.chatter('alice');
      edit(srv, 'commands/basic.lua', 'name = "me"', 'name = "me",, syntax error here');
      await failedReload(srv, 1);
      assert(/commands\/basic\.lua:\d+:/.test(srv.log), 'error names file and line: ' + srv.log.slice(-500));
      const note = await root.chat('system', {}, 'sysop told');
      assert(/Script reload failed.*commands\/basic\.lua:\d+/.test(strip(note.text)), 'sysop message: ' + note.text);
      await a.none((e) => e.type === 'chat' && e.kind === 'system', 100, 'users are not told');
      a.input('/me still works');
      eq((await a.chat('action', { from: 'alice' })).body, 'still works', 'old /me still runs');
      // a runtime error at load time is refused the same way
      edit(srv, 'commands/basic.lua', 'name = "me",, syntax error here', 'name = "me"');
      await reloaded(srv, 1);
      fs.writeFileSync(path.join(srv.scripts, 'zz_broken.lua'), 'local x = nil\nx.boom = 1\n');
      await failedReload(srv, 2);
      assert(/zz_broken\.lua:2:/.test(srv.log), 'runtime load error with line');
      a.input('/me again');
      await a.chat('action', { from: 'alice', body: 'again' });
      const m = await (await fetch(srv.http('/metrics'))).text();
      assert(/^partyline_script_reloads_total 1$/m.test(m), 'one good reload counted: ' + m);
      assert(/^partyline_script_errors_total 2$/m.test(m), 'two failures counted');
    },
  },
  {
    name: 'a Lua error in a command shows that user a short error; everyone else carries on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'oops.lua'),
        'pl.command{ name = "oops", run = function(s) local t = nil; return t.field end }\n');
      await reloaded(srv, 1);
      a.input('/oops');
      const err = await a.waitFor((e) => e.type === 'error');
      eq(err.code, 'script_error', 'error code');
      assert(/oops\.lua:1:.*attempt to index/.test(srv.log) && /traceback/.test(srv.log), 'traceback logged');
      await b.none((e) => e.type === 'error', 100, 'others see nothing');
      a.input('fine after');
      await b.chat('say', { from: 'alice', body: 'fine after' });
    },
  },
  {
    name: 'a script that asks for a reload while the scripts load, or when they reloaded, does not set off more reloads',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      fs.writeFileSync(path.join(srv.scripts, 'zz_again.lua'),
        'pl.log("asked for a reload while loading: " .. tostring(pl.reload()))\n' +
        'pl.on("reload", function() pl.log("asked for a reload on reload: " .. tostring(pl.reload())) end)\n');
      await reloaded(srv, 1);
      await root.chat('system', { body: /Scripts reloaded/ });
      await srv.waitLog(/asked for a reload on reload: false/);
      await sleep(300);
      eq((srv.log.match(/scripts reloaded/g) || []).length, 1, 'one reload');
      assert(/asked for a reload while loading: false/.test(srv.log), 'refused while loading');
      await root.none((e) => e.type === 'chat' && /Scripts reloaded/.test(e.body || ''), 100, 'sysops told once');
      assert(/a reload was asked for during a reload/.test(srv.log), 'logged');
    },
  },
  {
    name: 'SIGHUP and the sysop /reload command reload the scripts',
    fn: async ({ srv }) => {
      const root = await srv.sysop('root');
      srv.proc.kill('SIGHUP');
      await reloaded(srv, 1);
      await root.chat('system', { body: /Scripts reloaded/ });
      root.input('/reload');
      await reloaded(srv, 2);
      await root.chat('system', { body: /Scripts reloaded/ });
    },
  },
];
