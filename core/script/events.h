// The scripts' events: pl.on(event, fn) and pl.emit(event, ...), and the
// `fault` event the host raises when a script fails.
#pragma once

struct lua_State;
struct Session;

// Tells the `fault` listeners of the generation at stack index gen that a
// script failed: file and line where (line 0: not known), the error's
// message, the session concerned (or NULL), and the table at stack index
// info (what failed, where it was defined, its count, whether it was put
// out of service: faults.cpp). A fault in a fault listener is logged and
// counted, not told again.
void events_fault(lua_State *l, int gen, const char *file, int line, const char *message, Session *s, int info);
