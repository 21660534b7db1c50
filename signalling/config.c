/* Signalling configuration: the settings table, the file, environment and flag readers, the
 * final check, and a dump that never shows a secret. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "invite.h"
#include "token.h"
#include "turn.h"

#define LINK_TTL_MIN_S    60u
#define LINK_TTL_MAX_S    (90u * 86400u)
#define RETRY_BASE_MIN_MS 10u
#define RETRY_BASE_MAX_MS 600000u
/* Where the tz database lives unless TZDIR says otherwise (Debian's tzdata). */
#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define REASON_MAX     320

/* The build defines it as the source tree's signalling/web (signalling/meson.build). */
#ifndef SIG_WEB_ROOT
#define SIG_WEB_ROOT "./signalling/web"
#endif

enum key_type {
    KEY_LISTEN,
    KEY_ONOFF,
    KEY_PATH,
    KEY_API_KEYS,
    KEY_SFU,
    KEY_URL,
    KEY_TTL,
    KEY_LOG,
    KEY_TEXT,    /* a char array like KEY_PATH, checked by text_check for its key */
    KEY_SVC_URL, /* sms-base-url, smtp-url */
    KEY_MS,      /* invite-retry-base */
    KEY_TURN_URLS,
    KEY_TURN_TTL,
};

/* The index of each setting in keys[] (and in cfg->origin). */
enum key_id {
    K_LISTEN,
    K_TLS,
    K_TLS_CERT,
    K_TLS_KEY,
    K_DATA_DIR,
    K_DATABASE,
    K_WEB_ROOT,
    K_API_KEYS,
    K_API_KEY_FILE,
    K_TOKEN_SECRET_FILE,
    K_SFU,
    K_SFU_SECRET_FILE,
    K_PUBLIC_URL,
    K_LINK_TTL,
    K_LOG_LEVEL,
    K_PRACTICE_NAME,
    K_TIMEZONE,
    K_SMS_BASE_URL,
    K_SMS_API_KEY_FILE,
    K_SMS_TEMPLATE_ID,
    K_SMTP_URL,
    K_SMTP_USER,
    K_SMTP_PASSWORD_FILE,
    K_SMTP_FROM,
    K_SMTP_CA_FILE,
    K_INVITE_RETRY_BASE,
    K_TURN_SECRET_FILE,
    K_TURN_URLS,
    K_TURN_TTL,
    K_COUNT,
};

_Static_assert(K_COUNT == SIG_CONFIG_KEY_COUNT, "SIG_CONFIG_KEY_COUNT must match keys[]");
_Static_assert(SIG_CONFIG_TURN_URLS_MAX == TURN_URLS_MAX && SIG_CONFIG_TURN_URL_MAX == TURN_URL_MAX,
               "config.h's TURN sizes must match turn.h's");

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset; /* KEY_PATH: the char array's place in struct sig_config; KEY_ONOFF: the
                    * bool's */
    size_t size;
    const char *value; /* what sig_config_defaults applies */
    const char *shown; /* the default as --help describes it */
    const char *help;
};

#define PATH_FIELD(field)                                                                          \
    offsetof(struct sig_config, field), sizeof(((struct sig_config *)0)->field)

