/* The asynchronous control client: one connection at a time to one SFU, its handshake, pending
 * requests by id with deadlines, events, and reconnection with backoff. */
#include "sfu_link.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/hmap.h"
#include "core/list.h"
#include "core/log.h"
#include "ctl_frame.h"

#define TAG             "sfu-link"
#define LINK_SECRET_MAX 1024 /* ctl_auth_mac's own bound */
#define LINK_NAME_MAX   (sizeof(((struct sig_sfu_addr *)0)->path) + 8)
#define BODY_EVENT_MIN  90 /* sfu.proto: events take field numbers 90 and up */

enum link_conn_state {
    LINK_CONN_CONNECTING,
    LINK_CONN_HELLO,   /* TCP: waiting for the magic and the SFU's nonce */
    LINK_CONN_PROOF,   /* TCP: our answer sent, waiting for the SFU's proof */
    LINK_CONN_LISTING, /* frames flow; our ListRooms is in flight */
    LINK_CONN_UP,
};

/* One connection attempt and, if it succeeds, the connection. A new one is made for every
 * attempt because a closing handle lives on until its close callback, while the next attempt
 * may already be under way. */
struct link_conn {
    struct sfu_link *link; /* borrowed: freed only after every conn's close callback */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    uv_connect_t connect_req;
    enum link_conn_state state;
    bool closing;
    int dead;             /* a write failed at once: the deadline timer drops the conn (< 0) */
    uint64_t deadline_ms; /* for connecting and the handshake (uv_now) */
    uint8_t hs[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN]; /* the SFU's hello, then its proof */
    size_t hs_len;
    uint8_t nonce[CTL_AUTH_NONCE_LEN]; /* ours, which the SFU's proof answers */
    struct ctl_frame_reader reader;    /* its buffer is owned */
};

struct link_write {
    uv_write_t req;
    uint8_t *buf; /* owned */
};

struct link_pending {
    struct hmap_node node; /* in sfu_link.pending, by id */
    struct list order;     /* in sfu_link.order: by deadline, since every timeout is the same */
    uint64_t id;
    uint64_t deadline_ms;
    sfu_link_resp_cb cb;
    void *arg; /* borrowed */
};

struct sfu_link {
    uv_loop_t *loop;                /* borrowed */
    const struct sfu_link_cbs *cbs; /* borrowed */
    void *arg;                      /* borrowed */
    struct sig_sfu_addr addr;
    struct sockaddr_storage sa; /* tcp: the parsed literal */
    char name[LINK_NAME_MAX];   /* "unix:PATH" or "tcp:HOST:PORT", for log lines */
    uint8_t *secret;            /* owned; tcp only */
    size_t secret_len;
    struct link_conn *conn;    /* owned; NULL while waiting to reconnect. Freed in its close_cb */
    uv_timer_t deadline_timer; /* requests' and the handshake's deadlines */
    uv_timer_t retry_timer;    /* the next connect attempt */
    unsigned handles;          /* handles not yet through their close callback */
    unsigned backoff_ms;
    bool up;
    bool closing;
    int fail_logged; /* the failure last logged while down, so an outage logs each kind once */
    uint64_t last_id;
    struct hmap pending;             /* of link_pending, owned */
    struct list order;               /* the same, oldest first */
    struct log_ratelimit rl_bad;     /* messages that do not decode or are too large */
    struct log_ratelimit rl_unknown; /* responses to no pending request */
    struct log_ratelimit rl_error0;  /* the SFU's errors with id 0 */
    /* One read buffer: libuv calls alloc_cb and read_cb back to back and the frame reader
     * copies what it keeps, and only the current conn reads. */
    uint8_t rbuf[64 * 1024];
};

static void link_connect(struct sfu_link *l);
static void link_conn_fail(struct sfu_link *l, int reason, const char *what);
static void on_deadline(uv_timer_t *t);

/* --- lifetime ------------------------------------------------------------------------------ */

static void link_release(struct sfu_link *l)
{
    if (--l->handles > 0 || !l->closing)
        return;
    hmap_destroy(&l->pending);
    if (l->secret) {
        OPENSSL_cleanse(l->secret, l->secret_len);
        free(l->secret);
    }
    free(l);
}

static void timer_closed(uv_handle_t *h)
{
    link_release(h->data);
}

static void conn_closed(uv_handle_t *h)
{
    struct link_conn *c = h->data;
    struct sfu_link *l = c->link;
    ctl_frame_reader_free(&c->reader);
    free(c);
    link_release(l);
}

