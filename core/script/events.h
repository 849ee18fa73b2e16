// The scripts' events: pl.on(event, fn) and pl.emit(event, ...), and the
// `fault` event the host raises when a script fails.
#pragma once

struct lua_State;
struct Session;

// Tells the `fault` listeners of the generation at stack index gen (0: the
// running one) that a script failed: file and line where (line 0: not
// known), the error's message, and the session concerned (or NULL). A fault
// in a fault listener is logged and counted, not told again.
void events_fault(lua_State *l, int gen, const char *file, int line, const char *message, Session *s);
