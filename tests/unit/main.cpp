#include <sodium.h>

#include "check.h"
#include "base/config.h"

TestCase *g_tests;

int main() {
    if (sodium_init() < 0) return 1;
    config_defaults(&g_cfg);
    // registration order is reversed; run in file order
    TestCase *list[256];
    int n = 0;
    for (TestCase *t = g_tests; t && n < 256; t = t->next) list[n++] = t;
    int passed = 0, failed = 0;
    for (int i = n - 1; i >= 0; i--) {
        int f = 0;
        list[i]->fn(&f);
        if (f) {
            failed++;
            printf("FAIL %s\n", list[i]->name);
        } else {
            passed++;
            printf("ok   %s\n", list[i]->name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
