/* TURN REST credentials: HMAC-SHA1 vectors computed outside this code, the iceServers list, and
 * the TURN URIs that turn-urls accepts and refuses. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "turn.h"

struct vector {
    const uint8_t *secret;
    size_t secret_len;
    int64_t expiry;
    const char *id;
    const char *user, *pass;
};

/* The passwords were computed independently of OpenSSL's HMAC call here, with Python's
 * standard library:
 *   python3 -c "import hmac, hashlib, base64; print(base64.b64encode(
 *       hmac.new(SECRET, USER.encode(), hashlib.sha1).digest()).decode())"
 * for each SECRET (bytes) and USER below: an ordinary secret and participant id, the shortest
 * secret turn-secret-file takes with the smallest expiry, and bytes no secret file would
 * hold (the MAC takes any) with an expiry in the year 9999. */
static const uint8_t binary_secret[] = {
    'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff,
    'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff, 'a', 'b', 0x00, 0xff};

static const struct vector vectors[] = {
    {(const uint8_t *)"north-practice-turn-secret-0123", 31, 1767229200,
     "00112233445566778899aabbccddeeff", "1767229200:00112233445566778899aabbccddeeff",
     "hPgp1BUGdTXtJf7aoKlpma9nAbo="},
    {(const uint8_t *)"kkkkkkkkkkkkkkkk", 16, 0, "a", "0:a", "s9gyRfPOZuDuXFiCAeTHCgUpus4="},
    {binary_secret, sizeof(binary_secret), 253402300799, "p-1_x.y~", "253402300799:p-1_x.y~",
     "uFAs9L5pRy2nv849TDG3mUdf7j0="},
};

static int test_turn_vectors(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        char user[TURN_USER_MAX], pass[TURN_PASS_LEN + 1];
        CHECK_EQ(turn_credential(v->secret, v->secret_len, v->expiry, v->id, user, pass), 0);
        CHECK(strcmp(user, v->user) == 0);
        CHECK(strcmp(pass, v->pass) == 0);
        CHECK_EQ(strlen(pass), TURN_PASS_LEN);
    }
    return 0;
}

/* A key shorter than the secret file allows (turn_credential itself takes any non-empty key, as
 * HMAC does), computed the same way:
 * python3 -c "import hmac, hashlib, base64; print(base64.b64encode(hmac.new(b'Jefe',
 *     b'42:what-do-ya-want', hashlib.sha1).digest()).decode())" */
static int test_turn_short_key(void)
{
    char user[TURN_USER_MAX], pass[TURN_PASS_LEN + 1];
    CHECK_EQ(turn_credential((const uint8_t *)"Jefe", 4, 42, "what-do-ya-want", user, pass), 0);
    CHECK(strcmp(user, "42:what-do-ya-want") == 0);
    CHECK(strcmp(pass, "n7lrt1kOPZM76z2L+WCXIks+Qs8=") == 0);
    return 0;
}

