/* Fuzzes the RTP packet path: parse, walk and look up extensions, rewrite into a bounded buffer
 * the way a consumer does (renumbered, MID and transport-wide seq added, RTX or not), map the
 * sequence numbers, and run the VP8 and H.264 payload parsers and the VP8 rewriter. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtp/h264.h"
#include "rtp/rewrite.h"
#include "rtp/rtp.h"
#include "rtp/vp8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtp_view v;
    (void)rtp_is_rtcp(data, size);
    if (rtp_view_parse(&v, data, size) < 0)
        return 0;
    assert(v.hdr_len + v.payload_len + v.pad_len == size);

    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    rtp_ext_iter_init(&it, &v);
    int r;
    while ((r = rtp_ext_iter_next(&it, &id, &d, &n)) > 0) {
        assert(d >= data && d + n <= data + v.hdr_len);
        const uint8_t *fd;
        size_t fn;
        assert(rtp_ext_find(&v, id, &fd, &fn) == 0);
    }
    assert(r == 0);

    /* The settings come from the packet's own bytes so the fuzzer explores them too: the seq
     * picks the id map, the capacity and whether ids force the two-byte form. */
    static const uint8_t extra_data[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct rtp_rewrite rw;
    memset(&rw, 0, sizeof(rw));
    rw.ssrc = v.ssrc ^ 0x5a5a5a5au;
    rw.seq = (uint16_t)(v.seq + 1);
    rw.ts = v.ts + 3000;
    rw.pt = v.pt;
    rw.marker = RTP_REWRITE_MARKER_KEEP;
    for (unsigned i = 1; i < 256; i++)
        rw.ext_map[i] = (uint8_t)((i * 7 + v.seq) % 31 > 20 ? 0 : (i + (v.seq >> 8)) & 0xff);
    rw.mid_id = (uint8_t)(v.ts & 0x0f);
    rw.mid = "video-0123456789";
    rw.mid_len = (uint8_t)(1 + (v.ts >> 4) % 16);
    rw.twcc_id = (uint8_t)((v.ts >> 8) & 0x1f);
    rw.twcc_seq = v.seq;
    rw.n_extra = (uint8_t)((v.ts >> 13) % (RTP_REWRITE_EXTRA_MAX + 1));
    for (uint8_t i = 0; i < rw.n_extra; i++)
        rw.extra[i] = (struct rtp_ext_extra){.id = (uint8_t)(200 + i),
                                             .len = (uint8_t)((v.ssrc >> (i * 4)) % 21),
                                             .data = extra_data};
    rw.rtx = (v.ssrc & 1) != 0;
    rw.rtx_osn = v.seq;

    uint8_t out[1600 + 64];
    size_t cap = (v.ssrc >> 8) & 1 ? sizeof(out) : (size_t)(v.ssrc >> 16) % sizeof(out);
    int len = rtp_packet_rewrite(out, cap, &v, &rw);
    assert(len == -ENOSPC || len > 0);
    if (len > 0) {
        struct rtp_view o;
        assert((size_t)len <= cap);
        /* What we build must parse, and carry the payload unchanged. */
        assert(rtp_view_parse(&o, out, (size_t)len) == 0);
        assert(o.payload_len == v.payload_len + (rw.rtx ? 2 : 0));
        assert(memcmp(o.payload + (rw.rtx ? 2 : 0), v.payload, v.payload_len) == 0);
        assert(o.seq == rw.seq && o.ssrc == rw.ssrc && o.pad_len == 0);
    }

    struct rtp_seq_rewriter sr;
    uint16_t os;
    uint32_t ot;
    rtp_seq_rewriter_init(&sr, 90000);
    (void)rtp_seq_rewriter_map(&sr, v.ssrc, v.seq, v.ts, 0, &os, &ot);
    (void)rtp_seq_rewriter_map(&sr, v.ssrc, (uint16_t)(v.seq - 1), v.ts, 10, &os, &ot);
    rtp_seq_rewriter_switch(&sr);
    (void)rtp_seq_rewriter_map(&sr, v.ssrc, (uint16_t)(v.seq + 40000), v.ts, 20, &os, &ot);

    (void)h264_is_keyframe(v.payload, v.payload_len);
    (void)vp8_is_keyframe(v.payload, v.payload_len);
    struct vp8_desc desc;
    if (vp8_desc_parse(&desc, v.payload, v.payload_len) == 0)
        assert(desc.hdr_len <= v.payload_len);
    uint8_t pl[1600];
    size_t pn = v.payload_len < sizeof(pl) ? v.payload_len : sizeof(pl);
    memcpy(pl, v.payload, pn);
    struct vp8_rewriter vr;
    vp8_rewriter_init(&vr);
    (void)vp8_rewriter_rewrite(&vr, pl, pn, false);
    (void)vp8_rewriter_rewrite(&vr, pl, pn, true);
    return 0;
}
