// The BBS staples scripts build on (issue 13): lines from the board
// (pl.chat.announce) and /roll, room topics, small state without SQL
// (pl.kv, pl.json).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');
const { RawTelnet } = require('../lib/rawtelnet');

// A token signed with the server's own key (jwt_secret = auto keeps it in the data directory).
function token(srv, sub) {
  const key = fs.readFileSync(path.join(srv.dir, 'var', 'jwt.key'), 'utf8').trim();
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub, exp: Math.floor(Date.now() / 1000) + 600 });
  return head + '.' + crypto.createHmac('sha256', key).update(head).digest('base64url');
}

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

function write(srv, files) {
  for (const [file, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(srv.scripts, file)), { recursive: true });
    fs.writeFileSync(path.join(srv.scripts, file), src);
  }
}
async function reloaded(srv, n = 1) {
  const t0 = Date.now();
  while ((srv.log.match(/scripts reloaded/g) || []).length < n) {
    if (Date.now() - t0 > 5000) throw new Error('no reload; log:\n' + srv.log.slice(-600));
    await sleep(20);
  }
}

exports.tests = [
  {
    name: '/roll is announced by the board, kept in the room\'s history, untouched by message hooks; /me cannot fake it',
    fn: async ({ srv }) => {
      write(srv, { 'zz_hook.lua': 'pl.message_hook("10-shout", function(s, msg) return { body = msg.body:upper() } end)\n' });
      await reloaded(srv);
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/roll 3d6');
      const ev = await b.chat('system', { body: /^alice rolls 3d6: / });
      const m = /^alice rolls 3d6: (\d) \+ (\d) \+ (\d) = (\d+)$/.exec(ev.body);
      assert(m, 'three dice and a total: ' + ev.body);
      eq(Number(m[1]) + Number(m[2]) + Number(m[3]), Number(m[4]), 'the total');
      assert(!ev.from, 'from nobody: ' + JSON.stringify(ev));
      eq(strip(ev.text), '*** ' + ev.body, 'a system line');
      a.input('/roll');
      assert(/^alice rolls 1d6: [1-6]$/.test((await b.chat('system', { body: /^alice rolls 1d6/ })).body), '1d6 by default');
      a.input('/roll 0d6');
      await a.text(/Usage: \/roll \[NdS\]/);
      a.input('/me rolls 1d6: 6');
      const fake = await b.chat('action', { from: 'alice' });
      eq(strip(fake.text), '* alice ROLLS 1D6: 6', 'a user\'s action, rewritten by the hook as any line is');
      const c = await srv.chatter('carol');
      const kept = c.events.filter((e) => e.type === 'chat' && e.history && e.kind === 'system').map((e) => e.body);
      eq(kept.length, 2, 'both rolls in the history: ' + JSON.stringify(kept));
      assert(kept[0] === ev.body, 'with their words');
    },
  },
  {
    name: '/topic sets a room\'s topic, shows it on join, keeps it across a restart, and clears it',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      a.input('/topic');
      await a.text(/^#lobby has no topic\.$/);
      a.input('/topic Welcome, friends: be kind');
      await a.chat('system', { body: 'alice set the topic: Welcome, friends: be kind' });
      const b = await srv.chatter('bob');
      assert(b.events.some((e) => e.type === 'chat' && e.kind === 'system' && e.body === 'Topic: Welcome, friends: be kind (set by alice)'),
        'shown on join');
      await srv.stop();
      const again = await Server.start({ dir: srv.dir, set: { sysops: 'root' } });
      srv.proc = again.proc;
      srv.exited = again.exited;
      srv.wsPort = again.wsPort;
      srv.clients = again.clients;
      srv.log += again.log;
      const c = await again.chatter('carol');
      assert(c.events.some((e) => e.type === 'chat' && e.body === 'Topic: Welcome, friends: be kind (set by alice)'), 'kept');
      c.input('/topic -');
      await c.chat('system', { body: 'carol cleared the topic.' });
      c.input('/topic');
      await c.text(/^#lobby has no topic\.$/);
      await again.stop();
    },
  },
  {
    name: 'pl.kv keeps values per board and per user; pl.json encodes and decodes',
    fn: async ({ srv }) => {
      write(srv, { 'commands/kvprobe.lua': `pl.command{ name = "kvprobe", run = function(s)
  local out = {}
  local function put(v) out[#out + 1] = type(v) == "table" and pl.json.encode(v) or tostring(v) end
  pl.kv.board:set("demo.list", { 1, 2, "three", { four = true } })
  put(pl.kv.board:get("demo.list"))
  put(pl.kv.board:get("demo.none", "default"))
  put(pl.kv.board:incr("demo.count")) put(pl.kv.board:incr("demo.count", 5))
  put(table.concat(pl.kv.board:keys("demo."), ","))
  local mine = pl.kv.user(s)
  mine:set("score", 42)
  put(pl.kv.user(s.handle:upper()):get("score")) put(pl.kv.user("nobody"):get("score"))
  mine:set("score", nil) put(mine:get("score"))
  local v = pl.json.decode('{"a":[],"b":{"c":1.5}}') put(pl.json.encode(v.a) .. " " .. v.b.c)
  put(select(2, pl.json.decode("not json")))
  put(select(2, pcall(function() pl.kv.board:set("f", print) end)))
  s:text("kv: " .. table.concat(out, " | "))
end }
` });
      await reloaded(srv);
      const a = await srv.chatter('alice');
      a.input('/kvprobe');
      const t = (await a.text(/^kv:/)).text;
      eq(t, 'kv: [1,2,"three",{"four":true}] | default | 1 | 6 | demo.count,demo.list | 42 | nil | nil | ' +
        '[] 1.5 | not JSON | commands/kvprobe.lua:15: pl.kv: cannot keep a function', 'results');
    },
  },
  {
    name: 'a bot is in /who, answers /msg and /page, speaks in its room, can be ignored; its handle is nobody else\'s; a reload without it ends it',
    fn: async ({ srv }) => {
      write(srv, { 'zz_bot.lua': `local oracle = pl.bot("Oracle", function(b, ev)
  if ev.type ~= "chat" then return end
  if ev.kind == "direct" then pl.chat.tell(b, ev.from, "You asked: " .. ev.body)
  elseif ev.kind == "page" then pl.chat.tell(b, ev.from, "You rang?")
  elseif ev.kind == "say" and ev.body:match("^[Oo]racle[,:]") then pl.chat.say(b, "say", "The answer is 42, " .. ev.from .. ".")
  end
end)
if not oracle.room then pl.chat.join(oracle, "lobby") end
` });
      await reloaded(srv);
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('/who');
      const who = await a.waitFor((e) => e.type === 'who');
      const bot = who.users.find((u) => u.handle === 'Oracle');
      assert(bot && bot.activity === 'Bot' && bot.room === 'lobby', 'listed: ' + JSON.stringify(who.users));
      a.input('/msg oracle hello there');
      eq((await a.chat('direct', { from: 'Oracle' })).body, 'You asked: hello there', 'answers private messages');
      a.input('/page Oracle');
      eq((await a.chat('direct', { from: 'Oracle' })).body, 'You rang?', 'answers a page');
      b.input('/ignore Oracle');
      await b.text(/You are now ignoring Oracle/);
      a.input('Oracle, what is the answer?');
      eq((await a.chat('say', { from: 'Oracle' })).body, 'The answer is 42, alice.', 'speaks in the room');
      await b.none((e) => e.type === 'chat' && e.from === 'Oracle' && e.kind === 'say', 300, 'bob ignores it');
      for (const handle of ['oracle', '0racle']) {
        const c = await srv.ws();
        await c.waitFor((e) => e.type === 'prompt');
        c.send({ type: 'register', handle, password: 'some-secret-9' });
        eq((await c.waitFor((e) => e.type === 'error')).code, 'handle_reserved', 'nobody registers ' + handle);
      }
      const t = new WsClient(srv.url('?token=' + token(srv, 'Oracle')));
      srv.clients.push(t);
      const closed = await t.closedP;
      eq(closed.code + ' ' + closed.reason, '1008 handle reserved', 'nor logs in as it by a token');
      fs.rmSync(path.join(srv.scripts, 'zz_bot.lua'));
      await reloaded(srv, 2);
      await a.chat('leave', { from: 'Oracle' }, 'the bot left with its file');
      a.input('/who');
      assert(!(await a.waitFor((e) => e.type === 'who')).users.some((u) => u.handle === 'Oracle'), 'gone from /who');
    },
  },
  {
    // issue 13: registration over WebSocket never passed through the scripts
    name: 'a register listener refuses a handle for every way of registering, in its own words; one that fails lets nobody register',
    fn: async ({ srv }) => {
      write(srv, { 'zz_names.lua': `pl.on("register", function(s, reg)
  if reg.handle:lower():find("admin", 1, true) then reg.refuse = "Names with admin in them are kept for the staff." end
end)
` });
      await reloaded(srv);
      const w = await srv.ws();
      await w.waitFor((e) => e.type === 'prompt');
      w.send({ type: 'register', handle: 'SuperAdmin', password: 'some-secret-9' });
      const err = await w.waitFor((e) => e.type === 'error');
      eq(err.code + ': ' + err.text, 'handle_reserved: Names with admin in them are kept for the staff.', 'the message');
      w.send({ type: 'register', handle: 'plainname', password: 'some-secret-9' });
      await w.waitFor((e) => e.type === 'auth' && e.handle === 'plainname', 'others register');
      const t = new RawTelnet(srv.telnetPort);
      await t.expect(/Handle \(or 'new' to register\): /);
      t.line('new');
      await t.expect(/New handle: /);
      t.line('bigadmin');
      await t.expect(/Names with admin in them are kept for the staff\.[\s\S]*New handle: /);
      write(srv, { 'zz_names.lua': 'pl.on("register", function(s, reg) error("the list is gone") end)\n' });
      await reloaded(srv, 2);
      t.line('another');
      await t.expect(/cannot reach its user records right now[\s\S]*New handle: /);
      const x = await srv.ws();
      await x.waitFor((e) => e.type === 'prompt');
      x.send({ type: 'register', handle: 'another', password: 'some-secret-9' });
      eq((await x.waitFor((e) => e.type === 'error')).code, 'unavailable', 'a rule that did not run makes no account');
      t.close();
    },
  },
  {
    name: 'a token login updates the last login; times show in the user\'s own time zone (a profile setting)',
    fn: async ({ srv }) => {
      write(srv, { 'commands/when.lua': `pl.command{ name = "when", run = function(s)
  s:text("when: " .. tostring(pl.account(s.handle).last_login) .. " | " .. s:time(0, "%Y-%m-%d %H:%M %Z") .. " | " ..
    pl.format_time(0, "%H:%M %Z", "America/New_York") .. " | " .. pl.parse_time("1970-01-01T00:00:01.5Z") .. " | " ..
    tostring(pl.parse_time("yesterday")) .. " | " .. tostring(pl.valid_zone("../etc/passwd")) .. " | " ..
    select(2, pcall(pl.format_time, 0, nil, "Mars/Olympus")))
end }
` });
      await reloaded(srv);
      const a = await srv.chatter('alice');
      a.input('/when');
      const first = (await a.text(/^when:/)).text.split(' | ')[0];
      const tok = a.events.find((e) => e.type === 'auth').token;
      await sleep(1100); // last_login has whole seconds
      const b = await srv.ws('?token=' + tok);
      await b.waitFor((e) => e.type === 'menu', 'in by token');
      b.input('p');
      await b.waitFor((e) => e.type === 'menu' && e.id === 'profile');
      b.input('z');
      await b.waitFor((e) => e.type === 'prompt' && /Time zone/.test(e.text));
      b.input('Asia/Tokyo');
      await b.text(/^Time zone saved: the time is now \d\d:\d\d JST for you\.$/);
      b.input('q');
      b.input('c');
      await b.chat('join', { from: 'alice' });
      b.input('/when');
      const t = (await b.text(/^when:/)).text.split(' | ');
      assert(t[0] > first, 'the token login was recorded: ' + first + ' then ' + t[0]);
      eq(t.slice(1).join(' | '), '1970-01-01 09:00 JST | 19:00 EST | 1500 | nil | false | unknown time zone \'Mars/Olympus\'', 'times');
    },
  },
  {
    name: 'the one-liners wall and the last callers list are in the main menu, kept, and the wall passes the message hooks',
    fn: async ({ srv }) => {
      write(srv, { 'zz_hook.lua': 'pl.message_hook("10-no", function(s, msg) if msg.body:find("spam") then return { reject = "No spam." } end end)\n' });
      await reloaded(srv);
      const a = await srv.user('alice');
      a.input('o');
      await a.text(/^== One-liners ==$/);
      a.input('hello from alice');
      await a.text(/^Your line is on the wall\.$/);
      await a.waitFor((e) => e.type === 'menu' && e.id === 'main');
      a.input('o');
      a.input('buy spam now');
      await a.text(/^No spam\.$/);
      const b = await srv.user('bob');
      b.input('O');
      eq(strip((await b.text(/One-liners/)).text), '== One-liners ==\nalice: hello from alice', 'the wall');
      b.input('');
      await b.waitFor((e) => e.type === 'menu' && e.id === 'main');
      const again = await srv.login('alice', a.password);
      await again.waitFor((e) => e.type === 'menu' && e.id === 'main');
      again.input('l');
      const list = strip((await again.text(/== Last callers ==/)).text).split('\n');
      eq(list[1].replace(/\s+/g, ' '), 'Handle Node When Calls', 'the header');
      assert(/^alice\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+2$/.test(list[2]), 'the latest first, her second call: ' + list[2]);
      assert(/^bob\s+\d+\s+.*\s1$/.test(list[3]), 'then bob: ' + list[3]);
      assert(/^alice\s+\d+\s+.*\s1$/.test(list[4]), 'then alice\'s first: ' + list[4]);
    },
  },
];
