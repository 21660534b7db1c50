/* Signalling configuration: precedence (default < file < environment < flag), every refusal
 * naming its key and source, API keys, SFU addresses, the public-url rule, secret files, and a
 * dump that never holds a secret's bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static const char *const env_vars[] = {
    "GPSFU_LISTEN",    "GPSFU_TLS_CERT",          "GPSFU_TLS_KEY",      "GPSFU_DATA_DIR",
    "GPSFU_DATABASE",  "GPSFU_API_KEYS",          "GPSFU_API_KEY_FILE", "GPSFU_TOKEN_SECRET_FILE",
    "GPSFU_SFU",       "GPSFU_SFU_SECRET_FILE",   "GPSFU_PUBLIC_URL",   "GPSFU_LINK_TTL",
    "GPSFU_LOG_LEVEL", "GPSFU_SIGNALLING_CONFIG", "GPSFU_TLS",          "GPSFU_WEB_ROOT",
};

#define KEY_A        "api-key-aaaaaaaaaaaaaaaa"
#define KEY_B        "api-key-bbbbbbbbbbbbbbbb"
#define KEY_C        "api-key-cccccccccccccccc"
#define TOKEN_SECRET "token-secret-0123456789abcdef-XYZW" /* 34 bytes */
#define SFU_SECRET   "sfu-secret-QRSTUVWXYZ"              /* 21 bytes */

/* A scratch directory per test, removed with everything in it by dir_done. */
static char dir[64];
static char made[8][128];
static int made_n;

