/*
 * scopegate.hpp: a header-only C++17 wrapper over the scopegate C ABI (scopegate.h).
 *
 * Thin on purpose: every rule (flows, token refresh, permission matrix, error kinds) stays in
 * the Rust library; this header only turns handles into move-only RAII classes, strings into
 * std::string / std::string_view, and failed results into a scopegate::Error exception that
 * carries the result, the blame, the message and the provider's OAuth error.
 *
 *     #include <scopegate.hpp>      // pkg-config --cflags --libs scopegate
 *
 *     auto yespo = scopegate::Provider::builtin("yespo");
 *     auto rights = yespo.rights("events_and_contacts");
 *     if (yespo.allows(rights, "PUT", "contact/42/subscriptions")) { ... }   // no allocation
 *
 * Conventions:
 * - Handles (Provider, Client, Session, Authorization, HttpResponse) own their C handle, free it
 *   in their destructor, and are move-only; a moved-from handle holds nothing (`get()` is null)
 *   and must only be destroyed or assigned to. Thread safety is the C handle's: a Provider and a
 *   Client may be shared between threads, a Session is used by one thread at a time.
 * - Strings go in as std::string_view; one that holds a NUL byte where the C ABI needs a
 *   NUL-terminated string is refused with Error (SCOPEGATE_RESULT_INVALID_PARAMETER) before any
 *   call, never cut short. Text comes out as std::string.
 * - Secrets (access tokens, the pending authorization, token sets) come out as scopegate::Secret,
 *   whose bytes are overwritten when it is destroyed; read them with `expose()`.
 * - Functions that can fail throw scopegate::Error; the others are noexcept.
 *
 * Extending it: a new C function that returns a scopegate_result is wrapped as
 * `detail::check(scopegate_xxx(...))`, and one that writes text as
 * `detail::text([&](char *b, size_t n, size_t *o) { return scopegate_xxx(..., b, n, o); })`.
 */
#ifndef SCOPEGATE_HPP
#define SCOPEGATE_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scopegate.h"

namespace scopegate {

/** A rights set: bit i is the profile's i-th right (see Provider::rights). */
using Rights = std::uint64_t;

/** A failed call: what the C function returned and the calling thread's last error then. */
class Error : public std::exception {
   public:
    /** An error raised by this header itself (bad input caught before any C call). */
    Error(scopegate_result result, std::string message)
        : result_(result), blame_(SCOPEGATE_BLAME_LOCAL), message_(std::move(message)) {}

    /** The error of a C call that returned `result`, read from the thread's last error. */
    static Error last(scopegate_result result) {
        Error e(result, std::string());
        scopegate_error_info info{};
        if (scopegate_last_error_info(&info) == SCOPEGATE_RESULT_OK && info.result == result) {
            e.blame_ = info.blame;
            e.http_status_ = info.http_status;
        } else {
            e.blame_ = SCOPEGATE_BLAME_NONE;
        }
        e.message_ = read_last([](char *b, std::size_t n, std::size_t *o) { return scopegate_last_error(b, n, o); });
        if (e.message_.empty()) {
            char buf[256];
            std::size_t n = 0;
            scopegate_result_message(result, buf, sizeof buf, &n);
            e.message_.assign(buf, n);
        }
        e.oauth_error_ = part(SCOPEGATE_ERROR_PART_OAUTH_ERROR);
        e.oauth_description_ = part(SCOPEGATE_ERROR_PART_OAUTH_DESCRIPTION);
        return e;
    }

    /** The result the C function returned (never SCOPEGATE_RESULT_OK). */
    scopegate_result result() const noexcept { return result_; }
    /** Who is to blame: the caller (LOCAL), the provider or user (REMOTE), or the environment. */
    scopegate_blame blame() const noexcept { return blame_; }
    /** The HTTP status of the answer that caused it; 0 when there was none. */
    std::uint16_t http_status() const noexcept { return http_status_; }
    /** The message (never a secret), with the provider's error and description when it sent them. */
    const std::string &message() const noexcept { return message_; }
    /** The provider's OAuth `error` code (`invalid_grant`), when it answered with one. */
    const std::optional<std::string> &oauth_error() const noexcept { return oauth_error_; }
    /** The provider's `error_description`, when it sent one. */
    const std::optional<std::string> &oauth_description() const noexcept { return oauth_description_; }
    const char *what() const noexcept override { return message_.c_str(); }