/* Closes c's handle; c is freed from the close callback. Reading stops at once, and queued
 * writes are answered UV_ECANCELED before the close callback runs. */
static void conn_close(struct link_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close(&c->h.handle, conn_closed);
}

/* --- pending requests ---------------------------------------------------------------------- */

static struct link_pending *pending_take(struct sfu_link *l, uint64_t id)
{
    uint64_t hash = hmap_hash_u64(id);
    for (struct hmap_node *n = hmap_first(&l->pending, hash); n; n = hmap_next(n)) {
        struct link_pending *p = (struct link_pending *)n; /* node is its first member */
        if (p->id == id) {
            hmap_remove(&l->pending, &p->node);
            list_remove(&p->order);
            return p;
        }
    }
    return NULL;
}

/* Answers every pending request with status. Each is unlinked before its callback runs, and the
 * list is re-read after every call, since a callback may add requests (when the link is still
 * up) or free the link (which empties the list itself). */
static void pending_answer_all(struct sfu_link *l, int status)
{
    while (!list_empty(&l->order)) {
        struct link_pending *p = list_entry(l->order.next, struct link_pending, order);
        sfu_link_resp_cb cb = p->cb;
        void *arg = p->arg;
        hmap_remove(&l->pending, &p->node);
        list_remove(&p->order);
        free(p);
        cb(arg, status, NULL);
    }
}

/* Arms the deadline timer for the earliest thing that can expire. A wake-up that finds nothing
 * due only re-arms, so removals need not call this. */
static void link_arm(struct sfu_link *l)
{
    uint64_t now = uv_now(l->loop), next = UINT64_MAX;
    struct link_conn *c = l->conn;
    if (l->closing)
        return;
    if (c && c->dead)
        next = now;
    else if (c && c->state < LINK_CONN_LISTING)
        next = c->deadline_ms;
    if (!list_empty(&l->order)) {
        struct link_pending *p = list_entry(l->order.next, struct link_pending, order);
        if (p->deadline_ms < next)
            next = p->deadline_ms;
    }
    if (next == UINT64_MAX) {
        uv_timer_stop(&l->deadline_timer);
        return;
    }
    uv_timer_start(&l->deadline_timer, on_deadline, next > now ? next - now : 0, 0);
}

static void on_deadline(uv_timer_t *t)
{
    struct sfu_link *l = t->data;
    uint64_t now = uv_now(l->loop);
    struct link_conn *c = l->conn;

    if (c && c->dead)
        link_conn_fail(l, c->dead, "write failed");
    else if (c && c->state < LINK_CONN_LISTING && now >= c->deadline_ms)
        link_conn_fail(l, -ETIMEDOUT,
                       c->state == LINK_CONN_CONNECTING ? "connect timed out"
                                                        : "handshake timed out");
    while (!l->closing && !list_empty(&l->order)) {
        struct link_pending *p = list_entry(l->order.next, struct link_pending, order);
        if (p->deadline_ms > now)
            break;
        sfu_link_resp_cb cb = p->cb;
        void *arg = p->arg;
        hmap_remove(&l->pending, &p->node);
        list_remove(&p->order);
        log_debug(TAG, "%s: request %llu timed out", l->name, (unsigned long long)p->id);
        free(p);
        cb(arg, -ETIMEDOUT, NULL);
    }
    link_arm(l);
}

/* --- logging ------------------------------------------------------------------------------- */

