/* Fuzzes SRTP and SRTCP on both profiles, through libsrtp with OpenSSL's primitives
 * (sfu/srtp/srtp_ossl.c). The first input byte picks the profile and what to do with the rest:
 * unprotect it as it came off the wire, or protect it and unprotect the result with a session
 * holding the same key, which must take it and give the same bytes back. Every new SSRC adds a
 * stream to the sessions, so memory grows with the corpus: fine for the CI's short runs. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dtls/dtls.h"
#include "srtp/sfu_srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PKT 2048

static struct sfu_srtp *fuzz_session(int gcm)
{
    static struct sfu_srtp *s[2];
    struct dtls_srtp_keys k;

    if (s[gcm] != NULL)
        return s[gcm];
    int rc = sfu_srtp_global_init();
    assert(rc == 0);
    memset(&k, 0, sizeof(k));
    k.profile = gcm ? DTLS_SRTP_AEAD_AES_128_GCM : DTLS_SRTP_AES128_CM_SHA1_80;
    k.key_len = 16;
    k.salt_len = gcm ? 12 : 14;
    for (size_t i = 0; i < 16; i++)
        k.local_key[i] = k.remote_key[i] = (uint8_t)(i * 11 + 3);
    for (size_t i = 0; i < k.salt_len; i++)
        k.local_salt[i] = k.remote_salt[i] = (uint8_t)(i * 5 + 1);
    rc = sfu_srtp_new(&s[gcm], &k);
    assert(rc == 0);
    (void)rc;
    return s[gcm];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[FUZZ_PKT + SFU_SRTP_MAX_TRAILER], orig[FUZZ_PKT];
    size_t len;

    if (size < 1 || size - 1 > FUZZ_PKT)
        return 0;
    int gcm = data[0] & 1, rtcp = (data[0] >> 1) & 1, roundtrip = (data[0] >> 2) & 1;
    struct sfu_srtp *s = fuzz_session(gcm);

    len = size - 1;
    memcpy(buf, data + 1, len);
    if (!roundtrip) {
        int rc =
            rtcp ? sfu_srtp_unprotect_rtcp(s, buf, &len) : sfu_srtp_unprotect_rtp(s, buf, &len);
        assert(rc <= 0);
        assert(rc < 0 ? len == size - 1 : len <= size - 1);
        return 0;
    }
    memcpy(orig, buf, len);
    if ((rtcp ? sfu_srtp_protect_rtcp(s, buf, &len, sizeof(buf))
              : sfu_srtp_protect_rtp(s, buf, &len, sizeof(buf))) < 0)
        return 0;
    assert(len > size - 1 && len <= size - 1 + SFU_SRTP_MAX_TRAILER);
    /* Both sessions have seen the same packets succeed, so what one protected the other must
     * take, whatever the sequence numbers and indices did. */
    int rc = rtcp ? sfu_srtp_unprotect_rtcp(s, buf, &len) : sfu_srtp_unprotect_rtp(s, buf, &len);
    assert(rc == 0);
    assert(len == size - 1);
    assert(memcmp(buf, orig, len) == 0);
    (void)rc;
    return 0;
}
