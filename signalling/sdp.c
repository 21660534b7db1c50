/* SDP <-> control protocol on GstSDP: GstSDP splits text into a message, m-sections and
 * attributes and checks almost nothing else, so every value read here is validated strictly and
 * every refusal says which section and attribute it is about. */
#include "sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gst/sdp/sdp.h>

#define URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_RID  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (err && err_len) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Reads a decimal number of at most max from *s, moving *s past it. */
static int read_uint(const char **s, uint32_t max, uint32_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -EINVAL;
        p++;
    }
    *s = p;
    *out = (uint32_t)v;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return -EINVAL;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int copy_cstr(char *dst, size_t cap, const char *src)
{
    return copy_str(dst, cap, src ? src : "", src ? strlen(src) : 0);
}

/* ice-char (RFC 8839): ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const char *s, size_t min)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return n >= min && n < SDP_UFRAG_LEN;
}

/* A MID is an RFC 4566 token; we keep them short and printable. */
static bool mid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SDP_MID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    }
    return true;
}

static bool media_has(const GstSDPMedia *m, const char *key)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        if (strcmp(gst_sdp_media_get_attribute(m, i)->key, key) == 0)
            return true;
    }
    return false;
}

static bool session_has(const GstSDPMessage *msg, const char *key)
{
    for (guint i = 0; i < gst_sdp_message_attributes_len(msg); i++) {
        if (strcmp(gst_sdp_message_get_attribute(msg, i)->key, key) == 0)
            return true;
    }
    return false;
}

/* The value of key in m, else at session level; NULL when absent. Flag attributes read "". */
static const char *attr_get(const GstSDPMessage *msg, const GstSDPMedia *m, const char *key)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        if (strcmp(a->key, key) == 0)
            return a->value ? a->value : "";
    }
    for (guint i = 0; i < gst_sdp_message_attributes_len(msg); i++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(msg, i);
        if (strcmp(a->key, key) == 0)
            return a->value ? a->value : "";
    }
    return NULL;
}

/* Text to a GstSDPMessage. GstSDP reads up to a NUL whatever size says, so the text is copied
 * with one, and text holding a NUL is refused rather than silently cut. */
static int msg_parse(const char *text, size_t len, GstSDPMessage **out, char *err, size_t err_len)
{
    GstSDPMessage *msg;
    const char *v;
    char *copy;
    if (!text || len == 0)
        return fail(err, err_len, "empty SDP");
    if (len > SDP_TEXT_MAX)
        return fail(err, err_len, "SDP longer than %u bytes", SDP_TEXT_MAX);
    if (memchr(text, '\0', len))
        return fail(err, err_len, "SDP contains a NUL byte");
    if (strncmp(text, "v=0", len < 3 ? len : 3) != 0 || len < 3)
        return fail(err, err_len, "not an SDP: it must start with v=0");
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
    v = gst_sdp_message_get_version(msg);
    if (!v || strcmp(v, "0") != 0) {
        gst_sdp_message_free(msg);
        return fail(err, err_len, "not an SDP: no v=0 line");
    }
    if (gst_sdp_message_medias_len(msg) == 0) {
        gst_sdp_message_free(msg);
        return fail(err, err_len, "no m= section");
    }
    guint n = gst_sdp_message_medias_len(msg);
    if (n > SDP_MAX_MEDIA) {
        gst_sdp_message_free(msg);
        return fail(err, err_len, "%u m= sections: at most %d", n, SDP_MAX_MEDIA);
    }
    *out = msg;
    return 0;
}

/* "sha-256 AB:CD:..." among the section's a=fingerprint lines (else the session's): exactly 32
 * hex pairs. */
static int fingerprint_read(const GstSDPMessage *msg, const GstSDPMedia *m, const char *where,
                            char *out, char *err, size_t err_len)
{
    const GstSDPAttribute *first = NULL, *sha256 = NULL;
    for (int level = 0; level < 2 && !first; level++) {
        guint n =
            level == 0 ? gst_sdp_media_attributes_len(m) : gst_sdp_message_attributes_len(msg);
        for (guint i = 0; i < n; i++) {
            const GstSDPAttribute *a = level == 0 ? gst_sdp_media_get_attribute(m, i)
                                                  : gst_sdp_message_get_attribute(msg, i);
            if (strcmp(a->key, "fingerprint") != 0)
                continue;
            if (!first)
                first = a;
            if (!sha256 && a->value && strncasecmp(a->value, "sha-256 ", 8) == 0)
                sha256 = a;
        }
    }
    if (!first)
        return fail(err, err_len, "%s: no a=fingerprint", where);
    if (!sha256) {
        const char *v = first->value ? first->value : "";
        const char *sp = strchr(v, ' ');
        int alen = sp ? (int)(sp - v) : (int)strlen(v);
        return fail(err, err_len, "%s: a=fingerprint: no sha-256 fingerprint (offered: %.*s)",
                    where, alen > 16 ? 16 : alen, v);
    }
    const char *v = sha256->value + 8;
    size_t n = strlen(v);
    bool ok = n == SDP_FP_LEN - 1;
    for (size_t i = 0; i < n && ok; i++) {
        char c = v[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
        ok = i % 3 == 2 ? c == ':' : hex;
    }
    if (!ok)
        return fail(err, err_len, "%s: a=fingerprint:sha-256 is not 32 hex pairs joined by ':'",
                    where);
    memcpy(out, v, n + 1);
    return 0;
}

/* ICE credentials and fingerprint of one section (or the session), the same in every section
 * of a BUNDLE transport. */
static int transport_read(const GstSDPMessage *msg, const GstSDPMedia *m, const char *where,
                          char *ufrag, char *pwd, char *fp, char *err, size_t err_len)
{
    const char *u = attr_get(msg, m, "ice-ufrag"), *p = attr_get(msg, m, "ice-pwd");
    if (!u)
        return fail(err, err_len, "%s: no a=ice-ufrag", where);
    if (!ice_chars(u, 4))
        return fail(err, err_len, "%s: a=ice-ufrag must be 4 to 256 ice-chars", where);
    if (!p)
        return fail(err, err_len, "%s: no a=ice-pwd", where);
    if (!ice_chars(p, 22))
        return fail(err, err_len, "%s: a=ice-pwd must be 22 to 256 ice-chars", where);
    strcpy(ufrag, u); /* lengths checked by ice_chars */
    strcpy(pwd, p);
    if (!media_has(m, "rtcp-mux") && !session_has(msg, "rtcp-mux"))
        return fail(err, err_len, "%s: no a=rtcp-mux (RTP and RTCP must share the port)", where);
    return fingerprint_read(msg, m, where, fp, err, err_len);
}

/* The "BUNDLE" group's tokens; 0 and *n = 0 when there is none. */
static int bundle_read(const GstSDPMessage *msg, char mids[][SDP_MID_LEN], size_t *n, char *err,
                       size_t err_len)
{
    *n = 0;
    for (guint i = 0; i < gst_sdp_message_attributes_len(msg); i++) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(msg, i);
        const char *v = a->value;
        if (strcmp(a->key, "group") != 0 || !v || strncmp(v, "BUNDLE", 6) != 0)
            continue;
        if (*n)
            return fail(err, err_len, "a=group:BUNDLE: only one BUNDLE group is supported");
        v += 6;
        while (*v) {
            size_t k;
            while (*v == ' ')
                v++;
            k = strcspn(v, " ");
            if (k == 0)
                break;
            if (*n == SDP_MAX_MEDIA || copy_str(mids[*n], SDP_MID_LEN, v, k) < 0)
                return fail(err, err_len, "a=group:BUNDLE: too many or too long MIDs");
            (*n)++;
            v += k;
        }
    }
    return 0;
}

