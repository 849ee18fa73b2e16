// The telnet engine byte for byte: negotiation, line editing, rendering.
#include <string>

#include "check.h"
#include "model/msg.h"
#include "net/telnet.h"

struct Lines {
    std::string all[16];
    int n = 0;
};

static void on_line(void *ud, const char *line, size_t len) {
    Lines *l = (Lines *)ud;
    if (l->n < 16) l->all[l->n++] = std::string(line, len);
}

static void feed(Telnet *t, const std::string &s, Lines *l) {
    telnet_feed(t, (const uint8_t *)s.data(), s.size(), on_line, l);
}

static std::string out(Telnet *t) {
    std::string s(t->out.p ? t->out.p : "", t->out.len);
    t->out.len = 0;
    return s;
}

static const std::string IAC = "\xff";

TEST(offers_echo_sga_naws_ttype_charset_on_connect) {
    Telnet t;
    telnet_init(&t, 256);
    std::string o = out(&t);
    CHECK(o == "\xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f\xff\xfd\x18\xff\xfb\x2a");
    telnet_free(&t);
}

TEST(the_keepalive_probe_is_iac_nop_and_a_clients_nop_is_no_input) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    telnet_nop(&t);
    CHECK(out(&t) == IAC + "\xf1");
    Lines l; // clients send NOPs as their own keepalive: they are not typed text
    feed(&t, "ab" + IAC + "\xf1" + "c\r\n", &l);
    CHECK(l.n == 1 && l.all[0] == "abc");
    CHECK(out(&t).empty());
    telnet_free(&t);
}

TEST(accepts_do_echo_and_refuses_unknown_options_once) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    Lines l;
    feed(&t, IAC + "\xfd\x01", &l); // DO ECHO: agreed, no reply
    CHECK(t.echo);
    CHECK(out(&t).empty());
    feed(&t, IAC + "\xfd\x05", &l); // DO STATUS: WONT
    CHECK(out(&t) == IAC + "\xfc\x05");
    feed(&t, IAC + "\xfb\x22", &l); // WILL LINEMODE: DONT
    CHECK(out(&t) == IAC + "\xfe\x22");
    feed(&t, IAC + "\xfc\x22" + IAC + "\xfe\x05", &l); // WONT/DONT: never answered
    CHECK(out(&t).empty());
    feed(&t, IAC + "\xfe\x01", &l); // DONT ECHO
    CHECK(!t.echo);
    telnet_free(&t);
}

TEST(every_option_is_answered_once_per_state_change_rfc1143) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    Lines l;
    // an option we never do, asked for a thousand times: refused once
    std::string many;
    for (int i = 0; i < 1000; i++) many += IAC + "\xfd\x63"; // DO 99
    feed(&t, many, &l);
    CHECK(out(&t) == IAC + "\xfc\x63");
    many.clear();
    for (int i = 0; i < 1000; i++) many += IAC + "\xfb\x63"; // WILL 99
    feed(&t, many, &l);
    CHECK(out(&t) == IAC + "\xfe\x63");
    // the same for every option number, each on its own
    for (int opt = 0; opt < 256; opt++) {
        if (opt == TN_OPT_ECHO || opt == TN_OPT_SGA || opt == TN_OPT_NAWS || opt == TN_OPT_TTYPE || opt == TN_OPT_CHARSET) continue;
        std::string ask = IAC + "\xfd" + std::string(1, (char)opt);
        feed(&t, ask + ask + ask, &l);
        std::string o = out(&t);
        CHECK(opt == 99 ? o.empty() : o == IAC + "\xfc" + std::string(1, (char)opt));
    }
    // our own offers: the client's agreement is not answered, repeats are ignored
    feed(&t, IAC + "\xfd\x01" + IAC + "\xfd\x01" + IAC + "\xfb\x1f" + IAC + "\xfb\x1f", &l);
    CHECK(out(&t).empty());
    CHECK(t.echo);
    // a client turning ECHO off and on: one answer per change, none for repeats
    feed(&t, IAC + "\xfe\x01" + IAC + "\xfe\x01", &l); // DONT ECHO twice
    CHECK(out(&t) == IAC + "\xfc\x01");
    CHECK(!t.echo);
    feed(&t, IAC + "\xfd\x01" + IAC + "\xfd\x01", &l); // DO ECHO twice
    CHECK(out(&t) == IAC + "\xfb\x01");
    CHECK(t.echo);
    // the client stops NAWS it agreed to: acknowledged once
    feed(&t, IAC + "\xfc\x1f" + IAC + "\xfc\x1f", &l);
    CHECK(out(&t) == IAC + "\xfe\x1f");
    // and offers it again: accepted (we want it), once
    feed(&t, IAC + "\xfb\x1f" + IAC + "\xfb\x1f", &l);
    CHECK(out(&t) == IAC + "\xfd\x1f");
    telnet_free(&t);
}

