/* scopegate_client against the sandbox: client credentials, the authorization code flow (Yuvo,
 * with a SQLite store; Yotpo's install link), refresh, revoke, API calls, a transport callback,
 * and the error paths: NULL, invalid UTF-8, buffers too small, the provider's refusals (with
 * their OAuth error in the last error, never a secret), a failing transport callback, and use
 * after an operation failed; one client shared by threads, each with its own last error. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_client.h"
#include "scopegate.h"
#include "testing.h"

#define SANDBOX_CLIENT_ID "sandbox-client"
#define SANDBOX_SECRET "sandbox-secret"

static scopegate_provider *yuvo;
static scopegate_provider *yotpo;

static scopegate_client_options options(const char *id, const char *secret, const char *redirect, const char *store) {
    scopegate_client_options o;
    memset(&o, 0, sizeof o);
    o.client_id = id;
    o.client_secret = secret;
    o.redirect_uri = redirect;
    o.store = store;
    o.account = NULL;
    return o;
}

static void load_providers(void) {
    const char *overrides = env("SCOPEGATE_TEST_YUVO_OVERRIDES");
    scopegate_provider *builtin = NULL;
    OK(scopegate_provider_builtin("yuvo", &builtin));
    OK(scopegate_provider_with_overrides(builtin, overrides, strlen(overrides), &yuvo));
    scopegate_provider_free(builtin);
    OK(scopegate_provider_from_file(env("SCOPEGATE_TEST_YOTPO_PROFILE"), &yotpo));
}

/* The access token, into a static buffer. */
static const char *token_of(scopegate_client *c) {
    static char buf[512];
    size_t n = 0;
    OK(scopegate_client_access_token(c, buf, sizeof buf, &n));
    CHECK(n == strlen(buf) && n > 0);
    return buf;
}

static void client_credentials(void) {
    scopegate_client_options o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, NULL);
    scopegate_client *c = NULL;
    char first[512];
    char small[4] = "xyz";
    size_t n = 0;
    size_t needed = 0;
    scopegate_http_response *r = NULL;
    scopegate_http_response *untouched = (scopegate_http_response *)&r;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    char value[128];

    OK(scopegate_client_new(yuvo, &o, &c));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_access_token(c, first, sizeof first, &n));
    OK(scopegate_client_client_credentials(c));

    /* The size first, then too small, then the token. */
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_client_access_token(c, NULL, 0, &needed));
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_client_access_token(c, small, sizeof small, &n));
    CHECK(n == needed && strcmp(small, "xyz") == 0);
    OK(scopegate_client_access_token(c, first, sizeof first, &n));
    CHECK(n + 1 == needed);

    /* API calls. */
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    CHECK(scopegate_http_response_status(r) == 200);
    OK(scopegate_http_response_body(r, &body, &body_len));
    CHECK(body_len == 2 && memcmp(body, "[]", 2) == 0); /* the app's own token: no company */
    OK(scopegate_http_response_header(r, "content-type", value, sizeof value, &n));
    CHECK(strstr(value, "application/json") != NULL);
    EXPECT(SCOPEGATE_RESULT_NOT_FOUND, scopegate_http_response_header(r, "x-nothing", value, sizeof value, &n));
    /* A received response is read-only. */
    EXPECT(SCOPEGATE_RESULT_USAGE, scopegate_http_response_set_status(r, 500));
    scopegate_http_response_free(r);
    r = untouched;
    EXPECT(SCOPEGATE_RESULT_ORIGIN_REFUSED, scopegate_client_request(c, "GET", "https://elsewhere.example/x", NULL, 0, &r));
    LAST_ERROR_HAS("refusing to send the token");
    EXPECT(SCOPEGATE_RESULT_ORIGIN_REFUSED, scopegate_client_request(c, "GET", "//elsewhere.example/x", NULL, 0, &r));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_client_request(c, "FETCH", "companies", NULL, 0, &r));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_request(c, "GET", "companies", NULL, 3, &r));
    CHECK(r == untouched);

    /* Refresh: the app's token is renewed by client credentials again. */
    OK(scopegate_client_refresh(c));
    CHECK(strcmp(token_of(c), first) != 0);

    /* Yuvo has no revocation endpoint: a configuration error, the token kept. */
    EXPECT(SCOPEGATE_RESULT_CONFIG, scopegate_client_revoke(c));
    LAST_ERROR_HAS("no revocation");
    token_of(c);
    /* A user's login would replace the app's token. */
    {
        scopegate_authorization *a = NULL;
        EXPECT(SCOPEGATE_RESULT_IDENTITY_MISMATCH, scopegate_client_start_authorization(c, &a));
        CHECK(a == NULL);
    }
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_client_credentials_scopes(c, NULL));
    OK(scopegate_client_client_credentials_scopes(c, "companies read"));
    OK(scopegate_client_forget(c));
    /* No redirect URI: no authorization code flow. */
    {
        scopegate_authorization *a = NULL;
        EXPECT(SCOPEGATE_RESULT_CONFIG, scopegate_client_start_authorization(c, &a));
        LAST_ERROR_HAS("redirect uri");
        CHECK(a == NULL);
    }
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_access_token(c, first, sizeof first, &n));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_refresh(c));
    scopegate_client_free(c);
}

