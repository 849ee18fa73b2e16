// A raw telnet socket, for tests that negotiate by hand (terminal type,
// window size, character mode) and look at the bytes a real client hides.
'use strict';
const net = require('net');

const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
const ECHO = 1, SGA = 3, TTYPE = 24, NAWS = 31, CHARSET = 42;
const bytes = (...b) => Buffer.from(b);

class RawTelnet {
  constructor(port) {
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.waiters = [];
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.waiters.forEach((w) => w()); });
    this.sock.on('close', () => { this.closed = true; this.waiters.forEach((w) => w()); });
    this.sock.on('error', () => {});
  }
  send(b) { this.sock.write(Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8')); }
  line(text) { this.send(text + '\r\n'); }
  // enc: how the bytes are read for expect ('latin1' for a CP437 terminal's)
  text() { return this.buf.slice(this.pos).toString(this.enc || 'utf8'); }
  // Waits for re in what came after the last match (decoded as UTF-8).
  expect(re, timeout = 4000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const rest = this.text();
        const m = re.exec(rest);
        if (m) { this.pos += this.bytesOf(m.index + m[0].length); done(); resolve(m); return true; }
        if (this.closed) { done(); reject(new Error(`closed waiting for ${re}; got ${JSON.stringify(rest.slice(-300))}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.text().slice(-300))}`)); }, timeout);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }
  // How many bytes after pos decode to the first n characters of text():
  // not Buffer.byteLength of them, as a byte that is not UTF-8 (a telnet
  // command's) decodes to one U+FFFD of three bytes.
  bytesOf(n) {
    if (this.enc === 'latin1') return n;
    let lo = 0, hi = this.buf.length - this.pos;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf.slice(this.pos, this.pos + mid).toString('utf8').length >= n) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  // Says what a terminal would: its type and its size, and lets us echo.
  // charset: the answer to our CHARSET REQUEST (RFC 2066): a set's name to
  // accept, or nothing for a client without the option (DONT CHARSET).
  terminal(type, cols, rows, charset) {
    const t = Buffer.from(type, 'latin1');
    const cs = charset ? Buffer.concat([bytes(IAC, DO, CHARSET, IAC, SB, CHARSET, 2), Buffer.from(charset, 'latin1'), bytes(IAC, SE)])
      : bytes(IAC, DONT, CHARSET);
    this.send(Buffer.concat([bytes(IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, TTYPE, IAC, SB, TTYPE, 0), t, bytes(IAC, SE),
      bytes(IAC, WILL, NAWS, IAC, SB, NAWS, cols >> 8, cols & 255, rows >> 8, rows & 255, IAC, SE), cs]));
  }
  // Registers handle through the prompts; returns at the main menu's prompt.
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
  close() { this.sock.destroy(); }
}

module.exports = { RawTelnet, bytes, IAC, DONT, DO, WONT, WILL, SB, SE, ECHO, SGA, TTYPE, NAWS, CHARSET };
