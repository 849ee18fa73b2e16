// Text cleaning, rooms and configuration.
#include <stdlib.h>
#include <unistd.h>
#include <string>

#include "check.h"
#include "base/config.h"
#include "board/login.h"
#include "model/up.h"
#include "model/up_stub.h"
#include "model/room.h"
#include "model/session.h"
#include "base/text.h"

static std::string clean(const std::string &in) {
    char out[256];
    size_t n = text_sanitize(in.data(), in.size(), out, sizeof out);
    return std::string(out, n);
}

// text_visible_run: what is left of text with its escape sequences dropped
static std::string visible(const std::string &in) {
    std::string out;
    for (size_t at = 0, len; const char *run = text_visible_run(in.data(), in.size(), &at, &len);) out.append(run, len);
    return out;
}

TEST(visible_runs_skip_escape_sequences) {
    CHECK(visible("plain") == "plain");
    CHECK(visible("\x1b[1;31mred\x1b[0m and \x1b[7mreverse") == "red and reverse");
    CHECK(visible("\x1b[2J\x1b[H") == "");
    CHECK(visible("a\x1b" "7b\x1b") == "ab"); // a two-byte escape, and a lone ESC at the end
    CHECK(visible("") == "");
}

TEST(sanitize_removes_controls_and_fixes_utf8) {
    CHECK(clean("plain text") == "plain text");
    CHECK(clean("a\x1b[2Jb") == "a[2Jb");
    CHECK(clean("bell\x07\x07!") == "bell!");
    CHECK(clean("tab\there") == "tab here");
    CHECK(clean("c1\xc2\x9b" "31m") == "c131m");
    CHECK(clean("del\x7f!") == "del!");
    CHECK(clean("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(clean("bad\xff!") == "bad\xef\xbf\xbd!");
    CHECK(clean("overlong\xc0\xaf!") == "overlong\xef\xbf\xbd\xef\xbf\xbd!");
    CHECK(clean("surrogate\xed\xa0\x80!") == "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
    CHECK(clean(std::string("nul\0inside", 10)) == "nulinside");
}

TEST(sanitize_never_overflows) {
    char out[8];
    size_t n = text_sanitize("\xff\xff\xff\xff\xff", 5, out, sizeof out);
    CHECK(n <= 7);
    CHECK(out[n] == 0);
}

static std::string repair(const std::string &in) {
    std::string out(in.size() * 3 + 1, '\0');
    size_t n = text_utf8_repair(in.data(), in.size(), &out[0]);
    return out.substr(0, n);
}

TEST(utf8_validity_and_repair) {
    const std::string ok = "plain caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 and \x1b[1m controls \xc2\x9b kept";
    CHECK(text_utf8_valid(ok.data(), ok.size()) == ok.size());
    CHECK(repair(ok) == ok);
    CHECK(text_utf8_valid("abcdefghij\xff", 11) == 10);
    CHECK(text_utf8_valid("abc\xc3", 4) == 3);
    // one U+FFFD per maximal invalid subpart, as browsers decode it
    CHECK(repair("\xff\xe9") == "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(repair("cut \xe2\x82") == "cut \xef\xbf\xbd");
    CHECK(repair("cut \xf0\x9f\x98 x") == "cut \xef\xbf\xbd x");
    CHECK(repair("overlong \xc0\xaf") == "overlong \xef\xbf\xbd\xef\xbf\xbd");
    CHECK(repair("\xe0\x80\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(repair("surrogate \xed\xa0\x80") == "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(repair("too big \xf4\x90\x80\x80") == "too big \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(repair("lone \x80 cont") == "lone \xef\xbf\xbd cont");
    std::string fixed = repair("\xc3(\xa9\xe2\x82(\xf0\x9f");
    CHECK(text_utf8_valid(fixed.data(), fixed.size()) == fixed.size());
}

TEST(utf8_cut_keeps_characters_whole) {
    CHECK(text_utf8_cut("abc", 3, 10) == 3);
    CHECK(text_utf8_cut("ab\xc3\xa9", 4, 3) == 2);
    CHECK(text_utf8_cut("ab\xc3\xa9", 4, 2) == 2);
    CHECK(text_utf8_cut("a\xf0\x9f\x98\x80" "b", 6, 4) == 1);
    CHECK(text_utf8_cut("a\xf0\x9f\x98\x80" "b", 6, 5) == 5);
}

TEST(columns_skip_escapes_and_count_characters) {
    CHECK(text_columns("abc", 3) == 3);
    CHECK(text_columns("\x1b[31mab\x1b[0m", 11) == 2);
    CHECK(text_columns("caf\xc3\xa9", 5) == 4);
}

TEST(columns_know_wide_and_combining_characters) {
    CHECK(text_columns("\xe6\x97\xa5\xe6\x9c\xac", 6) == 4);         // two CJK characters
    CHECK(text_columns("e\xcc\x81", 3) == 1);                          // e + combining acute
    CHECK(text_columns("\xf0\x9f\x98\x80!", 5) == 3);                 // an emoji, then one
    CHECK(text_columns("\xff", 1) == 1);                                // an invalid byte: one mark
    size_t cols;
    CHECK(text_cut_columns("\xe6\x97\xa5\xe6\x9c\xac", 6, 3, &cols) == 3 && cols == 2); // never half a wide one
    CHECK(text_cut_columns("ae\xcc\x81x", 5, 2, &cols) == 4 && cols == 2); // the mark stays with its letter
    CHECK(text_cut_columns("\x1b[31mabc", 8, 2, &cols) == 7 && cols == 2);
}

TEST(random_ids_are_url_safe_and_distinct) {
    char a[23], b[23];
    text_random_id(a);
    text_random_id(b);
    CHECK(strlen(a) == 22);
    CHECK(strcmp(a, b) != 0);
    for (const char *p = a; *p; p++) CHECK((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
}

TEST(room_names_are_case_insensitive_and_checked) {
    char out[ROOM_NAME_MAX + 1];
    CHECK(room_name_normalize("Lobby", out));
    CHECK_STR(out, "lobby");
    CHECK(room_name_normalize("a.b-c_9", out));
    CHECK(!room_name_normalize("", out));
    CHECK(!room_name_normalize("has space", out));
    CHECK(!room_name_normalize("1234567890123456789012345", out));
}

TEST(rooms_join_leave_and_membership) {
    Session a = {}, b = {}, c = {};
    CHECK(room_join(&a, "Lobby") != NULL);
    CHECK(room_join(&b, "LOBBY") == a.room);
    CHECK(room_join(&c, "games") != NULL);
    CHECK(room_total() == 2);
    CHECK(room_find("lobby")->count == 2);
    room_join(&a, "games"); // moving leaves the old room
    CHECK(room_find("lobby")->count == 1);
    CHECK(room_find("games")->count == 2);
    CHECK(room_find("games")->members[a.room_slot] == &a);
    CHECK(room_find("games")->members[c.room_slot] == &c);
    room_leave(&b); // the last member out removes the room
    CHECK(room_find("lobby") == NULL);
    CHECK(room_total() == 1);
    CHECK(room_join(&b, "bad name") == NULL);
    CHECK(b.room == NULL);
    room_leave(&a);
    room_leave(&c);
    CHECK(room_total() == 0);
}

TEST(config_keys_defaults_and_errors) {
    Config c;
    config_defaults(&c);
    CHECK(c.ws_port == 8080 && c.telnet_port == 2323 && c.grace_s == 60 && c.max_frame == 65536);
    char err[256];
    CHECK(config_set(&c, "ws_port", "9000", err, sizeof err) == 0 && c.ws_port == 9000);
    CHECK(config_set(&c, "ws_port", "99999", err, sizeof err) < 0);
    CHECK(config_set(&c, "no_such_key", "1", err, sizeof err) < 0);
    CHECK(config_set(&c, "registration", "no", err, sizeof err) == 0 && !c.registration);
    CHECK(config_set(&c, "slow_policy", "skip", err, sizeof err) == 0 && c.slow_policy == SLOW_SKIP);
    CHECK(config_set(&c, "slow_policy", "panic", err, sizeof err) < 0);
    CHECK(config_set(&c, "sysops", "Alice, bob", err, sizeof err) == 0);
    CHECK(config_is_sysop(&c, "alice") && config_is_sysop(&c, "BOB") && !config_is_sysop(&c, "al"));
    char v[64];
    CHECK(config_get(&c, "registration", v, sizeof v));
    CHECK_STR(v, "no");
}

TEST(config_file_reports_file_and_line) {
    char path[] = "/tmp/pl-conf-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "# comment\nname = test board  # trailing\n\nws_port = nope\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    Config c;
    config_defaults(&c);
    char err[512];
    CHECK(config_load_file(&c, path, err, sizeof err) < 0);
    CHECK_STR(c.name, "test board");
    CHECK(strstr(err, ":4:") != NULL);
    unlink(path);
}

// Every key's default, written out as config_get spells it, reads back as
// the same value, and setting every key so gives exactly the defaults: the
// table in config_keys.h leaves no field without a key and no default its
// own parser refuses.
TEST(config_every_default_reads_back_as_itself) {
#define NAME_(key, ...) #key,
    static const char *keys[] = {CONFIG_KEYS(NAME_, NAME_, NAME_, NAME_, NAME_, NAME_, NAME_)};
#undef NAME_
    Config d, c;
    config_defaults(&d);
    memset(&c, 0, sizeof c);
    char v[1100], again[1100], err[300];
    int secrets = 0;
    for (const char *k : keys) {
        if (!config_get(&d, k, v, sizeof v)) {
            secrets++; // not for scripts: set it as the default says
            CHECK_STR(k, "jwt_secret");
            snprintf(v, sizeof v, "%s", d.jwt_secret);
        }
        if (config_set(&c, k, v, err, sizeof err)) {
            printf("  %s = %s: %s\n", k, v, err);
            CHECK(!"a default its own key refuses");
        }
        if (config_get(&c, k, again, sizeof again)) CHECK_STR(again, v);
    }
    CHECK(secrets == 1);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
}

// Names become the enums the code reads; anything else is refused with the
// key's name and leaves the value as it was (log_level used to turn any
// unknown word into info).
TEST(config_enums_take_their_names_and_refuse_the_rest) {
    Config c;
    config_defaults(&c);
    char err[300], v[32];
    const char *levels[] = {"debug", "info", "warn", "error"};
    const LogLevel want[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    for (int i = 0; i < 4; i++) {
        CHECK(config_set(&c, "log_level", levels[i], err, sizeof err) == 0 && c.log_level == want[i]);
        CHECK(config_get(&c, "log_level", v, sizeof v));
        CHECK_STR(v, levels[i]);
    }
    CHECK(config_set(&c, "log_level", "WARN", err, sizeof err) == 0 && c.log_level == LOG_WARN);
    CHECK(config_set(&c, "log_level", "verbose", err, sizeof err) < 0);
    CHECK(strstr(err, "log_level") && strstr(err, "verbose") && strstr(err, "debug|info|warn|error"));
    CHECK(c.log_level == LOG_WARN);
    CHECK(config_set(&c, "log_level", "", err, sizeof err) < 0);
    CHECK(config_set(&c, "log_level", "info ", err, sizeof err) < 0);
    CHECK(config_set(&c, "telnet_color", "always", err, sizeof err) == 0 && c.telnet_color == COLOR_ALWAYS);
    CHECK(config_set(&c, "telnet_color", "never", err, sizeof err) == 0 && c.telnet_color == COLOR_NEVER);
    CHECK(config_set(&c, "telnet_color", "auto", err, sizeof err) == 0 && c.telnet_color == COLOR_AUTO);
    CHECK(config_set(&c, "telnet_color", "yes", err, sizeof err) < 0 && strstr(err, "telnet_color"));
    CHECK(config_set(&c, "slow_policy", "disconnect", err, sizeof err) == 0 && c.slow_policy == SLOW_DISCONNECT);
    CHECK(config_set(&c, "slow_policy", "skip", err, sizeof err) == 0 && c.slow_policy == SLOW_SKIP);
    CHECK(config_set(&c, "log_json", "maybe", err, sizeof err) < 0 && strstr(err, "log_json"));
    CHECK(config_set(&c, "pwhash_mem_kb", "8192", err, sizeof err) == 0 && c.pwhash_mem == 8192 * 1024);
    CHECK(config_set(&c, "grace_s", "30s", err, sizeof err) < 0 && strstr(err, "grace_s"));
}

// A line longer than any buffer (a long comment) is one line: its tail is
// not read as a line of its own.
TEST(config_file_reads_long_lines_whole) {
    char path[] = "/tmp/pl-conf-XXXXXX";
    int fd = mkstemp(path);
    std::string text = "# " + std::string(3000, 'x') + " a = b\nname = long\nreserved_handles = " +
                       std::string(1100, 'y') + "\n";
    CHECK(write(fd, text.data(), text.size()) == (ssize_t)text.size());
    close(fd);
    Config c;
    config_defaults(&c);
    char err[512];
    CHECK(config_load_file(&c, path, err, sizeof err) < 0);
    CHECK_STR(c.name, "long");
    CHECK(strstr(err, ":3:") && strstr(err, "reserved_handles") && strstr(err, "too long"));
    unlink(path);
}

// A connection that leaves a session before writing its `auth` (detached, or
// resumed into another session) gives back the token copy it was handed: the
// copy belongs to that attachment (make fuzz found the leak through here).
TEST(detach_releases_the_unwritten_token) {
    up_stub_install();
    char secret[sizeof g_cfg.jwt_secret];
    memcpy(secret, g_cfg.jwt_secret, sizeof secret);
    snprintf(g_cfg.jwt_secret, sizeof g_cfg.jwt_secret, "0123456789abcdef0123456789abcdef");
    Session *s = session_new();
    Port p = {};
    p.kind = PORT_WEB;
    p.id = port_next_id();
    session_attach(s, &p, 1);
    snprintf(s->handle, sizeof s->handle, "alice");
    login_send_auth(s, 0);
    CHECK(p.own != NULL);
    Msg *held = p.own;
    msg_ref(held);
    session_detach(s, &p);
    CHECK(p.own == NULL);
    CHECK(held->refs == 1); // only ours is left
    msg_unref(held);
    memcpy(g_cfg.jwt_secret, secret, sizeof secret);
    session_end(s);
}

// Session fixation (issue 9.9): at login the id changes, every connection but
// the one that logged in is let go, and what the others typed ahead during
// the password check is dropped rather than run as the user.
TEST(login_rotates_the_id_and_lets_the_other_connections_go) {
    up_stub_install();
    Session *s = session_new();
    Port mine = {}, fixer = {};
    mine.kind = fixer.kind = PORT_WEB;
    mine.id = port_next_id();
    fixer.id = port_next_id();
    session_attach(s, &fixer, 1);
    session_attach(s, &mine, 1);
    char before[sizeof s->resume_id];
    memcpy(before, s->resume_id, sizeof before);
    s->auth_busy = true;
    session_input(s, fixer.id, "/msg bob from the fixer", 23);
    session_input(s, mine.id, "c", 1);
    s->auth_busy = false;
    login_complete(s, 7, "alice", false, mine.id);
    CHECK(strcmp(s->resume_id, before) != 0);
    CHECK(s->nports == 1 && s->ports == &mine && fixer.session == NULL);
    CHECK(g_uplog.closed == 1 && g_uplog.close_code == CLOSE_SESSION_MOVED);
    CHECK(s->typeahead.len == 2 * sizeof(uint32_t) + 1); // only "c" from the login connection
    session_detach(s, &mine);
    session_end(s);
}
