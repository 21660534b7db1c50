/* (e) RTCP terminated per hop: subscribers get sender reports whose NTP/RTP pair lies on the
 * publisher's timeline (lip sync); publishers get receiver reports about once a second,
 * transport-cc feedback for every packet they sent, and REMB where transport-cc was not
 * negotiated. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/clock.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#define PUB_SSRC     0x5a5a0001u
#define PUB_RTX_SSRC 0x5a5a0002u

#define PKTS_PER_FRAME 3
#define FRAME_US       20000
#define PAYLOAD_LEN    160
#define TWCC_EXT_ID    3 /* as bench_ctl_produce negotiates */
/* The first RTP timestamp: the 32-bit wrap comes about 1.5 s into a run. */
#define TS0       0xfffe0000u
#define MAX_PKTS  1024
#define MAX_SEEN  64
#define MAX_TWCC  2048
#define NTP_1S    4294967296.0 /* 2^32: one second in 64-bit NTP units */
#define NTP32_1S  65536.0      /* one second in the middle 32 bits (LSR, DLSR) */
#define RTP_CLOCK 90000.0

/* --- the publisher ---------------------------------------------------------------------- */

/* A VP8 publisher whose RTP timestamps follow its monotonic clock at 90 kHz from t0_us, so an
 * SR built from "now" on both clocks is exactly what a browser's would be. */
struct pub_run {
    struct peer *peer;
    uint32_t ssrc;
    uint16_t seq;      /* next */
    bool twcc;         /* add the transport-wide sequence number extension */
    uint16_t twcc_seq; /* next */
    uint64_t t0_us;
    uint32_t lag_us; /* from capture (the timestamp) to sending: an encoder's latency */
    bool key_next;   /* make the next frame a keyframe (frame 0 always is) */
    uint32_t frame;  /* next */
    uint32_t n;      /* packets sent */
    uint64_t send_us[MAX_PKTS];
};

static void pub_run_init(struct pub_run *r, struct peer *peer, uint32_t ssrc, uint16_t first_seq,
                         bool twcc, uint16_t first_twcc)
{
    memset(r, 0, sizeof(*r));
    r->peer = peer;
    r->ssrc = ssrc;
    r->seq = first_seq;
    r->twcc = twcc;
    r->twcc_seq = first_twcc;
    r->t0_us = clock_mono_us();
}

static uint32_t pub_ts_at(const struct pub_run *r, uint64_t mono_us)
{
    return TS0 + (uint32_t)((mono_us - r->t0_us) * 9 / 100);
}

/* One packet: the fixed header, the transport-wide sequence element in a one-byte (0xBEDE)
 * block when asked, then a VP8 descriptor (S on a frame's first packet, P=0 on a keyframe's
 * first), the packet index and the RTP timestamp as sent, so a subscriber can tell the
 * timestamp offset the SFU applied. */
static size_t pub_packet(struct pub_run *r, uint32_t k, uint32_t ts, bool key, uint8_t *pkt)
{
    size_t off = 12;
    bool last = k == PKTS_PER_FRAME - 1;
    pkt[0] = r->twcc ? 0x90 : 0x80;
    pkt[1] = (uint8_t)(96 | (last ? 0x80 : 0));
    be16_store(pkt + 2, r->seq);
    be32_store(pkt + 4, ts);
    be32_store(pkt + 8, r->ssrc);
    if (r->twcc) {
        be16_store(pkt + 12, 0xBEDE);
        be16_store(pkt + 14, 1); /* one 32-bit word of elements */
        pkt[16] = TWCC_EXT_ID << 4 | (2 - 1);
        be16_store(pkt + 17, r->twcc_seq);
        pkt[19] = 0; /* padding */
        off = 20;
    }
    uint8_t *p = pkt + off;
    p[0] = k == 0 ? 0x10 : 0x00;
    p[1] = (k == 0 && key) ? 0x00 : 0x01;
    be32_store(p + 2, r->n);
    be32_store(p + 6, ts);
    for (size_t i = 10; i < PAYLOAD_LEN; i++)
        p[i] = (uint8_t)(r->n * 11 + i);
    return off + PAYLOAD_LEN;
}