   private:
    template <class F>
    static std::string read_last(F f) {
        std::string s(512, '\0');
        std::size_t n = 0;
        scopegate_result r = f(&s[0], s.size(), &n);
        if (r == SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
            s.assign(n, '\0');
            r = f(&s[0], s.size(), &n);
        }
        if (r != SCOPEGATE_RESULT_OK) {
            return std::string();
        }
        s.resize(n);
        return s;
    }

    static std::optional<std::string> part(scopegate_error_part which) {
        std::string s(256, '\0');
        std::size_t n = 0;
        scopegate_result r = scopegate_last_error_part(which, &s[0], s.size(), &n);
        if (r == SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
            s.assign(n, '\0');
            r = scopegate_last_error_part(which, &s[0], s.size(), &n);
        }
        if (r != SCOPEGATE_RESULT_OK) {
            return std::nullopt;
        }
        s.resize(n);
        return s;
    }

    scopegate_result result_;
    scopegate_blame blame_;
    std::uint16_t http_status_ = 0;
    std::string message_;
    std::optional<std::string> oauth_error_;
    std::optional<std::string> oauth_description_;
};

namespace detail {

/** Overwrites the characters of `s` (a write the compiler keeps), then empties it. */
inline void zero(std::string &s) noexcept {
    volatile char *p = s.empty() ? nullptr : &s[0];
    for (std::size_t i = 0; i < s.size(); i++) {
        p[i] = 0;
    }
    s.clear();
}

}  // namespace detail

/**
 * Secret text (a token, a pending authorization, a token set), overwritten when destroyed.
 * Best effort, as anything in C++: a copy the caller makes of `expose()` is the caller's.
 */
class Secret {
   public:
    Secret() = default;
    explicit Secret(std::string value) noexcept { value_.swap(value); }
    Secret(Secret &&other) noexcept { value_.swap(other.value_); }
    Secret &operator=(Secret &&other) noexcept {
        if (this != &other) {
            detail::zero(value_);
            value_.swap(other.value_);
        }
        return *this;
    }
    Secret(const Secret &) = delete;
    Secret &operator=(const Secret &) = delete;
    ~Secret() { detail::zero(value_); }

    /** The secret itself: never log it. */
    std::string_view expose() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }
    std::size_t size() const noexcept { return value_.size(); }

   private:
    std::string value_;
};

