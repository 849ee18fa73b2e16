#include "net/telnet.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "model/msg.h"
#include "base/text.h"

enum { S_DATA, S_IAC, S_OPT, S_SB, S_SB_IAC, S_ESC, S_CSI };

static void out3(Telnet *t, uint8_t cmd, uint8_t opt) {
    uint8_t b[3] = {TN_IAC, cmd, opt};
    buf_add(&t->out, b, 3, TN_OUT_MAX);
}

// Option negotiation by RFC 1143's Q method, for both sides of every
// option: "us" is whether we perform it (DO/DONT ask us, WILL/WONT answer),
// "him" whether the client does. A request is answered only when it changes
// the state, so negotiation cannot loop and a client repeating itself gets
// no more answers: an option we refuse is refused once, however often it
// is asked for. We only ever ask to enable (the offers in telnet_init),
// never to disable, so the WANTNO states and the queue bits of RFC 1143
// never arise.
enum { Q_NO = 0, Q_YES = 1, Q_WANTYES = 2 };
#define Q_US(q) ((q) & 3)
#define Q_HIM(q) (((q) >> 2) & 3)
#define Q_US_REFUSED 0x10  // we answered WONT to a DO while NO
#define Q_HIM_REFUSED 0x20 // we answered DONT to a WILL while NO

static void set_us(Telnet *t, uint8_t opt, uint8_t st) { t->q[opt] = (uint8_t)((t->q[opt] & ~3) | st); }
static void set_him(Telnet *t, uint8_t opt, uint8_t st) { t->q[opt] = (uint8_t)((t->q[opt] & ~(3 << 2)) | st << 2); }

static bool we_do(uint8_t opt) { return opt == TN_OPT_ECHO || opt == TN_OPT_SGA; }
static bool we_want_him(uint8_t opt) { return opt == TN_OPT_NAWS || opt == TN_OPT_TTYPE; }

int telnet_init(Telnet *t, uint32_t max_line) {
    memset(t, 0, sizeof *t);
    t->width = 80;
    t->height = 24;
    t->max_line = max_line;
    t->line = (char *)malloc(max_line + 1);
    if (!t->line) return -1;
    out3(t, TN_WILL, TN_OPT_ECHO);
    out3(t, TN_WILL, TN_OPT_SGA);
    out3(t, TN_DO, TN_OPT_NAWS);
    out3(t, TN_DO, TN_OPT_TTYPE);
    set_us(t, TN_OPT_ECHO, Q_WANTYES);
    set_us(t, TN_OPT_SGA, Q_WANTYES);
    set_him(t, TN_OPT_NAWS, Q_WANTYES);
    set_him(t, TN_OPT_TTYPE, Q_WANTYES);
    return 0;
}

int telnet_init_plain(Telnet *t, uint32_t max_line, bool echo) {
    memset(t, 0, sizeof *t);
    t->plain = true;
    t->width = 80;
    t->height = 24;
    t->max_line = max_line;
    t->echo = echo;
    t->sga = true;
    t->line = (char *)malloc(max_line + 1);
    return t->line ? 0 : -1;
}

void telnet_set_terminal(Telnet *t, const char *type, uint32_t cols, uint32_t rows) {
    if (type) {
        size_t o = 0;
        for (size_t i = 0; type[i] && o < sizeof t->term - 1; i++)
            if (isprint((unsigned char)type[i])) t->term[o++] = type[i];
        t->term[o] = 0;
    }
    // as NAWS: 0 means unknown, and tiny widths would make wrapping useless
    t->width = (uint16_t)(cols >= 20 ? (cols > 500 ? 500 : cols) : 80);
    t->height = (uint16_t)(rows ? (rows > 65535 ? 65535 : rows) : 24);
}

void telnet_free(Telnet *t) {
    free(t->line);
    t->line = NULL;
    buf_free(&t->out);
}

void telnet_nop(Telnet *t) {
    const uint8_t nop[] = {TN_IAC, TN_NOP};
    buf_add(&t->out, nop, sizeof nop, TN_OUT_MAX);
}

