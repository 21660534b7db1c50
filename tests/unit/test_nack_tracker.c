/* NACK tracker: gaps are found, NACKed at once and then at the retry interval, cleared when
 * the packet turns up, given up after the retries or the age limit, and huge jumps reset. */
#include <stdint.h>

#include "harness.h"
#include "rtp/nack_tracker.h"

static int test_tracker_gap_and_retry(void)
{
    struct nack_tracker *t;
    struct nack_tracker_config cfg = {.max_retries = 3, .retry_interval_us = 20000};
    struct nack_tracker_stats st;
    uint16_t out[16];
    CHECK_EQ(nack_tracker_new(&t, &cfg), 0);
    nack_tracker_on_packet(t, 65533, 0);
    nack_tracker_on_packet(t, 65534, 1000);
    CHECK_EQ(nack_tracker_collect(t, 1000, out, 16), 0);
    /* 65535, 0 and 1 missing, across the wrap. */
    nack_tracker_on_packet(t, 2, 2000);
    CHECK_EQ(nack_tracker_pending(t), 3);
    CHECK_EQ(nack_tracker_collect(t, 3000, out, 16), 3);
    CHECK_EQ(out[0], 65535);
    CHECK_EQ(out[1], 0);
    CHECK_EQ(out[2], 1);
    /* Not again before the interval. */
    CHECK_EQ(nack_tracker_collect(t, 22999, out, 16), 0);
    /* 0 is retransmitted: recovered, never asked for again. */
    nack_tracker_on_packet(t, 0, 10000);
    CHECK_EQ(nack_tracker_collect(t, 23000, out, 16), 2);
    CHECK_EQ(out[0], 65535);
    CHECK_EQ(out[1], 1);
    CHECK_EQ(nack_tracker_collect(t, 43000, out, 16), 2);
    /* Three NACKs each: given up once the third had its interval. */
    CHECK_EQ(nack_tracker_collect(t, 62999, out, 16), 0);
    CHECK_EQ(nack_tracker_pending(t), 2);
    CHECK_EQ(nack_tracker_collect(t, 63000, out, 16), 0);
    CHECK_EQ(nack_tracker_pending(t), 0);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.nacked, 3 + 2 + 2);
    CHECK_EQ(st.recovered, 1);
    CHECK_EQ(st.given_up, 2);
    /* A late retransmission after giving up changes nothing. */
    nack_tracker_on_packet(t, 1, 70000);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.recovered, 1);
    nack_tracker_free(t);
    nack_tracker_free(NULL);
    return 0;
}

static int test_tracker_reorder_age_limit(void)
{
    struct nack_tracker *t;
    struct nack_tracker_config cfg = {.max_age_us = 100000};
    struct nack_tracker_stats st;
    uint16_t out[4];
    CHECK_EQ(nack_tracker_new(&t, &cfg), 0);
    nack_tracker_on_packet(t, 10, 0);
    nack_tracker_on_packet(t, 12, 0);
    /* 11 was only reordered: cleared before any NACK. */
    nack_tracker_on_packet(t, 11, 500);
    CHECK_EQ(nack_tracker_collect(t, 1000, out, 4), 0);
    nack_tracker_on_packet(t, 20, 1000); /* 13..19 missing */
    /* max limits one collect; the rest wait for the next. */
    CHECK_EQ(nack_tracker_collect(t, 2000, out, 4), 4);
    CHECK_EQ(out[0], 13);
    CHECK_EQ(out[3], 16);
    CHECK_EQ(nack_tracker_collect(t, 2000, out, 4), 3);
    CHECK_EQ(out[0], 17);
    CHECK_EQ(out[2], 19);
    /* Past max age (100 ms from when the gap was found), everything is given up. */
    CHECK_EQ(nack_tracker_collect(t, 101001, out, 4), 0);
    CHECK_EQ(nack_tracker_pending(t), 0);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.reordered, 1);
    CHECK_EQ(st.recovered, 0);
    CHECK_EQ(st.given_up, 7);
    nack_tracker_free(t);
    return 0;
}