static void refused_secret(void) {
    const char *secret = "wrong-secret-7c1e0d";
    scopegate_client_options o = options(SANDBOX_CLIENT_ID, secret, NULL, NULL);
    scopegate_client *c = NULL;
    char code[64];
    size_t n = 0;
    scopegate_error_info info;

    OK(scopegate_client_new(yuvo, &o, &c));
    EXPECT(SCOPEGATE_RESULT_TOKEN_REFUSED, scopegate_client_client_credentials(c));
    LAST_ERROR_HAS("invalid_client");
    LAST_ERROR_HAS("bad client credentials"); /* the provider's error_description */
    CHECK(strstr(last_error(), secret) == NULL);
    OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_ERROR, code, sizeof code, &n));
    CHECK(strcmp(code, "invalid_client") == 0);
    OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_DESCRIPTION, code, sizeof code, &n));
    CHECK(strcmp(code, "bad client credentials") == 0);
    OK(scopegate_last_error_info(&info));
    CHECK(info.result == SCOPEGATE_RESULT_TOKEN_REFUSED && info.blame == SCOPEGATE_BLAME_LOCAL);
    CHECK(info.http_status == 401);
    scopegate_client_free(c);
}

/* Starts an authorization, plays the browser, and returns the callback (malloc'd); the pending
 * authorization is copied into `pending`. */
static char *authorize(scopegate_client *c, char *pending, size_t pending_cap, size_t *pending_len) {
    scopegate_authorization *a = NULL;
    char url[2048];
    size_t n = 0;
    size_t needed = 0;
    char *callback;
    OK(scopegate_client_start_authorization(c, &a));
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_authorization_url(a, NULL, 0, &needed));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    CHECK(n + 1 == needed);
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_authorization_pending(a, pending, 8, &needed));
    CHECK(needed > 8 && needed <= pending_cap);
    OK(scopegate_authorization_pending(a, pending, pending_cap, pending_len));
    CHECK(strstr(pending, "\"format\"") != NULL || strstr(pending, "version") != NULL);
    scopegate_authorization_free(a);
    callback = browser_follow(url);
    CHECK(callback != NULL);
    return callback;
}

