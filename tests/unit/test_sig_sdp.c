/* Unit tests for signalling/sdp: real Chromium and Firefox offers parse to what they say, the
 * answers and offers we write re-parse with GstSDP to exactly what they should carry, and broken
 * SDPs are refused with -EINVAL and a message naming the problem. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/sdp/sdp.h>

#include "harness.h"
#include "sdp.h"

#define URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define SFU_FP                                                                                     \
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:"   \
    "E8:F9"

/* Reads tests/data/sdp/name (TEST_DATA_DIR comes from meson: the source tree's tests/data, so
 * the test runs from any folder), NUL-terminated; NULL on failure. */
static char *data_read(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    char *buf = NULL;
    snprintf(path, sizeof(path), "%s/sdp/%s", TEST_DATA_DIR, name);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* src with every occurrence of from replaced by to (malloc'd). */
static char *subst(const char *src, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(src, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(src) + n * tl + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = src, *q; (q = strstr(p, from)); p = q + fl) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        src = q + fl;
    }
    strcpy(o, src);
    return out;
}

/* src without the lines starting with prefix (malloc'd). */
static char *lines_drop(const char *src, const char *prefix)
{
    char *out = malloc(strlen(src) + 1), *o = out;
    if (!out)
        return NULL;
    while (*src) {
        const char *nl = strchr(src, '\n');
        size_t n = nl ? (size_t)(nl - src + 1) : strlen(src);
        if (strncmp(src, prefix, strlen(prefix)) != 0) {
            memcpy(o, src, n);
            o += n;
        }
        src += n;
    }
    *o = '\0';
    return out;
}

static const struct sdp_ext *ext_find(const struct sdp_media *m, const char *uri)
{
    for (size_t i = 0; i < m->n_exts; i++) {
        if (strcmp(m->exts[i].uri, uri) == 0)
            return &m->exts[i];
    }
    return NULL;
}

static int test_chromium_offer(void)
{
    static struct sdp_publish p;
    char err[256];
    size_t len;
    char *text = data_read("chromium-156-offer.sdp", &len);
    CHECK(text != NULL);
    int rc = sdp_offer_parse(text, len, &p, err, sizeof(err));
    free(text);
    if (rc)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(p.ufrag, "Uc/m") == 0);
    CHECK(strcmp(p.pwd, "GgHpU9YWiKjgJlbI7vbmbTJ0") == 0);
    CHECK(strcmp(p.fingerprint, "24:9F:34:D9:1C:1B:F5:40:D3:E7:9F:C9:84:76:8F:4A:CA:0C:26:78:2A:"
                                "F2:02:97:F7:4F:19:80:87:DB:80:AF") == 0);
    CHECK(!p.setup_active);
    CHECK(p.extmap_allow_mixed);
    CHECK_EQ(p.n_media, 2);

    const struct sdp_media *a = &p.media[0], *v = &p.media[1];
    CHECK(a->publish && strcmp(a->mid, "0") == 0);
    CHECK_EQ(a->kind, SFU__MEDIA_KIND__MEDIA_KIND_AUDIO);
    CHECK(strcmp(a->codec.name, "opus") == 0);
    CHECK_EQ(a->codec.pt, 111);
    CHECK_EQ(a->codec.clock_rate, 48000);
    CHECK_EQ(a->codec.channels, 2);
    CHECK(strcmp(a->codec.fmtp, "minptime=10;useinbandfec=1") == 0);
    CHECK_EQ(a->codec.rtx_pt, 0);
    CHECK_EQ(a->codec.n_rtcp_fb, 1);
    CHECK(strcmp(a->codec.rtcp_fb[0], "transport-cc") == 0);
    CHECK_EQ(a->ssrc, 2090019941u);
    CHECK_EQ(a->rtx_ssrc, 0);
    CHECK(strcmp(a->cname, "JkMaQw23hfjUFbM0") == 0);
    CHECK_EQ(a->n_exts, 4);
    CHECK(ext_find(a, URI_MID) && ext_find(a, URI_MID)->id == 4);
    CHECK(ext_find(a, URI_TWCC) && ext_find(a, URI_TWCC)->id == 3);

    CHECK(v->publish && strcmp(v->mid, "1") == 0);
    CHECK_EQ(v->kind, SFU__MEDIA_KIND__MEDIA_KIND_VIDEO);
    CHECK(strcmp(v->codec.name, "VP8") == 0);
    CHECK_EQ(v->codec.pt, 96);
    CHECK_EQ(v->codec.clock_rate, 90000);
    CHECK_EQ(v->codec.rtx_pt, 97);
    CHECK_EQ(v->codec.n_rtcp_fb, 5);
    CHECK(strcmp(v->codec.rtcp_fb[0], "goog-remb") == 0);
    CHECK(strcmp(v->codec.rtcp_fb[4], "nack pli") == 0);
    CHECK_EQ(v->ssrc, 3175140177u);
    CHECK_EQ(v->rtx_ssrc, 245028911u);
    CHECK_EQ(v->n_exts, 11);
    CHECK(ext_find(v, URI_MID) && ext_find(v, URI_MID)->id == 4);
    CHECK(ext_find(v, URI_TWCC) && ext_find(v, URI_TWCC)->id == 3);
    CHECK_EQ(v->n_rids, 0);
    return 0;
}

