// A port: one connection as the model sees it. A session's events leave
// through its ports, each with a cursor into the session's ring. The net
// layer's Conn embeds a Port as its first member; the model never sees more
// of a connection than this, and asks the net layer for writes and closes
// through the callbacks in model/up.h.
#pragma once
#include <stdint.h>

struct Session;
struct Msg;

// What kind of connection a port is (scripts see it as s.transport).
// PORT_TELNET_WS: a telnet session carried in WebSocket frames (/telnet,
// net/telnet_ws.cpp), a telnet terminal in everything but its framing.
// PORT_SSH: the same terminal engine on an SSH channel (net/ssh_conn.cpp).
enum PortKind : uint8_t { PORT_WEB = 1, PORT_TELNET = 2, PORT_BOT = 3, PORT_TELNET_WS = 4, PORT_SSH = 5 }; // a bot's: script/bots.cpp

// What a connection's terminal can show, as the net layer learns it (the
// telnet engine from TERMINAL-TYPE and NAWS; "web" for the web page).
// Scripts read it as s.terminal, to page and colour for it.
struct PortTerminal {
    char type[32];     // "xterm-256color", "web", "" while not known
    uint16_t cols, rows; // 0: not known (a web page scrolls)
    uint32_t colors;   // 0 (none), 16, 256 or 16777216
    char charset[12];  // "utf-8" or "cp437", as the terminal said (or its type implies)
    bool told;         // the terminal has said what it is, or that it will not
    uint8_t charset_pick; // the user's own choice (pl.charset): 0 = as the terminal says, else a PortCharset
};

// The character sets a terminal's text can go out in. The core's text is
// UTF-8 throughout; a terminal transport encodes at its edge.
enum PortCharset : uint8_t { PORT_UTF8 = 1, PORT_CP437 = 2 };

struct Port {
    Session *session;  // NULL while attached to none
    Port *next;        // in the session's list
    uint32_t id;       // unique among live ports; Msg.target names one (0 = every port)
    PortKind kind;
    bool typing;       // opted in to typing events
    bool presence;     // asked for `presence` events (model/roster.h)
    bool closing;      // closes once what it holds is written
    uint64_t cursor;   // the next seq of the session to write
    uint32_t missed;   // room chatter skipped as a slow reader, not yet reported
    // This port's own copy of the event at own_seq, written in its place (the
    // `auth` with a token: board/auth.cpp). Owned by the port: released once
    // the cursor has passed own_seq, or when the port leaves its session.
    Msg *own;
    uint64_t own_seq;
    char addr[48];     // the client's address (the one a trusted proxy named, behind one)
    bool secure;       // the client's connection is encrypted (TLS here, or at a trusted proxy)
    PortTerminal term; // what its terminal shows, as the net layer learns it
};

// Whether a client of this kind can come back to its session once its
// connection is gone: a web client was told the session's id (`hello`) and
// resumes with it; a terminal was not and cannot, so its hang-up is the end
// of the session and nothing waits for it.
static inline bool port_can_return(const Port *p) { return p->kind == PORT_WEB; }

// The character set p's terminal is written in: the user's choice where
// they made one, else what the terminal said. The web page is always UTF-8
// (JSON), and so is a bot.
static inline PortCharset port_charset(const Port *p) {
    if (p->kind == PORT_WEB || p->kind == PORT_BOT) return PORT_UTF8;
    if (p->term.charset_pick) return (PortCharset)p->term.charset_pick;
    return p->term.charset[0] == 'c' ? PORT_CP437 : PORT_UTF8;
}
static inline const char *port_charset_name(PortCharset c) { return c == PORT_CP437 ? "cp437" : "utf-8"; }

// A fresh port id (never 0).
uint32_t port_next_id(void);

// The next event to write to p, with its seq in *seq, or NULL when p is
// written up to date. This is the one place that decides what a connection
// is sent: it passes over events meant for another port and typing p did not
// ask for, and for a slow reader what the soft bound lets it skip (typing
// past half the bound, room chatter past it, counted in p->missed: the
// transport writes the `missed` notice before the next event, and after the
// last). Returns p's own copy where it has one. Advances p->cursor. Call it
// until it returns NULL: that last call also lets go of an own copy written.
Msg *port_next(Port *p, uint64_t *seq);
