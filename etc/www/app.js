// partyline web client: speaks the WebSocket protocol (core/PROTOCOL.md) and
// shows what a telnet user would see, with menus as buttons, panels kept
// current by `presence` events, and ANSI art drawn by a terminal emulator
// (ansi.js).
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const A = window.PL_ANSI;
  const screen = $('screen'), line = $('line'), promptEl = $('prompt'), menuEl = $('menu');
  const statusEl = $('status'), noticeEl = $('notice'), jumpEl = $('jump');
  const MAX_ENTRIES = 2000;
  const IDLE_SHOWN_S = 300; // idle time shows in the who panel from five minutes on

  const state = {
    ws: null,
    session: localStorage.getItem('pl.session'), // shared by this browser's tabs: they join one session
    lastSeq: 0,          // a fresh page shows nothing yet: the server replays what it holds
    node: null,
    handle: null,
    prompt: null,        // {text, secret} while the server waits for a line
    ended: false,        // `bye` came: do not reconnect
    retries: 0,
    mode: 'login',       // 'menu' or 'chat'
    menuId: null,
    keys: false,         // single keys (input_mode "key")
    commands: [],        // what this user may type after "/", for Tab
    roster: { users: new Map(), rooms: new Map(), v: undefined, asked: false },
    boardName: 'partyline',
  };

  // ------------------------------------------------------------ keeping the user's place
  // The view follows new output while it is at the bottom. A user who
  // scrolled up keeps their place and is shown how much came below; any
  // change of size (the menu bar coming and going, a keyboard, a rotated
  // phone) keeps a view that was following at the bottom.
  let stick = true, unseen = 0;
  const atBottom = () => screen.scrollHeight - screen.scrollTop - screen.clientHeight <= 3;
  function follow() { if (stick) screen.scrollTop = screen.scrollHeight; }
  function showJump() {
    jumpEl.hidden = !unseen;
    $('jump-count').textContent = unseen === 1 ? '1 new message' : unseen + ' new messages';
  }
  screen.addEventListener('scroll', () => {
    stick = atBottom();
    if (stick && unseen) { unseen = 0; showJump(); }
  });
  jumpEl.addEventListener('click', () => {
    stick = true;
    follow();
    unseen = 0;
    showJump();
    line.focus();
  });
  if (window.ResizeObserver) new ResizeObserver(follow).observe(screen);
  // Something was added to the transcript; news (a line from someone else,
  // mail, a goodbye) also counts in the tab's title while it is hidden.
  function added(news) {
    if (stick) follow();
    else { unseen++; showJump(); }
    if (news && document.hidden) { hiddenUnread++; showTitle(); }
  }

  // ------------------------------------------------------------ the transcript

  let art = null; // the art block output goes on in while it is the last thing shown
  function endArt() { if (art) { art.freeze(); art = null; } }

  function timeOf(ts) {
    const d = ts ? new Date(ts) : new Date();
    return isNaN(d) ? null : d;
  }
  function stamp(el, ts) {
    const d = timeOf(ts);
    if (!d) return;
    const t = document.createElement('time');
    t.dateTime = d.toISOString();
    t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    el.title = d.toLocaleString();
    el.appendChild(t);
  }

  function trim() {
    while (screen.childElementCount > MAX_ENTRIES) screen.firstElementChild.remove();
  }

  // A line is "drawn" (kept as it is, never wrapped) when it is laid out in
  // columns or made of symbols: a banner, a table.
  function drawnLine(plain) {
    const t = plain.replace(/\s+$/, '');
    if (t.length < 8) return false;
    if (/\S {2,}\S/.test(t) || /^ {2,}\S/.test(t)) return true;
    const all = t.replace(/\s/g, '').length, sym = (t.match(/[^\p{L}\p{N}\s]/gu) || []).length;
    return all > 0 && sym / all > 0.3;
  }

  function lineEl(text, cls) {
    const div = document.createElement('div');
    div.className = 'line' + (cls ? ' ' + cls : '');
    A.renderLine(div, text);
    return div;
  }

  // Prints an event's text. opts: cls, ts, news (counts as new for the
  // marker and the tab title), art (may be art: screen output, never users' lines).
  function print(text, opts = {}) {
    text = String(text == null ? '' : text);
    if (opts.art !== false && A.isArt(text)) return printArt(text, opts);
    endArt();
    const lines = text.split('\n');
    let el;
    if (lines.length > 1) {
      el = document.createElement('div');
      el.className = 'block' + (opts.cls ? ' ' + opts.cls : '');
      let cols = 0;
      for (const l of lines) {
        const plain = A.stripAnsi(l);
        const drawn = drawnLine(plain);
        if (drawn) cols = Math.max(cols, [...plain].length);
        el.appendChild(lineEl(l, drawn ? 'drawn' : ''));
      }
      if (cols) el.style.setProperty('--cols', String(cols));
      stamp(el.firstChild, opts.ts);
    } else {
      el = lineEl(text, opts.cls);
      stamp(el, opts.ts);
    }
    if (opts.from) markHandle(el, opts.from);
    screen.appendChild(el);
    trim();
    added(opts.news);
    return el;
  }

  function printArt(text, opts) {
    if (art && screen.lastElementChild === art.el) art.write(text);
    else {
      endArt();
      const el = document.createElement('div');
      if (opts.cls) el.classList.add(opts.cls);
      screen.appendChild(el);
      art = new A.ArtBlock(el, follow);
      art.write(text);
      trim();
    }
    added(opts.news);
  }

  // The sender's name in a chat line opens their profile.
  function markHandle(el, handle) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const i = n.data.indexOf(handle);
      if (i < 0) continue;
      const rest = n.splitText(i);
      rest.splitText(handle.length);
      const span = document.createElement('span');
      span.className = 'handle';
      span.dataset.handle = handle;
      rest.replaceWith(span);
      span.appendChild(rest);
      return;
    }
  }
  screen.addEventListener('click', (e) => {
    const h = e.target.closest && e.target.closest('.handle');
    if (h && state.mode === 'chat') submit('/whois ' + h.dataset.handle);
  });

  function notice(text) {
    noticeEl.textContent = text || '';
    noticeEl.hidden = !text;
  }

  // ------------------------------------------------------------ the tab's title, notifications, the bell

  let hiddenUnread = 0;
  function showTitle() {
    document.title = (hiddenUnread ? '(' + hiddenUnread + ') ' : '') + state.boardName;
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) { hiddenUnread = 0; showTitle(); }
  });

  const notifyBtn = $('notify');
  const canNotify = 'Notification' in window;
  function notifyOn() { return canNotify && Notification.permission === 'granted' && localStorage.getItem('pl.notify') === '1'; }
  function showNotify() { notifyBtn.setAttribute('aria-pressed', String(notifyOn())); }
  if (canNotify) {
    notifyBtn.hidden = false;
    showNotify();
    notifyBtn.addEventListener('click', async () => {
      if (notifyOn()) localStorage.setItem('pl.notify', '0');
      else {
        const p = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
        localStorage.setItem('pl.notify', p === 'granted' ? '1' : '0');
        if (p === 'denied') notice('Notifications are blocked for this site in your browser.');
      }
      showNotify();
    });
  }
  function desktopNotify(title, body) {
    if (!notifyOn() || (!document.hidden && document.hasFocus())) return;
    try {
      const n = new Notification(title, { body, tag: 'partyline' });
      n.onclick = () => { window.focus(); n.close(); };
    } catch (e) { /* not allowed here (some browsers want a service worker) */ }
  }

  let audio;
  function bell() {
    document.body.classList.remove('flash');
    void document.body.offsetWidth;
    document.body.classList.add('flash');
    setTimeout(() => document.body.classList.remove('flash'), 700);
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.15);
    } catch (e) { /* no audio: the flash is enough */ }
  }

  // ------------------------------------------------------------ menus and prompts

  function showMenu(ev) {
    menuEl.replaceChildren();
    for (const item of ev.items || []) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.key = item.key;
      const k = document.createElement('span');
      k.className = 'key';
      k.textContent = item.key;
      b.append(k, ' ' + item.label);
      b.onclick = () => { submit(item.key); line.focus(); };
      menuEl.appendChild(b);
    }
    menuEl.hidden = false;
    state.mode = 'menu';
  }

  function setPrompt(p) {
    state.prompt = p;
    const text = p ? A.stripAnsi(p.text) : '';
    promptEl.textContent = text;
    line.type = p && p.secret ? 'password' : 'text';
    line.setAttribute('aria-label', text.trim().replace(/:$/, '') || (state.keys ? 'Keys' : 'Message'));
  }

  // ------------------------------------------------------------ panels

  function li(cls) {
    const el = document.createElement('li');
    if (cls) el.className = cls;
    return el;
  }
  function button(parts, onclick, label) {
    const b = document.createElement('button');
    b.type = 'button';
    b.append(...parts);
    if (onclick) b.onclick = onclick;
    if (label) b.setAttribute('aria-label', label);
    return b;
  }
  function small(text, cls = '') {
    const s = document.createElement(cls === 'act' ? 'span' : 'small');
    if (cls) s.className = cls;
    s.textContent = text;
    return s;
  }
  function empty(ul, text) {
    const e = li('empty');
    e.textContent = text;
    ul.replaceChildren(e);
  }

  function idleText(u) {
    const s = Math.round((u.idle_s || 0) + (Date.now() - (u.seen || Date.now())) / 1000);
    if (s < IDLE_SHOWN_S) return '';
    return s < 3600 ? 'idle ' + Math.floor(s / 60) + 'm' : 'idle ' + Math.floor(s / 3600) + 'h' + String(Math.floor(s % 3600 / 60)).padStart(2, '0');
  }

  function myRoom() {
    const me = state.roster.users.get(state.node);
    return me && me.room;
  }

  let panelsDue = false;
  function renderPanels() {
    if (panelsDue) return;
    panelsDue = true;
    requestAnimationFrame(() => { panelsDue = false; drawPanels(); });
  }
  function drawPanels() {
    const r = state.roster;
    const who = $('who'), rooms = $('rooms');
    const users = [...r.users.values()].sort((a, b) => a.node - b.node);
    $('panels-count').textContent = users.length ? String(users.length) : '';
    $('who-title').textContent = "Who's online" + (users.length ? ' (' + users.length + ')' : '');
    if (!users.length) empty(who, r.v === undefined ? 'Log in to see who is online.' : 'Nobody yet.');
    else {
      who.replaceChildren(...users.map((u) => {
        const el = li(u.node === state.node ? 'me' : '');
        const activity = u.activity || (u.transport === 'bot' ? 'Bot' : '');
        const where = [activity, u.room ? '#' + u.room : '', idleText(u)].filter(Boolean).join(' · ');
        el.appendChild(button([u.handle + (u.node === state.node ? ' (you)' : '') + ' ', small('#' + u.node), small(where, 'act')],
          () => profileOf(u.handle), u.handle + ', node ' + u.node + (where ? ', ' + where : '') + '. Show the profile'));
        return el;
      }));
    }
    const here = myRoom();
    const list = [...r.rooms.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    if (!list.length) empty(rooms, r.v === undefined ? 'Log in to see the rooms.' : 'No rooms yet.');
    else {
      rooms.replaceChildren(...list.map(([name, count]) => {
        const el = li();
        const b = button(['#' + name + ' ', small(String(count))], () => joinRoom(name),
          '#' + name + ', ' + count + (count === 1 ? ' person' : ' people') + (name === here ? ', you are here' : ', join'));
        if (name === here) b.setAttribute('aria-current', 'true');
        el.appendChild(b);
        return el;
      }));
    }
  }
  setInterval(() => { if (state.roster.users.size) renderPanels(); }, 30000); // idle times age

  function presence(ev) {
    const r = state.roster, now = Date.now();
    if (ev.full) {
      r.users = new Map(ev.users.map((u) => [u.node, Object.assign(u, { seen: now })]));
      r.rooms = new Map(ev.rooms.map((x) => [x.name, x.count]));
      r.v = ev.v;
      r.asked = false;
    } else {
      if (r.v !== undefined && ev.v <= r.v) return; // already in the full list
      // a delta before any full list (a slow connection skipped it), or a
      // missed delta (one skipped as a slow reader's): the whole list again
      if (r.v === undefined || ev.v !== r.v + 1) {
        if (!r.asked) r.asked = send({ type: 'presence' });
        return;
      }
      for (const n of ev.gone || []) r.users.delete(n);
      for (const u of ev.users || []) r.users.set(u.node, Object.assign(u, { seen: now }));
      for (const x of ev.rooms || []) {
        if (x.count) r.rooms.set(x.name, x.count);
        else r.rooms.delete(x.name);
      }
      r.v = ev.v;
    }
    renderPanels();
  }

  function profileOf(handle) {
    closeDrawer();
    if (state.mode === 'chat') submit('/whois ' + handle);
    else notice('Profiles open from chat: choose Chat in the menu first.');
  }
  function joinRoom(name) {
    closeDrawer();
    if (name === myRoom()) return;
    if (state.mode === 'chat') submit('/join ' + name);
    else notice('Rooms open from chat: choose Chat in the menu first.');
  }

  // Opening a message from the panel walks the menus to it: chat -> main
  // menu -> Mail -> the message's number.
  function openMail(n) {
    closeDrawer();
    state.pendingMail = n;
    if (state.menuId === 'mail') { state.pendingMail = null; submit(String(n)); }
    else if (state.menuId === 'main') submit('M');
    else if (state.mode === 'chat') submit('/quit');
    else if (state.menuId) submit(state.menuId === 'mail_read' ? 'I' : 'Q');
  }

  function showMail(ev) {
    $('mail-unread').textContent = ev.unread ? '(' + ev.unread + ' new)' : '';
    const ul = $('mail');
    const items = (ev.messages || []).map((m) => {
      const el = li(m.unread ? 'unread' : '');
      el.appendChild(button([m.subject + ' ', small(m.from + ' · ' + String(m.ts || '').slice(0, 10))], () => openMail(m.n),
        (m.unread ? 'New: ' : '') + m.subject + ', from ' + m.from + '. Read it'));
      return el;
    });
    if (items.length) ul.replaceChildren(...items);
    else empty(ul, 'No mail.');
  }

  function showProfile(ev) {
    const dl = $('profile-card');
    dl.replaceChildren();
    const rows = [['Handle', ev.handle], ['Real name', ev.realname], ['Location', ev.location], ['Tagline', ev.tagline],
      ['Status', ev.online ? 'Online on node ' + (ev.nodes || []).join(', ') : 'Last seen ' + (ev.last_seen || 'never')]];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = v || '-';
      dl.append(dt, dd);
    }
    $('profile').hidden = false;
  }
  $('profile-close').onclick = () => { $('profile').hidden = true; };

  // the drawer, on narrow screens
  const panelsBtn = $('panels');
  function openDrawer() {
    document.body.classList.add('drawer');
    panelsBtn.setAttribute('aria-expanded', 'true');
    $('scrim').hidden = false;
    $('side-close').focus();
  }
  function closeDrawer() {
    if (!document.body.classList.contains('drawer')) return;
    document.body.classList.remove('drawer');
    panelsBtn.setAttribute('aria-expanded', 'false');
    $('scrim').hidden = true;
    panelsBtn.focus();
  }
  panelsBtn.onclick = () => (document.body.classList.contains('drawer') ? closeDrawer() : openDrawer());
  $('side-close').onclick = closeDrawer;
  $('scrim').onclick = closeDrawer;
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && document.body.classList.contains('drawer')) closeDrawer(); });

  // ------------------------------------------------------------ the split-screen private chat
  // (the `chatsplit` service: `pane` events, `chat` of kind "split"; the
  // user's keys go to the service as they are pressed, so the other side
  // sees them type)

  const panes = { id: null, mine: '' };
  function paneLine(where, ev) {
    const div = lineEl(ev.text || ((ev.from ? '<' + ev.from + '> ' : '') + (ev.body || '')));
    stamp(div, ev.ts);
    const log = $(where);
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }
  function paneEvent(ev) {
    if (ev.op === 'open') {
      panes.id = ev.id;
      panes.with = ev.with;
      panes.mine = '';
      $('pane-title').textContent = A.stripAnsi(ev.title || ('Private chat with ' + ev.with));
      $('pane-theirs').replaceChildren();
      $('pane-mine').replaceChildren();
      $('pane-their-typing').textContent = '';
      $('pane-my-line').textContent = '';
      $('panes').hidden = false;
      print(ev.title || ('Private chat with ' + ev.with), { ts: ev.ts });
      line.focus();
    } else if (ev.id !== panes.id) {
      return;
    } else if (ev.op === 'typing') {
      $('pane-their-typing').textContent = ev.text ? ev.from + ': ' + ev.text : '';
    } else if (ev.op === 'close') {
      $('panes').hidden = true;
      panes.id = null;
      if (ev.reason) print(ev.reason, { ts: ev.ts });
      follow();
    }
  }
  // what the user types in the pane, echoed here as the keys go out
  function paneKey(k) {
    if (!panes.id) return;
    if (k === '') panes.mine = '';
    else if (k === 'backspace') panes.mine = [...panes.mine].slice(0, -1).join('');
    else if ([...k].length === 1) panes.mine += k;
    $('pane-my-line').textContent = panes.mine;
  }

  // ------------------------------------------------------------ input: keys, history, completion, typing

  const KEY_NAMES = { Enter: '', Backspace: 'backspace', Tab: 'tab', Escape: 'escape', ArrowUp: 'up', ArrowDown: 'down',
    ArrowLeft: 'left', ArrowRight: 'right', Home: 'home', End: 'end', Insert: 'insert', Delete: 'delete',
    PageUp: 'pageup', PageDown: 'pagedown' };
  function setKeys(on) {
    state.keys = on;
    line.value = '';
    line.placeholder = on ? 'Press a key' : '';
    line.classList.toggle('keys', on);
    setPrompt(state.prompt);
  }

  const history = JSON.parse(sessionStorage.getItem('pl.history') || '[]');
  let histAt = history.length, draft = '';
  function remember(text) {
    if (!text.trim() || history[history.length - 1] === text) return;
    history.push(text);
    if (history.length > 100) history.shift();
    sessionStorage.setItem('pl.history', JSON.stringify(history));
  }

  let comp = null; // {start, end, matches, i}: a Tab completion being cycled
  function complete() {
    const pos = line.selectionStart, val = line.value;
    if (!comp) {
      const before = val.slice(0, pos), m = /(\S+)$/.exec(before);
      if (!m) return false;
      const word = m[1], start = pos - word.length;
      let matches;
      if (start === 0 && word.startsWith('/')) {
        const w = word.slice(1).toLowerCase();
        matches = state.commands.filter((c) => c.name.startsWith(w)).map((c) => '/' + c.name + ' ');
      } else {
        const w = word.toLowerCase();
        const names = new Set([...state.roster.users.values()].map((u) => u.handle).filter((h) => h !== state.handle));
        matches = [...names].filter((h) => h.toLowerCase().startsWith(w)).sort().map((h) => h + (start === 0 ? ': ' : ' '));
      }
      if (!matches.length) return false;
      comp = { start, end: pos, matches, i: -1 };
    }
    comp.i = (comp.i + 1) % comp.matches.length;
    const pick = comp.matches[comp.i];
    line.value = val.slice(0, comp.start) + pick + val.slice(comp.end);
    comp.end = comp.start + pick.length;
    line.setSelectionRange(comp.end, comp.end);
    return true;
  }

  line.addEventListener('keydown', (e) => {
    if (state.keys) {
      if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      const k = e.key.length === 1 ? e.key : KEY_NAMES[e.key];
      if (k === undefined) return; // Shift and the like
      e.preventDefault();
      if (send({ type: 'input', text: k })) paneKey(k);
      return;
    }
    if (e.key !== 'Tab') comp = null;
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && line.value && !(state.prompt && state.prompt.secret)) {
      if (complete()) e.preventDefault(); // nothing to complete: Tab moves on, as everywhere
    } else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && !(state.prompt && state.prompt.secret) && history.length) {
      if (e.key === 'ArrowUp' && histAt > 0) {
        if (histAt === history.length) draft = line.value;
        line.value = history[--histAt];
      } else if (e.key === 'ArrowDown' && histAt < history.length) {
        histAt++;
        line.value = histAt === history.length ? draft : history[histAt];
      } else return;
      e.preventDefault();
      line.setSelectionRange(line.value.length, line.value.length);
    }
  });

  // typing indicators: who in the room is typing (opted in with ?typing=1)
  const typists = new Map(); // handle -> timer that forgets them
  function showTypists() {
    const names = [...typists.keys()];
    $('typing').textContent = names.length === 0 ? '' :
      names.length === 1 ? names[0] + ' is typing…' : names.join(', ') + ' are typing…';
  }
  function typingEvent(from, on) {
    clearTimeout(typists.get(from));
    typists.delete(from);
    if (on) typists.set(from, setTimeout(() => typingEvent(from, false), 6000)); // a lost "stop" expires
    showTypists();
  }
  let typingSent = 0, typingIdle;
  function userTyped() {
    if (state.mode !== 'chat' || state.prompt || state.keys || line.value.startsWith('/')) return;
    const now = Date.now();
    if (now - typingSent > 3000) { send({ type: 'typing', state: 'start' }); typingSent = now; }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(userStopped, 4000);
  }
  function userStopped() {
    clearTimeout(typingIdle);
    if (typingSent) send({ type: 'typing', state: 'stop' });
    typingSent = 0;
  }
  line.addEventListener('input', () => {
    comp = null; // the user changed the line: a new completion starts from it
    if (line.value) userTyped(); else userStopped();
  });

  // ------------------------------------------------------------ events from the server

  function handle(ev) {
    if (ev.type === 'hello') {
      if (ev.resumed || state.restarting) { notice('Reconnected.'); setTimeout(() => notice(''), 1500); }
      else notice('');
      state.restarting = false;
      state.session = ev.session;
      state.lastSeq = ev.seq || 0;
      state.node = ev.node;
      localStorage.setItem('pl.session', ev.session);
      state.boardName = (ev.server && ev.server.name) || 'partyline';
      $('title').textContent = state.boardName;
      showTitle();
      setStatus('connected · node ' + ev.node, 'live');
      state.retries = 0;
      return;
    }
    if (typeof ev.seq === 'number') {
      if (ev.seq <= state.lastSeq) return; // already shown
      state.lastSeq = ev.seq;
    }
    switch (ev.type) {
      case 'auth':
        state.handle = ev.handle;
        if (ev.session) { // the id changes at login: only the new one resumes
          state.session = ev.session;
          localStorage.setItem('pl.session', ev.session);
        }
        if (ev.token) localStorage.setItem('pl.token', ev.token); // logs back in after a restart
        $('whoami').textContent = ev.handle + (ev.sysop ? ' (sysop)' : '');
        break;
      case 'prompt': setPrompt(ev.text ? ev : null); break;
      case 'input_mode': setKeys(ev.mode === 'key'); break;
      case 'menu':
        showMenu(ev);
        print(ev.text, { ts: ev.ts });
        state.menuId = ev.id;
        if (state.pendingMail) openMail(state.pendingMail);
        break;
      case 'presence': presence(ev); break;
      case 'commands': state.commands = ev.commands || []; break;
      case 'rooms': print(ev.text, { ts: ev.ts }); break;
      case 'mail': showMail(ev); if (ev.text) print(ev.text, { ts: ev.ts, news: true }); break;
      case 'profile': showProfile(ev); print(ev.text, { ts: ev.ts }); break;
      case 'bell': bell(); break;
      case 'pane': paneEvent(ev); break;
      case 'error':
        if (ev.code === 'no_session') notice('Your previous session had ended; this is a new one.');
        else print(ev.text || ev.message, { cls: 'error', ts: ev.ts, art: false });
        break;
      case 'bye':
        print(ev.text, { ts: ev.ts, news: true });
        if (localStorage.getItem('pl.session') === state.session) localStorage.removeItem('pl.session');
        state.session = null;
        if (ev.reason === 'shutdown') {
          state.restarting = true; // keep the token and come back when the server does
        } else {
          state.ended = true;
          localStorage.removeItem('pl.token');
        }
        break;
      case 'chat': chat(ev); break;
      case 'typing': typingEvent(ev.from, ev.state === 'start'); break;
      default:
        if (ev.text) print(ev.text, { ts: ev.ts });
    }
  }

  function chat(ev) {
    if (ev.kind === 'join' && ev.from === state.handle && !ev.history) {
      state.mode = 'chat';
      state.menuId = null;
      menuEl.hidden = true;
      setPrompt(null);
    }
    if (typists.has(ev.from) && !ev.history) typingEvent(ev.from, false); // their line arrived
    if (ev.kind === 'split') {
      paneLine(ev.from === state.handle ? 'pane-mine' : 'pane-theirs', ev);
      if (ev.from === state.handle) { panes.mine = ''; $('pane-my-line').textContent = ''; }
    }
    const fromOther = ev.from && ev.from !== state.handle && !ev.history;
    // users' lines are never art: nobody may draw on someone else's screen
    print(ev.text, { cls: ev.history ? 'history' : '', ts: ev.ts, news: fromOther, from: ev.from, art: !ev.from });
    if (fromOther && (ev.kind === 'direct' || ev.kind === 'page' || ev.kind === 'split')) {
      desktopNotify(ev.kind === 'page' ? ev.from + ' is paging you' : 'Message from ' + ev.from, ev.body || A.stripAnsi(ev.text || ''));
    }
  }

  // ------------------------------------------------------------ sending

  function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function submit(text) {
    if (state.prompt) {
      // as on a terminal: the answer shows after its prompt, hidden when secret
      print(state.prompt.text + (state.prompt.secret ? '' : text), { cls: 'echo', art: false });
      setPrompt(null);
      menuEl.hidden = true;
    }
    if (!send({ type: 'input', text })) print('Not connected; your line was not sent.', { cls: 'error', art: false });
    stick = true; // the user acted: show what comes of it
    follow();
  }

  $('inputbar').addEventListener('submit', (e) => {
    e.preventDefault();
    if (state.keys) { if (send({ type: 'input', text: '' })) paneKey(''); return; } // Send on a phone is Enter
    const text = line.value;
    line.value = '';
    if (!(state.prompt && state.prompt.secret)) remember(text);
    histAt = history.length;
    draft = '';
    comp = null;
    userStopped();
    submit(text);
  });

  // ------------------------------------------------------------ connecting, and coming back after a drop

  let retryTimer = null, countdown = null;
  function setStatus(text, cls) {
    statusEl.textContent = text;
    statusEl.className = 'status ' + (cls || '');
  }

  function url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = ['typing=1', 'presence=1'];
    if (state.session) q.push('resume=' + encodeURIComponent(state.session), 'last_seq=' + state.lastSeq);
    const token = localStorage.getItem('pl.token');
    if (token) q.push('token=' + encodeURIComponent(token));
    return proto + '//' + location.host + '/ws?' + q.join('&');
  }

  function connect() {
    clearTimeout(retryTimer);
    clearInterval(countdown);
    $('retry').hidden = true;
    state.ended = false;
    setStatus(state.retries ? 'reconnecting…' : 'connecting…', state.retries ? 'down' : '');
    const ws = new WebSocket(url());
    state.ws = ws;
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      handle(ev);
    };
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      state.roster.v = undefined; // the list comes whole again with the next connection
      state.roster.asked = false;
      if (e.code === 1008 && e.reason === 'banned') {
        print('This address is banned from this system.', { cls: 'error', art: false });
        state.ended = true;
      } else if (e.code === 4009) {
        // another tab logged this shared session in, which gave it a new id;
        // that tab puts it in localStorage when its `auth` comes: join again
        const old = state.session;
        setTimeout(() => {
          const now = localStorage.getItem('pl.session');
          state.session = now && now !== old ? now : null;
          if (!state.session) state.lastSeq = 0;
          connect();
        }, 300);
        return;
      } else if (e.code === 1008 && localStorage.getItem('pl.token')) {
        localStorage.removeItem('pl.token'); // expired or from another server: log in by hand
        setTimeout(connect, 100);
        return;
      }
      if (state.ended || e.code === 1008) {
        setStatus('disconnected', 'down');
        notice(state.ended ? '' : 'Disconnected' + (e.reason ? ': ' + e.reason : '') + '.');
        $('inputbar').hidden = true;
        menuEl.hidden = true;
        $('panes').hidden = true;
        $('ended').hidden = false;
        $('again').focus();
        follow();
        return;
      }
      const delay = Math.min(5000, 250 * Math.pow(2, state.retries++));
      notice(state.restarting ? 'The server is restarting. Reconnecting…' : 'Connection lost. Reconnecting…');
      let left = Math.ceil(delay / 1000);
      const tick = () => setStatus('reconnecting' + (delay >= 1000 ? ' in ' + left + ' s' : '…') + ' (attempt ' + state.retries + ')', 'down');
      tick();
      countdown = setInterval(() => { left--; if (left > 0) tick(); }, 1000);
      $('retry').hidden = state.retries < 2;
      retryTimer = setTimeout(connect, delay);
    };
  }
  $('retry').onclick = () => connect();

  $('again').onclick = () => {
    $('ended').hidden = true;
    $('inputbar').hidden = false;
    state.session = null;
    state.lastSeq = 0;
    state.retries = 0;
    endArt();
    screen.replaceChildren();
    connect();
    line.focus();
  };

  // the on-screen keyboard: where browsers do not shrink the page for it,
  // the visible part of the window decides the page's height
  if (window.visualViewport) {
    const fit = () => document.documentElement.style.setProperty('--vh', window.visualViewport.height + 'px');
    window.visualViewport.addEventListener('resize', fit);
    fit();
  }

  // for tests and the curious: simulate a network drop
  window.partyline = { state, dropConnection: () => state.ws && state.ws.close(4000, 'test drop') };
  connect();
})();
