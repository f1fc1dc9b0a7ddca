/* Issue 23's specs from C against the sandbox's /specs server: the device grant through a
 * session (start, the user code event and view, polls on the timer) and through a client
 * (scopegate_client_device_login, refused: AUTHORIZATION_DENIED); PAR through a session (the
 * AUTHORIZATION_READY event, scopegate_session_authorization_url, its expiry); DPoP through a
 * session (proofs, the nonce challenge answered with scopegate_session_handle_api_answer, never
 * Bearer); private_key_jwt with scopegate_client_new_with_key, and a key that is not one. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "scopegate.h"
#include "testing.h"

static scopegate_provider *specs;

/* Sends what the session asks for at `now` until nothing is left; how many. */
static int drive(scopegate_session *s, uint64_t now) {
    int sent = 0;
    for (;;) {
        const scopegate_http_request *r = NULL;
        uint64_t id = 0;
        http_answer a;
        collected *h;
        OK(scopegate_session_poll_transmit(s, now, &r, &id));
        if (r == NULL) {
            return sent;
        }
        CHECK(http_exchange(r->method, r->url, r->headers, r->headers_len, r->body, r->body_len, &a) == HTTP_OK);
        h = (collected *)calloc(1, sizeof *h);
        http_each_header(&a, collect, h);
        OK(scopegate_session_handle_response(s, now, id, (uint16_t)a.status, h->headers, h->len, a.body, a.body_len));
        free(h);
        http_answer_free(&a);
        sent++;
    }
}

/* The next event's kind (and result, for FAILED). */
static scopegate_event_kind next_event(scopegate_session *s, scopegate_result *result) {
    scopegate_event ev;
    OK(scopegate_session_poll_event(s, &ev));
    if (result != NULL) {
        *result = ev.result;
    }
    return ev.kind;
}

static scopegate_provider *with(const char *overrides) {
    scopegate_provider *p = NULL;
    OK(scopegate_provider_with_overrides(specs, overrides, strlen(overrides), &p));
    return p;
}

static scopegate_client_options options(const char *id, const char *secret, const char *redirect) {
    scopegate_client_options o;
    memset(&o, 0, sizeof o);
    o.client_id = id;
    o.client_secret = secret;
    o.redirect_uri = redirect;
    return o;
}

/* The user approves on "another device": the sandbox's verification page. */
static void approve(const char *uri) {
    http_answer a;
    CHECK(http_exchange("GET", uri, NULL, 0, NULL, 0, &a) == HTTP_OK);
    CHECK(a.status == 200);
    http_answer_free(&a);
}

static void wait_until(uint64_t at) {
    while ((uint64_t)time(NULL) < at) {
        sleep(1);
    }
}

static void device_session(void) {
    scopegate_client_options o = options("specs-client", env("SCOPEGATE_TEST_SPECS_SECRET"), NULL);
    scopegate_session *s = NULL;
    const scopegate_user_code *code = NULL;
    uint64_t now = (uint64_t)time(NULL);
    uint64_t at = 0;
    OK(scopegate_session_new(specs, &o, &s));
    EXPECT(SCOPEGATE_RESULT_NOT_FOUND, scopegate_session_user_code(s, &code));
    OK(scopegate_session_start_device_authorization(s, now, NULL));
    EXPECT(SCOPEGATE_RESULT_BUSY, scopegate_session_refresh(s, now));
    CHECK(drive(s, now) == 1);
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_USER_CODE);
    OK(scopegate_session_user_code(s, &code));
    CHECK(code->verification_uri_complete != NULL);
    CHECK(strstr(code->verification_uri_complete, code->user_code) != NULL);
    CHECK(code->interval_secs == 5 && code->expires_at > now);
    approve(code->verification_uri_complete);
    OK(scopegate_session_poll_timeout(s, &at));
    CHECK(at == now + 5);
    wait_until(at);
    OK(scopegate_session_handle_timeout(s, at));
    CHECK(drive(s, at) == 1);
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED);
    CHECK(!scopegate_session_is_busy(s));
    scopegate_session_free(s);
}