/* Indexed by enum key_id. */
static const struct key_def keys[K_COUNT] = {
    [K_LISTEN] = {"listen", KEY_LISTEN, 0, 0, "127.0.0.1:8443", "127.0.0.1:8443",
                  "HTTPS (or, with tls off, HTTP) and WebSocket address, HOST:PORT or [V6]:PORT"},
    [K_TLS] = {"tls", KEY_ONOFF, offsetof(struct sig_config, tls), sizeof(bool), "on", "on",
               "on (HTTPS) or off (plain HTTP: loopback listen only, for browser tests)"},
    [K_TLS_CERT] = {"tls-cert", KEY_PATH, PATH_FIELD(tls_cert), "",
                    "(none: self-signed, made under data-dir)",
                    "TLS certificate chain (PEM); needs tls-key"},
    [K_TLS_KEY] = {"tls-key", KEY_PATH, PATH_FIELD(tls_key), "", "(none)",
                   "TLS private key (PEM); needs tls-cert"},
    [K_DATA_DIR] = {"data-dir", KEY_PATH, PATH_FIELD(data_dir), "./.run", "./.run",
                    "directory for the database, generated secrets and certificate"},
    [K_DATABASE] = {"database", KEY_PATH, PATH_FIELD(database), "", "DATA_DIR/signalling.db",
                    "SQLite database file"},
    [K_WEB_ROOT] = {"web-root", KEY_PATH, PATH_FIELD(web_root), SIG_WEB_ROOT, SIG_WEB_ROOT,
                    "directory of the web client's static files"},
    [K_API_KEYS] = {"api-keys", KEY_API_KEYS, 0, 0, "", "(none)",
                    "comma-separated API keys (Authorization: Bearer KEY), 16-128 characters "
                    "of A-Z a-z 0-9 . _ ~ + / = -"},
    [K_API_KEY_FILE] = {"api-key-file", KEY_PATH, PATH_FIELD(api_key_file), "", "(none)",
                        "file of API keys, one a line ('#' comments); adds to api-keys"},
    [K_TOKEN_SECRET_FILE] = {"token-secret-file", KEY_PATH, PATH_FIELD(token_secret_file), "",
                             "DATA_DIR/token.secret",
                             "link-signing secret (>= 32 bytes, mode 0600); made if missing"},
    [K_SFU] = {"sfu", KEY_SFU, 0, 0, "", "unix:DATA_DIR/sfu.sock",
               "SFU control addresses, comma-separated: unix:PATH or tcp:IP:PORT"},
    [K_SFU_SECRET_FILE] = {"sfu-secret-file", KEY_PATH, PATH_FIELD(sfu_secret_file), "", "(none)",
                           "shared secret for tcp: SFU addresses (>= 16 bytes)"},
    [K_PUBLIC_URL] = {"public-url", KEY_URL, 0, 0, "",
                      "https://LISTEN, or http://LISTEN with tls off (loopback listen only)",
                      "base URL put in links; https:// unless the host is localhost or "
                      "127.0.0.1"},
    [K_LINK_TTL] = {"link-ttl", KEY_TTL, 0, 0, "86400", "86400",
                    "seconds a link is valid unless the request says otherwise (60..7776000)"},
    [K_LOG_LEVEL] = {"log-level", KEY_LOG, 0, 0, "info", "info", "error, warn, info or debug"},
    [K_PRACTICE_NAME] = {"practice-name", KEY_TEXT, PATH_FIELD(practice_name), "Your GP practice",
                         "Your GP practice",
                         "the practice's name in invitations (SMS and email), UTF-8"},
    [K_TIMEZONE] = {"timezone", KEY_TEXT, PATH_FIELD(timezone), "Europe/London", "Europe/London",
                    "time zone of appointment times in invitations (a tz database name, or UTC)"},
    [K_SMS_BASE_URL] = {"sms-base-url", KEY_SVC_URL, PATH_FIELD(sms_base_url),
                        "https://api.notifications.service.gov.uk",
                        "https://api.notifications.service.gov.uk",
                        "GOV.UK Notify API base URL for SMS invitations"},
    [K_SMS_API_KEY_FILE] = {"sms-api-key-file", KEY_PATH, PATH_FIELD(sms_api_key_file), "",
                            "(none: no SMS)",
                            "file holding the Notify API key (mode 0600); needs sms-template-id"},
    [K_SMS_TEMPLATE_ID] = {"sms-template-id", KEY_TEXT, PATH_FIELD(sms_template_id), "", "(none)",
                           "Notify SMS template id with ((practice)), ((time)) and ((link))"},
    [K_SMTP_URL] = {"smtp-url", KEY_SVC_URL, PATH_FIELD(smtp_url), "", "(none: no email)",
                    "mail relay: smtp://HOST[:PORT] (STARTTLS required) or smtps://HOST[:PORT]; "
                    "needs smtp-from"},
    [K_SMTP_USER] = {"smtp-user", KEY_TEXT, PATH_FIELD(smtp_user), "", "(none: no AUTH)",
                     "SMTP user name; needs smtp-password-file"},
    [K_SMTP_PASSWORD_FILE] = {"smtp-password-file", KEY_PATH, PATH_FIELD(smtp_password_file), "",
                              "(none)", "file holding the SMTP password (mode 0600)"},
    [K_SMTP_FROM] = {"smtp-from", KEY_TEXT, PATH_FIELD(smtp_from), "", "(none)",
                     "sender of email invitations: ADDR or NAME <ADDR>"},
    [K_SMTP_CA_FILE] = {"smtp-ca-file", KEY_PATH, PATH_FIELD(smtp_ca_file), "",
                        "(none: the system's CAs)",
                        "CA certificates (PEM) to trust for the mail relay instead"},
    [K_INVITE_RETRY_BASE] = {"invite-retry-base", KEY_MS, 0, 0, "1000", "1000",
                             "milliseconds before an invitation's first retry, doubling each "
                             "time (10..600000)"},
    [K_TURN_SECRET_FILE] = {"turn-secret-file", KEY_PATH, PATH_FIELD(turn_secret_file), "",
                            "(none: no TURN)",
                            "coturn's static-auth-secret (>= 16 printable bytes, mode 0600); "
                            "needs turn-urls"},
    [K_TURN_URLS] = {"turn-urls", KEY_TURN_URLS, 0, 0, "", "(none: no TURN)",
                     "comma-separated TURN URIs given to browsers: turn:HOST[:PORT][?transport="
                     "udp|tcp] or turns:HOST[:PORT]; needs turn-secret-file"},
    [K_TURN_TTL] = {"turn-ttl", KEY_TURN_TTL, 0, 0, "21600", "21600",
                    "seconds a join's TURN credentials are valid (60..604800)"},
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int key_find(const char *name)
{
    for (int i = 0; i < K_COUNT; i++) {
        if (strcmp(keys[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* GPSFU_ and the key in upper case with dashes as underscores. */
static void env_name(const char *key, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "GPSFU_");
    for (; *key && n + 1 < cap; key++)
        out[n++] = *key == '-' ? '_' : (char)toupper((unsigned char)*key);
    out[n] = '\0';
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* The next comma-separated item of *cursor, trimmed, or NULL at the end. Modifies the text. */
static char *list_next(char **cursor)
{
    if (!*cursor)
        return NULL;
    char *item = *cursor;
    char *comma = strchr(item, ',');
    if (comma) {
        *comma = '\0';
        *cursor = comma + 1;
    } else {
        *cursor = NULL;
    }
    return trim(item);
}

static int parse_port(const char *s, uint16_t *out)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* Splits "IP:PORT" or "[IPV6]:PORT" (and "localhost:PORT" when names_ok) into host (without
 * brackets) and port. Only literals otherwise: a name lookup at start hides typos. */
static int parse_host_port(const char *s, bool names_ok, char *host, size_t host_cap,
                           uint16_t *port, char *reason, size_t rlen)
{
    const char *colon;
    size_t hlen;
    const char *h = s;
    struct in6_addr a6;
    struct in_addr a4;
    char tmp[64];

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            snprintf(reason, rlen, "'%s' is not [IPV6]:PORT", s);
            return -EINVAL;
        }
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':')) {
            snprintf(reason, rlen, "'%s' is not HOST:PORT (IPv6 goes in brackets)", s);
            return -EINVAL;
        }
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof(tmp) || hlen >= host_cap) {
        snprintf(reason, rlen, "'%s' has an empty or overlong host", s);
        return -EINVAL;
    }
    memcpy(tmp, h, hlen);
    tmp[hlen] = '\0';
    bool ok = s[0] == '[' ? inet_pton(AF_INET6, tmp, &a6) == 1
                          : inet_pton(AF_INET, tmp, &a4) == 1 ||
                                (names_ok && strcmp(tmp, "localhost") == 0);
    if (!ok) {
        snprintf(reason, rlen, "'%s': host '%s' is not an IP address%s", s, tmp,
                 names_ok ? " or localhost" : "");
        return -EINVAL;
    }
    if (parse_port(colon + 1, port) < 0) {
        snprintf(reason, rlen, "'%s': port must be 1..65535", s);
        return -EINVAL;
    }
    memcpy(host, tmp, hlen + 1);
    return 0;
}

static int set_listen(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    char host[64];
    uint16_t port;
    if (strlen(v) >= sizeof(cfg->listen)) {
        snprintf(reason, rlen, "longer than %zu bytes", sizeof(cfg->listen) - 1);
        return -EINVAL;
    }
    int rc = parse_host_port(v, true, host, sizeof(host), &port, reason, rlen);
    if (rc < 0)
        return rc;
    snprintf(cfg->listen, sizeof(cfg->listen), "%s", v);
    memcpy(cfg->listen_host, host, sizeof(host));
    cfg->listen_port = port;
    return 0;
}

static int set_onoff(struct sig_config *cfg, const struct key_def *k, const char *v, char *reason,
                     size_t rlen)
{
    bool *field = (bool *)((char *)cfg + k->offset);
    if (strcmp(v, "on") == 0) {
        *field = true;
    } else if (strcmp(v, "off") == 0) {
        *field = false;
    } else {
        snprintf(reason, rlen, "'%s' is neither on nor off", v);
        return -EINVAL;
    }
    return 0;
}

static int set_path(struct sig_config *cfg, const struct key_def *k, const char *v, char *reason,
                    size_t rlen)
{
    size_t n = strlen(v);
    if (n >= k->size) {
        snprintf(reason, rlen, "longer than %zu bytes", k->size - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            snprintf(reason, rlen, "contains a control character");
            return -EINVAL;
        }
    }
    memcpy((char *)cfg + k->offset, v, n + 1);
    return 0;
}

/* Checks one API key. The reason never quotes it: keys are secrets. */
static int api_key_check(const char *key, char *reason, size_t rlen)
{
    size_t n = strlen(key);
    if (n < SIG_CONFIG_API_KEY_MIN || n > SIG_CONFIG_API_KEY_MAX) {
        snprintf(reason, rlen, "is %zu characters; it must be %d to %d", n, SIG_CONFIG_API_KEY_MIN,
                 SIG_CONFIG_API_KEY_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!isalnum(c) && !strchr("._~+/=-", c)) {
            snprintf(reason, rlen, "has a character other than A-Z a-z 0-9 . _ ~ + / = -");
            return -EINVAL;
        }
    }
    return 0;
}

static int set_api_keys(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    char buf[SIG_CONFIG_API_KEYS_MAX * (SIG_CONFIG_API_KEY_MAX + 2)];
    char keys_new[SIG_CONFIG_API_KEYS_MAX][SIG_CONFIG_API_KEY_MAX + 1];
    size_t n = 0;
    int rc = 0;

    if (strlen(v) >= sizeof(buf)) {
        snprintf(reason, rlen, "the list is longer than %zu bytes", sizeof(buf) - 1);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", v);
    char *cursor = trim(buf)[0] ? buf : NULL;
    char *item;
    while ((item = list_next(&cursor)) != NULL) {
        char why[128];
        if (!item[0]) {
            snprintf(reason, rlen, "entry %zu is empty", n + 1);
            rc = -EINVAL;
            goto out;
        }
        if (n == SIG_CONFIG_API_KEYS_MAX) {
            snprintf(reason, rlen, "more than %d keys", SIG_CONFIG_API_KEYS_MAX);
            rc = -EINVAL;
            goto out;
        }
        if (api_key_check(item, why, sizeof(why)) < 0) {
            snprintf(reason, rlen, "key %zu %s", n + 1, why);
            rc = -EINVAL;
            goto out;
        }
        snprintf(keys_new[n++], SIG_CONFIG_API_KEY_MAX + 1, "%s", item);
    }
    OPENSSL_cleanse(cfg->api_keys, sizeof(cfg->api_keys));
    memcpy(cfg->api_keys, keys_new, n * sizeof(keys_new[0]));
    cfg->api_key_count = n;
    cfg->api_keys_listed = n;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(keys_new, sizeof(keys_new));
    return rc;
}

static int parse_sfu_addr(const char *s, struct sig_sfu_addr *a, char *reason, size_t rlen)
{
    memset(a, 0, sizeof(*a));
    if (strncmp(s, "unix:", 5) == 0) {
        size_t n = strlen(s + 5);
        if (n == 0 || n >= sizeof(a->path)) {
            snprintf(reason, rlen, "'%s': the socket path must be 1 to %zu bytes", s,
                     sizeof(a->path) - 1);
            return -EINVAL;
        }
        a->kind = SIG_SFU_UNIX;
        memcpy(a->path, s + 5, n + 1);
        return 0;
    }
    if (strncmp(s, "tcp:", 4) == 0) {
        char why[REASON_MAX - 64];
        if (parse_host_port(s + 4, false, a->host, sizeof(a->host), &a->port, why, sizeof(why)) <
            0) {
            snprintf(reason, rlen, "tcp address %s", why);
            return -EINVAL;
        }
        a->kind = SIG_SFU_TCP;
        return 0;
    }
    snprintf(reason, rlen, "'%s' is neither unix:PATH nor tcp:IP:PORT", s);
    return -EINVAL;
}

static int set_sfu(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    char buf[SIG_CONFIG_SFU_MAX * 128];
    struct sig_sfu_addr list[SIG_CONFIG_SFU_MAX];
    size_t n = 0;

    if (strlen(v) >= sizeof(buf)) {
        snprintf(reason, rlen, "the list is longer than %zu bytes", sizeof(buf) - 1);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", v);
    char *cursor = trim(buf)[0] ? buf : NULL;
    char *item;
    while ((item = list_next(&cursor)) != NULL) {
        if (!item[0]) {
            snprintf(reason, rlen, "entry %zu is empty", n + 1);
            return -EINVAL;
        }
        if (n == SIG_CONFIG_SFU_MAX) {
            snprintf(reason, rlen, "more than %d addresses", SIG_CONFIG_SFU_MAX);
            return -EINVAL;
        }
        if (parse_sfu_addr(item, &list[n], reason, rlen) < 0)
            return -EINVAL;
        n++;
    }
    memcpy(cfg->sfu, list, n * sizeof(list[0]));
    cfg->sfu_count = n;
    return 0;
}

static bool host_is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
           strcmp(host, "::1") == 0;
}

/* https://HOST[:PORT][/PATH], or http:// for a loopback host (local testing only: browsers
 * treat those as secure contexts, nobody else can reach them). */
static int set_url(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    char url[SIG_CONFIG_URL_MAX], host[SIG_CONFIG_URL_MAX];
    size_t n = strlen(v);
    const char *rest;
    bool https;

    if (n == 0) {
        cfg->public_url[0] = '\0';
        return 0;
    }
    if (n >= sizeof(url)) {
        snprintf(reason, rlen, "longer than %zu bytes", sizeof(url) - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@') {
            snprintf(reason, rlen, "'%s' has a space, control character, '?', '#' or '@'", v);
            return -EINVAL;
        }
    }
    if (strncmp(v, "https://", 8) == 0) {
        https = true;
        rest = v + 8;
    } else if (strncmp(v, "http://", 7) == 0) {
        https = false;
        rest = v + 7;
    } else {
        snprintf(reason, rlen, "'%s' must start with https://", v);
        return -EINVAL;
    }
    size_t alen = strcspn(rest, "/");
    memcpy(host, rest, alen);
    host[alen] = '\0';
    char *port = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        struct in6_addr a6;
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(reason, rlen, "'%s' has a malformed [IPv6] host", v);
            return -EINVAL;
        }
        *close = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6) != 1) {
            snprintf(reason, rlen, "'%s' has a malformed [IPv6] host", v);
            return -EINVAL;
        }
        memmove(host, host + 1, strlen(host + 1) + 1);
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        char *colon = strchr(host, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
        if (!host[0]) {
            snprintf(reason, rlen, "'%s' has no host", v);
            return -EINVAL;
        }
        for (char *c = host; *c; c++) {
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') {
                snprintf(reason, rlen, "'%s' has a malformed host", v);
                return -EINVAL;
            }
        }
    }
    uint16_t p;
    if (port && parse_port(port, &p) < 0) {
        snprintf(reason, rlen, "'%s': port must be 1..65535", v);
        return -EINVAL;
    }
    if (!https && !host_is_loopback(host)) {
        snprintf(reason, rlen,
                 "'%s' must use https:// (plain http:// only for localhost or 127.0.0.1)", v);
        return -EINVAL;
    }
    /* Links are BASE/join/TOKEN: a trailing slash would double up. */
    memcpy(url, v, n + 1);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    memcpy(cfg->public_url, url, n + 1);
    return 0;
}

