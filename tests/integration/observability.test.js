// Structured logs and /metrics.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { max_frame: '2048' } }, t.opts)) });

exports.tests = [
  {
    name: 'every log line is a JSON object with ts, level and event; node and address where they apply; no secrets',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      a.input('hello');
      const token = a.events.find((e) => e.type === 'auth').token;
      const bad = await srv.ws();
      await bad.waitFor((e) => e.type === 'prompt');
      bad.send({ type: 'login', handle: 'alice', password: 'Sup3rSecretGuess' });
      await bad.waitFor((e) => e.type === 'error');
      bad.send({ type: 'input', text: 'x'.repeat(4000) }); // over max_frame: a kick
      await bad.closedP;
      const tn = await srv.telnetUser('tess');
      tn.close();
      fs.writeFileSync(path.join(srv.scripts, 'commands', 'boom.lua'), 'pl.command{ name = "boom", run = function() error("kaboom") end }\n');
      await srv.waitLog(/script_reload/);
      a.input('/boom');
      await a.waitFor((e) => e.type === 'error');
      a.close();
      await srv.waitLog(/"event":"telnet_disconnect"/);
      await srv.waitLog(/"event":"ws_disconnect".*"ws_disconnect"/s);
      const lines = srv.log.split('\n').filter((l) => l.trim());
      const events = lines.map((l) => {
        let o;
        try { o = JSON.parse(l); } catch (e) { throw new Error('not JSON: ' + l); }
        assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(o.ts) && ['debug', 'info', 'warn', 'error'].includes(o.level) && o.event, 'fields: ' + l);
        return o;
      });
      const by = (name) => events.filter((e) => e.event === name);
      for (const name of ['ws_connect', 'ws_disconnect', 'telnet_connect', 'telnet_disconnect', 'register', 'login',
        'login_failed', 'script_reload', 'script_error', 'kick', 'ready']) {
        assert(by(name).length > 0, 'event ' + name + ' logged');
      }
      for (const name of ['ws_connect', 'login', 'login_failed', 'kick', 'telnet_connect']) {
        const e = by(name)[0];
        assert(e.node > 0 && e.addr, `${name} has node and addr: ${JSON.stringify(e)}`);
      }
      eq(by('kick')[0].level, 'warn', 'kick is a warning');
      assert(/kaboom/.test(by('script_error')[0].msg), 'script error message');
      assert(!srv.log.includes('Sup3rSecretGuess'), 'no password in the log');
      assert(!srv.log.includes(a.password), 'no password in the log');
      assert(!srv.log.includes(token), 'no token in the log');
    },
  },
  {
    name: '/metrics has the loop-time and fan-out latency histograms, counting',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      for (let i = 0; i < 5; i++) a.input('line ' + i);
      await b.chat('say', { body: 'line 4' });
      const m = await (await fetch(srv.http('/metrics'))).text();
      for (const h of ['partyline_event_seconds', 'partyline_fanout_seconds']) {
        assert(new RegExp(`^# TYPE ${h} histogram$`, 'm').test(m), h + ' declared');
        const count = Number(new RegExp(`^${h}_count (\\d+)$`, 'm').exec(m)[1]);
        assert(count >= 5, `${h} counted ${count}`);
        const inf = Number(new RegExp(`^${h}_bucket\\{le="\\+Inf"\\} (\\d+)$`, 'm').exec(m)[1]);
        eq(inf, count, h + ' +Inf bucket holds every observation');
        const buckets = [...m.matchAll(new RegExp(`^${h}_bucket\\{le="[^"]+"\\} (\\d+)$`, 'gm'))].map((x) => Number(x[1]));
        for (let i = 1; i < buckets.length; i++) assert(buckets[i] >= buckets[i - 1], 'cumulative');
      }
    },
  },
];
