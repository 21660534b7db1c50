/* The control socket on libuv: listeners, the TCP handshake, framing, and answers to bad input. */
#include "control/ctl_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/clock.h"
#include "core/list.h"
#include "core/log.h"
#include "ctl_frame.h"

#define TAG            "ctl"
#define CTL_SECRET_MAX 1024
#define CTL_BACKLOG    16
#define CTL_REASON_MAX 256

/* Kinds of trouble a peer can cause; each is logged once per connection and rate-limited
 * across connections, since a broken client can trigger them at line rate. */
enum ctl_trouble {
    CTL_TROUBLE_TOO_LARGE,
    CTL_TROUBLE_BAD_MESSAGE,
    CTL_TROUBLE_UNKNOWN_REQUEST,
    CTL_TROUBLE_AUTH,
    CTL_TROUBLE_COUNT,
};

struct ctl_conn {
    struct list node;       /* in ctl_server.conns while not closing */
    struct ctl_server *srv; /* borrowed */
    uint64_t id;
    union {
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    uv_timer_t auth_timer; /* TCP only: the handshake deadline */
    uv_write_t hello_req;
    int pending; /* handles not yet through their close callback */
    bool is_tcp;
    bool authed; /* frames may flow */
    bool opened; /* on_conn_open was called, so on_conn_close is owed */
    bool closing;
    unsigned logged; /* bit per enum ctl_trouble already logged on this connection */
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN]; /* magic then nonce */
    uint8_t mac[CTL_AUTH_CLIENT_LEN]; /* the client's answer, then its own nonce */
    size_t mac_len;
    struct ctl_frame_reader reader; /* its buffer is owned */
};

struct ctl_write {
    uv_write_t req;
    uint8_t *buf; /* owned */
};

struct ctl_server {
    uv_loop_t *loop; /* borrowed */
    struct ctl_server_cbs cbs;
    void *arg;       /* borrowed */
    char *unix_path; /* owned; NULL: no Unix socket */
    dev_t unix_dev;  /* identity of our socket file, so close never unlinks a successor's */
    ino_t unix_ino;
    uint8_t secret[CTL_SECRET_MAX];
    size_t secret_len;
    size_t max_msg;
    size_t max_queued;
    unsigned auth_timeout_ms;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
    bool has_pipe;
    bool has_tcp;
    bool closing;
    struct list conns;
    unsigned nconns;
    unsigned nunauthed; /* TCP connections still in the handshake */
    uint64_t last_conn_id;
    int pending; /* listeners and connections not yet freed */
    struct log_ratelimit rl_trouble[CTL_TROUBLE_COUNT];
    struct log_ratelimit rl_accept;
    /* One read buffer for every connection: libuv calls alloc_cb and read_cb back to back for
     * one stream, and the frame reader copies what it keeps, so nothing outlives a read_cb. */
    uint8_t rbuf[64 * 1024];
};

static void conn_close(struct ctl_conn *c);

static void server_release(struct ctl_server *s)
{
    if (--s->pending > 0)
        return;
    OPENSSL_cleanse(s->secret, sizeof(s->secret));
    free(s->unix_path);
    free(s);
}

static void conn_trouble(struct ctl_conn *c, enum ctl_trouble kind, const char *what)
{
    if (c->logged & (1u << kind))
        return;
    c->logged |= 1u << kind;
    int held = log_ratelimit_pass(&c->srv->rl_trouble[kind], clock_mono_ms());
    if (held < 0)
        return;
    if (held > 0)
        log_warn(TAG, "conn %llu: %s (and %d like it held back)", (unsigned long long)c->id, what,
                 held);
    else
        log_warn(TAG, "conn %llu: %s", (unsigned long long)c->id, what);
}

static void write_done(uv_write_t *req, int status)
{
    struct ctl_write *w = req->data;
    if (status < 0 && status != UV_ECANCELED) {
        struct ctl_conn *c = req->handle->data;
        log_debug(TAG, "conn %llu: write failed: %s", (unsigned long long)c->id,
                  uv_strerror(status));
        conn_close(c);
    }
    free(w->buf);
    free(w);
}

