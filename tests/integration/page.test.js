// The web page as a laptop and a phone see it (issue 15): headless Chromium
// (playwright-core, Debian's chromium) at 1280x800 and 390x844, and 320 wide
// for overflow. Keeping the user's place, panels kept by presence events,
// the layout and its drawer, ANSI art drawn as a terminal would, chat
// conveniences, and an axe-core accessibility check. Screenshots go to
// build/test-output/page/ for a person to look at.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { Server, ROOT, BUILD, sleep, assert, eq } = require('../lib/harness');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio'];
const SHOTS = path.join(ROOT, BUILD, 'test-output', 'page');
const LAPTOP = { width: 1280, height: 800 }, PHONE = { width: 390, height: 844 };
const SIZES = [['laptop', LAPTOP], ['phone', PHONE]];

exports.setup = async (t) => {
  const srv = await Server.start(t.opts);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const orig = srv.stop.bind(srv);
  srv.stop = async () => { await browser.close().catch(() => {}); return orig(); };
  return { srv, browser };
};

async function openPage(browser, srv, viewport, init) {
  const phone = viewport.width < 500;
  const page = await browser.newPage({ viewport, isMobile: phone, hasTouch: phone, deviceScaleFactor: 1 });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  if (init) await page.addInitScript(init);
  await page.goto(srv.http('/'));
  return page;
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
}

async function type(page, text) {
  await page.fill('#line', text);
  await page.press('#line', 'Enter');
}

const screenText = (page) => page.$eval('#screen', (el) => el.innerText);

async function waitScreen(page, re, timeout = 5000) {
  const t0 = Date.now();
  for (;;) {
    const t = await screenText(page);
    if (re.test(t)) return t;
    if (Date.now() - t0 > timeout) throw new Error(`page never showed ${re}; screen ends: ${JSON.stringify(t.slice(-400))}`);
    await sleep(50);
  }
}

async function registerOnPage(page, handle, password = handle + '-pass1') {
  await page.waitForSelector('#prompt:has-text("Handle")');
  await type(page, 'new');
  await page.waitForSelector('#prompt:has-text("New handle")');
  await type(page, handle);
  await page.waitForSelector('#prompt:has-text("Choose a password")');
  await type(page, password);
  await page.waitForSelector('#prompt:has-text("Repeat")');
  await type(page, password);
  await page.waitForSelector('#menu button[data-key="C"]');
}

async function toChat(page) {
  await page.click('#menu button[data-key="C"]');
  await waitScreen(page, /You are in #lobby/);
}

// The transcript shows its last line: what the user would see without
// scrolling. Waits for it (layout, fonts), failing when it never comes.
async function atBottom(page, why) {
  try {
    await page.waitForFunction(() => {
      const s = document.getElementById('screen');
      return s.scrollHeight - s.scrollTop - s.clientHeight <= 3;
    }, null, { timeout: 3000 });
  } catch (e) {
    const gap = await page.$eval('#screen', (s) => s.scrollHeight - s.scrollTop - s.clientHeight);
    throw new Error(`${why}: the view is ${gap} px above the end of the transcript`);
  }
}

// Whether the element holding `text` (the last one) is inside the visible
// part of the transcript.
const seen = (page, text) => page.$eval('#screen', (s, text) => {
  const els = [...s.querySelectorAll('.line, .block')].filter((e) => e.textContent.includes(text));
  if (!els.length) return false;
  const r = els[els.length - 1].getBoundingClientRect(), v = s.getBoundingClientRect();
  return r.top >= v.top - 1 && r.bottom <= v.bottom + 1;
}, text);

// Panels: on a phone they are a drawer, opened from the header.
async function openPanels(page) {
  if (await page.isVisible('#panels')) {
    if ((await page.getAttribute('#panels', 'aria-expanded')) !== 'true') await page.click('#panels');
    await page.waitForFunction(() => {
      const r = document.getElementById('side').getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth + 1 && getComputedStyle(document.getElementById('side')).visibility === 'visible';
    }, null, { timeout: 3000 });
  }
}

const whoList = (page) => page.$$eval('#who li', (ls) => ls.map((l) => l.innerText.replace(/\s+/g, ' ').trim()));
const roomList = (page) => page.$$eval('#rooms li', (ls) => ls.map((l) => l.innerText.replace(/\s+/g, ' ').trim()));

async function waitFor(fn, why, timeout = 5000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await fn();
    if (last === true) return;
    if (Date.now() - t0 > timeout) throw new Error(why + ': ' + JSON.stringify(last));
    await sleep(50);
  }
}