/* A whole number of seconds in min..max. */
static int parse_seconds(const char *v, unsigned min, unsigned max, uint32_t *out, char *reason,
                         size_t rlen)
{
    unsigned long long t = 0;
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 10;
    for (size_t i = 0; ok && i < n; i++) {
        ok = isdigit((unsigned char)v[i]);
        t = t * 10 + (unsigned)(v[i] - '0');
    }
    if (!ok || t < min || t > max) {
        snprintf(reason, rlen, "'%s' is not a whole number of seconds in %u..%u", v, min, max);
        return -EINVAL;
    }
    *out = (uint32_t)t;
    return 0;
}

static int set_ttl(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    return parse_seconds(v, LINK_TTL_MIN_S, LINK_TTL_MAX_S, &cfg->link_ttl_s, reason, rlen);
}

/* A tz database name as TZ takes it: letters, digits and _ + - /, no empty or dot-dot part and
 * no leading '/' (so it stays under the zone directory). Whether the zone exists is finish's. */
static bool tz_name_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || v[0] == '/' || v[n - 1] == '/' || strstr(v, "//") || strstr(v, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)v[i]) && !strchr("_+-/", v[i]))
            return false;
    }
    return true;
}

/* The text settings, each checked for what it is. Empty means "not set" except for
 * practice-name and timezone, which always have a value. */
