/* Integration test scaffolding. */
#include "integ_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <stun/usages/ice.h>
#include <uv.h>

#include "app/sfu.h"
#include "dtls/dtls.h"
#include "srtp/sfu_srtp.h"

struct integ_priv {
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t stop;
    uv_sem_t ready;
    struct sfu *sfu;
    struct dtls_ctx *dtls;
    int start_err;
    struct integ_sfu *s;
};

static void on_stop(uv_async_t *a)
{
    struct integ_priv *p = a->data;
    if (p->sfu)
        sfu_shutdown(p->sfu);
    p->sfu = NULL;
    uv_close((uv_handle_t *)&p->stop, NULL);
}

static void sfu_thread(void *arg)
{
    struct integ_priv *p = arg;
    p->start_err = sfu_new(&p->sfu, &p->loop, &p->s->cfg, p->dtls);
    uv_sem_post(&p->ready);
    uv_run(&p->loop, UV_RUN_DEFAULT);
}

int integ_sfu_start_cfg(struct integ_sfu *s, unsigned workers,
                        void (*adjust)(struct sfu_config *cfg, void *arg), void *arg)
{
    char err[256];
    struct integ_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    snprintf(s->dir, sizeof(s->dir), "/tmp/gpsfu-integ-XXXXXX");
    if (!mkdtemp(s->dir)) {
        free(p);
        return -errno;
    }
    sfu_config_defaults(&s->cfg);
    s->cfg.workers = workers;
    s->cfg.port_base = 0;
    s->cfg.log_level = getenv("INTEG_DEBUG") ? LOG_DEBUG : LOG_WARN;
    s->cfg.grace_ms = 10000;
    snprintf(s->cfg.control_unix, sizeof(s->cfg.control_unix), "%s/sfu.sock", s->dir);
    if (adjust)
        adjust(&s->cfg, arg);
    if (sfu_config_finish(&s->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "config: %s\n", err);
        free(p);
        return -EINVAL;
    }
    log_level_set(s->cfg.log_level);
    sfu_srtp_global_init();
    if (dtls_ctx_new(&p->dtls) < 0) {
        free(p);
        return -ENOMEM;
    }
    p->s = s;
    uv_loop_init(&p->loop);
    uv_async_init(&p->loop, &p->stop, on_stop);
    p->stop.data = p;
    uv_sem_init(&p->ready, 0);
    uv_thread_create(&p->thread, sfu_thread, p);
    uv_sem_wait(&p->ready);
    s->priv = p;
    if (p->start_err < 0) {
        integ_sfu_stop(s);
        return -EIO;
    }
    return 0;
}

int integ_sfu_start(struct integ_sfu *s, unsigned workers)
{
    return integ_sfu_start_cfg(s, workers, NULL, NULL);
}

void integ_sfu_stop(struct integ_sfu *s)
{
    struct integ_priv *p = s->priv;
    if (!p)
        return;
    uv_async_send(&p->stop);
    uv_thread_join(&p->thread);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    uv_loop_close(&p->loop);
    uv_sem_destroy(&p->ready);
    dtls_ctx_free(p->dtls);
    free(p);
    s->priv = NULL;
    unlink(s->cfg.control_unix);
    rmdir(s->dir);
}

int integ_ctl_connect(struct integ_sfu *s, struct ctl_client **out)
{
    return ctl_client_connect_unix(out, s->cfg.control_unix);
}

Sfu__Envelope *integ_call(struct ctl_client *c, Sfu__Envelope *req)
{
    Sfu__Envelope *resp = NULL;
    if (ctl_client_call(c, req, &resp, 5000) < 0)
        return NULL;
    return resp;
}

void integ_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void integ_sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

int integ_sfu_control_tcp_port(struct integ_sfu *s)
{
    struct integ_priv *p = s->priv;
    /* p->sfu was written before the start semaphore was posted, so it is safe to read here;
     * the port lookup itself only asks the kernel about the listening socket. */
    if (!p || !p->sfu)
        return -ENOTCONN;
    return sfu_control_tcp_port(p->sfu);
}