async function axe(page, where) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
  });
  eq(found.length, 0, 'axe-core on ' + where + ': ' + found.join('; '));
}

// A sysop's ANSI art, as a .ans file holds it: clear screen, home, a blue
// box drawn with CP437 box characters, a red block reached by cursor moves,
// reverse, 256 and true colour backgrounds.
const ESC = '\x1b';
const ART = [
  ESC + '[2J' + ESC + '[H',
  ESC + '[0;37;44m\u2554' + '\u2550'.repeat(18) + '\u2557' + ESC + '[0m\r\n',
  ESC + '[37;44m\u2551' + ESC + '[1;33m  partyline art   ' + ESC + '[0;37;44m\u2551' + ESC + '[0m\r\n',
  ESC + '[37;44m\u255a' + '\u2550'.repeat(18) + '\u255d' + ESC + '[0m\r\n',
  ESC + '[5;3H' + ESC + '[41m   ' + ESC + '[0m',   // row 5, column 3: red background
  ESC + '[2C' + ESC + '[7;32mrev' + ESC + '[0m',      // two right, reverse green
  ESC + '[6;1H' + ESC + '[48;5;196m  ' + ESC + '[48;2;10;20;30m  ' + ESC + '[0m\r\n',
].join('');

const ART_SCRIPT = `pl.service{ id = "arttest",
  enter = function(s) s:text(${JSON.stringify(ART).replace(/\\u001b/g, '\\27')}) s:prompt("Any line> ") end,
  input = function(s, line) s:enter("menu") end }
pl.menu_item{ key = "A", label = "Art", service = "arttest" }
`;

// The background colour of the art cell at (row, col), 1-based as the
// sequences count them, and the character in it.
const cellAt = (page, row, col) => page.evaluate(([row, col]) => {
  const screens = document.querySelectorAll('#screen .art-screen');
  const scr = screens[screens.length - 1];
  if (!scr) return null;
  const rowEl = scr.children[row - 1];
  if (!rowEl) return null;
  let at = 0;
  for (const n of rowEl.childNodes) {
    const t = [...n.textContent];
    if (col - 1 < at + t.length) {
      const el = n.nodeType === 1 ? n : rowEl;
      return { ch: t[col - 1 - at], bg: getComputedStyle(el).backgroundColor, fg: getComputedStyle(el).color };
    }
    at += t.length;
  }
  return { ch: ' ', bg: getComputedStyle(scr).backgroundColor };
}, [row, col]);

exports.tests = [];

