/* The load tester's clip: a real GStreamer encode of 2 s, its rate and keyframes, the sender's
 * render across a loop boundary, the trailer, the size on the wire, and a real decode of what
 * the sender renders. */
#include <errno.h>
#include <stdlib.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "harness.h"
#include "lt_clip.h"

#define CLIP_S 2

static struct lt_clip *clip;

static void clip_release(void)
{
    lt_clip_free(clip);
    clip = NULL;
    gst_deinit();
}

/* lt_clip_new initialises GStreamer: whichever case calls it first arranges the release. */
static void clip_release_at_exit(void)
{
    static bool armed;
    if (!armed)
        atexit(clip_release);
    armed = true;
}

/* One encode serves every case (it is the slow part); freed at exit, before LeakSanitizer
 * looks. */
static struct lt_clip *clip_get(void)
{
    if (clip)
        return clip;
    struct lt_clip_params p;
    lt_clip_params_init(&p);
    p.seconds = CLIP_S;
    char err[LT_ERR_LEN] = "";
    clip_release_at_exit();
    int rc = lt_clip_new(&clip, &p, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "lt_clip_new: %d %s\n", rc, err);
        return NULL;
    }
    return clip;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The VP8 15-bit PictureID of a rendered packet, or -1. */
static int vp8_picid(const uint8_t *pkt, size_t len)
{
    const uint8_t *d = pkt + 12;
    if (len < 12 + 4 || !(d[0] & 0x80) || !(d[1] & 0x80) || !(d[2] & 0x80))
        return -1;
    return (d[2] & 0x7f) << 8 | d[3];
}

static int test_clip_params(void)
{
    struct lt_clip *c = NULL;
    struct lt_clip_params p;
    char err[LT_ERR_LEN] = "";
    clip_release_at_exit();
    lt_clip_params_init(&p);
    p.track[LT_VIDEO].width = 641;
    CHECK_EQ(lt_clip_new(&c, &p, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "video size"));
    CHECK(!c);
    lt_clip_params_init(&p);
    p.seconds = LT_CLIP_SECONDS_MAX + 1;
    CHECK_EQ(lt_clip_new(&c, &p, err, sizeof(err)), -EINVAL);
    CHECK(!c);
    return 0;
}

static int test_clip_rate_and_keyframes(void)
{
    struct lt_clip *c = clip_get();
    CHECK(c);
    const struct lt_clip_params *p = lt_clip_params(c);
    CHECK_EQ(p->seconds, CLIP_S);
    for (int t = 0; t < LT_TRACKS; t++) {
        struct lt_clip_info i;
        lt_clip_track_info(c, t, &i);
        CHECK_EQ(i.duration_us, CLIP_S * 1000000);
        double kbps = (double)i.payload_bytes * 8 / CLIP_S / 1000;
        double want = p->track[t].kbps;
        printf("  track %d: %zu packets, %zu frames, %zu keyframes, %.1f kbit/s (asked %.0f)\n", t,
               i.packets, i.frames, i.keyframes, kbps, want);
        CHECK_EQ(i.rtp_bytes, i.payload_bytes + i.packets * (12 + LT_STAMP_LEN));
        if (t == LT_AUDIO) {
            /* 20 ms frames, one per packet, at a constant rate. */
            CHECK_EQ(i.clock_hz, 48000);
            CHECK_EQ(i.packets, CLIP_S * 50);
            CHECK_EQ(i.frames, i.packets);
            CHECK(kbps > want * 0.9 && kbps < want * 1.1);
            CHECK(!lt_clip_keyframe(c, t, 0));
        } else {
            /* Every frame encoded (no drops), in at least one packet each; the rate control
             * near its target even over 2 s with the keyframe's burst at the start. */
            CHECK_EQ(i.clock_hz, 90000);
            CHECK_EQ(i.frames, CLIP_S * p->track[t].fps);
            CHECK(i.packets >= i.frames);
            CHECK(kbps > want * 0.75 && kbps < want * 1.25);
            CHECK(lt_clip_keyframe(c, t, 0));
            CHECK(lt_clip_keyframe(c, t, i.packets)); /* and again at each loop */
            /* 2 s is shorter than LT_CLIP_KEYFRAME_S: the first is the only one. */
            CHECK_EQ(i.keyframes, 1);
        }
    }
    return 0;
}

