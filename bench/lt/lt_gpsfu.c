/* The gpsfu target of sfu-bench: our SFU and signalling as separate processes, each simulated
 * person joining as a browser does (link page for the session cookie, the gpsfu-v1 WebSocket,
 * a sending and a receiving WebRTC connection from bench/peer).
 *
 * Threads: the bench's control thread runs start/room/join/leave and blocks in them; one lws
 * service thread (lt_ws) receives every person's messages and reacts to what needs no waiting
 * (the host's admits, answers on the receiving connections, the SFU's send answers, pings);
 * the peers run on the bench's shared loops (lt_peer_loops; a person's two on one), or a thread
 * each. Person state is under the target's one mutex, and nothing calls into a peer while
 * holding it (a peer's thread takes it in on_state, which holds up every peer on that loop
 * meanwhile: keep what is done under it short). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "lt_gpsfu_http.h"
#include "lt_gpsfu_priv.h"

#define READY_MS     20000 /* a server's start, under ASan too */
#define HTTP_MS      10000
#define STOP_TERM_MS 5000
#define LEAVE_MS     3000
#define RETRY_MS     250 /* before joining or offering again after unavailable or busy */
#define MAX_PATIENTS 20  /* API.md: patients and guests are 0..20 each */
#define MAX_CAPACITY (1 + 2 * MAX_PATIENTS)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits on t->cv for at most 50 ms: callers re-check their condition and their deadline, so
 * a state read without a broadcast (a peer's) is still seen soon. */
static void cv_slice(struct lt_target *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
}

static void random_hex(char *out, size_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[64];
    if (bytes > sizeof(raw))
        bytes = sizeof(raw);
    if (getrandom(raw, bytes, 0) != (ssize_t)bytes) {
        for (size_t i = 0; i < bytes; i++)
            raw[i] = (uint8_t)(lt_gpsfu__now_ms() * 31 + (int64_t)i * 131);
    }
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
}

static uint32_t random_ssrc(void)
{
    uint32_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
            v = (uint32_t)lt_gpsfu__now_ms() * 2654435761u;
    }
    return v;
}

static const char *state_name(enum peer_state st)
{
    switch (st) {
    case PEER_STATE_NEW:
        return "new";
    case PEER_STATE_CONNECTING:
        return "connecting";
    case PEER_STATE_CONNECTED:
        return "connected";
    case PEER_STATE_FAILED:
        return "failed";
    case PEER_STATE_CLOSED:
        return "closed";
    }
    return "?";
}

/* --- start and stop --------------------------------------------------------------------------- */

static int free_tcp_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
    if (fd < 0)
        return -errno;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port > 0 ? port : -EADDRNOTAVAIL;
}

