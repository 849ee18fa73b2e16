// Terminals as scripts see them (issue 13): s.terminal (type, size,
// colours, charset, transport), pl.text (display width, strip, fit, wrap),
// colours with backgrounds and the 256-colour palette, and s:color that
// suits each user's terminal.
'use strict';
const fs = require('fs');
const path = require('path');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');
const { RawTelnet } = require('../lib/rawtelnet');

exports.setup = async (t) => ({ srv: await Server.start(Object.assign({ set: { sysops: 'root' } }, t.opts)) });

function write(srv, files) {
  for (const [file, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(srv.scripts, file)), { recursive: true });
    fs.writeFileSync(path.join(srv.scripts, file), src);
  }
}
async function reloaded(srv, n = 1) {
  const t0 = Date.now();
  while ((srv.log.match(/scripts reloaded/g) || []).length < n) {
    if (Date.now() - t0 > 5000) throw new Error('no reload; log:\n' + srv.log.slice(-600));
    await sleep(20);
  }
}

const PROBE = `pl.command{ name = "term", run = function(s)
  local t = s.terminal
  s:text("term: " .. t.type .. " " .. tostring(t.cols) .. "x" .. tostring(t.rows) .. " colors " .. t.colors ..
    " " .. t.charset .. " via " .. t.transport .. " | " .. s:color("208 on_17 bold", "hi"))
end }
`;

