// include/scopegate.hpp, the C++17 wrapper, against the sandbox: RAII and moves, strings in and
// out, scopegate::Error with result, blame, message and OAuth error, NUL bytes refused, the
// permission check without a single allocation, a Client (client credentials, authorization
// code, API calls) and a Session driven by the tests' own HTTP client.
// Built by tests/c_abi.rs with -std=c++17 -Wall -Wextra -Werror -pedantic, also under valgrind
// and AddressSanitizer.
#define _POSIX_C_SOURCE 200809L
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "http_client.h"
#include "scopegate.hpp"

// Every C++ allocation of this program is counted (the permission check must make none). Each
// form of new and delete is replaced, all by malloc and free, so that ASan sees every block
// allocated and freed by the same family. Valgrind replaces operator new and delete wherever
// they are defined, these included (hence noinline: an inlined delete would escape it), so
// under valgrind nothing is counted: the harness says so (SCOPEGATE_TEST_VALGRIND) and the
// count is checked in the plain and ASan runs.
static std::size_t allocations = 0;
#define REPLACED __attribute__((noinline))

static void *counted(std::size_t n) noexcept {
    allocations++;
    return std::malloc(n ? n : 1);
}
REPLACED void *operator new(std::size_t n) {
    if (void *p = counted(n)) {
        return p;
    }
    throw std::bad_alloc();
}
REPLACED void *operator new[](std::size_t n) {
    if (void *p = counted(n)) {
        return p;
    }
    throw std::bad_alloc();
}
REPLACED void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return counted(n); }
REPLACED void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return counted(n); }
REPLACED void operator delete(void *p) noexcept { std::free(p); }
REPLACED void operator delete[](void *p) noexcept { std::free(p); }
REPLACED void operator delete(void *p, std::size_t) noexcept { std::free(p); }
REPLACED void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
REPLACED void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
REPLACED void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

// `call` must throw scopegate::Error with `expected`; the error is given to `then`.
template <class F, class G>
static void expect_error(scopegate_result expected, F call, G then) {
    try {
        call();
    } catch (const scopegate::Error &e) {
        if (e.result() != expected) {
            std::fprintf(stderr, "expected result %u, got %u: %s\n", (unsigned)expected, (unsigned)e.result(), e.what());
            std::exit(1);
        }
        then(e);
        return;
    }
    std::fprintf(stderr, "expected scopegate::Error %u, nothing was thrown\n", (unsigned)expected);
    std::exit(1);
}

static const char *env(const char *name) {
    const char *v = std::getenv(name);
    CHECK(v != nullptr);
    return v;
}

static std::uint64_t now() { return (std::uint64_t)std::time(nullptr); }

static bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

static_assert(!std::is_copy_constructible_v<scopegate::Provider> && !std::is_copy_assignable_v<scopegate::Provider>);
static_assert(std::is_nothrow_move_constructible_v<scopegate::Provider> &&
              std::is_nothrow_move_assignable_v<scopegate::Provider>);
static_assert(!std::is_copy_constructible_v<scopegate::Client> && std::is_nothrow_move_constructible_v<scopegate::Client>);
static_assert(!std::is_copy_constructible_v<scopegate::Session> &&
              std::is_nothrow_move_constructible_v<scopegate::Session>);
static_assert(!std::is_copy_constructible_v<scopegate::Secret> && std::is_nothrow_move_constructible_v<scopegate::Secret>);
static_assert(std::is_base_of_v<std::exception, scopegate::Error>);

static void permissions() {
    auto yespo = scopegate::Provider::builtin("yespo");
    CHECK(yespo.id() == "yespo");
    const scopegate::Rights rights = yespo.rights("events_and_contacts");
    CHECK(rights != 0 && (rights & ~yespo.all_rights()) == 0);
    const std::string path = "contact/12345/subscriptions";
    const std::string_view view(path);

    // The counter works (a string this long is on the heap), unless valgrind took operator new.
    std::size_t probe = allocations;
    const std::string heap(100, 'x');
    const bool counting = allocations > probe && heap.size() == 100;
    CHECK(counting || std::getenv("SCOPEGATE_TEST_VALGRIND") != nullptr);

    const std::size_t before = allocations;
    const bool put = yespo.allows(rights, "PUT", view);
    const bool url = yespo.allows(rights, "PUT", "https://yespo.io/api/v1/contact/12345/subscriptions?x=1");
    const bool email = yespo.allows(rights, "POST", "message/email");
    const scopegate_decision dots = yespo.check(rights, "GET", "contact/../contacts");
    const scopegate_decision unknown = yespo.check(rights, "GET", "no/such/endpoint");
    const scopegate_decision nul_method = yespo.check(rights, std::string_view("PUT\0GET", 7), view);
    const scopegate_decision long_method = yespo.check(rights, "PUTPUTPUTPUTPUTPUT", view);
    const scopegate_decision nul_path = yespo.check(rights, "PUT", std::string_view("contact/1\0/x", 12));
    const scopegate_decision_detail detail = yespo.check_detail(rights, "POST", "message/email");
    const std::size_t made = allocations - before;

    CHECK(made == 0);
    CHECK(put && url && !email);
    CHECK(dots == SCOPEGATE_DECISION_REJECTED && unknown == SCOPEGATE_DECISION_UNKNOWN_ENDPOINT);
    CHECK(nul_method == SCOPEGATE_DECISION_REJECTED && long_method == SCOPEGATE_DECISION_REJECTED);
    CHECK(nul_path == SCOPEGATE_DECISION_REJECTED);
    CHECK(detail.decision == SCOPEGATE_DECISION_DENIED && detail.would_allow != 0);
    CHECK(detail.endpoint_template != nullptr && std::string_view(detail.endpoint_template) == "message/email");
    CHECK(contains(yespo.rights_names(detail.would_allow), "messages"));
    CHECK(yespo.rights_names(rights) == "events_and_contacts");
    CHECK(yespo.least_rights({{"PUT", path}}) != 0);
    CHECK(scopegate::version() == SCOPEGATE_VERSION);
}