for (const [size, viewport] of SIZES) {
  exports.tests.push({
    name: `at ${viewport.width}x${viewport.height}: the view follows new output after /quit, after opening a mail and after a kick; scrolled up, a marker counts what came and jumps down`,
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv, viewport);
      await registerOnPage(page, 'reader');
      await toChat(page);
      const bob = await srv.chatter('bob');
      for (let i = 1; i <= 40; i++) bob.input('filler line ' + i + ' to fill the screen');
      await waitScreen(page, /filler line 40 /, 10000);
      await atBottom(page, 'after 40 lines');
      // /quit: the menu bar comes before the menu's text
      await type(page, '/quit');
      await page.waitForSelector('#menu:not([hidden]) button[data-key="M"]');
      await waitScreen(page, /Your choice/);
      await atBottom(page, 'after /quit');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby[\s\S]*You are in #lobby/);
      // the user scrolls up: they keep their place, and are told what came
      await page.$eval('#screen', (s) => { s.scrollTop = 0; s.dispatchEvent(new Event('scroll')); });
      bob.input('said while reader scrolled up');
      bob.input('and one more');
      await waitScreen(page, /and one more/);
      await page.waitForSelector('#jump:not([hidden])');
      eq(await page.$eval('#screen', (s) => s.scrollTop), 0, 'a user who scrolled up keeps their place');
      assert(/2 new messages/.test(await page.textContent('#jump')), 'the marker counts: ' + await page.textContent('#jump'));
      await page.click('#jump');
      await atBottom(page, 'after the marker');
      assert(await page.isHidden('#jump'), 'the marker goes once read');
      // a mail opened from the panel: through the menus to it
      const poster = await srv.user('poster');
      poster.input('m');
      poster.input('c');
      poster.input('reader');
      poster.input('Long letter');
      for (let i = 1; i <= 30; i++) poster.input('line ' + i + ' of a long letter');
      poster.input('the last line of the letter');
      poster.input('.');
      await poster.text(/Mail sent to reader/);
      await openPanels(page);
      await page.click('#mail li:has-text("Long letter")');
      await waitScreen(page, /the last line of the letter/, 10000);
      await atBottom(page, 'after opening a mail');
      assert(await seen(page, 'the last line of the letter'), 'the end of the mail is in view');
      await shot(page, size + '-mail');
      // a kick: the reason is the last thing, and in view
      const root = await srv.sysop('root');
      root.input('/kick reader spamming the lobby');
      await waitScreen(page, /spamming the lobby/);
      await page.waitForSelector('#ended:not([hidden])');
      await atBottom(page, 'after a kick');
      assert(await seen(page, 'spamming the lobby'), 'the kick reason is in view');
      await shot(page, size + '-kicked');
      eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
    },
  });
}

