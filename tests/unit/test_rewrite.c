/* The consumer's outgoing packet (header fields, CSRCs, padding dropped, RTX, bounds) and the
 * seq/ts rewriter (continuity across source switches, reordering, 16-bit and 32-bit wrap). */
#include <errno.h>
#include <stdint.h>

#include "core/bytes.h"
#include "harness.h"
#include "rtp/rewrite.h"
#include "rtp/rtp.h"

/* An Opus packet from a mixer: marker, PT 111, one CSRC, audio level (id 1) and a MID (id 4),
 * 3 payload bytes, 2 padding bytes. */
static const uint8_t opus_pkt[] = {
    0xb1, 0xef, 0x12, 0x34, 0x00, 0x01, 0x00, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, /* fixed header */
    0x01, 0x02, 0x03, 0x04,                                                 /* CSRC */
    0xbe, 0xde, 0x00, 0x01, 0x10, 0x85, 0x40, 0x61,                         /* level, mid "a" */
    0xf8, 0xff, 0xfe,                                                       /* payload */
    0x00, 0x02,                                                             /* padding */
};

static void audio_rewrite(struct rtp_rewrite *rw)
{
    memset(rw, 0, sizeof(*rw));
    rw->ssrc = 0x01010101;
    rw->seq = 0xffff;
    rw->ts = 0xfffffff0;
    rw->pt = 109;
    rw->marker = RTP_REWRITE_MARKER_KEEP;
    rw->ext_map[1] = 1;
}

static int test_rewrite_header_fields(void)
{
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, opus_pkt, sizeof(opus_pkt)), 0);
    audio_rewrite(&rw);
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    static const uint8_t want[] = {
        0x91, 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02,
        0x03, 0x04, 0xbe, 0xde, 0x00, 0x01, 0x10, 0x85, 0x00, 0x00, 0xf8, 0xff, 0xfe,
    };
    /* P is clear and the two padding bytes are gone. */
    CHECK_EQ(n, (int)sizeof(want));
    CHECK_MEM(out, want, sizeof(want));

    rw.marker = 0;
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), n);
    CHECK_EQ(out[1], 109);
    rw.marker = 1;
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), n);
    CHECK_EQ(out[1], 0x80 | 109);
    return 0;
}

static int test_rewrite_rtx(void)
{
    /* RFC 4588: the RTX stream's own SSRC/seq/PT, the original seq first in the payload. */
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, opus_pkt, sizeof(opus_pkt)), 0);
    audio_rewrite(&rw);
    rw.ssrc = 0x0f0f0f0f;
    rw.seq = 500;
    rw.pt = 97;
    rw.rtx = true;
    rw.rtx_osn = 0xabcd;
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 24 + 2 + 3);
    struct rtp_view o;
    CHECK_EQ(rtp_view_parse(&o, out, (size_t)n), 0);
    CHECK_EQ(o.ssrc, 0x0f0f0f0f);
    CHECK_EQ(o.seq, 500);
    CHECK_EQ(o.pt, 97);
    CHECK_EQ(o.payload_len, 5);
    CHECK_MEM(o.payload, "\xab\xcd\xf8\xff\xfe", 5);
    return 0;
}

static int test_rewrite_bounds(void)
{
    /* Every capacity short of the result gives -ENOSPC and writes nothing at or past it. */
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, opus_pkt, sizeof(opus_pkt)), 0);
    audio_rewrite(&rw);
    rw.mid_id = 4;
    rw.mid = "audio0";
    rw.mid_len = 6;
    rw.twcc_id = 5;
    rw.rtx = true;
    int full = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(full, 12 + 4 + 4 + 12 + 2 + 3);
    for (int cap = 0; cap < full; cap++) {
        memset(out, 0x5a, sizeof(out));
        CHECK_EQ(rtp_packet_rewrite(out, (size_t)cap, &v, &rw), -ENOSPC);
        for (size_t i = (size_t)cap; i < sizeof(out); i++)
            CHECK_EQ(out[i], 0x5a);
    }
    memset(out, 0x5a, sizeof(out));
    CHECK_EQ(rtp_packet_rewrite(out, (size_t)full, &v, &rw), full);
    CHECK_EQ(out[full], 0x5a);
    return 0;
}

static int test_rewrite_einval(void)
{
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, opus_pkt, sizeof(opus_pkt)), 0);
    audio_rewrite(&rw);
    rw.pt = 128;
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), -EINVAL);
    audio_rewrite(&rw);
    rw.mid_id = 3; /* no MID given */
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), -EINVAL);
    audio_rewrite(&rw);
    rw.n_extra = 1; /* extra with id 0 */
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), -EINVAL);
    audio_rewrite(&rw);
    rw.n_extra = RTP_REWRITE_EXTRA_MAX + 1;
    CHECK_EQ(rtp_packet_rewrite(out, sizeof(out), &v, &rw), -EINVAL);
    return 0;
}