/* Queues a packed frame (ownership of buf passes here, whatever the outcome). */
/* Queues a complete frame; takes ownership of buf whatever the outcome. */
static int conn_send_frame(struct ctl_conn *c, uint8_t *buf, size_t len)
{
    if (len < CTL_FRAME_HDR_LEN || len > UINT32_MAX) {
        free(buf);
        return -EMSGSIZE;
    }
    struct ctl_write *w = malloc(sizeof(*w));
    if (!w) {
        free(buf);
        return -ENOMEM;
    }
    w->buf = buf;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned int)len);
    int err = uv_write(&w->req, &c->h.stream, &b, 1, write_done);
    if (err < 0) {
        free(w->buf);
        free(w);
        conn_close(c);
        return err;
    }
    /* libuv writes at once what the socket takes; what stays queued is what the peer has not
     * read. A peer that stops reading would otherwise grow our memory without bound. */
    size_t queued = uv_stream_get_write_queue_size(&c->h.stream);
    if (queued > c->srv->max_queued) {
        log_warn(TAG, "conn %llu: peer is not reading (%zu bytes queued); closing",
                 (unsigned long long)c->id, queued);
        conn_close(c);
        return -ENOBUFS;
    }
    return 0;
}

static int conn_send(struct ctl_conn *c, const Sfu__Envelope *env)
{
    uint8_t *buf;
    size_t len;
    int err = ctl_frame_pack(env, &buf, &len);
    if (err < 0)
        return err;
    return conn_send_frame(c, buf, len);
}

static int conn_send_errorv(struct ctl_conn *c, uint64_t id, Sfu__ErrorCode code, const char *fmt,
                            va_list ap)
{
    char reason[CTL_REASON_MAX];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    Sfu__Error e = SFU__ERROR__INIT;
    e.code = code;
    e.reason = reason;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_ERROR;
    env.error = &e;
    return conn_send(c, &env);
}

