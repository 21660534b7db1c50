/* The signalling service's configuration: defaults < a key = value file < GPSFU_* environment
 * variables < command-line flags, then one check of the whole. Made once in main() and read-only
 * afterwards. Shaped like the SFU's (sfu/app/config.h) so that the two processes feel alike. */
#ifndef SIG_CONFIG_H
#define SIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"

#define SIG_CONFIG_PATH_MAX       256 /* bytes with the NUL, for every file and directory path */
#define SIG_CONFIG_URL_MAX        256 /* public-url, with the NUL */
#define SIG_CONFIG_API_KEYS_MAX   16  /* api-keys and api-key-file together */
#define SIG_CONFIG_API_KEY_MIN    16  /* characters: a guessable key is no key */
#define SIG_CONFIG_API_KEY_MAX    128 /* characters, without the NUL */
#define SIG_CONFIG_SFU_MAX        8   /* control addresses in the sfu list */
#define SIG_CONFIG_SECRET_MAX     512 /* bytes read from a secret file, at most */
#define SIG_CONFIG_SFU_SECRET_MIN 16  /* as the SFU itself demands of control-secret-file */
#define SIG_CONFIG_ORIGIN_MAX     (SIG_CONFIG_PATH_MAX + 16)
#define SIG_CONFIG_TEXT_MAX       128 /* practice-name, smtp-user, smtp-from: bytes with the NUL */
#define SIG_CONFIG_TZ_MAX         64  /* timezone, with the NUL */
#define SIG_CONFIG_KEY_COUNT      29  /* the settings table in config.c; checked at compile time */
#define SIG_CONFIG_TURN_URLS_MAX  8   /* turn-urls entries (turn.h TURN_URLS_MAX) */
#define SIG_CONFIG_TURN_URL_MAX   256 /* one TURN URI with the NUL (turn.h TURN_URL_MAX) */
#define SIG_CONFIG_ENV_FILE       "GPSFU_SIGNALLING_CONFIG" /* names the file when --config doesn't */

enum sig_sfu_kind {
    SIG_SFU_UNIX = 1, /* zero is no address */
    SIG_SFU_TCP,
};

/* One SFU control address, from "unix:/path" or "tcp:HOST:PORT" (HOST an IPv4 literal or a
 * bracketed IPv6 literal; no name lookups). */
struct sig_sfu_addr {
    enum sig_sfu_kind kind;
    char path[108]; /* SIG_SFU_UNIX: fits sockaddr_un.sun_path with its NUL */
    char host[64];  /* SIG_SFU_TCP: the literal, without brackets */
    uint16_t port;  /* SIG_SFU_TCP: 1..65535 */
};

struct sig_config {
    /* listen: "host:port" or "[v6]:port"; split into host and port as well. */
    char listen[96];
    char listen_host[64];
    uint16_t listen_port;
    /* tls: true ("on", the default) serves HTTPS; false ("off") plain HTTP, which finish allows
     * only on a loopback listen address (browser tests: Firefox refuses self-signed
     * certificates, and http://127.0.0.1 is a secure context) and without tls-cert/tls-key. */
    bool tls;
    char tls_cert[SIG_CONFIG_PATH_MAX]; /* both empty (and tls on): tls_generate */
    char tls_key[SIG_CONFIG_PATH_MAX];
    bool tls_generate; /* set by finish: a self-signed pair is to be made under data_dir */
    char data_dir[SIG_CONFIG_PATH_MAX];
    char database[SIG_CONFIG_PATH_MAX]; /* finish fills DATA_DIR/signalling.db */
    /* The web client's static files. Default: SIG_WEB_ROOT, the source tree's signalling/web as
     * the build defines it ("./signalling/web" when built without it). Not checked by finish:
     * the server answers a missing file with 404 and logs it. */
    char web_root[SIG_CONFIG_PATH_MAX];
    char api_key_file[SIG_CONFIG_PATH_MAX];      /* one key a line; '#' comments */
    char token_secret_file[SIG_CONFIG_PATH_MAX]; /* finish fills DATA_DIR/token.secret */
    struct sig_sfu_addr sfu[SIG_CONFIG_SFU_MAX]; /* finish fills unix:DATA_DIR/sfu.sock */
    size_t sfu_count;
    char sfu_secret_file[SIG_CONFIG_PATH_MAX]; /* required when any sfu address is tcp */
    char public_url[SIG_CONFIG_URL_MAX];       /* no trailing '/'; finish derives it from listen:
                                                * https://LISTEN, or http://LISTEN with tls off */
    uint32_t link_ttl_s;                       /* default validity of a link, seconds */
    enum log_level log_level;

    /* Invitations by SMS and email (invite.c, invite_send.c). A channel is configured when its
     * keys are: sms with sms-api-key-file and sms-template-id, email with smtp-url and
     * smtp-from; finish refuses half a channel. */
    char practice_name[SIG_CONFIG_TEXT_MAX]; /* named in every message; UTF-8, no controls */
    char timezone[SIG_CONFIG_TZ_MAX];        /* a tz database name; main sets TZ from it */
    char sms_base_url[SIG_CONFIG_URL_MAX];   /* Notify's API, no trailing '/' */
    char sms_api_key_file[SIG_CONFIG_PATH_MAX];
    char sms_template_id[40];          /* a uuid, "" when none */
    char smtp_url[SIG_CONFIG_URL_MAX]; /* smtp://HOST[:PORT] (STARTTLS required) or smtps:// */
    char smtp_user[SIG_CONFIG_TEXT_MAX];
    char smtp_password_file[SIG_CONFIG_PATH_MAX];
    char smtp_from[SIG_CONFIG_TEXT_MAX];    /* "addr" or "Name <addr>" */
    char smtp_ca_file[SIG_CONFIG_PATH_MAX]; /* "" : the system's CAs */
    uint32_t invite_retry_base_ms;          /* first retry delay; doubles with each retry */

