/* DTLS-SRTP server sessions against a real OpenSSL DTLS client, datagrams pumped in memory. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls/dtls.h"
#include "harness.h"

#define QUEUE_MAX 32

/* --- the test's DTLS client (the browser's part) ----------------------------------------- */

struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out; /* borrowed from ssl */
    EVP_PKEY *key;
    X509 *cert;
};

static int accept_any(int ok, X509_STORE_CTX *store)
{
    return 1;
}

static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    if (x == NULL)
        return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"client", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* profiles: the use_srtp list offered, or NULL for none; ciphers: NULL for the browser's. */
static int client_init(struct client *c, const char *profiles, const char *ciphers)
{
    memset(c, 0, sizeof(*c));
    c->key = EVP_EC_gen("P-256");
    CHECK(c->key != NULL);
    c->cert = self_signed(c->key);
    CHECK(c->cert != NULL);
    c->ctx = SSL_CTX_new(DTLS_client_method());
    CHECK(c->ctx != NULL);
    CHECK_EQ(SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION), 1);
    CHECK_EQ(SSL_CTX_use_certificate(c->ctx, c->cert), 1);
    CHECK_EQ(SSL_CTX_use_PrivateKey(c->ctx, c->key), 1);
    CHECK_EQ(SSL_CTX_set_cipher_list(c->ctx, ciphers ? ciphers : "ECDHE-ECDSA-AES128-GCM-SHA256"),
             1);
    if (profiles != NULL)
        CHECK_EQ(SSL_CTX_set_tlsext_use_srtp(c->ctx, profiles), 0);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, accept_any);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_QUERY_MTU);
    c->ssl = SSL_new(c->ctx);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    CHECK(c->ssl && c->in && c->out);
    BIO_set_mem_eof_return(c->in, -1);
    BIO_set_mem_eof_return(c->out, -1);
    SSL_set_bio(c->ssl, c->in, c->out);
    CHECK(SSL_set_mtu(c->ssl, DTLS_MTU) > 0);
    SSL_set_connect_state(c->ssl);
    return 0;
}

static void client_free(struct client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    ERR_clear_error();
}

