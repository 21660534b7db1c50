/* The load tester's clip: three GStreamer branches (test source, encoder, RTP payloader, appsink)
 * in one pipeline, their packets kept per track, and the sender's per-packet render. */
#include "lt_clip.h"
#include "lt_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

/* One packet of the clip. The payload lives in the track's byte array. */
struct clip_pkt {
    uint64_t offset_us; /* PTS from the clip start */
    uint32_t ts;        /* RTP timestamp from the clip start, in the track's clock */
    uint32_t off;       /* where the payload starts in the track's bytes */
    uint16_t len;       /* payload length */
    uint16_t picid;     /* VP8 15-bit PictureID, relative to the clip's first */
    uint8_t picid_pos;  /* where the PictureID is in the payload; 0: none */
    bool marker;
    bool keyframe;
};

struct clip_track {
    struct clip_pkt *pkts; /* owned */
    size_t count, cap;
    uint8_t *bytes; /* owned */
    size_t nbytes, bytes_cap;
    uint64_t duration_us;
    uint64_t duration_ts; /* one loop in the track's clock */
    uint32_t clock_hz;
    bool is_vp8;
    bool have_picid0;
    uint16_t picid0; /* the first packet's PictureID, as the payloader chose it */
    size_t frames;   /* PictureIDs per loop: the continuation step at each loop */
    size_t keyframes;
    uint64_t payload_bytes;
    int err; /* set by the streaming thread: the first failure */
};

struct lt_clip {
    struct lt_clip_params params;
    struct clip_track track[LT_TRACKS];
};

#define CLIP_OPUS_FRAME_NS 20000000u /* opusenc frame-size=20 */

static const char *const track_sink_name[LT_TRACKS] = {"lt_audio", "lt_video", "lt_screen"};
static const uint8_t track_default_pt[LT_TRACKS] = {111, 96, 97};

void lt_clip_params_init(struct lt_clip_params *p)
{
    memset(p, 0, sizeof(*p));
    p->seconds = 10;
    p->track[LT_AUDIO].kbps = 32;
    p->track[LT_VIDEO].kbps = 800;
    p->track[LT_VIDEO].width = 640;
    p->track[LT_VIDEO].height = 360;
    p->track[LT_VIDEO].fps = 30;
    p->track[LT_SCREEN].kbps = 1000;
    p->track[LT_SCREEN].width = 1280;
    p->track[LT_SCREEN].height = 720;
    p->track[LT_SCREEN].fps = 10;
}

static int clip_params_fill(struct lt_clip_params *p, const struct lt_clip_params *in, char *err,
                            size_t errlen)
{
    struct lt_clip_params d;
    lt_clip_params_init(&d);
    *p = in ? *in : d;
    if (!p->seconds)
        p->seconds = d.seconds;
    for (int t = 0; t < LT_TRACKS; t++) {
        if (!p->track[t].kbps)
            p->track[t].kbps = d.track[t].kbps;
        if (!p->track[t].width)
            p->track[t].width = d.track[t].width;
        if (!p->track[t].height)
            p->track[t].height = d.track[t].height;
        if (!p->track[t].fps)
            p->track[t].fps = d.track[t].fps;
    }
    if (p->seconds > LT_CLIP_SECONDS_MAX) {
        lt_errf(err, errlen, "clip of %u s: at most %u", p->seconds, LT_CLIP_SECONDS_MAX);
        return -EINVAL;
    }
    /* opusenc's own range. */
    if (p->track[LT_AUDIO].kbps < 6 || p->track[LT_AUDIO].kbps > 510) {
        lt_errf(err, errlen, "audio at %u kbit/s: Opus takes 6 to 510", p->track[LT_AUDIO].kbps);
        return -EINVAL;
    }
    for (int t = LT_VIDEO; t <= LT_SCREEN; t++) {
        const char *name = t == LT_VIDEO ? "video" : "screen";
        if (p->track[t].kbps > 100000) {
            lt_errf(err, errlen, "%s at %u kbit/s: at most 100000", name, p->track[t].kbps);
            return -EINVAL;
        }
        /* VP8 codes up to 16383 x 16383; I420 wants even sizes. */
        if (p->track[t].width < 16 || p->track[t].width > 3840 || p->track[t].width % 2 ||
            p->track[t].height < 16 || p->track[t].height > 2160 || p->track[t].height % 2) {
            lt_errf(err, errlen, "%s size %ux%u: even, 16x16 to 3840x2160", name, p->track[t].width,
                    p->track[t].height);
            return -EINVAL;
        }
        if (p->track[t].fps > 60) {
            lt_errf(err, errlen, "%s at %u fps: at most 60", name, p->track[t].fps);
            return -EINVAL;
        }
    }
    /* Kept in memory, each track's bytes addressed in 32 bits: 1 GiB a track is plenty. */
    for (int t = 0; t < LT_TRACKS; t++) {
        if ((uint64_t)p->seconds * p->track[t].kbps * 125 > (UINT64_C(1) << 30)) {
            lt_errf(err, errlen, "clip of %u s at %u kbit/s: over 1 GiB, shorten it", p->seconds,
                    p->track[t].kbps);
            return -EINVAL;
        }
    }
    return 0;
}