static int pub_send_frame(struct pub_run *r)
{
    uint8_t pkt[20 + PAYLOAD_LEN];
    uint32_t ts = pub_ts_at(r, clock_mono_us() - r->lag_us);
    bool key = r->frame == 0 || r->key_next;
    r->key_next = false;
    for (uint32_t k = 0; k < PKTS_PER_FRAME; k++) {
        if (r->n >= MAX_PKTS)
            return -1;
        size_t len = pub_packet(r, k, ts, key, pkt);
        r->send_us[r->n] = clock_mono_us();
        int rc = peer_send_rtp(r->peer, pkt, len);
        if (rc < 0)
            return rc;
        r->n++;
        r->seq++;
        r->twcc_seq++;
    }
    r->frame++;
    return 0;
}

/* Sends the frames due before until_ms after t0, paced FRAME_US apart. */
static int pub_frames_until(struct pub_run *r, unsigned until_ms)
{
    for (;;) {
        uint64_t due = r->t0_us + (uint64_t)r->frame * FRAME_US;
        if (due >= r->t0_us + (uint64_t)until_ms * 1000)
            return 0;
        uint64_t now = clock_mono_us();
        if (due > now)
            integ_sleep_us((unsigned)(due - now));
        int rc = pub_send_frame(r);
        if (rc < 0)
            return rc;
    }
}

/* A sender report for now: NTP from the wall clock, the RTP timestamp from the same instant on
 * the stream's clock. Writes the pair sent into *ntp and *rtp_ts. */
static int pub_send_sr(struct pub_run *r, uint64_t *ntp, uint32_t *rtp_ts)
{
    uint8_t buf[64];
    struct rtcp_sender_info si;
    si.ntp = clock_ntp_now();
    si.rtp_ts = pub_ts_at(r, clock_mono_us());
    si.pkt_count = r->n;
    si.octet_count = r->n * PAYLOAD_LEN;
    int len = rtcp_write_sr(buf, sizeof(buf), r->ssrc, &si, NULL, 0);
    if (len < 0)
        return len;
    *ntp = si.ntp;
    *rtp_ts = si.rtp_ts;
    return peer_send_rtcp(r->peer, buf, (size_t)len);
}

/* --- what the publisher hears ------------------------------------------------------------ */

struct rr_seen {
    uint64_t at_us;
    uint32_t now_ntp32; /* the middle 32 bits of the wall clock at arrival */
    uint32_t sender;
    uint8_t rb_count;
    struct rtcp_report_block rb; /* the first block */
};

struct twcc_seen {
    uint16_t seq;
    bool received;
    int64_t at_us; /* from the first feedback's reference time; valid when received */
};

struct pub_rx {
    uint32_t ssrc;
    _Atomic unsigned n_rr;
    struct rr_seen rr[MAX_SEEN];
    _Atomic unsigned n_remb;
    _Atomic unsigned remb_bad; /* naming another SSRC, or several */
    _Atomic uint64_t remb_min_bps;
    _Atomic unsigned n_fb;
    _Atomic unsigned fb_bad; /* unparsable, wrong media SSRC, a gap in the feedback count */
    _Atomic unsigned n_st;
    _Atomic unsigned st_overflow;
    struct twcc_seen st[MAX_TWCC];
    int32_t ref0; /* the first feedback's reference time */
    uint8_t last_fb_count;
    int64_t next_base;    /* the base the next feedback must have, or -1 */
    _Atomic unsigned bad; /* compounds that did not parse */
};

static void pub_rx_init(struct pub_rx *p, uint32_t ssrc)
{
    memset(p, 0, sizeof(*p));
    p->ssrc = ssrc;
    p->next_base = -1;
    atomic_store(&p->remb_min_bps, UINT64_MAX);
}

static void pub_on_rr(struct pub_rx *p, const struct rtcp_hdr *h)
{
    struct rtcp_rr rr;
    unsigned n = atomic_load(&p->n_rr);
    if (rtcp_parse_rr(h, &rr) < 0) {
        atomic_fetch_add(&p->bad, 1);
        return;
    }
    if (n >= MAX_SEEN)
        return;
    struct rr_seen *e = &p->rr[n];
    e->at_us = clock_mono_us();
    e->now_ntp32 = (uint32_t)(clock_ntp_now() >> 16);
    e->sender = rr.ssrc;
    e->rb_count = rr.rb_count;
    if (rr.rb_count > 0)
        e->rb = rr.rb[0];
    atomic_store(&p->n_rr, n + 1); /* publishes the entry to the reading thread */
}

