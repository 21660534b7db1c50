/* The load tester's per-packet accounting: histogram percentiles against known delays, exact loss
 * with reordering, duplicates and packets outside the window, RFC 3550 jitter, limits, and
 * receivers writing while a reader sums. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "lt_stats.h"

#define MS 1000000ull /* ns */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A minimal RTP packet with 40 payload bytes and the trailer; returns its length. */
static size_t pkt_make(uint8_t *buf, uint32_t stream, uint32_t index, uint64_t sent_ns)
{
    memset(buf, 0, 12 + 40);
    buf[0] = 0x80;
    buf[1] = 96;
    struct lt_stamp st = {.stream = stream, .index = index, .sent_ns = sent_ns};
    lt_stamp_put(buf + 52, &st);
    return 52 + LT_STAMP_LEN;
}

/* Sends (accounts) one packet and returns its length, the buffer filled for a receiver. */
static size_t pkt_send(struct lt_stats *s, uint8_t *buf, uint32_t stream, uint32_t index,
                       uint64_t sent_ns)
{
    size_t len = pkt_make(buf, stream, index, sent_ns);
    struct lt_stamp st = {.stream = stream, .index = index, .sent_ns = sent_ns};
    lt_stats_sent(s, &st, len);
    return len;
}

static int test_hist_buckets(void)
{
    /* Every delay falls in a bucket whose range holds it; below 1024 µs the bucket is exact, and
     * above it no bucket is wider than 1/64 of its low end. */
    for (uint64_t v = 0; v < (UINT64_C(1) << 24); v += 1 + v / 300) {
        size_t b = lt_hist_bucket(v);
        CHECK(b < LT_HIST_OVERFLOW);
        uint64_t lo = lt_hist_bucket_low(b), hi = lt_hist_bucket_low(b + 1);
        CHECK(lo <= v && v < hi);
        if (v < 1024)
            CHECK_EQ(hi - lo, 1);
        else
            CHECK((hi - lo) * 64 <= lo);
    }
    CHECK_EQ(lt_hist_bucket(UINT64_C(1) << 24), LT_HIST_OVERFLOW);
    CHECK_EQ(lt_hist_bucket(UINT64_MAX), LT_HIST_OVERFLOW);
    CHECK_EQ(lt_hist_bucket(1023), 1023);
    CHECK_EQ(lt_hist_bucket(1024), 1024);
    /* 10 s is inside the buckets, not in the overflow. */
    CHECK(lt_hist_bucket(10000000) < LT_HIST_OVERFLOW);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact percentile (nearest rank) of sorted values. */
static uint64_t exact_pct(const uint64_t *v, size_t n, double p)
{
    double r = p / 100.0 * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r)
        rank++;
    return v[rank ? rank - 1 : 0];
}

static int test_hist_percentiles(void)
{
    static struct lt_hist h;
    lt_hist_reset(&h);
    /* 1..1000 µs once each: all in 1 µs buckets, so exact. */
    for (uint64_t us = 1; us <= 1000; us++)
        lt_hist_add(&h, us);
    CHECK_EQ(h.count, 1000);
    CHECK_EQ(lt_hist_percentile(&h, 50), 500);
    CHECK_EQ(lt_hist_percentile(&h, 95), 950);
    CHECK_EQ(lt_hist_percentile(&h, 99), 990);
    CHECK_EQ(lt_hist_percentile(&h, 100), 1000);
    CHECK_EQ(h.max_us, 1000);

    /* Spread over 1 ms .. 10 s: each percentile within the bucket error (0.8 %) of the exact. */
    enum { N = 20000 };
    static uint64_t v[N];
    lt_hist_reset(&h);
    srand(7);
    for (size_t i = 0; i < N; i++) {
        /* Log-uniform, like a tail. */
        double e = 3.0 + 4.0 * (double)rand() / RAND_MAX;
        double x = 1.0;
        for (int k = 0; k < 7; k++)
            if (e >= 1)
                x *= 10, e -= 1;
        /* The fractional decade by interpolation is enough for a spread. */
        v[i] = (uint64_t)(x * (1.0 + 9.0 * e));
        lt_hist_add(&h, v[i]);
    }
    qsort(v, N, sizeof(v[0]), cmp_u64);
    const double ps[] = {1, 10, 50, 90, 95, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t want = exact_pct(v, N, ps[i]), got = lt_hist_percentile(&h, ps[i]);
        uint64_t d = got > want ? got - want : want - got;
        if (d * 1000 > want * 8) {
            fprintf(stderr, "p%.1f: %llu, exact %llu\n", ps[i], (unsigned long long)got,
                    (unsigned long long)want);
            return -1;
        }
    }
    CHECK_EQ(h.max_us, v[N - 1]);
    CHECK_EQ(lt_hist_percentile(&h, 100), v[N - 1]);

    /* Beyond the buckets: the overflow reports the max. */
    lt_hist_add(&h, 30000000);
    CHECK_EQ(lt_hist_percentile(&h, 100), 30000000);
    return 0;
}

