/* The worker's UDP socket. Receiving goes through libuv with recvmmsg; sending bypasses
 * uv_udp_send (one request and one syscall per datagram) for sendmmsg on the socket's fd,
 * flushed from a check handle after each poll and a prepare handle before it, so a burst of
 * forwarded packets costs one syscall per loop iteration and nothing waits for the next one. */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* libuv reads up to 20 datagrams per recvmmsg, one per 64 KiB chunk of the buffer. */
#define UDP_RECV_CHUNK    (64 * 1024)
#define UDP_RECV_CHUNKS   20
#define UDP_SOCKET_BUFFER (8 * 1024 * 1024)

struct udp_port {
    uv_udp_t handle;
    uv_check_t flush_check;     /* after poll: what the received packets produced */
    uv_prepare_t flush_prepare; /* before poll: what timers and async messages produced */
    uv_timer_t retry_timer;     /* a short retry when the kernel said "would block" */
    int open_handles;
    udp_recv_cb cb;
    void *arg;                      /* borrowed */
    uint8_t *rbuf;                  /* owned, UDP_RECV_CHUNK * UDP_RECV_CHUNKS */
    uint8_t (*slots)[UDP_SLOT_CAP]; /* owned, UDP_SEND_SLOTS */
    struct mmsghdr msgs[UDP_SEND_SLOTS];
    struct iovec iov[UDP_SEND_SLOTS];
    struct sockaddr_storage dst[UDP_SEND_SLOTS];
    unsigned queued;
    unsigned sent; /* how many of queued were sent by a partial flush */
    struct udp_stats stats;
    struct log_ratelimit rl_send;
    void (*done)(void *);
    void *done_arg;
};

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct udp_port *u = h->data;
    (void)suggested;
    buf->base = (char *)u->rbuf;
    buf->len = UDP_RECV_CHUNK * UDP_RECV_CHUNKS;
}

static void udp_on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    struct udp_port *u = h->data;
    /* With recvmmsg every datagram comes flagged as a chunk and the batch ends with one
     * MMSG_FREE call; a plain recvmsg delivers one datagram without either flag. */
    if ((flags & UV_UDP_MMSG_FREE) || (nread > 0 && !(flags & UV_UDP_MMSG_CHUNK)))
        u->stats.rx_batches++;
    if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL))
        return;
    u->stats.rx_packets++;
    u->stats.rx_bytes += (uint64_t)nread;
    u->cb(u->arg, (uint8_t *)buf->base, (size_t)nread, addr);
}

static void udp_retry_cb(uv_timer_t *t);

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

void udp_port_flush(struct udp_port *u)
{
    int fd;
    if (u->queued == u->sent)
        return;
    if (uv_fileno((uv_handle_t *)&u->handle, &fd) != 0)
        return;
    while (u->sent < u->queued) {
        int n = sendmmsg(fd, u->msgs + u->sent, u->queued - u->sent, 0);
        u->stats.tx_batches++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                /* Keep the rest queued and try again shortly. */
                uv_timer_start(&u->retry_timer, udp_retry_cb, 1, 0);
                return;
            }
            /* A datagram the kernel refuses (unreachable, bad address): skip just it. */
            int held = log_ratelimit_pass(&u->rl_send, uv_now(u->handle.loop));
            if (held >= 0)
                log_warn("udp", "sendmmsg: %s (%d similar held back)", strerror(errno), held);
            u->stats.tx_dropped++;
            u->sent++;
            continue;
        }
        for (int i = 0; i < n; i++) {
            u->stats.tx_packets++;
            u->stats.tx_bytes += u->iov[u->sent + (unsigned)i].iov_len;
        }
        u->sent += (unsigned)n;
    }
    u->queued = 0;
    u->sent = 0;
}

static void udp_on_check(uv_check_t *c)
{
    udp_port_flush(c->data);
}

static void udp_on_prepare(uv_prepare_t *p)
{
    udp_port_flush(p->data);
}

static void udp_retry_cb(uv_timer_t *t)
{
    udp_port_flush(t->data);
}

uint8_t *udp_port_slot(struct udp_port *u)
{
    if (u->queued == UDP_SEND_SLOTS)
        udp_port_flush(u);
    if (u->queued == UDP_SEND_SLOTS) {
        u->stats.tx_dropped++;
        return NULL;
    }
    return u->slots[u->queued];
}

