/* The sandbox helpers of the C ABI, as a newcomer's first program uses them: a built-in profile
 * pointed at the sandbox (scopegate_provider_at_sandbox, no TOML written by hand), a web app's
 * two halves with the sandbox playing the user's browser (scopegate_sandbox_authorize), a call,
 * and the helpers' refusals: an id the sandbox does not emulate, a URL that is not one, an
 * authorization URL of another server. */
#include <stdio.h>
#include <string.h>

#include "scopegate.h"
#include "testing.h"

int main(void) {
    const char *base = env("SCOPEGATE_TEST_SANDBOX");
    scopegate_provider *yespo = NULL;
    scopegate_provider *untouched = (scopegate_provider *)&yespo;
    scopegate_provider *none = untouched;
    scopegate_client *c = NULL;
    scopegate_client_options o;
    scopegate_authorization *a = NULL;
    scopegate_http_response *r = NULL;
    char url[2048];
    char pending[4096];
    char callback[2048];
    char expected_id[256];
    char small[8] = "unset";
    size_t pending_len = 0;
    size_t n = 0;
    size_t needed = 0;

    /* The profile: every URL at the sandbox, an id of its own. */
    OK(scopegate_provider_at_sandbox(base, "yespo", &yespo));
    snprintf(expected_id, sizeof expected_id, "yespo@%s", strstr(base, "://") + 3);
    CHECK(strcmp(scopegate_provider_id(yespo), expected_id) == 0);
    EXPECT(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, scopegate_provider_at_sandbox(base, "nosuch", &none));
    LAST_ERROR_HAS("nosuch");
    EXPECT(SCOPEGATE_RESULT_INVALID_PARAMETER, scopegate_provider_at_sandbox("ftp://127.0.0.1:1", "yespo", &none));
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_provider_at_sandbox(NULL, "yespo", &none));
    CHECK(none == untouched);

    /* A web app's two halves, the sandbox playing the browser in between. */
    memset(&o, 0, sizeof o);
    o.client_id = "sandbox-client";
    o.client_secret = "sandbox-secret";
    o.redirect_uri = env("SCOPEGATE_TEST_REDIRECT_URI");
    OK(scopegate_client_new(yespo, &o, &c));
    OK(scopegate_client_start_authorization(c, &a));
    OK(scopegate_authorization_url(a, url, sizeof url, &n));
    OK(scopegate_authorization_pending(a, pending, sizeof pending, &pending_len));
    scopegate_authorization_free(a);

    EXPECT(SCOPEGATE_RESULT_INSUFFICIENT_SIZE, scopegate_sandbox_authorize(base, url, small, sizeof small, &needed));
    CHECK(strcmp(small, "unset") == 0);
    OK(scopegate_sandbox_authorize(base, url, callback, sizeof callback, &n));
    CHECK(n + 1 == needed);
    CHECK(strncmp(callback, o.redirect_uri, strlen(o.redirect_uri)) == 0 && strstr(callback, "code=") != NULL);
    OK(scopegate_client_exchange(c, pending, pending_len, callback));
    OK(scopegate_client_request(c, "GET", "contacts", NULL, 0, &r));
    CHECK(scopegate_http_response_status(r) == 200);
    scopegate_http_response_free(r);

    /* Only that sandbox's URLs; nothing else is fetched. */
    EXPECT(SCOPEGATE_RESULT_TRANSPORT,
           scopegate_sandbox_authorize(base, "http://127.0.0.1:9/elsewhere", callback, sizeof callback, &n));
    LAST_ERROR_HAS("not one of this sandbox's");
    EXPECT(SCOPEGATE_RESULT_NULL_PARAMETER, scopegate_sandbox_authorize(base, NULL, callback, sizeof callback, &n));

    scopegate_client_free(c);
    scopegate_provider_free(yespo);
    puts("sandbox_helpers: ok");
    return 0;
}