int integ_udp_open(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int integ_udp_send_to(int fd, const struct bench_transport *t, const uint8_t *buf, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(t->cand.port)};
    inet_pton(AF_INET, t->cand.ip, &a.sin_addr);
    return sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len ? 0 : -1;
}

ssize_t integ_udp_recv_within(int fd, uint8_t *buf, size_t cap, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) != 1)
        return -1;
    return recv(fd, buf, cap, MSG_DONTWAIT);
}

size_t integ_stun_check_full(uint8_t *buf, size_t cap, const char *ufrag, const char *pwd,
                             bool use_candidate)
{
    static const uint16_t attrs[] = {STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
                                     STUN_ATTRIBUTE_PRIORITY, 0};
    StunAgent agent;
    StunMessage msg;
    char user[128];
    int n = snprintf(user, sizeof(user), "%s:abcd", ufrag);
    stun_agent_init(&agent, attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    return stun_usage_ice_conncheck_create(&agent, &msg, buf, cap, (const uint8_t *)user, (size_t)n,
                                           (const uint8_t *)pwd, strlen(pwd), use_candidate, true,
                                           0x6e7f00ffu, 0x1122334455667788ull, NULL,
                                           STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

size_t integ_stun_check(uint8_t *buf, size_t cap, const char *ufrag, const char *pwd)
{
    return integ_stun_check_full(buf, cap, ufrag, pwd, false);
}

int integ_wait_state_event(struct ctl_client *c, struct integ_evlog *log, uint64_t tid, int want,
                           int ms)
{
    for (unsigned k = 0; k < log->n; k++)
        if (log->tid[k] == tid && log->state[k] == want)
            return 0;
    for (int waited = 0; waited < ms; waited += 50) {
        Sfu__Envelope *ev = NULL;
        if (ctl_client_next_event(c, &ev, 50) < 0 || !ev)
            continue;
        int found = 0;
        if (ev->body_case == SFU__ENVELOPE__BODY_TRANSPORT_STATE) {
            uint64_t id = ev->transport_state->transport_id;
            int s = (int)ev->transport_state->state;
            if (log->n < 64) {
                log->tid[log->n] = id;
                log->state[log->n] = s;
                log->n++;
            }
            found = id == tid && s == want;
        }
        sfu__envelope__free_unpacked(ev, NULL);
        if (found)
            return 0;
    }
    return -ETIMEDOUT;
}

Sfu__Envelope *integ_list_rooms(struct ctl_client *c)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ListRoomsRequest req = SFU__LIST_ROOMS_REQUEST__INIT;
    env.body_case = SFU__ENVELOPE__BODY_LIST_ROOMS;
    env.list_rooms = &req;
    Sfu__Envelope *r = integ_call(c, &env);
    if (r && r->body_case != SFU__ENVELOPE__BODY_ROOMS) {
        sfu__envelope__free_unpacked(r, NULL);
        r = NULL;
    }
    return r;
}

Sfu__Envelope *integ_get_stats(struct ctl_client *c, const char *room)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    Sfu__Envelope *r = integ_call(c, &env);
    if (r && r->body_case != SFU__ENVELOPE__BODY_STATS) {
        sfu__envelope__free_unpacked(r, NULL);
        r = NULL;
    }
    return r;
}

int integ_pause_consumer(struct ctl_client *ctl, const char *room, uint64_t id, bool pause)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__PauseConsumerRequest preq = SFU__PAUSE_CONSUMER_REQUEST__INIT;
    Sfu__ResumeConsumerRequest rreq = SFU__RESUME_CONSUMER_REQUEST__INIT;
    if (pause) {
        preq.room_id = (char *)room;
        preq.consumer_id = id;
        env.body_case = SFU__ENVELOPE__BODY_PAUSE_CONSUMER;
        env.pause_consumer = &preq;
    } else {
        rreq.room_id = (char *)room;
        rreq.consumer_id = id;
        env.body_case = SFU__ENVELOPE__BODY_RESUME_CONSUMER;
        env.resume_consumer = &rreq;
    }
    Sfu__Envelope *r = integ_call(ctl, &env);
    int rc = r && r->body_case == SFU__ENVELOPE__BODY_OK ? 0 : -1;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}
