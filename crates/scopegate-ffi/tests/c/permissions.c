/* Profiles, rights and permission checks through the C ABI, with every error path that needs no
 * server: NULL, invalid UTF-8, buffers too small, a bad profile, an unknown provider, an unknown
 * right; the last error; free(NULL). Built as C11 and as C++17 (no network: no POSIX needed). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scopegate.h"
#include "testing.h"

static const char *dir(void) {
    return env("SCOPEGATE_TEST_DIR");
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void version(void) {
    CHECK(strcmp(scopegate_version(), SCOPEGATE_VERSION) == 0);
    CHECK(SCOPEGATE_VERSION_MAJOR >= 0 && SCOPEGATE_VERSION_MINOR >= 0 && SCOPEGATE_VERSION_PATCH >= 0);
}

static void loading(void) {
    scopegate_provider *p = NULL;
    scopegate_provider *sentinel = (scopegate_provider *)&p; /* never dereferenced */
    scopegate_provider *out = sentinel;
    char path[1024];
    const char bad_utf8[] = {'y', 'e', (char)0xff, 0};
    const char *extends = "extends = \"yespo\"\n[api]\nbase_url = \"https://eu.yespo.io/api/v1\"\n";

    OK(scopegate_provider_builtin("yespo", &p));
    CHECK(strcmp(scopegate_provider_id(p), "yespo") == 0);
    CHECK(scopegate_provider_all_rights(p) == 0xf); /* full_api, events, events_and_contacts, messages */
    scopegate_provider_free(p);

    /* Errors: the out-parameter is left alone. */
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_provider_builtin(NULL, &out));
    LAST_ERROR_HAS("`id` is NULL");
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_provider_builtin("yespo", NULL));
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, scopegate_provider_builtin("nope", &out));
    LAST_ERROR_HAS("built-in: yespo, reteno, yotpo, yuvo");
    EXPECT(SCOPEGATE_RESULT_INVALID_UTF8, scopegate_provider_builtin(bad_utf8, &out));
    LAST_ERROR_HAS("not valid UTF-8 (at byte 2)");
    CHECK(out == sentinel);

    /* TOML text, with its length (no NUL needed). */
    OK(scopegate_provider_from_toml(extends, strlen(extends), &p));
    CHECK(strcmp(scopegate_provider_id(p), "yespo") == 0);
    scopegate_provider_free(p);
    EXPECT(SCOPEGATE_RESULT_INVALID_PROFILE, scopegate_provider_from_toml("id = [", 6, &out));
    LAST_ERROR_HAS("<string>");
    EXPECT(SCOPEGATE_RESULT_INVALID_PROFILE, scopegate_provider_from_toml("id = \"x\"\n", 9, &out));
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, scopegate_provider_from_toml("extends = \"nope\"", 16, &out));
    EXPECT(SCOPEGATE_RESULT_INVALID_UTF8, scopegate_provider_from_toml(bad_utf8, 3, &out));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_provider_from_toml(NULL, 3, &out));
    CHECK(out == sentinel);

    /* Files. */
    snprintf(path, sizeof path, "%s/profile-ok.toml", dir());
    write_file(path, extends);
    OK(scopegate_provider_from_file(path, &p));
    {
        /* Overrides on a loaded provider; the base is unchanged. */
        scopegate_provider *q = NULL;
        const char *o = "[token]\nurl = \"http://127.0.0.1:9/token\"\n";
        OK(scopegate_provider_with_overrides(p, o, strlen(o), &q));
        EXPECT(SCOPEGATE_RESULT_INVALID_PROFILE, scopegate_provider_with_overrides(p, "[token]\nurl = 3", 15, &out));
        EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_provider_with_overrides(NULL, o, strlen(o), &out));
        scopegate_provider_free(q);
    }
    scopegate_provider_free(p);
    snprintf(path, sizeof path, "%s/profile-bad.toml", dir());
    write_file(path, "extends = \"yespo\"\n[token\n");
    EXPECT(SCOPEGATE_RESULT_INVALID_PROFILE, scopegate_provider_from_file(path, &out));
    snprintf(path, sizeof path, "%s/no-such-profile.toml", dir());
    EXPECT(SCOPEGATE_RESULT_PROFILE, scopegate_provider_from_file(path, &out));
    LAST_ERROR_HAS("cannot read profile file");
    {
        scopegate_error_info info;
        OK(scopegate_last_error_info(&info));
        CHECK(info.result == SCOPEGATE_RESULT_PROFILE);
        CHECK(info.blame == SCOPEGATE_BLAME_ENVIRONMENT);
        CHECK(info.http_status == 0);
    }
    CHECK(out == sentinel);
}

