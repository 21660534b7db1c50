/* The blocking control client: sockets, poll with deadlines, the handshake and a FIFO of
 * envelopes that arrived while the caller waited for something else. */
#include "ctl_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ctl_frame.h"

struct ctl_client_item {
    struct ctl_client_item *next; /* owned */
    Sfu__Envelope *env;           /* owned */
};

struct ctl_client {
    int fd;
    uint64_t last_id;
    struct ctl_frame_reader reader;
    struct ctl_client_item *head; /* owned; oldest first */
    struct ctl_client_item *tail; /* borrowed: the last of head's chain */
    size_t queued;
    int feed_err; /* the first problem the frame callback met during one read */
    uint8_t rbuf[64 * 1024];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -1: no deadline. */
static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Waits for events on the socket until deadline. Returns 0 when ready, -ETIMEDOUT, or -errno. */
static int client_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            wait = left > 0 ? (int)(left > 60000 ? 60000 : left) : 0;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n > 0)
            return 0;
        if (deadline >= 0 && now_ms() >= deadline)
            return -ETIMEDOUT;
    }
}

static int client_send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int err = client_wait(fd, POLLOUT, deadline);
        if (err < 0)
            return err;
    }
    return 0;
}

static void client_on_frame(void *arg, int status, const uint8_t *msg, size_t len)
{
    struct ctl_client *c = arg;
    if (status < 0) {
        if (!c->feed_err)
            c->feed_err = status;
        return;
    }
    Sfu__Envelope *env = sfu__envelope__unpack(NULL, len, msg);
    if (!env) {
        if (!c->feed_err)
            c->feed_err = -EBADMSG;
        return;
    }
    struct ctl_client_item *it = malloc(sizeof(*it));
    if (!it || c->queued >= CTL_CLIENT_MAX_QUEUED) {
        free(it);
        sfu__envelope__free_unpacked(env, NULL);
        if (!c->feed_err)
            c->feed_err = it ? -ENOBUFS : -ENOMEM;
        return;
    }
    it->next = NULL;
    it->env = env;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->queued++;
}

/* Reads once (waiting until deadline) and queues the envelopes that completes. Returns 0, or a
 * negative errno: -ETIMEDOUT, -ECONNRESET at end of stream, or a frame problem. */
static int client_read_more(struct ctl_client *c, int64_t deadline)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
        if (n == 0)
            return -ECONNRESET;
        if (n > 0) {
            c->feed_err = 0;
            if (ctl_frame_reader_feed(&c->reader, c->rbuf, (size_t)n, client_on_frame, c) < 0)
                return -ENOMEM;
            return c->feed_err;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int err = client_wait(c->fd, POLLIN, deadline);
        if (err < 0)
            return err;
    }
}

/* Unlinks and returns the first queued envelope that match accepts, or NULL. */
static Sfu__Envelope *client_take(struct ctl_client *c,
                                  bool (*match)(const Sfu__Envelope *, uint64_t), uint64_t key)
{
    struct ctl_client_item **pp = &c->head, *prev = NULL;
    for (struct ctl_client_item *it = c->head; it; prev = it, it = it->next) {
        if (match(it->env, key)) {
            Sfu__Envelope *env = it->env;
            *pp = it->next;
            if (c->tail == it)
                c->tail = prev;
            c->queued--;
            free(it);
            return env;
        }
        pp = &it->next;
    }
    return NULL;
}

static bool match_any(const Sfu__Envelope *env, uint64_t key)
{
    return true;
}

static bool match_event(const Sfu__Envelope *env, uint64_t key)
{
    return env->body_case >= 90; /* sfu.proto numbers events 90 and up */
}

static bool match_id(const Sfu__Envelope *env, uint64_t key)
{
    return env->id == key;
}

static int client_wait_for(struct ctl_client *c, bool (*match)(const Sfu__Envelope *, uint64_t),
                           uint64_t key, Sfu__Envelope **out, int64_t deadline)
{
    for (;;) {
        Sfu__Envelope *env = client_take(c, match, key);
        if (env) {
            *out = env;
            return 0;
        }
        int err = client_read_more(c, deadline);
        if (err < 0)
            return err;
    }
}

static int client_new(struct ctl_client **out, int fd)
{
    struct ctl_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fd = fd;
    ctl_frame_reader_init(&c->reader, CTL_CLIENT_MAX_MSG);
    *out = c;
    return 0;
}