static int conn_send_error(struct ctl_conn *c, uint64_t id, Sfu__ErrorCode code, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

static int conn_send_error(struct ctl_conn *c, uint64_t id, Sfu__ErrorCode code, const char *fmt,
                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    int err = conn_send_errorv(c, id, code, fmt, ap);
    va_end(ap);
    return err;
}

/* sfu.proto numbers requests 10..49; the oneof case is the field number. NOT_SET (0) is also
 * what an envelope whose only body is a field number this build does not know gives. */
static bool body_is_request(Sfu__Envelope__BodyCase bc)
{
    return bc >= 10 && bc <= 49;
}

static void conn_on_frame(void *arg, int status, const uint8_t *msg, size_t len)
{
    struct ctl_conn *c = arg;
    struct ctl_server *s = c->srv;
    /* A callback may have closed us (or the server) while earlier frames of this read were
     * handled; the rest of the read is dropped. */
    if (c->closing)
        return;
    if (status == -EMSGSIZE) {
        conn_trouble(c, CTL_TROUBLE_TOO_LARGE, "message over the size limit");
        conn_send_error(c, 0, SFU__ERROR_CODE__ERROR_CODE_TOO_LARGE,
                        "message of %zu bytes is over the limit of %zu", len, s->max_msg);
        return;
    }
    Sfu__Envelope *env = sfu__envelope__unpack(NULL, len, msg);
    if (!env) {
        conn_trouble(c, CTL_TROUBLE_BAD_MESSAGE, "malformed Envelope");
        conn_send_error(c, 0, SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE,
                        "malformed Envelope: %zu bytes do not decode as sfu.Envelope", len);
        return;
    }
    if (!body_is_request(env->body_case)) {
        conn_trouble(c, CTL_TROUBLE_UNKNOWN_REQUEST, "envelope without a request body");
        if (env->body_case == SFU__ENVELOPE__BODY__NOT_SET)
            conn_send_error(c, env->id, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST,
                            "no request body (empty, or a field number this SFU does not know)");
        else
            conn_send_error(c, env->id, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST,
                            "body field %d is not a request", (int)env->body_case);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    if (s->cbs.on_request)
        s->cbs.on_request(s->arg, c->id, env);
    else
        sfu__envelope__free_unpacked(env, NULL);
}

static void conn_open(struct ctl_conn *c)
{
    if (c->is_tcp)
        c->srv->nunauthed--;
    c->authed = true;
    c->opened = true;
    if (c->srv->cbs.on_conn_open)
        c->srv->cbs.on_conn_open(c->srv->arg, c->id);
}

/* Collects the client's MAC; returns the number of bytes of data it used, or -1 when the
 * connection was closed. */
static ssize_t conn_auth_feed(struct ctl_conn *c, const uint8_t *data, size_t len)
{
    struct ctl_server *s = c->srv;
    size_t n = CTL_AUTH_CLIENT_LEN - c->mac_len;
    if (n > len)
        n = len;
    memcpy(c->mac + c->mac_len, data, n);
    c->mac_len += n;
    if (c->mac_len < CTL_AUTH_CLIENT_LEN)
        return (ssize_t)n;
    uv_timer_stop(&c->auth_timer);
    if (ctl_auth_verify(s->secret, s->secret_len, CTL_AUTH_CLIENT, c->hello + CTL_AUTH_MAGIC_LEN,
                        c->mac) < 0) {
        conn_trouble(c, CTL_TROUBLE_AUTH, "handshake failed: wrong MAC; closing");
        conn_close(c);
        return -1;
    }
    /* Our own proof, so the client knows it talks to an SFU that holds the secret too. */
    uint8_t *proof = malloc(CTL_AUTH_MAC_LEN);
    if (!proof || ctl_auth_mac(s->secret, s->secret_len, CTL_AUTH_SERVER, c->mac + CTL_AUTH_MAC_LEN,
                               proof) < 0) {
        free(proof);
        conn_close(c);
        return -1;
    }
    if (conn_send_frame(c, proof, CTL_AUTH_MAC_LEN) < 0)
        return -1;
    log_debug(TAG, "conn %llu: authenticated", (unsigned long long)c->id);
    conn_open(c);
    return c->closing ? -1 : (ssize_t)n;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *c = h->data;
    buf->base = (char *)c->srv->rbuf;
    buf->len = sizeof(c->srv->rbuf);
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_conn *c = stream->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_debug(TAG, "conn %llu: read failed: %s", (unsigned long long)c->id,
                      uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    const uint8_t *data = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    if (!c->authed) {
        ssize_t used = conn_auth_feed(c, data, len);
        if (used < 0)
            return;
        data += used;
        len -= (size_t)used;
    }
    if (len == 0)
        return;
    if (ctl_frame_reader_feed(&c->reader, data, len, conn_on_frame, c) < 0) {
        log_error(TAG, "conn %llu: out of memory for a frame; closing", (unsigned long long)c->id);
        conn_close(c);
    }
}

static void conn_closed(uv_handle_t *h)
{
    struct ctl_conn *c = h->data;
    if (--c->pending > 0)
        return;
    struct ctl_server *s = c->srv;
    ctl_frame_reader_free(&c->reader);
    free(c);
    server_release(s);
}

static void conn_close(struct ctl_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    list_remove(&c->node);
    c->srv->nconns--;
    if (c->is_tcp && !c->authed)
        c->srv->nunauthed--;
    /* Tell the owner first, so that nothing it does in the callback reaches this connection:
     * it is no longer in the list, and sends to it give -ENOTCONN. */
    if (c->opened && c->srv->cbs.on_conn_close)
        c->srv->cbs.on_conn_close(c->srv->arg, c->id);
    uv_close((uv_handle_t *)&c->h.stream, conn_closed);
    if (c->is_tcp)
        uv_close((uv_handle_t *)&c->auth_timer, conn_closed);
}

static void conn_auth_timeout(uv_timer_t *t)
{
    struct ctl_conn *c = t->data;
    conn_trouble(c, CTL_TROUBLE_AUTH, "handshake timed out; closing");
    conn_close(c);
}

static void conn_hello_done(uv_write_t *req, int status)
{
    struct ctl_conn *c = req->handle->data;
    if (status < 0 && status != UV_ECANCELED) {
        log_debug(TAG, "conn %llu: handshake write failed: %s", (unsigned long long)c->id,
                  uv_strerror(status));
        conn_close(c);
    }
}

static void conn_log_peer(struct ctl_conn *c)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (log_level_get() < LOG_DEBUG || uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sl))
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
    }
    log_debug(TAG, "conn %llu: TCP from %s port %d", (unsigned long long)c->id, host, port);
}