bool telnet_color(const Telnet *t, ColorMode mode) {
    if (mode == COLOR_ALWAYS) return true;
    if (mode == COLOR_NEVER) return false;
    if (!t->term[0]) return false;
    char lower[sizeof t->term];
    size_t i = 0;
    for (; t->term[i] && i < sizeof lower - 1; i++) lower[i] = (char)tolower((unsigned char)t->term[i]);
    lower[i] = 0;
    return strcmp(lower, "dumb") != 0 && strcmp(lower, "unknown") != 0 && strcmp(lower, "network") != 0;
}

void telnet_terminal(const Telnet *t, ColorMode mode, PortTerminal *out) {
    snprintf(out->type, sizeof out->type, "%s", t->term);
    out->cols = t->width;
    out->rows = t->height;
    out->colors = 0;
    if (telnet_color(t, mode)) {
        // what the type's name says it can do; a plain "xterm" or "ansi" has the 16 colours
        out->colors = strstr(t->term, "truecolor") || strstr(t->term, "24bit") || strstr(t->term, "direct") ? 16777216
                      : strstr(t->term, "256")                                                          ? 256
                                                                                                        : 16;
    }
    snprintf(out->charset, sizeof out->charset, "utf-8");
    // its type came, or it refused to tell (it never will when it agreed to
    // nothing); a plain terminal (SSH) has said all it will with its pty request
    out->told = t->plain || t->term[0] || Q_HIM(t->q[TN_OPT_TTYPE]) == Q_NO;
}

static void echo(Telnet *t, const char *s, size_t n) {
    if (t->echo && !t->secret) buf_add(&t->out, s, n, TN_OUT_MAX);
}

// What an option being on or off means here.
static void us_now(Telnet *t, uint8_t opt, bool on) {
    if (opt == TN_OPT_ECHO) t->echo = on;
    else if (opt == TN_OPT_SGA) t->sga = on;
}

static void him_now(Telnet *t, uint8_t opt, bool on) {
    if (opt == TN_OPT_TTYPE && on && !t->ttype_asked) { // SEND the terminal type, once
        const uint8_t ask[] = {TN_IAC, TN_SB, TN_OPT_TTYPE, 1, TN_IAC, TN_SE};
        buf_add(&t->out, ask, sizeof ask, TN_OUT_MAX);
        t->ttype_asked = true;
    }
}

static void negotiate(Telnet *t, uint8_t cmd, uint8_t opt) {
    uint8_t q = t->q[opt];
    switch (cmd) {
    case TN_DO: // asks us to enable
        if (Q_US(q) == Q_WANTYES) { // the answer to our WILL
            set_us(t, opt, Q_YES);
            us_now(t, opt, true);
        } else if (Q_US(q) == Q_NO) {
            if (we_do(opt)) {
                set_us(t, opt, Q_YES);
                out3(t, TN_WILL, opt);
                us_now(t, opt, true);
            } else if (!(q & Q_US_REFUSED)) {
                t->q[opt] |= Q_US_REFUSED;
                out3(t, TN_WONT, opt);
            }
        }
        break; // YES: already on, nothing to say
    case TN_DONT: // asks us to disable
        if (Q_US(q) == Q_YES) out3(t, TN_WONT, opt);
        if (Q_US(q) != Q_NO) us_now(t, opt, false);
        set_us(t, opt, Q_NO);
        break;
    case TN_WILL: // offers to enable on the client's side
        if (Q_HIM(q) == Q_WANTYES) {
            set_him(t, opt, Q_YES);
            him_now(t, opt, true);
        } else if (Q_HIM(q) == Q_NO) {
            if (we_want_him(opt)) {
                set_him(t, opt, Q_YES);
                out3(t, TN_DO, opt);
                him_now(t, opt, true);
            } else if (!(q & Q_HIM_REFUSED)) {
                t->q[opt] |= Q_HIM_REFUSED;
                out3(t, TN_DONT, opt);
            }
        }
        break;
    case TN_WONT: // the client disables, or refuses our DO
        if (Q_HIM(q) == Q_YES) out3(t, TN_DONT, opt);
        if (Q_HIM(q) != Q_NO) him_now(t, opt, false);
        set_him(t, opt, Q_NO);
        break;
    }
}

