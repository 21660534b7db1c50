/* The web server on libwebsockets, sharing the service's libuv loop: routes each HTTP request
 * (API, join link, pages, health), serves /static/ from the web folder through a file mount,
 * and carries each browser's WebSocket messages to and from conf.c. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/rand.h>

#include "api.h"
#include "conf.h"
#include "config.h"
#include "core/list.h"
#include "core/log.h"
#include "link.h"
#include "sfu_link.h"
#include "wsmsg.h"

#define TAG "http"

#define SESSION_COOKIE "gpsfu_sid"
#define SESSION_HEX    32                 /* 128 random bits */
#define WS_QUEUE_MAX   (4u * 1024 * 1024) /* bytes queued for one browser before it is cut off */
#define PAGE_MAX       (256u * 1024)      /* join.html and index.html, read at start */
#define PATH_MAX_LEN   512
/* As long as the longest a link can live (90 days, the API's expires_in limit): one browser's
 * session may hold links of different lives, and must outlast every one of them. */
#define SESSION_MAX_AGE_S (7776000 + TOKEN_CLOCK_SKEW_S)
#define WS_JOIN_TIMEOUT_S 30 /* from opening a WebSocket to joining */
#define WS_IDLE_TIMEOUT_S 60 /* between messages once joined */
#define SUBPROTOCOL       "gpsfu-v1"

/* The web client's pages: only this origin's scripts and styles, and WebSockets back to it. */
#define PAGE_CSP                                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "                \
    "base-uri 'none'; form-action 'self'"

struct server {
    struct server_params p;
    struct lws_context *ctx; /* owned */
    struct lws_vhost *vhost; /* borrowed from ctx */
    bool tls;
    char *join_page; /* owned: web/join.html */
    size_t join_len;
    char *index_page; /* owned: web/index.html */
    size_t index_len;
    struct lws_http_mount mount;
    struct lws_protocol_vhost_options headers[6];
    char static_origin[SIG_CONFIG_PATH_MAX + 8];
};

/* One HTTP exchange. */
struct http_pss {
    char path[PATH_MAX_LEN];
    char method[8];
    char *body; /* owned: the request body as it arrives */
    size_t body_len;
    bool body_too_large;
    bool routed;  /* answered already: a body sent with a GET or DELETE is ignored */
    uint8_t *out; /* owned: LWS_PRE bytes of headroom, then the response body */
    size_t out_len;
    /* A response that waits for the SFU (consultation stats). */
    struct lws *wsi;              /* borrowed, for the answer's callback */
    struct conf_stats_req *stats; /* borrowed from conf.c until answered or cancelled */
    bool stats_done;
    int stats_status;
    char *stats_json; /* owned */
};

/* One queued WebSocket message, with the headroom lws_write wants. */
struct ws_out {
    struct list node;
    size_t len;
    uint8_t buf[]; /* LWS_PRE + len */
};

/* One browser's WebSocket. */
struct ws_pss {
    struct lws *wsi; /* borrowed */
    struct server *srv;
    struct conf_conn *conn; /* owned by conf.c; freed by conf_conn_closed; NULL after a
                             * resume moved its participant to another socket */
    bool live;              /* ESTABLISHED seen: out and rx are to be released at CLOSED */
    struct list out;        /* struct ws_out */
    size_t out_bytes;
    bool close_after; /* conf asked to close once the queue is empty */
    char *rx;         /* owned: the message being reassembled from fragments */
    size_t rx_len;
    bool rx_too_large;
    bool rx_binary;
};

static struct server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* --- HTTP responses ------------------------------------------------------------------------- */

