/* Link tokens: HS256 JWT compact form on OpenSSL's HMAC and jansson, strict on what it accepts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "token.h"

#define MAC_LEN 32

/* The only header we make, and the base64url of it: signing never varies it, so it is a
 * constant rather than something built (and possibly reordered) at run time. */
#define HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" /* {"alg":"HS256","typ":"JWT"} */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const role_names[] = {
    [TOKEN_ROLE_HOST] = "host",
    [TOKEN_ROLE_PATIENT] = "patient",
    [TOKEN_ROLE_GUEST] = "guest",
    [TOKEN_ROLE_OBSERVER] = "observer",
};

const char *token_role_name(enum token_role role)
{
    if (role < TOKEN_ROLE_HOST || role > TOKEN_ROLE_OBSERVER)
        return NULL;
    return role_names[role];
}

static int role_from_name(const char *s, size_t len, enum token_role *out)
{
    for (int r = TOKEN_ROLE_HOST; r <= TOKEN_ROLE_OBSERVER; r++) {
        if (strlen(role_names[r]) == len && memcmp(role_names[r], s, len) == 0) {
            *out = (enum token_role)r;
            return 0;
        }
    }
    return -EINVAL;
}

/* Returns the value of a base64url character, or -1 for anything else ('=' included: we
 * never pad, and accepting it would give one token two spellings). */
static int b64url_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

int token__b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    if (need >= cap || need > INT_MAX)
        return -ENOSPC;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

int token__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    /* One leftover character carries only 6 bits: no byte can end there. */
    if (len % 4 == 1)
        return -EBADMSG;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap || need > INT_MAX)
        return -ENOSPC;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -EBADMSG;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Bits left over must be zero, or "AB" and "AA" would both decode to the same byte. */
    if (acc & ((1u << bits) - 1))
        return -EBADMSG;
    return (int)o;
}

int token__hs256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t mac[32])
{
    unsigned int mac_len = 0;
    if (key_len > INT_MAX)
        return -EIO;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, mac, &mac_len) || mac_len != MAC_LEN)
        return -EIO;
    return 0;
}

