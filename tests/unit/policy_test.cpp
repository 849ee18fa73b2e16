// Handle and password policy (issue 9.15) and address ban patterns (9.2).
#include <stdlib.h>
#include <unistd.h>
#include <string>

#include "board/addrban.h"
#include "check.h"
#include "base/config.h"
#include "board/policy.h"

static std::string skel(const char *h) {
    char out[32];
    policy_skeleton(h, out, sizeof out);
    return out;
}

TEST(skeletons_fold_case_and_ascii_look_alikes) {
    CHECK(skel("Bill") == "blll");
    CHECK(skel("B1LL") == skel("bill"));
    CHECK(skel("BiIl") == skel("bill"));
    CHECK(skel("R00T") == skel("root"));
    CHECK(skel("arnold") == skel("amold"));
    CHECK(skel("vvendy") == skel("wendy"));
    CHECK(skel("bob_1") != skel("bob-1")); // _ and - stay apart
    CHECK(skel("ann") != skel("anne"));
}

TEST(handles_need_a_letter_and_skip_reserved_and_sysop_names) {
    config_defaults(&g_cfg);
    snprintf(g_cfg.sysops, sizeof g_cfg.sysops, "root1, Gina");
    CHECK_STR(policy_handle_problem("--", false), "bad_handle");
    CHECK_STR(policy_handle_problem("__", false), "bad_handle");
    CHECK_STR(policy_handle_problem("42", false), "bad_handle");
    CHECK_STR(policy_handle_problem("x", false), "bad_handle");
    CHECK_STR(policy_handle_problem("ADM1N", false), "handle_reserved");
    CHECK_STR(policy_handle_problem("new", false), "handle_reserved");
    CHECK_STR(policy_handle_problem("r00tl", false), "handle_taken"); // a configured sysop, folded
    CHECK_STR(policy_handle_problem("gina", false), "handle_taken");
    CHECK(policy_handle_problem("x-1", false) == NULL);
    CHECK(policy_handle_problem("root1", true) == NULL); // the operator's tool may
    CHECK(policy_handle_problem("sysop", true) == NULL);
    CHECK_STR(policy_handle_problem("--", true), "bad_handle");
    config_defaults(&g_cfg);
}

TEST(passwords_follow_nist_800_63b) {
    config_defaults(&g_cfg);
    char err[128];
    CHECK(policy_load_passwords("", err, sizeof err) == 0); // no list: the other rules still hold
    CHECK_STR(policy_password_problem("al", "        "), "repetitive");
    CHECK_STR(policy_password_problem("al", "\xc5\xbc\xc3\xb3\xc5\x82w123"), "too_short"); // 7 characters, 10 bytes
    CHECK(policy_password_problem("al", "\xc5\xbc\xc3\xb3\xc5\x82w1234") == NULL);
    CHECK_STR(policy_password_problem("al", "abababab"), "repetitive");
    CHECK_STR(policy_password_problem("al", "98765432"), "sequential");
    CHECK_STR(policy_password_problem("alice", "ALICE2024!"), "context");
    CHECK_STR(policy_password_problem("al", "partyline99"), "context");
    CHECK(policy_password_problem("al", "correct horse battery staple") == NULL);
    std::string big(PASSWORD_MAX + 1, 'x');
    big[1] = 'y';
    CHECK_STR(policy_password_problem("al", big.c_str()), "too_long");
    char path[] = "/tmp/pl-pw-XXXXXX";
    int fd = mkstemp(path);
    const char list[] = "#!comment: a test list\nDragon\nsunshine\nqwertyuiop\n";
    CHECK(write(fd, list, sizeof list - 1) == (ssize_t)(sizeof list - 1));
    close(fd);
    CHECK(policy_load_passwords(path, err, sizeof err) == 3);
    CHECK_STR(policy_password_problem("al", "SunShine"), "common");
    CHECK_STR(policy_password_problem("al", "dragon2024!!"), "common"); // a derivative
    CHECK(policy_password_problem("al", "dragonfly-2024") == NULL);
    CHECK(policy_load_passwords("/nonexistent/list", err, sizeof err) < 0);
    unlink(path);
    policy_free();
}

TEST(address_bans_match_exactly_or_by_prefix_and_ipv4_mapped) {
    AddrBan bans[] = {{"10.1.2.*", 0}, {"192.0.2.7", 0}, {"2001:DB8:*", 0}, {"198.51.100.1", 1000}, {"*", 0}, {"bad!", 0}};
    CHECK(addrban_set(bans, 6) == 4); // a lone * and a malformed pattern are left out
    CHECK(addrban_match("10.1.2.99", 500));
    CHECK(addrban_match("::ffff:10.1.2.3", 500));
    CHECK(!addrban_match("10.1.20.3", 500));
    CHECK(addrban_match("192.0.2.7", 500) && !addrban_match("192.0.2.70", 500));
    CHECK(addrban_match("2001:db8::1", 500));
    CHECK(addrban_match("198.51.100.1", 999) && !addrban_match("198.51.100.1", 1000)); // ran out
    CHECK(!addrban_match("127.0.0.1", 500));
    CHECK(addr_same("::ffff:127.0.0.1", "127.0.0.1") && !addr_same("127.0.0.1", "127.0.0.2"));
    CHECK(addrban_set(NULL, 0) == 0 && !addrban_match("10.1.2.99", 500));
    addrban_free();
}
