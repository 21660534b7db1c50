/* TURN REST credentials (coturn's use-auth-secret), the iceServers list that carries them, and
 * the check of the TURN URIs put in it. */
#include "turn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SHA1_LEN 20

static bool id_ok(const char *id)
{
    size_t n = strnlen(id, TURN_ID_MAX + 1);
    if (n == 0 || n > TURN_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7f || c == ':')
            return false;
    }
    return true;
}

int turn_credential(const uint8_t *secret, size_t secret_len, int64_t expiry, const char *id,
                    char user[TURN_USER_MAX], char pass[TURN_PASS_LEN + 1])
{
    char u[TURN_USER_MAX];
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    unsigned char b64[TURN_PASS_LEN + 1];
    int rc = 0;

    if (!secret || secret_len == 0 || secret_len > INT32_MAX || expiry < 0 || !id || !id_ok(id))
        return -EINVAL;
    int n = snprintf(u, sizeof(u), "%" PRId64 ":%s", expiry, id);
    if (n < 0 || (size_t)n >= sizeof(u))
        return -EINVAL;
    /* HMAC-SHA1 because that is what the convention (and coturn) specify; it is a MAC here,
     * where SHA-1's collision weakness does not help a forger. */
    if (!HMAC(EVP_sha1(), secret, (int)secret_len, (const unsigned char *)u, (size_t)n, mac,
              &mac_len) ||
        mac_len != SHA1_LEN) {
        rc = -EIO;
        goto out;
    }
    if (EVP_EncodeBlock(b64, mac, SHA1_LEN) != TURN_PASS_LEN) {
        rc = -EIO;
        goto out;
    }
    memcpy(user, u, (size_t)n + 1);
    memcpy(pass, b64, sizeof(b64));
out:
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(b64, sizeof(b64));
    return rc;
}

json_t *turn_ice_servers(const struct turn_params *t, const char *id, int64_t now)
{
    char user[TURN_USER_MAX], pass[TURN_PASS_LEN + 1];
    json_t *list = json_array();
    if (!list || !t || t->n_urls == 0)
        return list;
    if (turn_credential(t->secret, t->secret_len, now + (int64_t)t->ttl_s, id, user, pass) < 0)
        return list;
    json_t *urls = json_array();
    for (size_t i = 0; urls && i < t->n_urls && i < TURN_URLS_MAX; i++) {
        if (json_array_append_new(urls, json_string(t->urls[i])) < 0) {
            json_decref(urls);
            urls = NULL;
        }
    }
    /* "o" takes urls' reference, and drops it should the pack fail. */
    json_t *server =
        urls ? json_pack("{s:o, s:s, s:s}", "urls", urls, "username", user, "credential", pass)
             : NULL;
    OPENSSL_cleanse(pass, sizeof(pass));
    if (!server || json_array_append_new(list, server) < 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static bool port_ok(const char *s, size_t n)
{
    unsigned long v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* HOST[:PORT] of n bytes at s: a name or IPv4 literal of letters, digits, '.' and '-' (not at
 * either end), or [IPv6]. */
static bool host_port_ok(const char *s, size_t n)
{
    const char *port = NULL;
    size_t hlen;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        char v6[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (!close || (size_t)(close - s - 1) >= sizeof(v6))
            return false;
        memcpy(v6, s + 1, (size_t)(close - s - 1));
        v6[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, v6, &a6) != 1)
            return false;
        size_t used = (size_t)(close - s) + 1;
        if (used == n)
            return true;
        if (s[used] != ':')
            return false;
        return port_ok(s + used + 1, n - used - 1);
    }
    const char *colon = memchr(s, ':', n);
    hlen = colon ? (size_t)(colon - s) : n;
    if (colon)
        port = colon + 1;
    if (hlen == 0 || s[0] == '.' || s[0] == '-' || s[hlen - 1] == '.' || s[hlen - 1] == '-')
        return false;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '-')
            return false;
    }
    return !port || port_ok(port, n - hlen - 1);
}

int turn_url_check(const char *url, char *reason, size_t reason_len)
{
    size_t n = strnlen(url, TURN_URL_MAX);
    bool secure;
    const char *rest;

    if (n == 0 || n >= TURN_URL_MAX) {
        snprintf(reason, reason_len, "a TURN URI must be 1 to %d bytes", TURN_URL_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            snprintf(reason, reason_len, "'%s' has a space or control character", url);
            return -EINVAL;
        }
    }
    if (strncmp(url, "turns:", 6) == 0) {
        secure = true;
        rest = url + 6;
    } else if (strncmp(url, "turn:", 5) == 0) {
        secure = false;
        rest = url + 5;
    } else {
        snprintf(reason, reason_len, "'%s' must start with turn: or turns:", url);
        return -EINVAL;
    }
    const char *q = strchr(rest, '?');
    size_t hp = q ? (size_t)(q - rest) : strlen(rest);
    if (!host_port_ok(rest, hp)) {
        snprintf(reason, reason_len,
                 "'%s' is not SCHEME:HOST[:PORT] (HOST a name, IPv4 or [IPv6], no //)", url);
        return -EINVAL;
    }
    if (q) {
        bool udp = strcmp(q, "?transport=udp") == 0;
        bool tcp = strcmp(q, "?transport=tcp") == 0;
        if (!udp && !tcp) {
            snprintf(reason, reason_len, "'%s': the only parameter is ?transport=udp or tcp", url);
            return -EINVAL;
        }
        /* turns over UDP would be DTLS, which no browser speaks to a TURN server. */
        if (secure && udp) {
            snprintf(reason, reason_len, "'%s': turns: is over TCP only", url);
            return -EINVAL;
        }
    }
    return 0;
}

bool turn_url_tls_to_ip(const char *url)
{
    char host[TURN_URL_MAX];
    struct in_addr a4;
    if (strncmp(url, "turns:", 6) != 0)
        return false;
    const char *h = url + 6;
    if (h[0] == '[')
        return true;
    size_t n = strcspn(h, ":?");
    if (n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    return inet_pton(AF_INET, host, &a4) == 1;
}
