/* The SFU executable: configuration, the DTLS certificate, the control thread's loop, signals.
 * The only place that may exit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "app/config.h"
#include "app/sfu.h"
#include "core/log.h"
#include "dtls/dtls.h"
#include "srtp/sfu_srtp.h"

struct app {
    struct sfu *sfu;
    uv_signal_t sigint;
    uv_signal_t sigterm;
};

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *a = h->data;
    log_info("sfu", "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_signal_stop(&a->sigint);
    uv_signal_stop(&a->sigterm);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    if (a->sfu) {
        sfu_shutdown(a->sfu);
        a->sfu = NULL;
    }
}

int main(int argc, char **argv)
{
    struct sfu_config cfg;
    struct dtls_ctx *dtls = NULL;
    struct app app = {0};
    char err[512];
    int rc;

    signal(SIGPIPE, SIG_IGN);
    sfu_config_defaults(&cfg);
    rc = sfu_config_from_args(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc == 0)
        rc = sfu_config_finish(&cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sfu: %s\n(see --help)\n", err);
        return 2;
    }
    log_level_set(cfg.log_level);
    if ((rc = sfu_srtp_global_init()) < 0) {
        log_error("sfu", "SRTP could not start: %s",
                  rc == -ENOTSUP ? "OpenSSL lacks AES-128-CTR, AES-128-GCM or HMAC"
                                 : "libsrtp2 failed, or failed its known-answer tests");
        return 1;
    }
    if ((rc = dtls_ctx_new(&dtls)) < 0) {
        log_error("sfu", "DTLS certificate could not be made: %s", strerror(-rc));
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    rc = sfu_new(&app.sfu, loop, &cfg, dtls);
    if (rc < 0) {
        uv_run(loop, UV_RUN_DEFAULT);
        dtls_ctx_free(dtls);
        return 1;
    }
    uv_signal_init(loop, &app.sigint);
    uv_signal_init(loop, &app.sigterm);
    app.sigint.data = &app;
    app.sigterm.data = &app;
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);

    log_info("sfu", "%u worker(s), media on UDP %s ports %u-%u (announced as %s)", cfg.workers,
             cfg.listen_ip, sfu_worker_port(app.sfu, 0), sfu_worker_port(app.sfu, cfg.workers - 1),
             cfg.announced_ip);
    log_info("sfu", "DTLS certificate fingerprint sha-256 %s", dtls_ctx_fingerprint(dtls));
    if (cfg.control_unix[0])
        printf("SFU control socket: unix:%s (mode 0600)\n", cfg.control_unix);
    if (cfg.control_tcp_host[0])
        printf("SFU control socket: tcp:%s:%d (shared-secret handshake)\n", cfg.control_tcp_host,
               sfu_control_tcp_port(app.sfu));
    fflush(stdout);

    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    dtls_ctx_free(dtls);
    log_info("sfu", "stopped");
    return 0;
}
