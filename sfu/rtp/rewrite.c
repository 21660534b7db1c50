/* Outgoing packet construction and seq/ts continuity for consumers: the per-packet hot path, so
 * no allocation, two short passes over the extension elements and one copy of the payload. */
#include "rtp/rewrite.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

/* Element sizes in both forms, and whether all fit the one-byte form. */
struct ext_plan {
    size_t one_len;
    size_t two_len;
    bool fits_one;
};

static void plan_add(struct ext_plan *pl, uint8_t id, size_t len)
{
    pl->one_len += 1 + len;
    pl->two_len += 2 + len;
    if (id > 14 || len < 1 || len > 16)
        pl->fits_one = false;
}

/* An input element renumbered onto an id we add ourselves would appear twice; ours wins. */
static bool id_is_added(const struct rtp_rewrite *rw, uint8_t id)
{
    if (id == rw->mid_id || id == rw->twcc_id)
        return true;
    for (uint8_t i = 0; i < rw->n_extra; i++) {
        if (rw->extra[i].id == id)
            return true;
    }
    return false;
}

static uint8_t *elem_put(uint8_t *p, bool two_byte, uint8_t id, const uint8_t *data, size_t len)
{
    if (two_byte) {
        *p++ = id;
        *p++ = (uint8_t)len;
    } else {
        *p++ = (uint8_t)(id << 4 | (len - 1));
    }
    if (len)
        memcpy(p, data, len);
    return p + len;
}

static int check_settings(const struct rtp_rewrite *rw)
{
    if (rw->pt > 127 || rw->n_extra > RTP_REWRITE_EXTRA_MAX)
        return -EINVAL;
    if (rw->mid_id && (rw->mid_len == 0 || !rw->mid))
        return -EINVAL;
    for (uint8_t i = 0; i < rw->n_extra; i++) {
        if (rw->extra[i].id == 0 || (rw->extra[i].len && !rw->extra[i].data))
            return -EINVAL;
    }
    return 0;
}

int rtp_packet_rewrite(uint8_t *out, size_t out_cap, const struct rtp_view *in,
                       const struct rtp_rewrite *rw)
{
    int err = check_settings(rw);
    if (err)
        return err;

    struct ext_plan pl = {0, 0, true};
    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    rtp_ext_iter_init(&it, in);
    while (rtp_ext_iter_next(&it, &id, &d, &n) > 0) {
        uint8_t oid = rw->ext_map[id];
        if (oid && !id_is_added(rw, oid))
            plan_add(&pl, oid, n);
    }
    if (rw->mid_id)
        plan_add(&pl, rw->mid_id, rw->mid_len);
    if (rw->twcc_id)
        plan_add(&pl, rw->twcc_id, 2);
    for (uint8_t i = 0; i < rw->n_extra; i++)
        plan_add(&pl, rw->extra[i].id, rw->extra[i].len);

    bool two_byte = !pl.fits_one;
    size_t elems = two_byte ? pl.two_len : pl.one_len;
    size_t block = elems ? 4 + ((elems + 3) & ~(size_t)3) : 0;
    size_t csrc_len = (size_t)in->csrc_count * 4;
    size_t total = RTP_HDR_MIN + csrc_len + block + (rw->rtx ? 2 : 0) + in->payload_len;
    if (total > out_cap || block > 4 + 4 * (size_t)0xFFFF)
        return -ENOSPC;

    bool marker = rw->marker == RTP_REWRITE_MARKER_KEEP ? in->marker : rw->marker != 0;
    out[0] = (uint8_t)(0x80 | (block ? 0x10 : 0) | in->csrc_count);
    out[1] = (uint8_t)((marker ? 0x80 : 0) | rw->pt);
    be16_store(out + 2, rw->seq);
    be32_store(out + 4, rw->ts);
    be32_store(out + 8, rw->ssrc);
    memcpy(out + RTP_HDR_MIN, in->buf + RTP_HDR_MIN, csrc_len);
    uint8_t *p = out + RTP_HDR_MIN + csrc_len;

    if (block) {
        be16_store(p, two_byte ? RTP_EXT_PROFILE_TWO_BYTE : RTP_EXT_PROFILE_ONE_BYTE);
        be16_store(p + 2, (uint16_t)((block - 4) / 4));
        uint8_t *e = p + 4;
        rtp_ext_iter_init(&it, in);
        while (rtp_ext_iter_next(&it, &id, &d, &n) > 0) {
            uint8_t oid = rw->ext_map[id];
            if (oid && !id_is_added(rw, oid))
                e = elem_put(e, two_byte, oid, d, n);
        }
        if (rw->mid_id)
            e = elem_put(e, two_byte, rw->mid_id, (const uint8_t *)rw->mid, rw->mid_len);
        if (rw->twcc_id) {
            uint8_t tw[2];
            be16_store(tw, rw->twcc_seq);
            e = elem_put(e, two_byte, rw->twcc_id, tw, 2);
        }
        for (uint8_t i = 0; i < rw->n_extra; i++)
            e = elem_put(e, two_byte, rw->extra[i].id, rw->extra[i].data, rw->extra[i].len);
        p += block;
        /* Zero padding up to the word boundary, as RFC 8285 allows in both forms. */
        memset(e, 0, (size_t)(p - e));
    }

    if (rw->rtx) {
        be16_store(p, rw->rtx_osn);
        p += 2;
    }
    if (in->payload_len)
        memcpy(p, in->payload, in->payload_len);
    return (int)total;
}

