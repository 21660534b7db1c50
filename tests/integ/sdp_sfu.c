/* SDP <-> control-protocol translation for the interop tests, on GstSDP: GstSDP splits the
 * text into messages, m-sections and attributes; only the values of single attributes (rtpmap,
 * fmtp apt=, ssrc, extmap, fingerprint) are read here, each strictly. */
#include "sdp_sfu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads a decimal number of at most max from *s, moving *s past it. */
static int read_uint(const char **s, uint32_t max, uint32_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return -EBADMSG;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -EBADMSG;
        p++;
    }
    *s = p;
    *out = (uint32_t)v;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return -ENOSPC;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

/* "96 VP8/90000[/2]": the payload type, encoding name, clock rate and channels. */
static int rtpmap_read(const char *v, uint32_t *pt, char *name, size_t name_cap, uint32_t *rate,
                       uint32_t *channels)
{
    const char *slash;
    if (read_uint(&v, 127, pt) < 0 || *v++ != ' ')
        return -EBADMSG;
    slash = strchr(v, '/');
    if (!slash || slash == v)
        return -EBADMSG;
    if (copy_str(name, name_cap, v, (size_t)(slash - v)) < 0)
        return -ENOSPC;
    v = slash + 1;
    if (read_uint(&v, UINT32_MAX, rate) < 0 || *rate == 0)
        return -EBADMSG;
    *channels = 0;
    if (*v == '/') {
        v++;
        if (read_uint(&v, 255, channels) < 0)
            return -EBADMSG;
    }
    return *v == '\0' ? 0 : -EBADMSG;
}

/* "<pt> <rest>": the payload type and where the rest starts (an a=fmtp or a=rtcp-fb value). */
static int pt_prefix_read(const char *v, uint32_t *pt, const char **rest)
{
    if (read_uint(&v, 127, pt) < 0 || *v != ' ')
        return -EBADMSG;
    *rest = v + 1;
    return 0;
}

/* The RTX payload type whose a=fmtp says apt=pt, or 0. */
static int rtx_pt_find(const GstSDPMedia *m, uint32_t pt, uint32_t *rtx_pt)
{
    *rtx_pt = 0;
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        uint32_t fpt, apt, rpt, rate, ch;
        const char *rest, *aptv;
        char name[16];
        if (strcmp(a->key, "fmtp") != 0 || !a->value)
            continue;
        if (pt_prefix_read(a->value, &fpt, &rest) < 0)
            return -EBADMSG;
        if (strncmp(rest, "apt=", 4) != 0)
            continue;
        aptv = rest + 4;
        if (read_uint(&aptv, 127, &apt) < 0)
            return -EBADMSG;
        if (apt != pt)
            continue;
        /* Only an rtpmap naming it rtx makes fpt an RTX payload type. */
        for (guint k = 0; k < gst_sdp_media_attributes_len(m); k++) {
            const GstSDPAttribute *r = gst_sdp_media_get_attribute(m, k);
            if (strcmp(r->key, "rtpmap") != 0 || !r->value)
                continue;
            if (rtpmap_read(r->value, &rpt, name, sizeof(name), &rate, &ch) < 0)
                return -EBADMSG;
            if (rpt == fpt && strcasecmp(name, "rtx") == 0) {
                *rtx_pt = fpt;
                return 0;
            }
        }
    }
    return 0;
}

/* a=ssrc-group:FID <media> <rtx> names both; otherwise the first a=ssrc is the media SSRC. The
 * cname is that of the media SSRC. */
static int ssrcs_read(const GstSDPMedia *m, struct sdp_sfu_media *out)
{
    const char *fid = gst_sdp_media_get_attribute_val(m, "ssrc-group");
    if (fid && strncmp(fid, "FID ", 4) == 0) {
        const char *v = fid + 4;
        if (read_uint(&v, UINT32_MAX, &out->ssrc) < 0 || *v++ != ' ' ||
            read_uint(&v, UINT32_MAX, &out->rtx_ssrc) < 0 || *v != '\0')
            return -EBADMSG;
    }
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value;
        uint32_t ssrc;
        if (strcmp(a->key, "ssrc") != 0 || !v)
            continue;
        if (read_uint(&v, UINT32_MAX, &ssrc) < 0 || *v++ != ' ')
            return -EBADMSG;
        if (out->ssrc == 0)
            out->ssrc = ssrc;
        if (ssrc == out->ssrc && strncmp(v, "cname:", 6) == 0 &&
            copy_str(out->cname, sizeof(out->cname), v + 6, strlen(v + 6)) < 0)
            return -ENOSPC;
    }
    return out->ssrc ? 0 : -EBADMSG;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>] */
