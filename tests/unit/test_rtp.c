/* RTP header parsing: real-shaped packets, every truncation, CSRCs, padding, demux, setters. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "rtp/rtp.h"

/* The shape of a Chrome VP8 packet: one-byte extensions abs-send-time (id 2), transport-wide
 * sequence (3), MID (4), RID (10), one padding byte, then a VP8 keyframe's first bytes. */
static const uint8_t chrome_vp8[] = {
    0x90, 0x60, 0x1a, 0x2b, 0x5e, 0x8c, 0x1f, 0x40, 0x3c, 0x4d, 0x5e, 0x6f, /* fixed header */
    0xbe, 0xde, 0x00, 0x03,                                                 /* 3 words */
    0x22, 0xa1, 0xb2, 0xc3,                                                 /* abs-send-time */
    0x31, 0x00, 0x2a,                                                       /* twcc 42 */
    0x40, 0x30,                                                             /* mid "0" */
    0xa0, 0x68,                                                             /* rid "h" */
    0x00,                                                                   /* padding */
    0x90, 0x80, 0x80, 0x2d,                                                 /* VP8 desc */
    0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,             /* frame tag */
};

static int test_rtp_parse_chrome_vp8(void)
{
    struct rtp_view v;
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);
    CHECK_EQ(v.marker, 0);
    CHECK_EQ(v.pt, 96);
    CHECK_EQ(v.seq, 0x1a2b);
    CHECK_EQ(v.ts, 0x5e8c1f40u);
    CHECK_EQ(v.ssrc, 0x3c4d5e6fu);
    CHECK_EQ(v.csrc_count, 0);
    CHECK_EQ(v.has_ext, 1);
    CHECK_EQ(v.ext_profile, 0xBEDE);
    CHECK_EQ(v.ext_off, 16);
    CHECK_EQ(v.ext_len, 12);
    CHECK_EQ(v.hdr_len, 28);
    CHECK(v.payload == chrome_vp8 + 28);
    CHECK_EQ(v.payload_len, 14);
    CHECK_EQ(v.pad_len, 0);
    CHECK_EQ(v.payload[0], 0x90);
    return 0;
}

static int test_rtp_truncations(void)
{
    struct rtp_view v;
    for (size_t n = 0; n < sizeof(chrome_vp8); n++) {
        int r = rtp_view_parse(&v, chrome_vp8, n);
        if (n < 28) {
            CHECK_EQ(r, -EBADMSG);
        } else {
            /* Past the header a shorter packet is a shorter payload. */
            CHECK_EQ(r, 0);
            CHECK_EQ(v.payload_len, n - 28);
        }
    }
    return 0;
}

static int test_rtp_bad_version(void)
{
    uint8_t p[sizeof(chrome_vp8)];
    struct rtp_view v;
    memcpy(p, chrome_vp8, sizeof(p));
    for (int ver = 0; ver < 4; ver++) {
        p[0] = (uint8_t)((p[0] & 0x3f) | ver << 6);
        CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), ver == 2 ? 0 : -EBADMSG);
    }
    return 0;
}

static int test_rtp_csrc(void)
{
    /* Marker set, two CSRCs, no extension: an audio packet from a mixer. */
    static const uint8_t p[] = {
        0x82, 0xef, 0x00, 0x01, 0x00, 0x00, 0x03, 0xc0, 0x11, 0x22, 0x33, 0x44,
        0xaa, 0xaa, 0xaa, 0x01, 0xbb, 0xbb, 0xbb, 0x02, 0xf8, 0xff, 0xfe,
    };
    struct rtp_view v;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.marker, 1);
    CHECK_EQ(v.pt, 111);
    CHECK_EQ(v.seq, 1);
    CHECK_EQ(v.ts, 960);
    CHECK_EQ(v.csrc_count, 2);
    CHECK_EQ(v.has_ext, 0);
    CHECK_EQ(v.hdr_len, 20);
    CHECK_EQ(v.payload_len, 3);
    CHECK_EQ(v.payload[0], 0xf8);
    for (size_t n = 0; n < 20; n++)
        CHECK_EQ(rtp_view_parse(&v, p, n), -EBADMSG);
    /* 15 CSRCs announced, 2 present. */
    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    q[0] = 0x8f;
    CHECK_EQ(rtp_view_parse(&v, q, sizeof(q)), -EBADMSG);
    return 0;
}

static int test_rtp_ext_overrun(void)
{
    uint8_t p[sizeof(chrome_vp8)];
    struct rtp_view v;
    /* The block claims more words than the packet has. */
    memcpy(p, chrome_vp8, sizeof(p));
    p[15] = 0x10;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), -EBADMSG);
    /* An element whose length runs past the block: rid claims 16 bytes. */
    memcpy(p, chrome_vp8, sizeof(p));
    p[25] = 0xaf;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), -EBADMSG);
    /* The same with two-byte elements: 0x1000, one word, id 1 claiming 3 bytes. */
    static const uint8_t two[] = {
        0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x01, 0x01, 0x03, 0xaa, 0xbb,
    };
    CHECK_EQ(rtp_view_parse(&v, two, sizeof(two)), -EBADMSG);
    /* A two-byte element header cut by the end of the block. */
    static const uint8_t cut[] = {
        0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,
    };
    CHECK_EQ(rtp_view_parse(&v, cut, sizeof(cut)), -EBADMSG);
    return 0;
}

