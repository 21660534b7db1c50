/* Header extensions (RFC 8285): walking one-byte and two-byte blocks, lookup, and the consumer's
 * remap: RID dropped, ids renumbered, MID and transport-wide sequence added, form chosen. */
#include <errno.h>
#include <stdint.h>

#include "core/bytes.h"
#include "harness.h"
#include "rtp/rewrite.h"
#include "rtp/rtp.h"

/* A Chrome VP8 packet: abs-send-time (id 2), transport-wide seq (3), MID (4), RID (10). */
static const uint8_t chrome_vp8[] = {
    0x90, 0x60, 0x1a, 0x2b, 0x5e, 0x8c, 0x1f, 0x40, 0x3c, 0x4d, 0x5e, 0x6f, 0xbe, 0xde,
    0x00, 0x03, 0x22, 0xa1, 0xb2, 0xc3, 0x31, 0x00, 0x2a, 0x40, 0x30, 0xa0, 0x68, 0x00,
    0x90, 0x80, 0x80, 0x2d, 0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
};
#define CHROME_PAYLOAD_OFF 28

static int test_hdrext_one_byte_walk(void)
{
    struct rtp_view v;
    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);
    rtp_ext_iter_init(&it, &v);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 2);
    CHECK_EQ(n, 3);
    CHECK(d == chrome_vp8 + 17);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 3);
    CHECK_EQ(n, 2);
    CHECK_EQ(d[1], 42);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 4);
    CHECK_EQ(n, 1);
    CHECK_EQ(d[0], '0');
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 10);
    CHECK_EQ(d[0], 'h');
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 0);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 0);

    CHECK_EQ(rtp_ext_find(&v, 10, &d, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(d[0], 'h');
    CHECK_EQ(rtp_ext_find(&v, 2, &d, &n), 0);
    CHECK_EQ(d[0], 0xa1);
    CHECK_EQ(rtp_ext_find(&v, 5, &d, &n), -ENOENT);
    CHECK_EQ(rtp_ext_find(&v, 0, &d, &n), -ENOENT);
    return 0;
}

static int test_hdrext_id15_stops(void)
{
    /* id 1 "a", then id 15 (reserved: stop) with one byte, then what would be id 2 "b". */
    static const uint8_t p[] = {
        0x90, 0x60, 0,    1,    0,    0,   0,    1,    0,    0,   0,    1,
        0xbe, 0xde, 0x00, 0x02, 0x10, 'a', 0xf0, 0x99, 0x20, 'b', 0x00, 0x00,
    };
    struct rtp_view v;
    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(rtp_ext_find(&v, 1, &d, &n), 0);
    CHECK_EQ(d[0], 'a');
    CHECK_EQ(rtp_ext_find(&v, 2, &d, &n), -ENOENT);
    rtp_ext_iter_init(&it, &v);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 0);
    return 0;
}

static int test_hdrext_two_byte(void)
{
    /* Profile 0x1001 (appbits 1): id 1 empty, padding, id 200 with 3 bytes, id 7 with 1. */
    static const uint8_t p[] = {
        0x90, 0x60, 0x00, 0x02, 0,    0,    0,   2,   0,   0,    0,    2,   0x10, 0x01, 0x00,
        0x03, 0x01, 0x00, 0x00, 0xc8, 0x03, 'a', 'b', 'c', 0x07, 0x01, 'z', 0x00, 0xee,
    };
    struct rtp_view v;
    struct rtp_ext_iter it;
    uint8_t id;
    const uint8_t *d;
    size_t n;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.ext_profile, 0x1001);
    CHECK_EQ(v.ext_len, 12);
    CHECK_EQ(v.hdr_len, 28);
    CHECK_EQ(v.payload_len, 1);
    rtp_ext_iter_init(&it, &v);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 1);
    CHECK_EQ(n, 0);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 200);
    CHECK_EQ(n, 3);
    CHECK_MEM(d, "abc", 3);
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 1);
    CHECK_EQ(id, 7);
    CHECK_EQ(d[0], 'z');
    CHECK_EQ(rtp_ext_iter_next(&it, &id, &d, &n), 0);
    CHECK_EQ(rtp_ext_find(&v, 200, &d, &n), 0);
    CHECK_EQ(n, 3);
    for (size_t cut = 0; cut < 28; cut++)
        CHECK_EQ(rtp_view_parse(&v, p, cut), -EBADMSG);
    return 0;
}

