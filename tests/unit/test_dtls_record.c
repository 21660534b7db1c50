/* Tests the DTLS record walk on a real ClientHello written by OpenSSL, on truncations of it and on
 * a datagram carrying two records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "core/bytes.h"
#include "dtls/dtls_record.h"
#include "harness.h"

/* Runs an OpenSSL DTLS client until it wants an answer and returns what it wrote: its first
 * flight, a ClientHello. Returns the length, or -1. */
static int client_hello_capture(uint8_t *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    SSL *ssl = NULL;
    BIO *rbio = NULL, *wbio = NULL;
    int n = -1;

    if (!ctx)
        return -1;
    ssl = SSL_new(ctx);
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (!ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        goto out;
    }
    /* Memory BIOs cannot be asked for a path MTU: give one, as the SFU's DTLS code does. */
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, 1200);
    SSL_set_bio(ssl, rbio, wbio); /* ssl owns both BIOs now */
    SSL_set_connect_state(ssl);
    if (SSL_do_handshake(ssl) == 1 || SSL_get_error(ssl, -1) != SSL_ERROR_WANT_READ)
        goto out;
    n = BIO_read(wbio, out, (int)cap);
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return n;
}

static int test_client_hello_recognised(void)
{
    uint8_t buf[2048];
    int n = client_hello_capture(buf, sizeof(buf));
    struct dtls_record_iter it;
    struct dtls_record rec;

    CHECK(n > DTLS_RECORD_HDR_LEN + 12);
    CHECK(dtls_record_is_client_hello(buf, (size_t)n));
    CHECK_EQ(dtls_record_validate(buf, (size_t)n), 1);

    dtls_record_iter_init(&it, buf, (size_t)n);
    CHECK_EQ(dtls_record_iter_next(&it, &rec), 0);
    CHECK_EQ(rec.content_type, DTLS_CT_HANDSHAKE);
    CHECK(rec.version == DTLS_VERSION_1_0 || rec.version == DTLS_VERSION_1_2);
    CHECK_EQ(rec.epoch, 0);
    CHECK_EQ(rec.seq, 0); /* the first record a client sends */
    CHECK_EQ(rec.length + DTLS_RECORD_HDR_LEN, (size_t)n);
    CHECK(rec.fragment == buf + DTLS_RECORD_HDR_LEN);
    CHECK_EQ(rec.fragment[0], 1); /* handshake type client_hello */
    /* The handshake body announces DTLS 1.2 (0xFEFD) as client_version. */
    CHECK_EQ(be16_load(rec.fragment + 12), DTLS_VERSION_1_2);
    CHECK_EQ(dtls_record_iter_next(&it, &rec), -ENOENT);
    return 0;
}

static int test_truncations_refused(void)
{
    uint8_t buf[2048];
    int n = client_hello_capture(buf, sizeof(buf));

    CHECK(n > 0);
    for (size_t len = 0; len < (size_t)n; len++) {
        /* An exact-size heap copy so ASan catches any read beyond len. */
        uint8_t *p = malloc(len ? len : 1);
        CHECK(p != NULL);
        memcpy(p, buf, len);
        int v = dtls_record_validate(p, len);
        bool hello = dtls_record_is_client_hello(p, len);
        struct dtls_record_iter it;
        struct dtls_record rec;
        dtls_record_iter_init(&it, p, len);
        int next = dtls_record_iter_next(&it, &rec);
        free(p);
        CHECK_EQ(v, -EBADMSG);
        CHECK(!hello);
        CHECK_EQ(next, len == 0 ? -ENOENT : -EBADMSG);
    }
    return 0;
}