TEST(a_refused_offer_is_not_answered) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    Lines l;
    // WONT / DONT to our offers end them without a reply, and no echo follows
    feed(&t, IAC + "\xfe\x01" + IAC + "\xfe\x03" + IAC + "\xfc\x1f" + IAC + "\xfc\x18", &l);
    CHECK(out(&t).empty());
    CHECK(!t.echo && !t.sga);
    feed(&t, "typed", &l);
    CHECK(out(&t).empty());
    // a client that changes its mind about TTYPE later is asked for it then
    feed(&t, IAC + "\xfb\x18", &l);
    CHECK(out(&t) == IAC + "\xfd\x18" + IAC + "\xfa\x18\x01" + IAC + "\xf0");
    telnet_free(&t);
}

TEST(terminal_type_is_asked_once_and_read) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    Lines l;
    feed(&t, IAC + "\xfb\x18", &l);
    CHECK(out(&t) == IAC + "\xfa\x18\x01" + IAC + "\xf0");
    feed(&t, IAC + "\xfb\x18", &l);
    CHECK(out(&t).empty());
    feed(&t, IAC + "\xfa\x18" + std::string("\0", 1) + "XTERM-256COLOR" + IAC + "\xf0", &l);
    CHECK_STR(t.term, "XTERM-256COLOR");
    CHECK(telnet_color(&t, COLOR_AUTO));
    CHECK(!telnet_color(&t, COLOR_NEVER));
    feed(&t, IAC + "\xfa\x18" + std::string("\0", 1) + "dumb" + IAC + "\xf0", &l);
    CHECK(!telnet_color(&t, COLOR_AUTO));
    CHECK(telnet_color(&t, COLOR_ALWAYS));
    telnet_free(&t);
}

TEST(naws_sets_width_and_ignores_nonsense) {
    Telnet t;
    telnet_init(&t, 256);
    Lines l;
    feed(&t, IAC + "\xfa\x1f" + std::string("\0\x64\0\x20", 4) + IAC + "\xf0", &l);
    CHECK(t.width == 100 && t.height == 32);
    feed(&t, IAC + "\xfa\x1f" + std::string("\0\0\0\0", 4) + IAC + "\xf0", &l);
    CHECK(t.width == 80);
    // a width of 255 arrives as IAC IAC inside the subnegotiation
    feed(&t, IAC + "\xfa\x1f" + std::string("\0", 1) + IAC + IAC + std::string("\0\x18", 2) + IAC + "\xf0", &l);
    CHECK(t.width == 255);
    telnet_free(&t);
}

TEST(line_ends_crlf_crnul_and_lf) {
    Telnet t;
    telnet_init(&t, 256);
    Lines l;
    feed(&t, std::string("one\r\ntwo\r\0three\nfour\r", 21), &l);
    feed(&t, "\nfive\r\n", &l);
    CHECK(l.n == 5);
    CHECK(l.all[0] == "one" && l.all[1] == "two" && l.all[2] == "three" && l.all[3] == "four" && l.all[4] == "five");
    telnet_free(&t);
}