static void authorization_code(void) {
    char store[1024];
    char pending[4096];
    size_t pending_len = 0;
    char first[512];
    char *callback;
    scopegate_client_options o;
    scopegate_client *c = NULL;
    scopegate_client *again = NULL;
    scopegate_http_response *r = NULL;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    char part[128];
    size_t n = 0;
    const char *base = env("SCOPEGATE_TEST_SANDBOX");

    snprintf(store, sizeof store, "%s/tokens.db", env("SCOPEGATE_TEST_DIR"));
    o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, env("SCOPEGATE_TEST_REDIRECT_URI"), store);
    OK(scopegate_client_new(yuvo, &o, &c));
    callback = authorize(c, pending, sizeof pending, &pending_len);
    CHECK(strstr(callback, "code=") != NULL);
    OK(scopegate_client_exchange(c, pending, pending_len, callback));
    strcpy(first, token_of(c));
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    OK(scopegate_http_response_body(r, &body, &body_len));
    CHECK(strstr((const char *)body, "sandbox-company-1") != NULL);
    scopegate_http_response_free(r);

    /* Refresh, then another client on the same SQLite file sees the new token. */
    OK(scopegate_client_refresh(c));
    CHECK(strcmp(token_of(c), first) != 0);
    strcpy(first, token_of(c));
    OK(scopegate_client_new(yuvo, &o, &again));
    CHECK(strcmp(token_of(again), first) == 0);
    scopegate_client_free(again);

    /* The same pending authorization and callback again: the code is spent; the provider's
     * answer is in the last error, and the stored tokens are kept. */
    EXPECT(SCOPEGATE_RESULT_TOKEN_REFUSED, scopegate_client_exchange(c, pending, pending_len, callback));
    OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_ERROR, part, sizeof part, &n));
    CHECK(strcmp(part, "invalid_grant") == 0);
    LAST_ERROR_HAS("unknown or used code");
    CHECK(strcmp(token_of(c), first) == 0);

    /* A callback whose state is not ours; unreadable pending bytes; NULL. */
    EXPECT(SCOPEGATE_RESULT_CALLBACK, scopegate_client_exchange(c, pending, pending_len,
                                                                "http://127.0.0.1:9/callback?code=x&state=forged"));
    LAST_ERROR_HAS("state");
    EXPECT(SCOPEGATE_RESULT_SERIALIZATION, scopegate_client_exchange(c, "{\"v\":99}", 8, callback));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_exchange(c, pending, pending_len, NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_exchange(c, NULL, 4, callback));
    free(callback);

    /* The user refuses. */
    CHECK(sandbox_control(base, "/_sandbox/consent", "{\"mode\":\"deny\"}") == 200);
    callback = authorize(c, pending, sizeof pending, &pending_len);
    EXPECT(SCOPEGATE_RESULT_AUTHORIZATION_DENIED, scopegate_client_exchange(c, pending, pending_len, callback));
    OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_ERROR, part, sizeof part, &n));
    CHECK(strcmp(part, "access_denied") == 0);
    {
        scopegate_error_info info;
        OK(scopegate_last_error_info(&info));
        CHECK(info.blame == SCOPEGATE_BLAME_REMOTE);
    }
    CHECK(sandbox_control(base, "/_sandbox/consent", "{\"mode\":\"approve\"}") == 200);
    free(callback);
    CHECK(strcmp(token_of(c), first) == 0);
    scopegate_client_free(c);
}

static void yotpo_install_and_revoke(void) {
    char pending[4096];
    size_t pending_len = 0;
    char *callback;
    scopegate_client_options o = options(env("SCOPEGATE_TEST_YOTPO_CLIENT_ID"), env("SCOPEGATE_TEST_YOTPO_CLIENT_SECRET"),
                                         env("SCOPEGATE_TEST_REDIRECT_URI"), NULL);
    scopegate_client *c = NULL;
    scopegate_http_response *r = NULL;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    char buf[64];
    size_t n = 0;

    OK(scopegate_client_new(yotpo, &o, &c));
    callback = authorize(c, pending, sizeof pending, &pending_len);
    CHECK(strstr(callback, "app_key=sandbox-store-1") != NULL);
    OK(scopegate_client_exchange(c, pending, pending_len, callback));
    free(callback);
    token_of(c);
    OK(scopegate_client_request(c, "GET", "store", NULL, 0, &r));
    CHECK(scopegate_http_response_status(r) == 200);
    OK(scopegate_http_response_body(r, &body, &body_len));
    CHECK(strstr((const char *)body, "sandbox-store-1") != NULL);
    scopegate_http_response_free(r);
    OK(scopegate_client_revoke(c));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_access_token(c, buf, sizeof buf, &n));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_revoke(c));
    scopegate_client_free(c);
}

/* ---- a transport callback over the tests' own HTTP client ---------------------------------- */

enum mode { REAL, FAIL_CONNECT, FAIL_IO, NO_STATUS, LATIN1 };

typedef struct transport_state {
    enum mode mode;
    int calls;
} transport_state;

static void copy_header(const char *name, const char *value, void *response) {
    OK(scopegate_http_response_add_header((scopegate_http_response *)response, name, value));
}

