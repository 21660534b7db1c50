/* (f) Bad input while a call is in progress: garbage, truncated STUN, DTLS, RTP and RTCP on the
 * SFU's UDP port from strangers and from the call's own 5-tuples, ICE checks with a wrong
 * password or an unknown ufrag, and wrong or late DTLS fingerprints. The call must keep every
 * packet, strangers must get no answer, and the SFU must keep answering its control socket. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "core/bytes.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtp.h"

#define ROOM           "bad-input"
#define PAYLOAD_LEN    160
#define WINDOW         128
#define KEYFRAME_EVERY 500 /* packets: lets a consumer that joins late start quickly */
#define MAX_PACKETS    60000
#define GARBAGE_EVERY  4 /* the publisher's 5-tuple carries one garbage datagram per 4 packets */
#define NO_ANSWER_MS   400
#define PUB_SSRC       0x0badf00du

/* --- the call ------------------------------------------------------------------------------ */

struct sub {
    _Atomic uint64_t received;
    _Atomic uint64_t bad_payload;
    _Atomic uint64_t bad_order;
    int32_t last_index;
};

/* Packet i's payload: a VP8 descriptor (S=1 on each 10-packet frame's first packet, a keyframe
 * every KEYFRAME_EVERY packets) then bytes derived from i. */
static void make_payload(uint32_t i, uint8_t *out)
{
    out[0] = (i % 10 == 0) ? 0x10 : 0x00;
    out[1] = (i % KEYFRAME_EVERY == 0) ? 0x00 : 0x01; /* VP8 P bit: 0 on a keyframe */
    be32_store(out + 2, i);
    for (size_t k = 6; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 29 + k);
}

static void on_sub_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub *s = arg;
    struct rtp_view v;
    uint8_t want[PAYLOAD_LEN];
    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len != PAYLOAD_LEN) {
        atomic_fetch_add(&s->bad_payload, 1);
        return;
    }
    uint32_t i = be32_load(v.payload + 2);
    make_payload(i, want);
    if (memcmp(v.payload, want, PAYLOAD_LEN) != 0)
        atomic_fetch_add(&s->bad_payload, 1);
    uint64_t n = atomic_fetch_add(&s->received, 1);
    if ((n == 0 && i != 0) || (n > 0 && (int32_t)i != s->last_index + 1))
        atomic_fetch_add(&s->bad_order, 1);
    s->last_index = (int32_t)i;
}

static void on_count_rtp(void *arg, const uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
    atomic_fetch_add((_Atomic uint64_t *)arg, 1);
}

/* Deterministic garbage: xorshift32 with a fixed seed. */
static uint32_t rng_next(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *st = x;
}

static void rng_fill(uint32_t *st, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rng_next(st);
}

/* Whether the SFU routes a datagram with this first byte from a known path to the transport,
 * where a refusal is counted in its rx.dropped (RFC 7983: DTLS 20..63, RTP/RTCP 128..191). */
static bool counted_by_transport(uint8_t b)
{
    return (b >= 20 && b <= 63) || (b >= 128 && b <= 191);
}

/* A DTLS 1.2 handshake record (header and a ClientHello-like body) for truncation. */
static size_t make_dtls_record(uint8_t *out, uint32_t *rng)
{
    const size_t body = 60;
    out[0] = 22;
    out[1] = 0xfe;
    out[2] = 0xfd;
    memset(out + 3, 0, 8); /* epoch 0, sequence 0 */
    be16_store(out + 11, (uint16_t)body);
    out[13] = 1; /* ClientHello */
    rng_fill(rng, out + 14, body - 1);
    return 13 + body;
}

/* One garbage datagram of the kind k: random bytes, a cut RTP header, RTP/RTCP-looking noise
 * (first byte 0x80..0xbf), or a truncated DTLS record. Returns its length (at least 1). */
