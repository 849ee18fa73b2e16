// Bad input, limits of the WebSocket endpoint, HTTP routes.
'use strict';
const http = require('http');
const WebSocket = require('ws');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

exports.tests = [
  {
    name: 'bad JSON, non-objects, unknown types, wrong field types and binary frames get errors; the connection stays',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      const cases = [
        ['{not json', 'bad_json'],
        ['[1,2,3]', 'bad_json'],
        ['"a string"', 'bad_json'],
        ['{"type":"dance"}', 'bad_request'],
        ['{"text":"no type"}', 'bad_request'],
        ['{"type":"input","text":42}', 'bad_request'],
        ['{"type":"login","handle":"x"}', 'bad_request'],
        ['{"type":"resume","session":5}', 'bad_request'],
        ['{"type":"typing","state":"maybe"}', 'bad_request'],
      ];
      for (const [frame, code] of cases) {
        c.send(frame);
        const e = await c.waitFor((x) => x.type === 'error', 'error for ' + frame);
        eq(e.code, code, 'code for ' + frame);
        assert(e.message && e.text, 'error has message and text');
      }
      c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      eq((await c.waitFor((x) => x.type === 'error')).code, 'bad_request', 'binary frame');
      assert(!c.closed, 'still open');
      c.send({ type: 'register', handle: 'alice', password: 'longpass1' });
      await c.waitFor((e) => e.type === 'auth', 'works after bad input');
    },
  },
  {
    name: 'a message over the size limit closes with 1009; other users carry on',
    opts: { set: { max_frame: '4096' } },
    fn: async ({ srv }) => {
      const other = await srv.chatter('bob');
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      c.send({ type: 'input', text: 'x'.repeat(3000) }); // under: fine
      await sleep(100);
      assert(!c.closed, 'under the limit stays open');
      c.send({ type: 'input', text: 'x'.repeat(5000) });
      const closed = await c.closedP;
      eq(closed.code, 1009, 'close code');
      const d = await srv.chatter('dave');
      d.input('still fine');
      await other.chat('say', { from: 'dave' });
    },
  },
  {
    name: 'fragmented messages are reassembled',
    fn: async ({ srv }) => {
      const c = await srv.user('alice');
      const text = JSON.stringify({ type: 'input', text: 'c' });
      c.ws.send(text.slice(0, 5), { fin: false });
      c.ws.send(text.slice(5), { fin: true });
      await c.chat('join', { from: 'alice' }, 'the fragmented input worked');
    },
  },
  {
    name: 'the WebSocket endpoint is /ws only',
    fn: async ({ srv }) => {
      const bad = new WsClient(`ws://127.0.0.1:${srv.wsPort}/elsewhere`);
      let failed = false;
      try { await bad.opened; } catch (e) { failed = true; }
      assert(failed, 'upgrade on another path is refused');
      const good = await srv.ws();
      eq((await good.waitFor(() => true)).type, 'hello', '/ws works');
    },
  },
  {
    name: 'HTTP serves the web client, /healthz and /metrics',
    fn: async ({ srv }) => {
      const index = await get(srv.http('/'));
      eq(index.status, 200, 'GET /');
      assert(/<title>partyline<\/title>/.test(index.body), 'index.html');
      const js = await get(srv.http('/app.js'));
      eq(js.status, 200, 'app.js');
      assert(/javascript/.test(js.headers['content-type']), 'js content type: ' + js.headers['content-type']);
      eq((await get(srv.http('/nope.html'))).status, 404, 'missing file');
      eq((await get(srv.http('/../etc/passwd'))).status !== 200, true, 'no path escape');
      const h = await get(srv.http('/healthz'));
      eq(h.status, 200, 'healthz status');
      eq(h.body.trim(), 'ok', 'healthz body');
      const a = await srv.chatter('alice');
      a.input('counted');
      await a.chat('say', { body: 'counted' });
      const m = await get(srv.http('/metrics'));
      eq(m.status, 200, 'metrics');
      for (const name of ['partyline_connections', 'partyline_sessions', 'partyline_messages_in_total',
        'partyline_messages_out_total', 'partyline_script_reloads_total', 'partyline_script_errors_total']) {
        assert(new RegExp('^' + name + ' \\d+$', 'm').test(m.body), 'metric ' + name);
      }
      assert(/^partyline_connections 1$/m.test(m.body), 'one connection: ' + m.body);
      assert(Number(/^partyline_messages_in_total (\d+)$/m.exec(m.body)[1]) >= 3, 'messages counted');
    },
  },
  {
    name: 'control characters and escapes in user text never reach other users',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.chatter('bob');
      const hostile = 'clear\x1b[2J\x1b[Hhome\x1b]0;owned\x07 bell\x07\x07 c1\u009b31m end\u0000nul';
      a.input(hostile);
      const e = await b.chat('say', { from: 'alice' });
      assert(!/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/.test(e.body), 'no controls in body: ' + JSON.stringify(e.body));
      assert(e.body.startsWith('clear[2J[Hhome]0;owned bell c131m end'), 'visible text kept: ' + JSON.stringify(e.body));
      const tn = await srv.telnetUser('carol', { term: 'xterm', chat: true });
      a.input('again\x1b[2Jx\x1b]2;title\x07');
      const m = await tn.expect(/alice.*again[^\r]*\r\n/);
      assert(!/\x1b\[2J|\x1b\]|\x07/.test(m[0]), 'telnet user gets no control sequence from alice: ' + JSON.stringify(m[0]));
    },
  },
  {
    name: 'typing events reach opted-in clients in the room only',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const b = await srv.ws('?typing=1');
      await b.waitFor((e) => e.type === 'prompt');
      b.send({ type: 'register', handle: 'bob', password: 'bobpass1' });
      await b.waitFor((e) => e.type === 'auth');
      b.input('c');
      await b.chat('join', { from: 'bob' });
      const c = await srv.chatter('carol');
      a.send({ type: 'typing', state: 'start' });
      const t = await b.waitFor((e) => e.type === 'typing');
      eq(t.from, 'alice', 'from');
      eq(t.state, 'start', 'state');
      eq(t.room, 'lobby', 'room');
      await c.none((e) => e.type === 'typing', 200, 'not opted in');
      await a.none((e) => e.type === 'typing', 0, 'not to the typist');
    },
  },
];