static void env_clear(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static int dir_make(void)
{
    env_clear();
    made_n = 0;
    snprintf(dir, sizeof(dir), "/tmp/test_sig_config.XXXXXX");
    return mkdtemp(dir) ? 0 : -errno;
}

static void dir_done(void)
{
    for (int i = 0; i < made_n; i++)
        unlink(made[i]);
    rmdir(dir);
    env_clear();
}

/* Writes DIR/name with the given content and mode; returns the path (static per slot). */
static const char *file_put(const char *name, const char *content, mode_t mode)
{
    char *path = made[made_n++];
    snprintf(path, sizeof(made[0]), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

/* Settings that let finish succeed without touching ./.run. */
static int base(struct sig_config *cfg, char *err, size_t len)
{
    sig_config_defaults(cfg);
    if (sig_config_set(cfg, "data-dir", dir, "test", err, len) < 0)
        return -1;
    return sig_config_set(cfg, "api-keys", KEY_A, "test", err, len);
}

static int test_defaults_and_derived(void)
{
    struct sig_config cfg;
    char err[512], want[256];
    CHECK_EQ(dir_make(), 0);
    sig_config_defaults(&cfg);
    CHECK(strcmp(cfg.listen, "127.0.0.1:8443") == 0);
    CHECK(strcmp(cfg.listen_host, "127.0.0.1") == 0);
    CHECK_EQ(cfg.listen_port, 8443);
    CHECK(strcmp(cfg.data_dir, "./.run") == 0);
    CHECK_EQ(cfg.link_ttl_s, 86400);
    CHECK_EQ(cfg.log_level, LOG_INFO);
    CHECK(strcmp(cfg.origin[0], "default") == 0);
    CHECK(cfg.tls);
    /* The build's absolute path to the source tree's signalling/web, not the fallback. */
    CHECK(cfg.web_root[0] == '/');
    CHECK(strstr(cfg.web_root, "/signalling/web") != NULL);

    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/signalling.db", dir);
    CHECK(strcmp(cfg.database, want) == 0);
    snprintf(want, sizeof(want), "%s/token.secret", dir);
    CHECK(strcmp(cfg.token_secret_file, want) == 0);
    CHECK_EQ(cfg.token_secret_len, 0); /* missing: to be generated */
    CHECK_EQ(cfg.sfu_count, 1);
    CHECK_EQ(cfg.sfu[0].kind, SIG_SFU_UNIX);
    snprintf(want, sizeof(want), "%s/sfu.sock", dir);
    CHECK(strcmp(cfg.sfu[0].path, want) == 0);
    CHECK(strcmp(cfg.public_url, "https://127.0.0.1:8443") == 0);
    CHECK(cfg.tls_generate);
    CHECK_EQ(cfg.api_key_count, 1);
    CHECK(strcmp(cfg.api_keys[0], KEY_A) == 0);
    dir_done();
    return 0;
}

static int test_precedence(void)
{
    struct sig_config cfg;
    char err[512], origin[256];
    CHECK_EQ(dir_make(), 0);
    const char *conf = file_put("a.conf",
                                "# comment\n\nlisten = 127.0.0.1:1001\nlink-ttl = 600\n"
                                "log-level = debug # trailing\ndatabase = /f.db\n",
                                0600);
    CHECK(conf);
    setenv("GPSFU_LISTEN", "127.0.0.1:1002", 1);
    setenv("GPSFU_LINK_TTL", "700", 1);
    char *argv[] = {"sig", "--config", (char *)conf, "--listen=127.0.0.1:1003", NULL};
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_from_args(&cfg, 4, argv, err, sizeof(err)), 0);
    CHECK_EQ(cfg.listen_port, 1003);                    /* flag beats env and file */
    CHECK(strcmp(cfg.origin[0], "flag --listen") == 0); /* listen is the first key */
    CHECK_EQ(cfg.link_ttl_s, 700);                      /* env beats file */
    CHECK_EQ(cfg.log_level, LOG_DEBUG);                 /* file beats default */
    CHECK(strcmp(cfg.database, "/f.db") == 0);
    CHECK(strcmp(cfg.data_dir, "./.run") == 0); /* untouched: default */

    /* Without --config, GPSFU_SIGNALLING_CONFIG names the file; flag value as a separate arg. */
    setenv("GPSFU_SIGNALLING_CONFIG", conf, 1);
    unsetenv("GPSFU_LISTEN");
    char *argv2[] = {"sig", "--link-ttl", "800", NULL};
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_from_args(&cfg, 3, argv2, err, sizeof(err)), 0);
    CHECK_EQ(cfg.listen_port, 1001);
    snprintf(origin, sizeof(origin), "%s:3", conf);
    CHECK(strcmp(cfg.origin[0], origin) == 0);
    CHECK_EQ(cfg.link_ttl_s, 800);

    /* --config beats GPSFU_SIGNALLING_CONFIG. */
    const char *other = file_put("b.conf", "listen = 127.0.0.1:1004\n", 0600);
    char *argv3[] = {"sig", "--config=", NULL};
    char flag[160];
    snprintf(flag, sizeof(flag), "--config=%s", other);
    argv3[1] = flag;
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_from_args(&cfg, 2, argv3, err, sizeof(err)), 0);
    CHECK_EQ(cfg.listen_port, 1004);
    dir_done();
    return 0;
}

/* Each value is refused with a message naming the key and the source. */
static int test_bad_values(void)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"listen", "nope"},
        {"listen", "127.0.0.1:0"},
        {"listen", "127.0.0.1:70000"},
        {"listen", "::1:80"},
        {"listen", "example.com:80"},
        {"listen", "[::1]80"},
        {"listen", "127.0.0.1:"},
        {"link-ttl", "abc"},
        {"link-ttl", "59"},
        {"link-ttl", "7776001"},
        {"link-ttl", "-1"},
        {"link-ttl", ""},
        {"log-level", "loud"},
        {"public-url", "ftp://video.example.nhs.uk"},
        {"public-url", "video.example.nhs.uk"},
        {"public-url", "https://"},
        {"public-url", "https://video.example.nhs.uk:0"},
        {"public-url", "https://a b"},
        {"public-url", "https://x.uk/?q=1"},
        {"public-url", "https://user@x.uk"},
        {"sfu", "udp:127.0.0.1:1"},
        {"tls-cert", "a\tb"},
        {"tls", "yes"},
        {"tls", "ON"},
        {"tls", ""},
        {"web-root", "web\nroot"},
    };
    struct sig_config cfg;
    char err[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sig_config_defaults(&cfg);
        err[0] = '\0';
        if (sig_config_set(&cfg, bad[i].key, bad[i].value, "flag --x", err, sizeof(err)) !=
            -EINVAL) {
            fprintf(stderr, "accepted %s = '%s'\n", bad[i].key, bad[i].value);
            return -1;
        }
        CHECK(strncmp(err, "flag --x: ", 10) == 0);
        CHECK(strstr(err, bad[i].key) != NULL);
    }
    /* A refused value leaves the earlier one in place. */
    CHECK_EQ(cfg.listen_port, 8443);
    CHECK_EQ(cfg.link_ttl_s, 86400);
    CHECK_EQ(sig_config_set(&cfg, "colour", "red", "flag --colour", err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "flag --colour: unknown key 'colour'") == 0);
    return 0;
}

