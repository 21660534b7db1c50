/* Fuzzes the RTCP parser as the SFU meets it: walk the compound, parse every packet by its
 * type, and iterate everything iterable (SDES chunks, NACK items, every TWCC status). What
 * parses is written back with the writers, which must accept it, and the TWCC recorder is fed
 * the statuses so its builder meets odd sequences too. */
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtcp.h"
#include "rtp/twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct twcc_recorder *rec;

static void fb_twcc(const struct rtcp_hdr *h)
{
    struct rtcp_twcc fb;
    struct rtcp_twcc_iter it;
    struct rtcp_twcc_status st;
    if (rtcp_parse_twcc(h, &fb) != 0)
        return;
    int64_t t = (int64_t)fb.ref_time * 64000 + (1ll << 40);
    uint32_t n = 0;
    rtcp_twcc_iter_init(&it, &fb);
    while (rtcp_twcc_iter_next(&it, &st)) {
        n++;
        if (st.received) {
            t += (int64_t)st.delta * 250;
            if (t > 0)
                twcc_recorder_on_packet(rec, st.seq, (uint64_t)t);
        }
    }
    /* The parser promised the iterator every status. */
    if (n != fb.status_count)
        __builtin_trap();
    uint8_t out[1500];
    size_t len;
    for (int i = 0; i < 64; i++) {
        if (twcc_recorder_build(rec, 1, 2, out, sizeof(out), &len) != 0 || len == 0)
            break;
        struct rtcp_iter oi;
        struct rtcp_hdr oh;
        struct rtcp_twcc ofb;
        rtcp_iter_init(&oi, out, len);
        if (rtcp_iter_next(&oi, &oh) != 1 || rtcp_parse_twcc(&oh, &ofb) != 0)
            __builtin_trap(); /* what we build, we must parse */
    }
}

static void one_packet(const struct rtcp_hdr *h)
{
    uint8_t out[2048];
    switch (h->pt) {
    case RTCP_PT_SR: {
        struct rtcp_sr sr;
        if (rtcp_parse_sr(h, &sr) == 0 &&
            rtcp_write_sr(out, sizeof(out), sr.ssrc, &sr.info, sr.rb, sr.rb_count) < 0)
            __builtin_trap();
        break;
    }
    case RTCP_PT_RR: {
        struct rtcp_rr rr;
        if (rtcp_parse_rr(h, &rr) == 0 &&
            rtcp_write_rr(out, sizeof(out), rr.ssrc, rr.rb, rr.rb_count) < 0)
            __builtin_trap();
        break;
    }
    case RTCP_PT_SDES: {
        struct rtcp_sdes_iter it;
        struct rtcp_sdes_chunk c;
        if (rtcp_parse_sdes(h, &it) != 0)
            break;
        while (rtcp_sdes_next(&it, &c) == 1)
            if (c.cname_len && rtcp_write_sdes_cname(out, sizeof(out), c.ssrc,
                                                     (const char *)c.cname, c.cname_len) < 0)
                __builtin_trap();
        break;
    }
    case RTCP_PT_BYE: {
        struct rtcp_bye bye;
        if (rtcp_parse_bye(h, &bye) == 0 && bye.ssrc_count &&
            rtcp_write_bye(out, sizeof(out), bye.ssrcs, bye.ssrc_count, (const char *)bye.reason,
                           bye.reason_len) < 0)
            __builtin_trap();
        break;
    }
    case RTCP_PT_RTPFB:
        if (h->count == RTCP_RTPFB_NACK) {
            struct rtcp_nack nack;
            struct rtcp_nack_iter it;
            uint16_t seqs[64], seq;
            size_t n = 0;
            if (rtcp_parse_nack(h, &nack) != 0)
                break;
            rtcp_nack_iter_init(&it, &nack);
            while (rtcp_nack_iter_next(&it, &seq))
                if (n < 64)
                    seqs[n++] = seq;
            if (n && rtcp_write_nack(out, sizeof(out), 1, 2, seqs, n) < 0)
                __builtin_trap();
        } else if (h->count == RTCP_RTPFB_TWCC) {
            fb_twcc(h);
        }
        break;
    case RTCP_PT_PSFB: {
        struct rtcp_pli pli;
        struct rtcp_fir fir;
        struct rtcp_fir_entry e;
        struct rtcp_remb remb;
        if (rtcp_parse_pli(h, &pli) == 0)
            rtcp_write_pli(out, sizeof(out), pli.sender_ssrc, pli.media_ssrc);
        if (rtcp_parse_fir(h, &fir) == 0)
            for (size_t i = 0; i < fir.entry_count; i++)
                rtcp_fir_entry_get(&fir, i, &e);
        if (rtcp_parse_remb(h, &remb) == 0 &&
            rtcp_write_remb(out, sizeof(out), remb.sender_ssrc, remb.bitrate_bps, remb.ssrcs,
                            remb.ssrc_count) < 0)
            __builtin_trap();
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtcp_iter it;
    struct rtcp_hdr h;
    if (!rec && twcc_recorder_new(&rec) != 0)
        return 0;
    rtcp_iter_init(&it, data, size);
    while (rtcp_iter_next(&it, &h) == 1)
        one_packet(&h);
    return 0;
}