static int test_hdrext_unknown_profile(void)
{
    /* A profile that is neither form: the block is skipped, its bytes never read as elements. */
    static const uint8_t p[] = {
        0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,    0,
        1,    0xab, 0xcd, 0x00, 0x01, 0x1f, 0xff, 0xff, 0xff, 0x42,
    };
    struct rtp_view v;
    const uint8_t *d;
    size_t n;
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    CHECK_EQ(v.ext_profile, 0xabcd);
    CHECK_EQ(v.payload_len, 1);
    CHECK_EQ(v.payload[0], 0x42);
    CHECK_EQ(rtp_ext_find(&v, 1, &d, &n), -ENOENT);
    return 0;
}

/* The subscriber's negotiation: MID at 1, abs-send-time at 5, transport-wide seq at 3. */
static void subscriber_rewrite(struct rtp_rewrite *rw)
{
    memset(rw, 0, sizeof(*rw));
    rw->ssrc = 0x11223344;
    rw->seq = 7;
    rw->ts = 9000;
    rw->pt = 100;
    rw->marker = RTP_REWRITE_MARKER_KEEP;
    rw->ext_map[2] = 5; /* abs-send-time renumbered; 3, 4 and 10 (RID) map to 0: dropped */
    rw->mid_id = 1;
    rw->mid = "v1";
    rw->mid_len = 2;
    rw->twcc_id = 3;
    rw->twcc_seq = 0x1234;
}

static int test_hdrext_remap(void)
{
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[128];
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);
    subscriber_rewrite(&rw);
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    static const uint8_t want_hdr[] = {
        0x90, 0x64, 0x00, 0x07, 0x00, 0x00, 0x23, 0x28, 0x11, 0x22,
        0x33, 0x44, 0xbe, 0xde, 0x00, 0x03, 0x52, 0xa1, 0xb2, 0xc3, /* abs-send-time, now id 5 */
        0x11, 'v',  '1',                                            /* MID */
        0x31, 0x12, 0x34,                                           /* transport-wide seq */
        0x00, 0x00,                                                 /* padding to the word */
    };
    CHECK_EQ(n, (int)(sizeof(want_hdr) + sizeof(chrome_vp8) - CHROME_PAYLOAD_OFF));
    CHECK_MEM(out, want_hdr, sizeof(want_hdr));
    CHECK_MEM(out + sizeof(want_hdr), chrome_vp8 + CHROME_PAYLOAD_OFF,
              sizeof(chrome_vp8) - CHROME_PAYLOAD_OFF);

    /* And it reads back. */
    struct rtp_view o;
    const uint8_t *d;
    size_t len;
    CHECK_EQ(rtp_view_parse(&o, out, (size_t)n), 0);
    CHECK_EQ(rtp_ext_find(&o, 10, &d, &len), -ENOENT);
    CHECK_EQ(rtp_ext_find(&o, 1, &d, &len), 0);
    CHECK_EQ(len, 2);
    CHECK_MEM(d, "v1", 2);
    return 0;
}

static int test_hdrext_collision_ours_wins(void)
{
    /* The publisher's transport-wide seq (3) mapped through to 3 would duplicate ours. */
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[128];
    const uint8_t *d;
    size_t len;
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);
    subscriber_rewrite(&rw);
    rw.ext_map[3] = 3;
    rw.ext_map[4] = 1; /* and its MID onto our MID id */
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK(n > 0);
    struct rtp_view o;
    CHECK_EQ(rtp_view_parse(&o, out, (size_t)n), 0);
    CHECK_EQ(o.ext_len, 12);
    CHECK_EQ(rtp_ext_find(&o, 3, &d, &len), 0);
    CHECK_EQ(be16_load(d), 0x1234);
    CHECK_EQ(rtp_ext_find(&o, 1, &d, &len), 0);
    CHECK_MEM(d, "v1", 2);
    return 0;
}