static int test_firefox_offer(void)
{
    static struct sdp_publish p;
    char err[256];
    size_t len;
    char *text = data_read("firefox-esr-153-offer.sdp", &len);
    CHECK(text != NULL);
    int rc = sdp_offer_parse(text, len, &p, err, sizeof(err));
    free(text);
    if (rc)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(p.ufrag, "ca02194f") == 0);
    CHECK(strcmp(p.pwd, "38f744c28985c4df880b29ff422b6f28") == 0);
    CHECK(strncmp(p.fingerprint, "40:E4:68:FD", 11) == 0 && strlen(p.fingerprint) == 95);
    CHECK_EQ(p.n_media, 2);
    const struct sdp_media *a = &p.media[0], *v = &p.media[1];
    CHECK(a->publish && strcmp(a->mid, "0") == 0);
    CHECK(strcmp(a->codec.name, "opus") == 0);
    CHECK_EQ(a->codec.pt, 109);
    CHECK(strcmp(a->codec.fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1") == 0);
    CHECK_EQ(a->ssrc, 1434163900u);
    CHECK(strcmp(a->cname, "{3917beb6-63f9-4d63-9471-15be48735478}") == 0);
    /* csrc-audio-level is /recvonly: Firefox will not send it, so it is not recorded. */
    CHECK_EQ(a->n_exts, 3);
    CHECK(ext_find(a, URI_MID) && ext_find(a, URI_MID)->id == 3);
    CHECK(ext_find(a, URI_TWCC) && ext_find(a, URI_TWCC)->id == 7);
    /* The video section has port 0 and a=bundle-only: it still publishes. */
    CHECK(v->publish && strcmp(v->mid, "1") == 0);
    CHECK(strcmp(v->codec.name, "VP8") == 0);
    CHECK_EQ(v->codec.pt, 120);
    CHECK_EQ(v->codec.rtx_pt, 124);
    CHECK_EQ(v->codec.n_rtcp_fb, 5);
    CHECK_EQ(v->ssrc, 3533163189u);
    CHECK_EQ(v->rtx_ssrc, 4191902173u);
    CHECK(ext_find(v, URI_MID) && ext_find(v, URI_MID)->id == 3);
    CHECK(ext_find(v, URI_TWCC) && ext_find(v, URI_TWCC)->id == 7);
    return 0;
}

static void transport_fill(struct sdp_transport *t)
{
    memset(t, 0, sizeof(*t));
    t->ufrag = "sfuU";
    t->pwd = "sfupasswordsfupassword";
    t->fingerprint = SFU_FP;
    t->cands[0].foundation = "1";
    t->cands[0].priority = 2130706431u;
    t->cands[0].ip = "192.0.2.10";
    t->cands[0].port = 40000;
    t->n_cands = 1;
}

static int attr_count(const GstSDPMedia *m, const char *key)
{
    int n = 0;
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++)
        n += strcmp(gst_sdp_media_get_attribute(m, i)->key, key) == 0;
    return n;
}

