/* Length-prefixed framing and the shared-secret handshake of the control protocol. */
#include "ctl_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void ctl_frame_reader_init(struct ctl_frame_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max ? max : CTL_FRAME_MAX_DEFAULT;
}

void ctl_frame_reader_free(struct ctl_frame_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

static int reader_reserve(struct ctl_frame_reader *r, size_t need)
{
    if (need <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *nb = realloc(r->buf, cap);
    if (!nb)
        return -ENOMEM;
    r->buf = nb;
    r->cap = cap;
    return 0;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int ctl_frame_reader_feed(struct ctl_frame_reader *r, const uint8_t *data, size_t len,
                          ctl_frame_cb cb, void *arg)
{
    while (len > 0) {
        if (r->skip) {
            size_t n = len < r->skip ? len : r->skip;
            r->skip -= n;
            data += n;
            len -= n;
            continue;
        }
        /* Gather the header, then the body, in the buffer. A frame that arrives whole in
         * data could be handed over without the copy, but control traffic is small and
         * rare; one path is easier to get right. */
        size_t want = CTL_FRAME_HDR_LEN;
        if (r->len >= CTL_FRAME_HDR_LEN)
            want += load_be32(r->buf);
        size_t n = want - r->len;
        if (n > len)
            n = len;
        if (reader_reserve(r, r->len + n) < 0)
            return -ENOMEM;
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        data += n;
        len -= n;
        if (r->len < CTL_FRAME_HDR_LEN)
            continue;
        uint32_t body = load_be32(r->buf);
        if (r->len == CTL_FRAME_HDR_LEN && body > r->max) {
            r->len = 0;
            r->skip = body;
            cb(arg, -EMSGSIZE, NULL, body);
            continue;
        }
        if (r->len == CTL_FRAME_HDR_LEN + body) {
            r->len = 0;
            cb(arg, 0, r->buf + CTL_FRAME_HDR_LEN, body);
        }
    }
    return 0;
}

int ctl_frame_pack(const Sfu__Envelope *env, uint8_t **out, size_t *out_len)
{
    size_t body = sfu__envelope__get_packed_size(env);
    uint8_t *buf = malloc(CTL_FRAME_HDR_LEN + body);
    if (!buf)
        return -ENOMEM;
    buf[0] = (uint8_t)(body >> 24);
    buf[1] = (uint8_t)(body >> 16);
    buf[2] = (uint8_t)(body >> 8);
    buf[3] = (uint8_t)body;
    sfu__envelope__pack(env, buf + CTL_FRAME_HDR_LEN);
    *out = buf;
    *out_len = CTL_FRAME_HDR_LEN + body;
    return 0;
}

int ctl_auth_mac(const uint8_t *secret, size_t secret_len, enum ctl_auth_side side,
                 const uint8_t nonce[CTL_AUTH_NONCE_LEN], uint8_t mac[CTL_AUTH_MAC_LEN])
{
    static const char client_label[] = "gpsfu-ctl client";
    static const char server_label[] = "gpsfu-ctl server";
    const char *label = side == CTL_AUTH_CLIENT ? client_label : server_label;
    uint8_t msg[sizeof(client_label) - 1 + CTL_AUTH_NONCE_LEN];
    unsigned int mac_len = 0;
    if (!secret || secret_len == 0 || secret_len > 1024)
        return -EINVAL;
    memcpy(msg, label, sizeof(client_label) - 1);
    memcpy(msg + sizeof(client_label) - 1, nonce, CTL_AUTH_NONCE_LEN);
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, msg, sizeof(msg), mac, &mac_len) ||
        mac_len != CTL_AUTH_MAC_LEN)
        return -EINVAL;
    return 0;
}

int ctl_auth_verify(const uint8_t *secret, size_t secret_len, enum ctl_auth_side side,
                    const uint8_t nonce[CTL_AUTH_NONCE_LEN], const uint8_t mac[CTL_AUTH_MAC_LEN])
{
    uint8_t want[CTL_AUTH_MAC_LEN];
    if (ctl_auth_mac(secret, secret_len, side, nonce, want) < 0)
        return -EACCES;
    return CRYPTO_memcmp(want, mac, CTL_AUTH_MAC_LEN) == 0 ? 0 : -EACCES;
}
