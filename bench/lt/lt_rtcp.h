/* Keyframe requests in RTCP (RFC 4585 PLI, RFC 5104 FIR), as a publisher's browser reads them,
 * through the SFU's own RTCP parser (sfu/rtp/rtcp.h). Both targets with a WebRTC publisher use it
 * on the decrypted compound packets their send peer receives. */
#ifndef BENCH_LT_RTCP_H
#define BENCH_LT_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt.h"
#include "rtp/rtcp.h"

/* Writes into ssrcs (at most max) the media SSRCs a compound RTCP packet asks keyframes for;
 * returns how many. A malformed packet ends the walk: what came before it still counts. */
static inline size_t lt_rtcp_key_requests(const uint8_t *buf, size_t len, uint32_t *ssrcs,
                                          size_t max)
{
    struct rtcp_iter it;
    struct rtcp_hdr h;
    size_t n = 0;
    rtcp_iter_init(&it, buf, len);
    while (n < max && rtcp_iter_next(&it, &h) == 1) {
        struct rtcp_pli pli;
        struct rtcp_fir fir;
        if (rtcp_parse_pli(&h, &pli) == 0) {
            ssrcs[n++] = pli.media_ssrc;
        } else if (rtcp_parse_fir(&h, &fir) == 0) {
            for (size_t i = 0; i < fir.entry_count && n < max; i++) {
                struct rtcp_fir_entry e;
                rtcp_fir_entry_get(&fir, i, &e);
                ssrcs[n++] = e.ssrc;
            }
        }
    }
    return n;
}

/* Tells rx of each video track a publisher sends (on[k], under ssrc[k]) that a compound RTCP
 * packet asks a keyframe of. */
static inline void lt_rtcp_key_dispatch(const uint8_t *buf, size_t len,
                                        const uint32_t ssrc[LT_TRACKS], const bool on[LT_TRACKS],
                                        const struct lt_rx_cbs *rx, void *rx_arg)
{
    uint32_t asked[8];
    size_t n = rx->on_key_request ? lt_rtcp_key_requests(buf, len, asked, 8) : 0;
    for (size_t i = 0; i < n; i++)
        for (int k = LT_VIDEO; k < LT_TRACKS; k++)
            if (on[k] && ssrc[k] == asked[i])
                rx->on_key_request(rx_arg, (enum lt_track)k);
}

#endif