static size_t make_garbage(unsigned k, uint32_t *rng, uint8_t *out)
{
    size_t len;
    switch (k % 4) {
    case 0:
        len = 1 + rng_next(rng) % 1200;
        rng_fill(rng, out, len);
        return len;
    case 1:
        out[0] = 0x80;
        out[1] = 96;
        be16_store(out + 2, (uint16_t)rng_next(rng));
        be32_store(out + 4, rng_next(rng));
        be32_store(out + 8, PUB_SSRC);
        return 1 + rng_next(rng) % 11; /* shorter than an RTP header */
    case 2:
        len = 1 + rng_next(rng) % 300;
        rng_fill(rng, out, len);
        out[0] = (uint8_t)(0x80 | (out[0] & 0x3f));
        if (len > 1 && (rng_next(rng) & 1))
            out[1] = (uint8_t)(200 + rng_next(rng) % 5); /* an RTCP packet type */
        return len;
    default: {
        uint8_t rec[80];
        size_t full = make_dtls_record(rec, rng);
        len = 1 + rng_next(rng) % (full - 1);
        memcpy(out, rec, len);
        return len;
    }
    }
}

/* The publisher's thread: VP8 at about 1000 packets a second, paced by what the subscriber has
 * received (at most WINDOW in flight, so no socket buffer overruns and any loss is the SFU's),
 * with garbage sent between them on the publisher's own 5-tuple. */
struct stream {
    struct peer *pub;
    struct sub *sub;
    atomic_bool stop;
    _Atomic uint32_t sent;
    uint32_t garbage;         /* datagrams of garbage sent */
    uint32_t garbage_counted; /* of which the transport counts as dropped */
    int err;
};

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    uint8_t pkt[12 + PAYLOAD_LEN];
    uint8_t junk[1500];
    uint32_t rng = 0x5eed1234u;
    uint32_t i;
    for (i = 0; i < MAX_PACKETS && !atomic_load(&st->stop); i++) {
        pkt[0] = 0x80;
        pkt[1] = (uint8_t)(96 | ((i % 10 == 9) ? 0x80 : 0));
        be16_store(pkt + 2, (uint16_t)(1000 + i));
        be32_store(pkt + 4, 5000 + (i / 10) * 3000);
        be32_store(pkt + 8, PUB_SSRC);
        make_payload(i, pkt + 12);
        int rc = peer_send_rtp(st->pub, pkt, sizeof(pkt));
        if (rc < 0) {
            st->err = rc;
            break;
        }
        atomic_store(&st->sent, i + 1);
        if (i % GARBAGE_EVERY == GARBAGE_EVERY - 1) {
            size_t n = make_garbage(st->garbage, &rng, junk);
            if (peer_send_raw(st->pub, junk, n) == 0) {
                st->garbage++;
                st->garbage_counted += counted_by_transport(junk[0]);
            }
        }
        for (int spin = 0; spin < 2000; spin++) {
            if (i + 1 < WINDOW + atomic_load(&st->sub->received))
                break;
            integ_sleep_us(100);
        }
        integ_sleep_us(1000);
    }
    return NULL;
}

/* --- helpers --------------------------------------------------------------------------------- */