static int test_rewrite_extras(void)
{
    static const uint8_t level[1] = {0x7f};
    static const uint8_t orient[1] = {0x01};
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    const uint8_t *d;
    size_t len;
    CHECK_EQ(rtp_view_parse(&v, opus_pkt, sizeof(opus_pkt)), 0);
    audio_rewrite(&rw);
    rw.ext_map[1] = 0;
    rw.n_extra = 2;
    rw.extra[0] = (struct rtp_ext_extra){.id = 1, .len = 1, .data = level};
    rw.extra[1] = (struct rtp_ext_extra){.id = 13, .len = 1, .data = orient};
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 4 + 8 + 3);
    CHECK_MEM(out + 16, "\xbe\xde\x00\x01\x10\x7f\xd0\x01", 8);
    struct rtp_view o;
    CHECK_EQ(rtp_view_parse(&o, out, (size_t)n), 0);
    CHECK_EQ(rtp_ext_find(&o, 13, &d, &len), 0);
    CHECK_EQ(d[0], 0x01);
    return 0;
}

/* The seq rewriter. */

static int test_seqrw_first_maps_to_itself(void)
{
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 1000, 5000, 0, &s, &t), 0);
    CHECK_EQ(s, 1000);
    CHECK_EQ(t, 5000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 1001, 8000, 33000, &s, &t), 0);
    CHECK_EQ(s, 1001);
    CHECK_EQ(t, 8000);
    return 0;
}

static int test_seqrw_switch_source(void)
{
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    /* Source A: 3 frames, 33 ms apart. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xA, 100, 1000, 1000000, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xA, 101, 1000, 1001000, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xA, 102, 3970, 1033000, &s, &t), 0);
    CHECK_EQ(s, 102);
    CHECK_EQ(t, 3970);
    /* Source B, 40 ms after A's newest frame: seq continues, ts advances by 40 ms * 90. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xB, 40000, 777777, 1073000, &s, &t), 0);
    CHECK_EQ(s, 103);
    CHECK_EQ(t, 3970 + 3600);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xB, 40001, 777777 + 2970, 1106000, &s, &t), 0);
    CHECK_EQ(s, 104);
    CHECK_EQ(t, 3970 + 3600 + 2970);
    /* A reordered B packet from within the segment goes through the same offset. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xB, 40003, 777777 + 5940, 1139000, &s, &t), 0);
    CHECK_EQ(s, 106);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xB, 40002, 777777 + 2970, 1140000, &s, &t), 0);
    CHECK_EQ(s, 105);
    CHECK_EQ(t, 3970 + 3600 + 2970);
    /* Older than B's first packet: from before the switch. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xB, 39999, 777777, 1141000, &s, &t), -EALREADY);
    /* Back to A: continues after 106, ts from B's newest frame (out 3970+3600+5940). */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 0xA, 200, 9000, 1139000 + 10000, &s, &t), 0);
    CHECK_EQ(s, 107);
    CHECK_EQ(t, 3970 + 3600 + 5940 + 900);
    return 0;
}

static int test_seqrw_min_ts_step(void)
{
    /* A switch in the same microsecond still moves the timestamp on by one. */
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 48000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 10, 0xffffffff, 500, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 2, 60000, 123, 500, &s, &t), 0);
    CHECK_EQ(s, 11);
    CHECK_EQ(t, 0); /* 0xffffffff + 1, wrapped */
    return 0;
}