static void fingerprint_format(const uint8_t *md, unsigned int n, char *out, bool lower)
{
    const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
    for (unsigned int i = 0; i < n; i++) {
        out[i * 3] = hex[md[i] >> 4];
        out[i * 3 + 1] = hex[md[i] & 15];
        out[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
}

static void cert_fingerprint(X509 *x, const EVP_MD *md, char *out, bool lower)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(x, md, d, &n);
    fingerprint_format(d, n, out, lower);
}

/* --- the server session and what it reported -------------------------------------------- */

struct server {
    struct dtls_ctx *ctx;
    struct dtls_session *s;
    int connected, failed, closed, timer_calls;
    const char *reason;
    struct dtls_srtp_keys keys;
    uint64_t timeout_ms;
    size_t nq, max_dgram, sent;
    size_t qlen[QUEUE_MAX];
    uint8_t q[QUEUE_MAX][2048];
};

static void srv_send(void *arg, const uint8_t *buf, size_t len)
{
    struct server *v = arg;
    v->sent++;
    if (len > v->max_dgram)
        v->max_dgram = len;
    if (v->nq < QUEUE_MAX && len <= sizeof(v->q[0])) {
        memcpy(v->q[v->nq], buf, len);
        v->qlen[v->nq++] = len;
    }
}

static void srv_timer(void *arg, uint64_t timeout_ms)
{
    struct server *v = arg;
    v->timer_calls++;
    v->timeout_ms = timeout_ms;
}

static void srv_connected(void *arg, const struct dtls_srtp_keys *keys)
{
    struct server *v = arg;
    v->connected++;
    v->keys = *keys;
}

static void srv_failed(void *arg, const char *reason)
{
    struct server *v = arg;
    v->failed++;
    v->reason = reason;
}

static void srv_closed(void *arg)
{
    struct server *v = arg;
    v->closed++;
}

static const struct dtls_session_cbs srv_cbs = {
    .send = srv_send,
    .timer = srv_timer,
    .connected = srv_connected,
    .failed = srv_failed,
    .closed = srv_closed,
};

static int server_init(struct server *v)
{
    memset(v, 0, sizeof(*v));
    CHECK_EQ(dtls_ctx_new(&v->ctx), 0);
    CHECK_EQ(dtls_session_new(&v->s, v->ctx, &srv_cbs, v), 0);
    return 0;
}

static void server_free(struct server *v)
{
    dtls_session_free(v->s);
    dtls_ctx_free(v->ctx);
}

/* Runs the client and hands what it wrote to the server as one datagram. Returns the server's
 * input result, or 0 when the client had nothing to say. */
static int client_to_server(struct client *c, struct server *v)
{
    uint8_t buf[8192];
    if (!SSL_is_init_finished(c->ssl))
        SSL_do_handshake(c->ssl);
    else
        SSL_read(c->ssl, buf, sizeof(buf));
    ERR_clear_error();
    int n = BIO_read(c->out, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    return dtls_session_input(v->s, buf, (size_t)n);
}

/* Delivers the server's queued datagrams to the client, one by one. */
static void server_to_client(struct server *v, struct client *c)
{
    uint8_t scratch[2048];
    for (size_t i = 0; i < v->nq; i++) {
        BIO_write(c->in, v->q[i], (int)v->qlen[i]);
        if (!SSL_is_init_finished(c->ssl))
            SSL_do_handshake(c->ssl);
        else
            SSL_read(c->ssl, scratch, sizeof(scratch));
        ERR_clear_error();
    }
    v->nq = 0;
}

static int pump(struct client *c, struct server *v, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        CHECK_EQ(client_to_server(c, v), 0);
        server_to_client(v, c);
    }
    return 0;
}

/* The client's view of the SRTP keys: client key, server key, client salt, server salt. */
static int check_keys_match(struct client *c, const struct dtls_srtp_keys *k)
{
    uint8_t km[60];
    size_t kl = k->key_len, sl = k->salt_len;
    CHECK_EQ(kl, 16);
    CHECK_EQ(SSL_export_keying_material(c->ssl, km, 2 * (kl + sl), "EXTRACTOR-dtls_srtp", 19, NULL,
                                        0, 0),
             1);
    CHECK_MEM(k->remote_key, km, kl);
    CHECK_MEM(k->local_key, km + kl, kl);
    CHECK_MEM(k->remote_salt, km + 2 * kl, sl);
    CHECK_MEM(k->local_salt, km + 2 * kl + sl, sl);
    /* And the two directions really differ. */
    CHECK(memcmp(k->local_key, k->remote_key, kl) != 0);
    return 0;
}

/* --- cases -------------------------------------------------------------------------------- */

static int test_dtls_fingerprint_format(void)
{
    struct server v;
    CHECK_EQ(server_init(&v), 0);
    const char *fp = dtls_ctx_fingerprint(v.ctx);
    CHECK_EQ(strlen(fp), 95);
    for (size_t i = 0; i < 95; i++) {
        if (i % 3 == 2)
            CHECK_EQ(fp[i], ':');
        else
            CHECK((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'A' && fp[i] <= 'F'));
    }
    server_free(&v);
    return 0;
}

/* Fingerprint first, both profiles offered: GCM is chosen, keys mirror the client's. */
static int test_dtls_handshake_fp_before(void)
{
    struct client c;
    struct server v;
    char fp[200];
    CHECK_EQ(client_init(&c, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK(SSL_is_init_finished(c.ssl));
    CHECK_EQ(v.failed, 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(v.keys.profile, DTLS_SRTP_AEAD_AES_128_GCM);
    CHECK_EQ(v.keys.salt_len, 12);
    CHECK_EQ(SSL_get_selected_srtp_profile(c.ssl)->id, SRTP_AEAD_AES_128_GCM);
    CHECK_EQ(check_keys_match(&c, &v.keys), 0);
    /* The client sees the certificate whose fingerprint we publish. */
    cert_fingerprint(SSL_get0_peer_certificate(c.ssl), EVP_sha256(), fp, false);
    CHECK(strcmp(fp, dtls_ctx_fingerprint(v.ctx)) == 0);
    CHECK(v.max_dgram <= DTLS_MTU);
    /* The handshake is over: the timer was stopped, and more traffic changes nothing. */
    CHECK_EQ(v.timeout_ms, 0);
    CHECK_EQ(pump(&c, &v, 2), 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), -EALREADY);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* Fingerprint after the handshake, only AES-CM offered: keys come when the fingerprint does. */
static int test_dtls_handshake_fp_after(void)
{
    struct client c;
    struct server v;
    char fp[200];
    CHECK_EQ(client_init(&c, "SRTP_AES128_CM_SHA1_80", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK(SSL_is_init_finished(c.ssl));
    CHECK_EQ(v.connected, 0);
    CHECK_EQ(v.failed, 0);
    /* Lower case, as some peers write it. */
    cert_fingerprint(c.cert, EVP_sha256(), fp, true);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "SHA-256", fp), 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(v.keys.profile, DTLS_SRTP_AES128_CM_SHA1_80);
    CHECK_EQ(v.keys.salt_len, 14);
    CHECK_EQ(check_keys_match(&c, &v.keys), 0);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* sha-512 is accepted as well as sha-256. */
static int test_dtls_handshake_sha512(void)
{
    struct client c;
    struct server v;
    char fp[200];
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha512(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-512", fp), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(check_keys_match(&c, &v.keys), 0);
    server_free(&v);
    client_free(&c);
    return 0;
}

static int test_dtls_fingerprint_invalid(void)
{
    struct server v;
    char fp[200];
    CHECK_EQ(server_init(&v), 0);
    memset(fp, 0, sizeof(fp));
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "md5", "AB:CD"), -EINVAL);
    /* 32 bytes is a SHA-256 value, not SHA-1. */
    fingerprint_format((const uint8_t *)"0123456789abcdef0123456789abcdef", 32, fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-1", fp), -EINVAL);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    fp[4] = 'G';
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), -EINVAL);
    fp[4] = '1';
    fp[5] = '-';
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), -EINVAL);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", ""), -EINVAL);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", "AB:"), -EINVAL);
    CHECK_EQ(v.failed, 0);
    server_free(&v);
    return 0;
}