    /* TURN (turn.c): with turn-urls and turn-secret-file both set, every join gets coturn
     * credentials valid turn-ttl seconds; with neither, no TURN. finish refuses one alone. */
    char turn_secret_file[SIG_CONFIG_PATH_MAX];
    char turn_urls[SIG_CONFIG_TURN_URLS_MAX][SIG_CONFIG_TURN_URL_MAX]; /* each turn_url_check'd */
    size_t turn_url_count;
    uint32_t turn_ttl_s;

    /* Secrets: never printed, never put in an error message. sig_config_wipe clears them. */
    char api_keys[SIG_CONFIG_API_KEYS_MAX][SIG_CONFIG_API_KEY_MAX + 1];
    size_t api_key_count;   /* after finish: the list's keys, then the file's */
    size_t api_keys_listed; /* how many of them came from the api-keys setting */
    uint8_t token_secret[SIG_CONFIG_SECRET_MAX];
    size_t token_secret_len; /* 0 after finish: the file is missing and is to be generated */
    uint8_t sfu_secret[SIG_CONFIG_SECRET_MAX];
    size_t sfu_secret_len;
    char sms_api_key[SIG_CONFIG_SECRET_MAX + 1]; /* NUL-terminated; "" when none */
    char smtp_password[SIG_CONFIG_SECRET_MAX + 1];
    uint8_t turn_secret[SIG_CONFIG_SECRET_MAX]; /* coturn's static-auth-secret */
    size_t turn_secret_len;                     /* 0: no TURN */

    /* Where each setting's value came from, by the settings table's order: "default",
     * "FILE:LINE", "environment GPSFU_X" or "flag --x". Used in messages and the dump. */
    char origin[SIG_CONFIG_KEY_COUNT][SIG_CONFIG_ORIGIN_MAX];
};

/* Fills every setting with its default (listen 127.0.0.1:8443, tls on, data-dir ./.run, web-root
 * SIG_WEB_ROOT, link-ttl 86400, log-level info; the rest empty, to be derived by finish). Never
 * fails. */
void sig_config_defaults(struct sig_config *cfg);

/* Applies one setting by its key (the long flag name without the dashes). source names where
 * the value came from and is copied; it prefixes any message. Values are checked here as far as
 * they can be alone (syntax, ranges); files are read by finish.
 * Returns 0, or -EINVAL with "SOURCE: KEY: reason" in err. A message never quotes an API key. */
int sig_config_set(struct sig_config *cfg, const char *key, const char *value, const char *source,
                   char *err, size_t err_len);

/* Reads "key = value" lines ('#' starts a comment, blank lines are skipped). Stops at the first
 * bad line. Returns 0, -ENOENT when the file cannot be opened, -EINVAL for a bad line (too long,
 * no '=', unknown key, bad value), each with "FILE:LINE: ..." in err. */
int sig_config_load_file(struct sig_config *cfg, const char *path, char *err, size_t err_len);

/* Applies GPSFU_<KEY> for every key (upper case, dashes as underscores: GPSFU_LISTEN,
 * GPSFU_TOKEN_SECRET_FILE). Set but empty counts as set to empty. Other GPSFU_* variables are
 * ignored (the SFU may have its own). Returns 0 or -EINVAL with the variable's name in err. */
int sig_config_load_env(struct sig_config *cfg, char *err, size_t err_len);

/* The whole sequence on top of cfg (normally fresh from sig_config_defaults): the file named by
 * --config FILE (or --config=FILE; else by $GPSFU_SIGNALLING_CONFIG, if set), then the
 * environment, then every --key value / --key=value. argv is borrowed.
 * Returns 0, 1 when --help or -h was given (usage printed to stdout, nothing else done), or a
 * negative errno with err (-EINVAL for a bad flag or value, -ENOENT for an unreadable file). */
int sig_config_from_args(struct sig_config *cfg, int argc, char **argv, char *err, size_t err_len);

/* Checks the whole and completes it, once, after the last set: fills the derived defaults
 * (database, token-secret-file, sfu, public-url), requires tls-cert and tls-key together and
 * readable (with tls off: neither, and a loopback listen address), at least one API key (reads
 * api-key-file), reads token-secret-file when it exists (at least TOKEN_SECRET_MIN bytes, not
 * readable by others; missing: token_secret_len = 0, to be generated by the caller), and reads
 * sfu-secret-file when an sfu address is tcp; for invitations, checks that timezone names a
 * zone the system has, reads sms-api-key-file (Notify's key format, not readable by others) and
 * smtp-password-file, and refuses half a channel (a key file without a template, smtp-url
 * without smtp-from, smtp-user without a password, and the reverse of each); for TURN, reads
 * turn-secret-file (at least TURN_SECRET_MIN printable bytes without spaces, as coturn's config
 * takes it; not readable by others) and refuses it without turn-urls or the reverse. Returns 0
 * or -EINVAL with a message naming the key and where its value came from. */
int sig_config_finish(struct sig_config *cfg, char *err, size_t err_len);

/* Prints "key = value  [origin]" for every setting, secrets as "(set)" or "(not set)": the
 * startup log's record of what is in force. Never writes a secret's bytes. */
void sig_config_dump(const struct sig_config *cfg, FILE *out);

/* Prints every key with its meaning, default and environment variable. */
void sig_config_usage(FILE *out, const char *prog);

/* Clears the secrets held in cfg (API keys, token and SFU secrets, the Notify key, the SMTP
 * password and the TURN secret) so that they don't linger in freed or swapped memory. Accepts
 * NULL. */
void sig_config_wipe(struct sig_config *cfg);

#endif
