/* (d) Keyframes and repair: many subscribers' PLIs reach the publisher as at most one request
 * per throttle window (FIR too), a late subscriber starts on a keyframe and makes the SFU ask
 * for one, and a NACK is answered over RTX with the original sequence number and bytes. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define PUB_SSRC     0x0a0b0c0du
#define PUB_RTX_SSRC 0x0a0b0c0eu

#define PKTS_PER_FRAME 3
#define GOP            10 /* frames: every GOP-th frame is a keyframe */
#define PAYLOAD_LEN    120
#define FRAME_US       20000

#define MAX_REQ 64
#define MAX_LOG 1024

/* What the publisher hears from the SFU: keyframe requests for its SSRC, with arrival times. */
struct pub_rx {
    _Atomic unsigned requests;
    _Atomic unsigned plis;
    _Atomic unsigned firs;
    _Atomic uint64_t at_us[MAX_REQ];
};

static void pub_on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct pub_rx *p = arg;
    struct rtcp_iter it;
    struct rtcp_hdr h;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &h) == 1) {
        bool req = false;
        if (h.pt != RTCP_PT_PSFB)
            continue;
        if (h.count == RTCP_PSFB_PLI) {
            struct rtcp_pli pli;
            if (rtcp_parse_pli(&h, &pli) == 0 && pli.media_ssrc == PUB_SSRC) {
                atomic_fetch_add(&p->plis, 1);
                req = true;
            }
        } else if (h.count == RTCP_PSFB_FIR) {
            struct rtcp_fir fir;
            struct rtcp_fir_entry e;
            if (rtcp_parse_fir(&h, &fir) == 0) {
                for (size_t i = 0; i < fir.entry_count; i++) {
                    rtcp_fir_entry_get(&fir, i, &e);
                    if (e.ssrc == PUB_SSRC) {
                        atomic_fetch_add(&p->firs, 1);
                        req = true;
                    }
                }
            }
        }
        if (req) {
            unsigned n = atomic_load(&p->requests);
            if (n < MAX_REQ)
                atomic_store(&p->at_us[n], clock_mono_us());
            atomic_fetch_add(&p->requests, 1);
        }
    }
}

/* Waits up to ms for the publisher's request count to exceed n; returns the count. */
static unsigned wait_requests_over(struct pub_rx *p, unsigned n, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && atomic_load(&p->requests) <= n; waited += 5)
        integ_sleep_ms(5);
    return atomic_load(&p->requests);
}

/* The payload of packet i: a VP8 descriptor with a 15-bit PictureID (the frame number), S=1 on
 * a frame's first packet, whose VP8 frame tag has P=0 only on every GOP-th frame (keyframes);
 * then i and bytes derived from it, so a receiver can check every byte. */
static size_t make_payload(uint32_t i, uint8_t *out)
{
    uint32_t f = i / PKTS_PER_FRAME;
    bool start = i % PKTS_PER_FRAME == 0;
    out[0] = (uint8_t)(0x80 | (start ? 0x10 : 0x00)); /* X, S, PID 0 */
    out[1] = 0x80;                                    /* I: a PictureID follows */
    out[2] = (uint8_t)(0x80 | ((f >> 8) & 0x7f));     /* M: 15 bits */
    out[3] = (uint8_t)f;
    out[4] = (start && f % GOP == 0) ? 0x00 : 0x01; /* frame tag: P=0 on a keyframe */
    be32_store(out + 5, i);
    for (size_t k = 9; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 7 + k * 13);
    return PAYLOAD_LEN;
}

static size_t make_packet(uint32_t i, uint8_t *pkt)
{
    uint32_t f = i / PKTS_PER_FRAME;
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)(96 | ((i % PKTS_PER_FRAME == PKTS_PER_FRAME - 1) ? 0x80 : 0));
    be16_store(pkt + 2, (uint16_t)(20000 + i));
    be32_store(pkt + 4, 5000 + f * 3000);
    be32_store(pkt + 8, PUB_SSRC);
    return 12 + make_payload(i, pkt + 12);
}

