/* The janus target's server process: its generated config folder, its start (pinned, tied to
 * our life) and its stop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <curl/curl.h>
#include <glib.h>

#include "lt_janus_priv.h"

#define JANUS_BIN         "/usr/bin/janus"
#define JANUS_LIB_DIR     "/usr/lib/x86_64-linux-gnu/janus"
#define RTP_RANGE_PORTS   2000 /* one port per PeerConnection (BUNDLE, rtcp-mux): 1000 people */
#define RTP_RANGE_LOWEST  20000
#define RTP_RANGE_HIGHEST 32767 /* below Linux's ephemeral range, where our own sockets land */
#define STOP_GRACE_MS     5000

static int port_bindable(int type, const char *ip, uint16_t port, uint16_t *bound)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int err = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = -errno;
    } else if (bound) {
        socklen_t len = sizeof(sa);
        getsockname(fd, (struct sockaddr *)&sa, &len);
        *bound = ntohs(sa.sin_port);
    }
    close(fd);
    return err;
}

/* A window of UDP ports all free on ip right now. Another process may still take one before
 * janus does; libnice then tries another port in the range. */
static int rtp_range_find(const char *ip, uint16_t *lo)
{
    unsigned start = RTP_RANGE_LOWEST + (unsigned)(getpid() % 4) * RTP_RANGE_PORTS;
    unsigned span = RTP_RANGE_HIGHEST + 1 - RTP_RANGE_LOWEST - RTP_RANGE_PORTS;
    for (unsigned step = 0; step <= span; step += RTP_RANGE_PORTS / 2) {
        unsigned base = RTP_RANGE_LOWEST + (start - RTP_RANGE_LOWEST + step) % span;
        unsigned p;
        for (p = base; p < base + RTP_RANGE_PORTS; p++)
            if (port_bindable(SOCK_DGRAM, ip, (uint16_t)p, NULL) < 0)
                break;
        if (p == base + RTP_RANGE_PORTS) {
            *lo = (uint16_t)base;
            return 0;
        }
    }
    return -EADDRINUSE;
}

/* Every "*.so" in dir except keep, comma separated: Janus loads whatever it finds, so what we
 * do not want must be named. */
static int disable_list(const char *dir, const char *keep, char *out, size_t outlen)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no such folder: nothing to load, nothing to disable */
    size_t used = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0)
            continue;
        if (keep && strcmp(e->d_name, keep) == 0)
            continue;
        int w = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", e->d_name);
        if (w < 0 || (size_t)w >= outlen - used) {
            closedir(d);
            return -ENOSPC;
        }
        used += (size_t)w;
    }
    closedir(d);
    return 0;
}

static int file_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int err = fputs(text, f) < 0 ? -EIO : 0;
    if (fclose(f) != 0 && err == 0)
        err = -EIO;
    return err;
}

static unsigned event_loops_pick(const struct lt_target_cfg *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    return lt_cpus_count(cfg->cpus);
}

/* The three files Janus reads. The choices that matter for the measurement:
 * - event_loops: a fixed pool of media threads instead of one per handle. Janus's own default
 *   (a GMainLoop thread per PeerConnection) thrashes once there are more PeerConnections than
 *   cores; a pool sized to the cores cut its CPU per forwarded packet by a third here.
 * - ice_lite: our SFU is ICE-lite, so this is the like-for-like setting, and it is the cheaper
 *   one for Janus: it answers the bench's checks and sends none of its own, no consent
 *   freshness traffic per PeerConnection.
 * - ice_enforce_list media_ip, ipv6 off, no STUN/TURN, no mDNS: one host candidate, on this
 *   host's own address (Janus never gathers on loopback; see struct jn_proc).
 * - no_media_timer, slowlink, event handlers, loggers off: nothing but the media path works
 *   per packet. debug_level 3 (warnings) keeps failures in the log without per-packet text. */