static void rights(const scopegate_provider *yespo) {
    uint64_t r = 77;
    char buf[64];
    size_t n = 0;

    OK(scopegate_rights_parse(yespo, "events_and_contacts", &r));
    CHECK(r == 4);
    OK(scopegate_rights_parse(yespo, " messages,events_and_contacts ", &r));
    CHECK(r == 12);
    OK(scopegate_rights_parse(yespo, "", &r));
    CHECK(r == 0);
    r = 77;
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_RIGHT, scopegate_rights_parse(yespo, "events_and_contacts,nope", &r));
    LAST_ERROR_HAS("unknown right `nope`");
    LAST_ERROR_HAS("full_api, events, events_and_contacts, messages");
    CHECK(r == 77);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_rights_parse(yespo, NULL, &r));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_rights_parse(NULL, "events", &r));

    OK(scopegate_rights_names(yespo, 9, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "full_api,messages") == 0 && n == 17);
    /* Too small: nothing written, the size needed (with the NUL) in n. */
    memset(buf, 'x', sizeof buf);
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_rights_names(yespo, 9, buf, 17, &n));
    CHECK(n == 18 && buf[0] == 'x');
    LAST_ERROR_HAS("18 are needed");
    /* Asking for the size. */
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_rights_names(yespo, 9, NULL, 0, &n));
    CHECK(n == 18);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_rights_names(yespo, 9, NULL, 5, &n));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_rights_names(yespo, 9, buf, sizeof buf, NULL));
    OK(scopegate_rights_names(yespo, 0, buf, 1, &n));
    CHECK(buf[0] == '\0' && n == 0);
}

static void checks(const scopegate_provider *yespo) {
    const uint64_t ec = 4; /* events_and_contacts */
    const char *longer = "contact/12345/subscriptions-and-more";
    const char bad_utf8[] = {'c', 'o', (char)0xc3, 0};
    scopegate_decision_detail d;
    char buf[128];
    size_t n = 0;

#define DECIDE(method, path) scopegate_check(yespo, ec, method, path, strlen(path))
    CHECK(DECIDE("PUT", "contact/12345/subscriptions") == SCOPEGATE_DECISION_ALLOWED);
    CHECK(DECIDE("PUT", "https://yespo.io/api/v1/contact/12345/subscriptions?x=1") == SCOPEGATE_DECISION_ALLOWED);
    CHECK(DECIDE("GET", "version") == SCOPEGATE_DECISION_ALLOWED);
    CHECK(DECIDE("POST", "message/email") == SCOPEGATE_DECISION_DENIED);
    CHECK(DECIDE("GET", "orders/551") == SCOPEGATE_DECISION_UNKNOWN_ENDPOINT);
    CHECK(DECIDE("GET", "contact/../contacts") == SCOPEGATE_DECISION_REJECTED);
    CHECK(DECIDE("get", "version") == SCOPEGATE_DECISION_REJECTED);
    CHECK(DECIDE("BREW", "version") == SCOPEGATE_DECISION_REJECTED);
    CHECK(DECIDE("GET", "contact/12345/") == SCOPEGATE_DECISION_REJECTED);
#undef DECIDE
    /* The path's length is what counts, not a NUL. */
    CHECK(scopegate_check(yespo, ec, "PUT", longer, strlen("contact/12345/subscriptions")) == SCOPEGATE_DECISION_ALLOWED);
    CHECK(scopegate_check(yespo, ec, "PUT", longer, strlen(longer)) == SCOPEGATE_DECISION_UNKNOWN_ENDPOINT);
    /* Fail closed. */
    CHECK(scopegate_check(NULL, ec, "GET", "version", 7) == SCOPEGATE_DECISION_REJECTED);
    CHECK(scopegate_check(yespo, ec, NULL, "version", 7) == SCOPEGATE_DECISION_REJECTED);
    CHECK(scopegate_check(yespo, ec, "GET", NULL, 7) == SCOPEGATE_DECISION_REJECTED);
    CHECK(scopegate_check(yespo, ec, "GET", bad_utf8, 3) == SCOPEGATE_DECISION_REJECTED);
    CHECK(scopegate_check(yespo, ec, "GET", NULL, 0) == SCOPEGATE_DECISION_REJECTED);

    /* The detail. */
    OK(scopegate_check_detail(yespo, ec, "PUT", "contact/7/subscriptions", 23, &d));
    CHECK(d.decision == SCOPEGATE_DECISION_ALLOWED);
    CHECK(strcmp(d.endpoint_template, "contact/{id}/subscriptions") == 0);
    CHECK(strcmp(d.group, "contacts_update") == 0);
    CHECK(!d.deprecated && !d.open && d.reject_reason == SCOPEGATE_REJECT_REASON_NONE);
    OK(scopegate_check_detail(yespo, ec, "POST", "message/email", 13, &d));
    CHECK(d.decision == SCOPEGATE_DECISION_DENIED);
    CHECK(strcmp(d.endpoint_template, "message/email") == 0 && strcmp(d.group, "messages") == 0);
    OK(scopegate_rights_names(yespo, d.would_allow, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "full_api,messages") == 0);
    OK(scopegate_check_detail(yespo, 0, "GET", "version", 7, &d));
    CHECK(d.decision == SCOPEGATE_DECISION_ALLOWED && d.open);
    OK(scopegate_check_detail(yespo, ec, "GET", "contact/../contacts", 19, &d));
    CHECK(d.decision == SCOPEGATE_DECISION_REJECTED && d.reject_reason == SCOPEGATE_REJECT_REASON_DOT_SEGMENT);
    CHECK(d.endpoint_template == NULL && d.group == NULL);
    scopegate_reject_reason_message(d.reject_reason, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "the path has a `.` or `..` segment (also as `..;` or encoded look-alike dots)") == 0);
    scopegate_reject_reason_message((scopegate_reject_reason)4242, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "unknown reason") == 0);
    OK(scopegate_check_detail(yespo, ec, "GET", "orders/1", 8, &d));
    CHECK(d.decision == SCOPEGATE_DECISION_UNKNOWN_ENDPOINT);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_check_detail(yespo, ec, "GET", "version", 7, NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_check_detail(yespo, ec, NULL, "version", 7, &d));
    EXPECT(SCOPEGATE_RESULT_INVALID_UTF8, scopegate_check_detail(yespo, ec, bad_utf8, "version", 7, &d));
}

