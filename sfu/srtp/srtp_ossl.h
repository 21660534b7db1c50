/* OpenSSL's AES-128-CTR, AES-128-GCM and HMAC-SHA1 as libsrtp2's cipher and authentication types
 * SRTP_AES_ICM_128, SRTP_AES_GCM_128 and SRTP_HMAC_SHA1, in place of the ones libsrtp was built
 * with (NSS on Debian), which cost a context per packet. */
#ifndef SFU_SRTP_OSSL_H
#define SFU_SRTP_OSSL_H

/* Replaces the three types in libsrtp's crypto kernel. Call once, after srtp_init() and before
 * any session is made (sfu_srtp_global_init does). libsrtp runs each type's known-answer tests,
 * ours and its own, before taking it.
 * Returns 0, -ENOTSUP (OpenSSL lacks one of the algorithms) or -EIO (libsrtp refused a type). */
int sfu_srtp_ossl_register(void);

#endif