namespace detail {

/** Throws the thread's last error unless `r` is SCOPEGATE_RESULT_OK. */
inline void check(scopegate_result r) {
    if (r != SCOPEGATE_RESULT_OK) {
        throw Error::last(r);
    }
}

/** `s` as a NUL-terminated string; Error when it holds a NUL byte (`what` names the argument). */
inline std::string c_string(std::string_view s, const char *what) {
    if (s.find('\0') != std::string_view::npos) {
        throw Error(SCOPEGATE_RESULT_INVALID_PARAMETER, std::string(what) + " contains a NUL byte");
    }
    return std::string(s);
}

/** Text written by `f(buf, len, out_n)`, asked again with the size needed when too long. */
template <class F>
std::string text(F f) {
    std::string s(256, '\0');
    std::size_t n = 0;
    scopegate_result r = f(&s[0], s.size(), &n);
    if (r == SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
        s.assign(n, '\0');
        r = f(&s[0], s.size(), &n);
    }
    if (r != SCOPEGATE_RESULT_OK) {
        throw Error::last(r);  // nothing was written
    }
    s.resize(n);
    return s;
}

/** An owning handle: `Free` frees it; move-only. */
template <class T, void (*Free)(T *)>
class Handle {
   public:
    Handle() noexcept = default;
    explicit Handle(T *raw) noexcept : raw_(raw) {}
    Handle(Handle &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    Handle &operator=(Handle &&other) noexcept {
        if (this != &other) {
            Free(raw_);
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    ~Handle() { Free(raw_); }

    /** The C handle, still owned by this object (null once moved from). */
    T *get() const noexcept { return raw_; }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

   private:
    T *raw_ = nullptr;
};

}  // namespace detail

/** The library's version (`0.1.0`); compare with SCOPEGATE_VERSION, the header's. */
inline std::string_view version() noexcept { return scopegate_version(); }

/** A provider profile: endpoints, flows, quirks and the access-rights matrix. */
class Provider : public detail::Handle<scopegate_provider, scopegate_provider_free> {
   public:
    using Handle::Handle;

    /** A built-in profile: `yespo`, `reteno`, `yotpo` or `yuvo`. */
    static Provider builtin(std::string_view id) {
        scopegate_provider *out = nullptr;
        detail::check(scopegate_provider_builtin(detail::c_string(id, "provider id").c_str(), &out));
        return Provider(out);
    }
    /** A profile from TOML text (`extends = "yotpo"` lays it over a built-in one). */
    static Provider from_toml(std::string_view toml) {
        scopegate_provider *out = nullptr;
        detail::check(scopegate_provider_from_toml(toml.data(), toml.size(), &out));
        return Provider(out);
    }
    /** A profile file. */
    static Provider from_file(std::string_view path) {
        scopegate_provider *out = nullptr;
        detail::check(scopegate_provider_from_file(detail::c_string(path, "profile path").c_str(), &out));
        return Provider(out);
    }
    /** A copy with the fields of `toml` laid over it. */
    Provider with_overrides(std::string_view toml) const {
        scopegate_provider *out = nullptr;
        detail::check(scopegate_provider_with_overrides(get(), toml.data(), toml.size(), &out));
        return Provider(out);
    }

    /** The profile's id (`yespo`), valid as long as this provider. */
    std::string_view id() const noexcept {
        const char *id = scopegate_provider_id(get());
        return id ? std::string_view(id) : std::string_view();
    }
    /** Every right of the profile. */
    Rights all_rights() const noexcept { return scopegate_provider_all_rights(get()); }
    /** Right ids separated by commas or spaces (`"events_and_contacts, messages"`). */
    Rights rights(std::string_view ids) const {
        Rights out = 0;
        detail::check(scopegate_rights_parse(get(), detail::c_string(ids, "right ids").c_str(), &out));
        return out;
    }
    /** The ids of a rights set, comma-separated. */
    std::string rights_names(Rights rights) const {
        return detail::text([&](char *b, std::size_t n, std::size_t *o) {
            return scopegate_rights_names(get(), rights, b, n, o);
        });
    }

    /**
     * May a token with `rights` call `method` on `path`? Allocates nothing and never throws: a
     * method of more than 15 bytes or with a NUL byte is REJECTED, like any the profile does not
     * know; the path may be bare, carry the API base path, or be a full URL under the API base.
     */
    scopegate_decision check(Rights rights, std::string_view method, std::string_view path) const noexcept {
        char m[16];
        if (!c_method(method, m)) {
            return SCOPEGATE_DECISION_REJECTED;
        }
        return scopegate_check(get(), rights, m, path.data(), path.size());
    }
    /** `check(...) == SCOPEGATE_DECISION_ALLOWED`. */
    bool allows(Rights rights, std::string_view method, std::string_view path) const noexcept {
        return check(rights, method, path) == SCOPEGATE_DECISION_ALLOWED;
    }
    /**
     * `check` with the detail (template, group, deprecation, the rights that would allow it, why
     * a path was rejected); allocates nothing. The strings in it live as long as this provider.
     */
    scopegate_decision_detail check_detail(Rights rights, std::string_view method, std::string_view path) const {
        char m[16];
        if (!c_method(method, m)) {
            throw Error(SCOPEGATE_RESULT_INVALID_PARAMETER, "method is longer than 15 bytes or contains a NUL byte");
        }
        scopegate_decision_detail out{};
        detail::check(scopegate_check_detail(get(), rights, m, path.data(), path.size(), &out));
        return out;
    }
    /** The smallest rights set that allows every (method, path) call. */
    Rights least_rights(const std::vector<std::pair<std::string, std::string>> &calls) const {
        std::vector<scopegate_call> c;
        c.reserve(calls.size());
        for (const auto &call : calls) {
            if (call.first.find('\0') != std::string::npos || call.second.find('\0') != std::string::npos) {
                throw Error(SCOPEGATE_RESULT_INVALID_PARAMETER, "a call's method or path contains a NUL byte");
            }
            c.push_back(scopegate_call{call.first.c_str(), call.second.c_str()});
        }
        Rights out = 0;
        detail::check(scopegate_least_rights(get(), c.data(), c.size(), &out));
        return out;
    }

   private:
    static bool c_method(std::string_view method, char (&m)[16]) noexcept {
        if (method.size() >= sizeof m) {
            return false;
        }
        for (std::size_t i = 0; i < method.size(); i++) {
            if (method[i] == '\0') {
                return false;
            }
            m[i] = method[i];
        }
        m[method.size()] = '\0';
        return true;
    }
};

/** The app's registration and where its tokens live (see scopegate_client_options). */
struct ClientOptions {
    std::string client_id;
    std::optional<std::string> client_secret;  // none: a public client
    std::optional<std::string> redirect_uri;
    std::optional<std::string> store;  // none: in memory; a file: SQLite; postgres://...
    std::optional<std::string> account;     // none: "default"
};

namespace detail {

/** ClientOptions as the C struct, its strings checked for NUL bytes and kept alive by `keep`. */
inline scopegate_client_options c_options(const ClientOptions &o, std::vector<std::string> &keep) {
    keep.reserve(5);
    auto opt = [&](const std::optional<std::string> &s, const char *what) -> const char * {
        if (!s) {
            return nullptr;
        }
        keep.push_back(c_string(*s, what));
        return keep.back().c_str();
    };
    scopegate_client_options c{};
    c.client_id = opt(std::optional<std::string>(o.client_id), "client_id");
    c.client_secret = opt(o.client_secret, "client_secret");
    c.redirect_uri = opt(o.redirect_uri, "redirect_uri");
    c.store = opt(o.store, "store");
    c.account = opt(o.account, "account");
    return c;
}

/** Overwrites the copies of the options' strings (the client secret is one). */
inline void wipe(std::vector<std::string> &keep) noexcept {
    for (auto &s : keep) {
        zero(s);
    }
}

}  // namespace detail

/** A started authorization: the URL for the browser and the pending authorization to keep. */
class Authorization : public detail::Handle<scopegate_authorization, scopegate_authorization_free> {
   public:
    using Handle::Handle;

    /** The URL to send the user's browser to. */
    std::string url() const {
        return detail::text([&](char *b, std::size_t n, std::size_t *o) { return scopegate_authorization_url(get(), b, n, o); });
    }
    /** The pending authorization (versioned JSON): keep it server-side until the callback. */
    Secret pending() const {
        return Secret(detail::text(
            [&](char *b, std::size_t n, std::size_t *o) { return scopegate_authorization_pending(get(), b, n, o); }));
    }
};

/** An answer of Client::request. */
class HttpResponse : public detail::Handle<scopegate_http_response, scopegate_http_response_free> {
   public:
    using Handle::Handle;

    std::uint16_t status() const noexcept { return scopegate_http_response_status(get()); }
    /** The body, valid as long as this response. */
    std::string_view body() const {
        const std::uint8_t *data = nullptr;
        std::size_t len = 0;
        detail::check(scopegate_http_response_body(get(), &data, &len));
        return data ? std::string_view(reinterpret_cast<const char *>(data), len) : std::string_view();
    }
    /** The first header called `name` (case-insensitive), if any. */
    std::optional<std::string> header(std::string_view name) const {
        std::string n = detail::c_string(name, "header name");
        std::string s(256, '\0');
        std::size_t len = 0;
        scopegate_result r = scopegate_http_response_header(get(), n.c_str(), &s[0], s.size(), &len);
        if (r == SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
            s.assign(len, '\0');
            r = scopegate_http_response_header(get(), n.c_str(), &s[0], s.size(), &len);
        }
        if (r == SCOPEGATE_RESULT_NOT_FOUND) {
            return std::nullopt;
        }
        detail::check(r);
        s.resize(len);
        return s;
    }
};

/** A blocking client (one provider, one app, one account), shareable between threads. */
class Client : public detail::Handle<scopegate_client, scopegate_client_free> {
   public:
    using Handle::Handle;

    /** A client with the built-in transport (rustls, no redirects followed). */
    Client(const Provider &provider, const ClientOptions &options) : Handle(make(provider, options)) {}

    /** A client that sends through `callback` (see scopegate_transport_callback). */
    Client(const Provider &provider, const ClientOptions &options, scopegate_transport_callback callback,
           void *userdata)
        : Handle(make(provider, options, callback, userdata)) {}

    /** A token for the app itself (client credentials), with the profile's or these scopes. */
    void client_credentials() { detail::check(scopegate_client_client_credentials(get())); }
    void client_credentials(std::string_view scopes) {
        detail::check(scopegate_client_client_credentials_scopes(get(), detail::c_string(scopes, "scopes").c_str()));
    }
    /** A valid access token, refreshed first when due (one refresh however many threads ask). */
    Secret access_token() {
        return Secret(detail::text(
            [&](char *b, std::size_t n, std::size_t *o) { return scopegate_client_access_token(get(), b, n, o); }));
    }
    void refresh() { detail::check(scopegate_client_refresh(get())); }

    /// The counters since the client was made (refreshes by outcome, exchanges, 401s, waits).
    scopegate_stats stats() const {
        scopegate_stats out{};
        detail::check(scopegate_client_stats(get(), &out));
        return out;
    }
    void revoke() { detail::check(scopegate_client_revoke(get())); }
    void forget() { detail::check(scopegate_client_forget(get())); }
    Authorization start_authorization() {
        scopegate_authorization *out = nullptr;
        detail::check(scopegate_client_start_authorization(get(), &out));
        return Authorization(out);
    }
    /** Checks the callback URL against `pending`, exchanges the code, stores the tokens. */
    void exchange(std::string_view pending, std::string_view callback) {
        detail::check(scopegate_client_exchange(get(), pending.data(), pending.size(),
                                                detail::c_string(callback, "callback").c_str()));
    }
    /** Calls the provider's API (bearer token, refreshed when due); any status is an answer. */
    HttpResponse request(std::string_view method, std::string_view path, std::string_view json_body = {}) {
        scopegate_http_response *out = nullptr;
        detail::check(scopegate_client_request(get(), detail::c_string(method, "method").c_str(),
                                               detail::c_string(path, "path").c_str(),
                                               reinterpret_cast<const std::uint8_t *>(json_body.data()),
                                               json_body.size(), &out));
        return HttpResponse(out);
    }

   private:
    static scopegate_client *make(const Provider &provider, const ClientOptions &options,
                                  scopegate_transport_callback callback = nullptr, void *userdata = nullptr) {
        std::vector<std::string> keep;
        scopegate_client_options c = detail::c_options(options, keep);
        scopegate_client *out = nullptr;
        scopegate_result r = callback ? scopegate_client_new_with_transport(provider.get(), &c, callback, userdata, &out)
                                      : scopegate_client_new(provider.get(), &c, &out);
        detail::wipe(keep);
        detail::check(r);
        return out;
    }
};

}  // namespace scopegate

#include "scopegate_session.hpp"  // scopegate::Session, for services with their own HTTP stack

#endif /* SCOPEGATE_HPP */
