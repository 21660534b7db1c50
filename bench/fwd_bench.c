/* The forwarding micro-benchmark: one publisher, N subscribers, through the real SFU executable
 * (its own process, one worker) and, for comparison, through a plain UDP relay (bench/udp_relay.c)
 * carrying the same packets as plain RTP; reports each process's user+system CPU time per
 * forwarded packet, read from /proc/<pid>/stat. Not a test: it asserts nothing, it measures.
 *
 * Usage: fwd_bench [--subscribers 1,2,4,8] [--packets 100000] [--rate 20000] [--payload 1000]
 *                  [--pin off|on|both] [--json FILE] [--sfu PATH] [--relay PATH] [--verbose] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/bytes.h"
#include "bench_ctl.h"
#include "ctl_client.h"
#include "peer.h"
#include "rtp/rtp.h"

#define MAX_SUBS          32
#define MAX_SWEEP         16
#define MAX_RATE          200000
#define MAX_PACKETS       10000000
#define MIN_PAYLOAD       16
#define MAX_PAYLOAD       1200 /* RTP header and SRTP trailer still fit a 1500-byte MTU */
#define FRAME_PACKETS     10   /* packets per VP8 frame; the first frame is the keyframe */
#define START_TIMEOUT_MS  5000
#define STOP_TIMEOUT_MS   5000
#define DRAIN_IDLE_MS     300 /* receivers counted nothing new this long: the run is over */
#define DRAIN_MAX_MS      10000
#define PUB_SSRC          0x11223344u
#define PUB_RTX_SSRC      0x55667788u
#define RELAY_RX_BATCH    64
#define RECV_SOCKET_BYTES (8 * 1024 * 1024)

/* --verbose: the SFU's stats and the children's pids on stderr. Set once by main. */
static bool verbose;

enum pin_mode { PIN_OFF, PIN_ON, PIN_BOTH };

struct opts {
    unsigned subs[MAX_SWEEP];
    unsigned n_subs;
    unsigned packets;
    unsigned rate;
    unsigned payload;
    enum pin_mode pin;
    const char *json; /* borrowed from argv */
    char sfu_path[PATH_MAX];
    char relay_path[PATH_MAX];
};

/* What one run through one forwarder measured. */
struct side {
    bool ok;
    uint64_t sent;        /* publisher packets sent */
    uint64_t forwarded;   /* the forwarder's own count of packets sent on */
    uint64_t received;    /* summed over the receivers */
    uint64_t fwd_dropped; /* the forwarder's own count of packets it did not send */
    double cpu_s;         /* user+system of the forwarder process over the run */
    double wall_s;        /* first packet sent to receivers drained */
};

