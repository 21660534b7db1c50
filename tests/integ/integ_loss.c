/* (c) Loss on the subscriber's link: 5% loss, 10 ms delay and reordering on what the SFU sends
 * to one subscriber only. The subscriber NACKs as a browser does, the SFU answers over RTX, and
 * the subscriber ends up with more than 99.5% of the packets, repaired ones byte-identical and
 * under their original sequence numbers. The publisher's link is clean, so the SFU must not NACK
 * upstream.
 *
 * The test runs in a network namespace of its own (unshare(CLONE_NEWNET), so it needs root) and
 * shapes only datagrams to the subscriber's port with tc: prio + netem + a u32 filter. Where the
 * kernel has no netem (sch_prio/sch_netem missing, as in some VMs), the same impairment is
 * applied by a relay in this process that stands between the SFU and the subscriber: seeded,
 * so the run is the same every time. Not root or no tc: the test fails, it never skips. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtp.h"

#define N_PACKETS   3000
#define FIRST_SEQ   40000
#define PAYLOAD_LEN 200
#define PACE_US     1000 /* 1000 packets/s: a 720p call's video at a few Mbit/s */
#define LOSS_PCT    5
#define DELAY_MS    10
#define REORDER_PCT 25 /* sent at once, overtaking the delayed rest */
#define PUB_SSRC    0x0a0b0c0du
#define PUB_RTX     0x1a1b1c1du

/* ---- what the subscriber saw (written on its peer's thread) ---- */

struct sub {
    uint32_t want_ssrc;
    _Atomic uint8_t seen[N_PACKETS];
    _Atomic uint64_t distinct;
    _Atomic uint64_t duplicates;
    _Atomic uint64_t late; /* arrived after a higher sequence number */
    _Atomic uint64_t bad_payload;
    _Atomic uint64_t bad_header;
    _Atomic int64_t seq_base; /* out seq of index 0, learned from the first packet; -1 none */
    int32_t highest;          /* highest index seen, -1 none: the peer's thread only */
};

/* The payload of packet i: a VP8 descriptor (S=1 on each 10-packet frame's first packet, whose
 * first frame is a keyframe) and bytes derived from i. */
static size_t make_payload(uint32_t i, uint8_t *out)
{
    out[0] = (i % 10 == 0) ? 0x10 : 0x00;
    out[1] = (i == 0) ? 0x00 : 0x01; /* P bit: 0 only on the keyframe */
    be32_store(out + 2, i);
    for (size_t k = 6; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 131 + k * 7);
    return PAYLOAD_LEN;
}

static void on_sub_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub *s = arg;
    struct rtp_view v;
    uint8_t want[PAYLOAD_LEN];

    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len < 6) {
        atomic_fetch_add(&s->bad_payload, 1);
        return;
    }
    uint32_t i = be32_load(v.payload + 2);
    if (i >= N_PACKETS) {
        atomic_fetch_add(&s->bad_payload, 1);
        return;
    }
    make_payload(i, want);
    if (v.payload_len != PAYLOAD_LEN || memcmp(v.payload, want, PAYLOAD_LEN) != 0)
        atomic_fetch_add(&s->bad_payload, 1);
    /* Repaired packets too must come back as the media stream, under the sequence number the
     * original had: out seq = base + index, the base fixed by the first packet seen. */
    int64_t base = atomic_load(&s->seq_base);
    if (base < 0) {
        base = (uint16_t)(v.seq - i);
        atomic_store(&s->seq_base, base);
    }
    if (v.ssrc != s->want_ssrc || v.pt != 100 || v.seq != (uint16_t)(base + i))
        atomic_fetch_add(&s->bad_header, 1);
    if (atomic_exchange(&s->seen[i], 1))
        atomic_fetch_add(&s->duplicates, 1);
    else
        atomic_fetch_add(&s->distinct, 1);
    if ((int32_t)i < s->highest)
        atomic_fetch_add(&s->late, 1);
    else
        s->highest = (int32_t)i;
}

/* ---- the namespace and tc ---- */

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "loss: '%s' failed (status %d)\n", cmd, rc);
    return rc == 0 ? 0 : -1;
}

/* Enters a new network namespace with its loopback up. Fails loudly when it cannot. */
static int netns_enter(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "loss: FAIL: this test needs root (CAP_NET_ADMIN) for its own network "
                        "namespace and tc; run it as root (CI does)\n");
        return -1;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "loss: FAIL: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return -1;
    }
    if (run("ip link set lo up") < 0) {
        fprintf(stderr, "loss: FAIL: cannot bring lo up in the namespace (iproute2 installed?)\n");
        return -1;
    }
    if (system("tc -V >/dev/null 2>&1") != 0) {
        fprintf(stderr, "loss: FAIL: tc not found: install iproute2 (scripts/deps.sh)\n");
        return -1;
    }
    return 0;
}

