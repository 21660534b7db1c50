/* RTCP compound walking, per-type parsing and writing, with explicit bounds checks. */
#include "rtp/rtcp.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

#define RTCP_HDR_LEN         4
#define RTCP_RB_LEN          24
#define RTCP_SENDER_INFO_LEN 20
#define RTCP_FB_COMMON_LEN   8 /* sender SSRC + media SSRC, after the header */

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = len;
    it->off = 0;
    it->err = 0;
}

int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_hdr *hdr)
{
    if (it->err)
        return it->err;
    if (it->off >= it->len)
        return 0;
    const uint8_t *p = it->buf + it->off;
    size_t left = it->len - it->off;
    if (left < RTCP_HDR_LEN || (p[0] >> 6) != 2)
        goto bad;
    size_t raw_len = ((size_t)be16_load(p + 2) + 1) * 4;
    if (raw_len > left)
        goto bad;
    size_t pad = 0;
    if (p[0] & 0x20) {
        /* RFC 3550 6.4.1: only the last packet of a compound may carry padding, since the
         * padding is counted from the end of the datagram. */
        if (raw_len != left)
            goto bad;
        pad = p[raw_len - 1];
        if (pad == 0 || pad > raw_len - RTCP_HDR_LEN)
            goto bad;
    }
    hdr->count = p[0] & 0x1f;
    hdr->pt = p[1];
    hdr->raw = p;
    hdr->raw_len = raw_len;
    hdr->body = p + RTCP_HDR_LEN;
    hdr->body_len = raw_len - RTCP_HDR_LEN - pad;
    it->off += raw_len;
    return 1;
bad:
    it->err = -EBADMSG;
    return it->err;
}

static void rb_load(const uint8_t *p, struct rtcp_report_block *rb)
{
    uint32_t lost = be24_load(p + 5);
    rb->ssrc = be32_load(p);
    rb->fraction_lost = p[4];
    /* Sign-extend the 24-bit field: a duplicate-heavy stream reports negative loss. */
    rb->cumulative_lost = (lost & 0x800000) ? (int32_t)(lost | 0xff000000u) : (int32_t)lost;
    rb->ext_highest_seq = be32_load(p + 8);
    rb->jitter = be32_load(p + 12);
    rb->lsr = be32_load(p + 16);
    rb->dlsr = be32_load(p + 20);
}

static void rb_store(uint8_t *p, const struct rtcp_report_block *rb)
{
    int32_t lost = rb->cumulative_lost;
    /* Clamp to the 24-bit signed range rather than wrap into a misleading value. */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    be32_store(p, rb->ssrc);
    p[4] = rb->fraction_lost;
    be24_store(p + 5, (uint32_t)lost & 0xffffff);
    be32_store(p + 8, rb->ext_highest_seq);
    be32_store(p + 12, rb->jitter);
    be32_store(p + 16, rb->lsr);
    be32_store(p + 20, rb->dlsr);
}

int rtcp_parse_sr(const struct rtcp_hdr *hdr, struct rtcp_sr *out)
{
    if (hdr->pt != RTCP_PT_SR)
        return -EINVAL;
    const uint8_t *b = hdr->body;
    /* Bytes past the report blocks are a profile-specific extension, which we ignore. */
    if (hdr->body_len < 4 + RTCP_SENDER_INFO_LEN + (size_t)hdr->count * RTCP_RB_LEN)
        return -EBADMSG;
    out->ssrc = be32_load(b);
    out->info.ntp = be64_load(b + 4);
    out->info.rtp_ts = be32_load(b + 12);
    out->info.pkt_count = be32_load(b + 16);
    out->info.octet_count = be32_load(b + 20);
    out->rb_count = hdr->count;
    for (size_t i = 0; i < hdr->count; i++)
        rb_load(b + 24 + i * RTCP_RB_LEN, &out->rb[i]);
    return 0;
}

int rtcp_parse_rr(const struct rtcp_hdr *hdr, struct rtcp_rr *out)
{
    if (hdr->pt != RTCP_PT_RR)
        return -EINVAL;
    const uint8_t *b = hdr->body;
    if (hdr->body_len < 4 + (size_t)hdr->count * RTCP_RB_LEN)
        return -EBADMSG;
    out->ssrc = be32_load(b);
    out->rb_count = hdr->count;
    for (size_t i = 0; i < hdr->count; i++)
        rb_load(b + 4 + i * RTCP_RB_LEN, &out->rb[i]);
    return 0;
}

/* Walks one SDES chunk at p[off..len): its SSRC, items up to the null item, and the null
 * octets up to the next 32-bit boundary. Writes the chunk and returns the offset after it, or
 * -EBADMSG. */
