/* The janus target's SDP, built and read with GstSDP: the publisher's offer, the subscriber's
 * answer to Janus's offer, and what the bench peer needs from Janus's side. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gst/sdp/sdp.h>

#include "lt_janus_priv.h"

int jn_sdp_local_from_peer(struct jn_sdp_local *l, const struct peer *p)
{
    l->ufrag = peer_ice_ufrag(p);
    l->pwd = peer_ice_pwd(p);
    l->fingerprint = peer_fingerprint(p);
    int n = peer_local_candidates(p, l->cands, JN_CANDS_MAX);
    if (n <= 0)
        return -EIO;
    l->ncands = (size_t)n;
    return 0;
}

/* What every bundled m-section of ours carries: ICE, DTLS (we are the DTLS client), rtcp-mux and
 * the complete candidate list. Candidates go on each section, as a non-trickling browser does, so
 * that Janus finds them whichever section it reads them from. */
static void media_transport_add(GstSDPMedia *m, const struct jn_sdp_local *l)
{
    char fp[PEER_FINGERPRINT_LEN + 16];
    gst_sdp_media_add_attribute(m, "ice-ufrag", l->ufrag);
    gst_sdp_media_add_attribute(m, "ice-pwd", l->pwd);
    snprintf(fp, sizeof(fp), "sha-256 %s", l->fingerprint);
    gst_sdp_media_add_attribute(m, "fingerprint", fp);
    gst_sdp_media_add_attribute(m, "setup", "active");
    gst_sdp_media_add_attribute(m, "rtcp-mux", NULL);
    for (size_t i = 0; i < l->ncands; i++) {
        char c[160];
        snprintf(c, sizeof(c), "%s 1 udp %" PRIu32 " %s %u typ host", l->cands[i].foundation,
                 l->cands[i].priority, l->cands[i].ip, l->cands[i].port);
        gst_sdp_media_add_attribute(m, "candidate", c);
    }
    gst_sdp_media_add_attribute(m, "end-of-candidates", NULL);
}

static GstSDPMessage *session_new(const struct jn_sdp_local *l)
{
    GstSDPMessage *msg;
    gst_sdp_message_new(&msg);
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu32 "%06" PRIu32, g_random_int() >> 1,
             g_random_int() % 1000000);
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", id, "2", "IN", "IP4", l->cands[0].ip);
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    gst_sdp_message_set_connection(msg, "IN", "IP4", l->cands[0].ip, 0, 0);
    return msg;
}

int jn_sdp_offer(const struct jn_sdp_local *l, const struct lt_pub_track tracks[LT_TRACKS],
                 const char *cname, char **out)
{
    static const char *const kind[LT_TRACKS] = {"audio", "video", "video"};
    static const char *const track_name[LT_TRACKS] = {"audio", "camera", "screen"};
    GstSDPMessage *msg = session_new(l);
    GString *bundle = g_string_new("BUNDLE");
    unsigned mid = 0;
    for (int t = 0; t < LT_TRACKS; t++) {
        if (!tracks[t].on)
            continue;
        GstSDPMedia m = {0}; /* init frees what it finds, so it must find nothing */
        char buf[96];
        gst_sdp_media_init(&m);
        gst_sdp_media_set_media(&m, kind[t]);
        gst_sdp_media_set_port_info(&m, l->cands[0].port, 1);
        gst_sdp_media_set_proto(&m, "UDP/TLS/RTP/SAVPF");
        snprintf(buf, sizeof(buf), "%u", tracks[t].pt);
        gst_sdp_media_add_format(&m, buf);
        gst_sdp_media_add_connection(&m, "IN", "IP4", l->cands[0].ip, 0, 0);
        snprintf(buf, sizeof(buf), "%u", mid);
        gst_sdp_media_add_attribute(&m, "mid", buf);
        g_string_append_printf(bundle, " %u", mid);
        gst_sdp_media_add_attribute(&m, "sendonly", NULL);
        if (t == LT_AUDIO) {
            snprintf(buf, sizeof(buf), "%u opus/48000/2", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "rtpmap", buf);
            snprintf(buf, sizeof(buf), "%u minptime=10;useinbandfec=1", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "fmtp", buf);
        } else {
            /* The feedback a browser offers for VP8, so Janus keeps its usual per-packet
             * work for video (NACK buffer, keyframe requests). */
            snprintf(buf, sizeof(buf), "%u VP8/90000", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "rtpmap", buf);
            snprintf(buf, sizeof(buf), "%u nack", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "rtcp-fb", buf);
            snprintf(buf, sizeof(buf), "%u nack pli", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "rtcp-fb", buf);
            snprintf(buf, sizeof(buf), "%u ccm fir", tracks[t].pt);
            gst_sdp_media_add_attribute(&m, "rtcp-fb", buf);
        }
        snprintf(buf, sizeof(buf), "%s %s", cname, track_name[t]);
        gst_sdp_media_add_attribute(&m, "msid", buf);
        snprintf(buf, sizeof(buf), "%" PRIu32 " cname:%s", tracks[t].ssrc, cname);
        gst_sdp_media_add_attribute(&m, "ssrc", buf);
        media_transport_add(&m, l);
        gst_sdp_message_add_media(msg, &m); /* takes m's contents */
        mid++;
    }
    gst_sdp_message_add_attribute(msg, "group", bundle->str);
    g_string_free(bundle, TRUE);
    *out = gst_sdp_message_as_text(msg);
    gst_sdp_message_free(msg);
    return 0;
}

