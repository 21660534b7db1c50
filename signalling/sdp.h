/* SDP <-> control protocol: a browser's sending offer becomes ProduceRequests and the SFU's
 * answer; ConsumeResponses become the SFU's offer for the receiving connection, whose answer is
 * checked. Parsed and written with GstSDP, every value we rely on validated here. */
#ifndef SIG_SDP_H
#define SIG_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu.pb-c.h"

#define SDP_TEXT_MAX 65536 /* longer input is refused before parsing */
/* m-sections of one connection: a receiving connection holds two (audio, video) per other
 * person, and three with a screen share, so a group of 13 or an MDT of 12 fits. */
#define SDP_MAX_MEDIA 48
#define SDP_MAX_FB    8
#define SDP_MAX_EXTS  16
#define SDP_MAX_RIDS  4
#define SDP_MAX_CANDS 4
#define SDP_MID_LEN   33  /* 32 characters and the NUL */
#define SDP_UFRAG_LEN 257 /* RFC 8839: up to 256 ice-chars */
#define SDP_PWD_LEN   257
#define SDP_FP_LEN    96 /* sha-256: 32 hex pairs joined by ':' (95) and the NUL */
#define SDP_URI_LEN   128
#define SDP_FB_LEN    32
#define SDP_FMTP_LEN  160
#define SDP_CNAME_LEN 80
#define SDP_RID_LEN   17

/* The one codec an m-section is reduced to, and its RTX. */
struct sdp_codec {
    char name[16]; /* as offered: "opus", "VP8", "H264" */
    uint32_t pt;
    uint32_t clock_rate;
    uint32_t channels;                    /* 0: none given */
    char fmtp[SDP_FMTP_LEN];              /* without the payload type; "" for none */
    uint32_t rtx_pt;                      /* 0: no RTX */
    char rtcp_fb[SDP_MAX_FB][SDP_FB_LEN]; /* only the kinds the SFU understands */
    size_t n_rtcp_fb;
};

struct sdp_ext {
    uint32_t id;
    char uri[SDP_URI_LEN];
};

/* One m-section. In a parsed offer, publish says whether it carries media to the SFU; the
 * others (recvonly, inactive, rejected, not audio/video) are only echoed, rejected, in the
 * answer. For sdp_offer_build, publish false writes the section a=inactive (a slot kept for
 * reuse). */
struct sdp_media {
    bool publish;
    Sfu__MediaKind kind;
    char media[16]; /* "audio", "video", "application" */
    char proto[32]; /* for echoing a rejected section */
    char fmt0[32];  /* its first format, likewise */
    char mid[SDP_MID_LEN];
    struct sdp_codec codec;
    uint32_t ssrc;
    uint32_t rtx_ssrc; /* 0: none */
    char cname[SDP_CNAME_LEN];
    struct sdp_ext exts[SDP_MAX_EXTS]; /* every sending extmap offered (ids are the offer's) */
    size_t n_exts;
    char rids[SDP_MAX_RIDS][SDP_RID_LEN]; /* a=rid:X send, recorded; refused for now */
    size_t n_rids;
};

/* What a browser's sending offer says, reduced to what the SFU and our answer need. */
struct sdp_publish {
    char ufrag[SDP_UFRAG_LEN];
    char pwd[SDP_PWD_LEN];
    char fingerprint[SDP_FP_LEN]; /* sha-256 value, "AB:CD:..." as offered */
    bool setup_active;            /* a=setup:active rather than actpass */
    bool extmap_allow_mixed;
    struct sdp_media media[SDP_MAX_MEDIA]; /* every m-section, in order */
    size_t n_media;
};

/* The SFU's side of one transport (from a CreateTransportResponse). Every pointer is borrowed. */
struct sdp_transport {
    const char *ufrag;
    const char *pwd;
    const char *fingerprint; /* sha-256 value */
    struct {
        const char *foundation;
        uint32_t priority;
        const char *ip;
        uint16_t port;
    } cands[SDP_MAX_CANDS];
    size_t n_cands; /* at least one: its address goes into m= and c= */
};

/* What a browser's answer on the receiving connection says. */
struct sdp_remote {
    char ufrag[SDP_UFRAG_LEN];
    char pwd[SDP_PWD_LEN];
    char fingerprint[SDP_FP_LEN];
    bool rejected[SDP_MAX_MEDIA]; /* the browser set the section's port to 0 */
};

/* Protobuf views of one struct sdp_media for a ProduceRequest (rtp). Every pointer borrows
 * from the media it was filled from and from this struct: neither may move or be freed while
 * the views are used. No heap is involved. */