/* Queues status, headers and body (len bytes, copied); the body goes out when writable. */
static int respond(struct lws *wsi, struct http_pss *pss, int status, const char *ctype,
                   const char *body, size_t len, const char *const *extra)
{
    uint8_t hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end))
        return -1;
    for (size_t i = 0; extra && extra[i]; i += 2) {
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)extra[i],
                                        (const unsigned char *)extra[i + 1],
                                        (int)strlen(extra[i + 1]), &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (len == 0) {
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    free(pss->out);
    pss->out = malloc(LWS_PRE + len);
    if (!pss->out)
        return -1;
    memcpy(pss->out + LWS_PRE, body, len);
    pss->out_len = len;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_json_error(struct lws *wsi, struct http_pss *pss, int status, const char *code,
                              const char *message)
{
    char body[512];
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(body, sizeof(body), "%s", text ? text : "{\"error\":{\"code\":\"internal\"}}");
    free(text);
    json_decref(j);
    return respond(wsi, pss, status, "application/json", body, strlen(body), NULL);
}

static void hdr_get(struct lws *wsi, enum lws_token_indexes h, char *out, size_t cap)
{
    out[0] = '\0';
    if (lws_hdr_total_length(wsi, h) <= 0 || lws_hdr_copy(wsi, out, (int)cap, h) < 0)
        out[0] = '\0';
}

/* A person's browser asks for HTML; a program asks for JSON or anything else. */
static bool wants_html(struct lws *wsi)
{
    char accept[512];
    hdr_get(wsi, WSI_TOKEN_HTTP_ACCEPT, accept, sizeof(accept));
    return strstr(accept, "text/html") != NULL;
}

/* The session id from the gpsfu_sid cookie, when well formed. lws finds the cookie however
 * long the Cookie header is (a practice's domain may carry a few KiB of others). */
static bool session_get(struct lws *wsi, char out[SESSION_HEX + 1])
{
    char v[SESSION_HEX + 2];
    size_t n = sizeof(v);
    if (lws_http_cookie_get(wsi, SESSION_COOKIE, v, &n) != 0 || n != SESSION_HEX ||
        strspn(v, "0123456789abcdef") != SESSION_HEX)
        return false;
    memcpy(out, v, SESSION_HEX);
    out[SESSION_HEX] = '\0';
    return true;
}

static int session_new(char out[SESSION_HEX + 1])
{
    uint8_t raw[SESSION_HEX / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* GET /join/TOKEN: the link is checked (not used: link previews must not use it up) before
 * the client is served; a refused link gets a page that says why, or JSON for a program. */
static int serve_join(struct lws *wsi, struct http_pss *pss, struct server *s, const char *token)
{
    char sid[SESSION_HEX + 1], cookie[192];
    bool had = session_get(wsi, sid);
    struct link_info info;
    int64_t now = (int64_t)time(NULL);
    if (!had && session_new(sid) < 0)
        return respond_json_error(wsi, pss, 500, "internal", "no random numbers");
    int rc = link_check(s->p.api->token_secret, s->p.api->token_secret_len, s->p.store, token,
                        strlen(token), sid, now, &info);
    /* Lax, not Strict: a patient who opens the link again from the SMS app arrives by a
     * cross-site navigation, and must present the session the link is bound to. It outlasts
     * every link, so that a patient who closed the browser after a first visit still gets
     * in at the appointment. A refused link leaves a browser's cookie as it was. */
    int64_t max_age = rc == 0 ? SESSION_MAX_AGE_S : 0;
    snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax%s", sid,
             s->tls ? "; Secure" : "");
    if (max_age > 0)
        snprintf(cookie + strlen(cookie), sizeof(cookie) - strlen(cookie), "; Max-Age=%lld",
                 (long long)max_age);
    const char *extra[] = {
        "set-cookie:", cookie, "cache-control:", "no-store", "content-security-policy:",
        PAGE_CSP,      NULL};
    if (rc < 0) {
        struct link_error e = link_error_of(rc);
        log_info(TAG, "join link refused: %s", e.code);
        if (!wants_html(wsi))
            return respond_json_error(wsi, pss, e.status, e.code, e.message);
        char *page = link_error_page(&e);
        if (!page)
            return -1;
        const char *eh[] = {"cache-control:",
                            "no-store",
                            "content-security-policy:",
                            LINK_ERROR_PAGE_CSP,
                            had ? NULL : "set-cookie:",
                            cookie,
                            NULL};
        int r = respond(wsi, pss, e.status, "text/html; charset=utf-8", page, strlen(page), eh);
        free(page);
        return r;
    }
    if (!wants_html(wsi)) {
        char body[256];
        snprintf(body, sizeof(body), "{\"consultation\":\"%s\",\"role\":\"%s\"}",
                 info.claims.consultation, token_role_name(info.claims.role));
        return respond(wsi, pss, 200, "application/json", body, strlen(body), extra);
    }
    return respond(wsi, pss, 200, "text/html; charset=utf-8", s->join_page, s->join_len, extra);
}

static int serve_health(struct lws *wsi, struct http_pss *pss, struct server *s)
{
    struct conf_hub_counts n;
    char body[256];
    bool up = s->p.link && sfu_link_is_up(s->p.link);
    conf_hub_counts(s->p.hub, &n);
    snprintf(body, sizeof(body),
             "{\"status\":\"%s\",\"sfu\":\"%s\",\"rooms\":%zu,\"connections\":%zu,"
             "\"participants\":%zu}",
             up ? "ok" : "degraded", up ? "up" : "down", n.rooms, n.connections, n.participants);
    return respond(wsi, pss, up ? 200 : 503, "application/json", body, strlen(body), NULL);
}

static int serve_api_resp(struct lws *wsi, struct http_pss *pss, const struct api_resp *resp);

static int serve_api(struct lws *wsi, struct http_pss *pss, struct server *s)
{
    char auth[512];
    struct api_resp resp;
    hdr_get(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth));
    if (pss->body_too_large)
        return respond_json_error(wsi, pss, 413, "too_large", "the request body is too large");
    struct api_req req = {
        .method = pss->method,
        .path = pss->path,
        .authorization = auth[0] ? auth : NULL,
        .body = pss->body,
        .body_len = pss->body_len,
        .now = (int64_t)time(NULL),
    };
    if (api_handle(s->p.api, &req, &resp) < 0)
        return respond_json_error(wsi, pss, 500, "internal", "out of memory");
    int rc = serve_api_resp(wsi, pss, &resp);
    api_resp_free(&resp);
    return rc;
}

static int serve_api_resp(struct lws *wsi, struct http_pss *pss, const struct api_resp *resp)
{
    /* Answers hold links, which are secrets: no cache may keep them. */
    const char *extra[7] = {"cache-control:", "no-store", NULL};
    size_t k = 2;
    if (resp->allow) {
        extra[k++] = "allow:";
        extra[k++] = resp->allow;
    }
    if (resp->www_authenticate) {
        extra[k++] = "www-authenticate:";
        extra[k++] = "Bearer";
    }
    return respond(wsi, pss, resp->status, "application/json", resp->body,
                   resp->body ? resp->body_len : 0, extra);
}

static void stats_answered(void *arg, int status, char *json)
{
    struct http_pss *pss = arg;
    pss->stats = NULL;
    pss->stats_done = true;
    pss->stats_status = status;
    pss->stats_json = json;
    lws_callback_on_writable(pss->wsi);
}

static int stats_respond(struct lws *wsi, struct http_pss *pss)
{
    pss->stats_done = false;
    if (pss->stats_status == -ENOENT)
        return respond_json_error(wsi, pss, 404, "not_live",
                                  "nobody is connected to this consultation");
    if (pss->stats_status < 0)
        return respond_json_error(wsi, pss, 503, "unavailable",
                                  "the media server cannot be reached");
    int rc =
        respond(wsi, pss, 200, "application/json", pss->stats_json, strlen(pss->stats_json), NULL);
    free(pss->stats_json);
    pss->stats_json = NULL;
    return rc;
}

/* GET /api/v1/consultations/ID/stats: the SFU's counters per participant. The API checks the
 * key and that the consultation exists, as for GET .../ID; the answer then waits for the SFU. */
static int serve_stats(struct lws *wsi, struct http_pss *pss, struct server *s)
{
    size_t n = strlen(pss->path) - strlen("/stats");
    pss->path[n] = '\0';
    if (strcmp(pss->method, "GET") != 0) {
        static const char body[] =
            "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"GET only\"}}";
        const char *extra[] = {"allow:", "GET", NULL};
        return respond(wsi, pss, 405, "application/json", body, sizeof(body) - 1, extra);
    }
    char auth[512];
    struct api_resp resp;
    hdr_get(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth));
    struct api_req req = {.method = "GET",
                          .path = pss->path,
                          .authorization = auth[0] ? auth : NULL,
                          .now = (int64_t)time(NULL)};
    if (api_handle(s->p.api, &req, &resp) < 0)
        return respond_json_error(wsi, pss, 500, "internal", "out of memory");
    if (resp.status != 200) {
        int rc = serve_api_resp(wsi, pss, &resp);
        api_resp_free(&resp);
        return rc;
    }
    api_resp_free(&resp);
    const char *id = pss->path + strlen("/api/v1/consultations/");
    pss->wsi = wsi;
    pss->stats = conf_hub_stats(s->p.hub, id, stats_answered, pss);
    return 0;
}