static int test_hist_merge_diff(void)
{
    static struct lt_hist a, b, m, d;
    lt_hist_reset(&a);
    lt_hist_reset(&b);
    for (uint64_t us = 1; us <= 500; us++)
        lt_hist_add(&a, us);
    for (uint64_t us = 501; us <= 1000; us++)
        lt_hist_add(&b, us);
    m = a;
    lt_hist_merge(&m, &b);
    CHECK_EQ(m.count, 1000);
    CHECK_EQ(m.max_us, 1000);
    CHECK_EQ(lt_hist_percentile(&m, 50), 500);
    /* The interval between the snapshots a and m is b's packets. */
    lt_hist_diff(&d, &m, &a);
    CHECK_EQ(d.count, 500);
    CHECK_EQ(lt_hist_percentile(&d, 50), 750);
    CHECK_EQ(lt_hist_percentile(&d, 99), 995);
    CHECK_EQ(d.max_us, 1000);
    /* An interval of small delays after a large one: its max is bounded by its own buckets. */
    lt_hist_reset(&a);
    lt_hist_add(&a, 500000);
    m = a;
    lt_hist_add(&m, 100);
    lt_hist_diff(&d, &m, &a);
    CHECK_EQ(d.count, 1);
    CHECK_EQ(d.max_us, 100);
    CHECK_EQ(lt_hist_percentile(&d, 99), 100);
    return 0;
}

