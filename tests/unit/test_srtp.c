/* SRTP/SRTCP wrapper: libsrtp's reference packets, round trips, tampering, replay, rollover. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/bytes.h"
#include "dtls/dtls.h"
#include "harness.h"
#include "srtp/sfu_srtp.h"

/* libsrtp's own reference vectors (test/srtp_driver.c, srtp_validate and srtp_validate_gcm):
 * SSRC 0xcafebabe, sequence 0x1234, 16 bytes of 0xab payload. */
static const uint8_t cm_master[30] = {
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
    0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static const uint8_t gcm_master[28] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};
static const uint8_t rtp_plain[28] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t rtcp_plain[24] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab,
    0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
};
static const uint8_t cm_srtp[38] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e,
    0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d,
    0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
};
static const uint8_t cm_srtcp[38] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28, 0x03, 0x5b, 0xe4,
    0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00,
    0x00, 0x01, 0x99, 0x3e, 0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
};
static const uint8_t gcm_srtp[44] = {
    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xc5, 0x00, 0x2e,
    0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11, 0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97,
    0x68, 0x26, 0xf7, 0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92,
};
static const uint8_t gcm_srtcp[44] = {
    0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xc9, 0x8b, 0x8b, 0x5d, 0xf0, 0x39, 0x2a,
    0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e, 0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3,
    0xb4, 0x46, 0xea, 0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01,
};

static const int profiles[2] = {DTLS_SRTP_AEAD_AES_128_GCM, DTLS_SRTP_AES128_CM_SHA1_80};

/* Fills a's keys from a seed and b's as its mirror (a's local is b's remote). */
static void keys_make(int profile, struct dtls_srtp_keys *a, struct dtls_srtp_keys *b)
{
    memset(a, 0, sizeof(*a));
    a->profile = profile;
    a->key_len = 16;
    a->salt_len = profile == DTLS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    for (size_t i = 0; i < 16; i++) {
        a->local_key[i] = (uint8_t)(0x10 + i);
        a->remote_key[i] = (uint8_t)(0x90 + i);
    }
    for (size_t i = 0; i < a->salt_len; i++) {
        a->local_salt[i] = (uint8_t)(0x40 + i);
        a->remote_salt[i] = (uint8_t)(0xc0 + i);
    }
    *b = *a;
    memcpy(b->local_key, a->remote_key, 16);
    memcpy(b->remote_key, a->local_key, 16);
    memcpy(b->local_salt, a->remote_salt, a->salt_len);
    memcpy(b->remote_salt, a->local_salt, a->salt_len);
}

static size_t rtp_build(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
    buf[0] = 0x80;
    buf[1] = 96;
    be16_store(buf + 2, seq);
    be32_store(buf + 4, (uint32_t)seq * 3000u);
    be32_store(buf + 8, ssrc);
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(seq + i * 7);
    return 12 + payload;
}

/* A receiver report with one block. */
static size_t rtcp_build(uint8_t *buf, uint32_t ssrc, uint8_t fill)
{
    buf[0] = 0x81;
    buf[1] = 201;
    be16_store(buf + 2, 7);
    be32_store(buf + 4, ssrc);
    memset(buf + 8, fill, 24);
    return 32;
}

/* Our key layout reaches libsrtp as key then salt: the reference packets come out. */
static int vector_check(int profile, const uint8_t *master, const uint8_t *srtp, size_t srtp_len,
                        const uint8_t *srtcp, size_t srtcp_len)
{
    struct dtls_srtp_keys k, peer;
    struct sfu_srtp *tx, *rx;
    uint8_t buf[128];
    size_t len;

    keys_make(profile, &k, &peer);
    memcpy(k.local_key, master, 16);
    memcpy(k.local_salt, master + 16, k.salt_len);
    memcpy(peer.remote_key, master, 16);
    memcpy(peer.remote_salt, master + 16, k.salt_len);
    CHECK_EQ(sfu_srtp_new(&tx, &k), 0);
    CHECK_EQ(sfu_srtp_new(&rx, &peer), 0);

    memcpy(buf, rtp_plain, sizeof(rtp_plain));
    len = sizeof(rtp_plain);
    CHECK_EQ(sfu_srtp_protect_rtp(tx, buf, &len, sizeof(buf)), 0);
    CHECK_EQ(len, srtp_len);
    CHECK_MEM(buf, srtp, srtp_len);
    CHECK_EQ(sfu_srtp_unprotect_rtp(rx, buf, &len), 0);
    CHECK_EQ(len, sizeof(rtp_plain));
    CHECK_MEM(buf, rtp_plain, len);

    memcpy(buf, rtcp_plain, sizeof(rtcp_plain));
    len = sizeof(rtcp_plain);
    CHECK_EQ(sfu_srtp_protect_rtcp(tx, buf, &len, sizeof(buf)), 0);
    CHECK_EQ(len, srtcp_len);
    CHECK_MEM(buf, srtcp, srtcp_len);
    CHECK_EQ(sfu_srtp_unprotect_rtcp(rx, buf, &len), 0);
    CHECK_EQ(len, sizeof(rtcp_plain));
    CHECK_MEM(buf, rtcp_plain, len);

    sfu_srtp_free(tx);
    sfu_srtp_free(rx);
    return 0;
}

