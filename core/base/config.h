// Server configuration: every value has a default, so no file is needed.
#pragma once
#include <stddef.h>

// Names that would pass for the system itself or its staff, or that the
// prompts use as words ("new"); look-alikes of them are reserved too.
#define CONFIG_RESERVED_DEFAULT                                                                                      \
    "sysop,admin,administrator,root,new,guest,system,server,operator,moderator,mod,staff,support,help,info,all,"     \
    "everyone,nobody,anonymous,partyline,postmaster,webmaster,hostmaster,abuse,security"

enum SlowPolicy { SLOW_DISCONNECT, SLOW_SKIP };
enum ColorMode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct Config {
    char name[64];          // server name shown in `hello`
    char bind[256];         // addresses to listen on, comma-separated; empty = every address
    int ws_port;            // HTTP + WebSocket
    int telnet_port;
    char data_dir[512];     // SQLite database lives here
    char scripts_dir[512];  // Lua scripts, hot-reloaded
    char www_dir[512];      // static web client
    int grace_s;            // detached sessions live this long
    int max_frame;          // bytes in one WebSocket message
    int max_line;           // bytes in one input line
    int queue_max;          // events held per session for slow readers and resume
    int queue_soft;         // a reader this far behind skips typing and room chatter (0 = queue_max/2)
    SlowPolicy slow_policy; // what happens when a reader falls queue_max behind
    char sysops[512];       // comma-separated handles with sysop rights
    char reserved_handles[1024]; // handles (and their look-alikes) nobody may register
    char password_list[512];     // common passwords refused (one a line); empty = none
    int password_min;            // characters in a password, at least
    bool registration;      // new users may register
    ColorMode telnet_color;
    int login_attempts;     // failed logins a session may make before `throttled`
    unsigned long pwhash_ops;
    size_t pwhash_mem;      // bytes
    int hash_threads;       // password hashing threads; 0 = one per CPU
    char log_level[16];
    bool log_json;          // JSON lines (default) or plain text
    char log_file[512];     // empty = stderr
    char jwt_secret[256];   // HS256 key for tokens; empty = off; "auto" = a random key kept in data_dir
    bool require_token;     // WebSocket connections must bring a valid token
    int token_ttl_s;        // lifetime of the tokens the server issues
    int rate_per_s;         // input messages per second per connection (token bucket; 0 = off)
    int rate_burst;         // bucket size
    int flood_max;          // dropped messages in a row before the connection is closed (what cannot wait)
    int flood_bytes;        // input waiting for the rate limit before the connection is closed as flooding
    int max_conns_per_addr; // 0 = no limit
    int http_conn_max_s;    // lifetime of a connection that is not a session (HTTP)
    char metrics_allow[256]; // addresses and ranges that may read /metrics
    int login_timeout_s;    // close sessions that have not logged in by then (0 = never)
    int idle_timeout_s;     // log off users idle this long (0 = never); sysops are exempt
    int idle_warn_s;        // warn this long before the idle timeout
    int login_slow_after;   // failures per handle/address before answers slow down
    int login_lockout_after;// failures per handle/address in the window before a lockout
    int login_lockout_s;
    int login_window_s;
    int register_per_hour;  // new accounts per address per hour (0 = no limit)
    // quotas the scripts apply (read with pl.config)
    int rooms_per_hour;     // new rooms one user may open in an hour (0 = no limit)
    int history_rooms_max;  // rooms whose history is kept
    int history_expire_s;   // an empty room's history goes this long after its last line (0 = never)
    int mail_max_bytes;     // one mail message
    int mailbox_max;        // messages one user's mailbox holds
    int mailbox_max_kb;     // bytes one user's mailbox holds
    int script_budget_ms;   // longest one script call may run
    int script_memory_mb;   // cap on the Lua state's memory
};

extern Config g_cfg;

void config_defaults(Config *c);
// Returns 0, or -1 with a message in err (file:line: why).
int config_load_file(Config *c, const char *path, char *err, size_t errlen);
int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen);
// Reads a value by key as text (for scripts); returns false for unknown keys.
bool config_get(const Config *c, const char *key, char *out, size_t outlen);
bool config_is_sysop(const Config *c, const char *handle);
