// An event, encoded once and shared by every recipient (reference counted).
//
// The JSON is stored without its opening brace: each recipient's bytes are
// `{"seq":N,` followed by this body, because seq is per session while the
// body is the same for a whole room.
#pragma once
#include <stddef.h>
#include <stdint.h>

enum MsgFlags {
    MSG_SILENT = 1,  // nothing to show on a terminal (hello, auth, typing)
    MSG_PROMPT = 2,  // text is a prompt: no line end after it
    MSG_SECRET = 4,  // prompt whose answer must not be echoed
    MSG_BELL = 8,    // ring the terminal bell
    MSG_TYPING = 16, // only for connections that opted in to typing events
    MSG_CHATTER = 32, // room chatter (say, action, join, leave): a slow reader may skip it
    MSG_SPY = 64,     // a copy for a sysop watching another node: never copied again
    MSG_AUTH = 128,   // `auth` as the stream holds it: without the token (session_send_auth)
    MSG_KEYS = 256,   // `input_mode` "key": from here on a terminal sends each key as it is pressed
    MSG_LINES = 512,  // `input_mode` "line": back to lines, edited before they are sent
    MSG_LINE = 1024,  // a line someone said (chat say, action, direct; not history): on a terminal the
                      // sender's own takes the place of what they typed (net/telnet_render.cpp)
    MSG_PRESENCE = 2048, // `presence` (model/roster): only for connections that asked for it
};

// 32 bytes before the body: an idle session holds a handful of these.
struct Msg {
    uint32_t refs;
    uint32_t target;   // id of the one connection it is for; 0 = every connection
    uint32_t json_len; // body bytes, from after '{' through the final '}'
    uint32_t flags;
    char *text;        // the event's "text" once decoded: its length (uint32_t), then the bytes, NUL
    uint64_t born_ns;  // when it was made (uv_hrtime), for the fan-out latency
    char data[];       // body, NUL
};

Msg *msg_new(const char *body, size_t body_len, uint32_t flags);
static inline const char *msg_json(const Msg *m) { return m->data; }
// The event's "text" field, for terminals. Only telnet connections need it,
// so it is decoded from the JSON when first asked for and kept: a session
// held by WebSocket alone never stores its events' text twice.
const char *msg_text(Msg *m, uint32_t *len);
// The event parsed back from its shared body (the caller deletes it), or
// NULL when out of memory: for the rare reader that needs its fields.
struct cJSON;
cJSON *msg_parse(const Msg *m);
static inline void msg_ref(Msg *m) { m->refs++; }
void msg_unref(Msg *m);
