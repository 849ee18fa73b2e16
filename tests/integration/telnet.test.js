// Telnet as PROTOCOL.md section 6: negotiation, line editing, rendering.
'use strict';
const net = require('net');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

exports.setup = async (t) => ({ srv: await Server.start(t.opts) });

const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
const ECHO = 1, SGA = 3, TTYPE = 24, NAWS = 31;

// A raw socket, for checking bytes a real client hides.
class Raw {
  constructor(port) {
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.waiters = [];
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.waiters.forEach((w) => w()); });
    this.sock.on('close', () => { this.closed = true; this.waiters.forEach((w) => w()); });
  }
  send(bytes) { this.sock.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1')); }
  text() { return this.buf.slice(this.pos).toString('latin1'); }
  expect(re, timeout = 3000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const rest = this.buf.slice(this.pos).toString('latin1');
        const m = re.exec(rest);
        if (m) { this.pos += Buffer.byteLength(rest.slice(0, m.index + m[0].length), 'latin1'); done(); resolve(m); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.text().slice(-300))}`)); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }
  close() { this.sock.destroy(); }
}

const bytes = (...b) => Buffer.from(b);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function loggedIn(srv, raw, handle) {
  raw.send(bytes(IAC, DO, ECHO, IAC, DO, SGA));
  await raw.expect(/Handle \(or 'new' to register\): /);
  raw.send('new\r\n');
  await raw.expect(/New handle: /);
  raw.send(handle + '\r\n');
  await raw.expect(/Choose a password.*: /);
  raw.send('tulip-garden\r\n');
  await raw.expect(/Repeat the password: /);
  raw.send('tulip-garden\r\n');
  await raw.expect(/Your choice: /);
}

exports.tests = [
  {
    name: 'the server offers WILL ECHO, WILL SGA, DO NAWS, DO TERMINAL-TYPE and asks for the type',
    fn: async ({ srv }) => {
      const r = new Raw(srv.telnetPort);
      await r.expect(/Handle/);
      const all = r.buf;
      for (const [cmd, opt, name] of [[WILL, ECHO, 'WILL ECHO'], [WILL, SGA, 'WILL SGA'], [DO, NAWS, 'DO NAWS'], [DO, TTYPE, 'DO TTYPE']]) {
        assert(all.includes(bytes(IAC, cmd, opt)), name);
      }
      r.pos = r.buf.length;
      r.send(bytes(IAC, WILL, TTYPE));
      await r.expect(new RegExp(esc(Buffer.from([IAC, SB, TTYPE, 1, IAC, SE]).toString('latin1'))));
      r.close();
    },
  },
  {
    name: 'a request for an option is answered once per change of state, not once per asking (RFC 1143)',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const r = new Raw(srv.telnetPort);
      await r.expect(/Handle/);
      const count = (seq) => {
        let n = 0;
        for (let i = r.buf.indexOf(seq); i >= 0; i = r.buf.indexOf(seq, i + 1)) n++;
        return n;
      };
      const many = [];
      for (let i = 0; i < 1000; i++) many.push(IAC, DO, 99, IAC, WILL, 99, IAC, DO, ECHO, IAC, WILL, NAWS);
      r.send(Buffer.from(many));
      r.send('new\r\n');
      await r.expect(/New handle: /);
      eq(count(bytes(IAC, WONT, 99)), 1, 'WONT 99 for a thousand DO 99');
      eq(count(bytes(IAC, DONT, 99)), 1, 'DONT 99 for a thousand WILL 99');
      eq(count(bytes(IAC, WILL, ECHO)), 1, 'our one offer of ECHO, never repeated');
      eq(count(bytes(IAC, DO, NAWS)), 1, 'our one request for NAWS, never repeated');
      // turning ECHO off and on: one answer for each change
      r.send(bytes(IAC, DONT, ECHO, IAC, DONT, ECHO, IAC, DO, ECHO, IAC, DO, ECHO));
      r.send('carol\r\n');
      await r.expect(/Choose a password/);
      eq(count(bytes(IAC, WONT, ECHO)), 1, 'WONT ECHO once');
      eq(count(bytes(IAC, WILL, ECHO)), 2, 'WILL ECHO once more');
      r.send('rfc-tulip-1143\r\nrfc-tulip-1143\r\n');
      await r.expect(/Your choice: /);
      r.send('c\r\n');
      await r.expect(/You are in #lobby/);
      r.send('negotiated\r\n');
      await web.chat('say', { from: 'carol', body: 'negotiated' });
      r.close();
    },
  },
  {
    name: 'a client that refuses every option (and one that never answers) can still log in and chat',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const r = new Raw(srv.telnetPort);
      await r.expect(/Handle/);
      r.send(bytes(IAC, DONT, ECHO, IAC, DONT, SGA, IAC, WONT, NAWS, IAC, WONT, TTYPE));
      r.send('new\r\n');
      await r.expect(/New handle: /);
      r.send('bob\r\n');
      await r.expect(/password/);
      r.send('tulip-garden\r\ntulip-garden\r\n');
      await r.expect(/Your choice: /);
      r.send('c\r\n');
      await r.expect(/You are in #lobby/);
      r.send('no options here\r\n');
      await web.chat('say', { from: 'bob', body: 'no options here' });
      const before = r.buf.length;
      r.send('typed');
      await sleep(150);
      assert(!r.buf.slice(before).toString('latin1').includes('typed'), 'no echo when the client said DONT ECHO');
      r.close();
      // a client that sends nothing but lines (like nc)
      const n = new Raw(srv.telnetPort);
      await n.expect(/Handle/);
      n.send('new\nnc_user\ntulip-garden\ntulip-garden\nc\nplain lines\n');
      await web.chat('say', { from: 'nc_user', body: 'plain lines' });
      n.close();
    },
  },
  {
    name: 'line editing: backspace, DEL, Ctrl-U, Ctrl-W; CR LF, CR NUL and bare LF end a line',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const r = new Raw(srv.telnetPort);
      await loggedIn(srv, r, 'bob');
      r.send('c\r\n');
      await r.expect(/You are in #lobby/);
      r.send('helo\x08\x08llo\r\n'); // backspace
      eq((await web.chat('say', { from: 'bob' })).body, 'hello', 'backspace');
      r.send('wurld\x7f\x7f\x7f\x7forld\r\0'); // DEL, then CR NUL
      eq((await web.chat('say', { from: 'bob' })).body, 'world', 'DEL and CR NUL');
      r.send('all of this goes\x15kept\n'); // Ctrl-U, bare LF
      eq((await web.chat('say', { from: 'bob' })).body, 'kept', 'Ctrl-U and LF');
      r.send('one two three\x17four\r\n'); // Ctrl-W
      eq((await web.chat('say', { from: 'bob' })).body, 'one two four', 'Ctrl-W');
      r.send('caf\xc3\xa9\x08!\r\n'); // backspace removes a whole UTF-8 character
      eq((await web.chat('say', { from: 'bob' })).body, 'caf!', 'UTF-8 backspace');
      r.send('arrow\x1b[Dkeys\x1b[A\r\n'); // cursor keys are ignored, not typed
      eq((await web.chat('say', { from: 'bob' })).body, 'arrowkeys', 'escape sequences dropped');
      r.send('\x80\x80\x08\x08\x08ok\r\n'); // stray UTF-8 continuation bytes, then backspaces (once hung the server)
      eq((await web.chat('say', { from: 'bob' })).body, 'ok', 'stray bytes erased');
      r.send('x\xff\xffy\r\n'); // IAC IAC is a data byte 255, invalid UTF-8: made visible
      eq((await web.chat('say', { from: 'bob' })).body, 'x\ufffdy', 'IAC IAC');
      r.close();
    },
  },
  {
    name: 'the server echoes typed characters, but not the answer to a secret prompt',
    fn: async ({ srv }) => {
      const r = new Raw(srv.telnetPort);
      r.send(bytes(IAC, DO, ECHO));
      await r.expect(/Handle.*: /);
      r.send('newbie');
      await r.expect(/newbie/);
      r.send('\r\n');
      await r.expect(/Password: /);
      r.send('hunter22');
      await sleep(150);
      assert(!r.text().includes('hunter22'), 'password not echoed');
      r.send('\r\n');
      await r.expect(/\r\n/);
      r.close();
    },
  },
  {
    name: 'text is wrapped at the width NAWS reports, with CR LF line ends',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const r = new Raw(srv.telnetPort);
      r.send(bytes(IAC, WILL, NAWS, IAC, SB, NAWS, 0, 30, 0, 24, IAC, SE));
      await loggedIn(srv, r, 'bob');
      r.send('c\r\n');
      await r.expect(/#lobby/);
      await r.expect(/commands/);
      web.input('the quick brown fox jumps over the lazy dog and keeps on running far away');
      const m = await r.expect(/<alice> [\s\S]*?away\r\n/);
      const lines = m[0].split('\r\n').filter((l) => l);
      assert(lines.length >= 3, 'wrapped into several lines: ' + JSON.stringify(m[0]));
      for (const l of lines) assert(l.length <= 30, `line fits in 30 columns: "${l}"`);
      assert(!/[^\r]\n/.test(m[0]), 'every line end is CR LF');
      r.close();
    },
  },
  {
    name: 'the real telnet client gets ANSI colour for a colour terminal and none for a dumb one; BEL for a page',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const color = await srv.telnetUser('colly', { term: 'xterm', chat: true });
      web.input('in colour');
      const m = await color.expect(/\x1b\[96m<alice>\x1b\[0m in colour/);
      assert(m, 'ANSI colour codes for xterm');
      const dumb = await srv.telnetUser('dumby', { term: 'dumb', chat: true });
      web.input('no colour');
      const d = await dumb.expect(/<alice> no colour\r?\n/);
      assert(!dumb.out.includes('\x1b['), 'no escape sequences for a dumb terminal');
      web.input('/page dumby');
      await dumb.expect(/alice is paging you[^\x07]*\x07/);
    },
  },
  {
    name: 'output arriving while the user types keeps their typing on the line below',
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const r = new Raw(srv.telnetPort);
      await loggedIn(srv, r, 'bob');
      r.send('c\r\n');
      await r.expect(/commands/);
      r.send('half a li');
      await r.expect(/half a li/);
      web.input('interrupting');
      const m = await r.expect(/interrupting\r\nhalf a li/);
      assert(m, 'partial input redrawn after the incoming line');
      r.send('ne\r\n');
      eq((await web.chat('say', { from: 'bob' })).body, 'half a line', 'typed line intact');
      r.close();
    },
  },
  {
    name: 'telnet lines past max_line are cut; hostile control sequences from telnet never reach anyone',
    opts: { set: { max_line: '40' } },
    fn: async ({ srv }) => {
      const web = await srv.chatter('alice');
      const other = await srv.telnetUser('watcher', { term: 'xterm', chat: true });
      const r = new Raw(srv.telnetPort);
      await loggedIn(srv, r, 'bob');
      r.send('c\r\n');
      await r.expect(/You are in #lobby/);
      r.send('x'.repeat(100) + '\r\n');
      eq((await web.chat('say', { from: 'bob' })).body, 'x'.repeat(40), 'cut at max_line');
      r.send('a\x07\x07\x07b\x1b]0;owned\x07c\x1b[2J\x1b[Hd\x9b31me\r\n');
      const e = await web.chat('say', { from: 'bob' });
      assert(!/[\x00-\x1f\x7f\u0080-\u009f]/.test(e.body), 'no controls: ' + JSON.stringify(e.body));
      const m = await other.expect(/<bob>(\x1b\[0m)? ab[^\r]*\r\n/);
      assert(!/\x07|\x1b\]|\x1b\[2J|\x1b\[H/.test(m[0]), 'the other telnet user gets no control sequence: ' + JSON.stringify(m[0]));
      r.close();
    },
  },
];