static int test_answer_to_chromium(void)
{
    static struct sdp_publish p;
    struct sdp_transport t;
    char err[256], *answer = NULL;
    size_t len;
    char *text = data_read("chromium-156-offer.sdp", &len);
    CHECK(text != NULL);
    int rc = sdp_offer_parse(text, len, &p, err, sizeof(err));
    free(text);
    CHECK_EQ(rc, 0);
    transport_fill(&t);
    CHECK_EQ(sdp_answer_build(&p, &t, &answer), 0);

    GstSDPMessage *msg;
    gst_sdp_message_new(&msg);
    CHECK_EQ(gst_sdp_message_parse_buffer((const guint8 *)answer, (guint)strlen(answer), msg),
             GST_SDP_OK);
    free(answer);
    rc = -1;
    const char *group = gst_sdp_message_get_attribute_val(msg, "group");
    const GstSDPMedia *a = gst_sdp_message_get_media(msg, 0),
                      *v = gst_sdp_message_get_media(msg, 1);
    if (gst_sdp_message_medias_len(msg) != 2 || !group || strcmp(group, "BUNDLE 0 1") != 0 ||
        !gst_sdp_message_get_attribute_val(msg, "ice-lite"))
        goto out;
    /* Audio: opus 111 only, no RTX; only the extensions the SFU knows. */
    if (gst_sdp_media_formats_len(a) != 1 || strcmp(gst_sdp_media_get_format(a, 0), "111") != 0 ||
        gst_sdp_media_get_port(a) != 40000 ||
        strcmp(gst_sdp_media_get_attribute_val(a, "rtpmap"), "111 opus/48000/2") != 0 ||
        strcmp(gst_sdp_media_get_attribute_val(a, "fmtp"), "111 minptime=10;useinbandfec=1") != 0 ||
        attr_count(a, "extmap") != 2 || attr_count(a, "recvonly") != 1 || attr_count(a, "ssrc"))
        goto out;
    /* Video: VP8 96 and its RTX 97. */
    if (gst_sdp_media_formats_len(v) != 2 || strcmp(gst_sdp_media_get_format(v, 0), "96") != 0 ||
        strcmp(gst_sdp_media_get_format(v, 1), "97") != 0 || attr_count(v, "rtcp-fb") != 5 ||
        attr_count(v, "extmap") != 4 || attr_count(v, "rtpmap") != 2)
        goto out;
    for (guint i = 0; i < 2; i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(msg, i);
        if (strcmp(gst_sdp_media_get_attribute_val(m, "setup"), "passive") != 0 ||
            strcmp(gst_sdp_media_get_attribute_val(m, "ice-ufrag"), "sfuU") != 0 ||
            strcmp(gst_sdp_media_get_attribute_val(m, "ice-pwd"), t.pwd) != 0 ||
            strcmp(gst_sdp_media_get_attribute_val(m, "fingerprint"), "sha-256 " SFU_FP) != 0 ||
            strcmp(gst_sdp_media_get_attribute_val(m, "candidate"),
                   "1 1 udp 2130706431 192.0.2.10 40000 typ host") != 0 ||
            attr_count(m, "rtcp-mux") != 1)
            goto out;
    }
    rc = 0;
out:
    gst_sdp_message_free(msg);
    CHECK_EQ(rc, 0);
    return 0;
}

/* A data channel section in the offer is answered rejected, with its MID, outside BUNDLE. */
static int test_answer_rejects_datachannel(void)
{
    static struct sdp_publish p;
    struct sdp_transport t;
    char err[256], *answer = NULL;
    size_t len;
    char *text = data_read("chromium-156-offer.sdp", &len);
    CHECK(text != NULL);
    char *dc = malloc(len + 200);
    CHECK(dc != NULL);
    snprintf(dc, len + 200, "%sm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n",
             text);
    free(text);
    int rc = sdp_offer_parse(dc, strlen(dc), &p, err, sizeof(err));
    free(dc);
    if (rc)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(p.n_media, 3);
    CHECK(!p.media[2].publish);
    transport_fill(&t);
    CHECK_EQ(sdp_answer_build(&p, &t, &answer), 0);
    CHECK(strstr(answer, "a=group:BUNDLE 0 1\r\n") != NULL);
    CHECK(strstr(answer, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
                         "a=inactive\r\n") != NULL);
    free(answer);
    return 0;
}

