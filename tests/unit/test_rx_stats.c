/* Receive statistics on synthetic streams: extended seq across the wrap, loss and fraction
 * lost per report interval, jitter against the RFC 3550 A.8 formula computed independently,
 * LSR/DLSR, and restart after a big jump. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "rtp/rx_stats.h"

static int test_rx_loss(void)
{
    struct rx_stats s;
    struct rtcp_report_block rb;
    rx_stats_init(&s, 0xabc, 90000);
    /* 65530..13 (20 seqs across the wrap), 65533, 2 and 3 lost. */
    uint64_t t = 1000000;
    uint32_t ts = 0;
    for (uint32_t i = 0; i < 20; i++) {
        uint16_t seq = (uint16_t)(65530 + i);
        t += 20000;
        ts += 1800;
        if (seq == 65533 || seq == 2 || seq == 3)
            continue;
        CHECK_EQ(rx_stats_on_packet(&s, seq, ts, t), 0);
    }
    CHECK_EQ(rx_stats_ext_highest(&s), 65536 + 13);
    CHECK_EQ(rx_stats_expected(&s), 20);
    CHECK_EQ(rx_stats_lost(&s), 3);
    rx_stats_fill_report_block(&s, t, &rb);
    CHECK_EQ(rb.ssrc, 0xabc);
    CHECK_EQ(rb.ext_highest_seq, 65549);
    CHECK_EQ(rb.cumulative_lost, 3);
    CHECK_EQ(rb.fraction_lost, 3 * 256 / 20);
    CHECK_EQ(rb.lsr, 0);
    CHECK_EQ(rb.dlsr, 0);

    /* The next interval: 14..23 with 15 and 20 lost, and 16 arriving after 17. */
    const uint16_t order[] = {14, 17, 16, 18, 19, 21, 22, 23};
    for (size_t i = 0; i < 8; i++)
        CHECK_EQ(rx_stats_on_packet(&s, order[i], ts, t), 0);
    rx_stats_fill_report_block(&s, t, &rb);
    CHECK_EQ(rb.ext_highest_seq, 65536 + 23);
    CHECK_EQ(rb.cumulative_lost, 5);
    CHECK_EQ(rb.fraction_lost, 2 * 256 / 10);

    /* An interval with nothing new reports no loss; one with duplicates only, none either. */
    rx_stats_fill_report_block(&s, t, &rb);
    CHECK_EQ(rb.fraction_lost, 0);
    CHECK_EQ(rx_stats_on_packet(&s, 23, ts, t), 0);
    CHECK_EQ(rx_stats_on_packet(&s, 22, ts, t), 0);
    rx_stats_fill_report_block(&s, t, &rb);
    CHECK_EQ(rb.fraction_lost, 0);
    CHECK_EQ(rb.cumulative_lost, 3); /* two duplicates offset two losses, as A.3 says */

    /* A jump of 5000: not believed at once, then a restart when the next follows it. */
    CHECK_EQ(rx_stats_on_packet(&s, 5023, ts, t), -ERANGE);
    CHECK_EQ(rx_stats_ext_highest(&s), 65536 + 23);
    CHECK_EQ(rx_stats_on_packet(&s, 5024, ts, t), 0);
    CHECK_EQ(rx_stats_ext_highest(&s), 5024);
    CHECK_EQ(rx_stats_expected(&s), 1);
    CHECK_EQ(rx_stats_lost(&s), 0);
    return 0;
}

static int test_rx_all_lost_interval(void)
{
    struct rx_stats s;
    struct rtcp_report_block rb;
    rx_stats_init(&s, 1, 48000);
    CHECK_EQ(rx_stats_on_packet(&s, 100, 0, 0), 0);
    rx_stats_fill_report_block(&s, 0, &rb);
    CHECK_EQ(rb.fraction_lost, 0);
    /* 101..109 lost, 110 received: 9 of 10 lost. */
    CHECK_EQ(rx_stats_on_packet(&s, 110, 0, 0), 0);
    rx_stats_fill_report_block(&s, 0, &rb);
    CHECK_EQ(rb.fraction_lost, 9 * 256 / 10);
    CHECK_EQ(rb.cumulative_lost, 9);
    return 0;
}

static int test_rx_jitter(void)
{
    struct rx_stats s;
    rx_stats_init(&s, 1, 90000);
    /* No network jitter: constant transit, zero jitter. */
    for (uint32_t i = 0; i < 50; i++)
        CHECK_EQ(rx_stats_on_packet(&s, (uint16_t)i, 1000 + i * 3000, 7000000 + i * 33333), 0);
    CHECK(rx_stats_jitter(&s) <= 1); /* 33333 us is 2999.97 ticks: rounding only */

    /* Every other packet 2 ms late (180 ticks): the first step is |D|/16. */
    rx_stats_init(&s, 1, 90000);
    CHECK_EQ(rx_stats_on_packet(&s, 0, 0, 1000000), 0);
    CHECK_EQ(rx_stats_on_packet(&s, 1, 1800, 1020000 + 2000), 0);
    CHECK_EQ(rx_stats_jitter(&s), 180 / 16);

    /* A longer stream of pseudo-random delays against A.8 in floating point. */
    rx_stats_init(&s, 1, 90000);
    double j = 0, prev_transit = 0;
    uint32_t x = 99;
    for (uint32_t i = 0; i < 2000; i++) {
        x = x * 1664525u + 1013904223u;
        uint64_t delay_us = (x >> 12) % 30000;
        uint64_t arrival = 5000000 + (uint64_t)i * 20000 + delay_us;
        uint32_t ts = 0xfffff000u + i * 1800; /* the timestamp wraps too */
        CHECK_EQ(rx_stats_on_packet(&s, (uint16_t)(65000 + i), ts, arrival), 0);
        double transit = (double)(arrival * 90000 / 1000000) - (double)(i * 1800);
        if (i > 0)
            j += (fabs(transit - prev_transit) - j) / 16;
        prev_transit = transit;
    }
    /* 30 ms uniform delay: mean |D| ~ 10 ms ~ 900 ticks. */
    CHECK(j > 600 && j < 1200);
    CHECK(llabs((long long)rx_stats_jitter(&s) - (long long)j) <= 2);

    /* A retransmission carries an old timestamp; it must not read as delay. */
    uint32_t before = rx_stats_jitter(&s);
    CHECK_EQ(rx_stats_on_packet(&s, (uint16_t)(65000 + 1990), 0, 50000000), 0);
    CHECK_EQ(rx_stats_jitter(&s), before);
    return 0;
}

static int test_rx_lsr_dlsr(void)
{
    struct rx_stats s;
    struct rtcp_report_block rb;
    rx_stats_init(&s, 1, 90000);
    CHECK_EQ(rx_stats_on_packet(&s, 1, 0, 0), 0);
    rx_stats_on_sr(&s, 0x0001020304050607ull, 1000000);
    rx_stats_fill_report_block(&s, 1500000, &rb);
    CHECK_EQ(rb.lsr, 0x02030405);
    CHECK_EQ(rb.dlsr, 32768); /* 0.5 s in 1/65536 s */
    rx_stats_fill_report_block(&s, 3250000, &rb);
    CHECK_EQ(rb.dlsr, 2 * 65536 + 16384);
    return 0;
}

static const struct test_case cases[] = {
    {"rx_loss", test_rx_loss},
    {"rx_all_lost_interval", test_rx_all_lost_interval},
    {"rx_jitter", test_rx_jitter},
    {"rx_lsr_dlsr", test_rx_lsr_dlsr},
};

TEST_MAIN(cases)