static bool has_attr(const GstSDPMedia *m, const char *key)
{
    for (guint k = 0; k < gst_sdp_media_attributes_len(m); k++)
        if (strcmp(gst_sdp_media_get_attribute(m, k)->key, key) == 0)
            return true;
    return false;
}

/* An attribute at media level, else at session level. */
static const char *attr_get(const GstSDPMessage *msg, const GstSDPMedia *m, const char *key)
{
    const char *v = m ? gst_sdp_media_get_attribute_val(m, key) : NULL;
    return v ? v : gst_sdp_message_get_attribute_val(msg, key);
}

static void candidate_add(struct jn_sdp_remote *r, const char *val)
{
    char foundation[PEER_FOUNDATION_LEN], transport[8], ip[PEER_IP_LEN], typ[8];
    unsigned comp, port;
    uint32_t prio;
    if (r->ncands >= JN_CANDS_MAX ||
        sscanf(val, "%32s %u %7s %" SCNu32 " %45s %u typ %7s", foundation, &comp, transport, &prio,
               ip, &port, typ) != 7)
        return;
    /* UDP host candidates on IPv4 are all the bench peer can reach; rtcp-mux: component 1. */
    if (comp != 1 || g_ascii_strcasecmp(transport, "udp") != 0 || strchr(ip, ':') || port == 0 ||
        port > 65535)
        return;
    for (size_t i = 0; i < r->ncands; i++)
        if (strcmp(r->cands[i].ip, ip) == 0 && r->cands[i].port == port)
            return;
    struct peer_candidate *c = &r->cands[r->ncands++];
    snprintf(c->foundation, sizeof(c->foundation), "%s", foundation);
    snprintf(c->ip, sizeof(c->ip), "%s", ip);
    c->port = (uint16_t)port;
    c->priority = prio;
}

int jn_sdp_remote_parse(const char *sdp, struct jn_sdp_remote *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    GstSDPMessage *msg;
    gst_sdp_message_new(&msg);
    int rc = 0;
    if (gst_sdp_message_parse_buffer((const guint8 *)sdp, (guint)strlen(sdp), msg) != GST_SDP_OK ||
        gst_sdp_message_medias_len(msg) == 0) {
        lt_errf(err, errlen, "janus: its SDP does not parse");
        rc = -EBADMSG;
        goto out;
    }
    /* BUNDLE: the first m-section that is not rejected carries the transport. */
    const GstSDPMedia *first = NULL;
    for (guint i = 0; i < gst_sdp_message_medias_len(msg); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(msg, i);
        if (gst_sdp_media_get_port(m) != 0 && !first)
            first = m;
        for (guint k = 0; k < gst_sdp_media_attributes_len(m); k++) {
            const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, k);
            if (strcmp(a->key, "candidate") == 0 && a->value)
                candidate_add(r, a->value);
        }
    }
    for (guint k = 0; k < gst_sdp_message_attributes_len(msg); k++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(msg, k);
        if (strcmp(a->key, "candidate") == 0 && a->value)
            candidate_add(r, a->value);
    }
    const char *ufrag = attr_get(msg, first, "ice-ufrag");
    const char *pwd = attr_get(msg, first, "ice-pwd");
    const char *fp = attr_get(msg, first, "fingerprint");
    if (!ufrag || !pwd || !fp || g_ascii_strncasecmp(fp, "sha-256 ", 8) != 0 || r->ncands == 0) {
        lt_errf(err, errlen, "janus: its SDP lacks %s",
                !ufrag || !pwd                                       ? "ICE credentials"
                : !fp || g_ascii_strncasecmp(fp, "sha-256 ", 8) != 0 ? "a sha-256 fingerprint"
                                                                     : "UDP IPv4 host candidates");
        rc = -EBADMSG;
        goto out;
    }
    snprintf(r->ufrag, sizeof(r->ufrag), "%s", ufrag);
    snprintf(r->pwd, sizeof(r->pwd), "%s", pwd);
    snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", fp + 8);