/* The Debian package of each element we use, for an error the operator can act on. */
static int clip_elements_check(char *err, size_t errlen)
{
    static const struct {
        const char *element, *package;
    } need[] = {
        {"videotestsrc", "gstreamer1.0-plugins-base"},
        {"audiotestsrc", "gstreamer1.0-plugins-base"},
        {"capsfilter", "libgstreamer1.0-0"},
        {"opusenc", "gstreamer1.0-plugins-base"},
        {"appsink", "gstreamer1.0-plugins-base"},
        {"vp8enc", "gstreamer1.0-plugins-good"},
        {"rtpvp8pay", "gstreamer1.0-plugins-good"},
        {"rtpopuspay", "gstreamer1.0-plugins-good"},
    };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        GstElementFactory *f = gst_element_factory_find(need[i].element);
        if (!f) {
            lt_errf(err, errlen, "GStreamer element %s missing: install %s", need[i].element,
                    need[i].package);
            return -ENOENT;
        }
        gst_object_unref(f);
    }
    return 0;
}

/* Reads the VP8 payload descriptor (RFC 7741 4.2) far enough to find the PictureID and whether
 * the packet starts a keyframe (S set, partition 0, and the frame tag's P bit clear). */
static void clip_vp8_parse(struct clip_pkt *k, const uint8_t *p, size_t len, uint16_t *picid)
{
    size_t i = 1;
    if (len < 1)
        return;
    bool start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
    if (p[0] & 0x80) {
        if (len < 2)
            return;
        uint8_t x = p[1];
        i = 2;
        if (x & 0x80) {
            if (len < i + 1)
                return;
            if (p[i] & 0x80) {
                if (len < i + 2)
                    return;
                k->picid_pos = (uint8_t)i;
                *picid = (uint16_t)((p[i] & 0x7f) << 8 | p[i + 1]);
                i += 2;
            } else {
                i += 1;
            }
        }
        if (x & 0x40)
            i++;
        if (x & 0x30)
            i++;
    }
    k->keyframe = start && len > i && (p[i] & 0x01) == 0;
}

/* An array a of *cap elements of size sz, grown (doubling) to hold need; NULL when out of
 * memory, a left as it was. */
static void *clip_grow(void *a, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return a;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *p = realloc(a, n * sz);
    if (p)
        *cap = n;
    return p;
}