/* As integ_join, keeping the transport's credentials and candidate. */
static int join_keep(struct ctl_client *c, const struct peer_cbs *cbs, void *arg, struct peer **out,
                     struct bench_transport *t)
{
    struct peer *p;
    if (bench_ctl_create_transport(c, ROOM, t) < 0 || peer_new(&p, NULL, cbs, arg) < 0)
        return -1;
    if (bench_ctl_connect_transport(c, ROOM, t->id, peer_fingerprint(p)) != 0 ||
        peer_set_remote(p, t->ufrag, t->pwd, &t->cand, 1, t->fingerprint) < 0 ||
        peer_wait_state(p, PEER_STATE_CONNECTED, 10000) < 0) {
        peer_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* The offset just past the USERNAME attribute of a STUN message (0 when it has none). */
static size_t stun_username_end(const uint8_t *m, size_t len)
{
    size_t off = 20;
    while (off + 4 <= len) {
        size_t alen = be16_load(m + off + 2), end = off + 4 + ((alen + 3) & ~(size_t)3);
        if (be16_load(m + off) == 0x0006)
            return end;
        off = end;
    }
    return 0;
}

static const Sfu__TransportStats *stats_transport(const Sfu__Envelope *st, uint64_t id)
{
    for (size_t k = 0; k < st->stats->n_transports; k++)
        if (st->stats->transports[k]->id == id)
            return st->stats->transports[k];
    return NULL;
}

/* Records whether a peer ever reported CONNECTED. */
static void on_state_note(void *arg, enum peer_state s)
{
    if (s == PEER_STATE_CONNECTED)
        atomic_store((atomic_bool *)arg, true);
}

/* --- the test ----------------------------------------------------------------------------------
 */

static int test_bad_input_during_call(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *subp;
    struct bench_transport pub_t, sub_t;
    static struct sub sub;
    static struct stream st;
    struct peer_cbs none = {0}, subcbs = {.on_rtp = on_sub_rtp};
    struct integ_evlog evs = {.n = 0};
    uint64_t samples[8];
    unsigned nsamples = 0;
    uint8_t buf[1600], reply[1600];
    uint32_t rng = 0xc0ffee11u;
    uint64_t sub_raw_counted = 0;
    pthread_t th;

    memset(&sub, 0, sizeof(sub));
    memset(&st, 0, sizeof(st));
    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, ROOM), 0);
    CHECK_EQ(join_keep(ctl, &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, ROOM, pub_t.id, PUB_SSRC, 0x0badf00eu);
    CHECK(prod != 0);
    CHECK_EQ(join_keep(ctl, &subcbs, &sub, &subp, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, ROOM, sub_t.id, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    sfu__envelope__free_unpacked(r, NULL);

    st.pub = pub;
    st.sub = &sub;
    CHECK_EQ(pthread_create(&th, NULL, stream_main, &st), 0);
    for (int w = 0; w < 5000 && atomic_load(&sub.received) < 200; w += 10)
        integ_sleep_ms(10);
    CHECK(atomic_load(&sub.received) >= 200);
    samples[nsamples++] = atomic_load(&sub.received);

    int fds[3];
    for (int k = 0; k < 3; k++)
        CHECK((fds[k] = integ_udp_open()) >= 0);

    /* Random datagrams of random lengths (0 to 1500) from strangers, in small bursts so the
     * SFU's socket buffer is never the reason a call packet is lost. */
    for (int i = 0; i < 2400; i++) {
        size_t len = rng_next(&rng) % 1501;
        rng_fill(&rng, buf, len);
        CHECK_EQ(integ_udp_send_to(fds[i % 3], &pub_t, buf, len), 0);
        if (i % 16 == 15)
            integ_sleep_ms(1);
    }
    /* No stranger was answered. */
    for (int k = 0; k < 3; k++)
        CHECK(integ_udp_recv_within(fds[k], reply, sizeof(reply), k == 0 ? NO_ANSWER_MS : 0) < 0);
    samples[nsamples++] = atomic_load(&sub.received);

    /* Truncated ICE checks carrying the publisher's real credentials: cut at every length as they
     * are, and cut at every attribute boundary with the STUN length fixed up to match (so only
     * the missing MESSAGE-INTEGRITY or FINGERPRINT is wrong). None may be answered. */
    size_t full = integ_stun_check(buf, sizeof(buf), pub_t.ufrag, pub_t.pwd);
    CHECK(full > 60);
    size_t user_end = stun_username_end(buf, full);
    CHECK(user_end > 20 && user_end < full);
    unsigned fixed_cuts = 0;
    for (size_t cut = 0; cut < full; cut++) {
        CHECK_EQ(integ_udp_send_to(fds[0], &pub_t, buf, cut), 0);
        if (cut >= 20 && cut % 4 == 0) {
            uint8_t tr[1600];
            memcpy(tr, buf, cut);
            be16_store(tr + 2, (uint16_t)(cut - 20));
            CHECK_EQ(integ_udp_send_to(fds[0], &pub_t, tr, cut), 0);
            fixed_cuts += cut >= user_end;
        }
        if (cut % 16 == 15)
            integ_sleep_ms(1);
    }
    CHECK(integ_udp_recv_within(fds[0], reply, sizeof(reply), NO_ANSWER_MS) < 0);
    /* The right ufrag with a wrong password, and an unknown ufrag with the right password. */
    char wrong_pwd[64];
    snprintf(wrong_pwd, sizeof(wrong_pwd), "%s", pub_t.pwd);
    wrong_pwd[0] = wrong_pwd[0] == 'A' ? 'B' : 'A';
    uint8_t chk[512];
    size_t clen = integ_stun_check(chk, sizeof(chk), pub_t.ufrag, wrong_pwd);
    CHECK(clen > 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(integ_udp_send_to(fds[1], &pub_t, chk, clen), 0);
    CHECK(integ_udp_recv_within(fds[1], reply, sizeof(reply), NO_ANSWER_MS) < 0);
    clen = integ_stun_check(chk, sizeof(chk), "NoSuchUf", pub_t.pwd);
    CHECK(clen > 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(integ_udp_send_to(fds[2], &pub_t, chk, clen), 0);
    CHECK(integ_udp_recv_within(fds[2], reply, sizeof(reply), NO_ANSWER_MS) < 0);
    /* The control: the whole check from the same stranger is answered with a Binding success
     * for its transaction, so the silences above are refusals, not a deaf socket. */
    CHECK_EQ(integ_udp_send_to(fds[0], &pub_t, buf, full), 0);
    ssize_t got = integ_udp_recv_within(fds[0], reply, sizeof(reply), 2000);
    CHECK(got >= 20);
    CHECK_EQ(be16_load(reply), 0x0101);
    CHECK_MEM(reply + 8, buf + 8, 12);
    samples[nsamples++] = atomic_load(&sub.received);

    /* Truncated DTLS records and truncated or noisy RTP/RTCP, from strangers and from the
     * subscriber's own 5-tuple (which the SFU routes to its transport). */
    uint8_t rec[80];
    size_t rlen = make_dtls_record(rec, &rng);
    for (size_t cut = 1; cut < rlen; cut++) {
        CHECK_EQ(integ_udp_send_to(fds[cut % 3], &pub_t, rec, cut), 0);
        CHECK_EQ(peer_send_raw(subp, rec, cut), 0);
        sub_raw_counted++;
        if (cut % 8 == 7)
            integ_sleep_ms(1);
    }
    for (unsigned k = 0; k < 600; k++) {
        size_t n = make_garbage(1 + k % 2, &rng, buf); /* cut RTP headers and RTP/RTCP noise */
        CHECK_EQ(integ_udp_send_to(fds[k % 3], &pub_t, buf, n), 0);
        CHECK_EQ(peer_send_raw(subp, buf, n), 0);
        sub_raw_counted += counted_by_transport(buf[0]);
        if (k % 8 == 7)
            integ_sleep_ms(1);
    }
    for (int k = 0; k < 3; k++)
        CHECK(integ_udp_recv_within(fds[k], reply, sizeof(reply), k == 0 ? NO_ANSWER_MS : 0) < 0);
    samples[nsamples++] = atomic_load(&sub.received);

    /* A wrong fingerprint signalled before the handshake: the SFU must refuse the peer (it never
     * gets SRTP keys, never reaches CONNECTED) and report FAILED for that transport. */
    struct bench_transport t3;
    struct peer *p3;
    atomic_bool p3_connected = false;
    struct peer_cbs cb3 = {.on_state = on_state_note};
    CHECK_EQ(bench_ctl_create_transport(ctl, ROOM, &t3), 0);
    CHECK_EQ(peer_new(&p3, NULL, &cb3, &p3_connected), 0);
    CHECK_EQ(bench_ctl_connect_transport(ctl, ROOM, t3.id, peer_fingerprint(pub)), 0);
    CHECK_EQ(peer_set_remote(p3, t3.ufrag, t3.pwd, &t3.cand, 1, t3.fingerprint), 0);
    CHECK_EQ(integ_wait_state_event(ctl, &evs, t3.id, SFU__TRANSPORT_STATE__TRANSPORT_STATE_FAILED,
                                    10000),
             0);
    /* The peer learns it failed (an alert), rather than believing it is connected. */
    CHECK_EQ(peer_wait_state(p3, PEER_STATE_FAILED, 5000), 0);
    CHECK(!atomic_load(&p3_connected));
    samples[nsamples++] = atomic_load(&sub.received);

    /* The right fingerprint arriving after the ClientHello: the transport connects and can
     * receive the call. */
    struct bench_transport t4;
    struct peer *p4;
    static _Atomic uint64_t p4_rtp;
    struct peer_cbs cb4 = {.on_rtp = on_count_rtp};
    struct peer_stats ps;
    atomic_store(&p4_rtp, 0);
    CHECK_EQ(bench_ctl_create_transport(ctl, ROOM, &t4), 0);
    CHECK_EQ(peer_new(&p4, NULL, &cb4, (void *)&p4_rtp), 0);
    CHECK_EQ(peer_set_remote(p4, t4.ufrag, t4.pwd, &t4.cand, 1, t4.fingerprint), 0);
    /* The SFU has answered the ClientHello once the peer has DTLS from it. */
    for (int w = 0; w < 5000; w += 10) {
        peer_stats_get(p4, &ps);
        if (ps.rx_dtls_packets > 0)
            break;
        integ_sleep_ms(10);
    }
    CHECK(ps.rx_dtls_packets > 0);
    CHECK_EQ(bench_ctl_connect_transport(ctl, ROOM, t4.id, peer_fingerprint(p4)), 0);
    CHECK_EQ(integ_wait_state_event(ctl, &evs, t4.id,
                                    SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED, 10000),
             0);
    CHECK_EQ(peer_wait_state(p4, PEER_STATE_CONNECTED, 5000), 0);
    r = bench_ctl_consume_vp8(ctl, ROOM, t4.id, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    sfu__envelope__free_unpacked(r, NULL);
    for (int w = 0; w < 5000 && atomic_load(&p4_rtp) < 50; w += 10)
        integ_sleep_ms(10);
    CHECK(atomic_load(&p4_rtp) >= 50);

    /* A wrong fingerprint arriving after the handshake finished: FAILED. */
    struct bench_transport t5;
    struct peer *p5;
    CHECK_EQ(bench_ctl_create_transport(ctl, ROOM, &t5), 0);
    CHECK_EQ(peer_new(&p5, NULL, NULL, NULL), 0);
    CHECK_EQ(peer_set_remote(p5, t5.ufrag, t5.pwd, &t5.cand, 1, t5.fingerprint), 0);
    CHECK_EQ(peer_wait_state(p5, PEER_STATE_CONNECTED, 10000), 0);
    CHECK_EQ(bench_ctl_connect_transport(ctl, ROOM, t5.id, peer_fingerprint(p4)), 0);
    CHECK_EQ(integ_wait_state_event(ctl, &evs, t5.id, SFU__TRANSPORT_STATE__TRANSPORT_STATE_FAILED,
                                    10000),
             0);
    /* The peer had the SFU's Finished; the SFU's close_notify tells it the association is off. */
    CHECK_EQ(peer_wait_state(p5, PEER_STATE_CLOSED, 5000), 0);
    samples[nsamples++] = atomic_load(&sub.received);

    /* The call ends: every packet sent must have arrived. */
    atomic_store(&st.stop, true);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(st.err, 0);
    uint32_t sent = atomic_load(&st.sent);
    for (int w = 0; w < 5000 && atomic_load(&sub.received) < sent; w += 10)
        integ_sleep_ms(10);
    samples[nsamples++] = atomic_load(&sub.received);
    /* The stream's last garbage datagram follows its last packet: let it land. */
    integ_sleep_ms(300);
    /* The SFU still answers its control socket. */
    Sfu__Envelope *stats = integ_get_stats(ctl, ROOM);
    CHECK(stats != NULL);

    /* The call's transports reported only their first CONNECTED. */
    for (unsigned k = 0; k < evs.n; k++)
        if (evs.tid[k] == pub_t.id || evs.tid[k] == sub_t.id)
            CHECK_EQ(evs.state[k], SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    for (unsigned k = 1; k < nsamples; k++) {
        fprintf(stderr, "subscriber count at step %u: %llu\n", k, (unsigned long long)samples[k]);
        /* Every step of the abuse saw the call move on; the last sample is after it ended. */
        CHECK(k == nsamples - 1 ? samples[k] >= samples[k - 1] : samples[k] > samples[k - 1]);
    }
    fprintf(stderr,
            "sent %u, received %llu (bad payload %llu, bad order %llu); publisher garbage %u "
            "(%u to its transport)\n",
            sent, (unsigned long long)atomic_load(&sub.received),
            (unsigned long long)atomic_load(&sub.bad_payload),
            (unsigned long long)atomic_load(&sub.bad_order), st.garbage, st.garbage_counted);
    CHECK(sent > 1000);
    CHECK_EQ(atomic_load(&sub.received), sent);
    CHECK_EQ(atomic_load(&sub.bad_payload), 0);
    CHECK_EQ(atomic_load(&sub.bad_order), 0);

    /* Refusals are counted, not silent: the stats taken at the end of the abuse. */
    const Sfu__TransportStats *tp = stats_transport(stats, pub_t.id);
    const Sfu__TransportStats *ts = stats_transport(stats, sub_t.id);
    const Sfu__TransportStats *ts3 = stats_transport(stats, t3.id);
    const Sfu__TransportStats *ts4 = stats_transport(stats, t4.id);
    const Sfu__TransportStats *ts5 = stats_transport(stats, t5.id);
    CHECK(tp && ts && ts3 && ts4 && ts5);
    fprintf(stderr, "publisher transport rx dropped %llu, subscriber transport %llu (sent %llu)\n",
            (unsigned long long)tp->rx->dropped, (unsigned long long)ts->rx->dropped,
            (unsigned long long)sub_raw_counted);
    /* Its garbage in the DTLS and RTP ranges, the 5 wrong-password checks, and the fixed-up
     * truncated checks whose USERNAME survived the cut (routed to it, then refused). */
    CHECK_EQ(tp->rx->dropped, st.garbage_counted + 5 + fixed_cuts);
    CHECK_EQ(ts->rx->dropped, sub_raw_counted);
    CHECK_EQ(tp->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    CHECK_EQ(ts->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    CHECK_EQ(ts3->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_FAILED);
    CHECK_EQ(ts4->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    CHECK_EQ(ts5->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_FAILED);
    sfu__envelope__free_unpacked(stats, NULL);

    /* The worker's own counters: what never reached a transport was refused and counted. */
    Sfu__Envelope *rooms = integ_list_rooms(ctl);
    CHECK(rooms != NULL && rooms->rooms->n_workers == 1);
    const Sfu__WorkerStats *ws = rooms->rooms->workers[0];
    fprintf(stderr, "worker: stun %llu refused %llu, unknown %llu, no transport %llu\n",
            (unsigned long long)ws->rx_stun, (unsigned long long)ws->stun_refused,
            (unsigned long long)ws->rx_unknown, (unsigned long long)ws->rx_no_transport);
    CHECK(ws->stun_refused >= 5 + 1); /* at least the wrong passwords and the unknown ufrag */
    CHECK(ws->rx_unknown > 0);        /* random first bytes in no RFC 7983 range */
    CHECK(ws->rx_no_transport > 0);   /* strangers' DTLS and SRTP */
    CHECK(ws->rx_datagrams >= ws->rx_stun + ws->rx_unknown + ws->rx_no_transport);
    sfu__envelope__free_unpacked(rooms, NULL);

    for (int k = 0; k < 3; k++)
        close(fds[k]);
    peer_free(p3);
    peer_free(p4);
    peer_free(p5);
    peer_free(pub);
    peer_free(subp);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static const struct test_case cases[] = {
    {"bad_input_during_call", test_bad_input_during_call},
};

TEST_MAIN(cases)