/* The qdiscs: prio's default priomap puts ordinary traffic in band 1:2, so band 1:3 with netem
 * sees only what the filter added later sends there. Returns 0, or -1 when the kernel lacks
 * prio or netem. */
static int netem_prepare(void)
{
    char cmd[256];
    if (run("tc qdisc add dev lo root handle 1: prio") < 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "tc qdisc add dev lo parent 1:3 handle 30: netem loss %d%% delay %dms "
             "reorder %d%% 50%%",
             LOSS_PCT, DELAY_MS, REORDER_PCT);
    return run(cmd);
}

static int netem_arm(uint16_t port)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "tc filter add dev lo parent 1:0 protocol ip u32 match ip dport %u 0xffff flowid 1:3",
             port);
    return run(cmd);
}

/* ---- the relay, where the kernel has no netem ---- */

#define RELAY_QUEUE 512

struct relay_slot {
    uint64_t due_us;
    size_t len;
    uint8_t data[1500];
};

struct relay {
    int front; /* the subscriber's side: it stands for the SFU */
    int back;  /* the SFU's side: it stands for the subscriber */
    struct sockaddr_in front_addr;
    struct sockaddr_in sfu;
    struct sockaddr_in sub;
    bool has_sub;
    uint64_t rng;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool armed;
    struct relay_slot q[RELAY_QUEUE]; /* FIFO: every delayed packet waits the same time */
    size_t q_head, q_len;
    _Atomic uint64_t dropped, delayed, direct;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint32_t relay_rand_pct(struct relay *r)
{
    /* xorshift64: the same sequence every run. */
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return (uint32_t)(r->rng % 100);
}

static void relay_to_sub(struct relay *r, const uint8_t *buf, size_t len)
{
    if (r->has_sub)
        sendto(r->front, buf, len, 0, (struct sockaddr *)&r->sub, sizeof(r->sub));
}

static void relay_from_sfu(struct relay *r, const uint8_t *buf, size_t len)
{
    if (!atomic_load(&r->armed)) {
        relay_to_sub(r, buf, len);
        return;
    }
    if (relay_rand_pct(r) < LOSS_PCT) {
        atomic_fetch_add(&r->dropped, 1);
        return;
    }
    if (relay_rand_pct(r) < REORDER_PCT || r->q_len == RELAY_QUEUE) {
        atomic_fetch_add(&r->direct, 1);
        relay_to_sub(r, buf, len);
        return;
    }
    struct relay_slot *s = &r->q[(r->q_head + r->q_len++) % RELAY_QUEUE];
    s->due_us = now_us() + DELAY_MS * 1000u;
    s->len = len;
    memcpy(s->data, buf, len);
    atomic_fetch_add(&r->delayed, 1);
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    uint8_t buf[1500];
    struct pollfd pfd[2] = {{.fd = r->front, .events = POLLIN}, {.fd = r->back, .events = POLLIN}};

    while (!atomic_load(&r->stop)) {
        uint64_t now = now_us();
        while (r->q_len && r->q[r->q_head].due_us <= now) {
            relay_to_sub(r, r->q[r->q_head].data, r->q[r->q_head].len);
            r->q_head = (r->q_head + 1) % RELAY_QUEUE;
            r->q_len--;
        }
        int timeout_ms = 20;
        if (r->q_len) {
            uint64_t wait = r->q[r->q_head].due_us - now;
            timeout_ms = (int)((wait + 999) / 1000);
        }
        if (poll(pfd, 2, timeout_ms) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(r->front, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            if (n > 0) {
                r->sub = from;
                r->has_sub = true;
                sendto(r->back, buf, (size_t)n, 0, (struct sockaddr *)&r->sfu, sizeof(r->sfu));
            }
        }
        if (pfd[1].revents & POLLIN) {
            ssize_t n = recv(r->back, buf, sizeof(buf), 0);
            if (n > 0)
                relay_from_sfu(r, buf, (size_t)n);
        }
    }
    return NULL;
}

static int udp_bound(struct sockaddr_in *addr)
{
    socklen_t al = sizeof(*addr);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 2 * 1024 * 1024;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)addr, &al) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int relay_start(struct relay *r, const struct peer_candidate *sfu)
{
    struct sockaddr_in back_addr;
    memset(r, 0, sizeof(*r));
    r->rng = 0x9e3779b97f4a7c15ull;
    r->sfu.sin_family = AF_INET;
    r->sfu.sin_port = htons(sfu->port);
    if (inet_pton(AF_INET, sfu->ip, &r->sfu.sin_addr) != 1)
        return -1;
    r->front = udp_bound(&r->front_addr);
    r->back = udp_bound(&back_addr);
    if (r->front < 0 || r->back < 0 || pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        if (r->front >= 0)
            close(r->front);
        if (r->back >= 0)
            close(r->back);
        return -1;
    }
    return 0;
}

static void relay_stop(struct relay *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->front);
    close(r->back);
}

