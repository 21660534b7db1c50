/* Loss detection on a stream the SFU receives: finds sequence gaps and says which numbers to
 * NACK to the publisher and when, retrying a bounded number of times. */
#ifndef SFU_RTP_NACK_TRACKER_H
#define SFU_RTP_NACK_TRACKER_H

#include <stddef.h>
#include <stdint.h>

/* Missing packets tracked at once; a gap wider than this resets the tracker instead. */
#define NACK_TRACKER_CAP 512

/* Zero in any field picks the default shown. */
struct nack_tracker_config {
    uint32_t max_retries;       /* 10: NACKs sent per missing packet */
    uint64_t retry_interval_us; /* 20 ms: minimum spacing of NACKs for one packet */
    uint64_t max_age_us;        /* 1 s: give up on a packet missing this long */
    uint32_t max_gap;           /* NACK_TRACKER_CAP: a forward jump above this resets */
};

struct nack_tracker_stats {
    uint64_t nacked;    /* sequence numbers sent in NACKs, retries included */
    uint64_t recovered; /* missing packets that arrived after being NACKed */
    uint64_t reordered; /* missing packets that arrived before any NACK */
    uint64_t given_up;  /* out of retries or too old, or pushed out when full */
    uint64_t resets;    /* huge jumps */
};

struct nack_tracker;

/* Makes a tracker; cfg may be NULL for the defaults. 0 or -ENOMEM. */
int nack_tracker_new(struct nack_tracker **out, const struct nack_tracker_config *cfg);
/* Accepts NULL. */
void nack_tracker_free(struct nack_tracker *t);

/* Notes the arrival of seq at now_us: a forward gap adds each missing number (a jump over
 * max_gap forgets everything and starts over at seq); an older seq that was missing
 * (a retransmission or a late packet) is removed. */
void nack_tracker_on_packet(struct nack_tracker *t, uint16_t seq, uint64_t now_us);

/* Writes to out[0..max) the seqs to NACK at now_us, oldest first, in wrap-aware order (ready
 * for rtcp_write_nack), and returns how many. A seq is due when it was never NACKed or its
 * last NACK is at least the retry interval old; a seq NACKed max_retries times, or missing
 * longer than max_age_us, is given up. */
size_t nack_tracker_collect(struct nack_tracker *t, uint64_t now_us, uint16_t *out, size_t max);

/* Spaces retries by rtt_us when that is longer than the configured interval (a NACK answered
 * sooner than a round trip cannot have been answered yet). 0 returns to the interval. */
void nack_tracker_set_rtt(struct nack_tracker *t, uint64_t rtt_us);

/* Missing seqs currently tracked. */
size_t nack_tracker_pending(const struct nack_tracker *t);

void nack_tracker_stats_get(const struct nack_tracker *t, struct nack_tracker_stats *st);

#endif
