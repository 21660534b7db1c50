/* Transport-cc recorder: what it builds is parsed back with the RTCP parser, and every recorded
 * packet must come back as received at its arrival time (to the 250 us unit), every gap as not
 * received, each exactly once, across the wrap, reordering, splits and small buffers. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "harness.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"

/* What the test recorded, by 16-bit seq: the first arrival (-1 when none) and whether a
 * feedback reported it. Tests keep their sequences within one window, so seqs are unique. */
struct model {
    int64_t arrival[65536];
    uint8_t reported[65536];
    uint32_t feedbacks;
    uint32_t statuses;
    uint32_t max_chunks; /* largest chunk count seen in one feedback */
    int last_fb_count;
};

static struct model *model_new(void)
{
    struct model *m = calloc(1, sizeof(*m));
    if (m) {
        for (size_t i = 0; i < 65536; i++)
            m->arrival[i] = -1;
        m->last_fb_count = -1;
    }
    return m;
}

static void record(struct twcc_recorder *rec, struct model *m, uint16_t seq, uint64_t at)
{
    twcc_recorder_on_packet(rec, seq, at);
    if (m->arrival[seq] < 0)
        m->arrival[seq] = (int64_t)at;
}

/* Parses one built feedback and checks it against the model. */
static int check_feedback(struct model *m, const uint8_t *buf, size_t len)
{
    struct rtcp_iter it;
    struct rtcp_hdr h;
    struct rtcp_twcc fb;
    struct rtcp_twcc_iter ti;
    struct rtcp_twcc_status st;
    CHECK_EQ(len % 4, 0);
    rtcp_iter_init(&it, buf, len);
    CHECK_EQ(rtcp_iter_next(&it, &h), 1);
    CHECK_EQ(h.raw_len, len);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), 0);
    CHECK_EQ(fb.sender_ssrc, 0x1111);
    CHECK_EQ(fb.media_ssrc, 0x2222);
    CHECK(fb.status_count > 0);
    if (m->last_fb_count >= 0)
        CHECK_EQ(fb.fb_count, (uint8_t)(m->last_fb_count + 1));
    m->last_fb_count = fb.fb_count;
    if (fb.chunk_count > m->max_chunks)
        m->max_chunks = (uint32_t)fb.chunk_count;
    int64_t units = (int64_t)fb.ref_time * 256;
    uint32_t n = 0;
    bool last_received = false;
    rtcp_twcc_iter_init(&ti, &fb);
    while (rtcp_twcc_iter_next(&ti, &st)) {
        CHECK_EQ(st.seq, (uint16_t)(fb.base_seq + n));
        CHECK_EQ(m->reported[st.seq], 0);
        m->reported[st.seq] = 1;
        if (st.received) {
            CHECK(m->arrival[st.seq] >= 0);
            units += st.delta;
            if (units * 250 != m->arrival[st.seq] / 250 * 250)
                fprintf(stderr, "seq %u: %lld us, recorded %lld\n", st.seq,
                        (long long)(units * 250), (long long)m->arrival[st.seq]);
            CHECK_EQ(units * 250, m->arrival[st.seq] / 250 * 250);
        } else {
            CHECK_EQ(m->arrival[st.seq], -1);
        }
        last_received = st.received;
        n++;
    }
    CHECK_EQ(n, fb.status_count);
    CHECK(last_received); /* trailing losses wait for a later packet */
    m->feedbacks++;
    m->statuses += n;
    return 0;
}

/* Builds until nothing is pending, checking each feedback. */
static int drain(struct twcc_recorder *rec, struct model *m, size_t cap)
{
    uint8_t buf[1500];
    size_t len;
    for (int i = 0; i < 10000; i++) {
        CHECK_EQ(twcc_recorder_build(rec, 0x1111, 0x2222, buf, cap, &len), 0);
        if (len == 0)
            return 0;
        CHECK(len <= cap);
        CHECK_EQ(check_feedback(m, buf, len), 0);
    }
    return -1;
}

static int count_reported(const struct model *m)
{
    int n = 0;
    for (size_t i = 0; i < 65536; i++)
        n += m->reported[i];
    return n;
}

