/* A scopegate_session driven by a service's own HTTP stack, here libcurl's easy interface: the
 * authorization code flow against the sandbox's Yuvo (curl plays the user's browser too), the
 * token set persisted as bytes, an API call, and the refresh the session's timer asks for.
 *
 *     scopegate sandbox --port 0 --consent approve      # prints: sandbox listening on URL
 *     ./curl_session URL [TOKENS_FILE]
 *
 * scopegate decides (which request, when, what the answer means); curl only moves bytes. */
#define _POSIX_C_SOURCE 200809L /* open, fsync, rename with mode bits: the token file is 0600 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <scopegate.h>

#define REDIRECT_URI "http://127.0.0.1:9/callback"

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

/* ---- one HTTP exchange with curl -------------------------------------------------------- */

typedef struct answer {
    unsigned char *body;
    size_t len;
    size_t limit;
    int too_large;
    char names[32][128];
    char values[32][1024];
    scopegate_header headers[32];
    size_t headers_len;
} answer;

static size_t on_body(char *data, size_t size, size_t count, void *userdata) {
    answer *a = (answer *)userdata;
    size_t n = size * count;
    if (a->len + n > a->limit) {
        a->too_large = 1;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    a->body = (unsigned char *)realloc(a->body, a->len + n + 1);
    memcpy(a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return n;
}

static size_t on_header(char *line, size_t size, size_t count, void *userdata) {
    answer *a = (answer *)userdata;
    size_t n = size * count;
    char *colon = (char *)memchr(line, ':', n);
    if (colon != NULL && a->headers_len < 32 && (size_t)(colon - line) < sizeof a->names[0]) {
        size_t name_len = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t v_len = n - name_len - 1;
        while (v_len > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            v_len--;
        }
        while (v_len > 0 && (v[v_len - 1] == '\r' || v[v_len - 1] == '\n')) {
            v_len--;
        }
        if (v_len < sizeof a->values[0]) {
            memcpy(a->names[a->headers_len], line, name_len);
            a->names[a->headers_len][name_len] = '\0';
            memcpy(a->values[a->headers_len], v, v_len);
            a->values[a->headers_len][v_len] = '\0';
            a->headers[a->headers_len].name = a->names[a->headers_len];
            a->headers[a->headers_len].value = a->values[a->headers_len];
            a->headers_len++;
        }
    }
    return n;
}

/* Sends a scopegate request view as it is (never following redirects). Returns the HTTP
 * status, or 0 with *failure set when no answer came. */
static long send_request(CURL *curl, const scopegate_http_request *r, answer *a, scopegate_transport_failure *failure,
                         const char **reason) {
    struct curl_slist *headers = NULL;
    char line[2048];
    size_t i;
    long status = 0;
    CURLcode rc;

    memset(a, 0, sizeof *a);
    a->limit = r->max_response_bytes;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, r->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    for (i = 0; i < r->headers_len; i++) {
        snprintf(line, sizeof line, "%s: %s", r->headers[i].name, r->headers[i].value);
        headers = curl_slist_append(headers, line);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (r->body_len > 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)r->body);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    *reason = curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OK:
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        return status;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        *failure = SCOPEGATE_TRANSPORT_FAILURE_CONNECT; /* nothing was sent: may be retried */
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        *failure = SCOPEGATE_TRANSPORT_FAILURE_TLS;
        break;
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t connected = 0;
        curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected);
        *failure = connected == 0 ? SCOPEGATE_TRANSPORT_FAILURE_CONNECT_TIMEOUT : SCOPEGATE_TRANSPORT_FAILURE_RESPONSE_TIMEOUT;
        break;
    }
    default:
        *failure = a->too_large ? SCOPEGATE_TRANSPORT_FAILURE_BODY_TOO_LARGE : SCOPEGATE_TRANSPORT_FAILURE_IO;
        break;
    }
    return 0;
}

/* ---- the session's I/O loop ------------------------------------------------------------- */

/* Sends what the session asks for until nothing is left to send at `now`. */
static void drive(scopegate_session *s, CURL *curl, uint64_t now) {
    for (;;) {
        const scopegate_http_request *r = NULL;
        uint64_t id = 0;
        answer a;
        scopegate_transport_failure failure = SCOPEGATE_TRANSPORT_FAILURE_IO;
        const char *reason = "";
        long status;
        TRY(scopegate_session_poll_transmit(s, now, &r, &id));
        if (r == NULL) {
            return;
        }
        status = send_request(curl, r, &a, &failure, &reason);
        if (status > 0) {
            TRY(scopegate_session_handle_response(s, now, id, (uint16_t)status, a.headers, a.headers_len, a.body, a.len));
        } else {
            TRY(scopegate_session_handle_transport_error(s, now, id, failure, reason));
        }
        free(a.body);
    }
}

/* Writes the token set for the next run: into a new file only the user can read (created 0600,
 * so there is no moment in which others could; fopen("w") would give 0644 under the usual umask),
 * then renamed over `path` in one step, so that a crash leaves the old token set or the new one,
 * never half of one. A real service: its database, sealed. Returns 0 on success. */