struct row {
    unsigned subs;
    bool pinned;
    struct side sfu;
    struct side relay;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* ---- processes ------------------------------------------------------------------------------ */

/* The CPUs a process may run on: just cpu, or every online CPU when cpu is negative. */
static void cpu_mask(int cpu, cpu_set_t *set)
{
    CPU_ZERO(set);
    if (cpu >= 0) {
        CPU_SET(cpu, set);
        return;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++)
        CPU_SET((int)i, set);
}

/* Pins the calling thread (and the threads it creates afterwards) as cpu_mask says. */
static void pin_self(int cpu)
{
    cpu_set_t set;
    cpu_mask(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* Starts argv[0] with argv, on cpu (negative: anywhere), its stdout into *out_fd when out_fd is
 * given (else /dev/null). The child gets SIGTERM if the bench dies first. Returns the pid or a
 * negative errno. */
static pid_t proc_spawn(char *const argv[], int cpu, int *out_fd)
{
    static const char exec_failed[] = "fwd_bench: exec failed\n";
    int pipefd[2] = {-1, -1};
    cpu_set_t set;
    /* Everything the child needs is ready before fork: between fork and exec it makes only
     * async-signal-safe calls. */
    cpu_mask(cpu, &set);
    if (out_fd && pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        if (out_fd) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return err;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sched_setaffinity(0, sizeof(set), &set);
        int fd = out_fd ? pipefd[1] : open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, STDOUT_FILENO);
        execv(argv[0], argv);
        if (write(STDERR_FILENO, exec_failed, sizeof(exec_failed) - 1) < 0)
            _exit(127);
        _exit(127);
    }
    if (out_fd) {
        close(pipefd[1]);
        *out_fd = pipefd[0];
    }
    if (verbose)
        fprintf(stderr, "fwd_bench: started %s as pid %d\n", argv[0], (int)pid);
    return pid;
}

/* SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. Returns the exit status as waitpid gives it, or
 * -1 when the process had to be killed. */
static int proc_stop(pid_t pid)
{
    int status = 0;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        sleep_us(10000);
    }
    fprintf(stderr, "fwd_bench: pid %d ignored SIGTERM; killing it\n", (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* User+system CPU seconds of every thread of pid so far, from /proc/<pid>/stat (fields 14 and
 * 15, in clock ticks). Returns a negative value when it cannot be read. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1.0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1.0;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1.0;
    p++;
    unsigned long long utime = 0, stime = 0;
    /* After ')': field 3 (state) onwards; utime and stime are fields 14 and 15. */
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1.0;
        char *end;
        if (field == 14)
            utime = strtoull(p, &end, 10);
        else if (field == 15)
            stime = strtoull(p, &end, 10);
        end = strchr(p, ' ');
        if (!end && field < 15)
            return -1.0;
        p = end ? end : p + strlen(p);
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Reads one line from fd into buf within timeout_ms. Returns 0 or -ETIMEDOUT / -EIO. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    double deadline = now_s() + timeout_ms / 1000.0;
    while (len + 1 < cap) {
        int left = (int)((deadline - now_s()) * 1000.0);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0)
            return -EIO;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return 0;
}

/* ---- the publisher's packets ---------------------------------------------------------------- */

/* Packet i of the stream: VP8 payload descriptor with S=1 on the first packet of each frame, the
 * first frame a keyframe (P=0) as tests/integ/integ_forward.c sends it, marker on each frame's
 * last packet, 90 kHz timestamps at 30 frames per second. Returns the length. */
static size_t make_rtp(uint8_t *buf, uint32_t i, unsigned payload)
{
    buf[0] = 0x80;
    buf[1] = (uint8_t)(96 | ((i % FRAME_PACKETS == FRAME_PACKETS - 1) ? 0x80 : 0));
    be16_store(buf + 2, (uint16_t)(1000 + i));
    be32_store(buf + 4, 5000 + (i / FRAME_PACKETS) * 3000);
    be32_store(buf + 8, PUB_SSRC);
    uint8_t *pl = buf + 12;
    pl[0] = (i % FRAME_PACKETS == 0) ? 0x10 : 0x00;
    pl[1] = (i == 0) ? 0x00 : 0x01;
    be32_store(pl + 2, i);
    for (unsigned k = 6; k < payload; k++)
        pl[k] = (uint8_t)(i * 31 + k);
    return 12 + payload;
}

typedef int (*send_fn)(void *arg, const uint8_t *buf, size_t len);

/* Sends opt->packets packets through send at opt->rate per second, catching up in bursts after
 * a late wake-up. Gives up after twice the planned time plus 5 s. Returns how many were sent
 * (a packet the send refused is not counted). */
static uint64_t publish(const struct opts *o, send_fn send, void *arg)
{
    uint8_t buf[12 + MAX_PAYLOAD];
    uint64_t sent = 0, i = 0;
    double t0 = now_s();
    double limit = 2.0 * o->packets / (double)o->rate + 5.0;
    while (i < o->packets) {
        double el = now_s() - t0;
        if (el > limit) {
            fprintf(stderr, "fwd_bench: publisher gave up after %.1f s at %llu packets\n", el,
                    (unsigned long long)i);
            break;
        }
        uint64_t due = (uint64_t)(el * o->rate) + 1;
        if (due > o->packets)
            due = o->packets;
        for (; i < due; i++) {
            size_t len = make_rtp(buf, (uint32_t)i, o->payload);
            if (send(arg, buf, len) == 0)
                sent++;
        }
        if (i < o->packets) {
            double next = (double)(i + 1) / o->rate; /* when packet i+1 is due */
            double wait = next - (now_s() - t0);
            if (wait > 0)
                sleep_us((unsigned)(wait * 1e6) + 1);
        }
    }
    return sent;
}

/* Waits until every receiver count in counts (summed) reaches want, or nothing new arrived for
 * DRAIN_IDLE_MS, bounded by DRAIN_MAX_MS. Returns the sum. */
static uint64_t drain(_Atomic uint64_t *counts, unsigned n, uint64_t want)
{
    uint64_t last = 0;
    double last_change = now_s(), t0 = last_change;
    for (;;) {
        uint64_t sum = 0;
        for (unsigned k = 0; k < n; k++)
            sum += atomic_load(&counts[k]);
        double t = now_s();
        if (sum != last) {
            last = sum;
            last_change = t;
        }
        if (sum >= want || t - last_change > DRAIN_IDLE_MS / 1000.0 ||
            t - t0 > DRAIN_MAX_MS / 1000.0)
            return sum;
        sleep_us(5000);
    }
}

/* ---- through the SFU ------------------------------------------------------------------------ */

struct sfu_rx {
    _Atomic uint64_t count[MAX_SUBS];
    _Atomic uint64_t bad_len; /* forwarded packets whose payload is not what was sent */
    unsigned payload;
};

struct sub_arg {
    struct sfu_rx *rx; /* borrowed */
    unsigned k;
};

static void sfu_on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub_arg *a = arg;
    struct rtp_view v;
    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len != a->rx->payload)
        atomic_fetch_add(&a->rx->bad_len, 1);
    atomic_fetch_add(&a->rx->count[a->k], 1);
}

static int sfu_send(void *arg, const uint8_t *buf, size_t len)
{
    return peer_send_rtp(arg, buf, len);
}

/* Connects to the SFU's control socket, retrying while the process starts. */
static int sfu_connect(pid_t pid, const char *path, struct ctl_client **out)
{
    int rc = -ETIMEDOUT;
    for (int waited = 0; waited < START_TIMEOUT_MS; waited += 20) {
        if ((rc = ctl_client_connect_unix(out, path)) == 0)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -ECHILD;
        sleep_us(20000);
    }
    return rc;
}

static int run_sfu(const struct opts *o, unsigned n, int cpu, struct side *res)
{
    static struct sfu_rx rx;
    struct sub_arg args[MAX_SUBS];
    struct peer *subs[MAX_SUBS] = {0};
    struct peer *pub = NULL;
    struct ctl_client *ctl = NULL;
    char dir[64], sock[128];
    const char *room = "bench";
    uint64_t pub_tid, tid, prod;
    pid_t pid = -1;
    bool room_made = false;
    int rc = -EIO;

    memset(res, 0, sizeof(*res));
    memset(&rx, 0, sizeof(rx));
    rx.payload = o->payload;
    snprintf(dir, sizeof(dir), "/tmp/gpsfu-bench-XXXXXX");
    if (!mkdtemp(dir))
        return -errno;
    snprintf(sock, sizeof(sock), "%s/sfu.sock", dir);
    char *argv[] = {
        (char *)o->sfu_path, "--workers", "1",       "--port-base", "0", "--control-unix", sock,
        "--log-level",       "warn",      "--grace", "1",           NULL};
    pid = proc_spawn(argv, cpu, NULL);
    if (pid < 0) {
        rc = pid;
        pid = -1;
        goto out;
    }
    if ((rc = sfu_connect(pid, sock, &ctl)) < 0) {
        fprintf(stderr, "fwd_bench: SFU control socket: %s\n", strerror(-rc));
        goto out;
    }
    rc = -EIO;
    struct peer_cbs none = {0};
    if (bench_ctl_create_room(ctl, room) < 0)
        goto out;
    room_made = true;
    if (bench_ctl_join(ctl, room, &none, NULL, &pub, &pub_tid) < 0 ||
        (prod = bench_ctl_produce(ctl, room, pub_tid, PUB_SSRC, PUB_RTX_SSRC)) == 0)
        goto out;
    for (unsigned k = 0; k < n; k++) {
        struct peer_cbs cbs = {.on_rtp = sfu_on_rtp};
        args[k].rx = &rx;
        args[k].k = k;
        if (bench_ctl_join(ctl, room, &cbs, &args[k], &subs[k], &tid) < 0 ||
            bench_ctl_consume(ctl, room, tid, prod) < 0)
            goto out;
    }

    double cpu0 = proc_cpu_s(pid), t0 = now_s();
    res->sent = publish(o, sfu_send, pub);
    res->received = drain(rx.count, n, res->sent * n);
    double cpu1 = proc_cpu_s(pid), t1 = now_s();
    if (cpu0 < 0 || cpu1 < 0) {
        fprintf(stderr, "fwd_bench: cannot read /proc/%d/stat\n", (int)pid);
        goto out;
    }
    res->cpu_s = cpu1 - cpu0;
    res->wall_s = t1 - t0;
    if (bench_ctl_forwarded(ctl, room, verbose, &res->forwarded, &res->fwd_dropped) < 0)
        goto out;
    if (atomic_load(&rx.bad_len))
        fprintf(stderr, "fwd_bench: %llu forwarded packets had the wrong payload length\n",
                (unsigned long long)atomic_load(&rx.bad_len));
    res->ok = true;
    rc = 0;
out:
    for (unsigned k = 0; k < n; k++)
        peer_free(subs[k]);
    peer_free(pub);
    if (ctl && room_made)
        bench_ctl_close_room(ctl, room);
    if (pid > 0)
        proc_stop(pid);
    ctl_client_free(ctl);
    unlink(sock);
    rmdir(dir);
    return rc;
}

/* ---- through the plain relay ---------------------------------------------------------------- */

struct relay_rx {
    int fds[MAX_SUBS];
    unsigned n;
    _Atomic uint64_t count[MAX_SUBS];
    atomic_bool stop;
};

/* One thread reads every receiver socket in batches and counts datagrams. */
static void *relay_rx_thread(void *arg)
{
    struct relay_rx *rx = arg;
    static uint8_t bufs[RELAY_RX_BATCH][2048];
    struct mmsghdr msgs[RELAY_RX_BATCH];
    struct iovec iov[RELAY_RX_BATCH];
    struct pollfd pfds[MAX_SUBS];
    for (unsigned k = 0; k < rx->n; k++)
        pfds[k] = (struct pollfd){.fd = rx->fds[k], .events = POLLIN};
    while (!atomic_load(&rx->stop)) {
        if (poll(pfds, rx->n, 50) <= 0)
            continue;
        for (unsigned k = 0; k < rx->n; k++) {
            if (!(pfds[k].revents & POLLIN))
                continue;
            for (unsigned j = 0; j < RELAY_RX_BATCH; j++) {
                iov[j] = (struct iovec){.iov_base = bufs[j], .iov_len = sizeof(bufs[j])};
                memset(&msgs[j], 0, sizeof(msgs[j]));
                msgs[j].msg_hdr.msg_iov = &iov[j];
                msgs[j].msg_hdr.msg_iovlen = 1;
            }
            int got = recvmmsg(rx->fds[k], msgs, RELAY_RX_BATCH, MSG_DONTWAIT, NULL);
            if (got > 0)
                atomic_fetch_add(&rx->count[k], (uint64_t)got);
        }
    }
    return NULL;
}

static int udp_open_local(uint16_t *port_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int size = RECV_SOCKET_BYTES;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *port_out = ntohs(a.sin_port);
    return fd;
}

static int relay_send(void *arg, const uint8_t *buf, size_t len)
{
    int fd = *(int *)arg;
    return send(fd, buf, len, MSG_DONTWAIT) == (ssize_t)len ? 0 : -errno;
}

static int run_relay(const struct opts *o, unsigned n, int cpu, struct side *res)
{
    static struct relay_rx rx;
    char ports[MAX_SUBS][8], line[128];
    char *argv[MAX_SUBS + 2];
    pthread_t thr;
    bool thr_started = false;
    int pub_fd = -1, out_fd = -1, rc = -EIO;
    pid_t pid = -1;

    memset(res, 0, sizeof(*res));
    memset(&rx, 0, sizeof(rx));
    for (unsigned k = 0; k < MAX_SUBS; k++)
        rx.fds[k] = -1;
    argv[0] = (char *)o->relay_path;
    for (unsigned k = 0; k < n; k++) {
        uint16_t port = 0;
        int fd = udp_open_local(&port);
        if (fd < 0) {
            rc = fd;
            goto out;
        }
        rx.fds[k] = fd;
        rx.n = k + 1;
        snprintf(ports[k], sizeof(ports[k]), "%u", port);
        argv[k + 1] = ports[k];
    }
    argv[n + 1] = NULL;
    pid = proc_spawn(argv, cpu, &out_fd);
    if (pid < 0) {
        rc = pid;
        pid = -1;
        goto out;
    }
    unsigned relay_port = 0;
    if (read_line(out_fd, line, sizeof(line), START_TIMEOUT_MS) < 0 ||
        sscanf(line, "port %u", &relay_port) != 1 || relay_port == 0 || relay_port > 65535) {
        fprintf(stderr, "fwd_bench: the relay did not start\n");
        goto out;
    }
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)relay_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    pub_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (pub_fd < 0 || connect(pub_fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
        rc = -errno;
        goto out;
    }
    if (pthread_create(&thr, NULL, relay_rx_thread, &rx) != 0)
        goto out;
    thr_started = true;

    double cpu0 = proc_cpu_s(pid), t0 = now_s();
    res->sent = publish(o, relay_send, &pub_fd);
    res->received = drain(rx.count, n, res->sent * n);
    double cpu1 = proc_cpu_s(pid), t1 = now_s();
    if (cpu0 < 0 || cpu1 < 0) {
        fprintf(stderr, "fwd_bench: cannot read /proc/%d/stat\n", (int)pid);
        goto out;
    }
    res->cpu_s = cpu1 - cpu0;
    res->wall_s = t1 - t0;
    kill(pid, SIGTERM);
    unsigned long long rxp, txp, dropped;
    if (read_line(out_fd, line, sizeof(line), STOP_TIMEOUT_MS) < 0 ||
        sscanf(line, "rx %llu tx %llu dropped %llu", &rxp, &txp, &dropped) != 3) {
        fprintf(stderr, "fwd_bench: no counters from the relay\n");
        goto out;
    }
    res->forwarded = txp;
    res->fwd_dropped = dropped;
    res->ok = true;
    rc = 0;
out:
    if (thr_started) {
        atomic_store(&rx.stop, true);
        pthread_join(thr, NULL);
    }
    if (pid > 0)
        proc_stop(pid);
    if (out_fd >= 0)
        close(out_fd);
    if (pub_fd >= 0)
        close(pub_fd);
    for (unsigned k = 0; k < rx.n; k++)
        close(rx.fds[k]);
    return rc;
}

/* ---- report --------------------------------------------------------------------------------- */

static double us_per_pkt(const struct side *s)
{
    return s->ok && s->forwarded ? s->cpu_s * 1e6 / (double)s->forwarded : 0.0;
}

static double loss_pct(const struct side *s, unsigned n)
{
    double want = (double)s->sent * n;
    return s->ok && want > 0 ? 100.0 * (want - (double)s->received) / want : 0.0;
}

static void print_header(void)
{
    printf("%-6s %4s %9s | %9s %9s %6s %7s %6s | %9s %9s %6s %7s %6s | %6s\n", "pin", "subs",
           "sent", "sfu fwd", "sfu rcvd", "cpu%", "us/pkt", "loss%", "rly fwd", "rly rcvd", "cpu%",
           "us/pkt", "loss%", "ratio");
}

static void print_row(const struct row *r)
{
    const struct side *s = &r->sfu, *l = &r->relay;
    double su = us_per_pkt(s), lu = us_per_pkt(l);
    printf("%-6s %4u %9llu | %9llu %9llu %6.1f %7.3f %6.2f | %9llu %9llu %6.1f %7.3f %6.2f | "
           "%6.2f%s\n",
           r->pinned ? "pinned" : "free", r->subs, (unsigned long long)s->sent,
           (unsigned long long)s->forwarded, (unsigned long long)s->received,
           s->wall_s > 0 ? 100.0 * s->cpu_s / s->wall_s : 0.0, su, loss_pct(s, r->subs),
           (unsigned long long)l->forwarded, (unsigned long long)l->received,
           l->wall_s > 0 ? 100.0 * l->cpu_s / l->wall_s : 0.0, lu, loss_pct(l, r->subs),
           lu > 0 ? su / lu : 0.0, s->ok && l->ok ? "" : "  (a run failed)");
    fflush(stdout);
}

static void json_side(FILE *f, const char *name, const struct side *s, unsigned n)
{
    fprintf(f,
            "\"%s\": {\"ok\": %s, \"sent\": %llu, \"forwarded\": %llu, \"received\": %llu, "
            "\"forwarder_dropped\": %llu, \"cpu_s\": %.3f, \"wall_s\": %.3f, "
            "\"us_per_packet\": %.4f, \"loss_pct\": %.3f}",
            name, s->ok ? "true" : "false", (unsigned long long)s->sent,
            (unsigned long long)s->forwarded, (unsigned long long)s->received,
            (unsigned long long)s->fwd_dropped, s->cpu_s, s->wall_s, us_per_pkt(s), loss_pct(s, n));
}

static int write_json(const struct opts *o, const struct row *rows, unsigned n_rows)
{
    FILE *f = fopen(o->json, "w");
    if (!f) {
        fprintf(stderr, "fwd_bench: %s: %s\n", o->json, strerror(errno));
        return -errno;
    }
    fprintf(f,
            "{\"packets\": %u, \"rate\": %u, \"payload\": %u, \"cpus\": %ld, "
            "\"clock_ticks_per_s\": %ld, \"runs\": [\n",
            o->packets, o->rate, o->payload, sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_CLK_TCK));
    for (unsigned i = 0; i < n_rows; i++) {
        const struct row *r = &rows[i];
        double su = us_per_pkt(&r->sfu), lu = us_per_pkt(&r->relay);
        fprintf(f, "  {\"subscribers\": %u, \"pinned\": %s, ", r->subs,
                r->pinned ? "true" : "false");
        json_side(f, "sfu", &r->sfu, r->subs);
        fprintf(f, ", ");
        json_side(f, "relay", &r->relay, r->subs);
        fprintf(f, ", \"ratio\": %.3f}%s\n", lu > 0 ? su / lu : 0.0, i + 1 < n_rows ? "," : "");
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- options -------------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int parse_list(const char *s, struct opts *o)
{
    char tmp[256];
    if (strlen(s) >= sizeof(tmp))
        return -EINVAL;
    snprintf(tmp, sizeof(tmp), "%s", s);
    o->n_subs = 0;
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->n_subs == MAX_SWEEP || parse_uint(t, 1, MAX_SUBS, &o->subs[o->n_subs]) < 0)
            return -EINVAL;
        o->n_subs++;
    }
    return o->n_subs ? 0 : -EINVAL;
}