/* Keeps one RTP packet from the payloader: its header fields, its payload, its PTS. */
static int clip_track_add(struct clip_track *tr, const uint8_t *d, size_t len, GstClockTime pts)
{
    if (len < 12 || (d[0] >> 6) != 2)
        return -EBADMSG;
    /* opusenc stamps its first packet 0 and the others 6.5 ms (its lookahead) early, and adds
     * one for the padding at the end; a microphone's sender numbers every 20 ms frame 960 apart
     * (RFC 7587), and a loop must last exactly its duration or the next loop's first packet would
     * not come 20 ms after this loop's last. */
    if (!tr->is_vp8)
        pts = (GstClockTime)tr->count * CLIP_OPUS_FRAME_NS;
    if (!GST_CLOCK_TIME_IS_VALID(pts))
        return -EBADMSG;
    if (pts / 1000 >= tr->duration_us)
        return 0;
    size_t h = 12 + 4u * (d[0] & 0x0f);
    if (d[0] & 0x10) {
        if (len < h + 4)
            return -EBADMSG;
        h += 4 + 4u * ((size_t)d[h + 2] << 8 | d[h + 3]);
    }
    size_t end = len;
    if (d[0] & 0x20) {
        if (d[len - 1] == 0 || d[len - 1] > len)
            return -EBADMSG;
        end -= d[len - 1];
    }
    /* Rendered with a 12-byte header whatever the payloader's was: LT_CLIP_PKT_MAX must hold. */
    if (end <= h || 12 + (end - h) > LT_CLIP_PAY_MTU)
        return -EBADMSG;
    size_t plen = end - h;
    if (tr->nbytes + plen > UINT32_MAX) /* clip_pkt.off; clip_params_fill keeps far below */
        return -EFBIG;
    struct clip_pkt *pkts = clip_grow(tr->pkts, &tr->cap, tr->count + 1, sizeof(*tr->pkts));
    if (!pkts)
        return -ENOMEM;
    tr->pkts = pkts;
    uint8_t *bytes = clip_grow(tr->bytes, &tr->bytes_cap, tr->nbytes + plen, 1);
    if (!bytes)
        return -ENOMEM;
    tr->bytes = bytes;
    struct clip_pkt *k = &tr->pkts[tr->count];
    memset(k, 0, sizeof(*k));
    k->offset_us = pts / 1000;
    k->ts = (uint32_t)gst_util_uint64_scale_round(pts, tr->clock_hz, GST_SECOND);
    k->off = (uint32_t)tr->nbytes;
    k->len = (uint16_t)plen;
    k->marker = d[1] & 0x80;
    memcpy(tr->bytes + tr->nbytes, d + h, plen);
    if (tr->is_vp8) {
        uint16_t picid = 0;
        clip_vp8_parse(k, d + h, plen, &picid);
        if (k->picid_pos) {
            if (!tr->have_picid0) {
                tr->have_picid0 = true;
                tr->picid0 = picid;
            }
            k->picid = (uint16_t)((picid - tr->picid0) & 0x7fff);
            if ((size_t)k->picid + 1 > tr->frames)
                tr->frames = (size_t)k->picid + 1;
        }
        if (k->keyframe)
            tr->keyframes++;
    } else {
        tr->frames++;
    }
    tr->nbytes += plen;
    tr->payload_bytes += plen;
    tr->count++;
    return 0;
}

/* appsink's new-sample, on the branch's streaming thread: each branch writes only its own
 * track, so no lock. */
static GstFlowReturn clip_on_sample(GstAppSink *sink, gpointer arg)
{
    struct clip_track *tr = arg;
    GstSample *s = gst_app_sink_pull_sample(sink);
    if (!s)
        return GST_FLOW_EOS;
    GstBuffer *b = gst_sample_get_buffer(s);
    GstMapInfo m;
    int rc = -EBADMSG;
    if (b && gst_buffer_map(b, &m, GST_MAP_READ)) {
        rc = clip_track_add(tr, m.data, m.size, GST_BUFFER_PTS(b));
        gst_buffer_unmap(b, &m);
    }
    gst_sample_unref(s);
    if (rc < 0 && !tr->err)
        tr->err = rc;
    return rc < 0 ? GST_FLOW_ERROR : GST_FLOW_OK;
}

static char *clip_launch_line(const struct lt_clip_params *p)
{
    const unsigned s = p->seconds;
    const unsigned mtu = LT_CLIP_PAY_MTU;
    /* Video: a scrolling SMPTE pattern moves everywhere, as a camera picture does, and codes
     * near the target rate (plain noise overshoots it many times, a still one undershoots).
     * Screen: the still SMPTE pattern but for its small noise block, like a mostly still screen
     * with something moving in a corner. Both realtime (deadline=1), CBR as WebRTC's encoders
     * run, error-resilient as for real-time streams, one thread each so that the three branches
     * share the cores; cpu-used=16 keeps 10 s of both well under a second of CPU. */
    return g_strdup_printf(
        "audiotestsrc is-live=false num-buffers=%u samplesperbuffer=960 wave=pink-noise "
        "volume=0.3 ! audio/x-raw,format=S16LE,rate=48000,channels=1 "
        "! opusenc bitrate=%u bitrate-type=cbr frame-size=20 "
        "! rtpopuspay mtu=%u pt=%u ! appsink name=%s sync=false "
        "videotestsrc is-live=false num-buffers=%u pattern=smpte horizontal-speed=4 "
        "! video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1 "
        "! vp8enc target-bitrate=%u deadline=1 cpu-used=16 threads=1 end-usage=cbr "
        "keyframe-max-dist=%u error-resilient=default "
        "! rtpvp8pay mtu=%u picture-id-mode=15-bit pt=%u ! appsink name=%s sync=false "
        "videotestsrc is-live=false num-buffers=%u pattern=smpte "
        "! video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1 "
        "! vp8enc target-bitrate=%u deadline=1 cpu-used=16 threads=1 end-usage=cbr "
        "keyframe-max-dist=%u error-resilient=default "
        "! rtpvp8pay mtu=%u picture-id-mode=15-bit pt=%u ! appsink name=%s sync=false",
        s * 50, p->track[LT_AUDIO].kbps * 1000, mtu, track_default_pt[LT_AUDIO],
        track_sink_name[LT_AUDIO], s * p->track[LT_VIDEO].fps, p->track[LT_VIDEO].width,
        p->track[LT_VIDEO].height, p->track[LT_VIDEO].fps, p->track[LT_VIDEO].kbps * 1000,
        p->track[LT_VIDEO].fps * LT_CLIP_KEYFRAME_S, mtu, track_default_pt[LT_VIDEO],
        track_sink_name[LT_VIDEO], s * p->track[LT_SCREEN].fps, p->track[LT_SCREEN].width,
        p->track[LT_SCREEN].height, p->track[LT_SCREEN].fps, p->track[LT_SCREEN].kbps * 1000,
        p->track[LT_SCREEN].fps * LT_CLIP_KEYFRAME_S, mtu, track_default_pt[LT_SCREEN],
        track_sink_name[LT_SCREEN]);
}

