/* The load tester's per-packet accounting: one-way forwarding delay (a log-linear histogram),
 * exact loss per (receiver, stream) inside a measurement window, RFC 3550 interarrival jitter and
 * packet/byte counters, from the lt_stamp trailer every packet carries.
 *
 * Threads, lock-free: the sender thread(s) write only the sent-side state of the streams they
 * send (lt_stats_sent); each receiver's thread writes only its own struct lt_rx
 * (lt_stats_rx_packet); the control thread adds receivers and subscriptions; any thread reads
 * (lt_stats_*_get), summing with relaxed atomic loads. Reads taken while packets flow are each
 * a moment's value of every counter, not one instant of the whole.
 *
 * How the driver counts loss, exactly and per packet:
 *  1. lt_stats_new, then lt_stats_rx_add for every receiving person and lt_stats_subscribe for
 *     every (receiver, stream id) it will be sent; stream ids are the driver's, 0..max_streams-1,
 *     the id it puts in the trailer.
 *  2. lt_stats_window_set(start, end) once, before any packet stamped at or after start is sent
 *     (pick start in the future: after everyone joined and a warm-up).
 *  3. The sender calls lt_stats_sent with each packet's stamp: per stream it keeps the first and
 *     last index whose sent_ns is in [start, end]; the stream's packets are contiguous in index,
 *     so the stream's expected count is last - first + 1.
 *  4. A receiver counts each index once (duplicates dropped by a sliding bitmap) when its sent_ns
 *     is in [start, end], whenever it arrives: late and reordered packets count.
 *  5. After end plus a drain (longer than the worst delay you want to count as delivered, e.g.
 *     2 s), lt_stats_loss_get sums, over subscribed (receiver, stream) pairs, expected (the
 *     stream's window count) and received: lost = expected - received. */
#ifndef BENCH_LT_STATS_H
#define BENCH_LT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_stamp.h"

/* Limits. The hot path cannot fail, so past one it counts the packet in over_limit;
 * lt_stats_check turns that into an error naming the limit. */
#define LT_STATS_STREAMS_MAX   65536 /* max_streams: stream ids 0..max_streams-1 */
#define LT_STATS_RECEIVERS_MAX 65536
#define LT_RX_STREAMS_MAX      128 /* streams one receiver may receive */
/* Indices a packet may arrive behind the newest of its stream and still be told apart from a
 * duplicate (about 10 s of video): an older one is counted stale, not received. */
#define LT_RX_REORDER_WINDOW 1024

/* Delay histogram: 1 µs buckets below 1024 µs, then each power of two split in 64 (at most
 * 1.6 % wide, reported at the middle: within 0.8 %) up to 2^24 µs (16.7 s), then one overflow
 * bucket. */
#define LT_HIST_LINEAR   1024
#define LT_HIST_SUB      64
#define LT_HIST_OCTAVES  14 /* 2^10 .. 2^24 µs */
#define LT_HIST_OVERFLOW (LT_HIST_LINEAR + LT_HIST_OCTAVES * LT_HIST_SUB)
#define LT_HIST_BUCKETS  (LT_HIST_OVERFLOW + 1)
#define LT_HIST_TOP_US   (UINT64_C(1) << 24)

/* A histogram snapshot: plain memory, single-threaded; embed it or copy it. */
struct lt_hist {
    uint64_t count;
    uint64_t max_us; /* exact in lt_stats_hist_get; the interval form bounds it (lt_hist_diff) */
    uint64_t sum_us;
    uint64_t bucket[LT_HIST_BUCKETS];
};

void lt_hist_reset(struct lt_hist *h);
void lt_hist_add(struct lt_hist *h, uint64_t us);
void lt_hist_merge(struct lt_hist *dst, const struct lt_hist *src);
/* out = now - before, for the packets recorded between two snapshots of the same source (out may
 * be now). max_us becomes the top of the highest bucket that grew, capped by now's max. */
void lt_hist_diff(struct lt_hist *out, const struct lt_hist *now, const struct lt_hist *before);
/* The delay at percentile p (0..100] in µs: exact below 1024 µs, else its bucket's middle (never
 * above max_us). 0 for an empty histogram. */
uint64_t lt_hist_percentile(const struct lt_hist *h, double p);
/* The bucket of a delay, and the lowest delay in a bucket: for tests and plots. */
size_t lt_hist_bucket(uint64_t us);
uint64_t lt_hist_bucket_low(size_t b);

struct lt_stats;
struct lt_rx;

/* For max_streams stream ids (0..max_streams-1) and at most max_receivers receivers. -EINVAL past
 * LT_STATS_STREAMS_MAX / LT_STATS_RECEIVERS_MAX or for 0, -ENOMEM. */
int lt_stats_new(struct lt_stats **out, unsigned max_streams, unsigned max_receivers);
/* Accepts NULL. No thread may be using it or its receivers. */
void lt_stats_free(struct lt_stats *s);

