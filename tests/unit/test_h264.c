/* H.264 keyframe detection (RFC 6184) in each packetization: single NAL, STAP-A, FU-A. */
#include <stdint.h>

#include "harness.h"
#include "rtp/h264.h"

static int test_h264_single_nal(void)
{
    static const uint8_t idr[] = {0x65, 0x88, 0x84, 0x00};   /* nal_ref_idc 3, type 5 */
    static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f};   /* type 7, Baseline 3.1 */
    static const uint8_t pps[] = {0x68, 0xce, 0x3c, 0x80};   /* type 8 */
    static const uint8_t slice[] = {0x41, 0x9a, 0x02, 0x04}; /* type 1 */
    static const uint8_t sei[] = {0x06, 0x05, 0x01};         /* type 6 */
    CHECK(h264_is_keyframe(idr, sizeof(idr)));
    CHECK(h264_is_keyframe(idr, 1));
    CHECK(h264_is_keyframe(sps, sizeof(sps)));
    CHECK(!h264_is_keyframe(pps, sizeof(pps)));
    CHECK(!h264_is_keyframe(slice, sizeof(slice)));
    CHECK(!h264_is_keyframe(sei, sizeof(sei)));
    CHECK(!h264_is_keyframe(idr, 0));
    return 0;
}

static int test_h264_stap_a(void)
{
    /* What Chrome sends before an IDR: SPS and PPS aggregated. */
    static const uint8_t sps_pps[] = {
        0x78,                               /* STAP-A, nal_ref_idc 3 */
        0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, /* SPS */
        0x00, 0x04, 0x68, 0xce, 0x3c, 0x80, /* PPS */
    };
    static const uint8_t pps_then_idr[] = {
        0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x03, 0x65, 0x88, 0x84,
    };
    static const uint8_t slices[] = {
        0x78, 0x00, 0x02, 0x41, 0x9a, 0x00, 0x02, 0x01, 0x9b,
    };
    /* The second unit's size runs past the end; the IDR inside it must not be believed. */
    static const uint8_t truncated[] = {
        0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x09, 0x65, 0x88,
    };
    /* A zero size would loop forever if not refused. */
    static const uint8_t zero[] = {0x78, 0x00, 0x00, 0x65, 0x88};
    CHECK(h264_is_keyframe(sps_pps, sizeof(sps_pps)));
    CHECK(h264_is_keyframe(pps_then_idr, sizeof(pps_then_idr)));
    CHECK(!h264_is_keyframe(slices, sizeof(slices)));
    CHECK(!h264_is_keyframe(truncated, sizeof(truncated)));
    CHECK(!h264_is_keyframe(zero, sizeof(zero)));
    CHECK(!h264_is_keyframe(sps_pps, 1));
    /* Cut inside the first unit's size or data. */
    for (size_t n = 0; n < 4; n++)
        CHECK(!h264_is_keyframe(sps_pps, n));
    CHECK(h264_is_keyframe(sps_pps, 7));
    /* The shortest unit (its header byte alone) ending exactly at the end. */
    static const uint8_t tiny[] = {0x78, 0x00, 0x01, 0x65};
    CHECK(h264_is_keyframe(tiny, sizeof(tiny)));
    CHECK(!h264_is_keyframe(tiny, 3));
    return 0;
}

static int test_h264_fu_a(void)
{
    static const uint8_t idr_start[] = {0x7c, 0x85, 0x88, 0x84};  /* FU-A, S, type 5 */
    static const uint8_t idr_middle[] = {0x7c, 0x05, 0x11, 0x22}; /* no S */
    static const uint8_t idr_end[] = {0x7c, 0x45, 0x11, 0x22};    /* E */
    static const uint8_t p_start[] = {0x5c, 0x81, 0x9a, 0x02};    /* S, type 1 */
    CHECK(h264_is_keyframe(idr_start, sizeof(idr_start)));
    CHECK(h264_is_keyframe(idr_start, 2));
    CHECK(!h264_is_keyframe(idr_start, 1));
    CHECK(!h264_is_keyframe(idr_middle, sizeof(idr_middle)));
    CHECK(!h264_is_keyframe(idr_end, sizeof(idr_end)));
    CHECK(!h264_is_keyframe(p_start, sizeof(p_start)));
    return 0;
}

static const struct test_case cases[] = {
    {"h264_single_nal", test_h264_single_nal},
    {"h264_stap_a", test_h264_stap_a},
    {"h264_fu_a", test_h264_fu_a},
};
TEST_MAIN(cases)
