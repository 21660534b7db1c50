/* DTLS-SRTP server side (RFC 5763/5764) on OpenSSL: one shared context, one session per
 * transport, datagrams in and out through plain memory and callbacks (no event loop here). */
#ifndef SFU_DTLS_H
#define SFU_DTLS_H

#include <stddef.h>
#include <stdint.h>

/* SRTP protection profiles as numbered by IANA (RFC 5764 4.1.2, RFC 7714 14.2). */
#define DTLS_SRTP_AES128_CM_SHA1_80 0x0001
#define DTLS_SRTP_AEAD_AES_128_GCM  0x0007

#define DTLS_SRTP_MAX_KEY_LEN  16
#define DTLS_SRTP_MAX_SALT_LEN 14

/* The datagram size the handshake is cut to: fits any path with IPv6 + TURN overhead. */
#define DTLS_MTU 1200

/* "AB:CD:..." for SHA-256: 32 bytes as 3 characters each, the last ':' replaced by NUL. */
#define DTLS_FINGERPRINT_LEN (32 * 3)

/* SRTP master keys and salts of one association. As the DTLS server, local = what we send
 * with (the server write key), remote = what the peer sends with (the client write key). */
struct dtls_srtp_keys {
    int profile; /* DTLS_SRTP_AEAD_AES_128_GCM or DTLS_SRTP_AES128_CM_SHA1_80 */
    uint8_t local_key[DTLS_SRTP_MAX_KEY_LEN];
    uint8_t local_salt[DTLS_SRTP_MAX_SALT_LEN];
    uint8_t remote_key[DTLS_SRTP_MAX_KEY_LEN];
    uint8_t remote_salt[DTLS_SRTP_MAX_SALT_LEN];
    size_t key_len;  /* 16 for both profiles */
    size_t salt_len; /* 14 for AES-CM, 12 for AES-GCM */
};

/* The process-wide part: key, certificate, fingerprint and SSL_CTX. Made once at start, then
 * shared read-only by every worker thread. */
struct dtls_ctx;

/* Generates an ECDSA P-256 key and a self-signed certificate valid for 30 days, and the
 * SSL_CTX every session is made from (DTLS 1.2 only, ECDHE-ECDSA with AES-GCM, SRTP profiles
 * AEAD_AES_128_GCM then AES128_CM_SHA1_80, client certificate required).
 * Returns 0 and *out, or -ENOMEM / -EIO (an OpenSSL failure). */
int dtls_ctx_new(struct dtls_ctx **out);

/* Our certificate's SHA-256 fingerprint as upper-case hex pairs joined by ':' (for the SDP
 * a=fingerprint:sha-256 line). Valid as long as the context. */
const char *dtls_ctx_fingerprint(const struct dtls_ctx *ctx);

/* Frees the context; accepts NULL. Every session made from it must be freed first. */
void dtls_ctx_free(struct dtls_ctx *ctx);

/* How a session reports to its owner. Every callback runs synchronously inside one of the
 * dtls_session_* calls below, with the arg given to dtls_session_new. A callback must not free
 * the session: defer that to after the call returns. */
struct dtls_session_cbs {
    /* One datagram for the peer; buf is borrowed for the call only. */
    void (*send)(void *arg, const uint8_t *buf, size_t len);
    /* Arm a one-shot timer that calls dtls_session_on_timer after timeout_ms; 0 = stop it. */
    void (*timer)(void *arg, uint64_t timeout_ms);
    /* The handshake is done and the peer's certificate matches its signalled fingerprint.
     * Called at most once; keys are borrowed for the call only (wiped afterwards). */
    void (*connected)(void *arg, const struct dtls_srtp_keys *keys);
    /* The association is dead: handshake failure, alert, timeout, or fingerprint mismatch.
     * reason is a static string. Called at most once; no callback follows it. */
    void (*failed)(void *arg, const char *reason);
    /* The peer closed the association with close_notify. No callback follows it. */
    void (*closed)(void *arg);
};

/* One DTLS association, always the server side (the browser is a=setup:active). */
struct dtls_session;

/* Makes a session waiting for a ClientHello. ctx and cbs are borrowed and must outlive the
 * session. Returns 0 and *out, or -EINVAL (a callback missing), -ENOMEM, -EIO. */
int dtls_session_new(struct dtls_session **out, struct dtls_ctx *ctx,
                     const struct dtls_session_cbs *cbs, void *arg);

/* Frees the session; accepts NULL. Calls no callback (the owner stops its own timer). */
/* Sends close_notify if the association is up (through the send callback, no other callback);
 * the session then takes no more input. Accepts NULL. */
void dtls_session_close(struct dtls_session *s);

void dtls_session_free(struct dtls_session *s);

/* Feeds one datagram from the peer (buf borrowed). Returns 0 when it was taken (it may have
 * advanced the handshake, and callbacks may have run), -EBADMSG when it is not a sequence of
 * whole DTLS records (nothing else happens: the session carries on), -EINVAL for a NULL or
 * empty buffer, -EPIPE once the session has failed or closed. */
int dtls_session_input(struct dtls_session *s, const uint8_t *buf, size_t len);

/* The owner's timer fired: retransmits the last flight if it is due, or fails the session
 * after too many retransmissions. Re-arms or stops the timer through cbs->timer. */
void dtls_session_on_timer(struct dtls_session *s);

/* The fingerprint from the peer's SDP (a=fingerprint:ALGORITHM VALUE), e.g. "sha-256" and
 * "AB:CD:...". May come before or after the handshake completes; keys are handed over only
 * when both are there and the peer certificate matches (else failed("fingerprint mismatch")).
 * algorithm: sha-1, sha-256, sha-384 or sha-512, any case. value: hex pairs with ':', any case.
 * Returns 0, -EINVAL (unknown algorithm, malformed value or wrong length), -EALREADY (keys were
 * already handed over), -EPIPE (the session has failed or closed). */
int dtls_session_set_remote_fingerprint(struct dtls_session *s, const char *algorithm,
                                        const char *value);

#endif