static void pub_on_remb(struct pub_rx *p, const struct rtcp_hdr *h)
{
    struct rtcp_remb remb;
    if (rtcp_parse_remb(h, &remb) < 0) {
        atomic_fetch_add(&p->bad, 1);
        return;
    }
    if (remb.ssrc_count != 1 || remb.ssrcs[0] != p->ssrc)
        atomic_fetch_add(&p->remb_bad, 1);
    if (remb.bitrate_bps < atomic_load(&p->remb_min_bps))
        atomic_store(&p->remb_min_bps, remb.bitrate_bps);
    atomic_fetch_add(&p->n_remb, 1);
}

/* Each status in feedback order, with arrival times put on one time line: the reference time
 * (24 bits of 64 ms) relative to the first feedback's, plus the deltas (250 us) since it. */
static void pub_on_twcc(struct pub_rx *p, const struct rtcp_hdr *h)
{
    struct rtcp_twcc fb;
    struct rtcp_twcc_iter it;
    struct rtcp_twcc_status s;
    if (rtcp_parse_twcc(h, &fb) < 0 || fb.media_ssrc != p->ssrc) {
        atomic_fetch_add(&p->fb_bad, 1);
        return;
    }
    unsigned nfb = atomic_load(&p->n_fb);
    if (nfb == 0) {
        p->ref0 = fb.ref_time;
    } else if (fb.fb_count != (uint8_t)(p->last_fb_count + 1) ||
               fb.base_seq != (uint16_t)p->next_base) {
        atomic_fetch_add(&p->fb_bad, 1);
    }
    p->last_fb_count = fb.fb_count;
    p->next_base = (uint16_t)(fb.base_seq + fb.status_count);
    /* Sign-extends the 24-bit difference: the reference time wraps every 12 days. */
    int32_t dref = (int32_t)((uint32_t)(fb.ref_time - p->ref0) << 8) >> 8;
    int64_t at = (int64_t)dref * 64000;
    unsigned n = atomic_load(&p->n_st);
    rtcp_twcc_iter_init(&it, &fb);
    while (rtcp_twcc_iter_next(&it, &s)) {
        if (n >= MAX_TWCC) {
            atomic_fetch_add(&p->st_overflow, 1);
            continue;
        }
        if (s.received)
            at += (int64_t)s.delta * 250;
        p->st[n].seq = s.seq;
        p->st[n].received = s.received;
        p->st[n].at_us = at;
        n++;
    }
    atomic_store(&p->n_st, n);
    atomic_store(&p->n_fb, nfb + 1);
}

static void pub_on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct pub_rx *p = arg;
    struct rtcp_iter it;
    struct rtcp_hdr h;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &h)) == 1) {
        if (h.pt == RTCP_PT_RR)
            pub_on_rr(p, &h);
        else if (h.pt == RTCP_PT_PSFB && h.count == RTCP_PSFB_REMB)
            pub_on_remb(p, &h);
        else if (h.pt == RTCP_PT_RTPFB && h.count == RTCP_RTPFB_TWCC)
            pub_on_twcc(p, &h);
    }
    if (rc < 0)
        atomic_fetch_add(&p->bad, 1);
}

/* --- what a subscriber hears ------------------------------------------------------------- */

struct sr_seen {
    uint64_t at_us;
    uint64_t now_ntp;
    uint64_t rtp_before; /* RTP packets received before it */
    int64_t ts_off;      /* the timestamp offset of the last packet received before it */
    struct rtcp_sr sr;
};

struct sub_rx {
    _Atomic uint64_t rtp;
    _Atomic int64_t ts_off; /* received minus sent timestamp of the last packet */
    _Atomic unsigned ts_off_changes;
    _Atomic unsigned n_sr;
    struct sr_seen sr[MAX_SEEN];
    _Atomic unsigned bad;
};