static bool is_stats_path(const char *path)
{
    static const char prefix[] = "/api/v1/consultations/";
    size_t n = strlen(path), lp = sizeof(prefix) - 1, ls = strlen("/stats");
    return n > lp + ls && strncmp(path, prefix, lp) == 0 && strcmp(path + n - ls, "/stats") == 0 &&
           memchr(path + lp, '/', n - lp - ls) == NULL;
}

static int route(struct lws *wsi, struct http_pss *pss, struct server *s)
{
    const char *path = pss->path;
    if (pss->routed)
        return 0;
    pss->routed = true;
    if (is_stats_path(path))
        return serve_stats(wsi, pss, s);
    if (api_path_is_api(path))
        return serve_api(wsi, pss, s);
    if (strcmp(pss->method, "GET") != 0)
        return respond_json_error(wsi, pss, 405, "method_not_allowed", "only GET here");
    if (strncmp(path, "/join/", 6) == 0 && path[6])
        return serve_join(wsi, pss, s, path + 6);
    if (strcmp(path, "/healthz") == 0)
        return serve_health(wsi, pss, s);
    if (strcmp(path, "/") == 0) {
        const char *extra[] = {"content-security-policy:", PAGE_CSP, NULL};
        return respond(wsi, pss, 200, "text/html; charset=utf-8", s->index_page, s->index_len,
                       extra);
    }
    if (wants_html(wsi)) {
        static const char page[] =
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Page not "
            "found</title></head><body><main><h1>Page not found</h1><p>Use the link your GP "
            "practice sent you.</p></main></body></html>";
        return respond(wsi, pss, 404, "text/html; charset=utf-8", page, sizeof(page) - 1, NULL);
    }
    return respond_json_error(wsi, pss, 404, "not_found", "no such resource");
}