static scopegate_result c_transport(void *userdata, const scopegate_http_request *request,
                                    scopegate_http_response *response) {
    transport_state *st = (transport_state *)userdata;
    http_answer a;
    int sent;
    st->calls++;
    CHECK(request->method != NULL && strncmp(request->url, "http://127.0.0.1:", 17) == 0);
    CHECK(request->max_response_bytes > 0 && (request->body_len == 0) == (request->body == NULL));
    switch (st->mode) {
    case FAIL_CONNECT:
        OK(scopegate_http_response_set_failure(response, SCOPEGATE_TRANSPORT_FAILURE_CONNECT, "connection refused (test)"));
        return SCOPEGATE_RESULT_TRANSPORT;
    case FAIL_IO:
        return SCOPEGATE_RESULT_TRANSPORT; /* no kind given: taken as IO, may have been sent */
    case NO_STATUS:
        return SCOPEGATE_RESULT_OK;
    case REAL:
    case LATIN1:
        break;
    }
    /* The builder checks its arguments too. */
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_http_response_set_status(response, 42));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_http_response_add_header(response, NULL, "x"));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER,
           scopegate_http_response_set_failure(response, (scopegate_transport_failure)77, NULL));
    sent = http_exchange(request->method, request->url, request->headers, request->headers_len, request->body,
                         request->body_len, &a);
    if (sent != HTTP_OK) {
        OK(scopegate_http_response_set_failure(
            response, sent == HTTP_NOT_SENT ? SCOPEGATE_TRANSPORT_FAILURE_CONNECT : SCOPEGATE_TRANSPORT_FAILURE_IO, "socket"));
        return SCOPEGATE_RESULT_TRANSPORT;
    }
    OK(scopegate_http_response_set_status(response, (uint16_t)a.status));
    http_each_header(&a, copy_header, response);
    if (st->mode == LATIN1) {
        /* Bytes that are not UTF-8 in a value (Latin-1) and in a name: kept decoded, and dropped. */
        OK(scopegate_http_response_add_header(response, "Set-Cookie", "lang=fran\xe7" "ais"));
        OK(scopegate_http_response_add_header(response, "X-\xff", "dropped"));
    }
    OK(scopegate_http_response_append_body(response, a.body, a.body_len));
    http_answer_free(&a);
    return SCOPEGATE_RESULT_OK;
}

static void transport_callback(void) {
    scopegate_client_options o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, NULL);
    transport_state st;
    scopegate_client *c = NULL;
    scopegate_client *fresh = NULL;
    scopegate_http_response *r = NULL;
    char token[512];
    char buf[512];
    size_t n = 0;
    int before;

    st.mode = REAL;
    st.calls = 0;
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_new_with_transport(yuvo, &o, NULL, &st, &c));
    OK(scopegate_client_new_with_transport(yuvo, &o, c_transport, &st, &c));
    OK(scopegate_client_client_credentials(c));
    CHECK(st.calls == 1);
    strcpy(token, token_of(c));
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    CHECK(st.calls == 2 && scopegate_http_response_status(r) == 200);
    scopegate_http_response_free(r);

    /* Nothing was sent: the refresh is tried 3 times, then fails; the token is kept. */
    st.mode = FAIL_CONNECT;
    before = st.calls;
    EXPECT(SCOPEGATE_RESULT_TRANSPORT, scopegate_client_refresh(c));
    CHECK(st.calls == before + 3);
    LAST_ERROR_HAS("connection refused (test)");
    CHECK(strcmp(token_of(c), token) == 0);
    /* It may have been sent: never sent again. */
    st.mode = FAIL_IO;
    before = st.calls;
    EXPECT(SCOPEGATE_RESULT_TRANSPORT, scopegate_client_refresh(c));
    CHECK(st.calls == before + 1);
    st.mode = NO_STATUS;
    EXPECT(SCOPEGATE_RESULT_TRANSPORT, scopegate_client_refresh(c));
    LAST_ERROR_HAS("without a status");
    st.mode = REAL;
    OK(scopegate_client_refresh(c));
    CHECK(strcmp(token_of(c), token) != 0);
    /* A header that is not UTF-8 never costs the answer (issue 18): the refresh is kept, and
     * the value reads as Latin-1 in UTF-8. */
    strcpy(token, token_of(c));
    st.mode = LATIN1;
    OK(scopegate_client_refresh(c));
    CHECK(strcmp(token_of(c), token) != 0);
    OK(scopegate_client_request(c, "GET", "companies", NULL, 0, &r));
    CHECK(scopegate_http_response_status(r) == 200);
    OK(scopegate_http_response_header(r, "set-cookie", buf, sizeof buf, &n));
    CHECK(strcmp(buf, "lang=fran\xc3\xa7" "ais") == 0);
    EXPECT(SCOPEGATE_RESULT_NOT_FOUND, scopegate_http_response_header(r, "x-\xc3\xbf", buf, sizeof buf, &n));
    scopegate_http_response_free(r);
    st.mode = REAL;
    scopegate_client_free(c);

    /* Use after an operation failed: nothing was stored, and the client works afterwards. */
    st.mode = FAIL_IO;
    OK(scopegate_client_new_with_transport(yuvo, &o, c_transport, &st, &fresh));
    EXPECT(SCOPEGATE_RESULT_TRANSPORT, scopegate_client_client_credentials(fresh));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_access_token(fresh, buf, sizeof buf, &n));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_client_request(fresh, "GET", "companies", NULL, 0, &r));
    st.mode = REAL;
    OK(scopegate_client_client_credentials(fresh));
    token_of(fresh);
    scopegate_client_free(fresh);
}

