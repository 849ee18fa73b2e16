// Building events: a cJSON object in, one shared Msg out.
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>

#include "model/msg.h"

// A new event object {"type": type}.
cJSON *event_new(const char *type);
#define EVENT_ID_MAX 32
// A new chat event id (unique over the board and its restarts).
void event_new_id(char out[EVENT_ID_MAX]);
// Encodes ev once (adding ts, and an id for chat events that have none).
// Takes ownership of ev. Returns NULL only when out of memory.
Msg *event_encode(cJSON *ev);
// Protocol error for one connection: {"type":"error","code","message","text"}.
cJSON *event_error(const char *code, const char *message);