/* A wrong fingerprint, given before or after the handshake: failed, never keys. */
static int test_dtls_fingerprint_mismatch(void)
{
    for (int after = 0; after < 2; after++) {
        struct client c;
        struct server v;
        char fp[200];
        CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", NULL), 0);
        CHECK_EQ(server_init(&v), 0);
        cert_fingerprint(c.cert, EVP_sha256(), fp, false);
        fp[0] = fp[0] == 'A' ? 'B' : 'A';
        if (!after)
            CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
        CHECK_EQ(pump(&c, &v, 4), 0);
        if (after)
            CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
        CHECK_EQ(v.connected, 0);
        CHECK_EQ(v.failed, 1);
        CHECK(strcmp(v.reason, "fingerprint mismatch") == 0);
        CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), -EPIPE);
        uint8_t rec[13 + 1] = {21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 1, 0};
        CHECK_EQ(dtls_session_input(v.s, rec, sizeof(rec)), -EPIPE);
        CHECK_EQ(v.timeout_ms, 0);
        server_free(&v);
        client_free(&c);
    }
    return 0;
}

/* Input that is not DTLS records is refused and leaves the session able to shake hands. */
static int test_dtls_garbage_then_handshake(void)
{
    struct client c;
    struct server v;
    char fp[200];
    uint8_t junk[64];
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    CHECK_EQ(dtls_session_input(v.s, junk, sizeof(junk)), -EBADMSG);
    /* A handshake record header whose length runs past the datagram. */
    uint8_t trunc[20] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100};
    CHECK_EQ(dtls_session_input(v.s, trunc, sizeof(trunc)), -EBADMSG);
    /* A whole record followed by a stray byte. */
    uint8_t tail[15] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0xff};
    CHECK_EQ(dtls_session_input(v.s, tail, sizeof(tail)), -EBADMSG);
    CHECK_EQ(dtls_session_input(v.s, junk, 0), -EINVAL);
    CHECK_EQ(v.sent, 0);
    CHECK_EQ(v.failed, 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(check_keys_match(&c, &v.keys), 0);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* The first flight leaves in one datagram with a 100 ms timer; dropped, it is resent when the
 * timer fires (not before), the timer doubles, and the handshake still completes. */
static int test_dtls_timer_retransmit(void)
{
    struct client c;
    struct server v;
    char fp[200];
    size_t first_len;
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(v.timer_calls, 0);

    CHECK_EQ(client_to_server(&c, &v), 0); /* ClientHello */
    CHECK_EQ(v.nq, 1);                     /* ServerHello .. ServerHelloDone, packed */
    first_len = v.qlen[0];
    CHECK(first_len > 500 && first_len <= DTLS_MTU);
    CHECK(v.timer_calls >= 1);
    CHECK(v.timeout_ms >= 50 && v.timeout_ms <= 100);
    v.nq = 0; /* lost */

    dtls_session_on_timer(v.s); /* too early: nothing is due */
    CHECK_EQ(v.nq, 0);
    usleep(130 * 1000);
    dtls_session_on_timer(v.s);
    CHECK_EQ(v.nq, 1);
    CHECK_EQ(v.qlen[0], first_len);
    CHECK(v.timeout_ms > 100 && v.timeout_ms <= 200);

    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK_EQ(v.connected, 1);
    CHECK_EQ(v.failed, 0);
    CHECK_EQ(check_keys_match(&c, &v.keys), 0);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* close_notify from the peer: closed, answered with ours, and the session takes no more. */
static int test_dtls_close_notify(void)
{
    struct client c;
    struct server v;
    char fp[200];
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK_EQ(v.connected, 1);
    v.sent = 0;
    CHECK_EQ(SSL_shutdown(c.ssl), 0);
    uint8_t buf[256];
    int n = BIO_read(c.out, buf, sizeof(buf));
    CHECK(n > 0);
    CHECK_EQ(dtls_session_input(v.s, buf, (size_t)n), 0);
    CHECK_EQ(v.closed, 1);
    CHECK_EQ(v.failed, 0);
    CHECK_EQ(v.sent, 1);
    CHECK_EQ(v.q[v.nq - 1][0], 21); /* an alert record: our close_notify */
    CHECK_EQ(dtls_session_input(v.s, buf, (size_t)n), -EPIPE);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* Our side closes (the transport was closed by signalling): the client reads close_notify, and
 * the session takes no more input and calls no callback. */
static int test_dtls_server_close(void)
{
    struct client c;
    struct server v;
    char fp[200];
    uint8_t buf[64];
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(pump(&c, &v, 4), 0);
    CHECK_EQ(v.connected, 1);
    v.nq = 0;
    dtls_session_close(v.s);
    CHECK_EQ(v.nq, 1);
    CHECK_EQ(v.q[0][0], 21); /* an alert record */
    BIO_write(c.in, v.q[0], (int)v.qlen[0]);
    CHECK_EQ(SSL_read(c.ssl, buf, sizeof(buf)), 0);
    CHECK_EQ(SSL_get_error(c.ssl, 0), SSL_ERROR_ZERO_RETURN);
    CHECK_EQ(v.closed, 0);
    CHECK_EQ(v.failed, 0);
    CHECK_EQ(dtls_session_input(v.s, v.q[0], v.qlen[0]), -EPIPE);
    dtls_session_close(NULL);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* A client we cannot agree with: failed with OpenSSL's reason, no keys. */
static int test_dtls_handshake_failure(void)
{
    struct client c;
    struct server v;
    CHECK_EQ(client_init(&c, "SRTP_AEAD_AES_128_GCM", "ECDHE-ECDSA-AES128-SHA"), 0);
    CHECK_EQ(server_init(&v), 0);
    CHECK_EQ(client_to_server(&c, &v), 0);
    CHECK_EQ(v.failed, 1);
    CHECK(v.reason != NULL && strlen(v.reason) > 0);
    CHECK_EQ(v.connected, 0);
    /* The client was told: a fatal alert went out. */
    CHECK(v.nq >= 1 && v.q[0][0] == 21);
    server_free(&v);
    client_free(&c);
    return 0;
}

/* A client that offers no SRTP profile completes DTLS but gets no keys. */
static int test_dtls_no_srtp(void)
{
    struct client c;
    struct server v;
    char fp[200];
    CHECK_EQ(client_init(&c, NULL, NULL), 0);
    CHECK_EQ(server_init(&v), 0);
    cert_fingerprint(c.cert, EVP_sha256(), fp, false);
    CHECK_EQ(dtls_session_set_remote_fingerprint(v.s, "sha-256", fp), 0);
    CHECK_EQ(client_to_server(&c, &v), 0);
    server_to_client(&v, &c);
    CHECK_EQ(client_to_server(&c, &v), 0);
    CHECK_EQ(v.connected, 0);
    CHECK_EQ(v.failed, 1);
    server_free(&v);
    client_free(&c);
    return 0;
}

static int test_dtls_bad_args(void)
{
    struct dtls_ctx *ctx;
    struct dtls_session *s = NULL;
    struct dtls_session_cbs cbs = srv_cbs;
    CHECK_EQ(dtls_ctx_new(&ctx), 0);
    cbs.timer = NULL;
    CHECK_EQ(dtls_session_new(&s, ctx, &cbs, NULL), -EINVAL);
    CHECK(s == NULL);
    CHECK_EQ(dtls_session_input(NULL, (const uint8_t *)"x", 1), -EINVAL);
    dtls_session_on_timer(NULL);
    dtls_ctx_free(ctx);
    dtls_ctx_free(NULL);
    dtls_session_free(NULL);
    return 0;
}

static const struct test_case cases[] = {
    {"dtls_fingerprint_format", test_dtls_fingerprint_format},
    {"dtls_handshake_fp_before", test_dtls_handshake_fp_before},
    {"dtls_handshake_fp_after", test_dtls_handshake_fp_after},
    {"dtls_handshake_sha512", test_dtls_handshake_sha512},
    {"dtls_fingerprint_invalid", test_dtls_fingerprint_invalid},
    {"dtls_fingerprint_mismatch", test_dtls_fingerprint_mismatch},
    {"dtls_garbage_then_handshake", test_dtls_garbage_then_handshake},
    {"dtls_timer_retransmit", test_dtls_timer_retransmit},
    {"dtls_close_notify", test_dtls_close_notify},
    {"dtls_server_close", test_dtls_server_close},
    {"dtls_handshake_failure", test_dtls_handshake_failure},
    {"dtls_no_srtp", test_dtls_no_srtp},
    {"dtls_bad_args", test_dtls_bad_args},
};

TEST_MAIN(cases)
