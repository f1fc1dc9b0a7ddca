/*
 * scopegate_session.hpp: scopegate::Session, the sans-IO state machine of the C ABI
 * (scopegate_session_*) for a service with its own HTTP stack. Part of scopegate.hpp (include
 * that); see there for the conventions.
 */
#ifndef SCOPEGATE_SESSION_HPP
#define SCOPEGATE_SESSION_HPP

#include "scopegate.hpp"

namespace scopegate {

/** A request to send, as a read-only view owned by the session (see scopegate_http_request). */
class RequestView {
   public:
    RequestView() noexcept = default;
    RequestView(const scopegate_http_request *request, std::uint64_t id) noexcept : r_(request), id_(id) {}

    /** Whether there is a request (poll_transmit gives none when nothing is to be sent). */
    explicit operator bool() const noexcept { return r_ != nullptr; }
    /** The id to hand the answer back with. */
    std::uint64_t id() const noexcept { return id_; }
    std::string_view method() const noexcept { return r_->method; }
    std::string_view url() const noexcept { return r_->url; }
    std::size_t header_count() const noexcept { return r_->headers_len; }
    /** Header `i` (name, value): it may be the `Authorization` header: never log it. */
    std::pair<std::string_view, std::string_view> header(std::size_t i) const noexcept {
        return {r_->headers[i].name, r_->headers[i].value};
    }
    std::string_view body() const noexcept {
        return r_->body_len ? std::string_view(reinterpret_cast<const char *>(r_->body), r_->body_len) : std::string_view();
    }
    std::size_t max_response_bytes() const noexcept { return r_->max_response_bytes; }
    /** The C view, valid until the session's next request of the same kind, or its end. */
    const scopegate_http_request *get() const noexcept { return r_; }

   private:
    const scopegate_http_request *r_ = nullptr;
    std::uint64_t id_ = 0;
};

/** One header of an answer handed back to the session. */
struct Header {
    std::string name;
    std::string value;
};

/**
 * The state machine of one connection, with no sockets and no clock: send what poll_transmit
 * gives, hand the answers back, run the timer, read the events, persist tokens() when
 * SCOPEGATE_EVENT_KIND_TOKENS_CHANGED says so. `now` is Unix seconds. One thread at a time.
 */
class Session : public detail::Handle<scopegate_session, scopegate_session_free> {
   public:
    using Handle::Handle;

    /** A session holding no token yet; `options.store_path` must be empty. */
    Session(const Provider &provider, const ClientOptions &options) : Handle(make(provider, options)) {}

    void set_rights(Rights rights) { detail::check(scopegate_session_set_rights(get(), rights)); }
    Authorization start_authorization(std::uint64_t now) {
        scopegate_authorization *out = nullptr;
        detail::check(scopegate_session_start_authorization(get(), now, &out));
        return Authorization(out);
    }
    void handle_callback(std::uint64_t now, std::string_view pending, std::string_view callback) {
        detail::check(scopegate_session_handle_callback(get(), now, pending.data(), pending.size(),
                                                        detail::c_string(callback, "callback").c_str()));
    }
    /** Starts the client credentials grant, with the profile's scopes or these. */
    void client_credentials(std::uint64_t now) {
        detail::check(scopegate_session_client_credentials(get(), now, nullptr));
    }
    void client_credentials(std::uint64_t now, std::string_view scopes) {
        detail::check(scopegate_session_client_credentials(get(), now, detail::c_string(scopes, "scopes").c_str()));
    }
    void refresh(std::uint64_t now) { detail::check(scopegate_session_refresh(get(), now)); }
    void revoke(std::uint64_t now) { detail::check(scopegate_session_revoke(get(), now)); }
    /** The held token set, serialized (versioned JSON): store it safely. */
    Secret tokens() {
        return Secret(detail::text(
            [&](char *b, std::size_t n, std::size_t *o) { return scopegate_session_tokens(get(), b, n, o); }));
    }
    void set_tokens(std::string_view tokens) {
        detail::check(scopegate_session_set_tokens(get(), tokens.data(), tokens.size()));
    }
    void forget() { detail::check(scopegate_session_forget(get())); }
    std::string account() {
        return detail::text(
            [&](char *b, std::size_t n, std::size_t *o) { return scopegate_session_account(get(), b, n, o); });
    }
    bool is_busy() const noexcept { return scopegate_session_is_busy(get()); }
    bool needs_refresh(std::uint64_t now) const noexcept { return scopegate_session_needs_refresh(get(), now); }