static int test_srtp_vector_cm(void)
{
    return vector_check(DTLS_SRTP_AES128_CM_SHA1_80, cm_master, cm_srtp, sizeof(cm_srtp), cm_srtcp,
                        sizeof(cm_srtcp));
}

static int test_srtp_vector_gcm(void)
{
    return vector_check(DTLS_SRTP_AEAD_AES_128_GCM, gcm_master, gcm_srtp, sizeof(gcm_srtp),
                        gcm_srtcp, sizeof(gcm_srtcp));
}

/* Both directions, both profiles, RTP and RTCP, several SSRCs and sizes. */
static int test_srtp_roundtrip(void)
{
    for (int p = 0; p < 2; p++) {
        struct dtls_srtp_keys ka, kb;
        struct sfu_srtp *a, *b;
        uint8_t buf[1600], ref[1600];
        size_t len, plain;

        keys_make(profiles[p], &ka, &kb);
        CHECK_EQ(sfu_srtp_new(&a, &ka), 0);
        CHECK_EQ(sfu_srtp_new(&b, &kb), 0);
        for (uint16_t i = 0; i < 40; i++) {
            struct sfu_srtp *from = i & 1 ? b : a, *to = i & 1 ? a : b;
            plain = rtp_build(ref, (uint16_t)(1000 + i), 0x1000u + (i % 3), (size_t)i * 30);
            memcpy(buf, ref, plain);
            len = plain;
            CHECK_EQ(sfu_srtp_protect_rtp(from, buf, &len, sizeof(buf)), 0);
            CHECK(len > plain && len <= plain + SFU_SRTP_MAX_TRAILER);
            CHECK_MEM(buf, ref, 12); /* the header stays readable */
            if (plain > 12)
                CHECK(memcmp(buf + 12, ref + 12, plain - 12) != 0);
            CHECK_EQ(sfu_srtp_unprotect_rtp(to, buf, &len), 0);
            CHECK_EQ(len, plain);
            CHECK_MEM(buf, ref, plain);

            plain = rtcp_build(ref, 0x2000u + i, (uint8_t)i);
            memcpy(buf, ref, plain);
            len = plain;
            CHECK_EQ(sfu_srtp_protect_rtcp(from, buf, &len, sizeof(buf)), 0);
            CHECK(len > plain && len <= plain + SFU_SRTP_MAX_TRAILER);
            CHECK(memcmp(buf + 8, ref + 8, plain - 8) != 0);
            CHECK_EQ(sfu_srtp_unprotect_rtcp(to, buf, &len), 0);
            CHECK_EQ(len, plain);
            CHECK_MEM(buf, ref, plain);
        }
        /* The same keys do not decrypt one's own packets: directions really differ. */
        plain = rtp_build(buf, 7, 0x3000, 20);
        len = plain;
        CHECK_EQ(sfu_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
        CHECK_EQ(sfu_srtp_unprotect_rtp(a, buf, &len), -EBADMSG);
        sfu_srtp_free(a);
        sfu_srtp_free(b);
    }
    return 0;
}

/* A flipped bit anywhere fails authentication, and does not spoil the genuine packet. */
static int test_srtp_tamper(void)
{
    for (int p = 0; p < 2; p++) {
        struct dtls_srtp_keys ka, kb;
        struct sfu_srtp *a, *b;
        uint8_t good[256], buf[256];
        size_t len, glen;

        keys_make(profiles[p], &ka, &kb);
        CHECK_EQ(sfu_srtp_new(&a, &ka), 0);
        CHECK_EQ(sfu_srtp_new(&b, &kb), 0);
        glen = rtp_build(good, 500, 0xabcdef01u, 100);
        CHECK_EQ(sfu_srtp_protect_rtp(a, good, &glen, sizeof(good)), 0);
        const size_t spots[] = {1, 9, 12, 60, glen - 1};
        for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
            memcpy(buf, good, glen);
            buf[spots[i]] ^= 0x04;
            len = glen;
            CHECK_EQ(sfu_srtp_unprotect_rtp(b, buf, &len), -EBADMSG);
            CHECK_EQ(len, glen);
        }
        len = glen - 1; /* truncated tag */
        memcpy(buf, good, glen);
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, buf, &len), -EBADMSG);
        len = glen;
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, good, &len), 0);

        glen = rtcp_build(good, 0x5555, 0x33);
        CHECK_EQ(sfu_srtp_protect_rtcp(a, good, &glen, sizeof(good)), 0);
        memcpy(buf, good, glen);
        buf[20] ^= 0x80;
        len = glen;
        CHECK_EQ(sfu_srtp_unprotect_rtcp(b, buf, &len), -EBADMSG);
        len = glen;
        CHECK_EQ(sfu_srtp_unprotect_rtcp(b, good, &len), 0);
        sfu_srtp_free(a);
        sfu_srtp_free(b);
    }
    return 0;
}