static void link_warn_limited(struct sfu_link *l, struct log_ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For what the SFU's bytes can trigger at line rate: one line per LOG_RATELIMIT_MS per kind. */
static void link_warn_limited(struct sfu_link *l, struct log_ratelimit *rl, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    int held = log_ratelimit_pass(rl, uv_now(l->loop));
    if (held < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (held > 0)
        log_warn(TAG, "%s: %s (and %d like it held back)", l->name, msg, held);
    else
        log_warn(TAG, "%s: %s", l->name, msg);
}

/* A failed attempt while the link is down: the SFU may be away for minutes, and a line every
 * two seconds would bury everything else, so each kind of failure is logged once per outage. */
static void link_log_attempt(struct sfu_link *l, int reason, const char *what)
{
    if (l->fail_logged == reason) {
        log_debug(TAG, "%s: %s (%s)", l->name, what, strerror(-reason));
        return;
    }
    l->fail_logged = reason;
    log_warn(TAG, "%s: %s (%s); retrying with backoff", l->name, what, strerror(-reason));
}

/* --- connection loss and reconnection ------------------------------------------------------ */

static void on_retry(uv_timer_t *t)
{
    struct sfu_link *l = t->data;
    if (!l->closing && !l->conn)
        link_connect(l);
}

static void link_retry_later(struct sfu_link *l)
{
    uv_timer_start(&l->retry_timer, on_retry, l->backoff_ms, 0);
    l->backoff_ms *= 2;
    if (l->backoff_ms > SFU_LINK_BACKOFF_MAX_MS)
        l->backoff_ms = SFU_LINK_BACKOFF_MAX_MS;
}

/* Ends the current connection (or attempt) for reason, a negative errno, and schedules the next
 * attempt. The retry is armed before any callback runs, since a callback may free the link
 * (which closes the timer) and nothing of l may be touched after that but l->closing. */
static void link_conn_fail(struct sfu_link *l, int reason, const char *what)
{
    struct link_conn *c = l->conn;
    bool was_up = l->up;
    if (!c || l->closing)
        return;
    l->conn = NULL;
    l->up = false;
    conn_close(c);
    if (was_up)
        log_warn(TAG, "%s: connection lost: %s (%s); reconnecting", l->name, what,
                 strerror(-reason));
    else
        link_log_attempt(l, reason, what);
    link_retry_later(l);
    /* Before down(), as promised: the owner sees every answer first. up is already false, so a
     * callback that calls again gets -ENOTCONN instead of joining the list being emptied. */
    pending_answer_all(l, -ECONNRESET);
    if (was_up && !l->closing && l->cbs->down)
        l->cbs->down(l->arg, reason);
}

/* --- writing and requests ------------------------------------------------------------------ */

static void write_done(uv_write_t *req, int status)
{
    struct link_write *w = (struct link_write *)req; /* req is its first member */
    struct link_conn *c = req->handle->data;
    free(w->buf);
    free(w);
    /* UV_ECANCELED comes from our own close, when c->closing is already set. */
    if (status < 0 && !c->closing)
        link_conn_fail(c->link, status, "write failed");
}

/* Queues len bytes of buf, whose ownership passes here whatever the outcome. */
static int conn_write(struct link_conn *c, uint8_t *buf, size_t len)
{
    struct link_write *w = malloc(sizeof(*w));
    if (!w) {
        free(buf);
        return -ENOMEM;
    }
    w->buf = buf;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned int)len);
    int err = uv_write(&w->req, &c->h.stream, &b, 1, write_done);
    if (err < 0) {
        free(buf);
        free(w);
    }
    return err;
}

/* Sends req on the current connection, whose frames flow, and records cb for its answer. */
static int link_request(struct sfu_link *l, Sfu__Envelope *req, sfu_link_resp_cb cb, void *arg)
{
    struct link_conn *c = l->conn;
    struct link_pending *p = NULL;
    uint8_t *buf = NULL;
    size_t len;
    int err;

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (++l->last_id == 0) /* 0 is the SFU's id for events and untied errors */
        l->last_id = 1;
    req->id = l->last_id;
    err = ctl_frame_pack(req, &buf, &len);
    if (err < 0)
        goto out;
    /* The SFU would answer a larger frame only with an id-0 error, so the call would time out. */
    if (len - CTL_FRAME_HDR_LEN > CTL_FRAME_MAX_DEFAULT) {
        err = -EMSGSIZE;
        goto out;
    }
    p->id = req->id;
    p->cb = cb;
    p->arg = arg;
    p->deadline_ms = uv_now(l->loop) + SFU_LINK_TIMEOUT_MS;
    if (c->dead) {
        free(buf);
    } else {
        err = conn_write(c, buf, len);
        /* libuv reports most write errors through write_done; one refused here drops the
         * connection from the deadline timer, so that cb is answered later as for any drop and
         * never from inside this call. */
        if (err < 0 && err != -ENOMEM)
            c->dead = err;
    }
    buf = NULL; /* freed above, or conn_write took it whatever the outcome */
    if (err == -ENOMEM)
        goto out;
    err = 0;
    hmap_insert(&l->pending, &p->node, hmap_hash_u64(p->id)); /* inserted even if growth failed */
    list_insert_tail(&l->order, &p->order);
    p = NULL;
    link_arm(l);
out:
    free(buf);
    free(p);
    return err;
}

/* --- reading ------------------------------------------------------------------------------- */