static void least(const scopegate_provider *yespo) {
    scopegate_call calls[3];
    uint64_t r = 77;
    calls[0].method = "PUT";
    calls[0].path = "contact/1/subscriptions";
    calls[1].method = "POST";
    calls[1].path = "event";
    OK(scopegate_least_rights(yespo, calls, 2, &r));
    CHECK(r == 4); /* events_and_contacts */
    OK(scopegate_least_rights(yespo, calls + 1, 1, &r));
    CHECK(r == 2); /* events */
    calls[2].method = "POST";
    calls[2].path = "message/email";
    OK(scopegate_least_rights(yespo, calls, 3, &r));
    CHECK(r == 1); /* full_api: one right rather than two */
    OK(scopegate_least_rights(yespo, NULL, 0, &r));
    CHECK(r == 0);
    r = 77;
    calls[1].path = "orders/551";
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_ENDPOINT, scopegate_least_rights(yespo, calls, 3, &r));
    LAST_ERROR_HAS("call 1: no endpoint");
    calls[1].path = "contact/./x";
    EXPECT(SCOPEGATE_RESULT_PATH_REJECTED, scopegate_least_rights(yespo, calls, 2, &r));
    CHECK(r == 77);
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_least_rights(yespo, NULL, 2, &r));
    calls[1].path = NULL;
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_least_rights(yespo, calls, 2, &r));
}

/* scopegate_policy_allows_many answers as scopegate_check does, one call at a time. */
static void many(const scopegate_provider *yespo) {
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "get", "BREW", ""};
    static const char *const paths[] = {
        "contact/12345/subscriptions", "version", "message/email", "orders/551", "contact/../contacts",
        "contact/12345/", "", "https://yespo.io/api/v1/contact/1?x=1", "contact/%C3%A9", "contact/1?q=\xc3",
    };
    enum { M = sizeof methods / sizeof methods[0], P = sizeof paths / sizeof paths[0], N = M * P + 2 };
    const uint64_t ec = 4; /* events_and_contacts */
    scopegate_call calls[N];
    bool out[N];
    bool one = true;
    size_t i;
    size_t allowed = 0;

    for (i = 0; i < M * P; i++) {
        calls[i].method = methods[i / P];
        calls[i].path = paths[i % P];
    }
    calls[M * P].method = NULL;
    calls[M * P].path = "version";
    calls[M * P + 1].method = "GET";
    calls[M * P + 1].path = NULL;
    memset(out, 0, sizeof out);
    OK(scopegate_policy_allows_many(yespo, ec, calls, N, out));
    for (i = 0; i < N; i++) {
        bool want = calls[i].method != NULL && calls[i].path != NULL &&
                    scopegate_check(yespo, ec, calls[i].method, calls[i].path, strlen(calls[i].path)) ==
                        SCOPEGATE_DECISION_ALLOWED;
        CHECK(out[i] == want);
        allowed += want;
    }
    CHECK(allowed >= 3 && allowed < N);
    CHECK(out[1 * P + 0] && out[0 * P + 1] && !out[2 * P + 2]); /* PUT contact/.../subscriptions, GET version */
    CHECK(!out[1 * P + 9] && !out[4 * P + 1] && !out[M * P] && !out[M * P + 1]); /* bad UTF-8, `get`, NULLs */
    /* Other rights, other answers: full_api opens message/email. */
    OK(scopegate_policy_allows_many(yespo, 1, calls + P + 2, 1, &one)); /* PUT message/email: no such endpoint */
    CHECK(!one);
    OK(scopegate_policy_allows_many(yespo, 1, calls + 2 * P + 2, 1, &one)); /* POST message/email */
    CHECK(one);
    /* NULLs: refused, nothing written; an empty batch needs no arrays. */
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_policy_allows_many(NULL, ec, calls, 1, &one));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_policy_allows_many(yespo, ec, NULL, 1, &one));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_policy_allows_many(yespo, ec, calls, 1, NULL));
    CHECK(one);
    OK(scopegate_policy_allows_many(yespo, ec, NULL, 0, NULL));
}