/* ---- one client, many threads; the last error is per thread ------------------------------ */

typedef struct worker {
    scopegate_client *client;
    char name[32];
    int ok;
} worker;

static void *work(void *arg) {
    worker *w = (worker *)arg;
    char buf[512];
    size_t n = 0;
    int i;
    scopegate_provider *p = NULL;
    scopegate_http_response *r = NULL;
    for (i = 0; i < 10; i++) {
        if (scopegate_client_access_token(w->client, buf, sizeof buf, &n) != SCOPEGATE_RESULT_OK) {
            return NULL;
        }
    }
    if (scopegate_client_request(w->client, "GET", "companies", NULL, 0, &r) != SCOPEGATE_RESULT_OK ||
        scopegate_http_response_status(r) != 200) {
        return NULL;
    }
    scopegate_http_response_free(r);
    /* This thread's failure is this thread's last error. */
    if (scopegate_provider_builtin(w->name, &p) != SCOPEGATE_RESULT_UNKNOWN_PROVIDER ||
        scopegate_last_error(buf, sizeof buf, &n) != SCOPEGATE_RESULT_OK || strstr(buf, w->name) == NULL) {
        return NULL;
    }
    w->ok = 1;
    return NULL;
}

static void threads(void) {
    scopegate_client_options o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, NULL);
    scopegate_client *c = NULL;
    scopegate_provider *p = NULL;
    pthread_t ids[4];
    worker workers[4];
    int i;
    OK(scopegate_client_new(yuvo, &o, &c));
    OK(scopegate_client_client_credentials(c));
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, scopegate_provider_builtin("nope-main-thread", &p));
    for (i = 0; i < 4; i++) {
        workers[i].client = c;
        workers[i].ok = 0;
        snprintf(workers[i].name, sizeof workers[i].name, "nope-thread-%d", i);
        CHECK(pthread_create(&ids[i], NULL, work, &workers[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        CHECK(pthread_join(ids[i], NULL) == 0);
        CHECK(workers[i].ok);
    }
    LAST_ERROR_HAS("nope-main-thread");
    CHECK(strstr(last_error(), "nope-thread-") == NULL);
    scopegate_client_free(c);
}

static void bad_arguments(void) {
    const char bad_utf8[] = {'s', 'e', 'c', (char)0xfe, 0};
    scopegate_client_options o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, NULL);
    scopegate_client *c = NULL;
    scopegate_client *untouched = (scopegate_client *)&c;
    char buf[64];
    size_t n = 0;
    char store[1024];

    c = untouched;
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_new(NULL, &o, &c));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_new(yuvo, NULL, &c));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_new(yuvo, &o, NULL));
    o.client_id = NULL;
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_new(yuvo, &o, &c));
    LAST_ERROR_HAS("options.client_id");
    o.client_id = SANDBOX_CLIENT_ID;
    o.client_secret = bad_utf8;
    EXPECT(SCOPEGATE_RESULT_INVALID_UTF8, scopegate_client_new(yuvo, &o, &c));
    LAST_ERROR_HAS("`options.client_secret` is not valid UTF-8 (at byte 3)");
    o.client_secret = SANDBOX_SECRET;
    o.redirect_uri = "not a url";
    EXPECT(SCOPEGATE_RESULT_CONFIG, scopegate_client_new(yuvo, &o, &c));
    o.redirect_uri = NULL;
    o.account = "";
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_client_new(yuvo, &o, &c));
    o.account = NULL;
    /* A store under a regular file cannot be opened. */
    snprintf(store, sizeof store, "%s/blocker", env("SCOPEGATE_TEST_DIR"));
    {
        FILE *f = fopen(store, "w");
        CHECK(f != NULL);
        fclose(f);
    }
    strcat(store, "/tokens.db");
    o.store = store;
    EXPECT(SCOPEGATE_RESULT_STORE, scopegate_client_new(yuvo, &o, &c));
    CHECK(c == untouched);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_access_token(NULL, buf, sizeof buf, &n));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_client_credentials(NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_refresh(NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_revoke(NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_authorization_url(NULL, buf, sizeof buf, &n));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_http_response_body(NULL, NULL, NULL));
}

