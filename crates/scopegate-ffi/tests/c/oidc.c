/* Issue 23's "done when" from C, against node-oidc-provider (tests/c_oidc.rs starts or finds it
 * and plays the user's browser): a discovered profile logs in as is and refreshes; the device
 * login; a private_key_jwt client (scopegate_client_new_with_key) logs in and refreshes; a
 * PAR-required client logs in with a URL that holds only client_id and request_uri; a
 * DPoP-required client logs in, refreshes and calls the DPoP-protected resource.
 *
 * The browser is the harness: this program writes "AUTHORIZE <url>" and reads the callback URL
 * the provider redirected to on stdin; for the device login it writes "DEVICE <uri>" and the
 * harness approves on the provider's pages while the client polls. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scopegate.h"
#include "testing.h"

static scopegate_provider *discovered;

static scopegate_provider *with(const char *overrides) {
    scopegate_provider *p = NULL;
    OK(scopegate_provider_with_overrides(discovered, overrides, strlen(overrides), &p));
    return p;
}

static scopegate_client_options options(const char *id, const char *secret) {
    scopegate_client_options o;
    memset(&o, 0, sizeof o);
    o.client_id = id;
    o.client_secret = secret;
    o.redirect_uri = env("SCOPEGATE_TEST_REDIRECT_URI");
    return o;
}

/* The authorization code flow: the URL goes to the harness, the callback comes back. Returns
 * the URL the browser was sent to (static). */
static const char *log_in(scopegate_client *c) {
    static char url[4096];
    char callback[4096];
    char *pending;
    size_t n = 0;
    scopegate_authorization *a = NULL;
    OK(scopegate_client_start_authorization(c, &a));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    printf("AUTHORIZE %s\n", url);
    fflush(stdout);
    CHECK(fgets(callback, sizeof callback, stdin) != NULL);
    callback[strcspn(callback, "\r\n")] = '\0';
    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_authorization_pending(a, NULL, 0, &n));
    pending = (char *)malloc(n);
    OK(scopegate_authorization_pending(a, pending, n, &n));
    OK(scopegate_client_exchange(c, pending, n, callback));
    memset(pending, 0, n);
    free(pending);
    scopegate_authorization_free(a);
    return url;
}

static void token_of(scopegate_client *c, char *buf, size_t len) {
    size_t n = 0;
    OK(scopegate_client_access_token(c, buf, len, &n));
    CHECK(n > 0);
}

/* Logs in, then refreshes: a new access token. */
static void log_in_and_refresh(scopegate_client *c) {
    char before[2048];
    char after[2048];
    log_in(c);
    token_of(c, before, sizeof before);
    OK(scopegate_client_refresh(c));
    token_of(c, after, sizeof after);
    CHECK(strcmp(before, after) != 0);
}

static void discovered_profile(void) {
    scopegate_client_options o = options("basic-client", "basic-secret");
    scopegate_client *c = NULL;
    OK(scopegate_client_new(discovered, &o, &c));
    log_in_and_refresh(c);
    scopegate_client_free(c);
}

static void show(void *userdata, const scopegate_user_code *code) {
    (void)userdata;
    CHECK(code->verification_uri_complete != NULL);
    printf("DEVICE %s\n", code->verification_uri_complete);
    fflush(stdout);
}

static void device(void) {
    scopegate_client_options o = options("device-client", "device-secret");
    scopegate_client *c = NULL;
    char before[2048];
    char after[2048];
    o.redirect_uri = NULL;
    OK(scopegate_client_new(discovered, &o, &c));
    OK(scopegate_client_device_login(c, show, NULL));
    token_of(c, before, sizeof before);
    OK(scopegate_client_refresh(c));
    token_of(c, after, sizeof after);
    CHECK(strcmp(before, after) != 0);
    scopegate_client_free(c);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text;
    CHECK(f != NULL);
    text = (char *)calloc(1, 8192);
    CHECK(fread(text, 1, 8191, f) > 0);
    fclose(f);
    return text;
}

static void private_key_jwt(void) {
    scopegate_provider *p = with("[token]\nclient_auth = \"private_key_jwt\"\n");
    scopegate_client_options o = options("jwt-es256", NULL);
    scopegate_client *c = NULL;
    char *pem = read_file(env("SCOPEGATE_TEST_KEY_FILE"));
    OK(scopegate_client_new_with_key(p, &o, pem, NULL, NULL, &c));
    memset(pem, 0, 8192);
    free(pem);
    log_in_and_refresh(c);
    scopegate_client_free(c);
    scopegate_provider_free(p);
}

static void par(void) {
    scopegate_provider *p = with("[authorization]\npar = true\n");
    scopegate_client_options o = options("par-client", "par-secret");
    scopegate_client *c = NULL;
    const char *url;
    OK(scopegate_client_new(p, &o, &c));
    url = log_in(c);
    CHECK(strstr(url, "?client_id=par-client&request_uri=") != NULL);
    CHECK(strstr(url, "code_challenge") == NULL && strstr(url, "state=") == NULL);
    scopegate_client_free(c);
    scopegate_provider_free(p);
}

static void dpop(void) {
    char overrides[1024];
    scopegate_provider *p;
    scopegate_client_options o = options("dpop-client", "dpop-secret");
    scopegate_client *c = NULL;
    scopegate_http_response *r = NULL;
    uint16_t status = 0;
    const uint8_t *body = NULL;
    char text[4096];
    size_t n = 0;
    int i;
    snprintf(overrides, sizeof overrides, "[dpop]\nrequired = true\n[api]\nbase_url = \"%s/api/\"\n",
             env("SCOPEGATE_TEST_OIDC_ISSUER"));
    p = with(overrides);
    OK(scopegate_client_new(p, &o, &c));
    log_in_and_refresh(c);
    for (i = 0; i < 2; i++) {
        OK(scopegate_client_request(c, "GET", "me", NULL, 0, &r));
        status = scopegate_http_response_status(r);
        OK(scopegate_http_response_body(r, &body, &n));
        CHECK(status == 200 && body != NULL && n < sizeof text);
        memcpy(text, body, n);
        text[n] = '\0';
        CHECK(strstr(text, "\"token_type\":\"DPoP\"") != NULL);
        scopegate_http_response_free(r);
        r = NULL;
    }
    scopegate_client_free(c);
    scopegate_provider_free(p);
}

int main(void) {
    OK(scopegate_provider_from_file(env("SCOPEGATE_TEST_OIDC_PROFILE"), &discovered));
    discovered_profile();
    device();
    private_key_jwt();
    par();
    dpop();
    scopegate_provider_free(discovered);
    printf("oidc: ok\n");
    return 0;
}
