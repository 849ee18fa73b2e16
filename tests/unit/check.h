// A minimal test runner: TEST(name) { CHECK(...); } and a main that prints
// "ok name" / "FAIL name: why" per test and "N passed, N failed" at the end.
#pragma once
#include <stdio.h>
#include <string.h>

typedef void (*TestFn)(int *failed);
struct TestCase {
    const char *name;
    TestFn fn;
    TestCase *next;
};
extern TestCase *g_tests;

struct TestReg {
    TestReg(TestCase *t) {
        t->next = g_tests;
        g_tests = t;
    }
};

#define TEST(name)                                                     \
    static void test_##name(int *failed_);                             \
    static TestCase tc_##name = {#name, test_##name, NULL};            \
    static TestReg tr_##name(&tc_##name);                              \
    static void test_##name(int *failed_)

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            printf("  check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            (*failed_)++;                                                               \
        }                                                                               \
    } while (0)

#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (!a_ || strcmp(a_, b_)) {                                                             \
            printf("  check failed at %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_); \
            (*failed_)++;                                                                        \
        }                                                                                        \
    } while (0)
