// Telnet over WebSocket (/telnet, net/telnet_ws.cpp): web terminals get the
// telnet session of the telnet port, its bytes in WebSocket frames, with
// every subprotocol the clients in use name: fTelnet (binary, base64,
// plain), VTX (telnet, or plain), websockify's (binary, base64), none.
'use strict';
const net = require('net');
const { Server, WsClient, sleep, strip, assert, eq } = require('../lib/harness');
const { TelnetWs } = require('../lib/telnetws');
const { RawWs, OP, closePayload } = require('../lib/rawws');
const { bytes, IAC, DO, WILL, SB, SE, ECHO, SGA, TTYPE, NAWS } = require('../lib/rawtelnet');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const has = (buf, seq) => buf.indexOf(Buffer.from(seq)) >= 0;

// An upgrade by hand: the status line's code (101, or the refusal).
function upgrade(port, path, { protocol, origin, host = `127.0.0.1:${port}` } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d+)/.exec(got);
      if (m && got.includes('\r\n\r\n')) { s.destroy(); resolve({ status: Number(m[1]), head: got }); }
    });
    s.on('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + (origin ? `Origin: ${origin}\r\n` : '') + '\r\n');
  });
}

// The clients in use, by how they frame (see README, "Web terminals").
const CLIENTS = [
  { name: 'fTelnet (binary, base64, plain: binary chosen)', protocols: ['binary', 'base64', 'plain'], expect: 'binary', send: 'binary', enter: '\r' },
  { name: 'VTX (telnet)', protocols: ['telnet'], expect: 'telnet', send: 'binary', enter: '\r' },
  { name: 'plain, lines in text frames', protocols: ['plain'], expect: 'plain', send: 'text', enter: '\r\n' },
  { name: 'no subprotocol (an xterm.js page), text frames', protocols: undefined, expect: '', send: 'text', enter: '\r' },
  { name: 'base64 (websockify\'s text form)', protocols: ['base64'], expect: 'base64', send: 'base64', enter: '\r\n' },
];

