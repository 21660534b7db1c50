/* SDP for the simulated browser, on GstSDP: a Chromium-like sending offer, reading the SFU's
 * answer, and answering the SFU's receiving offers. */
#include "lt_gpsfu_sdp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <gst/sdp/sdp.h>

#include "lt_proc.h"

#define URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_ABS_SEND    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define URI_TWCC        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define URI_MID         "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_ORIENTATION "urn:3gpp:video-orientation"

static void attr_add(GstSDPMedia *md, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void attr_add(GstSDPMedia *md, const char *key, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    gst_sdp_media_add_attribute(md, key, v);
}

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint64_t)(uintptr_t)&v ^ 0x9e3779b97f4a7c15ull; /* unique enough for an o= line */
    return v;
}

/* A token like Chromium's stream and track ids (letters and digits). */
static void random_token(char *out, size_t n)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = chars[random_u64() % (sizeof(chars) - 1)];
    out[n - 1] = '\0';
}

int lt_gpsfu_sdp_transport_of_peer(struct lt_gpsfu_sdp_transport *t, const struct peer *p)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->ufrag, sizeof(t->ufrag), "%s", peer_ice_ufrag(p));
    snprintf(t->pwd, sizeof(t->pwd), "%s", peer_ice_pwd(p));
    snprintf(t->fingerprint, sizeof(t->fingerprint), "%s", peer_fingerprint(p));
    int n = peer_local_candidates(p, t->cands, LT_GPSFU_SDP_MAX_CANDS);
    if (n <= 0)
        return -EIO;
    t->n_cands = (size_t)n;
    return 0;
}

/* ICE credentials, fingerprint and candidates, the same in every section of one transport. */
static void transport_write(GstSDPMedia *md, const struct lt_gpsfu_sdp_transport *t,
                            const char *setup)
{
    for (size_t i = 0; i < t->n_cands; i++)
        attr_add(md, "candidate", "%s 1 udp %" PRIu32 " %s %u typ host", t->cands[i].foundation,
                 t->cands[i].priority, t->cands[i].ip, t->cands[i].port);
    gst_sdp_media_add_attribute(md, "end-of-candidates", "");
    gst_sdp_media_add_attribute(md, "ice-ufrag", t->ufrag);
    gst_sdp_media_add_attribute(md, "ice-pwd", t->pwd);
    attr_add(md, "fingerprint", "sha-256 %s", t->fingerprint);
    gst_sdp_media_add_attribute(md, "setup", setup);
}

static const char *addr_type(const char *ip)
{
    return strchr(ip, ':') ? "IP6" : "IP4";
}

static void session_init(GstSDPMessage *msg, uint64_t sess_id, unsigned version)
{
    char id[24], v[16];
    snprintf(id, sizeof(id), "%" PRIu64, sess_id & INT64_MAX);
    snprintf(v, sizeof(v), "%u", version);
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", id, v, "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
}

static int text_take(GstSDPMessage *msg, char **out)
{
    gchar *text = gst_sdp_message_as_text(msg);
    char *copy = text ? strdup(text) : NULL;
    g_free(text);
    gst_sdp_message_free(msg);
    if (!copy)
        return -ENOMEM;
    *out = copy;
    return 0;
}

/* One sendonly section for track k, as Chromium writes a transceiver with a track. */
static void send_media_write(GstSDPMedia *md, enum lt_track k, const char *mid,
                             const struct lt_gpsfu_sdp_transport *t, uint32_t ssrc,
                             const char *cname, const char *stream, const char *track)
{
    bool audio = k == LT_AUDIO;
    unsigned pt = audio ? LT_GPSFU_SDP_PT_OPUS : LT_GPSFU_SDP_PT_VP8;
    char fmt[8];
    gst_sdp_media_set_media(md, audio ? "audio" : "video");
    gst_sdp_media_set_port_info(md, t->cands[0].port, 1);
    gst_sdp_media_set_proto(md, "UDP/TLS/RTP/SAVPF");
    snprintf(fmt, sizeof(fmt), "%u", pt);
    gst_sdp_media_add_format(md, fmt);
    gst_sdp_media_add_connection(md, "IN", addr_type(t->cands[0].ip), t->cands[0].ip, 0, 0);
    transport_write(md, t, "actpass");
    gst_sdp_media_add_attribute(md, "mid", mid);
    if (audio)
        attr_add(md, "extmap", "1 %s", URI_AUDIO_LEVEL);
    attr_add(md, "extmap", "2 %s", URI_ABS_SEND);
    attr_add(md, "extmap", "3 %s", URI_TWCC);
    attr_add(md, "extmap", "4 %s", URI_MID);
    if (!audio)
        attr_add(md, "extmap", "13 %s", URI_ORIENTATION);
    gst_sdp_media_add_attribute(md, "sendonly", "");
    attr_add(md, "msid", "%s %s", stream, track);
    gst_sdp_media_add_attribute(md, "rtcp-mux", "");
    if (audio) {
        attr_add(md, "rtpmap", "%u opus/48000/2", pt);
        attr_add(md, "rtcp-fb", "%u transport-cc", pt);
        attr_add(md, "fmtp", "%u minptime=10;useinbandfec=1", pt);
    } else {
        gst_sdp_media_add_attribute(md, "rtcp-rsize", "");
        attr_add(md, "rtpmap", "%u VP8/90000", pt);
        attr_add(md, "rtcp-fb", "%u goog-remb", pt);
        attr_add(md, "rtcp-fb", "%u transport-cc", pt);
        attr_add(md, "rtcp-fb", "%u ccm fir", pt);
        attr_add(md, "rtcp-fb", "%u nack", pt);
        attr_add(md, "rtcp-fb", "%u nack pli", pt);
    }
    attr_add(md, "ssrc", "%" PRIu32 " cname:%s", ssrc, cname);
    attr_add(md, "ssrc", "%" PRIu32 " msid:%s %s", ssrc, stream, track);
}

