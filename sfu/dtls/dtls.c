/* DTLS-SRTP server sessions on OpenSSL 3: a memory BIO in, a coalescing callback BIO out. */
#include "dtls/dtls.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "dtls/dtls_record.h"

#define DTLS_CERT_DAYS     30
#define DTLS_CERT_CN       "WebRTC"
#define DTLS_CIPHERS       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
#define DTLS_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define DTLS_SRTP_LABEL    "EXTRACTOR-dtls_srtp"
#define DTLS_READ_ROUNDS   64

/* Retransmission: 100 ms first, doubling, capped. OpenSSL's own default starts at 1 s, which
 * turns one lost packet into a second of black video; 12 timeouts (OpenSSL's limit) with this
 * schedule give up after about 25 s, close to when ICE consent would expire anyway. */
#define DTLS_TIMER_FIRST_US 100000u
#define DTLS_TIMER_MAX_US   3200000u

struct dtls_ctx {
    SSL_CTX *ssl_ctx;       /* owned */
    EVP_PKEY *key;          /* owned */
    X509 *cert;             /* owned */
    BIO_METHOD *out_method; /* owned: the send-callback BIO every session's SSL writes to */
    char fingerprint[DTLS_FINGERPRINT_LEN];
};

enum dtls_state {
    DTLS_STATE_HANDSHAKE, /* until keys are handed over (handshake and fingerprint) */
    DTLS_STATE_CONNECTED,
    DTLS_STATE_FAILED,
    DTLS_STATE_CLOSED,
};

struct dtls_session {
    struct dtls_ctx *ctx;               /* borrowed */
    const struct dtls_session_cbs *cbs; /* borrowed */
    void *arg;                          /* borrowed */
    SSL *ssl;                           /* owned; owns both BIOs */
    BIO *in;                            /* borrowed from ssl */
    enum dtls_state state;
    bool handshake_done;
    bool timer_armed;
    const EVP_MD *fp_md; /* borrowed (OpenSSL's static digest); NULL until signalled */
    uint8_t fp[EVP_MAX_MD_SIZE];
    unsigned int fp_len;
    bool fp_refused; /* the certificate check in the handshake found a mismatch */
    /* The datagram being built: records OpenSSL writes are packed together up to the MTU
     * and leave when the next record would not fit, or when the SSL call returns. */
    size_t out_len;
    uint8_t out[DTLS_MTU];
};

/* --- the output BIO --------------------------------------------------------------------- */

static void dtls_out_flush(struct dtls_session *s)
{
    if (s->out_len == 0)
        return;
    size_t n = s->out_len;
    s->out_len = 0;
    s->cbs->send(s->arg, s->out, n);
}

static int dtls_out_write(BIO *b, const char *data, int len)
{
    struct dtls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0 || s == NULL)
        return 0;
    size_t n = (size_t)len;
    if (n > sizeof(s->out) - s->out_len)
        dtls_out_flush(s);
    if (n > sizeof(s->out)) {
        /* Larger than a datagram we would build (only application data could be): alone. */
        s->cbs->send(s->arg, (const uint8_t *)data, n);
        return len;
    }
    memcpy(s->out + s->out_len, data, n);
    s->out_len += n;
    return len;
}

static long dtls_out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct dtls_session *s = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        /* Not yet: OpenSSL flushes after every retransmitted message, which would spread a
         * resent flight over one datagram per message. What is pending leaves when the next
         * record does not fit, or at the end of the SSL call (dtls_session_settle). */
        return 1;
    case BIO_CTRL_WPENDING:
        /* OpenSSL sizes the next handshake fragment by what is already pending, which is
         * what lets one flight share datagrams. */
        return s != NULL ? (long)s->out_len : 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return DTLS_MTU;
    default:
        return 0;
    }
}

static int dtls_out_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* --- the context ------------------------------------------------------------------------ */

/* Browsers sign their own certificates: there is no chain to check. The peer is authenticated
 * by comparing its certificate digest with the fingerprint signalling gave us. When that is
 * already known as the certificate arrives, a mismatch fails the handshake here, so OpenSSL
 * sends a fatal alert and never our Finished: the peer must not believe it is connected. A
 * fingerprint that comes later is checked in dtls_session_try_connect. */