static int test_rtp_view(void)
{
    static struct sdp_publish p;
    struct sdp_rtp_view view;
    char err[256];
    size_t len;
    char *text = data_read("chromium-156-offer.sdp", &len);
    CHECK(text != NULL);
    int rc = sdp_offer_parse(text, len, &p, err, sizeof(err));
    free(text);
    CHECK_EQ(rc, 0);
    sdp_rtp_view_fill(&view, &p.media[1]);
    CHECK(strcmp(view.rtp.mid, "1") == 0);
    CHECK_EQ(view.rtp.n_codecs, 1);
    CHECK(strcmp(view.rtp.codecs[0]->name, "VP8") == 0);
    CHECK_EQ(view.rtp.codecs[0]->payload_type, 96);
    CHECK_EQ(view.rtp.codecs[0]->rtx_payload_type, 97);
    CHECK_EQ(view.rtp.codecs[0]->n_rtcp_fb, 5);
    CHECK_EQ(view.rtp.encodings[0]->ssrc, 3175140177u);
    CHECK_EQ(view.rtp.encodings[0]->rtx_ssrc, 245028911u);
    /* mid, transport-cc, rid and repaired-rid: what the SFU knows of the eleven offered. */
    CHECK_EQ(view.rtp.n_header_extensions, 4);
    CHECK_EQ(view.rtp.header_extensions[0]->id, 3);
    CHECK(strcmp(view.rtp.header_extensions[0]->uri, URI_TWCC) == 0);
    /* The view packs as a message: it is a complete protobuf structure. */
    uint8_t buf[1024];
    size_t n = sfu__rtp_parameters__get_packed_size(&view.rtp);
    CHECK(n > 0 && n < sizeof(buf));
    CHECK_EQ(sfu__rtp_parameters__pack(&view.rtp, buf), n);
    Sfu__RtpParameters *back = sfu__rtp_parameters__unpack(NULL, n, buf);
    CHECK(back != NULL);
    rc = back->n_encodings == 1 && back->encodings[0]->rtx_ssrc == 245028911u ? 0 : -1;
    sfu__rtp_parameters__free_unpacked(back, NULL);
    CHECK_EQ(rc, 0);
    return 0;
}

/* A one-section video offer with the given formats and codec lines. */
static int video_offer(char *buf, size_t cap, const char *fmts, const char *codecs)
{
    return snprintf(buf, cap,
                    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                    "m=video 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\n"
                    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
                    "a=fingerprint:sha-256 " SFU_FP "\r\na=setup:actpass\r\na=mid:v\r\n"
                    "a=sendonly\r\na=rtcp-mux\r\n%sa=ssrc:42 cname:x\r\n",
                    fmts, codecs);
}

static int test_h264_choice(void)
{
    static struct sdp_publish p;
    char text[2048], err[256];
    /* Baseline with packetization-mode 0, then main profile: neither; then 42e01f mode 1. */
    video_offer(
        text, sizeof(text), "104 116 108",
        "a=rtpmap:104 H264/90000\r\n"
        "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\n"
        "a=rtpmap:116 H264/90000\r\n"
        "a=fmtp:116 packetization-mode=1;profile-level-id=4d001f\r\n"
        "a=rtpmap:108 H264/90000\r\n"
        "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
        "a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n");
    CHECK_EQ(sdp_offer_parse(text, strlen(text), &p, err, sizeof(err)), 0);
    CHECK_EQ(p.media[0].codec.pt, 108);
    CHECK_EQ(p.media[0].codec.rtx_pt, 109);
    CHECK(strstr(p.media[0].codec.fmtp, "profile-level-id=42e01f") != NULL);
    CHECK_EQ(p.media[0].ssrc, 42);
    video_offer(text, sizeof(text), "104 116",
                "a=rtpmap:104 H264/90000\r\n"
                "a=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\n"
                "a=rtpmap:116 H264/90000\r\n"
                "a=fmtp:116 packetization-mode=1;profile-level-id=640c1f\r\n");
    CHECK_EQ(sdp_offer_parse(text, strlen(text), &p, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "m=video (mid v): no codec we accept (offered: H264)") == 0);
    return 0;
}

static int test_unsupported_codecs(void)
{
    static struct sdp_publish p;
    char text[2048], err[256];
    video_offer(text, sizeof(text), "45 46 98",
                "a=rtpmap:45 AV1/90000\r\na=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n"
                "a=rtpmap:98 VP9/90000\r\n");
    CHECK_EQ(sdp_offer_parse(text, strlen(text), &p, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "m=video (mid v): no codec we accept (offered: AV1, VP9)") == 0);
    return 0;
}

/* Parses text and expects -EINVAL with fragment in the message. */
static int expect_refused(const char *text, const char *fragment)
{
    static struct sdp_publish p;
    char err[256] = "";
    int rc;
    if (!text)
        return -1;
    rc = sdp_offer_parse(text, strlen(text), &p, err, sizeof(err));
    if (rc != -EINVAL || !strstr(err, fragment)) {
        fprintf(stderr, "expected -EINVAL with \"%s\", got %d \"%s\"\n", fragment, rc, err);
        return -1;
    }
    return 0;
}

