// The web client in a real browser: headless Chromium driven by playwright-core.
'use strict';
const { chromium } = require('playwright-core');
const { Server, sleep, strip, assert, eq } = require('../lib/harness');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio'];

exports.setup = async (t) => {
  const srv = await Server.start(t.opts);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const orig = srv.stop.bind(srv);
  srv.stop = async () => { await browser.close().catch(() => {}); return orig(); };
  return { srv, browser };
};

async function openPage(browser, srv) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(srv.http('/'));
  return page;
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

async function registerOnPage(page, handle, password) {
  await page.waitForSelector('#prompt:has-text("Handle")');
  await type(page, 'new');
  await page.waitForSelector('#prompt:has-text("New handle")');
  await type(page, handle);
  await page.waitForSelector('#prompt:has-text("Choose a password")');
  eq(await page.getAttribute('#line', 'type'), 'password', 'password field is masked');
  await type(page, password);
  await page.waitForSelector('#prompt:has-text("Repeat")');
  await type(page, password);
  await page.waitForSelector('#menu button[data-key="C"]');
}

exports.tests = [
  {
    name: 'in Chromium: register, menu buttons, colour chat with a WebSocket user both ways, who panel, bell',
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'webber', 'webpass1');
      const screen = await screenText(page);
      assert(!screen.includes('webpass1'), 'the password never shows on screen');
      await waitScreen(page, /Welcome, webber!/);
      const labels = await page.$$eval('#menu button', (bs) => bs.map((b) => b.innerText));
      assert(labels.some((l) => /Chat/.test(l)) && labels.some((l) => /Who's online/.test(l)), 'menu buttons: ' + labels);
      const bob = await srv.chatter('bob');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      assert(await page.$eval('#menu', (m) => m.hidden), 'menu buttons hidden in chat');
      await bob.chat('join', { from: 'webber' });
      await type(page, 'hello from chromium');
      eq((await bob.chat('say', { from: 'webber' })).body, 'hello from chromium', 'page line reaches bob');
      bob.input('hello browser');
      await waitScreen(page, /<bob> hello browser/);
      const color = await page.$eval('#screen', (el) => {
        const spans = [...el.querySelectorAll('span')].filter((s) => s.textContent === '<bob>');
        return spans.length ? getComputedStyle(spans[spans.length - 1]).color : null;
      });
      assert(color && color !== 'rgb(216, 222, 228)', 'handle shown in colour: ' + color);
      assert(!(await screenText(page)).includes('\x1b'), 'no raw escapes on the page');
      // the who panel fills by itself (presence events): nobody types /who
      await page.waitForSelector('#who li:has-text("bob")');
      await page.waitForSelector('#who li:has-text("webber"):has-text("In Chat")');
      const who = await page.$$eval('#who li', (ls) => ls.map((l) => l.innerText));
      assert(who.some((w) => /webber/.test(w) && /In Chat/.test(w)), 'who panel: ' + who);
      bob.input('/page webber');
      await page.waitForFunction(() => document.body.classList.contains('flash'), null, { timeout: 3000 });
      await waitScreen(page, /bob is paging you/);
      await page.screenshot({ path: require('path').join(srv.dir, 'chat.png') });
      eq(page.errors.length, 0, 'no script errors on the page: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: an idle page answers the server\'s pings by itself and is never dropped',
    opts: { set: { ping_s: '1' } },
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'idler', 'idlepass1');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      await sleep(4000); // four pings' worth of doing nothing
      const m = await (await fetch(srv.http('/metrics'))).text();
      const value = (name) => Number((m.split('\n').find((l) => l.startsWith(name + ' ')) || 'x NaN').split(' ')[1]);
      assert(value('partyline_keepalive_probes_total{transport="websocket"}') >= 3, 'the page was pinged');
      eq(value('partyline_keepalive_drops_total{transport="websocket"}'), 0, 'and answered every ping');
      assert(!/"event":"ws_disconnect"/.test(srv.log), 'the page never lost its connection');
      const bob = await srv.chatter('bob');
      await type(page, 'still here');
      eq((await bob.chat('say', { from: 'idler' })).body, 'still here', 'the page chats on');
      eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: after a network drop the page resumes its session and shows what it missed, once',
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'roamer', 'roampass');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      const bob = await srv.chatter('bob');
      await waitScreen(page, /bob has joined/);
      const node = await page.$eval('#status', (s) => s.textContent);
      await page.evaluate(() => window.partyline.dropConnection());
      bob.input('said during the drop');
      await page.waitForSelector('#notice:has-text("Reconnect")');
      await waitScreen(page, /<bob> said during the drop/);
      eq(await page.$eval('#status', (s) => s.textContent), node, 'same node after reconnecting');
      await bob.none((e) => e.type === 'chat' && e.kind === 'leave', 200, 'no leave for a drop');
      await type(page, 'back again');
      eq((await bob.chat('say', { from: 'roamer' })).body, 'back again', 'chat works after resume');
      const t = await screenText(page);
      eq(t.split('said during the drop').length - 1, 1, 'missed line shown exactly once');
      eq(t.split('Welcome to partyline').length - 1, 1, 'no second banner');
      // a reload of the tab resumes too
      await page.reload();
      await waitScreen(page, /back again/);
      bob.input('after reload');
      await waitScreen(page, /<bob> after reload/);
      eq(page.errors.length, 0, 'no script errors: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: a second tab joins the same session; what one sends, both see',
    fn: async ({ srv, browser }) => {
      const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
      const tab1 = await context.newPage();
      await tab1.goto(srv.http('/'));
      await registerOnPage(tab1, 'twotabs', 'tabspass');
      await tab1.click('#menu button[data-key="C"]');
      await waitScreen(tab1, /You are in #lobby/);
      const tab2 = await context.newPage();
      await tab2.goto(srv.http('/'));
      await waitScreen(tab2, /You are in #lobby/); // it shows the session so far
      eq(await tab2.$eval('#status', (s) => s.textContent), await tab1.$eval('#status', (s) => s.textContent), 'same node');
      const bob = await srv.chatter('bob');
      await type(tab2, 'sent from tab two');
      await waitScreen(tab1, /<twotabs> sent from tab two/);
      await waitScreen(tab2, /<twotabs> sent from tab two/);
      await type(tab1, '/me answers from tab one');
      await waitScreen(tab2, /\* twotabs answers from tab one/);
      bob.input('to both tabs');
      await waitScreen(tab1, /<bob> to both tabs/);
      await waitScreen(tab2, /<bob> to both tabs/);
      bob.input('/who');
      const w = await bob.waitFor((e) => e.type === 'who');
      eq(w.users.filter((u) => u.handle === 'twotabs').length, 1, 'one session, one node');
      await context.close();
    },
  },
  {
    name: 'in Chromium: after a server restart the page logs back in by itself (token), without a password',
    fn: async (ctx) => {
      const page = await openPage(ctx.browser, ctx.srv);
      await registerOnPage(page, 'steady', 'steadypass');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      const { dir, wsPort, telnetPort } = ctx.srv;
      ctx.srv.proc.kill('SIGTERM');
      await ctx.srv.exited;
      await waitScreen(page, /server is shutting down/);
      await page.waitForSelector('#notice:has-text("restarting")');
      ctx.srv = await Server.start({ dir, wsPort, telnetPort });
      ctx.srv.stop = async () => { await ctx.browser.close().catch(() => {}); return Server.prototype.stop.call(ctx.srv); };
      await waitScreen(page, /Welcome, steady!/, 10000);
      eq(await page.$eval('#whoami', (w) => w.textContent), 'steady', 'logged in again');
      await page.waitForSelector('#menu button[data-key="C"]');
      const bob = await ctx.srv.chatter('bob');
      await page.click('#menu button[data-key="C"]');
      await bob.chat('join', { from: 'steady' });
      // logging off forgets the token: a reload asks for the handle again
      await type(page, '/quit');
      await page.waitForSelector('#menu button[data-key="G"]');
      await page.click('#menu button[data-key="G"]');
      await waitScreen(page, /Goodbye, steady/);
      eq(await page.evaluate(() => localStorage.getItem('pl.token')), null, 'token forgotten on logoff');
      await page.reload();
      await page.waitForSelector('#prompt:has-text("Handle")');
    },
  },
  {
    name: 'in Chromium: typing indicators both ways',
    fn: async ({ srv, browser }) => {
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'typer', 'typerpass');
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      const bob = await srv.ws('?typing=1');
      await bob.waitFor((e) => e.type === 'prompt');
      bob.send({ type: 'register', handle: 'bob', password: 'bobpass1' });
      await bob.waitFor((e) => e.type === 'auth');
      bob.input('c');
      await bob.chat('join', { from: 'bob' });
      bob.send({ type: 'typing', state: 'start' });
      await page.waitForSelector('#typing:has-text("bob is typing")');
      bob.input('done typing');
      await waitScreen(page, /<bob> done typing/);
      eq(await page.$eval('#typing', (t) => t.textContent), '', 'cleared when the line arrives');
      await page.type('#line', 'hel');
      const t = await bob.waitFor((e) => e.type === 'typing' && e.from === 'typer');
      eq(t.state, 'start', 'the page says it is typing');
      await page.press('#line', 'Enter');
      eq((await bob.waitFor((e) => e.type === 'typing' && e.from === 'typer')).state, 'stop', 'and stops on send');
      await bob.chat('say', { from: 'typer', body: 'hel' });
    },
  },
  {
    name: 'in Chromium: the rooms panel, the mail panel (unread, opened by a click) and a profile card',
    fn: async ({ srv, browser }) => {
      const bob = await srv.chatter('bob');
      bob.input('/join den');
      await bob.chat('join', { room: 'den', from: 'bob' });
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'webber', 'webpass1');
      await page.waitForSelector('#mail li.empty');
      bob.input('/quit');
      bob.input('m');
      bob.input('c');
      bob.input('webber');
      bob.input('Welcome aboard');
      bob.input('glad you made it');
      bob.input('.');
      await bob.text(/Mail sent to webber/);
      bob.input('q');
      bob.input('c'); // back to #den, where he was
      await bob.chat('join', { room: 'den', from: 'bob' });
      await page.waitForSelector('#mail li.unread:has-text("Welcome aboard")');
      eq(await page.textContent('#mail-unread'), '(1 new)', 'unread count in the panel');
      await page.click('#menu button[data-key="C"]');
      await page.waitForSelector('#rooms li:has-text("#den")');
      await page.waitForSelector('#rooms li:has-text("#lobby")');
      const rooms = await page.$$eval('#rooms li', (ls) => ls.map((l) => l.innerText.replace(/\s+/g, ' ').trim()));
      assert(rooms.includes('#lobby 1') && rooms.includes('#den 1'), 'both rooms with counts: ' + rooms);
      assert(!(await screenText(page)).includes('Rooms:'), 'the page\'s own /rooms is not printed');
      await page.click('#rooms li:has-text("#den")');
      await waitScreen(page, /You are in #den/);
      await page.waitForSelector('#who li:has-text("bob")');
      await page.click('#who li:has-text("bob")');
      await page.waitForSelector('#profile:not([hidden]) dd:has-text("Online on node")');
      eq(await page.textContent('#profile-card dd'), 'bob', 'the card is bob\'s');
      await page.click('#mail li:has-text("Welcome aboard")'); // from chat: through the menus to the message
      await waitScreen(page, /Subject: Welcome aboard\s+glad you made it/);
      await page.waitForSelector('#mail li:not(.unread):has-text("Welcome aboard")');
      eq(await page.textContent('#mail-unread'), '', 'read now');
      eq(page.errors.length, 0, 'no page errors: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: mail subjects and a real name with a character across the old byte limits keep the page connected',
    fn: async ({ srv, browser }) => {
      // the old scripts cut these by bytes, inside the character: Chromium then
      // failed the connection ("Could not decode a text frame as UTF-8") and
      // reconnected into the same event, again and again
      // mallory is on telnet, which does not care: as in the report, only
      // the web users were kept off
      const m = await srv.telnetUser('mallory');
      m.line('p');
      await m.expect(/Your choice: /);
      m.line('n');
      await m.expect(/Real name \(empty to clear\): /);
      const realname = 'a'.repeat(39) + '\u00e9';
      m.line(realname + 'tienne');
      await m.expect(/Real name saved/);
      await m.expect(/Your choice: /);
      m.line('q');
      await m.expect(/Your choice: /);

      const page = await openPage(browser, srv);
      const sockets = [];
      page.on('websocket', (ws) => sockets.push(ws));
      await registerOnPage(page, 'vic', 'vicpass1');
      // while vic is on: a typed subject with a three-byte character across byte 60
      const typed = 'b'.repeat(59) + '\u20ac';
      m.line('m');
      await m.expect(/Your choice: /);
      m.line('c');
      await m.expect(/To \(a handle\): /);
      m.line('vic');
      await m.expect(/Subject: /);
      m.line(typed + ' and more');
      await m.expect(/ {2}1: /);
      m.line('hello');
      await m.expect(/ {2}2: /);
      m.line('.');
      await m.expect(/Mail sent to vic[\s\S]*Your choice: /);
      await page.waitForSelector(`#mail li:has-text("${typed}")`, { timeout: 10000 });
      // offline: the subject of a /msg sent as mail, 39 a and an e-acute first
      await page.click('#menu button[data-key="G"]');
      await waitScreen(page, /Goodbye, vic/);
      m.line('q');
      await m.expect(/Your choice: /);
      m.line('c');
      await m.expect(/You are in #lobby/);
      m.line('/msg vic ' + 'a'.repeat(39) + '\u00e9 is this you?');
      await m.expect(/Send it as mail instead\? \[y\/N\] /);
      m.line('y');
      await m.expect(/Sent to vic as mail/);

      sockets.length = 0;
      await page.reload();
      await page.waitForSelector('#prompt:has-text("Handle")');
      await type(page, 'vic');
      await page.waitForSelector('#prompt:has-text("Password")');
      await type(page, 'vicpass1');
      await waitScreen(page, /You have 2 new messages/);
      await page.waitForSelector(`#mail li:has-text("${'a'.repeat(39)}\u00e9...")`);
      await page.click('#menu button[data-key="C"]');
      await waitScreen(page, /You are in #lobby/);
      await type(page, '/whois mallory');
      await page.waitForSelector(`#profile:not([hidden]) dd:has-text("${realname}")`);
      await waitScreen(page, new RegExp('Real name:\\s+' + realname));
      m.line('are you still there?');
      await waitScreen(page, /<mallory> are you still there\?/);
      eq(sockets.length, 1, 'one WebSocket since the reload: no reconnects');
      assert(!sockets[0].isClosed(), 'and it is open');
      assert(!(await screenText(page)).includes('\ufffd'), 'no replacement characters on the page');
      eq(page.errors.length, 0, 'no page errors: ' + page.errors.join('; '));
    },
  },
  {
    name: 'in Chromium: a service that asks for single keys gets the keys as they are pressed; 256 colours and backgrounds show',
    fn: async ({ srv, browser }) => {
      require('fs').writeFileSync(require('path').join(srv.scripts, 'zz_keys.lua'), `pl.service{ id = "keytest", keys = true,
  enter = function(s) s:text(pl.color("208 on_17", "orange on navy")) s:prompt("Keys> ") end,
  input = function(s, key)
    if key == "q" then return s:enter("menu") end
    s:text("key [" .. key .. "]")
  end }
pl.menu_item{ key = "K", label = "Keys", service = "keytest" }
`);
      await srv.waitLog(/scripts reloaded/);
      const page = await openPage(browser, srv);
      await registerOnPage(page, 'keyer', 'keypass1');
      await page.click('#menu button[data-key="K"]');
      await waitScreen(page, /orange on navy/);
      const style = await page.$eval('#screen', (el) => {
        const span = [...el.querySelectorAll('span')].find((x) => x.textContent === 'orange on navy');
        return span ? getComputedStyle(span).color + ' / ' + getComputedStyle(span).backgroundColor : null;
      });
      eq(style, 'rgb(255, 135, 0) / rgb(0, 0, 95)', 'palette colours 208 and 17');
      await page.waitForSelector('#line.keys');
      await page.focus('#line');
      await page.keyboard.press('x');
      await waitScreen(page, /key \[x\]/);
      await page.keyboard.press('ArrowUp');
      await waitScreen(page, /key \[up\]/);
      await page.keyboard.press('Enter');
      await waitScreen(page, /key \[\]/);
      eq(await page.$eval('#line', (l) => l.value), '', 'nothing piles up in the line');
      await page.keyboard.press('q');
      await page.waitForSelector('#menu button[data-key="C"]');
      // the main menu takes hotkeys (issue 14): a key alone chooses, then chat takes lines again
      await page.keyboard.press('c');
      await waitScreen(page, /You are in #lobby/);
      await page.waitForFunction(() => !document.querySelector('#line.keys'));
      assert(!(await page.$('#line.keys')), 'lines again');
      eq(page.errors.length, 0, 'no script errors on the page: ' + page.errors.join('; '));
    },
  },
];