out:
    gst_sdp_message_free(msg);
    return rc;
}

/* Copies the offer's attributes about format fmt that we keep (its rtpmap, fmtp and the
 * feedback a browser would accept). */
static void format_attrs_copy(GstSDPMedia *dst, const GstSDPMedia *src, const char *fmt)
{
    size_t n = strlen(fmt);
    for (guint k = 0; k < gst_sdp_media_attributes_len(src); k++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(src, k);
        if (!a->value || strncmp(a->value, fmt, n) != 0 || a->value[n] != ' ')
            continue;
        const char *rest = a->value + n + 1;
        bool keep = strcmp(a->key, "rtpmap") == 0 || strcmp(a->key, "fmtp") == 0 ||
                    (strcmp(a->key, "rtcp-fb") == 0 &&
                     (strcmp(rest, "nack") == 0 || strcmp(rest, "nack pli") == 0 ||
                      strcmp(rest, "ccm fir") == 0));
        if (keep)
            gst_sdp_media_add_attribute(dst, a->key, a->value);
    }
}

int jn_sdp_answer(const char *offer, const struct jn_sdp_local *l, char **out, char *err,
                  size_t errlen)
{
    GstSDPMessage *in;
    gst_sdp_message_new(&in);
    if (gst_sdp_message_parse_buffer((const guint8 *)offer, (guint)strlen(offer), in) !=
            GST_SDP_OK ||
        gst_sdp_message_medias_len(in) == 0) {
        gst_sdp_message_free(in);
        lt_errf(err, errlen, "janus: its offer does not parse");
        return -EBADMSG;
    }
    GstSDPMessage *msg = session_new(l);
    GString *bundle = g_string_new("BUNDLE");
    for (guint i = 0; i < gst_sdp_message_medias_len(in); i++) {
        const GstSDPMedia *om = gst_sdp_message_get_media(in, i);
        const char *kind = gst_sdp_media_get_media(om);
        const char *mid = gst_sdp_media_get_attribute_val(om, "mid");
        const char *fmt = gst_sdp_media_formats_len(om) > 0 ? gst_sdp_media_get_format(om, 0) : "0";
        bool media = kind && (strcmp(kind, "audio") == 0 || strcmp(kind, "video") == 0);
        bool accept = media && gst_sdp_media_get_port(om) != 0;
        GstSDPMedia m = {0}; /* init frees what it finds, so it must find nothing */
        gst_sdp_media_init(&m);
        gst_sdp_media_set_media(&m, kind ? kind : "audio");
        gst_sdp_media_set_proto(&m, jn_str_or(gst_sdp_media_get_proto(om), "UDP/TLS/RTP/SAVPF"));
        gst_sdp_media_add_format(&m, fmt);
        gst_sdp_media_add_connection(&m, "IN", "IP4", l->cands[0].ip, 0, 0);
        if (mid)
            gst_sdp_media_add_attribute(&m, "mid", mid);
        if (!accept) {
            /* A section Janus retired (a publisher left) or one we cannot take (data). */
            gst_sdp_media_set_port_info(&m, 0, 1);
            gst_sdp_media_add_attribute(&m, "inactive", NULL);
        } else {
            gst_sdp_media_set_port_info(&m, l->cands[0].port, 1);
            bool sends = !has_attr(om, "inactive") && !has_attr(om, "recvonly");
            gst_sdp_media_add_attribute(&m, sends ? "recvonly" : "inactive", NULL);
            format_attrs_copy(&m, om, fmt);
            media_transport_add(&m, l);
            if (mid)
                g_string_append_printf(bundle, " %s", mid);
        }
        gst_sdp_message_add_media(msg, &m);
    }
    gst_sdp_message_add_attribute(msg, "group", bundle->str);
    g_string_free(bundle, TRUE);
    *out = gst_sdp_message_as_text(msg);
    gst_sdp_message_free(msg);
    gst_sdp_message_free(in);
    return 0;
}