static bool mid_in(char mids[][SDP_MID_LEN], size_t n, const char *mid)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(mids[i], mid) == 0)
            return true;
    }
    return false;
}

/* "<pt> <rest>" of an a=rtpmap, a=fmtp or a=rtcp-fb value. */
static int pt_prefix_read(const char *v, uint32_t *pt, const char **rest)
{
    if (!v || read_uint(&v, 127, pt) < 0 || *v != ' ')
        return -EINVAL;
    *rest = v + 1;
    return 0;
}

/* "VP8/90000[/2]" after the payload type of an a=rtpmap. */
static int rtpmap_read(const char *v, char *name, size_t cap, uint32_t *rate, uint32_t *channels)
{
    const char *slash = strchr(v, '/');
    if (!slash || slash == v || copy_str(name, cap, v, (size_t)(slash - v)) < 0)
        return -EINVAL;
    v = slash + 1;
    if (read_uint(&v, 1000000, rate) < 0 || *rate == 0)
        return -EINVAL;
    *channels = 0;
    if (*v == '/') {
        v++;
        if (read_uint(&v, 255, channels) < 0)
            return -EINVAL;
    }
    return *v == '\0' ? 0 : -EINVAL;
}

/* The a=rtpmap of pt in m: 1 found, 0 none, -EINVAL malformed. */
static int rtpmap_find(const GstSDPMedia *m, uint32_t pt, char *name, size_t cap, uint32_t *rate,
                       uint32_t *channels)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *rest;
        uint32_t p;
        if (strcmp(a->key, "rtpmap") != 0)
            continue;
        if (pt_prefix_read(a->value, &p, &rest) < 0)
            return -EINVAL;
        if (p == pt)
            return rtpmap_read(rest, name, cap, rate, channels) < 0 ? -EINVAL : 1;
    }
    return 0;
}

/* The a=fmtp parameters of pt in m, or "". */
static const char *fmtp_find(const GstSDPMedia *m, uint32_t pt)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *rest;
        uint32_t p;
        if (strcmp(a->key, "fmtp") == 0 && pt_prefix_read(a->value, &p, &rest) == 0 && p == pt)
            return rest;
    }
    return "";
}

/* The value of key in a "k=v;k=v" fmtp, copied into out; false when absent. */
static bool fmtp_param(const char *fmtp, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = fmtp;
    while (*p) {
        size_t n;
        while (*p == ' ' || *p == ';')
            p++;
        n = strcspn(p, ";");
        if (n > klen && strncasecmp(p, key, klen) == 0 && p[klen] == '=')
            return copy_str(out, cap, p + klen + 1, n - klen - 1) == 0;
        p += n;
    }
    return false;
}

/* H.264 the SFU and every browser handle: packetization-mode=1 and a constrained baseline
 * compatible profile (RFC 6184 table 5: 42 with any constraints, as browsers' 42001f decoders
 * handle constrained baseline; 4D with constraint_set0; 58 with sets 0 and 1). No
 * profile-level-id means 42000A, baseline. */
static bool h264_fmtp_ok(const char *fmtp)
{
    char v[16];
    unsigned long plid;
    char *end;
    if (!fmtp_param(fmtp, "packetization-mode", v, sizeof(v)) || strcmp(v, "1") != 0)
        return false;
    if (!fmtp_param(fmtp, "profile-level-id", v, sizeof(v)))
        return true;
    if (strlen(v) != 6)
        return false;
    plid = strtoul(v, &end, 16);
    if (*end != '\0')
        return false;
    unsigned idc = (unsigned)(plid >> 16), iop = (unsigned)(plid >> 8) & 0xff;
    return idc == 0x42 || (idc == 0x4d && (iop & 0x80)) || (idc == 0x58 && (iop & 0xc0) == 0xc0);
}

