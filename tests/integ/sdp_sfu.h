/* The signalling a test plays between a real WebRTC stack and the SFU, which speaks no SDP:
 * an m-section of an offer becomes a ProduceRequest, a ConsumeResponse becomes an m-section of
 * our offer, and the SFU's transport (ICE-lite credentials, host candidate, DTLS fingerprint)
 * becomes the session-level and transport attributes of an answer or offer. Built on GstSDP. */
#ifndef INTEG_SDP_SFU_H
#define INTEG_SDP_SFU_H

#include <stddef.h>
#include <stdint.h>

#include <gst/sdp/sdp.h>

#include "integ_util.h"
#include "sfu.pb-c.h"

#define SDP_SFU_MAX_FB   8
#define SDP_SFU_MAX_EXTS 8
#define SDP_SFU_FB_LEN   32
#define SDP_SFU_URI_LEN  96

/* One m-section reduced to what the SFU is told: one codec (and its RTX), one SSRC (and its
 * RTX SSRC), the header extensions, the MID. */
struct sdp_sfu_media {
    Sfu__MediaKind kind;
    char mid[17];
    char codec[16]; /* as in a=rtpmap: "VP8", "OPUS" */
    uint32_t pt;
    uint32_t clock_rate;
    uint32_t channels; /* 0: none given */
    char fmtp[160];    /* without the payload type; "" for none */
    uint32_t rtx_pt;   /* 0: none */
    char rtcp_fb[SDP_SFU_MAX_FB][SDP_SFU_FB_LEN];
    size_t n_rtcp_fb;
    uint32_t ssrc;
    uint32_t rtx_ssrc; /* 0: none */
    char cname[64];
    struct {
        uint32_t id;
        char uri[SDP_SFU_URI_LEN];
    } exts[SDP_SFU_MAX_EXTS];
    size_t n_exts;
};

/* Protobuf views of one struct sdp_sfu_media, for a ProduceRequest (rtp) or a ConsumeRequest
 * (codec, exts). Every pointer borrows from the media it was filled from and from this struct:
 * neither may move or be freed while the views are used. */
struct sdp_sfu_rtp {
    Sfu__RtpParameters rtp;
    Sfu__Codec codec;
    Sfu__Codec *codecs[1];
    Sfu__Encoding enc;
    Sfu__Encoding *encs[1];
    char *fb[SDP_SFU_MAX_FB];
    Sfu__HeaderExtension ext[SDP_SFU_MAX_EXTS];
    Sfu__HeaderExtension *exts[SDP_SFU_MAX_EXTS];
};

/* Reads m-section index of msg, keeping only the codec named codec (case-insensitive, e.g.
 * "VP8"), its RTX (a=fmtp:X apt=pt), its a=rtcp-fb lines, the SSRCs (a=ssrc-group:FID, else the
 * first a=ssrc), the cname, every a=extmap and the a=mid. Errors: -ENOENT (no such m-section or
 * codec), -EBADMSG (a malformed attribute, no MID, no SSRC), -ENOSPC (more rtcp-fb or extmap
 * lines than fit, or a value too long). */
int sdp_sfu_media_parse(const GstSDPMessage *msg, guint index, const char *codec,
                        struct sdp_sfu_media *out);

/* Copies the value of the sha-256 a=fingerprint of msg (media level first, then session level)
 * into out. Errors: -ENOENT (none), -EBADMSG (another algorithm or a malformed value),
 * -ENOSPC (len too small). */
int sdp_sfu_fingerprint_get(const GstSDPMessage *msg, char *out, size_t len);

/* The value of attribute key in the first m-section of msg, else at session level; NULL when
 * absent. Borrowed from msg. */
const char *sdp_sfu_attr_get(const GstSDPMessage *msg, const char *key);

/* Fills the protobuf views of m into pb (see struct sdp_sfu_rtp). */
void sdp_sfu_rtp_fill(struct sdp_sfu_rtp *pb, const struct sdp_sfu_media *m);

/* The m-section a subscriber is offered for one consumer: the codec of resp (the first, the
 * primary), with the fmtp and rtcp-fb of the codec of the same payload type in req (what we
 * asked for: the SFU does not echo them), the consumer's SSRCs, extension ids and MID, and
 * cname. Errors: -EBADMSG (no codec, no encoding, no MID in resp), -ENOSPC (too many). */
int sdp_sfu_media_from_consumed(struct sdp_sfu_media *out, const Sfu__ConsumeResponse *resp,
                                const Sfu__ConsumeRequest *req, const char *cname);

/* The SFU's answer to offer: for each m-section of the offer, the one of accepted with the same
 * MID (its codec, RTX, rtcp-fb and extensions), a=recvonly, a=setup:passive (the SFU is the
 * DTLS server) and t's ICE-lite credentials, fingerprint and host candidate; an m-section with
 * no accepted media is rejected (port 0). BUNDLE groups every accepted MID. On success *out is
 * the caller's (gst_sdp_message_free). Errors: -EINVAL (offer without m-sections), -ENOMEM. */
int sdp_sfu_answer_new(GstSDPMessage **out, const GstSDPMessage *offer,
                       const struct sdp_sfu_media *accepted, size_t n,
                       const struct bench_transport *t);

/* The SFU's offer to a subscriber: one a=sendonly m-section per media (a=ssrc with cname and
 * a=ssrc-group:FID for RTX), BUNDLE, rtcp-mux, a=ice-lite, t's credentials, fingerprint and
 * candidate, and a=setup:actpass as RFC 5763 requires of an offerer; the caller checks that the
 * answer says active, which leaves the SFU the DTLS server it always is. On success *out is the
 * caller's. Errors: -EINVAL (n == 0), -ENOMEM. */
int sdp_sfu_offer_new(GstSDPMessage **out, const struct sdp_sfu_media *media, size_t n,
                      const struct bench_transport *t);

#endif
