/* VP8 payload descriptor (RFC 7741): parsing, keyframes, PictureID/TL0PICIDX continuity. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "rtp/vp8.h"

/* X S PID=0; I L T K; 15-bit PictureID 0x1234; TL0PICIDX 5; TID 1, Y, KEYIDX 10; then the
 * frame tag of a keyframe (P bit clear) and its start code. */
static const uint8_t full_desc[] = {
    0x90, 0xf0, 0x92, 0x34, 0x05, 0x6a, 0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a,
};

static int test_vp8_parse_full(void)
{
    struct vp8_desc d;
    CHECK_EQ(vp8_desc_parse(&d, full_desc, sizeof(full_desc)), 0);
    CHECK_EQ(d.x, 1);
    CHECK_EQ(d.n, 0);
    CHECK_EQ(d.s, 1);
    CHECK_EQ(d.pid, 0);
    CHECK_EQ(d.has_picid, 1);
    CHECK_EQ(d.picid_15, 1);
    CHECK_EQ(d.picid, 0x1234);
    CHECK_EQ(d.picid_off, 2);
    CHECK_EQ(d.has_tl0, 1);
    CHECK_EQ(d.tl0picidx, 5);
    CHECK_EQ(d.tl0_off, 4);
    CHECK_EQ(d.has_tid, 1);
    CHECK_EQ(d.has_keyidx, 1);
    CHECK_EQ(d.tid, 1);
    CHECK_EQ(d.y, 1);
    CHECK_EQ(d.keyidx, 10);
    CHECK_EQ(d.tidkey_off, 5);
    CHECK_EQ(d.hdr_len, 6);
    for (size_t n = 0; n < 6; n++)
        CHECK_EQ(vp8_desc_parse(&d, full_desc, n), -EBADMSG);
    return 0;
}

static int test_vp8_parse_short_forms(void)
{
    struct vp8_desc d;
    /* 7-bit PictureID 45, N set, partition 3. */
    static const uint8_t p7[] = {0xa3, 0x80, 0x2d, 0x00};
    CHECK_EQ(vp8_desc_parse(&d, p7, sizeof(p7)), 0);
    CHECK_EQ(d.n, 1);
    CHECK_EQ(d.s, 0);
    CHECK_EQ(d.pid, 3);
    CHECK_EQ(d.picid_15, 0);
    CHECK_EQ(d.picid, 45);
    CHECK_EQ(d.hdr_len, 3);
    CHECK_EQ(d.has_tl0, 0);
    /* No extension byte: the descriptor is one byte. */
    static const uint8_t p1[] = {0x10, 0x50};
    CHECK_EQ(vp8_desc_parse(&d, p1, sizeof(p1)), 0);
    CHECK_EQ(d.has_picid, 0);
    CHECK_EQ(d.hdr_len, 1);
    /* K without T still has the TID/Y/KEYIDX byte. */
    static const uint8_t pk[] = {0x80, 0x10, 0x1f, 0x00};
    CHECK_EQ(vp8_desc_parse(&d, pk, sizeof(pk)), 0);
    CHECK_EQ(d.has_tid, 0);
    CHECK_EQ(d.keyidx, 31);
    CHECK_EQ(d.hdr_len, 3);
    CHECK_EQ(vp8_desc_parse(&d, pk, 2), -EBADMSG);
    /* M set but the second PictureID byte missing. */
    static const uint8_t pm[] = {0x80, 0x80, 0x80};
    CHECK_EQ(vp8_desc_parse(&d, pm, sizeof(pm)), -EBADMSG);
    return 0;
}

static int test_vp8_keyframe(void)
{
    static const uint8_t key1[] = {0x10, 0x50};
    static const uint8_t delta[] = {0x10, 0x51};
    static const uint8_t not_start[] = {0x00, 0x50};
    static const uint8_t part1[] = {0x11, 0x50};
    static const uint8_t desc_only[] = {0x90, 0x80, 0x2d};
    CHECK(vp8_is_keyframe(full_desc, sizeof(full_desc)));
    CHECK(vp8_is_keyframe(key1, sizeof(key1)));
    CHECK(!vp8_is_keyframe(delta, sizeof(delta)));
    CHECK(!vp8_is_keyframe(not_start, sizeof(not_start)));
    CHECK(!vp8_is_keyframe(part1, sizeof(part1)));
    CHECK(!vp8_is_keyframe(desc_only, sizeof(desc_only)));
    CHECK(!vp8_is_keyframe(full_desc, 6));
    CHECK(!vp8_is_keyframe(full_desc, 0));
    return 0;
}

/* A packet with a 15-bit (m15) or 7-bit PictureID and a TL0PICIDX. */
static size_t make(uint8_t *b, uint16_t picid, uint8_t tl0, bool m15)
{
    size_t n = 0;
    b[n++] = 0x90;
    b[n++] = 0xc0;
    if (m15) {
        b[n++] = (uint8_t)(0x80 | picid >> 8);
        b[n++] = (uint8_t)picid;
    } else {
        b[n++] = (uint8_t)(picid & 0x7f);
    }
    b[n++] = tl0;
    b[n++] = 0x51;
    return n;
}

/* Rewrites and returns the PictureID and TL0PICIDX the packet then carries, checking that the
 * field width did not change. */
static int rewrite(struct vp8_rewriter *rw, uint16_t picid, uint8_t tl0, bool m15, bool new_src,
                   uint16_t *out_picid, uint8_t *out_tl0)
{
    uint8_t b[8];
    struct vp8_desc d;
    size_t n = make(b, picid, tl0, m15);
    if (vp8_rewriter_rewrite(rw, b, n, new_src) != 0)
        return -1;
    if (vp8_desc_parse(&d, b, n) != 0 || d.picid_15 != m15 || d.hdr_len != n - 1)
        return -1;
    *out_picid = d.picid;
    *out_tl0 = d.tl0picidx;
    return 0;
}

