// JSON Web Tokens, HS256 only (PROTOCOL.md section 3).
#pragma once
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX 1024

// How far a token's `iat` and `nbf` may lie in the future: clocks differ.
#define JWT_SKEW_S 60

// Checks token against secret at time now (seconds). On success copies the
// `sub` claim into sub, the `iat` claim in milliseconds into *iat_ms (-1 when
// it has none), sets why to NULL and returns 0; otherwise returns -1 with a
// short reason in why. Only HS256 is accepted; `exp` is required; `nbf` and
// `iat`, when present, must be numbers no later than now + JWT_SKEW_S.
int jwt_verify(const char *token, size_t len, const char *secret, int64_t now, char *sub, size_t sublen,
               int64_t *iat_ms, const char **why);
// Writes a token for sub expiring at exp (seconds) into out; returns its
// length or -1. `iat` is written with its milliseconds (a NumericDate may
// have a fraction), so a token issued just after a revocation in the same
// second is told apart from one issued before it.
int jwt_issue(const char *sub, int64_t exp, int64_t iat_ms, const char *secret, char *out, size_t outlen);