static const char *method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return "GET";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return "POST";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
        return "DELETE";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0)
        return "PUT";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0)
        return "PATCH";
    return "OTHER";
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct http_pss *pss = user;
    struct server *s = server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* a WebSocket must name our subprotocol (and so pass its origin check) */
    case LWS_CALLBACK_HTTP:
        pss->routed = false;
        snprintf(pss->path, sizeof(pss->path), "%s", (const char *)in);
        snprintf(pss->method, sizeof(pss->method), "%s", method_of(wsi));
        if (strcmp(pss->method, "POST") == 0 || strcmp(pss->method, "PUT") == 0 ||
            strcmp(pss->method, "PATCH") == 0)
            return 0; /* the body comes in LWS_CALLBACK_HTTP_BODY */
        return route(wsi, pss, s);
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->body_too_large || pss->body_len + len > API_BODY_MAX) {
            pss->body_too_large = true;
            return 0;
        }
        {
            char *b = realloc(pss->body, pss->body_len + len + 1);
            if (!b)
                return -1;
            pss->body = b;
            memcpy(b + pss->body_len, in, len);
            pss->body_len += len;
            b[pss->body_len] = '\0';
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        int rc = route(wsi, pss, s);
        /* Nothing of a request outlives it on a kept-alive connection. */
        free(pss->body);
        pss->body = NULL;
        pss->body_len = 0;
        pss->body_too_large = false;
        return rc;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss->stats_done)
            return stats_respond(wsi, pss) < 0 ? -1 : 0;
        if (!pss->out)
            return 0;
        if (lws_write(wsi, pss->out + LWS_PRE, pss->out_len, LWS_WRITE_HTTP_FINAL) !=
            (int)pss->out_len)
            return -1;
        free(pss->out);
        pss->out = NULL;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            conf_stats_cancel(pss->stats);
            pss->stats = NULL;
            free(pss->stats_json);
            pss->stats_json = NULL;
            free(pss->body);
            free(pss->out);
            pss->body = NULL;
            pss->out = NULL;
            pss->body_len = 0;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* --- WebSocket ------------------------------------------------------------------------------ */

