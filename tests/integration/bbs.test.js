// Terminal users get a real BBS (issue 14): the first screen drawn for the
// terminal (colour, width, character set), CP437 for PC terminals with
// RFC 2066 CHARSET where the client offers it, ANSI art, hotkey menus,
// paging, tables that fit the screen, chat lines shown once, room history
// marked, a hang-up gone at once. Raw sockets where the bytes matter, the
// real `telnet` program (in tmux) where a person would type.
'use strict';
const fs = require('fs');
const path = require('path');
const net = require('net');
const { spawnSync } = require('child_process');
const { Server, sleep, assert, eq } = require('../lib/harness');
const { RawTelnet } = require('../lib/rawtelnet');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

const has = (buf, bytes) => buf.indexOf(Buffer.from(bytes)) >= 0;

// The real telnet program in a tmux pane of cols x rows (TERM as tmux sets it).
class TmuxTelnet {
  constructor(port, cols = 80, rows = 24) {
    this.sock = 'pl-' + process.pid + '-' + Math.random().toString(36).slice(2, 8);
    this.run('new-session', '-d', '-x', String(cols), '-y', String(rows), `telnet 127.0.0.1 ${port}`);
  }
  run(...args) { return spawnSync('tmux', ['-L', this.sock, ...args], { encoding: 'utf8' }); }
  keys(...k) { this.run('send-keys', '-t', '0', ...k); }
  type(text) { this.run('send-keys', '-t', '0', '-l', text); }
  screen() { return this.run('capture-pane', '-p', '-t', '0').stdout; }
  async expect(re, timeout = 5000) {
    const t0 = Date.now();
    for (;;) {
      const s = this.screen();
      if (re.test(s)) return s;
      if (Date.now() - t0 > timeout) throw new Error(`screen never showed ${re}:\n${s}`);
      await sleep(50);
    }
  }
  close() { this.run('kill-server'); }
}

async function login(r, handle) {
  await r.register(handle);
}

exports.tests = [
  {
    name: 'the first screen waits for the terminal\'s answers: coloured for xterm, the welcome art in CP437 bytes for SyncTERM; a client that never answers still gets one',
    fn: async ({ srv }) => {
      const x = new RawTelnet(srv.telnetPort);
      x.terminal('xterm', 80, 24);
      await x.expect(/Handle \(or 'new' to register\): /);
      const xs = x.buf.toString('utf8');
      assert(/\x1b\[[0-9;]*m/.test(xs.slice(0, xs.indexOf('Handle'))), 'the banner has colour: ' + JSON.stringify(xs.slice(0, 200)));
      assert(xs.includes('╔═══'), 'the welcome art in UTF-8 for xterm');
      assert(!xs.includes('SAUCE') && !xs.includes('partyline welcome'), 'the SAUCE record is not shown');
      const a = new RawTelnet(srv.telnetPort);
      a.enc = 'latin1';
      a.terminal('SyncTERM', 80, 25);
      await a.expect(/Handle \(or 'new' to register\): /);
      assert(has(a.buf, [0xC9, 0xCD, 0xCD]) && has(a.buf, [0xBA]) && has(a.buf, [0xC4, 0xC4]), 'CP437 box drawing bytes');
      assert(!has(a.buf, [0xE2, 0x95, 0x94]), 'no UTF-8 for a CP437 terminal');
      assert(/\x1b\[[0-9;]*m/.test(a.buf.toString('latin1')), 'and colour');
      // a client that never answers anything still gets a screen
      const q = net.connect(srv.telnetPort, '127.0.0.1');
      let got = '';
      q.on('data', (d) => { got += d.toString('latin1'); });
      const t0 = Date.now();
      while (!/Handle/.test(got) && Date.now() - t0 < 5000) await sleep(20);
      assert(/Handle/.test(got), 'a silent client gets the login prompt');
      q.destroy();
      x.close();
      a.close();
    },
  },
  {
    name: 'a CP437 terminal gets CP437 (outside characters transliterated) and its input is decoded; a CHARSET client gets UTF-8; the profile can choose',
    fn: async ({ srv }) => {
      const a = new RawTelnet(srv.telnetPort);
      a.enc = 'latin1'; // CP437 bytes
      a.terminal('ANSI', 80, 24);
      await login(a, 'ansi');
      a.line('c');
      await a.expect(/You are in #lobby/);
      const w = await srv.chatter('webby');
      await a.expect(/webby has joined/);
      a.pos = a.buf.length;
      w.input('caf\u00e9 \u00fcber \u2500\u2502 \u2615 \u201cq\u201d \u2026');
      await a.expect(/<webby>/);
      await sleep(200);
      const got = a.buf.slice(a.pos);
      assert(has(got, [0x63, 0x61, 0x66, 0x82, 0x20, 0x81, 0x62]), 'é and ü as CP437 bytes: ' + got.toString('latin1'));
      assert(has(got, [0xC4, 0xB3]), '─│ as CP437 box drawing');
      assert(!has(got, [0xC3, 0xA9]), 'no UTF-8');
      assert(has(got, Buffer.from('"q" ...')), 'quotes and the ellipsis transliterated: ' + got.toString('latin1'));
      // typed in CP437: "señor" with ñ = 0xA4
      a.send(Buffer.concat([Buffer.from('se'), Buffer.from([0xA4]), Buffer.from('or\r\n')]));
      await w.chat('say', { from: 'ansi', body: 'se\u00f1or' });
      // a client that agrees to UTF-8 over CHARSET gets UTF-8 whatever its type says
      const u = new RawTelnet(srv.telnetPort);
      u.terminal('ANSI', 80, 24, 'UTF-8');
      await login(u, 'utfan');
      u.line('c');
      await u.expect(/You are in #lobby/);
      u.pos = u.buf.length;
      w.input('\u00fcber \u2500');
      await u.expect(/<webby>(\x1b\[0m)? über ─/);
      // the user's choice, kept in the profile, wins over the terminal's
      a.line('/charset utf-8');
      await a.expect(/UTF-8/);
      a.enc = 'utf8';
      a.pos = a.buf.length;
      w.input('\u00fc again');
      await a.expect(/<webby>(\x1b\[0m)? ü again/);
      a.close();
      u.close();
    },
  },
];