static void messages(void) {
    char buf[64];
    char small[4];
    size_t n = 99;
    scopegate_error_info info;

    scopegate_result_message(SCOPEGATE_RESULT_OK, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "ok") == 0 && n == 2);
    scopegate_result_message(SCOPEGATE_RESULT_NULL_PARAMETER, buf, sizeof buf, &n);
    CHECK(strstr(buf, "NULL") != NULL);
    scopegate_result_message((scopegate_result)4242, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "unknown result") == 0);
    scopegate_result_message(SCOPEGATE_RESULT_TRANSPORT, small, sizeof small, &n);
    CHECK(n == 3 && strcmp(small, "the") == 0); /* cut to fit */
    scopegate_result_message(SCOPEGATE_RESULT_TRANSPORT, NULL, 0, &n);
    CHECK(n == 0);
    scopegate_result_message(SCOPEGATE_RESULT_TRANSPORT, NULL, 0, NULL);

    /* The last error: reading it, even into a buffer too small, does not replace it. */
    {
        scopegate_provider *ignored = NULL;
        EXPECT(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, scopegate_provider_builtin("nope", &ignored));
        CHECK(ignored == NULL);
    }
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_last_error(small, sizeof small, &n));
    CHECK(n > sizeof small);
    OK(scopegate_last_error_info(&info));
    CHECK(info.result == SCOPEGATE_RESULT_UNKNOWN_PROVIDER && info.blame == SCOPEGATE_BLAME_LOCAL);
    LAST_ERROR_HAS("no built-in provider profile named `nope`");
    EXPECT(SCOPEGATE_RESULT_NOT_FOUND, scopegate_last_error_part(SCOPEGATE_ERROR_PART_OAUTH_ERROR, buf, sizeof buf, &n));
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_last_error_part((scopegate_error_part)9, buf, sizeof buf, &n));
    {
        char whole[256];
        OK(scopegate_last_error_part(SCOPEGATE_ERROR_PART_MESSAGE, whole, sizeof whole, &n));
        CHECK(strcmp(whole, last_error()) == 0 && n == strlen(whole));
    }
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_last_error(buf, sizeof buf, NULL));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_last_error_info(NULL));
    LAST_ERROR_HAS("nope");
    /* A success leaves it; clear forgets it. */
    {
        scopegate_provider *p = NULL;
        OK(scopegate_provider_builtin("yuvo", &p));
        LAST_ERROR_HAS("nope");
        scopegate_provider_free(p);
    }
    scopegate_last_error_clear();
    OK(scopegate_last_error(buf, sizeof buf, &n));
    CHECK(n == 0 && buf[0] == '\0');
    OK(scopegate_last_error_info(&info));
    CHECK(info.result == SCOPEGATE_RESULT_OK && info.blame == SCOPEGATE_BLAME_NONE);
}

static void free_null(void) {
    scopegate_provider_free(NULL);
    scopegate_client_free(NULL);
    scopegate_session_free(NULL);
    scopegate_authorization_free(NULL);
    scopegate_http_response_free(NULL);
    CHECK(scopegate_provider_id(NULL) == NULL);
    CHECK(scopegate_provider_all_rights(NULL) == 0);
    CHECK(scopegate_http_response_status(NULL) == 0);
    CHECK(!scopegate_session_is_busy(NULL));
}

int main(void) {
    scopegate_provider *yespo = NULL;
    version();
    loading();
    OK(scopegate_provider_builtin("yespo", &yespo));
    rights(yespo);
    checks(yespo);
    least(yespo);
    many(yespo);
    scopegate_provider_free(yespo);
    messages();
    free_null();
    printf("permissions: ok\n");
    return 0;
}
