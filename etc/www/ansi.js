// ansi.js: what the page makes of an event's `text` (core/PROTOCOL.md: the
// text a terminal shows, with ANSI escape sequences from the sysop's
// scripts). Two ways:
//  - lines (chat, prompts, menus, help): colours and styles (SGR) become
//    spans, and http(s) links become safe links; the text stays text, wraps,
//    and can be selected and clicked;
//  - art (anything with cursor movement, clearing, or box-drawing and block
//    characters): run through a real terminal emulator (xterm.js, vendored
//    by `make`, loaded the first time art comes), 80 columns as a telnet
//    caller sees it, then drawn from its cells as spans, so it is exact
//    (backgrounds, reverse, 256 and true colour, cursor moves, clear screen)
//    and is still text. Consecutive art continues in the same terminal, as
//    a door game's screen updates would.
'use strict';
(function () {
  // The classic VGA palette for the 16 colours (what BBS art is drawn for),
  // then xterm's 6x6x6 cube and greys.
  const VGA = ['#000000', '#aa0000', '#00aa00', '#aa5500', '#0000aa', '#aa00aa', '#00aaaa', '#aaaaaa',
    '#555555', '#ff5555', '#55ff55', '#ffff55', '#5555ff', '#ff55ff', '#55ffff', '#ffffff'];
  const hex2 = (v) => v.toString(16).padStart(2, '0');
  function palette(n) {
    if (n < 16) return VGA[n];
    if (n >= 232) { const v = 8 + (n - 232) * 10; return '#' + hex2(v) + hex2(v) + hex2(v); }
    n -= 16;
    const lv = (i) => (i === 0 ? 0 : 55 + i * 40);
    return '#' + hex2(lv(Math.floor(n / 36))) + hex2(lv(Math.floor(n / 6) % 6)) + hex2(lv(n % 6));
  }
  const rgb = (r, g, b) => '#' + hex2(r & 255) + hex2(g & 255) + hex2(b & 255);

  // ------------------------------------------------------------ lines

  // One SGR sequence's parameters applied to a style. A colour is
  // {n: 0-255} (palette) or {css: '#rrggbb'} (true colour); null = default.
  function applySgr(st, params) {
    const p = params.length ? params : [0];
    for (let k = 0; k < p.length; k++) {
      const c = p[k];
      if (c === 0 || isNaN(c)) Object.keys(st).forEach((x) => delete st[x]);
      else if (c === 1) st.b = true;
      else if (c === 2) st.d = true;
      else if (c === 3) st.i = true;
      else if (c === 4) st.u = true;
      else if (c === 5 || c === 6) st.k = true;
      else if (c === 7) st.r = true;
      else if (c === 8) st.h = true;
      else if (c === 9) st.s = true;
      else if (c === 21 || c === 22) { st.b = false; st.d = false; }
      else if (c === 23) st.i = false;
      else if (c === 24) st.u = false;
      else if (c === 25) st.k = false;
      else if (c === 27) st.r = false;
      else if (c === 28) st.h = false;
      else if (c === 29) st.s = false;
      else if (c >= 30 && c <= 37) st.fg = { n: c - 30 };
      else if (c >= 90 && c <= 97) st.fg = { n: c - 82 };
      else if (c >= 40 && c <= 47) st.bg = { n: c - 40 };
      else if (c >= 100 && c <= 107) st.bg = { n: c - 92 };
      else if (c === 39) st.fg = null;
      else if (c === 49) st.bg = null;
      else if (c === 38 || c === 48) {
        let col = null;
        if (p[k + 1] === 5 && p[k + 2] >= 0 && p[k + 2] <= 255) { col = { n: p[k + 2] }; k += 2; }
        else if (p[k + 1] === 2 && k + 4 < p.length) { col = { css: rgb(p[k + 2], p[k + 3], p[k + 4]) }; k += 4; }
        else break; // malformed: the rest means nothing
        st[c === 38 ? 'fg' : 'bg'] = col;
      }
    }
  }

  // The span for a style, or null when it is the default. On the page's own
  // background the 16 colours are the theme's (chosen for contrast); on a
  // background the script chose, the exact palette.
  function styled(st, text) {
    let fg = st.fg || null, bg = st.bg || null;
    if (st.b && fg && fg.n !== undefined && fg.n < 8) fg = { n: fg.n + 8 }; // bold is bright, as on terminals
    const cls = [];
    let fgCss = null, bgCss = null;
    if (st.r) {
      fgCss = bg ? (bg.css || palette(bg.n)) : 'var(--bg)';
      bgCss = fg ? (fg.css || palette(fg.n)) : 'var(--fg)';
    } else {
      if (bg) bgCss = bg.css || palette(bg.n);
      if (fg && fg.n !== undefined && fg.n < 16 && !bg) cls.push('c' + (fg.n < 8 ? 30 + fg.n : 82 + fg.n));
      else if (fg) fgCss = fg.css || palette(fg.n);
    }
    if (st.h) fgCss = 'transparent';
    if (st.b) cls.push('b');
    if (st.d) cls.push('d');
    if (st.i) cls.push('i');
    if (st.u) cls.push('u');
    if (st.s) cls.push('s');
    if (!cls.length && !fgCss && !bgCss) return null;
    const span = document.createElement('span');
    if (cls.length) span.className = cls.join(' ');
    if (fgCss) span.style.color = fgCss;
    if (bgCss) span.style.backgroundColor = bgCss;
    return span;
  }

  // http and https links only (never javascript: or data:), opened apart
  // from the page, which they cannot reach (rel=noopener).
  const URL_RE = /\bhttps?:\/\/[^\s<>"'`\x00-\x1f]+/gi;
  function addText(parent, text, links) {
    if (!links) { parent.appendChild(document.createTextNode(text)); return; }
    let at = 0;
    for (const m of text.matchAll(URL_RE)) {
      let u = m[0].replace(/[.,;:!?'"]+$/, '');
      // a closing bracket belongs to the link only when it opened one
      while (/[)\]]$/.test(u) && (u.split(u.endsWith(')') ? '(' : '[').length - 1) < (u.split(u.slice(-1)).length - 1)) u = u.slice(0, -1);
      let href = null;
      try { const url = new URL(u); if (url.protocol === 'http:' || url.protocol === 'https:') href = url.href; } catch (e) { /* not a link */ }
      if (!href) continue;
      if (m.index > at) parent.appendChild(document.createTextNode(text.slice(at, m.index)));
      const a = document.createElement('a');
      a.href = href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      a.textContent = u;
      parent.appendChild(a);
      at = m.index + u.length;
    }
    if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
  }

  // One line of text with its SGR colours into parent; other escape
  // sequences are dropped (they only come in art, which goes to the terminal).
  function renderLine(parent, text, opts) {
    const links = !opts || opts.links !== false;
    const st = {};
    const re = /\x1b(?:\[([0-9;:?<=>]*)([\x20-\x2f]*)([\x40-\x7e])|[\x20-\x2f]*[\x30-\x7e]?)/g;
    let at = 0, m;
    const flush = (end) => {
      if (end <= at) return;
      const piece = text.slice(at, end).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
      if (piece) {
        const span = styled(st, piece);
        addText(span || parent, piece, links);
        if (span) parent.appendChild(span);
      }
    };
    while ((m = re.exec(text))) {
      flush(m.index);
      at = m.index + m[0].length;
      if (m[3] === 'm' && !m[2] && !/[?<=>]/.test(m[1] || '')) applySgr(st, (m[1] || '').split(/[;:]/).filter((x, i, a) => x !== '' || a.length === 1).map(Number));
    }
    flush(text.length);
    return parent;
  }

  const stripAnsi = (text) => String(text).replace(/\x1b(?:\[[0-9;:?<=>]*[\x20-\x2f]*[\x40-\x7e]|[\x20-\x2f]*[\x30-\x7e]?)/g, '');

  // Art: an escape sequence other than colour (cursor movement, clearing),
  // or box-drawing and block characters (U+2500-U+259F), whose lines must
  // join, on a grid.
  function isArt(text) {
    return /\x1b(?!\[[0-9;:]*m)/.test(text) || /[\u2500-\u259f]/.test(text);
  }

  // ------------------------------------------------------------ art

  const COLS = 80, ROWS = 25;
  let loading = null;
  function loadTerminal() {
    if (window.Terminal) return Promise.resolve(window.Terminal);
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = 'vendor/xterm.js';
        s.onload = () => (window.Terminal ? resolve(window.Terminal) : reject(new Error('xterm.js did not load')));
        s.onerror = () => { loading = null; reject(new Error('xterm.js did not load')); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  const ART_FG = 7, ART_BG = 0; // a terminal's: light grey on black

  function cellStyle(cell) {
    let fg = cell.isFgDefault() ? null : cell.isFgRGB() ? rgbOf(cell.getFgColor()) : cell.getFgColor();
    let bg = cell.isBgDefault() ? null : cell.isBgRGB() ? rgbOf(cell.getBgColor()) : cell.getBgColor();
    if (cell.isBold() && typeof fg === 'number' && fg < 8) fg += 8;
    if (cell.isInverse()) { const f = fg; fg = bg === null ? ART_BG : bg; bg = f === null ? ART_FG : f; }
    const css = (c) => (typeof c === 'number' ? palette(c) : c);
    return {
      fg: fg === null ? null : css(fg), bg: bg === null ? null : css(bg),
      b: !!cell.isBold(), i: !!cell.isItalic(), u: !!cell.isUnderline(), d: !!cell.isDim(),
      h: !!cell.isInvisible(), s: !!cell.isStrikethrough(),
    };
  }
  function rgbOf(v) { return rgb((v >> 16) & 255, (v >> 8) & 255, v & 255); }
  const sameStyle = (a, b) => a.fg === b.fg && a.bg === b.bg && a.b === b.b && a.i === b.i && a.u === b.u && a.d === b.d && a.h === b.h && a.s === b.s;

  // The terminal's buffer (scrollback and screen) as rows of spans in el.
  function draw(term, el, src) {
    const buf = term.buffer.active, cell = buf.getNullCell();
    const rows = [];
    let width = 0, lastRow = -1;
    for (let y = 0; y < buf.length; y++) {
      const line = buf.getLine(y);
      const runs = [];
      let end = 0;
      for (let x = 0, col = 0; x < COLS; x++) {
        line.getCell(x, cell);
        const w = cell.getWidth();
        if (w === 0) continue; // the right half of a wide character
        const ch = cell.getChars() || ' ';
        const st = cellStyle(cell);
        const last = runs[runs.length - 1];
        if (last && sameStyle(last.st, st)) last.text += ch;
        else runs.push({ st, text: ch });
        col += w;
        if (ch !== ' ' || st.bg || st.u || st.s) end = col;
      }
      rows.push({ runs, end });
      if (end) { lastRow = y; width = Math.max(width, end); }
    }
    const screenEl = document.createElement('div');
    screenEl.className = 'art-screen';
    screenEl.style.setProperty('--cols', String(Math.max(width, 1)));
    for (let y = 0; y <= lastRow; y++) {
      const rowEl = document.createElement('div');
      rowEl.className = 'art-row';
      let col = 0;
      for (const run of rows[y].runs) {
        if (col >= rows[y].end) break;
        let text = run.text;
        if (col + text.length > rows[y].end) text = text.slice(0, rows[y].end - col); // trailing blanks
        col += run.text.length;
        const st = run.st;
        if (!st.fg && !st.bg && !st.b && !st.i && !st.u && !st.d && !st.h && !st.s) { rowEl.appendChild(document.createTextNode(text)); continue; }
        const span = document.createElement('span');
        if (st.fg) span.style.color = st.h ? 'transparent' : st.fg;
        else if (st.h) span.style.color = 'transparent';
        if (st.bg) span.style.backgroundColor = st.bg;
        const cls = [st.b && 'b', st.i && 'i', st.u && 'u', st.d && 'd', st.s && 's'].filter(Boolean);
        if (cls.length) span.className = cls.join(' ');
        span.textContent = text;
        rowEl.appendChild(span);
      }
      if (!rowEl.firstChild) rowEl.appendChild(document.createTextNode(' '));
      screenEl.appendChild(rowEl);
    }
    el.replaceChildren(screenEl);
    labelArt(el, src);
  }

  // For screen readers: the words in it, not the drawing characters. Set from
  // the first byte on, so the picture is never an unlabelled image while the
  // terminal that draws it is still loading.
  function labelArt(el, src) {
    const words = stripAnsi(src || '').replace(/[\u2500-\u259f]+/g, ' ').replace(/\s+/g, ' ').trim();
    el.setAttribute('aria-label', words ? 'Picture in text: ' + words.slice(0, 300) : 'Picture in text');
  }

  // An art block: a terminal of its own while it is the last thing shown
  // (more art continues in it), then only its drawing.
  class ArtBlock {
    constructor(el, onDrawn) {
      this.el = el;
      this.onDrawn = onDrawn;
      this.src = '';      // all its text: the fallback, and its words for screen readers
      this.term = null;
      this.queue = [];    // text that came before the terminal did
      this.pending = 0;   // writes the terminal has not finished
      this.frozen = false;
      this.failed = false;
      el.classList.add('art');
      el.setAttribute('role', 'img');
      el.tabIndex = 0; // wider than a phone it scrolls sideways: keyboards must reach it
      labelArt(el, '');
      loadTerminal().then((Terminal) => {
        this.term = new Terminal({ cols: COLS, rows: ROWS, scrollback: 5000, convertEol: true, allowProposedApi: true });
        const q = this.queue;
        this.queue = [];
        for (const t of q) this.feed(t);
        if (this.frozen && !this.pending) this.dispose();
      }).catch(() => {
        this.failed = true; // no terminal: the text without its sequences
        this.el.textContent = stripAnsi(this.src);
        if (this.onDrawn) this.onDrawn();
      });
    }

    write(text) {
      this.src += text;
      if (this.term) this.feed(text);
      else if (this.failed) this.el.textContent = stripAnsi(this.src);
      else {
        this.queue.push(text);
        this.el.textContent = stripAnsi(this.src); // shown as plain text until the terminal is here
        labelArt(this.el, this.src);
      }
    }

    feed(text) {
      const term = this.term;
      this.pending++;
      term.write(text, () => {
        this.pending--;
        if (this.term !== term) return;
        draw(term, this.el, this.src);
        if (this.onDrawn) this.onDrawn();
        if (this.frozen && !this.pending) this.dispose();
      });
    }

    // Something else was shown after it: no more art goes in.
    freeze() {
      this.frozen = true;
      if (this.term && !this.pending) this.dispose();
    }

    dispose() {
      if (this.term) { this.term.dispose(); this.term = null; }
    }
  }

  window.PL_ANSI = { renderLine, stripAnsi, isArt, ArtBlock, palette, loadTerminal };
})();
