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
      // it never agreed to character mode: it types lines, and a menu takes the letter and Enter
      for (const [line, re] of [['new', /New handle: $/], ['silent', /password.*: $/], ['silent-pass-1', /Repeat the password: $/],
        ['silent-pass-1', /Your choice: $/], ['c', /You are in #lobby/]]) {
        q.write(line + '\r\n');
        const t1 = Date.now();
        while (!re.test(got) && Date.now() - t1 < 5000) await sleep(20);
        assert(re.test(got), `line mode: ${re} after ${line}: ${JSON.stringify(got.slice(-200))}`);
      }
      q.destroy();
      // a terminal without colour gets the art as plain text: its characters, no escapes
      const d = new RawTelnet(srv.telnetPort);
      d.terminal('dumb', 80, 24);
      await d.expect(/Handle \(or 'new' to register\): /);
      assert(d.buf.toString('utf8').includes('╔═══') && !/\x1b\[[0-9;]*m/.test(d.buf.toString('latin1')), 'plain art for dumb');
      d.close();
      x.close();
      a.close();
    },
  },
  {
    name: 'pl.art shows a picture from art_dir: SAUCE read, not shown; translated for UTF-8; the web page gets it as text',
    fn: async () => {
      const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'partyline-art-'));
      // a picture drawn with a cursor move, CP437 blocks, a SAUCE record with a comment block
      const body = Buffer.concat([Buffer.from('\x1b[1;31m'), Buffer.from([0xDB, 0xDB, 0xB2, 0xB1, 0xB0]), Buffer.from('\x1b[5C\x1b[0;32mok\r\n')]);
      const comnt = Buffer.concat([Buffer.from('COMNT'), Buffer.from('a comment nobody should see'.padEnd(64))]);
      const sauce = Buffer.alloc(128, 0);
      sauce.write('SAUCE00', 0, 'latin1');
      sauce.write('Tiny test piece'.padEnd(35), 7, 'latin1');
      sauce.write('tester'.padEnd(20), 42, 'latin1');
      sauce.write('group'.padEnd(20), 62, 'latin1');
      sauce.writeUInt32LE(body.length, 90);
      sauce[94] = 1; sauce[95] = 1; sauce.writeUInt16LE(80, 96); sauce[104] = 1;
      fs.writeFileSync(path.join(dir, 'tiny.ans'), Buffer.concat([body, Buffer.from([0x1A]), comnt, sauce]));
      const srv2 = await Server.start({ set: { art_dir: dir } });
      fs.writeFileSync(path.join(srv2.scripts, 'commands', 'zz_art.lua'), `pl.command{ name = "tiny", run = function(s)
  local ok, why = pl.art(s, "tiny")
  local _, info = pl.art_text("tiny")
  s:text("art " .. tostring(ok) .. " " .. tostring(why) .. " " .. info.title .. " by " .. info.author)
  local gone, w2 = pl.art(s, "../etc/passwd")
  s:text("bad " .. tostring(gone) .. " " .. w2)
end }
`);
      await srv2.waitLog(/scripts reloaded/);
      try {
        const w = await srv2.chatter('artist');
        w.input('/tiny');
        const art = await w.waitFor((e) => e.type === 'text' && e.art === 'tiny', 'the art event');
        assert(/\x1b\[[0-9;]*m██▓▒░\x1b\[0m? {5}\x1b\[[0-9;]*mok/.test(art.text.replace(/\x1b\[0m(?=\x1b)/g, '')) ||
          /██▓▒░ {5}.*ok/.test(art.text), 'translated, the cursor move as spaces: ' + JSON.stringify(art.text));
        assert(!/comment|SAUCE|Tiny test/.test(art.text), 'SAUCE and its comment not shown');
        await w.text(/^art true nil Tiny test piece by tester$/);
        await w.text(/^bad false bad_name$/);
        const a = new RawTelnet(srv2.telnetPort);
        a.enc = 'latin1';
        a.terminal('SyncTERM', 80, 25);
        await a.expect(/Handle/);
        a.line('artist');
        await a.expect(/Password: /);
        a.line('secret-artist');
        await a.expect(/Your choice: /);
        a.line('c');
        await a.expect(/You are in #lobby/);
        a.pos = a.buf.length;
        a.line('/tiny');
        await a.expect(/art true/);
        assert(has(a.buf.slice(a.pos - 200), [0xDB, 0xDB, 0xB2, 0xB1, 0xB0]), 'the picture\'s own bytes for CP437');
        a.close();
      } finally {
        await srv2.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
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
      // kept: the next login on a CP437 terminal type is UTF-8 again
      const b = new RawTelnet(srv.telnetPort);
      b.terminal('ANSI', 80, 24);
      await b.expect(/Handle \(or 'new' to register\): /);
      b.line('ansi');
      await b.expect(/Password: /);
      b.line('ansi-pass-1');
      await b.expect(/Your choice: /);
      b.line('c');
      await b.expect(/You are in #lobby/);
      w.input('\u00fc kept');
      await b.expect(/<webby>(\x1b\[0m)? ü kept/);
      b.line('/charset auto');
      await b.expect(/Character set: auto \(CP437 now\)/);
      b.close();
      u.close();
    },
  },
  {
    name: '/nodes, /who, /bans and /help fit an 80-column screen and a 50-column one; IPv4 addresses show plainly',
    fn: async ({ srv }) => {
      srv.addUser('tabler', 'tabler-pass-1', { sysop: true });
      const w = await srv.chatter('a_rather_long_handle'); // 20 characters, the most there is
      // mail with a subject of 40 characters and more for the inbox
      w.input('/msg tabler ' + 'a subject long enough to fill its column to the end'.repeat(2));
      await w.waitFor((e) => e.type === 'prompt' && /Send it as mail instead/.test(e.text));
      w.input('y');
      await w.text(/Sent to tabler as mail/);
      w.input('/join a-room-with-a-long-name');
      await w.chat('join', { from: 'a_rather_long_handle', room: 'a-room-with-a-long-name' });
      for (const cols of [80, 50]) {
        const r = new RawTelnet(srv.telnetPort);
        r.terminal('xterm', cols, 200);
        await r.expect(/Handle \(or 'new' to register\): /);
        r.line('tabler');
        await r.expect(/Password: /).catch((e) => { throw new Error('cols ' + cols + ': ' + e.message + JSON.stringify(r.buf.toString().slice(-300))); });
        r.line('tabler-pass-1');
        await r.expect(/Your choice: /);
        r.line('c');
        await r.expect(/You are in #lobby/);
        if (cols === 80) {
          r.line('/ban 203.0.113.77 1d a reason that goes on for a while, longer than any column could hold here');
          await r.expect(/banned/);
        }
        for (const cmd of ['/nodes', '/who', '/bans', '/help']) {
          const from = r.pos = r.buf.length;
          r.line(cmd);
          await r.expect(cmd === '/help' ? /Anything else you type/ : cmd === '/who' ? /users online/ : cmd === '/bans' ? /203\.0\.113\.77[^\n]*\n/ : /\n\d+ +tabler[^\n]*\n/);
          await sleep(100);
          const out = r.buf.slice(from).toString('utf8').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\r\n');
          const long = out.filter((l) => [...l].length > cols);
          eq(long.length, 0, `${cmd} at ${cols} columns: ${JSON.stringify(long)}`);
          // the telnet side wraps what is wider than the screen: a row that
          // did not fit shows as a line that does not start as a row does
          const row = { '/nodes': /^(Node |\d+ )/, '/who': /^(Node |\d+ |\d+ users? online)/, '/bans': /^(Kind |address |handle )/ }[cmd];
          if (row) {
            const rows = out.slice(1).filter((l) => l.trim() !== '' && !/^> |Your choice/.test(l));
            const bad = rows.filter((l) => !row.test(l));
            eq(bad.length, 0, `${cmd} at ${cols} columns, a row on two lines: ${JSON.stringify(rows)}`);
          }
          if (cmd === '/nodes') {
            assert(out.some((l) => /127\.0\.0\.1/.test(l)), 'the address as IPv4: ' + out.join('\n'));
            assert(!out.some((l) => /::ffff/.test(l)), 'not IPv4-mapped');
            // one row per node: the row of the web user holds its handle and address
            if (cols === 80) assert(out.some((l) => /^\s*\d+ +a_rather_long_handle +127\.0\.0\.1/.test(l)), 'one line per node: ' + out.join('\n'));
          }
          if (cmd === '/help') {
            const i = out.findIndex((l) => /^ +\/nodes +Every/.test(l));
            const at = out[i].indexOf('Every');
            assert(i > 0 && out[i + 1].match(/^ */)[0].length === at && /\S/.test(out[i + 1]),
              'a help line wraps under its text: ' + out.slice(i, i + 3).join('|'));
          }
        }
        // the mail inbox: one line per message
        r.line('/quit');
        await r.expect(/Your choice: /);
        const from = r.buf.length;
        r.send('m');
        await r.expect(/unread\. Type a message's number/);
        const inbox = r.buf.slice(from).toString('utf8').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\r\n');
        const head = inbox.findIndex((l) => /^\s+# +From/.test(l));
        assert(head >= 0 && /^[ *] 1 +a_rather_/.test(inbox[head + 1]) && /^\d+ unread/.test(inbox[head + 2]),
          `the inbox at ${cols} columns, a row on one line: ${JSON.stringify(inbox)}`);
        r.close();
      }
    },
  },
  {
    name: 'room history on joining, on a terminal: gray under a rule, a screen at a time; the web page gets it flagged',
    fn: async ({ srv }) => {
      const w = await srv.chatter('histo');
      for (let i = 1; i <= 30; i++) {
        w.input(`line number ${i}`);
        await w.chat('say', { body: `line number ${i}` });
      }
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('xterm', 80, 24);
      await r.register('reader');
      r.line('c');
      await r.expect(/--- earlier in #lobby ---/);
      await r.expect(/-- More --/);
      const first = r.buf.toString('utf8');
      assert(/\x1b\[90m<histo> line number 1\x1b\[0m/.test(first), 'a history line is gray');
      assert(!/line number 30/.test(first), 'the rest waits for a key');
      r.send(' ');
      await r.expect(/line number 30/);
      assert(/reader has joined #lobby/.test(r.buf.toString('utf8')), 'and the join');
      const v = await srv.chatter('webreader');
      const h = v.events.filter((e) => e.type === 'chat' && e.history);
      assert(h.length >= 30 && !/\x1b\[90m</.test(h[0].text), 'the web page gets the events flagged, as before');
      r.close();
    },
  },
  {
    name: 'a telnet hang-up is gone from /who at once; /msg to them says so and offers mail',
    fn: async ({ srv }) => {
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('xterm', 80, 24);
      await r.register('hangup');
      r.line('c');
      await r.expect(/You are in #lobby/);
      const w = await srv.chatter('stayer');
      r.close();
      await w.chat('leave', { from: 'hangup' });
      w.input('/who');
      const who = await w.waitFor((e) => e.type === 'who');
      assert(!who.users.some((u) => u.handle === 'hangup'), 'not in /who');
      w.input('/msg hangup are you there?');
      await w.waitFor((e) => e.type === 'prompt' && /hangup is not online\. Send it as mail instead\?/.test(e.text));
      w.input('y');
      await w.text(/Sent to hangup as mail/);
    },
  },
  {
    name: 'the real telnet program: a single key enters chat, a line said shows once, /help stops at -- More -- on 24 rows',
    fn: async ({ srv }) => {
      const t = new TmuxTelnet(srv.telnetPort, 80, 24);
      try {
        await t.expect(/Handle \(or 'new' to register\):/);
        t.type('new'); t.keys('Enter');
        await t.expect(/New handle:/);
        t.type('tmuxer'); t.keys('Enter');
        await t.expect(/Choose a password/);
        t.type('tmuxer-pass-1'); t.keys('Enter');
        await t.expect(/Repeat the password/);
        t.type('tmuxer-pass-1'); t.keys('Enter');
        await t.expect(/Your choice:/);
        t.type('c'); // no Enter
        await t.expect(/You are in #lobby/);
        t.type('hello from a real telnet'); t.keys('Enter');
        const screen = await t.expect(/<tmuxer> hello from a real telnet/);
        await sleep(300);
        eq((t.screen().match(/hello from a real telnet/g) || []).length, 1, 'the line once: ' + screen);
        // a sysop's /help of 30 lines on a 24-row screen
        fs.writeFileSync(path.join(srv.scripts, 'commands', 'zz_many.lua'),
          Array.from({ length: 30 }, (_, i) => `pl.command{ name = "extra${String(i).padStart(2, '0')}", help = "extra command ${i}", run = function() end }`).join('\n') + '\n');
        await srv.waitLog(/scripts reloaded/);
        t.type('/help'); t.keys('Enter');
        const s1 = await t.expect(/-- More --/);
        assert(!/Anything else you type/.test(s1), 'the end waits');
        t.type('q');
        await sleep(300);
        assert(!/Anything else you type/.test(t.screen()), 'Q stops');
        t.type('/help'); t.keys('Enter');
        await t.expect(/-- More --/);
        for (let i = 0; i < 5 && !/Anything else you type/.test(t.screen()); i++) {
          t.type(' ');
          await sleep(300);
        }
        await t.expect(/Anything else you type/);
      } finally {
        t.close();
      }
    },
  },
  {
    name: '/chat: a telnet caller asks a web user; on acceptance two regions on the terminal and a pane on the web, typing seen live, Escape ends it for both',
    fn: async ({ srv }) => {
      const t = new TmuxTelnet(srv.telnetPort, 80, 24);
      try {
        await t.expect(/Handle \(or 'new' to register\):/);
        for (const [k, re] of [['new', /New handle:/], ['alice', /Choose a password/], ['alice-pass-1', /Repeat/], ['alice-pass-1', /Your choice:/]]) {
          t.type(k); t.keys('Enter');
          await t.expect(re);
        }
        t.type('c');
        await t.expect(/You are in #lobby/);
        const w = await srv.chatter('webber');
        t.type('/chat webber'); t.keys('Enter');
        await w.chat('system', { body: /alice asks you to a private chat\. Type \/chat alice to accept/ });
        w.input('/chat alice');
        const open = await w.waitFor((e) => e.type === 'pane' && e.op === 'open', 'the pane opens');
        eq(open.with, 'alice', 'with alice');
        const id = open.id;
        eq(w.events.filter((e) => e.type === 'input_mode').pop().mode, 'key', 'the web page sends keys');
        const framed = await t.expect(/webber above, you below/);
        assert(/Private chat with webber/.test(framed), 'the title above: ' + framed);
        // the web user types: the terminal sees it live above the rule, then the line
        for (const k of ['h', 'e', 'y']) w.input(k);
        let screen = await t.expect(/hey_\n[─]+ webber above/);
        w.input('');
        screen = await t.expect(/<webber> hey\n/);
        const rows = screen.split('\n');
        const rule = rows.findIndex((l) => /webber above, you below/.test(l));
        assert(rows.findIndex((l) => /<webber> hey/.test(l)) < rule, 'their line above the rule');
        // the caller types: the web page hears it as typing, then as a split chat line
        t.type('yo there');
        await t.expect(/^> yo there/m);
        const typing = await w.waitFor((e) => e.type === 'pane' && e.op === 'typing' && e.text === 'yo there', 'live typing');
        eq(typing.id, id, 'typing of the pane');
        eq(typing.from, 'alice', 'typing from alice');
        t.keys('Enter');
        const line = await w.chat('split', { from: 'alice', body: 'yo there' });
        eq(line.pane, id, 'the pane');
        screen = await t.expect(/<alice> yo there/);
        const rows2 = screen.split('\n');
        assert(rows2.findIndex((l) => /<alice> yo there/.test(l)) > rows2.findIndex((l) => /webber above/.test(l)), 'own line below the rule');
        // what else comes meanwhile (a private message) scrolls in below the rule, above the input
        const third = await srv.chatter('third');
        third.input('/msg alice psst');
        screen = await t.expect(/\*third\* psst/);
        const rows3 = screen.trimEnd().split('\n');
        const at = rows3.findIndex((l) => /\*third\* psst/.test(l));
        assert(at > rows3.findIndex((l) => /webber above/.test(l)), 'below the rule: ' + screen);
        assert(/^> ?$/.test(rows3[rows3.length - 1]), 'the input row stays last: ' + JSON.stringify(rows3.slice(-3)));
        assert(rows3.some((l) => /<webber> hey/.test(l)) && rows3.some((l) => /<alice> yo there/.test(l)), 'nothing lost: ' + screen);
        // the window grows (NAWS): the regions are laid out again for it
        const ruleRow = () => t.screen().split('\n').findIndex((l) => /webber above, you below/.test(l));
        eq(ruleRow(), 11, 'the rule in the middle of 24 rows');
        t.run('resize-window', '-t', '0', '-x', '100', '-y', '30');
        for (let i = 0; i < 50 && ruleRow() !== 14; i++) await sleep(50);
        eq(ruleRow(), 14, 'the rule in the middle of 30 rows: ' + t.screen());
        const wide = t.screen().split('\n')[14].trimEnd();
        eq([...wide].length, 99, 'the rule as wide as the window: ' + wide);
        w.input('!');
        await t.expect(/!_\n[─]+ webber above/);
        w.input('backspace');
        t.keys('Escape');
        const close = await w.waitFor((e) => e.type === 'pane' && e.op === 'close', 'the pane closes');
        eq(close.id, id, 'that pane');
        await t.expect(/Private chat over: You ended the chat with webber/);
        await t.expect(/You are in #lobby/);
        await w.chat('system', { body: /Private chat over: alice ended the chat/ });
        eq(w.events.filter((e) => e.type === 'input_mode').pop().mode, 'line', 'lines again on the web');
      } finally {
        t.close();
      }
    },
  },
  {
    name: 'a sysop breaks in on a node (the user is told); a terminal without ANSI chats in plain lines; a hang-up ends it',
    fn: async ({ srv }) => {
      const root = await srv.sysop();
      const d = new RawTelnet(srv.telnetPort);
      d.terminal('dumb', 80, 24);
      await d.register('plainuser');
      d.line('c');
      await d.expect(/You are in #lobby/);
      root.input('/who');
      const who = await root.waitFor((e) => e.type === 'who');
      const node = who.users.find((u) => u.handle === 'plainuser').node;
      root.input('/breakin ' + node);
      const open = await root.waitFor((e) => e.type === 'pane' && e.op === 'open');
      eq(open.with, 'plainuser', 'the sysop\'s pane');
      await d.expect(/The sysop root has broken in to chat with you/);
      await d.expect(/> /);
      assert(!/\x1b\[\d*;?\d*r/.test(d.text()), 'no scroll regions for a terminal without ANSI');
      d.line('hello sysop');
      await root.chat('split', { from: 'plainuser', body: 'hello sysop', pane: open.id });
      for (const k of ['o', 'k']) root.input(k);
      root.input('');
      await d.expect(/<root> ok/);
      d.close(); // hangs up
      const close = await root.waitFor((e) => e.type === 'pane' && e.op === 'close');
      assert(/plainuser hung up/.test(close.reason), close.reason);
      // a user who is not asked cannot be pulled in by anyone but a sysop
      const u = await srv.chatter('notsysop');
      u.input('/breakin 1');
      await u.waitFor((e) => e.type === 'text' && /Unknown command|not allowed|sysop/i.test(e.text), 'refused');
    },
  },
];
