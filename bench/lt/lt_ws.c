/* The load tester's WebSocket client: one libwebsockets context driven by its own thread, other
 * threads handing it work through a locked per-socket queue and lws_cancel_service. */
#include "lt_ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#define RX_MAX (1u << 20) /* larger messages are a server bug: the socket is closed */

enum conn_state {
    CONN_NEW,        /* waiting for the service thread to connect it */
    CONN_CONNECTING, /* lws has it: handshake under way */
    CONN_OPEN,
    CONN_DONE, /* closed or failed; on_close has been called (or skipped when released) */
};

struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of room, then the text */
};

struct lt_ws_conn {
    struct lt_ws *ws; /* borrowed */
    struct lt_ws_conn *next;
    struct lt_ws_conn_cbs cbs;
    void *arg; /* borrowed */
    /* Owned copies of the destination. */
    char *address, *path, *host, *origin, *protocol, *cookie;
    int port;
    /* Under ws->mu. */
    enum conn_state state;
    struct out_msg *out_head, *out_tail; /* owned */
    bool close_req;
    bool releasing; /* the owner is giving it up: no more callbacks */
    bool released;  /* ... and has stopped touching it: freed once lws is done */
    bool in_cb;     /* a callback of the owner is running */
    bool destroyed; /* lws will not mention it again */
    /* Service thread only. */
    struct lws *wsi; /* lws's */
    char *rx;        /* owned: the message being reassembled */
    size_t rx_len, rx_cap;
};

struct lt_ws {
    struct lws_context *ctx; /* owned */
    struct lws_protocols protocols[2];
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                /* under mu */
    struct lt_ws_conn *conns; /* owned; insert at head under mu, unlink on the service thread */
    lt_ws_tick_cb tick;
    void *tick_arg;
    unsigned tick_ms;
    lws_sorted_usec_list_t tick_sul;
};

static void conn_free(struct lt_ws_conn *c)
{
    struct out_msg *m = c->out_head;
    while (m) {
        struct out_msg *next = m->next;
        free(m);
        m = next;
    }
    free(c->address);
    free(c->path);
    free(c->host);
    free(c->origin);
    free(c->protocol);
    free(c->cookie);
    free(c->rx);
    free(c);
}

/* Runs an owner callback unless the owner released the socket, and marks it running so that a
 * release waits for it. */
static bool cb_enter(struct lt_ws_conn *c)
{
    struct lt_ws *ws = c->ws;
    bool ok;
    pthread_mutex_lock(&ws->mu);
    ok = !c->releasing;
    if (ok)
        c->in_cb = true;
    pthread_mutex_unlock(&ws->mu);
    return ok;
}

static void cb_leave(struct lt_ws_conn *c)
{
    struct lt_ws *ws = c->ws;
    pthread_mutex_lock(&ws->mu);
    c->in_cb = false;
    pthread_cond_broadcast(&ws->cv);
    pthread_mutex_unlock(&ws->mu);
}

/* The socket is over: tell the owner once. */
static void conn_done(struct lt_ws_conn *c, const char *why)
{
    struct lt_ws *ws = c->ws;
    pthread_mutex_lock(&ws->mu);
    bool first = c->state != CONN_DONE;
    c->state = CONN_DONE;
    pthread_mutex_unlock(&ws->mu);
    c->wsi = NULL;
    if (first && c->cbs.on_close && cb_enter(c)) {
        c->cbs.on_close(c->arg, why);
        cb_leave(c);
    }
}

static void conn_connect(struct lt_ws_conn *c)
{
    struct lws_client_connect_info info;
    memset(&info, 0, sizeof(info));
    info.context = c->ws->ctx;
    info.address = c->address;
    info.port = c->port;
    info.path = c->path;
    info.host = c->host;
    info.origin = c->origin;
    info.protocol = c->protocol;
    info.local_protocol_name = c->ws->protocols[0].name;
    info.ietf_version_or_minus_one = -1;
    info.userdata = c;
    info.pwsi = &c->wsi;
    pthread_mutex_lock(&c->ws->mu);
    c->state = CONN_CONNECTING;
    pthread_mutex_unlock(&c->ws->mu);
    /* A failure may already have been reported through LWS_CALLBACK_CLIENT_CONNECTION_ERROR;
     * conn_done tells the owner only once either way. */
    if (!lws_client_connect_via_info(&info)) {
        conn_done(c, "connect failed");
        pthread_mutex_lock(&c->ws->mu);
        c->destroyed = true;
        pthread_mutex_unlock(&c->ws->mu);
    }
}

/* Woken by another thread: connect new sockets, ask for writes, and free released sockets lws
 * is done with. Only this thread unlinks, so the list may be walked between lock holds. */
