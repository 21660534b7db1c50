/* Link tokens: the signed, expiring, optionally single-use tokens behind BASE/join/TOKEN links,
 * in JWT compact form with HS256 (HMAC-SHA256), made and checked without a JWT library. */
#ifndef SIG_TOKEN_H
#define SIG_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zero is deliberately no role, so a zeroed struct token_claims can never sign as a host. */
enum token_role {
    TOKEN_ROLE_HOST = 1,
    TOKEN_ROLE_PATIENT,
    TOKEN_ROLE_GUEST,
    TOKEN_ROLE_OBSERVER,
};

#define TOKEN_CONSULTATION_MAX 64   /* characters, from [A-Za-z0-9_-] */
#define TOKEN_ID_LEN           32   /* jti: 32 lowercase hex digits (16 random bytes) */
#define TOKEN_SECRET_MIN       32   /* bytes; HS256 keys shorter than the hash are refused */
#define TOKEN_MAX_LEN          2048 /* verify refuses anything longer, before decoding */
#define TOKEN_SIGNED_MAX       512  /* every token token_sign makes fits in this, with its NUL */
#define TOKEN_CLOCK_SKEW_S     60 /* allowance for clocks that disagree, both ends of the window */
#define TOKEN_TIME_MAX         253402300799LL /* 9999-12-31T23:59:59Z: keeps sums from overflowing */

struct token_claims {
    char consultation[TOKEN_CONSULTATION_MAX + 1]; /* NUL-terminated */
    enum token_role role;
    char jti[TOKEN_ID_LEN + 1]; /* random token id (token_id_new), NUL-terminated */
    int64_t iat, exp;           /* unix seconds: 0 <= iat < exp <= TOKEN_TIME_MAX */
    bool single_use;            /* enforced by the caller's store of used jti values, not here */
};

/* Signs the claims into a NUL-terminated token in out (cap bytes, the NUL included).
 * The secret is borrowed for the call and must be at least TOKEN_SECRET_MIN bytes.
 * Returns the token's length (without the NUL), -EINVAL for a short secret or claims
 * token_verify would refuse (empty or badly formed consultation, bad role, jti that is not 32
 * lowercase hex digits, times out of order or out of range), -ENOSPC when out is too small
 * (TOKEN_SIGNED_MAX always suffices), -EIO if the crypto library fails. */
int token_sign(const uint8_t *secret, size_t secret_len, const struct token_claims *c, char *out,
               size_t cap);

/* Checks a token made by token_sign at time now (unix seconds) and, only on success, writes its
 * claims to *out. token need not be NUL-terminated; len is its length. The signature is
 * compared in constant time before anything in the payload is looked at.
 * Errors, each its own reason for the HTTP layer:
 *   -EBADMSG   malformed: not three base64url parts, longer than TOKEN_MAX_LEN, header or
 *              payload not a JSON object;
 *   -EACCES    not ours: header algorithm other than HS256 (or missing, or extra header
 *              members), or the signature does not match;
 *   -ETIMEDOUT outside [iat - TOKEN_CLOCK_SKEW_S, exp + TOKEN_CLOCK_SKEW_S);
 *   -EINVAL    claims missing, of the wrong type, unknown or out of range; also a NULL
 *              argument or a secret shorter than TOKEN_SECRET_MIN;
 *   -EIO       the crypto library failed. */
int token_verify(const uint8_t *secret, size_t secret_len, const char *token, size_t len,
                 int64_t now, struct token_claims *out);

/* Writes a fresh random token id (16 bytes from the OpenSSL CSPRNG as 32 lowercase hex digits
 * and a NUL) for the jti claim. Returns 0, or -EIO when the generator fails (out untouched). */
int token_id_new(char out[TOKEN_ID_LEN + 1]);

/* A plain English reason for an error from this module, for logs. It never contains the token
 * (tokens are secrets) nor any claim. Never NULL. */
const char *token_strerror(int err);

/* "host", "patient", "guest" or "observer"; NULL for anything else. */
const char *token_role_name(enum token_role role);

/* Test-only internals (exposed for the unit tests' RFC 7515 vectors; not for other modules).
 * token__hs256 writes HMAC-SHA256(key, data) to mac; 0 or -EIO.
 * token__b64url_encode writes unpadded base64url and a NUL; returns the length or -ENOSPC.
 * token__b64url_decode accepts only canonical unpadded base64url; returns the decoded length,
 * -EBADMSG or -ENOSPC. */
int token__hs256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t mac[32]);
int token__b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int token__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