static int test_seqrw_switch_same_ssrc(void)
{
    /* Pause/resume: the producer kept its SSRC but skipped 500 seqs and 100 s of timestamps;
     * the consumer must not show the gap as loss. */
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 7, 1, 0, 0, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 7, 2, 3000, 33000, &s, &t), 0);
    rtp_seq_rewriter_switch(&r);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 7, 502, 903000, 100033000, &s, &t), 0);
    CHECK_EQ(s, 3);
    CHECK_EQ(t, 3000 + 9000000);
    /* Without the switch a gap passes through unchanged. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 7, 600, 906000, 100066000, &s, &t), 0);
    CHECK_EQ(s, 3 + 98);
    /* A late packet from before the pause. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 7, 2, 3000, 100067000, &s, &t), -EALREADY);
    return 0;
}

static int test_seqrw_wrap_long_run(void)
{
    /* 70,000+ packets from seq 65000 across the 16-bit wrap, ts near its 32-bit wrap, with a
     * switch of source at packet 1000 and a swapped pair every 97 packets. */
    struct rtp_seq_rewriter r;
    uint16_t s, expect_seq = 0;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    uint16_t seq = 65000;
    uint32_t ts = 0xffff0000u;
    uint64_t now = 0;
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, seq, ts, now, &s, &t), 0);
    for (int i = 1; i < 1000; i++) {
        seq++;
        ts += 3000;
        now += 33333;
        CHECK_EQ(rtp_seq_rewriter_map(&r, 1, seq, ts, now, &s, &t), 0);
        CHECK_EQ(s, seq);
        CHECK_EQ(t, ts);
    }
    uint16_t last_out = s;
    uint32_t last_ts = t;
    /* Source 2 starts at 64000, 33.333 ms after the last frame. */
    seq = 64000;
    ts = 0x7fffff00u;
    now += 33333;
    CHECK_EQ(rtp_seq_rewriter_map(&r, 2, seq, ts, now, &s, &t), 0);
    CHECK_EQ(s, (uint16_t)(last_out + 1));
    CHECK_EQ(t, last_ts + 2999);
    uint16_t seq_off = (uint16_t)(s - seq);
    uint32_t ts_off = t - ts;
    expect_seq = s;
    for (int i = 0; i < 70000; i++) {
        uint16_t a = (uint16_t)(seq + 1), b = (uint16_t)(seq + 2);
        uint32_t ta = ts + 3000, tb = ts + 6000;
        now += 33333;
        if (i % 97 == 0) {
            /* b before a: both map through the same offset. */
            CHECK_EQ(rtp_seq_rewriter_map(&r, 2, b, tb, now, &s, &t), 0);
            CHECK_EQ(s, (uint16_t)(b + seq_off));
            CHECK_EQ(t, tb + ts_off);
            CHECK_EQ(rtp_seq_rewriter_map(&r, 2, a, ta, now, &s, &t), 0);
            CHECK_EQ(s, (uint16_t)(expect_seq + 1));
            CHECK_EQ(t, ta + ts_off);
        } else {
            CHECK_EQ(rtp_seq_rewriter_map(&r, 2, a, ta, now, &s, &t), 0);
            CHECK_EQ(s, (uint16_t)(expect_seq + 1));
            CHECK_EQ(rtp_seq_rewriter_map(&r, 2, b, tb, now, &s, &t), 0);
            CHECK_EQ(s, (uint16_t)(expect_seq + 2));
            CHECK_EQ(t, tb + ts_off);
        }
        expect_seq = (uint16_t)(expect_seq + 2);
        seq = b;
        ts = tb;
    }
    /* 140,000 packets and two wraps in, a packet 1000 behind still maps through the offset. */
    CHECK_EQ(rtp_seq_rewriter_map(&r, 2, (uint16_t)(seq - 1000), ts, now, &s, &t), 0);
    CHECK_EQ(s, (uint16_t)(expect_seq - 1000));
    /* Then a switch after the long run still continues exactly. */
    now += 20000;
    CHECK_EQ(rtp_seq_rewriter_map(&r, 3, 5, 5, now, &s, &t), 0);
    CHECK_EQ(s, (uint16_t)(expect_seq + 1));
    CHECK_EQ(t, ts + ts_off + 1800); /* the newest ts was output 20 ms ago */
    return 0;
}

static int test_seqrw_before_switch_point_across_wrap(void)
{
    /* Segment starts at 3 (just past the wrap); 65534 arrives late: older, refused. */
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 9, 3, 100, 0, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 9, 4, 100, 0, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 9, 65534, 0, 0, &s, &t), -EALREADY);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 9, 2, 100, 0, &s, &t), -EALREADY);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 9, 5, 100, 0, &s, &t), 0);
    CHECK_EQ(s, 5);
    return 0;
}

static int test_seqrw_half_cycle(void)
{
    /* RFC 1982: up to 0x7fff ahead is newer; 0x8000 away counts as older. */
    struct rtp_seq_rewriter r;
    uint16_t s;
    uint32_t t;
    rtp_seq_rewriter_init(&r, 90000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 100, 0, 0, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 100 + 0x7fff, 0, 0, &s, &t), 0);
    CHECK_EQ(s, 100 + 0x7fff);
    rtp_seq_rewriter_init(&r, 90000);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 100, 0, 0, &s, &t), 0);
    CHECK_EQ(rtp_seq_rewriter_map(&r, 1, 100 + 0x8000, 0, 0, &s, &t), -EALREADY);
    return 0;
}

static const struct test_case cases[] = {
    {"seqrw_half_cycle", test_seqrw_half_cycle},
    {"rewrite_header_fields", test_rewrite_header_fields},
    {"rewrite_rtx", test_rewrite_rtx},
    {"rewrite_bounds", test_rewrite_bounds},
    {"rewrite_einval", test_rewrite_einval},
    {"rewrite_extras", test_rewrite_extras},
    {"seqrw_first_maps_to_itself", test_seqrw_first_maps_to_itself},
    {"seqrw_switch_source", test_seqrw_switch_source},
    {"seqrw_min_ts_step", test_seqrw_min_ts_step},
    {"seqrw_switch_same_ssrc", test_seqrw_switch_same_ssrc},
    {"seqrw_wrap_long_run", test_seqrw_wrap_long_run},
    {"seqrw_before_switch_point_across_wrap", test_seqrw_before_switch_point_across_wrap},
};
TEST_MAIN(cases)