TEST(editing_keys) {
    Telnet t;
    telnet_init(&t, 256);
    Lines l;
    feed(&t, "abc\x08\x7f" "d\r\n", &l);
    feed(&t, "gone\x15kept\r\n", &l);
    feed(&t, "one two  \x17three\r\n", &l);
    feed(&t, "\x17\x08\x15ok\r\n", &l); // editing an empty line is harmless
    feed(&t, "\xc3\xa9t\xc3\xa9\x08\x08x\r\n", &l);
    CHECK(l.n == 5);
    CHECK(l.all[0] == "ad");
    CHECK(l.all[1] == "kept");
    CHECK(l.all[2] == "one three");
    CHECK(l.all[3] == "ok");
    CHECK(l.all[4] == "\xc3\xa9x");
    telnet_free(&t);
}

TEST(echo_only_when_agreed_and_never_for_secrets) {
    Telnet t;
    telnet_init(&t, 256);
    out(&t);
    Lines l;
    feed(&t, "ab", &l);
    CHECK(out(&t).empty());
    feed(&t, IAC + "\xfd\x01", &l);
    feed(&t, "c\x08", &l);
    CHECK(out(&t) == "c\b \b");
    Buf b = {};
    telnet_render(&t, &b, "Password: ", 10, MSG_PROMPT | MSG_SECRET, false);
    CHECK(t.secret);
    feed(&t, "hunter2\r\n", &l);
    CHECK(out(&t) == "\r\n"); // the line end, never the password
    CHECK(!t.secret);
    buf_free(&b);
    telnet_free(&t);
}

TEST(backspace_over_stray_continuation_bytes_terminates) {
    // found by fuzz_telnet: a line of only continuation bytes used to hang the loop
    Telnet t;
    telnet_init(&t, 64);
    Lines l;
    feed(&t, "\x80\x80\x08\x08\x08ok\x80\x15" "done\r\n", &l);
    CHECK(l.n == 1);
    CHECK(l.all[0] == "done");
    telnet_free(&t);
}

TEST(escape_sequences_and_line_length_limit) {
    Telnet t;
    telnet_init(&t, 8);
    Lines l;
    feed(&t, "a\x1b[Ab\x1bOPc\r\n", &l);
    feed(&t, "0123456789abc\r\n", &l);
    CHECK(l.n == 2);
    CHECK(l.all[0] == "abc");
    CHECK(l.all[1] == "01234567");
    telnet_free(&t);
}