static void sub_on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub_rx *s = arg;
    struct rtp_view v;
    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len != PAYLOAD_LEN) {
        atomic_fetch_add(&s->bad, 1);
        return;
    }
    int64_t off = (int64_t)(uint32_t)(v.ts - be32_load(v.payload + 6));
    if (atomic_load(&s->rtp) > 0 && atomic_load(&s->ts_off) != off)
        atomic_fetch_add(&s->ts_off_changes, 1);
    atomic_store(&s->ts_off, off);
    atomic_fetch_add(&s->rtp, 1);
}

static void sub_on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct sub_rx *s = arg;
    struct rtcp_iter it;
    struct rtcp_hdr h;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &h)) == 1) {
        unsigned n = atomic_load(&s->n_sr);
        if (h.pt != RTCP_PT_SR)
            continue;
        if (n >= MAX_SEEN)
            return;
        struct sr_seen *e = &s->sr[n];
        if (rtcp_parse_sr(&h, &e->sr) < 0) {
            atomic_fetch_add(&s->bad, 1);
            continue;
        }
        e->at_us = clock_mono_us();
        e->now_ntp = clock_ntp_now();
        e->rtp_before = atomic_load(&s->rtp);
        e->ts_off = atomic_load(&s->ts_off);
        atomic_store(&s->n_sr, n + 1);
    }
    if (rc < 0)
        atomic_fetch_add(&s->bad, 1);
}

/* --- set-up ------------------------------------------------------------------------------ */

struct rig {
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub;
    uint64_t pub_t;
    uint64_t prod;
};

static int rig_start(struct rig *g, const char *room, struct pub_rx *prx)
{
    struct peer_cbs cbs = {.on_rtcp = pub_on_rtcp};
    if (integ_sfu_start(&g->sfu, 1) < 0)
        return -1;
    if (integ_ctl_connect(&g->sfu, &g->ctl) < 0)
        return -1;
    if (bench_ctl_create_room(g->ctl, room) != 0)
        return -1;
    return bench_ctl_join(g->ctl, room, &cbs, prx, &g->pub, &g->pub_t);
}

static void rig_stop(struct rig *g)
{
    peer_free(g->pub);
    ctl_client_free(g->ctl);
    integ_sfu_stop(&g->sfu);
}

static double fabs_d(double x)
{
    return x < 0 ? -x : x;
}

/* --- cases ------------------------------------------------------------------------------- */

#define LIP_SR1_MS       400
#define LIP_SR2_MS       1400
#define LIP_PAUSE_MS     2600
#define LIP_RESUME_MS    3000
#define LIP_END_MS       4600
#define LIP_LAG_US       100000 /* the encoder's latency after the resume */
#define LIP_SR_MAX_ERR_S 0.002
#define LIP_SR_MAX_LAG   5     /* packets the subscriber may not have yet when an SR comes */
#define LIP_NOW_MAX_S    0.100 /* how far an SR's NTP time may be from the wall clock */
#define LIP_OFF_SLACK    1800  /* 20 ms of arrival jitter in the offset of a resumed segment */

static void wait_rtp(struct sub_rx *s, uint64_t want, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && atomic_load(&s->rtp) < want; waited += 10)
        integ_sleep_ms(10);
}

/* The subscriber's SRs carry its consumer's SSRC, and their (NTP, RTP) pairs lie on the
 * publisher's timeline moved by the consumer's timestamp offset, across the RTP timestamp wrap:
 * what a browser needs to line this video up with the same person's audio. First with the
 * offset 0 of a consumer's first source; then after a pause, resumed on a keyframe the encoder
 * sent 100 ms after its capture, which the SFU numbers on from wall time: an offset of about
 * 9000 that the SRs must carry too, or the video would play 100 ms off the audio. */