static bool consultation_ok(const char *s, size_t len)
{
    if (len < 1 || len > TOKEN_CONSULTATION_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool jti_ok(const char *s, size_t len)
{
    if (len != TOKEN_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

static bool times_ok(int64_t iat, int64_t exp)
{
    return iat >= 0 && iat < exp && exp <= TOKEN_TIME_MAX;
}

/* The same checks token_verify makes on what it decodes, so we never sign what we would refuse. */
static bool claims_ok(const struct token_claims *c)
{
    return consultation_ok(c->consultation, strnlen(c->consultation, sizeof(c->consultation))) &&
           token_role_name(c->role) && jti_ok(c->jti, strnlen(c->jti, sizeof(c->jti))) &&
           times_ok(c->iat, c->exp);
}

int token_sign(const uint8_t *secret, size_t secret_len, const struct token_claims *c, char *out,
               size_t cap)
{
    if (!secret || !c || !out || secret_len < TOKEN_SECRET_MIN || secret_len > INT_MAX)
        return -EINVAL;
    if (!claims_ok(c))
        return -EINVAL;

    /* Every value was checked above to need no JSON escaping (fixed charsets and integers), so
     * the payload is printed directly, in a fixed order, without an allocation. */
    char payload[256];
    int plen = snprintf(payload, sizeof(payload),
                        "{\"c\":\"%s\",\"r\":\"%s\",\"jti\":\"%s\",\"iat\":%" PRId64
                        ",\"exp\":%" PRId64 ",\"su\":%s}",
                        c->consultation, token_role_name(c->role), c->jti, c->iat, c->exp,
                        c->single_use ? "true" : "false");
    if (plen < 0 || (size_t)plen >= sizeof(payload))
        return -EINVAL;

    char buf[TOKEN_SIGNED_MAX];
    size_t n = sizeof(HEADER_B64) - 1;
    memcpy(buf, HEADER_B64, n);
    buf[n++] = '.';
    int r = token__b64url_encode((const uint8_t *)payload, (size_t)plen, buf + n, sizeof(buf) - n);
    if (r < 0)
        return -EINVAL;
    n += (size_t)r;

    uint8_t mac[MAC_LEN];
    if (token__hs256(secret, secret_len, (const uint8_t *)buf, n, mac) < 0)
        return -EIO;
    buf[n++] = '.';
    r = token__b64url_encode(mac, sizeof(mac), buf + n, sizeof(buf) - n);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (r < 0)
        return -EINVAL;
    n += (size_t)r;

    if (n + 1 > cap) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return -ENOSPC;
    }
    memcpy(out, buf, n + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    return (int)n;
}

/* The header may hold only alg, which must be exactly "HS256", and optionally typ "JWT".
 * Anything else (alg "none", another algorithm, "crit", a key id) is a token we did not make. */
static int header_check(const uint8_t *buf, size_t len)
{
    json_t *h = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!h || !json_is_object(h)) {
        json_decref(h);
        return -EBADMSG;
    }
    int rc = 0;
    bool have_alg = false;
    const char *key;
    json_t *val;
    json_object_foreach(h, key, val)
    {
        if (strcmp(key, "alg") == 0) {
            /* A wrong alg leaves have_alg false, which is refused below. */
            have_alg = json_is_string(val) && json_string_length(val) == 5 &&
                       memcmp(json_string_value(val), "HS256", 5) == 0;
        } else if (strcmp(key, "typ") == 0) {
            if (!json_is_string(val) || json_string_length(val) != 3 ||
                memcmp(json_string_value(val), "JWT", 3) != 0)
                rc = -EACCES;
        } else {
            rc = -EACCES;
        }
    }
    json_decref(h);
    if (rc == 0 && !have_alg)
        rc = -EACCES;
    return rc;
}

enum {
    SEEN_C = 1 << 0,
    SEEN_R = 1 << 1,
    SEEN_JTI = 1 << 2,
    SEEN_IAT = 1 << 3,
    SEEN_EXP = 1 << 4,
    SEEN_SU = 1 << 5,
    SEEN_ALL = (1 << 6) - 1,
};

static int claim_time(json_t *val, int64_t *out)
{
    if (!json_is_integer(val))
        return -EINVAL;
    json_int_t v = json_integer_value(val);
    if (v < 0 || v > TOKEN_TIME_MAX)
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

/* Reads one claim into c; unknown names and wrong types are refused. */
static int claim_read(const char *key, json_t *val, struct token_claims *c, unsigned *seen)
{
    if (strcmp(key, "c") == 0) {
        if (!json_is_string(val))
            return -EINVAL;
        size_t n = json_string_length(val);
        if (!consultation_ok(json_string_value(val), n))
            return -EINVAL;
        memcpy(c->consultation, json_string_value(val), n);
        c->consultation[n] = '\0';
        *seen |= SEEN_C;
    } else if (strcmp(key, "r") == 0) {
        if (!json_is_string(val) ||
            role_from_name(json_string_value(val), json_string_length(val), &c->role) < 0)
            return -EINVAL;
        *seen |= SEEN_R;
    } else if (strcmp(key, "jti") == 0) {
        if (!json_is_string(val) || !jti_ok(json_string_value(val), json_string_length(val)))
            return -EINVAL;
        memcpy(c->jti, json_string_value(val), TOKEN_ID_LEN + 1);
        *seen |= SEEN_JTI;
    } else if (strcmp(key, "iat") == 0) {
        if (claim_time(val, &c->iat) < 0)
            return -EINVAL;
        *seen |= SEEN_IAT;
    } else if (strcmp(key, "exp") == 0) {
        if (claim_time(val, &c->exp) < 0)
            return -EINVAL;
        *seen |= SEEN_EXP;
    } else if (strcmp(key, "su") == 0) {
        if (!json_is_boolean(val))
            return -EINVAL;
        c->single_use = json_is_true(val);
        *seen |= SEEN_SU;
    } else {
        return -EINVAL;
    }
    return 0;
}

static int claims_parse(const uint8_t *buf, size_t len, struct token_claims *c)
{
    /* Duplicates are refused: a second "r" must not quietly win over the first. */
    json_t *p = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!p || !json_is_object(p)) {
        json_decref(p);
        return -EBADMSG;
    }
    int rc = 0;
    unsigned seen = 0;
    const char *key;
    json_t *val;
    json_object_foreach(p, key, val)
    {
        rc = claim_read(key, val, c, &seen);
        if (rc < 0)
            break;
    }
    json_decref(p);
    if (rc < 0)
        return rc;
    if (seen != SEEN_ALL || !times_ok(c->iat, c->exp))
        return -EINVAL;
    return 0;
}

static bool b64url_chars_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (b64url_value((unsigned char)s[i]) < 0)
            return false;
    return true;
}

int token_verify(const uint8_t *secret, size_t secret_len, const char *token, size_t len,
                 int64_t now, struct token_claims *out)
{
    if (!secret || !token || !out || secret_len < TOKEN_SECRET_MIN || secret_len > INT_MAX)
        return -EINVAL;
    if (len > TOKEN_MAX_LEN)
        return -EBADMSG;

    const char *dot1 = memchr(token, '.', len);
    if (!dot1)
        return -EBADMSG;
    const char *pay = dot1 + 1;
    const char *dot2 = memchr(pay, '.', len - (size_t)(pay - token));
    if (!dot2)
        return -EBADMSG;
    const char *sig = dot2 + 1;
    size_t h_len = (size_t)(dot1 - token);
    size_t p_len = (size_t)(dot2 - pay);
    size_t s_len = len - (size_t)(sig - token);
    /* A third dot, or any other stray byte, fails the alphabet check. An empty signature is
     * let through to be refused as a bad signature: that is what an alg "none" token is. */
    if (h_len == 0 || p_len == 0 || !b64url_chars_ok(token, h_len) ||
        !b64url_chars_ok(pay, p_len) || !b64url_chars_ok(sig, s_len))
        return -EBADMSG;

    uint8_t buf[TOKEN_MAX_LEN];
    int n = token__b64url_decode(token, h_len, buf, sizeof(buf));
    if (n < 0)
        return -EBADMSG;
    int rc = header_check(buf, (size_t)n);
    if (rc < 0)
        return rc;

    uint8_t want[MAC_LEN], got[MAC_LEN];
    n = token__b64url_decode(sig, s_len, buf, sizeof(buf));
    if (n < 0)
        return -EBADMSG;
    if (n != MAC_LEN)
        return -EACCES;
    memcpy(got, buf, MAC_LEN);
    if (token__hs256(secret, secret_len, (const uint8_t *)token, h_len + 1 + p_len, want) < 0)
        return -EIO;
    /* Constant time, so a forger learns nothing from how long a wrong guess took. */
    rc = CRYPTO_memcmp(want, got, MAC_LEN) == 0 ? 0 : -EACCES;
    OPENSSL_cleanse(want, sizeof(want));
    if (rc < 0)
        return rc;

    /* From here on the payload is ours (or the secret has leaked). */
    n = token__b64url_decode(pay, p_len, buf, sizeof(buf));
    if (n < 0)
        return -EBADMSG;
    struct token_claims c;
    memset(&c, 0, sizeof(c));
    rc = claims_parse(buf, (size_t)n, &c);
    if (rc < 0)
        return rc;

    /* Bounded by TOKEN_TIME_MAX, so neither sum can overflow. */
    if (now < c.iat - TOKEN_CLOCK_SKEW_S || now >= c.exp + TOKEN_CLOCK_SKEW_S)
        return -ETIMEDOUT;
    *out = c;
    return 0;
}

int token_id_new(char out[TOKEN_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[TOKEN_ID_LEN / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[TOKEN_ID_LEN] = '\0';
    return 0;
}

const char *token_strerror(int err)
{
    switch (err) {
    case 0:
        return "link token accepted";
    case -EBADMSG:
        return "link token is malformed";
    case -EACCES:
        return "link token signature or algorithm refused";
    case -ETIMEDOUT:
        return "link token expired or not yet valid";
    case -EINVAL:
        return "link token claims invalid (or bad arguments)";
    case -ENOSPC:
        return "link token buffer too small";
    case -EIO:
        return "crypto library failure";
    default:
        return "unknown link token error";
    }
}
