// Message hooks and the word filter built on them.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

exports.tests = [
  {
    name: 'a message hook can pass, reject, rewrite, or attach a notice, for public lines and private messages',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      fs.writeFileSync(path.join(srv.scripts, 'zz_hook.lua'), `
pl.message_hook("10-test", function(s, msg)
  if msg.body:find("forbidden") then return { reject = "Not here, " .. s.handle .. "." } end
  if msg.body:find("shout") then return { body = msg.body:upper() } end
  if msg.body:find("hopeless") then return { notice = "Support is available: see /help support." } end
end)
`);
      await srv.waitLog(/script_reload/);
      a.input('this is forbidden');
      await a.text(/Not here, alice\./);
      await b.none((e) => e.type === 'chat' && /forbidden/.test(e.body || ''), 300, 'rejected lines go nowhere');
      a.input('/msg bob forbidden too');
      await a.text(/Not here, alice\./);
      a.input('/me will shout');
      eq((await b.chat('action', { from: 'alice' })).body, 'WILL SHOUT', 'rewritten');
      a.input('i feel hopeless');
      eq((await b.chat('say', { from: 'alice' })).body, 'i feel hopeless', 'it still goes out');
      await a.text(/Support is available/);
      await b.none((e) => e.type === 'text' && /Support/.test(e.text), 200, 'the notice is for the sender only');
      a.input('/msg bob shout quietly');
      eq((await b.chat('direct', { from: 'alice' })).body, 'SHOUT QUIETLY', 'private messages pass the hooks too');
    },
  },
  {
    name: 'the word filter is off by default and masks words once enabled',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      a.input('oh heck');
      eq((await b.chat('say', { from: 'alice' })).body, 'oh heck', 'off by default');
      const file = path.join(srv.scripts, 'wordfilter.lua');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('local ENABLED = false', 'local ENABLED = true'));
      await srv.waitLog(/script_reload/);
      a.input('oh HECK, darn it, checkmate');
      eq((await b.chat('say', { from: 'alice' })).body, 'oh ****, **** it, checkmate', 'whole words masked, any case');
    },
  },
];