static int key_write(const char *path, const char *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(key);
    if (fd < 0)
        return -errno;
    bool ok = write(fd, key, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    close(fd);
    return ok ? 0 : -EIO;
}

/* Signalling answers join with `unavailable` until it has heard from the SFU: wait for
 * /healthz to say the SFU is up. */
static int healthz_wait(struct lt_target *t, int timeout_ms)
{
    char url[96];
    int64_t end = lt_gpsfu__now_ms() + timeout_ms;
    snprintf(url, sizeof(url), "%s/healthz", t->base);
    for (;;) {
        long status = 0;
        char *body = NULL, err[CURL_ERROR_SIZE];
        int rc = lt_gpsfu_http_api("GET", url, "-", NULL, 2000, &status, &body, err, sizeof(err));
        free(body);
        if (rc == 0 && status == 200)
            return 0;
        if (lt_gpsfu__now_ms() >= end)
            return -ETIMEDOUT;
        sleep_ms(100);
    }
}

static void gpsfu_stop(struct lt_target *t);

static int gpsfu_start(struct lt_target **out, const struct lt_target_cfg *cfg, char *err,
                       size_t errlen)
{
    char sfu_bin[PATH_MAX], sig_bin[PATH_MAX], sock[PATH_MAX + 16], keyfile[PATH_MAX + 16];
    char log_sfu[PATH_MAX + 16], log_sig[PATH_MAX + 16], sfu_ctl[PATH_MAX + 32];
    char workers[16], listen[32];
    cpu_set_t cpus;
    unsigned n_cpus = 0;
    struct lt_target *t;
    int rc;

    if (!cfg || !cfg->build_dir || !cfg->work_dir)
        return lt_fail(err, errlen, -EINVAL, "gpsfu: build_dir and work_dir are required");
    if (cfg->cpus && lt_cpus_parse(cfg->cpus, &cpus) < 0)
        return lt_fail(err, errlen, -EINVAL, "gpsfu: cpus \"%s\" is not a CPU list like 0-3,8",
                       cfg->cpus);
    if (cfg->cpus)
        n_cpus = lt_cpus_count(cfg->cpus);
    snprintf(sfu_bin, sizeof(sfu_bin), "%s/sfu/sfu", cfg->build_dir);
    snprintf(sig_bin, sizeof(sig_bin), "%s/signalling/signalling", cfg->build_dir);
    if (access(sfu_bin, X_OK) != 0 || access(sig_bin, X_OK) != 0)
        return lt_fail(err, errlen, -ENOENT, "gpsfu: %s or %s is missing (build first)", sfu_bin,
                       sig_bin);
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    snprintf(t->media_ip, sizeof(t->media_ip), "%s", cfg->media_ip ? cfg->media_ip : "127.0.0.1");
    t->peer_loops = cfg->peer_loops;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = lt_fail(err, errlen, -EIO, "gpsfu: libcurl could not be initialised");
        goto fail;
    }
    t->curl_init = true;

    snprintf(t->dir, sizeof(t->dir), "%s/gpsfu.XXXXXX", cfg->work_dir);
    if (!mkdtemp(t->dir)) {
        rc = lt_fail(err, errlen, -errno, "gpsfu: cannot make a folder in %s: %s", cfg->work_dir,
                     strerror(errno));
        goto fail;
    }
    snprintf(sock, sizeof(sock), "%s/sfu.sock", t->dir);
    if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        rc = lt_fail(err, errlen, -ENAMETOOLONG,
                     "gpsfu: %s is too long for a Unix socket path: use a shorter work_dir", sock);
        goto fail;
    }
    random_hex(t->key, 32);
    snprintf(keyfile, sizeof(keyfile), "%s/api-key", t->dir);
    if ((rc = key_write(keyfile, t->key)) < 0) {
        lt_fail(err, errlen, rc, "gpsfu: cannot write %s", keyfile);
        goto fail;
    }
    t->port = free_tcp_port();
    if (t->port < 0) {
        rc = lt_fail(err, errlen, t->port, "gpsfu: no free TCP port on 127.0.0.1");
        goto fail;
    }
    snprintf(t->host, sizeof(t->host), "127.0.0.1:%d", t->port);
    snprintf(t->base, sizeof(t->base), "http://%s", t->host);

    /* One worker per CPU given, unless told: the SFU's own default counts every core of the
     * machine, pinned or not. */
    snprintf(workers, sizeof(workers), "%u", cfg->workers ? cfg->workers : n_cpus);
    snprintf(log_sfu, sizeof(log_sfu), "%s/sfu.log", t->dir);
    snprintf(log_sig, sizeof(log_sig), "%s/signalling.log", t->dir);
    snprintf(sfu_ctl, sizeof(sfu_ctl), "unix:%s", sock);
    /* --port-base 0: each worker binds an ephemeral port (no race with other programs for a
     * range we guessed free); the candidates tell the peers which. */
    char *sfu_argv[] = {
        sfu_bin, "--port-base", "0",         "--control-unix",
        sock,    "--listen-ip", t->media_ip, cfg->workers || n_cpus ? "--workers" : NULL,
        workers, NULL};
    char why[LT_ERR_LEN];
    rc = lt_proc_spawn(&t->sfu, sfu_argv, cfg->cpus, log_sfu, cfg->verbose, why, sizeof(why));
    if (rc == 0)
        rc = lt_proc_wait_line(&t->sfu, "SFU control socket", READY_MS, NULL, 0, why, sizeof(why));
    if (rc < 0) {
        lt_fail(err, errlen, rc, "gpsfu: the SFU: %s", why);
        goto fail;
    }
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", t->port);
    char *sig_argv[] = {sig_bin, "--data-dir",     t->dir,  "--tls", "off",   "--listen",
                        listen,  "--api-key-file", keyfile, "--sfu", sfu_ctl, NULL};
    rc = lt_proc_spawn(&t->sig, sig_argv, cfg->cpus, log_sig, cfg->verbose, why, sizeof(why));
    if (rc == 0)
        rc = lt_proc_wait_line(&t->sig, "signalling: listening on", READY_MS, NULL, 0, why,
                               sizeof(why));
    if (rc < 0) {
        lt_fail(err, errlen, rc, "gpsfu: signalling: %s", why);
        goto fail;
    }
    rc = healthz_wait(t, READY_MS);
    if (rc < 0) {
        lt_fail(err, errlen, rc,
                "gpsfu: signalling's /healthz did not report the SFU up within %d ms "
                "(see %s and %s)",
                READY_MS, log_sig, log_sfu);
        goto fail;
    }
    rc = lt_ws_new(&t->ws, lt_gpsfu__ws_tick, t, 1000);
    if (rc < 0) {
        lt_fail(err, errlen, rc, "gpsfu: the WebSocket client could not start");
        goto fail;
    }
    *out = t;
    return 0;
