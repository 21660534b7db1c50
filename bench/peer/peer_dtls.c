/* The simulated peer's DTLS side: a self-signed ECDSA certificate, the DTLS 1.2 handshake over
 * the ICE pair (memory BIO in, a BIO that sends on the agent out), fingerprint verification and
 * the RFC 5764 SRTP key export into two libsrtp2 sessions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "peer_priv.h"

/* RFC 5764 section 4.1.2 profile numbers. */
#define PROFILE_AES128_CM_SHA1_80 0x0001
#define PROFILE_AEAD_AES_128_GCM  0x0007

#define SRTP_KEY_LEN   16
#define SRTP_SALT_CM   14
#define SRTP_SALT_GCM  12
#define DTLS_TIMER_MS  50
#define CERT_LIFE_DAYS 30

static void dtls_log_ssl(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    if (e == 0) {
        fprintf(stderr, "peer: %s\n", what);
        return;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, "peer: %s: %s\n", what, buf);
    ERR_clear_error();
}

/* Writes "AB:CD:..." for a 32-byte digest. */
static void dtls_fp_format(const uint8_t md[32], char out[PEER_FINGERPRINT_LEN])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < 32; i++) {
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 0xf];
        out[o++] = i + 1 < 32 ? ':' : '\0';
    }
}

static int dtls_cert_make(struct peer *p)
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    uint64_t serial;
    X509_NAME *name;

    p->key = EVP_EC_gen("P-256");
    if (!p->key)
        return -EIO;
    p->cert = X509_new();
    if (!p->cert)
        return -ENOMEM;
    /* A random serial: browsers reject two certificates with one issuer and serial. */
    if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        return -EIO;
    serial >>= 1;
    if (!X509_set_version(p->cert, X509_VERSION_3) ||
        !ASN1_INTEGER_set_uint64(X509_get_serialNumber(p->cert), serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(p->cert), -86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(p->cert), 86400L * CERT_LIFE_DAYS) ||
        !X509_set_pubkey(p->cert, p->key))
        return -EIO;
    name = X509_get_subject_name(p->cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"gpsfu-peer",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(p->cert, name) || !X509_sign(p->cert, p->key, EVP_sha256()))
        return -EIO;
    if (!X509_digest(p->cert, EVP_sha256(), md, &mdlen) || mdlen != sizeof(md))
        return -EIO;
    dtls_fp_format(md, p->fingerprint);
    return 0;
}

/* Verification is the fingerprint from the remote description, as in WebRTC: the certificate is
 * self-signed, so OpenSSL's chain errors are ignored and only the leaf's digest counts. */
static int dtls_verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct peer *p = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    uint8_t md[32];
    unsigned int mdlen = 0;

    (void)preverify_ok;
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return 1;
    if (!p || !cert || !X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != sizeof(md))
        return 0;
    if (memcmp(md, p->remote_fp, sizeof(md)) != 0) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(xs, X509_V_OK);
    return 1;
}

/* The write side of the DTLS BIO pair: each write is one record batch OpenSSL sized to the MTU,
 * sent as one datagram. Before ICE has a pair it waits in p->pending; when that is full the
 * datagram is dropped and DTLS retransmission covers it. */
static int dtls_bio_write(BIO *b, const char *buf, int len)
{
    struct peer *p = BIO_get_data(b);

    if (len <= 0)
        return 0;
    if (atomic_load_explicit(&p->ice_ready, memory_order_acquire)) {
        nice_agent_send(p->agent, p->stream_id, 1, (guint)len, buf);
    } else if (p->npending < PEER_DTLS_PENDING && (size_t)len <= PEER_DTLS_MTU) {
        memcpy(p->pending[p->npending], buf, (size_t)len);
        p->pending_len[p->npending++] = (size_t)len;
    }
    return len;
}

static long dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return PEER_DTLS_MTU;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return 0;
    default:
        return 0;
    }
}

static int dtls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

