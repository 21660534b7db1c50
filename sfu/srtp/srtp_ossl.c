/* OpenSSL's AES-CTR, AES-GCM and HMAC-SHA1 put into libsrtp2's crypto kernel in place of its own.
 *
 * Debian builds libsrtp2 against NSS, whose wrappers make a PKCS #11 context for every packet
 * (allocations, a lock, a session lookup): perf showed a fifth of the SFU's CPU there in a
 * 13-person call, more than the SFU's own forwarding code. libsrtp lets an application replace a
 * cipher or authentication type by id, so the packet formats, key derivation, replay windows and
 * rollover counters stay libsrtp's; only the primitives change, to EVP contexts keyed once per
 * session and given just a new IV per packet. libsrtp runs its own known-answer tests and ours on
 * each type before it takes it, and tests/unit/test_srtp_ossl.c checks that what we protect is
 * byte for byte what stock libsrtp protects. */
#include "srtp/srtp_ossl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#define OSSL_AES_KEY  16 /* AES-128 */
#define OSSL_ICM_SALT 14 /* RFC 3711 4.1.1: a 112-bit salt, two zero octets of block counter */
#define OSSL_GCM_SALT 12 /* RFC 7714 8.1 */
#define OSSL_SHA1_LEN 20
#define OSSL_BLOCK    16

/* Fetched once: an implicit fetch (EVP_aes_128_gcm() and friends) costs a provider lookup on
 * every key set-up. */
static EVP_CIPHER *ossl_ctr;
static EVP_CIPHER *ossl_gcm;
static EVP_MAC *ossl_hmac;

struct ossl_cipher {
    EVP_CIPHER_CTX *ctx;
    int tag_len;                 /* GCM: 8 or 16 */
    srtp_cipher_direction_t dir; /* GCM: set by set_iv */
    uint8_t offset[OSSL_BLOCK];  /* ICM: the salt, then two zero octets */
};

/* One allocation holds libsrtp's view and our state, freed by our dealloc. */
struct ossl_cipher_box {
    srtp_cipher_t c;
    struct ossl_cipher st;
};

static srtp_err_status_t ossl_cipher_alloc(srtp_cipher_t **cp, const srtp_cipher_type_t *type,
                                           int algorithm, int key_len, int tag_len)
{
    struct ossl_cipher_box *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return srtp_err_status_alloc_fail;
    if ((b->st.ctx = EVP_CIPHER_CTX_new()) == NULL) {
        free(b);
        return srtp_err_status_alloc_fail;
    }
    b->st.tag_len = tag_len;
    b->st.dir = srtp_direction_any;
    b->c.type = type;
    b->c.state = &b->st;
    b->c.key_len = key_len;
    b->c.algorithm = algorithm;
    *cp = &b->c;
    return srtp_err_status_ok;
}

static srtp_err_status_t ossl_cipher_dealloc(srtp_cipher_t *c)
{
    struct ossl_cipher_box *b = (struct ossl_cipher_box *)c;

    if (b == NULL)
        return srtp_err_status_bad_param;
    EVP_CIPHER_CTX_free(b->st.ctx); /* cleanses the key schedule */
    OPENSSL_cleanse(b, sizeof(*b));
    free(b);
    return srtp_err_status_ok;
}

/* ---- AES-128 in counter mode (RFC 3711 4.1.1): media of AES_CM_128_HMAC_SHA1_80, and the key
 * derivation of every 128-bit profile ---- */

static const srtp_cipher_type_t ossl_icm_type;

static srtp_err_status_t ossl_icm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
    (void)tag_len;
    if (key_len != OSSL_AES_KEY + OSSL_ICM_SALT)
        return srtp_err_status_bad_param;
    return ossl_cipher_alloc(cp, &ossl_icm_type, SRTP_AES_ICM_128, key_len, 0);
}

