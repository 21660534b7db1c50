/* SRTP and SRTCP on libsrtp2 (with OpenSSL's primitives, srtp_ossl.c): policies from DTLS-SRTP
 * keys, status codes to errno. */
#include "srtp/sfu_srtp.h"
#include "srtp/srtp_ossl.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#define SFU_SRTP_RTP_MIN  12 /* the fixed RTP header */
#define SFU_SRTP_RTCP_MIN 8  /* the RTCP header and sender SSRC */

struct sfu_srtp {
    srtp_t in;  /* owned: the peer's packets, any SSRC */
    srtp_t out; /* owned: ours, any SSRC */
};

static pthread_once_t sfu_srtp_once = PTHREAD_ONCE_INIT;
static int sfu_srtp_init_status = -EIO;

static void sfu_srtp_init_once(void)
{
    if (srtp_init() != srtp_err_status_ok)
        return;
    sfu_srtp_init_status = sfu_srtp_ossl_register();
}

int sfu_srtp_global_init(void)
{
    if (pthread_once(&sfu_srtp_once, sfu_srtp_init_once) != 0)
        return -EIO;
    return sfu_srtp_init_status;
}

static int sfu_srtp_errno(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
    case srtp_err_status_bad_param: /* a header libsrtp cannot parse */
    case srtp_err_status_parse_err:
    case srtp_err_status_bad_mki:
        return -EBADMSG;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
    case srtp_err_status_pkt_idx_old:
        return -EALREADY;
    case srtp_err_status_alloc_fail:
        return -ENOMEM;
    case srtp_err_status_key_expired:
        return -EKEYEXPIRED;
    case srtp_err_status_pkt_idx_adv:
        return -ERANGE;
    default:
        return -EIO;
    }
}

/* One direction's session. key and salt are concatenated as libsrtp wants its master key. */
static int sfu_srtp_session_make(srtp_t *out, const struct dtls_srtp_keys *k, const uint8_t *key,
                                 const uint8_t *salt, srtp_ssrc_type_t type)
{
    uint8_t master[DTLS_SRTP_MAX_KEY_LEN + DTLS_SRTP_MAX_SALT_LEN];
    srtp_policy_t p;
    srtp_err_status_t st;

    memset(&p, 0, sizeof(p));
    if (k->profile == DTLS_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    memcpy(master, key, k->key_len);
    memcpy(master + k->key_len, salt, k->salt_len);
    p.ssrc.type = type;
    p.key = master;
    p.window_size = SFU_SRTP_REPLAY_WINDOW;
    /* libsrtp then refuses to encrypt twice under one index: a keystream reused is broken. */
    p.allow_repeat_tx = 0;
    p.next = NULL;
    st = srtp_create(out, &p);
    OPENSSL_cleanse(master, sizeof(master));
    if (st == srtp_err_status_bad_param)
        return -EINVAL;
    return sfu_srtp_errno(st);
}

int sfu_srtp_new(struct sfu_srtp **out, const struct dtls_srtp_keys *keys)
{
    struct sfu_srtp *s;
    size_t salt_len;
    int err;

    if (out == NULL || keys == NULL)
        return -EINVAL;
    if (keys->profile == DTLS_SRTP_AEAD_AES_128_GCM)
        salt_len = 12;
    else if (keys->profile == DTLS_SRTP_AES128_CM_SHA1_80)
        salt_len = 14;
    else
        return -EINVAL;
    if (keys->key_len != 16 || keys->salt_len != salt_len)
        return -EINVAL;
    if ((err = sfu_srtp_global_init()) < 0)
        return err;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    if ((err = sfu_srtp_session_make(&s->in, keys, keys->remote_key, keys->remote_salt,
                                     ssrc_any_inbound)) < 0 ||
        (err = sfu_srtp_session_make(&s->out, keys, keys->local_key, keys->local_salt,
                                     ssrc_any_outbound)) < 0) {
        sfu_srtp_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void sfu_srtp_free(struct sfu_srtp *s)
{
    if (s == NULL)
        return;
    if (s->in != NULL)
        srtp_dealloc(s->in);
    if (s->out != NULL)
        srtp_dealloc(s->out);
    free(s);
}

/* The shared checks of both protect calls; libsrtp itself never learns the buffer size. */
static int sfu_srtp_protect_check(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t cap,
                                  size_t min)
{
    if (s == NULL || buf == NULL || len == NULL)
        return -EINVAL;
    if (*len < min)
        return -EBADMSG;
    if (cap < *len || cap - *len < SFU_SRTP_MAX_TRAILER)
        return -ENOSPC;
    if (*len > INT_MAX - SFU_SRTP_MAX_TRAILER)
        return -EMSGSIZE;
    return 0;
}

static int sfu_srtp_unprotect_check(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t min)
{
    if (s == NULL || buf == NULL || len == NULL)
        return -EINVAL;
    if (*len < min || *len > INT_MAX)
        return -EBADMSG;
    return 0;
}

int sfu_srtp_protect_rtp(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    int n, err = sfu_srtp_protect_check(s, buf, len, cap, SFU_SRTP_RTP_MIN);
    if (err < 0)
        return err;
    n = (int)*len;
    if ((err = sfu_srtp_errno(srtp_protect(s->out, buf, &n))) < 0)
        return err;
    *len = (size_t)n;
    return 0;
}

int sfu_srtp_unprotect_rtp(struct sfu_srtp *s, uint8_t *buf, size_t *len)
{
    int n, err = sfu_srtp_unprotect_check(s, buf, len, SFU_SRTP_RTP_MIN);
    if (err < 0)
        return err;
    n = (int)*len;
    if ((err = sfu_srtp_errno(srtp_unprotect(s->in, buf, &n))) < 0)
        return err;
    *len = (size_t)n;
    return 0;
}

int sfu_srtp_protect_rtcp(struct sfu_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    int n, err = sfu_srtp_protect_check(s, buf, len, cap, SFU_SRTP_RTCP_MIN);
    if (err < 0)
        return err;
    n = (int)*len;
    if ((err = sfu_srtp_errno(srtp_protect_rtcp(s->out, buf, &n))) < 0)
        return err;
    *len = (size_t)n;
    return 0;
}

int sfu_srtp_unprotect_rtcp(struct sfu_srtp *s, uint8_t *buf, size_t *len)
{
    int n, err = sfu_srtp_unprotect_check(s, buf, len, SFU_SRTP_RTCP_MIN);
    if (err < 0)
        return err;
    n = (int)*len;
    if ((err = sfu_srtp_errno(srtp_unprotect_rtcp(s->in, buf, &n))) < 0)
        return err;
    *len = (size_t)n;
    return 0;
}