static void conns_service(struct lt_ws *ws)
{
    struct lt_ws_conn **pp;
    pthread_mutex_lock(&ws->mu);
    pp = &ws->conns;
    while (*pp) {
        struct lt_ws_conn *c = *pp;
        if (c->released && c->destroyed) {
            *pp = c->next;
            conn_free(c);
            continue;
        }
        enum conn_state st = c->state;
        bool want_write = c->out_head || c->close_req;
        bool stale = c->released && !c->destroyed && st == CONN_NEW;
        pthread_mutex_unlock(&ws->mu);
        if (stale) {
            /* Released before it was ever connected: nothing of lws's refers to it. */
            pthread_mutex_lock(&ws->mu);
            c->state = CONN_DONE;
            c->destroyed = true;
            continue;
        }
        if (st == CONN_NEW)
            conn_connect(c);
        else if (st == CONN_OPEN && want_write && c->wsi)
            lws_callback_on_writable(c->wsi);
        pthread_mutex_lock(&ws->mu);
        pp = &c->next;
    }
    pthread_mutex_unlock(&ws->mu);
}

static int conn_write(struct lt_ws_conn *c)
{
    struct lt_ws *ws = c->ws;
    struct out_msg *m;
    bool more;
    pthread_mutex_lock(&ws->mu);
    m = c->out_head;
    if (m) {
        c->out_head = m->next;
        if (!c->out_head)
            c->out_tail = NULL;
    }
    more = c->out_head != NULL;
    bool close_now = !m && c->close_req;
    bool close_after = !more && c->close_req;
    pthread_mutex_unlock(&ws->mu);
    if (close_now) {
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (!m)
        return 0;
    int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    free(m);
    if (n < 0)
        return -1;
    if (more || close_after)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int conn_receive(struct lt_ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len + 1)
            cap *= 2;
        if (cap > RX_MAX)
            return -1;
        char *rx = realloc(c->rx, cap);
        if (!rx)
            return -1;
        c->rx = rx;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    c->rx[c->rx_len] = '\0';
    if (cb_enter(c)) {
        c->cbs.on_text(c->arg, c->rx, c->rx_len);
        cb_leave(c);
    }
    c->rx_len = 0;
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lt_ws_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        struct lt_ws *ws = lws_context_user(lws_get_context(wsi));
        if (ws)
            conns_service(ws);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        if (c && c->cookie &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_COOKIE, (unsigned char *)c->cookie,
                                         (int)strlen(c->cookie), p, end))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            return 0;
        c->wsi = wsi;
        pthread_mutex_lock(&c->ws->mu);
        c->state = CONN_OPEN;
        bool want_write = c->out_head || c->close_req;
        pthread_mutex_unlock(&c->ws->mu);
        if (c->cbs.on_open && cb_enter(c)) {
            c->cbs.on_open(c->arg);
            cb_leave(c);
        }
        if (want_write)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c ? conn_receive(c, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? conn_write(c) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c)
            conn_done(c, in && len ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c)
            conn_done(c, "closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            conn_done(c, "closed");
            pthread_mutex_lock(&c->ws->mu);
            c->destroyed = true;
            pthread_mutex_unlock(&c->ws->mu);
        }
        return 0;
    default:
        return 0;
    }
}

static void tick_fire(lws_sorted_usec_list_t *sul)
{
    struct lt_ws *ws = lws_container_of(sul, struct lt_ws, tick_sul);
    ws->tick(ws->tick_arg);
    lws_sul_schedule(ws->ctx, 0, &ws->tick_sul, tick_fire, (lws_usec_t)ws->tick_ms * 1000);
}

static void *service_main(void *arg)
{
    struct lt_ws *ws = arg;
    /* Timers belong to the service thread: scheduled here, never from another. */
    if (ws->tick)
        lws_sul_schedule(ws->ctx, 0, &ws->tick_sul, tick_fire, (lws_usec_t)ws->tick_ms * 1000);
    for (;;) {
        pthread_mutex_lock(&ws->mu);
        bool stop = ws->stop;
        pthread_mutex_unlock(&ws->mu);
        if (stop)
            break;
        /* libwebsockets 4.1 ignores the timeout and sleeps until an event, a timer or
         * lws_cancel_service. */
        if (lws_service(ws->ctx, 0) < 0)
            break;
    }
    if (ws->tick)
        lws_sul_cancel(&ws->tick_sul);
    return NULL;
}