/* key is the AES key followed by the salt. */
static srtp_err_status_t ossl_icm_init(void *state, const uint8_t *key)
{
    struct ossl_cipher *s = state;

    memset(s->offset, 0, sizeof(s->offset));
    memcpy(s->offset, key + OSSL_AES_KEY, OSSL_ICM_SALT);
    if (!EVP_EncryptInit_ex2(s->ctx, ossl_ctr, key, NULL, NULL))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* The counter block is the salt XOR the 16-octet iv libsrtp built (SSRC and packet index, or a
 * key derivation label and index). */
static srtp_err_status_t ossl_icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    struct ossl_cipher *s = state;
    uint8_t ctr[OSSL_BLOCK];

    (void)dir; /* counter mode is its own inverse */
    for (int i = 0; i < OSSL_BLOCK; i++)
        ctr[i] = s->offset[i] ^ iv[i];
    int ok = EVP_EncryptInit_ex2(s->ctx, NULL, NULL, ctr, NULL);
    OPENSSL_cleanse(ctr, sizeof(ctr)); /* holds the salt */
    return ok ? srtp_err_status_ok : srtp_err_status_init_fail;
}

static srtp_err_status_t ossl_icm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct ossl_cipher *s = state;
    int out = 0;

    if (*len > INT32_MAX || !EVP_EncryptUpdate(s->ctx, buf, &out, buf, (int)*len) ||
        out != (int)*len)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

/* RFC 3711 B.2: the AES-CM keystream for session key 2B7E...4F3C and salt F0F1...FCFD, at
 * index 0. */
static const uint8_t ossl_icm_kat_key[OSSL_AES_KEY + OSSL_ICM_SALT] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static uint8_t ossl_icm_kat_iv[OSSL_BLOCK];
static const uint8_t ossl_icm_kat_zero[32];
static const uint8_t ossl_icm_kat_stream[32] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
static const srtp_cipher_test_case_t ossl_icm_kat = {
    .key_length_octets = sizeof(ossl_icm_kat_key),
    .key = ossl_icm_kat_key,
    .idx = ossl_icm_kat_iv,
    .plaintext_length_octets = sizeof(ossl_icm_kat_zero),
    .plaintext = ossl_icm_kat_zero,
    .ciphertext_length_octets = sizeof(ossl_icm_kat_stream),
    .ciphertext = ossl_icm_kat_stream,
};

static const srtp_cipher_type_t ossl_icm_type = {
    .alloc = ossl_icm_alloc,
    .dealloc = ossl_cipher_dealloc,
    .init = ossl_icm_init,
    .encrypt = ossl_icm_encrypt,
    .decrypt = ossl_icm_encrypt,
    .set_iv = ossl_icm_set_iv,
    .description = "AES-128 counter mode (OpenSSL EVP)",
    .test_data = &ossl_icm_kat,
    .id = SRTP_AES_ICM_128,
};

/* ---- AEAD_AES_128_GCM (RFC 7714): libsrtp builds the 12-octet IV and the AAD ---- */

static const srtp_cipher_type_t ossl_gcm_type;

static srtp_err_status_t ossl_gcm_alloc(srtp_cipher_t **cp, int key_len, int tag_len)
{
    if (key_len != OSSL_AES_KEY + OSSL_GCM_SALT || (tag_len != 8 && tag_len != 16))
        return srtp_err_status_bad_param;
    return ossl_cipher_alloc(cp, &ossl_gcm_type, SRTP_AES_GCM_128, key_len, tag_len);
}

/* key is the AES key followed by the salt, which libsrtp folds into the IV itself. */
static srtp_err_status_t ossl_gcm_init(void *state, const uint8_t *key)
{
    struct ossl_cipher *s = state;

    s->dir = srtp_direction_any;
    if (!EVP_CipherInit_ex2(s->ctx, ossl_gcm, key, NULL, 1, NULL))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t ossl_gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    struct ossl_cipher *s = state;

    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    s->dir = dir;
    if (!EVP_CipherInit_ex2(s->ctx, NULL, NULL, iv, dir == srtp_direction_encrypt, NULL))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* May be called more than once per packet: SRTCP adds its index after the header. */
static srtp_err_status_t ossl_gcm_set_aad(void *state, const uint8_t *aad, uint32_t len)
{
    struct ossl_cipher *s = state;
    int out;

    if (len > INT32_MAX || !EVP_CipherUpdate(s->ctx, NULL, &out, aad, (int)len))
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t ossl_gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct ossl_cipher *s = state;
    int out = 0;

    if (s->dir != srtp_direction_encrypt)
        return srtp_err_status_bad_param;
    if (*len > INT32_MAX || !EVP_CipherUpdate(s->ctx, buf, &out, buf, (int)*len) ||
        out != (int)*len)
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

/* After encrypt: finishes the message and writes the tag. */
static srtp_err_status_t ossl_gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
    struct ossl_cipher *s = state;
    uint8_t none[OSSL_BLOCK];
    int out = 0;

    if (s->dir != srtp_direction_encrypt || !EVP_CipherFinal_ex(s->ctx, none, &out) ||
        !EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tag_len, tag))
        return srtp_err_status_algo_fail;
    *len = (uint32_t)s->tag_len;
    return srtp_err_status_ok;
}