static int conf_write(const char *dir, const struct lt_target_cfg *cfg, const struct jn_proc *p,
                      uint16_t rtp_lo, char *err, size_t errlen)
{
    char plugins_off[2048], transports_off[2048], loggers_off[1024], path[1024];
    int rc = disable_list(JANUS_LIB_DIR "/plugins", "libjanus_videoroom.so", plugins_off,
                          sizeof(plugins_off));
    if (rc == 0)
        rc = disable_list(JANUS_LIB_DIR "/transports", "libjanus_http.so", transports_off,
                          sizeof(transports_off));
    if (rc == 0)
        rc = disable_list(JANUS_LIB_DIR "/loggers", NULL, loggers_off, sizeof(loggers_off));
    if (rc < 0) {
        lt_errf(err, errlen, "janus: listing %s: %s", JANUS_LIB_DIR, strerror(-rc));
        return -EIO;
    }

    char *text = g_strdup_printf("general: {\n"
                                 "\tconfigs_folder = \"%s\"\n"
                                 "\tplugins_folder = \"" JANUS_LIB_DIR "/plugins\"\n"
                                 "\ttransports_folder = \"" JANUS_LIB_DIR "/transports\"\n"
                                 "\tevents_folder = \"" JANUS_LIB_DIR "/events\"\n"
                                 "\tloggers_folder = \"" JANUS_LIB_DIR "/loggers\"\n"
                                 "\tdebug_level = %d\n"
                                 "\tdebug_timestamps = true\n"
                                 "\tdebug_colors = false\n"
                                 "\tsession_timeout = 60\n"
                                 "\tevent_loops = %u\n"
                                 "\tserver_name = \"sfu-bench\"\n"
                                 "}\n"
                                 "certificates: {\n}\n"
                                 "media: {\n"
                                 "\tipv6 = false\n"
                                 "\trtp_port_range = \"%u-%u\"\n"
                                 "\tno_media_timer = 0\n"
                                 "\tslowlink_threshold = 0\n"
                                 "}\n"
                                 "nat: {\n"
                                 "\tnice_debug = false\n"
                                 "\tfull_trickle = false\n"
                                 "\tice_lite = %s\n"
                                 "\tice_tcp = false\n"
                                 "\tignore_mdns = true\n"
                                 "\tice_enforce_list = \"%s\"\n"
                                 "}\n"
                                 "plugins: {\n\tdisable = \"%s\"\n}\n"
                                 "transports: {\n\tdisable = \"%s\"\n}\n"
                                 "loggers: {\n\tdisable = \"%s\"\n}\n"
                                 "events: {\n\tbroadcast = false\n}\n",
                                 dir, cfg->verbose ? 4 : 3, event_loops_pick(cfg), rtp_lo,
                                 rtp_lo + RTP_RANGE_PORTS - 1, JN_ICE_LITE ? "true" : "false",
                                 p->media_ip, plugins_off, transports_off, loggers_off);
    snprintf(path, sizeof(path), "%s/janus.jcfg", dir);
    rc = file_write(path, text);
    g_free(text);
    if (rc < 0)
        goto fail;

    /* Plain HTTP on loopback only; compact JSON is less for both sides to write and parse. */
    text = g_strdup_printf("general: {\n"
                           "\tjson = \"compact\"\n"
                           "\tbase_path = \"/janus\"\n"
                           "\thttp = true\n"
                           "\tport = %u\n"
                           "\tip = \"127.0.0.1\"\n"
                           "\thttps = false\n"
                           "}\n"
                           "admin: {\n\tadmin_http = false\n\tadmin_https = false\n}\n"
                           "cors: {\n}\n",
                           p->http_port);
    snprintf(path, sizeof(path), "%s/janus.transport.http.jcfg", dir);
    rc = file_write(path, text);
    g_free(text);
    if (rc < 0)
        goto fail;

    /* No sample rooms: the bench creates its own through the API. */
    snprintf(path, sizeof(path), "%s/janus.plugin.videoroom.jcfg", dir);
    rc = file_write(path, "general: {\n\tevents = false\n}\n");
    if (rc < 0)
        goto fail;
    return 0;
fail:
    lt_errf(err, errlen, "janus: writing %s: %s", path, strerror(-rc));
    return -EIO;
}