static int test_two_records(void)
{
    uint8_t buf[2048 + 64];
    int n = client_hello_capture(buf, 2048);
    struct dtls_record_iter it;
    struct dtls_record rec;

    CHECK(n > 0);
    /* Append an alert record of epoch 1 with sequence number 0xABCD_0102_0304 and a 2-byte
     * (here unencrypted) body. */
    static const uint8_t alert[] = {21,   0xFE, 0xFD, 0x00, 0x01, 0xAB, 0xCD, 0x01,
                                    0x02, 0x03, 0x04, 0x00, 0x02, 0x02, 0x28};
    memcpy(buf + n, alert, sizeof(alert));
    size_t len = (size_t)n + sizeof(alert);

    CHECK_EQ(dtls_record_validate(buf, len), 2);
    CHECK(dtls_record_is_client_hello(buf, len));
    dtls_record_iter_init(&it, buf, len);
    CHECK_EQ(dtls_record_iter_next(&it, &rec), 0);
    CHECK_EQ(rec.content_type, DTLS_CT_HANDSHAKE);
    CHECK_EQ(rec.length + DTLS_RECORD_HDR_LEN, (size_t)n);
    CHECK_EQ(dtls_record_iter_next(&it, &rec), 0);
    CHECK_EQ(rec.content_type, DTLS_CT_ALERT);
    CHECK_EQ(rec.version, DTLS_VERSION_1_2);
    CHECK_EQ(rec.epoch, 1);
    CHECK_EQ(rec.seq, 0xABCD01020304ull);
    CHECK_EQ(rec.length, 2);
    CHECK(rec.fragment == buf + n + DTLS_RECORD_HDR_LEN);
    CHECK_EQ(rec.fragment[1], 0x28);
    CHECK_EQ(dtls_record_iter_next(&it, &rec), -ENOENT);
    return 0;
}

static int test_header_fields_refused(void)
{
    /* A well-formed change_cipher_spec record, then one field broken at a time. */
    static const uint8_t ccs[] = {20,   0xFE, 0xFD, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x01};
    uint8_t b[sizeof(ccs)];

    CHECK_EQ(dtls_record_validate(ccs, sizeof(ccs)), 1);
    CHECK(!dtls_record_is_client_hello(ccs, sizeof(ccs)));

    static const uint8_t bad_types[] = {0, 19, 25, 26, 63, 128};
    for (size_t i = 0; i < sizeof(bad_types); i++) {
        memcpy(b, ccs, sizeof(b));
        b[0] = bad_types[i];
        CHECK_EQ(dtls_record_validate(b, sizeof(b)), -EBADMSG);
    }
    memcpy(b, ccs, sizeof(b));
    b[2] = 0xFC; /* DTLS 1.3's would-be number: not a 1.0/1.2 record */
    CHECK_EQ(dtls_record_validate(b, sizeof(b)), -EBADMSG);
    memcpy(b, ccs, sizeof(b));
    b[1] = 0x03; /* TLS, not DTLS */
    b[2] = 0x03;
    CHECK_EQ(dtls_record_validate(b, sizeof(b)), -EBADMSG);
    memcpy(b, ccs, sizeof(b));
    b[12] = 0x02; /* length beyond the datagram */
    CHECK_EQ(dtls_record_validate(b, sizeof(b)), -EBADMSG);
    /* Trailing bytes that are not a whole record. */
    uint8_t t[sizeof(ccs) + 3];
    memcpy(t, ccs, sizeof(ccs));
    memset(t + sizeof(ccs), 0x16, 3);
    CHECK_EQ(dtls_record_validate(t, sizeof(t)), -EBADMSG);
    return 0;
}

static int test_client_hello_needs_epoch0_type1(void)
{
    uint8_t buf[2048];
    int n = client_hello_capture(buf, sizeof(buf));

    CHECK(n > 0);
    buf[4] = 1; /* epoch 1: a renegotiation or garbage, not a new handshake */
    CHECK(!dtls_record_is_client_hello(buf, (size_t)n));
    buf[4] = 0;
    buf[DTLS_RECORD_HDR_LEN] = 2; /* ServerHello */
    CHECK(!dtls_record_is_client_hello(buf, (size_t)n));
    buf[DTLS_RECORD_HDR_LEN] = 1;
    buf[0] = DTLS_CT_APPLICATION_DATA;
    CHECK(!dtls_record_is_client_hello(buf, (size_t)n));
    buf[0] = DTLS_CT_HANDSHAKE;
    CHECK(dtls_record_is_client_hello(buf, (size_t)n));
    return 0;
}

static const struct test_case cases[] = {
    {"client_hello_recognised", test_client_hello_recognised},
    {"truncations_refused", test_truncations_refused},
    {"two_records", test_two_records},
    {"header_fields_refused", test_header_fields_refused},
    {"client_hello_needs_epoch0_type1", test_client_hello_needs_epoch0_type1},
};

TEST_MAIN(cases)