static long sdes_chunk_walk(const uint8_t *p, size_t len, size_t off, struct rtcp_sdes_chunk *c)
{
    if (len - off < 4)
        return -EBADMSG;
    c->ssrc = be32_load(p + off);
    c->cname = NULL;
    c->cname_len = 0;
    off += 4;
    for (;;) {
        if (off >= len)
            return -EBADMSG;
        uint8_t type = p[off];
        if (type == 0) {
            /* The null item and its fill run to the next boundary; chunks start aligned. */
            size_t end = (off + 4) & ~(size_t)3;
            if (end > len)
                return -EBADMSG;
            return (long)end;
        }
        if (len - off < 2 || len - off - 2 < p[off + 1])
            return -EBADMSG;
        uint8_t ilen = p[off + 1];
        if (type == 1 && c->cname == NULL) {
            c->cname = p + off + 2;
            c->cname_len = ilen;
        }
        off += 2 + (size_t)ilen;
    }
}

int rtcp_parse_sdes(const struct rtcp_hdr *hdr, struct rtcp_sdes_iter *it)
{
    if (hdr->pt != RTCP_PT_SDES)
        return -EINVAL;
    size_t off = 0;
    struct rtcp_sdes_chunk c;
    for (unsigned i = 0; i < hdr->count; i++) {
        long r = sdes_chunk_walk(hdr->body, hdr->body_len, off, &c);
        if (r < 0)
            return (int)r;
        off = (size_t)r;
    }
    it->p = hdr->body;
    it->len = hdr->body_len;
    it->off = 0;
    it->left = hdr->count;
    return 0;
}

int rtcp_sdes_next(struct rtcp_sdes_iter *it, struct rtcp_sdes_chunk *out)
{
    if (it->left == 0)
        return 0;
    long r = sdes_chunk_walk(it->p, it->len, it->off, out);
    if (r < 0) {
        it->left = 0;
        return 0;
    }
    it->off = (size_t)r;
    it->left--;
    return 1;
}

int rtcp_parse_bye(const struct rtcp_hdr *hdr, struct rtcp_bye *out)
{
    if (hdr->pt != RTCP_PT_BYE)
        return -EINVAL;
    size_t need = (size_t)hdr->count * 4;
    if (hdr->body_len < need)
        return -EBADMSG;
    out->ssrc_count = hdr->count;
    for (size_t i = 0; i < hdr->count; i++)
        out->ssrcs[i] = be32_load(hdr->body + i * 4);
    out->reason = NULL;
    out->reason_len = 0;
    if (hdr->body_len > need) {
        uint8_t rlen = hdr->body[need];
        if (hdr->body_len - need - 1 < rlen)
            return -EBADMSG;
        out->reason = hdr->body + need + 1;
        out->reason_len = rlen;
    }
    return 0;
}

int rtcp_parse_nack(const struct rtcp_hdr *hdr, struct rtcp_nack *out)
{
    if (hdr->pt != RTCP_PT_RTPFB || hdr->count != RTCP_RTPFB_NACK)
        return -EINVAL;
    if (hdr->body_len < RTCP_FB_COMMON_LEN + 4 || (hdr->body_len - RTCP_FB_COMMON_LEN) % 4)
        return -EBADMSG;
    out->sender_ssrc = be32_load(hdr->body);
    out->media_ssrc = be32_load(hdr->body + 4);
    out->fci = hdr->body + RTCP_FB_COMMON_LEN;
    out->item_count = (hdr->body_len - RTCP_FB_COMMON_LEN) / 4;
    return 0;
}

void rtcp_nack_iter_init(struct rtcp_nack_iter *it, const struct rtcp_nack *nack)
{
    it->nack = nack;
    it->item = 0;
    it->bit = -1;
}

bool rtcp_nack_iter_next(struct rtcp_nack_iter *it, uint16_t *seq)
{
    while (it->item < it->nack->item_count) {
        const uint8_t *fci = it->nack->fci + it->item * 4;
        uint16_t pid = be16_load(fci);
        uint16_t blp = be16_load(fci + 2);
        if (it->bit < 0) {
            it->bit = 0;
            *seq = pid;
            return true;
        }
        while (it->bit < 16) {
            int b = it->bit++;
            if (blp & (1u << b)) {
                *seq = (uint16_t)(pid + b + 1);
                return true;
            }
        }
        it->item++;
        it->bit = -1;
    }
    return false;
}

/* Delta bytes per symbol: not received, small (1 byte), large or negative (2 bytes). */
static const uint8_t twcc_sym_bytes[3] = {0, 1, 2};

