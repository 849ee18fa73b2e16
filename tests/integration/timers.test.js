// Script timers: pl.after, pl.every, pl.cancel, and what reloads do to them.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const write = (srv, src) => fs.writeFileSync(path.join(srv.scripts, 'zz_timers.lua'), src);
const system = (body) => (e) => e.type === 'chat' && e.kind === 'system' && e.body === body;
const count = (c, body) => c.events.filter(system(body)).length;

exports.tests = [
  {
    name: 'pl.every and pl.after run; a reload replaces the old timers; a failed reload keeps them',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      write(srv, `pl.every(150, function() pl.broadcast(pl.chat_event("system", { body = "tick" })) end)
local once = pl.after(100, function() pl.broadcast(pl.chat_event("system", { body = "once" })) end)
local never = pl.after(100, function() pl.broadcast(pl.chat_event("system", { body = "never" })) end)
assert(pl.cancel(never))
`);
      await a.waitFor(system('tick'), 'tick', 3000);
      await a.waitFor(system('tick'), 'second tick', 3000);
      await sleep(300);
      eq(count(a, 'once'), 1, 'pl.after fires once');
      eq(count(a, 'never'), 0, 'a cancelled timer never fires');
      write(srv, 'pl.every(150, function() pl.broadcast(pl.chat_event("system", { body = "tock" })) end)\n');
      await a.waitFor(system('tock'), 'tock', 3000);
      const ticks = count(a, 'tick');
      await sleep(500);
      eq(count(a, 'tick'), ticks, 'the old timer stopped with the reload');
      assert(count(a, 'tock') >= 3, 'the new one runs');
      write(srv, 'pl.every(150, function() end)\nthis is a syntax error\n');
      await srv.waitLog(/script reload failed/);
      const tocks = count(a, 'tock');
      await sleep(400);
      assert(count(a, 'tock') > tocks, 'a failed reload keeps the running timers');
    },
  },
  {
    name: 'a timer that fails or runs away is stopped and logged; everything else carries on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      write(srv, `pl.after(50, function() error("timer trouble") end)
pl.after(80, function() while true do end end)
pl.after(400, function() pl.broadcast(pl.chat_event("system", { body = "still ticking" })) end)
`);
      await a.waitFor(system('still ticking'), 'a later timer', 4000);
      await srv.waitLog(/in a timer: zz_timers\.lua:1: timer trouble/);
      await srv.waitLog(/in a timer: zz_timers\.lua:2: script ran longer than/);
      a.input('fine');
      await a.chat('say', { body: 'fine' });
    },
  },
];
