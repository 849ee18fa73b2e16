// Server configuration: every value has a default, so no file is needed.
// The keys, their types, defaults, ranges and help are one table in
// base/config_keys.h; everything here is made from it.
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "base/config_keys.h"
#include "base/log.h"

// The names of these values are in base/config_keys.h (the ENUM lines), in this order.
enum SlowPolicy { SLOW_DISCONNECT, SLOW_SKIP };
enum ColorMode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
enum ForwardedHeader { FWD_X_FORWARDED_FOR, FWD_FORWARDED };

// One field per key, named as the key (pwhash_mem_kb is pwhash_mem, in bytes).
struct Config {
#define CFG_F_STR(key, size, def, check, help) char key[size];
#define CFG_F_SECRET(key, size, def, help) char key[size];
#define CFG_F_INT(key, def, lo, hi, help) int key;
#define CFG_F_ULONG(key, def, lo, hi, help) unsigned long key;
#define CFG_F_KIB(key, field, def, lo, hi, help) size_t field;
#define CFG_F_BOOL(key, def, help) bool key;
#define CFG_F_ENUM(key, type, def, values, help) type key;
    CONFIG_KEYS(CFG_F_STR, CFG_F_SECRET, CFG_F_INT, CFG_F_ULONG, CFG_F_KIB, CFG_F_BOOL, CFG_F_ENUM)
#undef CFG_F_STR
#undef CFG_F_SECRET
#undef CFG_F_INT
#undef CFG_F_ULONG
#undef CFG_F_KIB
#undef CFG_F_BOOL
#undef CFG_F_ENUM
};

extern Config g_cfg;

void config_defaults(Config *c);
// Returns 0, or -1 with a message in err (file:line: why).
int config_load_file(Config *c, const char *path, char *err, size_t errlen);
// Sets one key from its text. Refuses (with the key's name in err) an
// unknown key, a number out of range, a word that is not one of the key's.
int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen);
// Reads a value by key as text (for scripts); false for unknown keys and secrets.
bool config_get(const Config *c, const char *key, char *out, size_t outlen);
bool config_is_sysop(const Config *c, const char *handle);
// Every key with its default, what values it takes and what it does: the
// list `partyline --help` ends with. Each key starts a line "  key = default".
void config_print_keys(FILE *f);