static int test_bad_sources(void)
{
    struct sig_config cfg;
    char err[512], want[256];
    CHECK_EQ(dir_make(), 0);

    const char *conf = file_put("bad.conf", "listen = 127.0.0.1:1\n\nlink-ttl = soon\n", 0600);
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_load_file(&cfg, conf, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:3: link-ttl: ", conf);
    CHECK(strncmp(err, want, strlen(want)) == 0);

    conf = file_put("noeq.conf", "listen 127.0.0.1:1\n", 0600);
    CHECK_EQ(sig_config_load_file(&cfg, conf, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:1: expected 'key = value'", conf);
    CHECK(strcmp(err, want) == 0);

    conf = file_put("unknown.conf", "lissen = 127.0.0.1:1\n", 0600);
    CHECK_EQ(sig_config_load_file(&cfg, conf, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, ":1: unknown key 'lissen'") != NULL);

    char missing[128];
    snprintf(missing, sizeof(missing), "%s/none.conf", dir);
    char *argv0[] = {"sig", "--config", missing, NULL};
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_from_args(&cfg, 3, argv0, err, sizeof(err)), -ENOENT);
    CHECK(strncmp(err, "flag --config: ", 15) == 0);

    setenv("GPSFU_LOG_LEVEL", "shouty", 1);
    char *argv1[] = {"sig", NULL};
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_from_args(&cfg, 1, argv1, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "environment GPSFU_LOG_LEVEL: log-level: ", 40) == 0);
    unsetenv("GPSFU_LOG_LEVEL");

    char *argv2[] = {"sig", "--sfu", "tcp:127.0.0.1", NULL};
    CHECK_EQ(sig_config_from_args(&cfg, 3, argv2, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "flag --sfu: sfu: ", 17) == 0);

    char *argv3[] = {"sig", "--listen", NULL};
    CHECK_EQ(sig_config_from_args(&cfg, 2, argv3, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "flag --listen: needs a value") == 0);

    char *argv4[] = {"sig", "stray", NULL};
    CHECK_EQ(sig_config_from_args(&cfg, 2, argv4, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "'stray'") != NULL);

    char *argv5[] = {"sig", "--bogus=1", NULL};
    CHECK_EQ(sig_config_from_args(&cfg, 2, argv5, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "flag --bogus: unknown key 'bogus'") == 0);
    dir_done();
    return 0;
}

static int test_api_keys(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(dir_make(), 0);
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_set(&cfg, "api-keys", " " KEY_A " ,  " KEY_B, "t", err, sizeof(err)), 0);
    CHECK_EQ(cfg.api_key_count, 2);
    CHECK(strcmp(cfg.api_keys[0], KEY_A) == 0);
    CHECK(strcmp(cfg.api_keys[1], KEY_B) == 0);

    /* A later source replaces the list, and a refused list leaves the old one. */
    CHECK_EQ(sig_config_set(&cfg, "api-keys", KEY_C, "t", err, sizeof(err)), 0);
    CHECK_EQ(cfg.api_key_count, 1);
    CHECK(strcmp(cfg.api_keys[0], KEY_C) == 0);
    CHECK_EQ(sig_config_set(&cfg, "api-keys", KEY_A ",short-secret-1", "t", err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "api-keys: key 2 is 14 characters") != NULL);
    CHECK(strstr(err, "short-secret-1") == NULL); /* never quoted */
    CHECK_EQ(sig_config_set(&cfg, "api-keys", KEY_A ",,", "t", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "entry 2 is empty") != NULL);
    CHECK_EQ(sig_config_set(&cfg, "api-keys", "key-with-a-space x123456", "t", err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "x123456") == NULL);
    char many[17 * 26] = "";
    for (int i = 0; i < 17; i++)
        strcat(many, i ? "," KEY_A : KEY_A);
    CHECK_EQ(sig_config_set(&cfg, "api-keys", many, "t", err, sizeof(err)), -EINVAL);
    CHECK_EQ(cfg.api_key_count, 1);
    CHECK(strcmp(cfg.api_keys[0], KEY_C) == 0);

    /* The file's keys add to the list's. */
    const char *kf = file_put("keys", "# practice system\n" KEY_A "\n\n  " KEY_B "  \n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "data-dir", dir, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "api-key-file", kf, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.api_key_count, 3);
    CHECK_EQ(cfg.api_keys_listed, 1);
    CHECK(strcmp(cfg.api_keys[0], KEY_C) == 0);
    CHECK(strcmp(cfg.api_keys[1], KEY_A) == 0);
    CHECK(strcmp(cfg.api_keys[2], KEY_B) == 0);
    /* Only the file: fine too. */
    CHECK_EQ(sig_config_set(&cfg, "api-keys", "", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.api_key_count, 2);

    const char *bad = file_put("badkeys", KEY_A "\ntoo-short\n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "api-key-file", bad, "flag --api-key-file", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "api-key-file (flag --api-key-file): ", 36) == 0);
    CHECK(strstr(err, "badkeys:2: the key is 9 characters") != NULL);
    CHECK(strstr(err, "too-short") == NULL);

    const char *open_kf = file_put("openkeys", KEY_A "\n", 0644);
    CHECK_EQ(sig_config_set(&cfg, "api-key-file", open_kf, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "readable or writable by others") != NULL);

    /* No key at all. */
    CHECK_EQ(sig_config_set(&cfg, "api-key-file", "", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "api-keys (t): no API key", 24) == 0);
    sig_config_wipe(&cfg);
    dir_done();
    return 0;
}

static int test_sfu_list(void)
{
    struct sig_config cfg;
    char err[512];
    sig_config_defaults(&cfg);
    CHECK_EQ(sig_config_set(&cfg, "sfu",
                            "unix:/run/gpsfu/sfu.sock, tcp:127.0.0.1:4443,tcp:[::1]:5000", "t", err,
                            sizeof(err)),
             0);
    CHECK_EQ(cfg.sfu_count, 3);
    CHECK_EQ(cfg.sfu[0].kind, SIG_SFU_UNIX);
    CHECK(strcmp(cfg.sfu[0].path, "/run/gpsfu/sfu.sock") == 0);
    CHECK_EQ(cfg.sfu[1].kind, SIG_SFU_TCP);
    CHECK(strcmp(cfg.sfu[1].host, "127.0.0.1") == 0);
    CHECK_EQ(cfg.sfu[1].port, 4443);
    CHECK_EQ(cfg.sfu[2].kind, SIG_SFU_TCP);
    CHECK(strcmp(cfg.sfu[2].host, "::1") == 0);
    CHECK_EQ(cfg.sfu[2].port, 5000);

    static const char *const bad[] = {
        "tcp:127.0.0.1",
        "tcp:localhost:4443",
        "unix:",
        "tcp:127.0.0.1:0",
        "tcp:1.2.3.4:99999",
        "unix:/a,,unix:/b",
        "sfu.sock",
        "tcp:[::1:1",
        "unix:/a/very/long/path/that/does/not/fit/in/sun_path/because/it/is/longer/than/one/"
        "hundred/and/seven/bytes/which/is/the/size/of/sun_path.sock",
        "unix:/1,unix:/2,unix:/3,unix:/4,unix:/5,unix:/6,unix:/7,unix:/8,unix:/9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sig_config_set(&cfg, "sfu", bad[i], "environment GPSFU_SFU", err, sizeof(err)) !=
            -EINVAL) {
            fprintf(stderr, "accepted sfu = '%s'\n", bad[i]);
            return -1;
        }
        CHECK(strncmp(err, "environment GPSFU_SFU: sfu: ", 28) == 0);
    }
    CHECK_EQ(cfg.sfu_count, 3); /* unchanged by the refusals */
    return 0;
}

static int test_sfu_secret(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "sfu", "tcp:127.0.0.1:4443", "flag --sfu", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "sfu (flag --sfu): a tcp: address needs sfu-secret-file") == 0);

    const char *shortf = file_put("short.secret", "fifteen-bytes!!\n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "sfu-secret-file", shortf, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "sfu-secret-file (t): ") == err);
    CHECK(strstr(err, "the secret is 15 bytes; at least 16") != NULL);
    CHECK(strstr(err, "fifteen") == NULL);

    const char *good = file_put("sfu.secret", SFU_SECRET "\r\n", 0640);
    CHECK_EQ(sig_config_set(&cfg, "sfu-secret-file", good, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.sfu_secret_len, strlen(SFU_SECRET));
    CHECK_MEM(cfg.sfu_secret, SFU_SECRET, strlen(SFU_SECRET));
    sig_config_wipe(&cfg);
    CHECK_EQ(cfg.sfu_secret_len, 0);
    CHECK(cfg.sfu_secret[0] == 0);
    dir_done();
    return 0;
}

static int test_public_url(void)
{
    struct sig_config cfg;
    char err[512];
    static const struct {
        const char *in, *out;
    } good[] = {
        {"https://video.example.nhs.uk", "https://video.example.nhs.uk"},
        {"https://video.example.nhs.uk/", "https://video.example.nhs.uk"},
        {"https://video.example.nhs.uk:8443/gp//", "https://video.example.nhs.uk:8443/gp"},
        {"https://[2001:db8::1]:443", "https://[2001:db8::1]:443"},
        {"http://localhost:8080", "http://localhost:8080"},
        {"http://127.0.0.1", "http://127.0.0.1"},
        {"http://[::1]:8443", "http://[::1]:8443"},
    };
    sig_config_defaults(&cfg);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_EQ(sig_config_set(&cfg, "public-url", good[i].in, "t", err, sizeof(err)), 0);
        CHECK(strcmp(cfg.public_url, good[i].out) == 0);
    }
    static const char *const bad[] = {
        "http://video.example.nhs.uk",
        "http://127.0.0.2",
        "http://localhost.example.com",
        "HTTP://localhost",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(sig_config_set(&cfg, "public-url", bad[i], "x.conf:4", err, sizeof(err)), -EINVAL);
        CHECK(strncmp(err, "x.conf:4: public-url: ", 22) == 0);
        CHECK(strstr(err, "https://") != NULL);
    }

    /* Left empty, it comes from a loopback listen address, and only from one. */
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "listen", "[::1]:9000", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(strcmp(cfg.public_url, "https://[::1]:9000") == 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "listen", "0.0.0.0:443", "GPSFU_LISTEN", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "public-url (default): must be set when listen (0.0.0.0:443) is not a "
                      "loopback address") == 0);
    dir_done();
    return 0;
}