static int exts_read(const GstSDPMedia *m, struct sdp_sfu_media *out)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value, *end;
        uint32_t id;
        if (strcmp(a->key, "extmap") != 0 || !v)
            continue;
        if (read_uint(&v, 255, &id) < 0 || id == 0)
            return -EBADMSG;
        if (*v == '/')
            v = strchr(v, ' ');
        if (!v || *v++ != ' ' || *v == '\0')
            return -EBADMSG;
        end = strchr(v, ' ');
        if (out->n_exts == SDP_SFU_MAX_EXTS)
            return -ENOSPC;
        if (copy_str(out->exts[out->n_exts].uri, SDP_SFU_URI_LEN, v,
                     end ? (size_t)(end - v) : strlen(v)) < 0)
            return -ENOSPC;
        out->exts[out->n_exts++].id = id;
    }
    return 0;
}

int sdp_sfu_media_parse(const GstSDPMessage *msg, guint index, const char *codec,
                        struct sdp_sfu_media *out)
{
    const GstSDPMedia *m;
    const char *kind, *mid;
    bool found = false;
    int rc;
    if (index >= gst_sdp_message_medias_len(msg))
        return -ENOENT;
    m = gst_sdp_message_get_media(msg, index);
    memset(out, 0, sizeof(*out));
    kind = gst_sdp_media_get_media(m);
    if (kind && strcmp(kind, "audio") == 0)
        out->kind = SFU__MEDIA_KIND__MEDIA_KIND_AUDIO;
    else if (kind && strcmp(kind, "video") == 0)
        out->kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    else
        return -ENOENT;
    mid = gst_sdp_media_get_attribute_val(m, "mid");
    if (!mid || !mid[0])
        return -EBADMSG;
    if (copy_str(out->mid, sizeof(out->mid), mid, strlen(mid)) < 0)
        return -ENOSPC;
    for (guint i = 0; i < gst_sdp_media_attributes_len(m) && !found; i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        if (strcmp(a->key, "rtpmap") != 0 || !a->value)
            continue;
        rc = rtpmap_read(a->value, &out->pt, out->codec, sizeof(out->codec), &out->clock_rate,
                         &out->channels);
        if (rc < 0)
            return rc;
        found = strcasecmp(out->codec, codec) == 0;
    }
    if (!found)
        return -ENOENT;
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *rest;
        uint32_t pt;
        if ((strcmp(a->key, "fmtp") != 0 && strcmp(a->key, "rtcp-fb") != 0) || !a->value)
            continue;
        if (pt_prefix_read(a->value, &pt, &rest) < 0)
            return -EBADMSG;
        if (pt != out->pt)
            continue;
        if (a->key[0] == 'f') {
            if (copy_str(out->fmtp, sizeof(out->fmtp), rest, strlen(rest)) < 0)
                return -ENOSPC;
        } else {
            if (out->n_rtcp_fb == SDP_SFU_MAX_FB)
                return -ENOSPC;
            if (copy_str(out->rtcp_fb[out->n_rtcp_fb++], SDP_SFU_FB_LEN, rest, strlen(rest)) < 0)
                return -ENOSPC;
        }
    }
    if ((rc = rtx_pt_find(m, out->pt, &out->rtx_pt)) < 0 || (rc = ssrcs_read(m, out)) < 0 ||
        (rc = exts_read(m, out)) < 0)
        return rc;
    return 0;
}