/* A packet accepted once is refused the second time; so is one older than the window. */
static int test_srtp_replay(void)
{
    for (int p = 0; p < 2; p++) {
        struct dtls_srtp_keys ka, kb;
        struct sfu_srtp *a, *b;
        uint8_t pkt[256], copy[256], old[256];
        size_t len, olen;

        keys_make(profiles[p], &ka, &kb);
        CHECK_EQ(sfu_srtp_new(&a, &ka), 0);
        CHECK_EQ(sfu_srtp_new(&b, &kb), 0);
        olen = rtp_build(old, 10, 0x77, 50);
        CHECK_EQ(sfu_srtp_protect_rtp(a, old, &olen, sizeof(old)), 0);
        len = rtp_build(pkt, 11, 0x77, 50);
        CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), 0);
        memcpy(copy, pkt, len);
        size_t clen = len;
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, pkt, &len), 0);
        len = clen;
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, copy, &len), -EALREADY);
        /* Reordered but inside the window: still accepted once. */
        len = olen;
        memcpy(pkt, old, olen);
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, pkt, &len), 0);

        /* 3000 packets on, seq 10 is out of the 1024-packet window. */
        for (uint16_t s = 12; s < 3012; s++) {
            len = rtp_build(pkt, s, 0x77, 4);
            CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), 0);
            if (s == 3011)
                CHECK_EQ(sfu_srtp_unprotect_rtp(b, pkt, &len), 0);
        }
        len = olen;
        memcpy(pkt, old, olen);
        CHECK_EQ(sfu_srtp_unprotect_rtp(b, pkt, &len), -EALREADY);

        len = rtcp_build(pkt, 0x77, 1);
        CHECK_EQ(sfu_srtp_protect_rtcp(a, pkt, &len, sizeof(pkt)), 0);
        memcpy(copy, pkt, len);
        olen = len;
        CHECK_EQ(sfu_srtp_unprotect_rtcp(b, pkt, &len), 0);
        len = olen;
        CHECK_EQ(sfu_srtp_unprotect_rtcp(b, copy, &len), -EALREADY);
        sfu_srtp_free(a);
        sfu_srtp_free(b);
    }
    return 0;
}

/* Encrypting twice under one SSRC and index would reuse keystream: refused. */
static int test_srtp_repeat_tx_refused(void)
{
    for (int p = 0; p < 2; p++) {
        struct dtls_srtp_keys ka, kb;
        struct sfu_srtp *a;
        uint8_t pkt[256];
        size_t len;

        keys_make(profiles[p], &ka, &kb);
        CHECK_EQ(sfu_srtp_new(&a, &ka), 0);
        len = rtp_build(pkt, 4242, 0x99, 30);
        CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), 0);
        len = rtp_build(pkt, 4242, 0x99, 30);
        CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), -EALREADY);
        /* Another SSRC has its own index space. */
        len = rtp_build(pkt, 4242, 0x9a, 30);
        CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), 0);
        sfu_srtp_free(a);
    }
    return 0;
}