static int test_loss_exact(void)
{
    struct lt_stats *s;
    struct lt_rx *rx0, *rx1;
    unsigned id0, id1;
    uint8_t p[128];
    size_t len;
    CHECK_EQ(lt_stats_new(&s, 4, 2), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx0, &id0), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx1, &id1), 0);
    CHECK_EQ(id0, 0);
    CHECK_EQ(id1, 1);
    CHECK_EQ(lt_stats_subscribe(rx0, 0), 0);
    CHECK_EQ(lt_stats_subscribe(rx0, 1), 0);
    CHECK_EQ(lt_stats_subscribe(rx1, 0), 0);
    CHECK_EQ(lt_stats_subscribe(rx1, 3), 0); /* sent but never delivered: lost whole */
    /* rx1 does not subscribe to stream 1 but will get some: not expected, not loss. */
    const uint64_t t0 = 1000 * MS;
    CHECK_EQ(lt_stats_window_set(s, t0 + 1000 * MS, t0 + 2000 * MS), 0);
    CHECK_EQ(lt_stats_window_set(s, t0, t0 + 1), -EALREADY);

    /* Stream 0 every 10 ms, stream 1 every 10 ms 5 ms later; indices 0..299. Inside the window
     * (both ends included): stream 0's 100..200 (101 packets), stream 1's 100..199 (100). */
    for (uint32_t i = 0; i < 300; i++) {
        uint64_t sent0 = t0 + i * 10 * MS, sent1 = sent0 + 5 * MS;
        uint64_t arrive0 = sent0 + 2 * MS, arrive1 = sent1 + 3 * MS;
        /* rx0, stream 0: 150 and 151 lost, 120 twice, 130 arrives after 135. */
        len = pkt_send(s, p, 0, i, sent0);
        if (i != 150 && i != 151 && i != 130)
            lt_stats_rx_packet_at(rx0, p, len, arrive0);
        if (i == 120)
            lt_stats_rx_packet_at(rx0, p, len, arrive0 + MS);
        if (i == 135) {
            uint8_t q[128];
            size_t qlen = pkt_make(q, 0, 130, t0 + 130 * 10 * MS);
            lt_stats_rx_packet_at(rx0, q, qlen, arrive0);
        }
        /* rx1, stream 0: everything; 5 is lost, but outside the window. */
        if (i != 5)
            lt_stats_rx_packet_at(rx1, p, len, arrive0);
        /* Stream 1: 199 (the window's last) arrives last of all, long after the window. */
        len = pkt_send(s, p, 1, i, sent1);
        if (i != 199)
            lt_stats_rx_packet_at(rx0, p, len, arrive1);
        if (i < 10)
            lt_stats_rx_packet_at(rx1, p, len, arrive1);
    }
    len = pkt_make(p, 1, 199, t0 + 199 * 10 * MS + 5 * MS);
    lt_stats_rx_packet_at(rx0, p, len, t0 + 4000 * MS);
    for (uint32_t i = 0; i < 5; i++)
        pkt_send(s, p, 3, i, t0 + 1500 * MS + i);

    uint32_t first;
    CHECK_EQ(lt_stats_window_sent(s, 0, &first), 101);
    CHECK_EQ(first, 100);
    CHECK_EQ(lt_stats_window_sent(s, 1, &first), 100);
    CHECK_EQ(first, 100);
    CHECK_EQ(lt_stats_window_sent(s, 2, NULL), 0);

    uint64_t e, r;
    CHECK_EQ(lt_stats_rx_loss_get(s, 0, 0, &e, &r), 0);
    CHECK_EQ(e, 101);
    CHECK_EQ(r, 99);
    CHECK_EQ(lt_stats_rx_loss_get(s, 0, 1, &e, &r), 0);
    CHECK_EQ(e, 100);
    CHECK_EQ(r, 100);
    CHECK_EQ(lt_stats_rx_loss_get(s, 1, 0, &e, &r), 0);
    CHECK_EQ(e, 101);
    CHECK_EQ(r, 101);
    CHECK_EQ(lt_stats_rx_loss_get(s, 1, 1, &e, &r), -ENOENT);
    CHECK_EQ(lt_stats_rx_loss_get(s, 2, 0, &e, &r), -ENOENT);

    struct lt_stats_loss l;
    lt_stats_loss_get(s, &l);
    CHECK_EQ(l.pairs, 4);
    CHECK_EQ(l.expected, 302 + 5);
    CHECK_EQ(l.received, 300);
    CHECK_EQ(l.lost, 2 + 5);
    CHECK_EQ(l.lossy, 2);
    CHECK_EQ(lt_stats_rx_loss_get(s, 1, 3, &e, &r), 0);
    CHECK_EQ(e, 5);
    CHECK_EQ(r, 0);

    struct lt_stats_totals t;
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.tx_packets, 605);
    CHECK_EQ(t.tx_bytes, 605 * 72);
    /* rx0: 297 + 1 dup + 1 reordered of stream 0, 299 + 1 late of stream 1; rx1: 299 + 10. */
    CHECK_EQ(t.rx_packets, 299 + 300 + 309);
    CHECK_EQ(t.rx_bytes, t.rx_packets * 72);
    CHECK_EQ(t.rx_dups, 1);
    CHECK_EQ(t.rx_reordered, 2); /* 130 after 135, and stream 1's 199 after 299 */
    CHECK_EQ(t.rx_unique, 298 + 300 + 299 + 10);
    CHECK_EQ(t.rx_unsubscribed, 10);
    CHECK_EQ(t.rx_stale, 0);
    CHECK_EQ(t.rx_errors, 0);

    /* Delays: stream 0 at 2 ms (the dup not counted), stream 1 at 3 ms, the late one 2005 ms. */
    static struct lt_hist h;
    lt_stats_hist_get(s, false, &h);
    CHECK_EQ(h.count, t.rx_unique);
    CHECK_EQ(h.max_us, 2005000);
    lt_stats_hist_get(s, true, &h);
    CHECK_EQ(h.count, 99 + 100 + 101);
    uint64_t p50 = lt_hist_percentile(&h, 50);
    CHECK(p50 >= 2000 * 992 / 1000 && p50 <= 3000 * 1008 / 1000);

    /* A duplicate long after; a packet without a trailer, with a damaged one or with one from
     * the future is an error and counts nowhere else. */
    len = pkt_make(p, 0, 299, t0 + 299 * 10 * MS);
    lt_stats_rx_packet_at(rx1, p, len, t0 + 5000 * MS);
    len = pkt_make(p, 0, 400, t0 + 6000 * MS);
    lt_stats_rx_packet_at(rx1, p, len, t0 + 5000 * MS);
    len = pkt_make(p, 0, 401, t0);
    p[len - LT_STAMP_LEN] ^= 0xff; /* the magic */
    lt_stats_rx_packet_at(rx1, p, len, t0 + 5000 * MS);
    lt_stats_rx_packet_at(rx1, p, 20, t0 + 5000 * MS);
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.rx_errors, 3);
    CHECK_EQ(t.rx_dups, 2);
    CHECK_EQ(t.rx_unique, 298 + 300 + 299 + 10);
    lt_stats_loss_get(s, &l);
    CHECK_EQ(l.lost, 7);
    char err[256];
    CHECK_EQ(lt_stats_check(s, err, sizeof(err)), 0);
    lt_stats_free(s);
    return 0;
}