exports.tests = [
  {
    name: 's.terminal tells a telnet terminal\'s type, size and colours, and the web page\'s; s:color suits each',
    fn: async ({ srv }) => {
      write(srv, { 'commands/term.lua': PROBE });
      await reloaded(srv);
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('xterm-256color', 100, 40);
      await r.register('tina');
      r.line('c');
      await r.expect(/You are in #lobby/);
      r.line('/term');
      await r.expect(/term: xterm-256color 100x40 colors 256 utf-8 via telnet \| \x1b\[38;5;208;48;5;17;1mhi\x1b\[0m/);
      const v = new RawTelnet(srv.telnetPort);
      v.terminal('vt100', 80, 24);
      await v.register('vera');
      v.line('c');
      await v.expect(/You are in #lobby/);
      v.line('/term');
      // 208 (orange) and 17 (navy) as the nearest of the 16: yellow on black
      await v.expect(/term: vt100 80x24 colors 16 utf-8 via telnet \| \x1b\[33;40;1mhi\x1b\[0m/);
      const d = new RawTelnet(srv.telnetPort);
      d.terminal('dumb', 60, 20);
      await d.register('dora');
      d.line('c');
      await d.expect(/You are in #lobby/);
      d.line('/term');
      await d.expect(/term: dumb 60x20 colors 0 utf-8 via telnet \| hi\r\n/);
      const w = await srv.chatter('walt');
      w.input('/term');
      const t = (await w.text(/^term:/)).text;
      eq(t, 'term: web nilxnil colors 256 utf-8 via websocket | \x1b[38;5;208;48;5;17;1mhi\x1b[0m', 'the web page');
      for (const c of [r, v, d]) c.close();
    },
  },
  {
    name: 'pl.text measures, strips, fits and wraps as a terminal shows text; pl.color takes backgrounds, 256 colours and styles',
    fn: async ({ srv }) => {
      write(srv, { 'commands/textprobe.lua': `pl.command{ name = "textprobe", run = function(s)
  local out = {}
  local function put(v) out[#out + 1] = tostring(v) end
  put(pl.text.width("abc")) put(pl.text.width("日本")) put(pl.text.width("e\\u{301}")) put(pl.text.width(pl.color("red", "ab")))
  put(pl.text.strip(pl.color("bright_white on_blue", "plain")))
  put("[" .. pl.text.fit("日本語", 5) .. "]") put("[" .. pl.text.fit("ab", 4, true) .. "]")
  put("[" .. pl.text.fit(pl.color("red", "abcdef"), 3) .. "]")
  put(table.concat(pl.text.wrap("the quick brown fox", 10), "|"))
  put(table.concat(pl.text.wrap("a\\n\\nverylongword", 4), "|"))
  put(pl.color("on_236 italic underline reverse", "x"))
  local ok, err = pcall(function() local v = pl.color("chartreuse", "x") return v end) put(err)
  s:text(table.concat(out, ";"))
end }
` });
      await reloaded(srv);
      const a = await srv.chatter('alice');
      a.input('/textprobe');
      const t = (await a.waitFor((e) => e.type === 'text' && /^3;/.test(e.text))).text;
      eq(t, ['3', '4', '1', '2', 'plain', '[日本]', '[ab  ]', '[\x1b[31mabc\x1b[0m]', 'the quick|brown fox',
        'a||very|long|word', '\x1b[48;5;236;3;4;7mx\x1b[0m', 'commands/textprobe.lua:11: unknown colour \'chartreuse\''].join(';'), 'results');
    },
  },
  {
    name: 'long output comes a screen at a time on a terminal (-- More --, any key, Enter one line, Q stops); the web page gets it whole',
    fn: async ({ srv }) => {
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('dumb', 80, 7);
      await r.register('tina');
      r.line('c');
      await r.expect(/You are in #lobby/);
      r.line('/help');
      const first = await r.expect(/([\s\S]*?)-- More -- \(any key: next page, Enter: one line, Q: stop\) /);
      const shown = first[1].split('\r\n').filter((l) => l.trim() && !/\/help/.test(l));
      assert(shown.length <= 6 && shown.length >= 4, 'one screen of 7 rows: ' + JSON.stringify(shown));
      r.send('\r'); // Enter: one line more
      const one = await r.expect(/([\s\S]*?)-- More --/);
      const more = one[1].split('\r\n').filter((l) => /\/\w/.test(l));
      eq(more.length, 1, 'Enter shows one line: ' + JSON.stringify(one[1]));
      r.send(' '); // one key, no Enter: the terminal is in key mode for the pager
      await r.expect(/-- More --/);
      r.send('q');
      await sleep(200);
      assert(!/Anything else you type is said to the room/.test(r.text()), 'Q stopped before the end');
      r.line('back to chatting');
      await r.expect(/<tina> back to chatting/);
      r.line('/help');
      await r.expect(/-- More --/);
      for (let i = 0; i < 10 && !/Anything else you type/.test(r.text()); i++) {
        r.send(' ');
        await sleep(100);
      }
      await r.expect(/Anything else you type is said to the room\./);
      const w = await srv.chatter('walt');
      w.input('/help');
      const all = await w.text(/^Commands:/);
      assert(/Anything else you type is said to the room\.$/.test(strip(all.text)), 'the web page gets it in one');
      await w.none((e) => e.type === 'prompt' && /More/.test(e.text), 200, 'no More for the web');
      r.close();
    },
  },
  {
    name: 'a service that asks for single keys gets each key as it is pressed, named; leaving it brings lines back',
    fn: async ({ srv }) => {
      write(srv, { 'games/keys.lua': `pl.service{ id = "keytest", keys = true,
  enter = function(s) s:prompt("Keys> ") end,
  input = function(s, key)
    if key == "q" then return s:enter("menu") end
    s:text("key [" .. key .. "]")
  end }
pl.menu_item{ key = "K", label = "Keys", service = "keytest" }
` });
      await reloaded(srv);
      const r = new RawTelnet(srv.telnetPort);
      r.terminal('xterm', 80, 24);
      await r.register('kim');
      r.line('k');
      await r.expect(/Keys> /);
      r.send('x');
      await r.expect(/key \[x\]/);
      r.send('\x1b[A');
      await r.expect(/key \[up\]/);
      r.send('é'); // keys pressed one by one (a chunk of whole lines is a line: "é\r" at once is é)
      await r.expect(/key \[é\]/);
      r.send('\r');
      await r.expect(/key \[\]/);
      assert(!/Keys> x/.test(r.text()), 'keys are not echoed');
      r.send('q');
      await r.expect(/Your choice: /);
      r.line('c');
      await r.expect(/You are in #lobby/);
      r.line('a whole line again');
      await r.expect(/<kim>(\x1b\[0m)? a whole line again/);
      const w = await srv.user('walt');
      // the main menu takes hotkeys: the web page is told to send keys at once
      eq(w.events.filter((e) => e.type === 'input_mode').pop().mode, 'key', 'the web page is told to send keys');
      w.input('k');
      w.input('z');
      await w.text(/^key \[z\]$/);
      w.input('q');
      await w.waitFor((e) => e.type === 'menu', 'the main menu again');
      w.input('c');
      eq((await w.waitFor((e) => e.type === 'input_mode')).mode, 'line', 'and lines again in chat');
      r.close();
    },
  },
];
