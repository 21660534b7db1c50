/* Receive statistics of one incoming SSRC (RFC 3550 appendix A.1, A.3, A.8): extended
 * sequence numbers, loss, interarrival jitter, and the LSR/DLSR echo of the sender's last SR,
 * all to fill the report blocks the SFU sends to publishers. */
#ifndef SFU_RTP_RX_STATS_H
#define SFU_RTP_RX_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "rtp/rtcp.h"

/* Embedded in its owner (one per received SSRC); plain data, no allocation. */
struct rx_stats {
    uint32_t ssrc;
    uint32_t clock_rate;
    bool started;
    uint16_t max_seq;
    uint32_t cycles; /* shifted count of sequence number cycles */
    uint32_t base_seq;
    uint32_t bad_seq;
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    bool have_transit;
    uint32_t transit;
    uint32_t jitter_q4; /* jitter in timestamp units, times 16 (A.8) */
    bool have_sr;
    uint32_t last_sr;
    uint64_t last_sr_arrival_us;
};

/* Starts statistics for ssrc, whose RTP clock runs at clock_rate Hz (> 0, e.g. 90000). No
 * probation as in A.1: SRTP authentication has already shown the packets are genuine, and
 * probation would only leave the first packets uncounted. */
void rx_stats_init(struct rx_stats *s, uint32_t ssrc, uint32_t clock_rate);

/* Counts one packet that arrived at arrival_us (monotonic). Returns 0 when counted, or
 * -ERANGE when seq jumped too far (over 3000 ahead or 100 behind, A.1) to be trusted: the
 * packet is not counted, and a second packet that continues the jump restarts the
 * statistics at it. Jitter is updated only from packets that advance the highest seq, so a
 * retransmission's old timestamp does not read as delay. */
int rx_stats_on_packet(struct rx_stats *s, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us);

/* Notes a sender report (its 64-bit NTP time) received at arrival_us, for LSR/DLSR. */
void rx_stats_on_sr(struct rx_stats *s, uint64_t ntp, uint64_t arrival_us);

/* Extended highest sequence number, expected count and cumulative loss (A.3). */
uint32_t rx_stats_ext_highest(const struct rx_stats *s);
uint32_t rx_stats_expected(const struct rx_stats *s);
int64_t rx_stats_lost(const struct rx_stats *s);
/* Jitter in timestamp units. */
uint32_t rx_stats_jitter(const struct rx_stats *s);

/* Fills *rb for a receiver report sent at now_us: cumulative loss clamped to 24 bits, the
 * fraction lost since the previous call (which this call starts anew), jitter, LSR (the
 * middle 32 bits of the last SR's NTP time) and DLSR (the delay since it arrived, in units
 * of 1/65536 s), both 0 without an SR. */
void rx_stats_fill_report_block(struct rx_stats *s, uint64_t now_us, struct rtcp_report_block *rb);

#endif
