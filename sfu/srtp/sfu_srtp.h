/* SRTP and SRTCP for one transport on libsrtp2: one inbound and one outbound session, keyed
 * from DTLS-SRTP, protecting and unprotecting in place. */
#ifndef SFU_SRTP_H
#define SFU_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include "dtls/dtls.h"

/* What protecting may append: SRTP adds one authentication tag (16 bytes for AES-GCM, 10 for
 * HMAC-SHA1-80); SRTCP adds the tag and the 4-byte SRTCP index. No MKI is ever used. */
#define SFU_SRTP_MAX_TRAILER (16 + 4)

/* The replay window of the inbound session, in packets. */
#define SFU_SRTP_REPLAY_WINDOW 1024

struct sfu_srtp;

/* Initialises libsrtp once per process (pthread_once: any thread may call it, any number of
 * times) and gives it OpenSSL's ciphers and HMAC (srtp_ossl.h). sfu_srtp_new calls it too.
 * Returns 0, -ENOTSUP (OpenSSL lacks AES-128-CTR, AES-128-GCM or HMAC) or -EIO (libsrtp failed
 * to start, or refused a replacement: a known-answer test failed). */
int sfu_srtp_global_init(void);

/* Makes the two sessions: outbound from keys->local_*, inbound from keys->remote_*, for any
 * SSRC, with a replay window of SFU_SRTP_REPLAY_WINDOW inbound, and outbound refusing to
 * protect a packet index twice. keys is only read during the call.
 * Returns 0 and *out, -EINVAL (unknown profile or key/salt length), -ENOMEM, -EIO. */
int sfu_srtp_new(struct sfu_srtp **out, const struct dtls_srtp_keys *keys);

/* Frees both sessions; accepts NULL. */
void sfu_srtp_free(struct sfu_srtp *s);

/* Protects the RTP packet buf[0..*len) in place; *len grows by the trailer. cap is the size of
 * buf and must leave room for SFU_SRTP_MAX_TRAILER past *len.
 * Returns 0, -EINVAL (NULL argument), -EBADMSG (too short to be RTP), -ENOSPC (cap too small),
 * -EALREADY (this SSRC and index were protected before), -EKEYEXPIRED, -EIO. */
int sfu_srtp_protect_rtp(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t cap);

/* Authenticates, replay-checks and decrypts the SRTP packet buf[0..*len) in place; *len
 * shrinks to the RTP packet. On error buf may be garbled and *len is unchanged.
 * Returns 0, -EINVAL (NULL argument), -EBADMSG (malformed or failed authentication),
 * -EALREADY (replayed, or older than the replay window), -EKEYEXPIRED, -EIO. */
int sfu_srtp_unprotect_rtp(struct sfu_srtp *s, uint8_t *buf, size_t *len);

/* As sfu_srtp_protect_rtp, for a (compound) RTCP packet: adds the SRTCP index and tag. */
int sfu_srtp_protect_rtcp(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t cap);

/* As sfu_srtp_unprotect_rtp, for an SRTCP packet. */
int sfu_srtp_unprotect_rtcp(struct sfu_srtp *s, uint8_t *buf, size_t *len);

#endif