/* Starts the handshake: magic and a fresh nonce out, then the MAC is awaited in conn_read. */
static int conn_start_auth(struct ctl_conn *c)
{
    struct ctl_server *s = c->srv;
    conn_log_peer(c);
    uv_tcp_nodelay(&c->h.tcp, 1);
    memcpy(c->hello, CTL_AUTH_MAGIC, CTL_AUTH_MAGIC_LEN);
    if (RAND_bytes(c->hello + CTL_AUTH_MAGIC_LEN, CTL_AUTH_NONCE_LEN) != 1) {
        log_error(TAG, "conn %llu: no random bytes for the nonce; closing",
                  (unsigned long long)c->id);
        return -EIO;
    }
    uv_buf_t b = uv_buf_init((char *)c->hello, sizeof(c->hello));
    int err = uv_write(&c->hello_req, &c->h.stream, &b, 1, conn_hello_done);
    if (err < 0)
        return err;
    return uv_timer_start(&c->auth_timer, conn_auth_timeout, s->auth_timeout_ms, 0);
}

static void server_on_connection(uv_stream_t *listener, int status)
{
    struct ctl_server *s = listener->data;
    bool is_tcp = listener == (uv_stream_t *)&s->tcp;
    if (status < 0) {
        if (log_ratelimit_pass(&s->rl_accept, clock_mono_ms()) >= 0)
            log_warn(TAG, "accept failed: %s", uv_strerror(status));
        return;
    }
    struct ctl_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        /* Leaving the connection in the backlog pauses this listener until memory returns;
         * there is no handle to accept it into. */
        log_error(TAG, "out of memory for a control connection");
        return;
    }
    c->srv = s;
    c->id = ++s->last_conn_id;
    c->is_tcp = is_tcp;
    ctl_frame_reader_init(&c->reader, s->max_msg);
    list_insert_tail(&s->conns, &c->node);
    s->nconns++;
    if (is_tcp)
        s->nunauthed++;
    s->pending++;
    if (is_tcp) {
        uv_tcp_init(s->loop, &c->h.tcp);
        uv_timer_init(s->loop, &c->auth_timer);
        c->auth_timer.data = c;
        c->pending = 2;
    } else {
        uv_pipe_init(s->loop, &c->h.pipe, 0);
        c->pending = 1;
    }
    c->h.stream.data = c;
    int err = uv_accept(listener, &c->h.stream);
    if (err < 0) {
        log_warn(TAG, "accept failed: %s", uv_strerror(err));
        conn_close(c);
        return;
    }
    if (s->nconns > CTL_SERVER_MAX_CONNS) {
        if (log_ratelimit_pass(&s->rl_accept, clock_mono_ms()) >= 0)
            log_warn(TAG, "over %d control connections; closing the new one", CTL_SERVER_MAX_CONNS);
        conn_close(c);
        return;
    }
    /* Connections that never authenticate must not use up the slots of the ones that do. */
    if (is_tcp && s->nunauthed > CTL_SERVER_MAX_UNAUTHED) {
        if (log_ratelimit_pass(&s->rl_accept, clock_mono_ms()) >= 0)
            log_warn(TAG, "over %d control connections in the handshake; closing the new one",
                     CTL_SERVER_MAX_UNAUTHED);
        conn_close(c);
        return;
    }
    err = uv_read_start(&c->h.stream, conn_alloc, conn_read);
    if (err == 0 && is_tcp)
        err = conn_start_auth(c);
    if (err < 0) {
        log_warn(TAG, "conn %llu: cannot start: %s", (unsigned long long)c->id, strerror(-err));
        conn_close(c);
        return;
    }
    if (!is_tcp)
        conn_open(c);
}

