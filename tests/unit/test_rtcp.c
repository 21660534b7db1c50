/* RTCP: each packet type parsed from hand-built bytes (every field checked), each writer's
 * bytes and their round trip through the parser, compounds, and every kind of truncation. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/bytes.h"
#include "harness.h"
#include "rtp/rtcp.h"

/* Exactly one packet in b[0..n); 0 or the iterator's error. */
static int one_packet(const uint8_t *b, size_t n, struct rtcp_hdr *h)
{
    struct rtcp_iter it;
    struct rtcp_hdr extra;
    rtcp_iter_init(&it, b, n);
    int r = rtcp_iter_next(&it, h);
    if (r != 1)
        return r < 0 ? r : -ENOENT;
    r = rtcp_iter_next(&it, &extra);
    return r == 0 ? 0 : (r < 0 ? r : -E2BIG);
}

static const uint8_t sr_bytes[] = {
    0x81, 0xc8, 0x00, 0x0c,                         /* V=2 RC=1 SR, 13 words */
    0x11, 0x22, 0x33, 0x44,                         /* SSRC */
    0xe0, 0xe1, 0xe2, 0xe3, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x01, 0x5f, 0x90,                         /* RTP ts 90000 */
    0x00, 0x00, 0x00, 0x64,                         /* packets 100 */
    0x00, 0x00, 0x27, 0x10,                         /* octets 10000 */
    0x55, 0x66, 0x77, 0x88,                         /* RB: SSRC */
    0x40, 0xff, 0xff, 0xfe,                         /* fraction 64, lost -2 */
    0x00, 0x01, 0xff, 0xff,                         /* ext highest seq */
    0x00, 0x00, 0x01, 0x23,                         /* jitter */
    0xe2, 0xe3, 0x80, 0x00,                         /* LSR */
    0x00, 0x01, 0x00, 0x00,                         /* DLSR: 1 s */
};

static int test_sr_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_sr sr;
    CHECK_EQ(one_packet(sr_bytes, sizeof(sr_bytes), &h), 0);
    CHECK_EQ(h.pt, RTCP_PT_SR);
    CHECK_EQ(h.count, 1);
    CHECK_EQ(h.body_len, sizeof(sr_bytes) - 4);
    CHECK_EQ(rtcp_parse_sr(&h, &sr), 0);
    CHECK_EQ(sr.ssrc, 0x11223344);
    CHECK(sr.info.ntp == 0xe0e1e2e380000000ull);
    CHECK_EQ(sr.info.rtp_ts, 90000);
    CHECK_EQ(sr.info.pkt_count, 100);
    CHECK_EQ(sr.info.octet_count, 10000);
    CHECK_EQ(sr.rb_count, 1);
    CHECK_EQ(sr.rb[0].ssrc, 0x55667788);
    CHECK_EQ(sr.rb[0].fraction_lost, 64);
    CHECK_EQ(sr.rb[0].cumulative_lost, -2);
    CHECK_EQ(sr.rb[0].ext_highest_seq, 0x1ffff);
    CHECK_EQ(sr.rb[0].jitter, 0x123);
    CHECK_EQ(sr.rb[0].lsr, 0xe2e38000);
    CHECK_EQ(sr.rb[0].dlsr, 0x10000);
    /* Another type's parser refuses it. */
    struct rtcp_rr rr;
    CHECK_EQ(rtcp_parse_rr(&h, &rr), -EINVAL);
    return 0;
}

static const uint8_t rr_bytes[] = {
    0x82, 0xc9, 0x00, 0x0d, /* V=2 RC=2 RR, 14 words */
    0xde, 0xad, 0xbe, 0xef, /* SSRC */
    0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x05, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x10,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x7f, 0xff, 0xff,
    0x00, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x80, 0x00,
};