static void errors() {
    expect_error(SCOPEGATE_RESULT_UNKNOWN_PROVIDER, [] { scopegate::Provider::builtin("github"); },
                 [](const scopegate::Error &e) {
                     CHECK(contains(e.message(), "github") && std::string_view(e.what()) == e.message());
                     CHECK(e.blame() == SCOPEGATE_BLAME_LOCAL && e.http_status() == 0);
                     CHECK(!e.oauth_error() && !e.oauth_description());
                 });
    auto yespo = scopegate::Provider::builtin("yespo");
    expect_error(SCOPEGATE_RESULT_UNKNOWN_RIGHT, [&] { yespo.rights("events_and_contacts nonsense"); },
                 [](const scopegate::Error &e) { CHECK(contains(e.message(), "nonsense")); });
    // A NUL byte is refused before any C call, never cut short to "yespo".
    expect_error(SCOPEGATE_RESULT_INVALID_PARAMETER, [] { scopegate::Provider::builtin(std::string_view("yespo\0x", 7)); },
                 [](const scopegate::Error &e) { CHECK(contains(e.message(), "NUL") && contains(e.message(), "provider id")); });
    expect_error(SCOPEGATE_RESULT_INVALID_PROFILE, [] { scopegate::Provider::from_toml("id = [unclosed"); },
                 [](const scopegate::Error &e) { CHECK(!e.message().empty()); });
    expect_error(SCOPEGATE_RESULT_INVALID_PARAMETER, [&] { yespo.check_detail(0, std::string_view("GET\0", 4), "x"); },
                 [](const scopegate::Error &) {});
}

static void moves() {
    auto a = scopegate::Provider::builtin("yuvo");
    scopegate_provider *raw = a.get();
    scopegate::Provider b(std::move(a));
    CHECK(!a && a.get() == nullptr && b.get() == raw && b.id() == "yuvo");
    a = std::move(b);
    CHECK(a.get() == raw && !b);
    b = scopegate::Provider::builtin("yespo");
    a = std::move(b);  // the yuvo provider is freed here (valgrind and ASan would see a leak)
    CHECK(a.id() == "yespo" && !b);
    scopegate::Secret s(std::string(40, 'x'));
    scopegate::Secret t(std::move(s));
    CHECK(s.empty() && t.size() == 40);
}

static scopegate::Provider yuvo() {
    return scopegate::Provider::builtin("yuvo").with_overrides(env("SCOPEGATE_TEST_YUVO_OVERRIDES"));
}

static scopegate::ClientOptions sandbox_app() {
    scopegate::ClientOptions o;
    o.client_id = "sandbox-client";
    o.client_secret = "sandbox-secret";
    return o;
}

