/* Permission checks with Yespo's access-rights matrix, then a client-credentials token for the
 * app itself from Yuvo, here the sandbox's:
 *
 *     scopegate sandbox --port 0 --consent approve      # prints: sandbox listening on URL
 *     ./check_and_token URL
 *
 * The client secret comes from the environment (YUVO_CLIENT_SECRET; the sandbox's app secret
 * when unset), never from the command line; tokens are never printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scopegate.h>

/* Prints the failure with the thread's last error and exits. */
static void fail(const char *what, scopegate_result r) {
    char message[1024];
    size_t n = 0;
    if (scopegate_last_error(message, sizeof message, &n) != SCOPEGATE_RESULT_OK) {
        scopegate_result_message(r, message, sizeof message, &n);
    }
    fprintf(stderr, "%s failed (result %u): %s\n", what, (unsigned)r, message);
    exit(1);
}

#define TRY(call)                                                                                 \
    do {                                                                                          \
        scopegate_result try_r_ = (call);                                                         \
        if (try_r_ != SCOPEGATE_RESULT_OK) {                                                      \
            fail(#call, try_r_);                                                                  \
        }                                                                                         \
    } while (0)

static const char *decision_name(scopegate_decision d) {
    switch (d) {
    case SCOPEGATE_DECISION_ALLOWED:
        return "allowed";
    case SCOPEGATE_DECISION_DENIED:
        return "denied";
    case SCOPEGATE_DECISION_UNKNOWN_ENDPOINT:
        return "unknown endpoint";
    default:
        return "rejected";
    }
}

static void permissions(void) {
    static const char *calls[][2] = {
        {"PUT", "contact/12345/subscriptions"},
        {"POST", "event"},
        {"POST", "message/email"},
        {"GET", "orders/551"},
        {"GET", "contact/../contacts"},
    };
    scopegate_provider *yespo = NULL;
    uint64_t rights = 0;
    size_t i;

    TRY(scopegate_provider_builtin("yespo", &yespo));
    TRY(scopegate_rights_parse(yespo, "events_and_contacts", &rights));
    for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const char *method = calls[i][0];
        const char *path = calls[i][1];
        scopegate_decision d = scopegate_check(yespo, rights, method, path, strlen(path));
        printf("yespo, events_and_contacts: %-6s %-30s %s", method, path, decision_name(d));
        if (d == SCOPEGATE_DECISION_DENIED || d == SCOPEGATE_DECISION_REJECTED) {
            scopegate_decision_detail detail;
            char text[256];
            size_t n = 0;
            TRY(scopegate_check_detail(yespo, rights, method, path, strlen(path), &detail));
            if (d == SCOPEGATE_DECISION_DENIED) {
                TRY(scopegate_rights_names(yespo, detail.would_allow, text, sizeof text, &n));
                printf(" (%s; rights that allow it: %s)", detail.endpoint_template, text);
            } else {
                scopegate_reject_reason_message(detail.reject_reason, text, sizeof text, &n);
                printf(" (%s)", text);
            }
        }
        printf("\n");
    }
    scopegate_provider_free(yespo);
}

static void client_credentials(const char *sandbox) {
    char overrides[1024];
    scopegate_provider *builtin = NULL;
    scopegate_provider *yuvo = NULL;
    scopegate_client_options options;
    scopegate_client *client = NULL;
    scopegate_http_response *response = NULL;
    const char *secret = getenv("YUVO_CLIENT_SECRET");
    size_t needed = 0;
    char *token;
    size_t n = 0;
    scopegate_result r;

    /* The built-in Yuvo profile, every URL pointed at the sandbox. */
    snprintf(overrides, sizeof overrides,
             "[authorization]\nurl = \"%s/yuvo/oauth/authorize/\"\n"
             "[token]\nurl = \"%s/yuvo/oauth/token/\"\n"
             "[api]\nbase_url = \"%s/yuvo\"\n",
             sandbox, sandbox, sandbox);
    TRY(scopegate_provider_builtin("yuvo", &builtin));
    TRY(scopegate_provider_with_overrides(builtin, overrides, strlen(overrides), &yuvo));
    scopegate_provider_free(builtin);

    memset(&options, 0, sizeof options);
    options.client_id = "sandbox-client";
    options.client_secret = secret != NULL ? secret : "sandbox-secret";
    options.store = NULL; /* tokens in memory; a SQLite file's path or a postgres:// URL keeps them */
    TRY(scopegate_client_new(yuvo, &options, &client));
    TRY(scopegate_client_client_credentials(client));

    /* Ask for the size, then read the token (a secret: used, never printed). */
    r = scopegate_client_access_token(client, NULL, 0, &needed);
    if (r != SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
        fail("scopegate_client_access_token (size)", r);
    }
    token = (char *)malloc(needed);
    TRY(scopegate_client_access_token(client, token, needed, &n));
    printf("yuvo: client-credentials token of %zu characters\n", n);
    memset(token, 0, needed);
    free(token);

    TRY(scopegate_client_request(client, "GET", "companies", NULL, 0, &response));
    printf("yuvo: GET companies -> %u\n", (unsigned)scopegate_http_response_status(response));
    scopegate_http_response_free(response);
    scopegate_client_free(client);
    scopegate_provider_free(yuvo);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SANDBOX_URL   (scopegate sandbox prints it)\n", argv[0]);
        return 2;
    }
    printf("scopegate %s\n", scopegate_version());
    permissions();
    client_credentials(argv[1]);
    return 0;
}
