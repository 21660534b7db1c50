/* (e) Isolation between rooms, on the same worker and on different workers: media of one room
 * never reaches another (even with another room's SSRC or a feedback packet naming another
 * room's stream), and no request naming one room can reach an object of another. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define N_ROOMS     4
#define N_FIRST     300
#define N_SECOND    100
#define PAYLOAD_LEN 100
#define ROOM_MAGIC  0x524f4f4du /* "ROOM" */

#define E_NOT_FOUND SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND

struct sub_rx {
    int room;
    _Atomic uint32_t want_ssrc;
    _Atomic uint64_t received;
    _Atomic uint64_t foreign; /* another room's marker */
    _Atomic uint64_t bad_ssrc;
    _Atomic uint64_t bad_payload;
    _Atomic uint64_t bad_order;
    _Atomic int64_t last_index;
};

struct pub_rx {
    uint32_t ssrc;
    _Atomic uint64_t requests; /* PLI/FIR naming ssrc */
    _Atomic uint64_t foreign;  /* PLI/FIR naming another SSRC */
};

struct room_side {
    char id[16];
    uint32_t worker;
    uint32_t pub_ssrc;
    struct peer *pub;
    struct peer *sub;
    uint64_t pub_t;
    uint64_t sub_t;
    uint64_t prod;
    uint64_t cons;
    uint32_t cons_ssrc;
    uint32_t cons_rtx_ssrc;
    struct sub_rx rx;
    struct pub_rx prx;
};

/* Packet i of room k: a VP8 descriptor (every packet a one-packet frame, the first a keyframe),
 * the room's marker, i, and bytes derived from both. */
static size_t make_payload(int room, uint32_t i, uint8_t *out)
{
    out[0] = 0x10;
    out[1] = i == 0 ? 0x00 : 0x01;
    be32_store(out + 2, ROOM_MAGIC);
    out[6] = (uint8_t)room;
    be32_store(out + 7, i);
    for (size_t k = 11; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 3 + k + (size_t)room * 101);
    return PAYLOAD_LEN;
}

static size_t make_packet(int room, uint32_t ssrc, uint32_t i, uint8_t *pkt)
{
    pkt[0] = 0x80;
    pkt[1] = 96 | 0x80;
    be16_store(pkt + 2, (uint16_t)(1000 * (room + 1) + i));
    be32_store(pkt + 4, 90000u * (uint32_t)room + i * 3000);
    be32_store(pkt + 8, ssrc);
    return 12 + make_payload(room, i, pkt + 12);
}

static void on_sub_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub_rx *s = arg;
    struct rtp_view v;
    uint8_t want[PAYLOAD_LEN];
    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len < 11) {
        atomic_fetch_add(&s->bad_payload, 1);
        return;
    }
    if (be32_load(v.payload + 2) == ROOM_MAGIC && v.payload[6] != s->room)
        atomic_fetch_add(&s->foreign, 1);
    if (v.ssrc != atomic_load(&s->want_ssrc))
        atomic_fetch_add(&s->bad_ssrc, 1);
    uint32_t i = be32_load(v.payload + 7);
    make_payload(s->room, i, want);
    if (v.payload_len != PAYLOAD_LEN || memcmp(v.payload, want, PAYLOAD_LEN) != 0)
        atomic_fetch_add(&s->bad_payload, 1);
    if ((int64_t)i != atomic_load(&s->last_index) + 1)
        atomic_fetch_add(&s->bad_order, 1);
    atomic_store(&s->last_index, (int64_t)i);
    atomic_fetch_add(&s->received, 1);
}

static void on_pub_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct pub_rx *p = arg;
    struct rtcp_iter it;
    struct rtcp_hdr h;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &h) == 1) {
        struct rtcp_pli pli;
        if (h.pt != RTCP_PT_PSFB || h.count != RTCP_PSFB_PLI || rtcp_parse_pli(&h, &pli) < 0)
            continue;
        atomic_fetch_add(pli.media_ssrc == p->ssrc ? &p->requests : &p->foreign, 1);
    }
}

