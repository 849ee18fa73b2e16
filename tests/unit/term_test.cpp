// Terminals byte for byte: telnet CHARSET (RFC 2066) and what the engine
// tells of a terminal, CP437 in and out, single keys from clients that send
// lines, the typed chat line replaced by its rendering, and ANSI art.
#include <string>

#include "base/ansiart.h"
#include "base/cp437.h"
#include "check.h"
#include "model/msg.h"
#include "net/telnet.h"

struct Got {
    std::string all[16];
    int n = 0;
};

static void got_line(void *ud, const char *line, size_t len) {
    Got *g = (Got *)ud;
    if (g->n < 16) g->all[g->n++] = std::string(line, len);
}

static void feed(Telnet *t, const std::string &s, Got *g) { telnet_feed(t, (const uint8_t *)s.data(), s.size(), got_line, g); }

static std::string take(Telnet *t) {
    std::string s(t->out.p ? t->out.p : "", t->out.len);
    t->out.len = 0;
    return s;
}

static const std::string IAC = "\xff", SB = "\xff\xfa", SE = "\xff\xf0";
static const std::string CHARSET = "\x2a";

static PortTerminal told(Telnet *t) {
    PortTerminal p = {};
    telnet_terminal(t, COLOR_AUTO, &p);
    return p;
}

TEST(charset_our_request_and_the_clients_answer) {
    cp437_init();
    Telnet t;
    telnet_init(&t, 256);
    take(&t);
    Got g;
    feed(&t, IAC + "\xfd" + CHARSET, &g); // DO CHARSET: our REQUEST follows, UTF-8 first
    CHECK(take(&t) == SB + CHARSET + "\x01;UTF-8;IBM437;CP437" + SE);
    feed(&t, IAC + "\xfd" + CHARSET, &g); // asked once only
    CHECK(take(&t).empty());
    CHECK(!told(&t).told);
    feed(&t, SB + CHARSET + "\x02IBM437" + SE, &g); // ACCEPTED IBM437
    { PortTerminal pt = told(&t); CHECK_STR(pt.charset, "cp437"); }
    telnet_free(&t);

    telnet_init(&t, 256);
    feed(&t, IAC + "\xfd" + CHARSET + SB + CHARSET + "\x02utf-8" + SE, &g);
    { PortTerminal pt = told(&t); CHECK_STR(pt.charset, "utf-8"); }
    // the terminal type says PC ANSI, but the terminal said UTF-8 itself: UTF-8
    feed(&t, IAC + "\xfb\x18" + SB + "\x18" + std::string(1, '\0') + "ANSI" + SE, &g);
    { PortTerminal pt = told(&t); CHECK_STR(pt.charset, "utf-8"); }
    telnet_free(&t);
}

TEST(charset_the_clients_own_request_is_answered_in_its_order) {
    cp437_init();
    Telnet t;
    telnet_init(&t, 256);
    take(&t);
    Got g;
    feed(&t, IAC + "\xfb" + CHARSET, &g); // WILL CHARSET: we say DO
    CHECK(take(&t) == IAC + "\xfd" + CHARSET);
    feed(&t, SB + CHARSET + "\x01 KOI8-R CP437 UTF-8" + SE, &g);
    CHECK(take(&t) == SB + CHARSET + "\x02" + "CP437" + SE);
    { PortTerminal pt = told(&t); CHECK_STR(pt.charset, "cp437"); }
    feed(&t, SB + CHARSET + "\x01" + "[TTABLE]\x01;ISO-8859-1;KOI8-R" + SE, &g); // nothing we speak
    CHECK(take(&t) == SB + CHARSET + "\x03" + SE);
    feed(&t, SB + CHARSET + "\x04\x01garbage" + SE, &g); // a table: refused
    CHECK(take(&t) == SB + CHARSET + "\x05" + SE);
    telnet_free(&t);
}