static void server_listener_closed(uv_handle_t *h)
{
    server_release(h->data);
}

/* Whether something answers on the Unix socket at path (a live server we must not steal from). */
static bool unix_path_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    return live;
}

/* Creates a listening-ready Unix socket at path with mode 0600. It is bound inside a fresh
 * 0700 directory beside path, restricted there, and renamed into place: at no moment does a
 * file exist at a name others can reach with wider permissions (no umask games, which would
 * race with other threads). The rename also replaces a stale socket file atomically.
 * Returns the bound fd, or a negative errno. */
static int unix_socket_create(struct ctl_server *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    char dir[sizeof(sa.sun_path) + 16];
    char tmp[sizeof(sa.sun_path) + 16];
    int fd = -1, err = 0;
    size_t plen = strlen(path);

    if (plen == 0)
        return -EINVAL;
    if (plen >= sizeof(sa.sun_path)) {
        log_error(TAG, "control socket path is longer than %zu bytes", sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, plen + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error(TAG, "%s exists and is not a socket; not replacing it", path);
            return -EEXIST;
        }
        if (unix_path_live(&sa)) {
            log_error(TAG, "another server is listening on %s", path);
            return -EADDRINUSE;
        }
    } else if (errno != ENOENT) {
        err = -errno;
        log_error(TAG, "%s: %s", path, strerror(errno));
        return err;
    }

    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int n = snprintf(tmp, sizeof(tmp), "%s/.ctl-XXXXXX", dir);
    if (n < 0 || (size_t)n + 2 >= sizeof(sa.sun_path)) {
        log_error(TAG, "control socket directory %s is too long for a socket path", dir);
        return -ENAMETOOLONG;
    }
    if (!mkdtemp(tmp)) {
        err = -errno;
        log_error(TAG, "cannot create a private directory in %s: %s", dir, strerror(errno));
        return err;
    }
    struct sockaddr_un tsa = {.sun_family = AF_UNIX};
    /* Fits: n + 2 < sizeof(sun_path) was checked above, and mkdtemp keeps the length. */
    memcpy(tsa.sun_path, tmp, (size_t)n);
    memcpy(tsa.sun_path + n, "/s", 3);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    if (bind(fd, (const struct sockaddr *)&tsa, sizeof(tsa)) < 0 || chmod(tsa.sun_path, 0600) < 0 ||
        lstat(tsa.sun_path, &st) < 0) {
        err = -errno;
        goto out;
    }
    s->unix_dev = st.st_dev;
    s->unix_ino = st.st_ino;
    if (rename(tsa.sun_path, path) < 0) {
        err = -errno;
        goto out;
    }
    /* Check what others now see at path: our socket, ours alone. */
    if (lstat(path, &st) < 0) {
        err = -errno;
        goto out;
    }
    if (!S_ISSOCK(st.st_mode) || st.st_dev != s->unix_dev || st.st_ino != s->unix_ino ||
        (st.st_mode & 07777) != 0600 || st.st_uid != geteuid()) {
        log_error(TAG, "%s is not the 0600 socket just created; refusing it", path);
        err = -EACCES;
        goto out;
    }
out:
    if (err < 0) {
        if (err != -EACCES)
            log_error(TAG, "cannot create the control socket %s: %s", path, strerror(-err));
        unlink(tsa.sun_path);
        if (fd >= 0)
            close(fd);
        fd = err;
    }
    rmdir(tmp);
    return fd;
}