int lt_gpsfu_sdp_send_offer(const struct lt_gpsfu_sdp_transport *local,
                            const bool publish[LT_TRACKS], const uint32_t ssrc[LT_TRACKS],
                            const char *cname, char **out)
{
    GstSDPMessage *msg;
    char bundle[64] = "BUNDLE", camera[37], screen[37], semantic[96];
    unsigned n = 0;
    if (!local || local->n_cands == 0)
        return -EINVAL;
    for (int k = 0; k < LT_TRACKS; k++) {
        if (publish[k])
            snprintf(bundle + strlen(bundle), sizeof(bundle) - strlen(bundle), " %u", n++);
    }
    if (n == 0)
        return -EINVAL;
    /* The microphone and camera come from one getUserMedia stream, the screen from its own
     * getDisplayMedia one. */
    random_token(camera, sizeof(camera));
    random_token(screen, sizeof(screen));
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return -ENOMEM;
    session_init(msg, random_u64(), 2);
    gst_sdp_message_add_attribute(msg, "group", bundle);
    gst_sdp_message_add_attribute(msg, "extmap-allow-mixed", "");
    snprintf(semantic, sizeof(semantic), " WMS %s%s%s",
             publish[LT_AUDIO] || publish[LT_VIDEO] ? camera : "", publish[LT_SCREEN] ? " " : "",
             publish[LT_SCREEN] ? screen : "");
    gst_sdp_message_add_attribute(msg, "msid-semantic", semantic);
    n = 0;
    for (int k = 0; k < LT_TRACKS; k++) {
        GstSDPMedia md;
        char mid[8], track[37];
        if (!publish[k])
            continue;
        snprintf(mid, sizeof(mid), "%u", n++);
        random_token(track, sizeof(track));
        memset(&md, 0, sizeof(md)); /* init frees what it finds */
        gst_sdp_media_init(&md);
        send_media_write(&md, (enum lt_track)k, mid, local, ssrc[k], cname,
                         k == LT_SCREEN ? screen : camera, track);
        /* add_media takes over what md holds. */
        gst_sdp_message_add_media(msg, &md);
    }
    return text_take(msg, out);
}

static int msg_parse(const char *text, size_t len, GstSDPMessage **out)
{
    GstSDPMessage *msg;
    char *copy;
    if (!text || len == 0 || memchr(text, '\0', len))
        return -EINVAL;
    /* GstSDP reads up to a NUL whatever the length says. */
    copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (gst_sdp_message_new(&msg) != GST_SDP_OK) {
        free(copy);
        return -ENOMEM;
    }
    gst_sdp_message_parse_buffer((const guint8 *)copy, (guint)len, msg);
    free(copy);
    if (gst_sdp_message_medias_len(msg) == 0) {
        gst_sdp_message_free(msg);
        return -EINVAL;
    }
    *out = msg;
    return 0;
}

static const char *attr_val(const GstSDPMessage *msg, const GstSDPMedia *m, const char *key)
{
    const char *v = gst_sdp_media_get_attribute_val(m, key);
    return v ? v : gst_sdp_message_get_attribute_val(msg, key);
}

static bool media_has(const GstSDPMedia *m, const char *key)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        if (strcmp(gst_sdp_media_get_attribute(m, i)->key, key) == 0)
            return true;
    }
    return false;
}

static bool media_rejected(const GstSDPMedia *m)
{
    return gst_sdp_media_get_port(m) == 0 && !media_has(m, "bundle-only");
}

/* The transport a section states: ufrag, pwd, sha-256 fingerprint and UDP candidates of
 * component 1. */
