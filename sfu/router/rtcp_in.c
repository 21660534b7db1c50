/* RTCP from a peer, terminated here: sender reports feed lip sync, NACKs are answered from the
 * history, PLI/FIR become (throttled) keyframe requests to the producer. */
#include <errno.h>

#include "core/clock.h"
#include "router/router_int.h"
#include "rtp/rtcp.h"

/* Retransmissions one RTCP packet may cause, however many NACK items it carries. */
#define RTCP_IN_MAX_RTX 64

/* The consumer whose media stream (not its RTX stream) feedback names. */
static struct consumer *rtcp_consumer(struct transport *t, uint32_t media_ssrc)
{
    struct consumer *c = consumer_by_ssrc(t, media_ssrc);
    return c && c->ssrc == media_ssrc ? c : NULL;
}

static void rtcp_on_feedback_pli(struct transport *t, uint32_t media_ssrc)
{
    struct consumer *c = rtcp_consumer(t, media_ssrc);
    if (!c)
        return;
    c->counters.plis++;
    producer_request_keyframe(c->producer, false);
}

void transport_on_rtcp(struct transport *t, const uint8_t *buf, size_t len)
{
    struct rtcp_iter it;
    struct rtcp_hdr h;
    int rc, resent = 0;
    uint64_t now_us = clock_mono_us();
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &h)) == 1) {
        switch (h.pt) {
        case RTCP_PT_SR: {
            struct rtcp_sr sr;
            bool rtx;
            unsigned stream;
            if (rtcp_parse_sr(&h, &sr) < 0)
                break;
            struct producer *p = producer_by_ssrc(t, sr.ssrc, &rtx, &stream);
            if (p && !rtx)
                producer_on_sr(p, sr.ssrc, sr.info.ntp, sr.info.rtp_ts);
            break;
        }
        case RTCP_PT_RTPFB:
            if (h.count == RTCP_RTPFB_NACK) {
                struct rtcp_nack nack;
                struct rtcp_nack_iter ni;
                uint16_t seq;
                if (rtcp_parse_nack(&h, &nack) < 0)
                    break;
                struct consumer *c = rtcp_consumer(t, nack.media_ssrc);
                if (!c)
                    break;
                rtcp_nack_iter_init(&ni, &nack);
                while (rtcp_nack_iter_next(&ni, &seq) && resent < RTCP_IN_MAX_RTX)
                    resent += consumer_on_nack(c, seq, now_us);
            }
            /* Transport-cc feedback from subscribers would drive a send-side estimate; the
             * SFU does not adapt its sending rate yet. */
            break;
        case RTCP_PT_PSFB:
            if (h.count == RTCP_PSFB_PLI) {
                struct rtcp_pli pli;
                if (rtcp_parse_pli(&h, &pli) == 0)
                    rtcp_on_feedback_pli(t, pli.media_ssrc);
            } else if (h.count == RTCP_PSFB_FIR) {
                struct rtcp_fir fir;
                struct rtcp_fir_entry e;
                if (rtcp_parse_fir(&h, &fir) < 0)
                    break;
                for (size_t i = 0; i < fir.entry_count; i++) {
                    rtcp_fir_entry_get(&fir, i, &e);
                    rtcp_on_feedback_pli(t, e.ssrc);
                }
            }
            break;
        default:
            /* RR, SDES, BYE, APP: nothing to act on yet. */
            break;
        }
    }
    if (rc < 0)
        t->rx.dropped++;
}