/* buf ends with the tag; *len shrinks by it once the tag is verified. */
static srtp_err_status_t ossl_gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
    struct ossl_cipher *s = state;
    uint8_t none[OSSL_BLOCK];
    int n, out = 0;

    if (s->dir != srtp_direction_decrypt || *len < (unsigned)s->tag_len || *len > INT32_MAX)
        return srtp_err_status_bad_param;
    n = (int)*len - s->tag_len;
    if (!EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, buf + n) ||
        !EVP_CipherUpdate(s->ctx, buf, &out, buf, n) || out != n)
        return srtp_err_status_cipher_fail;
    if (EVP_CipherFinal_ex(s->ctx, none, &out) <= 0)
        return srtp_err_status_auth_fail;
    *len = (unsigned)n;
    return srtp_err_status_ok;
}

/* The GCM specification's test case 4 (McGrew and Viega): 60 octets with 20 of AAD. The 12
 * octets after the key stand for the SRTP salt, which the cipher does not use. */
static const uint8_t ossl_gcm_kat_key[OSSL_AES_KEY + OSSL_GCM_SALT] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
    0x83, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
static uint8_t ossl_gcm_kat_iv[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                      0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t ossl_gcm_kat_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe,
                                             0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad,
                                             0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t ossl_gcm_kat_plain[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t ossl_gcm_kat_cipher[60 + 16] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c,
    0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e,
    0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
    0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    /* the tag */
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};
static const srtp_cipher_test_case_t ossl_gcm_kat = {
    .key_length_octets = sizeof(ossl_gcm_kat_key),
    .key = ossl_gcm_kat_key,
    .idx = ossl_gcm_kat_iv,
    .plaintext_length_octets = sizeof(ossl_gcm_kat_plain),
    .plaintext = ossl_gcm_kat_plain,
    .ciphertext_length_octets = sizeof(ossl_gcm_kat_cipher),
    .ciphertext = ossl_gcm_kat_cipher,
    .aad_length_octets = sizeof(ossl_gcm_kat_aad),
    .aad = ossl_gcm_kat_aad,
    .tag_length_octets = 16,
};

static const srtp_cipher_type_t ossl_gcm_type = {
    .alloc = ossl_gcm_alloc,
    .dealloc = ossl_cipher_dealloc,
    .init = ossl_gcm_init,
    .set_aad = ossl_gcm_set_aad,
    .encrypt = ossl_gcm_encrypt,
    .decrypt = ossl_gcm_decrypt,
    .set_iv = ossl_gcm_set_iv,
    .get_tag = ossl_gcm_get_tag,
    .description = "AES-128 GCM (OpenSSL EVP)",
    .test_data = &ossl_gcm_kat,
    .id = SRTP_AES_GCM_128,
};

/* ---- HMAC-SHA1 (RFC 3711 4.2.1) ---- */

static const srtp_auth_type_t ossl_hmac_type;

struct ossl_auth_box {
    srtp_auth_t a;
    EVP_MAC_CTX *ctx;
};

static srtp_err_status_t ossl_hmac_alloc(srtp_auth_t **ap, int key_len, int out_len)
{
    struct ossl_auth_box *b;

    if (key_len < 0 || key_len > OSSL_SHA1_LEN || out_len < 0 || out_len > OSSL_SHA1_LEN)
        return srtp_err_status_bad_param;
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return srtp_err_status_alloc_fail;
    if ((b->ctx = EVP_MAC_CTX_new(ossl_hmac)) == NULL) {
        free(b);
        return srtp_err_status_alloc_fail;
    }
    b->a.type = &ossl_hmac_type;
    b->a.state = b;
    b->a.out_len = out_len;
    b->a.key_len = key_len;
    b->a.prefix_len = 0;
    *ap = &b->a;
    return srtp_err_status_ok;
}

static srtp_err_status_t ossl_hmac_dealloc(srtp_auth_t *a)
{
    struct ossl_auth_box *b = (struct ossl_auth_box *)a;

    if (b == NULL)
        return srtp_err_status_bad_param;
    EVP_MAC_CTX_free(b->ctx);
    OPENSSL_cleanse(b, sizeof(*b));
    free(b);
    return srtp_err_status_ok;
}

/* Keys the context and starts a message. */
static srtp_err_status_t ossl_hmac_init(void *state, const uint8_t *key, int key_len)
{
    struct ossl_auth_box *b = state;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };

    if (key_len < 0 || !EVP_MAC_init(b->ctx, key, (size_t)key_len, params))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* A new message under the same key: HMAC keeps its keyed inner and outer states. */
static srtp_err_status_t ossl_hmac_start(void *state)
{
    struct ossl_auth_box *b = state;

    if (!EVP_MAC_init(b->ctx, NULL, 0, NULL))
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t ossl_hmac_update(void *state, const uint8_t *buf, int len)
{
    struct ossl_auth_box *b = state;

    if (len < 0 || !EVP_MAC_update(b->ctx, buf, (size_t)len))
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

/* The last part of the message, then the tag cut to tag_len octets. */
static srtp_err_status_t ossl_hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
                                           uint8_t *tag)
{
    struct ossl_auth_box *b = state;
    uint8_t md[OSSL_SHA1_LEN];
    size_t out = 0;

    if (tag_len < 0 || tag_len > OSSL_SHA1_LEN || len < 0)
        return srtp_err_status_bad_param;
    if (!EVP_MAC_update(b->ctx, buf, (size_t)len) || !EVP_MAC_final(b->ctx, md, &out, sizeof(md)) ||
        out != sizeof(md))
        return srtp_err_status_auth_fail;
    memcpy(tag, md, (size_t)tag_len);
    OPENSSL_cleanse(md, sizeof(md));
    return srtp_err_status_ok;
}

/* RFC 2202 test case 1: twenty 0x0b octets as the key, "Hi There". */
static const uint8_t ossl_hmac_kat_key[OSSL_SHA1_LEN] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                                         0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                                         0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t ossl_hmac_kat_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t ossl_hmac_kat_tag[OSSL_SHA1_LEN] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                                         0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                                         0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static const srtp_auth_test_case_t ossl_hmac_kat = {
    .key_length_octets = sizeof(ossl_hmac_kat_key),
    .key = ossl_hmac_kat_key,
    .data_length_octets = sizeof(ossl_hmac_kat_data),
    .data = ossl_hmac_kat_data,
    .tag_length_octets = sizeof(ossl_hmac_kat_tag),
    .tag = ossl_hmac_kat_tag,
};

static const srtp_auth_type_t ossl_hmac_type = {
    .alloc = ossl_hmac_alloc,
    .dealloc = ossl_hmac_dealloc,
    .init = ossl_hmac_init,
    .compute = ossl_hmac_compute,
    .update = ossl_hmac_update,
    .start = ossl_hmac_start,
    .description = "HMAC-SHA1 (OpenSSL EVP)",
    .test_data = &ossl_hmac_kat,
    .id = SRTP_HMAC_SHA1,
};

int sfu_srtp_ossl_register(void)
{
    if (ossl_ctr == NULL)
        ossl_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    if (ossl_gcm == NULL)
        ossl_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    if (ossl_hmac == NULL)
        ossl_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (ossl_ctr == NULL || ossl_gcm == NULL || ossl_hmac == NULL)
        return -ENOTSUP;
    /* Each call runs our known answers, then the replaced type's, through our code. */
    if (srtp_replace_cipher_type(&ossl_icm_type, SRTP_AES_ICM_128) != srtp_err_status_ok ||
        srtp_replace_cipher_type(&ossl_gcm_type, SRTP_AES_GCM_128) != srtp_err_status_ok ||
        srtp_replace_auth_type(&ossl_hmac_type, SRTP_HMAC_SHA1) != srtp_err_status_ok)
        return -EIO;
    return 0;
}
