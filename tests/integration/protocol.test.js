// Bad input, limits of the WebSocket endpoint, HTTP routes.
'use strict';
const http = require('http');
const WebSocket = require('ws');
const fs = require('fs');
const path = require('path');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');
const { RawWs, OP, frame: wsFrame, closePayload } = require('../lib/rawws');

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

async function raw(srv) {
  const c = await RawWs.open(srv.wsPort);
  srv.clients.push(c);
  await c.event((e) => e.type === 'prompt', 'the login prompt');
  return c;
}

// What a browser does with a text frame: decode it as UTF-8, strictly.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function allTextValid(c) {
  for (const f of c.frames.filter((x) => x.op === OP.text)) {
    try { strictUtf8.decode(f.payload); } catch (e) { return f.payload; }
  }
  return null;
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
      const hostile = 'clear\x1b[2J\x1b[Hhome\x1b]0;owned\x07 bell\x07\x07 c1\u009b31m end';
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
  {
    name: 'a U+0000 in any string of a request is refused (bad_request): a password with one creates no account',
    fn: async ({ srv }) => {
      const c = await srv.ws();
      await c.waitFor((e) => e.type === 'prompt');
      // cJSON ends its strings at U+0000: this password would be stored as "abcdefgh"
      c.send({ type: 'register', handle: 'alice', password: 'abcdefgh\u0000XYZ' });
      const e = await c.waitFor((x) => x.type === 'error', 'the error');
      eq(e.code, 'bad_request', 'code');
      await c.none((x) => x.type === 'auth', 300, 'no login');
      for (const frame of ['{"type":"input","text":"a\\u0000b"}', '{"type":"login","handle":"alice\\u0000","password":"abcdefgh"}',
        '{"type\\u0000":"x","type":"input","text":"hi"}', '{"type":"input","text":"raw\u0000byte"}']) {
        c.send(frame);
        eq((await c.waitFor((x) => x.type === 'error', 'error for ' + frame)).code, 'bad_request', frame);
      }
      // an escaped backslash before "u0000" is no U+0000: this password is fine
      c.send({ type: 'register', handle: 'alice', password: 'abcdefgh\\u0000' });
      eq((await c.waitFor((x) => x.type === 'auth', 'auth')).handle, 'alice', 'alice registered now, so the first try made no account');
      const d = await srv.login('alice', 'abcdefgh');
      eq((await d.waitFor((x) => x.type === 'error' || x.type === 'auth', 'the answer')).code, 'bad_login', 'the cut password does not log in');
      const ok = await srv.login('alice', 'abcdefgh\\u0000');
      await ok.waitFor((x) => x.type === 'auth', 'the real password logs in');
    },
  },
  {
    name: 'every text frame is valid UTF-8, even when a script sends invalid bytes (they become U+FFFD)',
    fn: async ({ srv }) => {
      fs.writeFileSync(path.join(srv.scripts, 'zz_badbytes.lua'), `
pl.command{ name = "badbytes", run = function(s)
  s:send{ type = "text", text = "\\xff\\xe9" }
  s:send{ type = "text", text = "cut " .. ("\\u{20ac}"):sub(1, 2) .. " end", extra = { "\\xc3" } }
  s:text("after")
end }
`);
      await srv.waitLog(/script_reload/);
      const a = await srv.chatter('alice'); // the ws library fails the connection (1007) on invalid UTF-8
      const r = await raw(srv);
      r.json({ type: 'register', handle: 'bob', password: 'bobpass1' });
      await r.event((e) => e.type === 'auth', 'bob logged in');
      r.json({ type: 'input', text: 'c' });
      r.json({ type: 'input', text: '/badbytes' });
      a.input('/badbytes');
      eq((await a.waitFor((e) => e.type === 'text' && e.text.startsWith('\ufffd'))).text, '\ufffd\ufffd', 'each bad sequence is one U+FFFD');
      const cut = await a.waitFor((e) => e.type === 'text' && e.text.startsWith('cut'));
      eq(cut.text, 'cut \ufffd end', 'a cut character is one U+FFFD');
      eq(cut.extra[0], '\ufffd', 'in nested strings too');
      await a.waitFor((e) => e.type === 'text' && e.text === 'after', 'the next event');
      assert(!a.closed, 'the client stayed connected');
      await r.event((e) => e.type === 'text' && e.text === 'after', 'the raw client got them too');
      eq(allTextValid(r), null, 'every frame decodes as strict UTF-8');
      await srv.waitLog(/"bad_utf8"/);
    },
  },
  {
    name: 'a close frame whose reason is not UTF-8 is answered 1007 and never echoed; a one-byte close is 1002',
    fn: async ({ srv }) => {
      const bad = Buffer.from([0xff, 0xfe, 0x41, 0xc3]);
      const r = await raw(srv);
      r.sendFrame(OP.close, closePayload(1000, bad));
      const cf = await r.closeFrame();
      assert(cf, 'a close frame came back');
      eq(cf.code, 1007, 'close code');
      eq(cf.reason.indexOf(Buffer.from([0xff, 0xfe])), -1, 'the bad bytes are not sent back');
      strictUtf8.decode(cf.reason);
      await r.closed;
      const one = await raw(srv);
      one.sendFrame(OP.close, Buffer.from([0x03]));
      eq((await one.closeFrame()).code, 1002, 'a one-byte close payload is a protocol error');
      // a good close is still answered in kind
      const good = await raw(srv);
      good.sendFrame(OP.close, closePayload(1000, 'bye \u00e9'));
      const back = await good.closeFrame();
      eq(back.code, 1000, 'echoed code');
      eq(back.reason.toString('utf8'), 'bye \u00e9', 'echoed reason');
      const c = await srv.ws();
      eq((await c.waitFor(() => true)).type, 'hello', 'the server carries on');
    },
  },
  {
    name: 'unasked-for pongs count against the input rate: a flood of them is closed 1008 like any flood',
    fn: async ({ srv }) => {
      const other = await srv.chatter('bob');
      const r = await raw(srv);
      const flood = [];
      for (let i = 0; i < 500; i++) flood.push(wsFrame(OP.pong, 'p' + i));
      r.send(Buffer.concat(flood));
      const cf = await r.closeFrame();
      assert(cf, 'closed with a close frame');
      eq(cf.code, 1008, 'close code');
      await srv.waitLog(/keeps flooding; closing it \(1008\)/);
      other.input('still here');
      await other.chat('say', { body: 'still here' });
    },
  },
];