static int test_sr_lip_sync(void)
{
    static struct rig g;
    static struct pub_rx prx;
    static struct sub_rx srx;
    static struct pub_run run;
    struct peer *sub;
    uint64_t sub_t, x1, x2;
    uint32_t y1, y2;
    struct peer_cbs sub_cbs = {.on_rtp = sub_on_rtp, .on_rtcp = sub_on_rtcp};

    memset(&g, 0, sizeof(g));
    memset(&srx, 0, sizeof(srx));
    pub_rx_init(&prx, PUB_SSRC);
    CHECK_EQ(rig_start(&g, "lip", &prx), 0);
    g.prod = bench_ctl_produce(g.ctl, "lip", g.pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(g.prod != 0);
    CHECK_EQ(bench_ctl_join(g.ctl, "lip", &sub_cbs, &srx, &sub, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(g.ctl, "lip", sub_t, g.prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    uint32_t cons_ssrc = r->consumed->rtp->encodings[0]->ssrc;
    uint64_t cons = r->consumed->consumer_id;
    sfu__envelope__free_unpacked(r, NULL);

    pub_run_init(&run, g.pub, PUB_SSRC, 30000, true, 100);
    CHECK_EQ(pub_frames_until(&run, LIP_SR1_MS), 0);
    /* Media but no SR from the publisher yet: the SFU has no mapping to give. */
    wait_rtp(&srx, run.n, 1000);
    CHECK_EQ(atomic_load(&srx.rtp), run.n);
    CHECK_EQ(atomic_load(&srx.n_sr), 0);
    uint64_t sr1_at = clock_mono_us();
    CHECK_EQ(pub_send_sr(&run, &x1, &y1), 0);
    CHECK_EQ(pub_frames_until(&run, LIP_SR2_MS), 0);
    CHECK_EQ(pub_send_sr(&run, &x2, &y2), 0);
    CHECK_EQ(pub_frames_until(&run, LIP_PAUSE_MS), 0);
    wait_rtp(&srx, run.n, 1000);
    uint32_t before_pause = run.n;
    CHECK_EQ(atomic_load(&srx.rtp), before_pause);
    CHECK_EQ(integ_pause_consumer(g.ctl, "lip", cons, true), 0);
    CHECK_EQ(pub_frames_until(&run, LIP_RESUME_MS), 0);
    uint32_t at_resume = run.n;
    CHECK_EQ(integ_pause_consumer(g.ctl, "lip", cons, false), 0);
    run.lag_us = LIP_LAG_US;
    run.key_next = true; /* what the resume's keyframe request asked for */
    CHECK_EQ(pub_frames_until(&run, LIP_END_MS), 0);
    uint64_t want = before_pause + (run.n - at_resume);
    wait_rtp(&srx, want, 1000);

    unsigned n = atomic_load(&srx.n_sr);
    int64_t off = atomic_load(&srx.ts_off);
    fprintf(stderr,
            "lip sync: %u packets sent (%u while paused), %llu received, timestamp offset %lld "
            "after the resume (%u changes), %u SRs\n",
            run.n, at_resume - before_pause, (unsigned long long)atomic_load(&srx.rtp),
            (long long)off, atomic_load(&srx.ts_off_changes), n);
    CHECK_EQ(atomic_load(&srx.rtp), want);
    CHECK_EQ(atomic_load(&srx.bad), 0);
    /* 0 from the first source (which maps to itself), then the resumed segment's. */
    CHECK_EQ(atomic_load(&srx.ts_off_changes), 1);
    CHECK(off >= LIP_LAG_US * 9 / 100 - LIP_OFF_SLACK &&
          off <= LIP_LAG_US * 9 / 100 + LIP_OFF_SLACK);
    /* An SR a second while sending, from the publisher's first: about 1, 2, 3 and 4 s. */
    CHECK(n >= 3 && n <= 6);
    unsigned with_off0 = 0, with_off = 0;
    for (unsigned k = 0; k < n; k++) {
        const struct sr_seen *e = &srx.sr[k];
        uint32_t o = (uint32_t)e->ts_off;
        /* Both publisher SRs lie on one timeline; each SFU SR must lie on it too. */
        double d_rtp = (double)(int32_t)(e->sr.info.rtp_ts - o - y1) / RTP_CLOCK;
        double d_ntp = (double)(int64_t)(e->sr.info.ntp - x1) / NTP_1S;
        double d_rtp2 = (double)(int32_t)(e->sr.info.rtp_ts - o - y2) / RTP_CLOCK;
        double d_ntp2 = (double)(int64_t)(e->sr.info.ntp - x2) / NTP_1S;
        double vs_now = (double)(int64_t)(e->sr.info.ntp - e->now_ntp) / NTP_1S;
        fprintf(stderr,
                "  SR %u at +%.3f s: ssrc %08x, rtp %u, offset %lld: %+.6f s off the timeline "
                "(%+.6f s against the second SR), %+.4f s from the wall clock, packets %u "
                "(subscriber had %llu), octets %u\n",
                k, (double)(e->at_us - run.t0_us) / 1e6, e->sr.ssrc, e->sr.info.rtp_ts,
                (long long)e->ts_off, d_rtp - d_ntp, d_rtp2 - d_ntp2, vs_now, e->sr.info.pkt_count,
                (unsigned long long)e->rtp_before, e->sr.info.octet_count);
        CHECK_EQ(e->sr.ssrc, cons_ssrc);
        CHECK(e->at_us > sr1_at);
        CHECK(e->rtp_before > 0);
        CHECK(fabs_d(d_rtp - d_ntp) <= LIP_SR_MAX_ERR_S);
        CHECK(fabs_d(d_rtp2 - d_ntp2) <= LIP_SR_MAX_ERR_S);
        CHECK(fabs_d(vs_now) <= LIP_NOW_MAX_S);
        CHECK(e->sr.info.pkt_count + LIP_SR_MAX_LAG >= e->rtp_before);
        CHECK(e->sr.info.pkt_count <= e->rtp_before + LIP_SR_MAX_LAG);
        CHECK_EQ(e->sr.info.octet_count, (uint64_t)e->sr.info.pkt_count * PAYLOAD_LEN);
        CHECK_EQ(e->sr.rb_count, 0);
        with_off0 += e->ts_off == 0;
        with_off += e->ts_off == off;
    }
    CHECK(with_off0 >= 1 && with_off >= 1);
    CHECK_EQ(with_off0 + with_off, n);
    /* The mapping runs across the timestamp wrap (at about 1.46 s). */
    CHECK(srx.sr[n - 1].sr.info.rtp_ts < TS0);

    peer_free(sub);
    rig_stop(&g);
    return 0;
}

#define RR_FIRST_SEQ  65400 /* the 16-bit wrap comes after 136 packets */
#define RR_SR_MS      300
#define RR_END_MS     2500
#define RR_GAP_MIN_MS 900
#define RR_GAP_MAX_MS 1400
#define RR_MAX_RTT_S  0.100

/* The publisher gets a receiver report about once a second for its SSRC: nothing lost, the
 * extended highest sequence number counting the wrap, and an LSR/DLSR echo of its SR from which
 * it computes a round-trip time near zero on loopback. */
static int test_rr_to_publisher(void)
{
    static struct rig g;
    static struct pub_rx prx;
    static struct pub_run run;
    uint64_t x;
    uint32_t y;

    memset(&g, 0, sizeof(g));
    pub_rx_init(&prx, PUB_SSRC);
    CHECK_EQ(rig_start(&g, "rr", &prx), 0);
    g.prod = bench_ctl_produce(g.ctl, "rr", g.pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(g.prod != 0);
    /* No media, no report. */
    integ_sleep_ms(300);
    CHECK_EQ(atomic_load(&prx.n_rr), 0);

    pub_run_init(&run, g.pub, PUB_SSRC, RR_FIRST_SEQ, true, 0);
    CHECK_EQ(pub_frames_until(&run, RR_SR_MS), 0);
    uint64_t sr_at = clock_mono_us();
    CHECK_EQ(pub_send_sr(&run, &x, &y), 0);
    CHECK_EQ(pub_frames_until(&run, RR_END_MS), 0);
    uint64_t last_us = run.send_us[run.n - 1];
    uint32_t want_ext = (uint32_t)RR_FIRST_SEQ + run.n - 1; /* one cycle: 65536 + last seq */
    CHECK_EQ(want_ext, 65536u + (uint16_t)(run.seq - 1));
    /* The first report after the last packet surely arrived. */
    unsigned n = 0;
    for (int waited = 0; waited < 1500; waited += 10) {
        n = atomic_load(&prx.n_rr);
        if (n > 0 && prx.rr[n - 1].at_us > last_us + 50000)
            break;
        integ_sleep_ms(10);
    }
    fprintf(stderr, "receiver reports: %u packets sent (seq %u..%u), %u RRs\n", run.n, RR_FIRST_SEQ,
            (uint16_t)(run.seq - 1), n);
    CHECK(n >= 3);
    CHECK(prx.rr[n - 1].at_us > last_us + 50000);
    for (unsigned k = 0; k < n; k++) {
        const struct rr_seen *e = &prx.rr[k];
        double rtt = 0;
        if (e->rb.lsr)
            rtt = (int32_t)(e->now_ntp32 - e->rb.lsr - e->rb.dlsr) / NTP32_1S;
        fprintf(stderr,
                "  RR %u at +%.3f s: ssrc %08x ext highest %u lost %d fraction %u jitter %u "
                "lsr %08x dlsr %.3f s rtt %.4f s\n",
                k, (double)((int64_t)e->at_us - (int64_t)run.t0_us) / 1e6, e->rb.ssrc,
                e->rb.ext_highest_seq, e->rb.cumulative_lost, e->rb.fraction_lost, e->rb.jitter,
                e->rb.lsr, e->rb.dlsr / NTP32_1S, rtt);
        CHECK_EQ(e->rb_count, 1);
        CHECK_EQ(e->rb.ssrc, PUB_SSRC);
        CHECK_EQ(e->rb.cumulative_lost, 0);
        CHECK_EQ(e->rb.fraction_lost, 0);
        CHECK(e->rb.ext_highest_seq >= RR_FIRST_SEQ && e->rb.ext_highest_seq <= want_ext);
        CHECK(e->sender != PUB_SSRC && e->sender == prx.rr[0].sender);
        if (k > 0) {
            uint64_t gap_ms = (e->at_us - prx.rr[k - 1].at_us) / 1000;
            CHECK(gap_ms >= RR_GAP_MIN_MS && gap_ms <= RR_GAP_MAX_MS);
            CHECK(e->rb.ext_highest_seq >= prx.rr[k - 1].rb.ext_highest_seq);
        }
        if (e->at_us < sr_at) {
            CHECK_EQ(e->rb.lsr, 0);
            CHECK_EQ(e->rb.dlsr, 0);
        } else if (e->at_us > sr_at + 100000) {
            CHECK_EQ(e->rb.lsr, (uint32_t)(x >> 16));
            CHECK(rtt > -0.010 && rtt < RR_MAX_RTT_S);
        }
    }
    CHECK_EQ(prx.rr[n - 1].rb.ext_highest_seq, want_ext);
    CHECK_EQ(atomic_load(&prx.bad), 0);

    rig_stop(&g);
    return 0;
}

#define TWCC_FIRST          65500 /* the transport-wide sequence wraps after 36 packets */
#define TWCC_END_MS         2000
#define TWCC_SPAN_TOLERANCE 0.20

/* Every transport-wide sequence number the publisher sent comes back in transport-cc feedback
 * as received, once and in order, from feedback packets numbered without a gap, and the receive
 * deltas add up to the time the packets took to send: what the browser's bandwidth estimator
 * runs on. No REMB where transport-cc is negotiated. */
static int test_twcc_feedback(void)
{
    static struct rig g;
    static struct pub_rx prx;
    static struct pub_run run;

    memset(&g, 0, sizeof(g));
    pub_rx_init(&prx, PUB_SSRC);
    CHECK_EQ(rig_start(&g, "twcc", &prx), 0);
    g.prod = bench_ctl_produce(g.ctl, "twcc", g.pub_t, PUB_SSRC, PUB_RTX_SSRC);
    CHECK(g.prod != 0);

    pub_run_init(&run, g.pub, PUB_SSRC, 1000, true, TWCC_FIRST);
    CHECK_EQ(pub_frames_until(&run, TWCC_END_MS), 0);
    for (int waited = 0; waited < 1000 && atomic_load(&prx.n_st) < run.n; waited += 10)
        integ_sleep_ms(10);
    integ_sleep_ms(150); /* anything more would be wrong */

    unsigned n = atomic_load(&prx.n_st), nfb = atomic_load(&prx.n_fb);
    double tx_span = (double)(run.send_us[run.n - 1] - run.send_us[0]) / 1e6;
    double rx_span = n > 0 ? (double)(prx.st[n - 1].at_us - prx.st[0].at_us) / 1e6 : 0;
    unsigned missing = 0, backwards = 0;
    for (unsigned k = 0; k < n; k++) {
        missing += !prx.st[k].received;
        backwards += k > 0 && prx.st[k].at_us < prx.st[k - 1].at_us;
    }
    fprintf(stderr,
            "transport-cc: %u packets sent over %.3f s, %u feedback packets with %u statuses "
            "(%u not received), arrivals span %.3f s, %u going backwards; %u REMB\n",
            run.n, tx_span, nfb, n, missing, rx_span, backwards, atomic_load(&prx.n_remb));
    CHECK_EQ(atomic_load(&prx.bad), 0);
    CHECK_EQ(atomic_load(&prx.fb_bad), 0);
    CHECK_EQ(atomic_load(&prx.st_overflow), 0);
    CHECK_EQ(n, run.n);
    for (unsigned k = 0; k < n; k++) {
        CHECK_EQ(prx.st[k].seq, (uint16_t)(TWCC_FIRST + k));
        CHECK(prx.st[k].received);
    }
    CHECK_EQ(backwards, 0);
    CHECK(fabs_d(rx_span - tx_span) <= TWCC_SPAN_TOLERANCE * tx_span);
    /* Every 50 ms: about 40 over the run; at least half of that. */
    CHECK(nfb >= (unsigned)(tx_span * 1000 / 50 / 2));
    CHECK_EQ(atomic_load(&prx.n_remb), 0);

    rig_stop(&g);
    return 0;
}

#define REMB_END_MS  1300
#define REMB_MIN_BPS 1000000

/* Produce as a browser that offered goog-remb and no transport-cc: VP8 pt 96, RTX 97, MID only. */
/* A publisher that negotiated goog-remb but not transport-cc gets a REMB for its SSRC with each
 * receiver report, with a bitrate that lets it send HD video, and no transport-cc feedback. */
static int test_remb_without_twcc(void)
{
    static struct rig g;
    static struct pub_rx prx;
    static struct pub_run run;

    memset(&g, 0, sizeof(g));
    pub_rx_init(&prx, PUB_SSRC);
    CHECK_EQ(rig_start(&g, "remb", &prx), 0);
    g.prod = bench_ctl_produce_bwe(g.ctl, "remb", g.pub_t, PUB_SSRC, PUB_RTX_SSRC, BENCH_BWE_REMB);
    CHECK(g.prod != 0);

    pub_run_init(&run, g.pub, PUB_SSRC, 7000, false, 0);
    CHECK_EQ(pub_frames_until(&run, REMB_END_MS), 0);
    for (int waited = 0; waited < 1000 && atomic_load(&prx.n_remb) < 2; waited += 10)
        integ_sleep_ms(10);

    unsigned nremb = atomic_load(&prx.n_remb), nrr = atomic_load(&prx.n_rr);
    uint64_t bps = atomic_load(&prx.remb_min_bps);
    fprintf(stderr,
            "REMB: %u packets sent, %u REMB (lowest %llu bit/s, %u naming another SSRC), %u RR, "
            "%u transport-cc feedback\n",
            run.n, nremb, (unsigned long long)bps, atomic_load(&prx.remb_bad), nrr,
            atomic_load(&prx.n_fb));
    CHECK(nremb >= 2);
    CHECK_EQ(atomic_load(&prx.remb_bad), 0);
    CHECK(bps >= REMB_MIN_BPS && bps != UINT64_MAX);
    CHECK(nrr >= nremb); /* sent with the receiver reports */
    CHECK_EQ(atomic_load(&prx.n_fb), 0);
    CHECK_EQ(atomic_load(&prx.fb_bad), 0);
    CHECK_EQ(atomic_load(&prx.bad), 0);

    rig_stop(&g);
    return 0;
}

static const struct test_case cases[] = {
    {"sr_lip_sync", test_sr_lip_sync},
    {"rr_to_publisher", test_rr_to_publisher},
    {"twcc_feedback", test_twcc_feedback},
    {"remb_without_twcc", test_remb_without_twcc},
};

TEST_MAIN(cases)