static void link_dispatch(struct sfu_link *l, const Sfu__Envelope *env)
{
    if ((int)env->body_case >= BODY_EVENT_MIN) {
        if (l->cbs->event)
            l->cbs->event(l->arg, env);
        return;
    }
    if (env->id == 0) {
        if (env->body_case == SFU__ENVELOPE__BODY_ERROR && env->error)
            link_warn_limited(l, &l->rl_error0,
                              "the SFU could not read one of our messages: error %d: %.200s",
                              (int)env->error->code, env->error->reason ? env->error->reason : "");
        else
            link_warn_limited(l, &l->rl_unknown, "a response with id 0 (body %d) skipped",
                              (int)env->body_case);
        return;
    }
    struct link_pending *p = pending_take(l, env->id);
    if (!p) {
        link_warn_limited(l, &l->rl_unknown,
                          "a response to no pending request (id %llu, body %d) skipped",
                          (unsigned long long)env->id, (int)env->body_case);
        return;
    }
    sfu_link_resp_cb cb = p->cb;
    void *arg = p->arg;
    free(p);
    cb(arg, 0, env);
}

static void on_frame(void *arg, int status, const uint8_t *msg, size_t len)
{
    struct link_conn *c = arg;
    struct sfu_link *l = c->link;
    /* A callback run for an earlier frame of the same read may have dropped the connection or
     * freed the link: the rest of that read belongs to no one. */
    if (c->closing)
        return;
    if (status < 0) {
        link_warn_limited(l, &l->rl_bad, "a message of %zu bytes is over our limit; skipped", len);
        return;
    }
    Sfu__Envelope *env = sfu__envelope__unpack(NULL, len, msg);
    if (!env) {
        link_warn_limited(l, &l->rl_bad,
                          "a message of %zu bytes does not decode as an Envelope; skipped", len);
        return;
    }
    link_dispatch(l, env);
    sfu__envelope__free_unpacked(env, NULL);
}

/* The answer to the ListRooms every connection starts with: only then is the link up. */
static void on_rooms(void *arg, int status, const Sfu__Envelope *resp)
{
    struct sfu_link *l = arg;
    if (status == -ECONNRESET || status == -ECANCELED)
        return; /* the connection or the link is already gone */
    if (status < 0) {
        link_conn_fail(l, status, "ListRooms was not answered");
        return;
    }
    if (resp->body_case != SFU__ENVELOPE__BODY_ROOMS || !resp->rooms) {
        link_conn_fail(l, -EPROTO, "ListRooms was refused");
        return;
    }
    l->conn->state = LINK_CONN_UP;
    l->up = true;
    l->backoff_ms = SFU_LINK_BACKOFF_MIN_MS;
    l->fail_logged = 0;
    log_info(TAG, "%s: up (%zu rooms)", l->name, resp->rooms->n_rooms);
    if (l->cbs->up)
        l->cbs->up(l->arg, resp->rooms);
}

/* Frames may flow on c (after the handshake on TCP): ask for the room list. */
static void conn_authed(struct link_conn *c)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ListRoomsRequest req = SFU__LIST_ROOMS_REQUEST__INIT;
    env.body_case = SFU__ENVELOPE__BODY_LIST_ROOMS;
    env.list_rooms = &req;
    c->state = LINK_CONN_LISTING;
    int err = link_request(c->link, &env, on_rooms, c->link);
    if (err < 0)
        link_conn_fail(c->link, err, "cannot send ListRooms");
}

