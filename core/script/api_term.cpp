// Terminals for scripts, beyond s.terminal (api_session.cpp): the
// character set a user's terminal is written in (pl.charset: CP437 or
// UTF-8, the user's choice over what the terminal said), and ANSI art from
// art_dir (pl.art_text: base/ansiart.h plays the file into lines of
// colour and text, which every transport shows). Keeps a few pictures
// read, each until its file changes.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lua.hpp>

#include "base/ansiart.h"
#include "base/config.h"
#include "base/cp437.h"
#include "model/session.h"
#include "script/api.h"
#include "script/sandbox.h"

#define ART_FILE_MAX (1u << 20) // bytes of a .ans file: a long scroller is 100 KB
#define ART_NAME_MAX 64
#define ART_CACHED 8

// pl.charset(s[, name]): the character set of s's terminal: "cp437" or
// "utf-8" to choose one, "auto" (or nil) for what the terminal says.
// Returns the set in force. The web page is UTF-8 whatever is chosen.
static int l_charset(lua_State *l) {
    Session *s = api_check_session(l, 1);
    int pick = -1; // unchanged
    if (!lua_isnoneornil(l, 2)) {
        const char *name = luaL_checkstring(l, 2);
        if (!strcmp(name, "auto")) pick = 0;
        else if (!strcasecmp(name, "utf-8") || !strcasecmp(name, "utf8")) pick = PORT_UTF8;
        else if (!strcasecmp(name, "cp437") || !strcasecmp(name, "ibm437")) pick = PORT_CP437;
        else return luaL_argerror(l, 2, "a character set is \"utf-8\", \"cp437\" or \"auto\"");
        if (pick == PORT_CP437 && !cp437_ready()) pick = PORT_UTF8; // the C library cannot: UTF-8 it stays
    }
    if (!s || s->proc) { // ended, or another process's (its own process applies its choice at login)
        lua_pushnil(l);
        return 1;
    }
    const Port *shown = NULL;
    for (Port *p = s->ports; p; p = p->next) {
        if (pick >= 0) p->term.charset_pick = (uint8_t)pick;
        if (!shown || p->id == s->input_port) shown = p;
    }
    lua_pushstring(l, shown ? port_charset_name(port_charset(shown)) : "utf-8");
    return 1;
}

struct Art {
    char name[ART_NAME_MAX + 1];
    struct timespec mtime;
    off_t size;
    char *text;
    size_t len;
    ArtInfo info;
    uint64_t used;
};
static Art g_art[ART_CACHED];
static uint64_t g_art_clock;

static bool art_name_ok(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > ART_NAME_MAX) return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

// The picture called name, read again when its file changed; NULL with a
// reason ("not_found", "too_big", "unreadable").
static const Art *art_get(const char *name, const char **why) {
    char path[sizeof g_cfg.art_dir + ART_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/%s.ans", g_cfg.art_dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = errno == EACCES ? "unreadable" : "not_found";
        return NULL;
    }
    if ((size_t)st.st_size > ART_FILE_MAX) {
        *why = "too_big";
        return NULL;
    }
    Art *slot = &g_art[0];
    for (Art *a = g_art; a < g_art + ART_CACHED; a++) {
        if (a->text && !strcmp(a->name, name)) {
            if (a->size == st.st_size && a->mtime.tv_sec == st.st_mtim.tv_sec && a->mtime.tv_nsec == st.st_mtim.tv_nsec) {
                a->used = ++g_art_clock;
                return a;
            }
            slot = a; // changed: read again into its own place
            break;
        }
        if (!a->text || a->used < slot->used) slot = a;
    }
    FILE *f = fopen(path, "rb");
    uint8_t *data = (uint8_t *)malloc((size_t)st.st_size + 1);
    size_t n = f && data ? fread(data, 1, (size_t)st.st_size, f) : 0;
    if (f) fclose(f);
    if (!f || !data || (n == 0 && st.st_size > 0)) {
        free(data);
        *why = "unreadable";
        return NULL;
    }
    ArtInfo info;
    size_t len = 0;
    char *text = ansiart_render(data, n, &info, &len);
    free(data);
    if (!text) {
        *why = "unreadable";
        return NULL;
    }
    free(slot->text);
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->mtime = st.st_mtim;
    slot->size = st.st_size;
    slot->text = text;
    slot->len = len;
    slot->info = info;
    slot->used = ++g_art_clock;
    return slot;
}

// pl.art_text(name): the picture art_dir/name.ans as text (lines of UTF-8
// with colour codes) and what its SAUCE record says ({title, author,
// group, width, rows}); or nil and why: "bad_name" (only letters, digits,
// _ and -), "not_found", "too_big" (over 1 MiB), "unreadable".
static int l_art_text(lua_State *l) {
    const char *name = luaL_checkstring(l, 1);
    const char *why = "bad_name";
    const Art *a = art_name_ok(name) ? art_get(name, &why) : NULL;
    if (!a) {
        lua_pushnil(l);
        lua_pushstring(l, why);
        return 2;
    }
    sandbox_charge(l, a->len);
    lua_pushlstring(l, a->text, a->len);
    lua_createtable(l, 0, 6);
    lua_pushstring(l, a->info.title);
    lua_setfield(l, -2, "title");
    lua_pushstring(l, a->info.author);
    lua_setfield(l, -2, "author");
    lua_pushstring(l, a->info.group);
    lua_setfield(l, -2, "group");
    lua_pushinteger(l, a->info.width);
    lua_setfield(l, -2, "width");
    lua_pushinteger(l, a->info.rows);
    lua_setfield(l, -2, "rows");
    lua_pushboolean(l, a->info.sauce);
    lua_setfield(l, -2, "sauce");
    return 2;
}

void api_term_close(void) {
    for (Art *a = g_art; a < g_art + ART_CACHED; a++) {
        free(a->text);
        a->text = NULL;
    }
}

static const luaL_Reg FUNCS[] = {
    {"charset", l_charset},
    {"art_text", l_art_text},
    {NULL, NULL},
};

void api_term_register(lua_State *l) {
    lua_pushvalue(l, -2); // gen core gen
    luaL_setfuncs(l, FUNCS, 1);
}