void udp_port_commit(struct udp_port *u, size_t len, const struct sockaddr *to)
{
    unsigned i = u->queued;
    socklen_t alen = sockaddr_len(to);
    memcpy(&u->dst[i], to, alen);
    u->iov[i].iov_base = u->slots[i];
    u->iov[i].iov_len = len;
    memset(&u->msgs[i], 0, sizeof(u->msgs[i]));
    u->msgs[i].msg_hdr.msg_name = &u->dst[i];
    u->msgs[i].msg_hdr.msg_namelen = alen;
    u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
    u->msgs[i].msg_hdr.msg_iovlen = 1;
    u->queued++;
}

int udp_port_send(struct udp_port *u, const uint8_t *buf, size_t len, const struct sockaddr *to)
{
    if (len > UDP_SLOT_CAP)
        return -EMSGSIZE;
    uint8_t *slot = udp_port_slot(u);
    if (!slot)
        return -ENOBUFS;
    memcpy(slot, buf, len);
    udp_port_commit(u, len, to);
    return 0;
}

uint16_t udp_port_local_port(const struct udp_port *u)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_udp_getsockname(&u->handle, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void udp_port_stats_get(const struct udp_port *u, struct udp_stats *st)
{
    *st = u->stats;
}

static void udp_free(struct udp_port *u)
{
    free(u->rbuf);
    free(u->slots);
    free(u);
}

static void udp_on_close(uv_handle_t *h)
{
    struct udp_port *u = h->data;
    if (--u->open_handles > 0)
        return;
    void (*done)(void *) = u->done;
    void *arg = u->done_arg;
    udp_free(u);
    if (done)
        done(arg);
}

int udp_port_new(struct udp_port **out, uv_loop_t *loop, const char *ip, uint16_t port,
                 udp_recv_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    int err;
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss) != 0)
        return -EINVAL;
    struct udp_port *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->rbuf = malloc(UDP_RECV_CHUNK * UDP_RECV_CHUNKS);
    u->slots = malloc(sizeof(*u->slots) * UDP_SEND_SLOTS);
    if (!u->rbuf || !u->slots) {
        udp_free(u);
        return -ENOMEM;
    }
    u->cb = cb;
    u->arg = arg;
    err = uv_udp_init_ex(loop, &u->handle, ss.ss_family | UV_UDP_RECVMMSG);
    if (err < 0) {
        udp_free(u);
        return err;
    }
    u->handle.data = u;
    u->open_handles = 1;
    uv_check_init(loop, &u->flush_check);
    u->flush_check.data = u;
    u->open_handles++;
    uv_prepare_init(loop, &u->flush_prepare);
    u->flush_prepare.data = u;
    u->open_handles++;
    uv_timer_init(loop, &u->retry_timer);
    u->retry_timer.data = u;
    u->open_handles++;
    err = uv_udp_bind(&u->handle, (struct sockaddr *)&ss, 0);
    if (err == 0) {
        /* Bursts of video keyframes: give the kernel room before it drops. As root the
         * FORCE options pass the system's rmem_max/wmem_max (212992 bytes on a stock Debian). */
        int fd, size = UDP_SOCKET_BUFFER;
        if (uv_fileno((uv_handle_t *)&u->handle, &fd) == 0) {
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
            if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        }
        err = uv_udp_recv_start(&u->handle, udp_alloc, udp_on_recv);
    }
    if (err == 0)
        err = uv_check_start(&u->flush_check, udp_on_check);
    if (err == 0)
        err = uv_prepare_start(&u->flush_prepare, udp_on_prepare);
    if (err < 0) {
        udp_port_close(u, NULL, NULL);
        return err;
    }
    *out = u;
    return 0;
}

void udp_port_close(struct udp_port *u, void (*done)(void *), void *done_arg)
{
    u->done = done;
    u->done_arg = done_arg;
    u->queued = 0;
    u->sent = 0;
    uv_udp_recv_stop(&u->handle);
    uv_close((uv_handle_t *)&u->handle, udp_on_close);
    uv_close((uv_handle_t *)&u->flush_check, udp_on_close);
    uv_close((uv_handle_t *)&u->flush_prepare, udp_on_close);
    uv_close((uv_handle_t *)&u->retry_timer, udp_on_close);
}