static void show_and_approve(void *userdata, const scopegate_user_code *code) {
    int *calls = (int *)userdata;
    (*calls)++;
    CHECK(code->user_code != NULL && code->verification_uri != NULL);
    approve(code->verification_uri_complete != NULL ? code->verification_uri_complete : code->verification_uri);
}

static void device_client(void) {
    scopegate_client_options o = options("specs-client", env("SCOPEGATE_TEST_SPECS_SECRET"), NULL);
    scopegate_client *c = NULL;
    char token[512];
    size_t n = 0;
    int calls = 0;
    OK(scopegate_client_new(specs, &o, &c));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_client_device_login(c, NULL, NULL));
    OK(scopegate_client_device_login(c, show_and_approve, &calls));
    CHECK(calls == 1);
    OK(scopegate_client_access_token(c, token, sizeof token, &n));
    CHECK(n > 0);
    /* Refused on the other device: AUTHORIZATION_DENIED. */
    CHECK(sandbox_control(env("SCOPEGATE_TEST_SANDBOX"), "/_sandbox/consent", "{\"mode\":\"deny\"}") == 200);
    EXPECT(SCOPEGATE_RESULT_AUTHORIZATION_DENIED, scopegate_client_device_login(c, show_and_approve, &calls));
    CHECK(calls == 2);
    CHECK(sandbox_control(env("SCOPEGATE_TEST_SANDBOX"), "/_sandbox/consent", "{\"mode\":\"approve\"}") == 200);
    scopegate_client_free(c);
}

static void par_session(void) {
    scopegate_provider *p = with("[authorization]\npar = true\n");
    const char *redirect = env("SCOPEGATE_TEST_REDIRECT_URI");
    scopegate_client_options o = options("specs-par", env("SCOPEGATE_TEST_SPECS_SECRET"), redirect);
    scopegate_session *s = NULL;
    scopegate_authorization *a = NULL;
    uint64_t now = (uint64_t)time(NULL);
    char url[2048];
    char *pending;
    char *callback;
    size_t n = 0;
    OK(scopegate_session_new(p, &o, &s));
    EXPECT(SCOPEGATE_RESULT_USAGE, scopegate_session_authorization_url(s, now, url, sizeof url, &n));
    OK(scopegate_session_start_authorization(s, now, &a));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    CHECK(n == 0); /* the URL comes with the push's answer */
    CHECK(drive(s, now) == 1);
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_AUTHORIZATION_READY);
    OK(scopegate_session_authorization_url(s, now, url, sizeof url, &n));
    CHECK(strstr(url, "request_uri=") != NULL && strstr(url, "code_challenge") == NULL);
    EXPECT(SCOPEGATE_RESULT_AUTHORIZATION_EXPIRED, scopegate_session_authorization_url(s, now + 61, url, sizeof url, &n));
    callback = browser_follow(url);
    CHECK(callback != NULL && strstr(callback, "code=") != NULL);
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_authorization_pending(a, NULL, 0, &n));
    pending = (char *)malloc(n);
    OK(scopegate_authorization_pending(a, pending, n, &n));
    OK(scopegate_session_handle_callback(s, now, pending, n, callback));
    CHECK(drive(s, now) == 1);
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED);
    free(callback);
    free(pending);
    scopegate_authorization_free(a);
    scopegate_session_free(s);
    scopegate_provider_free(p);
}

