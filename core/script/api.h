// What the files of the script layer share: the host's services for the
// pl.* bindings (api_*.cpp, events.cpp, timers.cpp, convert.cpp, bots.cpp,
// faults.cpp), and each binding's registration call.
//
// A generation (host.cpp) is one load of the scripts: a table holding the
// `pl` the scripts see, the listeners of its events and, while it loads, the
// file being loaded. Every core function of a generation has that table as
// its first upvalue, so pl.on and pl.emit of a generation being loaded never
// touch the running one.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

#include <lua.hpp>

struct Session;

// ---------------------------------------------------------------- host.cpp

// The Lua state (NULL before script_init and after script_close).
lua_State *host_state(void);
// Pushes the running generation's table, or nil before the first load.
void host_push_generation(lua_State *l);
// Pushes the running generation's pl, or nil.
void host_push_pl(lua_State *l);
// Replaces the table on top of the stack with a guard in front of it: the
// table's own names (a core function) cannot be assigned (an error names
// "<prefix>.<name>"); any other name goes to the guard. Reads see both.
void host_protect(lua_State *l, const char *prefix);
// Pushes hooks[name] of the running generation; false (nothing pushed)
// when there is none (hooks.cpp).
bool host_push_hook(lua_State *l, const char *name);
// Runs fn(ud) in protected mode and logs its error with what. The host's
// own pushing (a session's table, a hook's string argument, a generation)
// can run out of script memory like anything else, and outside a protected
// call that is a Lua panic, which aborts the server. Returns 0, or -1.
int host_protected(lua_CFunction fn, void *ud, const char *what);
// Whether an error message is the storage's (pl.db: unavailable), which is
// no script's fault: the user hears "try again later", nothing is counted.
bool host_storage_error(const char *msg);

// ---------------------------------------------------------------- faults.cpp

struct Fault {
    const char *what; // for the log: "in hook 'input'", "in a timer", "in a listener of 'login'"
    const char *msg;  // the error, with its traceback
    const char *file; // the file to blame, or NULL: fn's file, else the one the message starts with
    Session *s;       // the session concerned, or NULL
    int fn;           // stack index of the function that failed, or 0: its faults are counted
};
// A script failed: counted for /metrics against the file to blame, logged
// (with s's node and address), held against fn, and told to the `fault`
// listeners of the generation at stack index gen (0: the running one).
// Returns true when this fault put fn out of service (FAULT_LIMIT faults
// within a minute; host_disabled says so from then on).
bool host_fault(lua_State *l, int gen, const Fault *f);
// Whether the function at stack index fn is out of service in generation gen.
bool host_disabled(lua_State *l, int gen, int fn);

// ---------------------------------------------------------------- api_session.cpp

// The session behind a session table, or NULL (not one, or it has ended).
Session *api_to_session(lua_State *l, int idx);
// As api_to_session, raising an error unless idx holds a table.
Session *api_check_session(lua_State *l, int idx);
void api_push_session(lua_State *l, Session *s);
// The next live session logged in as h (any case) on a node after *node;
// start with *node = 0.
Session *api_next_of_handle(const char *h, uint32_t *node);
// Makes the session tables' metatable and owner map (once, at start).
void api_session_init(lua_State *L);

// ---------------------------------------------------------------- registration

// Each adds its pl.* functions to the core table on top of the stack, with
// the generation table just below it as their first upvalue, and leaves the
// stack as it found it.
void api_session_register(lua_State *l); // send, logoff, find, sessions, ignore...
void api_room_register(lua_State *l);    // join, leave, members, rooms, publish, broadcast
void api_account_register(lua_State *l); // login, register, passwords, accounts, bans
void api_board_register(lua_State *l);   // config, log, now, reload, spy, server, api
void api_events_register(lua_State *l);  // on, emit (events.cpp)
void api_timers_register(lua_State *l);  // after, every, cancel (timers.cpp)
void api_db_register(lua_State *l);      // pl.db (api_db.cpp)
void api_convert_register(lua_State *l); // pl.array, the JSON array marker (convert.cpp)
void api_faults_register(lua_State *l);  // pl.fault (faults.cpp)
void api_text_register(lua_State *l);    // pl.text: width, strip, fit, wrap (api_text.cpp)
void api_bots_register(lua_State *l);    // pl.bot (bots.cpp)
void api_time_register(lua_State *l);    // pl.format_time, pl.parse_time, pl.valid_zone (api_time.cpp)
void api_term_register(lua_State *l);    // pl.charset, pl.art_text (api_term.cpp)
// Lets go of the pictures api_term.cpp keeps (at script_close).
void api_term_close(void);
