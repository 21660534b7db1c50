/* Framing of control messages: a 4-byte big-endian length, then one packed sfu.Envelope.
 * Shared by the SFU, signalling, the bench tool and the tests; knows nothing of sockets. */
#ifndef CTL_FRAME_H
#define CTL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "sfu.pb-c.h"

#define CTL_FRAME_HDR_LEN     4
#define CTL_FRAME_MAX_DEFAULT (256u * 1024u)

/* TCP handshake, proving the secret both ways (Unix sockets skip it: mode 0600):
 *   server -> client: CTL_AUTH_MAGIC, then a random nonce Ns
 *   client -> server: HMAC-SHA256(secret, "gpsfu-ctl client" || Ns), then a random nonce Nc
 *   server -> client: HMAC-SHA256(secret, "gpsfu-ctl server" || Nc)
 * and only then do frames flow. The labels keep one side's answer from serving as the other's. */
#define CTL_AUTH_MAGIC      "GPSFU-CTL-2\n"
#define CTL_AUTH_MAGIC_LEN  12
#define CTL_AUTH_NONCE_LEN  32
#define CTL_AUTH_MAC_LEN    32
#define CTL_AUTH_CLIENT_LEN (CTL_AUTH_MAC_LEN + CTL_AUTH_NONCE_LEN)

enum ctl_auth_side { CTL_AUTH_CLIENT, CTL_AUTH_SERVER };

/* Called once per complete frame. status is 0 with the message bytes (borrowed for the call),
 * or -EMSGSIZE with msg NULL and len the announced length, which the reader then skips. */
typedef void (*ctl_frame_cb)(void *arg, int status, const uint8_t *msg, size_t len);

struct ctl_frame_reader {
    uint8_t *buf; /* owned */
    size_t len;
    size_t cap;
    size_t max;
    size_t skip; /* bytes of an oversized frame still to discard */
};

/* max: the largest message accepted (0: CTL_FRAME_MAX_DEFAULT). */
void ctl_frame_reader_init(struct ctl_frame_reader *r, size_t max);
void ctl_frame_reader_free(struct ctl_frame_reader *r);

/* Feeds bytes as they arrive; calls cb for every frame they complete.
 * Returns 0, or -ENOMEM (the reader is then unusable and the connection should close). */
int ctl_frame_reader_feed(struct ctl_frame_reader *r, const uint8_t *data, size_t len,
                          ctl_frame_cb cb, void *arg);

/* Packs env with its length prefix into a new buffer (*out, free()d by the caller).
 * Returns 0 or -ENOMEM. */
int ctl_frame_pack(const Sfu__Envelope *env, uint8_t **out, size_t *out_len);

/* mac = HMAC-SHA256(secret, label of side || nonce): side's answer to the other's nonce.
 * Returns 0, or -EINVAL. */
int ctl_auth_mac(const uint8_t *secret, size_t secret_len, enum ctl_auth_side side,
                 const uint8_t nonce[CTL_AUTH_NONCE_LEN], uint8_t mac[CTL_AUTH_MAC_LEN]);

/* Constant-time check of side's answer. Returns 0 when it matches, -EACCES otherwise. */
int ctl_auth_verify(const uint8_t *secret, size_t secret_len, enum ctl_auth_side side,
                    const uint8_t nonce[CTL_AUTH_NONCE_LEN], const uint8_t mac[CTL_AUTH_MAC_LEN]);

#endif