static void client() {
    const auto provider = yuvo();
    scopegate::Client c(provider, sandbox_app());
    c.client_credentials();
    const scopegate::Secret token = c.access_token();
    CHECK(token.size() > 8);
    scopegate::HttpResponse r = c.request("GET", "companies");
    CHECK(r.status() == 200 && r.body() == "[]");  // the app's own token: no company
    CHECK(r.header("Content-Type").has_value() && !r.header("X-No-Such-Header").has_value());
    expect_error(SCOPEGATE_RESULT_ORIGIN_REFUSED, [&] { c.request("GET", "https://elsewhere.example/x"); },
                 [](const scopegate::Error &) {});

    scopegate::ClientOptions wrong = sandbox_app();
    wrong.client_secret = "wrong-secret-9d2f";
    scopegate::Client refused(provider, wrong);
    expect_error(SCOPEGATE_RESULT_TOKEN_REFUSED, [&] { refused.client_credentials(); }, [](const scopegate::Error &e) {
        CHECK(e.oauth_error() == std::optional<std::string>("invalid_client"));
        CHECK(e.oauth_description() == std::optional<std::string>("bad client credentials"));
        CHECK(e.blame() == SCOPEGATE_BLAME_LOCAL && e.http_status() == 401);
        CHECK(!contains(e.message(), "wrong-secret-9d2f"));
    });

    // The authorization code flow, the tests' HTTP client playing the browser.
    scopegate::ClientOptions web = sandbox_app();
    web.redirect_uri = env("SCOPEGATE_TEST_REDIRECT_URI");
    scopegate::Client w(provider, web);
    const scopegate::Authorization a = w.start_authorization();
    const std::string url = a.url();
    const scopegate::Secret pending = a.pending();
    char *callback = browser_follow(url.c_str());
    CHECK(callback != nullptr);
    const std::string cb(callback);
    std::free(callback);
    expect_error(SCOPEGATE_RESULT_CALLBACK,
                 [&] { w.exchange(pending.expose(), "http://127.0.0.1:9/callback?code=x&state=forged"); },
                 [](const scopegate::Error &e) { CHECK(e.blame() == SCOPEGATE_BLAME_REMOTE); });
    w.exchange(pending.expose(), cb);
    CHECK(w.access_token().size() > 8);
    CHECK(w.stats().exchanges == 1 && w.stats().refreshes_ok == 0);
    CHECK(contains(w.request("GET", "companies").body(), "sandbox-company-1"));
    expect_error(SCOPEGATE_RESULT_TOKEN_REFUSED, [&] { w.exchange(pending.expose(), cb); },
                 [](const scopegate::Error &e) { CHECK(e.oauth_error() == std::optional<std::string>("invalid_grant")); });
}

// Sends what the session asks for until nothing is left; how many requests.
static int drive(scopegate::Session &s, std::uint64_t t) {
    int sent = 0;
    for (scopegate::RequestView r = s.poll_transmit(t); r; r = s.poll_transmit(t)) {
        const scopegate_http_request *v = r.get();
        http_answer answer;
        CHECK(http_exchange(v->method, v->url, v->headers, v->headers_len, v->body, v->body_len, &answer) == HTTP_OK);
        std::vector<scopegate::Header> headers;
        http_each_header(
            &answer,
            [](const char *name, const char *value, void *ctx) {
                static_cast<std::vector<scopegate::Header> *>(ctx)->push_back({name, value});
            },
            &headers);
        s.handle_response(t, r.id(), (std::uint16_t)answer.status, headers,
                          std::string_view(reinterpret_cast<const char *>(answer.body), answer.body_len));
        http_answer_free(&answer);
        sent++;
    }
    return sent;
}

static void session() {
    const auto provider = yuvo();
    scopegate::Session s(provider, sandbox_app());
    const std::uint64_t t = now();
    CHECK(!s.is_busy() && !s.poll_transmit(t));
    s.client_credentials(t);
    CHECK(s.is_busy());
    expect_error(SCOPEGATE_RESULT_BUSY, [&] { s.refresh(t); }, [](const scopegate::Error &) {});
    CHECK(drive(s, t) == 1 && !s.is_busy());
    bool changed = false;
    for (auto e = s.poll_event(); e; e = s.poll_event()) {
        changed = changed || e->kind == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED;
    }
    CHECK(changed);
    CHECK(s.account() == "default");
    const scopegate::Secret tokens = s.tokens();
    CHECK(contains(tokens.expose(), "access_token"));

    scopegate::Session again(provider, sandbox_app());
    again.set_tokens(tokens.expose());
    const scopegate::RequestView api = again.api_request(t, "GET", "companies");
    CHECK(api && api.method() == "GET" && contains(api.url(), "/companies") && api.body().empty());
    bool bearer = false;
    for (std::size_t i = 0; i < api.header_count(); i++) {
        bearer = bearer || (api.header(i).first == "Authorization" && contains(api.header(i).second, "Bearer "));
    }
    CHECK(bearer);
    http_answer answer;
    const scopegate_http_request *v = api.get();
    CHECK(http_exchange(v->method, v->url, v->headers, v->headers_len, v->body, v->body_len, &answer) == HTTP_OK);
    CHECK(answer.status == 200);
    CHECK(again.handle_api_response(t, api.id(), (std::uint16_t)answer.status) == SCOPEGATE_NEXT_STEP_DONE);
    http_answer_free(&answer);
    (void)again.poll_timeout();
    expect_error(SCOPEGATE_RESULT_SERIALIZATION, [&] { again.set_tokens("{not json"); }, [](const scopegate::Error &) {});
    scopegate::ClientOptions with_store = sandbox_app();
    with_store.store = "tokens.db";
    expect_error(SCOPEGATE_RESULT_INVALID_PARAMETER, [&] { scopegate::Session bad(provider, with_store); },
                 [](const scopegate::Error &) {});
}

int main() {
    permissions();
    errors();
    moves();
    client();
    session();
    std::printf("wrapper: ok\n");
    return 0;
}