static std::string render(Telnet *t, const char *text, uint32_t flags, bool color) {
    Buf b = {};
    telnet_render(t, &b, text, strlen(text), flags, color);
    std::string s(b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

TEST(render_crlf_wrap_and_colour) {
    Telnet t;
    telnet_init(&t, 256);
    t.width = 20;
    CHECK(render(&t, "a\nb", 0, false) == "a\r\nb\r\n");
    CHECK(render(&t, "the quick brown fox jumps over", 0, false) == "the quick brown fox\r\njumps over\r\n");
    CHECK(render(&t, "abcdefghijklmnopqrstuvwxyz", 0, false) == "abcdefghijklmnopqrst\r\nuvwxyz\r\n");
    CHECK(render(&t, "\x1b[96m<al>\x1b[0m hi", 0, false) == "<al> hi\r\n");
    CHECK(render(&t, "\x1b[96m<al>\x1b[0m hi", 0, true) == "\x1b[96m<al>\x1b[0m hi\r\n");
    // colour codes take no columns when wrapping
    CHECK(render(&t, "\x1b[31m12345678901234567890\x1b[0m", 0, true) == "\x1b[31m12345678901234567890\x1b[0m\r\n");
    CHECK(render(&t, "Name: ", MSG_PROMPT, false) == "Name: ");
    CHECK(render(&t, "", MSG_BELL, false) == "\a");
    CHECK(render(&t, "hidden", MSG_SILENT, false).empty());
    telnet_free(&t);
}

TEST(output_while_typing_redraws_prompt_and_input) {
    Telnet t;
    telnet_init(&t, 256);
    Lines l;
    feed(&t, IAC + "\xfd\x01", &l);
    Buf b = {};
    telnet_render_begin(&t, &b, false);
    telnet_render(&t, &b, "Say: ", 5, MSG_PROMPT, false);
    telnet_render_end(&t, &b, false);
    feed(&t, "hel", &l);
    out(&t);
    b.len = 0;
    telnet_render_begin(&t, &b, false);
    telnet_render(&t, &b, "news", 4, 0, false);
    telnet_render_end(&t, &b, false);
    CHECK(std::string(b.p, b.len) == "\r        \rnews\r\nSay: hel");
    b.len = 0;
    telnet_render_begin(&t, &b, true);
    telnet_render(&t, &b, "more", 4, 0, true);
    telnet_render_end(&t, &b, true);
    CHECK(std::string(b.p, b.len) == "\r\x1b[Kmore\r\nSay: hel");
    buf_free(&b);
    telnet_free(&t);
}

TEST(key_mode_hands_on_each_key_by_name_unechoed) {
    Telnet t;
    telnet_init(&t, 256);
    Lines neg;
    feed(&t, IAC + "\xfd\x01", &neg); // DO ECHO: we echo in line mode
    out(&t);
    Buf b = {};
    telnet_render(&t, &b, "", 0, MSG_SILENT | MSG_KEYS, false); // the scripts' input_mode "key"
    Lines l;
    feed(&t, "h\r\n\xc3\xa9\x1b[A\x1b[5~\x7f\t\x1bq", &l);
    CHECK(l.n == 9);
    CHECK(l.all[0] == "h" && l.all[1] == "" && l.all[2] == "\xc3\xa9" && l.all[3] == "up");
    CHECK(l.all[4] == "pageup" && l.all[5] == "backspace" && l.all[6] == "tab" && l.all[7] == "escape");
    CHECK(l.all[8] == "q"); // the key after a lone Escape is a key of its own
    CHECK(out(&t).empty()); // nothing echoed
    Lines e;
    feed(&t, "\x1b", &e); // Escape pressed alone: a read of one ESC
    CHECK(e.n == 1 && e.all[0] == "escape");
    feed(&t, "\x1b[B", &e); // and the next key is read as it should be
    CHECK(e.n == 2 && e.all[1] == "down");
    telnet_render(&t, &b, "", 0, MSG_SILENT | MSG_LINES, false);
    Lines m;
    feed(&t, "ab\r\n", &m);
    CHECK(m.n == 1 && m.all[0] == "ab");
    buf_free(&b);
    telnet_free(&t);
}

TEST(plain_terminal_for_ssh_negotiates_nothing_and_takes_its_size_from_outside) {
    Telnet t;
    CHECK(telnet_init_plain(&t, 256, true) == 0);
    CHECK(out(&t).empty()); // no offers: SSH has no telnet options
    Lines l;
    // IAC DO ECHO is not a command here: nothing is answered or switched
    feed(&t, "a" + IAC + "\xfd\x01" + "b\r\n", &l);
    CHECK(t.echo && t.state == 0);
    std::string o = out(&t); // (what was typed is echoed; no WILL or WONT answers it)
    CHECK(o.find(IAC + "\xfb") == std::string::npos && o.find(IAC + "\xfc") == std::string::npos);
    CHECK(l.n == 1 && l.all[0].find('a') == 0 && l.all[0].back() == 'b');
    PortTerminal pt = {};
    telnet_set_terminal(&t, "xterm-256color\x01", 100, 40); // (a control in TERM is dropped)
    telnet_terminal(&t, COLOR_AUTO, &pt);
    CHECK(std::string(pt.type) == "xterm-256color" && pt.cols == 100 && pt.rows == 40 && pt.colors == 256 && pt.told);
    telnet_set_terminal(&t, NULL, 5, 0); // a window change: the type stays; nonsense sizes as NAWS's
    telnet_terminal(&t, COLOR_AUTO, &pt);
    CHECK(std::string(pt.type) == "xterm-256color" && pt.cols == 80 && pt.rows == 24);
    Telnet q; // no pty (ssh -T): the type unknown, and said so at once
    CHECK(telnet_init_plain(&q, 256, false) == 0);
    telnet_terminal(&q, COLOR_AUTO, &pt);
    CHECK(pt.told && pt.colors == 0 && !q.echo);
    telnet_free(&q);
    telnet_free(&t);
}
