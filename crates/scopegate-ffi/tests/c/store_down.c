/* scopegate_client on a PostgreSQL store, with PostgreSQL stopped while a refresh is in flight
 * (the sandbox in strict mode, where a rotated-out refresh token presented again revokes the
 * grant; its token endpoint slowed): SCOPEGATE_RESULT_NOT_SAVED, the renewed token set in the
 * last error (SCOPEGATE_ERROR_PART_TOKENS) and in the token-change callback; the client uses it
 * while the database is down and writes it once it is back; no refresh token is reused. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "scopegate.h"
#include "testing.h"

#define SANDBOX_CLIENT_ID "sandbox-client"
#define SANDBOX_SECRET "sandbox-secret"

typedef struct {
    int armed;
    int changes;
    char last[4096];
} state_t;

static void pg(const char *action) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", env("SCOPEGATE_TEST_PG_SCRIPT"), action);
    CHECK(system(cmd) == 0);
}

static void *stop_pg(void *arg) {
    (void)arg;
    pg("stop");
    return NULL;
}

static void on_change(void *userdata, const char *json, size_t len) {
    state_t *s = (state_t *)userdata;
    s->changes++;
    CHECK(strlen(json) == len && len < sizeof s->last);
    memcpy(s->last, json, len + 1);
}

static void copy_header(const char *name, const char *value, void *ctx) {
    OK(scopegate_http_response_add_header((scopegate_http_response *)ctx, name, value));
}

static int has(const uint8_t *body, size_t len, const char *text) {
    size_t n = strlen(text);
    size_t i;
    for (i = 0; body != NULL && i + n <= len; i++) {
        if (memcmp(body + i, text, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static scopegate_result transport(void *userdata, const scopegate_http_request *request,
                                  scopegate_http_response *response) {
    state_t *s = (state_t *)userdata;
    pthread_t stopper;
    int stopping = 0;
    http_answer a;
    int sent;
    if (s->armed && has(request->body, request->body_len, "grant_type=refresh_token")) {
        s->armed = 0;
        CHECK(pthread_create(&stopper, NULL, stop_pg, NULL) == 0); /* stops while the refresh is in flight */
        stopping = 1;
    }
    sent = http_exchange(request->method, request->url, request->headers, request->headers_len, request->body,
                         request->body_len, &a);
    if (stopping) {
        CHECK(pthread_join(stopper, NULL) == 0);
    }
    if (sent != HTTP_OK) {
        OK(scopegate_http_response_set_failure(
            response, sent == HTTP_NOT_SENT ? SCOPEGATE_TRANSPORT_FAILURE_CONNECT : SCOPEGATE_TRANSPORT_FAILURE_IO, "socket"));
        return SCOPEGATE_RESULT_TRANSPORT;
    }
    OK(scopegate_http_response_set_status(response, (uint16_t)a.status));
    http_each_header(&a, copy_header, response);
    OK(scopegate_http_response_append_body(response, a.body, a.body_len));
    http_answer_free(&a);
    return SCOPEGATE_RESULT_OK;
}

/* The string value of `"field":"..."` in `json`, into `out`. */
static void json_str(const char *json, const char *field, char *out, size_t cap) {
    char key[64];
    const char *at;
    size_t n = 0;
    snprintf(key, sizeof key, "\"%s\":\"", field);
    at = strstr(json, key);
    CHECK(at != NULL);
    at += strlen(key);
    while (at[n] != '"' && at[n] != '\0' && n + 1 < cap) {
        n++;
    }
    memcpy(out, at, n);
    out[n] = '\0';
}

/* The number after `"name":` in the sandbox's counters of `provider`. */
static long counter(const char *base, const char *provider, const char *name) {
    char url[512];
    char key[64];
    http_answer a;
    const char *at;
    long value;
    char *text;
    snprintf(url, sizeof url, "%s/_sandbox/counters", base);
    CHECK(http_exchange("GET", url, NULL, 0, NULL, 0, &a) == HTTP_OK && a.status == 200);
    text = (char *)malloc(a.body_len + 1);
    memcpy(text, a.body, a.body_len);
    text[a.body_len] = '\0';
    snprintf(key, sizeof key, "\"%s\":{", provider);
    at = strstr(text, key);
    CHECK(at != NULL);
    snprintf(key, sizeof key, "\"%s\":", name);
    at = strstr(at, key);
    CHECK(at != NULL);
    value = strtol(at + strlen(key), NULL, 10);
    free(text);
    http_answer_free(&a);
    return value;
}

static const char *token_of(scopegate_client *c) {
    static char buf[512];
    size_t n = 0;
    OK(scopegate_client_access_token(c, buf, sizeof buf, &n));
    return buf;
}

