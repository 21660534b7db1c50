/* The load tester's media: a VP8 + Opus clip encoded once per run with GStreamer, kept in memory
 * as each track's RTP packets, and replayed endlessly by the sender (lt_clip_render). */
#ifndef BENCH_LT_CLIP_H
#define BENCH_LT_CLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lt.h"
#include "lt_stamp.h"

/* Every rendered packet, once SRTP has added its tag (16 bytes for AES-GCM, the largest) and the
 * sending side up to LT_CLIP_EXT_RESERVE bytes of RTP header extensions (mid, transport-cc,
 * abs-send-time), stays within LT_CLIP_WIRE_MAX bytes: no IP fragmentation on any path. */
#define LT_CLIP_WIRE_MAX    1200
#define LT_CLIP_SRTP_TAG    16
#define LT_CLIP_EXT_RESERVE 16
/* The largest packet lt_clip_render writes: size the sender's buffer with it. */
#define LT_CLIP_PKT_MAX (LT_CLIP_WIRE_MAX - LT_CLIP_SRTP_TAG - LT_CLIP_EXT_RESERVE)
/* The payloaders' mtu (RTP header + payload), leaving room for the trailer. */
#define LT_CLIP_PAY_MTU (LT_CLIP_PKT_MAX - LT_STAMP_LEN)

#define LT_CLIP_SECONDS_MAX 600
/* Video keyframes: the first frame, then one every this many seconds (and at each loop start,
 * since the clip starts with one). */
#define LT_CLIP_KEYFRAME_S 3

/* What to encode. Zero fields (or a NULL params) take the defaults lt_clip_params_init writes. */
struct lt_clip_params {
    unsigned seconds; /* 10 */
    struct {
        unsigned kbps;   /* audio 32, video 800, screen 1000 */
        unsigned width;  /* video only: 640, screen 1280 */
        unsigned height; /* video only: 360, screen 720 */
        unsigned fps;    /* video only: 30, screen 10 */
    } track[LT_TRACKS];
};

/* One track of an encoded clip, as lt_clip_track_info reports it. */
struct lt_clip_info {
    size_t packets; /* per loop */
    uint64_t
        payload_bytes;    /* codec payloads as the payloader made them (VP8 descriptor included) */
    uint64_t rtp_bytes;   /* as lt_clip_render writes them: 12-byte header + payload + trailer */
    uint64_t duration_us; /* one loop */
    uint32_t clock_hz;    /* the RTP clock: 48000 (Opus) or 90000 (VP8) */
    size_t frames;        /* encoded frames per loop (Opus: packets) */
    size_t keyframes;     /* VP8 packets that start a keyframe, per loop (Opus: 0) */
    uint8_t default_pt;   /* 111 Opus, 96 video, 97 screen */
};

/* The caller's RTP header fields for one rendered packet. */
struct lt_clip_rtp {
    uint32_t ssrc;
    uint32_t ts_base; /* added to every timestamp (RFC 3550 wants a random start; 0 is fine) */
    uint16_t seq;
    uint8_t pt;
};

struct lt_clip;

/* Fills p with the defaults. */
void lt_clip_params_init(struct lt_clip_params *p);

/* Encodes the clip (all three tracks, concurrently, faster than real time: about 1 s of CPU for
 * the default 10 s) and keeps it. Calls gst_init if GStreamer is not initialised; the caller may
 * gst_deinit after lt_clip_free once it needs GStreamer no more. Prints nothing. Returns 0, or a
 * negative errno with a message in err: -ENOENT for a missing GStreamer element (the message
 * names it and the Debian package that has it), -EINVAL for parameters out of range, -EIO for a
 * pipeline error, -ETIMEDOUT if encoding stalls, -ENOMEM. */
int lt_clip_new(struct lt_clip **out, const struct lt_clip_params *params, char *err,
                size_t errlen);

/* Accepts NULL. */
void lt_clip_free(struct lt_clip *c);

/* The parameters the clip was encoded with, defaults filled in. */
const struct lt_clip_params *lt_clip_params(const struct lt_clip *c);

void lt_clip_track_info(const struct lt_clip *c, enum lt_track t, struct lt_clip_info *out);

/* When the n-th packet (0, 1, 2, ... over an endless replay) is due, in µs from the replay's
 * start: loop k = n / packets is due at k x duration, each packet at its PTS offset within it.
 * Non-decreasing in n. */
uint64_t lt_clip_offset_us(const struct lt_clip *c, enum lt_track t, uint64_t n);

/* Whether the n-th packet of a replay starts a VP8 keyframe (false for audio). */
bool lt_clip_keyframe(const struct lt_clip *c, enum lt_track t, uint64_t n);

/* Writes the n-th packet of an endless replay of track t into buf (cap bytes; LT_CLIP_PKT_MAX is
 * always enough): a 12-byte RTP header with rtp's SSRC, payload type and sequence number, the
 * marker bit as encoded and the timestamp rtp->ts_base + k x (the loop's duration in the track's
 * clock) + the packet's own, so timestamps keep rising across loops; then the payload (a VP8
 * 15-bit PictureID continued across loops, as a camera that never stops would number its frames);
 * then stamp as the lt_stamp trailer. Sets *offset_us (may be NULL) as lt_clip_offset_us.
 * Returns the packet's length or -ENOSPC when cap is too small. No allocation, no syscall: it is
 * the sender's per-packet path. Safe from any number of threads (reads the clip only). */
ssize_t lt_clip_render(const struct lt_clip *c, enum lt_track t, uint64_t n,
                       const struct lt_clip_rtp *rtp, const struct lt_stamp *stamp, uint8_t *buf,
                       size_t cap, uint64_t *offset_us);

#endif
