/* A minimal HTTP/1.0 client for plain http on loopback (the sandbox): the C tests' own HTTP
 * stack, to play the user's browser and to be the transport of a client or a session.
 * Define _POSIX_C_SOURCE 200809L before any include in the file that includes this. */
#ifndef SCOPEGATE_HTTP_CLIENT_H
#define SCOPEGATE_HTTP_CLIENT_H

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "scopegate.h"

typedef struct http_answer {
    int status;
    char *head;          /* the status line and headers, NUL-terminated */
    unsigned char *body; /* NUL-terminated for convenience; body_len bytes */
    size_t body_len;
} http_answer;

enum { HTTP_OK = 0, HTTP_NOT_SENT = -1, HTTP_MAY_HAVE_BEEN_SENT = -2 };

static inline void http_answer_free(http_answer *a) {
    free(a->head);
    free(a->body);
    memset(a, 0, sizeof *a);
}

/* Sends one request and reads the whole answer (the server closes the connection). Only
 * http://host:port/path. Redirects are not followed. */
static inline int http_exchange(const char *method, const char *url, const scopegate_header *headers,
                                size_t headers_len, const unsigned char *body, size_t body_len,
                                http_answer *out) {
    char host[256];
    char port[16] = "80";
    const char *rest;
    const char *path;
    size_t host_len;
    struct addrinfo hints;
    struct addrinfo *addrs = NULL;
    int fd;
    size_t i;
    char *request;
    size_t request_cap;
    size_t request_len;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    size_t raw_cap = 0;
    char *split;

    memset(out, 0, sizeof *out);
    if (strncmp(url, "http://", 7) != 0) {
        return HTTP_NOT_SENT;
    }
    rest = url + 7;
    host_len = strcspn(rest, ":/?");
    if (host_len == 0 || host_len >= sizeof host) {
        return HTTP_NOT_SENT;
    }
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    rest += host_len;
    if (*rest == ':') {
        size_t port_len = strcspn(rest + 1, "/?");
        if (port_len == 0 || port_len >= sizeof port) {
            return HTTP_NOT_SENT;
        }
        memcpy(port, rest + 1, port_len);
        port[port_len] = '\0';
        rest += 1 + port_len;
    }
    path = *rest ? rest : "/";

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &addrs) != 0) {
        return HTTP_NOT_SENT;
    }
    fd = socket(addrs->ai_family, addrs->ai_socktype, addrs->ai_protocol);
    if (fd < 0 || connect(fd, addrs->ai_addr, addrs->ai_addrlen) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(addrs);
        return HTTP_NOT_SENT;
    }
    freeaddrinfo(addrs);

    request_cap = strlen(method) + strlen(path) + strlen(host) + 128 + body_len;
    for (i = 0; i < headers_len; i++) {
        request_cap += strlen(headers[i].name) + strlen(headers[i].value) + 4;
    }
    request = (char *)malloc(request_cap);
    request_len = (size_t)snprintf(request, request_cap, "%s %s HTTP/1.0\r\nHost: %s:%s\r\n", method, path, host, port);
    for (i = 0; i < headers_len; i++) {
        request_len += (size_t)snprintf(request + request_len, request_cap - request_len, "%s: %s\r\n",
                                        headers[i].name, headers[i].value);
    }
    request_len += (size_t)snprintf(request + request_len, request_cap - request_len,
                                    "Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len);
    if (body_len > 0) {
        memcpy(request + request_len, body, body_len);
        request_len += body_len;
    }
    for (i = 0; i < request_len;) {
        ssize_t w = send(fd, request + i, request_len - i, 0);
        if (w <= 0) {
            free(request);
            close(fd);
            return HTTP_MAY_HAVE_BEEN_SENT;
        }
        i += (size_t)w;
    }
    free(request);

    for (;;) {
        ssize_t r;
        if (raw_cap - raw_len < 4096) {
            raw_cap = raw_cap * 2 + 8192;
            raw = (unsigned char *)realloc(raw, raw_cap);
        }
        r = recv(fd, raw + raw_len, raw_cap - raw_len - 1, 0);
        if (r < 0) {
            free(raw);
            close(fd);
            return HTTP_MAY_HAVE_BEEN_SENT;
        }
        if (r == 0) {
            break;
        }
        raw_len += (size_t)r;
    }
    close(fd);
    if (raw == NULL) {
        return HTTP_MAY_HAVE_BEEN_SENT;
    }
    raw[raw_len] = '\0';
    split = strstr((char *)raw, "\r\n\r\n");
    if (split == NULL || sscanf((char *)raw, "HTTP/%*d.%*d %d", &out->status) != 1) {
        free(raw);
        return HTTP_MAY_HAVE_BEEN_SENT;
    }
    out->head = (char *)malloc((size_t)(split - (char *)raw) + 1);
    memcpy(out->head, raw, (size_t)(split - (char *)raw));
    out->head[split - (char *)raw] = '\0';
    out->body_len = raw_len - (size_t)(split + 4 - (char *)raw);
    out->body = (unsigned char *)malloc(out->body_len + 1);
    memcpy(out->body, split + 4, out->body_len);
    out->body[out->body_len] = '\0';
    free(raw);
    return HTTP_OK;
}