/* The SFU's hello is in c->hs: answer it with our proof and our own nonce. */
static int conn_answer(struct link_conn *c)
{
    struct sfu_link *l = c->link;
    uint8_t *ans = malloc(CTL_AUTH_CLIENT_LEN);
    int err;
    if (!ans) {
        err = -ENOMEM;
        goto out;
    }
    err = ctl_auth_mac(l->secret, l->secret_len, CTL_AUTH_CLIENT, c->hs + CTL_AUTH_MAGIC_LEN, ans);
    if (err < 0)
        goto out;
    if (RAND_bytes(c->nonce, CTL_AUTH_NONCE_LEN) != 1) {
        err = -EIO;
        goto out;
    }
    memcpy(ans + CTL_AUTH_MAC_LEN, c->nonce, CTL_AUTH_NONCE_LEN);
    err = conn_write(c, ans, CTL_AUTH_CLIENT_LEN);
    ans = NULL;
    if (err < 0)
        goto out;
    c->state = LINK_CONN_PROOF;
    c->hs_len = 0;
out:
    free(ans);
    if (err < 0)
        link_conn_fail(l, err, "cannot answer the SFU's handshake");
    return err;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct link_conn *c = h->data;
    *buf = uv_buf_init((char *)c->link->rbuf, sizeof(c->link->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct link_conn *c = s->data;
    struct sfu_link *l = c->link;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n, take;

    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        /* The SFU closes without a word on a wrong answer: after ours, a hang-up means it does
         * not share our secret. */
        if (nread == UV_EOF && c->state == LINK_CONN_PROOF)
            link_conn_fail(l, -EACCES, "the SFU refused our handshake: the secret does not match");
        else if (nread == UV_EOF)
            link_conn_fail(l, -ECONNRESET, "the SFU closed the connection");
        else
            link_conn_fail(l, (int)nread, "read failed");
        return;
    }
    n = (size_t)nread;
    if (c->state == LINK_CONN_HELLO) {
        take = sizeof(c->hs) - c->hs_len;
        take = n < take ? n : take;
        memcpy(c->hs + c->hs_len, p, take);
        c->hs_len += take;
        p += take;
        n -= take;
        /* Checked as it arrives, so that a stranger's short greeting fails now, not in 5 s. */
        if (memcmp(c->hs, CTL_AUTH_MAGIC,
                   c->hs_len < CTL_AUTH_MAGIC_LEN ? c->hs_len : CTL_AUTH_MAGIC_LEN) != 0) {
            link_conn_fail(l, -EPROTO, "the peer's greeting is not the SFU's");
            return;
        }
        if (c->hs_len < sizeof(c->hs) || conn_answer(c) < 0)
            return;
    }
    if (c->state == LINK_CONN_PROOF && n > 0) {
        take = CTL_AUTH_MAC_LEN - c->hs_len;
        take = n < take ? n : take;
        memcpy(c->hs + c->hs_len, p, take);
        c->hs_len += take;
        p += take;
        n -= take;
        if (c->hs_len < CTL_AUTH_MAC_LEN)
            return;
        if (ctl_auth_verify(l->secret, l->secret_len, CTL_AUTH_SERVER, c->nonce, c->hs) < 0) {
            link_conn_fail(l, -EACCES, "the SFU's proof does not match our secret");
            return;
        }
        conn_authed(c);
    }
    if (n > 0 && !c->closing && c->state >= LINK_CONN_LISTING) {
        int err = ctl_frame_reader_feed(&c->reader, p, n, on_frame, c);
        if (err < 0 && !c->closing)
            link_conn_fail(l, err, "no memory for a message");
    }
}

/* --- connecting ---------------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
    struct link_conn *c = req->data;
    struct sfu_link *l = c->link;
    int err;
    if (c->closing)
        return; /* UV_ECANCELED: we gave up on it */
    if (status < 0) {
        link_conn_fail(l, status, "cannot connect");
        return;
    }
    err = uv_read_start(&c->h.stream, on_alloc, on_read);
    if (err < 0) {
        link_conn_fail(l, err, "cannot read");
        return;
    }
    if (l->addr.kind == SIG_SFU_TCP) {
        /* Requests are small and each waits for its answer: Nagle would only delay them. */
        uv_tcp_nodelay(&c->h.tcp, 1);
        c->state = LINK_CONN_HELLO;
        c->deadline_ms = uv_now(l->loop) + SFU_LINK_TIMEOUT_MS;
        link_arm(l);
    } else {
        conn_authed(c); /* a Unix socket has no handshake: its mode 0600 is the check */
    }
}

static void link_connect(struct sfu_link *l)
{
    struct link_conn *c = calloc(1, sizeof(*c));
    int err;
    if (!c) {
        link_log_attempt(l, -ENOMEM, "cannot start a connection");
        link_retry_later(l);
        return;
    }
    c->link = l;
    ctl_frame_reader_init(&c->reader, SFU_LINK_MAX_MSG);
    if (l->addr.kind == SIG_SFU_TCP)
        err = uv_tcp_init(l->loop, &c->h.tcp);
    else
        err = uv_pipe_init(l->loop, &c->h.pipe, 0);
    if (err < 0) {
        free(c);
        link_log_attempt(l, err, "cannot start a connection");
        link_retry_later(l);
        return;
    }
    c->h.handle.data = c;
    c->connect_req.data = c;
    c->state = LINK_CONN_CONNECTING;
    c->deadline_ms = uv_now(l->loop) + SFU_LINK_TIMEOUT_MS;
    l->handles++;
    l->conn = c;
    if (l->addr.kind == SIG_SFU_TCP) {
        err =
            uv_tcp_connect(&c->connect_req, &c->h.tcp, (const struct sockaddr *)&l->sa, on_connect);
        if (err < 0) {
            link_conn_fail(l, err, "cannot connect");
            return;
        }
    } else {
        /* Errors, even immediate ones, come through on_connect. */
        uv_pipe_connect(&c->connect_req, &c->h.pipe, l->addr.path, on_connect);
    }
    link_arm(l);
}

