/* (a) One publisher and two subscribers in a room: each subscriber receives every payload
 * byte-identical and in order, under its own SSRC and continuous sequence numbers, across the
 * 16-bit sequence wrap and the SRTP rollover counter. Also: the control protocol's answers for
 * a consume across rooms (isolation) and a room's stats after the run. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtp.h"

#define N_PACKETS   70200
#define FIRST_SEQ   65000
#define PAYLOAD_LEN 200
#define WINDOW      128

struct sub {
    uint32_t want_ssrc;
    _Atomic uint64_t received;
    _Atomic uint64_t bad_payload;
    _Atomic uint64_t bad_order;
    _Atomic uint64_t bad_ssrc;
    _Atomic uint64_t wraps;
    uint16_t last_seq;
    int32_t last_index;
};

/* The payload of packet i: a VP8 descriptor (S=1 on the first packet of each 10-packet frame,
 * whose first is a keyframe) and bytes derived from i, so a receiver can check every byte. */
static size_t make_payload(uint32_t i, uint8_t *out)
{
    out[0] = (i % 10 == 0) ? 0x10 : 0x00;
    out[1] = (i == 0) ? 0x00 : 0x01; /* P bit: 0 only on the keyframe */
    be32_store(out + 2, i);
    for (size_t k = 6; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 31 + k);
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
    make_payload(i, want);
    if (v.payload_len != PAYLOAD_LEN || memcmp(v.payload, want, PAYLOAD_LEN) != 0)
        atomic_fetch_add(&s->bad_payload, 1);
    if (v.ssrc != s->want_ssrc)
        atomic_fetch_add(&s->bad_ssrc, 1);
    uint64_t n = atomic_fetch_add(&s->received, 1);
    if (n > 0) {
        if ((int32_t)i != s->last_index + 1 || v.seq != (uint16_t)(s->last_seq + 1))
            atomic_fetch_add(&s->bad_order, 1);
        if (v.seq < s->last_seq)
            atomic_fetch_add(&s->wraps, 1);
    } else if (i != 0) {
        atomic_fetch_add(&s->bad_order, 1); /* the first forwarded must be the keyframe */
    }
    s->last_seq = v.seq;
    s->last_index = (int32_t)i;
}