static int set_text(struct sig_config *cfg, int id, const char *v, char *reason, size_t rlen)
{
    const struct key_def *k = &keys[id];
    size_t n = strlen(v);
    char name[INVITE_TEXT_MAX], addr[INVITE_EMAIL_MAX + 1];
    if (n >= k->size) {
        snprintf(reason, rlen, "longer than %zu bytes", k->size - 1);
        return -EINVAL;
    }
    if (!invite_text_ok(v, n)) {
        snprintf(reason, rlen, "is not UTF-8 text without control characters");
        return -EINVAL;
    }
    switch (id) {
    case K_PRACTICE_NAME:
        if (n == 0) {
            snprintf(reason, rlen, "must not be empty");
            return -EINVAL;
        }
        break;
    case K_TIMEZONE:
        if (!tz_name_ok(v)) {
            snprintf(reason, rlen, "'%s' is not a time zone name such as Europe/London or UTC", v);
            return -EINVAL;
        }
        break;
    case K_SMS_TEMPLATE_ID:
        if (n > 0 && !invite_uuid_ok(v, n)) {
            snprintf(reason, rlen, "'%s' is not a template id (a uuid, 36 characters)", v);
            return -EINVAL;
        }
        break;
    case K_SMTP_FROM:
        if (n > 0 && invite_from_parse(v, name, addr) < 0) {
            snprintf(reason, rlen,
                     "'%s' is not ADDR or NAME <ADDR> (a plain address; a name of printable "
                     "ASCII without quotes, backslashes or angle brackets)",
                     v);
            return -EINVAL;
        }
        break;
    default:
        break;
    }
    memcpy((char *)cfg + k->offset, v, n + 1);
    return 0;
}

/* sms-base-url: https://HOST[:PORT][/PATH] (http:// only for a loopback host, for tests);
 * smtp-url: smtp://HOST[:PORT] or smtps://HOST[:PORT], or empty for no email. HOST is a name,
 * an IPv4 literal or a bracketed IPv6 literal. */
static int set_svc_url(struct sig_config *cfg, int id, const char *v, char *reason, size_t rlen)
{
    const struct key_def *k = &keys[id];
    bool smtp = id == K_SMTP_URL;
    size_t n = strlen(v), skip;
    char host[SIG_CONFIG_URL_MAX];

    if (n == 0 && smtp) {
        ((char *)cfg + k->offset)[0] = '\0';
        return 0;
    }
    if (n >= k->size) {
        snprintf(reason, rlen, "longer than %zu bytes", k->size - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@') {
            snprintf(reason, rlen, "'%s' has a space, control character, '?', '#' or '@'", v);
            return -EINVAL;
        }
    }
    bool plain = false;
    if (smtp && strncmp(v, "smtp://", 7) == 0)
        skip = 7;
    else if (smtp && strncmp(v, "smtps://", 8) == 0)
        skip = 8;
    else if (!smtp && strncmp(v, "https://", 8) == 0)
        skip = 8;
    else if (!smtp && strncmp(v, "http://", 7) == 0)
        skip = 7, plain = true;
    else {
        snprintf(reason, rlen, "'%s' must start with %s", v,
                 smtp ? "smtp:// or smtps://" : "https://");
        return -EINVAL;
    }
    const char *rest = v + skip;
    size_t alen = strcspn(rest, "/");
    if (smtp && rest[alen] != '\0') {
        snprintf(reason, rlen, "'%s' must not have a path", v);
        return -EINVAL;
    }
    memcpy(host, rest, alen);
    host[alen] = '\0';
    char *port = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        struct in6_addr a6;
        if (close != NULL)
            *close = '\0';
        if (close == NULL || (close[1] && close[1] != ':') ||
            inet_pton(AF_INET6, host + 1, &a6) != 1) {
            snprintf(reason, rlen, "'%s' has a malformed [IPv6] host", v);
            return -EINVAL;
        }
        memmove(host, host + 1, strlen(host + 1) + 1);
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        char *colon = strchr(host, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
        bool ok = host[0] != '\0';
        for (char *c = host; ok && *c; c++)
            ok = isalnum((unsigned char)*c) || *c == '.' || *c == '-';
        if (!ok) {
            snprintf(reason, rlen, "'%s' has no host or a malformed one", v);
            return -EINVAL;
        }
    }
    uint16_t p;
    if (port && parse_port(port, &p) < 0) {
        snprintf(reason, rlen, "'%s': port must be 1..65535", v);
        return -EINVAL;
    }
    if (plain && !host_is_loopback(host)) {
        snprintf(reason, rlen, "'%s' must use https:// (http:// only for a loopback host)", v);
        return -EINVAL;
    }
    char *dst = (char *)cfg + k->offset;
    memcpy(dst, v, n + 1);
    while (n > 0 && dst[n - 1] == '/')
        dst[--n] = '\0';
    return 0;
}

static int set_ms(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    unsigned long long t = 0;
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 7;
    for (size_t i = 0; ok && i < n; i++) {
        ok = isdigit((unsigned char)v[i]);
        t = t * 10 + (unsigned)(v[i] - '0');
    }
    if (!ok || t < RETRY_BASE_MIN_MS || t > RETRY_BASE_MAX_MS) {
        snprintf(reason, rlen, "'%s' is not a whole number of milliseconds in %u..%u", v,
                 RETRY_BASE_MIN_MS, RETRY_BASE_MAX_MS);
        return -EINVAL;
    }
    cfg->invite_retry_base_ms = (uint32_t)t;
    return 0;
}

