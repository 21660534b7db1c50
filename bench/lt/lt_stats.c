/* Per-packet accounting: the receivers' hot path (histogram, duplicate bitmap, jitter) written
 * by one thread each with relaxed atomics, and the sums the driver reads from any thread. */
#include "lt_stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The receiver's stream id -> slot map: open addressing, at most half full. */
#define RX_MAP_BITS 8
#define RX_MAP_SIZE (1u << RX_MAP_BITS)
_Static_assert(RX_MAP_SIZE >= 2 * LT_RX_STREAMS_MAX, "raise RX_MAP_BITS with LT_RX_STREAMS_MAX");

#define STATS_LINE 64 /* a cache line: writers on different threads never share one */

/* The live form of struct lt_hist: one writer (the receiver's thread), any readers. 32-bit
 * buckets are enough for one receiver (4e9 packets) and halve what a snapshot reads. */
struct rx_hist {
    _Atomic uint64_t sum_us;
    _Atomic uint64_t max_us;
    _Atomic uint32_t bucket[LT_HIST_BUCKETS];
};

/* One stream as one receiver gets it. The atomics are read by other threads; the rest belongs
 * to the receiver's thread alone. */
struct rx_stream {
    _Atomic uint64_t unique;       /* indices counted once */
    _Atomic uint64_t win_received; /* of those, sent in the window */
    _Atomic uint64_t dups, reordered, stale;
    _Atomic uint64_t jitter16_ns; /* RFC 3550's J scaled by 16, in ns */
    _Atomic uint64_t jitter_n;    /* transit differences it has seen */
    uint32_t stream;              /* set before the slot is published */
    uint32_t hi;                  /* the highest index seen */
    bool started;
    int64_t transit_ns;                       /* the last unique packet's arrival - sent */
    uint64_t seen[LT_RX_REORDER_WINDOW / 64]; /* bit i % W: index i seen, for i in (hi - W, hi] */
};

struct lt_rx {
    struct lt_stats *stats; /* borrowed */
    unsigned id;
    unsigned slots_cap;
    _Atomic unsigned nslots;
    _Atomic uint64_t packets, bytes, errors;
    _Atomic uint64_t over_stream_id; /* packets of a stream id >= max_streams */
    _Atomic uint64_t over_slots;     /* packets of a stream beyond slots_cap */
    _Atomic uint64_t *subscribed; /* owned; bitmap of stream ids, written by the control thread */
    struct rx_stream *slots;      /* owned; slots_cap */
    struct rx_hist hist[2];       /* every unique packet, those sent in the window */
    /* The receiver's thread alone: a direct array over every stream id would cost each
     * receiver max_streams entries (96 KiB in a big run) for the hundred it gets. */
    uint32_t map_key[RX_MAP_SIZE]; /* stream id + 1; 0: free */
    uint16_t map_slot[RX_MAP_SIZE];
};

/* Sent side of one stream, written by the thread that sends it. */
struct tx_stream {
    _Atomic uint64_t packets, bytes;
    _Atomic uint64_t win_count;
    _Atomic uint32_t win_first;
} __attribute__((aligned(STATS_LINE)));

struct lt_stats {
    unsigned max_streams, max_receivers;
    atomic_bool window_is_set;
    /* Until the window is set nothing is in it: start UINT64_MAX, end 0. */
    _Atomic uint64_t win_start, win_end;
    _Atomic uint64_t tx_over_stream_id; /* senders may be several threads: fetch_add */
    struct tx_stream *tx;               /* owned; max_streams */
    struct lt_rx **rx;                  /* owned; max_receivers, nrx of them made */
    _Atomic unsigned nrx;
};

/* A single writer's increment: a load and a store, no locked read-modify-write. */
static inline void stats_add(_Atomic uint64_t *a, uint64_t v)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static inline uint64_t stats_ld(const _Atomic uint64_t *a)
{
    return atomic_load_explicit((_Atomic uint64_t *)a, memory_order_relaxed);
}

static void *stats_calloc_aligned(size_t size)
{
    size = (size + STATS_LINE - 1) / STATS_LINE * STATS_LINE;
    void *p = aligned_alloc(STATS_LINE, size);
    if (p)
        memset(p, 0, size);
    return p;
}

