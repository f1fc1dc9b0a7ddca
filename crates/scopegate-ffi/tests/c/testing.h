/* Assertions for the C tests of the scopegate C ABI: on failure they print where, the result,
 * and the thread's last error, then exit(1). Valid C11 and C++17. */
#ifndef SCOPEGATE_TESTING_H
#define SCOPEGATE_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scopegate.h"

static inline void testing_report(const char *file, int line, const char *what, unsigned result) {
    char message[512];
    char last[1024];
    size_t n = 0;
    scopegate_result_message((scopegate_result)result, message, sizeof message, &n);
    if (scopegate_last_error(last, sizeof last, &n) != SCOPEGATE_RESULT_OK) {
        strcpy(last, "(last error too long)");
    }
    fprintf(stderr, "%s:%d: %s\n  result %u (%s)\n  last error: %s\n", file, line, what, result, message, last);
    exit(1);
}

/* The call must return this result. */
#define EXPECT(expected, call)                                                                    \
    do {                                                                                          \
        scopegate_result expect_got_ = (call);                                                    \
        if (expect_got_ != (expected)) {                                                          \
            testing_report(__FILE__, __LINE__, #call " did not return " #expected,                \
                           (unsigned)expect_got_);                                                \
        }                                                                                         \
    } while (0)

#define OK(call) EXPECT(SCOPEGATE_RESULT_OK, call)

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            testing_report(__FILE__, __LINE__, "check failed: " #cond, 0);                        \
        }                                                                                         \
    } while (0)

/* The calling thread's last error message, in a static buffer. */
static inline const char *last_error(void) {
    static char buf[2048];
    size_t n = 0;
    if (scopegate_last_error(buf, sizeof buf, &n) != SCOPEGATE_RESULT_OK) {
        return "(last error unreadable)";
    }
    return buf;
}

/* The last error must contain this text. */
#define LAST_ERROR_HAS(text)                                                                      \
    do {                                                                                          \
        if (strstr(last_error(), (text)) == NULL) {                                               \
            fprintf(stderr, "%s:%d: the last error lacks \"%s\": %s\n", __FILE__, __LINE__,       \
                    (text), last_error());                                                        \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static inline const char *env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "environment variable %s is not set (run this test through cargo test)\n", name);
        exit(2);
    }
    return v;
}

#endif