struct sdp_rtp_view {
    Sfu__RtpParameters rtp;
    Sfu__Codec codec;
    Sfu__Codec *codecs[1];
    Sfu__Encoding enc;
    Sfu__Encoding *encs[1];
    char *fb[SDP_MAX_FB];
    Sfu__HeaderExtension ext[SDP_MAX_EXTS];
    Sfu__HeaderExtension *exts[SDP_MAX_EXTS];
};

/* Parses and validates a browser's offer on its sending connection (len bytes of text, NUL not
 * required). Needs one sha-256 a=fingerprint, ICE ufrag/pwd and a=setup actpass or active
 * (passive is refused: the SFU is the DTLS server), the same across sections; a=rtcp-mux and
 * one SSRC (a=ssrc, RTX from a=ssrc-group:FID) in every sending section; BUNDLE over them when
 * there are several. A sending (sendonly/sendrecv) audio section must offer opus/48000/2, a
 * video one VP8/90000 or H264/90000 constrained baseline packetization-mode=1; the first such in
 * the m= line is taken, with its RTX, its rtcp-fb and the section's extmaps. Returns 0 with *out
 * filled, or -EINVAL with a message naming the section and attribute in err (always
 * NUL-terminated when err_len > 0); -ENOMEM when GstSDP cannot allocate. *out is unspecified on
 * error. */
int sdp_offer_parse(const char *text, size_t len, struct sdp_publish *out, char *err,
                    size_t err_len);

/* Fills view with the ProduceRequest rtp of m: its codec (with RTX and rtcp-fb), its SSRCs, its
 * MID and those of its extensions the SFU knows (mid, rid, repaired-rid, transport-cc). */
void sdp_rtp_view_fill(struct sdp_rtp_view *view, const struct sdp_media *m);

/* Whether the SFU handles the header extension uri (the ones answered and produced). */
bool sdp_ext_supported(const char *uri);

/* Fills t with borrowed views of a CreateTransportResponse (its UDP candidates, up to
 * SDP_MAX_CANDS). Errors: -EINVAL (no credentials, no sha-256 fingerprint, no UDP candidate). */
int sdp_transport_from_pb(struct sdp_transport *t, const Sfu__CreateTransportResponse *resp);

/* The SFU's answer to a parsed offer, on transport t: a=ice-lite, BUNDLE over the sending
 * sections, each a=recvonly with a=setup:passive, t's credentials, fingerprint and candidates,
 * rtcp-mux, the accepted codec and its RTX, rtcp-fb and supported extmaps; every other section
 * rejected (port 0, a=inactive). On success *out is a NUL-terminated string the caller frees
 * with free(). Errors: -EINVAL (no sending section, t without a candidate), -ENOMEM. */
int sdp_answer_build(const struct sdp_publish *offer, const struct sdp_transport *t, char **out);

/* Turns one ConsumeResponse into the m-section the subscriber is offered: the response's codec
 * (the first), with the fmtp and rtcp-fb of the codec of the same payload type in req (the SFU
 * does not echo them), the consumer's SSRCs, extensions and MID, and cname. Errors: -EINVAL (no
 * codec, encoding or MID, or a value too long for the fixed fields). */
int sdp_media_from_consumed(struct sdp_media *out, const Sfu__ConsumeResponse *resp,
                            const Sfu__ConsumeRequest *req, const char *cname);

/* The SFU's offer on a receiving connection: one section per media (a=sendonly with a=ssrc,
 * cname and a=ssrc-group:FID, or a=inactive when publish is false), BUNDLE over all, rtcp-mux,
 * a=ice-lite, t's credentials, fingerprint and candidates, and a=setup:actpass as RFC 5763 asks
 * of an offerer; sdp_answer_check then insists on active. version is the o= session version:
 * increase it with each re-offer on the same connection. On success *out is the caller's
 * (free()). Errors: -EINVAL (n == 0 or > SDP_MAX_MEDIA, t without a candidate), -ENOMEM. */
int sdp_offer_build(const struct sdp_media *media, size_t n, const struct sdp_transport *t,
                    unsigned version, char **out);

/* Validates a browser's answer to sdp_offer_build(media, n): the same MIDs in the same order,
 * a=setup:active (so the SFU stays the DTLS server), a sha-256 fingerprint, ICE ufrag/pwd,
 * rtcp-mux and, in each section not rejected, a=recvonly or a=inactive and the offered payload
 * type. Returns 0 with *out filled, -EINVAL with a message in err, or -ENOMEM. */
int sdp_answer_check(const char *text, size_t len, const struct sdp_media *media, size_t n,
                     struct sdp_remote *out, char *err, size_t err_len);

#endif
