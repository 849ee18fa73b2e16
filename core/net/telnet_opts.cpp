// Telnet options (RFC 855) for the engine (net/telnet.h): negotiation by
// RFC 1143's Q method, and what the client tells through them: its
// terminal's type (RFC 1091), its window size (NAWS, RFC 1073) and its
// character set (CHARSET, RFC 2066). No sockets here.
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/cp437.h"
#include "net/telnet.h"
#include "net/telnet_opts.h"

static void out3(Telnet *t, uint8_t cmd, uint8_t opt) {
    uint8_t b[3] = {TN_IAC, cmd, opt};
    buf_add(&t->out, b, 3, TN_OUT_MAX);
}

// Option negotiation by RFC 1143's Q method, for both sides of every
// option: "us" is whether we perform it (DO/DONT ask us, WILL/WONT answer),
// "him" whether the client does. A request is answered only when it changes
// the state, so negotiation cannot loop and a client repeating itself gets
// no more answers: an option we refuse is refused once, however often it
// is asked for. We only ever ask to enable (the offers in telnet_offers),
// never to disable, so the WANTNO states and the queue bits of RFC 1143
// never arise.
enum { Q_NO = 0, Q_YES = 1, Q_WANTYES = 2 };
#define Q_US(q) ((q) & 3)
#define Q_HIM(q) (((q) >> 2) & 3)
#define Q_US_REFUSED 0x10  // we answered WONT to a DO while NO
#define Q_HIM_REFUSED 0x20 // we answered DONT to a WILL while NO

static void set_us(Telnet *t, uint8_t opt, uint8_t st) { t->q[opt] = (uint8_t)((t->q[opt] & ~3) | st); }
static void set_him(Telnet *t, uint8_t opt, uint8_t st) { t->q[opt] = (uint8_t)((t->q[opt] & ~(3 << 2)) | st << 2); }

static bool we_do(uint8_t opt) { return opt == TN_OPT_ECHO || opt == TN_OPT_SGA || opt == TN_OPT_CHARSET; }
static bool we_want_him(uint8_t opt) { return opt == TN_OPT_NAWS || opt == TN_OPT_TTYPE || opt == TN_OPT_CHARSET; }

void telnet_offers(Telnet *t) {
    out3(t, TN_WILL, TN_OPT_ECHO);
    out3(t, TN_WILL, TN_OPT_SGA);
    out3(t, TN_DO, TN_OPT_NAWS);
    out3(t, TN_DO, TN_OPT_TTYPE);
    out3(t, TN_WILL, TN_OPT_CHARSET);
    set_us(t, TN_OPT_ECHO, Q_WANTYES);
    set_us(t, TN_OPT_SGA, Q_WANTYES);
    set_us(t, TN_OPT_CHARSET, Q_WANTYES);
    set_him(t, TN_OPT_NAWS, Q_WANTYES);
    set_him(t, TN_OPT_TTYPE, Q_WANTYES);
}

// A terminal type, lowercased, in lower (cap bytes).
static void lowered(const char *term, char *lower, size_t cap) {
    size_t i = 0;
    for (; term[i] && i < cap - 1; i++) lower[i] = (char)tolower((unsigned char)term[i]);
    lower[i] = 0;
}

bool telnet_color(const Telnet *t, ColorMode mode) {
    if (mode == COLOR_ALWAYS) return true;
    if (mode == COLOR_NEVER) return false;
    if (!t->term[0]) return false;
    char lower[sizeof t->term];
    lowered(t->term, lower, sizeof lower);
    return strcmp(lower, "dumb") != 0 && strcmp(lower, "unknown") != 0 && strcmp(lower, "network") != 0;
}

// The terminal types of PC ANSI terminals, which draw CP437: what SyncTERM,
// NetRunner, mTelnet, Qodem and the DOS and Amiga BBS terminals answer to
// TERMINAL-TYPE. A Unix "xterm" or "linux" console is UTF-8 today.
TnCharset telnet_type_charset(const char *term) {
    static const char *const PC[] = {"ansi", "ansi-bbs", "ansi-bbs-cp437", "pcansi", "pc-ansi", "syncterm", "cterm",
                                     "scoansi", "ansi.sys", "ibmpc", "ibm-pc", "bbs", "qansi", "cp437", NULL}; // cp437: fTelnet
    char lower[32];
    lowered(term, lower, sizeof lower);
    for (int i = 0; PC[i]; i++)
        if (!strcmp(lower, PC[i])) return TN_CS_CP437;
    return TN_CS_UNKNOWN;
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
    // CHARSET's answer first (the terminal said so), else what its type implies
    TnCharset cs = t->charset ? (TnCharset)t->charset : telnet_type_charset(t->term);
    snprintf(out->charset, sizeof out->charset, "%s", cs == TN_CS_CP437 && cp437_ready() ? "cp437" : "utf-8");
    // every question asked is answered, or refused (never answered when it
    // agreed to nothing: the connect hook's wait ends that, script/arrival.cpp)
    bool type = t->term[0] || Q_HIM(t->q[TN_OPT_TTYPE]) == Q_NO;
    bool size = t->naws_seen || Q_HIM(t->q[TN_OPT_NAWS]) == Q_NO;
    bool charset = t->cs_done || (Q_US(t->q[TN_OPT_CHARSET]) == Q_NO && Q_HIM(t->q[TN_OPT_CHARSET]) != Q_YES);
    // a plain terminal (SSH) has said all it will with its pty request
    out->told = t->plain || (type && size && charset);
}

