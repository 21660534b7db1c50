/* VP8 payload descriptor parsing and rewriting (RFC 7741 section 4.2). */
#include "rtp/vp8.h"

#include <errno.h>
#include <string.h>

#define PICID_MASK 0x7fff

int vp8_desc_parse(struct vp8_desc *d, const uint8_t *p, size_t len)
{
    memset(d, 0, sizeof(*d));
    if (len < 1)
        return -EBADMSG;
    d->x = (p[0] & 0x80) != 0;
    d->n = (p[0] & 0x20) != 0;
    d->s = (p[0] & 0x10) != 0;
    d->pid = p[0] & 0x07;
    size_t off = 1;
    if (d->x) {
        if (len < off + 1)
            return -EBADMSG;
        uint8_t ext = p[off++];
        d->has_picid = (ext & 0x80) != 0;
        d->has_tl0 = (ext & 0x40) != 0;
        d->has_tid = (ext & 0x20) != 0;
        d->has_keyidx = (ext & 0x10) != 0;
        if (d->has_picid) {
            if (len < off + 1)
                return -EBADMSG;
            d->picid_off = off;
            d->picid_15 = (p[off] & 0x80) != 0;
            if (d->picid_15) {
                if (len < off + 2)
                    return -EBADMSG;
                d->picid = (uint16_t)((p[off] & 0x7f) << 8 | p[off + 1]);
                off += 2;
            } else {
                d->picid = p[off] & 0x7f;
                off += 1;
            }
        }
        if (d->has_tl0) {
            if (len < off + 1)
                return -EBADMSG;
            d->tl0_off = off;
            d->tl0picidx = p[off++];
        }
        if (d->has_tid || d->has_keyidx) {
            if (len < off + 1)
                return -EBADMSG;
            d->tidkey_off = off;
            d->tid = p[off] >> 6;
            d->y = (p[off] & 0x20) != 0;
            d->keyidx = p[off] & 0x1f;
            off++;
        }
    }
    d->hdr_len = off;
    return 0;
}

bool vp8_is_keyframe(const uint8_t *payload, size_t len)
{
    struct vp8_desc d;
    if (vp8_desc_parse(&d, payload, len) < 0 || d.hdr_len >= len)
        return false;
    /* The P bit (inverse key frame flag) is the low bit of the frame tag, RFC 6386 9.1. */
    return d.s && d.pid == 0 && (payload[d.hdr_len] & 0x01) == 0;
}

void vp8_rewriter_init(struct vp8_rewriter *rw)
{
    memset(rw, 0, sizeof(*rw));
}

static uint16_t picid_map(struct vp8_rewriter *rw, const struct vp8_desc *d)
{
    uint16_t in;
    if (rw->picid_pending || !rw->picid_started) {
        in = d->picid;
        rw->picid_off = rw->picid_started ? (uint16_t)((rw->picid_out + 1 - in) & PICID_MASK) : 0;
        rw->picid_in = in;
        rw->picid_out = (uint16_t)((in + rw->picid_off) & PICID_MASK);
        rw->picid_started = true;
        rw->picid_pending = false;
        return rw->picid_out;
    }
    if (d->picid_15) {
        in = d->picid;
    } else {
        /* A 7-bit PictureID wraps every 128 pictures: place it in 15-bit space next to the
         * newest one seen so that the offset keeps working past its wrap. */
        int delta = (d->picid - rw->picid_in) & 0x7f;
        if (delta >= 64)
            delta -= 128;
        in = (uint16_t)((rw->picid_in + delta) & PICID_MASK);
    }
    uint16_t out = (uint16_t)((in + rw->picid_off) & PICID_MASK);
    uint16_t din = (uint16_t)((in - rw->picid_in) & PICID_MASK);
    if (din != 0 && din < 0x4000)
        rw->picid_in = in;
    uint16_t dout = (uint16_t)((out - rw->picid_out) & PICID_MASK);
    if (dout != 0 && dout < 0x4000)
        rw->picid_out = out;
    return out;
}

static uint8_t tl0_map(struct vp8_rewriter *rw, uint8_t in)
{
    if (rw->tl0_pending || !rw->tl0_started) {
        rw->tl0_off = rw->tl0_started ? (uint8_t)(rw->tl0_out + 1 - in) : 0;
        rw->tl0_started = true;
        rw->tl0_pending = false;
        rw->tl0_out = (uint8_t)(in + rw->tl0_off);
        return rw->tl0_out;
    }
    uint8_t out = (uint8_t)(in + rw->tl0_off);
    uint8_t dout = (uint8_t)(out - rw->tl0_out);
    if (dout != 0 && dout < 0x80)
        rw->tl0_out = out;
    return out;
}

int vp8_rewriter_rewrite(struct vp8_rewriter *rw, uint8_t *payload, size_t len, bool new_source)
{
    struct vp8_desc d;
    if (vp8_desc_parse(&d, payload, len) < 0)
        return -EBADMSG;
    if (new_source) {
        rw->picid_pending = true;
        rw->tl0_pending = true;
    }
    if (d.has_picid) {
        uint16_t out = picid_map(rw, &d);
        if (d.picid_15) {
            payload[d.picid_off] = (uint8_t)(0x80 | out >> 8);
            payload[d.picid_off + 1] = (uint8_t)out;
        } else {
            payload[d.picid_off] = (uint8_t)(out & 0x7f);
        }
    }
    if (d.has_tl0)
        payload[d.tl0_off] = tl0_map(rw, d.tl0picidx);
    return 0;
}