static int set_turn_urls(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    char buf[SIG_CONFIG_TURN_URLS_MAX * (SIG_CONFIG_TURN_URL_MAX + 2)];
    char list[SIG_CONFIG_TURN_URLS_MAX][SIG_CONFIG_TURN_URL_MAX];
    size_t n = 0;

    if (strlen(v) >= sizeof(buf)) {
        snprintf(reason, rlen, "the list is longer than %zu bytes", sizeof(buf) - 1);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", v);
    char *cursor = trim(buf)[0] ? buf : NULL;
    char *item;
    while ((item = list_next(&cursor)) != NULL) {
        if (!item[0]) {
            snprintf(reason, rlen, "entry %zu is empty", n + 1);
            return -EINVAL;
        }
        if (n == SIG_CONFIG_TURN_URLS_MAX) {
            snprintf(reason, rlen, "more than %d URIs", SIG_CONFIG_TURN_URLS_MAX);
            return -EINVAL;
        }
        if (turn_url_check(item, reason, rlen) < 0)
            return -EINVAL;
        snprintf(list[n++], SIG_CONFIG_TURN_URL_MAX, "%s", item);
    }
    memcpy(cfg->turn_urls, list, n * sizeof(list[0]));
    cfg->turn_url_count = n;
    return 0;
}

static int set_turn_ttl(struct sig_config *cfg, const char *v, char *reason, size_t rlen)
{
    return parse_seconds(v, TURN_TTL_MIN_S, TURN_TTL_MAX_S, &cfg->turn_ttl_s, reason, rlen);
}

int sig_config_set(struct sig_config *cfg, const char *key, const char *value, const char *source,
                   char *err, size_t err_len)
{
    char reason[REASON_MAX];
    int rc = -EINVAL;
    int id = key_find(key);
    if (id < 0) {
        snprintf(err, err_len, "%s: unknown key '%s'", source, key);
        return -EINVAL;
    }
    const struct key_def *k = &keys[id];
    switch (k->type) {
    case KEY_LISTEN:
        rc = set_listen(cfg, value, reason, sizeof(reason));
        break;
    case KEY_ONOFF:
        rc = set_onoff(cfg, k, value, reason, sizeof(reason));
        break;
    case KEY_PATH:
        rc = set_path(cfg, k, value, reason, sizeof(reason));
        break;
    case KEY_API_KEYS:
        rc = set_api_keys(cfg, value, reason, sizeof(reason));
        break;
    case KEY_SFU:
        rc = set_sfu(cfg, value, reason, sizeof(reason));
        break;
    case KEY_URL:
        rc = set_url(cfg, value, reason, sizeof(reason));
        break;
    case KEY_TTL:
        rc = set_ttl(cfg, value, reason, sizeof(reason));
        break;
    case KEY_LOG:
        rc = log_level_parse(value, &cfg->log_level);
        if (rc < 0)
            snprintf(reason, sizeof(reason), "'%s' is not error, warn, info or debug", value);
        break;
    case KEY_TEXT:
        rc = set_text(cfg, id, value, reason, sizeof(reason));
        break;
    case KEY_SVC_URL:
        rc = set_svc_url(cfg, id, value, reason, sizeof(reason));
        break;
    case KEY_MS:
        rc = set_ms(cfg, value, reason, sizeof(reason));
        break;
    case KEY_TURN_URLS:
        rc = set_turn_urls(cfg, value, reason, sizeof(reason));
        break;
    case KEY_TURN_TTL:
        rc = set_turn_ttl(cfg, value, reason, sizeof(reason));
        break;
    }
    if (rc < 0) {
        snprintf(err, err_len, "%s: %s: %s", source, key, reason);
        return rc;
    }
    snprintf(cfg->origin[id], sizeof(cfg->origin[id]), "%s", source);
    return 0;
}

void sig_config_defaults(struct sig_config *cfg)
{
    char err[REASON_MAX];
    memset(cfg, 0, sizeof(*cfg));
    /* The defaults go through the same setters as everything else, so they cannot disagree
     * with what --help shows; they are constants known to pass. */
    for (int i = 0; i < K_COUNT; i++)
        (void)sig_config_set(cfg, keys[i].name, keys[i].value, "default", err, sizeof(err));
}

int sig_config_load_file(struct sig_config *cfg, const char *path, char *err, size_t err_len)
{
    /* Room for a full api-keys list on one line. */
    char line[4096], source[SIG_CONFIG_ORIGIN_MAX];
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        snprintf(source, sizeof(source), "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, err_len, "%s: line longer than %zu bytes", source, sizeof(line) - 2);
            rc = -EINVAL;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, err_len, "%s: expected 'key = value'", source);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        rc = sig_config_set(cfg, trim(s), trim(eq + 1), source, err, err_len);
        if (rc < 0)
            break;
    }
    OPENSSL_cleanse(line, sizeof(line)); /* it may have held api-keys */
    fclose(f);
    return rc;
}

int sig_config_load_env(struct sig_config *cfg, char *err, size_t err_len)
{
    char name[64], source[96];
    for (int i = 0; i < K_COUNT; i++) {
        env_name(keys[i].name, name, sizeof(name));
        const char *v = getenv(name);
        if (!v)
            continue;
        snprintf(source, sizeof(source), "environment %s", name);
        int rc = sig_config_set(cfg, keys[i].name, v, source, err, err_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void sig_config_usage(FILE *out, const char *prog)
{
    char name[64];
    fprintf(out,
            "usage: %s [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n\n"
            "Each setting comes from, later winning: its default, the config file (--config FILE,\n"
            "or $%s), its environment variable, its flag. In the file: 'KEY = VALUE'.\n\n",
            prog, SIG_CONFIG_ENV_FILE);
    for (int i = 0; i < K_COUNT; i++) {
        env_name(keys[i].name, name, sizeof(name));
        fprintf(out, "  --%-18s %s\n  %-20s default %s; environment %s\n", keys[i].name,
                keys[i].help, "", keys[i].shown, name);
    }
}

int sig_config_from_args(struct sig_config *cfg, int argc, char **argv, char *err, size_t err_len)
{
    const char *file = NULL, *file_source = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sig_config_usage(stdout, argv[0]);
            return 1;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, err_len, "flag --config: needs a value");
                return -EINVAL;
            }
            file = argv[++i];
            file_source = "flag --config";
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
            file_source = "flag --config";
        }
    }
    if (!file) {
        const char *v = getenv(SIG_CONFIG_ENV_FILE);
        if (v && v[0]) {
            file = v;
            file_source = "environment " SIG_CONFIG_ENV_FILE;
        }
    }
    if (file) {
        char msg[512];
        rc = sig_config_load_file(cfg, file, msg, sizeof(msg));
        if (rc == -ENOENT) {
            snprintf(err, err_len, "%s: %s", file_source, msg);
            return rc;
        }
        if (rc < 0) {
            snprintf(err, err_len, "%s", msg);
            return rc;
        }
    }
    rc = sig_config_load_env(cfg, err, err_len);
    if (rc < 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        char key[64], source[96];
        const char *value;
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, err_len, "unexpected argument '%s'", a);
            return -EINVAL;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        if (klen >= sizeof(key)) {
            snprintf(err, err_len, "unknown flag '--%.*s...'", 20, a);
            return -EINVAL;
        }
        memcpy(key, a, klen);
        key[klen] = '\0';
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                snprintf(err, err_len, "flag --%s: needs a value", key);
                return -EINVAL;
            }
            value = argv[++i];
        }
        if (strcmp(key, "config") == 0)
            continue;
        snprintf(source, sizeof(source), "flag --%s", key);
        rc = sig_config_set(cfg, key, value, source, err, err_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Reads a secret file: a regular file that nobody but its owner and group may read, trailing
 * newlines stripped, min..cap bytes. *missing (when not NULL) turns ENOENT into success with
 * *len = 0. The reason names the path, never the content. */
static int secret_read(const char *path, uint8_t *buf, size_t cap, size_t min, size_t *len,
                       bool *missing, char *reason, size_t rlen)
{
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT && missing) {
            *missing = true;
            *len = 0;
            return 0;
        }
        snprintf(reason, rlen, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(reason, rlen, "%s: not a regular file", path);
        rc = -EINVAL;
        goto out;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(reason, rlen, "%s: readable or writable by others (chmod 600 it)", path);
        rc = -EINVAL;
        goto out;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(reason, rlen, "%s: %s", path, strerror(errno));
            rc = -EINVAL;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            uint8_t extra;
            if (read(fd, &extra, 1) > 0) {
                snprintf(reason, rlen, "%s: longer than %zu bytes", path, cap);
                rc = -EINVAL;
                goto out;
            }
            break;
        }
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n < min) {
        snprintf(reason, rlen, "%s: the secret is %zu bytes; at least %zu are needed", path, n,
                 min);
        rc = -EINVAL;
        goto out;
    }
    *len = n;
    if (missing)
        *missing = false;