static void ws_queue_free(struct ws_pss *pss)
{
    while (!list_empty(&pss->out)) {
        struct ws_out *o = list_entry(pss->out.next, struct ws_out, node);
        list_remove(&o->node);
        free(o);
    }
    pss->out_bytes = 0;
}

static int ws_send(void *handle, const char *text, size_t len)
{
    struct ws_pss *pss = handle;
    if (pss->out_bytes + len > WS_QUEUE_MAX) {
        /* It would never drain what is queued: drop it and the connection, now. */
        log_warn(TAG, "a browser stopped reading: its connection is closed");
        ws_queue_free(pss);
        lws_set_timeout(pss->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return -ENOBUFS;
    }
    struct ws_out *o = malloc(sizeof(*o) + LWS_PRE + len);
    if (!o)
        return -ENOMEM;
    o->len = len;
    memcpy(o->buf + LWS_PRE, text, len);
    list_insert_tail(&pss->out, &o->node);
    pss->out_bytes += len;
    lws_callback_on_writable(pss->wsi);
    return 0;
}

static void ws_close(void *handle)
{
    struct ws_pss *pss = handle;
    pss->close_after = true;
    lws_callback_on_writable(pss->wsi);
}

static void ws_rebind(void *handle, struct conf_conn *c)
{
    struct ws_pss *pss = handle;
    pss->conn = c;
}

static const struct conf_conn_ops ws_ops = {
    .send = ws_send, .close = ws_close, .rebind = ws_rebind};

const struct conf_conn_ops *server_conn_ops(void)
{
    return &ws_ops;
}

/* The WebSocket must come from a page of this service: a page elsewhere could otherwise drive
 * a browser's session (cross-site WebSocket hijacking). Origin must name the Host it was sent
 * to, with our scheme. */
static bool origin_ok(struct lws *wsi, const struct server *s)
{
    char origin[256], host[256], want[300];
    hdr_get(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
    hdr_get(wsi, WSI_TOKEN_HOST, host, sizeof(host));
    if (!origin[0] || !host[0])
        return false;
    snprintf(want, sizeof(want), "%s://%s", s->tls ? "https" : "http", host);
    return strcmp(origin, want) == 0;
}

static void ws_pss_release(struct ws_pss *pss)
{
    ws_queue_free(pss);
    free(pss->rx);
    pss->rx = NULL;
}

static void ws_rx(struct ws_pss *pss, const void *in, size_t len)
{
    struct lws *wsi = pss->wsi;
    if (lws_is_first_fragment(wsi)) {
        pss->rx_len = 0;
        pss->rx_too_large = false;
        pss->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!pss->rx_too_large && pss->rx_len + len > WSMSG_MAX) {
        pss->rx_too_large = true;
        free(pss->rx);
        pss->rx = NULL;
        pss->rx_len = 0;
    }
    if (!pss->rx_too_large && len) {
        char *b = realloc(pss->rx, pss->rx_len + len);
        if (!b) {
            pss->rx_too_large = true;
        } else {
            pss->rx = b;
            memcpy(b + pss->rx_len, in, len);
            pss->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return;
    if (pss->rx_too_large)
        conf_conn_refuse(pss->conn, "too_large", "messages are limited to 64 KiB");
    else if (pss->rx_binary)
        conf_conn_refuse(pss->conn, "bad_message", "binary messages are not part of the protocol");
    else
        conf_conn_message(pss->conn, pss->rx ? pss->rx : "", pss->rx_len);
    pss->rx_len = 0;
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct ws_pss *pss = user;
    struct server *s = server_of(wsi);
    char sid[SESSION_HEX + 1];
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!origin_ok(wsi, s)) {
            log_info(TAG, "a WebSocket from another origin was refused");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        memset(pss, 0, sizeof(*pss));
        pss->wsi = wsi;
        pss->srv = s;
        list_init(&pss->out);
        pss->live = true;
        pss->conn = conf_conn_open(s->p.hub, pss, session_get(wsi, sid) ? sid : "");
        /* A socket must join soon; a joined one must keep talking (the client pings every
         * 20 s), or it is a phone that went off the network and leaves a ghost. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, WS_JOIN_TIMEOUT_S);
        return pss->conn ? 0 : -1;
    case LWS_CALLBACK_RECEIVE:
        if (pss->conn) {
            ws_rx(pss, in, len);
            if (conf_conn_joined(pss->conn))
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, WS_IDLE_TIMEOUT_S);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!list_empty(&pss->out)) {
            struct ws_out *o = list_entry(pss->out.next, struct ws_out, node);
            if (lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len)
                return -1;
            list_remove(&o->node);
            pss->out_bytes -= o->len;
            free(o);
            if (!list_empty(&pss->out) || pss->close_after)
                lws_callback_on_writable(wsi);
            return 0;
        }
        if (pss->close_after) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        log_debug(TAG, "a browser closed its WebSocket (code %u)",
                  len >= 2 ? (unsigned)((uint8_t *)in)[0] << 8 | ((uint8_t *)in)[1] : 0u);
        return 0;
    case LWS_CALLBACK_CLOSED:
        log_debug(TAG, "WebSocket closed");
        if (pss && pss->live) {
            if (pss->conn)
                conf_conn_closed(pss->conn);
            pss->conn = NULL;
            pss->live = false;
            ws_pss_release(pss);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(struct http_pss), 0, 0, NULL, 0},
    {SUBPROTOCOL, ws_cb, sizeof(struct ws_pss), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* --- the server ----------------------------------------------------------------------------- */

static int page_read(const char *dir, const char *name, char **out, size_t *len, char *err,
                     size_t err_len)
{
    char path[SIG_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "web-root: cannot read %s", path);
        return -EIO;
    }
    char *buf = malloc(PAGE_MAX);
    size_t n = buf ? fread(buf, 1, PAGE_MAX, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == PAGE_MAX) {
        free(buf);
        snprintf(err, err_len, "web-root: %s is empty or too large", path);
        return -EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

static void lws_log_cb(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    log_write(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* Whether host:port can be bound now. libwebsockets 4.1, when its vhost cannot bind, leaves a
 * context that crashes the loop when destroyed (its libuv plugin is unloaded before the handles'
 * close callbacks run), so a taken port is found before it is asked. */
static int server_port_check(const char *host, uint16_t port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0 || !ai)
        return -EADDRNOTAVAIL;
    int rc = 0, one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        rc = -errno;
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
             bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

int server_new(struct server **out, const struct server_params *p, char *err, size_t err_len)
{
    int prc = server_port_check(p->cfg->listen_host, p->cfg->listen_port);
    if (prc < 0) {
        snprintf(err, err_len, "listen %s: %s", p->cfg->listen, strerror(-prc));
        return -EIO;
    }

    struct server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->p = *p;
    s->tls = p->tls_cert != NULL;
    if (page_read(p->cfg->web_root, "join.html", &s->join_page, &s->join_len, err, err_len) < 0 ||
        page_read(p->cfg->web_root, "index.html", &s->index_page, &s->index_len, err, err_len) <
            0) {
        server_free(s);
        return -EIO;
    }

    /* Headers on every response: the token in /join/ URLs never leaves in a Referer, and nothing
     * is sniffed or framed. Each page's content security policy comes with the page. */
    static const char *const hdrs[][2] = {
        {"x-content-type-options:", "nosniff"},
        {"referrer-policy:", "no-referrer"},
        {"x-frame-options:", "DENY"},
        {"permissions-policy:", "camera=(self), microphone=(self), geolocation=()"},
        {"strict-transport-security:", "max-age=15768000"},
    };
    size_t nh = sizeof(hdrs) / sizeof(hdrs[0]) - (s->tls ? 0 : 1); /* HSTS only over TLS */
    for (size_t i = 0; i < nh; i++) {
        s->headers[i].name = hdrs[i][0];
        s->headers[i].value = hdrs[i][1];
        s->headers[i].next = i + 1 < nh ? &s->headers[i + 1] : NULL;
    }

    snprintf(s->static_origin, sizeof(s->static_origin), "%s", p->cfg->web_root);
    s->mount.mountpoint = "/static";
    s->mount.mountpoint_len = 7;
    s->mount.origin = s->static_origin;
    s->mount.origin_protocol = LWSMPRO_FILE;
    s->mount.cache_max_age = 300;
    s->mount.cache_reusable = 1;
    s->mount.cache_revalidate = 1;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_cb);
    struct lws_context_creation_info info;
    void *loops[1] = {p->loop};
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (s->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = p->tls_cert;
        info.ssl_private_key_filepath = p->tls_key;
    }
    info.foreign_loops = loops;
    /* With IPv6 on, libwebsockets 4.1 binds an IPv4 iface such as 127.0.0.1 to every address
     * (seen: *:8480): a loopback-only service would be reachable from the network. */
    struct in_addr v4;
    if (inet_pton(AF_INET, p->cfg->listen_host, &v4) == 1)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.iface = p->cfg->listen_host;
    info.port = p->cfg->listen_port;
    info.protocols = protocols;
    info.mounts = &s->mount;
    info.headers = s->headers;
    info.user = s;
    info.alpn = "http/1.1";            /* WebSockets over HTTP/2 are not needed and less tested */
    info.max_http_header_data = 16384; /* the Cookie header of a practice's domain can be large */
    info.timeout_secs = 20;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, err_len,
                 "listen %s: cannot listen (address in use?) or load the "
                 "TLS certificate",
                 p->cfg->listen);
        server_free(s);
        return -EIO;
    }
    /* libwebsockets 4.1 makes the context even when the default vhost cannot bind: a port
     * in use must stop the start, not leave a service that answers nobody. */
    s->vhost = lws_get_vhost_by_name(s->ctx, "default");
    if (!s->vhost || lws_get_vhost_listen_port(s->vhost) <= 0) {
        /* The context holds libuv handles now: it must be stopped, the loop run and then
         * freed, like a running server (server.h). */
        snprintf(err, err_len, "listen %s: cannot listen (address in use?)", p->cfg->listen);
        *out = s;
        return -EADDRINUSE;
    }
    *out = s;
    return 0;
}

int server_port(const struct server *s)
{
    return s->vhost ? lws_get_vhost_listen_port(s->vhost) : -1;
}

void server_stop(struct server *s)
{
    if (s && s->ctx) {
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        s->vhost = NULL;
    }
}

void server_free(struct server *s)
{
    if (!s)
        return;
    server_stop(s);
    free(s->join_page);
    free(s->index_page);
    free(s);
}
