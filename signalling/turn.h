/* TURN credentials for browsers behind networks that block UDP: the TURN REST convention that
 * coturn implements with use-auth-secret. Signalling and coturn share a secret; each join gets
 * username "EXPIRY:ID" (unix seconds, the participant id) and password
 * base64(HMAC-SHA1(secret, username)), which coturn checks without asking anyone, and which stop
 * working at EXPIRY. */
#ifndef SIG_TURN_H
#define SIG_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TURN_URLS_MAX   8                          /* turn-urls entries */
#define TURN_URL_MAX    256                        /* one URI, with the NUL */
#define TURN_ID_MAX     64                         /* participant id, characters */
#define TURN_USER_MAX   (20 + 1 + TURN_ID_MAX + 1) /* "EXPIRY:ID" with the NUL */
#define TURN_PASS_LEN   28                         /* base64 of a 20-byte SHA-1 MAC, padded */
#define TURN_SECRET_MIN 16                         /* bytes in turn-secret-file */

/* turn-ttl bounds, seconds. config.c's default, 6 h, covers a clinic session; a rejoin gets
 * fresh credentials. */
#define TURN_TTL_MIN_S 60u
#define TURN_TTL_MAX_S 604800u

/* What the hub needs to hand out credentials. Everything is borrowed for the hub's life. */
struct turn_params {
    const uint8_t *secret; /* the shared secret's bytes, as coturn's static-auth-secret */
    size_t secret_len;
    const char *urls[TURN_URLS_MAX]; /* checked by turn_url_check */
    size_t n_urls;                   /* 0: no TURN */
    uint32_t ttl_s;                  /* credentials expire this long after the join */
};

/* Makes one credential: user = "EXPIRY:ID", pass = base64(HMAC-SHA1(secret, user)), both
 * NUL-terminated (pass is TURN_PASS_LEN characters). id must be 1..TURN_ID_MAX printable ASCII
 * characters without ':' (coturn takes the part before the first ':' as the expiry) or spaces.
 * Writes user and pass only on success. Returns 0, -EINVAL (bad id, negative expiry, empty
 * secret) or -EIO (the crypto library failed). */
int turn_credential(const uint8_t *secret, size_t secret_len, int64_t expiry, const char *id,
                    char user[TURN_USER_MAX], char pass[TURN_PASS_LEN + 1]);

/* The iceServers list for participant id joining at now (unix seconds):
 * [{"urls": [...], "username": "EXPIRY:ID", "credential": "..."}] with EXPIRY = now + ttl_s,
 * or [] when t is NULL or has no URLs. A credential that cannot be made (a bad id) gives [] too:
 * the browser still tries its host candidates. Returns a new reference, NULL on -ENOMEM. */
json_t *turn_ice_servers(const struct turn_params *t, const char *id, int64_t now);

/* Checks one TURN URI as browsers take it (RFC 7065): turn:HOST[:PORT][?transport=udp|tcp] or
 * turns:HOST[:PORT][?transport=tcp], HOST a name, an IPv4 literal or a bracketed IPv6 literal;
 * lower-case scheme and parameter, nothing else. Returns 0 or -EINVAL with the reason (which
 * quotes the URI) in reason. */
int turn_url_check(const char *url, char *reason, size_t reason_len);

/* Whether url (checked) is TURN over TLS to an IP address rather than a name: browsers check a
 * TURN server's certificate against the URI's host, and Firefox does not try TLS to an address
 * at all, so such a URI is worth a warning. */
bool turn_url_tls_to_ip(const char *url);

#endif