static size_t discard_cb(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

/* One GET /janus/info: true when Janus answers 200. */
static bool info_answers(uint16_t port)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/janus/info", port);
    CURL *c = curl_easy_init();
    if (!c)
        return false;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
    long code = 0;
    bool ok = curl_easy_perform(c) == CURLE_OK &&
              curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
    curl_easy_cleanup(c);
    return ok;
}

int jn_proc_start(struct jn_proc *out, const struct lt_target_cfg *cfg, int timeout_ms, char *err,
                  size_t errlen)
{
    struct jn_proc p = {0};
    cpu_set_t cpus;
    if (cfg->cpus && lt_cpus_parse(cfg->cpus, &cpus) < 0) {
        lt_errf(err, errlen, "janus: bad CPU list \"%s\"", cfg->cpus);
        return -EINVAL;
    }
    if (access(JANUS_BIN, X_OK) != 0) {
        lt_errf(err, errlen, "janus: %s: %s", JANUS_BIN, strerror(errno));
        return -ENOENT;
    }

    /* Janus skips loopback interfaces when it gathers candidates: media needs an address of
     * another one, which sfu-bench makes in a private namespace (lt_netns.c) so that no packet
     * can leave the machine. */
    if (!cfg->media_ip || strncmp(cfg->media_ip, "127.", 4) == 0) {
        lt_errf(err, errlen,
                "janus: Janus gathers no ICE candidate on a loopback interface, so its media needs "
                "another address: sfu-bench makes one in a private network namespace when it runs "
                "as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN)");
        return -EADDRNOTAVAIL;
    }
    snprintf(p.media_ip, sizeof(p.media_ip), "%s", cfg->media_ip);
    uint16_t rtp_lo = 0;
    if (port_bindable(SOCK_STREAM, "127.0.0.1", 0, &p.http_port) < 0 ||
        rtp_range_find(p.media_ip, &rtp_lo) < 0) {
        lt_errf(err, errlen, "janus: no free ports for HTTP on 127.0.0.1 and RTP on %s",
                p.media_ip);
        return -EADDRINUSE;
    }

    char dir[512], conf[600];
    snprintf(dir, sizeof(dir), "%s/janus-conf", cfg->work_dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        lt_errf(err, errlen, "janus: mkdir %s: %s", dir, strerror(errno));
        return -EIO;
    }
    int rc = conf_write(dir, cfg, &p, rtp_lo, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(conf, sizeof(conf), "%s/janus.jcfg", dir);
    char log[600];
    snprintf(log, sizeof(log), "%s/janus.log", cfg->work_dir);

    char *argv[] = {JANUS_BIN, "-F", dir, "-C", conf, "-o", NULL};
    char why[LT_ERR_LEN];
    if ((rc = lt_proc_spawn(&p.proc, argv, cfg->cpus, log, cfg->verbose, why, sizeof(why))) < 0) {
        lt_errf(err, errlen, "janus: %s", why);
        return rc;
    }
    uint64_t deadline = lt_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int status;
        if (waitpid(p.proc.pid, &status, WNOHANG) == p.proc.pid) {
            lt_errf(err, errlen, "janus exited (%s %d) before answering; see %s",
                    WIFEXITED(status) ? "status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
            return -ECHILD;
        }
        if (info_answers(p.http_port))
            break;
        if (lt_now_ns() >= deadline) {
            lt_proc_stop(&p.proc, STOP_GRACE_MS);
            lt_errf(err, errlen, "janus: no answer on 127.0.0.1:%u/janus/info within %d ms; see %s",
                    p.http_port, timeout_ms, log);
            return -ETIMEDOUT;
        }
        usleep(50 * 1000);
    }
    *out = p;
    return 0;
}

void jn_proc_stop(struct jn_proc *p)
{
    lt_proc_stop(&p->proc, STOP_GRACE_MS);
}
