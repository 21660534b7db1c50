/* Configuration: a file, then flags over it; every bad value or key is refused with a message
 * that names it (and the line, for a file). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "harness.h"

static int write_file(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/gpsfu-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int test_config_file_then_flags(void)
{
    struct sfu_config cfg;
    char path[64], err[256];
    CHECK_EQ(write_file(path, sizeof(path),
                        "# comment\nworkers = 3\nport-base = 41000 # trailing\n"
                        "control-unix = /tmp/x.sock\ngrace = 2.5\nlog-level = debug\n"),
             0);
    char *argv[] = {"sfu", "--config", path, "--port-base", "42000", "--consent-timeout=7", NULL};
    sfu_config_defaults(&cfg);
    CHECK_EQ(sfu_config_from_args(&cfg, 6, argv, err, sizeof(err)), 0);
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.workers, 3);
    CHECK_EQ(cfg.port_base, 42000);
    CHECK_EQ(cfg.grace_ms, 2500);
    CHECK_EQ(cfg.consent_timeout_ms, 7000);
    CHECK_EQ(cfg.log_level, LOG_DEBUG);
    CHECK(strcmp(cfg.control_unix, "/tmp/x.sock") == 0);
    CHECK(strcmp(cfg.announced_ip, cfg.listen_ip) == 0);
    unlink(path);
    return 0;
}

static int test_config_errors_named(void)
{
    struct sfu_config cfg;
    char path[64], err[256];
    CHECK_EQ(write_file(path, sizeof(path), "workers = 2\nport-base = 99999\n"), 0);
    sfu_config_defaults(&cfg);
    CHECK_EQ(sfu_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, ":2:") != NULL && strstr(err, "port-base") != NULL);
    unlink(path);

    CHECK_EQ(write_file(path, sizeof(path), "no equals sign here\n"), 0);
    sfu_config_defaults(&cfg);
    CHECK_EQ(sfu_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, ":1:") != NULL);
    unlink(path);

    sfu_config_defaults(&cfg);
    CHECK_EQ(sfu_config_set(&cfg, "colour", "blue", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "colour") != NULL);
    CHECK_EQ(sfu_config_set(&cfg, "workers", "-1", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sfu_config_set(&cfg, "workers", "2x", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sfu_config_set(&cfg, "grace", "soon", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sfu_config_set(&cfg, "log-level", "loud", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sfu_config_load_file(&cfg, "/nonexistent/gpsfu.conf", err, sizeof(err)), -ENOENT);

    char *argv[] = {"sfu", "--workers", NULL};
    CHECK_EQ(sfu_config_from_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "needs a value") != NULL);
    return 0;
}

static int test_config_finish_checks(void)
{
    struct sfu_config cfg;
    char err[256];
    sfu_config_defaults(&cfg);
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), -EINVAL); /* no control socket */
    CHECK(strstr(err, "control") != NULL);

    sfu_config_defaults(&cfg);
    snprintf(cfg.control_tcp_host, sizeof(cfg.control_tcp_host), "127.0.0.1");
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), -EINVAL); /* TCP without a secret */
    CHECK(strstr(err, "secret") != NULL);

    char path[64];
    CHECK_EQ(write_file(path, sizeof(path), "short\n"), 0);
    snprintf(cfg.control_secret_file, sizeof(cfg.control_secret_file), "%s", path);
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), -EINVAL); /* secret too short */
    unlink(path);
    CHECK_EQ(write_file(path, sizeof(path), "0123456789abcdef0123\n"), 0);
    snprintf(cfg.control_secret_file, sizeof(cfg.control_secret_file), "%s", path);
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.control_secret_len, 20); /* the newline is not part of it */
    unlink(path);

    sfu_config_defaults(&cfg);
    snprintf(cfg.control_unix, sizeof(cfg.control_unix), "/tmp/x.sock");
    cfg.workers = 4;
    cfg.port_base = 65534;
    CHECK_EQ(sfu_config_finish(&cfg, err, sizeof(err)), -EINVAL); /* ports past 65535 */
    return 0;
}

static const struct test_case cases[] = {
    {"config_file_then_flags", test_config_file_then_flags},
    {"config_errors_named", test_config_errors_named},
    {"config_finish_checks", test_config_finish_checks},
};

TEST_MAIN(cases)