void rtp_seq_rewriter_init(struct rtp_seq_rewriter *r, uint32_t clock_rate)
{
    memset(r, 0, sizeof(*r));
    r->clock_rate = clock_rate;
}

void rtp_seq_rewriter_switch(struct rtp_seq_rewriter *r)
{
    r->switch_pending = true;
}

int rtp_seq_rewriter_map(struct rtp_seq_rewriter *r, uint32_t src_ssrc, uint16_t seq, uint32_t ts,
                         uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts)
{
    if (!r->started || r->switch_pending || src_ssrc != r->src_ssrc) {
        if (r->started) {
            uint64_t elapsed = now_us > r->last_us ? now_us - r->last_us : 0;
            uint32_t dts = (uint32_t)(elapsed * r->clock_rate / 1000000);
            /* Equal timestamps would merge the new source's first frame into the old last one. */
            if (dts == 0)
                dts = 1;
            r->seq_off = (uint16_t)(r->last_seq + 1 - seq);
            r->ts_off = r->last_ts + dts - ts;
        } else {
            r->seq_off = 0;
            r->ts_off = 0;
        }
        /* One cycle up, so that packets up to half a cycle older stay above zero. */
        r->base_ext = 0x10000 + (uint64_t)seq;
        r->max_ext = r->base_ext;
        r->src_ssrc = src_ssrc;
        r->switch_pending = false;
        r->started = true;
        r->last_seq = (uint16_t)(seq + r->seq_off);
        r->last_ts = ts + r->ts_off;
        r->last_us = now_us;
        *out_seq = r->last_seq;
        *out_ts = r->last_ts;
        return 0;
    }

    /* Unwrap against the highest seen: the nearer of the two directions (RFC 1982). */
    uint16_t du = (uint16_t)(seq - (uint16_t)r->max_ext);
    int64_t delta = du < 0x8000 ? (int64_t)du : (int64_t)du - 0x10000;
    uint64_t ext = (uint64_t)((int64_t)r->max_ext + delta);
    if (ext < r->base_ext)
        return -EALREADY;
    if (ext > r->max_ext)
        r->max_ext = ext;

    uint16_t os = (uint16_t)(seq + r->seq_off);
    uint32_t ot = ts + r->ts_off;
    uint16_t ds = (uint16_t)(os - r->last_seq);
    if (ds != 0 && ds < 0x8000)
        r->last_seq = os;
    uint32_t dt = ot - r->last_ts;
    if (dt != 0 && dt < 0x80000000u) {
        r->last_ts = ot;
        r->last_us = now_us;
    }
    *out_seq = os;
    *out_ts = ot;
    return 0;
}
