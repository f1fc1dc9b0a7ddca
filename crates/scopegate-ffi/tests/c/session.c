/* scopegate_session driven by a C transport (the tests' own HTTP client) against the sandbox:
 * the authorization code flow, API requests, the refresh timer, Retry-After, transport
 * failures and use after a failed operation, a dead grant, client credentials, revocation,
 * the token set persisted as bytes and read back, and the permission pre-check. */
#define _POSIX_C_SOURCE 200809L
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

/* Whether `len` bytes at `data` contain `needle`. */
static int contains(const uint8_t *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    size_t i;
    for (i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Sends one request view with the tests' HTTP client; the answer into *a. */
static void send_view(const scopegate_http_request *r, http_answer *a) {
    CHECK(http_exchange(r->method, r->url, r->headers, r->headers_len, r->body, r->body_len, a) == HTTP_OK);
}

/* Sends what the session asks for until nothing is left to send at `now`; how many. */
static int drive(scopegate_session *s, uint64_t now) {
    int sent = 0;
    for (;;) {
        const scopegate_http_request *r = NULL;
        uint64_t id = 99;
        http_answer a;
        collected *h;
        OK(scopegate_session_poll_transmit(s, now, &r, &id));
        if (r == NULL) {
            CHECK(id == 0);
            return sent;
        }
        send_view(r, &a);
        h = (collected *)calloc(1, sizeof *h);
        http_each_header(&a, collect, h);
        OK(scopegate_session_handle_response(s, now, id, (uint16_t)a.status, h->headers, h->len, a.body, a.body_len));
        free(h);
        http_answer_free(&a);
        sent++;
    }
}

typedef struct events {
    int tokens_changed;
    int reauthorization;
    int revoked;
    int failed;
    scopegate_result failure;
    scopegate_reauthorization_reason reason;
} events;

static events drain(scopegate_session *s) {
    events e;
    scopegate_event ev;
    memset(&e, 0, sizeof e);
    for (;;) {
        OK(scopegate_session_poll_event(s, &ev));
        switch (ev.kind) {
        case SCOPEGATE_EVENT_KIND_NONE:
            return e;
        case SCOPEGATE_EVENT_KIND_TOKENS_CHANGED:
            e.tokens_changed++;
            break;
        case SCOPEGATE_EVENT_KIND_REAUTHORIZATION_REQUIRED:
            e.reauthorization++;
            e.reason = ev.reason;
            break;
        case SCOPEGATE_EVENT_KIND_REVOKED:
            e.revoked++;
            break;
        case SCOPEGATE_EVENT_KIND_FAILED:
            e.failed++;
            e.failure = ev.result;
            break;
        default:
            break;
        }
    }
}

/* The session's token set, serialized, into a malloc'd string (asks for the size first). */
static char *tokens_of(scopegate_session *s, size_t *len) {
    size_t needed = 0;
    char *buf;
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_session_tokens(s, NULL, 0, &needed));
    buf = (char *)malloc(needed);
    OK(scopegate_session_tokens(s, buf, needed, len));
    CHECK(*len + 1 == needed);
    return buf;
}

static scopegate_session *new_session(const scopegate_provider *p, const char *id, const char *secret, const char *redirect) {
    scopegate_client_options o;
    scopegate_session *s = NULL;
    memset(&o, 0, sizeof o);
    o.client_id = id;
    o.client_secret = secret;
    o.redirect_uri = redirect;
    OK(scopegate_session_new(p, &o, &s));
    return s;
}

/* Start, play the browser, hand the callback to the session, and drive the exchange. */
static void log_in(scopegate_session *s, uint64_t now) {
    scopegate_authorization *a = NULL;
    char url[2048];
    char pending[4096];
    size_t n = 0;
    size_t pending_len = 0;
    char *callback;
    const scopegate_http_request *r = NULL;
    uint64_t id = 0;
    size_t i;
    int form = 0;
    http_answer answer;

    OK(scopegate_session_start_authorization(s, now, &a));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    OK(scopegate_authorization_pending(a, pending, sizeof pending, &pending_len));
    scopegate_authorization_free(a);
    callback = browser_follow(url);
    CHECK(callback != NULL);
    OK(scopegate_session_handle_callback(s, now, pending, pending_len, callback));
    free(callback);
    CHECK(scopegate_session_is_busy(s));

    /* The request view. */
    OK(scopegate_session_poll_transmit(s, now, &r, &id));
    CHECK(r != NULL && id > 0);
    CHECK(strcmp(r->method, "POST") == 0 && strstr(r->url, "/oauth/token") != NULL);
    for (i = 0; i < r->headers_len; i++) {
        if (strcasecmp(r->headers[i].name, "Content-Type") == 0) {
            form = strcmp(r->headers[i].value, "application/x-www-form-urlencoded") == 0;
        }
    }
    CHECK(form);
    CHECK(r->body_len > 0 && contains(r->body, r->body_len, "grant_type=authorization_code"));
    send_view(r, &answer);
    OK(scopegate_session_handle_response(s, now, id, (uint16_t)answer.status, NULL, 0, answer.body, answer.body_len));
    http_answer_free(&answer);
    CHECK(!scopegate_session_is_busy(s));
    /* Answered already: the id is spent. */
    EXPECT(SCOPEGATE_RESULT_USAGE, scopegate_session_handle_response(s, now, id, 200, NULL, 0, NULL, 0));
}

static int api_status(scopegate_session *s, uint64_t now, const char *path, char *body, size_t body_cap) {
    const scopegate_http_request *r = NULL;
    uint64_t id = 0;
    http_answer a;
    scopegate_next_step step;
    size_t i;
    int bearer = 0;
    int status;
    OK(scopegate_session_api_request(s, now, "GET", path, NULL, 0, &r, &id));
    CHECK(strcmp(r->method, "GET") == 0 && r->body == NULL && r->body_len == 0);
    for (i = 0; i < r->headers_len; i++) {
        bearer |= strcmp(r->headers[i].name, "Authorization") == 0 && strncmp(r->headers[i].value, "Bearer ", 7) == 0;
    }
    CHECK(bearer);
    send_view(r, &a);
    status = a.status;
    if (body != NULL) {
        snprintf(body, body_cap, "%s", (const char *)a.body);
    }
    http_answer_free(&a);
    OK(scopegate_session_handle_api_response(s, now, id, (uint16_t)status, &step));
    CHECK(status == 401 || step == SCOPEGATE_NEXT_STEP_DONE);
    return status;
}

int main(void) {
    const char *overrides = env("SCOPEGATE_TEST_YUVO_OVERRIDES");
    const char *redirect = env("SCOPEGATE_TEST_REDIRECT_URI");
    scopegate_provider *builtin = NULL;
    scopegate_session *s;
    scopegate_session *other;
    uint64_t now = (uint64_t)time(NULL);
    uint64_t at = 0;
    char *first_tokens;
    size_t first_len = 0;
    char *latest;
    size_t latest_len = 0;
    char body[4096];
    events e;
    const scopegate_http_request *r = NULL;
    uint64_t id = 0;
    uint64_t id2 = 0;

    OK(scopegate_provider_builtin("yuvo", &builtin));
    OK(scopegate_provider_with_overrides(builtin, overrides, strlen(overrides), &yuvo));
    scopegate_provider_free(builtin);
    /* Pointed at the sandbox, the profile has an id of its own (issue 18): the real provider's
     * stored token set (provider "yuvo") is never this session's. */
    CHECK(strncmp(scopegate_provider_id(yuvo), "yuvo@127.0.0.1:", 15) == 0);
    {
        const char *real = "{\"format\":\"scopegate.token_set\",\"version\":1,\"provider\":\"yuvo\","
                           "\"identity\":\"user\",\"access_token\":\"REAL\",\"refresh_token\":\"REAL-R\","
                           "\"issued_at\":1}";
        s = new_session(yuvo, SANDBOX_CLIENT_ID, SANDBOX_SECRET, redirect);
        EXPECT(SCOPEGATE_RESULT_USAGE, scopegate_session_set_tokens(s, real, strlen(real)));
        LAST_ERROR_HAS("yuvo@127.0.0.1:");
        scopegate_session_free(s);
    }

    /* --- the authorization code flow, and an API call ----------------------------------- */
    s = new_session(yuvo, SANDBOX_CLIENT_ID, SANDBOX_SECRET, redirect);
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_session_tokens(s, body, sizeof body, &first_len));
    log_in(s, now);
    e = drain(s);
    CHECK(e.tokens_changed == 1 && e.failed == 0);
    first_tokens = tokens_of(s, &first_len);
    CHECK(api_status(s, now, "companies", body, sizeof body) == 200);
    CHECK(strstr(body, "sandbox-company-1") != NULL);
    {
        char account[64];
        size_t n = 0;
        OK(scopegate_session_account(s, account, sizeof account, &n));
        CHECK(strcmp(account, "default") == 0);
    }
    EXPECT(SCOPEGATE_RESULT_ORIGIN_REFUSED,
           scopegate_session_api_request(s, now, "GET", "https://elsewhere.example/x", NULL, 0, &r, &id));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_session_api_request(s, now, "FETCH", "companies", NULL, 0, &r, &id));
    {
        scopegate_next_step step;
        EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_session_handle_api_response(s, now, 999, 200, &step));
        /* A 401 on a renewable token: refresh, then retry. */
        OK(scopegate_session_api_request(s, now, "GET", "companies", NULL, 0, &r, &id));
        OK(scopegate_session_handle_api_response(s, now, id, 401, &step));
        CHECK(step == SCOPEGATE_NEXT_STEP_REFRESH_AND_RETRY);
        e = drain(s);
        CHECK(e.tokens_changed == 1); /* the 401 count is part of the token set */
    }

    /* --- the timer: a refresh is due 60 s before expiry ---------------------------------- */
    OK(scopegate_session_poll_timeout(s, &at));
    CHECK(at != SCOPEGATE_NO_TIMEOUT && at > now && at <= now + 3600);
    CHECK(!scopegate_session_needs_refresh(s, now) && scopegate_session_needs_refresh(s, at));
    CHECK(drive(s, now) == 0);
    OK(scopegate_session_handle_timeout(s, at));
    CHECK(scopegate_session_is_busy(s));
    CHECK(drive(s, at) == 1);
    e = drain(s);
    CHECK(e.tokens_changed == 1 && e.failed == 0);
    latest = tokens_of(s, &latest_len);
    CHECK(strcmp(latest, first_tokens) != 0);
    CHECK(api_status(s, now, "companies", NULL, 0) == 200);

    /* --- a header that is not UTF-8 never costs the answer (issue 18) ---------------------- */
    /* The refresh's answer carries the rotated refresh token next to a Latin-1 Set-Cookie (and a
     * header whose name is not UTF-8): the answer is kept, the odd header decoded or dropped. */
    {
        http_answer a;
        collected *h;
        size_t before_len = 0;
        size_t after_len = 0;
        char *before = tokens_of(s, &before_len);
        char *after;
        OK(scopegate_session_refresh(s, now));
        OK(scopegate_session_poll_transmit(s, now, &r, &id));
        send_view(r, &a);
        h = (collected *)calloc(1, sizeof *h);
        http_each_header(&a, collect, h);
        CHECK(h->len + 2 <= 32);
        h->headers[h->len].name = "Set-Cookie";
        h->headers[h->len].value = "lang=fran\xe7" "ais; Path=/";
        h->len++;
        h->headers[h->len].name = "X-\xff\xfe";
        h->headers[h->len].value = "dropped";
        h->len++;
        OK(scopegate_session_handle_response(s, now, id, (uint16_t)a.status, h->headers, h->len, a.body, a.body_len));
        free(h);
        http_answer_free(&a);
        e = drain(s);
        CHECK(e.tokens_changed == 1 && e.failed == 0);
        after = tokens_of(s, &after_len);
        CHECK(strcmp(before, after) != 0); /* the rotated token set is held: persist it */
        free(before);
        free(after);
        CHECK(api_status(s, now, "companies", NULL, 0) == 200);
    }

    /* --- busy: one operation at a time --------------------------------------------------- */
    OK(scopegate_session_refresh(s, now));
    EXPECT(SCOPEGATE_RESULT_BUSY, scopegate_session_refresh(s, now));
    EXPECT(SCOPEGATE_RESULT_BUSY, scopegate_session_set_rights(s, 1));
    EXPECT(SCOPEGATE_RESULT_BUSY, scopegate_session_forget(s));
    EXPECT(SCOPEGATE_RESULT_BUSY, scopegate_session_set_tokens(s, latest, latest_len));
    /* Retry-After: a 429 makes the session wait, then send again. */
    OK(scopegate_session_poll_transmit(s, now, &r, &id));
    {
        scopegate_header retry;
        retry.name = "Retry-After";
        retry.value = "2";
        OK(scopegate_session_handle_response(s, now, id, 429, &retry, 1, NULL, 0));
    }
    OK(scopegate_session_poll_timeout(s, &at));
    CHECK(at == now + 2);
    CHECK(drive(s, now) == 0);
    OK(scopegate_session_handle_timeout(s, now + 2));
    CHECK(drive(s, now + 2) == 1);
    e = drain(s);
    CHECK(e.tokens_changed == 1 && e.failed == 0);

    /* --- transport failures, and use after the operation failed -------------------------- */
    OK(scopegate_session_refresh(s, now));
    OK(scopegate_session_poll_transmit(s, now, &r, &id));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER,
           scopegate_session_handle_transport_error(s, now, id, (scopegate_transport_failure)77, NULL));
    OK(scopegate_session_handle_transport_error(s, now, id, SCOPEGATE_TRANSPORT_FAILURE_CONNECT, "refused"));
    OK(scopegate_session_poll_transmit(s, now, &r, &id2)); /* nothing was sent: tried again */
    CHECK(r != NULL && id2 != id);
    OK(scopegate_session_handle_transport_error(s, now, id2, SCOPEGATE_TRANSPORT_FAILURE_RESPONSE_TIMEOUT, NULL));
    e = drain(s);
    CHECK(e.failed == 1 && e.failure == SCOPEGATE_RESULT_TRANSPORT && e.tokens_changed == 0);
    LAST_ERROR_HAS("timed out");
    EXPECT(SCOPEGATE_RESULT_USAGE, scopegate_session_handle_response(s, now, id2, 200, NULL, 0, NULL, 0));
    LAST_ERROR_HAS("not waiting for a response");
    EXPECT(SCOPEGATE_RESULT_USAGE,
           scopegate_session_handle_transport_error(s, now, id2, SCOPEGATE_TRANSPORT_FAILURE_IO, NULL));
    CHECK(drive(s, now) == 0 && !scopegate_session_is_busy(s));
    OK(scopegate_session_refresh(s, now));
    CHECK(drive(s, now) == 1);
    e = drain(s);
    CHECK(e.tokens_changed == 1 && e.failed == 0);
    free(latest);
    latest = tokens_of(s, &latest_len);

    /* --- the token set read back by another session ------------------------------------- */
    other = new_session(yuvo, SANDBOX_CLIENT_ID, SANDBOX_SECRET, redirect);
    EXPECT(SCOPEGATE_RESULT_SERIALIZATION, scopegate_session_set_tokens(other, "{\"not\":\"tokens\"}", 16));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_session_set_tokens(other, NULL, 3));
    OK(scopegate_session_set_tokens(other, latest, latest_len));
    CHECK(api_status(other, now, "companies", NULL, 0) == 200);
    /* The first token set's refresh token was rotated out: the grant is dead for it. */
    OK(scopegate_session_set_tokens(other, first_tokens, first_len));
    OK(scopegate_session_refresh(other, now));
    CHECK(drive(other, now) == 1);
    e = drain(other);
    CHECK(e.reauthorization == 1 && e.reason == SCOPEGATE_REAUTHORIZATION_REASON_INVALID_GRANT);
    CHECK(e.failed == 1 && e.failure == SCOPEGATE_RESULT_REAUTHORIZATION_REQUIRED && e.tokens_changed == 1);
    {
        char code[64];
        size_t n = 0;
        OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_ERROR, code, sizeof code, &n));
        CHECK(strcmp(code, "invalid_grant") == 0);
    }
    /* Known dead now: refused without a request. */
    EXPECT(SCOPEGATE_RESULT_REAUTHORIZATION_REQUIRED, scopegate_session_refresh(other, now));
    CHECK(drive(other, now) == 0);
    OK(scopegate_session_forget(other));
    EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_session_api_request(other, now, "GET", "companies", NULL, 0, &r, &id));
    /* Yuvo has no revocation endpoint. */
    EXPECT(SCOPEGATE_RESULT_CONFIG, scopegate_session_revoke(s, now));
    scopegate_session_free(other);
    scopegate_session_free(s);
    free(first_tokens);
    free(latest);

    /* --- client credentials: the app's own token ----------------------------------------- */
    s = new_session(yuvo, SANDBOX_CLIENT_ID, SANDBOX_SECRET, NULL);
    OK(scopegate_session_client_credentials(s, now, NULL));
    CHECK(drive(s, now) == 1);
    e = drain(s);
    CHECK(e.tokens_changed == 1);
    CHECK(api_status(s, now, "companies", body, sizeof body) == 200 && strcmp(body, "[]") == 0);
    {
        scopegate_authorization *a = NULL;
        EXPECT(SCOPEGATE_RESULT_IDENTITY_MISMATCH, scopegate_session_start_authorization(s, now, &a));
    }
    scopegate_session_free(s);

    /* --- Yotpo: install, the account from the callback, revoke --------------------------- */
    {
        scopegate_provider *yotpo = NULL;
        char account[64];
        size_t n = 0;
        OK(scopegate_provider_from_file(env("SCOPEGATE_TEST_YOTPO_PROFILE"), &yotpo));
        s = new_session(yotpo, env("SCOPEGATE_TEST_YOTPO_CLIENT_ID"), env("SCOPEGATE_TEST_YOTPO_CLIENT_SECRET"), redirect);
        log_in(s, now);
        drain(s);
        OK(scopegate_session_account(s, account, sizeof account, &n));
        CHECK(strcmp(account, "sandbox-store-1") == 0);
        OK(scopegate_session_poll_timeout(s, &at));
        CHECK(at == SCOPEGATE_NO_TIMEOUT); /* Yotpo's token does not expire */
        CHECK(api_status(s, now, "store", NULL, 0) == 200);
        OK(scopegate_session_revoke(s, now));
        CHECK(drive(s, now) == 1);
        e = drain(s);
        CHECK(e.revoked == 1 && e.failed == 0);
        EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED, scopegate_session_tokens(s, body, sizeof body, &n));
        scopegate_session_free(s);
        scopegate_provider_free(yotpo);
    }

    /* --- the permission pre-check (Yespo's matrix), before any token is needed ----------- */
    {
        scopegate_provider *yespo = NULL;
        uint64_t rights = 0;
        OK(scopegate_provider_builtin("yespo", &yespo));
        s = new_session(yespo, "any-client", NULL, NULL);
        OK(scopegate_rights_parse(yespo, "events_and_contacts", &rights));
        OK(scopegate_session_set_rights(s, rights));
        EXPECT(SCOPEGATE_RESULT_PERMISSION_DENIED, scopegate_session_api_request(s, now, "POST", "message/email", NULL, 0, &r, &id));
        LAST_ERROR_HAS("full_api, messages");
        EXPECT(SCOPEGATE_RESULT_UNKNOWN_ENDPOINT, scopegate_session_api_request(s, now, "GET", "orders/1", NULL, 0, &r, &id));
        EXPECT(SCOPEGATE_RESULT_PATH_REJECTED, scopegate_session_api_request(s, now, "GET", "contact/../x", NULL, 0, &r, &id));
        EXPECT(SCOPEGATE_RESULT_NOT_AUTHORIZED,
               scopegate_session_api_request(s, now, "PUT", "contact/1/subscriptions", (const uint8_t *)"{}", 2, &r, &id));
        scopegate_session_free(s);
        scopegate_provider_free(yespo);
    }

    /* --- arguments ---------------------------------------------------------------------- */
    {
        scopegate_client_options o;
        scopegate_session *untouched = NULL;
        memset(&o, 0, sizeof o);
        o.client_id = SANDBOX_CLIENT_ID;
        o.store = "tokens.db";
        EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_session_new(yuvo, &o, &untouched));
        LAST_ERROR_HAS("a session keeps no store");
        CHECK(untouched == NULL);
        EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_session_poll_transmit(NULL, now, &r, &id));
        EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_session_poll_event(NULL, NULL));
        EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_session_poll_timeout(NULL, &at));
        EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_session_handle_timeout(NULL, now));
    }

    scopegate_provider_free(yuvo);
    printf("session: ok\n");
    return 0;
}