static int test_turn_refuses(void)
{
    char user[TURN_USER_MAX], pass[TURN_PASS_LEN + 1];
    const uint8_t *s = (const uint8_t *)"0123456789abcdef";
    char long_id[TURN_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';

    memset(user, 'x', sizeof(user));
    memset(pass, 'x', sizeof(pass));
    CHECK_EQ(turn_credential(s, 16, 100, "", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, "a:b", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, "a b", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, "a\nb", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, "\xc3\xa9", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, long_id, user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, -1, "a", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 0, 100, "a", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(NULL, 16, 100, "a", user, pass), -EINVAL);
    CHECK_EQ(turn_credential(s, 16, 100, NULL, user, pass), -EINVAL);
    CHECK_EQ(user[0], 'x'); /* nothing written on failure */
    CHECK_EQ(pass[0], 'x');

    long_id[TURN_ID_MAX] = '\0'; /* exactly the longest id */
    CHECK_EQ(turn_credential(s, 16, INT64_MAX, long_id, user, pass), 0);
    CHECK_EQ(strlen(user), 19 + 1 + TURN_ID_MAX);
    return 0;
}

static int test_turn_ice_servers(void)
{
    struct turn_params t = {
        .secret = vectors[0].secret,
        .secret_len = vectors[0].secret_len,
        .urls = {"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"},
        .n_urls = 2,
        .ttl_s = 3600,
    };
    /* Joined at expiry - ttl: the same credential as the first vector. */
    json_t *l = turn_ice_servers(&t, vectors[0].id, vectors[0].expiry - 3600);
    CHECK(l != NULL);
    char *text = json_dumps(l, JSON_COMPACT);
    json_decref(l);
    CHECK(text != NULL);
    const char *want = "[{\"urls\":[\"turn:turn.example.org:3478?transport=udp\","
                       "\"turns:turn.example.org:443\"],"
                       "\"username\":\"1767229200:00112233445566778899aabbccddeeff\","
                       "\"credential\":\"hPgp1BUGdTXtJf7aoKlpma9nAbo=\"}]";
    int same = strcmp(text, want) == 0;
    if (!same)
        fprintf(stderr, "got %s\n", text);
    free(text);
    CHECK(same);

    /* No TURN configured, or an id no credential can be made for: an empty list. */
    struct turn_params none = {0};
    const struct turn_params *cases[] = {NULL, &none, &t};
    const char *ids[] = {"a", "a", "bad:id"};
    for (size_t i = 0; i < 3; i++) {
        l = turn_ice_servers(cases[i], ids[i], 1000);
        CHECK(l != NULL);
        CHECK(json_is_array(l));
        CHECK_EQ(json_array_size(l), 0);
        json_decref(l);
    }
    return 0;
}

static int test_turn_urls(void)
{
    static const char *good[] = {
        "turn:turn.example.org",
        "turn:turn.example.org:3478",
        "turn:turn.example.org:3478?transport=udp",
        "turn:turn.example.org:3478?transport=tcp",
        "turns:turn.example.org:443?transport=tcp",
        "turns:turn.example.org:443",
        "turn:192.0.2.1:3478",
        "turns:[2001:db8::1]:443",
        "turn:[::1]",
        "turn:a-b.c1:65535",
    };
    static const char *bad[] = {
        "",
        "stun:turn.example.org",
        "TURN:turn.example.org",
        "turn://turn.example.org",
        "turn:",
        "turn::3478",
        "turn:host:0",
        "turn:host:65536",
        "turn:host:123456",
        "turn:host:34a8",
        "turn:host:",
        "turn:-host",
        "turn:host.",
        "turn:ho_st",
        "turn:ho st",
        "turn:host\t",
        "turn:host?transport=sctp",
        "turn:host?transport=udp&x=1",
        "turn:host?",
        "turns:host?transport=udp",
        "turn:[2001:db8::1",
        "turn:[2001:db8::zz]:3478",
        "turn:[::1]3478",
        "turn:a:b:c",
        "turn:user@host",
        "https://turn.example.org",
    };
    char reason[512];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (turn_url_check(good[i], reason, sizeof(reason)) != 0) {
            fprintf(stderr, "refused %s: %s\n", good[i], reason);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reason[0] = '\0';
        if (turn_url_check(bad[i], reason, sizeof(reason)) != -EINVAL) {
            fprintf(stderr, "accepted '%s'\n", bad[i]);
            return -1;
        }
        CHECK(reason[0] != '\0');
    }
    char longest[TURN_URL_MAX + 1];
    memset(longest, 'a', sizeof(longest));
    memcpy(longest, "turn:", 5);
    longest[TURN_URL_MAX - 1] = '\0';
    CHECK_EQ(turn_url_check(longest, reason, sizeof(reason)), 0);
    longest[TURN_URL_MAX - 1] = 'a';
    longest[TURN_URL_MAX] = '\0';
    CHECK_EQ(turn_url_check(longest, reason, sizeof(reason)), -EINVAL);
    return 0;
}

static int test_turn_tls_to_ip(void)
{
    CHECK(turn_url_tls_to_ip("turns:192.0.2.1:443?transport=tcp"));
    CHECK(turn_url_tls_to_ip("turns:192.0.2.1"));
    CHECK(turn_url_tls_to_ip("turns:[2001:db8::1]:443"));
    CHECK(!turn_url_tls_to_ip("turns:turn.example.org:443?transport=tcp"));
    CHECK(!turn_url_tls_to_ip("turns:localhost"));
    CHECK(!turn_url_tls_to_ip("turn:192.0.2.1:3478"));
    CHECK(!turn_url_tls_to_ip("turns:192.0.2.1.example.org"));
    return 0;
}

static const struct test_case cases[] = {
    {"turn_vectors", test_turn_vectors}, {"turn_short_key", test_turn_short_key},
    {"turn_refuses", test_turn_refuses}, {"turn_ice_servers", test_turn_ice_servers},
    {"turn_urls", test_turn_urls},       {"turn_tls_to_ip", test_turn_tls_to_ip},
};

TEST_MAIN(cases)