static int test_loss_stale_and_gaps(void)
{
    struct lt_stats *s;
    struct lt_rx *rx;
    uint8_t p[128];
    size_t len;
    CHECK_EQ(lt_stats_new(&s, 1, 1), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), 0);
    CHECK_EQ(lt_stats_subscribe(rx, 0), 0);
    CHECK_EQ(lt_stats_window_set(s, 0, UINT64_MAX), 0);
    /* 5000 packets; every 7th dropped, then a burst of the dropped ones re-sent late: the ones
     * within LT_RX_REORDER_WINDOW of the newest count, the older are stale. */
    enum { N = 5000 };
    for (uint32_t i = 0; i < N; i++) {
        len = pkt_send(s, p, 0, i, 1000 + i);
        if (i % 7)
            lt_stats_rx_packet_at(rx, p, len, 2000 + i);
    }
    unsigned late = 0, stale = 0;
    for (uint32_t i = 0; i < N; i += 7) {
        len = pkt_make(p, 0, i, 1000 + i);
        lt_stats_rx_packet_at(rx, p, len, 9000);
        if (N - 1 - i < LT_RX_REORDER_WINDOW)
            late++;
        else
            stale++;
    }
    /* And every packet again: all duplicates (or stale), none counted twice. */
    for (uint32_t i = N - LT_RX_REORDER_WINDOW + 1; i < N; i++) {
        len = pkt_make(p, 0, i, 1000 + i);
        lt_stats_rx_packet_at(rx, p, len, 9000);
    }
    struct lt_stats_totals t;
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.rx_stale, stale);
    CHECK_EQ(t.rx_reordered, late);
    CHECK_EQ(t.rx_dups, LT_RX_REORDER_WINDOW - 1);
    struct lt_stats_loss l;
    lt_stats_loss_get(s, &l);
    CHECK_EQ(l.expected, N);
    CHECK_EQ(l.lost, stale);
    /* A jump far ahead forgets the old bits: the packet a window behind the jump is new. */
    len = pkt_make(p, 0, N + 10 * LT_RX_REORDER_WINDOW, 1);
    lt_stats_rx_packet_at(rx, p, len, 9000);
    len = pkt_make(p, 0, N + 9 * LT_RX_REORDER_WINDOW + 1, 1);
    lt_stats_rx_packet_at(rx, p, len, 9000);
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.rx_reordered, late + 1);
    lt_stats_free(s);
    return 0;
}

