/* The VP8 RTP payload descriptor (RFC 7741): parsing, keyframe detection, and PictureID and
 * TL0PICIDX continuity when a consumer switches from one source (simulcast layer) to another. */
#ifndef SFU_RTP_VP8_H
#define SFU_RTP_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The descriptor's fields and where they are, as offsets from the start of the payload. */
struct vp8_desc {
    bool x;         /* extension byte present */
    bool n;         /* non-reference frame */
    bool s;         /* start of a VP8 partition */
    uint8_t pid;    /* partition index, 0..7 */
    bool has_picid; /* I */
    bool picid_15;  /* M: the PictureID field is 15 bits (2 bytes), else 7 (1 byte) */
    uint16_t picid;
    size_t picid_off;
    bool has_tl0; /* L */
    uint8_t tl0picidx;
    size_t tl0_off;
    bool has_tid;      /* T */
    bool has_keyidx;   /* K */
    uint8_t tid;       /* 0..3, meaningful with T */
    bool y;            /* layer sync, meaningful with T */
    uint8_t keyidx;    /* 0..31, meaningful with K */
    size_t tidkey_off; /* the TID/Y/KEYIDX byte, present with T or K */
    size_t hdr_len;    /* descriptor length: the VP8 payload starts here */
};

/* Parses the descriptor at the start of an RTP payload. Returns 0 with *d filled, or -EBADMSG
 * when the payload is shorter than the descriptor it announces. */
int vp8_desc_parse(struct vp8_desc *d, const uint8_t *payload, size_t len);

/* True when the packet starts a keyframe: S=1, partition 0, and the P bit of the VP8 payload
 * header (first byte after the descriptor) is 0. False for anything malformed. */
bool vp8_is_keyframe(const uint8_t *payload, size_t len);

/* Per outgoing stream state; zero it with vp8_rewriter_init. */
struct vp8_rewriter {
    bool picid_started; /* a PictureID was output */
    bool picid_pending; /* the next PictureID starts a new offset */
    uint16_t picid_off; /* out = in + off (mod 2^15) */
    uint16_t picid_in;  /* newest input PictureID of the source, 15-bit (7-bit ones unwrapped) */
    uint16_t picid_out; /* newest output PictureID, 15-bit */
    bool tl0_started;
    bool tl0_pending;
    uint8_t tl0_off; /* out = in + off (mod 2^8) */
    uint8_t tl0_out; /* newest output TL0PICIDX */
};

void vp8_rewriter_init(struct vp8_rewriter *rw);

/* Rewrites PictureID and TL0PICIDX of one packet in place. new_source says that this packet is
 * the first of a new source: its values then continue from the last output (+1); each field's
 * offset is fixed at the first packet that carries it. The field width the packet uses is kept
 * (a 7-bit field gets the low 7 bits); values wrap at 15 bits. The first source maps to itself.
 * Returns 0, or -EBADMSG for a malformed descriptor (the payload is then untouched). */
int vp8_rewriter_rewrite(struct vp8_rewriter *rw, uint8_t *payload, size_t len, bool new_source);

#endif