static void subnegotiation(Telnet *t) {
    if (t->sb_len == 0) return;
    if (t->sb[0] == TN_OPT_NAWS && t->sb_len >= 5) {
        uint16_t w = (uint16_t)(t->sb[1] << 8 | t->sb[2]);
        uint16_t h = (uint16_t)(t->sb[3] << 8 | t->sb[4]);
        // 0 means unknown; tiny widths would make wrapping useless
        t->width = w >= 20 ? (w > 500 ? 500 : w) : 80;
        t->height = h ? h : 24;
    } else if (t->sb[0] == TN_OPT_TTYPE && t->sb_len >= 2 && t->sb[1] == 0) {
        size_t n = t->sb_len - 2;
        if (n >= sizeof t->term) n = sizeof t->term - 1;
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            if (isprint(t->sb[2 + i])) t->term[o++] = (char)t->sb[2 + i];
        t->term[o] = 0;
    }
}

// Bytes in the last character of the line: a UTF-8 sequence, or one byte
// when there is no lead byte (stray continuation bytes go one at a time).
static size_t last_char_len(const Telnet *t) {
    size_t i = t->len;
    while (i > 0 && ((unsigned char)t->line[i - 1] & 0xC0) == 0x80) i--;
    return i > 0 ? t->len - (i - 1) : 1;
}

static void erase_chars(Telnet *t, size_t bytes) {
    // one backspace-space-backspace per character on screen
    while (bytes > 0 && t->len > 0) {
        size_t n = last_char_len(t);
        t->len -= (uint32_t)n;
        bytes = bytes > n ? bytes - n : 0;
        echo(t, "\b \b", 3);
    }
}

static void line_done(Telnet *t, TelnetLineFn fn, void *ud) {
    // the line end is shown even after a secret line, or the next output
    // would follow the prompt on the same line
    if (t->echo) buf_add(&t->out, "\r\n", 2, TN_OUT_MAX);
    t->line[t->len] = 0;
    uint32_t n = t->len;
    t->len = 0;
    t->secret = false;
    t->at_prompt = false;
    fn(ud, t->line, n);
}

// Key mode: a script asked for single keys (input_mode "key": menus that
// act on one key, door games). Each key is handed on at once as a "line"
// of its own, nothing is echoed, and keys that are not characters get
// names: backspace, tab, escape, up, down, left, right, home, end, insert,
// delete, pageup, pagedown. Enter is an empty line, as in line mode: a key
// typed as a script switches back to lines reads as nothing, not as text.
static void key(const char *name, TelnetLineFn fn, void *ud) { fn(ud, name, strlen(name)); }

static void key_byte(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    if (t->cr) {
        t->cr = false;
        if (c == '\n' || c == 0) return;
    }
    if (t->len && (c & 0xC0) == 0x80) { // the rest of a UTF-8 character
        t->line[t->len++] = (char)c;
        if (t->len == t->key_need) {
            fn(ud, t->line, t->len);
            t->len = 0;
        }
        return;
    }
    t->len = 0; // a character cut short is dropped
    switch (c) {
    case '\r': t->cr = true; return key("", fn, ud); // Enter: an empty line, as in line mode
    case '\n': return key("", fn, ud);
    case 0x08: case 0x7F: return key("backspace", fn, ud);
    case '\t': return key("tab", fn, ud);
    case 0x1B: t->state = S_ESC; return;
    }
    if (c < 0x20) return;
    if (c < 0x80) {
        char one = (char)c;
        return fn(ud, &one, 1);
    }
    t->key_need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (t->key_need && t->max_line >= 4) t->line[t->len++] = (char)c;
}

