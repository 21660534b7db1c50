/* Tests ICE-lite STUN handling against the RFC 5769 vectors and against checks built by
 * libnice's own ICE usage, as a browser's agent would send them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "core/bytes.h"
#include "harness.h"
#include "ice/ice_lite.h"

/* RFC 5769 section 2: the short-term password and username of the samples. */
static const char rfc_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 section 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY",
 * MESSAGE-INTEGRITY, FINGERPRINT). */
static const uint8_t rfc_req[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 section 2.2: sample IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t rfc_resp4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 section 2.3: sample IPv6 response, XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc_resp6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* Attributes our test client (the "browser") understands, zero-terminated for libnice. */
static const uint16_t client_known[] = {
    STUN_ATTRIBUTE_USERNAME,
    STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

/* --- An independent walk, written from RFC 5389 sections 15.4 and 15.5, used to check both the
 * RFC responses and our own replies without going through libnice. --- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Offset of the value of the first attribute `type`, or 0 if absent or the walk fails. */
static size_t attr_find(const uint8_t *m, size_t len, uint16_t type, uint16_t *alen)
{
    size_t off = 20;
    while (off + 4 <= len) {
        uint16_t t = be16_load(m + off), l = be16_load(m + off + 2);
        size_t padded = ((size_t)l + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return 0;
        if (t == type) {
            *alen = l;
            return off + 4;
        }
        off += 4 + padded;
    }
    return 0;
}

/* MESSAGE-INTEGRITY: HMAC-SHA1 keyed with the password over the message up to the attribute,
 * with the header length counting up to the end of MESSAGE-INTEGRITY. */
static int integrity_ok(const uint8_t *m, size_t len, const char *pwd)
{
    uint8_t tmp[1500], mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    uint16_t alen;
    size_t v = attr_find(m, len, STUN_ATTRIBUTE_MESSAGE_INTEGRITY, &alen);

    if (v == 0 || alen != 20 || v - 4 > sizeof(tmp))
        return 0;
    memcpy(tmp, m, v - 4);
    be16_store(tmp + 2, (uint16_t)(v - 4 + 24 - 20)); /* up to the end of the 24-byte MI */
    if (!HMAC(EVP_sha1(), pwd, (int)strlen(pwd), tmp, v - 4, mac, &mac_len) || mac_len != 20)
        return 0;
    return memcmp(mac, m + v, 20) == 0;
}

/* FINGERPRINT: the last attribute, CRC-32 of everything before it XOR 0x5354554e. */
static int fingerprint_ok(const uint8_t *m, size_t len)
{
    uint16_t alen;
    size_t v = attr_find(m, len, STUN_ATTRIBUTE_FINGERPRINT, &alen);

    if (v == 0 || alen != 4 || v + 4 != len)
        return 0;
    return (crc32_ieee(m, v - 4) ^ 0x5354554eu) == be32_load(m + v);
}

/* XOR-MAPPED-ADDRESS decoded by hand (RFC 5389 section 15.2). */
static int xor_addr_decode(const uint8_t *m, size_t len, struct sockaddr_storage *ss)
{
    uint16_t alen;
    size_t v = attr_find(m, len, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &alen);

    memset(ss, 0, sizeof(*ss));
    if (v == 0 || alen < 8)
        return -1;
    uint16_t port = be16_load(m + v + 2) ^ 0x2112;
    if (m[v + 1] == 1 && alen == 8) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        uint32_t a = be32_load(m + v + 4) ^ 0x2112A442u;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        s4->sin_addr.s_addr = htonl(a);
        return 0;
    }
    if (m[v + 1] == 2 && alen == 20) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        /* XORed with the magic cookie followed by the transaction ID: header bytes 4..19. */
        for (int i = 0; i < 16; i++)
            s6->sin6_addr.s6_addr[i] = m[v + 4 + i] ^ m[4 + i];
        return 0;
    }
    return -1;
}

static struct sockaddr_in addr4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 addr6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int same_addr(const struct sockaddr_storage *got, const struct sockaddr *want)
{
    if (got->ss_family != want->sa_family)
        return 0;
    if (want->sa_family == AF_INET) {
        const struct sockaddr_in *g = (const void *)got, *w = (const void *)want;
        return g->sin_port == w->sin_port && g->sin_addr.s_addr == w->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *g = (const void *)got, *w = (const void *)want;
    return g->sin6_port == w->sin6_port &&
           memcmp(&g->sin6_addr, &w->sin6_addr, sizeof(w->sin6_addr)) == 0;
}

/* Runs one check of `req` with the RFC credentials' local part "evtj". */
static int check_rfc(const uint8_t *req, size_t len, const char *ufrag, const char *pwd,
                     uint8_t *reply, size_t *reply_len, struct ice_check_info *info)
{
    struct ice_lite *ice = NULL;
    struct sockaddr_in from = addr4("192.0.2.1", 32853);
    int err = ice_lite_new(&ice);
    if (err < 0)
        return err;
    err = ice_lite_check(ice, req, len, (const struct sockaddr *)&from, sizeof(from), ufrag, pwd,
                         reply, reply_len, info);
    ice_lite_free(ice);
    return err;
}

/* --- Tests --- */

static int test_crc32_check_value(void)
{
    /* The CRC-32 check value, so the fingerprint helper below is itself tested. */
    CHECK_EQ(crc32_ieee((const uint8_t *)"123456789", 9), 0xCBF43926u);
    return 0;
}

static int test_rfc5769_request_validates(void)
{
    uint8_t reply[ICE_REPLY_MAX];
    size_t n = sizeof(reply);
    struct ice_check_info info;
    uint16_t alen;

    CHECK_EQ(check_rfc(rfc_req, sizeof(rfc_req), "evtj", rfc_pwd, reply, &n, &info), 0);
    /* The sample request carries ICE-CONTROLLED: a lite agent cannot become controlling, so the
     * answer is a 487 Role Conflict error, signed with the same password. */
    CHECK_EQ(info.kind, ICE_CHECK_ROLE_CONFLICT);
    CHECK_EQ(info.use_candidate, 0);
    CHECK(n > 20 && n <= sizeof(reply));
    CHECK_EQ(be16_load(reply), 0x0111); /* Binding error response */
    CHECK_EQ(be16_load(reply + 2) + 20u, n);
    CHECK_MEM(reply + 4, rfc_req + 4, 16); /* cookie and transaction ID */
    size_t v = attr_find(reply, n, STUN_ATTRIBUTE_ERROR_CODE, &alen);
    CHECK(v != 0 && alen >= 4);
    CHECK_EQ(reply[v + 2] * 100 + reply[v + 3], 487);
    CHECK(integrity_ok(reply, n, rfc_pwd));
    CHECK(!integrity_ok(reply, n, "VOkJxbRl1RmTxUk/WvJxBu"));
    CHECK(fingerprint_ok(reply, n));
    return 0;
}

static int test_rfc5769_ipv4_response(void)
{
    struct sockaddr_storage got;
    struct sockaddr_in want = addr4("192.0.2.1", 32853);
    uint8_t bad[sizeof(rfc_resp4)];

    CHECK_EQ(xor_addr_decode(rfc_resp4, sizeof(rfc_resp4), &got), 0);
    CHECK(same_addr(&got, (const struct sockaddr *)&want));
    CHECK(integrity_ok(rfc_resp4, sizeof(rfc_resp4), rfc_pwd));
    CHECK(fingerprint_ok(rfc_resp4, sizeof(rfc_resp4)));
    /* The walk can fail: one changed address byte breaks both. */
    memcpy(bad, rfc_resp4, sizeof(bad));
    bad[47] ^= 1;
    CHECK(!integrity_ok(bad, sizeof(bad), rfc_pwd));
    CHECK(!fingerprint_ok(bad, sizeof(bad)));
    return 0;
}

static int test_rfc5769_ipv6_response(void)
{
    struct sockaddr_storage got;
    struct sockaddr_in6 want = addr6("2001:db8:1234:5678:11:2233:4455:6677", 32853);

    CHECK_EQ(xor_addr_decode(rfc_resp6, sizeof(rfc_resp6), &got), 0);
    CHECK(same_addr(&got, (const struct sockaddr *)&want));
    CHECK(integrity_ok(rfc_resp6, sizeof(rfc_resp6), rfc_pwd));
    CHECK(fingerprint_ok(rfc_resp6, sizeof(rfc_resp6)));
    CHECK(!integrity_ok(rfc_resp6, sizeof(rfc_resp6), "wrong"));
    return 0;
}

static int test_rfc5769_response_is_not_answered(void)
{
    uint8_t reply[ICE_REPLY_MAX];
    size_t n = sizeof(reply);
    struct ice_check_info info;

    /* A response we never asked for: FINGERPRINT is fine, so it is ignored, not malformed. */
    CHECK_EQ(check_rfc(rfc_resp4, sizeof(rfc_resp4), "evtj", rfc_pwd, reply, &n, &info), -EPROTO);
    CHECK_EQ(check_rfc(rfc_resp6, sizeof(rfc_resp6), "evtj", rfc_pwd, reply, &n, &info), -EPROTO);
    return 0;
}

static int test_wrong_password(void)
{
    uint8_t reply[ICE_REPLY_MAX];
    size_t n = sizeof(reply);
    struct ice_check_info info;

    CHECK_EQ(
        check_rfc(rfc_req, sizeof(rfc_req), "evtj", "VOkJxbRl1RmTxUk/WvJxBT", reply, &n, &info),
        -EACCES);
    return 0;
}

static int test_unknown_ufrag(void)
{
    uint8_t reply[ICE_REPLY_MAX];
    size_t n = sizeof(reply);
    struct ice_check_info info;

    /* Another transport's ufrag, a prefix of the right one, and the remote half of the name. */
    CHECK_EQ(check_rfc(rfc_req, sizeof(rfc_req), "abcd", rfc_pwd, reply, &n, &info), -EACCES);
    CHECK_EQ(check_rfc(rfc_req, sizeof(rfc_req), "evt", rfc_pwd, reply, &n, &info), -EACCES);
    CHECK_EQ(check_rfc(rfc_req, sizeof(rfc_req), "h6vY", rfc_pwd, reply, &n, &info), -EACCES);
    CHECK_EQ(check_rfc(rfc_req, sizeof(rfc_req), "evtj:h6vY", rfc_pwd, reply, &n, &info), -EACCES);
    return 0;
}

static int test_truncations_fail(void)
{
    uint8_t buf[sizeof(rfc_req)];
    uint8_t reply[ICE_REPLY_MAX];
    struct ice_check_info info;

    for (size_t len = 0; len < sizeof(rfc_req); len++) {
        /* A fresh heap copy of exactly len bytes, so ASan sees any read past the end. */
        uint8_t *p = malloc(len ? len : 1);
        CHECK(p != NULL);
        memcpy(p, rfc_req, len);
        size_t n = sizeof(reply);
        int err = check_rfc(p, len, "evtj", rfc_pwd, reply, &n, &info);
        const char *u;
        size_t ulen;
        int uerr = ice_stun_username_local(p, len, &u, &ulen);
        free(p);
        CHECK(err < 0);
        CHECK_EQ(uerr, -EBADMSG);
    }
    /* The same with the header length fixed up to each shorter, 4-aligned size: still refused
     * (the missing attributes then fail FINGERPRINT). */
    for (size_t len = 20; len < sizeof(rfc_req); len += 4) {
        memcpy(buf, rfc_req, len);
        be16_store(buf + 2, (uint16_t)(len - 20));
        size_t n = sizeof(reply);
        CHECK_EQ(check_rfc(buf, len, "evtj", rfc_pwd, reply, &n, &info), -EBADMSG);
    }
    return 0;
}

static int test_bit_flips_fail(void)
{
    uint8_t buf[sizeof(rfc_req)];
    uint8_t reply[ICE_REPLY_MAX];
    struct ice_check_info info;

    /* FINGERPRINT covers every other byte, so any single flipped bit is malformed. */
    for (size_t i = 0; i < sizeof(rfc_req) * 8; i++) {
        memcpy(buf, rfc_req, sizeof(buf));
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        size_t n = sizeof(reply);
        CHECK_EQ(check_rfc(buf, sizeof(buf), "evtj", rfc_pwd, reply, &n, &info), -EBADMSG);
    }
    return 0;
}

static int test_username_local(void)
{
    const char *u = NULL;
    size_t ulen = 0;
    uint8_t buf[sizeof(rfc_req)];

    CHECK_EQ(ice_stun_username_local(rfc_req, sizeof(rfc_req), &u, &ulen), 0);
    CHECK_EQ(ulen, 4);
    CHECK_MEM(u, "evtj", 4);
    CHECK(u == (const char *)rfc_req + 64); /* points into the datagram */
    CHECK_EQ(ice_stun_username_local(rfc_resp4, sizeof(rfc_resp4), &u, &ulen), -ENOENT);
    /* No ':' in USERNAME. */
    memcpy(buf, rfc_req, sizeof(buf));
    buf[68] = 'x';
    CHECK_EQ(ice_stun_username_local(buf, sizeof(buf), &u, &ulen), -EBADMSG);
    /* Empty local part. */
    memcpy(buf, rfc_req, sizeof(buf));
    buf[64] = ':';
    CHECK_EQ(ice_stun_username_local(buf, sizeof(buf), &u, &ulen), -EBADMSG);
    /* An attribute length running past the message. */
    memcpy(buf, rfc_req, sizeof(buf));
    be16_store(buf + 22, 0x0100);
    CHECK_EQ(ice_stun_username_local(buf, sizeof(buf), &u, &ulen), -EBADMSG);
    return 0;
}

static int test_stun_maybe(void)
{
    uint8_t buf[sizeof(rfc_req)];

    CHECK(ice_stun_maybe(rfc_req, sizeof(rfc_req)));
    CHECK(ice_stun_maybe(rfc_resp6, sizeof(rfc_resp6)));
    CHECK(!ice_stun_maybe(rfc_req, 19));
    CHECK(!ice_stun_maybe(rfc_req, sizeof(rfc_req) - 4)); /* length field disagrees */
    memcpy(buf, rfc_req, sizeof(buf));
    buf[0] = 0x80; /* RTP-like first bits */
    CHECK(!ice_stun_maybe(buf, sizeof(buf)));
    memcpy(buf, rfc_req, sizeof(buf));
    buf[7] = 0x43; /* magic cookie */
    CHECK(!ice_stun_maybe(buf, sizeof(buf)));
    memcpy(buf, rfc_req, sizeof(buf));
    be16_store(buf + 2, 0x57); /* not a multiple of 4 */
    CHECK(!ice_stun_maybe(buf, 20 + 0x57));
    return 0;
}

/* The browser side: builds a check as libnice's full agent does, sends it to ice_lite_check from
 * `from`, and validates the answer on the same client agent. */
static int roundtrip(const struct sockaddr *from, socklen_t from_len, bool cand_use,
                     bool controlling, uint32_t prio, uint64_t tie, StunUsageIceReturn want_ret,
                     enum ice_check_kind want_kind)
{
    static const char srv_ufrag[] = "Sv3rUfrg", srv_pwd[] = "0123456789abcdefghijklmn";
    static const char uname[] = "Sv3rUfrg:brwsr";
    StunAgent client;
    StunMessage creq, cresp;
    uint8_t req[ICE_REPLY_MAX], reply[ICE_REPLY_MAX];
    struct ice_lite *ice = NULL;
    struct ice_check_info info;
    struct sockaddr_storage mapped;
    socklen_t mapped_len = sizeof(mapped);

    stun_agent_init(&client, client_known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    size_t len = stun_usage_ice_conncheck_create(
        &client, &creq, req, sizeof(req), (const uint8_t *)uname, strlen(uname),
        (const uint8_t *)srv_pwd, strlen(srv_pwd), cand_use, controlling, prio, tie, NULL,
        STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    CHECK(len > 0);

    CHECK_EQ(ice_lite_new(&ice), 0);
    size_t n = sizeof(reply);
    int err = ice_lite_check(ice, req, len, from, from_len, srv_ufrag, srv_pwd, reply, &n, &info);
    ice_lite_free(ice);
    CHECK_EQ(err, 0);
    CHECK_EQ(info.kind, want_kind);
    CHECK(n > 20);
    CHECK(integrity_ok(reply, n, srv_pwd));
    CHECK(fingerprint_ok(reply, n));

    CHECK_EQ(stun_agent_validate(&client, &cresp, reply, n, NULL, NULL), STUN_VALIDATION_SUCCESS);
    CHECK_EQ(stun_usage_ice_conncheck_process(&cresp, &mapped, &mapped_len,
                                              STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
             want_ret);
    if (want_kind == ICE_CHECK_REQUEST) {
        CHECK_EQ(info.use_candidate, cand_use);
        CHECK_EQ(info.priority, prio);
        CHECK(same_addr(&mapped, from));
        /* Our own decoding agrees with libnice's. */
        struct sockaddr_storage mine;
        CHECK_EQ(xor_addr_decode(reply, n, &mine), 0);
        CHECK(same_addr(&mine, from));
    }
    return 0;
}

static int test_conncheck_roundtrip_ipv4(void)
{
    struct sockaddr_in from = addr4("127.0.0.1", 50123);
    const struct sockaddr *sa = (const struct sockaddr *)&from;

    CHECK_EQ(roundtrip(sa, sizeof(from), true, true, 0x6e0001ff, 0x0102030405060708ull,
                       STUN_USAGE_ICE_RETURN_SUCCESS, ICE_CHECK_REQUEST),
             0);
    CHECK_EQ(roundtrip(sa, sizeof(from), false, true, 0x7e7f00ff, UINT64_MAX,
                       STUN_USAGE_ICE_RETURN_SUCCESS, ICE_CHECK_REQUEST),
             0);
    return 0;
}

static int test_conncheck_roundtrip_ipv6(void)
{
    struct sockaddr_in6 from = addr6("2001:db8::1:2", 443);

    CHECK_EQ(roundtrip((const struct sockaddr *)&from, sizeof(from), true, true, 1, 0,
                       STUN_USAGE_ICE_RETURN_SUCCESS, ICE_CHECK_REQUEST),
             0);
    return 0;
}

static int test_conncheck_role_conflict(void)
{
    struct sockaddr_in from = addr4("127.0.0.1", 50123);

    /* The peer claims controlled too: it gets a signed 487 and must switch, whatever its
     * tie-breaker. With 0, libnice alone would switch us to controlling instead (our 0 >= theirs);
     * ice_lite_check overrides that, which is tested here too. */
    static const uint64_t ties[] = {0, 1, 0x932ff9b151263b36ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(ties) / sizeof(ties[0]); i++)
        CHECK_EQ(roundtrip((const struct sockaddr *)&from, sizeof(from), true, false, 5, ties[i],
                           STUN_USAGE_ICE_RETURN_ROLE_CONFLICT, ICE_CHECK_ROLE_CONFLICT),
                 0);
    return 0;
}

static int test_binding_indication(void)
{
    StunAgent client;
    StunMessage m;
    uint8_t buf[128], reply[ICE_REPLY_MAX];
    struct ice_lite *ice = NULL;
    struct ice_check_info info;
    struct sockaddr_in from = addr4("127.0.0.1", 4000);

    stun_agent_init(&client, client_known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    CHECK(stun_agent_init_indication(&client, &m, buf, sizeof(buf), STUN_BINDING));
    size_t len = stun_agent_finish_message(&client, &m, NULL, 0);
    CHECK(len > 20);

    CHECK_EQ(ice_lite_new(&ice), 0);
    size_t n = sizeof(reply);
    int err = ice_lite_check(ice, buf, len, (const struct sockaddr *)&from, sizeof(from), "ufrag",
                             "password-password-pass", reply, &n, &info);
    ice_lite_free(ice);
    CHECK_EQ(err, 0);
    CHECK_EQ(info.kind, ICE_CHECK_INDICATION);
    CHECK_EQ(n, 0);
    return 0;
}

/* A request built by the client agent with chosen attributes, checked by ice_lite_check. */
static int build_and_check(StunMethod method, bool with_user, bool with_fp, const char *key,
                           size_t reply_cap)
{
    StunAgent client;
    StunMessage m;
    uint8_t buf[256], reply[ICE_REPLY_MAX];
    struct ice_lite *ice = NULL;
    struct ice_check_info info;
    struct sockaddr_in from = addr4("127.0.0.1", 4000);
    static const char uname[] = "ufrag:peer";

    stun_agent_init(&client, client_known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                        (with_fp ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0));
    if (!stun_agent_init_request(&client, &m, buf, sizeof(buf), method))
        return -1000;
    if (with_user && stun_message_append_bytes(&m, STUN_ATTRIBUTE_USERNAME, uname, strlen(uname)) !=
                         STUN_MESSAGE_RETURN_SUCCESS)
        return -1000;
    size_t len =
        stun_agent_finish_message(&client, &m, (const uint8_t *)key, key ? strlen(key) : 0);
    if (len == 0)
        return -1000;
    if (ice_lite_new(&ice) < 0)
        return -1000;
    size_t n = reply_cap;
    int err = ice_lite_check(ice, buf, len, (const struct sockaddr *)&from, sizeof(from), "ufrag",
                             "password-password-pass", reply, &n, &info);
    ice_lite_free(ice);
    return err;
}

static int test_request_shapes(void)
{
    const char *pwd = "password-password-pass";

    /* The well-formed baseline is accepted, so each refusal below is about one change. */
    CHECK_EQ(build_and_check(STUN_BINDING, true, true, pwd, ICE_REPLY_MAX), 0);
    CHECK_EQ(build_and_check(STUN_BINDING, true, false, pwd, ICE_REPLY_MAX), -EBADMSG);
    CHECK_EQ(build_and_check(STUN_BINDING, false, true, pwd, ICE_REPLY_MAX), -EACCES);
    CHECK_EQ(build_and_check(STUN_BINDING, true, true, NULL, ICE_REPLY_MAX), -EACCES);
    CHECK_EQ(build_and_check(STUN_ALLOCATE, true, true, pwd, ICE_REPLY_MAX), -EPROTO);
    CHECK_EQ(build_and_check(STUN_BINDING, true, true, pwd, 10), -ENOSPC);
    CHECK_EQ(build_and_check(STUN_BINDING, true, true, pwd, 40), -ENOSPC);
    return 0;
}

static int test_bad_source_address(void)
{
    uint8_t reply[ICE_REPLY_MAX];
    size_t n = sizeof(reply);
    struct ice_check_info info;
    struct ice_lite *ice = NULL;
    struct sockaddr_in from = addr4("192.0.2.1", 32853);
    struct sockaddr_un_like {
        sa_family_t fam;
        char path[20];
    } unix_from = {AF_UNIX, "x"};

    CHECK_EQ(ice_lite_new(&ice), 0);
    int e1 = ice_lite_check(ice, rfc_req, sizeof(rfc_req), (const struct sockaddr *)&from,
                            sizeof(from) - 4, "evtj", rfc_pwd, reply, &n, &info);
    int e2 = ice_lite_check(ice, rfc_req, sizeof(rfc_req), (const struct sockaddr *)&unix_from,
                            sizeof(unix_from), "evtj", rfc_pwd, reply, &n, &info);
    n = sizeof(reply);
    int e3 = ice_lite_check(ice, rfc_req, sizeof(rfc_req), (const struct sockaddr *)&from,
                            sizeof(from), "", rfc_pwd, reply, &n, &info);
    int e4 = ice_lite_check(ice, rfc_req, sizeof(rfc_req), (const struct sockaddr *)&from,
                            sizeof(from), "evtj", "", reply, &n, &info);
    ice_lite_free(ice);
    CHECK_EQ(e1, -EINVAL);
    CHECK_EQ(e2, -EINVAL);
    CHECK_EQ(e3, -EINVAL);
    CHECK_EQ(e4, -EINVAL);
    return 0;
}

static int is_ice_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static int test_credentials_generate(void)
{
    char u1[ICE_UFRAG_LEN + 1], p1[ICE_PWD_LEN + 1], u2[ICE_UFRAG_LEN + 1], p2[ICE_PWD_LEN + 1];

    CHECK_EQ(ice_credentials_generate(u1, sizeof(u1), p1, sizeof(p1)), 0);
    CHECK_EQ(ice_credentials_generate(u2, sizeof(u2), p2, sizeof(p2)), 0);
    CHECK_EQ(strlen(u1), ICE_UFRAG_LEN);
    CHECK_EQ(strlen(p1), ICE_PWD_LEN);
    for (size_t i = 0; i < ICE_UFRAG_LEN; i++)
        CHECK(is_ice_char(u1[i]));
    for (size_t i = 0; i < ICE_PWD_LEN; i++)
        CHECK(is_ice_char(p1[i]));
    /* 144 random bits: equal passwords would mean the generator is not random. */
    CHECK(strcmp(p1, p2) != 0);
    memset(u2, 'Q', sizeof(u2));
    CHECK_EQ(ice_credentials_generate(u2, ICE_UFRAG_LEN, p2, sizeof(p2)), -ENOSPC);
    CHECK_EQ(u2[0], 'Q'); /* untouched on failure */
    CHECK_EQ(ice_credentials_generate(u2, sizeof(u2), p2, ICE_PWD_LEN), -ENOSPC);
    return 0;
}

static const struct test_case cases[] = {
    {"crc32_check_value", test_crc32_check_value},
    {"rfc5769_request_validates", test_rfc5769_request_validates},
    {"rfc5769_ipv4_response", test_rfc5769_ipv4_response},
    {"rfc5769_ipv6_response", test_rfc5769_ipv6_response},
    {"rfc5769_response_is_not_answered", test_rfc5769_response_is_not_answered},
    {"wrong_password", test_wrong_password},
    {"unknown_ufrag", test_unknown_ufrag},
    {"truncations_fail", test_truncations_fail},
    {"bit_flips_fail", test_bit_flips_fail},
    {"username_local", test_username_local},
    {"stun_maybe", test_stun_maybe},
    {"conncheck_roundtrip_ipv4", test_conncheck_roundtrip_ipv4},
    {"conncheck_roundtrip_ipv6", test_conncheck_roundtrip_ipv6},
    {"conncheck_role_conflict", test_conncheck_role_conflict},
    {"binding_indication", test_binding_indication},
    {"request_shapes", test_request_shapes},
    {"bad_source_or_credentials", test_bad_source_address},
    {"credentials_generate", test_credentials_generate},
};

TEST_MAIN(cases)
