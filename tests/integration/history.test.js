// Room history on pl.db, and the limits of the scripts' storage API.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { rate_per_s: '0' } }, t.opts)) });

exports.tests = [
  {
    name: 'joiners see the last 50 lines of the room, marked history with their original time, even after a restart',
    fn: async (ctx) => {
      const a = await ctx.srv.chatter('alice');
      for (let i = 1; i <= 60; i++) a.input('line ' + i);
      a.input('/me waves');
      const last = await a.chat('action', { from: 'alice' });
      a.input('/join den');
      await a.chat('join', { room: 'den' });
      a.input('only in den');
      await a.chat('say', { body: 'only in den' });
      const b = await ctx.srv.chatter('bob');
      const hist = b.events.filter((e) => e.type === 'chat' && e.history);
      eq(hist.length, 50, 'the last 50 lines');
      eq(hist[0].body, 'line 12', 'oldest kept');
      eq(hist[49].kind, 'action', 'newest last');
      eq(hist[49].ts, last.ts, 'original ts');
      assert(hist.every((e) => e.room === 'lobby' && e.from === 'alice'), 'only the lobby');
      eq(strip(hist[48].text), '<alice> line 60', 'rendered');
      const joinIdx = b.events.findIndex((e) => e.type === 'chat' && e.kind === 'join' && e.from === 'bob');
      assert(b.events.indexOf(hist[49]) < joinIdx, 'history comes before the join line');
      const dir = ctx.srv.dir;
      await ctx.srv.stop();
      ctx.srv = await Server.start({ dir });
      const c = await ctx.srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'login', handle: 'bob', password: b.password });
      await c.waitFor((e) => e.type === 'menu');
      c.input('c');
      await c.chat('join', { from: 'bob' });
      const after = c.events.filter((e) => e.type === 'chat' && e.history);
      eq(after.length, 50, 'history survived the restart');
      eq(after[49].ts, last.ts, 'same time after the restart');
    },
  },
  {
    name: 'pl.db: scripts keep data in their own s_ tables with parameters; everything else is refused',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'note.lua'), `
pl.db.exec("CREATE TABLE IF NOT EXISTS s_notes (id INTEGER PRIMARY KEY, who TEXT, note TEXT)")
local function try(sql, ...)
  local ok, err = pcall(pl.db.query, sql, ...)
  return ok and "ok" or tostring(err):match("pl%.db: (.*)")
end
pl.command{ name = "note", run = function(s, args)
  if args ~= "" then pl.db.exec("INSERT INTO s_notes (who, note) VALUES (?, ?)", s.handle, args) end
  local rows = pl.db.query("SELECT note FROM s_notes WHERE who = ? ORDER BY id", s.handle)
  local notes = {}
  for _, r in ipairs(rows) do notes[#notes + 1] = r.note end
  s:text("notes: " .. table.concat(notes, " | "))
end }
pl.command{ name = "probe", run = function(s)
  s:text(table.concat({
    "accounts=" .. try("SELECT hash FROM accounts"),
    "update=" .. try("UPDATE accounts SET sysop = 1"),
    "drop=" .. try("DROP TABLE accounts"),
    "pragma=" .. try("PRAGMA journal_mode"),
    "attach=" .. try("ATTACH DATABASE '/tmp/x.db' AS x"),
    "two=" .. try("SELECT 1; SELECT 2"),
    "mine=" .. try("SELECT count(*) AS n FROM s_notes"),
  }, " "))
end }
`);
      await srv.waitLog(/script_reload/);
      a.input("/note it's a \"quoted\"; DROP TABLE s_notes; --");
      await a.text(/^notes: it's a "quoted"; DROP TABLE s_notes; --$/);
      a.input('/note second');
      await a.text(/^notes: .* \| second$/);
      a.input('/probe');
      const t = strip((await a.text(/accounts=/)).text);
      if (process.env.PARTYLINE_TEST_STORE === 'postgres') {
        // PostgreSQL words its refusals itself (the scripts' role owns only its schema)
        for (const part of ['accounts', 'update', 'drop', 'pragma', 'attach', 'two'])
          assert(new RegExp(part + '=(?!ok)').test(t), 'refused: ' + part + ' in ' + t);
        assert(/mine=ok/.test(t), 'its own table: ' + t);
      } else {
        eq(t, 'accounts=access to accounts.hash is prohibited update=not authorized drop=not authorized pragma=not authorized ' +
          'attach=not authorized two=one statement per call mine=ok', 'limits');
      }
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'login', handle: 'alice', password: a.password });
      eq((await c.waitFor((e) => e.type === 'auth')).sysop, false, 'accounts untouched');
    },
  },
];