/* How many symbols a chunk carries, and symbol i of it (3 is reserved). */
static uint32_t twcc_chunk_capacity(uint16_t c)
{
    if (!(c & 0x8000))
        return c & 0x1fff;
    return (c & 0x4000) ? 7 : 14;
}

static unsigned twcc_chunk_symbol(uint16_t c, uint32_t i)
{
    if (!(c & 0x8000))
        return (c >> 13) & 3;
    if (c & 0x4000)
        return (c >> (12 - 2 * i)) & 3;
    return (c >> (13 - i)) & 1;
}

int rtcp_parse_twcc(const struct rtcp_hdr *hdr, struct rtcp_twcc *out)
{
    if (hdr->pt != RTCP_PT_RTPFB || hdr->count != RTCP_RTPFB_TWCC)
        return -EINVAL;
    const uint8_t *b = hdr->body;
    size_t len = hdr->body_len;
    if (len < RTCP_FB_COMMON_LEN + 8)
        return -EBADMSG;
    out->sender_ssrc = be32_load(b);
    out->media_ssrc = be32_load(b + 4);
    out->base_seq = be16_load(b + 8);
    out->status_count = be16_load(b + 10);
    uint32_t ref = be24_load(b + 12);
    out->ref_time = (ref & 0x800000) ? (int32_t)(ref | 0xff000000u) : (int32_t)ref;
    out->fb_count = b[15];
    out->chunks = b + 16;

    /* Walk the chunks once so the iterator never meets a surprise: each symbol counted, the
     * delta bytes summed, reserved symbols refused. Symbols past status_count in the last
     * chunk are fill and carry no delta. */
    size_t off = 16, deltas = 0, nchunks = 0;
    uint32_t seen = 0;
    while (seen < out->status_count) {
        if (len - off < 2)
            return -EBADMSG;
        uint16_t c = be16_load(b + off);
        off += 2;
        nchunks++;
        uint32_t take = twcc_chunk_capacity(c);
        if (take > out->status_count - seen)
            take = out->status_count - seen;
        if (!(c & 0x8000)) {
            unsigned sym = twcc_chunk_symbol(c, 0);
            if (sym == 3)
                return -EBADMSG;
            deltas += (size_t)take * twcc_sym_bytes[sym];
        } else {
            for (uint32_t i = 0; i < take; i++) {
                unsigned sym = twcc_chunk_symbol(c, i);
                if (sym == 3)
                    return -EBADMSG;
                deltas += twcc_sym_bytes[sym];
            }
        }
        seen += take;
    }
    if (len - off < deltas)
        return -EBADMSG;
    out->chunk_count = nchunks;
    out->deltas = b + off;
    out->deltas_len = deltas;
    return 0;
}

void rtcp_twcc_iter_init(struct rtcp_twcc_iter *it, const struct rtcp_twcc *fb)
{
    it->fb = fb;
    it->chunk = 0;
    it->in_chunk = 0;
    it->delta_off = 0;
    it->done = 0;
}

bool rtcp_twcc_iter_next(struct rtcp_twcc_iter *it, struct rtcp_twcc_status *out)
{
    const struct rtcp_twcc *fb = it->fb;
    if (it->done >= fb->status_count)
        return false;
    uint16_t c;
    /* Skip exhausted chunks, including run-length chunks of length zero. */
    for (;;) {
        if (it->chunk >= fb->chunk_count)
            return false;
        c = be16_load(fb->chunks + it->chunk * 2);
        if (it->in_chunk < twcc_chunk_capacity(c))
            break;
        it->chunk++;
        it->in_chunk = 0;
    }
    unsigned sym = twcc_chunk_symbol(c, it->in_chunk);
    it->in_chunk++;
    out->seq = (uint16_t)(fb->base_seq + it->done);
    out->received = sym == 1 || sym == 2;
    out->delta = 0;
    if (sym == 1) {
        if (it->delta_off + 1 > fb->deltas_len)
            return false;
        out->delta = fb->deltas[it->delta_off];
        it->delta_off += 1;
    } else if (sym == 2) {
        if (it->delta_off + 2 > fb->deltas_len)
            return false;
        out->delta = (int16_t)be16_load(fb->deltas + it->delta_off);
        it->delta_off += 2;
    } else if (sym == 3) {
        return false;
    }
    it->done++;
    return true;
}

static int fb_common_parse(const struct rtcp_hdr *hdr, uint32_t *sender, uint32_t *media)
{
    if (hdr->body_len < RTCP_FB_COMMON_LEN)
        return -EBADMSG;
    *sender = be32_load(hdr->body);
    *media = be32_load(hdr->body + 4);
    return 0;
}