/* --- the interface ------------------------------------------------------------------------- */

int sfu_link_new(struct sfu_link **out, uv_loop_t *loop, const struct sig_sfu_addr *addr,
                 const uint8_t *secret, size_t secret_len, const struct sfu_link_cbs *cbs,
                 void *arg)
{
    struct sfu_link *l = NULL;
    int err = -EINVAL;

    if (!out || !loop || !addr || !cbs)
        return -EINVAL;
    if (addr->kind == SIG_SFU_UNIX) {
        if (!addr->path[0] || !memchr(addr->path, '\0', sizeof(addr->path)))
            return -EINVAL;
    } else if (addr->kind == SIG_SFU_TCP) {
        if (!secret || secret_len == 0 || secret_len > LINK_SECRET_MAX ||
            !memchr(addr->host, '\0', sizeof(addr->host)))
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->loop = loop;
    l->cbs = cbs;
    l->arg = arg;
    l->addr = *addr;
    l->backoff_ms = SFU_LINK_BACKOFF_MIN_MS;
    list_init(&l->order);
    if (addr->kind == SIG_SFU_TCP) {
        if (uv_ip4_addr(addr->host, addr->port, (struct sockaddr_in *)&l->sa) != 0 &&
            uv_ip6_addr(addr->host, addr->port, (struct sockaddr_in6 *)&l->sa) != 0) {
            err = -EINVAL;
            goto out;
        }
        snprintf(l->name, sizeof(l->name), strchr(addr->host, ':') ? "tcp:[%s]:%u" : "tcp:%s:%u",
                 addr->host, addr->port);
        l->secret = malloc(secret_len);
        if (!l->secret) {
            err = -ENOMEM;
            goto out;
        }
        memcpy(l->secret, secret, secret_len);
        l->secret_len = secret_len;
    } else {
        snprintf(l->name, sizeof(l->name), "unix:%s", addr->path);
    }
    err = hmap_init(&l->pending, 16);
    if (err < 0)
        goto out;
    /* From here on the memory belongs to the handles' close callbacks. uv_timer_init cannot
     * fail in libuv 1.44, but if it ever did the first timer would have to close first. */
    err = uv_timer_init(loop, &l->deadline_timer);
    if (err < 0) {
        hmap_destroy(&l->pending);
        goto out;
    }
    l->deadline_timer.data = l;
    l->handles = 1;
    err = uv_timer_init(loop, &l->retry_timer);
    if (err < 0) {
        l->closing = true;
        uv_close((uv_handle_t *)&l->deadline_timer, timer_closed);
        return err;
    }
    l->retry_timer.data = l;
    l->handles = 2;
    /* The first attempt runs from the loop, so that no callback runs inside this call. */
    uv_timer_start(&l->retry_timer, on_retry, 0, 0);
    *out = l;
    return 0;
out:
    if (l->secret) {
        OPENSSL_cleanse(l->secret, l->secret_len);
        free(l->secret);
    }
    free(l);
    return err;
}

int sfu_link_call(struct sfu_link *l, Sfu__Envelope *req, sfu_link_resp_cb cb, void *arg)
{
    if (!l || !req || !cb)
        return -EINVAL;
    if (!l->up || l->closing || !l->conn)
        return -ENOTCONN;
    return link_request(l, req, cb, arg);
}

bool sfu_link_is_up(const struct sfu_link *l)
{
    return l && l->up && !l->closing;
}

void sfu_link_free(struct sfu_link *l)
{
    if (!l || l->closing)
        return;
    l->closing = true;
    l->up = false;
    /* A callback here may call sfu_link_call (-ENOTCONN now) or sfu_link_free (a no-op). */
    pending_answer_all(l, -ECANCELED);
    if (l->conn) {
        conn_close(l->conn);
        l->conn = NULL;
    }
    uv_close((uv_handle_t *)&l->deadline_timer, timer_closed);
    uv_close((uv_handle_t *)&l->retry_timer, timer_closed);
}

void sfu_link__drop(struct sfu_link *l)
{
    if (l && !l->closing && l->conn)
        link_conn_fail(l, -ECONNRESET, "dropped on request (test)");
}