/* Parses a loopback literal into ss. Returns 0, or -EINVAL for anything else. */
static int tcp_loopback_parse(const char *host, uint16_t port, struct sockaddr_storage *ss,
                              socklen_t *sl)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
            return -EINVAL;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *sl = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
            return -EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *sl = sizeof(*a6);
        return 0;
    }
    return -EINVAL;
}

static int tcp_socket_create(const struct sockaddr_storage *ss, socklen_t sl)
{
    int one = 1, err;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A restarted SFU must get its port back while old connections sit in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)ss, sl) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static int cfg_check(const struct ctl_server_cfg *cfg)
{
    if (!cfg->unix_path && !cfg->tcp_host) {
        log_error(TAG, "no control listener configured (neither a Unix path nor a TCP host)");
        return -EINVAL;
    }
    if (cfg->tcp_host) {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (tcp_loopback_parse(cfg->tcp_host, cfg->tcp_port, &ss, &sl) < 0) {
            log_error(TAG,
                      "control TCP host must be a loopback address (127.0.0.0/8 or ::1), "
                      "not %s: the control socket is not for the network",
                      cfg->tcp_host);
            return -EINVAL;
        }
        if (!cfg->secret || cfg->secret_len < CTL_SERVER_SECRET_MIN ||
            cfg->secret_len > CTL_SECRET_MAX) {
            log_error(TAG, "control over TCP needs a shared secret of %d to %d bytes",
                      CTL_SERVER_SECRET_MIN, CTL_SECRET_MAX);
            return -EINVAL;
        }
    }
    return 0;
}

int ctl_server_new(struct ctl_server **out, uv_loop_t *loop, const struct ctl_server_cfg *cfg,
                   const struct ctl_server_cbs *cbs, void *arg)
{
    int ufd = -1, tfd = -1, err;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    struct ctl_server *s = NULL;

    if (!out || !loop || !cfg || !cbs)
        return -EINVAL;
    err = cfg_check(cfg);
    if (err < 0)
        return err;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->cbs = *cbs;
    s->arg = arg;
    s->max_msg = cfg->max_msg ? cfg->max_msg : CTL_FRAME_MAX_DEFAULT;
    s->max_queued = cfg->max_queued ? cfg->max_queued : CTL_SERVER_MAX_QUEUED_DEFAULT;
    s->auth_timeout_ms =
        cfg->auth_timeout_ms ? cfg->auth_timeout_ms : CTL_SERVER_AUTH_TIMEOUT_MS_DEFAULT;
    list_init(&s->conns);
    if (cfg->tcp_host) {
        memcpy(s->secret, cfg->secret, cfg->secret_len);
        s->secret_len = cfg->secret_len;
    }

    /* Every socket call that can fail comes before the first libuv handle, so that failure
     * can free synchronously (handle memory may only go in a close callback). */
    if (cfg->unix_path) {
        s->unix_path = strdup(cfg->unix_path);
        if (!s->unix_path) {
            err = -ENOMEM;
            goto fail;
        }
        ufd = unix_socket_create(s, cfg->unix_path);
        if (ufd < 0) {
            err = ufd;
            goto fail;
        }
        if (listen(ufd, CTL_BACKLOG) < 0) {
            err = -errno;
            goto fail;
        }
    }
    if (cfg->tcp_host) {
        tcp_loopback_parse(cfg->tcp_host, cfg->tcp_port, &ss, &sl);
        tfd = tcp_socket_create(&ss, sl);
        if (tfd < 0) {
            err = tfd;
            log_error(TAG, "cannot bind control TCP %s port %u: %s", cfg->tcp_host, cfg->tcp_port,
                      strerror(-err));
            goto fail;
        }
        if (listen(tfd, CTL_BACKLOG) < 0) {
            err = -errno;
            goto fail;
        }
    }

    if (ufd >= 0) {
        uv_pipe_init(loop, &s->pipe, 0);
        s->pipe.data = s;
        s->has_pipe = true;
        s->pending++;
        err = uv_pipe_open(&s->pipe, ufd);
        if (err == 0) {
            ufd = -1; /* the handle owns it now */
            err = uv_listen((uv_stream_t *)&s->pipe, CTL_BACKLOG, server_on_connection);
        }
        if (err < 0)
            goto fail_handles;
    }
    if (tfd >= 0) {
        uv_tcp_init(loop, &s->tcp);
        s->tcp.data = s;
        s->has_tcp = true;
        s->pending++;
        err = uv_tcp_open(&s->tcp, tfd);
        if (err == 0) {
            tfd = -1;
            err = uv_listen((uv_stream_t *)&s->tcp, CTL_BACKLOG, server_on_connection);
        }
        if (err < 0)
            goto fail_handles;
    }
    if (s->has_pipe)
        log_info(TAG, "control listening on %s", s->unix_path);
    if (s->has_tcp)
        log_info(TAG, "control listening on TCP %s port %d", cfg->tcp_host, ctl_server_tcp_port(s));
    *out = s;
    return 0;

fail_handles:
    /* Rare (libuv refusing an fd it was just given): the memory comes back when the caller's
     * loop runs the close callbacks. */
    log_error(TAG, "cannot start the control listener: %s", uv_strerror(err));
    if (ufd >= 0)
        close(ufd);
    if (tfd >= 0)
        close(tfd);
    ctl_server_close(s);
    return err;
fail:
    if (ufd >= 0) {
        close(ufd);
        unlink(cfg->unix_path);
    }
    if (tfd >= 0)
        close(tfd);
    OPENSSL_cleanse(s->secret, sizeof(s->secret));
    free(s->unix_path);
    free(s);
    return err;
}