/* Sends frames [from, to) paced FRAME_US apart. Returns 0 or the first send error. */
static int send_frames(struct peer *pub, uint32_t from, uint32_t to)
{
    uint8_t pkt[12 + PAYLOAD_LEN];
    for (uint32_t f = from; f < to; f++) {
        for (uint32_t k = 0; k < PKTS_PER_FRAME; k++) {
            uint32_t i = f * PKTS_PER_FRAME + k;
            int rc = peer_send_rtp(pub, pkt, make_packet(i, pkt));
            if (rc < 0)
                return rc;
        }
        integ_sleep_us(FRAME_US);
    }
    return 0;
}

/* Every packet a subscriber received, in order, as it arrived. */
struct rx_entry {
    uint32_t ssrc;
    uint32_t ts;
    uint16_t seq;
    uint8_t pt;
    uint16_t len;
    uint8_t payload[PAYLOAD_LEN + 2];
};

struct sub_log {
    _Atomic unsigned n;
    _Atomic unsigned overflow;
    struct rx_entry e[MAX_LOG];
};

static void sub_on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub_log *l = arg;
    struct rtp_view v;
    unsigned n = atomic_load(&l->n);
    if (rtp_view_parse(&v, buf, len) < 0 || n >= MAX_LOG || v.payload_len > PAYLOAD_LEN + 2) {
        atomic_fetch_add(&l->overflow, 1);
        return;
    }
    struct rx_entry *e = &l->e[n];
    e->ssrc = v.ssrc;
    e->ts = v.ts;
    e->seq = v.seq;
    e->pt = v.pt;
    e->len = (uint16_t)v.payload_len;
    memcpy(e->payload, v.payload, v.payload_len);
    atomic_store(&l->n, n + 1); /* publishes the entry to the reading thread */
}

static void set_throttle(struct sfu_config *cfg, void *arg)
{
    cfg->keyframe_throttle_ms = *(const uint32_t *)arg;
}

static int send_pli(struct peer *p, uint32_t media_ssrc)
{
    uint8_t buf[64];
    int len = rtcp_write_pli(buf, sizeof(buf), 0x5eed0001, media_ssrc);
    if (len < 0)
        return len;
    return peer_send_rtcp(p, buf, (size_t)len);
}

#define N_SUBS        10
#define STORM_MS      3000
#define PLI_PER_SEC   10
#define THROTTLE_MS   500
#define SPACING_SLACK 30 /* ms of receive-side jitter tolerated on the publisher's clock */

static unsigned requests_between(struct pub_rx *p, uint64_t from_us, uint64_t to_us)
{
    unsigned n = atomic_load(&p->requests), k = 0;
    for (unsigned i = 0; i < n && i < MAX_REQ; i++) {
        uint64_t t = atomic_load(&p->at_us[i]);
        if (t >= from_us && t <= to_us)
            k++;
    }
    return k;
}

static uint64_t room_plis(struct ctl_client *ctl, const char *room, uint64_t *producer_plis)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    uint64_t sum = 0;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    Sfu__Envelope *st = integ_call(ctl, &env);
    if (!st || st->body_case != SFU__ENVELOPE__BODY_STATS || st->stats->n_producers != 1) {
        if (st)
            sfu__envelope__free_unpacked(st, NULL);
        *producer_plis = UINT64_MAX;
        return UINT64_MAX;
    }
    for (size_t k = 0; k < st->stats->n_consumers; k++)
        sum += st->stats->consumers[k]->counters->plis;
    *producer_plis = st->stats->producers[0]->counters->plis;
    sfu__envelope__free_unpacked(st, NULL);
    return sum;
}

/* Ten subscribers ask for a keyframe ten times a second each for three seconds; the publisher
 * must see at most one request per throttle window, yet keep getting one each window. */