static int test_hdrext_two_byte_when_needed(void)
{
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[128];
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);

    /* An outgoing id above 14. */
    subscriber_rewrite(&rw);
    rw.mid_id = 20;
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    static const uint8_t want_id[] = {
        0x10, 0x00, 0x00, 0x04,       /* two-byte profile, 4 words */
        0x05, 0x03, 0xa1, 0xb2, 0xc3, /* abs-send-time */
        0x14, 0x02, 'v',  '1',        /* MID at 20 */
        0x03, 0x02, 0x12, 0x34,       /* transport-wide seq */
        0x00, 0x00, 0x00,
    };
    CHECK_EQ(n, (int)(12 + sizeof(want_id) + 14));
    CHECK_MEM(out + 12, want_id, sizeof(want_id));
    CHECK_EQ(out[0], 0x90);

    /* Id 15: reserved in the one-byte form, an ordinary id in the two-byte form. */
    subscriber_rewrite(&rw);
    rw.ext_map[2] = 0;
    rw.twcc_id = 0;
    rw.mid_id = 15;
    n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 8 + 14);
    CHECK_MEM(out + 12, "\x10\x00\x00\x01\x0f\x02v1", 8);

    /* An element longer than 16 bytes. */
    static const uint8_t big[17] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    subscriber_rewrite(&rw);
    rw.ext_map[2] = 0;
    rw.twcc_id = 0;
    rw.n_extra = 1;
    rw.extra[0] = (struct rtp_ext_extra){.id = 6, .len = 17, .data = big};
    n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 4 + 24 + 14);
    CHECK_EQ(out[12], 0x10);
    CHECK_EQ(out[13], 0x00);
    CHECK_EQ(out[15], 6);
    CHECK_MEM(out + 16, "\x01\x02v1\x06\x11", 6);
    CHECK_MEM(out + 22, big, 17);
    CHECK_EQ(out[39], 0);

    /* An empty element (only the two-byte form has them). */
    subscriber_rewrite(&rw);
    rw.ext_map[2] = 0;
    rw.twcc_id = 0;
    rw.mid_id = 0;
    rw.n_extra = 1;
    rw.extra[0] = (struct rtp_ext_extra){.id = 9, .len = 0, .data = NULL};
    n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 8 + 14);
    CHECK_MEM(out + 12, "\x10\x00\x00\x01\x09\x00\x00\x00", 8);
    return 0;
}

static int test_hdrext_two_byte_input_to_one_byte(void)
{
    /* Two-byte input whose elements, once renumbered, all fit the one-byte form. */
    static const uint8_t p[] = {
        0x90, 0x60, 0x00, 0x02, 0,    0,    0,    2,    0,    0,    0,    2,    0x10,
        0x00, 0x00, 0x02, 0x40, 0x03, 0xa1, 0xb2, 0xc3, 0x00, 0x00, 0x00, 0xee,
    };
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, p, sizeof(p)), 0);
    memset(&rw, 0, sizeof(rw));
    rw.marker = RTP_REWRITE_MARKER_KEEP;
    rw.pt = 96;
    rw.ext_map[0x40] = 2;
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 8 + 1);
    CHECK_MEM(out + 12, "\xbe\xde\x00\x01\x22\xa1\xb2\xc3", 8);
    CHECK_EQ(out[20], 0xee);
    return 0;
}

static int test_hdrext_all_dropped(void)
{
    /* Nothing mapped and nothing added: no block at all, X clear. */
    struct rtp_view v;
    struct rtp_rewrite rw;
    uint8_t out[64];
    CHECK_EQ(rtp_view_parse(&v, chrome_vp8, sizeof(chrome_vp8)), 0);
    memset(&rw, 0, sizeof(rw));
    rw.marker = RTP_REWRITE_MARKER_KEEP;
    rw.pt = 96;
    int n = rtp_packet_rewrite(out, sizeof(out), &v, &rw);
    CHECK_EQ(n, 12 + 14);
    CHECK_EQ(out[0], 0x80);
    CHECK_MEM(out + 12, chrome_vp8 + CHROME_PAYLOAD_OFF, 14);
    return 0;
}

static const struct test_case cases[] = {
    {"hdrext_one_byte_walk", test_hdrext_one_byte_walk},
    {"hdrext_id15_stops", test_hdrext_id15_stops},
    {"hdrext_two_byte", test_hdrext_two_byte},
    {"hdrext_unknown_profile", test_hdrext_unknown_profile},
    {"hdrext_remap", test_hdrext_remap},
    {"hdrext_collision_ours_wins", test_hdrext_collision_ours_wins},
    {"hdrext_two_byte_when_needed", test_hdrext_two_byte_when_needed},
    {"hdrext_two_byte_input_to_one_byte", test_hdrext_two_byte_input_to_one_byte},
    {"hdrext_all_dropped", test_hdrext_all_dropped},
};
TEST_MAIN(cases)