    /** The next request to send; empty (false) when nothing is to be sent now. */
    RequestView poll_transmit(std::uint64_t now) {
        const scopegate_http_request *r = nullptr;
        std::uint64_t id = 0;
        detail::check(scopegate_session_poll_transmit(get(), now, &r, &id));
        return RequestView(r, id);
    }
    /** The answer to request `id`, whatever its status. */
    void handle_response(std::uint64_t now, std::uint64_t id, std::uint16_t status, const std::vector<Header> &headers,
                         std::string_view body) {
        std::vector<scopegate_header> h;
        h.reserve(headers.size());
        for (const auto &header : headers) {
            if (header.name.find('\0') != std::string::npos || header.value.find('\0') != std::string::npos) {
                throw Error(SCOPEGATE_RESULT_INVALID_PARAMETER, "a header's name or value contains a NUL byte");
            }
            h.push_back(scopegate_header{header.name.c_str(), header.value.c_str()});
        }
        detail::check(scopegate_session_handle_response(get(), now, id, status, h.empty() ? nullptr : h.data(),
                                                        h.size(), reinterpret_cast<const std::uint8_t *>(body.data()),
                                                        body.size()));
    }
    /** Request `id` could not be completed; `reason` goes into messages (no secrets). */
    void handle_transport_error(std::uint64_t now, std::uint64_t id, scopegate_transport_failure failure,
                                std::string_view reason) {
        detail::check(scopegate_session_handle_transport_error(get(), now, id, failure,
                                                               detail::c_string(reason, "reason").c_str()));
    }
    /** When (Unix seconds) handle_timeout is due; none when no timer is set. */
    std::optional<std::uint64_t> poll_timeout() const {
        std::uint64_t at = SCOPEGATE_NO_TIMEOUT;
        detail::check(scopegate_session_poll_timeout(get(), &at));
        return at == SCOPEGATE_NO_TIMEOUT ? std::nullopt : std::optional<std::uint64_t>(at);
    }
    void handle_timeout(std::uint64_t now) { detail::check(scopegate_session_handle_timeout(get(), now)); }
    /** The next event; none when no event waits. Drain them after every call. */
    std::optional<scopegate_event> poll_event() {
        scopegate_event e{};
        detail::check(scopegate_session_poll_event(get(), &e));
        return e.kind == SCOPEGATE_EVENT_KIND_NONE ? std::nullopt : std::optional<scopegate_event>(e);
    }
    /** An API request with the held token (checked against the rights set with set_rights). */
    RequestView api_request(std::uint64_t now, std::string_view method, std::string_view path,
                            std::string_view json_body = {}) {
        const scopegate_http_request *r = nullptr;
        std::uint64_t id = 0;
        detail::check(scopegate_session_api_request(
            get(), now, detail::c_string(method, "method").c_str(), detail::c_string(path, "path").c_str(),
            reinterpret_cast<const std::uint8_t *>(json_body.data()), json_body.size(), &r, &id));
        return RequestView(r, id);
    }
    /** The status of the answer to API request `id`: what to do next. */
    scopegate_next_step handle_api_response(std::uint64_t now, std::uint64_t id, std::uint16_t status) {
        scopegate_next_step step{};
        detail::check(scopegate_session_handle_api_response(get(), now, id, status, &step));
        return step;
    }

   private:
    static scopegate_session *make(const Provider &provider, const ClientOptions &options) {
        std::vector<std::string> keep;
        scopegate_client_options c = detail::c_options(options, keep);
        scopegate_session *out = nullptr;
        scopegate_result r = scopegate_session_new(provider.get(), &c, &out);
        detail::wipe(keep);
        detail::check(r);
        return out;
    }
};

}  // namespace scopegate

#endif /* SCOPEGATE_SESSION_HPP */