/* The error code of the response, 0 for any success body, -1 without a response. */
static int call_code(struct ctl_client *ctl, Sfu__Envelope *env)
{
    Sfu__Envelope *r = integ_call(ctl, env);
    int rc = -1;
    if (r)
        rc = r->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)r->error->code : 0;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}

static int list_rooms(struct ctl_client *ctl, Sfu__Envelope **out)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ListRoomsRequest req = SFU__LIST_ROOMS_REQUEST__INIT;
    env.body_case = SFU__ENVELOPE__BODY_LIST_ROOMS;
    env.list_rooms = &req;
    Sfu__Envelope *r = integ_call(ctl, &env);
    if (!r || r->body_case != SFU__ENVELOPE__BODY_ROOMS) {
        if (r)
            sfu__envelope__free_unpacked(r, NULL);
        return -1;
    }
    *out = r;
    return 0;
}

static int produce_code(struct ctl_client *ctl, const char *room, uint64_t transport_id,
                        uint32_t ssrc)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ProduceRequest req = SFU__PRODUCE_REQUEST__INIT;
    Sfu__RtpParameters rtp = SFU__RTP_PARAMETERS__INIT;
    Sfu__Codec codec = SFU__CODEC__INIT;
    Sfu__Codec *codecs[1] = {&codec};
    Sfu__Encoding enc = SFU__ENCODING__INIT;
    Sfu__Encoding *encs[1] = {&enc};
    codec.name = "VP8";
    codec.payload_type = 96;
    codec.clock_rate = 90000;
    enc.ssrc = ssrc;
    rtp.mid = "5";
    rtp.n_codecs = 1;
    rtp.codecs = codecs;
    rtp.n_encodings = 1;
    rtp.encodings = encs;
    req.room_id = (char *)room;
    req.transport_id = transport_id;
    req.kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    req.rtp = &rtp;
    env.body_case = SFU__ENVELOPE__BODY_PRODUCE;
    env.produce = &req;
    return call_code(ctl, &env);
}

static int consume_code(struct ctl_client *ctl, const char *room, uint64_t transport_id,
                        uint64_t producer_id)
{
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, room, transport_id, producer_id, "7");
    int rc = -1;
    if (r)
        rc = r->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)r->error->code : 0;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}

/* Each request names room b and an object of room a: every one must be NOT_FOUND. */
static int cross_requests(struct ctl_client *ctl, const struct room_side *a,
                          const struct room_side *b)
{
    const char *rb = b->id;
    /* Consuming a's producer, on b's transport or on a's own. */
    CHECK_EQ(consume_code(ctl, rb, b->sub_t, a->prod), E_NOT_FOUND);
    CHECK_EQ(consume_code(ctl, rb, a->sub_t, a->prod), E_NOT_FOUND);
    /* a's transport in b: consume b's producer on it, produce on it. */
    CHECK_EQ(consume_code(ctl, rb, a->sub_t, b->prod), E_NOT_FOUND);
    CHECK_EQ(produce_code(ctl, rb, a->pub_t, 0x7e570001), E_NOT_FOUND);
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ConnectTransportRequest req = SFU__CONNECT_TRANSPORT_REQUEST__INIT;
        Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
        fp.algorithm = "sha-256";
        fp.value = (char *)peer_fingerprint(a->sub);
        req.room_id = (char *)rb;
        req.transport_id = a->sub_t;
        req.fingerprint = &fp;
        env.body_case = SFU__ENVELOPE__BODY_CONNECT_TRANSPORT;
        env.connect_transport = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__RestartIceRequest req = SFU__RESTART_ICE_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.transport_id = a->pub_t;
        env.body_case = SFU__ENVELOPE__BODY_RESTART_ICE;
        env.restart_ice = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    for (int k = 0; k < 2; k++) {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseTransportRequest req = SFU__CLOSE_TRANSPORT_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.transport_id = k ? a->sub_t : a->pub_t;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_TRANSPORT;
        env.close_transport = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    /* a's producer and consumer through b. */
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__RequestKeyframeRequest req = SFU__REQUEST_KEYFRAME_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.producer_id = a->prod;
        env.body_case = SFU__ENVELOPE__BODY_REQUEST_KEYFRAME;
        env.request_keyframe = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseProducerRequest req = SFU__CLOSE_PRODUCER_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.producer_id = a->prod;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_PRODUCER;
        env.close_producer = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__PauseConsumerRequest req = SFU__PAUSE_CONSUMER_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.consumer_id = a->cons;
        env.body_case = SFU__ENVELOPE__BODY_PAUSE_CONSUMER;
        env.pause_consumer = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseConsumerRequest req = SFU__CLOSE_CONSUMER_REQUEST__INIT;
        req.room_id = (char *)rb;
        req.consumer_id = a->cons;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_CONSUMER;
        env.close_consumer = &req;
        CHECK_EQ(call_code(ctl, &env), E_NOT_FOUND);
    }
    return 0;
}

