/* A small test runner: each test file lists its cases in a table and ends with TEST_MAIN.
 * A case returns 0 or fails with file:line through CHECK. Leaks fail the ASan+UBSan run, and
 * meson bounds each runner in time. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    int (*fn)(void);
};

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_) {                                                                          \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", __FILE__,         \
                    __LINE__, #a, #b, va_, vb_);                                                   \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n", __FILE__, __LINE__, \
                    #a, #b, (size_t)(n));                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Runs every case (or those whose name contains argv[1]), prints one line each and the closing
 * "N passed, N failed". Returns the process exit code. */
int test_run(const struct test_case *cases, size_t n, int argc, char **argv);

#define TEST_MAIN(cases)                                                                           \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return test_run((cases), sizeof(cases) / sizeof((cases)[0]), argc, argv);                  \
    }

#endif