/* RFC 3550 6.4.1 as written, in floating point: J += (|D| - J) / 16. */
static double rfc_jitter(const double *transit, size_t n)
{
    double j = 0;
    for (size_t i = 1; i < n; i++) {
        double d = transit[i] - transit[i - 1];
        j += ((d < 0 ? -d : d) - j) / 16;
    }
    return j;
}

static int test_jitter(void)
{
    struct lt_stats *s;
    struct lt_rx *rx;
    uint8_t p[128];
    size_t len;
    CHECK_EQ(lt_stats_new(&s, 2, 1), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), 0);
    struct lt_stats_jitter j;
    lt_stats_jitter_get(s, &j);
    CHECK_EQ(j.pairs, 0);
    /* Stream 0: a constant 4 ms delay. Stream 1: 1 ms, 3 ms, 1 ms, ... */
    enum { N = 200 };
    static double transit[N];
    for (uint32_t i = 0; i < N; i++) {
        uint64_t sent = 1000 * MS + i * 20 * MS;
        len = pkt_make(p, 0, i, sent);
        lt_stats_rx_packet_at(rx, p, len, sent + 4 * MS);
        uint64_t d = i % 2 ? 3 * MS : 1 * MS;
        len = pkt_make(p, 1, i, sent);
        lt_stats_rx_packet_at(rx, p, len, sent + d);
        transit[i] = (double)d / 1e6;
    }
    lt_stats_jitter_get(s, &j);
    CHECK_EQ(j.pairs, 2);
    double want = rfc_jitter(transit, N);
    /* After 200 steps of |D| = 2 ms the estimate has converged to 2 ms. */
    CHECK(want > 1.99 && want <= 2.0);
    /* Integer arithmetic in ns: within a few ns of the floating-point recurrence. */
    if (j.max_ms < want - 1e-5 || j.max_ms > want + 1e-5) {
        fprintf(stderr, "jitter %.9f ms, RFC 3550 %.9f ms\n", j.max_ms, want);
        return -1;
    }
    CHECK(j.mean_ms > want / 2 - 1e-5 && j.mean_ms < want / 2 + 1e-5); /* (0 + want) / 2 */

    /* Early on, before convergence, the same: 5 packets of stream 2's pattern on a new run. */
    lt_stats_free(s);
    CHECK_EQ(lt_stats_new(&s, 1, 1), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), 0);
    const double tr[] = {1, 3, 1, 3, 1};
    for (uint32_t i = 0; i < 5; i++) {
        uint64_t sent = 1000 * MS + i * 20 * MS;
        len = pkt_make(p, 0, i, sent);
        lt_stats_rx_packet_at(rx, p, len, sent + (uint64_t)tr[i] * MS);
    }
    lt_stats_jitter_get(s, &j);
    want = rfc_jitter(tr, 5); /* 2/16 + ... : 0.4839 ms */
    CHECK(j.max_ms > want - 1e-5 && j.max_ms < want + 1e-5);
    lt_stats_free(s);
    return 0;
}