static int dtls_verify_any(int preverify_ok, X509_STORE_CTX *store)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct dtls_session *s = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);

    (void)preverify_ok;
    if (s == NULL || s->fp_md == NULL || X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    if (cert == NULL || X509_digest(cert, s->fp_md, md, &n) != 1 || n != s->fp_len ||
        CRYPTO_memcmp(md, s->fp, n) != 0) {
        s->fp_refused = true;
        /* Sent as a bad_certificate alert. */
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

static int dtls_ctx_make_cert(struct dtls_ctx *c)
{
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    X509_NAME *name;
    int err = -EIO;

    c->key = EVP_EC_gen("P-256");
    c->cert = X509_new();
    if (c->key == NULL || c->cert == NULL)
        goto out;
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f; /* a positive INTEGER, as RFC 5280 4.1.2.2 requires */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c->cert)) == NULL)
        goto out;
    if (X509_set_version(c->cert, X509_VERSION_3) != 1)
        goto out;
    /* A day back for peers whose clocks run slow. */
    if (X509_gmtime_adj(X509_getm_notBefore(c->cert), -86400L) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(c->cert), 86400L * DTLS_CERT_DAYS) == NULL)
        goto out;
    name = X509_get_subject_name(c->cert);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)DTLS_CERT_CN,
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(c->cert, name) != 1 || X509_set_pubkey(c->cert, c->key) != 1)
        goto out;
    if (X509_sign(c->cert, c->key, EVP_sha256()) <= 0)
        goto out;
    err = 0;
out:
    BN_free(bn);
    return err;
}

