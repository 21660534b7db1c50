/* RTP packet parsing (RFC 3550) into a view over borrowed bytes, header extensions (RFC 8285)
 * walked in place, in-place setters for the fixed header, and RTP/RTCP demux (RFC 5761). */
#ifndef SFU_RTP_RTP_H
#define SFU_RTP_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_MIN 12
/* The profile values of RFC 8285: one-byte elements, and two-byte elements (the low 4 bits of
 * the latter are "appbits" and carry no meaning for us). */
#define RTP_EXT_PROFILE_ONE_BYTE      0xBEDE
#define RTP_EXT_PROFILE_TWO_BYTE      0x1000
#define RTP_EXT_PROFILE_TWO_BYTE_MASK 0xFFF0

/* What rtp_view_parse found. Every offset and length was checked against the buffer, so a view
 * that parsed can be trusted as a whole; one that did not must not be read at all. */
struct rtp_view {
    const uint8_t *buf; /* borrowed: the packet, for as long as the view is used */
    size_t len;         /* whole packet, padding included */
    bool marker;
    uint8_t pt; /* payload type, 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_count;     /* CSRCs start at buf + 12 */
    size_t hdr_len;         /* fixed header + CSRCs + extension block: the payload offset */
    bool has_ext;           /* X bit */
    uint16_t ext_profile;   /* 0xBEDE, 0x100X or another profile (elements then opaque) */
    size_t ext_off;         /* offset of the extension data, after its 4-byte header */
    size_t ext_len;         /* bytes of extension data (a multiple of 4) */
    const uint8_t *payload; /* borrowed: buf + hdr_len */
    size_t payload_len;     /* without padding */
    uint8_t pad_len;        /* padding bytes at the end, the count byte included; 0 without P */
};

/* Parses an RTP packet. On success fills *v (which borrows buf) and returns 0. Rejects, with
 * -EBADMSG and *v left unspecified: a version other than 2, a buffer shorter than the header,
 * CSRC list or extension block it announces, a one-byte or two-byte extension element that runs
 * past its block, and padding that is zero or longer than what follows the header. */
int rtp_view_parse(struct rtp_view *v, const uint8_t *buf, size_t len);

/* Walks the elements of a one-byte or two-byte extension block. Padding bytes are skipped; in
 * the one-byte form, ID 15 (and ID 0 with a non-zero length) ends the walk as RFC 8285 says. */
struct rtp_ext_iter {
    const uint8_t *p;   /* borrowed: next element */
    const uint8_t *end; /* borrowed: end of the block */
    bool two_byte;
};

/* Starts a walk over v's extension elements; a view without extensions, or with a profile other
 * than the two of RFC 8285, yields no element. */
void rtp_ext_iter_init(struct rtp_ext_iter *it, const struct rtp_view *v);

/* Gives the next element: 1 with *id, *data (borrowed from the packet) and *len set, 0 at the
 * end, -EBADMSG if an element runs past the block (cannot happen for a view that parsed). */
int rtp_ext_iter_next(struct rtp_ext_iter *it, uint8_t *id, const uint8_t **data, size_t *len);

/* Finds the first element with this id. Returns 0 with *data (borrowed) and *len set, or
 * -ENOENT. */
int rtp_ext_find(const struct rtp_view *v, uint8_t id, const uint8_t **data, size_t *len);

/* In-place setters on the fixed header of a packet that parsed (buf holds at least 12 bytes).
 * They do not update a view over the same bytes. */
void rtp_seq_set(uint8_t *buf, uint16_t seq);
void rtp_ts_set(uint8_t *buf, uint32_t ts);
void rtp_ssrc_set(uint8_t *buf, uint32_t ssrc);
/* pt is masked to 7 bits; the marker bit is kept. */
void rtp_pt_set(uint8_t *buf, uint8_t pt);
void rtp_marker_set(uint8_t *buf, bool marker);

/* RFC 5761 demux of a packet already known to be RTP or RTCP (first byte 128..191): 1 when the
 * second byte is an RTCP packet type (192..223, which as marker + payload type is 64..95), 0
 * otherwise, 0 for fewer than 2 bytes or a version other than 2. */
int rtp_is_rtcp(const uint8_t *buf, size_t len);

#endif