static int test_tracker_jump_and_rtt(void)
{
    struct nack_tracker *t;
    struct nack_tracker_stats st;
    uint16_t out[8];
    CHECK_EQ(nack_tracker_new(&t, NULL), 0);
    nack_tracker_on_packet(t, 100, 0);
    nack_tracker_on_packet(t, 103, 0);
    CHECK_EQ(nack_tracker_pending(t), 2);
    /* A jump past the capacity: a reset, not thousands of NACKs. */
    nack_tracker_on_packet(t, 5000, 1000);
    CHECK_EQ(nack_tracker_pending(t), 0);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.resets, 1);
    nack_tracker_on_packet(t, 5002, 2000);
    CHECK_EQ(nack_tracker_collect(t, 2000, out, 8), 1);
    CHECK_EQ(out[0], 5001);
    /* With a 100 ms RTT, the default 20 ms spacing would only duplicate NACKs in flight. */
    nack_tracker_set_rtt(t, 100000);
    CHECK_EQ(nack_tracker_collect(t, 22000, out, 8), 0);
    CHECK_EQ(nack_tracker_collect(t, 102000, out, 8), 1);
    nack_tracker_set_rtt(t, 0);
    CHECK_EQ(nack_tracker_collect(t, 122000, out, 8), 1);
    /* The default ten retries, then given up. */
    for (uint64_t now = 142000; now < 400000; now += 20000)
        nack_tracker_collect(t, now, out, 8);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.nacked, 10);
    CHECK_EQ(st.given_up, 1);
    nack_tracker_free(t);
    return 0;
}

static int test_tracker_full(void)
{
    struct nack_tracker *t;
    struct nack_tracker_stats st;
    static uint16_t out[NACK_TRACKER_CAP];
    CHECK_EQ(nack_tracker_new(&t, NULL), 0);
    /* Repeated gaps of 100 fill the fixed storage; the oldest make way. */
    uint16_t seq = 0;
    nack_tracker_on_packet(t, seq, 0);
    for (int i = 0; i < 10; i++) {
        seq = (uint16_t)(seq + 101);
        nack_tracker_on_packet(t, seq, 0);
    }
    CHECK_EQ(nack_tracker_pending(t), NACK_TRACKER_CAP);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.given_up, 1000 - NACK_TRACKER_CAP);
    size_t n = nack_tracker_collect(t, 1000, out, NACK_TRACKER_CAP);
    CHECK_EQ(n, NACK_TRACKER_CAP);
    /* The newest 512 of the 1000 missing: the last gap's 100 are at the end. */
    CHECK_EQ(out[n - 1], seq - 1);
    CHECK_EQ(out[n - 100], seq - 100);
    nack_tracker_free(t);
    return 0;
}

/* A sender jumping by the largest gap on every packet: each jump's 511 missing packets push
 * out older ones in one step, the table stays full of the newest, nothing resets. */
static int test_tracker_max_gap_jumps(void)
{
    struct nack_tracker *t;
    struct nack_tracker_stats st;
    static uint16_t out[NACK_TRACKER_CAP];
    CHECK_EQ(nack_tracker_new(&t, NULL), 0);
    uint16_t seq = 0;
    nack_tracker_on_packet(t, seq, 0);
    for (int i = 0; i < 300; i++) {
        seq = (uint16_t)(seq + NACK_TRACKER_CAP);
        nack_tracker_on_packet(t, seq, 0);
    }
    CHECK_EQ(nack_tracker_pending(t), NACK_TRACKER_CAP);
    nack_tracker_stats_get(t, &st);
    CHECK_EQ(st.resets, 0);
    CHECK_EQ(st.given_up, 300 * (NACK_TRACKER_CAP - 1) - NACK_TRACKER_CAP);
    size_t n = nack_tracker_collect(t, 1000, out, NACK_TRACKER_CAP);
    CHECK_EQ(n, NACK_TRACKER_CAP);
    CHECK_EQ(out[n - 1], (uint16_t)(seq - 1));
    /* The last jump's 511, then the newest one of the jump before (skipping its end seq). */
    CHECK_EQ(out[0], (uint16_t)(seq - NACK_TRACKER_CAP - 1));
    nack_tracker_free(t);
    return 0;
}

static const struct test_case cases[] = {
    {"tracker_gap_and_retry", test_tracker_gap_and_retry},
    {"tracker_reorder_age_limit", test_tracker_reorder_age_limit},
    {"tracker_jump_and_rtt", test_tracker_jump_and_rtt},
    {"tracker_full", test_tracker_full},
    {"tracker_max_gap_jumps", test_tracker_max_gap_jumps},
};

TEST_MAIN(cases)
