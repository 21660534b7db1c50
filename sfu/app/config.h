/* The SFU's configuration: defaults, a key = value file, then command-line flags, in that
 * order. Made once in main() and read-only for every thread afterwards. */
#ifndef SFU_CONFIG_H
#define SFU_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

struct sfu_config {
    uint32_t workers;          /* 0: one per core */
    char listen_ip[64];        /* where the media sockets bind */
    char announced_ip[64];     /* what candidates say; empty: listen_ip */
    uint16_t port_base;        /* worker i listens on port_base + i */
    char control_unix[256];    /* empty: no Unix socket */
    char control_tcp_host[64]; /* empty: no TCP */
    uint16_t control_tcp_port;
    char control_secret_file[256]; /* required with TCP */
    uint8_t control_secret[256];
    size_t control_secret_len;
    uint32_t control_max_msg;      /* bytes */
    uint32_t grace_ms;             /* rooms outlive a dropped control connection this long */
    uint32_t consent_timeout_ms;   /* nothing heard this long: disconnected (RFC 7675) */
    uint32_t keyframe_throttle_ms; /* at most one keyframe request upstream per window */
    uint32_t stats_interval_ms;    /* 0: no periodic stats events */
    uint32_t pool_packets;         /* packet buffers per worker */
    enum log_level log_level;
};

void sfu_config_defaults(struct sfu_config *cfg);

/* Reads "key = value" lines ('#' starts a comment); keys are the long flag names without the
 * dashes ("port-base = 40000"). On error writes a message naming the line into err.
 * Returns 0, -ENOENT, -EINVAL. */
int sfu_config_load_file(struct sfu_config *cfg, const char *path, char *err, size_t err_len);

/* Applies one setting by its key. Returns 0 or -EINVAL with a message in err. */
int sfu_config_set(struct sfu_config *cfg, const char *key, const char *value, char *err,
                   size_t err_len);

/* Parses argv: --config FILE is read first, then every other --key value (or --key=value)
 * overrides it. Returns 0, 1 when --help was asked (usage printed), or negative with err. */
int sfu_config_from_args(struct sfu_config *cfg, int argc, char **argv, char *err, size_t err_len);

/* Checks the whole: TCP control needs a secret, ports fit, and reads the secret file.
 * Returns 0 or -EINVAL with err. */
int sfu_config_finish(struct sfu_config *cfg, char *err, size_t err_len);

void sfu_config_usage(const char *prog);

#endif