/* --- histogram --- */

size_t lt_hist_bucket(uint64_t us)
{
    if (us < LT_HIST_LINEAR)
        return (size_t)us;
    if (us >= LT_HIST_TOP_US)
        return LT_HIST_OVERFLOW;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* 10 .. 23 */
    size_t sub = (size_t)(us >> (e - 6)) & (LT_HIST_SUB - 1);
    return LT_HIST_LINEAR + (size_t)(e - 10) * LT_HIST_SUB + sub;
}

uint64_t lt_hist_bucket_low(size_t b)
{
    if (b < LT_HIST_LINEAR)
        return b;
    if (b >= LT_HIST_OVERFLOW)
        return LT_HIST_TOP_US;
    size_t o = (b - LT_HIST_LINEAR) / LT_HIST_SUB, sub = (b - LT_HIST_LINEAR) % LT_HIST_SUB;
    return (uint64_t)(LT_HIST_SUB + sub) << (o + 10 - 6);
}

void lt_hist_reset(struct lt_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void lt_hist_add(struct lt_hist *h, uint64_t us)
{
    h->bucket[lt_hist_bucket(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void lt_hist_merge(struct lt_hist *dst, const struct lt_hist *src)
{
    for (size_t i = 0; i < LT_HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

void lt_hist_diff(struct lt_hist *out, const struct lt_hist *now, const struct lt_hist *before)
{
    uint64_t count = 0, max = 0;
    for (size_t i = 0; i < LT_HIST_BUCKETS; i++) {
        uint64_t d = now->bucket[i] - before->bucket[i];
        out->bucket[i] = d;
        count += d;
        if (d) {
            /* The interval's exact max is gone; the top of its highest bucket bounds it. */
            max = i < LT_HIST_LINEAR      ? i
                  : i >= LT_HIST_OVERFLOW ? now->max_us
                                          : lt_hist_bucket_low(i + 1) - 1;
        }
    }
    out->count = count;
    out->sum_us = now->sum_us - before->sum_us;
    out->max_us = max < now->max_us ? max : now->max_us;
}

uint64_t lt_hist_percentile(const struct lt_hist *h, double p)
{
    if (!h->count)
        return 0;
    double r = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t cum = 0;
    size_t b = 0;
    for (; b < LT_HIST_BUCKETS; b++) {
        cum += h->bucket[b];
        if (cum >= rank)
            break;
    }
    if (b >= LT_HIST_OVERFLOW)
        return h->max_us;
    uint64_t v = b < LT_HIST_LINEAR ? b : (lt_hist_bucket_low(b) + lt_hist_bucket_low(b + 1)) / 2;
    return v > h->max_us ? h->max_us : v;
}

static void rx_hist_add(struct rx_hist *h, uint64_t us)
{
    _Atomic uint32_t *b = &h->bucket[lt_hist_bucket(us)];
    atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    stats_add(&h->sum_us, us);
    if (us > atomic_load_explicit(&h->max_us, memory_order_relaxed))
        atomic_store_explicit(&h->max_us, us, memory_order_relaxed);
}

/* Adds a live histogram into a snapshot. The count is the buckets' sum, so that percentiles of
 * a snapshot taken mid-update stay consistent with its buckets. */
static void rx_hist_read(const struct rx_hist *h, struct lt_hist *out)
{
    for (size_t i = 0; i < LT_HIST_BUCKETS; i++) {
        uint64_t v = atomic_load_explicit((_Atomic uint32_t *)&h->bucket[i], memory_order_relaxed);
        out->bucket[i] += v;
        out->count += v;
    }
    out->sum_us += stats_ld(&h->sum_us);
    uint64_t m = stats_ld(&h->max_us);
    if (m > out->max_us)
        out->max_us = m;
}

/* --- the run --- */

int lt_stats_new(struct lt_stats **out, unsigned max_streams, unsigned max_receivers)
{
    if (!max_streams || max_streams > LT_STATS_STREAMS_MAX || !max_receivers ||
        max_receivers > LT_STATS_RECEIVERS_MAX)
        return -EINVAL;
    struct lt_stats *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->max_streams = max_streams;
    s->max_receivers = max_receivers;
    atomic_init(&s->win_start, UINT64_MAX);
    atomic_init(&s->win_end, 0);
    s->tx = stats_calloc_aligned(sizeof(*s->tx) * max_streams);
    s->rx = calloc(max_receivers, sizeof(*s->rx));
    if (!s->tx || !s->rx) {
        lt_stats_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

static void stats_rx_free(struct lt_rx *rx)
{
    if (!rx)
        return;
    free(rx->subscribed);
    free(rx->slots);
    free(rx);
}

void lt_stats_free(struct lt_stats *s)
{
    if (!s)
        return;
    unsigned n = atomic_load(&s->nrx);
    for (unsigned i = 0; i < n; i++)
        stats_rx_free(s->rx[i]);
    free(s->rx);
    free(s->tx);
    free(s);
}

int lt_stats_window_set(struct lt_stats *s, uint64_t start_ns, uint64_t end_ns)
{
    if (end_ns < start_ns)
        return -EINVAL;
    if (atomic_exchange(&s->window_is_set, true))
        return -EALREADY;
    /* End first, start last with release: whoever sees the new start sees the new end. */
    atomic_store_explicit(&s->win_end, end_ns, memory_order_relaxed);
    atomic_store_explicit(&s->win_start, start_ns, memory_order_release);
    return 0;
}

static inline bool stats_in_window(const struct lt_stats *s, uint64_t sent_ns)
{
    uint64_t start = atomic_load_explicit((_Atomic uint64_t *)&s->win_start, memory_order_acquire);
    return sent_ns >= start && sent_ns <= stats_ld(&s->win_end);
}

int lt_stats_rx_add(struct lt_stats *s, struct lt_rx **out, unsigned *id)
{
    unsigned n = atomic_load_explicit(&s->nrx, memory_order_relaxed);
    if (n >= s->max_receivers)
        return -ENOSPC;
    struct lt_rx *rx = stats_calloc_aligned(sizeof(*rx));
    if (!rx)
        return -ENOMEM;
    rx->stats = s;
    rx->id = n;
    rx->slots_cap = s->max_streams < LT_RX_STREAMS_MAX ? s->max_streams : LT_RX_STREAMS_MAX;
    rx->subscribed = calloc((s->max_streams + 63) / 64, sizeof(*rx->subscribed));
    rx->slots = calloc(rx->slots_cap, sizeof(*rx->slots));
    if (!rx->subscribed || !rx->slots) {
        stats_rx_free(rx);
        return -ENOMEM;
    }
    s->rx[n] = rx;
    /* Publishes the receiver, made, to readers on other threads. */
    atomic_store_explicit(&s->nrx, n + 1, memory_order_release);
    *out = rx;
    if (id)
        *id = n;
    return 0;
}

int lt_stats_subscribe(struct lt_rx *rx, uint32_t stream)
{
    if (stream >= rx->stats->max_streams)
        return -ERANGE;
    atomic_fetch_or_explicit(&rx->subscribed[stream / 64], UINT64_C(1) << (stream % 64),
                             memory_order_relaxed);
    return 0;
}

static bool rx_subscribes(const struct lt_rx *rx, uint32_t stream)
{
    uint64_t w = stats_ld(&rx->subscribed[stream / 64]);
    return w >> (stream % 64) & 1;
}

void lt_stats_sent(struct lt_stats *s, const struct lt_stamp *st, size_t len)
{
    if (st->stream >= s->max_streams) {
        atomic_fetch_add_explicit(&s->tx_over_stream_id, 1, memory_order_relaxed);
        return;
    }
    struct tx_stream *tx = &s->tx[st->stream];
    stats_add(&tx->packets, 1);
    stats_add(&tx->bytes, len);
    if (stats_in_window(s, st->sent_ns)) {
        /* Counting calls, not last - first + 1: an index the driver never sent is not
         * expected anywhere. */
        if (!stats_ld(&tx->win_count))
            atomic_store_explicit(&tx->win_first, st->index, memory_order_relaxed);
        stats_add(&tx->win_count, 1);
    }
}

/* --- the receiver's hot path --- */

enum rx_seen { RX_NEW, RX_REORDERED, RX_DUP, RX_STALE };

static inline void rx_bit_set(struct rx_stream *st, uint32_t i)
{
    i %= LT_RX_REORDER_WINDOW;
    st->seen[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline bool rx_bit_get(const struct rx_stream *st, uint32_t i)
{
    i %= LT_RX_REORDER_WINDOW;
    return st->seen[i / 64] >> (i % 64) & 1;
}

static enum rx_seen rx_seen_mark(struct rx_stream *st, uint32_t index)
{
    if (!st->started) {
        st->started = true;
        st->hi = index;
        rx_bit_set(st, index);
        return RX_NEW;
    }
    /* Differences mod 2^32: the index may wrap in a long run. */
    uint32_t ahead = index - st->hi;
    if (ahead && ahead < UINT32_C(1) << 31) {
        if (ahead >= LT_RX_REORDER_WINDOW) {
            memset(st->seen, 0, sizeof(st->seen));
        } else {
            /* The bits of the indices skipped over now stand for them, not for indices W older. */
            for (uint32_t i = st->hi + 1; i != index; i++) {
                uint32_t b = i % LT_RX_REORDER_WINDOW;
                st->seen[b / 64] &= ~(UINT64_C(1) << (b % 64));
            }
        }
        st->hi = index;
        rx_bit_set(st, index);
        return RX_NEW;
    }
    uint32_t behind = st->hi - index;
    if (behind >= LT_RX_REORDER_WINDOW)
        return RX_STALE;
    if (rx_bit_get(st, index))
        return RX_DUP;
    rx_bit_set(st, index);
    return RX_REORDERED;
}

static struct rx_stream *rx_stream_find(struct lt_rx *rx, uint32_t stream)
{
    /* Fibonacci hashing (the product's top bits): dense ids, as the driver's are, and ids a
     * power of two apart both spread over the cells. */
    uint32_t h = (stream * UINT32_C(2654435761)) >> (32 - RX_MAP_BITS);
    for (;; h = (h + 1) % RX_MAP_SIZE) {
        if (rx->map_key[h] == stream + 1)
            return &rx->slots[rx->map_slot[h]];
        if (!rx->map_key[h])
            break;
    }
    unsigned n = atomic_load_explicit(&rx->nslots, memory_order_relaxed);
    if (n >= rx->slots_cap)
        return NULL;
    struct rx_stream *st = &rx->slots[n];
    st->stream = stream;
    rx->map_key[h] = stream + 1;
    rx->map_slot[h] = (uint16_t)n;
    /* Release: a reader that counts the slot finds its stream id. */
    atomic_store_explicit(&rx->nslots, n + 1, memory_order_release);
    return st;
}

void lt_stats_rx_packet_at(struct lt_rx *rx, const uint8_t *pkt, size_t len, uint64_t now_ns)
{
    struct lt_stamp stamp;
    lt_stats_rx_stamp(rx, lt_stamp_get(pkt, len, &stamp) ? &stamp : NULL, len, now_ns);
}

void lt_stats_rx_stamp(struct lt_rx *rx, const struct lt_stamp *s, size_t len, uint64_t now_ns)
{
    stats_add(&rx->packets, 1);
    stats_add(&rx->bytes, len);
    if (!s || s->sent_ns > now_ns) {
        stats_add(&rx->errors, 1);
        return;
    }
    const struct lt_stamp stamp = *s;
    if (stamp.stream >= rx->stats->max_streams) {
        stats_add(&rx->over_stream_id, 1);
        return;
    }
    struct rx_stream *st = rx_stream_find(rx, stamp.stream);
    if (!st) {
        stats_add(&rx->over_slots, 1);
        return;
    }
    switch (rx_seen_mark(st, stamp.index)) {
    case RX_DUP:
        stats_add(&st->dups, 1);
        return;
    case RX_STALE:
        stats_add(&st->stale, 1);
        return;
    case RX_REORDERED:
        stats_add(&st->reordered, 1);
        break;
    case RX_NEW:
        break;
    }
    /* Release: after rx->packets (lt_stats_totals_get reads them in the other order). */
    atomic_store_explicit(&st->unique, stats_ld(&st->unique) + 1, memory_order_release);
    const uint64_t delay_ns = now_ns - stamp.sent_ns;
    const uint64_t us = delay_ns / 1000;
    rx_hist_add(&rx->hist[0], us);
    if (stats_in_window(rx->stats, stamp.sent_ns)) {
        stats_add(&st->win_received, 1);
        rx_hist_add(&rx->hist[1], us);
    }
    /* RFC 3550 A.8 in integers: J += (|D| - J) / 16, kept as 16 J so that the division does not
     * round away small steps. */
    const int64_t transit = (int64_t)delay_ns;
    if (stats_ld(&st->unique) > 1) {
        int64_t d = transit - st->transit_ns;
        uint64_t ad = (uint64_t)(d < 0 ? -d : d);
        uint64_t j16 = stats_ld(&st->jitter16_ns);
        j16 = j16 + ad - ((j16 + 8) >> 4);
        atomic_store_explicit(&st->jitter16_ns, j16, memory_order_relaxed);
        stats_add(&st->jitter_n, 1);
    }
    st->transit_ns = transit;
}

void lt_stats_rx_packet(struct lt_rx *rx, const uint8_t *pkt, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lt_stats_rx_packet_at(rx, pkt, len, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* --- readers --- */

static unsigned stats_nrx(const struct lt_stats *s)
{
    return atomic_load_explicit((_Atomic unsigned *)&s->nrx, memory_order_acquire);
}

static unsigned rx_nslots(const struct lt_rx *rx)
{
    return atomic_load_explicit((_Atomic unsigned *)&rx->nslots, memory_order_acquire);
}

void lt_stats_totals_get(const struct lt_stats *s, struct lt_stats_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < s->max_streams; i++) {
        out->tx_packets += stats_ld(&s->tx[i].packets);
        out->tx_bytes += stats_ld(&s->tx[i].bytes);
    }
    out->over_limit = stats_ld(&s->tx_over_stream_id);
    unsigned nrx = stats_nrx(s);
    for (unsigned r = 0; r < nrx; r++) {
        const struct lt_rx *rx = s->rx[r];
        /* The streams' counters first, then the packets: the receiver counts a packet before it
         * counts it unique, so read in this order the totals never show more unique packets than
         * packets, though they are not one snapshot. */
        unsigned n = rx_nslots(rx);
        for (unsigned k = 0; k < n; k++) {
            const struct rx_stream *st = &rx->slots[k];
            /* Acquire: pairs with the receiver's release, so its packets count, read below, is at
             * least what this unique count implies. */
            uint64_t u =
                atomic_load_explicit((_Atomic uint64_t *)&st->unique, memory_order_acquire);
            out->rx_unique += u;
            out->rx_dups += stats_ld(&st->dups);
            out->rx_reordered += stats_ld(&st->reordered);
            out->rx_stale += stats_ld(&st->stale);
            if (!rx_subscribes(rx, st->stream))
                out->rx_unsubscribed += u;
        }
        out->rx_packets += stats_ld(&rx->packets);
        out->rx_bytes += stats_ld(&rx->bytes);
        out->rx_errors += stats_ld(&rx->errors);
        out->over_limit += stats_ld(&rx->over_stream_id) + stats_ld(&rx->over_slots);
    }
}

void lt_stats_hist_get(const struct lt_stats *s, bool window, struct lt_hist *out)
{
    lt_hist_reset(out);
    unsigned nrx = stats_nrx(s);
    for (unsigned r = 0; r < nrx; r++)
        rx_hist_read(&s->rx[r]->hist[window ? 1 : 0], out);
}

uint64_t lt_stats_window_sent(const struct lt_stats *s, uint32_t stream, uint32_t *first_index)
{
    if (stream >= s->max_streams)
        return 0;
    uint64_t n = stats_ld(&s->tx[stream].win_count);
    if (first_index)
        *first_index = n ? atomic_load_explicit((_Atomic uint32_t *)&s->tx[stream].win_first,
                                                memory_order_relaxed)
                         : 0;
    return n;
}

static const struct rx_stream *rx_stream_lookup(const struct lt_rx *rx, uint32_t stream)
{
    unsigned n = rx_nslots(rx);
    for (unsigned k = 0; k < n; k++)
        if (rx->slots[k].stream == stream)
            return &rx->slots[k];
    return NULL;
}

/* A pair's received count. Above expected only while packets are in flight (a receiver counting
 * one before the sender's lt_stats_sent): after the drain it cannot be. */
static uint64_t rx_pair_received(const struct rx_stream *st, uint64_t expected)
{
    uint64_t got = st ? stats_ld(&st->win_received) : 0;
    return got < expected ? got : expected;
}

void lt_stats_loss_get(const struct lt_stats *s, struct lt_stats_loss *out)
{
    memset(out, 0, sizeof(*out));
    unsigned nrx = stats_nrx(s);
    for (unsigned r = 0; r < nrx; r++) {
        const struct lt_rx *rx = s->rx[r];
        /* Expected from the subscriptions, received from the streams that came: a subscribed
         * stream that never came is lost whole. */
        unsigned expecting = 0, came = 0;
        for (unsigned w = 0; w < (s->max_streams + 63) / 64; w++) {
            uint64_t bits = stats_ld(&rx->subscribed[w]);
            while (bits) {
                uint32_t stream = w * 64 + (uint32_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                uint64_t e = stats_ld(&s->tx[stream].win_count);
                out->expected += e;
                out->pairs++;
                expecting += e > 0;
            }
        }
        unsigned n = rx_nslots(rx);
        for (unsigned k = 0; k < n; k++) {
            const struct rx_stream *st = &rx->slots[k];
            if (!rx_subscribes(rx, st->stream))
                continue;
            uint64_t e = stats_ld(&s->tx[st->stream].win_count);
            uint64_t got = rx_pair_received(st, e);
            out->received += got;
            came += e > 0;
            out->lossy += got < e;
        }
        out->lossy += expecting - came;
    }
    out->lost = out->expected - out->received;
}

int lt_stats_rx_loss_get(const struct lt_stats *s, unsigned rx_id, uint32_t stream,
                         uint64_t *expected, uint64_t *received)
{
    if (rx_id >= stats_nrx(s) || stream >= s->max_streams || !rx_subscribes(s->rx[rx_id], stream))
        return -ENOENT;
    *expected = stats_ld(&s->tx[stream].win_count);
    *received = rx_pair_received(rx_stream_lookup(s->rx[rx_id], stream), *expected);
    return 0;
}

void lt_stats_jitter_get(const struct lt_stats *s, struct lt_stats_jitter *out)
{
    memset(out, 0, sizeof(*out));
    double sum = 0;
    unsigned nrx = stats_nrx(s);
    for (unsigned r = 0; r < nrx; r++) {
        const struct lt_rx *rx = s->rx[r];
        unsigned n = rx_nslots(rx);
        for (unsigned k = 0; k < n; k++) {
            const struct rx_stream *st = &rx->slots[k];
            if (!stats_ld(&st->jitter_n))
                continue;
            double ms = (double)stats_ld(&st->jitter16_ns) / 16.0 / 1e6;
            sum += ms;
            if (ms > out->max_ms)
                out->max_ms = ms;
            out->pairs++;
        }
    }
    out->mean_ms = out->pairs ? sum / out->pairs : 0;
}

int lt_stats_check(const struct lt_stats *s, char *err, size_t errlen)
{
    uint64_t tx_over = stats_ld(&s->tx_over_stream_id);
    if (tx_over) {
        snprintf(err, errlen,
                 "%llu packets sent with a stream id beyond the %u streams "
                 "lt_stats_new was given: not counted",
                 (unsigned long long)tx_over, s->max_streams);
        return -E2BIG;
    }
    unsigned nrx = stats_nrx(s);
    for (unsigned r = 0; r < nrx; r++) {
        const struct lt_rx *rx = s->rx[r];
        uint64_t ids = stats_ld(&rx->over_stream_id), slots = stats_ld(&rx->over_slots);
        if (ids) {
            snprintf(err, errlen,
                     "receiver %u got %llu packets with a stream id beyond the %u "
                     "streams lt_stats_new was given: not counted",
                     r, (unsigned long long)ids, s->max_streams);
            return -E2BIG;
        }
        if (slots) {
            snprintf(err, errlen,
                     "receiver %u got packets of more than %u streams "
                     "(LT_RX_STREAMS_MAX in lt_stats.h): %llu not counted",
                     r, rx->slots_cap, (unsigned long long)slots);
            return -E2BIG;
        }
    }
    return 0;
}