// The final byte of ESC [ ... or ESC O x in key mode: the key's name.
static void key_escape(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    static const char *tilde[] = {NULL, "home", "insert", "delete", "end", "pageup", "pagedown", "home", "end"};
    const char *name = c == 'A' ? "up" : c == 'B' ? "down" : c == 'C' ? "right" : c == 'D' ? "left"
                     : c == 'H' ? "home" : c == 'F' ? "end"
                     : c == '~' && t->csi_arg >= 1 && t->csi_arg <= 8 ? tilde[t->csi_arg] : NULL;
    if (name) key(name, fn, ud);
}

static void data_byte(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    if (t->keys) return key_byte(t, c, fn, ud);
    if (t->cr) {
        t->cr = false;
        if (c == '\n' || c == 0) return;
    }
    switch (c) {
    case '\r':
        t->cr = true;
        line_done(t, fn, ud);
        return;
    case '\n':
        line_done(t, fn, ud);
        return;
    case 0x08:
    case 0x7F:
        erase_chars(t, 1);
        return;
    case 0x15: // Ctrl-U
        erase_chars(t, t->len);
        return;
    case 0x17: { // Ctrl-W: the word before the cursor and the spaces after it
        uint32_t i = t->len;
        while (i > 0 && t->line[i - 1] == ' ') i--;
        while (i > 0 && t->line[i - 1] != ' ') i--;
        erase_chars(t, t->len - i);
        return;
    }
    case 0x1B:
        t->state = S_ESC;
        return;
    case '\t':
        c = ' ';
        break;
    default:
        if (c < 0x20) return;
    }
    if (t->len >= t->max_line) return;
    t->line[t->len++] = (char)c;
    echo(t, (const char *)&c, 1);
}

void telnet_feed(Telnet *t, const uint8_t *in, size_t n, TelnetLineFn fn, void *ud) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (t->state) {
        case S_DATA:
            if (c == TN_IAC && !t->plain) t->state = S_IAC;
            else data_byte(t, c, fn, ud);
            break;
        case S_IAC:
            if (c == TN_IAC) {
                t->state = S_DATA;
                data_byte(t, c, fn, ud);
            } else if (c >= TN_WILL && c <= TN_DONT) {
                t->opt = c;
                t->state = S_OPT;
            } else if (c == TN_SB) {
                t->sb_len = 0;
                t->state = S_SB;
            } else {
                t->state = S_DATA; // NOP, GA, AYT, ...: nothing to do
            }
            break;
        case S_OPT:
            negotiate(t, t->opt, c);
            t->state = S_DATA;
            break;
        case S_SB:
            if (c == TN_IAC) t->state = S_SB_IAC;
            else if (t->sb_len < sizeof t->sb) t->sb[t->sb_len++] = c;
            break;
        case S_SB_IAC:
            if (c == TN_SE) {
                subnegotiation(t);
                t->state = S_DATA;
            } else {
                if (c == TN_IAC && t->sb_len < sizeof t->sb) t->sb[t->sb_len++] = c;
                t->state = S_SB;
            }
            break;
        case S_ESC:
            // arrow and function keys: ESC [ ... final, or ESC O x
            t->csi_arg = 0;
            if (c == '[' || c == 'O') t->state = S_CSI;
            else {
                t->state = S_DATA;
                if (t->keys) { // ESC and then something else: the Escape key itself
                    key("escape", fn, ud);
                    if (c != TN_IAC || t->plain) data_byte(t, c, fn, ud);
                    else t->state = S_IAC;
                }
            }
            break;
        case S_CSI:
            if (c >= '0' && c <= '9' && t->csi_arg < 1000) t->csi_arg = (uint16_t)(t->csi_arg * 10 + (c - '0'));
            if (c >= 0x40 && c <= 0x7E) {
                t->state = S_DATA;
                if (t->keys) key_escape(t, c, fn, ud);
            }
            break;
        }
    }
}