/* Each broken variant of the Chromium offer, and the message it must get. */
static int test_bad_offers(void)
{
    size_t len;
    char *base = data_read("chromium-156-offer.sdp", &len);
    char *s;
    int rc = 0;
    CHECK(base != NULL);
#define REFUSED(expr, frag)                                                                        \
    do {                                                                                           \
        s = (expr);                                                                                \
        if (expect_refused(s, frag) < 0) {                                                         \
            fprintf(stderr, "  (case at line %d)\n", __LINE__);                                    \
            rc = -1;                                                                               \
        }                                                                                          \
        free(s);                                                                                   \
    } while (0)
    REFUSED(lines_drop(base, "a=fingerprint"), "m=audio (mid 0): no a=fingerprint");
    REFUSED(subst(base, "a=fingerprint:sha-256 ", "a=fingerprint:sha-1 "),
            "no sha-256 fingerprint (offered: sha-1)");
    REFUSED(subst(base, "a=fingerprint:sha-256 24:9F:", "a=fingerprint:sha-256 24:9F"),
            "not 32 hex pairs");
    REFUSED(subst(base, "a=setup:actpass", "a=setup:passive"),
            "m=audio (mid 0): a=setup:passive refused");
    REFUSED(lines_drop(base, "a=setup"), "no a=setup");
    REFUSED(lines_drop(base, "a=rtcp-mux"), "m=audio (mid 0): no a=rtcp-mux");
    REFUSED(lines_drop(base, "a=group:BUNDLE"), "no a=group:BUNDLE");
    REFUSED(subst(base, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0"),
            "a=group:BUNDLE does not list mid 1");
    REFUSED(lines_drop(base, "a=ice-ufrag"), "m=audio (mid 0): no a=ice-ufrag");
    REFUSED(lines_drop(base, "a=ice-pwd"), "no a=ice-pwd");
    REFUSED(subst(base, "a=ice-ufrag:Uc/m", "a=ice-ufrag:U;c"), "a=ice-ufrag must be");
    REFUSED(subst(base, "a=mid:1", "a=mid:0"), "a=mid:0 appears in two sections");
    REFUSED(lines_drop(base, "a=mid"), "no a=mid");
    REFUSED(lines_drop(base, "a=ssrc"), "m=audio (mid 0): no a=ssrc");
    REFUSED(subst(base, "a=sendrecv", "a=recvonly"), "no sendonly or sendrecv");
    REFUSED(subst(base, "opus/48000/2", "opus/48000"), "m=audio (mid 0): no codec we accept");
    REFUSED(subst(base, "a=extmap:4 urn", "a=extmap:3 urn"), "a=extmap:3 appears twice");
    REFUSED(subst(base, "a=extmap:4 urn", "a=extmap:0 urn"), "a=extmap: bad id");
    REFUSED(subst(base, "a=ssrc-group:FID 3175140177 245028911",
                  "a=ssrc-group:SIM 3175140177 245028911"),
            "simulcast is not supported");
    /* The video section's SSRC lines replaced by a RID. */
    char *no_ssrc = strdup(base), *video_ssrcs = NULL;
    CHECK(no_ssrc != NULL);
    video_ssrcs = lines_drop(strstr(base, "m=video"), "a=ssrc");
    CHECK(video_ssrcs != NULL);
    strcpy(strstr(no_ssrc, "m=video"), video_ssrcs);
    free(video_ssrcs);
    REFUSED(subst(no_ssrc, "a=mid:1\r\n", "a=mid:1\r\na=rid:h send\r\n"),
            "m=video (mid 1): simulcast by RID only (a=rid:h ...)");
    free(no_ssrc);
    REFUSED(strdup("hello world"), "not an SDP");
    REFUSED(strdup("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), "no m= section");
    REFUSED(strdup(""), "empty SDP");
    /* One section more than fit. */
    char many[SDP_MAX_MEDIA * 40 + 256] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    char want[64];
    for (int i = 0; i < SDP_MAX_MEDIA + 1; i++)
        strcat(many, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    snprintf(want, sizeof(want), "%d m= sections: at most %d", SDP_MAX_MEDIA + 1, SDP_MAX_MEDIA);
    REFUSED(strdup(many), want);
#undef REFUSED
    /* A second section with other ICE credentials. */
    char *tail = strstr(base, "m=video");
    CHECK(tail != NULL);
    char *other = subst(tail, "Uc/m", "Xy/z");
    CHECK(other != NULL);
    strcpy(tail, other);
    free(other);
    CHECK_EQ(expect_refused(base, "m=video (mid 1): a=ice-ufrag/ice-pwd differ"), 0);
    /* A NUL in the middle is refused, not read as the end. */
    static struct sdp_publish p;
    char err[128];
    base[20] = '\0';
    CHECK_EQ(sdp_offer_parse(base, len, &p, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "NUL") != NULL);
    free(base);
    return rc;
}

/* Every prefix of both real offers: a result, never a crash; an error always has a message. */
static int test_truncated(void)
{
    static const char *files[] = {"chromium-156-offer.sdp", "firefox-esr-153-offer.sdp"};
    static struct sdp_publish p;
    for (size_t f = 0; f < 2; f++) {
        size_t len, ok = 0;
        char *text = data_read(files[f], &len);
        char err[256];
        CHECK(text != NULL);
        for (size_t n = 0; n <= len; n++) {
            err[0] = '\0';
            int rc = sdp_offer_parse(text, n, &p, err, sizeof(err));
            if (rc == 0) {
                ok++;
            } else if (rc != -EINVAL || err[0] == '\0') {
                fprintf(stderr, "%s cut at %zu: %d \"%s\"\n", files[f], n, rc, err);
                free(text);
                return -1;
            }
        }
        free(text);
        /* Only cuts inside the trailing a=ssrc lines leave a complete offer. */
        fprintf(stderr, "%s: %zu of %zu prefixes parse\n", files[f], ok, len + 1);
        CHECK(ok >= 1 && ok < 1000);
    }
    return 0;
}

/* A ConsumeResponse as the SFU sends it: VP8 96 with RTX 97, MID and transport-cc ids. */
struct consumed {
    Sfu__ConsumeResponse resp;
    Sfu__RtpParameters rtp;
    Sfu__Codec codec;
    Sfu__Codec *codecs[1];
    Sfu__Encoding enc;
    Sfu__Encoding *encs[1];
    Sfu__HeaderExtension ext[2];
    Sfu__HeaderExtension *exts[2];
    Sfu__ConsumeRequest req;
    Sfu__Codec req_codec;
    Sfu__Codec *req_codecs[1];
    char *fb[3];
};

static void consumed_init(struct consumed *c, const char *mid)
{
    sfu__consume_response__init(&c->resp);
    sfu__rtp_parameters__init(&c->rtp);
    sfu__codec__init(&c->codec);
    sfu__encoding__init(&c->enc);
    c->codec.name = "VP8";
    c->codec.payload_type = 96;
    c->codec.clock_rate = 90000;
    c->codec.rtx_payload_type = 97;
    c->codecs[0] = &c->codec;
    c->enc.ssrc = 1111;
    c->enc.rtx_ssrc = 2222;
    c->encs[0] = &c->enc;
    for (int i = 0; i < 2; i++) {
        sfu__header_extension__init(&c->ext[i]);
        c->exts[i] = &c->ext[i];
    }
    c->ext[0].id = 4;
    c->ext[0].uri = URI_MID;
    c->ext[1].id = 5;
    c->ext[1].uri = URI_TWCC;
    c->rtp.mid = (char *)mid;
    c->rtp.n_codecs = 1;
    c->rtp.codecs = c->codecs;
    c->rtp.n_encodings = 1;
    c->rtp.encodings = c->encs;
    c->rtp.n_header_extensions = 2;
    c->rtp.header_extensions = c->exts;
    c->resp.kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    c->resp.rtp = &c->rtp;
    sfu__consume_request__init(&c->req);
    sfu__codec__init(&c->req_codec);
    c->req_codec.payload_type = 96;
    c->fb[0] = "nack";
    c->fb[1] = "nack pli";
    c->fb[2] = "ccm fir";
    c->req_codec.n_rtcp_fb = 3;
    c->req_codec.rtcp_fb = c->fb;
    c->req_codecs[0] = &c->req_codec;
    c->req.n_codecs = 1;
    c->req.codecs = c->req_codecs;
}

static int test_offer_build(void)
{
    struct consumed c;
    struct sdp_media media;
    struct sdp_transport t;
    char *offer = NULL;
    consumed_init(&c, "3");
    CHECK_EQ(sdp_media_from_consumed(&media, &c.resp, &c.req, "gpsfu"), 0);
    CHECK_EQ(media.codec.n_rtcp_fb, 3);
    transport_fill(&t);
    CHECK_EQ(sdp_offer_build(&media, 1, &t, 7, &offer), 0);
    GstSDPMessage *msg;
    gst_sdp_message_new(&msg);
    gst_sdp_message_parse_buffer((const guint8 *)offer, (guint)strlen(offer), msg);
    free(offer);
    int rc = -1;
    const GstSDPMedia *m = gst_sdp_message_get_media(msg, 0);
    if (gst_sdp_message_medias_len(msg) == 1 &&
        strcmp(gst_sdp_message_get_origin(msg)->sess_version, "7") == 0 &&
        strcmp(gst_sdp_message_get_attribute_val(msg, "group"), "BUNDLE 3") == 0 &&
        strcmp(gst_sdp_media_get_attribute_val(m, "setup"), "actpass") == 0 &&
        attr_count(m, "sendonly") == 1 && attr_count(m, "rtcp-fb") == 3 &&
        attr_count(m, "extmap") == 2 &&
        strcmp(gst_sdp_media_get_attribute_val(m, "ssrc-group"), "FID 1111 2222") == 0 &&
        strcmp(gst_sdp_media_get_attribute_val(m, "ssrc"), "1111 cname:gpsfu") == 0 &&
        strcmp(gst_sdp_media_get_attribute_val(m, "mid"), "3") == 0)
        rc = 0;
    gst_sdp_message_free(msg);
    CHECK_EQ(rc, 0);
    /* A response without a MID is refused. */
    c.rtp.mid = "";
    CHECK_EQ(sdp_media_from_consumed(&media, &c.resp, &c.req, "gpsfu"), -EINVAL);
    return 0;
}

/* What a browser answers to the offer above (trimmed to what matters). */
#define BROWSER_ANSWER                                                                             \
    "v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 3\r\n"                      \
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"                                    \
    "a=ice-ufrag:brWs\r\na=ice-pwd:browserpasswordbrowser1\r\n"                                    \
    "a=fingerprint:sha-256 " SFU_FP "\r\na=setup:active\r\na=mid:3\r\na=recvonly\r\n"              \
    "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"

static int answer_expect(const struct sdp_media *media, const char *text, const char *fragment)
{
    struct sdp_remote r;
    char err[256] = "";
    int rc = text ? sdp_answer_check(text, strlen(text), media, 1, &r, err, sizeof(err)) : -1;
    if (rc != -EINVAL || !strstr(err, fragment)) {
        fprintf(stderr, "expected -EINVAL with \"%s\", got %d \"%s\"\n", fragment, rc, err);
        return -1;
    }
    return 0;
}

static int test_answer_check(void)
{
    struct consumed c;
    struct sdp_media media;
    struct sdp_remote r;
    char err[256];
    consumed_init(&c, "3");
    CHECK_EQ(sdp_media_from_consumed(&media, &c.resp, &c.req, "gpsfu"), 0);
    const char *ok = BROWSER_ANSWER;
    CHECK_EQ(sdp_answer_check(ok, strlen(ok), &media, 1, &r, err, sizeof(err)), 0);
    CHECK(strcmp(r.ufrag, "brWs") == 0);
    CHECK(strcmp(r.pwd, "browserpasswordbrowser1") == 0);
    CHECK(strcmp(r.fingerprint, SFU_FP) == 0);
    CHECK(!r.rejected[0]);
    char *s[6] = {
        subst(ok, "a=setup:active", "a=setup:passive"),
        subst(ok, "a=mid:3", "a=mid:4"),
        lines_drop(ok, "a=fingerprint"),
        subst(ok, "a=recvonly", "a=sendrecv"),
        subst(ok, "SAVPF 96 97", "SAVPF 100"),
        lines_drop(ok, "a=ice-pwd"),
    };
    int rc = 0;
    rc |= answer_expect(&media, s[0], "a=setup:passive: the answer must be active");
    rc |= answer_expect(&media, s[1], "a=mid:4 does not match the offer");
    rc |= answer_expect(&media, s[2], "no a=fingerprint");
    rc |= answer_expect(&media, s[3], "a=sendrecv");
    rc |= answer_expect(&media, s[4], "does not accept payload type 96");
    rc |= answer_expect(&media, s[5], "no a=ice-pwd");
    for (int i = 0; i < 6; i++)
        free(s[i]);
    CHECK_EQ(rc, 0);
    return 0;
}

/* The SFU's CreateTransportResponse as the answer's transport: UDP candidates only. */
static int test_transport_from_pb(void)
{
    Sfu__CreateTransportResponse resp = SFU__CREATE_TRANSPORT_RESPONSE__INIT;
    Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
    Sfu__IceCandidate tcp = SFU__ICE_CANDIDATE__INIT, udp = SFU__ICE_CANDIDATE__INIT;
    Sfu__IceCandidate *cands[2] = {&tcp, &udp};
    struct sdp_transport t;
    resp.ice_ufrag = "sfuU";
    resp.ice_pwd = "sfupasswordsfupassword";
    tcp.foundation = "2";
    tcp.ip = "192.0.2.10";
    tcp.port = 443;
    tcp.protocol = "tcp";
    udp.foundation = "1";
    udp.priority = 7;
    udp.ip = "192.0.2.10";
    udp.port = 40000;
    udp.protocol = "udp";
    resp.n_candidates = 2;
    resp.candidates = cands;
    CHECK_EQ(sdp_transport_from_pb(&t, &resp), -EINVAL); /* no fingerprint */
    fp.algorithm = "sha-1";
    fp.value = SFU_FP;
    resp.fingerprint = &fp;
    CHECK_EQ(sdp_transport_from_pb(&t, &resp), -EINVAL);
    fp.algorithm = "sha-256";
    CHECK_EQ(sdp_transport_from_pb(&t, &resp), 0);
    CHECK_EQ(t.n_cands, 1);
    CHECK(strcmp(t.cands[0].foundation, "1") == 0);
    CHECK_EQ(t.cands[0].port, 40000);
    CHECK(t.fingerprint == fp.value && strcmp(t.ufrag, "sfuU") == 0);
    udp.protocol = "tcp";
    CHECK_EQ(sdp_transport_from_pb(&t, &resp), -EINVAL); /* no UDP candidate left */
    return 0;
}

/* setup:active is accepted (the browser is the DTLS client either way); a=rid lines next to an
 * SSRC are recorded and the SSRC is used. */
static int test_setup_active_and_rids(void)
{
    static struct sdp_publish p;
    char text[2048], err[256];
    video_offer(text, sizeof(text), "96",
                "a=rtpmap:96 VP8/90000\r\na=rid:q send\r\na=rid:f send\r\na=rid:r recv\r\n");
    char *active = subst(text, "a=setup:actpass", "a=setup:active");
    CHECK(active != NULL);
    int rc = sdp_offer_parse(active, strlen(active), &p, err, sizeof(err));
    free(active);
    CHECK_EQ(rc, 0);
    CHECK(p.setup_active);
    CHECK_EQ(p.media[0].n_rids, 2);
    CHECK(strcmp(p.media[0].rids[0], "q") == 0 && strcmp(p.media[0].rids[1], "f") == 0);
    CHECK_EQ(p.media[0].ssrc, 42);
    CHECK_EQ(p.media[0].codec.rtx_pt, 0);
    return 0;
}

/* A slot kept for reuse is offered a=inactive, bundled, without SSRCs. */
static int test_offer_inactive_slot(void)
{
    struct consumed c;
    struct sdp_media media[2];
    struct sdp_transport t;
    char *offer = NULL;
    consumed_init(&c, "0");
    CHECK_EQ(sdp_media_from_consumed(&media[0], &c.resp, &c.req, "gpsfu"), 0);
    consumed_init(&c, "1");
    c.enc.ssrc = 3333;
    CHECK_EQ(sdp_media_from_consumed(&media[1], &c.resp, &c.req, "gpsfu"), 0);
    media[0].publish = false;
    transport_fill(&t);
    CHECK_EQ(sdp_offer_build(media, 2, &t, 2, &offer), 0);
    CHECK(strstr(offer, "a=group:BUNDLE 0 1\r\n") != NULL);
    CHECK(strstr(offer, "a=mid:0\r\n") != NULL);
    CHECK(strstr(offer, "a=inactive\r\n") != NULL);
    CHECK(strstr(offer, "a=ssrc:1111") == NULL);
    CHECK(strstr(offer, "a=inactive\r\na=extmap:4 ") != NULL);
    CHECK(strstr(offer, "a=rtpmap:96 VP8/90000\r\n") != NULL);
    CHECK(strstr(offer, "a=ssrc:3333 cname:gpsfu\r\n") != NULL);
    free(offer);
    return 0;
}

static const struct test_case cases[] = {
    {"chromium_offer", test_chromium_offer},
    {"firefox_offer", test_firefox_offer},
    {"answer_to_chromium", test_answer_to_chromium},
    {"answer_rejects_datachannel", test_answer_rejects_datachannel},
    {"rtp_view", test_rtp_view},
    {"h264_choice", test_h264_choice},
    {"unsupported_codecs", test_unsupported_codecs},
    {"bad_offers", test_bad_offers},
    {"truncated", test_truncated},
    {"offer_build", test_offer_build},
    {"answer_check", test_answer_check},
    {"transport_from_pb", test_transport_from_pb},
    {"setup_active_and_rids", test_setup_active_and_rids},
    {"offer_inactive_slot", test_offer_inactive_slot},
};

TEST_MAIN(cases)
