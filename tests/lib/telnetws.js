// A web terminal's connection to /telnet (telnet over WebSocket), made with
// the ws library as fTelnet, VTX or an xterm.js page makes it with a
// browser's WebSocket: it names subprotocols, sends the terminal's bytes
// in frames of its framing, and reads the telnet stream out of the frames
// it gets (base64 text frames under `base64`).
'use strict';
const WebSocket = require('ws');
const { bytes, IAC, DO, WILL, SB, SE, ECHO, SGA, TTYPE, NAWS } = require('./rawtelnet');

class TelnetWs {
  // protocols: the subprotocols asked for (undefined: none); send: how the
  // terminal frames its bytes, 'binary' or 'text' ('base64' when that is
  // the framing); options go to the ws library (headers: { Origin }).
  constructor(port, { protocols, send, options = {}, path = '/telnet' } = {}) {
    this.frames = []; // { binary, data } as they came
    this.buf = Buffer.alloc(0); // the telnet stream as it came
    this.data = Buffer.alloc(0); // ...and without its commands: what a terminal shows
    this.tn = 0; // where the command parser is (0: in data)
    this.pos = 0; // in data
    this.waiters = [];
    this.closed = null;
    this.sendAs = send || 'binary';
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', () => {
        this.protocol = this.ws.protocol;
        if (this.protocol === 'base64') this.sendAs = 'base64';
        resolve(this);
      });
      this.ws.on('unexpected-response', (req, res) => reject(Object.assign(new Error('refused: ' + res.statusCode), { status: res.statusCode })));
      this.ws.on('error', reject);
    });
    this.closedP = new Promise((resolve) => this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this._wake();
      resolve(this.closed);
    }));
    this.ws.on('message', (data, binary) => {
      this.frames.push({ binary, data });
      const b = this.protocol === 'base64' && !binary ? Buffer.from(data.toString('latin1'), 'base64') : data;
      this.buf = Buffer.concat([this.buf, b]);
      this._parse(b);
      this._wake();
    });
    this.ws.on('error', () => {});
  }

  static async open(port, opts) { return new TelnetWs(port, opts).opened; }

  // Takes the telnet commands out of the stream (RFC 854): IAC IAC is a
  // data byte; options and subnegotiations are not shown.
  _parse(b) {
    const out = [];
    for (const x of b) {
      if (this.tn === 0) { if (x === IAC) this.tn = 1; else out.push(x); }
      else if (this.tn === 1) { if (x === IAC) { out.push(x); this.tn = 0; } else if (x === SB) this.tn = 3; else if (x >= 251) this.tn = 2; else this.tn = 0; }
      else if (this.tn === 2) this.tn = 0; // the option of WILL, WONT, DO, DONT
      else if (this.tn === 3) { if (x === IAC) this.tn = 4; }
      else if (this.tn === 4) this.tn = x === SE ? 0 : 3;
    }
    this.data = Buffer.concat([this.data, Buffer.from(out)]);
  }

  _wake() { for (const w of this.waiters.slice()) w(); }

  // The terminal's bytes, in a frame of this terminal's kind.
  send(b) {
    b = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
    if (this.sendAs === 'base64') this.ws.send(b.toString('base64'));
    else if (this.sendAs === 'text') this.ws.send(b.toString('utf8'));
    else this.ws.send(b, { binary: true });
  }
  line(text, end = '\r\n') { this.send(text + end); }
  text() { return this.data.slice(this.pos).toString('utf8'); }

  // Waits for re in what came after the last match (decoded as UTF-8).
  expect(re, timeout = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const rest = this.data.slice(this.pos).toString('utf8');
        const m = re.exec(rest);
        if (m) { this.pos += Buffer.byteLength(rest.slice(0, m.index + m[0].length), 'utf8'); done(); resolve(m); return true; }
        if (this.closed) { done(); reject(new Error(`closed (${this.closed.code}) waiting for ${re}; got ${JSON.stringify(rest.slice(-300))}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.text().slice(-300))} (${this.frames.length} frames, ${this.buf.length} bytes, pos ${this.pos})`)); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  // Negotiation as a terminal answers the server's offers: echo and SGA
  // from the server, its type and size from us. Always binary frames (IAC
  // is no UTF-8), except under base64.
  terminal(type, cols, rows) {
    const t = Buffer.from(type, 'latin1');
    const b = Buffer.concat([bytes(IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, TTYPE, IAC, SB, TTYPE, 0), t, bytes(IAC, SE),
      bytes(IAC, WILL, NAWS, IAC, SB, NAWS, cols >> 8, cols & 255, rows >> 8, rows & 255, IAC, SE)]);
    if (this.sendAs === 'base64') this.send(b);
    else this.ws.send(b, { binary: true });
  }

  // A new account through the prompts, at the main menu after.
  async register(handle, password = handle + '-pass-1') {
    await this.expect(/Handle \(or 'new' to register\): /);
    this.line('new');
    await this.expect(/New handle: /);
    this.line(handle);
    await this.expect(/Choose a password.*: /);
    this.line(password);
    await this.expect(/Repeat the password: /);
    this.line(password);
    await this.expect(/Your choice: /);
  }

  close() { try { this.ws.terminate(); } catch (e) { /* gone */ } }
}

module.exports = { TelnetWs };
