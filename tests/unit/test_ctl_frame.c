/* Control framing: frames split anywhere are reassembled, oversized ones are reported and
 * skipped without losing the next, and the handshake MAC checks. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ctl_frame.h"
#include "harness.h"

struct got {
    int frames;
    int oversized;
    uint64_t last_id;
    size_t last_oversize;
};

static void on_frame(void *arg, int status, const uint8_t *msg, size_t len)
{
    struct got *g = arg;
    if (status == -EMSGSIZE) {
        g->oversized++;
        g->last_oversize = len;
        return;
    }
    Sfu__Envelope *env = sfu__envelope__unpack(NULL, len, msg);
    if (env) {
        g->frames++;
        g->last_id = env->id;
        sfu__envelope__free_unpacked(env, NULL);
    }
}

static int pack_create_room(uint64_t id, const char *room, uint8_t **buf, size_t *len)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = (char *)room;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    return ctl_frame_pack(&env, buf, len);
}

static int test_frame_split_bytewise(void)
{
    uint8_t *buf;
    size_t len;
    struct ctl_frame_reader r;
    struct got g = {0};
    CHECK_EQ(pack_create_room(42, "room-1", &buf, &len), 0);
    ctl_frame_reader_init(&r, 0);
    for (size_t i = 0; i < len; i++)
        CHECK_EQ(ctl_frame_reader_feed(&r, buf + i, 1, on_frame, &g), 0);
    CHECK_EQ(g.frames, 1);
    CHECK_EQ(g.last_id, 42);
    ctl_frame_reader_free(&r);
    free(buf);
    return 0;
}

static int test_frame_oversized_skipped(void)
{
    uint8_t *ok;
    size_t ok_len;
    struct ctl_frame_reader r;
    struct got g = {0};
    /* Announce 2000 bytes against a 1000-byte limit, send them, then a good frame. */
    size_t big_len = 4 + 2000;
    uint8_t *big = calloc(1, big_len);
    CHECK(big != NULL);
    big[2] = 2000 >> 8;
    big[3] = 2000 & 0xff;
    CHECK_EQ(pack_create_room(7, "r", &ok, &ok_len), 0);
    ctl_frame_reader_init(&r, 1000);
    CHECK_EQ(ctl_frame_reader_feed(&r, big, 700, on_frame, &g), 0);
    CHECK_EQ(ctl_frame_reader_feed(&r, big + 700, big_len - 700, on_frame, &g), 0);
    CHECK_EQ(ctl_frame_reader_feed(&r, ok, ok_len, on_frame, &g), 0);
    CHECK_EQ(g.oversized, 1);
    CHECK_EQ(g.last_oversize, 2000);
    CHECK_EQ(g.frames, 1);
    CHECK_EQ(g.last_id, 7);
    ctl_frame_reader_free(&r);
    free(big);
    free(ok);
    return 0;
}

static int test_frame_two_in_one_read(void)
{
    uint8_t *a, *b, both[256];
    size_t al, bl;
    struct ctl_frame_reader r;
    struct got g = {0};
    CHECK_EQ(pack_create_room(1, "a", &a, &al), 0);
    CHECK_EQ(pack_create_room(2, "b", &b, &bl), 0);
    CHECK(al + bl <= sizeof(both));
    memcpy(both, a, al);
    memcpy(both + al, b, bl);
    ctl_frame_reader_init(&r, 0);
    CHECK_EQ(ctl_frame_reader_feed(&r, both, al + bl, on_frame, &g), 0);
    CHECK_EQ(g.frames, 2);
    CHECK_EQ(g.last_id, 2);
    ctl_frame_reader_free(&r);
    free(a);
    free(b);
    return 0;
}

static int test_auth_mac(void)
{
    const uint8_t secret[] = "correct horse battery staple";
    const size_t slen = sizeof(secret) - 1;
    uint8_t nonce[CTL_AUTH_NONCE_LEN] = {1, 2, 3};
    uint8_t mac[CTL_AUTH_MAC_LEN], smac[CTL_AUTH_MAC_LEN], want[CTL_AUTH_MAC_LEN];
    uint8_t msg[16 + CTL_AUTH_NONCE_LEN];
    unsigned int wlen = 0;
    CHECK_EQ(ctl_auth_mac(secret, slen, CTL_AUTH_CLIENT, nonce, mac), 0);
    /* As the wire document says: HMAC-SHA256 over the side's label, then the nonce. */
    memcpy(msg, "gpsfu-ctl client", 16);
    memcpy(msg + 16, nonce, CTL_AUTH_NONCE_LEN);
    CHECK(HMAC(EVP_sha256(), secret, (int)slen, msg, sizeof(msg), want, &wlen) != NULL);
    CHECK_MEM(mac, want, CTL_AUTH_MAC_LEN);
    CHECK_EQ(ctl_auth_verify(secret, slen, CTL_AUTH_CLIENT, nonce, mac), 0);
    /* The server's answer to the same nonce differs: neither side can replay the other's. */
    CHECK_EQ(ctl_auth_mac(secret, slen, CTL_AUTH_SERVER, nonce, smac), 0);
    CHECK(memcmp(mac, smac, CTL_AUTH_MAC_LEN) != 0);
    CHECK_EQ(ctl_auth_verify(secret, slen, CTL_AUTH_SERVER, nonce, mac), -EACCES);
    mac[5] ^= 1;
    CHECK_EQ(ctl_auth_verify(secret, slen, CTL_AUTH_CLIENT, nonce, mac), -EACCES);
    mac[5] ^= 1;
    CHECK_EQ(ctl_auth_verify((const uint8_t *)"wrong", 5, CTL_AUTH_CLIENT, nonce, mac), -EACCES);
    CHECK_EQ(ctl_auth_mac(secret, 0, CTL_AUTH_CLIENT, nonce, mac), -EINVAL);
    return 0;
}

static const struct test_case cases[] = {
    {"frame_split_bytewise", test_frame_split_bytewise},
    {"frame_oversized_skipped", test_frame_oversized_skipped},
    {"frame_two_in_one_read", test_frame_two_in_one_read},
    {"auth_mac", test_auth_mac},
};

TEST_MAIN(cases)