static int test_twcc_roundtrip_wrap(void)
{
    struct twcc_recorder *rec;
    struct model *m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    uint8_t buf[256];
    size_t len = 99;
    CHECK_EQ(twcc_recorder_build(rec, 1, 2, buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 0);

    /* 65530..10 across the wrap, with 65533, 2 and 3 lost, at irregular times. */
    uint64_t t = 5000000;
    for (uint32_t i = 0; i < 17; i++) {
        uint16_t seq = (uint16_t)(65530 + i);
        t += 1000 + (i * 7919) % 9000;
        if (seq == 65533 || seq == 2 || seq == 3)
            continue;
        record(rec, m, seq, t);
    }
    CHECK_EQ(drain(rec, m, sizeof(buf)), 0);
    CHECK_EQ(m->feedbacks, 1);
    CHECK_EQ(m->statuses, 17);
    CHECK_EQ(count_reported(m), 17);

    /* Nothing left; the next packets start where the last feedback ended. */
    CHECK_EQ(twcc_recorder_build(rec, 1, 2, buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 0);
    record(rec, m, 13, t + 20000);
    CHECK_EQ(drain(rec, m, sizeof(buf)), 0);
    CHECK_EQ(m->feedbacks, 2);
    CHECK_EQ(m->reported[11], 1); /* 11 and 12 reported lost */
    CHECK_EQ(m->reported[12], 1);
    CHECK_EQ(count_reported(m), 20);

    struct twcc_recorder_stats st;
    twcc_recorder_stats_get(rec, &st);
    CHECK_EQ(st.recorded, 15);
    CHECK_EQ(st.feedbacks, 2);
    twcc_recorder_free(rec);
    free(m);
    return 0;
}

static int test_twcc_reorder_dup_late(void)
{
    struct twcc_recorder *rec;
    struct model *m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    /* 7 arrives before 5 and 6; 6 twice; 4 overtaken before any feedback is still counted. */
    record(rec, m, 5, 1000000);
    record(rec, m, 7, 1001000);
    record(rec, m, 6, 1003000); /* arrived after 7: a negative delta to 7 */
    record(rec, m, 6, 1009000); /* duplicate: the first arrival stands */
    record(rec, m, 4, 1010000);
    record(rec, m, 9, 1200000); /* 196 ms after 6: beyond a 1-byte delta */
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(m->statuses, 6); /* 4..9 */
    CHECK_EQ(m->reported[8], 1);

    /* 8 comes after its loss was reported: too late for feedback. */
    twcc_recorder_on_packet(rec, 8, 1300000);
    struct twcc_recorder_stats st;
    twcc_recorder_stats_get(rec, &st);
    CHECK_EQ(st.duplicates, 1);
    CHECK_EQ(st.late, 1);
    CHECK_EQ(st.recorded, 5);
    uint8_t buf[64];
    size_t len;
    CHECK_EQ(twcc_recorder_build(rec, 1, 2, buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 0);
    twcc_recorder_free(rec);
    free(m);
    return 0;
}

/* A gap over 8 s cannot be a 16-bit delta: the feedback ends before it and the next one
 * starts with a new reference time. */
static int test_twcc_split_on_delta(void)
{
    struct twcc_recorder *rec;
    struct model *m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    record(rec, m, 100, 1000000);
    record(rec, m, 101, 1001000);
    record(rec, m, 103, 11000000);
    record(rec, m, 104, 11000250);
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(m->feedbacks, 2);
    CHECK_EQ(m->statuses, 5);
    /* Negative, past -8 s: split as well. */
    record(rec, m, 106, 30000000);
    record(rec, m, 105, 20000000);
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(m->feedbacks, 4);
    CHECK_EQ(count_reported(m), 7);
    twcc_recorder_free(rec);
    free(m);
    return 0;
}

/* Many packets, random-ish loss and jitter, drained through buffers of many sizes: every
 * feedback fits its buffer and together they report each seq once. */
static int test_twcc_small_buffers(void)
{
    const size_t caps[] = {32, 36, 48, 64, 100, 256, 1200};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        struct twcc_recorder *rec;
        struct model *m = model_new();
        CHECK(m != NULL);
        CHECK_EQ(twcc_recorder_new(&rec), 0);
        uint32_t x = 12345;
        uint64_t t = 1000000;
        uint16_t seq = 65000;
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < 700; i++) {
                x = x * 1103515245u + 12345u;
                seq++;
                t += (x >> 16) % 3000; /* 0..3 ms, some large deltas below */
                if ((x >> 8) % 100 < 15 && (round || i))
                    continue; /* 15% lost, never the very first */
                uint64_t at = t;
                if ((x >> 4) % 50 == 0)
                    at += 80000; /* a straggler: large and negative deltas */
                record(rec, m, seq, at);
            }
            /* The last seq of a round must be received for the round to drain fully. */
            seq++;
            t += 1000;
            record(rec, m, seq, t + 200000);
            CHECK_EQ(drain(rec, m, caps[c]), 0);
        }
        int reported = count_reported(m);
        CHECK_EQ(reported, 4 * 701);
        if (caps[c] == 1200)
            CHECK_EQ(m->feedbacks, 4);
        else if (caps[c] == 32)
            CHECK(m->feedbacks > 100);
        twcc_recorder_free(rec);
        free(m);
    }
    return 0;
}

