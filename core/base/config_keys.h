// Every configuration key, once. The Config struct, its defaults, the parser
// (config_set), config_get and the key list of `partyline --help` are all
// made from this table, so a key cannot be added to one and forgotten in
// another. etc/partyline.conf and README.md describe each key at length; a
// test (tests/integration/config.test.js) holds both to this list.
//
// One line per key, in the order --help prints them:
//   STR(key, size, default, check, help)  text; check is NULL or a function in
//                                         base/config.cpp that refuses bad values
//   SECRET(key, size, default, help)      text that config_get never hands to scripts
//   INT(key, default, min, max, help)     an int from min to max
//   ULONG(key, default, min, max, help)   the same, kept as unsigned long
//   KIB(key, field, default, min, max, help)  KiB in the file, bytes (size_t) in `field`
//   BOOL(key, default, help)              yes/no (also true/false, on/off, 1/0, open/closed)
//   ENUM(key, type, default, values, help)  values: the names of type's values, in
//                                         the enum's order, separated by '|'
// Help is one line for operators: what the key does, not its allowed values
// (--help adds those from the columns).
#pragma once

// Names that would pass for the system itself or its staff, or that the
// prompts use as words ("new"); look-alikes of them are reserved too.
#define CONFIG_RESERVED_DEFAULT                                                                                      \
    "sysop,admin,administrator,root,new,guest,system,server,operator,moderator,mod,staff,support,help,info,all,"     \
    "everyone,nobody,anonymous,partyline,postmaster,webmaster,hostmaster,abuse,security"

// Addresses and ranges trusted_proxies may list (a CDN publishes a few dozen).
#define CONFIG_PROXIES_MAX 64

