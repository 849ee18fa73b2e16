// partyline web client: speaks the WebSocket protocol (core/PROTOCOL.md) and
// shows what a telnet user would see, with menus as buttons and a who panel.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const screen = $('screen'), line = $('line'), promptEl = $('prompt'), menuEl = $('menu');
  const statusEl = $('status'), noticeEl = $('notice');
  const MAX_LINES = 2000;

  const state = {
    ws: null,
    session: localStorage.getItem('pl.session'), // shared by this browser's tabs: they join one session
    lastSeq: 0,          // a fresh page shows nothing yet: the server replays what it holds
    handle: null,
    prompt: null,        // {text, secret} while the server waits for a line
    ended: false,        // `bye` came: do not reconnect
    retries: 0,
    mode: 'login',       // 'menu' or 'chat': which way asks for the who list
  };

  // --- rendering ANSI SGR (the scripts' colours) as spans
  function escapeHtml(s) {
    return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  }
  // the 256-colour palette: the 16 of the theme's classes, a 6x6x6 cube, 24 greys
  const BASE16 = ['#000000', '#cd0000', '#00cd00', '#cdcd00', '#0000ee', '#cd00cd', '#00cdcd', '#e5e5e5',
    '#7f7f7f', '#ff0000', '#00ff00', '#ffff00', '#5c5cff', '#ff00ff', '#00ffff', '#ffffff'];
  function palette(n) {
    if (n < 16) return BASE16[n];
    if (n >= 232) { const v = 8 + (n - 232) * 10; return `rgb(${v},${v},${v})`; }
    n -= 16;
    const lv = (i) => (i === 0 ? 0 : 55 + i * 40);
    return `rgb(${lv(Math.floor(n / 36))},${lv(Math.floor(n / 6) % 6)},${lv(n % 6)})`;
  }
  function ansiToHtml(text) {
    let out = '', open = 0, st = {};
    const parts = text.split(/\x1b\[([0-9;]*)m/);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) { out += escapeHtml(parts[i].replace(/\x1b/g, '')); continue; }
      const codes = (parts[i] || '0').split(';').map(Number);
      for (let k = 0; k < codes.length; k++) {
        const code = codes[k];
        if (code === 0) st = {};
        else if (code === 1) st.b = true;
        else if (code === 2) st.d = true;
        else if (code === 3) st.i = true;
        else if (code === 4) st.u = true;
        else if (code === 7) st.r = true;
        else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) { st.fg = 'c' + code; st.fgc = null; }
        else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) st.bg = BASE16[code >= 100 ? code - 92 : code - 40];
        else if ((code === 38 || code === 48) && codes[k + 1] === 5 && codes[k + 2] >= 0 && codes[k + 2] <= 255) {
          if (code === 38) { st.fgc = palette(codes[k + 2]); st.fg = null; } else st.bg = palette(codes[k + 2]);
          k += 2;
        } else if (code === 39) { st.fg = null; st.fgc = null; }
        else if (code === 49) st.bg = null;
      }
      out += '</span>'.repeat(open);
      open = 0;
      const cls = [st.b && 'b', st.d && 'd', st.i && 'i', st.u && 'u', st.fg].filter(Boolean);
      let fg = st.fgc, bg = st.bg;
      if (st.r) { const f = fg || 'var(--fg)'; fg = bg || 'var(--bg)'; bg = f; }
      const style = (fg ? 'color:' + fg + ';' : '') + (bg ? 'background:' + bg + ';' : '');
      if (cls.length || style) {
        out += '<span' + (cls.length ? ' class="' + cls.join(' ') + '"' : '') + (style ? ' style="' + style + '"' : '') + '>';
        open = 1;
      }
    }
    return out + '</span>'.repeat(open);
  }

  function print(text, cls) {
    const atBottom = screen.scrollHeight - screen.scrollTop - screen.clientHeight < 40;
    for (const l of String(text).split('\n')) {
      const div = document.createElement('div');
      div.className = 'line' + (cls ? ' ' + cls : '');
      div.innerHTML = ansiToHtml(l);
      screen.appendChild(div);
    }
    while (screen.childElementCount > MAX_LINES) screen.firstChild.remove();
    if (atBottom) screen.scrollTop = screen.scrollHeight;
  }

  function notice(text) {
    noticeEl.textContent = text || '';
    noticeEl.hidden = !text;
  }

  function setStatus(text, cls) {
    statusEl.textContent = text;
    statusEl.className = 'status ' + (cls || '');
  }

  // --- the bell: a short beep and a flash
  let audio;
  function bell() {
    document.body.classList.remove('flash');
    void document.body.offsetWidth;
    document.body.classList.add('flash');
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

  function showMenu(ev) {
    menuEl.innerHTML = '';
    for (const item of ev.items || []) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.key = item.key;
      b.innerHTML = '<span class="key">' + escapeHtml(item.key) + '</span> ' + escapeHtml(item.label);
      b.onclick = () => { submit(item.key); line.focus(); };
      menuEl.appendChild(b);
    }
    menuEl.hidden = false;
    state.mode = 'menu';
  }

  function showWho(ev) {
    const ul = $('who');
    ul.innerHTML = '';
    for (const u of ev.users || []) {
      const li = document.createElement('li');
      li.innerHTML = escapeHtml(u.handle) + ' <small>#' + u.node + '</small>' +
        '<span class="act">' + escapeHtml(u.activity || '') + (u.room ? ' · #' + escapeHtml(u.room) : '') + '</span>';
      li.className = 'click';
      li.title = 'Profile';
      li.onclick = () => { if (state.mode === 'chat') submit('/whois ' + u.handle); };
      ul.appendChild(li);
    }
  }

  // --- side panels: rooms, mail, a profile card (from the structured events)
  function li(html, cls, onclick) {
    const el = document.createElement('li');
    el.innerHTML = html;
    if (cls) el.className = cls;
    if (onclick) { el.classList.add('click'); el.onclick = onclick; }
    return el;
  }

  function showRooms(ev) {
    const ul = $('rooms');
    ul.innerHTML = '';
    for (const r of ev.rooms || []) {
      ul.appendChild(li('#' + escapeHtml(r.name) + ' <small>' + r.count + '</small>', r.here ? 'here' : '',
        () => { if (state.mode === 'chat' && !r.here) submit('/join ' + r.name); }));
    }
    if (!ul.childElementCount) ul.appendChild(li('No rooms yet.', 'empty'));
  }

  // Opening a message from the panel walks the menus to it: chat -> main
  // menu -> Mail -> the message's number.
  function openMail(n) {
    state.pendingMail = n;
    if (state.menuId === 'mail') { state.pendingMail = null; submit(String(n)); }
    else if (state.menuId === 'main') submit('M');
    else if (state.mode === 'chat') submit('/quit');
    else if (state.menuId) submit(state.menuId === 'mail_read' ? 'I' : 'Q');
  }

  function showMail(ev) {
    $('mail-unread').textContent = ev.unread ? '(' + ev.unread + ' new)' : '';
    const ul = $('mail');
    ul.innerHTML = '';
    for (const m of ev.messages || []) {
      ul.appendChild(li(escapeHtml(m.subject) + ' <small>' + escapeHtml(m.from) + ' · ' + escapeHtml(m.ts.slice(0, 10)) + '</small>',
        m.unread ? 'unread' : '', () => openMail(m.n)));
    }
    if (!ul.childElementCount) ul.appendChild(li('No mail.', 'empty'));
  }

  function showProfile(ev) {
    const dl = $('profile-card');
    dl.innerHTML = '';
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

  // --- key mode: a service that asks for single keys (input_mode "key") gets
  // each key as it is pressed; named keys as the protocol names them
  const KEY_NAMES = { Enter: '', Backspace: 'backspace', Tab: 'tab', Escape: 'escape', ArrowUp: 'up', ArrowDown: 'down',
    ArrowLeft: 'left', ArrowRight: 'right', Home: 'home', End: 'end', Insert: 'insert', Delete: 'delete',
    PageUp: 'pageup', PageDown: 'pagedown' };
  function setKeys(on) {
    state.keys = on;
    line.value = '';
    line.placeholder = on ? 'Press a key' : '';
    line.classList.toggle('keys', on);
  }
  line.addEventListener('keydown', (e) => {
    if (!state.keys || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const k = e.key.length === 1 ? e.key : KEY_NAMES[e.key];
    if (k === undefined) return; // Shift and the like
    e.preventDefault();
    send({ type: 'input', text: k });
  });

  function setPrompt(p) {
    state.prompt = p;
    promptEl.textContent = p ? p.text.replace(/\x1b\[[0-9;]*m/g, '') : '';
    line.type = p && p.secret ? 'password' : 'text';
  }

  // --- typing indicators: who in the room is typing (opted in with ?typing=1)
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
    if (state.mode !== 'chat' || state.prompt || line.value.startsWith('/')) return;
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
  line.addEventListener('input', () => (line.value ? userTyped() : userStopped()));

  // --- events from the server
  function handle(ev) {
    if (ev.type === 'hello') {
      if (ev.resumed || state.restarting) { notice('Reconnected.'); setTimeout(() => notice(''), 1500); }
      else notice('');
      state.restarting = false;
      state.reconnecting = false;
      state.session = ev.session;
      state.lastSeq = ev.seq || 0;
      localStorage.setItem('pl.session', ev.session);
      $('title').textContent = (ev.server && ev.server.name) || 'partyline';
      setStatus('node ' + ev.node, 'live');
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
      case 'prompt': setPrompt(ev); break;
      case 'input_mode': setKeys(ev.mode === 'key'); break;
      case 'menu':
        showMenu(ev);
        print(ev.text);
        state.menuId = ev.id;
        if (state.pendingMail) openMail(state.pendingMail);
        break;
      case 'rooms':
        showRooms(ev);
        if (state.quietRooms) state.quietRooms = false; // asked for by the page itself
        else print(ev.text);
        break;
      case 'mail': showMail(ev); if (ev.text) print(ev.text); break;
      case 'profile': showProfile(ev); print(ev.text); break;
      case 'who': showWho(ev); print(ev.text); break;
      case 'bell': bell(); break;
      case 'error':
        if (ev.code === 'no_session') notice('Your previous session had ended; this is a new one.');
        else print(ev.text || ev.message, 'error');
        break;
      case 'bye':
        print(ev.text);
        if (localStorage.getItem('pl.session') === state.session) localStorage.removeItem('pl.session');
        state.session = null;
        if (ev.reason === 'shutdown') {
          state.restarting = true; // keep the token and come back when the server does
        } else {
          state.ended = true;
          localStorage.removeItem('pl.token');
        }
        break;
      case 'chat':
        if (ev.kind === 'join' && ev.from === state.handle && !ev.history) {
          state.mode = 'chat';
          state.menuId = null;
          menuEl.hidden = true;
          setPrompt(null);
          state.quietRooms = send({ type: 'input', text: '/rooms' }); // keep the rooms panel current
        }
        if (typists.has(ev.from) && !ev.history) typingEvent(ev.from, false); // their line arrived
        print(ev.text, ev.history ? 'history' : '');
        break;
      case 'typing': typingEvent(ev.from, ev.state === 'start'); break;
      default:
        if (ev.text) print(ev.text);
    }
  }

  // --- sending
  function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function submit(text) {
    if (state.prompt) {
      // as on a terminal: the answer shows after its prompt, hidden when secret
      print(state.prompt.text + (state.prompt.secret ? '' : text), 'echo');
      setPrompt(null);
      menuEl.hidden = true;
    }
    if (!send({ type: 'input', text })) print('Not connected; your line was not sent.', 'error');
  }

  $('inputbar').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = line.value;
    line.value = '';
    userStopped();
    submit(text);
  });

  $('rooms-refresh').onclick = () => { if (state.mode === 'chat') submit('/rooms'); };
  $('profile-close').onclick = () => { $('profile').hidden = true; };

  $('who-refresh').onclick = () => {
    if (state.mode === 'chat') submit('/who');
    else if (state.mode === 'menu') submit('W');
  };

  // --- connecting, and reconnecting with resume after a drop
  function url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = ['typing=1'];
    if (state.session) q.push('resume=' + encodeURIComponent(state.session), 'last_seq=' + state.lastSeq);
    const token = localStorage.getItem('pl.token');
    if (token) q.push('token=' + encodeURIComponent(token));
    return proto + '//' + location.host + '/ws?' + q.join('&');
  }

  function connect() {
    state.ended = false;
    const ws = new WebSocket(url());
    state.ws = ws;
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      handle(ev);
    };
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      if (e.code === 1008 && e.reason === 'banned') {
        print('This address is banned from this system.', 'error');
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
        $('inputbar').hidden = true;
        menuEl.hidden = true;
        $('ended').hidden = false;
        return;
      }
      state.reconnecting = true;
      setStatus('reconnecting…', 'down');
      notice(state.restarting ? 'The server is restarting. Reconnecting…' : 'Connection lost. Reconnecting…');
      const delay = Math.min(5000, 250 * Math.pow(2, state.retries++));
      setTimeout(connect, delay);
    };
  }

  $('again').onclick = () => {
    $('ended').hidden = true;
    $('inputbar').hidden = false;
    state.session = null;
    state.lastSeq = 0;
    screen.innerHTML = '';
    connect();
  };

  // for tests and the curious: simulate a network drop
  window.partyline = { state, dropConnection: () => state.ws && state.ws.close(4000, 'test drop') };
  connect();
})();