/* "sha-256 AB:CD:..." -> "AB:CD:..." */
static int fingerprint_value(const char *v, char *out, size_t len)
{
    size_t n;
    if (!v || strncasecmp(v, "sha-256 ", 8) != 0)
        return -EBADMSG;
    v += 8;
    n = strlen(v);
    /* 32 bytes as "AB" pairs joined by ':'. */
    if (n != 32 * 3 - 1)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
        if (i % 3 == 2 ? c != ':' : !hex)
            return -EBADMSG;
    }
    return copy_str(out, len, v, n);
}

const char *sdp_sfu_attr_get(const GstSDPMessage *msg, const char *key)
{
    const char *v = NULL;
    if (gst_sdp_message_medias_len(msg) > 0)
        v = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(msg, 0), key);
    return v ? v : gst_sdp_message_get_attribute_val(msg, key);
}

int sdp_sfu_fingerprint_get(const GstSDPMessage *msg, char *out, size_t len)
{
    const char *v = sdp_sfu_attr_get(msg, "fingerprint");
    if (!v)
        return -ENOENT;
    return fingerprint_value(v, out, len);
}

void sdp_sfu_rtp_fill(struct sdp_sfu_rtp *pb, const struct sdp_sfu_media *m)
{
    sfu__rtp_parameters__init(&pb->rtp);
    sfu__codec__init(&pb->codec);
    sfu__encoding__init(&pb->enc);
    pb->codec.name = (char *)m->codec;
    pb->codec.payload_type = m->pt;
    pb->codec.clock_rate = m->clock_rate;
    pb->codec.channels = m->channels;
    pb->codec.fmtp = (char *)m->fmtp;
    pb->codec.rtx_payload_type = m->rtx_pt;
    for (size_t i = 0; i < m->n_rtcp_fb; i++)
        pb->fb[i] = (char *)m->rtcp_fb[i];
    pb->codec.n_rtcp_fb = m->n_rtcp_fb;
    pb->codec.rtcp_fb = pb->fb;
    pb->codecs[0] = &pb->codec;
    pb->enc.ssrc = m->ssrc;
    pb->enc.rtx_ssrc = m->rtx_ssrc;
    pb->encs[0] = &pb->enc;
    for (size_t i = 0; i < m->n_exts; i++) {
        sfu__header_extension__init(&pb->ext[i]);
        pb->ext[i].id = m->exts[i].id;
        pb->ext[i].uri = (char *)m->exts[i].uri;
        pb->exts[i] = &pb->ext[i];
    }
    pb->rtp.mid = (char *)m->mid;
    pb->rtp.n_codecs = 1;
    pb->rtp.codecs = pb->codecs;
    pb->rtp.n_encodings = 1;
    pb->rtp.encodings = pb->encs;
    pb->rtp.n_header_extensions = m->n_exts;
    pb->rtp.header_extensions = pb->exts;
}

int sdp_sfu_media_from_consumed(struct sdp_sfu_media *out, const Sfu__ConsumeResponse *resp,
                                const Sfu__ConsumeRequest *req, const char *cname)
{
    const Sfu__RtpParameters *rtp = resp->rtp;
    const Sfu__Codec *c;
    memset(out, 0, sizeof(*out));
    if (!rtp || rtp->n_codecs == 0 || rtp->n_encodings == 0 || !rtp->mid || !rtp->mid[0])
        return -EBADMSG;
    c = rtp->codecs[0];
    out->kind = resp->kind;
    if (copy_str(out->mid, sizeof(out->mid), rtp->mid, strlen(rtp->mid)) < 0 ||
        copy_str(out->codec, sizeof(out->codec), c->name, strlen(c->name)) < 0 ||
        copy_str(out->cname, sizeof(out->cname), cname, strlen(cname)) < 0)
        return -ENOSPC;
    out->pt = c->payload_type;
    out->clock_rate = c->clock_rate;
    out->channels = c->channels;
    out->rtx_pt = c->rtx_payload_type;
    for (size_t i = 0; i < req->n_codecs; i++) {
        const Sfu__Codec *rc = req->codecs[i];
        if (rc->payload_type != c->payload_type)
            continue;
        if (rc->fmtp && copy_str(out->fmtp, sizeof(out->fmtp), rc->fmtp, strlen(rc->fmtp)) < 0)
            return -ENOSPC;
        if (rc->n_rtcp_fb > SDP_SFU_MAX_FB)
            return -ENOSPC;
        for (size_t k = 0; k < rc->n_rtcp_fb; k++) {
            if (copy_str(out->rtcp_fb[k], SDP_SFU_FB_LEN, rc->rtcp_fb[k], strlen(rc->rtcp_fb[k])) <
                0)
                return -ENOSPC;
        }
        out->n_rtcp_fb = rc->n_rtcp_fb;
    }
    out->ssrc = rtp->encodings[0]->ssrc;
    out->rtx_ssrc = out->rtx_pt ? rtp->encodings[0]->rtx_ssrc : 0;
    if (rtp->n_header_extensions > SDP_SFU_MAX_EXTS)
        return -ENOSPC;
    for (size_t i = 0; i < rtp->n_header_extensions; i++) {
        const Sfu__HeaderExtension *x = rtp->header_extensions[i];
        if (copy_str(out->exts[i].uri, SDP_SFU_URI_LEN, x->uri, strlen(x->uri)) < 0)
            return -ENOSPC;
        out->exts[i].id = x->id;
    }
    out->n_exts = rtp->n_header_extensions;
    return 0;
}

