// The layers above the model, for tests of the model alone: every call the
// model makes upward (model/up.h) is recorded here instead.
#pragma once
#include <stdint.h>

struct Port;
struct Session;

struct UpLog {
    int delivered, closed, dropped, detached, attached, ended, hooks;
    uint16_t close_code;
    bool can_return; // of the last detached call
    const Port *last_port;
    const Session *last_session;
    char last_hook[32];
};

extern UpLog g_uplog;
// Installs the recording calls and clears the log.
void up_stub_install(void);