exports.tests.push({
  name: 'presence: the who and rooms panels show three users and two rooms without /who, follow a user to Mail, and are right after F5 with no stray line',
  fn: async ({ srv, browser }) => {
    const page = await openPage(browser, srv, LAPTOP);
    await registerOnPage(page, 'watcher');
    const bob = await srv.chatter('bob');
    const carol = await srv.chatter('carol');
    carol.input('/join den');
    await carol.chat('join', { room: 'den', from: 'carol' });
    await toChat(page);
    await waitFor(async () => {
      const w = await whoList(page), r = await roomList(page);
      return (w.length === 3 && w.some((x) => /^watcher/.test(x) && /In Chat · #lobby/.test(x)) &&
        w.some((x) => /^bob/.test(x) && /#lobby/.test(x)) && w.some((x) => /^carol/.test(x) && /#den/.test(x)) &&
        r.includes('#lobby 2') && r.includes('#den 1') && r.length === 2) || { w, r };
    }, 'three users and two rooms in the panels');
    assert(!srv.log.includes('"/who"'), 'nobody typed /who');
    // bob goes to Mail: the panel follows him, and #lobby counts one
    bob.input('/quit');
    await bob.waitFor((e) => e.type === 'menu');
    bob.input('m');
    await waitFor(async () => {
      const w = await whoList(page), r = await roomList(page);
      return (w.some((x) => /^bob/.test(x) && /Reading mail/.test(x) && !/#lobby/.test(x)) && r.includes('#lobby 1')) || { w, r };
    }, 'bob in Mail');
    // carol logs off: gone from the list, and #den with her
    carol.input('/quit');
    await carol.waitFor((e) => e.type === 'menu');
    carol.input('g');
    await waitFor(async () => {
      const w = await whoList(page), r = await roomList(page);
      return (w.length === 2 && !w.some((x) => /carol/.test(x)) && !r.some((x) => /#den/.test(x))) || { w, r };
    }, 'carol gone, #den gone');
    const before = await screenText(page);
    await page.reload();
    await waitScreen(page, /You are in #lobby/);
    await waitFor(async () => {
      const w = await whoList(page), r = await roomList(page);
      return (w.length === 2 && w.some((x) => /^bob/.test(x) && /Reading mail/.test(x)) && r.length === 1 && r[0] === '#lobby 1') || { w, r };
    }, 'the panels after F5');
    await sleep(600); // a presence window: anything stray would be here by now
    const after = await screenText(page);
    assert(!/^Rooms:/m.test(after) && !/^ *Node +Handle/m.test(after), 'no stray /rooms or /who line: ' + after.slice(-600));
    const lines = (t) => t.split('\n').filter((l) => /In Chat|has joined|You are in/.test(l)).length;
    assert(lines(after) <= lines(before), 'no line shown twice after F5');
    eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
  },
});

for (const width of [390, 320]) {
  exports.tests.push({
    name: `layout at ${width} px: no horizontal overflow with a banner, art and long lines; Send in view; the drawer opens the panels`,
    fn: async ({ srv, browser }) => {
      fs.writeFileSync(path.join(srv.scripts, 'zz_art.lua'), ART_SCRIPT);
      await srv.waitLog(/scripts reloaded/);
      const page = await openPage(browser, srv, { width, height: width === 320 ? 640 : 844 });
      await registerOnPage(page, 'phoner');
      await page.click('#menu button[data-key="A"]');
      await page.waitForSelector('#screen .art-screen');
      await type(page, 'x');
      await toChat(page);
      const bob = await srv.chatter('bob');
      bob.input('a_very_long_word_without_any_break_' + 'x'.repeat(120) + ' https://example.com/' + 'p'.repeat(80));
      await waitScreen(page, /a_very_long_word/);
      const over = await page.evaluate(() => ({
        doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth,
        wide: [...document.querySelectorAll('body *')].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width && r.right > window.innerWidth + 1 && !e.closest('.art, .block, #side');
        }).map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5),
      }));
      assert(over.doc <= over.inner && over.body <= over.inner, `no horizontal scroll: ${JSON.stringify(over)}`);
      eq(over.wide.length, 0, 'nothing sticks out: ' + over.wide);
      const send = await page.$eval('#inputbar button[type=submit]', (b) => {
        const r = b.getBoundingClientRect();
        return r.left >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight && r.top >= 0;
      });
      assert(send, 'the Send button is whole and in view');
      await shot(page, 'phone-' + width + '-chat');
      // the drawer
      assert(await page.isVisible('#panels'), 'the panels button shows on a narrow screen');
      await page.click('#panels');
      await openPanels(page);
      await page.waitForSelector('#who li:has-text("bob")');
      eq(await page.getAttribute('#panels', 'aria-expanded'), 'true', 'the button says the drawer is open');
      await shot(page, 'phone-' + width + '-drawer');
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => getComputedStyle(document.getElementById('side')).visibility === 'hidden', null, { timeout: 3000 });
      eq(await page.getAttribute('#panels', 'aria-expanded'), 'false', 'Escape closes it');
      eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
    },
  });
}

exports.tests.push({
  name: 'ANSI art: clear screen, cursor moves, backgrounds, reverse, 256 and true colour land on the right cells; box drawing in a font that joins',
  fn: async ({ srv, browser }) => {
    fs.writeFileSync(path.join(srv.scripts, 'zz_art.lua'), ART_SCRIPT);
    await srv.waitLog(/scripts reloaded/);
    const page = await openPage(browser, srv, LAPTOP);
    await registerOnPage(page, 'artist');
    await page.click('#menu button[data-key="A"]');
    await page.waitForSelector('#screen .art-screen');
    await page.waitForFunction(() => document.querySelector('#screen .art-screen').children.length >= 6, null, { timeout: 5000 });
    const text = await screenText(page);
    assert(!/\[2J|\[H|\[5;3H|\[2C|\x1b/.test(text), 'no escape sequence shows as text');
    const blue = 'rgb(0, 0, 170)', red = 'rgb(170, 0, 0)';
    const c11 = await cellAt(page, 1, 1);
    eq(c11.ch, '\u2554', 'the box starts at the top left (clear screen and home)');
    eq(c11.bg, blue, 'the box is on blue');
    const c2 = await cellAt(page, 2, 4);
    eq(c2.ch, 'p', 'the title inside the box');
    eq(c2.bg, blue, 'the title on blue');
    eq(c2.fg, 'rgb(255, 255, 85)', 'bold yellow is bright yellow');
    const c3 = await cellAt(page, 3, 10);
    eq(c3.ch, '\u2550', 'the bottom border');
    const r5 = await cellAt(page, 5, 3), r5b = await cellAt(page, 5, 5), before = await cellAt(page, 5, 2);
    eq(r5.bg, red, 'row 5 column 3 (a cursor move) is red');
    eq(r5b.bg, red, 'through column 5');
    assert(before.bg !== red, 'column 2 is not: ' + before.bg);
    const rev = await cellAt(page, 5, 8);
    eq(rev.ch, 'r', 'two columns right of the red block');
    eq(rev.bg, 'rgb(0, 170, 0)', 'reverse green: green behind');
    eq((await cellAt(page, 6, 1)).bg, 'rgb(255, 0, 0)', '256-colour 196');
    eq((await cellAt(page, 6, 3)).bg, 'rgb(10, 20, 30)', 'true colour');
    // box drawing joins: the art's font is the vendored DejaVu Sans Mono,
    // and each row is exactly as tall as the one before (no gaps)
    const font = await page.evaluate(async () => {
      await document.fonts.ready;
      const scr = document.querySelector('#screen .art-screen');
      const rows = [...scr.children].map((r) => r.getBoundingClientRect());
      return { loaded: document.fonts.check('15px "PL Mono"'), family: getComputedStyle(scr).fontFamily,
        gaps: rows.slice(1).map((r, i) => Math.abs(r.top - rows[i].bottom)).filter((g) => g > 0.5).length };
    });
    assert(font.loaded && /PL Mono/.test(font.family), 'the art font: ' + JSON.stringify(font));
    eq(font.gaps, 0, 'rows touch');
    await shot(page, 'laptop-art');
    eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
  },
});

exports.tests.push({
  name: 'chat conveniences: input history, Tab completion of handles and commands, unread count in the title while hidden, safe links, timestamps on hover, a notification for a private message, a still bell for reduced motion',
  fn: async ({ srv, browser }) => {
    // the browser's notifications, as a user who allowed them has them
    const page = await openPage(browser, srv, LAPTOP, () => {
      window.__notes = [];
      window.Notification = class {
        constructor(title, o) { window.__notes.push({ title, body: o && o.body }); }
        close() {}
        static get permission() { return 'granted'; }
        static requestPermission() { return Promise.resolve('granted'); }
      };
    });
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await registerOnPage(page, 'typist');
    await toChat(page);
    const bob = await srv.chatter('bobby');
    await page.waitForSelector('#who li:has-text("bobby")');
    await type(page, 'first line');
    await type(page, 'second line');
    await waitScreen(page, /second line/);
    await page.press('#line', 'ArrowUp');
    eq(await page.inputValue('#line'), 'second line', 'up: the last line');
    await page.press('#line', 'ArrowUp');
    eq(await page.inputValue('#line'), 'first line', 'up again: the one before');
    await page.press('#line', 'ArrowDown');
    await page.press('#line', 'ArrowDown');
    eq(await page.inputValue('#line'), '', 'down past the end: the draft');
    await page.fill('#line', 'bo');
    await page.press('#line', 'Tab');
    eq(await page.inputValue('#line'), 'bobby: ', 'a handle completes');
    await page.fill('#line', '/wh');
    await page.press('#line', 'Tab');
    assert(/^\/(who|whois) $/.test(await page.inputValue('#line')), 'a command completes: ' + await page.inputValue('#line'));
    await page.fill('#line', '');
    // hidden tab: the title counts
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    bob.input('one while you were away');
    bob.input('look https://example.com/a?b=1 and javascript:alert(1)');
    await waitScreen(page, /javascript:alert/);
    await page.waitForFunction(() => /^\(2\) /.test(document.title), null, { timeout: 3000 });
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForFunction(() => !/^\(/.test(document.title), null, { timeout: 3000 });
    const links = await page.$$eval('#screen a', (as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.rel, target: a.target })));
    eq(links.length, 1, 'one link: ' + JSON.stringify(links));
    eq(links[0].href, 'https://example.com/a?b=1', 'the http link');
    assert(/noopener/.test(links[0].rel) && links[0].target === '_blank', 'opened apart: ' + links[0].rel);
    const title = await page.$$eval('#screen .line', (ls) => ls.filter((l) => l.textContent.includes('one while you were away')).map((l) => l.title)[0]);
    assert(title && /\d/.test(title), 'the time on hover: ' + title);
    // notifications: asked for with the button, shown for a private message while away
    await page.click('#notify');
    eq(await page.getAttribute('#notify', 'aria-pressed'), 'true', 'notifications on');
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    bob.input('/msg typist are you there?');
    await page.waitForFunction(() => window.__notes.length > 0, null, { timeout: 3000 });
    const note = await page.evaluate(() => window.__notes[0]);
    assert(/bobby/.test(note.title) && /are you there\?/.test(note.body), 'the notification: ' + JSON.stringify(note));
    // the bell (a private message rings it) flashes nothing for reduced motion
    await page.waitForFunction(() => document.body.classList.contains('flash'), null, { timeout: 3000 });
    eq(await page.evaluate(() => getComputedStyle(document.body).animationName), 'none', 'no flash animation');
    eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
  },
});

exports.tests.push({
  name: 'accessibility: axe-core finds nothing serious or critical on the login screen, the menu and chat, at both sizes',
  fn: async ({ srv, browser }) => {
    // The banner's art while the terminal that draws it is still loading (CI
    // once caught it there: an image with no name, a scroller no key reached).
    {
      const page = await browser.newPage({ viewport: SIZES[1][1], isMobile: true, hasTouch: true });
      let release;
      const held = new Promise((r) => { release = r; });
      await page.route('**/vendor/xterm.js', async (route) => { await held; await route.continue(); });
      await page.goto(srv.http('/'));
      await page.waitForSelector('#prompt:has-text("Handle")');
      await page.waitForSelector('.art');
      await axe(page, 'phone login, art still loading');
      release();
      await page.close();
    }
    for (const [size, viewport] of SIZES) {
      const page = await openPage(browser, srv, viewport);
      await page.waitForSelector('#prompt:has-text("Handle")');
      await axe(page, size + ' login');
      await shot(page, size + '-login');
      await registerOnPage(page, 'axe' + size);
      await axe(page, size + ' menu');
      await shot(page, size + '-menu');
      await toChat(page);
      await type(page, 'hello with \x1b colours');
      await axe(page, size + ' chat');
      await shot(page, size + '-chat');
      eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
      await page.close();
    }
  },
});

exports.tests.push({
  name: 'split-screen private chat: pane events open two panes, keys go out as pressed, their typing shows live, close ends it',
  fn: async ({ srv, browser }) => {
    // the `chatsplit` wire (core/PROTOCOL.md), driven by a small service here
    fs.writeFileSync(path.join(srv.scripts, 'zz_split.lua'), `local typed = {}
pl.service{ id = "splittest", keys = true,
  enter = function(s) typed[s] = "" s:send{ type = "pane", op = "open", id = "p1", with = "echo", title = "Private chat with echo" } end,
  input = function(s, key)
    if key == "escape" then s:send{ type = "pane", op = "close", id = "p1", reason = "Chat ended." } return s:enter("menu") end
    if key == "" then
      s:send{ type = "chat", kind = "split", pane = "p1", from = s.handle, body = typed[s], text = s.handle .. ": " .. typed[s] }
      s:send{ type = "chat", kind = "split", pane = "p1", from = "echo", body = "heard " .. typed[s], text = "echo: heard " .. typed[s] }
      typed[s] = ""
    elseif #key == 1 then typed[s] = typed[s] .. key
      s:send{ type = "pane", op = "typing", id = "p1", from = "echo", text = "thinking " .. typed[s] } end
  end }
pl.menu_item{ key = "S", label = "Split", service = "splittest" }
`);
    await srv.waitLog(/scripts reloaded/);
    const page = await openPage(browser, srv, PHONE);
    await registerOnPage(page, 'splitter');
    await page.click('#menu button[data-key="S"]');
    await page.waitForSelector('#panes:not([hidden])');
    eq(await page.textContent('#pane-title'), 'Private chat with echo', 'the title');
    await page.waitForSelector('#line.keys');
    await page.focus('#line');
    await page.keyboard.type('hi');
    await page.waitForSelector('#pane-my-line:has-text("hi")');
    await page.waitForSelector('#pane-their-typing:has-text("thinking hi")');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#pane-mine .line:has-text("splitter: hi")');
    await page.waitForSelector('#pane-theirs .line:has-text("echo: heard hi")');
    eq(await page.textContent('#pane-my-line'), '', 'my line is sent');
    await shot(page, 'phone-split');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#panes', { state: 'hidden' });
    await waitScreen(page, /Chat ended\./);
    eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
  },
});

exports.tests.push({
  name: 'split-screen private chat with the real chatsplit service: two pages, /chat asks and accepts, typing shows live, Escape ends it for both',
  fn: async ({ srv, browser }) => {
    const alice = await openPage(browser, srv, LAPTOP);
    await registerOnPage(alice, 'panealice');
    await toChat(alice);
    const bob = await openPage(browser, srv, PHONE);
    await registerOnPage(bob, 'panebob');
    await toChat(bob);
    await type(alice, '/chat panebob');
    await waitScreen(bob, /panealice/);
    await type(bob, '/chat panealice');
    for (const p of [alice, bob]) await p.waitForSelector('#panes:not([hidden])');
    assert(/panebob/.test(await alice.textContent('#pane-title')), 'alice\'s pane names bob');
    assert(/panealice/.test(await bob.textContent('#pane-title')), 'bob\'s pane names alice');
    await alice.waitForSelector('#line.keys');
    await alice.focus('#line');
    await alice.keyboard.type('hello bob');
    // what alice types shows on her side as she types, and live on bob's
    await alice.waitForSelector('#pane-my-line:has-text("hello bob")');
    await bob.waitForSelector('#pane-their-typing:has-text("hello bob")');
    await alice.keyboard.press('Enter');
    await alice.waitForSelector('#pane-mine .line:has-text("hello bob")');
    await bob.waitForSelector('#pane-theirs .line:has-text("hello bob")');
    await shot(bob, 'phone-split-real');
    await bob.waitForSelector('#line.keys');
    await bob.focus('#line');
    await bob.keyboard.press('Escape');
    for (const p of [alice, bob]) await p.waitForSelector('#panes', { state: 'hidden' });
    for (const p of [alice, bob]) eq(p.errors.length, 0, 'no script errors: ' + p.errors.join('; '));
    await alice.close();
    await bob.close();
  },
});
