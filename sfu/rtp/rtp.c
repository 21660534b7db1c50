/* RTP header parsing with explicit shifts and bounds checks, extension walks, header setters. */
#include "rtp/rtp.h"

#include <errno.h>

#include "core/bytes.h"

static bool profile_is_one_byte(uint16_t profile)
{
    return profile == RTP_EXT_PROFILE_ONE_BYTE;
}

static bool profile_is_two_byte(uint16_t profile)
{
    return (profile & RTP_EXT_PROFILE_TWO_BYTE_MASK) == RTP_EXT_PROFILE_TWO_BYTE;
}

void rtp_ext_iter_init(struct rtp_ext_iter *it, const struct rtp_view *v)
{
    it->p = NULL;
    it->end = NULL;
    it->two_byte = false;
    if (!v->has_ext)
        return;
    if (!profile_is_one_byte(v->ext_profile) && !profile_is_two_byte(v->ext_profile))
        return;
    it->p = v->buf + v->ext_off;
    it->end = it->p + v->ext_len;
    it->two_byte = profile_is_two_byte(v->ext_profile);
}

int rtp_ext_iter_next(struct rtp_ext_iter *it, uint8_t *id, const uint8_t **data, size_t *len)
{
    while (it->p < it->end) {
        uint8_t b = it->p[0];
        if (b == 0) {
            /* A padding byte, allowed between elements in both forms. */
            it->p++;
            continue;
        }
        size_t n;
        uint8_t eid;
        const uint8_t *d;
        if (it->two_byte) {
            if (it->end - it->p < 2)
                return -EBADMSG;
            eid = b;
            n = it->p[1];
            d = it->p + 2;
        } else {
            eid = b >> 4;
            n = (size_t)(b & 0x0f) + 1;
            /* ID 15 is reserved and stops processing; ID 0 is only valid as a zero padding
             * byte, so one with a length is treated the same way rather than guessed at. */
            if (eid == 15 || eid == 0) {
                it->p = it->end;
                return 0;
            }
            d = it->p + 1;
        }
        if ((size_t)(it->end - d) < n)
            return -EBADMSG;
        it->p = d + n;
        *id = eid;
        *data = d;
        *len = n;
        return 1;
    }
    return 0;
}

int rtp_view_parse(struct rtp_view *v, const uint8_t *buf, size_t len)
{
    if (len < RTP_HDR_MIN)
        return -EBADMSG;
    uint8_t b0 = buf[0];
    if (b0 >> 6 != 2)
        return -EBADMSG;
    bool padding = (b0 & 0x20) != 0;
    v->has_ext = (b0 & 0x10) != 0;
    v->csrc_count = b0 & 0x0f;
    v->marker = (buf[1] & 0x80) != 0;
    v->pt = buf[1] & 0x7f;
    v->seq = be16_load(buf + 2);
    v->ts = be32_load(buf + 4);
    v->ssrc = be32_load(buf + 8);

    size_t off = RTP_HDR_MIN + (size_t)v->csrc_count * 4;
    if (off > len)
        return -EBADMSG;
    v->ext_profile = 0;
    v->ext_off = 0;
    v->ext_len = 0;
    if (v->has_ext) {
        if (len - off < 4)
            return -EBADMSG;
        v->ext_profile = be16_load(buf + off);
        size_t ext_len = (size_t)be16_load(buf + off + 2) * 4;
        off += 4;
        if (len - off < ext_len)
            return -EBADMSG;
        v->ext_off = off;
        v->ext_len = ext_len;
        off += ext_len;
    }
    v->hdr_len = off;

    v->pad_len = 0;
    if (padding) {
        /* The count includes itself, so zero is malformed; it must not reach into the header. */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > len - off)
            return -EBADMSG;
        v->pad_len = pad;
    }
    v->buf = buf;
    v->len = len;
    v->payload = buf + off;
    v->payload_len = len - off - v->pad_len;

    /* Walk the elements once now so that no later reader meets a malformed one. */
    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    int r;
    rtp_ext_iter_init(&it, v);
    while ((r = rtp_ext_iter_next(&it, &id, &d, &n)) > 0)
        ;
    return r < 0 ? -EBADMSG : 0;
}

int rtp_ext_find(const struct rtp_view *v, uint8_t id, const uint8_t **data, size_t *len)
{
    struct rtp_ext_iter it;
    uint8_t eid;
    const uint8_t *d;
    size_t n;
    rtp_ext_iter_init(&it, v);
    while (rtp_ext_iter_next(&it, &eid, &d, &n) > 0) {
        if (eid == id) {
            *data = d;
            *len = n;
            return 0;
        }
    }
    return -ENOENT;
}

void rtp_seq_set(uint8_t *buf, uint16_t seq)
{
    be16_store(buf + 2, seq);
}

void rtp_ts_set(uint8_t *buf, uint32_t ts)
{
    be32_store(buf + 4, ts);
}

void rtp_ssrc_set(uint8_t *buf, uint32_t ssrc)
{
    be32_store(buf + 8, ssrc);
}

void rtp_pt_set(uint8_t *buf, uint8_t pt)
{
    buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7f));
}

void rtp_marker_set(uint8_t *buf, bool marker)
{
    buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
}

int rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    if (len < 2 || buf[0] >> 6 != 2)
        return 0;
    return buf[1] >= 192 && buf[1] <= 223;
}
