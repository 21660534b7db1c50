/* The receiving side of transport-wide congestion control: records the arrival time of each
 * transport-wide sequence number and turns what is pending into transport-cc feedback packets
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01) for the sender's bandwidth estimator. */
#ifndef SFU_RTP_TWCC_H
#define SFU_RTP_TWCC_H

#include <stddef.h>
#include <stdint.h>

/* Packets that may be pending at once; older unreported ones are dropped when it overflows.
 * At 2000 packets/s and feedback every 100 ms this is twenty times what is needed. */
#define TWCC_RECORDER_RING 4096

struct twcc_recorder_stats {
    uint64_t recorded;
    uint64_t duplicates; /* same seq again while pending: first arrival kept */
    uint64_t late;       /* seq already reported in feedback: ignored */
    uint64_t overflowed; /* pending seqs pushed out of the ring before any feedback */
    uint64_t feedbacks;
};

struct twcc_recorder;

/* Makes an empty recorder (its ring is allocated now, never per packet). 0 or -ENOMEM. */
int twcc_recorder_new(struct twcc_recorder **out);
/* Accepts NULL. */
void twcc_recorder_free(struct twcc_recorder *rec);

/* Records that the packet with transport-wide sequence number seq arrived at arrival_us
 * (monotonic). Handles the 16-bit wrap (seqs are unwrapped against the highest seen),
 * reordering within the ring, and duplicates. */
void twcc_recorder_on_packet(struct twcc_recorder *rec, uint16_t seq, uint64_t arrival_us);

/* Writes one transport-cc feedback packet into buf[0..cap) for the oldest pending packets and
 * sets *len; call again until *len is 0 to drain everything. A packet ends at a received
 * sequence number, and a new one starts where a receive delta would not fit in 16 bits (a gap
 * over 8 s) or where the next status would not fit in cap. Each packet carries the next value
 * of the recorder's 8-bit feedback count. Returns 0 (with *len 0 when nothing is pending) or
 * -ENOSPC when cap cannot hold even one packet's status (at least 32 bytes always does). */
int twcc_recorder_build(struct twcc_recorder *rec, uint32_t sender_ssrc, uint32_t media_ssrc,
                        uint8_t *buf, size_t cap, size_t *len);

void twcc_recorder_stats_get(const struct twcc_recorder *rec, struct twcc_recorder_stats *st);

#endif