static int dtls_ctx_make_fingerprint(struct dtls_ctx *c)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(c->cert, EVP_sha256(), md, &n) != 1 || n != 32)
        return -EIO;
    for (unsigned int i = 0; i < n; i++) {
        c->fingerprint[i * 3] = hex[md[i] >> 4];
        c->fingerprint[i * 3 + 1] = hex[md[i] & 0x0f];
        c->fingerprint[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
    return 0;
}

static int dtls_ctx_make_ssl_ctx(struct dtls_ctx *c)
{
    SSL_CTX *sc = SSL_CTX_new(DTLS_server_method());
    if (sc == NULL)
        return -ENOMEM;
    c->ssl_ctx = sc;
    if (SSL_CTX_set_min_proto_version(sc, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(sc, DTLS1_2_VERSION) != 1)
        return -EIO;
    if (SSL_CTX_use_certificate(sc, c->cert) != 1 || SSL_CTX_use_PrivateKey(sc, c->key) != 1 ||
        SSL_CTX_check_private_key(sc) != 1)
        return -EIO;
    if (SSL_CTX_set_cipher_list(sc, DTLS_CIPHERS) != 1)
        return -EIO;
    /* Unlike everything else here, this one returns 0 on success. */
    if (SSL_CTX_set_tlsext_use_srtp(sc, DTLS_SRTP_PROFILES) != 0)
        return -EIO;
    SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, dtls_verify_any);
    /* The MTU is ours to set (the BIO has no socket to ask); one handshake per association,
     * so no tickets, no session cache and no renegotiation. Our profile order wins. */
    SSL_CTX_set_options(sc, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
    return 0;
}

int dtls_ctx_new(struct dtls_ctx **out)
{
    struct dtls_ctx *c;
    int err;

    if (out == NULL)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    if ((err = dtls_ctx_make_cert(c)) < 0 || (err = dtls_ctx_make_fingerprint(c)) < 0 ||
        (err = dtls_ctx_make_ssl_ctx(c)) < 0)
        goto out;
    err = -ENOMEM;
    c->out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sfu dtls out");
    if (c->out_method == NULL || BIO_meth_set_write(c->out_method, dtls_out_write) != 1 ||
        BIO_meth_set_ctrl(c->out_method, dtls_out_ctrl) != 1 ||
        BIO_meth_set_create(c->out_method, dtls_out_create) != 1)
        goto out;
    err = 0;
out:
    /* The error queue is per thread: leave nothing behind for the next caller. */
    ERR_clear_error();
    if (err < 0) {
        dtls_ctx_free(c);
        return err;
    }
    *out = c;
    return 0;
}

const char *dtls_ctx_fingerprint(const struct dtls_ctx *ctx)
{
    return ctx->fingerprint;
}

void dtls_ctx_free(struct dtls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    X509_free(ctx->cert);
    EVP_PKEY_free(ctx->key);
    BIO_meth_free(ctx->out_method);
    free(ctx);
}

/* --- the session ------------------------------------------------------------------------ */

static unsigned int dtls_timer_next(SSL *ssl, unsigned int timer_us)
{
    if (timer_us == 0)
        return DTLS_TIMER_FIRST_US;
    if (timer_us >= DTLS_TIMER_MAX_US / 2)
        return DTLS_TIMER_MAX_US;
    return timer_us * 2;
}

static void dtls_session_fail(struct dtls_session *s, const char *reason)
{
    if (s->state == DTLS_STATE_FAILED || s->state == DTLS_STATE_CLOSED)
        return;
    s->state = DTLS_STATE_FAILED;
    log_debug("dtls", "session failed: %s", reason);
    ERR_clear_error();
    s->cbs->failed(s->arg, reason);
}

/* A static text for what OpenSSL reported (its reason strings live in static tables). */
static const char *dtls_ssl_reason(const char *fallback)
{
    const char *r = ERR_reason_error_string(ERR_peek_last_error());
    return r != NULL ? r : fallback;
}

/* After every SSL call: send what was built, and tell the owner when to call us again. */
static void dtls_session_settle(struct dtls_session *s)
{
    struct timeval tv;
    bool live = s->state == DTLS_STATE_HANDSHAKE || s->state == DTLS_STATE_CONNECTED;

    dtls_out_flush(s);
    if (!live || DTLSv1_get_timeout(s->ssl, &tv) != 1) {
        if (s->timer_armed) {
            s->timer_armed = false;
            s->cbs->timer(s->arg, 0);
        }
        return;
    }
    /* Round up, and never 0 (that means "stop"): an expired timer fires at once. */
    uint64_t ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    s->timer_armed = true;
    s->cbs->timer(s->arg, ms > 0 ? ms : 1);
}

static int dtls_session_export(struct dtls_session *s, struct dtls_srtp_keys *k)
{
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(s->ssl);
    uint8_t km[2 * (DTLS_SRTP_MAX_KEY_LEN + DTLS_SRTP_MAX_SALT_LEN)];
    size_t kl = 16, sl;

    if (p == NULL)
        return -EPROTO;
    if (p->id == SRTP_AEAD_AES_128_GCM) {
        k->profile = DTLS_SRTP_AEAD_AES_128_GCM;
        sl = 12;
    } else if (p->id == SRTP_AES128_CM_SHA1_80) {
        k->profile = DTLS_SRTP_AES128_CM_SHA1_80;
        sl = 14;
    } else {
        return -EPROTO;
    }
    if (SSL_export_keying_material(s->ssl, km, 2 * (kl + sl), DTLS_SRTP_LABEL,
                                   strlen(DTLS_SRTP_LABEL), NULL, 0, 0) != 1)
        return -EIO;
    /* RFC 5764 4.2: client key, server key, client salt, server salt. We are the server. */
    memcpy(k->remote_key, km, kl);
    memcpy(k->local_key, km + kl, kl);
    memcpy(k->remote_salt, km + 2 * kl, sl);
    memcpy(k->local_salt, km + 2 * kl + sl, sl);
    k->key_len = kl;
    k->salt_len = sl;
    OPENSSL_cleanse(km, sizeof(km));
    return 0;
}

/* Hands the keys over once both halves are in: a finished handshake and a matching
 * fingerprint. Either may come last. */
static void dtls_session_try_connect(struct dtls_session *s)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    struct dtls_srtp_keys keys;
    X509 *peer;

    if (s->state != DTLS_STATE_HANDSHAKE || !s->handshake_done || s->fp_md == NULL)
        return;
    peer = SSL_get0_peer_certificate(s->ssl);
    if (peer == NULL) {
        dtls_session_fail(s, "no peer certificate");
        return;
    }
    if (X509_digest(peer, s->fp_md, md, &n) != 1) {
        dtls_session_fail(s, "peer certificate digest failed");
        return;
    }
    /* The length is public (it follows from the algorithm); the bytes are compared in
     * constant time. */
    if (n != s->fp_len || CRYPTO_memcmp(md, s->fp, n) != 0) {
        /* The fingerprint came after the handshake, so the peer has our Finished and thinks
         * it is connected: close_notify tells it otherwise. */
        SSL_shutdown(s->ssl);
        dtls_session_fail(s, "fingerprint mismatch");
        return;
    }
    memset(&keys, 0, sizeof(keys));
    if (dtls_session_export(s, &keys) < 0) {
        dtls_session_fail(s, "SRTP key export failed");
        return;
    }
    s->state = DTLS_STATE_CONNECTED;
    s->cbs->connected(s->arg, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
}

/* After the handshake: alerts, close_notify, the peer's retransmitted Finished (OpenSSL
 * answers it by resending our last flight) and application data, which we have no use for. */
static void dtls_session_read(struct dtls_session *s)
{
    uint8_t scratch[DTLS_MTU];
    for (int i = 0; i < DTLS_READ_ROUNDS; i++) {
        int r = SSL_read(s->ssl, scratch, sizeof(scratch));
        if (r > 0) {
            log_debug("dtls", "dropped %d bytes of application data", r);
            continue;
        }
        switch (SSL_get_error(s->ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            return;
        case SSL_ERROR_ZERO_RETURN:
            /* Answer close_notify with ours, as TLS asks, then report. */
            SSL_shutdown(s->ssl);
            s->state = DTLS_STATE_CLOSED;
            ERR_clear_error();
            s->cbs->closed(s->arg);
            return;
        default:
            dtls_session_fail(s, dtls_ssl_reason("DTLS read failed"));
            return;
        }
    }
}

static void dtls_session_drive(struct dtls_session *s)
{
    ERR_clear_error();
    if (!s->handshake_done) {
        int r = SSL_do_handshake(s->ssl);
        if (r == 1) {
            s->handshake_done = true;
        } else {
            int e = SSL_get_error(s->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                dtls_session_fail(s, s->fp_refused ? "fingerprint mismatch"
                                                   : dtls_ssl_reason("handshake failed"));
                return;
            }
        }
    }
    if (s->handshake_done) {
        dtls_session_try_connect(s);
        if (s->state == DTLS_STATE_HANDSHAKE || s->state == DTLS_STATE_CONNECTED)
            dtls_session_read(s);
    }
    ERR_clear_error();
}

int dtls_session_new(struct dtls_session **out, struct dtls_ctx *ctx,
                     const struct dtls_session_cbs *cbs, void *arg)
{
    struct dtls_session *s;
    BIO *in = NULL, *wr = NULL;
    int err = -ENOMEM;

    if (out == NULL || ctx == NULL || cbs == NULL || cbs->send == NULL || cbs->timer == NULL ||
        cbs->connected == NULL || cbs->failed == NULL || cbs->closed == NULL)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->ctx = ctx;
    s->cbs = cbs;
    s->arg = arg;
    s->ssl = SSL_new(ctx->ssl_ctx);
    in = BIO_new(BIO_s_mem());
    wr = BIO_new(ctx->out_method);
    if (s->ssl == NULL || in == NULL || wr == NULL)
        goto out;
    /* An empty input BIO means "no more for now", not end of stream. */
    BIO_set_mem_eof_return(in, -1);
    BIO_set_data(wr, s);
    SSL_set_bio(s->ssl, in, wr);
    s->in = in;
    in = wr = NULL;
    err = -EIO;
    if (SSL_set_mtu(s->ssl, DTLS_MTU) <= 0)
        goto out;
    DTLS_set_timer_cb(s->ssl, dtls_timer_next);
    /* For dtls_verify_any, which checks the fingerprint during the handshake. */
    SSL_set_app_data(s->ssl, s);
    SSL_set_accept_state(s->ssl);
    err = 0;
out:
    ERR_clear_error();
    if (err < 0) {
        BIO_free(in);
        BIO_free(wr);
        dtls_session_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void dtls_session_close(struct dtls_session *s)
{
    if (s == NULL || s->state != DTLS_STATE_CONNECTED)
        return;
    /* close_notify tells the browser at once rather than after its consent checks fail. */
    SSL_shutdown(s->ssl);
    dtls_out_flush(s);
    s->state = DTLS_STATE_CLOSED;
}

void dtls_session_free(struct dtls_session *s)
{
    if (s == NULL)
        return;
    SSL_free(s->ssl);
    free(s);
}

int dtls_session_input(struct dtls_session *s, const uint8_t *buf, size_t len)
{
    if (s == NULL || buf == NULL || len == 0)
        return -EINVAL;
    if (s->state == DTLS_STATE_FAILED || s->state == DTLS_STATE_CLOSED)
        return -EPIPE;
    /* OpenSSL drops malformed records silently; checking the framing first lets us say so. */
    if (len > INT_MAX || dtls_record_validate(buf, len) < 0)
        return -EBADMSG;
    /* A datagram the previous call left unread (none should be) must not run into this one:
     * record boundaries are all the mem BIO keeps. */
    (void)BIO_reset(s->in);
    if (BIO_write(s->in, buf, (int)len) != (int)len) {
        ERR_clear_error();
        return -ENOMEM;
    }
    dtls_session_drive(s);
    dtls_session_settle(s);
    return 0;
}

void dtls_session_on_timer(struct dtls_session *s)
{
    if (s == NULL || s->state == DTLS_STATE_FAILED || s->state == DTLS_STATE_CLOSED)
        return;
    ERR_clear_error();
    if (DTLSv1_handle_timeout(s->ssl) < 0)
        dtls_session_fail(s, "handshake timed out");
    ERR_clear_error();
    dtls_session_settle(s);
}

static const EVP_MD *dtls_md_by_name(const char *name)
{
    if (strcasecmp(name, "sha-256") == 0)
        return EVP_sha256();
    if (strcasecmp(name, "sha-1") == 0)
        return EVP_sha1();
    if (strcasecmp(name, "sha-384") == 0)
        return EVP_sha384();
    if (strcasecmp(name, "sha-512") == 0)
        return EVP_sha512();
    return NULL;
}

static int dtls_hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "AB:cd:..." to bytes. Returns the byte count, or -EINVAL. */
static int dtls_fingerprint_parse(const char *value, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = value;
    for (;;) {
        int hi = dtls_hex_nibble(p[0]);
        int lo = hi < 0 ? -1 : dtls_hex_nibble(p[1]);
        if (lo < 0 || n == cap)
            return -EINVAL;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == '\0')
            return (int)n;
        if (*p != ':')
            return -EINVAL;
        p++;
    }
}

int dtls_session_set_remote_fingerprint(struct dtls_session *s, const char *algorithm,
                                        const char *value)
{
    uint8_t fp[EVP_MAX_MD_SIZE];
    const EVP_MD *md;
    int n;

    if (s == NULL || algorithm == NULL || value == NULL)
        return -EINVAL;
    md = dtls_md_by_name(algorithm);
    if (md == NULL)
        return -EINVAL;
    n = dtls_fingerprint_parse(value, fp, sizeof(fp));
    if (n < 0 || n != EVP_MD_get_size(md))
        return -EINVAL;
    if (s->state == DTLS_STATE_FAILED || s->state == DTLS_STATE_CLOSED)
        return -EPIPE;
    if (s->state == DTLS_STATE_CONNECTED)
        return -EALREADY;
    s->fp_md = md;
    memcpy(s->fp, fp, (size_t)n);
    s->fp_len = (unsigned int)n;
    if (s->handshake_done) {
        dtls_session_try_connect(s);
        dtls_session_settle(s);
    }
    return 0;
}