static bool codec_accepted(Sfu__MediaKind kind, const char *name, uint32_t rate, uint32_t ch,
                           const char *fmtp)
{
    if (kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO)
        return strcasecmp(name, "opus") == 0 && rate == 48000 && ch == 2;
    if (rate != 90000)
        return false;
    if (strcasecmp(name, "VP8") == 0)
        return true;
    return strcasecmp(name, "H264") == 0 && h264_fmtp_ok(fmtp);
}

static bool fb_supported(const char *fb)
{
    static const char *const known[] = {"nack", "nack pli", "ccm fir", "transport-cc", "goog-remb"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(fb, known[i]) == 0)
            return true;
    }
    return false;
}

bool sdp_ext_supported(const char *uri)
{
    return strcmp(uri, URI_MID) == 0 || strcmp(uri, URI_RID) == 0 || strcmp(uri, URI_RRID) == 0 ||
           strcmp(uri, URI_TWCC) == 0;
}

/* The RTX payload type of pt: an a=fmtp:X apt=pt whose X is rtx at the same clock rate. */
static void rtx_find(const GstSDPMedia *m, struct sdp_codec *c)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *rest, *av;
        char v[8], name[16];
        uint32_t x, apt, rate, ch;
        if (strcmp(a->key, "fmtp") != 0 || pt_prefix_read(a->value, &x, &rest) < 0)
            continue;
        if (!fmtp_param(rest, "apt", v, sizeof(v)))
            continue;
        av = v;
        if (read_uint(&av, 127, &apt) < 0 || *av || apt != c->pt)
            continue;
        if (rtpmap_find(m, x, name, sizeof(name), &rate, &ch) == 1 &&
            strcasecmp(name, "rtx") == 0 && rate == c->clock_rate) {
            c->rtx_pt = x;
            return;
        }
    }
}

static void fb_collect(const GstSDPMedia *m, struct sdp_codec *c)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *rest;
        uint32_t pt;
        bool dup = false;
        if (strcmp(a->key, "rtcp-fb") != 0 || !a->value)
            continue;
        if (strncmp(a->value, "* ", 2) == 0)
            rest = a->value + 2;
        else if (pt_prefix_read(a->value, &pt, &rest) < 0 || pt != c->pt)
            continue;
        if (!fb_supported(rest))
            continue;
        for (size_t k = 0; k < c->n_rtcp_fb; k++)
            dup = dup || strcmp(c->rtcp_fb[k], rest) == 0;
        if (!dup && c->n_rtcp_fb < SDP_MAX_FB)
            copy_cstr(c->rtcp_fb[c->n_rtcp_fb++], SDP_FB_LEN, rest);
    }
}

/* The first format of the m= line we accept; otherwise an error listing what was offered. */
static int codec_choose(const GstSDPMedia *m, struct sdp_media *out, const char *where, char *err,
                        size_t err_len)
{
    char offered[96] = "";
    size_t used = 0;
    for (guint f = 0; f < gst_sdp_media_formats_len(m); f++) {
        const char *fv = gst_sdp_media_get_format(m, f);
        char name[16];
        uint32_t pt, rate, ch;
        int rc;
        if (!fv || read_uint(&fv, 127, &pt) < 0 || *fv)
            return fail(err, err_len, "%s: m= line: bad payload type", where);
        rc = rtpmap_find(m, pt, name, sizeof(name), &rate, &ch);
        if (rc < 0)
            return fail(err, err_len, "%s: a=rtpmap:%u is malformed", where, pt);
        if (rc == 0)
            continue;
        const char *fmtp = fmtp_find(m, pt);
        if (codec_accepted(out->kind, name, rate, ch, fmtp)) {
            struct sdp_codec *c = &out->codec;
            memset(c, 0, sizeof(*c));
            strcpy(c->name, name);
            c->pt = pt;
            c->clock_rate = rate;
            c->channels = ch;
            if (copy_cstr(c->fmtp, sizeof(c->fmtp), fmtp) < 0)
                return fail(err, err_len, "%s: a=fmtp:%u is too long", where, pt);
            rtx_find(m, c);
            fb_collect(m, c);
            return 0;
        }
        if (strcasecmp(name, "rtx") == 0 || strcasecmp(name, "red") == 0 ||
            strcasecmp(name, "ulpfec") == 0 || strcasecmp(name, "flexfec-03") == 0 ||
            strcasecmp(name, "CN") == 0 || strcasecmp(name, "telephone-event") == 0)
            continue;
        /* Each name once: "H264" appears for several profiles. */
        char tok[20];
        snprintf(tok, sizeof(tok), "%s, ", name);
        if (!strstr(offered, tok) && used + strlen(tok) < sizeof(offered)) {
            memcpy(offered + used, tok, strlen(tok) + 1);
            used += strlen(tok);
        }
    }
    if (used >= 2)
        offered[used - 2] = '\0';
    return fail(err, err_len, "%s: no codec we accept (offered: %s)", where,
                used ? offered : "none");
}

/* a=ssrc-group:FID <media> <rtx> names both; otherwise the first a=ssrc is the media SSRC. The
 * cname is that of the media SSRC. */