static int test_rr_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_rr rr;
    CHECK_EQ(one_packet(rr_bytes, sizeof(rr_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_rr(&h, &rr), 0);
    CHECK_EQ(rr.ssrc, 0xdeadbeef);
    CHECK_EQ(rr.rb_count, 2);
    CHECK_EQ(rr.rb[0].ssrc, 1);
    CHECK_EQ(rr.rb[0].fraction_lost, 128);
    CHECK_EQ(rr.rb[0].cumulative_lost, 5);
    CHECK_EQ(rr.rb[0].ext_highest_seq, 0x1000);
    CHECK_EQ(rr.rb[0].jitter, 16);
    CHECK_EQ(rr.rb[0].lsr, 0);
    CHECK_EQ(rr.rb[0].dlsr, 0);
    CHECK_EQ(rr.rb[1].ssrc, 2);
    CHECK_EQ(rr.rb[1].fraction_lost, 0);
    CHECK_EQ(rr.rb[1].cumulative_lost, 0x7fffff);
    CHECK_EQ(rr.rb[1].ext_highest_seq, 0x30007);
    CHECK_EQ(rr.rb[1].jitter, 0);
    CHECK_EQ(rr.rb[1].lsr, 0x12345678);
    CHECK_EQ(rr.rb[1].dlsr, 0x8000);

    /* An empty RR is what a compound starts with when there is nothing to report. */
    static const uint8_t empty[] = {0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07};
    CHECK_EQ(one_packet(empty, sizeof(empty), &h), 0);
    CHECK_EQ(rtcp_parse_rr(&h, &rr), 0);
    CHECK_EQ(rr.ssrc, 7);
    CHECK_EQ(rr.rb_count, 0);
    return 0;
}

static const uint8_t sdes_bytes[] = {
    0x82,
    0xca,
    0x00,
    0x06, /* V=2 SC=2 SDES, 7 words */
    /* CNAME "abc", the null item, fill */
    0x01,
    0x02,
    0x03,
    0x04,
    0x01,
    0x03,
    'a',
    'b',
    'c',
    0x00,
    0x00,
    0x00,
    /* NAME "Nm", CNAME "x", the null item ending the word */
    0x05,
    0x06,
    0x07,
    0x08,
    0x02,
    0x02,
    'N',
    'm',
    0x01,
    0x01,
    'x',
    0x00,
};

static int test_sdes_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_sdes_iter it;
    struct rtcp_sdes_chunk c;
    CHECK_EQ(one_packet(sdes_bytes, sizeof(sdes_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_sdes(&h, &it), 0);
    CHECK_EQ(rtcp_sdes_next(&it, &c), 1);
    CHECK_EQ(c.ssrc, 0x01020304);
    CHECK_EQ(c.cname_len, 3);
    CHECK_MEM(c.cname, "abc", 3);
    CHECK_EQ(rtcp_sdes_next(&it, &c), 1);
    CHECK_EQ(c.ssrc, 0x05060708);
    CHECK_EQ(c.cname_len, 1);
    CHECK_MEM(c.cname, "x", 1);
    CHECK_EQ(rtcp_sdes_next(&it, &c), 0);

    /* A chunk with no null item before the end is refused. */
    uint8_t bad[sizeof(sdes_bytes)];
    memcpy(bad, sdes_bytes, sizeof(bad));
    bad[27] = 0x03; /* an item type where the null item was */
    CHECK_EQ(one_packet(bad, sizeof(bad), &h), 0);
    CHECK_EQ(rtcp_parse_sdes(&h, &it), -EBADMSG);
    return 0;
}

static const uint8_t bye_bytes[] = {
    0x82, 0xcb, 0x00, 0x03,                         /* V=2 SC=2 BYE, 4 words */
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b, /* SSRCs 10, 11 */
    0x03, 'b',  'y',  'e',                          /* reason */
};

static int test_bye_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_bye bye;
    CHECK_EQ(one_packet(bye_bytes, sizeof(bye_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_bye(&h, &bye), 0);
    CHECK_EQ(bye.ssrc_count, 2);
    CHECK_EQ(bye.ssrcs[0], 10);
    CHECK_EQ(bye.ssrcs[1], 11);
    CHECK_EQ(bye.reason_len, 3);
    CHECK_MEM(bye.reason, "bye", 3);

    /* A reason length running past the packet. */
    uint8_t bad[sizeof(bye_bytes)];
    memcpy(bad, bye_bytes, sizeof(bad));
    bad[12] = 4;
    CHECK_EQ(one_packet(bad, sizeof(bad), &h), 0);
    CHECK_EQ(rtcp_parse_bye(&h, &bye), -EBADMSG);
    return 0;
}

static const uint8_t nack_bytes[] = {
    0x81, 0xcd, 0x00, 0x04,                         /* V=2 FMT=1 RTPFB, 5 words */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* sender 1, media 2 */
    0x00, 0x64, 0x80, 0x01,                         /* PID 100, BLP bits 0 and 15 */
    0xff, 0xff, 0x00, 0x03,                         /* PID 65535, BLP bits 0 and 1 */
};

static int test_nack_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_nack nack;
    struct rtcp_nack_iter it;
    const uint16_t want[] = {100, 101, 116, 65535, 0, 1};
    uint16_t seq;
    size_t n = 0;
    CHECK_EQ(one_packet(nack_bytes, sizeof(nack_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_nack(&h, &nack), 0);
    CHECK_EQ(nack.sender_ssrc, 1);
    CHECK_EQ(nack.media_ssrc, 2);
    CHECK_EQ(nack.item_count, 2);
    rtcp_nack_iter_init(&it, &nack);
    while (rtcp_nack_iter_next(&it, &seq)) {
        CHECK(n < 6);
        CHECK_EQ(seq, want[n]);
        n++;
    }
    CHECK_EQ(n, 6);
    struct rtcp_twcc tw;
    CHECK_EQ(rtcp_parse_twcc(&h, &tw), -EINVAL);
    return 0;
}

/* Transport-cc feedback with a 2-bit status vector, a run length and a 1-bit status vector
 * whose last six slots are fill, starting at 65534 so the sequence wraps. */
static const uint8_t twcc_bytes[] = {
    0x8f, 0xcd, 0x00, 0x09,                         /* V=2 FMT=15 RTPFB, 10 words */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* sender 1, media 2 */
    0xff, 0xfe, 0x00, 0x14,                         /* base 65534, 20 statuses */
    0x00, 0x00, 0x10, 0x05,                         /* ref time 16 (1.024 s), fb count 5 */
    0xd8, 0x41,                                     /* 2-bit: 1 2 0 1 0 0 1 */
    0x20, 0x05,                                     /* run: small delta x5 */
    0xac, 0x40,                                     /* 1-bit: 1 0 1 1 0 0 0 1 + fill */
    0x04, 0xff, 0xf8, 0x10, 0xff, 0x01, 0x02,       /* deltas */
    0x03, 0x04, 0x05, 0x00, 0x20, 0x21, 0x7f,
};

static const struct rtcp_twcc_status twcc_want[20] = {
    {65534, true, 4}, {65535, true, -8}, {0, false, 0},  {1, true, 16},  {2, false, 0},
    {3, false, 0},    {4, true, 255},    {5, true, 1},   {6, true, 2},   {7, true, 3},
    {8, true, 4},     {9, true, 5},      {10, true, 0},  {11, false, 0}, {12, true, 32},
    {13, true, 33},   {14, false, 0},    {15, false, 0}, {16, false, 0}, {17, true, 127},
};

static int test_twcc_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_twcc fb;
    struct rtcp_twcc_iter it;
    struct rtcp_twcc_status st;
    size_t n = 0;
    CHECK_EQ(one_packet(twcc_bytes, sizeof(twcc_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), 0);
    CHECK_EQ(fb.sender_ssrc, 1);
    CHECK_EQ(fb.media_ssrc, 2);
    CHECK_EQ(fb.base_seq, 65534);
    CHECK_EQ(fb.status_count, 20);
    CHECK_EQ(fb.ref_time, 16);
    CHECK_EQ(fb.fb_count, 5);
    CHECK_EQ(fb.chunk_count, 3);
    CHECK_EQ(fb.deltas_len, 14);
    rtcp_twcc_iter_init(&it, &fb);
    while (rtcp_twcc_iter_next(&it, &st)) {
        CHECK(n < 20);
        CHECK_EQ(st.seq, twcc_want[n].seq);
        CHECK_EQ(st.received, twcc_want[n].received);
        CHECK_EQ(st.delta, twcc_want[n].delta);
        n++;
    }
    CHECK_EQ(n, 20);

    /* A negative reference time: the 24-bit field is signed. */
    uint8_t b[sizeof(twcc_bytes)];
    memcpy(b, twcc_bytes, sizeof(b));
    b[16] = 0xff;
    b[17] = 0xff;
    b[18] = 0xfe;
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), 0);
    CHECK_EQ(fb.ref_time, -2);

    /* The reserved 2-bit symbol 3 is refused, in a vector and in a run. */
    memcpy(b, twcc_bytes, sizeof(b));
    b[20] = 0xdb; /* third symbol 0 -> 3 */
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), -EBADMSG);
    memcpy(b, twcc_bytes, sizeof(b));
    b[22] = 0x60;
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), -EBADMSG);

    /* A status count the chunks cannot cover: the parser runs into the deltas, whose bytes
     * decode as chunks needing more deltas than remain. */
    memcpy(b, twcc_bytes, sizeof(b));
    b[15] = 0x40;
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_twcc(&h, &fb), -EBADMSG);
    return 0;
}

