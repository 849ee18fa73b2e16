// The page's terminal view (etc/www/term.js) in a real browser: headless
// Chromium, xterm.js over /telnet, against the real server.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { Server, sleep, assert, eq } = require('../lib/harness');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio'];

exports.setup = async (t) => {
  const srv = await Server.start(t.opts);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const orig = srv.stop.bind(srv);
  srv.stop = async () => { await browser.close().catch(() => {}); return orig(); };
  return { srv, browser };
};

// A sysop's ANSI art, as art files are: SGR colours and CP437's blocks (in
// UTF-8), shown above the banner by a script of the sysop's.
const ART = 'local art = "\\27[1;33;44m\\u{2584}\\u{2584}\\u{2584}\\u{2584}\\27[0;31;42m\\u{2588}\\u{2591}\\27[0m ART"\n' +
  'local banner = pl.banner\n' +
  'function pl.banner(s) return art .. "\\n" .. banner(s) end\n';

async function openPage(browser, srv, hash = '') {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(srv.http('/' + hash));
  return page;
}

// What the terminal shows, line by line, as xterm.js holds it.
const termText = (page) => page.evaluate(() => {
  const t = window.partylineTerm && window.partylineTerm.term;
  if (!t) return '';
  const b = t.buffer.active, lines = [];
  for (let y = 0; y < b.length; y++) lines.push(b.getLine(y).translateToString(true));
  return lines.join('\n');
});

async function waitTerm(page, re, timeout = 6000) {
  const t0 = Date.now();
  for (;;) {
    const t = await termText(page);
    if (re.test(t)) return t;
    if (Date.now() - t0 > timeout) throw new Error(`terminal never showed ${re}; it ends: ${JSON.stringify(t.trimEnd().slice(-400))}`);
    await sleep(50);
  }
}

async function typeLine(page, text) {
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

exports.tests = [
  {
    name: 'in Chromium: the Terminal button opens xterm.js on /telnet; it registers, chats with a JSON user, shows ANSI art in colour',
    fn: async ({ srv, browser }) => {
      fs.writeFileSync(path.join(srv.scripts, 'zz_art.lua'), ART);
      await srv.waitLog(/scripts reloaded/);
      const alice = await srv.chatter('alice');
      const page = await openPage(browser, srv);
      await page.waitForSelector('#prompt:has-text("Handle")'); // the chat view, as before
      eq(await page.$eval('#term-toggle', (b) => b.textContent), 'Terminal', 'the button');
      await page.click('#term-toggle');
      await waitTerm(page, /Handle \(or 'new' to register\): $/m);
      assert(await page.$eval('#screen', (el) => getComputedStyle(el).display === 'none' || el.offsetParent === null), 'the chat view gives way');
      eq(await page.$eval('#term-toggle', (b) => b.textContent), 'Chat view', 'the button says how to go back');
      assert(await page.$eval('#whoami', (el) => getComputedStyle(el).display === 'none'), "the chat view's node is not shown over the terminal");
      // the art: the characters, and their colours in the cells and on screen
      const art = await page.evaluate(() => {
        const t = window.partylineTerm.term, b = t.buffer.active;
        for (let y = 0; y < b.length; y++) {
          const line = b.getLine(y);
          if (!line.translateToString(true).includes('ART')) continue;
          const cell = (x) => { const c = line.getCell(x); return { ch: c.getChars(), fg: c.isFgPalette() ? c.getFgColor() : -1, bg: c.isBgPalette() ? c.getBgColor() : -1, bold: !!c.isBold() }; };
          return { text: line.translateToString(true), cells: [0, 3, 4, 5].map(cell) };
        }
        return null;
      });
      assert(art, 'the art line is on the terminal');
      eq(art.text, '\u2584\u2584\u2584\u2584\u2588\u2591 ART', 'its characters');
      eq(JSON.stringify(art.cells[0]), JSON.stringify({ ch: '\u2584', fg: 3, bg: 4, bold: true }), 'bold yellow on blue');
      eq(JSON.stringify(art.cells[2]), JSON.stringify({ ch: '\u2588', fg: 1, bg: 2, bold: false }), 'red on green');
      const shown = await page.$$eval('#term .xterm-rows span', (ss) => ss.filter((s) => /\u2584/.test(s.textContent))
        .map((s) => ({ color: getComputedStyle(s).color, background: getComputedStyle(s).backgroundColor })));
      assert(shown.length, 'drawn on the page');
      eq(shown[0].background, 'rgb(0, 0, 170)', 'the VGA blue behind it');
      eq(shown[0].color, 'rgb(255, 255, 85)', 'bright yellow, as bold draws on a PC');
      // registers through the telnet prompts, typing in the terminal
      await typeLine(page, 'new');
      await waitTerm(page, /New handle: $/m);
      await typeLine(page, 'termuser');
      await waitTerm(page, /Choose a password[^\n]*: $/m);
      await typeLine(page, 'term-pass-1');
      assert(!(await termText(page)).includes('term-pass-1'), 'the password is not echoed');
      await waitTerm(page, /Repeat the password: $/m);
      await typeLine(page, 'term-pass-1');
      await waitTerm(page, /Your choice: $/m);
      await typeLine(page, 'c'); // the menu's choice
      await waitTerm(page, /You are in #lobby/);
      await alice.chat('join', { from: 'termuser' });
      await typeLine(page, 'hello from xterm.js');
      eq((await alice.chat('say', { from: 'termuser' })).body, 'hello from xterm.js', 'the JSON user reads it');
      alice.input('hello, terminal');
      await waitTerm(page, /<alice> hello, terminal/);
      const cols = await page.evaluate(() => window.partylineTerm.term.cols);
      assert(cols > 80, 'the terminal fills the page: ' + cols + ' columns');
      // the server knows it as a terminal of that size, on the bridge
      alice.input('/who');
      await alice.waitFor((e) => e.type === 'who' && e.users.some((u) => u.handle === 'termuser'), 'who');
      assert(/"event":"telnet_ws_connect"/.test(srv.log), 'a bridge session');
      // back to the chat view: the terminal's session stays
      await page.click('#term-toggle');
      assert(await page.$eval('#term', (el) => getComputedStyle(el).display === 'none'), 'terminal hidden');
      assert(await page.$eval('#screen', (el) => getComputedStyle(el).display !== 'none'), 'chat view back');
      alice.input('while hidden');
      await page.click('#term-toggle');
      await waitTerm(page, /<alice> while hidden/);
      await page.screenshot({ path: path.join(srv.dir, 'terminal.png') });
      eq(page.errors.length, 0, 'no script errors on the page: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: #terminal opens the page on the terminal; after a hang-up Enter connects again',
    opts: { set: { login_timeout_s: '2' } },
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv, '#terminal');
      await waitTerm(page, /Handle \(or 'new' to register\): $/m);
      // the server hangs up on a terminal that does not log in in time
      await waitTerm(page, /no login in time/, 6000);
      await waitTerm(page, /disconnected: press Enter to connect again/);
      await page.keyboard.press('Enter');
      await waitTerm(page, /disconnected[^]*Handle \(or 'new' to register\): $/m);
      eq(page.errors.length, 0, 'no script errors on the page: ' + page.errors.join('; '));
      // a reload remembers the choice
      await page.goto(srv.http('/'));
      await waitTerm(page, /Handle \(or 'new' to register\): $/m);
    },
  },
];