static int ssrcs_read(const GstSDPMedia *m, struct sdp_media *out, const char *where, char *err,
                      size_t err_len)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value;
        if (strcmp(a->key, "ssrc-group") != 0 || !v)
            continue;
        if (strncmp(v, "SIM ", 4) == 0)
            return fail(err, err_len, "%s: a=ssrc-group:SIM: simulcast is not supported", where);
        if (strncmp(v, "FID ", 4) != 0 || out->ssrc)
            continue;
        v += 4;
        if (read_uint(&v, UINT32_MAX, &out->ssrc) < 0 || *v++ != ' ' ||
            read_uint(&v, UINT32_MAX, &out->rtx_ssrc) < 0 || *v != '\0' || !out->ssrc ||
            !out->rtx_ssrc || out->ssrc == out->rtx_ssrc)
            return fail(err, err_len, "%s: a=ssrc-group:FID is malformed", where);
    }
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value;
        uint32_t ssrc;
        if (strcmp(a->key, "ssrc") != 0)
            continue;
        if (!v || read_uint(&v, UINT32_MAX, &ssrc) < 0 || ssrc == 0 || (*v != ' ' && *v))
            return fail(err, err_len, "%s: a=ssrc is malformed", where);
        if (out->ssrc == 0)
            out->ssrc = ssrc;
        if (*v == ' ')
            v++;
        if (ssrc == out->ssrc && strncmp(v, "cname:", 6) == 0 &&
            copy_cstr(out->cname, sizeof(out->cname), v + 6) < 0)
            return fail(err, err_len, "%s: a=ssrc cname is too long", where);
    }
    if (!out->codec.rtx_pt)
        out->rtx_ssrc = 0;
    return 0;
}

/* a=rid:<id> send ...: recorded, so that the refusal can name them. */
static int rids_read(const GstSDPMedia *m, struct sdp_media *out, const char *where, char *err,
                     size_t err_len)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value;
        size_t n;
        if (strcmp(a->key, "rid") != 0 || !v)
            continue;
        n = strcspn(v, " ");
        if (strncmp(v + n, " send", 5) != 0 || (v[n + 5] != '\0' && v[n + 5] != ' '))
            continue;
        if (out->n_rids == SDP_MAX_RIDS || copy_str(out->rids[out->n_rids], SDP_RID_LEN, v, n) < 0)
            return fail(err, err_len, "%s: a=rid: too many or too long", where);
        out->n_rids++;
    }
    return 0;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>]; the ones the browser will not send
 * (recvonly, inactive) are left out. */
static int exts_read(const GstSDPMedia *m, struct sdp_media *out, const char *where, char *err,
                     size_t err_len)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *v = a->value;
        uint32_t id;
        size_t n;
        bool skip = false;
        if (strcmp(a->key, "extmap") != 0)
            continue;
        if (!v || read_uint(&v, 255, &id) < 0 || id == 0)
            return fail(err, err_len, "%s: a=extmap: bad id", where);
        if (*v == '/') {
            skip = strncmp(v, "/recvonly ", 10) == 0 || strncmp(v, "/inactive ", 10) == 0;
            v = strchr(v, ' ');
        }
        if (!v || *v++ != ' ' || *v == '\0' || *v == ' ')
            return fail(err, err_len, "%s: a=extmap:%u: no URI", where, id);
        for (size_t k = 0; k < out->n_exts; k++) {
            if (out->exts[k].id == id)
                return fail(err, err_len, "%s: a=extmap:%u appears twice", where, id);
        }
        if (skip)
            continue;
        n = strcspn(v, " ");
        if (out->n_exts == SDP_MAX_EXTS)
            return fail(err, err_len, "%s: more than %d a=extmap lines", where, SDP_MAX_EXTS);
        if (copy_str(out->exts[out->n_exts].uri, SDP_URI_LEN, v, n) < 0)
            return fail(err, err_len, "%s: a=extmap:%u: URI too long", where, id);
        out->exts[out->n_exts++].id = id;
    }
    return 0;
}

/* The direction of m (its own, else the session's, else sendrecv). */
static const char *direction_get(const GstSDPMessage *msg, const GstSDPMedia *m)
{
    static const char *const dirs[] = {"sendonly", "recvonly", "sendrecv", "inactive"};
    for (size_t i = 0; i < 4; i++) {
        if (media_has(m, dirs[i]))
            return dirs[i];
    }
    for (size_t i = 0; i < 4; i++) {
        if (session_has(msg, dirs[i]))
            return dirs[i];
    }
    return "sendrecv";
}