static int test_vp8_rewrite_15bit_switch(void)
{
    struct vp8_rewriter rw;
    uint16_t p;
    uint8_t t;
    vp8_rewriter_init(&rw);
    /* Source A maps to itself, up to the 15-bit edge. */
    CHECK_EQ(rewrite(&rw, 32766, 254, true, false, &p, &t), 0);
    CHECK_EQ(p, 32766);
    CHECK_EQ(t, 254);
    CHECK_EQ(rewrite(&rw, 32767, 255, true, false, &p, &t), 0);
    CHECK_EQ(p, 32767);
    CHECK_EQ(t, 255);
    /* Source B: continues at +1, both wrapping. */
    CHECK_EQ(rewrite(&rw, 1000, 17, true, true, &p, &t), 0);
    CHECK_EQ(p, 0);
    CHECK_EQ(t, 0);
    CHECK_EQ(rewrite(&rw, 1000, 17, true, false, &p, &t), 0);
    CHECK_EQ(p, 0);
    CHECK_EQ(rewrite(&rw, 1001, 17, true, false, &p, &t), 0);
    CHECK_EQ(p, 1);
    CHECK_EQ(t, 0);
    CHECK_EQ(rewrite(&rw, 1002, 18, true, false, &p, &t), 0);
    CHECK_EQ(p, 2);
    CHECK_EQ(t, 1);
    /* Reordered: the older picture keeps its mapping. */
    CHECK_EQ(rewrite(&rw, 1001, 17, true, false, &p, &t), 0);
    CHECK_EQ(p, 1);
    CHECK_EQ(t, 0);
    /* Back to A, whose numbers moved on meanwhile. */
    CHECK_EQ(rewrite(&rw, 40, 60, true, true, &p, &t), 0);
    CHECK_EQ(p, 3);
    CHECK_EQ(t, 2);
    return 0;
}

static int test_vp8_rewrite_7bit(void)
{
    struct vp8_rewriter rw;
    uint16_t p;
    uint8_t t;
    vp8_rewriter_init(&rw);
    /* A 7-bit source across its wrap: 126 127 0 1. */
    CHECK_EQ(rewrite(&rw, 126, 1, false, false, &p, &t), 0);
    CHECK_EQ(p, 126);
    CHECK_EQ(rewrite(&rw, 127, 2, false, false, &p, &t), 0);
    CHECK_EQ(p, 127);
    CHECK_EQ(rewrite(&rw, 0, 3, false, false, &p, &t), 0);
    CHECK_EQ(p, 0);
    CHECK_EQ(rewrite(&rw, 1, 4, false, false, &p, &t), 0);
    CHECK_EQ(p, 1);
    /* A late packet of picture 127 (before the wrap) still maps to 127. */
    CHECK_EQ(rewrite(&rw, 127, 2, false, false, &p, &t), 0);
    CHECK_EQ(p, 127);
    CHECK_EQ(t, 2);
    /* A 15-bit source next: the 7-bit ones were 128 and 129 in 15-bit terms. */
    CHECK_EQ(rewrite(&rw, 9000, 90, true, true, &p, &t), 0);
    CHECK_EQ(p, 130);
    CHECK_EQ(t, 5);
    /* A 7-bit source again, run across two of its wraps: always the next value, 7 bits. */
    for (int k = 0; k < 300; k++) {
        CHECK_EQ(rewrite(&rw, (uint16_t)((50 + k) & 0x7f), (uint8_t)(9 + k), false, k == 0, &p, &t),
                 0);
        CHECK_EQ(p, (131 + k) & 0x7f);
        CHECK_EQ(t, (uint8_t)(6 + k));
    }
    return 0;
}

static int test_vp8_rewrite_field_absent(void)
{
    /* The first packet of a new source carries no PictureID: the offset is set by the next
     * packet that does, and the bare packet is left as it was. */
    struct vp8_rewriter rw;
    uint16_t p;
    uint8_t t;
    uint8_t bare[] = {0x10, 0x50};
    vp8_rewriter_init(&rw);
    CHECK_EQ(rewrite(&rw, 500, 7, true, false, &p, &t), 0);
    CHECK_EQ(vp8_rewriter_rewrite(&rw, bare, sizeof(bare), true), 0);
    CHECK_MEM(bare, "\x10\x50", 2);
    CHECK_EQ(rewrite(&rw, 20000, 100, true, false, &p, &t), 0);
    CHECK_EQ(p, 501);
    CHECK_EQ(t, 8);
    return 0;
}

static int test_vp8_rewrite_malformed(void)
{
    struct vp8_rewriter rw;
    uint8_t b[] = {0x90, 0xc0, 0x92};
    vp8_rewriter_init(&rw);
    CHECK_EQ(vp8_rewriter_rewrite(&rw, b, sizeof(b), true), -EBADMSG);
    CHECK_MEM(b, "\x90\xc0\x92", 3);
    CHECK_EQ(vp8_rewriter_rewrite(&rw, b, 0, false), -EBADMSG);
    return 0;
}

static const struct test_case cases[] = {
    {"vp8_parse_full", test_vp8_parse_full},
    {"vp8_parse_short_forms", test_vp8_parse_short_forms},
    {"vp8_keyframe", test_vp8_keyframe},
    {"vp8_rewrite_15bit_switch", test_vp8_rewrite_15bit_switch},
    {"vp8_rewrite_7bit", test_vp8_rewrite_7bit},
    {"vp8_rewrite_field_absent", test_vp8_rewrite_field_absent},
    {"vp8_rewrite_malformed", test_vp8_rewrite_malformed},
};
TEST_MAIN(cases)
