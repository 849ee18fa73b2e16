// libFuzzer: the JWT parser accepts nothing it should not and never crashes.
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "board/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready = sodium_init() >= 0;
    (void)ready;
    char sub[32];
    const char *why = NULL;
    int64_t iat;
    if (jwt_verify((const char *)data, size, "fuzz-secret", 1000, sub, sizeof sub, &iat, &why) == 0) {
        // anything accepted must carry a real signature by this secret: re-issuing it must verify too
        char tok[JWT_MAX];
        if (jwt_issue(sub, 2000, 0, "fuzz-secret", tok, sizeof tok) < 0) abort();
        if (jwt_verify(tok, strlen(tok), "fuzz-secret", 1000, sub, sizeof sub, &iat, &why) != 0) abort();
    } else if (!why) {
        abort(); // a refusal always says why
    }
    return 0;
}