static int test_limits(void)
{
    struct lt_stats *s;
    struct lt_rx *rx;
    uint8_t p[128];
    size_t len;
    char err[256];
    CHECK_EQ(lt_stats_new(&s, 0, 1), -EINVAL);
    CHECK_EQ(lt_stats_new(&s, LT_STATS_STREAMS_MAX + 1, 1), -EINVAL);
    CHECK_EQ(lt_stats_new(&s, LT_RX_STREAMS_MAX + 10, 1), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), 0);
    CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), -ENOSPC);
    CHECK_EQ(lt_stats_subscribe(rx, LT_RX_STREAMS_MAX + 10), -ERANGE);
    CHECK_EQ(lt_stats_window_set(s, 2, 1), -EINVAL);
    /* One receiver getting more streams than it has slots. */
    for (uint32_t k = 0; k < LT_RX_STREAMS_MAX + 2; k++) {
        len = pkt_make(p, k, 0, 1);
        lt_stats_rx_packet_at(rx, p, len, 2);
    }
    CHECK_EQ(lt_stats_check(s, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "LT_RX_STREAMS_MAX"));
    struct lt_stats_totals t;
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.rx_unique, LT_RX_STREAMS_MAX);
    CHECK_EQ(t.over_limit, 2);
    lt_stats_free(s);

    CHECK_EQ(lt_stats_new(&s, 2, 1), 0);
    struct lt_stamp st = {.stream = 2, .index = 0, .sent_ns = 1};
    lt_stats_sent(s, &st, 100);
    CHECK_EQ(lt_stats_check(s, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "stream id"));
    lt_stats_free(s);
    return 0;
}

/* One receiver getting as many streams as it may, with ids dense or a power of two apart: each
 * packet finds its own stream's slot again. */
static int test_many_streams(void)
{
    const uint32_t strides[] = {1, 3, 512};
    for (size_t k = 0; k < sizeof(strides) / sizeof(strides[0]); k++) {
        struct lt_stats *s;
        struct lt_rx *rx;
        uint8_t p[128];
        size_t len;
        CHECK_EQ(lt_stats_new(&s, LT_STATS_STREAMS_MAX, 1), 0);
        CHECK_EQ(lt_stats_rx_add(s, &rx, NULL), 0);
        CHECK_EQ(lt_stats_window_set(s, 0, UINT64_MAX), 0);
        for (uint32_t i = 0; i < 3; i++) {
            for (uint32_t st = 0; st < LT_RX_STREAMS_MAX; st++) {
                uint32_t id = st * strides[k];
                CHECK_EQ(lt_stats_subscribe(rx, id), 0);
                len = pkt_send(s, p, id, i, 10 + i);
                lt_stats_rx_packet_at(rx, p, len, 20 + i);
                if (st % 2) /* and a duplicate */
                    lt_stats_rx_packet_at(rx, p, len, 20 + i);
            }
        }
        struct lt_stats_totals t;
        lt_stats_totals_get(s, &t);
        CHECK_EQ(t.rx_unique, 3 * LT_RX_STREAMS_MAX);
        CHECK_EQ(t.rx_dups, 3 * LT_RX_STREAMS_MAX / 2);
        CHECK_EQ(t.over_limit, 0);
        struct lt_stats_loss l;
        lt_stats_loss_get(s, &l);
        CHECK_EQ(l.pairs, LT_RX_STREAMS_MAX);
        CHECK_EQ(l.expected, 3 * LT_RX_STREAMS_MAX);
        CHECK_EQ(l.lost, 0);
        uint64_t e, r;
        CHECK_EQ(lt_stats_rx_loss_get(s, 0, (LT_RX_STREAMS_MAX - 1) * strides[k], &e, &r), 0);
        CHECK_EQ(e, 3);
        CHECK_EQ(r, 3);
        struct lt_stats_jitter j;
        lt_stats_jitter_get(s, &j);
        CHECK_EQ(j.pairs, LT_RX_STREAMS_MAX);
        CHECK(j.max_ms == 0);
        lt_stats_free(s);
    }
    return 0;
}

/* Two receivers write while a reader sums: every total is exact at the end, and what the reader
 * saw never went backwards. */
enum { MT_PACKETS = 200000, MT_STREAMS = 8 };

struct mt_writer {
    struct lt_rx *rx;
    uint8_t (*pkts)[80];
    size_t len;
    int dup_every; /* each receiver also gets some duplicates */
};

struct mt_reader {
    struct lt_stats *s;
    atomic_int stop;
    int bad;
    unsigned reads;
};

static void *mt_write(void *arg)
{
    struct mt_writer *w = arg;
    for (size_t i = 0; i < MT_PACKETS; i++) {
        lt_stats_rx_packet(w->rx, w->pkts[i], w->len);
        if (i % (size_t)w->dup_every == 0)
            lt_stats_rx_packet(w->rx, w->pkts[i], w->len);
    }
    return NULL;
}