static void dpop_session(void) {
    scopegate_provider *p = with("[dpop]\nrequired = true\n");
    scopegate_client_options o = options("specs-dpop", env("SCOPEGATE_TEST_SPECS_SECRET"), NULL);
    scopegate_session *s = NULL;
    uint64_t now = (uint64_t)time(NULL);
    int round;
    OK(scopegate_session_new(p, &o, &s));
    OK(scopegate_session_client_credentials(s, now, NULL));
    CHECK(drive(s, now) == 2); /* the nonce challenge, then the token */
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED);
    for (round = 0; round < 2; round++) {
        const scopegate_http_request *r = NULL;
        uint64_t id = 0;
        scopegate_next_step step;
        http_answer a;
        collected *h;
        size_t i;
        int dpop_scheme = 0;
        int proof = 0;
        OK(scopegate_session_api_request(s, now, "GET", "me", NULL, 0, &r, &id));
        for (i = 0; i < r->headers_len; i++) {
            if (strcasecmp(r->headers[i].name, "Authorization") == 0) {
                dpop_scheme = strncmp(r->headers[i].value, "DPoP ", 5) == 0;
            }
            proof |= strcasecmp(r->headers[i].name, "DPoP") == 0;
        }
        CHECK(dpop_scheme && proof); /* never Bearer */
        CHECK(http_exchange(r->method, r->url, r->headers, r->headers_len, r->body, r->body_len, &a) == HTTP_OK);
        h = (collected *)calloc(1, sizeof *h);
        http_each_header(&a, collect, h);
        OK(scopegate_session_handle_api_answer(s, now, id, (uint16_t)a.status, h->headers, h->len, a.body, a.body_len, &step));
        if (round == 0) {
            CHECK(a.status == 401 && step == SCOPEGATE_NEXT_STEP_RETRY_WITH_NONCE);
        } else {
            CHECK(a.status == 200 && step == SCOPEGATE_NEXT_STEP_DONE);
        }
        free(h);
        http_answer_free(&a);
    }
    scopegate_session_free(s);
    scopegate_provider_free(p);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    CHECK(f != NULL);
    text = (char *)calloc(1, 8192);
    n = fread(text, 1, 8191, f);
    CHECK(n > 0);
    fclose(f);
    return text;
}

static void private_key_jwt(void) {
    scopegate_provider *p = with("[token]\nclient_auth = \"private_key_jwt\"\n");
    scopegate_client_options o = options("c-jwt", NULL, NULL);
    scopegate_client *c = NULL;
    scopegate_session *s = NULL;
    char *pem = read_file(env("SCOPEGATE_TEST_KEY_FILE"));
    /* Without the key: refused before any request. */
    OK(scopegate_client_new(p, &o, &c));
    EXPECT(SCOPEGATE_RESULT_CONFIG, scopegate_client_client_credentials(c));
    LAST_ERROR_HAS("private_key_jwt");
    scopegate_client_free(c);
    c = NULL;
    /* Not a key: a typed refusal that quotes nothing of it. */
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_client_new_with_key(p, &o, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", NULL, NULL, &c));
    CHECK(c == NULL);
    LAST_ERROR_HAS("client_key_pem");
    OK(scopegate_client_new_with_key(p, &o, pem, NULL, NULL, &c));
    OK(scopegate_client_client_credentials(c));
    OK(scopegate_client_refresh(c)); /* an app token without a refresh token: client credentials again, a fresh assertion */
    CHECK(strstr(last_error(), pem + 30) == NULL);
    scopegate_client_free(c);
    OK(scopegate_session_new_with_key(p, &o, pem, &s));
    OK(scopegate_session_client_credentials(s, (uint64_t)time(NULL), NULL));
    CHECK(drive(s, (uint64_t)time(NULL)) == 1);
    CHECK(next_event(s, NULL) == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED);
    scopegate_session_free(s);
    memset(pem, 0, 8192);
    free(pem);
    scopegate_provider_free(p);
}

int main(void) {
    OK(scopegate_provider_from_file(env("SCOPEGATE_TEST_SPECS_PROFILE"), &specs));
    private_key_jwt();
    dpop_session();
    par_session();
    device_session();
    device_client();
    scopegate_provider_free(specs);
    printf("specs: ok\n");
    return 0;
}