/* Every packet of two loops, rendered as the sender would: header fields, timestamps and
 * offsets rising across the loop boundary, PictureIDs continuing, the trailer, the size. */
static int test_clip_render_loop(void)
{
    struct lt_clip *c = clip_get();
    CHECK(c);
    uint8_t buf[LT_CLIP_PKT_MAX];
    for (int t = 0; t < LT_TRACKS; t++) {
        struct lt_clip_info i;
        lt_clip_track_info(c, t, &i);
        const struct lt_clip_rtp rtp = {
            .ssrc = 0x11223344u + (uint32_t)t, .ts_base = 0xfffff000u, .pt = (uint8_t)(100 + t)};
        uint32_t prev_ts = 0;
        uint64_t prev_off = 0, rendered = 0;
        int prev_picid = -1;
        bool prev_marker = true;
        for (uint64_t n = 0; n < 2 * i.packets; n++) {
            struct lt_clip_rtp r = rtp;
            r.seq = (uint16_t)(65500 + n); /* wraps, as the caller's would */
            struct lt_stamp st = {
                .stream = 7 + (uint32_t)t, .index = (uint32_t)n, .sent_ns = 123456789000ull + n};
            uint64_t off = 0;
            ssize_t len = lt_clip_render(c, t, n, &r, &st, buf, sizeof(buf), &off);
            CHECK(len > 12 + LT_STAMP_LEN);
            rendered += (uint64_t)len;
            /* Fits on the wire with SRTP's tag and the header extensions a sender adds. */
            CHECK((size_t)len + LT_CLIP_SRTP_TAG + LT_CLIP_EXT_RESERVE <= LT_CLIP_WIRE_MAX);
            CHECK_EQ(buf[0], 0x80);
            CHECK_EQ(buf[1] & 0x7f, r.pt);
            CHECK_EQ(buf[2] << 8 | buf[3], r.seq);
            CHECK_EQ(rd32(buf + 8), r.ssrc);
            CHECK_EQ(off, lt_clip_offset_us(c, t, n));
            struct lt_stamp got;
            CHECK(lt_stamp_get(buf, (size_t)len, &got));
            CHECK_EQ(got.stream, st.stream);
            CHECK_EQ(got.index, st.index);
            CHECK_EQ(got.sent_ns, st.sent_ns);
            uint32_t ts = rd32(buf + 4);
            bool marker = buf[1] & 0x80;
            if (n == 0) {
                CHECK_EQ(ts, rtp.ts_base);
                CHECK_EQ(off, 0);
            } else {
                /* Mod 2^32 (ts_base makes it wrap in the first loop): a frame's packets share
                 * a timestamp, a new frame's is later; offsets never go back. */
                int32_t dts = (int32_t)(ts - prev_ts);
                CHECK(off >= prev_off);
                if (t == LT_AUDIO) {
                    CHECK_EQ(dts, 960);
                    CHECK_EQ(off - prev_off, 20000);
                } else if (prev_marker) {
                    CHECK_EQ(dts, 90000 / lt_clip_params(c)->track[t].fps);
                } else {
                    CHECK_EQ(dts, 0);
                    CHECK_EQ(off, prev_off);
                }
            }
            if (t != LT_AUDIO) {
                int picid = vp8_picid(buf, (size_t)len);
                CHECK(picid >= 0);
                if (prev_picid >= 0)
                    CHECK_EQ(picid, prev_marker ? (prev_picid + 1) & 0x7fff : prev_picid);
                prev_picid = picid;
                /* The loop's second start is a keyframe and due one duration after the first. */
                if (n == i.packets) {
                    CHECK(lt_clip_keyframe(c, t, n));
                    CHECK_EQ(off, i.duration_us);
                    CHECK_EQ((uint32_t)(ts - rtp.ts_base), i.duration_us * i.clock_hz / 1000000);
                }
            }
            prev_ts = ts;
            prev_off = off;
            prev_marker = t == LT_AUDIO || marker;
        }
        CHECK_EQ(rendered, 2 * i.rtp_bytes);
        /* A buffer too small is refused, not overrun. */
        struct lt_stamp st = {0};
        CHECK_EQ(lt_clip_render(c, t, 0, &rtp, &st, buf, 12 + LT_STAMP_LEN, NULL), -ENOSPC);
    }
    return 0;
}