/* Section index of an offer: what it is, and for a sending one, everything the SFU needs. */
static int offer_media_read(const GstSDPMessage *msg, guint index, struct sdp_media *out,
                            struct sdp_publish *pub, bool *first, char *err, size_t err_len)
{
    const GstSDPMedia *m = gst_sdp_message_get_media(msg, index);
    const char *media = gst_sdp_media_get_media(m), *proto = gst_sdp_media_get_proto(m);
    const char *fmt0 = gst_sdp_media_formats_len(m) ? gst_sdp_media_get_format(m, 0) : "";
    const char *mid = gst_sdp_media_get_attribute_val(m, "mid");
    const char *dir, *setup;
    char where[64];
    char ufrag[SDP_UFRAG_LEN], pwd[SDP_PWD_LEN], fp[SDP_FP_LEN];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!media || copy_cstr(out->media, sizeof(out->media), media) < 0 ||
        copy_cstr(out->proto, sizeof(out->proto), proto) < 0 ||
        copy_cstr(out->fmt0, sizeof(out->fmt0), fmt0) < 0)
        return fail(err, err_len, "m= line %u is malformed", index + 1);
    if (mid && !mid_valid(mid))
        return fail(err, err_len, "m=%s (section %u): a=mid is empty, too long or not a token",
                    out->media, index + 1);
    if (mid)
        strcpy(out->mid, mid);
    snprintf(where, sizeof(where), "m=%.16s (mid %.32s)", out->media, mid ? mid : "none");
    if (strcmp(media, "audio") == 0)
        out->kind = SFU__MEDIA_KIND__MEDIA_KIND_AUDIO;
    else if (strcmp(media, "video") == 0)
        out->kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    else
        return 0; /* a data channel, or anything else: rejected in the answer */
    dir = direction_get(msg, m);
    if (strcmp(dir, "sendonly") != 0 && strcmp(dir, "sendrecv") != 0)
        return 0;
    if (gst_sdp_media_get_port(m) == 0 && !media_has(m, "bundle-only"))
        return 0; /* the browser itself rejected it */
    if (!mid)
        return fail(err, err_len, "%s: no a=mid", where);
    if (!proto || strstr(proto, "SAVPF") == NULL)
        return fail(err, err_len, "%s: protocol %s is not UDP/TLS/RTP/SAVPF", where,
                    proto ? proto : "(none)");
    rc = transport_read(msg, m, where, ufrag, pwd, fp, err, err_len);
    if (rc < 0)
        return rc;
    setup = attr_get(msg, m, "setup");
    if (!setup)
        return fail(err, err_len, "%s: no a=setup", where);
    if (strcmp(setup, "passive") == 0)
        return fail(err, err_len,
                    "%s: a=setup:passive refused: the SFU is always the DTLS server (offer "
                    "actpass or active)",
                    where);
    if (strcmp(setup, "actpass") != 0 && strcmp(setup, "active") != 0)
        return fail(err, err_len, "%s: a=setup:%.16s is not actpass or active", where, setup);
    if (*first) {
        strcpy(pub->ufrag, ufrag);
        strcpy(pub->pwd, pwd);
        strcpy(pub->fingerprint, fp);
        pub->setup_active = strcmp(setup, "active") == 0;
        *first = false;
    } else if (strcmp(pub->ufrag, ufrag) != 0 || strcmp(pub->pwd, pwd) != 0) {
        return fail(err, err_len,
                    "%s: a=ice-ufrag/ice-pwd differ from the first section's "
                    "(one BUNDLE transport has one set)",
                    where);
    } else if (strcasecmp(pub->fingerprint, fp) != 0) {
        return fail(err, err_len, "%s: a=fingerprint differs from the first section's", where);
    } else if (pub->setup_active != (strcmp(setup, "active") == 0)) {
        return fail(err, err_len, "%s: a=setup differs from the first section's", where);
    }
    if ((rc = codec_choose(m, out, where, err, err_len)) < 0 ||
        (rc = exts_read(m, out, where, err, err_len)) < 0 ||
        (rc = rids_read(m, out, where, err, err_len)) < 0 ||
        (rc = ssrcs_read(m, out, where, err, err_len)) < 0)
        return rc;
    if (out->n_rids && !out->ssrc)
        return fail(err, err_len,
                    "%s: simulcast by RID only (a=rid:%s ...) is not supported by the SFU yet",
                    where, out->rids[0]);
    if (!out->ssrc)
        return fail(err, err_len, "%s: no a=ssrc", where);
    out->publish = true;
    return 0;
}

int sdp_offer_parse(const char *text, size_t len, struct sdp_publish *out, char *err,
                    size_t err_len)
{
    GstSDPMessage *msg = NULL;
    char bundle[SDP_MAX_MEDIA][SDP_MID_LEN];
    size_t n_bundle, n_pub = 0;
    bool first = true;
    int rc;

    if (err && err_len)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    rc = msg_parse(text, len, &msg, err, err_len);
    if (rc < 0)
        return rc;
    out->n_media = gst_sdp_message_medias_len(msg);
    for (guint i = 0; i < out->n_media; i++) {
        rc = offer_media_read(msg, i, &out->media[i], out, &first, err, err_len);
        if (rc < 0)
            goto out;
        for (guint k = 0; k < i && out->media[i].mid[0]; k++) {
            if (strcmp(out->media[k].mid, out->media[i].mid) == 0) {
                rc = fail(err, err_len, "a=mid:%s appears in two sections", out->media[i].mid);
                goto out;
            }
        }
        n_pub += out->media[i].publish;
    }
    if (n_pub == 0) {
        rc = fail(err, err_len, "no sendonly or sendrecv audio or video section to publish");
        goto out;
    }
    rc = bundle_read(msg, bundle, &n_bundle, err, err_len);
    if (rc < 0)
        goto out;
    if (n_bundle == 0 && n_pub > 1) {
        rc =
            fail(err, err_len, "no a=group:BUNDLE: %zu sending sections need one transport", n_pub);
        goto out;
    }
    for (size_t i = 0; i < out->n_media && n_bundle; i++) {
        if (out->media[i].publish && !mid_in(bundle, n_bundle, out->media[i].mid)) {
            rc = fail(err, err_len, "a=group:BUNDLE does not list mid %s", out->media[i].mid);
            goto out;
        }
    }
    out->extmap_allow_mixed = session_has(msg, "extmap-allow-mixed");
    rc = 0;
out:
    gst_sdp_message_free(msg);
    return rc;
}

void sdp_rtp_view_fill(struct sdp_rtp_view *pb, const struct sdp_media *m)
{
    size_t n = 0;
    sfu__rtp_parameters__init(&pb->rtp);
    sfu__codec__init(&pb->codec);
    sfu__encoding__init(&pb->enc);
    /* protobuf-c's structs hold char *; nothing writes through them. */
    pb->codec.name = (char *)m->codec.name;
    pb->codec.payload_type = m->codec.pt;
    pb->codec.clock_rate = m->codec.clock_rate;
    pb->codec.channels = m->codec.channels;
    pb->codec.fmtp = (char *)m->codec.fmtp;
    pb->codec.rtx_payload_type = m->codec.rtx_pt;
    for (size_t i = 0; i < m->codec.n_rtcp_fb; i++)
        pb->fb[i] = (char *)m->codec.rtcp_fb[i];
    pb->codec.n_rtcp_fb = m->codec.n_rtcp_fb;
    pb->codec.rtcp_fb = pb->fb;
    pb->codecs[0] = &pb->codec;
    pb->enc.ssrc = m->ssrc;
    pb->enc.rtx_ssrc = m->rtx_ssrc;
    pb->encs[0] = &pb->enc;
    for (size_t i = 0; i < m->n_exts; i++) {
        if (!sdp_ext_supported(m->exts[i].uri))
            continue;
        sfu__header_extension__init(&pb->ext[n]);
        pb->ext[n].id = m->exts[i].id;
        pb->ext[n].uri = (char *)m->exts[i].uri;
        pb->exts[n] = &pb->ext[n];
        n++;
    }
    pb->rtp.mid = (char *)m->mid;
    pb->rtp.n_codecs = 1;
    pb->rtp.codecs = pb->codecs;
    pb->rtp.n_encodings = 1;
    pb->rtp.encodings = pb->encs;
    pb->rtp.n_header_extensions = n;
    pb->rtp.header_extensions = pb->exts;
}

