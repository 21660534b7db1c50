/* The "limit" target: the machine's ceiling. bench/udp_relay.c in --rooms mode forwards each
 * datagram from a member of a room to the room's other receiving members, on the SFU's own
 * socket code but with no ICE, DTLS, SRTP or RTP work. Each simulated person is one plain UDP
 * socket here; one thread reads them all (epoll, recvmmsg) and hands packets to the bench. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "lt.h"
#include "lt_proc.h"

#define LIMIT_RX_BATCH   32
#define LIMIT_PKT_MAX    1600
#define LIMIT_EVENTS     64
#define LIMIT_SOCK_BYTES (4 * 1024 * 1024)
#define LIMIT_ROOMS_MAX  1024 /* udp_relay's RELAY_MAX_ROOMS */
#define LIMIT_START_MS   5000
#define LIMIT_STOP_MS    5000

struct lt_target {
    struct lt_proc relay;
    struct sockaddr_in addr; /* the relay's */
    int epfd;
    int wake[2]; /* the reader thread ends when this pipe is written */
    pthread_t reader;
    bool reader_started;
    /* Held by the reader while it hands a batch over, and by person_leave while it takes a
     * socket out, so that no callback runs for a person who left. Once per batch, not per
     * packet. */
    pthread_mutex_t lock;
    /* Everyone who joined: freed at stop, so that an event the reader took from epoll just
     * before a leave never points at freed memory. */
    struct lt_person *people;
};

struct lt_room {
    struct lt_target *t;
    unsigned index;
};

struct lt_person {
    struct lt_room *room;
    struct lt_person *next; /* in the target's list */
    bool left;              /* under the target's lock: the reader skips them */
    int fd;
    struct lt_rx_cbs rx;
    void *rx_arg;
};

static void *limit_reader(void *arg)
{
    struct lt_target *t = arg;
    static __thread uint8_t bufs[LIMIT_RX_BATCH][LIMIT_PKT_MAX];
    struct mmsghdr msgs[LIMIT_RX_BATCH];
    struct iovec iov[LIMIT_RX_BATCH];
    for (int i = 0; i < LIMIT_RX_BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = LIMIT_PKT_MAX};
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    struct epoll_event ev[LIMIT_EVENTS];
    for (;;) {
        int n = epoll_wait(t->epfd, ev, LIMIT_EVENTS, 1000);
        if (n < 0 && errno != EINTR)
            break;
        pthread_mutex_lock(&t->lock);
        for (int i = 0; i < n; i++) {
            struct lt_person *p = ev[i].data.ptr;
            if (!p) {
                pthread_mutex_unlock(&t->lock);
                return NULL;
            }
            if (p->left)
                continue;
            int got;
            while ((got = recvmmsg(p->fd, msgs, LIMIT_RX_BATCH, MSG_DONTWAIT, NULL)) > 0) {
                for (int k = 0; k < got; k++)
                    if (p->rx.on_rtp)
                        p->rx.on_rtp(p->rx_arg, bufs[k], msgs[k].msg_len);
                if (got < LIMIT_RX_BATCH)
                    break;
            }
        }
        pthread_mutex_unlock(&t->lock);
    }
    return NULL;
}

static void limit_stop(struct lt_target *t)
{
    if (!t)
        return;
    if (t->reader_started) {
        if (write(t->wake[1], "x", 1) < 0) {
            /* the pipe cannot be full: one byte is ever written */
        }
        pthread_join(t->reader, NULL);
    }
    lt_proc_stop(&t->relay, LIMIT_STOP_MS);
    while (t->people) {
        struct lt_person *p = t->people;
        t->people = p->next;
        if (!p->left && p->fd >= 0)
            close(p->fd);
        free(p);
    }
    if (t->epfd >= 0)
        close(t->epfd);
    for (int i = 0; i < 2; i++)
        if (t->wake[i] >= 0)
            close(t->wake[i]);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static int limit_start(struct lt_target **out, const struct lt_target_cfg *cfg, char *err,
                       size_t errlen)
{
    struct lt_target *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    t->epfd = -1;
    t->wake[0] = t->wake[1] = -1;
    pthread_mutex_init(&t->lock, NULL);
    char path[512], log[512], line[128];
    snprintf(path, sizeof(path), "%s/bench/udp_relay", cfg->build_dir);
    snprintf(log, sizeof(log), "%s/udp_relay.log", cfg->work_dir);
    const char *ip = cfg->media_ip ? cfg->media_ip : "127.0.0.1";
    char *argv[] = {path, "--rooms", (char *)ip, NULL};
    int rc = lt_proc_spawn(&t->relay, argv, cfg->cpus, log, cfg->verbose, err, errlen);
    if (rc == 0)
        rc = lt_proc_wait_line(&t->relay, "port ", LIMIT_START_MS, line, sizeof(line), err, errlen);
    unsigned port = 0;
    if (rc == 0 && (sscanf(line, "port %u", &port) != 1 || port == 0 || port > 65535)) {
        snprintf(err, errlen, "udp_relay said '%s', not its port", line);
        rc = -EPROTO;
    }
    if (rc == 0) {
        t->addr.sin_family = AF_INET;
        t->addr.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, ip, &t->addr.sin_addr) != 1) {
            snprintf(err, errlen, "bad media address '%s'", ip);
            rc = -EINVAL;
        }
    }
    if (rc == 0) {
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (t->epfd < 0 || pipe2(t->wake, O_CLOEXEC) < 0) {
            rc = -errno;
            snprintf(err, errlen, "epoll or pipe: %s", strerror(errno));
        }
    }
    if (rc == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake[0], &ev);
        if ((rc = -pthread_create(&t->reader, NULL, limit_reader, t)) < 0)
            snprintf(err, errlen, "thread: %s", strerror(-rc));
        else
            t->reader_started = true;
    }
    if (rc < 0) {
        limit_stop(t);
        return rc;
    }
    *out = t;
    return 0;
}

