/* The SDP a simulated browser writes and reads (GstSDP): the sending connection's offer as
 * Chromium makes it, the SFU's answer to it, and the answer to the SFU's offers on the receiving
 * connection. Private to the gpsfu target. */
#ifndef BENCH_LT_GPSFU_SDP_H
#define BENCH_LT_GPSFU_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt.h"
#include "peer.h"

#define LT_GPSFU_SDP_PT_OPUS   111 /* Chromium's payload types */
#define LT_GPSFU_SDP_PT_VP8    96
#define LT_GPSFU_SDP_MAX_CANDS 8
#define LT_GPSFU_SDP_MID_LEN   33

/* One end of an ICE + DTLS transport as a description states it. */
struct lt_gpsfu_sdp_transport {
    char ufrag[PEER_ICE_TEXT_LEN];
    char pwd[PEER_ICE_TEXT_LEN];
    char fingerprint[PEER_FINGERPRINT_LEN]; /* sha-256, "AB:CD:..." */
    struct peer_candidate cands[LT_GPSFU_SDP_MAX_CANDS];
    size_t n_cands;
};

/* Fills t from a peer: its credentials, fingerprint and host candidates. Errors: -EIO (no
 * candidate). */
int lt_gpsfu_sdp_transport_of_peer(struct lt_gpsfu_sdp_transport *t, const struct peer *p);

/* The offer of a sending connection with one sendonly m-section per track published (audio,
 * then the camera, then the screen as a second video section), BUNDLEd, rtcp-mux, setup:actpass,
 * with ssrc[track] and cname. On success *out is NUL-terminated text the caller frees with
 * free(). Errors: -EINVAL (no track, no candidate), -ENOMEM. */
int lt_gpsfu_sdp_send_offer(const struct lt_gpsfu_sdp_transport *local,
                            const bool publish[LT_TRACKS], const uint32_t ssrc[LT_TRACKS],
                            const char *cname, char **out);

/* Reads the SFU's answer to that offer: every published section accepted (port not 0) with
 * our payload type, and the SFU's transport. Errors: -EINVAL with a message in err. */
int lt_gpsfu_sdp_send_answer_read(const char *sdp, size_t len, const bool publish[LT_TRACKS],
                                  struct lt_gpsfu_sdp_transport *remote, char *err, size_t errlen);

/* Answers an offer on the receiving connection as a browser would: every section accepted
 * with all its formats, recvonly (inactive where the offer is inactive), setup:active and the
 * local transport; writes the SFU's transport to *remote. version becomes the o= line's session
 * version. On success *out is the caller's (free()). Errors: -EINVAL with a message in err,
 * -ENOMEM. */
int lt_gpsfu_sdp_recv_answer(const char *offer, size_t len,
                             const struct lt_gpsfu_sdp_transport *local, unsigned version,
                             struct lt_gpsfu_sdp_transport *remote, char **out, char *err,
                             size_t errlen);

#endif