static const uint8_t pli_bytes[] = {
    0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
};

static const uint8_t fir_bytes[] = {
    0x84, 0xce, 0x00, 0x06,                         /* V=2 FMT=4 PSFB, 7 words */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* sender 1, media 0 */
    0x00, 0x00, 0x00, 0x09, 0x07, 0x00, 0x00, 0x00, /* SSRC 9, seq 7 */
    0x00, 0x00, 0x00, 0x0a, 0xff, 0x00, 0x00, 0x00, /* SSRC 10, seq 255 */
};

static const uint8_t remb_bytes[] = {
    0x8f, 0xce, 0x00, 0x06,                         /* V=2 FMT=15 PSFB, 7 words */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* sender 1, media 0 */
    'R',  'E',  'M',  'B',  0x02, 0x0b, 0xd0, 0x90, /* 2 SSRCs, exp 2, mantissa 250000 */
    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,
};

static int test_psfb_parse(void)
{
    struct rtcp_hdr h;
    struct rtcp_pli pli;
    struct rtcp_fir fir;
    struct rtcp_fir_entry e;
    struct rtcp_remb remb;
    CHECK_EQ(one_packet(pli_bytes, sizeof(pli_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_pli(&h, &pli), 0);
    CHECK_EQ(pli.sender_ssrc, 1);
    CHECK_EQ(pli.media_ssrc, 0xaabbccdd);
    CHECK_EQ(rtcp_parse_fir(&h, &fir), -EINVAL);

    CHECK_EQ(one_packet(fir_bytes, sizeof(fir_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_fir(&h, &fir), 0);
    CHECK_EQ(fir.sender_ssrc, 1);
    CHECK_EQ(fir.media_ssrc, 0);
    CHECK_EQ(fir.entry_count, 2);
    rtcp_fir_entry_get(&fir, 0, &e);
    CHECK_EQ(e.ssrc, 9);
    CHECK_EQ(e.seq, 7);
    rtcp_fir_entry_get(&fir, 1, &e);
    CHECK_EQ(e.ssrc, 10);
    CHECK_EQ(e.seq, 255);

    CHECK_EQ(one_packet(remb_bytes, sizeof(remb_bytes), &h), 0);
    CHECK_EQ(rtcp_parse_remb(&h, &remb), 0);
    CHECK_EQ(remb.sender_ssrc, 1);
    CHECK_EQ(remb.bitrate_bps, 1000000);
    CHECK_EQ(remb.ssrc_count, 2);
    CHECK_EQ(remb.ssrcs[0], 5);
    CHECK_EQ(remb.ssrcs[1], 6);

    /* The largest exponent saturates rather than wrapping; a non-REMB identifier is not ours. */
    uint8_t b[sizeof(remb_bytes)];
    memcpy(b, remb_bytes, sizeof(b));
    b[17] = 0xff;
    b[18] = 0xff;
    b[19] = 0xff;
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_remb(&h, &remb), 0);
    CHECK(remb.bitrate_bps == UINT64_MAX);
    b[12] = 'X';
    CHECK_EQ(rtcp_parse_remb(&h, &remb), -EINVAL);
    /* More SSRCs claimed than present. */
    memcpy(b, remb_bytes, sizeof(b));
    b[16] = 3;
    CHECK_EQ(one_packet(b, sizeof(b), &h), 0);
    CHECK_EQ(rtcp_parse_remb(&h, &remb), -EBADMSG);
    return 0;
}

/* The hand-built packets again, as writers must produce them byte for byte. */
static int test_writers_bytes(void)
{
    uint8_t buf[256];
    struct rtcp_sender_info si = {0xe0e1e2e380000000ull, 90000, 100, 10000};
    struct rtcp_report_block rb = {0x55667788, 64, -2, 0x1ffff, 0x123, 0xe2e38000, 0x10000};
    CHECK_EQ(rtcp_write_sr(buf, sizeof(buf), 0x11223344, &si, &rb, 1), (int)sizeof(sr_bytes));
    CHECK_MEM(buf, sr_bytes, sizeof(sr_bytes));

    const uint32_t ssrcs[] = {10, 11};
    CHECK_EQ(rtcp_write_bye(buf, sizeof(buf), ssrcs, 2, "bye", 3), (int)sizeof(bye_bytes));
    CHECK_MEM(buf, bye_bytes, sizeof(bye_bytes));

    CHECK_EQ(rtcp_write_pli(buf, sizeof(buf), 1, 0xaabbccdd), (int)sizeof(pli_bytes));
    CHECK_MEM(buf, pli_bytes, sizeof(pli_bytes));

    const struct rtcp_fir_entry fe[] = {{9, 7}, {10, 255}};
    CHECK_EQ(rtcp_write_fir(buf, sizeof(buf), 1, fe, 2), (int)sizeof(fir_bytes));
    CHECK_MEM(buf, fir_bytes, sizeof(fir_bytes));

    const uint32_t rs[] = {5, 6};
    CHECK_EQ(rtcp_write_remb(buf, sizeof(buf), 1, 1000000, rs, 2), (int)sizeof(remb_bytes));
    CHECK_MEM(buf, remb_bytes, sizeof(remb_bytes));

    const uint16_t seqs[] = {100, 101, 116, 65535, 0, 1};
    CHECK_EQ(rtcp_write_nack(buf, sizeof(buf), 1, 2, seqs, 6), (int)sizeof(nack_bytes));
    CHECK_MEM(buf, nack_bytes, sizeof(nack_bytes));

    static const uint8_t sdes_one[] = {0x81, 0xca, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04,
                                       0x01, 0x03, 'a',  'b',  'c',  0x00, 0x00, 0x00};
    CHECK_EQ(rtcp_write_sdes_cname(buf, sizeof(buf), 0x01020304, "abc", 3), (int)sizeof(sdes_one));
    CHECK_MEM(buf, sdes_one, sizeof(sdes_one));
    /* A CNAME filling the chunk to a boundary still gets a whole word of nulls. */
    CHECK_EQ(rtcp_write_sdes_cname(buf, sizeof(buf), 1, "ab", 2), 16);
    CHECK_MEM(buf + 8,
              "\x01\x02"
              "ab\0\0\0\0",
              8);
    return 0;
}

static int test_roundtrip(void)
{
    uint8_t buf[1500];
    struct rtcp_hdr h;
    int n;

    struct rtcp_report_block rb[RTCP_COUNT_MAX];
    for (unsigned i = 0; i < RTCP_COUNT_MAX; i++)
        rb[i] = (struct rtcp_report_block){
            0x1000 + i, (uint8_t)(i * 7), (int32_t)i * 1000 - 9000, 0x10000 * i, i * 3, i << 20,
            i << 8};
    rb[3].cumulative_lost = -0x800000;
    rb[4].cumulative_lost = 0x7fffff;
    struct rtcp_sender_info si = {0x0102030405060708ull, 0xfffffff0u, 0xffffffffu, 12345};
    n = rtcp_write_sr(buf, sizeof(buf), 42, &si, rb, RTCP_COUNT_MAX);
    CHECK_EQ(n, 28 + 24 * RTCP_COUNT_MAX);
    CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
    struct rtcp_sr sr;
    CHECK_EQ(rtcp_parse_sr(&h, &sr), 0);
    CHECK_EQ(sr.ssrc, 42);
    CHECK(sr.info.ntp == si.ntp);
    CHECK_EQ(sr.info.rtp_ts, si.rtp_ts);
    CHECK_EQ(sr.info.pkt_count, si.pkt_count);
    CHECK_EQ(sr.info.octet_count, si.octet_count);
    CHECK_EQ(sr.rb_count, RTCP_COUNT_MAX);
    for (unsigned i = 0; i < RTCP_COUNT_MAX; i++) {
        CHECK_EQ(sr.rb[i].ssrc, rb[i].ssrc);
        CHECK_EQ(sr.rb[i].fraction_lost, rb[i].fraction_lost);
        CHECK_EQ(sr.rb[i].cumulative_lost, rb[i].cumulative_lost);
        CHECK_EQ(sr.rb[i].ext_highest_seq, rb[i].ext_highest_seq);
        CHECK_EQ(sr.rb[i].jitter, rb[i].jitter);
        CHECK_EQ(sr.rb[i].lsr, rb[i].lsr);
        CHECK_EQ(sr.rb[i].dlsr, rb[i].dlsr);
    }
    /* Out-of-range loss is clamped to the 24-bit field, not wrapped. */
    rb[0].cumulative_lost = 0x1000000;
    rb[1].cumulative_lost = -0x1000000;
    n = rtcp_write_rr(buf, sizeof(buf), 43, rb, 2);
    CHECK_EQ(n, 8 + 48);
    CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
    struct rtcp_rr rr;
    CHECK_EQ(rtcp_parse_rr(&h, &rr), 0);
    CHECK_EQ(rr.ssrc, 43);
    CHECK_EQ(rr.rb_count, 2);
    CHECK_EQ(rr.rb[0].cumulative_lost, 0x7fffff);
    CHECK_EQ(rr.rb[1].cumulative_lost, -0x800000);
    CHECK_EQ(rr.rb[1].ssrc, rb[1].ssrc);

    char cname[255];
    for (size_t len = 1; len <= sizeof(cname); len++) {
        memset(cname, 'a' + (int)(len % 26), len);
        n = rtcp_write_sdes_cname(buf, sizeof(buf), (uint32_t)len, cname, len);
        CHECK(n > 0 && n % 4 == 0);
        CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
        struct rtcp_sdes_iter it;
        struct rtcp_sdes_chunk c;
        CHECK_EQ(rtcp_parse_sdes(&h, &it), 0);
        CHECK_EQ(rtcp_sdes_next(&it, &c), 1);
        CHECK_EQ(c.ssrc, len);
        CHECK_EQ(c.cname_len, len);
        CHECK_MEM(c.cname, cname, len);
        CHECK_EQ(rtcp_sdes_next(&it, &c), 0);
    }

    uint32_t ssrcs[RTCP_COUNT_MAX];
    for (unsigned i = 0; i < RTCP_COUNT_MAX; i++)
        ssrcs[i] = 0xf0000000u + i;
    n = rtcp_write_bye(buf, sizeof(buf), ssrcs, RTCP_COUNT_MAX, NULL, 0);
    CHECK_EQ(n, 4 + 4 * RTCP_COUNT_MAX);
    CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
    struct rtcp_bye bye;
    CHECK_EQ(rtcp_parse_bye(&h, &bye), 0);
    CHECK_EQ(bye.ssrc_count, RTCP_COUNT_MAX);
    CHECK_EQ(bye.ssrcs[30], 0xf000001e);
    CHECK(bye.reason == NULL);

    n = rtcp_write_pli(buf, sizeof(buf), 7, 8);
    CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
    struct rtcp_pli pli;
    CHECK_EQ(rtcp_parse_pli(&h, &pli), 0);
    CHECK_EQ(pli.sender_ssrc, 7);
    CHECK_EQ(pli.media_ssrc, 8);

    struct rtcp_fir_entry fe[3] = {{1, 0}, {2, 128}, {3, 255}}, got;
    n = rtcp_write_fir(buf, sizeof(buf), 9, fe, 3);
    CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
    struct rtcp_fir fir;
    CHECK_EQ(rtcp_parse_fir(&h, &fir), 0);
    CHECK_EQ(fir.sender_ssrc, 9);
    CHECK_EQ(fir.entry_count, 3);
    for (size_t i = 0; i < 3; i++) {
        rtcp_fir_entry_get(&fir, i, &got);
        CHECK_EQ(got.ssrc, fe[i].ssrc);
        CHECK_EQ(got.seq, fe[i].seq);
    }

    /* REMB: values the 18-bit mantissa carries exactly come back exactly; others round down
     * by less than one part in 2^17. */
    const uint64_t rates[] = {0, 1, 262143, 262144, 1000000, 2500000, 123456789, 1ull << 40};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        n = rtcp_write_remb(buf, sizeof(buf), 3, rates[i], ssrcs, 4);
        CHECK_EQ(n, 20 + 16);
        CHECK_EQ(one_packet(buf, (size_t)n, &h), 0);
        struct rtcp_remb remb;
        CHECK_EQ(rtcp_parse_remb(&h, &remb), 0);
        CHECK_EQ(remb.sender_ssrc, 3);
        CHECK_EQ(remb.ssrc_count, 4);
        CHECK_EQ(remb.ssrcs[3], ssrcs[3]);
        CHECK(remb.bitrate_bps <= rates[i]);
        CHECK(rates[i] - remb.bitrate_bps <= rates[i] >> 17);
    }
    CHECK_EQ(rtcp_write_remb(buf, sizeof(buf), 3, 123456789, ssrcs, 0), 20);
    CHECK_EQ(buf[18] << 8 | buf[19], (123456789 >> 9) & 0xffff);
    CHECK_EQ(buf[17] >> 2, 9);
    return 0;
}

static int nack_roundtrip(const uint16_t *seqs, size_t n, size_t want_items)
{
    uint8_t buf[512];
    struct rtcp_hdr h;
    struct rtcp_nack nack;
    struct rtcp_nack_iter it;
    uint16_t seq;
    size_t i = 0;
    int len = rtcp_write_nack(buf, sizeof(buf), 11, 22, seqs, n);
    CHECK_EQ(len, (int)(12 + 4 * want_items));
    CHECK_EQ(one_packet(buf, (size_t)len, &h), 0);
    CHECK_EQ(rtcp_parse_nack(&h, &nack), 0);
    CHECK_EQ(nack.item_count, want_items);
    rtcp_nack_iter_init(&it, &nack);
    while (rtcp_nack_iter_next(&it, &seq)) {
        while (i > 0 && i < n && seqs[i] == seqs[i - 1])
            i++; /* duplicates in the input come out once */
        CHECK(i < n);
        CHECK_EQ(seq, seqs[i]);
        i++;
    }
    CHECK_EQ(i, n);
    return 0;
}

static int test_nack_packing(void)
{
    uint8_t buf[64];
    /* Across the wrap: one item, PID 65534 and BLP 0b111. */
    const uint16_t wrap[] = {65534, 65535, 0, 1};
    CHECK_EQ(rtcp_write_nack(buf, sizeof(buf), 1, 2, wrap, 4), 16);
    CHECK_EQ(be16_load(buf + 12), 65534);
    CHECK_EQ(be16_load(buf + 14), 0x0007);
    CHECK_EQ(nack_roundtrip(wrap, 4, 1), 0);
    /* PID+16 still shares the item, PID+17 starts the next. */
    const uint16_t spread[] = {10, 12, 26, 27, 100};
    CHECK_EQ(rtcp_write_nack(buf, sizeof(buf), 1, 2, spread, 5), 24);
    CHECK_EQ(be16_load(buf + 12), 10);
    CHECK_EQ(be16_load(buf + 14), 0x8002);
    CHECK_EQ(be16_load(buf + 16), 27);
    CHECK_EQ(be16_load(buf + 18), 0);
    CHECK_EQ(be16_load(buf + 20), 100);
    CHECK_EQ(be16_load(buf + 22), 0);
    CHECK_EQ(nack_roundtrip(spread, 5, 3), 0);
    const uint16_t dup[] = {5, 5, 6};
    CHECK_EQ(nack_roundtrip(dup, 3, 1), 0);
    uint16_t many[100];
    for (size_t i = 0; i < 100; i++)
        many[i] = (uint16_t)(65500 + i * 3);
    CHECK_EQ(nack_roundtrip(many, 100, 17), 0);
    /* Errors: empty list, no room for the second item. */
    CHECK_EQ(rtcp_write_nack(buf, sizeof(buf), 1, 2, wrap, 0), -EINVAL);
    CHECK_EQ(rtcp_write_nack(buf, 19, 1, 2, spread, 5), -ENOSPC);
    CHECK_EQ(rtcp_write_nack(buf, 16, 1, 2, spread, 1), 16);
    return 0;
}

static int test_writer_limits(void)
{
    uint8_t buf[64];
    struct rtcp_sender_info si = {0};
    struct rtcp_report_block rb[32] = {{0}};
    const uint32_t ssrcs[32] = {0};
    const struct rtcp_fir_entry fe = {1, 1};
    for (size_t cap = 0; cap < 28; cap++)
        CHECK_EQ(rtcp_write_sr(buf, cap, 1, &si, NULL, 0), -ENOSPC);
    CHECK_EQ(rtcp_write_sr(buf, 51, 1, &si, rb, 1), -ENOSPC);
    CHECK_EQ(rtcp_write_sr(buf, sizeof(buf), 1, &si, rb, 32), -EINVAL);
    CHECK_EQ(rtcp_write_rr(buf, 7, 1, NULL, 0), -ENOSPC);
    CHECK_EQ(rtcp_write_rr(buf, 8, 1, NULL, 0), 8);
    CHECK_EQ(rtcp_write_rr(buf, sizeof(buf), 1, rb, 32), -EINVAL);
    CHECK_EQ(rtcp_write_sdes_cname(buf, 15, 1, "abc", 3), -ENOSPC);
    CHECK_EQ(rtcp_write_sdes_cname(buf, sizeof(buf), 1, "", 0), -EINVAL);
    CHECK_EQ(rtcp_write_sdes_cname(buf, sizeof(buf), 1, "x", 256), -EINVAL);
    CHECK_EQ(rtcp_write_bye(buf, 15, ssrcs, 2, "r", 1), -ENOSPC);
    CHECK_EQ(rtcp_write_bye(buf, 16, ssrcs, 2, "r", 1), 16);
    CHECK_EQ(rtcp_write_bye(buf, sizeof(buf), ssrcs, 0, NULL, 0), -EINVAL);
    CHECK_EQ(rtcp_write_bye(buf, sizeof(buf), ssrcs, 32, NULL, 0), -EINVAL);
    CHECK_EQ(rtcp_write_pli(buf, 11, 1, 2), -ENOSPC);
    CHECK_EQ(rtcp_write_fir(buf, 19, 1, &fe, 1), -ENOSPC);
    CHECK_EQ(rtcp_write_fir(buf, sizeof(buf), 1, &fe, 0), -EINVAL);
    CHECK_EQ(rtcp_write_remb(buf, 19, 1, 1000, NULL, 0), -ENOSPC);
    CHECK_EQ(rtcp_write_remb(buf, 20, 1, 1000, NULL, 0), 20);
    return 0;
}

static int test_compound(void)
{
    uint8_t buf[256];
    size_t off = 0;
    struct rtcp_sender_info si = {0x0000000100000000ull, 3000, 5, 500};
    struct rtcp_report_block rb = {99, 1, 2, 3, 4, 5, 6};
    const uint32_t ssrc = 0xcafe;
    int n = rtcp_write_sr(buf, sizeof(buf), ssrc, &si, &rb, 1);
    CHECK(n > 0);
    off += (size_t)n;
    n = rtcp_write_sdes_cname(buf + off, sizeof(buf) - off, ssrc, "user@host", 9);
    CHECK(n > 0);
    off += (size_t)n;
    n = rtcp_write_bye(buf + off, sizeof(buf) - off, &ssrc, 1, "done", 4);
    CHECK(n > 0);
    off += (size_t)n;
    CHECK_EQ(off, 52 + 20 + 16);

    struct rtcp_iter it;
    struct rtcp_hdr h;
    struct rtcp_sr sr;
    struct rtcp_sdes_iter si_it;
    struct rtcp_sdes_chunk c;
    struct rtcp_bye bye;
    rtcp_iter_init(&it, buf, off);
    CHECK_EQ(rtcp_iter_next(&it, &h), 1);
    CHECK_EQ(rtcp_parse_sr(&h, &sr), 0);
    CHECK_EQ(sr.ssrc, ssrc);
    CHECK_EQ(sr.rb[0].ssrc, 99);
    CHECK_EQ(sr.rb[0].dlsr, 6);
    CHECK_EQ(rtcp_iter_next(&it, &h), 1);
    CHECK_EQ(rtcp_parse_sdes(&h, &si_it), 0);
    CHECK_EQ(rtcp_sdes_next(&si_it, &c), 1);
    CHECK_EQ(c.ssrc, ssrc);
    CHECK_EQ(c.cname_len, 9);
    CHECK_MEM(c.cname, "user@host", 9);
    CHECK_EQ(rtcp_iter_next(&it, &h), 1);
    CHECK_EQ(rtcp_parse_bye(&h, &bye), 0);
    CHECK_EQ(bye.ssrc_count, 1);
    CHECK_EQ(bye.ssrcs[0], ssrc);
    CHECK_EQ(bye.reason_len, 4);
    CHECK_MEM(bye.reason, "done", 4);
    CHECK_EQ(rtcp_iter_next(&it, &h), 0);

    /* Truncation at every length: whole packets up to a boundary, -EBADMSG inside one. */
    const size_t bounds[] = {52, 72, 88};
    for (size_t len = 1; len < off; len++) {
        size_t whole = 0, got = 0;
        for (size_t b = 0; b < 3; b++)
            whole += bounds[b] <= len;
        bool at_bound = len == 52 || len == 72;
        rtcp_iter_init(&it, buf, len);
        int r;
        while ((r = rtcp_iter_next(&it, &h)) == 1)
            got++;
        CHECK_EQ(got, whole);
        CHECK_EQ(r, at_bound ? 0 : -EBADMSG);
        /* The error sticks. */
        if (!at_bound)
            CHECK_EQ(rtcp_iter_next(&it, &h), -EBADMSG);
    }
    return 0;
}

/* Each hand-built packet, its length field shortened a word at a time (the buffer with it):
 * the iterator accepts the shorter packet and the type's parser must refuse it. */
static int test_body_truncation(void)
{
    static const struct {
        const uint8_t *b;
        size_t len;
        uint32_t valid; /* bit w: a body of w words parses */
    } pk[] = {
        {sr_bytes, sizeof(sr_bytes), 1u << 12},
        {rr_bytes, sizeof(rr_bytes), 1u << 13},
        {sdes_bytes, sizeof(sdes_bytes), 1u << 6},
        {bye_bytes, sizeof(bye_bytes), 1u << 2 | 1u << 3}, /* the reason is optional */
        {nack_bytes, sizeof(nack_bytes), 1u << 3 | 1u << 4},
        {twcc_bytes, sizeof(twcc_bytes), 1u << 9},
        {pli_bytes, sizeof(pli_bytes), 1u << 2},
        {fir_bytes, sizeof(fir_bytes), 1u << 4 | 1u << 6}, /* whole 8-byte entries only */
        {remb_bytes, sizeof(remb_bytes), 1u << 6},
    };
    uint8_t b[64];
    struct rtcp_hdr h;
    for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
        size_t words = pk[i].len / 4 - 1;
        for (size_t w = 0; w <= words; w++) {
            memcpy(b, pk[i].b, pk[i].len);
            be16_store(b + 2, (uint16_t)w);
            CHECK_EQ(one_packet(b, 4 + 4 * w, &h), 0);
            union {
                struct rtcp_sr sr;
                struct rtcp_rr rr;
                struct rtcp_sdes_iter sdes;
                struct rtcp_bye bye;
                struct rtcp_nack nack;
                struct rtcp_twcc twcc;
                struct rtcp_pli pli;
                struct rtcp_fir fir;
                struct rtcp_remb remb;
            } u;
            int r;
            switch (i) {
            case 0:
                r = rtcp_parse_sr(&h, &u.sr);
                break;
            case 1:
                r = rtcp_parse_rr(&h, &u.rr);
                break;
            case 2:
                r = rtcp_parse_sdes(&h, &u.sdes);
                break;
            case 3:
                r = rtcp_parse_bye(&h, &u.bye);
                break;
            case 4:
                r = rtcp_parse_nack(&h, &u.nack);
                break;
            case 5:
                r = rtcp_parse_twcc(&h, &u.twcc);
                break;
            case 6:
                r = rtcp_parse_pli(&h, &u.pli);
                break;
            case 7:
                r = rtcp_parse_fir(&h, &u.fir);
                break;
            default:
                r = rtcp_parse_remb(&h, &u.remb);
                break;
            }
            int want = (pk[i].valid >> w) & 1 ? 0 : -EBADMSG;
            if (r != want)
                fprintf(stderr, "packet %zu at %zu words: %d\n", i, w, r);
            CHECK_EQ(r, want);
        }
        /* And cut at every byte, with the length field left alone: the iterator refuses. */
        for (size_t len = 1; len < pk[i].len; len++)
            CHECK_EQ(one_packet(pk[i].b, len, &h), -EBADMSG);
    }
    return 0;
}

static int test_header_errors(void)
{
    struct rtcp_hdr h;
    uint8_t b[16];
    /* Version 1. */
    memcpy(b, pli_bytes, 12);
    b[0] = 0x41;
    CHECK_EQ(one_packet(b, 12, &h), -EBADMSG);
    /* Empty input: no packets, no error. */
    CHECK_EQ(one_packet(b, 0, &h), -ENOENT);

    /* Padding on the last packet: 4 bytes, the body shrinks by them. */
    static const uint8_t padded[] = {0xa0, 0xc9, 0x00, 0x02, 0x00, 0x00,
                                     0x00, 0x07, 0x00, 0x00, 0x00, 0x04};
    CHECK_EQ(one_packet(padded, sizeof(padded), &h), 0);
    CHECK_EQ(h.body_len, 4);
    struct rtcp_rr rr;
    CHECK_EQ(rtcp_parse_rr(&h, &rr), 0);
    CHECK_EQ(rr.ssrc, 7);
    /* Padding count 0, or larger than the packet's body. */
    memcpy(b, padded, sizeof(padded));
    b[11] = 0;
    CHECK_EQ(one_packet(b, sizeof(padded), &h), -EBADMSG);
    b[11] = 9;
    CHECK_EQ(one_packet(b, sizeof(padded), &h), -EBADMSG);
    b[11] = 8;
    CHECK_EQ(one_packet(b, sizeof(padded), &h), 0);
    CHECK_EQ(h.body_len, 0);
    CHECK_EQ(rtcp_parse_rr(&h, &rr), -EBADMSG);

    /* Padding on a packet that is not the last. */
    uint8_t two[24];
    memcpy(two, padded, sizeof(padded));
    memcpy(two + 12, pli_bytes, sizeof(pli_bytes));
    struct rtcp_iter it;
    rtcp_iter_init(&it, two, sizeof(two));
    CHECK_EQ(rtcp_iter_next(&it, &h), -EBADMSG);
    return 0;
}

static const struct test_case cases[] = {
    {"sr_parse", test_sr_parse},
    {"rr_parse", test_rr_parse},
    {"sdes_parse", test_sdes_parse},
    {"bye_parse", test_bye_parse},
    {"nack_parse", test_nack_parse},
    {"twcc_parse", test_twcc_parse},
    {"psfb_parse", test_psfb_parse},
    {"writers_bytes", test_writers_bytes},
    {"roundtrip", test_roundtrip},
    {"nack_packing", test_nack_packing},
    {"writer_limits", test_writer_limits},
    {"compound", test_compound},
    {"body_truncation", test_body_truncation},
    {"header_errors", test_header_errors},
};

TEST_MAIN(cases)