/* Decodes two loops of a track as the sender renders them (the trailer taken off again, as only
 * the bench's receivers know it is there): every frame must come out of the decoder. */
static int clip_decode(struct lt_clip *c, enum lt_track t, size_t *frames_out, int *width)
{
    GError *ge = NULL;
    GstElement *pipe = gst_parse_launch("appsrc name=src format=time "
                                        "caps=application/x-rtp,media=video,clock-rate=90000,"
                                        "encoding-name=VP8,payload=96 "
                                        "! rtpvp8depay ! vp8dec ! appsink name=sink sync=false",
                                        &ge);
    if (!pipe || ge) {
        fprintf(stderr, "decode pipeline: %s\n", ge ? ge->message : "?");
        g_clear_error(&ge);
        if (pipe)
            gst_object_unref(pipe);
        return -1;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
    int rc = -1;
    size_t frames = 0;
    if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        goto out;
    struct lt_clip_info i;
    lt_clip_track_info(c, t, &i);
    for (uint64_t n = 0; n < 2 * i.packets; n++) {
        uint8_t buf[LT_CLIP_PKT_MAX];
        struct lt_clip_rtp r = {.ssrc = 0x5eed, .ts_base = 12345, .seq = (uint16_t)n, .pt = 96};
        struct lt_stamp st = {.stream = 1, .index = (uint32_t)n, .sent_ns = n};
        uint64_t off;
        ssize_t len = lt_clip_render(c, t, n, &r, &st, buf, sizeof(buf), &off);
        if (len < 0)
            goto out;
        size_t rtp_len = (size_t)len - LT_STAMP_LEN;
        GstBuffer *b = gst_buffer_new_memdup(buf, rtp_len);
        GST_BUFFER_PTS(b) = off * GST_USECOND;
        if (gst_app_src_push_buffer(GST_APP_SRC(src), b) != GST_FLOW_OK)
            goto out;
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    for (;;) {
        /* Bounded: a stuck decoder fails the case instead of hanging it. */
        GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND);
        if (!s)
            break;
        GstStructure *cs = gst_caps_get_structure(gst_sample_get_caps(s), 0);
        gst_structure_get_int(cs, "width", width);
        frames++;
        gst_sample_unref(s);
    }
    rc = gst_app_sink_is_eos(GST_APP_SINK(sink)) ? 0 : -1;
out:
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipe);
    *frames_out = frames;
    return rc;
}

static int test_clip_decodes(void)
{
    struct lt_clip *c = clip_get();
    CHECK(c);
    for (int t = LT_VIDEO; t <= LT_SCREEN; t++) {
        struct lt_clip_info i;
        lt_clip_track_info(c, t, &i);
        size_t frames = 0;
        int width = 0;
        CHECK_EQ(clip_decode(c, t, &frames, &width), 0);
        printf("  track %d: %zu frames decoded of %zu, %d wide\n", t, frames, 2 * i.frames, width);
        CHECK_EQ(frames, 2 * i.frames);
        CHECK_EQ(width, (int)lt_clip_params(c)->track[t].width);
    }
    return 0;
}

/* LeakSanitizer's hooks (read only by sanitizer builds), as in tests/integ/integ_webrtcbin.c:
 * GLib's quark table, made in its library constructor and grown by GStreamer, is leaked on
 * purpose; the loader's _dl_init is the only frame naming it. */
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:_dl_init\n";
}

static const struct test_case cases[] = {
    {"clip_params", test_clip_params},
    {"clip_rate_and_keyframes", test_clip_rate_and_keyframes},
    {"clip_render_loop", test_clip_render_loop},
    {"clip_decodes", test_clip_decodes},
};

TEST_MAIN(cases)
