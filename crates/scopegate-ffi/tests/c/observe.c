/* What C sees of scopegate at work (issue 22): the log callback (process-wide, a minimum level,
 * the logger per operation, never a secret) and a client's counters (scopegate_client_stats),
 * against the sandbox: a login, calls, a refresh the provider answers 503, one that works. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_client.h"
#include "scopegate.h"
#include "testing.h"

#define SANDBOX_CLIENT_ID "sandbox-client"
#define SANDBOX_SECRET "sandbox-secret"

typedef struct {
    pthread_mutex_t lock;
    int records;
    int below_min;
    int exchange_done;
    int refresh_failed;
    char all[65536];
    size_t used;
    scopegate_log_level min;
} logs_t;

static void on_log(void *userdata, scopegate_log_level level, const char *target, const char *message) {
    logs_t *l = (logs_t *)userdata;
    size_t n;
    pthread_mutex_lock(&l->lock);
    l->records++;
    if ((unsigned)level > (unsigned)l->min) {
        l->below_min++;
    }
    if (strcmp(target, "scopegate.exchange") == 0 && strstr(message, "done") != NULL &&
        strstr(message, "provider=yuvo") != NULL && level == SCOPEGATE_LOG_LEVEL_DEBUG) {
        l->exchange_done++;
    }
    if (strcmp(target, "scopegate.refresh") == 0 && strstr(message, "outcome=provider_5xx") != NULL &&
        level == SCOPEGATE_LOG_LEVEL_WARN) {
        l->refresh_failed++;
    }
    n = strlen(target) + strlen(message) + 2;
    if (l->used + n < sizeof l->all) {
        l->used += (size_t)snprintf(l->all + l->used, sizeof l->all - l->used, "%s %s\n", target, message);
    }
    pthread_mutex_unlock(&l->lock);
}

static const char *token_of(scopegate_client *c) {
    static char buf[512];
    size_t n = 0;
    OK(scopegate_client_access_token(c, buf, sizeof buf, &n));
    return buf;
}

int main(void) {
    static logs_t logs;
    const char *base = env("SCOPEGATE_TEST_SANDBOX");
    const char *overrides = env("SCOPEGATE_TEST_YUVO_OVERRIDES");
    scopegate_provider *builtin = NULL;
    scopegate_provider *yuvo = NULL;
    scopegate_client *c = NULL;
    scopegate_client_options o;
    scopegate_authorization *a = NULL;
    scopegate_http_response *r = NULL;
    scopegate_stats stats;
    char url[2048];
    char pending[4096];
    char first[512];
    size_t n = 0;
    size_t pending_len = 0;
    char *callback;

    pthread_mutex_init(&logs.lock, NULL);
    logs.min = SCOPEGATE_LOG_LEVEL_DEBUG;
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_set_log_callback(on_log, &logs, (scopegate_log_level)9));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_set_log_callback(on_log, &logs, (scopegate_log_level)0));
    OK(scopegate_set_log_callback(on_log, &logs, SCOPEGATE_LOG_LEVEL_DEBUG));

    OK(scopegate_provider_builtin("yuvo", &builtin));
    OK(scopegate_provider_with_overrides(builtin, overrides, strlen(overrides), &yuvo));
    scopegate_provider_free(builtin);
    memset(&o, 0, sizeof o);
    o.client_id = SANDBOX_CLIENT_ID;
    o.client_secret = SANDBOX_SECRET;
    o.redirect_uri = env("SCOPEGATE_TEST_REDIRECT_URI");
    OK(scopegate_client_new(yuvo, &o, &c));

    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_stats(c, NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_stats(NULL, &stats));
    OK(scopegate_client_stats(c, &stats));
    CHECK(stats.exchanges == 0 && stats.refreshes_ok == 0);

    OK(scopegate_client_start_authorization(c, &a));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    OK(scopegate_authorization_pending(a, pending, sizeof pending, &pending_len));
    scopegate_authorization_free(a);
    callback = browser_follow(url);
    CHECK(callback != NULL);
    OK(scopegate_client_exchange(c, pending, pending_len, callback));
    free(callback);
    strcpy(first, token_of(c));
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    scopegate_http_response_free(r);
    CHECK(sandbox_control(base, "/_sandbox/fault", "{\"provider\":\"yuvo\",\"fault\":\"503\"}") == 200);
    CHECK(scopegate_client_refresh(c) != SCOPEGATE_RESULT_OK);
    OK(scopegate_client_refresh(c));

    OK(scopegate_client_stats(c, &stats));
    CHECK(stats.exchanges == 1);
    CHECK(stats.refreshes_ok == 1);
    CHECK(stats.refreshes_provider_5xx == 1);
    CHECK(stats.reauthorizations == 0);

    pthread_mutex_lock(&logs.lock);
    CHECK(logs.exchange_done == 1);
    CHECK(logs.refresh_failed == 1);
    CHECK(logs.below_min == 0);
    CHECK(strstr(logs.all, first) == NULL);           /* no token */
    CHECK(strstr(logs.all, token_of(c)) == NULL);
    CHECK(strstr(logs.all, SANDBOX_SECRET) == NULL);  /* no client secret */
    pthread_mutex_unlock(&logs.lock);

    /* Warnings and errors only: a successful refresh logs nothing. */
    OK(scopegate_set_log_callback(on_log, &logs, SCOPEGATE_LOG_LEVEL_WARN));
    pthread_mutex_lock(&logs.lock);
    logs.records = 0;
    logs.min = SCOPEGATE_LOG_LEVEL_WARN;
    pthread_mutex_unlock(&logs.lock);
    OK(scopegate_client_refresh(c));
    CHECK(logs.records == 0);
    /* Removed: nothing more. */
    OK(scopegate_set_log_callback(NULL, NULL, SCOPEGATE_LOG_LEVEL_TRACE));
    CHECK(sandbox_control(base, "/_sandbox/fault", "{\"provider\":\"yuvo\",\"fault\":\"503\"}") == 200);
    CHECK(scopegate_client_refresh(c) != SCOPEGATE_RESULT_OK);
    CHECK(logs.records == 0);

    scopegate_client_free(c);
    scopegate_provider_free(yuvo);
    pthread_mutex_destroy(&logs.lock);
    printf("observe: ok\n");
    return 0;
}