static int test_forward_wrap(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *subp[2];
    uint64_t pub_t, sub_t[2];
    static struct sub subs[2];
    struct peer_cbs none = {0};
    const uint32_t pub_ssrc = 0x11223344;

    CHECK_EQ(integ_sfu_start(&sfu, 2), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "room-a"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "room-a", &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "room-a", pub_t, pub_ssrc, 0x55667788);
    CHECK(prod != 0);
    for (int k = 0; k < 2; k++) {
        struct peer_cbs cbs = {.on_rtp = on_sub_rtp};
        memset(&subs[k], 0, sizeof(subs[k]));
        CHECK_EQ(bench_ctl_join(ctl, "room-a", &cbs, &subs[k], &subp[k], &sub_t[k]), 0);
        Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "room-a", sub_t[k], prod, "0");
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
        subs[k].want_ssrc = r->consumed->rtp->encodings[0]->ssrc;
        CHECK(subs[k].want_ssrc != pub_ssrc);
        CHECK_EQ(r->consumed->rtp->codecs[0]->payload_type, 100);
        sfu__envelope__free_unpacked(r, NULL);
    }
    CHECK(subs[0].want_ssrc != subs[1].want_ssrc);

    /* Paced by what the subscribers have received (at most WINDOW packets in flight, well inside a
     * peer socket's default receive buffer), so the run asserts correctness whatever the machine's
     * speed, with the socket buffers never overrun; a lost packet stalls the window only until the
     * bounded wait gives up. */
    uint8_t pkt[12 + PAYLOAD_LEN];
    for (uint32_t i = 0; i < N_PACKETS; i++) {
        pkt[0] = 0x80;
        pkt[1] = 96 | ((i % 10 == 9) ? 0x80 : 0);
        be16_store(pkt + 2, (uint16_t)(FIRST_SEQ + i));
        be32_store(pkt + 4, 1000 + (i / 10) * 3000);
        be32_store(pkt + 8, pub_ssrc);
        size_t n = make_payload(i, pkt + 12);
        CHECK_EQ(peer_send_rtp(pub, pkt, 12 + n), 0);
        for (int spin = 0; spin < 2000; spin++) {
            uint64_t r0 = atomic_load(&subs[0].received), r1 = atomic_load(&subs[1].received);
            if (i + 1 < WINDOW + (r0 < r1 ? r0 : r1))
                break;
            integ_sleep_us(100);
        }
    }
    for (int waited = 0; waited < 5000; waited += 50) {
        if (atomic_load(&subs[0].received) >= N_PACKETS &&
            atomic_load(&subs[1].received) >= N_PACKETS)
            break;
        integ_sleep_ms(50);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
        req.room_id = "room-a";
        env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
        env.get_stats = &req;
        Sfu__Envelope *st = integ_call(ctl, &env);
        CHECK(st && st->body_case == SFU__ENVELOPE__BODY_STATS);
        for (size_t k = 0; k < st->stats->n_transports; k++)
            fprintf(stderr, "transport %zu: rx %llu dropped %llu, tx %llu dropped %llu\n", k,
                    (unsigned long long)st->stats->transports[k]->rx->packets,
                    (unsigned long long)st->stats->transports[k]->rx->dropped,
                    (unsigned long long)st->stats->transports[k]->tx->packets,
                    (unsigned long long)st->stats->transports[k]->tx->dropped);
        for (size_t k = 0; k < st->stats->n_consumers; k++)
            fprintf(stderr, "consumer %zu: forwarded %llu dropped %llu\n", k,
                    (unsigned long long)st->stats->consumers[k]->counters->forwarded,
                    (unsigned long long)st->stats->consumers[k]->counters->dropped);
        CHECK_EQ(st->stats->producers[0]->counters->packets, N_PACKETS);
        sfu__envelope__free_unpacked(st, NULL);
    }
    for (int k = 0; k < 2; k++) {
        struct peer_stats ps;
        peer_stats_get(subp[k], &ps);
        fprintf(stderr, "subscriber %d peer: rx rtp %llu, unprotect failed %llu, dropped %llu\n", k,
                (unsigned long long)ps.rx_rtp_packets, (unsigned long long)ps.rx_unprotect_failed,
                (unsigned long long)ps.rx_dropped);
        fprintf(stderr,
                "subscriber %d: received %llu of %d, bad payload %llu, bad order %llu, "
                "bad ssrc %llu, seq wraps %llu\n",
                k, (unsigned long long)atomic_load(&subs[k].received), N_PACKETS,
                (unsigned long long)atomic_load(&subs[k].bad_payload),
                (unsigned long long)atomic_load(&subs[k].bad_order),
                (unsigned long long)atomic_load(&subs[k].bad_ssrc),
                (unsigned long long)atomic_load(&subs[k].wraps));
        CHECK_EQ(atomic_load(&subs[k].received), N_PACKETS);
        CHECK_EQ(atomic_load(&subs[k].bad_payload), 0);
        CHECK_EQ(atomic_load(&subs[k].bad_order), 0);
        CHECK_EQ(atomic_load(&subs[k].bad_ssrc), 0);
        CHECK_EQ(atomic_load(&subs[k].wraps), (FIRST_SEQ + N_PACKETS - 1) / 65536);
    }

    /* A retransmission (RTX, RFC 4588) of a packet that was not lost: the SFU already
     * forwarded it, so subscribers must not get it twice. */
    {
        uint8_t rtx[12 + 2 + PAYLOAD_LEN];
        uint32_t i = N_PACKETS - 5;
        rtx[0] = 0x80;
        rtx[1] = 97;
        be16_store(rtx + 2, 1);
        be32_store(rtx + 4, 1000 + (i / 10) * 3000);
        be32_store(rtx + 8, 0x55667788);
        be16_store(rtx + 12, (uint16_t)(FIRST_SEQ + i));
        make_payload(i, rtx + 14);
        CHECK_EQ(peer_send_rtp(pub, rtx, sizeof(rtx)), 0);
        integ_sleep_ms(200);
        Sfu__Envelope *st = integ_get_stats(ctl, "room-a");
        CHECK(st != NULL);
        CHECK_EQ(st->stats->producers[0]->counters->packets, N_PACKETS + 1);
        CHECK_EQ(st->stats->producers[0]->counters->dropped, 1);
        sfu__envelope__free_unpacked(st, NULL);
        for (int k = 0; k < 2; k++) {
            CHECK_EQ(atomic_load(&subs[k].received), N_PACKETS);
            CHECK_EQ(atomic_load(&subs[k].bad_order), 0);
        }
    }

    /* Isolation at the control level: room B cannot consume room A's producer. */
    CHECK_EQ(bench_ctl_create_room(ctl, "room-b"), 0);
    struct bench_transport tb;
    CHECK_EQ(bench_ctl_create_transport(ctl, "room-b", &tb), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "room-b", tb.id, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_ERROR);
    CHECK_EQ(r->error->code, SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND);
    sfu__envelope__free_unpacked(r, NULL);

    /* Shutting the SFU down with the call in it tells every peer at once (close_notify),
     * rather than leaving the browsers to notice by timeout. */
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    CHECK_EQ(peer_wait_state(pub, PEER_STATE_CLOSED, 2000), 0);
    CHECK_EQ(peer_wait_state(subp[0], PEER_STATE_CLOSED, 2000), 0);
    CHECK_EQ(peer_wait_state(subp[1], PEER_STATE_CLOSED, 2000), 0);
    peer_free(pub);
    peer_free(subp[0]);
    peer_free(subp[1]);
    return 0;
}

static const struct test_case cases[] = {
    {"forward_wrap_two_subscribers", test_forward_wrap},
};

TEST_MAIN(cases)