static int transport_read(const GstSDPMessage *msg, const GstSDPMedia *m,
                          struct lt_gpsfu_sdp_transport *t, const char *where, char *err,
                          size_t errlen)
{
    const char *u = attr_val(msg, m, "ice-ufrag"), *p = attr_val(msg, m, "ice-pwd");
    const char *fp = NULL;
    memset(t, 0, sizeof(*t));
    if (!u || !u[0] || strlen(u) >= sizeof(t->ufrag) || !p || !p[0] || strlen(p) >= sizeof(t->pwd))
        return lt_fail(err, errlen, -EINVAL, "%s: no usable a=ice-ufrag/a=ice-pwd", where);
    strcpy(t->ufrag, u);
    strcpy(t->pwd, p);
    for (int level = 0; level < 2 && !fp; level++) {
        guint n =
            level == 0 ? gst_sdp_media_attributes_len(m) : gst_sdp_message_attributes_len(msg);
        for (guint i = 0; i < n && !fp; i++) {
            const GstSDPAttribute *a = level == 0 ? gst_sdp_media_get_attribute(m, i)
                                                  : gst_sdp_message_get_attribute(msg, i);
            if (strcmp(a->key, "fingerprint") == 0 && a->value &&
                strncasecmp(a->value, "sha-256 ", 8) == 0)
                fp = a->value + 8;
        }
    }
    if (!fp || strlen(fp) != PEER_FINGERPRINT_LEN - 1)
        return lt_fail(err, errlen, -EINVAL, "%s: no a=fingerprint:sha-256", where);
    strcpy(t->fingerprint, fp);
    for (guint i = 0; i < gst_sdp_media_attributes_len(m) && t->n_cands < LT_GPSFU_SDP_MAX_CANDS;
         i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        struct peer_candidate *c = &t->cands[t->n_cands];
        char transport[16], ip[PEER_IP_LEN];
        unsigned comp, port;
        uint32_t prio;
        if (strcmp(a->key, "candidate") != 0 || !a->value)
            continue;
        if (sscanf(a->value, "%32s %u %15s %" SCNu32 " %45s %u", c->foundation, &comp, transport,
                   &prio, ip, &port) != 6 ||
            comp != 1 || strcasecmp(transport, "udp") != 0 || port == 0 || port > 65535)
            continue;
        snprintf(c->ip, sizeof(c->ip), "%s", ip);
        c->port = (uint16_t)port;
        c->priority = prio;
        t->n_cands++;
    }
    if (t->n_cands == 0)
        return lt_fail(err, errlen, -EINVAL, "%s: no UDP a=candidate", where);
    return 0;
}

int lt_gpsfu_sdp_send_answer_read(const char *sdp, size_t len, const bool publish[LT_TRACKS],
                                  struct lt_gpsfu_sdp_transport *remote, char *err, size_t errlen)
{
    static const char *const names[LT_TRACKS] = {"audio", "video", "screen"};
    GstSDPMessage *msg = NULL;
    guint idx = 0;
    bool have_transport = false;
    int rc = msg_parse(sdp, len, &msg);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return lt_fail(err, errlen, -EINVAL, "the send answer is not an SDP with m= sections");
    for (int k = 0; k < LT_TRACKS; k++) {
        if (!publish[k])
            continue;
        if (idx >= gst_sdp_message_medias_len(msg)) {
            rc = lt_fail(err, errlen, -EINVAL, "the send answer has no section for %s", names[k]);
            goto out;
        }
        const GstSDPMedia *m = gst_sdp_message_get_media(msg, idx++);
        char where[48];
        bool pt_ok = false;
        snprintf(where, sizeof(where), "send answer, %s section", names[k]);
        if (media_rejected(m)) {
            rc = lt_fail(err, errlen, -EINVAL, "%s: rejected (port 0)", where);
            goto out;
        }
        for (guint f = 0; f < gst_sdp_media_formats_len(m); f++)
            pt_ok = pt_ok || atoi(gst_sdp_media_get_format(m, f)) ==
                                 (k == LT_AUDIO ? LT_GPSFU_SDP_PT_OPUS : LT_GPSFU_SDP_PT_VP8);
        if (!pt_ok) {
            rc = lt_fail(err, errlen, -EINVAL, "%s: our payload type is not accepted", where);
            goto out;
        }
        if (!have_transport) {
            rc = transport_read(msg, m, remote, where, err, errlen);
            if (rc < 0)
                goto out;
            have_transport = true;
        }
    }
    rc = have_transport ? 0 : lt_fail(err, errlen, -EINVAL, "nothing was published");
out:
    gst_sdp_message_free(msg);
    return rc;
}

