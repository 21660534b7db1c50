/* Configuration from defaults, a file and flags. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum key_type { KEY_U32, KEY_U16, KEY_STR, KEY_SECONDS_MS, KEY_LOG };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size;
    const char *help;
};

#define K(name, type, field, help)                                                                 \
    {                                                                                              \
        name, type, offsetof(struct sfu_config, field), sizeof(((struct sfu_config *)0)->field),   \
            help                                                                                   \
    }

static const struct key_def keys[] = {
    K("workers", KEY_U32, workers,
      "worker threads, each with its own loop and port (0: one per core)"),
    K("listen-ip", KEY_STR, listen_ip, "address the media sockets bind to"),
    K("announced-ip", KEY_STR, announced_ip, "address put in ICE candidates (NAT, containers)"),
    K("port-base", KEY_U16, port_base, "UDP port of worker 0; worker i uses port-base + i"),
    K("control-unix", KEY_STR, control_unix, "control socket path (mode 0600); empty: none"),
    K("control-tcp-host", KEY_STR, control_tcp_host,
      "loopback address for TCP control; empty: none"),
    K("control-tcp-port", KEY_U16, control_tcp_port, "TCP control port"),
    K("control-secret-file", KEY_STR, control_secret_file,
      "file holding the TCP control shared secret"),
    K("control-max-msg", KEY_U32, control_max_msg, "largest control message in bytes"),
    K("grace", KEY_SECONDS_MS, grace_ms, "seconds rooms outlive a dropped control connection"),
    K("consent-timeout", KEY_SECONDS_MS, consent_timeout_ms,
      "seconds of silence before a transport is disconnected"),
    K("keyframe-throttle", KEY_SECONDS_MS, keyframe_throttle_ms,
      "seconds between keyframe requests to a publisher"),
    K("stats-interval", KEY_SECONDS_MS, stats_interval_ms,
      "seconds between stats events (0: none)"),
    K("pool-packets", KEY_U32, pool_packets, "packet buffers per worker"),
    K("log-level", KEY_LOG, log_level, "error, warn, info or debug"),
};

void sfu_config_defaults(struct sfu_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->workers = 0;
    snprintf(cfg->listen_ip, sizeof(cfg->listen_ip), "127.0.0.1");
    cfg->port_base = 40000;
    cfg->control_max_msg = 256 * 1024;
    cfg->grace_ms = 60000;
    cfg->consent_timeout_ms = 30000;
    cfg->keyframe_throttle_ms = 1000;
    cfg->stats_interval_ms = 0;
    cfg->pool_packets = 32768;
    cfg->log_level = LOG_INFO;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!*s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_seconds_ms(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* Written so that NaN fails too. */
    if (errno || end == s || *end || !(v >= 0 && v <= 86400.0 * 7))
        return -EINVAL;
    *out = (uint32_t)(v * 1000.0 + 0.5);
    return 0;
}

int sfu_config_set(struct sfu_config *cfg, const char *key, const char *value, char *err,
                   size_t err_len)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key_def *k = &keys[i];
        if (strcmp(k->name, key) != 0)
            continue;
        char *field = (char *)cfg + k->offset;
        uint64_t v;
        int rc = 0;
        switch (k->type) {
        case KEY_U32:
            rc = parse_u64(value, UINT32_MAX, &v);
            if (rc == 0)
                *(uint32_t *)field = (uint32_t)v;
            break;
        case KEY_U16:
            rc = parse_u64(value, UINT16_MAX, &v);
            if (rc == 0)
                *(uint16_t *)field = (uint16_t)v;
            break;
        case KEY_STR:
            if (strlen(value) >= k->size)
                rc = -EINVAL;
            else
                snprintf(field, k->size, "%s", value);
            break;
        case KEY_SECONDS_MS:
            rc = parse_seconds_ms(value, (uint32_t *)field);
            break;
        case KEY_LOG:
            rc = log_level_parse(value, (enum log_level *)field);
            break;
        }
        if (rc < 0)
            snprintf(err, err_len, "%s: invalid value '%s'", key, value);
        return rc;
    }
    snprintf(err, err_len, "unknown setting '%s'", key);
    return -EINVAL;
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

int sfu_config_load_file(struct sfu_config *cfg, const char *path, char *err, size_t err_len)
{
    char line[512], msg[256];
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, err_len, "%s:%d: expected 'key = value'", path, lineno);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        if (sfu_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof(msg)) < 0) {
            snprintf(err, err_len, "%s:%d: %s", path, lineno, msg);
            rc = -EINVAL;
            break;
        }
    }
    fclose(f);
    return rc;
}

void sfu_config_usage(const char *prog)
{
    printf("usage: %s [--config FILE] [--KEY VALUE]...\n\nSettings (also as 'KEY = VALUE' "
           "lines in the config file):\n",
           prog);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        printf("  --%-22s %s\n", keys[i].name, keys[i].help);
}

int sfu_config_from_args(struct sfu_config *cfg, int argc, char **argv, char *err, size_t err_len)
{
    int rc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sfu_config_usage(argv[0]);
            return 1;
        }
        const char *file = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
        if (file) {
            rc = sfu_config_load_file(cfg, file, err, err_len);
            if (rc < 0)
                return rc;
        }
    }
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *value;
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, err_len, "unexpected argument '%s'", a);
            return -EINVAL;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
            value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                snprintf(err, err_len, "--%s needs a value", a);
                return -EINVAL;
            }
            snprintf(key, sizeof(key), "%s", a);
            value = argv[++i];
        }
        if (strcmp(key, "config") == 0)
            continue;
        rc = sfu_config_set(cfg, key, value, err, err_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sfu_config_finish(struct sfu_config *cfg, char *err, size_t err_len)
{
    if (cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? (uint32_t)n : 1;
    }
    /* Ids carry the worker's index + 1 in their top byte. */
    if (cfg->workers > 255) {
        snprintf(err, err_len, "workers: at most 255");
        return -EINVAL;
    }
    if (cfg->port_base != 0 && (uint32_t)cfg->port_base + cfg->workers - 1 > 65535) {
        snprintf(err, err_len, "port-base: %u + %u workers is past 65535", cfg->port_base,
                 cfg->workers);
        return -EINVAL;
    }
    if (!cfg->control_unix[0] && !cfg->control_tcp_host[0]) {
        snprintf(err, err_len, "no control socket: set control-unix or control-tcp-host");
        return -EINVAL;
    }
    if (cfg->control_tcp_host[0]) {
        if (!cfg->control_secret_file[0]) {
            snprintf(err, err_len, "control-tcp-host needs control-secret-file");
            return -EINVAL;
        }
        FILE *f = fopen(cfg->control_secret_file, "r");
        if (!f) {
            snprintf(err, err_len, "%s: %s", cfg->control_secret_file, strerror(errno));
            return -EINVAL;
        }
        size_t n = fread(cfg->control_secret, 1, sizeof(cfg->control_secret), f);
        fclose(f);
        while (n > 0 && (cfg->control_secret[n - 1] == '\n' || cfg->control_secret[n - 1] == '\r'))
            n--;
        if (n < 16) {
            snprintf(err, err_len, "%s: the secret must be at least 16 bytes",
                     cfg->control_secret_file);
            return -EINVAL;
        }
        cfg->control_secret_len = n;
    }
    if (!cfg->announced_ip[0])
        snprintf(cfg->announced_ip, sizeof(cfg->announced_ip), "%s", cfg->listen_ip);
    if (cfg->pool_packets < 1024)
        cfg->pool_packets = 1024;
    return 0;
}