int lt_ws_new(struct lt_ws **out, lt_ws_tick_cb tick, void *tick_arg, unsigned tick_ms)
{
    struct lws_context_creation_info info;
    struct lt_ws *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return -ENOMEM;
    pthread_mutex_init(&ws->mu, NULL);
    pthread_cond_init(&ws->cv, NULL);
    ws->tick = tick;
    ws->tick_arg = tick_arg;
    ws->tick_ms = tick_ms ? tick_ms : 1000;
    ws->protocols[0].name = "lt-ws";
    ws->protocols[0].callback = ws_callback;
    /* The protocol's receive buffer: messages larger than this arrive in pieces, joined in
     * conn_receive. */
    ws->protocols[0].rx_buffer_size = 65536;

    /* Process-wide; errors only, so that a run with hundreds of sockets stays readable. */
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws->protocols;
    info.user = ws;
    /* Without RAW_ORIGIN lws prepends "http://" to the Origin it is given. */
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
    /* Bounds a connect or handshake that hangs; an open socket has no idle timeout in lws
     * (the protocol's own ping keeps the server from closing it). */
    info.timeout_secs = 30;
    ws->ctx = lws_create_context(&info);
    if (!ws->ctx) {
        pthread_cond_destroy(&ws->cv);
        pthread_mutex_destroy(&ws->mu);
        free(ws);
        return -EIO;
    }
    if (pthread_create(&ws->thread, NULL, service_main, ws) != 0) {
        lws_context_destroy(ws->ctx);
        pthread_cond_destroy(&ws->cv);
        pthread_mutex_destroy(&ws->mu);
        free(ws);
        return -EIO;
    }
    ws->thread_started = true;
    *out = ws;
    return 0;
}

void lt_ws_free(struct lt_ws *ws)
{
    if (!ws)
        return;
    pthread_mutex_lock(&ws->mu);
    ws->stop = true;
    pthread_mutex_unlock(&ws->mu);
    lws_cancel_service(ws->ctx);
    if (ws->thread_started)
        pthread_join(ws->thread, NULL);
    /* With the thread gone, destroying the context runs the last callbacks on this one. */
    lws_context_destroy(ws->ctx);
    struct lt_ws_conn *c = ws->conns;
    while (c) {
        struct lt_ws_conn *next = c->next;
        conn_free(c);
        c = next;
    }
    pthread_cond_destroy(&ws->cv);
    pthread_mutex_destroy(&ws->mu);
    free(ws);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int lt_ws_connect(struct lt_ws *ws, const struct lt_ws_dest *dest, const struct lt_ws_conn_cbs *cbs,
                  void *arg, struct lt_ws_conn **out)
{
    struct lt_ws_conn *c;
    if (!ws || !dest || !dest->address || !dest->path || !dest->host || !cbs || !cbs->on_text ||
        dest->port <= 0 || dest->port > 65535)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->ws = ws;
    c->cbs = *cbs;
    c->arg = arg;
    c->port = dest->port;
    if (dup_opt(&c->address, dest->address) || dup_opt(&c->path, dest->path) ||
        dup_opt(&c->host, dest->host) || dup_opt(&c->origin, dest->origin) ||
        dup_opt(&c->protocol, dest->protocol) || dup_opt(&c->cookie, dest->cookie)) {
        conn_free(c);
        return -ENOMEM;
    }
    pthread_mutex_lock(&ws->mu);
    c->next = ws->conns;
    ws->conns = c;
    pthread_mutex_unlock(&ws->mu);
    lws_cancel_service(ws->ctx);
    *out = c;
    return 0;
}

int lt_ws_send(struct lt_ws_conn *c, const char *text, size_t len)
{
    struct lt_ws *ws = c->ws;
    struct out_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    pthread_mutex_lock(&ws->mu);
    if (c->state == CONN_DONE || c->close_req || c->releasing) {
        pthread_mutex_unlock(&ws->mu);
        free(m);
        return -ENOTCONN;
    }
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    pthread_mutex_unlock(&ws->mu);
    lws_cancel_service(ws->ctx);
    return 0;
}

void lt_ws_close(struct lt_ws_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->ws->mu);
    c->close_req = true;
    pthread_mutex_unlock(&c->ws->mu);
    lws_cancel_service(c->ws->ctx);
}

void lt_ws_conn_release(struct lt_ws_conn *c)
{
    if (!c)
        return;
    struct lt_ws *ws = c->ws;
    pthread_mutex_lock(&ws->mu);
    c->releasing = true;
    c->close_req = true;
    /* Owner callbacks are short (they queue work or apply a description): this wait ends. */
    while (c->in_cb)
        pthread_cond_wait(&ws->cv, &ws->mu);
    /* Only now may the service thread free it (released and destroyed): set while holding the
     * lock, after the last look at c. Setting it before the wait let the service thread free
     * c while this thread was still to re-check in_cb (ASan caught it in CI). */
    c->released = true;
    pthread_mutex_unlock(&ws->mu);
    lws_cancel_service(ws->ctx);
}