fail:
    gpsfu_stop(t);
    return rc;
}

static pid_t gpsfu_server_pid(const struct lt_target *t)
{
    return t ? t->sfu.pid : 0;
}

static void proc_stop(struct lt_proc *p, const char *name)
{
    pid_t pid = p->pid;
    int code = lt_proc_stop(p, STOP_TERM_MS);
    /* A leak under ASan or a crash shows here: worth a line, not a failure of the bench. */
    if (code > 0)
        fprintf(stderr, "lt gpsfu: %s (pid %d) ended badly (%s %d); its log: %s\n", name, (int)pid,
                code > 128 ? "signal" : "exit status", code > 128 ? code - 128 : code, p->log_path);
}

static void gpsfu_person_leave(struct lt_person *p);
static void gpsfu_room_close(struct lt_room *r);

static void gpsfu_stop(struct lt_target *t)
{
    if (!t)
        return;
    /* The bench should have closed everything; whatever is left goes as a Leave would. */
    while (t->rooms)
        gpsfu_room_close(t->rooms);
    lt_ws_free(t->ws);
    /* Signalling first: it would otherwise spend its last seconds reconnecting to the SFU. */
    proc_stop(&t->sig, "signalling");
    proc_stop(&t->sfu, "sfu");
    if (t->curl_init)
        curl_global_cleanup();
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* --- rooms ------------------------------------------------------------------------------------ */

static int token_take(const char *url, char **out)
{
    const char *s = url ? strstr(url, "/join/") : NULL;
    if (!s || !s[6])
        return -EINVAL;
    *out = strdup(s + 6);
    return *out ? 0 : -ENOMEM;
}

static void room_free(struct lt_room *r)
{
    for (unsigned i = 0; i < r->n_tokens; i++)
        free(r->tokens[i]);
    free(r->tokens);
    free(r);
}

static int gpsfu_room_open(struct lt_target *t, unsigned index, unsigned capacity,
                           struct lt_room **out, char *err, size_t errlen)
{
    unsigned others = capacity ? capacity - 1 : 0;
    unsigned patients = others < MAX_PATIENTS ? others : MAX_PATIENTS;
    unsigned guests = others - patients;
    const char *kind = capacity <= 2 ? "consultation" : "group";
    char url[128], *body_text = NULL, *resp = NULL, cerr[CURL_ERROR_SIZE] = "";
    json_t *body, *links, *e;
    struct lt_room *r = NULL;
    long status = 0;
    size_t i;
    int rc;
    if (capacity == 0)
        return lt_fail(err, errlen, -EINVAL, "room %u: capacity 0", index);
    if (capacity > MAX_CAPACITY)
        return lt_fail(err, errlen, -EINVAL,
                       "room %u: capacity %u is more than a %s allows (%d: one host, %d patients "
                       "and %d guests)",
                       index, capacity, kind, MAX_CAPACITY, MAX_PATIENTS, MAX_PATIENTS);
    body = json_pack("{s:s, s:i, s:i}", "kind", kind, "patients", (int)patients, "guests",
                     (int)guests);
    body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!body_text)
        return -ENOMEM;
    snprintf(url, sizeof(url), "%s/api/v1/consultations", t->base);
    rc = lt_gpsfu_http_api("POST", url, t->key, body_text, HTTP_MS, &status, &resp, cerr,
                           sizeof(cerr));
    free(body_text);
    if (rc < 0)
        return lt_fail(err, errlen, rc, "room %u: POST /api/v1/consultations: %s", index, cerr);
    body = json_loads(resp, 0, NULL);
    if (status != 201 || !body) {
        rc = lt_fail(err, errlen, -EIO, "room %u: POST /api/v1/consultations answered %ld: %.120s",
                     index, status, resp);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (!r || !(r->tokens = calloc(capacity, sizeof(*r->tokens)))) {
        rc = -ENOMEM;
        goto out;
    }
    r->t = t;
    r->index = index;
    r->capacity = capacity;
    r->next_token = 1;
    const char *cid = json_string_value(json_object_get(body, "id"));
    snprintf(r->id, sizeof(r->id), "%s", cid ? cid : "");
    links = json_object_get(body, "links");
    rc = token_take(json_string_value(json_object_get(links, "host")), &r->tokens[0]);
    r->n_tokens = rc == 0;
    json_array_foreach(json_object_get(links, "patients"), i, e)
    {
        if (rc == 0 && r->n_tokens < capacity &&
            (rc = token_take(json_string_value(e), &r->tokens[r->n_tokens])) == 0)
            r->n_tokens++;
    }
    json_array_foreach(json_object_get(links, "guests"), i, e)
    {
        if (rc == 0 && r->n_tokens < capacity &&
            (rc = token_take(json_string_value(e), &r->tokens[r->n_tokens])) == 0)
            r->n_tokens++;
    }
    if (rc < 0 || r->n_tokens != capacity) {
        rc = lt_fail(err, errlen, rc < 0 ? rc : -EIO,
                     "room %u: the booking's links are not what was asked (%u of %u)", index,
                     r->n_tokens, capacity);
        goto out;
    }
    pthread_mutex_lock(&t->mu);
    r->next = t->rooms;
    t->rooms = r;
    pthread_mutex_unlock(&t->mu);
    *out = r;
    r = NULL;
    rc = 0;
out:
    if (r)
        room_free(r);
    json_decref(body);
    free(resp);
    return rc;
}

static void gpsfu_room_close(struct lt_room *r)
{
    struct lt_target *t;
    if (!r)
        return;
    t = r->t;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        struct lt_person *p = r->people;
        pthread_mutex_unlock(&t->mu);
        if (!p)
            break;
        fprintf(stderr, "lt gpsfu: room %u closed with person %u still in it: leaving\n", r->index,
                p->num);
        gpsfu_person_leave(p);
    }
    pthread_mutex_lock(&t->mu);
    for (struct lt_room **pp = &t->rooms; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    /* Ends the consultation as a practice would: its SFU room goes at once, not when
     * signalling notices it is empty. */
    if (r->id[0]) {
        char url[160], *resp = NULL, cerr[CURL_ERROR_SIZE];
        long status = 0;
        snprintf(url, sizeof(url), "%s/api/v1/consultations/%s", t->base, r->id);
        if (lt_gpsfu_http_api("DELETE", url, t->key, NULL, HTTP_MS, &status, &resp, cerr,
                              sizeof(cerr)) < 0 ||
            (status != 204 && status != 409))
            fprintf(stderr, "lt gpsfu: room %u: ending consultation %s failed (HTTP %ld)\n",
                    r->index, r->id, status);
        free(resp);
    }
    room_free(r);
}

/* --- people ----------------------------------------------------------------------------------- */

static void person_free(struct lt_person *p)
{
    free(p->offer_text);
    free(p->recv_offer);
    free(p->recv_offer_streams);
    free(p->admitted_ids);
    free(p);
}

static unsigned streams_from(const struct lt_person *p, const char *pid)
{
    unsigned n = 0;
    for (size_t i = 0; i < p->n_answered; i++)
        n += strcmp(p->answered[i].pid, pid) == 0;
    return n;
}

/* Whether p's join is complete, under t->mu: 1 done, -1 failed (err says why), 0 not yet
 * (step says what is awaited). */
static int join_check(struct lt_person *p, char *step, size_t steplen, char *err, size_t errlen)
{
    struct lt_room *r = p->r;
    enum peer_state ss = p->send_peer ? peer_state_get(p->send_peer) : PEER_STATE_CONNECTED;
    enum peer_state rs = p->recv_peer ? peer_state_get(p->recv_peer) : PEER_STATE_CONNECTED;
    if (p->ended[0])
        return lt_fail(err, errlen, -1, "the server ended the call for this person (%s)", p->ended);
    if (p->fatal[0])
        return lt_fail(err, errlen, -1, "%s", p->fatal);
    if (p->closed)
        return lt_fail(err, errlen, -1, "the WebSocket closed (%s)", p->closed_why);
    if (p->send_state < 0)
        return lt_fail(err, errlen, -1, "send connection: %s", p->send_err);
    if (p->recv_err[0])
        return lt_fail(err, errlen, -1, "%s", p->recv_err);
    if (ss == PEER_STATE_FAILED || ss == PEER_STATE_CLOSED)
        return lt_fail(err, errlen, -1, "the send connection %s (ICE or DTLS with the SFU)",
                       state_name(ss));
    if (rs == PEER_STATE_FAILED || rs == PEER_STATE_CLOSED)
        return lt_fail(err, errlen, -1, "the receiving connection %s (ICE or DTLS with the SFU)",
                       state_name(rs));
    if (!p->admitted)
        return lt_fail(step, steplen, 0, "%s",
                       p->role.host ? "the host's admission (joined waiting)"
                                    : "admission by the room's host");
    if (p->send_peer && p->send_state != 2)
        return lt_fail(step, steplen, 0, "the SFU's answer to the send offer");
    if (p->send_peer && ss != PEER_STATE_CONNECTED)
        return lt_fail(step, steplen, 0, "the send connection to connect (ICE + DTLS, now %s)",
                       state_name(ss));
    if (p->recv_peer && p->recv_answers == 0)
        return lt_fail(step, steplen, 0, "an offer on the receiving connection");
    if (p->recv_peer && rs != PEER_STATE_CONNECTED)
        return lt_fail(step, steplen, 0, "the receiving connection to connect (ICE + DTLS, now %s)",
                       state_name(rs));
    /* Media flows once each subscriber has answered an offer naming the publisher's tracks:
     * before that the SFU holds those consumers paused. */
    for (struct lt_person *q = r->people; q; q = q->next) {
        if (q == p || !q->ready || q->leaving)
            continue;
        if (p->recv_peer && q->n_pub && streams_from(p, q->id) < q->n_pub)
            return lt_fail(step, steplen, 0,
                           "an answered receiving offer with person %u's %u tracks", q->num,
                           q->n_pub);
        if (q->recv_peer && p->n_pub && streams_from(q, p->id) < p->n_pub)
            return lt_fail(step, steplen, 0,
                           "person %u's answered offer with this person's %u tracks", q->num,
                           p->n_pub);
    }
    return 1;
}

/* Waits until join_check says done or failed, or the deadline; retries join and offer as a
 * browser does after unavailable and busy. */
static int join_wait(struct lt_person *p, int64_t deadline, bool until_joined, char *err,
                     size_t errlen)
{
    struct lt_target *t = p->r->t;
    char step[160] = "";
    bool timed_out = false;
    int rc;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (p->retry_join || p->retry_offer) {
            bool join = p->retry_join, offer = p->retry_offer;
            p->retry_join = p->retry_offer = false;
            pthread_mutex_unlock(&t->mu);
            sleep_ms(RETRY_MS);
            if (join)
                lt_gpsfu__send_id(p, json_pack("{s:s, s:s}", "type", "join", "token", p->token),
                                  &p->join_msg_id);
            if (offer)
                lt_gpsfu__send_id(p,
                                  json_pack("{s:s, s:s, s:s}", "type", "offer", "pc", "send", "sdp",
                                            p->offer_text),
                                  &p->offer_msg_id);
            pthread_mutex_lock(&t->mu);
            continue;
        }
        if (until_joined) {
            rc = p->joined ? 1 : 0;
            if (!p->joined && (p->ended[0] || p->fatal[0] || p->closed))
                rc = join_check(p, step, sizeof(step), err, errlen);
            snprintf(step, sizeof(step), "`joined` (the WebSocket %s)",
                     p->open ? "is open, join sent" : "did not open");
        } else {
            rc = join_check(p, step, sizeof(step), err, errlen);
        }
        if (rc != 0)
            break;
        if (lt_gpsfu__now_ms() >= deadline) {
            rc = lt_fail(err, errlen, -1, "timed out waiting for %s", step);
            timed_out = true;
            break;
        }
        cv_slice(t);
    }
    pthread_mutex_unlock(&t->mu);
    if (rc > 0)
        return 0;
    return timed_out ? -ETIMEDOUT : -ECONNABORTED;
}

