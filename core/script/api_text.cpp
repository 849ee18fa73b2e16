// Text as a terminal shows it, for scripts: pl.text.width (display
// columns: wide characters two, combining marks none, colour codes none),
// pl.text.strip (without escape sequences), pl.text.fit (cut or padded to
// a number of columns) and pl.text.wrap (lines of at most so many columns,
// broken between words). The measuring is base/text.cpp's, the same the
// telnet side uses. Keeps no state.
#include <string.h>

#include <lua.hpp>

#include "base/text.h"
#include "script/api.h"
#include "script/sandbox.h"

static int l_width(lua_State *l) {
    size_t n;
    const char *s = luaL_checklstring(l, 1, &n);
    sandbox_charge(l, n);
    lua_pushinteger(l, (lua_Integer)text_columns(s, n));
    return 1;
}

static int l_strip(lua_State *l) {
    size_t n;
    const char *s = luaL_checklstring(l, 1, &n);
    sandbox_charge(l, n);
    luaL_Buffer b;
    luaL_buffinit(l, &b);
    for (size_t at = 0, len; const char *run = text_visible_run(s, n, &at, &len);) luaL_addlstring(&b, run, len);
    luaL_pushresult(&b);
    return 1;
}

// Whether s[0..n) holds an escape sequence: a cut through coloured text
// must not leave the colour on for whatever follows.
static bool has_escape(const char *s, size_t n) { return memchr(s, 0x1B, n) != NULL; }

// pl.text.fit(text, cols[, pad]): text cut to at most cols columns (the
// colour reset after a cut through coloured text); with pad, spaces after
// it up to exactly cols, for columns of a table.
static int l_fit(lua_State *l) {
    size_t n, cols;
    const char *s = luaL_checklstring(l, 1, &n);
    lua_Integer max = luaL_checkinteger(l, 2);
    luaL_argcheck(l, max >= 0 && max <= 10000, 2, "0 to 10000 columns");
    bool pad = lua_toboolean(l, 3);
    sandbox_charge(l, n);
    size_t cut = text_cut_columns(s, n, (size_t)max, &cols);
    luaL_Buffer b;
    luaL_buffinit(l, &b);
    luaL_addlstring(&b, s, cut);
    if (cut < n && has_escape(s, cut)) luaL_addstring(&b, "\x1b[0m");
    for (size_t i = cols; pad && i < (size_t)max; i++) luaL_addchar(&b, ' ');
    luaL_pushresult(&b);
    return 1;
}

// pl.text.wrap(text, cols): an array of lines of at most cols columns, each
// line of text broken after the last space that fits (a word longer than a
// line is cut); the spaces at a break are dropped. An empty text is one
// empty line.
static int l_wrap(lua_State *l) {
    size_t n;
    const char *s = luaL_checklstring(l, 1, &n);
    lua_Integer width = luaL_checkinteger(l, 2);
    luaL_argcheck(l, width >= 1 && width <= 10000, 2, "1 to 10000 columns");
    sandbox_charge(l, n * 2);
    lua_newtable(l);
    int count = 0;
    size_t start = 0;
    for (;;) {
        const char *nl = (const char *)memchr(s + start, '\n', n - start);
        size_t end = nl ? (size_t)(nl - s) : n;
        size_t at = start;
        do { // one line of the text, in pieces that fit
            size_t cols, fit = at + text_cut_columns(s + at, end - at, (size_t)width, &cols);
            size_t cut = fit;
            if (fit < end) {
                size_t sp = fit;
                while (sp > at && s[sp] != ' ') sp--;
                if (sp > at) cut = sp;   // between words
                else if (fit == at) { // not even one character fits: take it anyway
                    cut = at + 1;
                    while (cut < end && ((unsigned char)s[cut] & 0xC0) == 0x80) cut++;
                }
            }
            lua_pushlstring(l, s + at, cut - at);
            lua_rawseti(l, -2, ++count);
            at = cut;
            while (at < end && s[at] == ' ' && cut < end) at++;
        } while (at < end);
        if (!nl) break;
        start = end + 1;
    }
    return 1;
}

static const luaL_Reg FUNCS[] = {
    {"width", l_width},
    {"strip", l_strip},
    {"fit", l_fit},
    {"wrap", l_wrap},
    {NULL, NULL},
};

void api_text_register(lua_State *l) {
    lua_createtable(l, 0, 4); // gen core text
    luaL_setfuncs(l, FUNCS, 0);
    host_protect(l, "pl.text");  // gen core guard
    lua_setfield(l, -2, "text"); // gen core
}