int ctl_client_connect_unix(struct ctl_client **out, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    int err;
    if (plen >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, plen + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A blocking connect: on a Unix socket it waits only while the backlog is full. */
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    err = client_new(out, fd);
    if (err < 0)
        close(fd);
    return err;
}

static int tcp_connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = 0, one = 1;
    socklen_t el = sizeof(err);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            err = -errno;
            goto fail;
        }
        err = client_wait(fd, POLLOUT, deadline);
        if (err < 0)
            goto fail;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
        if (err) {
            err = -err;
            goto fail;
        }
    }
    /* Requests are small and each waits for its answer: do not let Nagle hold them. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
fail:
    close(fd);
    return err;
}

static int client_recv_exact(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int err = client_wait(fd, POLLIN, deadline);
        if (err < 0)
            return err;
    }
    return 0;
}

int ctl_client_connect_tcp(struct ctl_client **out, const char *host, uint16_t port,
                           const uint8_t *secret, size_t secret_len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN];
    uint8_t answer[CTL_AUTH_CLIENT_LEN], proof[CTL_AUTH_MAC_LEN];
    int64_t deadline = deadline_of(CTL_CLIENT_IO_TIMEOUT_MS);
    int fd = -EHOSTUNREACH, err;

    if (!secret || secret_len == 0)
        return -EINVAL;
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = tcp_connect_one(ai, deadline);
        if (fd >= 0)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return fd;

    err = client_recv_exact(fd, hello, sizeof(hello), deadline);
    if (err < 0)
        goto fail;
    if (memcmp(hello, CTL_AUTH_MAGIC, CTL_AUTH_MAGIC_LEN) != 0) {
        err = -EPROTO;
        goto fail;
    }
    err = ctl_auth_mac(secret, secret_len, CTL_AUTH_CLIENT, hello + CTL_AUTH_MAGIC_LEN, answer);
    if (err < 0)
        goto fail;
    if (RAND_bytes(answer + CTL_AUTH_MAC_LEN, CTL_AUTH_NONCE_LEN) != 1) {
        err = -EIO;
        goto fail;
    }
    err = client_send_all(fd, answer, sizeof(answer), deadline);
    if (err < 0)
        goto fail;
    /* A server that hangs up here refused our secret; one that answers wrongly does not hold
     * it, so it is no SFU of ours. */
    err = client_recv_exact(fd, proof, sizeof(proof), deadline);
    if (err < 0)
        goto fail;
    if (ctl_auth_verify(secret, secret_len, CTL_AUTH_SERVER, answer + CTL_AUTH_MAC_LEN, proof) <
        0) {
        err = -EACCES;
        goto fail;
    }
    err = client_new(out, fd);
    if (err < 0)
        goto fail;
    return 0;
fail:
    close(fd);
    return err;
}

void ctl_client_free(struct ctl_client *c)
{
    if (!c)
        return;
    while (c->head) {
        struct ctl_client_item *it = c->head;
        c->head = it->next;
        sfu__envelope__free_unpacked(it->env, NULL);
        free(it);
    }
    ctl_frame_reader_free(&c->reader);
    close(c->fd);
    free(c);
}

int ctl_client_call(struct ctl_client *c, Sfu__Envelope *req, Sfu__Envelope **resp, int timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    uint8_t *buf;
    size_t len;
    req->id = ++c->last_id;
    int err = ctl_frame_pack(req, &buf, &len);
    if (err < 0)
        return err;
    int64_t send_deadline = deadline_of(CTL_CLIENT_IO_TIMEOUT_MS);
    if (deadline >= 0 && deadline < send_deadline)
        send_deadline = deadline;
    err = client_send_all(c->fd, buf, len, send_deadline);
    free(buf);
    if (err < 0)
        return err;
    return client_wait_for(c, match_id, req->id, resp, deadline);
}

int ctl_client_next_event(struct ctl_client *c, Sfu__Envelope **ev, int timeout_ms)
{
    return client_wait_for(c, match_event, 0, ev, deadline_of(timeout_ms));
}

int ctl_client_recv(struct ctl_client *c, Sfu__Envelope **env, int timeout_ms)
{
    return client_wait_for(c, match_any, 0, env, deadline_of(timeout_ms));
}

int ctl_client_send_raw(struct ctl_client *c, const void *buf, size_t len)
{
    return client_send_all(c->fd, buf, len, deadline_of(CTL_CLIENT_IO_TIMEOUT_MS));
}

int ctl_client_fd(const struct ctl_client *c)
{
    return c->fd;
}