out:
    if (rc < 0)
        OPENSSL_cleanse(buf, cap);
    close(fd);
    return rc;
}

static int api_key_file_read(struct sig_config *cfg, char *reason, size_t rlen)
{
    const char *path = cfg->api_key_file;
    char line[SIG_CONFIG_API_KEY_MAX + 64];
    int lineno = 0, rc = 0;
    struct stat st;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(reason, rlen, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
        snprintf(reason, rlen, "%s: readable or writable by others (chmod 600 it)", path);
        rc = -EINVAL;
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        char why[128];
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(reason, rlen, "%s:%d: line too long for a key", path, lineno);
            rc = -EINVAL;
            goto out;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        if (cfg->api_key_count == SIG_CONFIG_API_KEYS_MAX) {
            snprintf(reason, rlen, "%s:%d: more than %d keys in all", path, lineno,
                     SIG_CONFIG_API_KEYS_MAX);
            rc = -EINVAL;
            goto out;
        }
        if (api_key_check(s, why, sizeof(why)) < 0) {
            snprintf(reason, rlen, "%s:%d: the key %s", path, lineno, why);
            rc = -EINVAL;
            goto out;
        }
        snprintf(cfg->api_keys[cfg->api_key_count++], SIG_CONFIG_API_KEY_MAX + 1, "%s", s);
    }
out:
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    return rc;
}

/* Writes DIR/NAME into out; -EINVAL when it does not fit. */
static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

#define FAIL(id, ...)                                                                              \
    do {                                                                                           \
        char why_[REASON_MAX + 2 * SIG_CONFIG_PATH_MAX];                                           \
        snprintf(why_, sizeof(why_), __VA_ARGS__);                                                 \
        snprintf(err, err_len, "%s (%s): %s", keys[id].name, cfg->origin[id], why_);               \
        return -EINVAL;                                                                            \
    } while (0)

/* The invitation settings as a whole: the zone exists, the secrets are read, and no channel is
 * half configured (which would otherwise show only when the first invitation fails). */
static int invite_finish(struct sig_config *cfg, char *err, size_t err_len)
{
    char reason[REASON_MAX + SIG_CONFIG_PATH_MAX], path[SIG_CONFIG_PATH_MAX + SIG_CONFIG_TZ_MAX];
    char sid[INVITE_UUID_LEN + 1], sec[INVITE_UUID_LEN + 1];
    struct stat st;
    size_t n = 0;

    if (strcmp(cfg->timezone, "UTC") != 0) {
        const char *dir = getenv("TZDIR");
        snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : TZ_DIR_DEFAULT, cfg->timezone);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            FAIL(K_TIMEZONE, "%s: no such zone (install tzdata, or set timezone = UTC)", path);
    }

    OPENSSL_cleanse(cfg->sms_api_key, sizeof(cfg->sms_api_key));
    if (cfg->sms_api_key_file[0]) {
        if (secret_read(cfg->sms_api_key_file, (uint8_t *)cfg->sms_api_key,
                        sizeof(cfg->sms_api_key) - 1, INVITE_NOTIFY_KEY_MIN, &n, NULL, reason,
                        sizeof(reason)) < 0)
            FAIL(K_SMS_API_KEY_FILE, "%s", reason);
        cfg->sms_api_key[n] = '\0';
        int bad = invite_notify_key_parse(cfg->sms_api_key, n, sid, sec);
        OPENSSL_cleanse(sec, sizeof(sec));
        if (bad < 0) {
            OPENSSL_cleanse(cfg->sms_api_key, sizeof(cfg->sms_api_key));
            FAIL(K_SMS_API_KEY_FILE,
                 "%s: not a Notify API key (KEYNAME-SERVICEID-SECRET, the last two uuids)",
                 cfg->sms_api_key_file);
        }
        if (!cfg->sms_template_id[0])
            FAIL(K_SMS_API_KEY_FILE, "set without sms-template-id; give both or neither");
    } else if (cfg->sms_template_id[0]) {
        FAIL(K_SMS_TEMPLATE_ID, "set without sms-api-key-file; give both or neither");
    }

    OPENSSL_cleanse(cfg->smtp_password, sizeof(cfg->smtp_password));
    if (cfg->smtp_url[0] && !cfg->smtp_from[0])
        FAIL(K_SMTP_URL, "set without smtp-from; give both or neither");
    if (!cfg->smtp_url[0]) {
        int id = cfg->smtp_from[0]            ? K_SMTP_FROM
                 : cfg->smtp_user[0]          ? K_SMTP_USER
                 : cfg->smtp_password_file[0] ? K_SMTP_PASSWORD_FILE
                 : cfg->smtp_ca_file[0]       ? K_SMTP_CA_FILE
                                              : -1;
        if (id >= 0)
            FAIL(id, "set without smtp-url");
    }
    if (cfg->smtp_user[0] && !cfg->smtp_password_file[0])
        FAIL(K_SMTP_USER, "set without smtp-password-file; give both or neither");
    if (cfg->smtp_password_file[0]) {
        if (!cfg->smtp_user[0])
            FAIL(K_SMTP_PASSWORD_FILE, "set without smtp-user; give both or neither");
        if (secret_read(cfg->smtp_password_file, (uint8_t *)cfg->smtp_password,
                        sizeof(cfg->smtp_password) - 1, 1, &n, NULL, reason, sizeof(reason)) < 0)
            FAIL(K_SMTP_PASSWORD_FILE, "%s", reason);
        cfg->smtp_password[n] = '\0';
        if (strlen(cfg->smtp_password) != n) {
            OPENSSL_cleanse(cfg->smtp_password, sizeof(cfg->smtp_password));
            FAIL(K_SMTP_PASSWORD_FILE, "%s: the password holds a NUL byte",
                 cfg->smtp_password_file);
        }
    }
    if (cfg->smtp_ca_file[0] && access(cfg->smtp_ca_file, R_OK) < 0)
        FAIL(K_SMTP_CA_FILE, "%s: %s", cfg->smtp_ca_file, strerror(errno));
    return 0;
}