/* ---- the run ---- */

/* Joins a subscriber that NACKs, through the relay when there is one. */
static int join_subscriber(struct ctl_client *ctl, struct sub *s, struct relay *relay,
                           struct peer **out, uint64_t *tid)
{
    struct bench_transport t;
    struct peer_cfg cfg;
    struct peer_cbs cbs = {.on_rtp = on_sub_rtp};
    struct peer *p;

    CHECK_EQ(bench_ctl_create_transport(ctl, "room-loss", &t), 0);
    peer_cfg_init(&cfg);
    cfg.nack = true;
    CHECK_EQ(peer_new(&p, &cfg, &cbs, s), 0);
    if (bench_ctl_connect_transport(ctl, "room-loss", t.id, peer_fingerprint(p)) != 0) {
        peer_free(p);
        return -1;
    }
    struct peer_candidate cand = t.cand;
    if (relay) {
        if (relay_start(relay, &t.cand) < 0) {
            peer_free(p);
            return -1;
        }
        snprintf(cand.ip, sizeof(cand.ip), "127.0.0.1");
        cand.port = ntohs(relay->front_addr.sin_port);
    }
    if (peer_set_remote(p, t.ufrag, t.pwd, &cand, 1, t.fingerprint) < 0 ||
        peer_wait_state(p, PEER_STATE_CONNECTED, 10000) < 0) {
        fprintf(stderr, "loss: subscriber did not connect (state %d)\n", peer_state_get(p));
        peer_free(p);
        if (relay)
            relay_stop(relay);
        return -1;
    }
    *out = p;
    *tid = t.id;
    return 0;
}

static Sfu__Envelope *room_stats(struct ctl_client *ctl)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    req.room_id = "room-loss";
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    return integ_call(ctl, &env);
}

