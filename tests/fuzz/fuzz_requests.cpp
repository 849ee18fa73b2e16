// libFuzzer: the WebSocket request handler with the real Lua scripts behind
// it. Each input is one client message to a fresh session (half the time a
// logged-in one in chat, so chat command parsing is fuzzed too). Nothing may
// crash, leak, or trip a sanitizer.
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/accounts.h"
#include "board/db.h"
#include "base/config.h"
#include "net/conn.h"
#include "base/log.h"
#include "script/host.h"
#include "net/requests.h"
#include "model/session.h"
#include "board/store.h"
#include "net/transport.h"
#include "board/lifecycle.h"
#include "board/login.h"
#include "wire.h"

static uv_loop_t g_loop;

static void setup(void) {
    if (sodium_init() < 0) abort();
    config_defaults(&g_cfg);
    const char *scripts = getenv("PARTYLINE_SCRIPTS");
    snprintf(g_cfg.scripts_dir, sizeof g_cfg.scripts_dir, "%s", scripts ? scripts : "lua");
    g_cfg.rate_per_s = 0;
    g_cfg.registration = false;        // no password hashing on a loop nobody runs
    g_cfg.slow_policy = SLOW_SKIP;
    g_cfg.login_attempts = 1;
    log_set_level(LOG_ERROR);
    uv_loop_init(&g_loop);
    wire_up();
    lifecycle_init(&g_loop);
    char err[1024];
    char dir[] = "/tmp/pl-fuzz-XXXXXX";
    if (!mkdtemp(dir) || db_open("", dir, err, sizeof err)) abort(); // SQLite in a fresh data_dir, as main.cpp opens it
    db_start(&g_loop);
    accounts_open();
    store_start(&g_loop);
    if (script_init(&g_loop, err, sizeof err)) {
        fprintf(stderr, "scripts: %s\n", err);
        abort();
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready = (setup(), true);
    (void)ready;
    Conn c;
    memset(&c, 0, sizeof c);
    c.port.kind = PORT_WEB;
    c.port.id = port_next_id();
    c.live = true;
    snprintf(c.port.addr, sizeof c.port.addr, "127.0.0.1");
    conn_start_session(&c, NULL, false, NULL, 0); // one process: started at once
    Session *s = c.port.session;
    if (!s) return 0;
    s->login_failures = 1; // every login is throttled at once: no work for the thread pool
    if (size && (data[0] & 1)) {
        login_complete(s, 0, "fuzzer", false, 0);
        session_input(s, 0, "c", 1);
    }
    requests_handle(&c, (const char *)data, size);
    if (c.port.session) {
        Session *t = c.port.session;
        session_end(t);
        session_detach(t, &c.port);
    }
    return 0;
}