int main(void) {
    const char *pg_url = getenv("SCOPEGATE_TEST_PG");
    const char *base = env("SCOPEGATE_TEST_SANDBOX");
    const char *overrides = env("SCOPEGATE_TEST_YUVO_OVERRIDES");
    static state_t st;
    scopegate_provider *builtin = NULL;
    scopegate_provider *yuvo = NULL;
    scopegate_client *c = NULL;
    scopegate_client *other = NULL;
    scopegate_client_options o;
    scopegate_authorization *auth = NULL;
    scopegate_http_response *r = NULL;
    scopegate_error_info info;
    char account[64];
    char url[2048];
    char pending[4096];
    char first[4096];
    char renewed[4096];
    char message[1024];
    char access[512];
    char refresh_token[512];
    size_t n = 0;
    size_t pending_len = 0;
    char *callback;

    if (pg_url == NULL || pg_url[0] == '\0') {
        printf("store_down: skipped (no PostgreSQL)\n");
        return 0;
    }
    OK(scopegate_provider_builtin("yuvo", &builtin));
    OK(scopegate_provider_with_overrides(builtin, overrides, strlen(overrides), &yuvo));
    scopegate_provider_free(builtin);

    snprintf(account, sizeof account, "c-down-%ld-%ld", (long)time(NULL), (long)getpid());
    memset(&o, 0, sizeof o);
    o.client_id = SANDBOX_CLIENT_ID;
    o.client_secret = SANDBOX_SECRET;
    o.redirect_uri = env("SCOPEGATE_TEST_REDIRECT_URI");
    o.store = pg_url;
    o.account = account;
    OK(scopegate_client_new_with_transport(yuvo, &o, transport, &st, &c));
    OK(scopegate_client_on_token_change(c, on_change, &st));

    /* Log in (the sandbox approves): the callback sees the stored token set. */
    OK(scopegate_client_start_authorization(c, &auth));
    OK(scopegate_authorization_url(auth, url, sizeof url, &n));
    OK(scopegate_authorization_pending(auth, pending, sizeof pending, &pending_len));
    scopegate_authorization_free(auth);
    callback = browser_follow(url);
    CHECK(callback != NULL);
    OK(scopegate_client_exchange(c, pending, pending_len, callback));
    free(callback);
    CHECK(st.changes == 1);
    strcpy(first, st.last);
    /* From now on a reused refresh token revokes the grant (strict mode; Yuvo's profile has no
     * PKCE, which strict mode would ask of the login). */
    CHECK(sandbox_control(base, "/_sandbox/strict", "{\"on\":true}") == 200);

    /* The refresh is slow, and PostgreSQL stops while it is in flight. */
    CHECK(sandbox_control(base, "/_sandbox/fault", "{\"provider\":\"yuvo\",\"fault\":\"slow:1500\"}") == 200);
    st.armed = 1;
    EXPECT(SCOPEGATE_RESULT_NOT_SAVED, scopegate_client_refresh(c));
    OK(scopegate_last_error_info(&info));
    CHECK(info.result == SCOPEGATE_RESULT_NOT_SAVED && info.blame == SCOPEGATE_BLAME_ENVIRONMENT);
    OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_TOKENS, renewed, sizeof renewed, &n));
    CHECK(n == strlen(renewed) && strcmp(renewed, first) != 0);
    CHECK(st.changes == 2 && strcmp(renewed, st.last) == 0); /* the callback had it first */
    json_str(renewed, "refresh_token", refresh_token, sizeof refresh_token);
    OK(scopegate_last_error(message, sizeof message, &n));
    CHECK(strstr(message, refresh_token) == NULL); /* the message never carries it */
    json_str(renewed, "access_token", access, sizeof access);

    /* Still down: the renewed set is used for calls. */
    CHECK(strcmp(token_of(c), access) == 0);
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    CHECK(scopegate_http_response_status(r) == 200);
    scopegate_http_response_free(r);
    CHECK(counter(base, "yuvo", "refresh_token") == 1);

    /* Back: the next call writes it; another client on the store reads it. */
    pg("start");
    CHECK(strcmp(token_of(c), access) == 0);
    CHECK(st.changes == 3 && strcmp(st.last, renewed) == 0);
    OK(scopegate_client_new(yuvo, &o, &other));
    CHECK(strcmp(token_of(other), access) == 0);
    scopegate_client_free(other);

    /* The grant lives: a refresh from the renewed refresh token, no reuse, no error. */
    OK(scopegate_client_refresh(c));
    CHECK(strcmp(token_of(c), access) != 0);
    CHECK(counter(base, "yuvo", "refresh_token") == 2);
    CHECK(counter(base, "yuvo", "reuse_detected") == 0);
    CHECK(counter(base, "yuvo", "token_errors") == 0);
    printf("refresh requests at the server: 2; invalid_grant: 0\n");

    /* A NULL callback removes the hook. */
    OK(scopegate_client_on_token_change(c, NULL, NULL));
    OK(scopegate_client_refresh(c));
    CHECK(st.changes == 4);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_on_token_change(NULL, on_change, &st));
    scopegate_client_free(c);
    scopegate_provider_free(yuvo);
    printf("store_down: ok\n");
    return 0;
}
