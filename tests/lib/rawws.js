// A WebSocket client made by hand over a plain TCP socket, for the frames a
// real client library never sends: unmasked frames, bad close frames, floods
// of control frames. It speaks just enough of RFC 6455 to upgrade and to read
// every frame the server sends, as raw bytes.
'use strict';
const crypto = require('crypto');
const net = require('net');

const OP = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// One frame: op, payload (Buffer or string), masked (clients must mask), fin.
function frame(op, payload, { masked = true, fin = true } = {}) {
  const body = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | op];
  const m = masked ? 0x80 : 0;
  if (body.length < 126) head.push(m | body.length);
  else if (body.length < 65536) head.push(m | 126, body.length >> 8, body.length & 255);
  else throw new Error('frame too big for this client');
  if (!masked) return Buffer.concat([Buffer.from(head), body]);
  const key = crypto.randomBytes(4);
  return Buffer.concat([Buffer.from(head), key, Buffer.from(body.map((b, i) => b ^ key[i & 3]))]);
}

// A close frame's payload: the code, then the reason (Buffer or string).
const closePayload = (code, reason = Buffer.alloc(0)) =>
  Buffer.concat([Buffer.from([code >> 8, code & 255]), Buffer.from(reason)]);

class RawWs {
  static open(port, path = '/ws') {
    const c = new RawWs(port, path);
    return c.opened.then(() => c);
  }

  constructor(port, path) {
    this.frames = []; // { op, payload: Buffer }, in order
    this.waiters = [];
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.sock.once('connect', () => {
        this.sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n');
      });
      this._upgraded = resolve;
      this.sock.once('close', () => reject(new Error('closed before the upgrade')));
    });
    this.closed = new Promise((resolve) => this.sock.on('close', () => { this.gone = true; this._wake(); resolve(); }));
    this.sock.on('data', (d) => this._data(d));
  }

  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.slice(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101/.test(head)) { this.sock.destroy(); return; }
      this.upgraded = true;
      this.buf = this.buf.slice(end + 4);
      this._upgraded();
    }
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf[1] & 127, off = 2;
      if (len === 126) { if (this.buf.length < 4) break; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) break; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) break;
      this.frames.push({ op: this.buf[0] & 15, fin: !!(this.buf[0] & 0x80), payload: this.buf.slice(off, off + len) });
      this.buf = this.buf.slice(off + len);
    }
    this._wake();
  }

  _wake() { for (const w of this.waiters.slice()) w(); }

  send(bytes) { this.sock.write(bytes); }
  sendFrame(op, payload, opts) { this.sock.write(frame(op, payload, opts)); }
  json(obj) { this.sendFrame(OP.text, JSON.stringify(obj)); }

  // The first frame for which pred is true; rejects if the socket closes first.
  waitFor(pred, what = 'a frame', timeout = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find(pred);
        if (f) { done(); resolve(f); return true; }
        if (this.gone) { done(); reject(new Error(`socket closed while waiting for ${what}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}`)); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  // The events the server sent, parsed from its text frames.
  events() { return this.frames.filter((f) => f.op === OP.text).map((f) => JSON.parse(f.payload.toString('utf8'))); }
  event(pred, what) { return this.waitFor((f) => f.op === OP.text && pred(JSON.parse(f.payload.toString('utf8'))), what); }

  // The server's close frame: { code, reason (Buffer) }, or null when the
  // socket closed without one.
  async closeFrame(timeout = 5000) {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, timeout))]);
    const f = this.frames.find((x) => x.op === OP.close);
    if (!f) return null;
    return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null, reason: f.payload.slice(2) };
  }

  close() { this.sock.destroy(); }
}

module.exports = { RawWs, OP, frame, closePayload };
