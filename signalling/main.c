/* The signalling executable: configuration, first-start secrets and certificate, the store, the
 * SFU link, the invitation sender, the web server, signals. The only place that may exit. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <uv.h>

#include "api.h"
#include "conf.h"
#include "config.h"
#include "core/log.h"
#include "invite_send.h"
#include "server.h"
#include "sfu_link.h"
#include "store.h"
#include "tls_cert.h"
#include "token.h"
#include "turn.h"

#define TAG "signalling"

struct app {
    struct sig_config cfg;
    uv_loop_t loop;
    bool loop_ready;
    uv_signal_t sigint, sigterm;
    struct store *store;
    struct conf_hub *hub;
    struct sfu_link *link;
    struct invite_sender *sender;
    struct server *server;
    struct api_ctx api;
    struct turn_params turn; /* cfg's TURN settings as the hub takes them */
    char tls_cert[SIG_CONFIG_PATH_MAX + 16];
    char tls_key[SIG_CONFIG_PATH_MAX + 16];
};

/* Makes the link-signing secret on first start: 32 random bytes as 64 hex digits, in a file
 * created 0600 (never readable by others, not even for a moment), then read back by the config
 * module's own rules. */
static int token_secret_make(struct sig_config *cfg, char *err, size_t err_len)
{
    uint8_t raw[32];
    char hex[65];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        snprintf(err, err_len, "token-secret-file: no random numbers");
        return -EIO;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof(raw));
    /* Written whole to a temporary file, then renamed: a crash midway leaves no short secret
     * for the next start to trust. */
    char tmp[SIG_CONFIG_PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.new", cfg->token_secret_file);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, hex, 64) == 64 && fsync(fd) == 0;
    if (fd >= 0 && close(fd) < 0)
        ok = false;
    if (!ok || rename(tmp, cfg->token_secret_file) < 0) {
        snprintf(err, err_len, "token-secret-file %s: cannot create: %s", cfg->token_secret_file,
                 strerror(errno));
        unlink(tmp);
        OPENSSL_cleanse(hex, sizeof(hex));
        return -EIO;
    }
    memcpy(cfg->token_secret, hex, 64);
    cfg->token_secret_len = 64;
    OPENSSL_cleanse(hex, sizeof(hex));
    log_info(TAG, "made a new link-signing secret in %s", cfg->token_secret_file);
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *a = h->data;
    log_info(TAG, "%s: stopping (media keeps flowing on the SFU; browsers reconnect)",
             signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_signal_stop(&a->sigint);
    uv_signal_stop(&a->sigterm);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    /* The hub stops asking the SFU for anything first, so that closing the browsers' sockets
     * does not close their media. */
    conf_hub_stop(a->hub);
    server_stop(a->server);
    sfu_link_free(a->link);
    a->link = NULL;
    /* Invitations being sent stay pending in the store; the next start sends them. */
    invite_sender_stop(a->sender);
}

static void on_ended(void *arg, const char *consultation_id)
{
    conf_hub_end(arg, consultation_id);
}

static const struct sfu_link_cbs link_cbs = {
    .up = conf_hub_sfu_up,
    .down = conf_hub_sfu_down,
    .event = conf_hub_sfu_event,
};

static int run(struct app *a, int argc, char **argv)
{
    char err[512];
    int rc;
    sig_config_defaults(&a->cfg);
    rc = sig_config_from_args(&a->cfg, argc, argv, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc == 0) {
        if (mkdir(a->cfg.data_dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "signalling: data-dir %s: %s\n", a->cfg.data_dir, strerror(errno));
            return 1;
        }
        rc = sig_config_finish(&a->cfg, err, sizeof(err));
    }
    if (rc < 0) {
        fprintf(stderr, "signalling: %s\n", err);
        return 2;
    }
    log_level_set(a->cfg.log_level);
    sig_config_dump(&a->cfg, stderr);
    for (size_t i = 0; i < a->cfg.turn_url_count; i++) {
        if (turn_url_tls_to_ip(a->cfg.turn_urls[i]))
            log_warn(TAG,
                     "turn-urls: %s: Firefox tries TURN over TLS only to a name (the one on the "
                     "TURN server's certificate), never to an IP address",
                     a->cfg.turn_urls[i]);
    }
    /* Appointment times in invitations are written in this zone (localtime_r reads TZ); the
     * log's times are UTC whatever it says. */
    setenv("TZ", a->cfg.timezone, 1);
    tzset();
    if (a->cfg.token_secret_len == 0 && token_secret_make(&a->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "signalling: %s\n", err);
        return 1;
    }
    const char *cert = NULL, *key = NULL;
    if (a->cfg.tls_generate) {
        snprintf(a->tls_cert, sizeof(a->tls_cert), "%s/tls-cert.pem", a->cfg.data_dir);
        snprintf(a->tls_key, sizeof(a->tls_key), "%s/tls-key.pem", a->cfg.data_dir);
        if (tls_cert_ensure(a->tls_cert, a->tls_key, err, sizeof(err)) < 0) {
            fprintf(stderr, "signalling: %s\n", err);
            return 1;
        }
        cert = a->tls_cert, key = a->tls_key;
    } else if (a->cfg.tls_cert[0]) {
        cert = a->cfg.tls_cert, key = a->cfg.tls_key;
    }

    if ((rc = store_open(&a->store, a->cfg.database)) < 0) {
        fprintf(stderr, "signalling: database %s: cannot open (%s)\n", a->cfg.database,
                strerror(-rc));
        return 1;
    }
    uv_loop_init(&a->loop);
    a->loop_ready = true;
    a->turn = (struct turn_params){
        .secret = a->cfg.turn_secret,
        .secret_len = a->cfg.turn_secret_len,
        .n_urls = a->cfg.turn_url_count,
        .ttl_s = a->cfg.turn_ttl_s,
    };
    for (size_t i = 0; i < a->cfg.turn_url_count; i++)
        a->turn.urls[i] = a->cfg.turn_urls[i];
    struct conf_hub_params hp = {
        .store = a->store,
        .token_secret = a->cfg.token_secret,
        .token_secret_len = a->cfg.token_secret_len,
        .ops = server_conn_ops(),
        .loop = &a->loop,
        .turn = a->cfg.turn_url_count > 0 ? &a->turn : NULL,
    };
    if (conf_hub_new(&a->hub, &hp) < 0) {
        fprintf(stderr, "signalling: out of memory\n");
        return 1;
    }
    if (a->cfg.sfu_count > 1)
        log_warn(TAG, "only the first sfu address is used for now");
    rc = sfu_link_new(&a->link, &a->loop, &a->cfg.sfu[0], a->cfg.sfu_secret, a->cfg.sfu_secret_len,
                      &link_cbs, a->hub);
    if (rc < 0) {
        fprintf(stderr, "signalling: sfu link: %s\n", strerror(-rc));
        return 1;
    }
    conf_hub_set_link(a->hub, a->link);
    struct invite_sender_params ip = {
        .loop = &a->loop,
        .cfg = &a->cfg,
        .store = a->store,
        .token_secret = a->cfg.token_secret,
        .token_secret_len = a->cfg.token_secret_len,
    };
    if ((rc = invite_sender_new(&a->sender, &ip)) < 0) {
        fprintf(stderr, "signalling: invitations: %s\n", strerror(-rc));
        return 1;
    }
    if ((rc = invite_sender_resume(a->sender)) < 0)
        log_error(TAG, "cannot resume the pending invitations: %s", store_errmsg(a->store));
    a->api = (struct api_ctx){
        .cfg = &a->cfg,
        .store = a->store,
        .token_secret = a->cfg.token_secret,
        .token_secret_len = a->cfg.token_secret_len,
        .ended = on_ended,
        .arg = a->hub,
        .invited = invite_sender_invited,
        .invite_arg = a->sender,
    };
    struct server_params sp = {
        .cfg = &a->cfg,
        .loop = &a->loop,
        .store = a->store,
        .hub = a->hub,
        .api = &a->api,
        .link = a->link,
        .tls_cert = cert,
        .tls_key = key,
    };
    if (server_new(&a->server, &sp, err, sizeof(err)) < 0) {
        fprintf(stderr, "signalling: %s\n", err);
        return 1;
    }
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);

    /* Scripts (scripts/start.sh, the tests) wait for this line. */
    printf("signalling: listening on %s://%s:%d, links use %s\n", cert ? "https" : "http",
           a->cfg.listen_host, server_port(a->server), a->cfg.public_url);
    fflush(stdout);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    log_info(TAG, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    static struct app a; /* large (the config holds its buffers); not on the stack */
    signal(SIGPIPE, SIG_IGN);
    /* Before any thread: libcurl's global state (OpenSSL's, among others) is set up once. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "signalling: libcurl cannot start\n");
        return 1;
    }
    int rc = run(&a, argc, argv);
    /* After a signal these are gone already; after an error they close here the same way. */
    if (a.hub)
        conf_hub_stop(a.hub);
    server_stop(a.server);
    sfu_link_free(a.link);
    invite_sender_stop(a.sender);
    if (a.loop_ready) {
        if (!uv_is_closing((uv_handle_t *)&a.sigint) && a.sigint.loop) {
            uv_close((uv_handle_t *)&a.sigint, NULL);
            uv_close((uv_handle_t *)&a.sigterm, NULL);
        }
        uv_run(&a.loop, UV_RUN_DEFAULT); /* until every handle's close callback has run */
        uv_loop_close(&a.loop);
    }
    server_free(a.server);
    invite_sender_free(a.sender);
    conf_hub_free(a.hub);
    store_close(a.store);
    sig_config_wipe(&a.cfg);
    curl_global_cleanup();
    return rc;
}