/* TURN as a whole: both keys or neither, and the secret read. coturn takes its copy of the
 * secret as a config-file word (static-auth-secret=...), so only printable bytes without spaces
 * can be the same secret on both sides. */
static int turn_finish(struct sig_config *cfg, char *err, size_t err_len)
{
    char reason[REASON_MAX + SIG_CONFIG_PATH_MAX];

    OPENSSL_cleanse(cfg->turn_secret, sizeof(cfg->turn_secret));
    cfg->turn_secret_len = 0;
    if (cfg->turn_url_count > 0 && !cfg->turn_secret_file[0])
        FAIL(K_TURN_URLS, "set without turn-secret-file; give both or neither");
    if (!cfg->turn_secret_file[0])
        return 0;
    if (cfg->turn_url_count == 0)
        FAIL(K_TURN_SECRET_FILE, "set without turn-urls; give both or neither");
    if (secret_read(cfg->turn_secret_file, cfg->turn_secret, sizeof(cfg->turn_secret),
                    TURN_SECRET_MIN, &cfg->turn_secret_len, NULL, reason, sizeof(reason)) < 0)
        FAIL(K_TURN_SECRET_FILE, "%s", reason);
    for (size_t i = 0; i < cfg->turn_secret_len; i++) {
        if (cfg->turn_secret[i] <= 0x20 || cfg->turn_secret[i] >= 0x7f) {
            OPENSSL_cleanse(cfg->turn_secret, sizeof(cfg->turn_secret));
            cfg->turn_secret_len = 0;
            FAIL(K_TURN_SECRET_FILE,
                 "%s: the secret must be printable ASCII without spaces (as coturn's "
                 "static-auth-secret; openssl rand -hex 32 makes one)",
                 cfg->turn_secret_file);
        }
    }
    return 0;
}

int sig_config_finish(struct sig_config *cfg, char *err, size_t err_len)
{
    char reason[REASON_MAX + SIG_CONFIG_PATH_MAX];
    bool missing;

    if (!cfg->data_dir[0])
        FAIL(K_DATA_DIR, "must not be empty");
    if (!cfg->database[0]) {
        if (path_join(cfg->database, sizeof(cfg->database), cfg->data_dir, "signalling.db") < 0)
            FAIL(K_DATA_DIR, "too long to hold signalling.db");
        snprintf(cfg->origin[K_DATABASE], SIG_CONFIG_ORIGIN_MAX, "derived from data-dir");
    }
    if (!cfg->token_secret_file[0]) {
        if (path_join(cfg->token_secret_file, sizeof(cfg->token_secret_file), cfg->data_dir,
                      "token.secret") < 0)
            FAIL(K_DATA_DIR, "too long to hold token.secret");
        snprintf(cfg->origin[K_TOKEN_SECRET_FILE], SIG_CONFIG_ORIGIN_MAX, "derived from data-dir");
    }
    if (cfg->sfu_count == 0) {
        struct sig_sfu_addr *a = &cfg->sfu[0];
        memset(a, 0, sizeof(*a));
        if (path_join(a->path, sizeof(a->path), cfg->data_dir, "sfu.sock") < 0)
            FAIL(K_DATA_DIR, "too long to hold sfu.sock (a Unix socket path is at most %zu bytes)",
                 sizeof(a->path) - 1);
        a->kind = SIG_SFU_UNIX;
        cfg->sfu_count = 1;
        snprintf(cfg->origin[K_SFU], SIG_CONFIG_ORIGIN_MAX, "derived from data-dir");
    }

    if (!cfg->tls) {
        /* Plain HTTP carries API keys and join links in the clear: only where nothing but
         * this machine can listen. */
        if (cfg->tls_cert[0] || cfg->tls_key[0])
            FAIL(K_TLS, "off, but %s is set; remove it or turn tls on",
                 cfg->tls_cert[0] ? "tls-cert" : "tls-key");
        if (!host_is_loopback(cfg->listen_host))
            FAIL(K_TLS,
                 "off is allowed only with a loopback listen address (127.0.0.1, ::1 or "
                 "localhost), not %s",
                 cfg->listen);
    }
    if (cfg->tls_cert[0] && !cfg->tls_key[0])
        FAIL(K_TLS_CERT, "set without tls-key; give both or neither");
    if (cfg->tls_key[0] && !cfg->tls_cert[0])
        FAIL(K_TLS_KEY, "set without tls-cert; give both or neither");
    cfg->tls_generate = cfg->tls && !cfg->tls_cert[0];
    if (cfg->tls && !cfg->tls_generate) {
        if (access(cfg->tls_cert, R_OK) < 0)
            FAIL(K_TLS_CERT, "%s: %s", cfg->tls_cert, strerror(errno));
        if (access(cfg->tls_key, R_OK) < 0)
            FAIL(K_TLS_KEY, "%s: %s", cfg->tls_key, strerror(errno));
    }

    /* The list's keys stay; the file's are appended (again, should finish run twice). */
    for (size_t i = cfg->api_keys_listed; i < cfg->api_key_count; i++)
        OPENSSL_cleanse(cfg->api_keys[i], sizeof(cfg->api_keys[i]));
    cfg->api_key_count = cfg->api_keys_listed;
    if (cfg->api_key_file[0] && api_key_file_read(cfg, reason, sizeof(reason)) < 0)
        FAIL(K_API_KEY_FILE, "%s", reason);
    if (cfg->api_key_count == 0)
        FAIL(K_API_KEYS, "no API key: set api-keys or api-key-file");

    if (secret_read(cfg->token_secret_file, cfg->token_secret, sizeof(cfg->token_secret),
                    TOKEN_SECRET_MIN, &cfg->token_secret_len, &missing, reason, sizeof(reason)) < 0)
        FAIL(K_TOKEN_SECRET_FILE, "%s", reason);

    bool tcp = false;
    for (size_t i = 0; i < cfg->sfu_count; i++)
        tcp = tcp || cfg->sfu[i].kind == SIG_SFU_TCP;
    if (tcp && !cfg->sfu_secret_file[0])
        FAIL(K_SFU, "a tcp: address needs sfu-secret-file");
    cfg->sfu_secret_len = 0;
    if (cfg->sfu_secret_file[0] &&
        secret_read(cfg->sfu_secret_file, cfg->sfu_secret, sizeof(cfg->sfu_secret),
                    SIG_CONFIG_SFU_SECRET_MIN, &cfg->sfu_secret_len, NULL, reason,
                    sizeof(reason)) < 0)
        FAIL(K_SFU_SECRET_FILE, "%s", reason);

    if (!cfg->public_url[0]) {
        /* Links to a loopback listener work on this machine only, which is what a local
         * demo wants; anywhere else a guessed URL would hand patients dead links. */
        if (!host_is_loopback(cfg->listen_host))
            FAIL(K_PUBLIC_URL, "must be set when listen (%s) is not a loopback address",
                 cfg->listen);
        bool v6 = strchr(cfg->listen_host, ':') != NULL;
        snprintf(cfg->public_url, sizeof(cfg->public_url), "%s://%s%s%s:%u",
                 cfg->tls ? "https" : "http", v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "",
                 cfg->listen_port);
        snprintf(cfg->origin[K_PUBLIC_URL], SIG_CONFIG_ORIGIN_MAX, "derived from listen");
    }
    int rc = turn_finish(cfg, err, err_len);
    return rc < 0 ? rc : invite_finish(cfg, err, err_len);
}