TEST(told_waits_for_type_size_and_charset_answers_or_refusals) {
    Telnet t;
    telnet_init(&t, 256);
    Got g;
    CHECK(!told(&t).told);
    feed(&t, IAC + "\xfb\x18" + SB + "\x18" + std::string(1, '\0') + "xterm" + SE, &g);
    CHECK(!told(&t).told); // the size and the charset are still to come
    feed(&t, IAC + "\xfb\x1f" + SB + "\x1f" + std::string("\x00\x64\x00\x28", 4) + SE, &g);
    CHECK(!told(&t).told);
    feed(&t, IAC + "\xfe" + CHARSET, &g); // DONT CHARSET: refused, so known
    PortTerminal p = told(&t);
    CHECK(p.told && p.cols == 100 && p.rows == 40);
    CHECK_STR(p.charset, "utf-8");
    telnet_free(&t);

    telnet_init(&t, 256); // a client that refuses everything has told all it will
    feed(&t, IAC + "\xfc\x18" + IAC + "\xfc\x1f" + IAC + "\xfe" + CHARSET, &g);
    CHECK(told(&t).told);
    telnet_free(&t);
}

TEST(pc_ansi_terminal_types_mean_cp437) {
    cp437_init();
    CHECK(telnet_type_charset("ANSI") == TN_CS_CP437);
    CHECK(telnet_type_charset("SyncTERM") == TN_CS_CP437);
    CHECK(telnet_type_charset("ansi-bbs") == TN_CS_CP437);
    CHECK(telnet_type_charset("xterm") == TN_CS_UNKNOWN);
    CHECK(telnet_type_charset("XTERM-256COLOR") == TN_CS_UNKNOWN);
    Telnet t;
    telnet_init(&t, 256);
    Got g;
    feed(&t, IAC + "\xfb\x18" + SB + "\x18" + std::string(1, '\0') + "SYNCTERM" + SE, &g);
    { PortTerminal pt = told(&t); CHECK_STR(pt.charset, "cp437"); }
    telnet_free(&t);
}

TEST(cp437_encodes_box_drawing_and_transliterates_the_rest) {
    CHECK(cp437_init());
    Buf b = {};
    std::string in = "\xe2\x94\x80\xe2\x94\x82 \xc3\xa9 \xe2\x82\xac \x1b[31mx\x1b[0m \xe2\x98\x95";
    CHECK(cp437_encode(in.data(), in.size(), &b, 1 << 20));
    CHECK(std::string(b.p, b.len) == "\xc4\xb3 \x82 EUR \x1b[31mx\x1b[0m ?");
    CHECK_STR(cp437_utf8(0xC4), "\xe2\x94\x80");
    CHECK_STR(cp437_utf8(0xDB), "\xe2\x96\x88"); // the full block
    buf_free(&b);
}

TEST(cp437_input_is_decoded_and_echoed_as_typed) {
    cp437_init();
    Telnet t;
    telnet_init(&t, 256);
    Got g;
    feed(&t, IAC + "\xfd\x01", &g); // DO ECHO
    take(&t);
    t.cp437 = true;
    feed(&t, "caf\x82\r\n", &g); // é in CP437
    CHECK(g.n == 1 && g.all[0] == "caf\xc3\xa9");
    CHECK(take(&t) == "caf\x82"); // (its line end comes with what it causes)
    feed(&t, "\x82\x08x\r\n", &g); // backspace takes the whole character
    CHECK(g.n == 2 && g.all[1] == "x");
    telnet_free(&t);
}

TEST(key_mode_takes_a_chunk_of_whole_lines_as_lines) {
    Telnet t;
    telnet_init(&t, 256);
    Got g;
    feed(&t, IAC + "\xfd\x01", &g);
    take(&t);
    telnet_set_keys(&t, true);
    feed(&t, "n\r\n", &g); // a MUD client's input box: the key n, no Enter after it
    CHECK(g.n == 1 && g.all[0] == "n");
    feed(&t, "help\r\n", &g);
    CHECK(g.n == 2 && g.all[1] == "help");
    feed(&t, "\r\n", &g); // Enter alone is the Enter key
    CHECK(g.n == 3 && g.all[2] == "");
    feed(&t, "x", &g); // a key as it is pressed
    CHECK(g.n == 4 && g.all[3] == "x");
    feed(&t, "\r", &g);
    feed(&t, "\n", &g); // the LF of a CR LF split over two reads is no second Enter
    CHECK(g.n == 5 && g.all[4] == "");
    CHECK(take(&t).empty());
    telnet_set_keys(&t, false);
    telnet_free(&t);

    telnet_init(&t, 256); // a client in line mode (it echoes itself): lines, whole
    telnet_set_keys(&t, true);
    Got h;
    feed(&t, "q", &h);
    CHECK(h.n == 0);
    feed(&t, "\r\n", &h);
    CHECK(h.n == 1 && h.all[0] == "q");
    telnet_free(&t);
}

