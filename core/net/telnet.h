// The telnet side of a connection (RFC 854): option negotiation, the line
// editor, and rendering events as terminal text. No sockets here, so it can
// be tested byte for byte.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "model/port.h"

enum {
    TN_IAC = 255, TN_DONT = 254, TN_DO = 253, TN_WONT = 252, TN_WILL = 251,
    TN_SB = 250, TN_SE = 240, TN_NOP = 241,
    TN_OPT_ECHO = 1, TN_OPT_SGA = 3, TN_OPT_TTYPE = 24, TN_OPT_NAWS = 31,
};

#define TN_OUT_MAX (256 * 1024)
#define TN_PROMPT_MAX 256

struct Telnet {
    uint8_t state;
    uint8_t opt;
    // RFC 1143 state of every option, both sides (net/telnet.cpp: Q_*)
    uint8_t q[256];
    uint8_t sb[64];
    uint32_t sb_len;
    bool cr;          // last byte ended a line with CR: swallow LF or NUL
    bool echo;        // the client let us echo (DO ECHO)
    bool sga;
    bool secret;      // answering a secret prompt: echo nothing
    bool ttype_asked;
    bool at_prompt;   // a prompt is on screen, waiting for its line
    bool cleared;     // this batch erased the input line, so end redraws it
    bool fresh_prompt; // this batch printed a new prompt
    bool plain;       // no telnet protocol (SSH): 255 is a byte like any other, nothing is negotiated
    bool keys;        // key mode (the scripts' input_mode "key"): each key is a line of its own, unechoed
    uint8_t key_need; // key mode: bytes of the UTF-8 character being read
    uint16_t csi_arg; // the number in an escape sequence being read (ESC [ 5 ~)
    uint16_t width, height;
    char term[32];
    uint32_t max_line;
    char *line;
    uint32_t len;
    char prompt[TN_PROMPT_MAX];
    uint32_t prompt_len;
    Buf out;          // negotiation replies and echo, written before events
};

typedef void (*TelnetLineFn)(void *ud, const char *line, size_t len);

// Sets up state and queues our opening offers in t->out; -1 when out of
// memory (then telnet_free still may be called).
int telnet_init(Telnet *t, uint32_t max_line);
// The same engine for a terminal that speaks no telnet (SSH): no offers, no
// IAC; echo says whether to echo what is typed (SSH: the client asked for
// a pty, so its terminal is raw and shows only what we send).
int telnet_init_plain(Telnet *t, uint32_t max_line, bool echo);
// What a plain terminal said of itself (SSH's pty request, window change),
// as TERMINAL-TYPE and NAWS would: the type, and the size (0 = not known).
void telnet_set_terminal(Telnet *t, const char *type, uint32_t cols, uint32_t rows);
void telnet_free(Telnet *t);
// Feeds bytes from the client; calls fn for each completed line.
void telnet_feed(Telnet *t, const uint8_t *in, size_t n, TelnetLineFn fn, void *ud);
// Queues IAC NOP in t->out: a keepalive probe the client ignores (RFC 854).
void telnet_nop(Telnet *t);
// Whether this terminal gets ANSI colour under the configured mode.
bool telnet_color(const Telnet *t, ColorMode mode);
// What the terminal has told of itself so far (type, size, colours), as the
// model's port keeps it for the scripts (s.terminal).
void telnet_terminal(const Telnet *t, ColorMode mode, PortTerminal *out);

// Rendering a batch of events: begin clears the input line the user sees,
// render adds one event, end puts the prompt and typed text back.
void telnet_render_begin(Telnet *t, Buf *out, bool color);
void telnet_render(Telnet *t, Buf *out, const char *text, size_t len, uint32_t msg_flags, bool color);
void telnet_render_end(Telnet *t, Buf *out, bool color);