static const char *set_or_not(bool set)
{
    return set ? "(set)" : "(not set)";
}

void sig_config_dump(const struct sig_config *cfg, FILE *out)
{
    char sfu[SIG_CONFIG_SFU_MAX * 160];
    size_t n = 0;
    sfu[0] = '\0';
    for (size_t i = 0; i < cfg->sfu_count && i < SIG_CONFIG_SFU_MAX; i++) {
        const struct sig_sfu_addr *a = &cfg->sfu[i];
        bool v6 = strchr(a->host, ':') != NULL;
        int w = a->kind == SIG_SFU_UNIX
                    ? snprintf(sfu + n, sizeof(sfu) - n, "%sunix:%s", i ? "," : "", a->path)
                    : snprintf(sfu + n, sizeof(sfu) - n, "%stcp:%s%s%s:%u", i ? "," : "",
                               v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
        if (w < 0 || (size_t)w >= sizeof(sfu) - n)
            break;
        n += (size_t)w;
    }
    char turn_urls[SIG_CONFIG_TURN_URLS_MAX * SIG_CONFIG_TURN_URL_MAX] = "(none)";
    for (size_t i = 0, at = 0; i < cfg->turn_url_count && i < SIG_CONFIG_TURN_URLS_MAX; i++) {
        int w = snprintf(turn_urls + at, sizeof(turn_urls) - at, "%s%s", i ? "," : "",
                         cfg->turn_urls[i]);
        if (w < 0 || (size_t)w >= sizeof(turn_urls) - at)
            break;
        at += (size_t)w;
    }
    const char *o[K_COUNT];
    for (int i = 0; i < K_COUNT; i++)
        o[i] = cfg->origin[i][0] ? cfg->origin[i] : "default";
#define LINE(id, fmt, ...)                                                                         \
    fprintf(out, "  %-18s = " fmt "  [%s]\n", keys[id].name, __VA_ARGS__, o[id])
    LINE(K_LISTEN, "%s", cfg->listen);
    LINE(K_TLS, "%s", cfg->tls ? "on" : "off");
    LINE(K_TLS_CERT, "%s",
         cfg->tls_cert[0] ? cfg->tls_cert
         : cfg->tls       ? "(self-signed under data-dir)"
                          : "(none)");
    LINE(K_TLS_KEY, "%s",
         cfg->tls_key[0] ? cfg->tls_key
         : cfg->tls      ? "(self-signed under data-dir)"
                         : "(none)");
    LINE(K_DATA_DIR, "%s", cfg->data_dir);
    LINE(K_DATABASE, "%s", cfg->database);
    LINE(K_WEB_ROOT, "%s", cfg->web_root);
    LINE(K_API_KEYS, "%s, %zu key(s) in all", set_or_not(cfg->api_keys_listed > 0),
         cfg->api_key_count);
    LINE(K_API_KEY_FILE, "%s", cfg->api_key_file[0] ? cfg->api_key_file : "(none)");
    LINE(K_TOKEN_SECRET_FILE, "%s, secret %s", cfg->token_secret_file,
         cfg->token_secret_len ? "(set)" : "(not set: to be generated)");
    LINE(K_SFU, "%s", sfu);
    LINE(K_SFU_SECRET_FILE, "%s, secret %s",
         cfg->sfu_secret_file[0] ? cfg->sfu_secret_file : "(none)",
         set_or_not(cfg->sfu_secret_len > 0));
    LINE(K_PUBLIC_URL, "%s", cfg->public_url);
    LINE(K_LINK_TTL, "%u", cfg->link_ttl_s);
    LINE(K_LOG_LEVEL, "%s",
         (unsigned)cfg->log_level < 4 ? level_names[cfg->log_level] : "(invalid)");
    LINE(K_PRACTICE_NAME, "%s", cfg->practice_name);
    LINE(K_TIMEZONE, "%s", cfg->timezone);
    LINE(K_SMS_BASE_URL, "%s", cfg->sms_base_url);
    LINE(K_SMS_API_KEY_FILE, "%s, key %s",
         cfg->sms_api_key_file[0] ? cfg->sms_api_key_file : "(none)",
         set_or_not(cfg->sms_api_key[0] != '\0'));
    LINE(K_SMS_TEMPLATE_ID, "%s", cfg->sms_template_id[0] ? cfg->sms_template_id : "(none)");
    LINE(K_SMTP_URL, "%s", cfg->smtp_url[0] ? cfg->smtp_url : "(none)");
    LINE(K_SMTP_USER, "%s", cfg->smtp_user[0] ? cfg->smtp_user : "(none)");
    LINE(K_SMTP_PASSWORD_FILE, "%s, password %s",
         cfg->smtp_password_file[0] ? cfg->smtp_password_file : "(none)",
         set_or_not(cfg->smtp_password[0] != '\0'));
    LINE(K_SMTP_FROM, "%s", cfg->smtp_from[0] ? cfg->smtp_from : "(none)");
    LINE(K_SMTP_CA_FILE, "%s", cfg->smtp_ca_file[0] ? cfg->smtp_ca_file : "(none)");
    LINE(K_INVITE_RETRY_BASE, "%u", cfg->invite_retry_base_ms);
    LINE(K_TURN_SECRET_FILE, "%s, secret %s",
         cfg->turn_secret_file[0] ? cfg->turn_secret_file : "(none)",
         set_or_not(cfg->turn_secret_len > 0));
    LINE(K_TURN_URLS, "%s", turn_urls);
    LINE(K_TURN_TTL, "%u", cfg->turn_ttl_s);
#undef LINE
}

void sig_config_wipe(struct sig_config *cfg)
{
    if (!cfg)
        return;
    OPENSSL_cleanse(cfg->api_keys, sizeof(cfg->api_keys));
    OPENSSL_cleanse(cfg->token_secret, sizeof(cfg->token_secret));
    OPENSSL_cleanse(cfg->sfu_secret, sizeof(cfg->sfu_secret));
    OPENSSL_cleanse(cfg->sms_api_key, sizeof(cfg->sms_api_key));
    OPENSSL_cleanse(cfg->smtp_password, sizeof(cfg->smtp_password));
    OPENSSL_cleanse(cfg->turn_secret, sizeof(cfg->turn_secret));
    cfg->turn_secret_len = 0;
    cfg->api_key_count = 0;
    cfg->api_keys_listed = 0;
    cfg->token_secret_len = 0;
    cfg->sfu_secret_len = 0;
}