/* Long runs become run-length chunks: 100 received, 500 lost, 1 received is three chunks;
 * alternating received and lost is status vectors, 14 symbols per chunk. */
static int test_twcc_chunk_choice(void)
{
    struct twcc_recorder *rec;
    struct model *m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    uint64_t t = 2000000;
    for (uint16_t s = 0; s < 100; s++)
        record(rec, m, s, t += 1000);
    record(rec, m, 600, t += 1000);
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(m->statuses, 601);
    CHECK_EQ(m->max_chunks, 3);
    twcc_recorder_free(rec);
    free(m);

    m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    for (uint16_t s = 0; s < 141; s += 2)
        record(rec, m, s, t += 1000);
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(m->statuses, 141);
    CHECK_EQ(m->max_chunks, 11); /* ceil(141 / 14) one-bit vectors */
    twcc_recorder_free(rec);
    free(m);
    return 0;
}

/* More pending than the ring holds: the oldest are dropped, the rest still reported. */
static int test_twcc_overflow(void)
{
    struct twcc_recorder *rec;
    struct model *m = model_new();
    CHECK(m != NULL);
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    uint64_t t = 1000000;
    for (uint32_t s = 0; s < TWCC_RECORDER_RING + 100; s++)
        record(rec, m, (uint16_t)s, t += 100);
    struct twcc_recorder_stats st;
    twcc_recorder_stats_get(rec, &st);
    CHECK_EQ(st.overflowed, 100);
    /* The model expects the dropped ones nowhere: mark them reported up front. */
    for (uint32_t s = 0; s < 100; s++)
        m->reported[s] = 1;
    CHECK_EQ(drain(rec, m, 1500), 0);
    CHECK_EQ(count_reported(m), TWCC_RECORDER_RING + 100);
    twcc_recorder_free(rec);
    free(m);
    return 0;
}

static int test_twcc_nospace(void)
{
    struct twcc_recorder *rec;
    uint8_t buf[32];
    size_t len = 7;
    CHECK_EQ(twcc_recorder_new(&rec), 0);
    twcc_recorder_on_packet(rec, 1, 1000);
    CHECK_EQ(twcc_recorder_build(rec, 1, 2, buf, 23, &len), -ENOSPC);
    CHECK_EQ(len, 0);
    CHECK_EQ(twcc_recorder_build(rec, 1, 2, buf, 24, &len), 0);
    /* 20 fixed bytes, one chunk, one delta, one byte of fill. */
    CHECK_EQ(len, 24);
    CHECK_EQ(buf[23], 0);
    CHECK_EQ(be16_load(buf + 12), 1);
    CHECK_EQ(be16_load(buf + 14), 1);
    twcc_recorder_free(rec);
    twcc_recorder_free(NULL);
    return 0;
}

static const struct test_case cases[] = {
    {"twcc_roundtrip_wrap", test_twcc_roundtrip_wrap},
    {"twcc_reorder_dup_late", test_twcc_reorder_dup_late},
    {"twcc_split_on_delta", test_twcc_split_on_delta},
    {"twcc_small_buffers", test_twcc_small_buffers},
    {"twcc_chunk_choice", test_twcc_chunk_choice},
    {"twcc_overflow", test_twcc_overflow},
    {"twcc_nospace", test_twcc_nospace},
};

TEST_MAIN(cases)