static int test_loss_nack_rtx(void)
{
    static struct sub sub;
    static struct relay relay;
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *subp;
    uint64_t pub_t, sub_t;
    struct peer_cbs none = {0};
    bool use_relay = false;

    CHECK_EQ(netns_enter(), 0);
    if (netem_prepare() < 0) {
        fprintf(stderr, "loss: the kernel has no prio/netem qdisc (sch_prio, sch_netem): the "
                        "test's own relay applies the same loss, delay and reordering instead\n");
        use_relay = true;
    }
    memset(&sub, 0, sizeof(sub));
    atomic_store(&sub.seq_base, -1);
    sub.highest = -1;

    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "room-loss"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "room-loss", &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "room-loss", pub_t, PUB_SSRC, PUB_RTX);
    CHECK(prod != 0);
    CHECK_EQ(join_subscriber(ctl, &sub, use_relay ? &relay : NULL, &subp, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "room-loss", sub_t, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    const Sfu__RtpParameters *rp = r->consumed->rtp;
    CHECK_EQ(rp->codecs[0]->payload_type, 100);
    CHECK_EQ(rp->codecs[0]->rtx_payload_type, 101);
    sub.want_ssrc = rp->encodings[0]->ssrc;
    uint32_t sub_rtx = rp->encodings[0]->rtx_ssrc;
    CHECK(sub_rtx != 0 && sub_rtx != sub.want_ssrc);
    sfu__envelope__free_unpacked(r, NULL);
    CHECK_EQ(peer_set_rtx(subp, sub.want_ssrc, sub_rtx, 101, 100), 0);

    /* Impair the subscriber's link from here on: ICE and DTLS are done. */
    if (use_relay) {
        atomic_store(&relay.armed, true);
    } else {
        struct peer_candidate c;
        CHECK_EQ(peer_local_candidates(subp, &c, 1), 1);
        CHECK_EQ(netem_arm(c.port), 0);
    }

    /* A steady 1000 packets/s, each on its own deadline so a slow iteration does not stretch
     * the run. */
    uint8_t pkt[12 + PAYLOAD_LEN];
    uint64_t start = now_us();
    for (uint32_t i = 0; i < N_PACKETS; i++) {
        uint64_t due = start + (uint64_t)i * PACE_US, t = now_us();
        if (due > t)
            integ_sleep_us((unsigned)(due - t));
        pkt[0] = 0x80;
        pkt[1] = 96 | ((i % 10 == 9) ? 0x80 : 0);
        be16_store(pkt + 2, (uint16_t)(FIRST_SEQ + i));
        be32_store(pkt + 4, 5000 + (i / 10) * 3000);
        be32_store(pkt + 8, PUB_SSRC);
        size_t n = make_payload(i, pkt + 12);
        CHECK_EQ(peer_send_rtp(pub, pkt, 12 + n), 0);
    }
    /* Repairs of the last packets take a few NACK rounds more. */
    for (int waited = 0; waited < 3000 && atomic_load(&sub.distinct) < N_PACKETS; waited += 20)
        integ_sleep_ms(20);
    integ_sleep_ms(200); /* late duplicates, and the NACKs that are still being answered */

    Sfu__Envelope *st = room_stats(ctl);
    CHECK(st && st->body_case == SFU__ENVELOPE__BODY_STATS);
    CHECK_EQ(st->stats->n_producers, 1);
    CHECK_EQ(st->stats->n_consumers, 1);
    const Sfu__Counters *pc = st->stats->producers[0]->counters;
    const Sfu__Counters *cc = st->stats->consumers[0]->counters;
    uint64_t prod_packets = pc->packets, prod_nacks = pc->nacks;
    uint64_t forwarded = cc->forwarded, retransmitted = cc->retransmitted, nacked = cc->nacks;
    sfu__envelope__free_unpacked(st, NULL);

    struct peer_stats ps;
    peer_stats_get(subp, &ps);
    uint64_t distinct = atomic_load(&sub.distinct);
    uint64_t missing = N_PACKETS - distinct;
    uint64_t sent_to_sub = forwarded + retransmitted;
    uint64_t lost_on_link = sent_to_sub > ps.rx_rtp_packets ? sent_to_sub - ps.rx_rtp_packets : 0;
    fprintf(stderr,
            "loss: impairment %s: %d%% loss, %d ms delay, %d%% reordered\n"
            "loss: SFU: producer packets %llu, upstream NACKs %llu; consumer forwarded %llu, "
            "NACKed seqs %llu, retransmitted %llu\n"
            "loss: link: %llu of %llu datagrams lost (%.2f%%)%s\n"
            "loss: subscriber: rx %llu, NACK packets %llu (%llu seqs), repaired %llu, "
            "duplicates %llu, late %llu, bad payload %llu, bad header %llu\n"
            "loss: residual: %llu of %d missing (%.3f%%)\n",
            use_relay ? "relay" : "tc netem", LOSS_PCT, DELAY_MS, REORDER_PCT,
            (unsigned long long)prod_packets, (unsigned long long)prod_nacks,
            (unsigned long long)forwarded, (unsigned long long)nacked,
            (unsigned long long)retransmitted, (unsigned long long)lost_on_link,
            (unsigned long long)sent_to_sub,
            sent_to_sub ? 100.0 * (double)lost_on_link / (double)sent_to_sub : 0.0,
            use_relay ? "" : " (netem)", (unsigned long long)ps.rx_rtp_packets,
            (unsigned long long)ps.tx_nack_packets, (unsigned long long)ps.tx_nack_seqs,
            (unsigned long long)ps.rx_rtx_repaired,
            (unsigned long long)atomic_load(&sub.duplicates),
            (unsigned long long)atomic_load(&sub.late),
            (unsigned long long)atomic_load(&sub.bad_payload),
            (unsigned long long)atomic_load(&sub.bad_header), (unsigned long long)missing,
            N_PACKETS, 100.0 * (double)missing / N_PACKETS);

    /* The publisher's link is clean: every packet reached the SFU and it asked for none. */
    CHECK_EQ(prod_packets, N_PACKETS);
    CHECK_EQ(prod_nacks, 0);
    CHECK_EQ(forwarded, N_PACKETS);
    /* The impairment was real: a few percent of what went to the subscriber was lost, and
     * reordering made packets arrive after later ones. */
    CHECK(lost_on_link * 100 >= sent_to_sub * 2);
    CHECK(atomic_load(&sub.late) > ps.rx_rtx_repaired);
    /* NACKs went out, the SFU answered them over RTX, and the repairs arrived. */
    CHECK(ps.tx_nack_packets > 0);
    CHECK(nacked > 0);
    CHECK(retransmitted > 0);
    CHECK(ps.rx_rtx_repaired > 0);
    CHECK(ps.rx_rtx_repaired <= retransmitted);
    /* Every packet, repaired or not, carries its original bytes and header. */
    CHECK_EQ(atomic_load(&sub.bad_payload), 0);
    CHECK_EQ(atomic_load(&sub.bad_header), 0);
    CHECK_EQ(ps.rx_unprotect_failed, 0);
    CHECK_EQ(ps.tx_nack_failed, 0);
    /* Residual loss under 0.5%. */
    CHECK(missing * 200 < N_PACKETS);

    peer_free(pub);
    peer_free(subp);
    if (use_relay)
        relay_stop(&relay);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static const struct test_case cases[] = {
    {"loss_nack_rtx_subscriber", test_loss_nack_rtx},
};

TEST_MAIN(cases)