static int peer_make(struct lt_person *p, struct peer **out, bool recv)
{
    struct peer_cfg cfg;
    struct peer_cbs cbs;
    lt_gpsfu__peer_cbs(&cbs, recv);
    peer_cfg_init(&cfg);
    cfg.local_ip = p->r->t->media_ip;
    /* A person's two peers on one loop, people spread over the loops: picking per peer would put
     * every sending peer on one loop and every receiving one on another. */
    if (!p->loop)
        p->loop = lt_peer_loop_pick(p->r->t->peer_loops);
    cfg.loop = p->loop;
    return peer_new(out, &cfg, &cbs, p);
}

/* Undoes a join at any stage: the server is told we leave, the socket and peers go. */
static void person_teardown(struct lt_person *p, bool say_leave)
{
    struct lt_target *t = p->r->t;
    pthread_mutex_lock(&t->mu);
    p->leaving = true;
    p->ready = false;
    bool open = p->open && !p->closed;
    pthread_mutex_unlock(&t->mu);
    if (p->conn) {
        if (open && say_leave &&
            lt_gpsfu__send_id(p, json_pack("{s:s}", "type", "leave"), NULL) > 0) {
            /* The server answers `ended` and closes: the person has left the room when the
             * socket is gone. */
            int64_t end = lt_gpsfu__now_ms() + LEAVE_MS;
            pthread_mutex_lock(&t->mu);
            while (!p->closed && lt_gpsfu__now_ms() < end)
                cv_slice(t);
            pthread_mutex_unlock(&t->mu);
        }
        lt_ws_close(p->conn);
        /* After this no callback of the socket runs, so nothing uses the peers below. */
        lt_ws_conn_release(p->conn);
        p->conn = NULL;
    }
    peer_free(p->send_peer);
    peer_free(p->recv_peer);
    pthread_mutex_lock(&t->mu);
    p->send_peer = p->recv_peer = NULL;
    for (struct lt_person **pp = &p->r->people; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static bool host_present(const struct lt_room *r)
{
    for (const struct lt_person *q = r->people; q; q = q->next) {
        if (q->role.host && q->ready && !q->leaving)
            return true;
    }
    return false;
}

static int gpsfu_person_join(struct lt_room *r, const struct lt_role *role,
                             const struct lt_rx_cbs *rx, void *rx_arg, int timeout_ms,
                             struct lt_person **out, struct lt_person_media *media, char *err,
                             size_t errlen)
{
    struct lt_target *t = r->t;
    int64_t deadline = lt_gpsfu__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char url[1200], cookie[LT_GPSFU_COOKIE_LEN], cerr[CURL_ERROR_SIZE] = "", where[48];
    const char *token;
    struct lt_person *p;
    long status = 0;
    int rc;

    pthread_mutex_lock(&t->mu);
    if (role->host && r->host_used) {
        pthread_mutex_unlock(&t->mu);
        return lt_fail(err, errlen, -EBUSY,
                       "room %u: its host link is used already (one host a room)", r->index);
    }
    if (!role->host && !host_present(r)) {
        pthread_mutex_unlock(&t->mu);
        return lt_fail(err, errlen, -EPERM,
                       "room %u: the host must join first: a patient or guest stays in the waiting "
                       "room until the host admits them (role.host is false and no host is in)",
                       r->index);
    }
    if (!role->host && r->next_token >= r->n_tokens) {
        pthread_mutex_unlock(&t->mu);
        return lt_fail(err, errlen, -ENOSPC, "room %u is full (capacity %u)", r->index,
                       r->capacity);
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        pthread_mutex_unlock(&t->mu);
        return -ENOMEM;
    }
    token = role->host ? r->tokens[0] : r->tokens[r->next_token++];
    if (role->host)
        r->host_used = true;
    p->r = r;
    p->num = ++r->n_joined;
    p->role = *role;
    if (rx)
        p->rx = *rx;
    p->rx_arg = rx_arg;
    atomic_init(&p->next_msg_id, 1);
    atomic_init(&p->last_sent_ms, lt_gpsfu__now_ms());
    snprintf(p->token, sizeof(p->token), "%s", token);
    random_hex(p->cname, 8);
    for (int k = 0; k < LT_TRACKS; k++) {
        if (role->publish[k]) {
            p->n_pub++;
            p->ssrc[k] = random_ssrc();
        }
    }
    p->next = r->people;
    r->people = p;
    pthread_mutex_unlock(&t->mu);
    snprintf(where, sizeof(where), "room %u person %u (%s)", r->index, p->num,
             role->host ? "host" : "patient/guest");

    /* 1. The link page, for the session cookie a browser would carry to the socket. */
    snprintf(url, sizeof(url), "%s/join/%s", t->base, p->token);
    rc = lt_gpsfu_http_get_cookie(url, "gpsfu_sid", (int)(deadline - lt_gpsfu__now_ms()), &status,
                                  cookie, cerr, sizeof(cerr));
    if (rc < 0 || status != 200 || !cookie[0]) {
        rc = lt_fail(err, errlen, rc < 0 ? rc : -EACCES, "%s: opening the link page: %s", where,
                     rc < 0          ? cerr
                     : status != 200 ? "refused"
                                     : "no gpsfu_sid cookie was set");
        if (status && status != 200)
            snprintf(err + strlen(err), errlen - strlen(err), " (HTTP %ld)", status);
        goto fail;
    }

    /* 2. The socket and join. */
    char origin[64];
    snprintf(origin, sizeof(origin), "http://%s", t->host);
    struct lt_ws_dest dest = {.address = "127.0.0.1",
                              .port = t->port,
                              .path = "/ws",
                              .host = t->host,
                              .origin = origin,
                              .protocol = "gpsfu-v1",
                              .cookie = cookie};
    rc = lt_ws_connect(t->ws, &dest, &lt_gpsfu__ws_cbs, p, &p->conn);
    if (rc < 0) {
        lt_fail(err, errlen, rc, "%s: WebSocket: %s", where, strerror(-rc));
        goto fail;
    }
    lt_gpsfu__send_id(p, json_pack("{s:s, s:s}", "type", "join", "token", p->token),
                      &p->join_msg_id);
    rc = join_wait(p, deadline, true, err, errlen);
    if (rc < 0)
        goto fail_where;

    /* 3. Both connections, as the page makes them on `joined`. */
    if (p->n_pub) {
        struct peer *sp = NULL;
        if ((rc = peer_make(p, &sp, false)) < 0) {
            lt_fail(err, errlen, rc, "%s: the send peer could not be made: %s", where,
                    strerror(-rc));
            goto fail;
        }
        pthread_mutex_lock(&t->mu);
        p->send_peer = sp;
        pthread_mutex_unlock(&t->mu);
    }
    if (role->subscribe) {
        struct peer *rp = NULL;
        if ((rc = peer_make(p, &rp, true)) < 0 ||
            (rc = lt_gpsfu_sdp_transport_of_peer(&p->recv_local, rp)) < 0) {
            peer_free(rp);
            lt_fail(err, errlen, rc, "%s: the receiving peer could not be made: %s", where,
                    strerror(-rc));
            goto fail;
        }
        pthread_mutex_lock(&t->mu);
        p->recv_peer = rp;
        p->recv_usable = true;
        pthread_mutex_unlock(&t->mu);
        /* An offer that came before the peer existed is answered now. */
        lt_gpsfu__recv_offers_answer(p);
    }
    if (p->send_peer) {
        struct lt_gpsfu_sdp_transport local;
        if ((rc = lt_gpsfu_sdp_transport_of_peer(&local, p->send_peer)) < 0 ||
            (rc = lt_gpsfu_sdp_send_offer(&local, role->publish, p->ssrc, p->cname,
                                          &p->offer_text)) < 0) {
            lt_fail(err, errlen, rc, "%s: the send offer could not be made: %s", where,
                    strerror(-rc));
            goto fail;
        }
        pthread_mutex_lock(&t->mu);
        p->send_state = 1;
        pthread_mutex_unlock(&t->mu);
        lt_gpsfu__send_id(
            p, json_pack("{s:s, s:s, s:s}", "type", "offer", "pc", "send", "sdp", p->offer_text),
            &p->offer_msg_id);
    }

    /* 4. Admitted, connected, and media paths to and from everyone already in. */
    rc = join_wait(p, deadline, false, err, errlen);
    if (rc < 0)
        goto fail_where;

    pthread_mutex_lock(&t->mu);
    p->ready = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    memset(media, 0, sizeof(*media));
    media->send = p->send_peer ? lt_gpsfu__send_rtp : NULL;
    media->tx = p;
    for (int k = 0; k < LT_TRACKS; k++) {
        media->tracks[k].on = role->publish[k];
        media->tracks[k].ssrc = p->ssrc[k];
        media->tracks[k].pt =
            role->publish[k] ? (k == LT_AUDIO ? LT_GPSFU_SDP_PT_OPUS : LT_GPSFU_SDP_PT_VP8) : 0;
    }
    *out = p;
    return 0;

fail_where : {
    /* Put where in front of the step's message. */
    char msg[LT_ERR_LEN];
    snprintf(msg, sizeof(msg), "%s", err);
    lt_fail(err, errlen, rc, "%s: %s", where, msg);
}
fail:
    person_teardown(p, true);
    person_free(p);
    return rc < 0 ? rc : -EIO;
}

static void gpsfu_person_leave(struct lt_person *p)
{
    if (!p)
        return;
    person_teardown(p, true);
    person_free(p);
}

const struct lt_target_ops lt_target_gpsfu = {
    .name = "gpsfu",
    .start = gpsfu_start,
    .server_pid = gpsfu_server_pid,
    .room_open = gpsfu_room_open,
    .person_join = gpsfu_person_join,
    .person_leave = gpsfu_person_leave,
    .room_close = gpsfu_room_close,
    .stop = gpsfu_stop,
};