static int test_token_secret_file(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    const char *shortf = file_put("short", "0123456789012345678901234567890\n", 0600); /* 31 */
    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", shortf,
                            "environment GPSFU_TOKEN_SECRET_FILE", err, sizeof(err)),
             0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "token-secret-file (environment GPSFU_TOKEN_SECRET_FILE): ") == err);
    CHECK(strstr(err, "the secret is 31 bytes; at least 32 are needed") != NULL);
    CHECK(strstr(err, "0123456789") == NULL);
    CHECK_EQ(cfg.token_secret_len, 0);

    const char *open_f = file_put("open", TOKEN_SECRET, 0604);
    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", open_f, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "readable or writable by others") != NULL);

    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", dir, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not a regular file") != NULL);

    const char *good = file_put("good", TOKEN_SECRET "\n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", good, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.token_secret_len, strlen(TOKEN_SECRET));
    CHECK_MEM(cfg.token_secret, TOKEN_SECRET, strlen(TOKEN_SECRET));

    char big[SIG_CONFIG_SECRET_MAX + 2];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *bigf = file_put("big", big, 0600);
    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", bigf, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "longer than 512 bytes") != NULL);
    dir_done();
    return 0;
}

static int test_tls_pair(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    const char *cert = file_put("cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    CHECK_EQ(sig_config_set(&cfg, "tls-cert", cert, "flag --tls-cert", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "tls-cert (flag --tls-cert): set without tls-key; give both or neither") ==
          0);
    CHECK_EQ(sig_config_set(&cfg, "tls-key", "/nonexistent/key.pem", "k.conf:2", err, sizeof(err)),
             0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "tls-key (k.conf:2): /nonexistent/key.pem: No such file or directory") == 0);
    const char *key = file_put("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "tls-key", key, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(!cfg.tls_generate);
    dir_done();
    return 0;
}