/* Calls `fn(name, value, ctx)` for every header of the answer. */
static inline void http_each_header(const http_answer *a, void (*fn)(const char *, const char *, void *), void *ctx) {
    const char *line = strstr(a->head, "\r\n");
    while (line != NULL) {
        char name[128];
        char value[2048];
        const char *end;
        const char *colon;
        line += 2;
        end = strstr(line, "\r\n");
        if (end == NULL) {
            end = line + strlen(line);
        }
        colon = (const char *)memchr(line, ':', (size_t)(end - line));
        if (colon != NULL && (size_t)(colon - line) < sizeof name) {
            const char *v = colon + 1;
            size_t value_len;
            memcpy(name, line, (size_t)(colon - line));
            name[colon - line] = '\0';
            while (*v == ' ') {
                v++;
            }
            value_len = (size_t)(end - v) < sizeof value - 1 ? (size_t)(end - v) : sizeof value - 1;
            memcpy(value, v, value_len);
            value[value_len] = '\0';
            fn(name, value, ctx);
        }
        line = *end ? end : NULL;
    }
}

/* An answer's headers (the first 32) as scopegate_header values, for
 * scopegate_session_handle_response: fill with http_each_header(&answer, collect, &c). */
typedef struct collected {
    char names[32][128];
    char values[32][1024];
    scopegate_header headers[32];
    size_t len;
} collected;

static inline void collect(const char *name, const char *value, void *ctx) {
    collected *c = (collected *)ctx;
    if (c->len < 32) {
        snprintf(c->names[c->len], sizeof c->names[0], "%s", name);
        snprintf(c->values[c->len], sizeof c->values[0], "%s", value);
        c->headers[c->len].name = c->names[c->len];
        c->headers[c->len].value = c->values[c->len];
        c->len++;
    }
}

typedef struct header_lookup {
    const char *name;
    char *buf;
    size_t len;
    int found;
} header_lookup;

static inline void http_lookup_one(const char *name, const char *value, void *ctx) {
    header_lookup *l = (header_lookup *)ctx;
    if (!l->found && strcasecmp(name, l->name) == 0) {
        snprintf(l->buf, l->len, "%s", value);
        l->found = 1;
    }
}

/* The value of the first header called `name`, into buf; 0 when absent. */
static inline int http_header(const http_answer *a, const char *name, char *buf, size_t len) {
    header_lookup l;
    l.name = name;
    l.buf = buf;
    l.len = len;
    l.found = 0;
    http_each_header(a, http_lookup_one, &l);
    return l.found;
}

/* Plays the user's browser: follows the authorization URL to the sandbox (consent automatic)
 * and returns the callback URL it redirects to (malloc'd), or NULL. */
static inline char *browser_follow(const char *authorization_url) {
    http_answer a;
    char location[2048];
    char *copy;
    if (http_exchange("GET", authorization_url, NULL, 0, NULL, 0, &a) != HTTP_OK) {
        return NULL;
    }
    if (a.status / 100 != 3 || !http_header(&a, "Location", location, sizeof location)) {
        http_answer_free(&a);
        return NULL;
    }
    http_answer_free(&a);
    copy = (char *)malloc(strlen(location) + 1);
    strcpy(copy, location);
    return copy;
}

/* POSTs a JSON control request to the sandbox (`/_sandbox/consent`...); its status. */
static inline int sandbox_control(const char *base, const char *path, const char *json) {
    char url[512];
    http_answer a;
    int status;
    scopegate_header h;
    h.name = "Content-Type";
    h.value = "application/json";
    snprintf(url, sizeof url, "%s%s", base, path);
    if (http_exchange("POST", url, &h, 1, (const unsigned char *)json, strlen(json), &a) != HTTP_OK) {
        return 0;
    }
    status = a.status;
    http_answer_free(&a);
    return status;
}

#endif