static void *mt_read(void *arg)
{
    struct mt_reader *r = arg;
    static struct lt_hist h;
    uint64_t last_rx = 0, last_hist = 0;
    while (!atomic_load(&r->stop)) {
        struct lt_stats_totals t;
        lt_stats_totals_get(r->s, &t);
        lt_stats_hist_get(r->s, false, &h);
        struct lt_stats_loss l;
        lt_stats_loss_get(r->s, &l);
        struct lt_stats_jitter j;
        lt_stats_jitter_get(r->s, &j);
        if (t.rx_packets < last_rx || h.count < last_hist || l.received > l.expected ||
            t.rx_unique > t.rx_packets)
            r->bad++;
        last_rx = t.rx_packets;
        last_hist = h.count;
        r->reads++;
    }
    return NULL;
}

static int test_threads(void)
{
    struct lt_stats *s;
    struct lt_rx *rx[2];
    static uint8_t pkts[MT_PACKETS][80];
    CHECK_EQ(lt_stats_new(&s, MT_STREAMS, 2), 0);
    for (int k = 0; k < 2; k++) {
        CHECK_EQ(lt_stats_rx_add(s, &rx[k], NULL), 0);
        for (uint32_t st = 0; st < MT_STREAMS; st++)
            CHECK_EQ(lt_stats_subscribe(rx[k], st), 0);
    }
    uint64_t t0 = now_ns();
    CHECK_EQ(lt_stats_window_set(s, t0, UINT64_MAX), 0);
    size_t len = 0;
    for (uint32_t i = 0; i < MT_PACKETS; i++)
        len = pkt_send(s, pkts[i], i % MT_STREAMS, i / MT_STREAMS, now_ns());

    struct mt_writer w[2] = {{rx[0], pkts, len, 100}, {rx[1], pkts, len, 7}};
    struct mt_reader r = {.s = s};
    pthread_t tw[2], tr;
    CHECK_EQ(pthread_create(&tr, NULL, mt_read, &r), 0);
    for (int k = 0; k < 2; k++)
        CHECK_EQ(pthread_create(&tw[k], NULL, mt_write, &w[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(tw[k], NULL);
    atomic_store(&r.stop, 1);
    pthread_join(tr, NULL);
    CHECK_EQ(r.bad, 0);
    CHECK(r.reads > 0);

    const uint64_t dups = MT_PACKETS / 100 + MT_PACKETS / 7 + 1; /* i = 0 in both */
    struct lt_stats_totals t;
    lt_stats_totals_get(s, &t);
    CHECK_EQ(t.tx_packets, MT_PACKETS);
    CHECK_EQ(t.rx_packets, 2 * MT_PACKETS + dups);
    CHECK_EQ(t.rx_bytes, t.rx_packets * len);
    CHECK_EQ(t.rx_unique, 2 * MT_PACKETS);
    CHECK_EQ(t.rx_dups, dups);
    CHECK_EQ(t.rx_errors, 0);
    static struct lt_hist h;
    lt_stats_hist_get(s, true, &h);
    CHECK_EQ(h.count, 2 * MT_PACKETS);
    struct lt_stats_loss l;
    lt_stats_loss_get(s, &l);
    CHECK_EQ(l.expected, 2 * MT_PACKETS);
    CHECK_EQ(l.lost, 0);
    CHECK_EQ(l.pairs, 2 * MT_STREAMS);
    lt_stats_free(s);
    return 0;
}

static const struct test_case cases[] = {
    {"hist_buckets", test_hist_buckets},
    {"hist_percentiles", test_hist_percentiles},
    {"hist_merge_diff", test_hist_merge_diff},
    {"loss_exact", test_loss_exact},
    {"loss_stale_and_gaps", test_loss_stale_and_gaps},
    {"jitter", test_jitter},
    {"limits", test_limits},
    {"many_streams", test_many_streams},
    {"threads", test_threads},
};

TEST_MAIN(cases)