/* tls off: plain HTTP for browser tests on this machine, and nowhere else. */
static int test_tls_off(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(dir_make(), 0);

    /* Off on a loopback address: no certificate to make, and links are http://. */
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    setenv("GPSFU_TLS", "off", 1);
    CHECK_EQ(sig_config_load_env(&cfg, err, sizeof(err)), 0);
    CHECK(!cfg.tls);
    CHECK(strcmp(cfg.origin[1], "environment GPSFU_TLS") == 0); /* tls is the second key */
    CHECK_EQ(sig_config_set(&cfg, "listen", "127.0.0.1:8080", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(!cfg.tls_generate);
    CHECK(strcmp(cfg.public_url, "http://127.0.0.1:8080") == 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls", "off", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "listen", "[::1]:8080", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(strcmp(cfg.public_url, "http://[::1]:8080") == 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls", "off", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "listen", "localhost:8080", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(strcmp(cfg.public_url, "http://localhost:8080") == 0);

    /* Off with a listen address others can reach: refused, even with a public-url. */
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls", "off", "flag --tls", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "listen", "0.0.0.0:8080", "t", err, sizeof(err)), 0);
    CHECK_EQ(
        sig_config_set(&cfg, "public-url", "https://video.example.nhs.uk", "t", err, sizeof(err)),
        0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "tls (flag --tls): off is allowed only with a loopback listen address "
                      "(127.0.0.1, ::1 or localhost), not 0.0.0.0:8080") == 0);

    /* Off with a certificate named: refused, as the certificate would silently be unused. */
    const char *cert = file_put("cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    const char *key = file_put("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls", "off", "c.conf:1", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls-cert", cert, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls-key", key, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "tls (c.conf:1): off, but tls-cert is set; remove it or turn tls on") == 0);
    CHECK_EQ(sig_config_set(&cfg, "tls-cert", "", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "off, but tls-key is set") != NULL);

    /* Back on: the same settings are fine, and the derived URL is https:// again. */
    CHECK_EQ(sig_config_set(&cfg, "tls", "on", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "tls-cert", cert, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(cfg.tls && !cfg.tls_generate);
    CHECK(strcmp(cfg.public_url, "https://127.0.0.1:8443") == 0);
    dir_done();
    return 0;
}

static int test_web_root(void)
{
    struct sig_config cfg;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    setenv("GPSFU_WEB_ROOT", "/srv/gpsfu/web", 1);
    CHECK_EQ(sig_config_load_env(&cfg, err, sizeof(err)), 0);
    CHECK(strcmp(cfg.web_root, "/srv/gpsfu/web") == 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    sig_config_dump(&cfg, f);
    fclose(f);
    int rc = strstr(text, "web-root           = /srv/gpsfu/web  [environment GPSFU_WEB_ROOT]") &&
                     strstr(text, "tls                = on  [default]")
                 ? 0
                 : -1;
    if (rc < 0)
        fprintf(stderr, "dump:\n%s", text);
    free(text);
    dir_done();
    CHECK_EQ(rc, 0);
    return 0;
}

/* The dump shows every setting and where it came from, and no secret's bytes. */
static int test_dump_hides_secrets(void)
{
    struct sig_config cfg;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    const char *kf = file_put("keys", KEY_C "\n", 0600);
    const char *ts = file_put("token.secret", TOKEN_SECRET, 0600);
    const char *ss = file_put("sfu.secret", SFU_SECRET, 0600);
    CHECK_EQ(sig_config_set(&cfg, "api-keys", KEY_A "," KEY_B, "flag --api-keys", err, sizeof(err)),
             0);
    CHECK_EQ(sig_config_set(&cfg, "api-key-file", kf, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "token-secret-file", ts, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "sfu", "tcp:127.0.0.1:4443", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "sfu-secret-file", ss, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);

    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    sig_config_dump(&cfg, f);
    fclose(f);
    int rc = -1;
    if (!strstr(text, "aaaaaaaaaaaa") && !strstr(text, "bbbbbbbbbbbb") &&
        !strstr(text, "cccccccccccc") && !strstr(text, "0123456789abcdef") &&
        !strstr(text, "QRSTUVWXYZ") &&
        strstr(text, "api-keys           = (set), 3 key(s) in all  [flag --api-keys]") &&
        strstr(text, "secret (set)") && strstr(text, "sfu                = tcp:127.0.0.1:4443") &&
        strstr(text, "public-url         = https://127.0.0.1:8443  [derived from listen]") &&
        strstr(text, "link-ttl           = 86400  [default]"))
        rc = 0;
    if (rc < 0)
        fprintf(stderr, "dump:\n%s", text);
    free(text);
    sig_config_wipe(&cfg);
    dir_done();
    CHECK_EQ(rc, 0);

    /* Nothing set: "(not set)" and the token secret still to be generated. */
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    f = open_memstream(&text, &len);
    CHECK(f);
    sig_config_dump(&cfg, f);
    fclose(f);
    rc = strstr(text, "secret (not set: to be generated)") && strstr(text, "secret (not set)") ? 0
                                                                                               : -1;
    free(text);
    dir_done();
    CHECK_EQ(rc, 0);
    return 0;
}

/* TURN: both keys or neither, the secret file's mode, length and alphabet (coturn's config
 * takes it as one word), the URI list and the credential lifetime. */
static int test_turn(void)
{
    struct sig_config cfg;
    char err[512];
    char *text = NULL;
    size_t len = 0;
    CHECK_EQ(dir_make(), 0);
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.turn_url_count, 0);
    CHECK_EQ(cfg.turn_ttl_s, 21600);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.turn_secret_len, 0);

    CHECK_EQ(
        sig_config_set(&cfg, "turn-urls",
                       " turn:turn.example.org:3478?transport=udp , turns:turn.example.org:443",
                       "t", err, sizeof(err)),
        0);
    CHECK_EQ(cfg.turn_url_count, 2);
    CHECK(strcmp(cfg.turn_urls[0], "turn:turn.example.org:3478?transport=udp") == 0);
    CHECK(strcmp(cfg.turn_urls[1], "turns:turn.example.org:443") == 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "turn-urls (t): set without turn-secret-file; give both or neither") == 0);

    /* A bad list changes nothing. */
    CHECK_EQ(sig_config_set(&cfg, "turn-urls", "turn:a,turns:b?transport=udp", "flag --turn-urls",
                            err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "flag --turn-urls: turn-urls: 'turns:b?transport=udp'") == err);
    CHECK_EQ(cfg.turn_url_count, 2);
    CHECK_EQ(sig_config_set(&cfg, "turn-urls", "turn:a,,turn:b", "t", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "entry 2 is empty") != NULL);
    CHECK_EQ(sig_config_set(&cfg, "turn-urls",
                            "turn:1,turn:2,turn:3,turn:4,turn:5,turn:6,turn:7,"
                            "turn:8,turn:9",
                            "t", err, sizeof(err)),
             -EINVAL);
    CHECK(strstr(err, "more than 8 URIs") != NULL);

    const char *open_f = file_put("turn-open.secret", "turn-secret-0123456789\n", 0644);
    const char *short_f = file_put("turn-short.secret", "fifteen-bytes!!\n", 0600);
    const char *space_f = file_put("turn-space.secret", "turn secret 0123456789\n", 0600);
    const char *good_f = file_put("turn.secret", "turn-secret-0123456789\n", 0600);
    CHECK_EQ(sig_config_set(&cfg, "turn-secret-file", open_f, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "turn-secret-file (t): ") == err);
    CHECK(strstr(err, "chmod 600") != NULL);
    CHECK_EQ(sig_config_set(&cfg, "turn-secret-file", short_f, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "the secret is 15 bytes; at least 16") != NULL);
    CHECK_EQ(sig_config_set(&cfg, "turn-secret-file", space_f, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "printable ASCII without spaces") != NULL);
    CHECK(strstr(err, "0123456789") == NULL);
    CHECK_EQ(cfg.turn_secret_len, 0);

    CHECK_EQ(sig_config_set(&cfg, "turn-secret-file", good_f, "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(cfg.turn_secret_len, 22);
    CHECK_MEM(cfg.turn_secret, "turn-secret-0123456789", 22);

    CHECK_EQ(sig_config_set(&cfg, "turn-ttl", "59", "t", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sig_config_set(&cfg, "turn-ttl", "604801", "t", err, sizeof(err)), -EINVAL);
    CHECK_EQ(sig_config_set(&cfg, "turn-ttl", "1h", "t", err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "60..604800") != NULL);
    CHECK_EQ(sig_config_set(&cfg, "turn-ttl", "60", "t", err, sizeof(err)), 0);
    CHECK_EQ(cfg.turn_ttl_s, 60);

    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    sig_config_dump(&cfg, f);
    fclose(f);
    int rc = !strstr(text, "0123456789") &&
                     strstr(text, "turn-urls          = turn:turn.example.org:3478?transport=udp,"
                                  "turns:turn.example.org:443  [t]") &&
                     strstr(text, "turn.secret, secret (set)") &&
                     strstr(text, "turn-ttl           = 60  [t]")
                 ? 0
                 : -1;
    if (rc < 0)
        fprintf(stderr, "dump:\n%s", text);
    free(text);
    CHECK_EQ(rc, 0);

    /* The secret file alone is refused too. */
    CHECK_EQ(sig_config_set(&cfg, "turn-urls", "", "t", err, sizeof(err)), 0);
    CHECK_EQ(cfg.turn_url_count, 0);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "turn-secret-file (t): set without turn-urls; give both or neither") == 0);
    sig_config_wipe(&cfg);
    CHECK_EQ(cfg.turn_secret_len, 0);
    CHECK(cfg.turn_secret[0] == 0);
    dir_done();
    return 0;
}

static int test_usage_lists_every_key(void)
{
    char *text = NULL;
    size_t len = 0;
    static const char *const want[] = {
        "--listen",
        "--tls-cert",
        "--tls-key",
        "--data-dir",
        "--database",
        "--api-keys",
        "--api-key-file",
        "--token-secret-file",
        "--sfu",
        "--sfu-secret-file",
        "--public-url",
        "--link-ttl",
        "--log-level",
        "--tls ",
        "--web-root",
        "GPSFU_TLS",
        "GPSFU_WEB_ROOT",
        "default on",
        "GPSFU_TOKEN_SECRET_FILE",
        "default 127.0.0.1:8443",
        "default DATA_DIR/signalling.db",
        "GPSFU_SIGNALLING_CONFIG",
        "--turn-secret-file",
        "--turn-urls",
        "--turn-ttl",
        "GPSFU_TURN_URLS",
        "default 21600",
    };
    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    sig_config_usage(f, "signalling");
    fclose(f);
    int missing = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        missing += strstr(text, want[i]) == NULL;
    free(text);
    CHECK_EQ(missing, 0);
    return 0;
}

static const struct test_case cases[] = {
    {"defaults_and_derived", test_defaults_and_derived},
    {"precedence", test_precedence},
    {"bad_values", test_bad_values},
    {"bad_sources", test_bad_sources},
    {"api_keys", test_api_keys},
    {"sfu_list", test_sfu_list},
    {"sfu_secret", test_sfu_secret},
    {"public_url", test_public_url},
    {"token_secret_file", test_token_secret_file},
    {"tls_pair", test_tls_pair},
    {"tls_off", test_tls_off},
    {"web_root", test_web_root},
    {"dump_hides_secrets", test_dump_hides_secrets},
    {"turn", test_turn},
    {"usage_lists_every_key", test_usage_lists_every_key},
};

TEST_MAIN(cases)