/* Adds "key:value" with a formatted value to an m-section. */
static void media_attr(GstSDPMedia *md, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void media_attr(GstSDPMedia *md, const char *key, const char *fmt, ...)
{
    char v[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    gst_sdp_media_add_attribute(md, key, v);
}

static void session_init(GstSDPMessage *msg)
{
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", "1", "1", "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    gst_sdp_message_add_attribute(msg, "ice-lite", "");
}

/* One m-section for media m, on the SFU's transport t. */
static void media_write(GstSDPMedia *md, const struct sdp_sfu_media *m,
                        const struct bench_transport *t, const char *setup, const char *direction,
                        bool with_ssrcs)
{
    char fmt[12];
    const char *kind = m->kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO ? "audio" : "video";
    gst_sdp_media_set_media(md, kind);
    gst_sdp_media_set_port_info(md, t->cand.port, 1);
    gst_sdp_media_set_proto(md, "UDP/TLS/RTP/SAVPF");
    snprintf(fmt, sizeof(fmt), "%u", m->pt);
    gst_sdp_media_add_format(md, fmt);
    if (m->rtx_pt) {
        snprintf(fmt, sizeof(fmt), "%u", m->rtx_pt);
        gst_sdp_media_add_format(md, fmt);
    }
    gst_sdp_media_add_connection(md, "IN", "IP4", t->cand.ip, 0, 0);
    gst_sdp_media_add_attribute(md, "mid", m->mid);
    media_attr(md, "ice-ufrag", "%s", t->ufrag);
    media_attr(md, "ice-pwd", "%s", t->pwd);
    media_attr(md, "fingerprint", "sha-256 %s", t->fingerprint);
    gst_sdp_media_add_attribute(md, "setup", setup);
    media_attr(md, "candidate", "%s 1 udp %u %s %u typ host", t->cand.foundation, t->cand.priority,
               t->cand.ip, t->cand.port);
    gst_sdp_media_add_attribute(md, "end-of-candidates", "");
    gst_sdp_media_add_attribute(md, "rtcp-mux", "");
    gst_sdp_media_add_attribute(md, direction, "");
    for (size_t i = 0; i < m->n_exts; i++)
        media_attr(md, "extmap", "%u %s", m->exts[i].id, m->exts[i].uri);
    if (m->channels)
        media_attr(md, "rtpmap", "%u %s/%u/%u", m->pt, m->codec, m->clock_rate, m->channels);
    else
        media_attr(md, "rtpmap", "%u %s/%u", m->pt, m->codec, m->clock_rate);
    if (m->fmtp[0])
        media_attr(md, "fmtp", "%u %s", m->pt, m->fmtp);
    for (size_t i = 0; i < m->n_rtcp_fb; i++)
        media_attr(md, "rtcp-fb", "%u %s", m->pt, m->rtcp_fb[i]);
    if (m->rtx_pt) {
        media_attr(md, "rtpmap", "%u rtx/%u", m->rtx_pt, m->clock_rate);
        media_attr(md, "fmtp", "%u apt=%u", m->rtx_pt, m->pt);
    }
    if (!with_ssrcs)
        return;
    if (m->rtx_pt && m->rtx_ssrc)
        media_attr(md, "ssrc-group", "FID %u %u", m->ssrc, m->rtx_ssrc);
    media_attr(md, "ssrc", "%u cname:%s", m->ssrc, m->cname);
    if (m->rtx_pt && m->rtx_ssrc)
        media_attr(md, "ssrc", "%u cname:%s", m->rtx_ssrc, m->cname);
}

static void bundle_add(GstSDPMessage *msg, const char *mids)
{
    char v[200];
    snprintf(v, sizeof(v), "BUNDLE%s", mids);
    gst_sdp_message_add_attribute(msg, "group", v);
}

int sdp_sfu_answer_new(GstSDPMessage **out, const GstSDPMessage *offer,
                       const struct sdp_sfu_media *accepted, size_t n,
                       const struct bench_transport *t)
{
    GstSDPMessage *msg;
    char mids[200] = "";
    size_t used = 0;
    guint nm = gst_sdp_message_medias_len(offer);
    if (nm == 0)
        return -EINVAL;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return -ENOMEM;
    session_init(msg);
    for (guint i = 0; i < nm; i++) {
        const GstSDPMedia *om = gst_sdp_message_get_media(offer, i);
        const char *mid = gst_sdp_media_get_attribute_val(om, "mid");
        const struct sdp_sfu_media *m = NULL;
        GstSDPMedia md;
        for (size_t k = 0; k < n && mid; k++) {
            if (strcmp(accepted[k].mid, mid) == 0)
                m = &accepted[k];
        }
        memset(&md, 0, sizeof(md)); /* init frees what it finds */
        gst_sdp_media_init(&md);
        if (m) {
            media_write(&md, m, t, "passive", "recvonly", false);
            used += (size_t)snprintf(mids + used, sizeof(mids) - used, " %s", m->mid);
            if (used >= sizeof(mids))
                used = sizeof(mids) - 1;
        } else {
            /* Rejected: the same media and formats, port 0. */
            gst_sdp_media_set_media(&md, gst_sdp_media_get_media(om));
            gst_sdp_media_set_port_info(&md, 0, 1);
            gst_sdp_media_set_proto(&md, gst_sdp_media_get_proto(om));
            for (guint f = 0; f < gst_sdp_media_formats_len(om); f++)
                gst_sdp_media_add_format(&md, gst_sdp_media_get_format(om, f));
            if (mid)
                gst_sdp_media_add_attribute(&md, "mid", mid);
            gst_sdp_media_add_attribute(&md, "inactive", "");
        }
        /* add_media takes over what md holds. Flag attributes get "" rather than NULL: GstSDP's
         * attributes_to_caps, which webrtcbin calls, reads every value. */
        gst_sdp_message_add_media(msg, &md);
    }
    if (used)
        bundle_add(msg, mids);
    *out = msg;
    return 0;
}

int sdp_sfu_offer_new(GstSDPMessage **out, const struct sdp_sfu_media *media, size_t n,
                      const struct bench_transport *t)
{
    GstSDPMessage *msg;
    char mids[200] = "";
    size_t used = 0;
    if (n == 0)
        return -EINVAL;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return -ENOMEM;
    session_init(msg);
    for (size_t i = 0; i < n; i++) {
        GstSDPMedia md;
        memset(&md, 0, sizeof(md)); /* init frees what it finds */
        gst_sdp_media_init(&md);
        media_write(&md, &media[i], t, "actpass", "sendonly", true);
        gst_sdp_message_add_media(msg, &md);
        used += (size_t)snprintf(mids + used, sizeof(mids) - used, " %s", media[i].mid);
        if (used >= sizeof(mids))
            used = sizeof(mids) - 1;
    }
    bundle_add(msg, mids);
    gst_sdp_message_add_attribute(msg, "msid-semantic", "WMS *");
    *out = msg;
    return 0;
}
