#include "net/telnet.h"
#include "net/telnet_opts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/cp437.h"
#include "base/text.h"
#include "model/msg.h"

enum { S_DATA, S_IAC, S_OPT, S_SB, S_SB_IAC, S_ESC, S_CSI };

int telnet_init(Telnet *t, uint32_t max_line) {
    memset(t, 0, sizeof *t);
    t->width = 80;
    t->height = 24;
    t->max_line = max_line;
    t->line = (char *)malloc(max_line + 1);
    if (!t->line) return -1;
    telnet_offers(t);
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

static void echo(Telnet *t, const char *s, size_t n) {
    if (t->echo && !t->secret) buf_add(&t->out, s, n, TN_OUT_MAX);
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

// A line sent with nothing waiting for it on screen (chat, not a prompt's
// answer) stays where it is, without its line end, until the output it
// causes comes: the user's own chat line then takes its place (BBS chat
// shows each line once), anything else follows it on the next line. A line
// that wrapped cannot be taken back in place: it ends as usual.
static bool may_replace(const Telnet *t) {
    bool prompt_shown = t->at_prompt && t->prompt_len > 0;
    size_t cols = text_columns(t->line, t->len);
    return t->echo && !t->secret && !prompt_shown && t->len > 0 && cols + 1 < t->width;
}

// The line end a pending line still owes, before anything else is echoed.
static void settle(Telnet *t) {
    if (!t->pending) return;
    t->pending = false;
    buf_add(&t->out, "\r\n", 2, TN_OUT_MAX);
}

static void line_done(Telnet *t, TelnetLineFn fn, void *ud) {
    t->line[t->len] = 0;
    uint32_t n = t->len;
    if (may_replace(t)) {
        t->pending = true;
        t->pend_cols = (uint32_t)text_columns(t->line, t->len);
        t->pend_from = t->pend_to = 0; // telnet_caused says which events it caused
    } else if (t->echo) {
        // the line end is shown even after a secret line, or the next output
        // would follow the prompt on the same line
        buf_add(&t->out, "\r\n", 2, TN_OUT_MAX);
    }
    t->len = 0;
    t->secret = false;
    t->at_prompt = false;
    fn(ud, t->line, n);
}

void telnet_caused(Telnet *t, uint64_t from, uint64_t to) {
    if (!t->pending || t->pend_to) return;
    t->pend_from = from;
    t->pend_to = to;
}

void telnet_set_keys(Telnet *t, bool on) {
    if (t->keys == on) return;
    t->keys = on;
    t->len = 0; // a line half typed, or a character half read, belongs to the other mode
}

// Key mode: a script asked for single keys (input_mode "key": menus that
// act on one key, door games). Each key is handed on at once as a "line"
// of its own, nothing is echoed, and keys that are not characters get
// names: backspace, tab, escape, up, down, left, right, home, end, insert,
// delete, pageup, pagedown. Enter is an empty line, as in line mode: a key
// typed as a script switches back to lines reads as nothing, not as text.
// A key answers the prompt on screen: it is not drawn again after output.
static void key(Telnet *t, const char *name, size_t n, TelnetLineFn fn, void *ud) {
    t->at_prompt = false;
    fn(ud, name, n);
}
static void named(Telnet *t, const char *name, TelnetLineFn fn, void *ud) { key(t, name, strlen(name), fn, ud); }

static void key_byte(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    if (t->cr) {
        t->cr = false;
        if (c == '\n' || c == 0) return;
    }
    if (t->len && (c & 0xC0) == 0x80) { // the rest of a UTF-8 character
        t->line[t->len++] = (char)c;
        if (t->len == t->key_need) {
            uint32_t n = t->len;
            t->len = 0;
            key(t, t->line, n, fn, ud);
        }
        return;
    }
    t->len = 0; // a character cut short is dropped
    switch (c) {
    case '\r': t->cr = true; return named(t, "", fn, ud); // Enter: an empty line, as in line mode
    case '\n': return named(t, "", fn, ud);
    case 0x08: case 0x7F: return named(t, "backspace", fn, ud);
    case '\t': return named(t, "tab", fn, ud);
    case 0x1B: t->state = S_ESC; return;
    }
    if (c < 0x20) return;
    if (c < 0x80) {
        char one = (char)c;
        return key(t, &one, 1, fn, ud);
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
    if (name) named(t, name, fn, ud);
}

// Stores one byte of the line being typed, and echoes it: itself, or for a
// character decoded from CP437, the terminal's own byte once its last UTF-8
// byte is stored.
static void store(Telnet *t, uint8_t c) {
    t->line[t->len++] = (char)c;
    if (!t->dec_left) return echo(t, (const char *)&c, 1);
    if (--t->dec_left == 0) echo(t, (const char *)&t->dec_raw, 1);
}

static void data_byte(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    // single keys where the terminal sends them as they are pressed; a
    // client that edits lines itself (it echoes: it never let us) sends lines
    if (t->keys && t->echo) return key_byte(t, c, fn, ud);
    if (t->cr) {
        t->cr = false;
        if (c == '\n' || c == 0) return;
    }
    settle(t);
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
    store(t, c);
}

// A byte of text from the terminal, in its character set: a CP437 byte
// past ASCII is its character's UTF-8, a byte at a time, echoed as itself.
static void text_byte(Telnet *t, uint8_t c, TelnetLineFn fn, void *ud) {
    if (!t->cp437 || c < 0x80) return data_byte(t, c, fn, ud);
    const char *u = cp437_utf8(c);
    size_t n = strlen(u);
    bool lines = !(t->keys && t->echo);
    if (lines && t->len + n > t->max_line) return; // no half characters at the end of a long line
    t->dec_left = lines ? (uint8_t)n : 0;
    t->dec_raw = c;
    for (size_t i = 0; i < n; i++) data_byte(t, (uint8_t)u[i], fn, ud);
    t->dec_left = 0;
}

// Key mode: whether in[0..n) is whole lines and nothing else (text, each
// with its line end, the last one at the end), as a client sends what was
// typed into a line of its own. Keys pressed one by one never come so.
static bool whole_lines(const Telnet *t, const uint8_t *in, size_t n) {
    if (t->state != S_DATA || t->len || n < 2) return false;
    uint8_t last = in[n - 1];
    if (last != '\n' && last != '\r' && !(last == 0 && in[n - 2] == '\r')) return false;
    bool text = false; // a line has text before its end (an Enter alone is a key)
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == '\r' || c == '\n' || (c == 0 && i && in[i - 1] == '\r')) continue;
        if (c < 0x20 || c == 0x7F || c == TN_IAC) return false;
        text = true;
    }
    return text;
}

// Those lines, each handed on whole (cut to max_line, decoded from CP437
// where the terminal speaks it), unechoed.
static void feed_lines(Telnet *t, const uint8_t *in, size_t n, TelnetLineFn fn, void *ud) {
    size_t i = 0;
    if (t->cr && (in[0] == '\n' || in[0] == 0)) i = 1; // the rest of the last chunk's CR LF
    t->cr = false;
    while (i < n) {
        size_t j = i;
        t->len = 0;
        for (; j < n && in[j] != '\r' && in[j] != '\n'; j++) {
            const char *u = t->cp437 ? cp437_utf8(in[j]) : (const char *)&in[j];
            size_t un = t->cp437 ? strlen(u) : 1;
            if (t->len + un > t->max_line) continue;
            memcpy(t->line + t->len, u, un);
            t->len += (uint32_t)un;
        }
        uint32_t len = t->len;
        t->len = 0;
        t->line[len] = 0;
        key(t, t->line, len, fn, ud);
        if (j < n && in[j] == '\r') { // CR LF, CR NUL, or a CR the next chunk may finish
            j++;
            if (j < n && (in[j] == '\n' || in[j] == 0)) j++;
            else if (j == n) t->cr = true;
        } else {
            j++; // LF
        }
        i = j;
    }
}

void telnet_feed(Telnet *t, const uint8_t *in, size_t n, TelnetLineFn fn, void *ud) {
    if (t->keys && t->echo && whole_lines(t, in, n)) return feed_lines(t, in, n, fn, ud);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (t->state) {
        case S_DATA:
            if (c == TN_IAC && !t->plain) t->state = S_IAC;
            else text_byte(t, c, fn, ud);
            break;
        case S_IAC:
            if (c == TN_IAC) {
                t->state = S_DATA;
                text_byte(t, c, fn, ud);
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
            telnet_negotiate(t, t->opt, c);
            t->state = S_DATA;
            break;
        case S_SB:
            if (c == TN_IAC) t->state = S_SB_IAC;
            else if (t->sb_len < sizeof t->sb) t->sb[t->sb_len++] = c;
            break;
        case S_SB_IAC:
            if (c == TN_SE) {
                telnet_subnegotiation(t);
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
                if (t->keys && t->echo) { // ESC and then something else: the Escape key itself
                    named(t, "escape", fn, ud);
                    if (c != TN_IAC || t->plain) text_byte(t, c, fn, ud);
                    else t->state = S_IAC;
                }
            }
            break;
        case S_CSI:
            if (c >= '0' && c <= '9' && t->csi_arg < 1000) t->csi_arg = (uint16_t)(t->csi_arg * 10 + (c - '0'));
            if (c >= 0x40 && c <= 0x7E) {
                t->state = S_DATA;
                if (t->keys && t->echo) key_escape(t, c, fn, ud);
            }
            break;
        }
    }
    // A read that ends in ESC alone: the Escape key. A terminal writes an
    // arrow's ESC [ A at once, so nothing is coming to make this ESC part of
    // one; waiting for a next byte would hold the key until another is pressed.
    if (t->state == S_ESC && t->keys && t->echo) {
        t->state = S_DATA;
        named(t, "escape", fn, ud);
    }
}