/* Runs the pipeline to EOS. Bounded: a stalled encoder fails instead of hanging the bench. */
static int clip_run(struct lt_clip *c, GstElement *pipe, char *err, size_t errlen)
{
    for (int t = 0; t < LT_TRACKS; t++) {
        GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), track_sink_name[t]);
        if (!sink) {
            lt_errf(err, errlen, "GStreamer: no appsink %s", track_sink_name[t]);
            return -EIO;
        }
        GstAppSinkCallbacks cbs = {.new_sample = clip_on_sample};
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, &c->track[t], NULL);
        gst_object_unref(sink);
    }
    if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        lt_errf(err, errlen, "GStreamer: the encoding pipeline does not start");
        return -EIO;
    }
    int rc = 0;
    GstBus *bus = gst_element_get_bus(pipe);
    GstClockTime limit = (GstClockTime)(30 + 2 * c->params.seconds) * GST_SECOND;
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, limit, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg) {
        lt_errf(err, errlen, "GStreamer: encoding %u s did not finish in %u s", c->params.seconds,
                (unsigned)(limit / GST_SECOND));
        rc = -ETIMEDOUT;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *ge = NULL;
        gst_message_parse_error(msg, &ge, NULL);
        lt_errf(err, errlen, "GStreamer: %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                ge ? ge->message : "error");
        g_clear_error(&ge);
        rc = -EIO;
    }
    if (msg)
        gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    /* A streaming thread's own failure is the more precise cause of the pipeline's error. */
    for (int t = 0; t < LT_TRACKS; t++) {
        if (c->track[t].err) {
            lt_errf(err, errlen, "encoding the %s track: %s", track_sink_name[t] + 3,
                    strerror(-c->track[t].err));
            return c->track[t].err;
        }
    }
    return rc;
}

static void clip_tracks_init(struct lt_clip *c)
{
    for (int t = 0; t < LT_TRACKS; t++) {
        struct clip_track *tr = &c->track[t];
        tr->duration_us = (uint64_t)c->params.seconds * 1000000u;
        tr->clock_hz = t == LT_AUDIO ? 48000 : 90000;
        tr->duration_ts = (uint64_t)c->params.seconds * tr->clock_hz;
        tr->is_vp8 = t != LT_AUDIO;
    }
}

static int clip_tracks_check(const struct lt_clip *c, char *err, size_t errlen)
{
    for (int t = 0; t < LT_TRACKS; t++) {
        const struct clip_track *tr = &c->track[t];
        if (!tr->count) {
            lt_errf(err, errlen, "GStreamer produced no %s packets", track_sink_name[t] + 3);
            return -EIO;
        }
        /* The replay must open on a keyframe, or subscribers could decode nothing until the
         * first periodic one. */
        if (tr->is_vp8 && (!tr->pkts[0].keyframe || !tr->pkts[0].picid_pos)) {
            lt_errf(err, errlen,
                    "the %s track does not start with a keyframe carrying a "
                    "PictureID",
                    track_sink_name[t] + 3);
            return -EIO;
        }
    }
    return 0;
}

