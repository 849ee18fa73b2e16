// JSON Web Tokens, HS256 only (PROTOCOL.md section 3).
#pragma once
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX 1024

// Checks token against secret at time now (seconds). On success copies the
// `sub` claim into sub, sets why to NULL and returns 0; otherwise returns -1
// with a short reason in why. Only HS256 is accepted; `exp` is required.
int jwt_verify(const char *token, size_t len, const char *secret, int64_t now, char *sub, size_t sublen,
               const char **why);
// Writes a token for sub expiring at exp into out; returns its length or -1.
int jwt_issue(const char *sub, int64_t exp, int64_t iat, const char *secret, char *out, size_t outlen);
