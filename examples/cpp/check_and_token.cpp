// examples/c/check_and_token.c in C++17 with <scopegate.hpp>: permission checks with Yespo's
// access-rights matrix, then a client-credentials token for the app itself from Yuvo, here the
// sandbox's, and one API call:
//
//     scopegate sandbox --port 0 --consent approve      # prints: sandbox listening on URL
//     ./check_and_token URL
//
// The client secret comes from the environment (YUVO_CLIENT_SECRET; the sandbox's app secret
// when unset), never from the command line; the token is never printed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <scopegate.hpp>

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

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s SANDBOX_URL\n", argv[0]);
        return 2;
    }
    try {
        const auto yespo = scopegate::Provider::builtin("yespo");
        const scopegate::Rights rights = yespo.rights("events_and_contacts");
        const std::pair<const char *, const char *> calls[] = {
            {"PUT", "contact/12345/subscriptions"},
            {"POST", "message/email"},
            {"GET", "contact/../contacts"},
        };
        for (const auto &[method, path] : calls) {
            std::printf("%-4s %-30s %s\n", method, path, decision_name(yespo.check(rights, method, path)));
        }

        const std::string base = argv[1];
        const auto yuvo = scopegate::Provider::builtin("yuvo").with_overrides(
            "[authorization]\nurl = \"" + base + "/yuvo/oauth/authorize/\"\n"
            "[token]\nurl = \"" + base + "/yuvo/oauth/token/\"\n"
            "[api]\nbase_url = \"" + base + "/yuvo\"\n");
        scopegate::ClientOptions options;
        options.client_id = "sandbox-client";
        const char *secret = std::getenv("YUVO_CLIENT_SECRET");
        options.client_secret = secret ? secret : "sandbox-secret";
        scopegate::Client client(yuvo, options);
        client.client_credentials();
        const scopegate::Secret token = client.access_token();
        std::printf("yuvo: a token for the app (%zu characters, not shown)\n", token.size());
        const scopegate::HttpResponse companies = client.request("GET", "companies");
        std::printf("GET companies: %u, %zu bytes\n", companies.status(), companies.body().size());
        return companies.status() == 200 ? 0 : 1;
    } catch (const scopegate::Error &e) {
        std::fprintf(stderr, "failed (result %u%s%s): %s\n", (unsigned)e.result(), e.oauth_error() ? ", " : "",
                     e.oauth_error() ? e.oauth_error()->c_str() : "", e.what());
        return 1;
    }
}