/* 70,000 packets from seq 65000: the sequence number wraps twice (after 536 and 66,072
 * packets) and both ends follow the rollover counter (a wrong ROC fails authentication). */
static int test_srtp_rollover(void)
{
    for (int p = 0; p < 2; p++) {
        struct dtls_srtp_keys ka, kb;
        struct sfu_srtp *a, *b;
        uint8_t pkt[128], ref[128];
        size_t len, plain;
        uint16_t seq = 65000;

        keys_make(profiles[p], &ka, &kb);
        CHECK_EQ(sfu_srtp_new(&a, &ka), 0);
        CHECK_EQ(sfu_srtp_new(&b, &kb), 0);
        for (uint32_t i = 0; i < 70000; i++, seq++) {
            plain = rtp_build(ref, seq, 0x424242, 24);
            memcpy(pkt, ref, plain);
            len = plain;
            CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), 0);
            CHECK_EQ(sfu_srtp_unprotect_rtp(b, pkt, &len), 0);
            CHECK_EQ(len, plain);
            CHECK_MEM(pkt, ref, plain);
        }
        sfu_srtp_free(a);
        sfu_srtp_free(b);
    }
    return 0;
}

static int test_srtp_bad_args(void)
{
    struct dtls_srtp_keys ka, kb;
    struct sfu_srtp *a = NULL;
    uint8_t pkt[64];
    size_t len;

    CHECK_EQ(sfu_srtp_global_init(), 0);
    CHECK_EQ(sfu_srtp_global_init(), 0);
    keys_make(DTLS_SRTP_AEAD_AES_128_GCM, &ka, &kb);
    ka.salt_len = 14;
    CHECK_EQ(sfu_srtp_new(&a, &ka), -EINVAL);
    ka.salt_len = 12;
    ka.profile = 2;
    CHECK_EQ(sfu_srtp_new(&a, &ka), -EINVAL);
    ka.profile = DTLS_SRTP_AEAD_AES_128_GCM;
    ka.key_len = 32;
    CHECK_EQ(sfu_srtp_new(&a, &ka), -EINVAL);
    CHECK(a == NULL);
    ka.key_len = 16;
    CHECK_EQ(sfu_srtp_new(&a, &ka), 0);

    len = rtp_build(pkt, 1, 2, 20);
    CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, len + SFU_SRTP_MAX_TRAILER - 1), -ENOSPC);
    CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, len - 1), -ENOSPC);
    CHECK_EQ(len, 32);
    len = 11;
    CHECK_EQ(sfu_srtp_protect_rtp(a, pkt, &len, sizeof(pkt)), -EBADMSG);
    CHECK_EQ(sfu_srtp_unprotect_rtp(a, pkt, &len), -EBADMSG);
    len = 7;
    CHECK_EQ(sfu_srtp_protect_rtcp(a, pkt, &len, sizeof(pkt)), -EBADMSG);
    CHECK_EQ(sfu_srtp_unprotect_rtcp(a, pkt, &len), -EBADMSG);
    /* An RTCP packet too short to carry an SRTCP index and tag. */
    len = 12;
    CHECK_EQ(sfu_srtp_unprotect_rtcp(a, pkt, &len), -EBADMSG);
    CHECK_EQ(sfu_srtp_protect_rtp(NULL, pkt, &len, sizeof(pkt)), -EINVAL);
    CHECK_EQ(sfu_srtp_new(NULL, &ka), -EINVAL);
    sfu_srtp_free(a);
    sfu_srtp_free(NULL);
    return 0;
}

static const struct test_case cases[] = {
    {"srtp_vector_cm", test_srtp_vector_cm},
    {"srtp_vector_gcm", test_srtp_vector_gcm},
    {"srtp_roundtrip", test_srtp_roundtrip},
    {"srtp_tamper", test_srtp_tamper},
    {"srtp_replay", test_srtp_replay},
    {"srtp_repeat_tx_refused", test_srtp_repeat_tx_refused},
    {"srtp_rollover", test_srtp_rollover},
    {"srtp_bad_args", test_srtp_bad_args},
};

TEST_MAIN(cases)