int rtcp_parse_pli(const struct rtcp_hdr *hdr, struct rtcp_pli *out)
{
    if (hdr->pt != RTCP_PT_PSFB || hdr->count != RTCP_PSFB_PLI)
        return -EINVAL;
    return fb_common_parse(hdr, &out->sender_ssrc, &out->media_ssrc);
}

int rtcp_parse_fir(const struct rtcp_hdr *hdr, struct rtcp_fir *out)
{
    if (hdr->pt != RTCP_PT_PSFB || hdr->count != RTCP_PSFB_FIR)
        return -EINVAL;
    int err = fb_common_parse(hdr, &out->sender_ssrc, &out->media_ssrc);
    if (err)
        return err;
    size_t fci_len = hdr->body_len - RTCP_FB_COMMON_LEN;
    if (fci_len == 0 || fci_len % 8)
        return -EBADMSG;
    out->fci = hdr->body + RTCP_FB_COMMON_LEN;
    out->entry_count = fci_len / 8;
    return 0;
}

void rtcp_fir_entry_get(const struct rtcp_fir *fir, size_t i, struct rtcp_fir_entry *out)
{
    out->ssrc = be32_load(fir->fci + i * 8);
    out->seq = fir->fci[i * 8 + 4];
}

int rtcp_parse_remb(const struct rtcp_hdr *hdr, struct rtcp_remb *out)
{
    if (hdr->pt != RTCP_PT_PSFB || hdr->count != RTCP_PSFB_REMB)
        return -EINVAL;
    const uint8_t *b = hdr->body;
    if (hdr->body_len < RTCP_FB_COMMON_LEN + 4)
        return -EBADMSG;
    /* Other application-layer feedback shares FMT 15; only the identifier tells them apart. */
    if (memcmp(b + 8, "REMB", 4) != 0)
        return -EINVAL;
    if (hdr->body_len < RTCP_FB_COMMON_LEN + 8)
        return -EBADMSG;
    uint8_t n = b[12];
    if (hdr->body_len - RTCP_FB_COMMON_LEN - 8 < (size_t)n * 4)
        return -EBADMSG;
    unsigned exp = b[13] >> 2;
    uint64_t mantissa = (uint64_t)(b[13] & 3) << 16 | be16_load(b + 14);
    out->sender_ssrc = be32_load(b);
    if (exp > 46 && (mantissa >> (64 - exp)) != 0)
        out->bitrate_bps = UINT64_MAX;
    else
        out->bitrate_bps = mantissa << exp;
    out->ssrc_count = n;
    for (size_t i = 0; i < n; i++)
        out->ssrcs[i] = be32_load(b + 16 + i * 4);
    return 0;
}

/* Writers. */

static void hdr_store(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
    buf[0] = (uint8_t)(0x80 | count);
    buf[1] = pt;
    be16_store(buf + 2, (uint16_t)(len / 4 - 1));
}

void rtcp__fb_header_store(uint8_t *buf, uint8_t pt, uint8_t fmt, size_t len, uint32_t sender,
                           uint32_t media)
{
    hdr_store(buf, fmt, pt, len);
    be32_store(buf + 4, sender);
    be32_store(buf + 8, media);
}

int rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *si,
                  const struct rtcp_report_block *rb, size_t rb_count)
{
    if (rb_count > RTCP_COUNT_MAX)
        return -EINVAL;
    size_t len = RTCP_HDR_LEN + 4 + RTCP_SENDER_INFO_LEN + rb_count * RTCP_RB_LEN;
    if (cap < len)
        return -ENOSPC;
    hdr_store(buf, (uint8_t)rb_count, RTCP_PT_SR, len);
    be32_store(buf + 4, ssrc);
    be64_store(buf + 8, si->ntp);
    be32_store(buf + 16, si->rtp_ts);
    be32_store(buf + 20, si->pkt_count);
    be32_store(buf + 24, si->octet_count);
    for (size_t i = 0; i < rb_count; i++)
        rb_store(buf + 28 + i * RTCP_RB_LEN, &rb[i]);
    return (int)len;
}

int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_report_block *rb,
                  size_t rb_count)
{
    if (rb_count > RTCP_COUNT_MAX)
        return -EINVAL;
    size_t len = RTCP_HDR_LEN + 4 + rb_count * RTCP_RB_LEN;
    if (cap < len)
        return -ENOSPC;
    hdr_store(buf, (uint8_t)rb_count, RTCP_PT_RR, len);
    be32_store(buf + 4, ssrc);
    for (size_t i = 0; i < rb_count; i++)
        rb_store(buf + 8 + i * RTCP_RB_LEN, &rb[i]);
    return (int)len;
}

int rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname,
                          size_t cname_len)
{
    if (cname_len == 0 || cname_len > 255)
        return -EINVAL;
    /* SSRC, type, length, text, then at least one null octet up to the boundary. */
    size_t chunk = (4 + 2 + cname_len + 1 + 3) & ~(size_t)3;
    size_t len = RTCP_HDR_LEN + chunk;
    if (cap < len)
        return -ENOSPC;
    hdr_store(buf, 1, RTCP_PT_SDES, len);
    be32_store(buf + 4, ssrc);
    buf[8] = 1;
    buf[9] = (uint8_t)cname_len;
    memcpy(buf + 10, cname, cname_len);
    memset(buf + 10 + cname_len, 0, len - 10 - cname_len);
    return (int)len;
}

int rtcp_write_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, size_t ssrc_count,
                   const char *reason, size_t reason_len)
{
    if (ssrc_count == 0 || ssrc_count > RTCP_COUNT_MAX || reason_len > 255)
        return -EINVAL;
    size_t rsize = reason && reason_len ? (1 + reason_len + 3) & ~(size_t)3 : 0;
    size_t len = RTCP_HDR_LEN + ssrc_count * 4 + rsize;
    if (cap < len)
        return -ENOSPC;
    hdr_store(buf, (uint8_t)ssrc_count, RTCP_PT_BYE, len);
    for (size_t i = 0; i < ssrc_count; i++)
        be32_store(buf + 4 + i * 4, ssrcs[i]);
    if (rsize) {
        uint8_t *r = buf + 4 + ssrc_count * 4;
        r[0] = (uint8_t)reason_len;
        memcpy(r + 1, reason, reason_len);
        memset(r + 1 + reason_len, 0, rsize - 1 - reason_len);
    }
    return (int)len;
}

int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t n)
{
    if (n == 0)
        return -EINVAL;
    size_t off = RTCP_HDR_LEN + RTCP_FB_COMMON_LEN;
    size_t i = 0;
    while (i < n) {
        if (cap < off + 4)
            return -ENOSPC;
        uint16_t pid = seqs[i++];
        uint16_t blp = 0;
        /* uint16_t arithmetic makes 0 follow 65535, so one item spans the wrap. */
        while (i < n) {
            uint16_t d = (uint16_t)(seqs[i] - pid);
            if (d > 16)
                break;
            if (d > 0)
                blp |= (uint16_t)(1u << (d - 1));
            i++;
        }
        be16_store(buf + off, pid);
        be16_store(buf + off + 2, blp);
        off += 4;
        if (off > 0xffff * 4)
            return -EINVAL;
    }
    rtcp__fb_header_store(buf, RTCP_PT_RTPFB, RTCP_RTPFB_NACK, off, sender_ssrc, media_ssrc);
    return (int)off;
}

int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    size_t len = RTCP_HDR_LEN + RTCP_FB_COMMON_LEN;
    if (cap < len)
        return -ENOSPC;
    rtcp__fb_header_store(buf, RTCP_PT_PSFB, RTCP_PSFB_PLI, len, sender_ssrc, media_ssrc);
    return (int)len;
}

int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                   const struct rtcp_fir_entry *entries, size_t n)
{
    if (n == 0 || n > 1024)
        return -EINVAL;
    size_t len = RTCP_HDR_LEN + RTCP_FB_COMMON_LEN + n * 8;
    if (cap < len)
        return -ENOSPC;
    rtcp__fb_header_store(buf, RTCP_PT_PSFB, RTCP_PSFB_FIR, len, sender_ssrc, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = buf + 12 + i * 8;
        be32_store(e, entries[i].ssrc);
        e[4] = entries[i].seq;
        e[5] = e[6] = e[7] = 0;
    }
    return (int)len;
}

int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t ssrc_count)
{
    if (ssrc_count > RTCP_REMB_SSRC_MAX)
        return -EINVAL;
    size_t len = RTCP_HDR_LEN + RTCP_FB_COMMON_LEN + 8 + ssrc_count * 4;
    if (cap < len)
        return -ENOSPC;
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > 0x3ffff)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    rtcp__fb_header_store(buf, RTCP_PT_PSFB, RTCP_PSFB_REMB, len, sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)ssrc_count;
    buf[17] = (uint8_t)(exp << 2 | mantissa >> 16);
    be16_store(buf + 18, (uint16_t)mantissa);
    for (size_t i = 0; i < ssrc_count; i++)
        be32_store(buf + 20 + i * 4, ssrcs[i]);
    return (int)len;
}