/* A PostgreSQL store (when the test command runs a server): the connection string goes where
 * a SQLite path would; a second client on the same store sees the same token. */
static void postgres_store(void) {
    const char *pg = getenv("SCOPEGATE_TEST_PG");
    char account[64];
    char first[512];
    scopegate_client *a = NULL;
    scopegate_client *b = NULL;
    scopegate_client_options o;
    if (pg == NULL || pg[0] == '\0') {
        return;
    }
    snprintf(account, sizeof account, "c-%ld", (long)time(NULL));
    o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, pg);
    o.account = account;
    OK(scopegate_client_new(yuvo, &o, &a));
    OK(scopegate_client_client_credentials(a));
    snprintf(first, sizeof first, "%s", token_of(a));
    OK(scopegate_client_new(yuvo, &o, &b));
    CHECK(strcmp(token_of(b), first) == 0);
    scopegate_client_free(a);
    scopegate_client_free(b);
}

/* Issue 18: with SCOPEGATE_STORE_KEY set, a token set stored without a key (written before the
 * key was set, or planted by whoever can write the file) is refused, never read. */
static void sealed_store_refuses_plain_rows(void) {
    char path[1024];
    char buf[512];
    size_t n = 0;
    scopegate_client *plain = NULL;
    scopegate_client *sealed = NULL;
    scopegate_client_options o;
    snprintf(path, sizeof path, "%s/sealed.db", env("SCOPEGATE_TEST_DIR"));
    o = options(SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL, path);
    CHECK(unsetenv("SCOPEGATE_STORE_KEY") == 0);
    OK(scopegate_client_new(yuvo, &o, &plain));
    OK(scopegate_client_client_credentials(plain));
    CHECK(setenv("SCOPEGATE_STORE_KEY", "0303030303030303030303030303030303030303030303030303030303030303", 1) == 0);
    OK(scopegate_client_new(yuvo, &o, &sealed));
    EXPECT(SCOPEGATE_RESULT_STORE, scopegate_client_access_token(sealed, buf, sizeof buf, &n));
    LAST_ERROR_HAS("not sealed");
    CHECK(unsetenv("SCOPEGATE_STORE_KEY") == 0);
    token_of(plain); /* without the key it is still readable: it is the user's to seal */
    scopegate_client_free(plain);
    scopegate_client_free(sealed);
}

int main(void) {
    load_providers();
    postgres_store();
    client_credentials();
    refused_secret();
    authorization_code();
    yotpo_install_and_revoke();
    transport_callback();
    sealed_store_refuses_plain_rows();
    threads();
    bad_arguments();
    scopegate_provider_free(yuvo);
    scopegate_provider_free(yotpo);
    printf("client: ok\n");
    return 0;
}