int sdp_transport_from_pb(struct sdp_transport *t, const Sfu__CreateTransportResponse *resp)
{
    memset(t, 0, sizeof(*t));
    if (!resp->ice_ufrag || !resp->ice_ufrag[0] || !resp->ice_pwd || !resp->ice_pwd[0] ||
        !resp->fingerprint || !resp->fingerprint->value || !resp->fingerprint->algorithm ||
        strcasecmp(resp->fingerprint->algorithm, "sha-256") != 0)
        return -EINVAL;
    t->ufrag = resp->ice_ufrag;
    t->pwd = resp->ice_pwd;
    t->fingerprint = resp->fingerprint->value;
    for (size_t i = 0; i < resp->n_candidates && t->n_cands < SDP_MAX_CANDS; i++) {
        const Sfu__IceCandidate *c = resp->candidates[i];
        if (!c->ip || !c->foundation || c->port == 0 || c->port > 65535 ||
            (c->protocol && c->protocol[0] && strcasecmp(c->protocol, "udp") != 0))
            continue;
        t->cands[t->n_cands].foundation = c->foundation;
        t->cands[t->n_cands].priority = c->priority;
        t->cands[t->n_cands].ip = c->ip;
        t->cands[t->n_cands].port = (uint16_t)c->port;
        t->n_cands++;
    }
    return t->n_cands ? 0 : -EINVAL;
}

