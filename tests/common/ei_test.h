/* A tiny test harness: EI_TEST functions registered in main via EI_RUN, checks that print the
 * failing expression, exit 77 to report a skip to ctest. */
#ifndef EI_TEST_H
#define EI_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/edgeinfer.h"

static int ei_test_failures = 0;
static int ei_test_checks = 0;

#define EI_CHECK(cond)                                                                                                 \
    do {                                                                                                               \
        ei_test_checks++;                                                                                              \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            ei_test_failures++;                                                                                        \
        }                                                                                                              \
    } while (0)

#define EI_CHECK_NEAR(a, b, tol)                                                                                       \
    do {                                                                                                               \
        ei_test_checks++;                                                                                              \
        double ei_a_ = (double)(a), ei_b_ = (double)(b);                                                               \
        if (!(fabs(ei_a_ - ei_b_) <= (tol))) {                                                                         \
            fprintf(stderr, "%s:%d: %s = %g, %s = %g, differ by more than %g\n", __FILE__, __LINE__, #a, ei_a_, #b,    \
                    ei_b_, (double)(tol));                                                                             \
            ei_test_failures++;                                                                                        \
        }                                                                                                              \
    } while (0)

/* Checks that expr returns a status with the code and a message containing substr. */
#define EI_CHECK_ERROR(expr, code, substr)                                                                             \
    do {                                                                                                               \
        ei_test_checks++;                                                                                              \
        ei_status * ei_st_ = (expr);                                                                                   \
        if (ei_status_code(ei_st_) != (code) || !strstr(ei_status_message(ei_st_), (substr))) {                        \
            fprintf(stderr, "%s:%d: %s: expected %s containing '%s', got %s: '%s'\n", __FILE__, __LINE__, #expr,       \
                    ei_code_name(code), (substr), ei_code_name(ei_status_code(ei_st_)), ei_status_message(ei_st_));    \
            ei_test_failures++;                                                                                        \
        }                                                                                                              \
        ei_status_destroy(ei_st_);                                                                                     \
    } while (0)

#define EI_CHECK_OK(expr)                                                                                              \
    do {                                                                                                               \
        ei_test_checks++;                                                                                              \
        ei_status * ei_st_ = (expr);                                                                                   \
        if (ei_st_) {                                                                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, ei_status_message(ei_st_));           \
            ei_test_failures++;                                                                                        \
        }                                                                                                              \
        ei_status_destroy(ei_st_);                                                                                     \
    } while (0)

#define EI_RUN(fn)                                                                                                     \
    do {                                                                                                               \
        int ei_before_ = ei_test_failures;                                                                             \
        fn();                                                                                                          \
        printf("%s %s\n", ei_test_failures == ei_before_ ? "ok  " : "FAIL", #fn);                                      \
    } while (0)

#define EI_TEST_EXIT()                                                                                                 \
    do {                                                                                                               \
        printf("%d checks, %d failed\n", ei_test_checks, ei_test_failures);                                            \
        return ei_test_failures ? 1 : 0;                                                                               \
    } while (0)

#define EI_SKIP(...)                                                                                                   \
    do {                                                                                                               \
        printf("skipped: ");                                                                                           \
        printf(__VA_ARGS__);                                                                                           \
        printf("\n");                                                                                                  \
        exit(77);                                                                                                      \
    } while (0)

/* The shared assets folder: $EI_ASSETS_DIR, else ../shared/assets beside the repo root. */
static inline const char * ei_test_assets_dir(void) {
    const char * d = getenv("EI_ASSETS_DIR");
    return d && d[0] ? d : EI_DEFAULT_ASSETS_DIR;
}

#endif