static pid_t limit_server_pid(const struct lt_target *t)
{
    return t->relay.pid;
}

static int limit_room_open(struct lt_target *t, unsigned index, unsigned capacity,
                           struct lt_room **out, char *err, size_t errlen)
{
    (void)capacity;
    if (index >= LIMIT_ROOMS_MAX) {
        snprintf(err, errlen, "the relay has %d rooms at most", LIMIT_ROOMS_MAX);
        return -ENOSPC;
    }
    struct lt_room *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->t = t;
    r->index = index;
    *out = r;
    return 0;
}

/* A join or leave datagram to the relay, and its answer; retried, as UDP may lose it. */
static int limit_control(int fd, char verb, bool receives, unsigned room, int timeout_ms)
{
    uint8_t msg[8] = {'L',
                      'T',
                      (uint8_t)verb,
                      receives ? 1 : 0,
                      (uint8_t)(room >> 24),
                      (uint8_t)(room >> 16),
                      (uint8_t)(room >> 8),
                      (uint8_t)room};
    uint64_t deadline = lt_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (lt_now_ns() < deadline) {
        if (send(fd, msg, sizeof(msg), 0) < 0)
            return -errno;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) > 0) {
            uint8_t reply[LIMIT_PKT_MAX];
            ssize_t n = recv(fd, reply, sizeof(reply), MSG_DONTWAIT);
            if (n == 4 && memcmp(reply, "LTOK", 4) == 0)
                return 0;
            if (n == 4 && memcmp(reply, "LTNO", 4) == 0)
                return -ENOSPC;
        }
    }
    return -ETIMEDOUT;
}

static int limit_send(void *tx, const uint8_t *rtp, size_t len)
{
    struct lt_person *p = tx;
    return send(p->fd, rtp, len, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static int limit_person_join(struct lt_room *r, const struct lt_role *role,
                             const struct lt_rx_cbs *rx, void *rx_arg, int timeout_ms,
                             struct lt_person **out, struct lt_person_media *media, char *err,
                             size_t errlen)
{
    static atomic_uint next_ssrc = 0x10000;
    struct lt_person *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->room = r;
    p->rx = *rx;
    p->rx_arg = rx_arg;
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int bytes = LIMIT_SOCK_BYTES;
    /* The same buffers as the WebRTC peers get (bench/peer: SO_RCVBUFFORCE when allowed), so
     * that the ceiling is not lowered by the bench's own sockets. */
    bool forced = p->fd >= 0 &&
                  setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0 &&
                  setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) == 0;
    /* The person's socket on the relay's address, as a peer binds to the media address. */
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr = r->t->addr.sin_addr};
    int rc = 0;
    if (p->fd < 0 ||
        (!forced && (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0 ||
                     setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0)) ||
        bind(p->fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
        connect(p->fd, (struct sockaddr *)&r->t->addr, sizeof(r->t->addr)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "socket: %s", strerror(errno));
    } else if ((rc = limit_control(p->fd, 'J', role->subscribe, r->index, timeout_ms)) < 0) {
        snprintf(err, errlen, "the relay did not take the join: %s", strerror(-rc));
    } else {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        if (epoll_ctl(r->t->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0) {
            rc = -errno;
            snprintf(err, errlen, "epoll: %s", strerror(errno));
        }
    }
    if (rc < 0) {
        if (p->fd >= 0)
            close(p->fd);
        free(p);
        return rc;
    }
    memset(media, 0, sizeof(*media));
    bool any_track = false;
    for (int k = 0; k < LT_TRACKS; k++) {
        if (!role->publish[k])
            continue;
        any_track = true;
        media->tracks[k].on = true;
        media->tracks[k].ssrc = atomic_fetch_add(&next_ssrc, 1);
        media->tracks[k].pt = k == LT_AUDIO ? 111 : 96;
    }
    if (any_track) {
        media->send = limit_send;
        media->tx = p;
    }
    pthread_mutex_lock(&r->t->lock);
    p->next = r->t->people;
    r->t->people = p;
    pthread_mutex_unlock(&r->t->lock);
    *out = p;
    return 0;
}

static void limit_person_leave(struct lt_person *p)
{
    if (!p)
        return;
    struct lt_target *t = p->room->t;
    pthread_mutex_lock(&t->lock);
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, p->fd, NULL);
    p->left = true;
    pthread_mutex_unlock(&t->lock);
    limit_control(p->fd, 'L', false, p->room->index, 1000);
    close(p->fd);
    p->fd = -1; /* freed with the target */
}

static void limit_room_close(struct lt_room *r)
{
    free(r);
}

const struct lt_target_ops lt_target_limit = {
    .name = "limit",
    .start = limit_start,
    .server_pid = limit_server_pid,
    .room_open = limit_room_open,
    .person_join = limit_person_join,
    .person_leave = limit_person_leave,
    .room_close = limit_room_close,
    .stop = limit_stop,
};