int sdp_media_from_consumed(struct sdp_media *out, const Sfu__ConsumeResponse *resp,
                            const Sfu__ConsumeRequest *req, const char *cname)
{
    const Sfu__RtpParameters *rtp = resp->rtp;
    const Sfu__Codec *c;
    struct sdp_codec *oc = &out->codec;
    memset(out, 0, sizeof(*out));
    if (!rtp || rtp->n_codecs == 0 || rtp->n_encodings == 0 || !rtp->mid || !mid_valid(rtp->mid) ||
        !rtp->codecs[0]->name || rtp->codecs[0]->payload_type > 127)
        return -EINVAL;
    c = rtp->codecs[0];
    out->publish = true;
    out->kind = resp->kind;
    if (copy_cstr(out->media, sizeof(out->media),
                  resp->kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO ? "audio" : "video") < 0 ||
        copy_cstr(out->mid, sizeof(out->mid), rtp->mid) < 0 ||
        copy_cstr(oc->name, sizeof(oc->name), c->name) < 0 ||
        copy_cstr(out->cname, sizeof(out->cname), cname) < 0)
        return -EINVAL;
    oc->pt = c->payload_type;
    oc->clock_rate = c->clock_rate;
    oc->channels = c->channels;
    oc->rtx_pt = c->rtx_payload_type <= 127 ? c->rtx_payload_type : 0;
    for (size_t i = 0; req && i < req->n_codecs; i++) {
        const Sfu__Codec *rc = req->codecs[i];
        if (rc->payload_type != c->payload_type)
            continue;
        if (copy_cstr(oc->fmtp, sizeof(oc->fmtp), rc->fmtp) < 0 || rc->n_rtcp_fb > SDP_MAX_FB)
            return -EINVAL;
        for (size_t k = 0; k < rc->n_rtcp_fb; k++) {
            if (copy_cstr(oc->rtcp_fb[k], SDP_FB_LEN, rc->rtcp_fb[k]) < 0)
                return -EINVAL;
        }
        oc->n_rtcp_fb = rc->n_rtcp_fb;
    }
    out->ssrc = rtp->encodings[0]->ssrc;
    out->rtx_ssrc = oc->rtx_pt ? rtp->encodings[0]->rtx_ssrc : 0;
    if (rtp->n_header_extensions > SDP_MAX_EXTS)
        return -EINVAL;
    for (size_t i = 0; i < rtp->n_header_extensions; i++) {
        const Sfu__HeaderExtension *x = rtp->header_extensions[i];
        if (copy_cstr(out->exts[i].uri, SDP_URI_LEN, x->uri) < 0 || x->id == 0 || x->id > 255)
            return -EINVAL;
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
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    gst_sdp_media_add_attribute(md, key, v);
}

static const char *addr_type(const char *ip)
{
    return strchr(ip, ':') ? "IP6" : "IP4";
}

static void session_init(GstSDPMessage *msg, unsigned version, const char *mids)
{
    char v[16];
    snprintf(v, sizeof(v), "%u", version);
    gst_sdp_message_set_version(msg, "0");
    gst_sdp_message_set_origin(msg, "-", "1", v, "IN", "IP4", "127.0.0.1");
    gst_sdp_message_set_session_name(msg, "-");
    gst_sdp_message_add_time(msg, "0", "0", NULL);
    /* Flag attributes get "" rather than NULL: GstSDP's attributes_to_caps, which webrtcbin
     * calls, reads every value. */
    gst_sdp_message_add_attribute(msg, "ice-lite", "");
    if (mids[0])
        gst_sdp_message_add_attribute(msg, "group", mids);
}

/* One section carrying media m on the SFU's transport t. */
static void media_write(GstSDPMedia *md, const struct sdp_media *m, const struct sdp_transport *t,
                        const char *setup, const char *direction, bool offer)
{
    const struct sdp_codec *c = &m->codec;
    char fmt[12];
    gst_sdp_media_set_media(md, m->kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO ? "audio" : "video");
    gst_sdp_media_set_port_info(md, t->cands[0].port, 1);
    gst_sdp_media_set_proto(md, "UDP/TLS/RTP/SAVPF");
    snprintf(fmt, sizeof(fmt), "%u", c->pt);
    gst_sdp_media_add_format(md, fmt);
    if (c->rtx_pt) {
        snprintf(fmt, sizeof(fmt), "%u", c->rtx_pt);
        gst_sdp_media_add_format(md, fmt);
    }
    gst_sdp_media_add_connection(md, "IN", addr_type(t->cands[0].ip), t->cands[0].ip, 0, 0);
    gst_sdp_media_add_attribute(md, "mid", m->mid);
    gst_sdp_media_add_attribute(md, "ice-ufrag", t->ufrag);
    gst_sdp_media_add_attribute(md, "ice-pwd", t->pwd);
    media_attr(md, "fingerprint", "sha-256 %s", t->fingerprint);
    gst_sdp_media_add_attribute(md, "setup", setup);
    for (size_t i = 0; i < t->n_cands; i++)
        media_attr(md, "candidate", "%s 1 udp %u %s %u typ host", t->cands[i].foundation,
                   t->cands[i].priority, t->cands[i].ip, t->cands[i].port);
    gst_sdp_media_add_attribute(md, "end-of-candidates", "");
    gst_sdp_media_add_attribute(md, "rtcp-mux", "");
    gst_sdp_media_add_attribute(md, direction, "");
    for (size_t i = 0; i < m->n_exts; i++) {
        if (offer || sdp_ext_supported(m->exts[i].uri))
            media_attr(md, "extmap", "%u %s", m->exts[i].id, m->exts[i].uri);
    }
    if (c->channels)
        media_attr(md, "rtpmap", "%u %s/%u/%u", c->pt, c->name, c->clock_rate, c->channels);
    else
        media_attr(md, "rtpmap", "%u %s/%u", c->pt, c->name, c->clock_rate);
    if (c->fmtp[0])
        media_attr(md, "fmtp", "%u %s", c->pt, c->fmtp);
    for (size_t i = 0; i < c->n_rtcp_fb; i++)
        media_attr(md, "rtcp-fb", "%u %s", c->pt, c->rtcp_fb[i]);
    if (c->rtx_pt) {
        media_attr(md, "rtpmap", "%u rtx/%u", c->rtx_pt, c->clock_rate);
        media_attr(md, "fmtp", "%u apt=%u", c->rtx_pt, c->pt);
    }
    /* An inactive slot keeps its codec lines (a dynamic payload type needs its rtpmap) but
     * sends nothing, so it names no SSRC. */
    if (!offer || !m->publish)
        return;
    /* One media stream per cname (signalling gives each participant's tracks theirs), so that
     * the browser groups a person's audio and video and keeps them in lip sync. */
    media_attr(md, "msid", "%s %s", m->cname, m->mid);
    if (c->rtx_pt && m->rtx_ssrc)
        media_attr(md, "ssrc-group", "FID %u %u", m->ssrc, m->rtx_ssrc);
    media_attr(md, "ssrc", "%u cname:%s", m->ssrc, m->cname);
    if (c->rtx_pt && m->rtx_ssrc)
        media_attr(md, "ssrc", "%u cname:%s", m->rtx_ssrc, m->cname);
}

static void bundle_append(char *mids, size_t cap, const char *mid)
{
    size_t used = strlen(mids);
    if (used == 0)
        used = (size_t)snprintf(mids, cap, "BUNDLE");
    snprintf(mids + used, cap - used, " %s", mid);
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

static bool transport_ok(const struct sdp_transport *t)
{
    return t && t->ufrag && t->pwd && t->fingerprint && t->n_cands >= 1 &&
           t->n_cands <= SDP_MAX_CANDS && t->cands[0].ip && t->cands[0].foundation;
}

int sdp_answer_build(const struct sdp_publish *offer, const struct sdp_transport *t, char **out)
{
    GstSDPMessage *msg;
    char mids[SDP_MAX_MEDIA * (SDP_MID_LEN + 1) + 8] = "";
    if (!transport_ok(t) || offer->n_media == 0 || offer->n_media > SDP_MAX_MEDIA)
        return -EINVAL;
    for (size_t i = 0; i < offer->n_media; i++) {
        if (offer->media[i].publish)
            bundle_append(mids, sizeof(mids), offer->media[i].mid);
    }
    if (!mids[0])
        return -EINVAL;
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return -ENOMEM;
    session_init(msg, 1, mids);
    if (offer->extmap_allow_mixed)
        gst_sdp_message_add_attribute(msg, "extmap-allow-mixed", "");
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct sdp_media *m = &offer->media[i];
        GstSDPMedia md;
        memset(&md, 0, sizeof(md)); /* init frees what it finds */
        gst_sdp_media_init(&md);
        if (m->publish) {
            media_write(&md, m, t, "passive", "recvonly", false);
        } else {
            /* Rejected: the same media, protocol and a format, port 0 (RFC 3264 6). */
            gst_sdp_media_set_media(&md, m->media);
            gst_sdp_media_set_port_info(&md, 0, 1);
            gst_sdp_media_set_proto(&md, m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF");
            gst_sdp_media_add_format(&md, m->fmt0[0] ? m->fmt0 : "0");
            if (m->mid[0])
                gst_sdp_media_add_attribute(&md, "mid", m->mid);
            gst_sdp_media_add_attribute(&md, "inactive", "");
        }
        /* add_media takes over what md holds. */
        gst_sdp_message_add_media(msg, &md);
    }
    return text_take(msg, out);
}

int sdp_offer_build(const struct sdp_media *media, size_t n, const struct sdp_transport *t,
                    unsigned version, char **out)
{
    GstSDPMessage *msg;
    char mids[SDP_MAX_MEDIA * (SDP_MID_LEN + 1) + 8] = "";
    if (n == 0 || n > SDP_MAX_MEDIA || !transport_ok(t))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!mid_valid(media[i].mid))
            return -EINVAL;
        bundle_append(mids, sizeof(mids), media[i].mid);
    }
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return -ENOMEM;
    session_init(msg, version, mids);
    gst_sdp_message_add_attribute(msg, "msid-semantic", "WMS *");
    for (size_t i = 0; i < n; i++) {
        GstSDPMedia md;
        memset(&md, 0, sizeof(md));
        gst_sdp_media_init(&md);
        if (media[i].publish) {
            media_write(&md, &media[i], t, "actpass", "sendonly", true);
        } else {
            /* A slot kept for reuse: still bundled, its last payload type on the m= line. */
            media_write(&md, &media[i], t, "actpass", "inactive", true);
        }
        gst_sdp_message_add_media(msg, &md);
    }
    return text_take(msg, out);
}

