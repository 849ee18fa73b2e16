// Which handles may be registered and which passwords are accepted: the one
// place that decides, for the `register` message, the prompts (through
// pl.check_handle / pl.check_password) and `partyline user`.
#pragma once
#include <stddef.h>

#define PASSWORD_MAX 1024 // bytes; longer ones are refused, not cut

// The look-alike "skeleton" of a handle: lowercase, with 0 read as o, 1 and i
// as l, rn as m and vv as w. Two handles with one skeleton count as one
// (accounts stores it, unique). out needs HANDLE_MAX + 1 bytes.
void policy_skeleton(const char *handle, char *out, size_t outlen);

// Why handle may not be registered, without looking at the accounts: NULL
// when it may; "bad_handle" (the format, or no letter at all); "handle_taken"
// (a handle the configuration's sysops names, or its look-alike: refused like
// a taken one, so nobody learns which it is); "handle_reserved" (the
// configuration's reserved_handles, look-alikes included, or a bot's that
// is on: policy_bot_handle). operator_made
// skips the last two: the operator creates such accounts with `partyline user`.
const char *policy_handle_problem(const char *handle, bool operator_made);
// Whether a bot the scripts made (script/bots.cpp) is on under handle or a
// look-alike: nobody registers it, nor logs in as it by a token.
bool policy_bot_handle(const char *handle);

// Why password is refused for handle (NIST SP 800-63B: length and a
// blocklist, no composition rules), or NULL: "too_short" (under password_min
// characters, counted as characters, not bytes), "too_long" (over
// PASSWORD_MAX bytes), "repetitive" ("aaaaaaaa", "abcabcab"), "sequential"
// ("12345678", "hgfedcba"), "context" (the handle or the server's name, with
// or without digits and punctuation at the end), "common" (on the common
// password list, likewise).
const char *policy_password_problem(const char *handle, const char *password);

// Loads the common-password list (password_list; one a line, lines starting
// "#!comment:" skipped). Empty path: no list. Returns the count, or -1 with
// err set when the file cannot be read (the other rules still apply).
int policy_load_passwords(const char *path, char *err, size_t errlen);
void policy_free(void);