/* The SFU and the relay default to where meson puts them next to this executable. */
static void default_paths(struct opts *o)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        n = 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(self, sizeof(self), ".");
    snprintf(o->sfu_path, sizeof(o->sfu_path), "%.*s/../sfu/sfu", PATH_MAX - 16, self);
    snprintf(o->relay_path, sizeof(o->relay_path), "%.*s/udp_relay", PATH_MAX - 16, self);
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [options]\n"
            "  --subscribers LIST  subscriber counts to sweep, 1..%d (default 1,2,4,8)\n"
            "  --packets N         packets per run (default 100000, at most %d)\n"
            "  --rate N            packets per second (default 20000, at most %d)\n"
            "  --payload N         RTP payload bytes, %d..%d (default 1000)\n"
            "  --pin off|on|both   pin the forwarder to CPU 0 and the bench to CPU 1 (default "
            "both)\n"
            "  --json FILE         also write the results as JSON\n"
            "  --sfu PATH          the SFU executable (default: ../sfu/sfu next to this one)\n"
            "  --relay PATH        the relay executable (default: udp_relay next to this one)\n"
            "  --verbose           the SFU's stats and the children's pids on stderr\n",
            prog, MAX_SUBS, MAX_PACKETS, MAX_RATE, MIN_PAYLOAD, MAX_PAYLOAD);
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    parse_list("1,2,4,8", o);
    o->packets = 100000;
    o->rate = 20000;
    o->payload = 1000;
    o->pin = PIN_BOTH;
    default_paths(o);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = -EINVAL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h"))
            return 1;
        if (!strcmp(k, "--verbose")) {
            verbose = true;
            continue;
        }
        if (!v)
            return -EINVAL;
        if (!strcmp(k, "--subscribers"))
            rc = parse_list(v, o);
        else if (!strcmp(k, "--packets"))
            rc = parse_uint(v, 1, MAX_PACKETS, &o->packets);
        else if (!strcmp(k, "--rate"))
            rc = parse_uint(v, 1, MAX_RATE, &o->rate);
        else if (!strcmp(k, "--payload"))
            rc = parse_uint(v, MIN_PAYLOAD, MAX_PAYLOAD, &o->payload);
        else if (!strcmp(k, "--json")) {
            o->json = v;
            rc = 0;
        } else if (!strcmp(k, "--pin")) {
            rc = 0;
            if (!strcmp(v, "off"))
                o->pin = PIN_OFF;
            else if (!strcmp(v, "on"))
                o->pin = PIN_ON;
            else if (!strcmp(v, "both"))
                o->pin = PIN_BOTH;
            else
                rc = -EINVAL;
        } else if (!strcmp(k, "--sfu") && strlen(v) < sizeof(o->sfu_path)) {
            snprintf(o->sfu_path, sizeof(o->sfu_path), "%s", v);
            rc = 0;
        } else if (!strcmp(k, "--relay") && strlen(v) < sizeof(o->relay_path)) {
            snprintf(o->relay_path, sizeof(o->relay_path), "%s", v);
            rc = 0;
        }
        if (rc < 0) {
            fprintf(stderr, "fwd_bench: bad option %s %s\n", k, v);
            return rc;
        }
        i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct row rows[2 * MAX_SWEEP];
    struct opts o;
    unsigned n_rows = 0;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        usage(argv[0]);
        return rc > 0 ? 0 : 2;
    }
    if (access(o.sfu_path, X_OK) != 0 || access(o.relay_path, X_OK) != 0) {
        fprintf(stderr, "fwd_bench: %s or %s is not executable (see --sfu, --relay)\n", o.sfu_path,
                o.relay_path);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (o.pin != PIN_OFF && cpus < 2) {
        fprintf(stderr, "fwd_bench: one CPU online: no pinning\n");
        o.pin = PIN_OFF;
    }
    printf("fwd_bench: %u packets at %u/s, payload %u bytes, %ld CPUs; forwarder pinned to CPU 0 "
           "and bench to CPU 1 in 'pinned' rows\n",
           o.packets, o.rate, o.payload, cpus);
    print_header();
    for (int pass = 0; pass < 2; pass++) {
        bool pinned = pass == 1;
        if ((pinned && o.pin == PIN_OFF) || (!pinned && o.pin == PIN_ON))
            continue;
        /* The peers' threads are created later and inherit this mask. */
        pin_self(pinned ? 1 : -1);
        for (unsigned i = 0; i < o.n_subs; i++) {
            struct row *r = &rows[n_rows++];
            r->subs = o.subs[i];
            r->pinned = pinned;
            if (run_sfu(&o, r->subs, pinned ? 0 : -1, &r->sfu) < 0)
                fprintf(stderr, "fwd_bench: the SFU run with %u subscribers failed\n", r->subs);
            if (run_relay(&o, r->subs, pinned ? 0 : -1, &r->relay) < 0)
                fprintf(stderr, "fwd_bench: the relay run with %u subscribers failed\n", r->subs);
            print_row(r);
        }
    }
    pin_self(-1);
    if (o.json && write_json(&o, rows, n_rows) < 0)
        return 1;
    return 0;
}