// clang-format off
#define CONFIG_KEYS(STR, SECRET, INT, ULONG, KIB, BOOL, ENUM) \
    STR(name, 64, "partyline", NULL, "the board's name, sent in `hello` and shown in the banner") \
    STR(bind, 256, "", NULL, "addresses or host names to listen on, comma-separated; empty or * = every address") \
    INT(ws_port, 8080, 0, 65535, "HTTP and WebSocket port: web client, /ws, /healthz, /metrics (0 = any free port)") \
    INT(telnet_port, 2323, 0, 65535, "telnet port (0 = any free port)") \
    STR(tls_cert, 512, "", NULL, "PEM certificate file (its chain after it) for HTTPS and wss:// on ws_port; empty = no TLS") \
    STR(tls_key, 512, "", NULL, "PEM private key file of tls_cert; both are read again on SIGHUP") \
    INT(telnet_tls_port, 0, 0, 65535, "telnet over TLS port, with the same certificate (0 = off)") \
    INT(http_redirect_port, 0, 0, 65535, "plain HTTP port that only redirects to HTTPS on ws_port (0 = off)") \
    BOOL(telnet_ws, true, "telnet over WebSocket at /telnet on ws_port, for web terminals (xterm.js, fTelnet, VTX)") \
    STR(telnet_ws_origins, 1024, "", check_origins, "web pages (origins) besides the board's own that may open /telnet; * = any") \
    INT(ssh_port, 2222, 0, 65535, "SSH port: users log in with their handle and password, or as new to register (0 = off)") \
    STR(ssh_host_key, 512, "", NULL, "the SSH host key (an OpenSSH private key file); empty = data_dir/ssh_host_ed25519_key, made on first start") \
    STR(trusted_proxies, 1024, "", check_proxies, "reverse proxies (addresses, CIDR ranges) trusted to name the client; empty = none") \
    ENUM(forwarded_header, ForwardedHeader, FWD_X_FORWARDED_FOR, "x-forwarded-for|forwarded", "the header a trusted proxy names the client in on HTTP and WebSocket") \
    STR(data_dir, 512, "var", NULL, "directory of the SQLite database and the token key") \
    STR(store, 512, "", check_store, "where accounts, mail, history and script tables live: empty or sqlite = data_dir/partyline.db; a postgresql:// URI = that database") \
    STR(scripts_dir, 512, "lua", NULL, "the Lua scripts (changes are picked up live)") \
    STR(www_dir, 512, "etc/www", NULL, "the web client's static files") \
    STR(art_dir, 512, "etc/art", NULL, "ANSI art the scripts show (pl.art): NAME.ans files, CP437 with SAUCE records") \
    INT(grace_s, 60, 0, 86400, "seconds a web session waits for its client to come back (`resume`); telnet sessions end at hang-up") \
    INT(max_frame, 64 * 1024, 256, 16 * 1024 * 1024, "largest WebSocket message in bytes (bigger: close 1009)") \
    INT(max_line, 1024, 16, 65536, "longest input line in bytes (telnet, `input`)") \
    INT(queue_max, 256, 8, 1 << 20, "events held per session for slow readers and `resume`") \
    INT(queue_soft, 0, 0, 1 << 20, "a reader this far behind skips typing and room chatter (0 = queue_max/2)") \
    ENUM(slow_policy, SlowPolicy, SLOW_DISCONNECT, "disconnect|skip", "what happens to a reader queue_max events behind (close 4008, or it misses the oldest)") \
    INT(presence_ms, 500, 50, 10000, "milliseconds over which who-and-where changes are gathered into one `presence` event for the pages that asked") \
    STR(sysops, 512, "", NULL, "handles with sysop rights, comma-separated (only the operator can create them)") \
    BOOL(registration, true, "whether new users may register") \
    STR(reserved_handles, 1024, CONFIG_RESERVED_DEFAULT, NULL, "handles nobody may register, nor their look-alikes") \
    INT(password_min, 8, 8, 64, "characters (not bytes) a password needs at least") \
    STR(password_list, 512, "/usr/share/john/password.lst", NULL, "file of common passwords refused, one a line; empty = none") \
    ENUM(telnet_color, ColorMode, COLOR_AUTO, "auto|always|never", "ANSI colour on telnet (auto: by terminal type)") \
    INT(login_attempts, 5, 1, 1000, "failed logins a session may make before `throttled`") \
    ULONG(pwhash_ops, crypto_pwhash_OPSLIMIT_INTERACTIVE, 1, 100, "argon2id passes per password hash") \
    KIB(pwhash_mem_kb, pwhash_mem, crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024, 8, 4 * 1024 * 1024, "argon2id memory per password hash, in KiB") \
    INT(hash_threads, 0, 0, 64, "threads hashing passwords at the lowest priority (0 = one per CPU)") \
    ENUM(log_level, LogLevel, LOG_INFO, "debug|info|warn|error", "the least important log lines written") \
    BOOL(log_json, true, "one JSON object per log line (no: plain text)") \
    STR(log_file, 512, "", NULL, "file the log is appended to; empty = stderr") \
    SECRET(jwt_secret, 256, "auto", "HS256 key for tokens; auto = a random key kept in data_dir/jwt.key; empty = no tokens") \
    BOOL(require_token, false, "refuse WebSocket connections that bring no valid token (close 1008)") \
    INT(token_ttl_s, 7 * 86400, 60, 365 * 86400, "lifetime of the tokens the server issues, in seconds") \
    INT(rate_per_s, 10, 0, 100000, "input messages per second per connection; faster input waits (0 = no limit)") \
    INT(rate_burst, 30, 1, 100000, "input messages a connection may send at once (the token bucket's size)") \
    INT(flood_bytes, 32768, 1024, 16 * 1024 * 1024, "bytes of input waiting for the rate before the connection is closed as flooding") \
    INT(flood_max, 60, 1, 100000, "messages over the rate that cannot wait, dropped in a row before the connection is closed") \
    INT(max_conns_per_addr, 32, 0, 1000000, "open connections from one address, HTTP included (0 = no limit)") \
    INT(http_conn_max_s, 60, 1, 86400, "seconds an HTTP (non-session) connection may stay open") \
    INT(ping_s, 30, 0, 3600, "seconds of silence before a connection is probed (ping, telnet NOP); no answer in as long again drops it (0 = off)") \
    STR(metrics_allow, 256, "127.0.0.0/8, ::1", check_ranges, "addresses and ranges (CIDR) that may read /metrics; * = all, empty = none") \
    INT(login_timeout_s, 120, 0, 86400, "seconds a session may take to log in before it is closed (0 = never)") \
    INT(idle_timeout_s, 3600, 0, 7 * 86400, "seconds idle before a user is logged off (0 = never; sysops exempt)") \
    INT(idle_warn_s, 60, 0, 86400, "seconds before the idle timeout that the user is warned") \
    INT(login_slow_after, 3, 0, 1000, "failed logins per handle or address before answers slow down") \
    INT(login_lockout_after, 10, 1, 1000, "failed logins per handle or address in login_window_s before a lockout") \
    INT(login_lockout_s, 300, 1, 7 * 86400, "seconds a lockout lasts") \
    INT(login_window_s, 900, 1, 7 * 86400, "seconds over which failed logins are counted") \
    INT(register_per_hour, 3, 0, 100000, "new accounts one address may register per hour (0 = no limit)") \
    INT(rooms_per_hour, 10, 0, 100000, "new rooms one user may open per hour (0 = no limit; lobby and sysops exempt)") \
    INT(history_rooms_max, 500, 1, 1000000, "rooms whose history is kept") \
    INT(history_expire_s, 30 * 86400, 0, 10 * 365 * 86400, "seconds an empty room's history lasts after its last line (0 = for ever)") \
    INT(mail_max_bytes, 16384, 256, 1 << 20, "largest mail message in bytes") \
    INT(mailbox_max, 200, 1, 1000000, "messages one user's mailbox holds") \
    INT(mailbox_max_kb, 1024, 16, 1 << 20, "KiB one user's mailbox holds") \
    INT(script_budget_ms, 100, 1, 60000, "milliseconds one call into the scripts may run before it is stopped") \
    INT(script_memory_mb, 256, 8, 65536, "memory cap in MiB for the Lua state") \
    STR(redis, 256, "", NULL, "Redis (host:port or redis://host:port) shared by the processes of one board; empty = one process on its own") \
    STR(redis_prefix, 64, "partyline:", NULL, "prefix of this board's Redis keys and bus channel (boards sharing one Redis differ here)") \
    INT(cluster_dead_s, 10, 2, 600, "seconds a process may be silent on the bus before it counts as gone and its users leave")
// clang-format on