/* Sends packets [from, to) of every room, round-robin, and waits until each subscriber has
 * them all (or 5 s). Returns 0 or a send error. */
static int stream_all(struct room_side *rs, uint32_t from, uint32_t to)
{
    uint8_t pkt[12 + PAYLOAD_LEN];
    for (uint32_t i = from; i < to; i++) {
        for (int k = 0; k < N_ROOMS; k++) {
            int rc = peer_send_rtp(rs[k].pub, pkt, make_packet(k, rs[k].pub_ssrc, i, pkt));
            if (rc < 0)
                return rc;
        }
        integ_sleep_us(2000);
    }
    for (int waited = 0; waited < 5000; waited += 10) {
        int done = 0;
        for (int k = 0; k < N_ROOMS; k++)
            done += atomic_load(&rs[k].rx.received) >= to;
        if (done == N_ROOMS)
            break;
        integ_sleep_ms(10);
    }
    return 0;
}

static int send_pli(struct peer *p, uint32_t media_ssrc)
{
    uint8_t buf[64];
    int len = rtcp_write_pli(buf, sizeof(buf), 0x5eed0009, media_ssrc);
    return len < 0 ? len : peer_send_rtcp(p, buf, (size_t)len);
}

static int test_rooms_isolated(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    static struct room_side rs[N_ROOMS];

    memset(rs, 0, sizeof(rs));
    CHECK_EQ(integ_sfu_start(&sfu, 2), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    for (int k = 0; k < N_ROOMS; k++) {
        struct room_side *r = &rs[k];
        snprintf(r->id, sizeof(r->id), "iso-%d", k);
        r->pub_ssrc = 0xa0000000u + (uint32_t)k * 0x01010101u;
        r->rx.room = k;
        atomic_store(&r->rx.last_index, -1);
        r->prx.ssrc = r->pub_ssrc;
        CHECK_EQ(bench_ctl_create_room(ctl, r->id), 0);
    }
    for (int k = 0; k < N_ROOMS; k++) {
        struct room_side *r = &rs[k];
        struct peer_cbs pub_cbs = {.on_rtcp = on_pub_rtcp};
        struct peer_cbs sub_cbs = {.on_rtp = on_sub_rtp};
        CHECK_EQ(bench_ctl_join(ctl, r->id, &pub_cbs, &r->prx, &r->pub, &r->pub_t), 0);
        r->prod = bench_ctl_produce(ctl, r->id, r->pub_t, r->pub_ssrc, r->pub_ssrc + 1);
        CHECK(r->prod != 0);
        CHECK_EQ(bench_ctl_join(ctl, r->id, &sub_cbs, &r->rx, &r->sub, &r->sub_t), 0);
        Sfu__Envelope *c = bench_ctl_consume_vp8(ctl, r->id, r->sub_t, r->prod, "0");
        CHECK(c && c->body_case == SFU__ENVELOPE__BODY_CONSUMED);
        r->cons = c->consumed->consumer_id;
        r->cons_ssrc = c->consumed->rtp->encodings[0]->ssrc;
        r->cons_rtx_ssrc = c->consumed->rtp->encodings[0]->rtx_ssrc;
        atomic_store(&r->rx.want_ssrc, r->cons_ssrc);
        sfu__envelope__free_unpacked(c, NULL);
    }

    /* Where each room lives, from the SFU itself. */
    Sfu__Envelope *lr;
    CHECK_EQ(list_rooms(ctl, &lr), 0);
    CHECK_EQ(lr->rooms->n_rooms, N_ROOMS);
    for (size_t j = 0; j < lr->rooms->n_rooms; j++) {
        const Sfu__RoomInfo *ri = lr->rooms->rooms[j];
        int k = -1;
        for (int m = 0; m < N_ROOMS; m++)
            if (strcmp(ri->room_id, rs[m].id) == 0)
                k = m;
        CHECK(k >= 0);
        rs[k].worker = ri->worker;
        /* Each room holds its own two transports, producer and consumer, nothing else. */
        CHECK_EQ(ri->n_transports, 2);
        CHECK_EQ(ri->n_producers, 1);
        CHECK_EQ(ri->n_consumers, 1);
        CHECK(ri->transports[0]->id == rs[k].pub_t || ri->transports[0]->id == rs[k].sub_t);
        CHECK(ri->transports[1]->id == rs[k].pub_t || ri->transports[1]->id == rs[k].sub_t);
        CHECK_EQ(ri->producers[0]->id, rs[k].prod);
        CHECK_EQ(ri->consumers[0]->id, rs[k].cons);
    }
    sfu__envelope__free_unpacked(lr, NULL);
    int same = -1, other = -1; /* a room sharing room 0's worker, and one on the other */
    for (int k = 1; k < N_ROOMS; k++) {
        if (rs[k].worker == rs[0].worker && same < 0)
            same = k;
        if (rs[k].worker != rs[0].worker && other < 0)
            other = k;
    }
    fprintf(stderr, "rooms on workers:");
    for (int k = 0; k < N_ROOMS; k++)
        fprintf(stderr, " %s->%u", rs[k].id, rs[k].worker);
    fprintf(stderr, "\n");
    CHECK(same > 0);
    CHECK(other > 0);

    /* Media: every subscriber gets exactly its own room's packets. */
    CHECK_EQ(stream_all(rs, 0, N_FIRST), 0);
    for (int k = 0; k < N_ROOMS; k++) {
        struct sub_rx *x = &rs[k].rx;
        CHECK_EQ(atomic_load(&x->received), N_FIRST);
        CHECK_EQ(atomic_load(&x->foreign), 0);
        CHECK_EQ(atomic_load(&x->bad_ssrc), 0);
        CHECK_EQ(atomic_load(&x->bad_payload), 0);
        CHECK_EQ(atomic_load(&x->bad_order), 0);
    }

    /* Control: no request naming one room reaches another room's objects, whether the two
     * share a worker or not, in both directions. */
    unsigned same_pairs = 0, cross_pairs = 0;
    for (int a = 0; a < N_ROOMS; a++) {
        for (int b = 0; b < N_ROOMS; b++) {
            if (a == b)
                continue;
            CHECK_EQ(cross_requests(ctl, &rs[a], &rs[b]), 0);
            if (rs[a].worker == rs[b].worker)
                same_pairs++;
            else
                cross_pairs++;
        }
    }
    fprintf(stderr, "cross-room requests refused: %u same-worker pairs, %u cross-worker pairs\n",
            same_pairs, cross_pairs);

    /* Feedback naming another room's stream does nothing: a PLI for room 0's consumer from
     * the subscriber of a room on the same worker and of one on the other, a NACK likewise. */
    uint64_t req0 = atomic_load(&rs[0].prx.requests);
    for (int k = 0; k < N_ROOMS; k++)
        CHECK_EQ(atomic_load(&rs[k].prx.foreign), 0);
    int intruders[2] = {same, other};
    for (int j = 0; j < 2; j++) {
        struct room_side *x = &rs[intruders[j]];
        uint8_t buf[64];
        uint16_t seq = (uint16_t)(1000 + N_FIRST - 5);
        CHECK_EQ(send_pli(x->sub, rs[0].cons_ssrc), 0);
        int len = rtcp_write_nack(buf, sizeof(buf), 0x5eed000a, rs[0].cons_ssrc, &seq, 1);
        CHECK(len > 0);
        CHECK_EQ(peer_send_rtcp(x->sub, buf, (size_t)len), 0);
        /* And RTP under room 0's publisher SSRC from this room's publisher. */
        uint8_t pkt[12 + PAYLOAD_LEN];
        for (uint32_t i = 0; i < 20; i++)
            CHECK_EQ(peer_send_rtp(x->pub, pkt, make_packet(0, rs[0].pub_ssrc, N_FIRST + i, pkt)),
                     0);
    }
    integ_sleep_ms(400);
    CHECK_EQ(atomic_load(&rs[0].prx.requests), req0);
    for (int k = 0; k < N_ROOMS; k++) {
        CHECK_EQ(atomic_load(&rs[k].rx.received), N_FIRST); /* no RTX, no spoofed packets */
        CHECK_EQ(atomic_load(&rs[k].prx.foreign), 0);
    }
    /* The same PLI from room 0's own subscriber does reach room 0's publisher, and only it. */
    uint64_t reqs[N_ROOMS];
    for (int k = 0; k < N_ROOMS; k++)
        reqs[k] = atomic_load(&rs[k].prx.requests);
    CHECK_EQ(send_pli(rs[0].sub, rs[0].cons_ssrc), 0);
    for (int waited = 0; waited < 1500 && atomic_load(&rs[0].prx.requests) == req0; waited += 5)
        integ_sleep_ms(5);
    CHECK_EQ(atomic_load(&rs[0].prx.requests), req0 + 1);
    for (int k = 1; k < N_ROOMS; k++)
        CHECK_EQ(atomic_load(&rs[k].prx.requests), reqs[k]);

    /* Every room still works after all that: the refused closes closed nothing. */
    CHECK_EQ(stream_all(rs, N_FIRST + 20, N_FIRST + 20 + N_SECOND), 0);
    for (int k = 0; k < N_ROOMS; k++) {
        struct sub_rx *x = &rs[k].rx;
        fprintf(stderr, "room %s: subscriber received %llu (sent %d), foreign %llu\n", rs[k].id,
                (unsigned long long)atomic_load(&x->received), N_FIRST + N_SECOND,
                (unsigned long long)atomic_load(&x->foreign));
        CHECK_EQ(atomic_load(&x->received), N_FIRST + N_SECOND);
        CHECK_EQ(atomic_load(&x->foreign), 0);
        CHECK_EQ(atomic_load(&x->bad_ssrc), 0);
        CHECK_EQ(atomic_load(&x->bad_payload), 0);
        /* One jump: indices N_FIRST..N_FIRST+19 went out only as the spoofed packets. */
        CHECK_EQ(atomic_load(&x->bad_order), 1);
    }
    /* And the SFU counted exactly its own publisher's packets in each room. */
    for (int k = 0; k < N_ROOMS; k++) {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
        req.room_id = rs[k].id;
        env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
        env.get_stats = &req;
        Sfu__Envelope *st = integ_call(ctl, &env);
        CHECK(st && st->body_case == SFU__ENVELOPE__BODY_STATS);
        CHECK_EQ(st->stats->n_producers, 1);
        CHECK_EQ(st->stats->producers[0]->id, rs[k].prod);
        CHECK_EQ(st->stats->producers[0]->counters->packets, N_FIRST + N_SECOND);
        CHECK_EQ(st->stats->n_consumers, 1);
        CHECK_EQ(st->stats->consumers[0]->counters->forwarded, N_FIRST + N_SECOND);
        sfu__envelope__free_unpacked(st, NULL);
    }

    for (int k = 0; k < N_ROOMS; k++) {
        peer_free(rs[k].sub);
        peer_free(rs[k].pub);
    }
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static const struct test_case cases[] = {
    {"rooms_isolated_same_and_cross_worker", test_rooms_isolated},
};

TEST_MAIN(cases)
