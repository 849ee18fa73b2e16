// Rendering events as terminal text (net/telnet.h): line ends, wrapping at
// the window's width, colour kept or dropped, and the line being typed kept
// below what arrives. Text is UTF-8 here; a CP437 terminal's is encoded
// after (net/telnet_conn.cpp).
#include <string.h>

#include "base/text.h"
#include "model/msg.h"
#include "net/telnet.h"

// Copies text, dropping escape sequences when colour is off.
static void add_visible(Buf *out, const char *s, size_t n, bool color) {
    if (color) {
        buf_add(out, s, n, TN_OUT_MAX);
        return;
    }
    for (size_t at = 0, len; const char *run = text_visible_run(s, n, &at, &len);) buf_add(out, run, len, TN_OUT_MAX);
}

// One line of text (no newlines), wrapped at word boundaries to width.
static void add_wrapped(Buf *out, const char *s, size_t n, unsigned width, bool color) {
    size_t start = 0;
    while (start < n) {
        size_t cols = 0, i = start, last_space = 0;
        bool have_space = false;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            size_t esc = text_escape_len(s + i, n - i);
            if (esc) { // an escape sequence takes no columns
                i += esc;
                continue;
            }
            if ((c & 0xC0) != 0x80) {
                if (cols == width) break;
                cols++;
            }
            if (c == ' ') {
                last_space = i;
                have_space = true;
            }
            i++;
        }
        if (i >= n) {
            add_visible(out, s + start, n - start, color);
            return;
        }
        size_t cut = have_space && last_space > start ? last_space : i;
        add_visible(out, s + start, cut - start, color);
        buf_add(out, "\r\n", 2, TN_OUT_MAX);
        start = cut;
        while (start < n && s[start] == ' ') start++;
    }
}

void telnet_render_begin(Telnet *t, Buf *out, bool color) {
    t->fresh_prompt = false;
    bool on_screen = t->at_prompt || (t->len && t->echo && !t->secret && !t->keys);
    t->cleared = on_screen;
    if (!on_screen) return;
    if (color) {
        buf_adds(out, "\r\x1b[K", TN_OUT_MAX);
        return;
    }
    size_t cols = text_columns(t->prompt, t->prompt_len) + (t->secret || t->keys ? 0 : text_columns(t->line, t->len));
    buf_add(out, "\r", 1, TN_OUT_MAX);
    for (size_t i = 0; i < cols; i++) buf_add(out, " ", 1, TN_OUT_MAX);
    buf_add(out, "\r", 1, TN_OUT_MAX);
}

// The first event shown after a line that waits on screen (net/telnet.cpp,
// line_done): the user's own chat line, caused by that line, takes its
// place; anything else goes below it.
static void resolve_pending(Telnet *t, Buf *out, uint64_t seq, uint32_t flags, bool color) {
    t->pending = false;
    if (!((flags & MSG_LINE) && seq >= t->pend_from && seq < t->pend_to)) {
        buf_add(out, "\r\n", 2, TN_OUT_MAX);
        return;
    }
    if (color) {
        buf_adds(out, "\r\x1b[K", TN_OUT_MAX);
        return;
    }
    buf_add(out, "\r", 1, TN_OUT_MAX);
    for (uint32_t i = 0; i < t->pend_cols; i++) buf_add(out, " ", 1, TN_OUT_MAX);
    buf_add(out, "\r", 1, TN_OUT_MAX);
}

void telnet_render(Telnet *t, Buf *out, const char *text, size_t len, uint32_t flags, bool color) {
    telnet_render_at(t, out, UINT64_MAX, text, len, flags, color);
}

void telnet_render_at(Telnet *t, Buf *out, uint64_t seq, const char *text, size_t len, uint32_t flags, bool color) {
    if (flags & (MSG_KEYS | MSG_LINES)) telnet_set_keys(t, (flags & MSG_KEYS) != 0); // the mode changes here, in the stream's order
    if (t->pending && !(flags & MSG_SILENT) && (len || (flags & (MSG_PROMPT | MSG_BELL))))
        resolve_pending(t, out, seq, flags, color);
    if (flags & MSG_BELL) buf_add(out, "\a", 1, TN_OUT_MAX);
    if (flags & MSG_PROMPT) {
        // only the prompt's last line is redrawn after other output
        size_t from = len;
        while (from > 0 && text[from - 1] != '\n') from--;
        size_t n = len - from < TN_PROMPT_MAX ? len - from : TN_PROMPT_MAX - 1;
        memcpy(t->prompt, text + from, n);
        t->fresh_prompt = true;
        t->prompt_len = (uint32_t)n;
        t->at_prompt = true;
        t->secret = (flags & MSG_SECRET) != 0;
        add_visible(out, text, len, color);
        return;
    }
    if ((flags & MSG_SILENT) || len == 0) return;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            size_t end = i;
            if (end > start && text[end - 1] == '\r') end--;
            add_wrapped(out, text + start, end - start, t->width, color);
            buf_add(out, "\r\n", 2, TN_OUT_MAX);
            start = i + 1;
        }
    }
}

void telnet_render_end(Telnet *t, Buf *out, bool color) {
    if (!t->fresh_prompt && !t->cleared) return;
    if (!t->fresh_prompt && t->at_prompt) add_visible(out, t->prompt, t->prompt_len, color);
    if (t->len && t->echo && !t->secret && !t->keys) buf_add(out, t->line, t->len, TN_OUT_MAX);
    t->cleared = false;
    t->fresh_prompt = false;
}