function framingTest(cl, i) {
  return {
    name: `${cl.name}: negotiation and banner in ${cl.expect === 'base64' ? 'base64 text' : 'binary'} frames; registers, chats with a web and a telnet user`,
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const tn = await srv.telnetUser('tess', { chat: true });
      const t = await TelnetWs.open(srv.wsPort, { protocols: cl.protocols, send: cl.send });
      eq(t.protocol, cl.expect, 'subprotocol chosen');
      await t.expect(/Welcome to partyline[^]*Handle \(or 'new' to register\): /);
      t.pos = 0; // register() reads the prompt again
      // the telnet port's opening, byte for byte: WILL ECHO, WILL SGA, DO NAWS, DO TTYPE
      assert(has(t.buf, [IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS, IAC, DO, TTYPE]), 'negotiation first: ' + JSON.stringify(t.buf.slice(0, 12)));
      const kinds = new Set(t.frames.map((f) => f.binary));
      eq(kinds.size, 1, 'one kind of frame');
      eq([...kinds][0], cl.expect !== 'base64', 'binary frames (text for base64)');
      t.terminal('xterm-256color', 100, 30);
      const handle = 'bridged' + i;
      await t.register(handle);
      t.line('c', cl.enter);
      await t.expect(/You are in #lobby/);
      await web.chat('join', { from: handle });
      t.line('hello from the bridge', cl.enter);
      eq((await web.chat('say', { from: handle })).body, 'hello from the bridge', 'the web user reads it');
      await tn.expect(new RegExp(`<${handle}> hello from the bridge`));
      web.input('hello, web terminal');
      await t.expect(/<alice>(\x1b\[0m)? hello, web terminal\r\n/);
      tn.line('and from telnet');
      await t.expect(/<tess>(\x1b\[0m)? and from telnet\r\n/);
      assert(/\x1b\[[0-9;]*m<alice>/.test(t.buf.toString()), 'colour for xterm-256color');
      // UTF-8 both ways
      t.line('caf\u00e9 \u2603', cl.enter);
      eq((await web.chat('say', { from: handle })).body, 'caf\u00e9 \u2603', 'UTF-8 in');
      web.input('\u00fcber \u2603');
      await t.expect(/\u00fcber \u2603/);
      t.close();
      await web.chat('leave', { from: handle }); // a terminal's hang-up ends its session: no grace
    },
  };
}

exports.tests = [
  ...CLIENTS.map(framingTest),
  {
    name: 'NAWS inside the stream sets the wrapping; the line editor and echo work as on the telnet port',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const t = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      t.terminal('xterm', 30, 24);
      await t.register('narrow');
      t.line('c');
      await t.expect(/You are in #lobby/);
      await t.expect(/commands/);
      web.input('the quick brown fox jumps over the lazy dog and keeps on running far away');
      const m = await t.expect(/<alice>[\s\S]*?away\r\n/);
      const lines = strip(m[0]).split('\r\n').filter((l) => l);
      assert(lines.length >= 3, 'wrapped: ' + JSON.stringify(m[0]));
      for (const l of lines) assert(l.length <= 30, `fits in 30 columns: "${l}"`);
      // wider now, in the middle of the session
      t.send(bytes(IAC, SB, NAWS, 0, 120, 0, 40, IAC, SE));
      t.line('wider now'); // after the new size in the stream: once it is read, so was the size
      await web.chat('say', { from: 'narrow', body: 'wider now' });
      web.input('the quick brown fox jumps over the lazy dog and keeps on running far away');
      const w = await t.expect(/<alice>[^\r]*away\r\n/);
      assert(strip(w[0]).length > 30, 'one line at 120 columns: ' + JSON.stringify(w[0]));
      // typing is echoed; backspace edits
      t.send('helo\x08\x08llo');
      await t.expect(/helo\x08 \x08\x08 \x08llo/);
      t.send('\r');
      eq((await web.chat('say', { from: 'narrow' })).body, 'hello', 'edited line');
    },
  },
  {
    name: 'a flood on the bridge is told why and closed 1008, as on telnet; others carry on',
    fn: async ({ srv }) => {
      const a = await srv.chatter('alice');
      const t = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      await t.register('flooder');
      t.line('c');
      await t.expect(/You are in #lobby/);
      let lines = '';
      for (let i = 0; i < 400; i++) lines += 'flood '.repeat(30) + i + '\r\n';
      t.send(lines);
      await t.expect(/flooding: too much input waiting; disconnecting/, 8000);
      const closed = await t.closedP;
      eq(closed.code, 1008, 'close code');
      eq(closed.reason, 'flooding', 'close reason');
      await srv.waitLog(/is flooding: over \d+ bytes of input waiting/);
      a.input('still here');
      await a.chat('say', { body: 'still here' });
    },
  },
  {
    name: 'Origin: the board\'s own page and clients with none may open /telnet; another site\'s page gets 403',
    fn: async ({ srv }) => {
      const self = `http://127.0.0.1:${srv.wsPort}`;
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'https://evil.example' })).status, 403, 'another site');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'null' })).status, 403, 'a sandboxed page (null)');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: `http://127.0.0.1:${srv.wsPort + 1}` })).status, 403, 'another port');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: self })).status, 101, 'the board\'s own page');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: self.toUpperCase().replace('HTTP', 'http') })).status, 101, 'host in capitals');
      eq((await upgrade(srv.wsPort, '/telnet')).status, 101, 'no Origin: not a browser');
      await srv.waitLog(/\/telnet from a page of https:\/\/evil\.example, which telnet_ws_origins does not allow \(403\)/);
      // a browser-like client refused before the upgrade: no session was made
      await assertRefused(TelnetWs.open(srv.wsPort, { protocols: ['binary'], options: { headers: { Origin: 'https://evil.example' } } }), 403);
      assert(!/telnet_ws_connect[^\n]*\n[^\n]*evil/.test(srv.log), 'no session');
    },
  },
  {
    name: 'telnet_ws_origins lets the pages it names in; * lets any in; a bad entry stops the server',
    opts: { set: { telnet_ws_origins: 'https://bbs.example.org, http://friend.example:8080' } },
    fn: async ({ srv }) => {
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'https://bbs.example.org' })).status, 101, 'listed');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'http://friend.example:8080' })).status, 101, 'listed, with a port');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'http://bbs.example.org' })).status, 403, 'another scheme');
      eq((await upgrade(srv.wsPort, '/telnet', { origin: 'https://evil.example' })).status, 403, 'not listed');
      const any = await Server.start({ set: { telnet_ws_origins: '*' } });
      try {
        eq((await upgrade(any.wsPort, '/telnet', { origin: 'https://anywhere.example' })).status, 101, '* lets any page in');
      } finally {
        await any.stop();
        any.cleanup();
      }
      const { spawnSync } = require('child_process');
      const path = require('path');
      const { ROOT, BUILD } = require('../lib/harness');
      const r = spawnSync(path.join(ROOT, BUILD, 'partyline'), ['--set', 'telnet_ws_origins=https://ok.example, https://x.example/page', '--version'], { encoding: 'utf8' });
      eq(r.status, 2, 'exit status');
      assert(/telnet_ws_origins.*'https:\/\/x\.example\/page' is not an origin/.test(r.stderr), 'says why: ' + r.stderr);
    },
  },
  {
    name: 'subprotocols: /telnet takes the bridge\'s only, /ws not the bridge\'s; telnet_ws = no turns /telnet off',
    fn: async ({ srv }) => {
      eq((await upgrade(srv.wsPort, '/telnet', { protocol: 'partyline' })).status, 400, 'the JSON protocol on /telnet');
      eq((await upgrade(srv.wsPort, '/telnet', { protocol: 'partyline, binary' })).status, 400, 'the JSON one named first');
      eq((await upgrade(srv.wsPort, '/telnet', { protocol: 'xmpp' })).status, 400, 'one nobody has');
      eq((await upgrade(srv.wsPort, '/telnet', { protocol: 'partyline-http' })).status, 400, 'the HTTP routes\'');
      const ok = await upgrade(srv.wsPort, '/telnet', { protocol: 'xmpp, base64, binary' });
      eq(ok.status, 101, 'the first known one');
      assert(/sec-websocket-protocol: base64/i.test(ok.head), 'and it is named: ' + ok.head);
      for (const p of ['binary', 'plain', 'base64', 'telnet']) eq((await upgrade(srv.wsPort, '/ws', { protocol: p })).status, 400, p + ' on /ws');
      eq((await upgrade(srv.wsPort, '/ws')).status, 101, '/ws as before');
      const off = await Server.start({ set: { telnet_ws: 'no' } });
      try {
        eq((await upgrade(off.wsPort, '/telnet')).status, 404, 'off');
        eq((await upgrade(off.wsPort, '/telnet', { protocol: 'binary' })).status, 404, 'off, whatever the protocol');
        eq((await upgrade(off.wsPort, '/ws')).status, 101, '/ws still');
      } finally {
        await off.stop();
        off.cleanup();
      }
    },
  },
  {
    name: 'a bridge user is a telnet user: node numbers, /who, /nodes (via telnet-ws), s.transport; ends at hang-up',
    fn: async ({ srv }) => {
      const root = await srv.sysop();
      const t = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      await t.register('termie');
      t.line('c');
      await t.expect(/You are in #lobby/);
      root.input('/nodes');
      const n = await root.waitFor((e) => typeof e.text === 'string' && /Via/.test(e.text), '/nodes');
      assert(/termie[^\n]*telnet-ws/.test(n.text), '/nodes shows the bridge: ' + n.text);
      assert(/root[^\n]*websocket/.test(n.text), 'and the web user as before');
      root.input('/who');
      const who = await root.waitFor((e) => e.type === 'who', 'who');
      assert(who.users.some((u) => u.handle === 'termie'), 'in /who');
      t.close();
      await root.chat('leave', { from: 'termie' });
      await srv.waitLog(/"event":"telnet_ws_disconnect"/);
      root.input('/who');
      const after = await root.waitFor((e) => e.type === 'who', 'who');
      assert(!after.users.some((u) => u.handle === 'termie'), 'gone at once, no grace period');
    },
  },
  {
    name: 'bans, connections per address and the login timeout hold on the bridge, told in the terminal',
    opts: { set: { max_conns_per_addr: '2', login_timeout_s: '1' } },
    fn: async ({ srv }) => {
      const a = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      const b = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      const c = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] });
      await c.expect(/too many connections from your address\r\n/);
      const cc = await c.closedP;
      eq(cc.code, 1008, 'refused with 1008');
      eq(cc.reason, 'too many connections from your address', 'reason');
      await a.expect(/no login in time/, 4000);
      eq((await a.closedP).code, 1000, 'closed after login_timeout_s');
      await b.closedP;
      // an address ban: the banned caller reads the scripts' words in its terminal
      const root = await srv.sysop();
      root.input('/ban 127.0.0.9 1h testing the bridge');
      await root.waitFor((e) => typeof e.text === 'string' && /127\.0\.0\.9/.test(e.text), 'ban done');
      const banned = await TelnetWs.open(srv.wsPort, { protocols: ['binary'], options: { localAddress: '127.0.0.9' } });
      await banned.expect(/You are banned from this system[^\r]*: testing the bridge\r\n/);
      eq((await banned.closedP).code, 1008, 'closed 1008');
      await srv.waitLog(/"event":"telnet_ws_refused"[^\n]*refused: banned/);
    },
  },
  {
    // RFC 6455 (5.5.1): after its close frame an endpoint sends nothing, and
    // the peer's close is the answer to it. lws echoed that answer, a second
    // close, and browsers then fail the connection: code 1006, no reason.
    name: 'a close the server starts is ended by the client\'s answer, with no second close frame (on /telnet and /ws)',
    opts: { set: { login_timeout_s: '1' } },
    fn: async ({ srv }) => {
      for (const path of ['/ws', '/telnet']) {
        const r = await RawWs.open(srv.wsPort, path);
        const first = await r.waitFor((f) => f.op === OP.close, 'the close frame after login_timeout_s', 5000);
        eq(first.payload.readUInt16BE(0), 1000, path + ': its code');
        r.sendFrame(OP.close, closePayload(1000)); // the answer a browser sends
        await Promise.race([r.closed, sleep(4000)]);
        assert(r.gone, path + ': the server ends the connection on the answer');
        eq(r.frames.filter((f) => f.op === OP.close).length, 1, path + ': one close frame from the server: ' + JSON.stringify(r.frames.map((f) => [f.op, f.payload.toString('latin1').slice(-40)])));
      }
    },
  },
  {
    name: 'keepalive on the bridge: WebSocket pings; a client that answers stays, one that never does is dropped',
    opts: { set: { ping_s: '1' } },
    fn: async ({ srv }) => {
      const good = await TelnetWs.open(srv.wsPort, { protocols: ['binary'] }); // the ws library answers pings
      let pinged = 0;
      good.ws.on('ping', () => pinged++);
      const mute = await RawWs.open(srv.wsPort, '/telnet'); // never answers
      await mute.waitFor((f) => f.op === OP.ping, 'a ping', 3000);
      await Promise.race([mute.closed, sleep(5000).then(() => { throw new Error('the silent client was not dropped'); })]);
      assert(!good.closed && pinged >= 1, 'the client that answers stays');
      const m = await (await fetch(srv.http('/metrics'))).text();
      assert(/partyline_keepalive_drops_total\{transport="telnet-ws"\} 1\n/.test(m), 'counted as telnet-ws: ' + m.split('\n').filter((l) => /keepalive/.test(l)).join('; '));
    },
  },
  {
    name: 'base64: a frame that is not base64 closes 1007; fragments of one message are joined before decoding',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const t = await TelnetWs.open(srv.wsPort, { protocols: ['base64'] });
      await t.register('b64');
      t.line('c');
      await t.expect(/You are in #lobby/);
      // one message in three fragments, cut inside groups of four
      const b64 = Buffer.from('in pieces\r\n').toString('base64');
      t.ws.send(b64.slice(0, 3), { fin: false });
      t.ws.send(b64.slice(3, 9), { fin: false });
      t.ws.send(b64.slice(9), { fin: true });
      eq((await web.chat('say', { from: 'b64' })).body, 'in pieces', 'joined');
      t.ws.send('this is not base64!');
      const closed = await t.closedP;
      eq(closed.code, 1007, 'close code');
      eq(closed.reason, 'bad base64', 'reason');
    },
  },
];

async function assertRefused(p, status) {
  try {
    await p;
  } catch (e) {
    eq(e.status, status, 'refused with');
    return;
  }
  throw new Error('not refused');
}