/* The direction that answers an offered one (RFC 3264 6.1), seen from a receiver. */
static const char *answer_direction(const GstSDPMessage *msg, const GstSDPMedia *m)
{
    if (media_has(m, "sendonly") || media_has(m, "sendrecv"))
        return "recvonly";
    if (media_has(m, "inactive") || media_has(m, "recvonly"))
        return "inactive";
    if (gst_sdp_message_get_attribute_val(msg, "inactive") ||
        gst_sdp_message_get_attribute_val(msg, "recvonly"))
        return "inactive";
    return "recvonly";
}

/* One section of the receiving answer: everything offered accepted, codec lines echoed. */
static void recv_media_write(GstSDPMedia *md, const GstSDPMessage *msg, const GstSDPMedia *m,
                             const struct lt_gpsfu_sdp_transport *local, bool rejected)
{
    static const char *const echoed[] = {"extmap", "rtpmap", "fmtp", "rtcp-fb"};
    const char *mid = gst_sdp_media_get_attribute_val(m, "mid");
    gst_sdp_media_set_media(md, gst_sdp_media_get_media(m));
    gst_sdp_media_set_port_info(md, rejected ? 0 : local->cands[0].port, 1);
    gst_sdp_media_set_proto(md, gst_sdp_media_get_proto(m));
    for (guint f = 0; f < gst_sdp_media_formats_len(m); f++)
        gst_sdp_media_add_format(md, gst_sdp_media_get_format(m, f));
    if (mid)
        gst_sdp_media_add_attribute(md, "mid", mid);
    if (rejected) {
        gst_sdp_media_add_attribute(md, "inactive", "");
        return;
    }
    gst_sdp_media_add_connection(md, "IN", addr_type(local->cands[0].ip), local->cands[0].ip, 0, 0);
    transport_write(md, local, "active");
    gst_sdp_media_add_attribute(md, answer_direction(msg, m), "");
    gst_sdp_media_add_attribute(md, "rtcp-mux", "");
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        for (size_t k = 0; k < sizeof(echoed) / sizeof(echoed[0]); k++) {
            if (strcmp(a->key, echoed[k]) == 0 && a->value)
                gst_sdp_media_add_attribute(md, a->key, a->value);
        }
    }
}

int lt_gpsfu_sdp_recv_answer(const char *offer, size_t len,
                             const struct lt_gpsfu_sdp_transport *local, unsigned version,
                             struct lt_gpsfu_sdp_transport *remote, char **out, char *err,
                             size_t errlen)
{
    GstSDPMessage *msg = NULL, *ans = NULL;
    GString *bundle = NULL;
    bool have_transport = false;
    int rc;
    if (!local || local->n_cands == 0)
        return -EINVAL;
    rc = msg_parse(offer, len, &msg);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return lt_fail(err, errlen, -EINVAL, "the receiving offer is not an SDP with m= sections");
    if (gst_sdp_message_new(&ans) != GST_SDP_OK) {
        rc = -ENOMEM;
        goto out;
    }
    session_init(ans, random_u64(), version);
    bundle = g_string_new("BUNDLE");
    for (guint i = 0; i < gst_sdp_message_medias_len(msg); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(msg, i);
        const char *kind = gst_sdp_media_get_media(m),
                   *mid = gst_sdp_media_get_attribute_val(m, "mid");
        bool rejected = media_rejected(m) || !kind ||
                        (strcmp(kind, "audio") != 0 && strcmp(kind, "video") != 0) || !mid;
        GstSDPMedia md;
        if (!rejected && !have_transport) {
            char where[48];
            snprintf(where, sizeof(where), "receiving offer, section %u", i + 1);
            rc = transport_read(msg, m, remote, where, err, errlen);
            if (rc < 0)
                goto out;
            have_transport = true;
        }
        if (!rejected)
            g_string_append_printf(bundle, " %s", mid);
        memset(&md, 0, sizeof(md));
        gst_sdp_media_init(&md);
        recv_media_write(&md, msg, m, local, rejected);
        gst_sdp_message_add_media(ans, &md);
    }
    if (!have_transport) {
        rc = lt_fail(err, errlen, -EINVAL, "the receiving offer has no usable section");
        goto out;
    }
    /* Session attributes come first in the text whatever the order they were added in. */
    gst_sdp_message_add_attribute(ans, "group", bundle->str);
    if (gst_sdp_message_get_attribute_val(msg, "extmap-allow-mixed"))
        gst_sdp_message_add_attribute(ans, "extmap-allow-mixed", "");
    gst_sdp_message_add_attribute(ans, "msid-semantic", " WMS");
    rc = text_take(ans, out);
    ans = NULL;
out:
    if (bundle)
        g_string_free(bundle, TRUE);
    if (ans)
        gst_sdp_message_free(ans);
    gst_sdp_message_free(msg);
    return rc;
}