/* The loss window, in CLOCK_MONOTONIC ns, both ends included. Once per run, before any packet
 * stamped at or after start_ns is sent (the sender and the receivers must judge every packet
 * against the same window). -EINVAL if end < start, -EALREADY the second time. */
int lt_stats_window_set(struct lt_stats *s, uint64_t start_ns, uint64_t end_ns);

/* Control thread. A receiver whose struct lives until lt_stats_free; id is its number (0, 1, ...)
 * for lt_stats_rx_loss_get. -ENOSPC past max_receivers, -ENOMEM. */
int lt_stats_rx_add(struct lt_stats *s, struct lt_rx **out, unsigned *id);
/* Control thread: rx is sent stream, so the stream's window packets are expected there. Before
 * the window starts. -ERANGE for a stream id >= max_streams. */
int lt_stats_subscribe(struct lt_rx *rx, uint32_t stream);

/* Sender thread: one packet handed to the target, with the stamp it carries and its length (as
 * given to the send function). Once per index. Each call in the window is one packet expected
 * at every subscriber, so a packet the send function refused is either not counted here (not
 * expected) or counted (and then lost): the driver's choice. Called before the send, no
 * receiver can count a packet before it is expected (after is fine too: the drain settles it).
 * A stream's packets come from one thread at a time, in index order. Ids >= max_streams are
 * counted in over_limit. */
void lt_stats_sent(struct lt_stats *s, const struct lt_stamp *st, size_t len);

/* Receiver's thread: one received RTP packet (decrypted, trailer at its end). Reads
 * CLOCK_MONOTONIC once; no allocation, no lock. */
void lt_stats_rx_packet(struct lt_rx *rx, const uint8_t *pkt, size_t len);
/* The same with the arrival time given: for tests, and callers that already read the clock. */
void lt_stats_rx_packet_at(struct lt_rx *rx, const uint8_t *pkt, size_t len, uint64_t now_ns);
/* The same with the trailer already read (lt_stamp_get; NULL when the packet had none): for a
 * caller that counts one packet in several instances. */
void lt_stats_rx_stamp(struct lt_rx *rx, const struct lt_stamp *stamp, size_t len, uint64_t now_ns);

struct lt_stats_totals {
    uint64_t tx_packets, tx_bytes; /* lt_stats_sent, every stream */
    uint64_t rx_packets, rx_bytes; /* every packet receivers were given, errors included */
    uint64_t rx_unique;            /* counted once per (receiver, stream, index) */
    uint64_t rx_dups;              /* an index seen again */
    uint64_t rx_reordered;         /* arrived after a higher index of its stream (counted) */
    uint64_t rx_stale;             /* more than LT_RX_REORDER_WINDOW behind: not counted */
    uint64_t rx_errors;            /* trailer missing or malformed, or sent in the future */
    uint64_t rx_unsubscribed;      /* unique packets of a stream the receiver did not subscribe */
    uint64_t over_limit;           /* packets not accounted for, a limit being exceeded */
};
void lt_stats_totals_get(const struct lt_stats *s, struct lt_stats_totals *out);

/* Delays of every unique packet received (window false), or of those sent in the window (true),
 * summed over receivers. The per-second form: take one each second and lt_hist_diff them. */
void lt_stats_hist_get(const struct lt_stats *s, bool window, struct lt_hist *out);

struct lt_stats_loss {
    uint64_t expected; /* sum over subscribed (receiver, stream): the stream's window packets */
    uint64_t received; /* of those, received at least once */
    uint64_t lost;     /* expected - received */
    unsigned pairs;    /* subscribed (receiver, stream) pairs */
    unsigned lossy;    /* pairs that lost any */
};
/* Exact once the window has ended and drained (see the top of this file); before that it counts
 * what was sent so far. */
void lt_stats_loss_get(const struct lt_stats *s, struct lt_stats_loss *out);
/* One pair: -ENOENT if receiver id does not exist or does not subscribe to stream. */
int lt_stats_rx_loss_get(const struct lt_stats *s, unsigned rx_id, uint32_t stream,
                         uint64_t *expected, uint64_t *received);

/* The stream's window: how many of its packets were sent in it (0 if none) and the first. */
uint64_t lt_stats_window_sent(const struct lt_stats *s, uint32_t stream, uint32_t *first_index);

struct lt_stats_jitter {
    double mean_ms; /* over (receiver, stream) pairs with at least two packets */
    double max_ms;
    unsigned pairs;
};
/* RFC 3550 6.4.1 interarrival jitter of each (receiver, stream), with sent_ns as the sender's
 * clock, the current estimate. */
void lt_stats_jitter_get(const struct lt_stats *s, struct lt_stats_jitter *out);

/* 0, or -E2BIG with the limit that was exceeded named in err (a run whose numbers are not
 * whole). */
int lt_stats_check(const struct lt_stats *s, char *err, size_t errlen);

#endif