static struct ctl_conn *server_conn_find(struct ctl_server *s, uint64_t conn_id)
{
    struct list *pos;
    /* A linear walk: an SFU has one or two control connections. */
    list_for_each(pos, &s->conns)
    {
        struct ctl_conn *c = list_entry(pos, struct ctl_conn, node);
        if (c->id == conn_id)
            return c->authed ? c : NULL;
    }
    return NULL;
}

int ctl_server_send(struct ctl_server *s, uint64_t conn_id, const Sfu__Envelope *env)
{
    struct ctl_conn *c = server_conn_find(s, conn_id);
    if (!c)
        return -ENOTCONN;
    return conn_send(c, env);
}

int ctl_server_send_frame(struct ctl_server *s, uint64_t conn_id, uint8_t *frame, size_t len)
{
    struct ctl_conn *c = server_conn_find(s, conn_id);
    if (!c) {
        free(frame);
        return -ENOTCONN;
    }
    return conn_send_frame(c, frame, len);
}

int ctl_server_send_error(struct ctl_server *s, uint64_t conn_id, uint64_t id, Sfu__ErrorCode code,
                          const char *fmt, ...)
{
    struct ctl_conn *c = server_conn_find(s, conn_id);
    if (!c)
        return -ENOTCONN;
    va_list ap;
    va_start(ap, fmt);
    int err = conn_send_errorv(c, id, code, fmt, ap);
    va_end(ap);
    return err;
}

int ctl_server_tcp_port(const struct ctl_server *s)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (!s->has_tcp || uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &sl) < 0)
        return -ENOTCONN;
    if (ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
}

void ctl_server_close(struct ctl_server *s)
{
    struct stat st;
    if (!s || s->closing)
        return;
    s->closing = true;
    if (s->has_pipe) {
        uv_close((uv_handle_t *)&s->pipe, server_listener_closed);
        /* Only our own file: a successor may already have replaced it with its socket. */
        if (s->unix_path && lstat(s->unix_path, &st) == 0 && st.st_dev == s->unix_dev &&
            st.st_ino == s->unix_ino)
            unlink(s->unix_path);
    }
    if (s->has_tcp)
        uv_close((uv_handle_t *)&s->tcp, server_listener_closed);
    /* Not list_for_each_safe: on_conn_close may close other connections (a send that finds a
     * stuck peer), which could unlink the saved next node. */
    while (!list_empty(&s->conns))
        conn_close(list_entry(s->conns.next, struct ctl_conn, node));
}