static int test_rtp_padding(void)
{
    /* P set, payload of 3 bytes then 4 bytes of padding (count byte included). */
    static const uint8_t p[] = {
        0xa0, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
        0x00, 0x05, 0xde, 0xad, 0x01, 0x00, 0x00, 0x00, 0x04,
    };
    struct rtp_view v;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.pad_len, 4);
    CHECK_EQ(v.payload_len, 3);
    CHECK_EQ(v.payload[2], 0x01);

    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    /* Padding-only packet (what a sender uses for probing): payload empty. */
    q[sizeof(q) - 1] = 7;
    CHECK_EQ(rtp_view_parse(&v, q, sizeof(q)), 0);
    CHECK_EQ(v.payload_len, 0);
    CHECK_EQ(v.pad_len, 7);
    /* One more than what follows the header. */
    q[sizeof(q) - 1] = 8;
    CHECK_EQ(rtp_view_parse(&v, q, sizeof(q)), -EBADMSG);
    q[sizeof(q) - 1] = 0xff;
    CHECK_EQ(rtp_view_parse(&v, q, sizeof(q)), -EBADMSG);
    /* A zero count is malformed: the count includes itself. */
    q[sizeof(q) - 1] = 0;
    CHECK_EQ(rtp_view_parse(&v, q, sizeof(q)), -EBADMSG);
    /* P set on a bare 12-byte header: the count byte would be inside the header. */
    CHECK_EQ(rtp_view_parse(&v, p, 12), -EBADMSG);
    return 0;
}

static int test_rtp_padding_truncations(void)
{
    /* Cutting a padded packet moves the count byte: every cut either fails or yields a view
     * whose parts add up to exactly the bytes given. */
    static const uint8_t p[] = {
        0xb0, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x05,
        0xbe, 0xde, 0x00, 0x01, 0x10, 0x01, 0x00, 0x00, 0x01, 0x02, 0x02,
    };
    struct rtp_view v;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.payload_len, 1);
    CHECK_EQ(v.pad_len, 2);
    int ok = 0;
    for (size_t n = 0; n <= sizeof(p); n++) {
        int r = rtp_view_parse(&v, p, n);
        CHECK(r == 0 || r == -EBADMSG);
        if (r == 0) {
            CHECK_EQ(v.hdr_len + v.payload_len + v.pad_len, n);
            ok++;
        }
    }
    /* Lengths 21 (count 1), 22 (count 2) and 23 (count 2) parse; the rest do not. */
    CHECK_EQ(ok, 3);
    return 0;
}

static int test_rtp_setters(void)
{
    uint8_t p[sizeof(chrome_vp8)];
    struct rtp_view v;
    memcpy(p, chrome_vp8, sizeof(p));
    rtp_seq_set(p, 0xfffe);
    rtp_ts_set(p, 0x01020304);
    rtp_ssrc_set(p, 0xcafebabe);
    rtp_pt_set(p, 0xff); /* masked to 127 */
    rtp_marker_set(p, true);
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.seq, 0xfffe);
    CHECK_EQ(v.ts, 0x01020304);
    CHECK_EQ(v.ssrc, 0xcafebabeu);
    CHECK_EQ(v.pt, 127);
    CHECK_EQ(v.marker, 1);
    rtp_pt_set(p, 100);
    CHECK_EQ(p[1], 0x80 | 100);
    rtp_marker_set(p, false);
    CHECK_EQ(p[1], 100);
    /* Nothing else moved. */
    CHECK_MEM(p + 12, chrome_vp8 + 12, sizeof(p) - 12);
    CHECK_EQ(p[0], 0x90);
    return 0;
}

static int test_rtp_is_rtcp(void)
{
    uint8_t b[8] = {0x80, 200, 0, 6, 0, 0, 0, 1};
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 1); /* SR */
    b[1] = 201;
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 1); /* RR */
    b[1] = 205;
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 1); /* RTPFB */
    b[1] = 192;
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 1);
    b[1] = 223;
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 1);
    b[1] = 191; /* marker + PT 63 */
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 0);
    b[1] = 224; /* marker + PT 96 */
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 0);
    b[1] = 96;
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 0);
    b[1] = 200;
    CHECK_EQ(rtp_is_rtcp(b, 1), 0);
    b[0] = 0x40; /* version 1 */
    CHECK_EQ(rtp_is_rtcp(b, sizeof(b)), 0);
    return 0;
}

static const struct test_case cases[] = {
    {"rtp_parse_chrome_vp8", test_rtp_parse_chrome_vp8},
    {"rtp_truncations", test_rtp_truncations},
    {"rtp_bad_version", test_rtp_bad_version},
    {"rtp_csrc", test_rtp_csrc},
    {"rtp_ext_overrun", test_rtp_ext_overrun},
    {"rtp_padding", test_rtp_padding},
    {"rtp_padding_truncations", test_rtp_padding_truncations},
    {"rtp_setters", test_rtp_setters},
    {"rtp_is_rtcp", test_rtp_is_rtcp},
};
TEST_MAIN(cases)