static int test_pli_storm_throttled(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *subs[N_SUBS];
    uint64_t pub_t, sub_t[N_SUBS];
    uint32_t cons_ssrc[N_SUBS];
    static struct pub_rx prx;
    struct peer_cbs pub_cbs = {.on_rtcp = pub_on_rtcp};
    struct peer_cbs none = {0};
    uint32_t throttle = THROTTLE_MS;

    memset(&prx, 0, sizeof(prx));
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, set_throttle, &throttle), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "kf"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "kf", &pub_cbs, &prx, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "kf", pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(prod != 0);
    for (int k = 0; k < N_SUBS; k++) {
        CHECK_EQ(bench_ctl_join(ctl, "kf", &none, NULL, &subs[k], &sub_t[k]), 0);
        Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "kf", sub_t[k], prod, "0");
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
        cons_ssrc[k] = r->consumed->rtp->encodings[0]->ssrc;
        sfu__envelope__free_unpacked(r, NULL);
    }
    /* The consumers' own requests (one, then one held back) settle before the storm. */
    integ_sleep_ms(THROTTLE_MS * 2 + 200);
    unsigned before = atomic_load(&prx.requests);
    CHECK(before >= 1);

    /* Every 10 ms one subscriber in turn sends a PLI for its consumer: each sends 10/s. */
    unsigned sent = 0;
    uint64_t t0 = clock_mono_us();
    for (unsigned tick = 0; tick < STORM_MS / (1000 / (PLI_PER_SEC * N_SUBS)); tick++) {
        unsigned k = tick % N_SUBS;
        CHECK_EQ(send_pli(subs[k], cons_ssrc[k]), 0);
        sent++;
        uint64_t next = t0 + (uint64_t)(tick + 1) * 1000000u / (PLI_PER_SEC * N_SUBS);
        uint64_t now = clock_mono_us();
        if (next > now)
            integ_sleep_us((unsigned)(next - now));
    }
    uint64_t t1 = clock_mono_us();
    integ_sleep_ms(THROTTLE_MS + 300);
    uint64_t t2 = clock_mono_us();

    unsigned total = atomic_load(&prx.requests);
    CHECK(total < MAX_REQ);
    unsigned during = requests_between(&prx, t0, t1);
    unsigned after = requests_between(&prx, t1 + 1, t2);
    uint64_t dur_ms = (t1 - t0) / 1000;
    uint64_t min_gap_ms = UINT64_MAX;
    for (unsigned i = before + 1; i < total; i++) {
        uint64_t gap = (atomic_load(&prx.at_us[i]) - atomic_load(&prx.at_us[i - 1])) / 1000;
        if (gap < min_gap_ms)
            min_gap_ms = gap;
    }
    fprintf(stderr,
            "storm: %u PLIs from %d subscribers over %llu ms; publisher got %u requests during, "
            "%u after (window %u ms, bound %llu), smallest gap %llu ms\n",
            sent, N_SUBS, (unsigned long long)dur_ms, during, after, THROTTLE_MS,
            (unsigned long long)(dur_ms / THROTTLE_MS + 1), (unsigned long long)min_gap_ms);
    CHECK_EQ(total, before + during + after);
    CHECK(during >= 1);
    CHECK(during <= dur_ms / THROTTLE_MS + 1);
    /* Throttled, not dropped: subscribers that keep asking get a request upstream each window. */
    CHECK(during + 1 >= dur_ms / THROTTLE_MS);
    CHECK(after <= 1); /* only the request held back at the end */
    CHECK(min_gap_ms + SPACING_SLACK >= THROTTLE_MS);

    /* Nobody asks: nothing goes upstream. */
    integ_sleep_ms(THROTTLE_MS * 2);
    CHECK_EQ(atomic_load(&prx.requests), total);

    /* A PLI naming another transport's consumer is not this subscriber's to make. */
    CHECK_EQ(send_pli(subs[1], cons_ssrc[0]), 0);
    integ_sleep_ms(THROTTLE_MS + 200);
    CHECK_EQ(atomic_load(&prx.requests), total);

    /* FIR (RFC 5104) from one subscriber: the window has passed, so it goes up at once. */
    {
        uint8_t buf[64];
        struct rtcp_fir_entry e = {.ssrc = cons_ssrc[3], .seq = 1};
        int len = rtcp_write_fir(buf, sizeof(buf), 0x5eed0003, &e, 1);
        CHECK(len > 0);
        uint64_t fs = clock_mono_us();
        CHECK_EQ(peer_send_rtcp(subs[3], buf, (size_t)len), 0);
        CHECK_EQ(wait_requests_over(&prx, total, 1000), total + 1);
        uint64_t lat = (atomic_load(&prx.at_us[total]) - fs) / 1000;
        fprintf(stderr, "FIR: request upstream after %llu ms\n", (unsigned long long)lat);
        CHECK(lat < 300);
        integ_sleep_ms(THROTTLE_MS + 200);
        CHECK_EQ(atomic_load(&prx.requests), total + 1);
    }

    /* The SFU's counters agree: every PLI and the FIR were counted on their consumers (the
     * misaddressed PLI on none), and what it sent upstream is what the publisher got. */
    uint64_t pplis;
    uint64_t cplis = room_plis(ctl, "kf", &pplis);
    fprintf(stderr,
            "stats: consumers' PLI/FIR %llu, producer's requests %llu, publisher saw %u "
            "(%u PLI, %u FIR)\n",
            (unsigned long long)cplis, (unsigned long long)pplis, atomic_load(&prx.requests),
            atomic_load(&prx.plis), atomic_load(&prx.firs));
    CHECK_EQ(cplis, sent + 1);
    CHECK_EQ(pplis, atomic_load(&prx.requests));

    for (int k = 0; k < N_SUBS; k++)
        peer_free(subs[k]);
    peer_free(pub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

#define LATE_CONSUME_FRAME 15 /* mid-GOP: frames 10 and 20 are keyframes */
#define LATE_LAST_FRAME    50

/* The payload as sent, but for the PictureID (bytes 2-3), which the SFU may renumber after a
 * pause; picid_off is what it must have added. */
static int check_payload(const struct rx_entry *e, uint16_t picid_off)
{
    uint8_t want[PAYLOAD_LEN];
    if (e->len != PAYLOAD_LEN)
        return -1;
    uint32_t i = be32_load(e->payload + 5);
    make_payload(i, want);
    uint16_t picid = (uint16_t)((i / PKTS_PER_FRAME + picid_off) & 0x7fff);
    want[2] = (uint8_t)(0x80 | picid >> 8);
    want[3] = (uint8_t)picid;
    return memcmp(e->payload, want, PAYLOAD_LEN) == 0 ? 0 : -1;
}

/* A subscriber that consumes mid-stream gets its first packet at the start of a keyframe, then
 * everything after it; the consume makes the SFU ask the publisher for a keyframe. */
static int test_late_joiner_starts_on_keyframe(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *sub;
    uint64_t pub_t, sub_t;
    static struct pub_rx prx;
    static struct sub_log log;
    struct peer_cbs pub_cbs = {.on_rtcp = pub_on_rtcp};
    struct peer_cbs sub_cbs = {.on_rtp = sub_on_rtp};

    memset(&prx, 0, sizeof(prx));
    memset(&log, 0, sizeof(log));
    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "late"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "late", &pub_cbs, &prx, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "late", pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(prod != 0);
    CHECK_EQ(bench_ctl_join(ctl, "late", &sub_cbs, &log, &sub, &sub_t), 0);

    CHECK_EQ(send_frames(pub, 0, LATE_CONSUME_FRAME), 0);
    CHECK_EQ(atomic_load(&prx.requests), 0); /* no consumer yet: nobody asked */
    uint64_t tc = clock_mono_us();
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "late", sub_t, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    uint32_t ssrc = r->consumed->rtp->encodings[0]->ssrc;
    sfu__envelope__free_unpacked(r, NULL);
    CHECK_EQ(wait_requests_over(&prx, 0, 1000), 1);
    uint64_t lat = (atomic_load(&prx.at_us[0]) - tc) / 1000;
    CHECK(lat < 300);
    CHECK_EQ(send_frames(pub, LATE_CONSUME_FRAME, LATE_LAST_FRAME), 0);

    unsigned want_pkts = (LATE_LAST_FRAME - 20) * PKTS_PER_FRAME;
    for (int waited = 0; waited < 2000 && atomic_load(&log.n) < want_pkts; waited += 10)
        integ_sleep_ms(10);
    unsigned n = atomic_load(&log.n);
    CHECK(n > 0);
    const struct rx_entry *first = &log.e[0];
    uint32_t i0 = be32_load(first->payload + 5);
    fprintf(stderr,
            "late joiner: PLI upstream %llu ms after the consume; first packet is #%u (frame %u), "
            "%u packets received\n",
            (unsigned long long)lat, i0, i0 / PKTS_PER_FRAME, n);
    /* The first packet starts a keyframe: S=1, PID 0, P=0, and it is a frame after the consume
     * (the delta frames 15..19 in between were held back). */
    CHECK_EQ(first->payload[0] & 0x17, 0x10);
    CHECK_EQ(first->payload[4] & 0x01, 0);
    CHECK_EQ(i0 % (GOP * PKTS_PER_FRAME), 0);
    CHECK(i0 >= LATE_CONSUME_FRAME * PKTS_PER_FRAME);
    /* Then every packet after it, in order, byte for byte, on the consumer's SSRC and pt. */
    CHECK_EQ(n, (LATE_LAST_FRAME - i0 / PKTS_PER_FRAME) * PKTS_PER_FRAME);
    for (unsigned k = 0; k < n; k++) {
        CHECK_EQ(log.e[k].ssrc, ssrc);
        CHECK_EQ(log.e[k].pt, 100);
        CHECK_EQ(check_payload(&log.e[k], 0), 0);
        CHECK_EQ(be32_load(log.e[k].payload + 5), i0 + k);
        CHECK_EQ(log.e[k].seq, (uint16_t)(first->seq + k));
    }
    CHECK_EQ(atomic_load(&log.overflow), 0);

    peer_free(sub);
    peer_free(pub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static unsigned wait_log(struct sub_log *l, unsigned want, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && atomic_load(&l->n) < want; waited += 5)
        integ_sleep_ms(5);
    return atomic_load(&l->n);
}

/* A NACK for packets the subscriber received comes back over RTX: the consumer's RTX SSRC and
 * payload type, the NACKed sequence number (the consumer's numbering, which a pause has moved
 * away from the publisher's) in front, then the original payload byte for byte. A NACK for a
 * packet never sent gets nothing. */
static int test_nack_answered_over_rtx(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *sub;
    uint64_t pub_t, sub_t;
    static struct sub_log log;
    struct peer_cbs none = {0};
    struct peer_cbs sub_cbs = {.on_rtp = sub_on_rtp};

    memset(&log, 0, sizeof(log));
    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "nack"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "nack", &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "nack", pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(prod != 0);
    CHECK_EQ(bench_ctl_join(ctl, "nack", &sub_cbs, &log, &sub, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "nack", sub_t, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    uint64_t cons = r->consumed->consumer_id;
    uint32_t ssrc = r->consumed->rtp->encodings[0]->ssrc;
    uint32_t rtx_ssrc = r->consumed->rtp->encodings[0]->rtx_ssrc;
    CHECK_EQ(r->consumed->rtp->codecs[0]->rtx_payload_type, 101);
    sfu__envelope__free_unpacked(r, NULL);
    CHECK(rtx_ssrc != 0 && rtx_ssrc != ssrc);

    /* Frames 0-9, a pause over frames 10-19, then 20-29 (20 is a keyframe): the consumer numbers
     * on without the gap, so its sequence numbers are no longer the publisher's. */
    unsigned half = 10 * PKTS_PER_FRAME, want = 2 * half;
    CHECK_EQ(send_frames(pub, 0, 10), 0);
    CHECK_EQ(wait_log(&log, half, 2000), half);
    CHECK_EQ(integ_pause_consumer(ctl, "nack", cons, true), 0);
    CHECK_EQ(send_frames(pub, 10, 20), 0);
    CHECK_EQ(integ_pause_consumer(ctl, "nack", cons, false), 0);
    CHECK_EQ(send_frames(pub, 20, 30), 0);
    CHECK_EQ(wait_log(&log, want, 2000), want);
    /* After the pause the PictureID goes on from the last one sent (frame 9) too. */
    for (unsigned k = 0; k < want; k++) {
        CHECK_EQ(log.e[k].seq, (uint16_t)(log.e[0].seq + k));
        CHECK_EQ(check_payload(&log.e[k], k < half ? 0 : (uint16_t)(10 - 20)), 0);
    }
    CHECK_EQ(be32_load(log.e[half].payload + 5), 20 * PKTS_PER_FRAME);

    /* Two packets after the pause (one as the PID, one through the BLP) and one never sent. */
    const struct rx_entry *a = &log.e[half + 15], *b = &log.e[half + 17];
    CHECK(a->seq != (uint16_t)(20000 + be32_load(a->payload + 5)));
    uint16_t seqs[3] = {a->seq, b->seq, (uint16_t)(log.e[want - 1].seq + 100)};
    uint8_t buf[128];
    int len = rtcp_write_nack(buf, sizeof(buf), 0x5eed0002, ssrc, seqs, 3);
    CHECK(len > 0);
    uint64_t t0 = clock_mono_us();
    CHECK_EQ(peer_send_rtcp(sub, buf, (size_t)len), 0);
    wait_log(&log, want + 2, 1000);
    uint64_t lat = (clock_mono_us() - t0) / 1000;
    integ_sleep_ms(300); /* anything more would be wrong */
    CHECK_EQ(atomic_load(&log.n), want + 2);
    fprintf(stderr,
            "NACK for consumer seq %u and %u (publisher's %u and %u): retransmitted within "
            "%llu ms\n",
            a->seq, b->seq, 20000 + be32_load(a->payload + 5), 20000 + be32_load(b->payload + 5),
            (unsigned long long)lat);

    const struct rx_entry *orig[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        const struct rx_entry *x = &log.e[want + k];
        CHECK_EQ(x->ssrc, rtx_ssrc);
        CHECK_EQ(x->pt, 101);
        CHECK_EQ(x->len, orig[k]->len + 2);
        CHECK_EQ(be16_load(x->payload), orig[k]->seq);
        CHECK_MEM(x->payload + 2, orig[k]->payload, orig[k]->len);
        CHECK_EQ(x->ts, orig[k]->ts);
    }
    /* RTX has its own sequence space (RFC 4588 section 4): consecutive. */
    CHECK_EQ(log.e[want + 1].seq, (uint16_t)(log.e[want].seq + 1));
    CHECK_EQ(atomic_load(&log.overflow), 0);

    peer_free(sub);
    peer_free(pub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

/* RTCP that does not authenticate must not use up the SRTCP senders a transport accepts: after
 * forged packets under 16 different sender SSRCs on the subscriber's own 5-tuple, its real PLI
 * still reaches the publisher as a keyframe request. */
static int test_forged_rtcp_no_lockout(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *sub;
    uint64_t pub_t, sub_t;
    static struct pub_rx prx;
    struct peer_cbs pub_cbs = {.on_rtcp = pub_on_rtcp}, none = {0};
    uint32_t throttle = 100;

    memset(&prx, 0, sizeof(prx));
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, set_throttle, &throttle), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, "forged"), 0);
    CHECK_EQ(bench_ctl_join(ctl, "forged", &pub_cbs, &prx, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, "forged", pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(prod != 0);
    CHECK_EQ(bench_ctl_join(ctl, "forged", &none, NULL, &sub, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, "forged", sub_t, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    uint32_t ssrc = r->consumed->rtp->encodings[0]->ssrc;
    sfu__envelope__free_unpacked(r, NULL);
    CHECK_EQ(send_frames(pub, 0, 10), 0);
    unsigned before = wait_requests_over(&prx, 0, 1000); /* the consume's own request */
    CHECK(before >= 1);
    integ_sleep_ms(150);

    /* A receiver report shape with a made-up SRTCP trailer: it cannot authenticate. */
    uint8_t forged[8 + 24 + 14];
    for (uint32_t k = 0; k < 16; k++) {
        memset(forged, 0xab, sizeof(forged));
        forged[0] = 0x81;
        forged[1] = RTCP_PT_RR;
        be16_store(forged + 2, 7);
        be32_store(forged + 4, 0x70000000u + k);
        CHECK_EQ(peer_send_raw(sub, forged, sizeof(forged)), 0);
    }
    integ_sleep_ms(100);
    CHECK_EQ(send_pli(sub, ssrc), 0);
    CHECK(wait_requests_over(&prx, before, 1000) > before);

    peer_free(pub);
    peer_free(sub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static const struct test_case cases[] = {
    {"pli_storm_throttled", test_pli_storm_throttled},
    {"late_joiner_starts_on_keyframe", test_late_joiner_starts_on_keyframe},
    {"nack_answered_over_rtx", test_nack_answered_over_rtx},
    {"forged_rtcp_no_lockout", test_forged_rtcp_no_lockout},
};

TEST_MAIN(cases)
