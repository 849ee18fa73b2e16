// The terminal view: the board as a terminal shows it, for those who want
// the classic screen. xterm.js (etc/www/vendor, copied from npm by the
// build) on /telnet, the telnet session in WebSocket frames: the prompts,
// menus, hotkeys, colours and ANSI art are exactly the telnet port's. The
// header's button switches the page between the chat view (app.js) and
// this one; the terminal is a session of its own (a node that logs in at
// its own prompts), which stays connected while the chat view is shown.
// `#terminal` in the address, or the last choice, opens the page on it.
(function () {
  'use strict';
  const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240;
  const ECHO = 1, SGA = 3, TTYPE = 24, NAWS = 31;
  const TYPE = 'xterm-256color';
  // the IBM PC's sixteen colours, which ANSI art is drawn in
  const VGA = {
    background: '#000000', foreground: '#aaaaaa', cursor: '#aaaaaa',
    black: '#000000', red: '#aa0000', green: '#00aa00', yellow: '#aa5500',
    blue: '#0000aa', magenta: '#aa00aa', cyan: '#00aaaa', white: '#aaaaaa',
    brightBlack: '#555555', brightRed: '#ff5555', brightGreen: '#55ff55', brightYellow: '#ffff55',
    brightBlue: '#5555ff', brightMagenta: '#ff55ff', brightCyan: '#55ffff', brightWhite: '#ffffff',
  };

  const st = { term: null, fit: null, ws: null, loading: null, up: false };
  // the telnet stream's reader (RFC 854): where it is, the subnegotiation
  // being read, and the options agreed, answered once per change (RFC 1143)
  const tn = { state: 0, sb: [], him: {}, us: {}, refused: {} };

  let button = document.getElementById('term-toggle');
  if (!button) {
    button = document.createElement('button');
    button.id = 'term-toggle';
    button.type = 'button';
    (document.querySelector('header') || document.body).appendChild(button);
  }
  let box = document.getElementById('term');
  if (!box) {
    box = document.createElement('section');
    box.id = 'term';
    const header = document.querySelector('header');
    if (header) header.after(box);
    else document.body.prepend(box);
  }

  function label() {
    const on = document.body.classList.contains('term-view');
    button.textContent = on ? 'Chat view' : 'Terminal';
    button.title = on ? 'Back to the chat view' : 'The classic terminal: ANSI art, hotkeys, the telnet screens';
  }

  // xterm.js is fetched the first time the terminal is opened, not by every page
  function load() {
    if (st.loading) return st.loading;
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = 'vendor/xterm.css';
    document.head.appendChild(css);
    const script = (src) => new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error('cannot load ' + src));
      document.head.appendChild(s);
    });
    st.loading = script('vendor/xterm.js').then(() => script('vendor/addon-fit.js'));
    return st.loading;
  }

  function send(bytes) {
    if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(new Uint8Array(bytes));
  }

  function naws() {
    if (!tn.us[NAWS] || !st.term) return;
    const v = [st.term.cols >> 8, st.term.cols & 255, st.term.rows >> 8, st.term.rows & 255];
    const b = [IAC, SB, NAWS];
    for (const x of v) { b.push(x); if (x === IAC) b.push(IAC); }
    send(b.concat([IAC, SE]));
  }

  function negotiate(cmd, opt) {
    if (cmd === WILL) { // the server offers: echo and go-ahead suppression are welcome
      if (opt === ECHO || opt === SGA) {
        if (!tn.him[opt]) { tn.him[opt] = true; send([IAC, DO, opt]); }
      } else if (!tn.refused['h' + opt]) { tn.refused['h' + opt] = true; send([IAC, DONT, opt]); }
    } else if (cmd === WONT) {
      if (tn.him[opt]) { tn.him[opt] = false; send([IAC, DONT, opt]); }
    } else if (cmd === DO) { // the server asks: our type and our size it may have
      if (opt === NAWS || opt === TTYPE) {
        if (!tn.us[opt]) { tn.us[opt] = true; send([IAC, WILL, opt]); }
        if (opt === NAWS) naws();
      } else if (!tn.refused['u' + opt]) { tn.refused['u' + opt] = true; send([IAC, WONT, opt]); }
    } else if (cmd === DONT) {
      if (tn.us[opt]) { tn.us[opt] = false; send([IAC, WONT, opt]); }
    }
  }

  function subnegotiation(sb) {
    if (sb[0] === TTYPE && sb[1] === 1) { // SEND: IS our type
      send([IAC, SB, TTYPE, 0].concat(Array.from(new TextEncoder().encode(TYPE)), [IAC, SE]));
    }
  }

  // The bytes the server sent, without the telnet commands: what the screen shows.
  function read(u8) {
    const out = [];
    for (const x of u8) {
      switch (tn.state) {
        case 0: if (x === IAC) tn.state = 1; else out.push(x); break;
        case 1:
          if (x === IAC) { out.push(x); tn.state = 0; } // a data byte 255
          else if (x === SB) { tn.sb = []; tn.state = 3; }
          else if (x >= WILL) { tn.cmd = x; tn.state = 2; }
          else tn.state = 0; // NOP and the like
          break;
        case 2: negotiate(tn.cmd, x); tn.state = 0; break;
        case 3: if (x === IAC) tn.state = 4; else if (tn.sb.length < 256) tn.sb.push(x); break;
        case 4:
          if (x === SE) { subnegotiation(tn.sb); tn.state = 0; }
          else { if (x === IAC) tn.sb.push(x); tn.state = 3; }
          break;
      }
    }
    return new Uint8Array(out);
  }

  function connect() {
    tn.state = 0; tn.him = {}; tn.us = {}; tn.refused = {};
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/telnet', ['binary']);
    ws.binaryType = 'arraybuffer';
    st.ws = ws;
    ws.onopen = () => { st.up = true; };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') return; // the binary framing sends none
      st.term.write(read(new Uint8Array(m.data)));
    };
    ws.onclose = () => {
      if (st.ws !== ws) return;
      st.up = false;
      st.term.write('\x1b[0m\r\n\x1b[2m[disconnected: press Enter to connect again]\x1b[0m\r\n');
    };
  }

  // What is typed goes as the terminal's bytes; Enter as CR LF (NVT).
  function typed(data) {
    if (!st.up) {
      if (data.includes('\r') && (!st.ws || st.ws.readyState === WebSocket.CLOSED)) connect();
      return;
    }
    const b = [];
    for (const x of new TextEncoder().encode(data.replace(/\r\n?/g, '\r\n'))) { b.push(x); if (x === IAC) b.push(IAC); }
    send(b);
  }

  function create() {
    const term = new window.Terminal({
      theme: VGA, cursorBlink: true, scrollback: 2000, allowProposedApi: false,
      fontFamily: '"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace', fontSize: 16,
    });
    st.fit = new window.FitAddon.FitAddon();
    term.loadAddon(st.fit);
    term.open(box);
    term.onData(typed);
    term.onResize(naws);
    st.term = term;
    window.addEventListener('resize', () => { if (document.body.classList.contains('term-view')) st.fit.fit(); });
    connect();
  }

  function show(on) {
    document.body.classList.toggle('term-view', on);
    label();
    try { localStorage.setItem('pl.view', on ? 'terminal' : 'chat'); } catch (e) { /* private mode */ }
    if (!on) return;
    load().then(() => {
      if (!st.term) create();
      st.fit.fit();
      st.term.focus();
    }, (e) => { box.textContent = String(e.message || e); });
  }

  button.addEventListener('click', () => show(!document.body.classList.contains('term-view')));
  // for tests and the curious: the terminal, as xterm.js holds it
  window.partylineTerm = { show, get term() { return st.term; }, get connected() { return st.up; } };
  let start = false;
  try { start = location.hash === '#terminal' || localStorage.getItem('pl.view') === 'terminal'; } catch (e) { /* no storage */ }
  if (start) show(true);
  else label();
})();