// Our CHARSET REQUEST (RFC 2066): the sets we speak, UTF-8 first. Sent
// once, by the side that said WILL and heard DO: us.
static void charset_request(Telnet *t) {
    if (t->cs_asked) return;
    t->cs_asked = true;
    const uint8_t head[] = {TN_IAC, TN_SB, TN_OPT_CHARSET, TN_CS_REQUEST};
    const char *list = ";UTF-8;IBM437;CP437";
    const uint8_t tail[] = {TN_IAC, TN_SE};
    buf_add(&t->out, head, sizeof head, TN_OUT_MAX);
    buf_add(&t->out, list, strlen(list), TN_OUT_MAX);
    buf_add(&t->out, tail, sizeof tail, TN_OUT_MAX);
}

// What an option being on or off means here.
static void us_now(Telnet *t, uint8_t opt, bool on) {
    if (opt == TN_OPT_ECHO) t->echo = on;
    else if (opt == TN_OPT_SGA) t->sga = on;
    else if (opt == TN_OPT_CHARSET && on) charset_request(t);
}

static void him_now(Telnet *t, uint8_t opt, bool on) {
    if (opt == TN_OPT_TTYPE && on && !t->ttype_asked) { // SEND the terminal type, once
        const uint8_t ask[] = {TN_IAC, TN_SB, TN_OPT_TTYPE, 1, TN_IAC, TN_SE};
        buf_add(&t->out, ask, sizeof ask, TN_OUT_MAX);
        t->ttype_asked = true;
    }
}

void telnet_negotiate(Telnet *t, uint8_t cmd, uint8_t opt) {
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

// A character set's name as RFC 2066 carries it (IANA names, any case).
static TnCharset charset_named(const uint8_t *s, size_t n) {
    char name[24];
    if (n == 0 || n >= sizeof name) return TN_CS_UNKNOWN;
    for (size_t i = 0; i < n; i++) name[i] = (char)tolower(s[i]);
    name[n] = 0;
    if (!strcmp(name, "utf-8") || !strcmp(name, "utf8")) return TN_CS_UTF8;
    if (!strcmp(name, "ibm437") || !strcmp(name, "cp437") || !strcmp(name, "437") || !strcmp(name, "ibm-437") ||
        !strcmp(name, "cspc8codepage437"))
        return cp437_ready() ? TN_CS_CP437 : TN_CS_UNKNOWN;
    return TN_CS_UNKNOWN;
}

static void charset_reply(Telnet *t, uint8_t cmd, const uint8_t *name, size_t n) {
    const uint8_t head[] = {TN_IAC, TN_SB, TN_OPT_CHARSET, cmd};
    const uint8_t tail[] = {TN_IAC, TN_SE};
    buf_add(&t->out, head, sizeof head, TN_OUT_MAX);
    buf_add(&t->out, name, n, TN_OUT_MAX);
    buf_add(&t->out, tail, sizeof tail, TN_OUT_MAX);
}

// The client's own REQUEST: the first set of its list (its order of
// preference) that we speak is ACCEPTED, by the name it gave; none, REJECTED.
static void charset_requested(Telnet *t, const uint8_t *p, size_t n) {
    if (n >= 9 && !memcmp(p, "[TTABLE]", 8)) p += 9, n -= 9; // and its version byte: we want no tables
    t->cs_done = true;
    if (n >= 2) {
        uint8_t sep = p[0];
        for (size_t i = 1; i < n;) {
            size_t j = i;
            while (j < n && p[j] != sep) j++;
            TnCharset cs = charset_named(p + i, j - i);
            if (cs) {
                t->charset = cs;
                return charset_reply(t, TN_CS_ACCEPTED, p + i, j - i);
            }
            i = j + 1;
        }
    }
    charset_reply(t, TN_CS_REJECTED, NULL, 0);
}

void telnet_subnegotiation(Telnet *t) {
    if (t->sb_len == 0) return;
    if (t->sb[0] == TN_OPT_NAWS && t->sb_len >= 5) {
        uint16_t w = (uint16_t)(t->sb[1] << 8 | t->sb[2]);
        uint16_t h = (uint16_t)(t->sb[3] << 8 | t->sb[4]);
        // 0 means unknown; tiny widths would make wrapping useless
        t->width = w >= 20 ? (w > 500 ? 500 : w) : 80;
        t->height = h ? h : 24;
        t->naws_seen = true;
    } else if (t->sb[0] == TN_OPT_TTYPE && t->sb_len >= 2 && t->sb[1] == 0) {
        size_t n = t->sb_len - 2;
        if (n >= sizeof t->term) n = sizeof t->term - 1;
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            if (isprint(t->sb[2 + i])) t->term[o++] = (char)t->sb[2 + i];
        t->term[o] = 0;
    } else if (t->sb[0] == TN_OPT_CHARSET && t->sb_len >= 2) {
        const uint8_t *p = t->sb + 2;
        size_t n = t->sb_len - 2;
        switch (t->sb[1]) {
        case TN_CS_REQUEST: return charset_requested(t, p, n);
        case TN_CS_ACCEPTED:
            t->charset = charset_named(p, n); // a set we did not offer counts as none
            t->cs_done = true;
            return;
        case TN_CS_REJECTED: t->cs_done = true; return;
        case TN_CS_TTABLE_IS: return charset_reply(t, TN_CS_TTABLE_REJECTED, NULL, 0);
        }
    }
}

