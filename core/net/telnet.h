// The telnet side of a connection (RFC 854): option negotiation (RFC 1143;
// TERMINAL-TYPE, NAWS, CHARSET of RFC 2066), the line editor and single
// keys (net/telnet.cpp), and rendering events as terminal text
// (net/telnet_render.cpp). No sockets here, so it can be tested byte for
// byte. Text is UTF-8 on both sides of it; a CP437 terminal's input is
// decoded here, and its output encoded by the connection (base/cp437.h).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "model/port.h"

enum {
    TN_IAC = 255, TN_DONT = 254, TN_DO = 253, TN_WONT = 252, TN_WILL = 251,
    TN_SB = 250, TN_SE = 240, TN_NOP = 241,
    TN_OPT_ECHO = 1, TN_OPT_SGA = 3, TN_OPT_TTYPE = 24, TN_OPT_NAWS = 31, TN_OPT_CHARSET = 42,
};

// RFC 2066's subnegotiation commands.
enum { TN_CS_REQUEST = 1, TN_CS_ACCEPTED = 2, TN_CS_REJECTED = 3, TN_CS_TTABLE_IS = 4, TN_CS_TTABLE_REJECTED = 5 };

// What the terminal's character set is, as far as the terminal has said.
enum TnCharset : uint8_t { TN_CS_UNKNOWN = 0, TN_CS_UTF8 = 1, TN_CS_CP437 = 2 };

#define TN_OUT_MAX (256 * 1024)
#define TN_PROMPT_MAX 256

struct Telnet {
    uint8_t state;
    uint8_t opt;
    // RFC 1143 state of every option, both sides (net/telnet.cpp: Q_*)
    uint8_t q[256];
    uint8_t sb[256];
    uint32_t sb_len;
    bool cr;          // last byte ended a line with CR: swallow LF or NUL
    bool echo;        // the client let us echo (DO ECHO)
    bool sga;
    bool secret;      // answering a secret prompt: echo nothing
    bool ttype_asked;
    bool naws_seen;   // a window size came
    bool cs_asked;    // our CHARSET REQUEST went out
    bool cs_done;     // a CHARSET subnegotiation ended (accepted or rejected, either way round)
    uint8_t charset;  // TnCharset agreed by CHARSET, else TN_CS_UNKNOWN
    bool cp437;       // the connection's charset is CP437: input is decoded from it, echo is in it
    uint8_t dec_left, dec_raw; // echo of a decoded CP437 byte: its UTF-8 bytes still to store, the byte
    bool pending;     // a line just sent is still on screen with no line end after it (see telnet_caused)
    uint32_t pend_cols;
    uint64_t pend_from, pend_to; // the events that line caused: [from, to) of its session's seqs
    uint64_t mode_seq; // input_mode events before this seq were applied as the input came (telnet_set_keys)
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
// Feeds bytes from the client; calls fn for each completed line (in key
// mode, each key). In key mode a chunk that is whole lines and nothing else
// (a MUD client's input box, a client that never left line mode, a paste)
// is taken as those lines: "n\r\n" is the key n, not n and then Enter.
void telnet_feed(Telnet *t, const uint8_t *in, size_t n, TelnetLineFn fn, void *ud);
// Key mode on or off now, as the input comes (the connection saw an
// input_mode event that a line caused); what is half typed or half read
// belongs to the other mode and goes. No change, nothing lost.
void telnet_set_keys(Telnet *t, bool on);
// The line just handed to the line callback caused the session's events
// [from, to). When the first of them shown is that user's own chat line
// (MSG_LINE), it replaces the typed line on screen instead of following it.
void telnet_caused(Telnet *t, uint64_t from, uint64_t to);
// Queues IAC NOP in t->out: a keepalive probe the client ignores (RFC 854).
void telnet_nop(Telnet *t);
// Whether this terminal gets ANSI colour under the configured mode.
bool telnet_color(const Telnet *t, ColorMode mode);
// The character set the terminal's type implies (a PC ANSI terminal:
// SyncTERM, "ANSI", "ANSI-BBS": CP437), or TN_CS_UNKNOWN.
TnCharset telnet_type_charset(const char *term);
// What the terminal has told of itself so far (type, size, colours,
// charset), as the model's port keeps it for the scripts (s.terminal).
// told: every question asked was answered or refused (TERMINAL-TYPE, NAWS,
// CHARSET), so the first screen can be drawn for it.
void telnet_terminal(const Telnet *t, ColorMode mode, PortTerminal *out);

// Rendering a batch of events: begin clears the input line the user sees,
// render adds one event, end puts the prompt and typed text back.
void telnet_render_begin(Telnet *t, Buf *out, bool color);
void telnet_render(Telnet *t, Buf *out, const char *text, size_t len, uint32_t msg_flags, bool color);
// The same for the event at seq of the session (see telnet_caused).
void telnet_render_at(Telnet *t, Buf *out, uint64_t seq, const char *text, size_t len, uint32_t msg_flags, bool color);
void telnet_render_end(Telnet *t, Buf *out, bool color);