static std::string render_at(Telnet *t, uint64_t seq, const char *text, uint32_t flags) {
    Buf b = {};
    telnet_render_begin(t, &b, true);
    telnet_render_at(t, &b, seq, text, strlen(text), flags, true);
    telnet_render_end(t, &b, true);
    std::string s(b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

TEST(the_typed_chat_line_is_replaced_by_its_rendering) {
    Telnet t;
    telnet_init(&t, 256);
    Got g;
    feed(&t, IAC + "\xfd\x01" + IAC + "\xfd\x03", &g);
    take(&t);
    feed(&t, "hello\r\n", &g);
    CHECK(take(&t) == "hello"); // no line end yet
    telnet_caused(&t, 10, 12);
    CHECK(render_at(&t, 10, "<me> hello", MSG_LINE | MSG_CHATTER) == "\r\x1b[K<me> hello\r\n");
    // a command's output follows the command instead
    feed(&t, "/who\r\n", &g);
    take(&t);
    telnet_caused(&t, 20, 21);
    CHECK(render_at(&t, 20, "Node Handle", 0) == "\r\nNode Handle\r\n");
    // someone else's line before ours: the typed line stays, on a line of its own
    feed(&t, "hi\r\n", &g);
    take(&t);
    telnet_caused(&t, 30, 31);
    CHECK(render_at(&t, 29, "<bob> yo", MSG_LINE | MSG_CHATTER) == "\r\n<bob> yo\r\n");
    // a key typed before anything came: the line end comes first
    feed(&t, "a\r\n", &g);
    take(&t);
    feed(&t, "b", &g);
    CHECK(take(&t) == "\r\nb");
    // an answer to a prompt ends its line at once, as always
    Buf b = {};
    telnet_render(&t, &b, "Name: ", 6, MSG_PROMPT, true);
    feed(&t, "\x15" "bob\r\n", &g);
    CHECK(take(&t) == "\b \bbob\r\n");
    buf_free(&b);
    telnet_free(&t);
}

TEST(ansi_art_is_played_into_lines_and_its_sauce_read_not_shown) {
    cp437_init();
    // "AB", cursor forward 3, a box corner in bright red on blue, CR LF, a
    // shade; then EOF, a comment block and the SAUCE record
    std::string art = "AB\x1b[3C\x1b[1;31;44m\xda\x1b[0m\r\n\xb0\x1a";
    std::string comnt = "COMNT" + std::string(64, ' ');
    std::string sauce = "SAUCE00" + std::string("Test piece") + std::string(25, ' ') + "artist" + std::string(14, ' ') +
                        "group" + std::string(15, ' ') + "20261204" + std::string(4, '\0') + "\x01\x01" +
                        std::string("\x28\x00", 2) + std::string(6, '\0') + "\x01" + "\x01" + std::string(22, '\0');
    CHECK(sauce.size() == 128);
    std::string file = art + comnt + sauce;
    ArtInfo info;
    size_t len = 0;
    char *text = ansiart_render((const uint8_t *)file.data(), file.size(), &info, &len);
    CHECK(text != NULL);
    std::string want = "AB   \x1b[0;1;31;44m\xe2\x94\x8c\x1b[0m\n\xe2\x96\x91";
    CHECK(std::string(text, len) == want);
    CHECK(info.sauce && info.width == 40 && info.rows == 2 && info.ice);
    CHECK_STR(info.title, "Test piece");
    CHECK_STR(info.author, "artist");
    CHECK_STR(info.group, "group");
    free(text);
    // a line as wide as the picture, then CR LF: one line, not two
    std::string wide = std::string(80, '=') + "\r\nx";
    text = ansiart_render((const uint8_t *)wide.data(), wide.size(), &info, &len);
    CHECK(info.rows == 2 && info.width == 80);
    free(text);
    // garbage never trips it
    std::string junk = "\x1b[\x1b[99999999;;;;;;;;;;;;;;;;;;;;;;;;;;;H\x1b[2J\x1b[s\x1b[999A\x1b[u\x1b[38;5m\x1b";
    text = ansiart_render((const uint8_t *)junk.data(), junk.size(), &info, &len);
    CHECK(text != NULL && len == 0);
    free(text);
}
