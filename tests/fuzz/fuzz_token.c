/* Fuzzes link tokens. The first byte picks what the rest is: a token for token_verify (what any
 * browser can send), claims to sign then verify (the round trip must give them back), or a
 * payload signed with the right key (reaching the claim checks behind the signature). */
#include <stdint.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[32] = "fuzz-secret-fuzz-secret-fuzz-sec";
#define NOW 1767225600

static int64_t take_i64(const uint8_t **p, size_t *left)
{
    uint64_t v = 0;
    for (int i = 0; i < 8 && *left; i++, (*p)++, (*left)--)
        v = v << 8 | **p;
    return (int64_t)v;
}

static void claims_equal_or_trap(const struct token_claims *a, const struct token_claims *b)
{
    if (strcmp(a->consultation, b->consultation) != 0 || a->role != b->role ||
        strcmp(a->jti, b->jti) != 0 || a->iat != b->iat || a->exp != b->exp ||
        a->single_use != b->single_use)
        __builtin_trap();
}

static void round_trip(const uint8_t *p, size_t left)
{
    struct token_claims c, got;
    memset(&c, 0, sizeof(c));
    if (left < 3)
        return;
    c.role = (enum token_role)(p[0] % 6);
    c.single_use = p[1] & 1;
    /* Small times half the time, so that exp > iat is common. */
    bool small = p[1] & 2;
    size_t clen = p[2] % (TOKEN_CONSULTATION_MAX + 2);
    p += 3;
    left -= 3;
    if (clen > left)
        clen = left;
    memcpy(c.consultation, p, clen > TOKEN_CONSULTATION_MAX ? TOKEN_CONSULTATION_MAX : clen);
    p += clen;
    left -= clen;
    size_t jlen = left < TOKEN_ID_LEN ? left : TOKEN_ID_LEN;
    memcpy(c.jti, p, jlen);
    p += jlen;
    left -= jlen;
    c.iat = take_i64(&p, &left);
    c.exp = take_i64(&p, &left);
    if (small) {
        c.iat &= 0xffffffff;
        c.exp = c.iat + (c.exp & 0xffff);
    }

    char tok[TOKEN_SIGNED_MAX];
    int n = token_sign(secret, sizeof(secret), &c, tok, sizeof(tok));
    if (n < 0)
        return;
    if (n >= TOKEN_SIGNED_MAX || strlen(tok) != (size_t)n)
        __builtin_trap();
    if (token_verify(secret, sizeof(secret), tok, (size_t)n, c.iat, &got) != 0)
        __builtin_trap();
    claims_equal_or_trap(&c, &got);
}

static void signed_payload(const uint8_t *p, size_t left)
{
    static const char header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.";
    char tok[TOKEN_MAX_LEN + 64];
    size_t n = sizeof(header) - 1;
    memcpy(tok, header, n);
    int r = token__b64url_encode(p, left, tok + n, sizeof(tok) - n - 50);
    if (r < 0)
        return;
    n += (size_t)r;
    uint8_t mac[32];
    if (token__hs256(secret, sizeof(secret), (const uint8_t *)tok, n, mac) < 0)
        __builtin_trap();
    tok[n++] = '.';
    r = token__b64url_encode(mac, sizeof(mac), tok + n, sizeof(tok) - n);
    if (r < 0)
        return;
    n += (size_t)r;
    struct token_claims got, again;
    if (token_verify(secret, sizeof(secret), tok, n, NOW, &got) != 0)
        return;
    /* Whatever verify accepts, sign must accept and reproduce. */
    char tok2[TOKEN_SIGNED_MAX];
    int n2 = token_sign(secret, sizeof(secret), &got, tok2, sizeof(tok2));
    if (n2 < 0 || token_verify(secret, sizeof(secret), tok2, (size_t)n2, got.iat, &again) != 0)
        __builtin_trap();
    claims_equal_or_trap(&got, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct token_claims got;
    switch (data[0] % 3) {
    case 0:
        (void)token_verify(secret, sizeof(secret), (const char *)data + 1, size - 1, NOW, &got);
        break;
    case 1:
        round_trip(data + 1, size - 1);
        break;
    default:
        signed_payload(data + 1, size - 1);
        break;
    }
    return 0;
}