/* One section of a browser's answer to our offer. */
static int answer_media_check(const GstSDPMessage *msg, guint i, const struct sdp_media *want,
                              struct sdp_remote *out, bool *first, char *err, size_t err_len)
{
    const GstSDPMedia *m = gst_sdp_message_get_media(msg, i);
    const char *mid = gst_sdp_media_get_attribute_val(m, "mid");
    const char *dir, *setup;
    char where[64], ufrag[SDP_UFRAG_LEN], pwd[SDP_PWD_LEN], fp[SDP_FP_LEN];
    bool pt_found = false;
    int rc;
    snprintf(where, sizeof(where), "m= section %u (mid %.32s)", i + 1, want->mid);
    if (!mid || strcmp(mid, want->mid) != 0)
        return fail(err, err_len, "%s: a=mid:%.32s does not match the offer", where,
                    mid ? mid : "(none)");
    if (gst_sdp_media_get_port(m) == 0 && !media_has(m, "bundle-only")) {
        out->rejected[i] = true;
        return 0;
    }
    dir = direction_get(msg, m);
    if (strcmp(dir, "recvonly") != 0 && strcmp(dir, "inactive") != 0)
        return fail(err, err_len, "%s: a=%s: only recvonly or inactive answer a sendonly offer",
                    where, dir);
    rc = transport_read(msg, m, where, ufrag, pwd, fp, err, err_len);
    if (rc < 0)
        return rc;
    setup = attr_get(msg, m, "setup");
    if (!setup || strcmp(setup, "active") != 0)
        return fail(err, err_len,
                    "%s: a=setup:%.16s: the answer must be active (the SFU is the DTLS server)",
                    where, setup ? setup : "(none)");
    if (*first) {
        strcpy(out->ufrag, ufrag);
        strcpy(out->pwd, pwd);
        strcpy(out->fingerprint, fp);
        *first = false;
    } else if (strcmp(out->ufrag, ufrag) != 0 || strcmp(out->pwd, pwd) != 0 ||
               strcasecmp(out->fingerprint, fp) != 0) {
        return fail(err, err_len, "%s: ICE credentials or fingerprint differ between sections",
                    where);
    }
    if (!want->publish)
        return 0;
    for (guint f = 0; f < gst_sdp_media_formats_len(m); f++) {
        const char *fv = gst_sdp_media_get_format(m, f);
        uint32_t pt;
        if (fv && read_uint(&fv, 127, &pt) == 0 && *fv == '\0' && pt == want->codec.pt)
            pt_found = true;
    }
    if (!pt_found)
        return fail(err, err_len, "%s: the answer does not accept payload type %u (%s)", where,
                    want->codec.pt, want->codec.name);
    return 0;
}

int sdp_answer_check(const char *text, size_t len, const struct sdp_media *media, size_t n,
                     struct sdp_remote *out, char *err, size_t err_len)
{
    GstSDPMessage *msg = NULL;
    char bundle[SDP_MAX_MEDIA][SDP_MID_LEN];
    size_t n_bundle;
    bool first = true;
    int rc;
    if (err && err_len)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (n == 0 || n > SDP_MAX_MEDIA)
        return fail(err, err_len, "nothing was offered");
    rc = msg_parse(text, len, &msg, err, err_len);
    if (rc < 0)
        return rc;
    if (gst_sdp_message_medias_len(msg) != n) {
        rc = fail(err, err_len, "%u m= sections answer an offer of %zu",
                  gst_sdp_message_medias_len(msg), n);
        goto out;
    }
    for (guint i = 0; i < n; i++) {
        rc = answer_media_check(msg, i, &media[i], out, &first, err, err_len);
        if (rc < 0)
            goto out;
    }
    if (first) {
        rc = fail(err, err_len, "the answer rejects every section");
        goto out;
    }
    rc = bundle_read(msg, bundle, &n_bundle, err, err_len);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!out->rejected[i] && (n > 1 || n_bundle) && !mid_in(bundle, n_bundle, media[i].mid)) {
            rc = fail(err, err_len, "a=group:BUNDLE does not list mid %s", media[i].mid);
            goto out;
        }
    }
    rc = 0;
out:
    gst_sdp_message_free(msg);
    return rc;
}
