/* OpenSSL's primitives inside libsrtp (sfu/srtp/srtp_ossl.c) against stock libsrtp: a child
 * process that never registers them protects a run of RTP and RTCP packets (every payload size
 * from 0 to 1,200 in steps, and a sequence number wrap, so the rollover counter moves); the
 * SFU's sessions must produce the same bytes, and unprotect the child's packets to the
 * originals. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#include "core/bytes.h"
#include "dtls/dtls.h"
#include "harness.h"
#include "srtp/sfu_srtp.h"

#define N_RTP  48
#define N_RTCP 8
#define PKT    1300

static const uint8_t master_key[16] = {0x3c, 0x11, 0x8e, 0x02, 0x77, 0xa4, 0x5b, 0xd0,
                                       0x19, 0xee, 0x60, 0x2f, 0x93, 0x4a, 0xc1, 0x08};
static const uint8_t master_salt[14] = {0x5a, 0x0e, 0xb3, 0x61, 0xf2, 0x2d, 0x94,
                                        0x7c, 0x08, 0xaf, 0x33, 0xd6, 0x4b, 0xe9};

/* Packet i: RTP with sequence 65,520 + i (wrapping after 15), payload 25 i bytes; or an RTCP
 * receiver report with i + 1 blocks. */
static size_t rtp_make(uint8_t *b, int i)
{
    size_t n = 12 + (size_t)i * 25;

    b[0] = 0x80;
    b[1] = (uint8_t)(i % 3 == 0 ? 0x80 | 96 : 96);
    be16_store(b + 2, (uint16_t)(65520 + i));
    be32_store(b + 4, 90000u * (uint32_t)i);
    be32_store(b + 8, 0x1a2b3c4d);
    for (size_t k = 12; k < n; k++)
        b[k] = (uint8_t)(k * 7 + (size_t)i);
    return n;
}

static size_t rtcp_make(uint8_t *b, int i)
{
    size_t n = 8 + (size_t)(i + 1) * 24;

    b[0] = (uint8_t)(0x80 | (i + 1));
    b[1] = 201;
    be16_store(b + 2, (uint16_t)(n / 4 - 1));
    be32_store(b + 4, 0x1a2b3c4d);
    for (size_t k = 8; k < n; k++)
        b[k] = (uint8_t)(k * 13 + (size_t)i);
    return n;
}

struct ref {
    uint8_t pkt[N_RTP + N_RTCP][PKT];
    size_t len[N_RTP + N_RTCP];
};

/* The child: stock libsrtp, outbound session from the same master key. */
static int ref_protect(int gcm, struct ref *r)
{
    uint8_t master[30];
    srtp_policy_t p;
    srtp_t s;

    if (srtp_init() != srtp_err_status_ok)
        return -1;
    memset(&p, 0, sizeof(p));
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    memcpy(master, master_key, 16);
    memcpy(master + 16, master_salt, gcm ? 12 : 14);
    p.ssrc.type = ssrc_any_outbound;
    p.key = master;
    p.window_size = SFU_SRTP_REPLAY_WINDOW;
    if (srtp_create(&s, &p) != srtp_err_status_ok)
        return -1;
    for (int i = 0; i < N_RTP + N_RTCP; i++) {
        int n = i < N_RTP ? (int)rtp_make(r->pkt[i], i) : (int)rtcp_make(r->pkt[i], i - N_RTP);
        srtp_err_status_t st =
            i < N_RTP ? srtp_protect(s, r->pkt[i], &n) : srtp_protect_rtcp(s, r->pkt[i], &n);
        if (st != srtp_err_status_ok)
            return -1;
        r->len[i] = (size_t)n;
    }
    srtp_dealloc(s);
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Runs ref_protect in a child (before this process registers anything) and reads its result. */
static int ref_get(int gcm, struct ref *r)
{
    int fd[2], status;
    pid_t pid;

    if (pipe(fd) < 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        int ok = ref_protect(gcm, r) == 0;
        for (size_t off = 0; ok && off < sizeof(*r);) {
            ssize_t w = write(fd[1], (uint8_t *)r + off, sizeof(*r) - off);
            ok = w > 0;
            off += ok ? (size_t)w : 0;
        }
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    int rc = read_all(fd[0], r, sizeof(*r));
    close(fd[0]);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return rc;
}

/* Both profiles' references, made before the first sfu_srtp_global_init: a child forked after
 * it would inherit our types. */
static struct ref refs[2];

static int refs_load(void)
{
    static int loaded;

    if (!loaded && (ref_get(0, &refs[0]) < 0 || ref_get(1, &refs[1]) < 0))
        return -1;
    loaded = 1;
    return 0;
}

static int check_profile(int gcm)
{
    const struct ref *ref = &refs[gcm];
    struct dtls_srtp_keys k;
    struct sfu_srtp *s = NULL;
    uint8_t pkt[PKT];
    size_t len;

    CHECK_EQ(refs_load(), 0);
    CHECK_EQ(sfu_srtp_global_init(), 0);
    memset(&k, 0, sizeof(k));
    k.profile = gcm ? DTLS_SRTP_AEAD_AES_128_GCM : DTLS_SRTP_AES128_CM_SHA1_80;
    k.key_len = 16;
    k.salt_len = gcm ? 12 : 14;
    memcpy(k.local_key, master_key, 16);
    memcpy(k.remote_key, master_key, 16);
    memcpy(k.local_salt, master_salt, k.salt_len);
    memcpy(k.remote_salt, master_salt, k.salt_len);
    CHECK_EQ(sfu_srtp_new(&s, &k), 0);
    for (int i = 0; i < N_RTP + N_RTCP; i++) {
        size_t plain = i < N_RTP ? rtp_make(pkt, i) : rtcp_make(pkt, i - N_RTP);
        uint8_t orig[PKT];

        memcpy(orig, pkt, plain);
        len = plain;
        CHECK_EQ(i < N_RTP ? sfu_srtp_protect_rtp(s, pkt, &len, sizeof(pkt))
                           : sfu_srtp_protect_rtcp(s, pkt, &len, sizeof(pkt)),
                 0);
        CHECK_EQ(len, ref->len[i]);
        CHECK_MEM(pkt, ref->pkt[i], len);

        /* The reference packet with the octet before its tag (and SRTCP index) flipped: the
         * payload's last, or the header's for an empty payload; then as it is. */
        memcpy(pkt, ref->pkt[i], ref->len[i]);
        len = ref->len[i];
        pkt[len - (size_t)(gcm ? 16 : 10) - (i < N_RTP ? 0 : 4) - 1] ^= 0x01;
        CHECK_EQ(i < N_RTP ? sfu_srtp_unprotect_rtp(s, pkt, &len)
                           : sfu_srtp_unprotect_rtcp(s, pkt, &len),
                 -EBADMSG);
        memcpy(pkt, ref->pkt[i], ref->len[i]);
        len = ref->len[i];
        CHECK_EQ(i < N_RTP ? sfu_srtp_unprotect_rtp(s, pkt, &len)
                           : sfu_srtp_unprotect_rtcp(s, pkt, &len),
                 0);
        CHECK_EQ(len, plain);
        CHECK_MEM(pkt, orig, plain);
    }
    sfu_srtp_free(s);
    return 0;
}

static int test_srtp_ossl_gcm(void)
{
    return check_profile(1);
}

static int test_srtp_ossl_cm(void)
{
    return check_profile(0);
}

static const struct test_case cases[] = {
    {"srtp_ossl_gcm_equals_stock", test_srtp_ossl_gcm},
    {"srtp_ossl_cm_equals_stock", test_srtp_ossl_cm},
};

TEST_MAIN(cases)