static int persist(const char *path, const char *bytes, size_t n) {
    char tmp[4096];
    int fd;
    int ok;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        return -1;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
    if (fd < 0) {
        return -1;
    }
    ok = write(fd, bytes, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Reads the session's events; persists the token set when it changed. */
static void events(scopegate_session *s, const char *tokens_file) {
    scopegate_event ev;
    for (;;) {
        TRY(scopegate_session_poll_event(s, &ev));
        if (ev.kind == SCOPEGATE_EVENT_KIND_NONE) {
            return;
        }
        if (ev.kind == SCOPEGATE_EVENT_KIND_TOKENS_CHANGED) {
            size_t needed = 0;
            size_t n = 0;
            char *bytes;
            /* The size first: a buffer of 0 bytes is too small, and *out_n says how many are needed. */
            scopegate_result size_r = scopegate_session_tokens(s, NULL, 0, &needed);
            if (size_r != SCOPEGATE_RESULT_INSUFFICIENT_SIZE) {
                fail("scopegate_session_tokens (size)", size_r);
            }
            bytes = (char *)malloc(needed);
            TRY(scopegate_session_tokens(s, bytes, needed, &n));
            if (persist(tokens_file, bytes, n) != 0) { /* before the new token is used */
                fprintf(stderr, "cannot write %s\n", tokens_file);
                exit(1);
            }
            memset(bytes, 0, needed);
            free(bytes);
            printf("event: tokens changed, token set persisted (%zu bytes)\n", n);
        } else if (ev.kind == SCOPEGATE_EVENT_KIND_FAILED) {
            fail("the operation", ev.result);
        } else {
            printf("event: %u\n", (unsigned)ev.kind);
        }
    }
}

/* Plays the user's browser: GET the authorization URL, return where it redirects. */
static char *browser(CURL *curl, const char *url) {
    char *location = NULL;
    char *copy = NULL;
    answer a;
    memset(&a, 0, sizeof a);
    a.limit = 1 << 20;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    if (curl_easy_perform(curl) == CURLE_OK && curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
        location != NULL) {
        copy = (char *)malloc(strlen(location) + 1);
        strcpy(copy, location);
    }
    free(a.body);
    return copy;
}

int main(int argc, char **argv) {
    const char *sandbox;
    const char *tokens_file = argc > 2 ? argv[2] : "tokens.json";
    char overrides[1024];
    scopegate_provider *builtin = NULL;
    scopegate_provider *yuvo = NULL;
    scopegate_client_options options;
    scopegate_session *s = NULL;
    scopegate_authorization *auth = NULL;
    char url[2048];
    char pending[4096];
    size_t n = 0;
    size_t pending_len = 0;
    char *callback;
    uint64_t now = (uint64_t)time(NULL);
    uint64_t due = 0;
    const scopegate_http_request *r = NULL;
    uint64_t id = 0;
    answer a;
    scopegate_transport_failure failure = SCOPEGATE_TRANSPORT_FAILURE_IO;
    const char *reason = "";
    scopegate_next_step step;
    long status;
    CURL *curl;

    if (argc < 2) {
        fprintf(stderr, "usage: %s SANDBOX_URL [TOKENS_FILE]\n", argv[0]);
        return 2;
    }
    sandbox = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();

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
    options.client_secret = getenv("YUVO_CLIENT_SECRET") != NULL ? getenv("YUVO_CLIENT_SECRET") : "sandbox-secret";
    options.redirect_uri = REDIRECT_URI;
    TRY(scopegate_session_new(yuvo, &options, &s));

    /* 1. Send the user to the authorization URL; keep the pending bytes (their web session). */
    TRY(scopegate_session_start_authorization(s, now, &auth));
    TRY(scopegate_authorization_url(auth, url, sizeof url, &n));
    TRY(scopegate_authorization_pending(auth, pending, sizeof pending, &pending_len));
    scopegate_authorization_free(auth);
    callback = browser(curl, url);
    if (callback == NULL) {
        fprintf(stderr, "the sandbox did not redirect back\n");
        return 1;
    }
    /* 2. The browser comes back: the session checks it and exchanges the code over curl. */
    TRY(scopegate_session_handle_callback(s, now, pending, pending_len, callback));
    free(callback);
    memset(pending, 0, sizeof pending);
    drive(s, curl, now);
    events(s, tokens_file);

    /* 3. An API call: the session adds the bearer token and keeps it inside the API. */
    TRY(scopegate_session_api_request(s, now, "GET", "companies", NULL, 0, &r, &id));
    status = send_request(curl, r, &a, &failure, &reason);
    if (status == 0) {
        fprintf(stderr, "GET companies: no answer: %s\n", reason);
        return 1;
    }
    TRY(scopegate_session_handle_api_response(s, now, id, (uint16_t)status, &step));
    printf("GET companies -> %ld %s\n", status, a.body != NULL ? (const char *)a.body : "");
    free(a.body);
    events(s, tokens_file);

    /* 4. The timer: when the refresh is due, the session starts it itself. */
    TRY(scopegate_session_poll_timeout(s, &due));
    printf("refresh due in %llu s\n", (unsigned long long)(due - now));
    TRY(scopegate_session_handle_timeout(s, due)); /* as if the time had come */
    drive(s, curl, due);
    events(s, tokens_file);

    scopegate_session_free(s);
    scopegate_provider_free(yuvo);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    printf("curl_session: ok\n");
    return 0;
}