// Copies text, dropping escape sequences when colour is off.
static void add_visible(Buf *out, const char *s, size_t n, bool color) {
    if (color) {
        buf_add(out, s, n, TN_OUT_MAX);
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t esc = text_escape_len(s + i, n - i);
        if (esc) {
            i += esc;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] != 0x1B) j++;
        buf_add(out, s + i, j - i, TN_OUT_MAX);
        i = j;
    }
}

// One line of text (no newlines), wrapped at word boundaries to width.
static void add_wrapped(Buf *out, const char *s, size_t n, unsigned width, bool color) {
    size_t start = 0;
    while (start < n) {
        size_t cols = 0, i = start, last_space = 0;
        bool have_space = false;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            size_t esc = text_escape_len(s + i, n - i);
            if (esc) { // an escape sequence takes no columns
                i += esc;
                continue;
            }
            if ((c & 0xC0) != 0x80) {
                if (cols == width) break;
                cols++;
            }
            if (c == ' ') {
                last_space = i;
                have_space = true;
            }
            i++;
        }
        if (i >= n) {
            add_visible(out, s + start, n - start, color);
            return;
        }
        size_t cut = have_space && last_space > start ? last_space : i;
        add_visible(out, s + start, cut - start, color);
        buf_add(out, "\r\n", 2, TN_OUT_MAX);
        start = cut;
        while (start < n && s[start] == ' ') start++;
    }
}

void telnet_render_begin(Telnet *t, Buf *out, bool color) {
    t->fresh_prompt = false;
    bool on_screen = t->at_prompt || (t->len && t->echo && !t->secret && !t->keys);
    t->cleared = on_screen;
    if (!on_screen) return;
    if (color) {
        buf_adds(out, "\r\x1b[K", TN_OUT_MAX);
        return;
    }
    size_t cols = text_columns(t->prompt, t->prompt_len) + (t->secret || t->keys ? 0 : text_columns(t->line, t->len));
    buf_add(out, "\r", 1, TN_OUT_MAX);
    for (size_t i = 0; i < cols; i++) buf_add(out, " ", 1, TN_OUT_MAX);
    buf_add(out, "\r", 1, TN_OUT_MAX);
}

void telnet_render(Telnet *t, Buf *out, const char *text, size_t len, uint32_t flags, bool color) {
    if (flags & (MSG_KEYS | MSG_LINES)) { // the mode changes here, in the stream's order
        t->keys = (flags & MSG_KEYS) != 0;
        t->len = 0; // a line half typed, or a character half read, belongs to the other mode
    }
    if (flags & MSG_BELL) buf_add(out, "\a", 1, TN_OUT_MAX);
    if (flags & MSG_PROMPT) {
        // only the prompt's last line is redrawn after other output
        size_t from = len;
        while (from > 0 && text[from - 1] != '\n') from--;
        size_t n = len - from < TN_PROMPT_MAX ? len - from : TN_PROMPT_MAX - 1;
        memcpy(t->prompt, text + from, n);
        t->fresh_prompt = true;
        t->prompt_len = (uint32_t)n;
        t->at_prompt = true;
        t->secret = (flags & MSG_SECRET) != 0;
        add_visible(out, text, len, color);
        return;
    }
    if ((flags & MSG_SILENT) || len == 0) return;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            size_t end = i;
            if (end > start && text[end - 1] == '\r') end--;
            add_wrapped(out, text + start, end - start, t->width, color);
            buf_add(out, "\r\n", 2, TN_OUT_MAX);
            start = i + 1;
        }
    }
}

void telnet_render_end(Telnet *t, Buf *out, bool color) {
    if (!t->fresh_prompt && !t->cleared) return;
    if (!t->fresh_prompt && t->at_prompt) add_visible(out, t->prompt, t->prompt_len, color);
    if (t->len && t->echo && !t->secret && !t->keys) buf_add(out, t->line, t->len, TN_OUT_MAX);
    t->cleared = false;
    t->fresh_prompt = false;
}
