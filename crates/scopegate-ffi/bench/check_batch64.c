/* The C side of the C-vs-Rust permission-check bench (bench/run): scopegate_check from C on the
 * Yespo matrix, rights events_and_contacts, over the batch64 requests (read from a file of
 * `METHOD path` lines that the Rust side printed), one call per request; with `many`, the 64
 * requests in one scopegate_policy_allows_many call. Prints the median ns per check.
 *
 *     check_batch64 REQUESTS_FILE [ITERATIONS] [SAMPLES] [many] */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scopegate.h"

#define MAX_REQUESTS 64

static char methods[MAX_REQUESTS][16];
static char paths[MAX_REQUESTS][256];
static size_t lens[MAX_REQUESTS];
static size_t count;
static scopegate_call calls[MAX_REQUESTS];
static bool answers[MAX_REQUESTS];

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static unsigned round_once(const scopegate_provider *p, uint64_t rights) {
    unsigned allowed = 0;
    size_t i;
    for (i = 0; i < count; i++) {
        allowed += scopegate_check(p, rights, methods[i], paths[i], lens[i]) == SCOPEGATE_DECISION_ALLOWED;
    }
    return allowed;
}

static unsigned round_many(const scopegate_provider *p, uint64_t rights) {
    unsigned allowed = 0;
    size_t i;
    if (scopegate_policy_allows_many(p, rights, calls, count, answers) != SCOPEGATE_RESULT_OK) {
        abort();
    }
    for (i = 0; i < count; i++) {
        allowed += answers[i];
    }
    return allowed;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    FILE *f;
    char line[512];
    unsigned iterations = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
    unsigned samples = argc > 3 ? (unsigned)atoi(argv[3]) : 5;
    scopegate_provider *yespo = NULL;
    uint64_t rights = 0;
    unsigned (*round)(const scopegate_provider *, uint64_t) =
        argc > 4 && strcmp(argv[4], "many") == 0 ? round_many : round_once;
    volatile unsigned sink = 0;
    double ns[64];
    unsigned s;
    unsigned i;

    if (argc < 2 || (f = fopen(argv[1], "r")) == NULL || samples == 0 || samples > 64) {
        fprintf(stderr, "usage: %s REQUESTS_FILE [ITERATIONS] [SAMPLES<=64]\n", argv[0]);
        return 2;
    }
    while (count < MAX_REQUESTS && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%15s %255s", methods[count], paths[count]) == 2) {
            lens[count] = strlen(paths[count]);
            calls[count].method = methods[count];
            calls[count].path = paths[count];
            count++;
        }
    }
    fclose(f);
    if (scopegate_provider_builtin("yespo", &yespo) != SCOPEGATE_RESULT_OK ||
        scopegate_rights_parse(yespo, "events_and_contacts", &rights) != SCOPEGATE_RESULT_OK) {
        fprintf(stderr, "cannot load the yespo profile\n");
        return 1;
    }
    for (i = 0; i < iterations / 4; i++) {
        sink += round(yespo, rights);
    }
    for (s = 0; s < samples; s++) {
        double start = now_ns();
        for (i = 0; i < iterations; i++) {
            sink += round(yespo, rights);
        }
        ns[s] = (now_ns() - start) / ((double)iterations * (double)count);
    }
    qsort(ns, samples, sizeof ns[0], by_value);
    if (round_once(yespo, rights) != round_many(yespo, rights)) {
        fprintf(stderr, "scopegate_policy_allows_many and scopegate_check disagree\n");
        return 1;
    }
    printf("c %.2f ns/check (allowed %u of %zu)\n", ns[samples / 2], round(yespo, rights), count);
    scopegate_provider_free(yespo);
    (void)sink;
    return 0;
}
