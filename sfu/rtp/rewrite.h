/* What a consumer does to every packet it sends: build the outgoing RTP packet (SSRC, sequence,
 * timestamp, payload type, header extensions renumbered, MID and transport-wide sequence added,
 * RTX encapsulation), and keep sequence numbers and timestamps continuous across source switches.
 */
#ifndef SFU_RTP_REWRITE_H
#define SFU_RTP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

#define RTP_REWRITE_EXTRA_MAX 4
/* The marker value that keeps the input packet's marker bit. */
#define RTP_REWRITE_MARKER_KEEP (-1)

/* An extension element to add as given. */
struct rtp_ext_extra {
    uint8_t id;          /* 1..255; ids above 14 make the block two-byte */
    uint8_t len;         /* 0..255; 0 or above 16 makes the block two-byte */
    const uint8_t *data; /* borrowed: len bytes, for the call */
};

/* The rewrite settings of one consumer; the caller updates seq/ts/twcc_seq per packet and the
 * rest when its negotiation changes. Zero-initialise, then set what is used. */
struct rtp_rewrite {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint8_t pt; /* 0..127 */
    int marker; /* RTP_REWRITE_MARKER_KEEP, or 0 / 1 to force */
    /* Incoming extension id -> outgoing id; 0 drops the element. Used to drop RID/RRID and the
     * publisher's own MID and transport-wide sequence, and to renumber to the subscriber's ids. */
    uint8_t ext_map[256];
    uint8_t mid_id;  /* 0: no MID element */
    uint8_t mid_len; /* 1..255 */
    const char *mid; /* borrowed: the subscriber's MID, not NUL-terminated necessarily */
    uint8_t twcc_id; /* 0: no transport-wide sequence element */
    uint16_t twcc_seq;
    uint8_t n_extra; /* 0..RTP_REWRITE_EXTRA_MAX */
    struct rtp_ext_extra extra[RTP_REWRITE_EXTRA_MAX];
    bool rtx;         /* RFC 4588: payload starts with rtx_osn; seq/ssrc/pt are the RTX stream's */
    uint16_t rtx_osn; /* the original sequence number, as the subscriber saw it */
};

/* Builds into out the packet in with rw applied: the fixed header from rw (version 2, padding
 * bit clear, CSRCs copied), the input's extension elements whose ext_map entry is non-zero under
 * their new ids, then MID, transport-wide sequence and the extras (an input element mapped to an
 * id one of these uses is dropped: ours wins), the OSN if rw->rtx, then the payload. The input's
 * padding is not copied. The one-byte form is used when every element fits it (id 1..14, length
 * 1..16), the two-byte form otherwise; no element, no extension block. in must come from
 * rtp_view_parse and must not overlap out. Writes nothing past out + out_cap and assumes no room
 * beyond it. Returns the length written, -ENOSPC when it does not fit, or -EINVAL for settings
 * that cannot be encoded (an added element with id 0 or MID length 0, n_extra too large). */
int rtp_packet_rewrite(uint8_t *out, size_t out_cap, const struct rtp_view *in,
                       const struct rtp_rewrite *rw);

/* Sequence number and timestamp continuity for one outgoing stream fed by a succession of
 * sources (simulcast layers, a paused and resumed producer). Output = input + an offset that is
 * fixed at the first packet of each source segment so the output continues from the last. */
struct rtp_seq_rewriter {
    uint32_t clock_rate;
    bool started;        /* something was output */
    bool switch_pending; /* the next packet begins a segment */
    uint32_t src_ssrc;   /* the current segment's source */
    uint16_t seq_off;    /* out seq = in seq + seq_off (mod 2^16) */
    uint32_t ts_off;     /* out ts = in ts + ts_off (mod 2^32) */
    uint64_t base_ext;   /* extended input seq of the segment's first packet */
    uint64_t max_ext;    /* highest extended input seq of the segment */
    uint16_t last_seq;   /* highest output seq */
    uint32_t last_ts;    /* newest output ts */
    uint64_t last_us;    /* when last_ts was output */
};

/* Starts a rewriter; clock_rate is the RTP clock (90000 for video, 48000 for Opus). The first
 * packet ever maps to itself. */
void rtp_seq_rewriter_init(struct rtp_seq_rewriter *r, uint32_t clock_rate);

/* Maps one input packet. A packet from a new SSRC, or the first after rtp_seq_rewriter_switch,
 * starts a segment: out seq = last + 1, out ts = last ts + the wall time elapsed since it in
 * clock units (at least 1). Later packets of the segment, in order or not, go through the same
 * offsets, with 16-bit seq wrap unwrapped. Returns 0 with *out_seq and *out_ts set, or -EALREADY
 * for a packet older than its segment's first (reordered from before the switch: drop it). */
int rtp_seq_rewriter_map(struct rtp_seq_rewriter *r, uint32_t src_ssrc, uint16_t seq, uint32_t ts,
                         uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts);

/* Makes the next packet start a new segment even if its SSRC is unchanged (after pause/resume,
 * or when the source restarted its numbering). */
void rtp_seq_rewriter_switch(struct rtp_seq_rewriter *r);

#endif
