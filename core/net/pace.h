// Input pacing ("fake lag", as IRC servers do it): input faster than the rate
// limit is not dropped but waits in its connection's queue and is handled at
// the rate, in order, so a paste arrives whole, only slower. The queue is
// bounded in bytes (flood_bytes): past it the client is flooding and is
// closed (1008) with a lingering close, so the close frame and the reason
// reach it. One mechanism for both transports.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct Conn;

enum PaceKind { PACE_JSON = 1, PACE_BINARY = 2, PACE_LINE = 3 };
enum RateVerdict { RATE_OK, RATE_DROP, RATE_FLOOD };

// One complete input message from c: a WebSocket text or binary message, or
// a telnet line. Handled now when nothing waits before it and the rate
// allows; else queued. Returns -1 when c went over its budget and is being
// closed for flooding (the caller reads on and discards).
int pace_input(Conn *c, PaceKind kind, const char *data, size_t len);
// A pong frame (the server sends no pings, so each is unasked for): it
// costs the client a message of its rate; one that floods them is closed.
void pace_pong(Conn *c);
// c's session has started: the input that came meanwhile is handled now.
void pace_resume(Conn *c);
// c is closing or closed: its waiting input goes.
void pace_forget(Conn *c);
void pace_init(uv_loop_t *loop);
void pace_stop(void);