int peer__dtls_init(struct peer *p, const char *srtp_profiles)
{
    BIO *wbio;
    int err;

    err = dtls_cert_make(p);
    if (err)
        goto fail;
    p->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (!p->ssl_ctx) {
        err = -ENOMEM;
        goto fail;
    }
    if (!SSL_CTX_set_min_proto_version(p->ssl_ctx, DTLS1_2_VERSION) ||
        SSL_CTX_use_certificate(p->ssl_ctx, p->cert) != 1 ||
        SSL_CTX_use_PrivateKey(p->ssl_ctx, p->key) != 1) {
        err = -EIO;
        goto fail;
    }
    /* Unlike most of OpenSSL, this one returns 0 on success. */
    if (SSL_CTX_set_tlsext_use_srtp(p->ssl_ctx, srtp_profiles) != 0) {
        err = -EINVAL;
        goto fail;
    }
    /* Both roles ask for the other's certificate: WebRTC authenticates both ends. */
    SSL_CTX_set_verify(p->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       dtls_verify_cb);

    p->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peer-ice");
    if (!p->bio_method || !BIO_meth_set_write(p->bio_method, dtls_bio_write) ||
        !BIO_meth_set_ctrl(p->bio_method, dtls_bio_ctrl) ||
        !BIO_meth_set_create(p->bio_method, dtls_bio_create)) {
        err = -ENOMEM;
        goto fail;
    }
    p->ssl = SSL_new(p->ssl_ctx);
    if (!p->ssl) {
        err = -ENOMEM;
        goto fail;
    }
    SSL_set_app_data(p->ssl, p);
    p->rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(p->bio_method);
    if (!p->rbio || !wbio) {
        BIO_free(p->rbio);
        BIO_free(wbio);
        p->rbio = NULL;
        err = -ENOMEM;
        goto fail;
    }
    /* An empty memory BIO means "no datagram yet", not end of stream. */
    BIO_set_mem_eof_return(p->rbio, -1);
    BIO_set_data(wbio, p);
    SSL_set_bio(p->ssl, p->rbio, wbio);
    /* Our BIO cannot query a path MTU: fix it. */
    SSL_set_options(p->ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(p->ssl, PEER_DTLS_MTU - 28);
    if (p->dtls_server)
        SSL_set_accept_state(p->ssl);
    else
        SSL_set_connect_state(p->ssl);
    return 0;
fail:
    dtls_log_ssl("DTLS setup failed");
    return err;
}

/* Removes the handshake timer, also from within its own callback. */
static void dtls_timer_stop(struct peer *p)
{
    if (p->dtls_timer) {
        g_source_destroy(p->dtls_timer);
        g_source_unref(p->dtls_timer);
        p->dtls_timer = NULL;
    }
}

void peer__dtls_free(struct peer *p)
{
    dtls_timer_stop(p);
    if (p->srtp_in)
        srtp_dealloc(p->srtp_in);
    if (p->srtp_out)
        srtp_dealloc(p->srtp_out);
    if (p->srtp_fb)
        srtp_dealloc(p->srtp_fb);
    p->srtp_in = p->srtp_out = p->srtp_fb = NULL;
    SSL_free(p->ssl);
    SSL_CTX_free(p->ssl_ctx);
    BIO_meth_free(p->bio_method);
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    p->ssl = NULL;
    p->ssl_ctx = NULL;
    p->bio_method = NULL;
    p->cert = NULL;
    p->key = NULL;
}

static int dtls_srtp_session(srtp_t *out, int profile, const uint8_t *key, const uint8_t *salt,
                             size_t salt_len, bool outbound)
{
    uint8_t master[SRTP_KEY_LEN + SRTP_SALT_CM];
    srtp_policy_t pol;
    srtp_err_status_t st;

    memset(&pol, 0, sizeof(pol));
    if (profile == PROFILE_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    }
    /* libsrtp takes the master key and salt concatenated. */
    memcpy(master, key, SRTP_KEY_LEN);
    memcpy(master + SRTP_KEY_LEN, salt, salt_len);
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = master;
    pol.window_size = 1024;
    pol.allow_repeat_tx = 0;
    st = srtp_create(out, &pol);
    OPENSSL_cleanse(master, sizeof(master));
    return st == srtp_err_status_ok ? 0 : -EIO;
}

/* RFC 5764 section 4.2: client key, server key, client salt, server salt. */
static int dtls_srtp_setup(struct peer *p)
{
    const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(p->ssl);
    uint8_t km[2 * (SRTP_KEY_LEN + SRTP_SALT_CM)];
    size_t salt_len;
    const uint8_t *ckey, *skey, *csalt, *ssalt;
    int err;

    if (!prof) {
        fprintf(stderr, "peer: no SRTP profile negotiated\n");
        return -EPROTO;
    }
    if (prof->id == PROFILE_AEAD_AES_128_GCM)
        salt_len = SRTP_SALT_GCM;
    else if (prof->id == PROFILE_AES128_CM_SHA1_80)
        salt_len = SRTP_SALT_CM;
    else
        return -EPROTO;
    if (SSL_export_keying_material(p->ssl, km, 2 * (SRTP_KEY_LEN + salt_len), "EXTRACTOR-dtls_srtp",
                                   19, NULL, 0, 0) != 1)
        return -EIO;
    ckey = km;
    skey = km + SRTP_KEY_LEN;
    csalt = km + 2 * SRTP_KEY_LEN;
    ssalt = csalt + salt_len;
    if (p->dtls_server) {
        err = dtls_srtp_session(&p->srtp_out, (int)prof->id, skey, ssalt, salt_len, true);
        if (!err)
            err = dtls_srtp_session(&p->srtp_in, (int)prof->id, ckey, csalt, salt_len, false);
    } else {
        err = dtls_srtp_session(&p->srtp_out, (int)prof->id, ckey, csalt, salt_len, true);
        if (!err)
            err = dtls_srtp_session(&p->srtp_in, (int)prof->id, skey, ssalt, salt_len, false);
    }
    /* The NACK timer's own outbound session: the same keys, used only under fb_ssrc, which no
     * other packet carries, so no (SSRC, index) pair is ever protected twice. */
    if (!err && p->nack)
        err = dtls_srtp_session(&p->srtp_fb, (int)prof->id, p->dtls_server ? skey : ckey,
                                p->dtls_server ? ssalt : csalt, salt_len, true);
    OPENSSL_cleanse(km, sizeof(km));
    return err;
}

static void dtls_fail(struct peer *p, const char *why)
{
    dtls_log_ssl(why);
    dtls_timer_stop(p);
    peer__state_set(p, PEER_STATE_FAILED);
}

/* Advances the handshake, or after it reads records (alerts, close_notify). */
static void dtls_step(struct peer *p)
{
    int r, e;

    if (!p->dtls_started)
        return;
    ERR_clear_error();
    if (!p->dtls_done) {
        r = SSL_do_handshake(p->ssl);
        if (r == 1) {
            p->dtls_done = true;
            dtls_timer_stop(p);
            if (dtls_srtp_setup(p) != 0) {
                dtls_fail(p, "SRTP setup failed");
                return;
            }
            /* The state store (release) publishes srtp_out to the sending thread. */
            peer__state_set(p, PEER_STATE_CONNECTED);
            return;
        }
        e = SSL_get_error(p->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            dtls_fail(p, "DTLS handshake failed");
        return;
    }
    for (;;) {
        uint8_t sink[256];

        r = SSL_read(p->ssl, sink, sizeof(sink));
        if (r > 0)
            continue; /* application data: no data channels here */
        e = SSL_get_error(p->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            peer__state_set(p, PEER_STATE_CLOSED);
        else if (e == SSL_ERROR_SSL)
            dtls_fail(p, "DTLS record error");
        ERR_clear_error();
        return;
    }
}

static gboolean dtls_timer_cb(gpointer data)
{
    struct peer *p = data;

    if (p->dtls_done) {
        dtls_timer_stop(p);
        return G_SOURCE_REMOVE;
    }
    if (g_get_monotonic_time() > p->dtls_deadline_us) {
        dtls_fail(p, "DTLS handshake timed out");
        return G_SOURCE_REMOVE;
    }
    ERR_clear_error();
    /* Retransmits the last flight when OpenSSL's own timer has expired. */
    if (DTLSv1_handle_timeout(p->ssl) < 0) {
        dtls_fail(p, "DTLS retransmission limit");
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* Arms the handshake's retransmission timer and deadline. */
static void dtls_begin(struct peer *p)
{
    p->dtls_started = true;
    p->dtls_deadline_us = g_get_monotonic_time() + (gint64)PEER_DTLS_TIMEOUT_MS * 1000;
    p->dtls_timer = g_timeout_source_new(DTLS_TIMER_MS);
    g_source_set_callback(p->dtls_timer, dtls_timer_cb, p, NULL);
    g_source_attach(p->dtls_timer, p->ctx);
}

void peer__dtls_ice_ready(struct peer *p)
{
    for (size_t i = 0; i < p->npending; i++)
        nice_agent_send(p->agent, p->stream_id, 1, (guint)p->pending_len[i],
                        (const gchar *)p->pending[i]);
    p->npending = 0;
    /* The client speaks first; the server waits for the ClientHello. */
    if (!p->dtls_server && !p->dtls_started) {
        dtls_begin(p);
        dtls_step(p);
    }
}

void peer__dtls_input(struct peer *p, const uint8_t *buf, size_t len)
{
    if (p->dtls_done && peer_state_get(p) != PEER_STATE_CONNECTED)
        return; /* failed or closed: nothing more to read */
    if (peer_state_get(p) == PEER_STATE_FAILED)
        return;
    /* The server starts on the first ClientHello, which may come before its own ICE state
     * reports a pair. */
    if (!p->dtls_started) {
        if (!p->dtls_server)
            return;
        dtls_begin(p);
    }
    if (BIO_write(p->rbio, buf, (int)len) != (int)len)
        return;
    dtls_step(p);
    /* Whatever OpenSSL did not consume of a bad datagram must not prefix the next one. */
    (void)BIO_reset(p->rbio);
}

void peer__dtls_close(struct peer *p)
{
    dtls_timer_stop(p);
    if (p->dtls_done && p->ssl && peer_state_get(p) == PEER_STATE_CONNECTED) {
        ERR_clear_error();
        (void)SSL_shutdown(p->ssl);
        ERR_clear_error();
    }
}