int lt_clip_new(struct lt_clip **out, const struct lt_clip_params *params, char *err, size_t errlen)
{
    struct lt_clip *c = NULL;
    GstElement *pipe = NULL;
    char *line = NULL;
    GError *ge = NULL;
    int rc;

    if (!gst_init_check(NULL, NULL, &ge)) {
        lt_errf(err, errlen, "GStreamer does not initialise: %s", ge ? ge->message : "?");
        g_clear_error(&ge);
        return -EIO;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        lt_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = clip_params_fill(&c->params, params, err, errlen);
    if (rc < 0)
        goto out;
    rc = clip_elements_check(err, errlen);
    if (rc < 0)
        goto out;
    clip_tracks_init(c);
    line = clip_launch_line(&c->params);
    pipe = gst_parse_launch(line, &ge);
    if (!pipe || ge) {
        lt_errf(err, errlen, "GStreamer: the encoding pipeline does not build: %s",
                ge ? ge->message : "?");
        rc = -EIO;
        goto out;
    }
    rc = clip_run(c, pipe, err, errlen);
    if (rc < 0)
        goto out;
    rc = clip_tracks_check(c, err, errlen);
out:
    g_clear_error(&ge);
    if (pipe)
        gst_object_unref(pipe);
    g_free(line);
    if (rc < 0) {
        lt_clip_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void lt_clip_free(struct lt_clip *c)
{
    if (!c)
        return;
    for (int t = 0; t < LT_TRACKS; t++) {
        free(c->track[t].pkts);
        free(c->track[t].bytes);
    }
    free(c);
}

const struct lt_clip_params *lt_clip_params(const struct lt_clip *c)
{
    return &c->params;
}

void lt_clip_track_info(const struct lt_clip *c, enum lt_track t, struct lt_clip_info *out)
{
    const struct clip_track *tr = &c->track[t];
    out->packets = tr->count;
    out->payload_bytes = tr->payload_bytes;
    out->rtp_bytes = tr->payload_bytes + (uint64_t)tr->count * (12 + LT_STAMP_LEN);
    out->duration_us = tr->duration_us;
    out->clock_hz = tr->clock_hz;
    out->frames = tr->frames;
    out->keyframes = tr->keyframes;
    out->default_pt = track_default_pt[t];
}

uint64_t lt_clip_offset_us(const struct lt_clip *c, enum lt_track t, uint64_t n)
{
    const struct clip_track *tr = &c->track[t];
    return n / tr->count * tr->duration_us + tr->pkts[n % tr->count].offset_us;
}

bool lt_clip_keyframe(const struct lt_clip *c, enum lt_track t, uint64_t n)
{
    const struct clip_track *tr = &c->track[t];
    return tr->pkts[n % tr->count].keyframe;
}

ssize_t lt_clip_render(const struct lt_clip *c, enum lt_track t, uint64_t n,
                       const struct lt_clip_rtp *rtp, const struct lt_stamp *stamp, uint8_t *buf,
                       size_t cap, uint64_t *offset_us)
{
    const struct clip_track *tr = &c->track[t];
    const uint64_t k = n / tr->count;
    const struct clip_pkt *p = &tr->pkts[n % tr->count];
    const size_t len = 12 + (size_t)p->len + LT_STAMP_LEN;
    if (cap < len)
        return -ENOSPC;
    /* Truncation to 32 bits is RTP's own timestamp arithmetic (mod 2^32). */
    const uint32_t ts = (uint32_t)(rtp->ts_base + k * tr->duration_ts + p->ts);
    buf[0] = 0x80;
    buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | (rtp->pt & 0x7f));
    buf[2] = (uint8_t)(rtp->seq >> 8);
    buf[3] = (uint8_t)rtp->seq;
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    buf[8] = (uint8_t)(rtp->ssrc >> 24);
    buf[9] = (uint8_t)(rtp->ssrc >> 16);
    buf[10] = (uint8_t)(rtp->ssrc >> 8);
    buf[11] = (uint8_t)rtp->ssrc;
    memcpy(buf + 12, tr->bytes + p->off, p->len);
    if (p->picid_pos) {
        /* A replay restarting at the payloader's first PictureID would look to a receiver like
         * a jump back by a loop's worth of frames. */
        uint16_t id = (uint16_t)((tr->picid0 + p->picid + k * tr->frames) & 0x7fff);
        buf[12 + p->picid_pos] = (uint8_t)(0x80 | id >> 8);
        buf[12 + p->picid_pos + 1] = (uint8_t)id;
    }
    lt_stamp_put(buf + 12 + p->len, stamp);
    if (offset_us)
        *offset_us = k * tr->duration_us + p->offset_us;
    return (ssize_t)len;
}
