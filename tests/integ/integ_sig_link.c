/* Signalling's asynchronous control client (signalling/sfu_link.c) against the real SFU: up() with
 * the room list, answers matched by id (pipelined too), Unix and TCP with the shared secret,
 * reconnection after an SFU restart and after a dropped connection (rooms kept, then claimed),
 * -ENOTCONN before up, -ECANCELED on free; and against a fake SFU on TCP: a stranger's greeting,
 * a wrong proof, and garbage between answers that is skipped while the link stays up. Every wait
 * runs the uv loop in bounded UV_RUN_ONCE steps. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/rand.h>
#include <uv.h>

#include "ctl_frame.h"
#include "harness.h"
#include "integ_util.h"
#include "sfu_link.h"

#define E_EXISTS    SFU__ERROR_CODE__ERROR_CODE_EXISTS
#define E_NOT_FOUND SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND
#define MAX_ROOMS   8
#define PIPELINED   50
#define SECRET      "correct-horse-battery-staple-0123"
#define WRONG       "correct-horse-battery-staple-0124"

/* --- the loop, the link and what its callbacks saw ----------------------------------------- */

struct tl {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps each UV_RUN_ONCE short, so waits can check their clock */
    struct sfu_link *link;
    struct sfu_link_cbs cbs;
    int seq; /* bumped by every callback, to check their order */
    int ups, downs, events;
    int up_seq, down_seq, down_reason;
    size_t n_rooms; /* in the last up() */
    char room[MAX_ROOMS][64];
    bool claimed[MAX_ROOMS];
    bool probe; /* callbacks try sfu_link_call and record what it returned */
    int up_call_rc, down_call_rc;
    struct reply *up_reply; /* probe: up() sends a ListRooms answered here */
};

struct reply {
    struct tl *t;
    int calls;
    int status;
    int body;
    int code; /* the Error's code when body is an Error */
    uint64_t req_id, resp_id;
    uint64_t tid; /* CreateTransportResponse */
    int seq;
    const char *watch; /* ListRooms: the room whose claimed flag to record */
    int watch_claimed; /* -1: not listed */
    int call_rc;       /* probe: sfu_link_call from inside this callback */
    bool free_link;    /* free the link from inside this callback */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_tick(uv_timer_t *t)
{
}

static int call_list_rooms(struct tl *t, struct reply *r);

static void on_up(void *arg, const Sfu__ListRoomsResponse *rooms)
{
    struct tl *t = arg;
    t->ups++;
    t->up_seq = ++t->seq;
    t->n_rooms = rooms->n_rooms;
    for (size_t k = 0; k < rooms->n_rooms && k < MAX_ROOMS; k++) {
        snprintf(t->room[k], sizeof(t->room[k]), "%s", rooms->rooms[k]->room_id);
        t->claimed[k] = rooms->rooms[k]->claimed;
    }
    if (t->probe && t->up_reply)
        t->up_call_rc = call_list_rooms(t, t->up_reply);
}

/* For calls that must be refused: their callback is never to run. */
static void never_cb(void *arg, int status, const Sfu__Envelope *resp)
{
    abort();
}

static void on_down(void *arg, int reason)
{
    struct tl *t = arg;
    t->downs++;
    t->down_seq = ++t->seq;
    t->down_reason = reason;
    if (t->probe) {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ListRoomsRequest req = SFU__LIST_ROOMS_REQUEST__INIT;
        env.body_case = SFU__ENVELOPE__BODY_LIST_ROOMS;
        env.list_rooms = &req;
        t->down_call_rc = sfu_link_call(t->link, &env, never_cb, NULL);
    }
}

static void on_event(void *arg, const Sfu__Envelope *ev)
{
    struct tl *t = arg;
    t->events++;
    ++t->seq;
}

static void tl_init(struct tl *t)
{
    memset(t, 0, sizeof(*t));
    signal(SIGPIPE, SIG_IGN); /* as signalling's main does: a write to a closed SFU is EPIPE */
    uv_loop_init(&t->loop);
    uv_timer_init(&t->loop, &t->tick);
    uv_timer_start(&t->tick, on_tick, 10, 10);
    t->cbs.up = on_up;
    t->cbs.down = on_down;
    t->cbs.event = on_event;
}

static int tl_link_unix(struct tl *t, const char *path)
{
    struct sig_sfu_addr a = {.kind = SIG_SFU_UNIX};
    snprintf(a.path, sizeof(a.path), "%s", path);
    return sfu_link_new(&t->link, &t->loop, &a, NULL, 0, &t->cbs, t);
}

static int tl_link_tcp(struct tl *t, struct sfu_link **out, int port, const char *secret)
{
    struct sig_sfu_addr a = {.kind = SIG_SFU_TCP, .port = (uint16_t)port};
    snprintf(a.host, sizeof(a.host), "127.0.0.1");
    return sfu_link_new(out, &t->loop, &a, (const uint8_t *)secret, strlen(secret), &t->cbs, t);
}

/* Runs the loop until *v >= want or ms pass. Returns 0 or -ETIMEDOUT. */
static int tl_wait(struct tl *t, const int *v, int want, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (*v < want) {
        if (now_ms() >= end)
            return -ETIMEDOUT;
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    return 0;
}

static void tl_run_for(struct tl *t, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        uv_run(&t->loop, UV_RUN_ONCE);
}

/* Frees the link (if still there) and runs the loop until every handle is closed, within 2 s.
 * Returns 0, or -EBUSY when something was left open. */
static int tl_fini(struct tl *t)
{
    uint64_t end = now_ms() + 2000;
    sfu_link_free(t->link);
    t->link = NULL;
    uv_close((uv_handle_t *)&t->tick, NULL);
    while (uv_loop_alive(&t->loop) && now_ms() < end)
        uv_run(&t->loop, UV_RUN_NOWAIT);
    return uv_loop_close(&t->loop);
}

static int room_index(const struct tl *t, const char *id)
{
    for (size_t k = 0; k < t->n_rooms && k < MAX_ROOMS; k++)
        if (strcmp(t->room[k], id) == 0)
            return (int)k;
    return -1;
}

/* --- requests -------------------------------------------------------------------------------- */

static void on_reply(void *arg, int status, const Sfu__Envelope *resp)
{
    struct reply *r = arg;
    struct tl *t = r->t;
    r->calls++;
    r->status = status;
    r->seq = ++t->seq;
    if (resp) {
        r->body = (int)resp->body_case;
        r->resp_id = resp->id;
        if (resp->body_case == SFU__ENVELOPE__BODY_ERROR)
            r->code = (int)resp->error->code;
        if (resp->body_case == SFU__ENVELOPE__BODY_TRANSPORT_CREATED)
            r->tid = resp->transport_created->transport_id;
        if (resp->body_case == SFU__ENVELOPE__BODY_ROOMS && r->watch) {
            r->watch_claimed = -1;
            for (size_t k = 0; k < resp->rooms->n_rooms; k++)
                if (strcmp(resp->rooms->rooms[k]->room_id, r->watch) == 0)
                    r->watch_claimed = resp->rooms->rooms[k]->claimed;
        }
    }
    if (t->probe && status < 0)
        r->call_rc = call_list_rooms(t, r); /* must be refused: cb is never called for it */
    if (r->free_link) {
        sfu_link_free(t->link);
        t->link = NULL;
    }
}

static void reply_init(struct reply *r, struct tl *t)
{
    memset(r, 0, sizeof(*r));
    r->t = t;
    r->status = 1;
    r->watch_claimed = -2;
}

static int call_env(struct tl *t, Sfu__Envelope *env, struct reply *r)
{
    int rc = sfu_link_call(t->link, env, on_reply, r);
    r->req_id = env->id;
    return rc;
}

static int call_create_room(struct tl *t, const char *room, struct reply *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    reply_init(r, t);
    return call_env(t, &env, r);
}

static int call_get_stats(struct tl *t, const char *room, struct reply *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    reply_init(r, t);
    return call_env(t, &env, r);
}

static int call_create_transport(struct tl *t, const char *room, struct reply *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateTransportRequest req = SFU__CREATE_TRANSPORT_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_TRANSPORT;
    env.create_transport = &req;
    reply_init(r, t);
    return call_env(t, &env, r);
}

static int call_claim(struct tl *t, const char *room, struct reply *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ClaimRoomsRequest req = SFU__CLAIM_ROOMS_REQUEST__INIT;
    char *ids[1] = {(char *)room};
    req.n_room_ids = 1;
    req.room_ids = ids;
    env.body_case = SFU__ENVELOPE__BODY_CLAIM_ROOMS;
    env.claim_rooms = &req;
    reply_init(r, t);
    return call_env(t, &env, r);
}

/* Does not reset r: a probe from inside r's own callback must not clear what it recorded. */
static int call_list_rooms(struct tl *t, struct reply *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ListRoomsRequest req = SFU__LIST_ROOMS_REQUEST__INIT;
    env.body_case = SFU__ENVELOPE__BODY_LIST_ROOMS;
    env.list_rooms = &req;
    return sfu_link_call(t->link, &env, on_reply, r);
}

/* Waits for r's answer and checks it came once, for its own id, with body (and code). */
static int expect_body(struct tl *t, struct reply *r, int body, int code)
{
    CHECK_EQ(tl_wait(t, &r->calls, 1, 3000), 0);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->status, 0);
    CHECK(r->req_id != 0);
    CHECK_EQ(r->resp_id, r->req_id);
    CHECK_EQ(r->body, body);
    if (body == SFU__ENVELOPE__BODY_ERROR)
        CHECK_EQ(r->code, code);
    return 0;
}

/* --- SFU set-up --------------------------------------------------------------------------------
 */

/* The SFU's Unix socket at a path of the test's choosing, so that a restarted SFU takes the same
 * one; and, when secret_file is set, TCP control on an ephemeral loopback port. */
struct sfu_opts {
    char path[128];
    char secret_file[128];
};

static void sfu_adjust(struct sfu_config *cfg, void *arg)
{
    struct sfu_opts *o = arg;
    if (o->path[0])
        snprintf(cfg->control_unix, sizeof(cfg->control_unix), "%s", o->path);
    if (o->secret_file[0]) {
        snprintf(cfg->control_tcp_host, sizeof(cfg->control_tcp_host), "127.0.0.1");
        cfg->control_tcp_port = 0;
        snprintf(cfg->control_secret_file, sizeof(cfg->control_secret_file), "%s", o->secret_file);
    }
}

/* --- 1. unix: up, Ok, EXISTS, NOT_FOUND ------------------------------------------------------ */

static int test_unix_basic(void)
{
    struct integ_sfu sfu;
    struct tl t;
    struct reply r;

    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_unix(&t, sfu.cfg.control_unix), 0);
    CHECK(!sfu_link_is_up(t.link));
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK(sfu_link_is_up(t.link));
    CHECK_EQ(t.n_rooms, 0);

    CHECK_EQ(call_create_room(&t, "room-a", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);
    CHECK_EQ(call_create_room(&t, "room-a", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_ERROR, E_EXISTS), 0);
    CHECK_EQ(call_get_stats(&t, "no-such-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_ERROR, E_NOT_FOUND), 0);
    CHECK_EQ(call_get_stats(&t, "room-a", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_STATS, 0), 0);

    CHECK_EQ(t.ups, 1);
    CHECK_EQ(t.downs, 0);
    CHECK_EQ(tl_fini(&t), 0);
    integ_sfu_stop(&sfu);
    return 0;
}

/* --- 2. pipelined requests each get their own answer ---------------------------------------- */

static int test_pipelined(void)
{
    struct integ_sfu sfu;
    struct tl t;
    struct reply r, rs[PIPELINED];
    int answered = 0;

    CHECK_EQ(integ_sfu_start(&sfu, 2), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_unix(&t, sfu.cfg.control_unix), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(call_create_room(&t, "pipe", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);

    /* All sent before the loop runs once: they travel together and come back in whatever order
     * the SFU's workers answer. */
    for (int i = 0; i < PIPELINED; i++)
        CHECK_EQ(call_create_transport(&t, "pipe", &rs[i]), 0);
    uint64_t end = now_ms() + 5000;
    while (answered < PIPELINED && now_ms() < end) {
        uv_run(&t.loop, UV_RUN_ONCE);
        answered = 0;
        for (int i = 0; i < PIPELINED; i++)
            answered += rs[i].calls;
    }
    CHECK_EQ(answered, PIPELINED);
    for (int i = 0; i < PIPELINED; i++) {
        CHECK_EQ(rs[i].calls, 1);
        CHECK_EQ(rs[i].status, 0);
        CHECK_EQ(rs[i].body, SFU__ENVELOPE__BODY_TRANSPORT_CREATED);
        CHECK(rs[i].req_id != 0);
        CHECK_EQ(rs[i].resp_id, rs[i].req_id);
        CHECK(rs[i].tid != 0);
        for (int j = 0; j < i; j++) {
            CHECK(rs[j].req_id != rs[i].req_id);
            CHECK(rs[j].tid != rs[i].tid);
        }
    }
    CHECK_EQ(tl_fini(&t), 0);
    integ_sfu_stop(&sfu);
    return 0;
}

/* --- 3. TCP: the right secret works, a wrong one never comes up ----------------------------- */

static int test_tcp(void)
{
    struct integ_sfu sfu;
    struct sfu_opts o = {0};
    struct tl t;
    struct reply r;
    struct sfu_link *bad = NULL;
    char dir[] = "/tmp/gpsfu-link-XXXXXX";

    CHECK(mkdtemp(dir) != NULL);
    snprintf(o.secret_file, sizeof(o.secret_file), "%s/secret", dir);
    FILE *f = fopen(o.secret_file, "w");
    CHECK(f != NULL);
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, sfu_adjust, &o), 0);
    int port = integ_sfu_control_tcp_port(&sfu);
    CHECK(port > 0);

    tl_init(&t);
    CHECK_EQ(tl_link_tcp(&t, &t.link, port, SECRET), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(t.n_rooms, 0);
    CHECK_EQ(call_create_room(&t, "tcp-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);

    /* The wrong secret: the SFU hangs up after our answer, every time, for 2 s of retries. */
    CHECK_EQ(tl_link_tcp(&t, &bad, port, WRONG), 0);
    tl_run_for(&t, 2000);
    CHECK_EQ(t.ups, 1); /* the good link's only */
    CHECK_EQ(t.downs, 0);
    CHECK(!sfu_link_is_up(bad));
    CHECK(sfu_link_is_up(t.link));
    CHECK_EQ(call_get_stats(&t, "tcp-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_STATS, 0), 0);
    CHECK_EQ(sfu_link_call(bad, &(Sfu__Envelope)SFU__ENVELOPE__INIT, on_reply, &r), -ENOTCONN);

    sfu_link_free(bad);
    CHECK_EQ(tl_fini(&t), 0);
    integ_sfu_stop(&sfu);
    unlink(o.secret_file);
    rmdir(dir);
    return 0;
}

/* --- 4. reconnect: after an SFU restart, and after a dropped connection -------------------- */

static int test_reconnect(void)
{
    struct integ_sfu sfu;
    struct sfu_opts o = {0};
    struct tl t;
    struct reply r, ra, rb, rc, rl;
    char dir[] = "/tmp/gpsfu-link-XXXXXX";

    CHECK(mkdtemp(dir) != NULL);
    snprintf(o.path, sizeof(o.path), "%s/sfu.sock", dir);
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, sfu_adjust, &o), 0);
    tl_init(&t);
    t.probe = true;
    CHECK_EQ(tl_link_unix(&t, o.path), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(call_create_room(&t, "lost-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);

    /* One request sent before the SFU stops (answered or not, it is answered once), one after
     * it stopped but before the loop has noticed (the link still thinks it is up, the write or
     * the read fails): that one can only be reset. Both before down(). */
    CHECK_EQ(call_get_stats(&t, "lost-room", &ra), 0);
    integ_sfu_stop(&sfu);
    CHECK(sfu_link_is_up(t.link));
    CHECK_EQ(call_get_stats(&t, "lost-room", &rb), 0);
    CHECK_EQ(tl_wait(&t, &t.downs, 1, 3000), 0);
    CHECK(!sfu_link_is_up(t.link));
    CHECK_EQ(ra.calls, 1);
    CHECK(ra.status == 0 || ra.status == -ECONNRESET);
    CHECK(ra.seq < t.down_seq);
    CHECK_EQ(rb.calls, 1);
    CHECK_EQ(rb.status, -ECONNRESET);
    CHECK(rb.seq < t.down_seq);
    CHECK(t.down_reason < 0);
    CHECK_EQ(rb.call_rc, -ENOTCONN); /* a call from the reset callback */
    CHECK_EQ(t.down_call_rc, -ENOTCONN);
    CHECK_EQ(call_get_stats(&t, "lost-room", &r), -ENOTCONN);

    /* While it is away the link keeps trying (and stays down); then the SFU comes back on the
     * same path with no rooms. */
    tl_run_for(&t, 300);
    CHECK_EQ(t.ups, 1);
    CHECK_EQ(t.downs, 1);
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, sfu_adjust, &o), 0);
    reply_init(&rl, &t);
    t.up_reply = &rl; /* up() sends a ListRooms of its own */
    CHECK_EQ(tl_wait(&t, &t.ups, 2, 4000), 0);
    CHECK_EQ(t.n_rooms, 0);
    CHECK_EQ(t.up_call_rc, 0);
    CHECK_EQ(tl_wait(&t, &rl.calls, 1, 3000), 0);
    CHECK_EQ(rl.body, SFU__ENVELOPE__BODY_ROOMS);
    t.up_reply = NULL;

    /* The connection drops, the SFU stays: the room is kept, unclaimed, and claimable. */
    CHECK_EQ(call_create_room(&t, "kept-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);
    CHECK_EQ(call_get_stats(&t, "kept-room", &rc), 0);
    sfu_link__drop(t.link);
    CHECK_EQ(rc.calls, 1); /* answered inside the drop, before down() */
    CHECK_EQ(rc.status, -ECONNRESET);
    CHECK_EQ(t.downs, 2);
    CHECK(rc.seq < t.down_seq);
    CHECK_EQ(t.down_reason, -ECONNRESET);
    CHECK_EQ(tl_wait(&t, &t.ups, 3, 3000), 0);
    int k = room_index(&t, "kept-room");
    CHECK(k >= 0);
    CHECK(!t.claimed[k]);
    CHECK_EQ(call_claim(&t, "kept-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);
    reply_init(&r, &t);
    r.watch = "kept-room";
    CHECK_EQ(call_list_rooms(&t, &r), 0);
    CHECK_EQ(tl_wait(&t, &r.calls, 1, 3000), 0);
    CHECK_EQ(r.body, SFU__ENVELOPE__BODY_ROOMS);
    CHECK_EQ(r.watch_claimed, 1);
    CHECK_EQ(t.downs, 2);

    CHECK_EQ(tl_fini(&t), 0);
    integ_sfu_stop(&sfu);
    rmdir(dir);
    return 0;
}

/* --- 5. calls before up, and free with requests pending ------------------------------------- */

static int test_not_up(void)
{
    struct integ_sfu sfu;
    struct sfu_opts o = {0};
    struct tl t;
    struct reply r, pend[3];
    char dir[] = "/tmp/gpsfu-link-XXXXXX";

    CHECK(mkdtemp(dir) != NULL);
    snprintf(o.path, sizeof(o.path), "%s/sfu.sock", dir);
    tl_init(&t);
    CHECK_EQ(tl_link_unix(&t, o.path), 0);
    CHECK_EQ(call_create_room(&t, "early", &r), -ENOTCONN);
    CHECK_EQ(sfu_link_call(t.link, &(Sfu__Envelope)SFU__ENVELOPE__INIT, NULL, NULL), -EINVAL);
    /* No SFU yet: attempts fail quietly, the link stays down and says nothing. */
    tl_run_for(&t, 500);
    CHECK_EQ(call_create_room(&t, "early", &r), -ENOTCONN);
    CHECK_EQ(r.calls, 0);
    CHECK_EQ(t.ups, 0);
    CHECK_EQ(t.downs, 0);

    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, sfu_adjust, &o), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 4000), 0);
    CHECK_EQ(call_create_room(&t, "early", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);

    /* Freed with three requests in flight: each answered -ECANCELED inside sfu_link_free, and
     * nothing after it returned, whatever the SFU still sends. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(call_get_stats(&t, "early", &pend[i]), 0);
    int seq = t.seq;
    sfu_link_free(t.link);
    t.link = NULL;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pend[i].calls, 1);
        CHECK_EQ(pend[i].status, -ECANCELED);
    }
    CHECK_EQ(t.seq, seq + 3);
    CHECK_EQ(tl_fini(&t), 0);
    CHECK_EQ(t.seq, seq + 3);
    integ_sfu_stop(&sfu);
    rmdir(dir);
    return 0;
}

/* A response callback frees the link while the rest of the answers are in the same read: those
 * are dropped, the others are cancelled, and the loop closes cleanly. */
static int test_free_in_callback(void)
{
    struct integ_sfu sfu;
    struct tl t;
    struct reply r, rs[5];
    int ok = 0, cancelled = 0;

    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_unix(&t, sfu.cfg.control_unix), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(call_create_room(&t, "free-room", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(call_get_stats(&t, "free-room", &rs[i]), 0);
        rs[i].free_link = true;
    }
    uint64_t end = now_ms() + 3000;
    while (t.link && now_ms() < end)
        uv_run(&t.loop, UV_RUN_ONCE);
    CHECK(t.link == NULL);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(rs[i].calls, 1);
        ok += rs[i].status == 0;
        cancelled += rs[i].status == -ECANCELED;
    }
    CHECK_EQ(ok, 1);
    CHECK_EQ(cancelled, 4);
    CHECK_EQ(tl_fini(&t), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(rs[i].calls, 1);
    integ_sfu_stop(&sfu);
    return 0;
}

/* --- 6. a fake SFU on TCP ------------------------------------------------------------------- */

enum fake_mode {
    FAKE_BAD_MAGIC, /* greets with something else */
    FAKE_BAD_PROOF, /* greets properly, then proves nothing */
    FAKE_GARBAGE,   /* a real handshake, then noise around the one real answer */
    FAKE_SLOW,      /* a real handshake, then answers the first request too late */
    FAKE_MUTE,      /* accepts and says nothing */
};

struct fake_sfu {
    enum fake_mode mode;
    int lfd;
    int port;
    pthread_t th;
    atomic_bool stop;
    atomic_int accepted;
    atomic_int served; /* FAKE_GARBAGE: the noise and the answer were sent */
    atomic_int bad;    /* the client did something wrong */
};

static int fake_recv(struct fake_sfu *f, int fd, void *buf, size_t len, int ms)
{
    uint8_t *p = buf;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (atomic_load(&f->stop) || now_ms() >= end)
            return -ETIMEDOUT;
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        ssize_t n = recv(fd, p, len, 0);
        if (n <= 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fake_send(int fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EPIPE;
}

/* Reads one frame and returns the Envelope (the caller frees it), or NULL. */
static Sfu__Envelope *fake_recv_env(struct fake_sfu *f, int fd)
{
    uint8_t hdr[4], body[4096];
    if (fake_recv(f, fd, hdr, sizeof(hdr), 3000) < 0)
        return NULL;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n > sizeof(body) || fake_recv(f, fd, body, n, 3000) < 0)
        return NULL;
    return sfu__envelope__unpack(NULL, n, body);
}

/* Appends env's frame to buf at *len. */
static void fake_add(uint8_t *buf, size_t *len, const Sfu__Envelope *env)
{
    uint8_t *frame;
    size_t n;
    if (ctl_frame_pack(env, &frame, &n) < 0)
        return;
    memcpy(buf + *len, frame, n);
    *len += n;
    free(frame);
}

static void fake_garbage(struct fake_sfu *f, int fd)
{
    Sfu__Envelope *req = fake_recv_env(f, fd);
    if (!req || req->body_case != SFU__ENVELOPE__BODY_LIST_ROOMS) {
        atomic_fetch_add(&f->bad, 1);
        goto out;
    }
    /* The room list: one unclaimed room. */
    Sfu__RoomInfo room = SFU__ROOM_INFO__INIT, *rooms[1] = {&room};
    Sfu__ListRoomsResponse lr = SFU__LIST_ROOMS_RESPONSE__INIT;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    uint8_t out[4096];
    size_t len = 0;
    room.room_id = "fake-room";
    lr.n_rooms = 1;
    lr.rooms = rooms;
    env.id = req->id;
    env.body_case = SFU__ENVELOPE__BODY_ROOMS;
    env.rooms = &lr;
    fake_add(out, &len, &env);
    fake_send(fd, out, len);
    sfu__envelope__free_unpacked(req, NULL);

    req = fake_recv_env(f, fd);
    if (!req || req->id == 0) {
        atomic_fetch_add(&f->bad, 1);
        goto out;
    }
    if (f->mode == FAKE_SLOW) {
        uint64_t end = now_ms() + SFU_LINK_TIMEOUT_MS + 600;
        while (now_ms() < end && !atomic_load(&f->stop))
            integ_sleep_ms(10);
        Sfu__Ok late = SFU__OK__INIT;
        env = (Sfu__Envelope)SFU__ENVELOPE__INIT;
        env.id = req->id;
        env.body_case = SFU__ENVELOPE__BODY_OK;
        env.ok = &late;
        len = 0;
        fake_add(out, &len, &env);
        if (fake_send(fd, out, len) == 0)
            atomic_fetch_add(&f->served, 1);
        goto out;
    }
    /* Noise, all in one write so that it arrives in one read with the real answer last: bytes
     * that do not decode, an answer to an id never asked, an id-0 error, an event. */
    static const uint8_t junk[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
    Sfu__Ok ok = SFU__OK__INIT;
    Sfu__Error er = SFU__ERROR__INIT;
    Sfu__TransportStateEvent ts = SFU__TRANSPORT_STATE_EVENT__INIT;
    len = 0;
    memcpy(out, junk, sizeof(junk));
    len += sizeof(junk);
    env = (Sfu__Envelope)SFU__ENVELOPE__INIT;
    env.id = req->id + 1000;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    fake_add(out, &len, &env);
    er.code = SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE;
    er.reason = "malformed Envelope: test";
    env.id = 0;
    env.body_case = SFU__ENVELOPE__BODY_ERROR;
    env.error = &er;
    fake_add(out, &len, &env);
    ts.room_id = "fake-room";
    ts.transport_id = 7;
    ts.state = SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED;
    env.body_case = SFU__ENVELOPE__BODY_TRANSPORT_STATE;
    env.transport_state = &ts;
    fake_add(out, &len, &env);
    env.id = req->id;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    fake_add(out, &len, &env);
    if (fake_send(fd, out, len) == 0)
        atomic_fetch_add(&f->served, 1);
out:
    if (req)
        sfu__envelope__free_unpacked(req, NULL);
}

static void fake_conn(struct fake_sfu *f, int fd)
{
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN], answer[CTL_AUTH_CLIENT_LEN];
    uint8_t proof[CTL_AUTH_MAC_LEN] = {0}, rest[256];

    if (f->mode == FAKE_MUTE)
        goto wait;
    memcpy(hello, f->mode == FAKE_BAD_MAGIC ? "HELLO-THERE\n" : CTL_AUTH_MAGIC, CTL_AUTH_MAGIC_LEN);
    RAND_bytes(hello + CTL_AUTH_MAGIC_LEN, CTL_AUTH_NONCE_LEN);
    if (fake_send(fd, hello, sizeof(hello)) < 0)
        return;
    if (f->mode != FAKE_BAD_MAGIC) {
        /* No answer is no fault: the test may have freed the link in mid-attempt. */
        if (fake_recv(f, fd, answer, sizeof(answer), 3000) < 0)
            return;
        if (ctl_auth_verify((const uint8_t *)SECRET, strlen(SECRET), CTL_AUTH_CLIENT,
                            hello + CTL_AUTH_MAGIC_LEN, answer) < 0)
            atomic_fetch_add(&f->bad, 1);
        if (f->mode == FAKE_GARBAGE || f->mode == FAKE_SLOW)
            ctl_auth_mac((const uint8_t *)SECRET, strlen(SECRET), CTL_AUTH_SERVER,
                         answer + CTL_AUTH_MAC_LEN, proof);
        if (fake_send(fd, proof, sizeof(proof)) < 0)
            return;
        if (f->mode == FAKE_GARBAGE || f->mode == FAKE_SLOW)
            fake_garbage(f, fd);
    }
wait:
    /* Until the client hangs up (or the test stops): it must send no frame after a failed
     * handshake. */
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        ssize_t n = recv(fd, rest, sizeof(rest), 0);
        if (n <= 0)
            break;
        if (f->mode != FAKE_GARBAGE && f->mode != FAKE_SLOW)
            atomic_fetch_add(&f->bad, 1);
    }
}

static void *fake_main(void *arg)
{
    struct fake_sfu *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->accepted, 1);
        fake_conn(f, fd);
        close(fd);
    }
    return NULL;
}

static int fake_start(struct fake_sfu *f, enum fake_mode mode)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    memset(f, 0, sizeof(*f));
    f->mode = mode;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(f->lfd, 8) < 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->th, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void fake_stop(struct fake_sfu *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

/* A peer that is not an SFU, or one without our secret, is never taken for one; attempts are
 * spaced by the backoff. */
static int fake_refused(enum fake_mode mode)
{
    struct fake_sfu f;
    struct tl t;
    CHECK_EQ(fake_start(&f, mode), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_tcp(&t, &t.link, f.port, SECRET), 0);
    tl_run_for(&t, 1500);
    CHECK_EQ(t.ups, 0);
    CHECK_EQ(t.downs, 0);
    CHECK(!sfu_link_is_up(t.link));
    /* At 0, 100, 300, 700 ms and 1.5 s: the backoff at work, neither one attempt nor a storm. */
    int n = atomic_load(&f.accepted);
    CHECK(n >= 3 && n <= 6);
    CHECK_EQ(tl_fini(&t), 0);
    fake_stop(&f);
    CHECK_EQ(atomic_load(&f.bad), 0);
    return 0;
}

static int test_fake_bad_magic(void)
{
    return fake_refused(FAKE_BAD_MAGIC);
}

static int test_fake_bad_proof(void)
{
    return fake_refused(FAKE_BAD_PROOF);
}

static int test_fake_garbage(void)
{
    struct fake_sfu f;
    struct tl t;
    struct reply r;
    CHECK_EQ(fake_start(&f, FAKE_GARBAGE), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_tcp(&t, &t.link, f.port, SECRET), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(t.n_rooms, 1);
    CHECK_EQ(room_index(&t, "fake-room"), 0);
    CHECK(!t.claimed[0]);
    CHECK_EQ(call_create_room(&t, "fake-room-2", &r), 0);
    CHECK_EQ(expect_body(&t, &r, SFU__ENVELOPE__BODY_OK, 0), 0);
    CHECK_EQ(t.events, 1);
    /* The fake counts its write after send() returns, which can be after we read it. */
    uint64_t end = now_ms() + 1000;
    while (atomic_load(&f.served) < 1 && now_ms() < end)
        integ_sleep_ms(1);
    CHECK_EQ(atomic_load(&f.served), 1);
    tl_run_for(&t, 100);
    CHECK(sfu_link_is_up(t.link));
    CHECK_EQ(t.ups, 1);
    CHECK_EQ(t.downs, 0);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(tl_fini(&t), 0);
    fake_stop(&f);
    CHECK_EQ(atomic_load(&f.accepted), 1);
    CHECK_EQ(atomic_load(&f.bad), 0);
    return 0;
}

/* A request the SFU does not answer in time gets -ETIMEDOUT once; the late answer is skipped and
 * the link stays up. Takes SFU_LINK_TIMEOUT_MS and a little more. */
static int test_fake_timeout(void)
{
    struct fake_sfu f;
    struct tl t;
    struct reply r;
    CHECK_EQ(fake_start(&f, FAKE_SLOW), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_tcp(&t, &t.link, f.port, SECRET), 0);
    CHECK_EQ(tl_wait(&t, &t.ups, 1, 3000), 0);
    CHECK_EQ(call_create_room(&t, "slow-room", &r), 0);
    uint64_t sent = now_ms();
    CHECK_EQ(tl_wait(&t, &r.calls, 1, SFU_LINK_TIMEOUT_MS + 1000), 0);
    uint64_t took = now_ms() - sent;
    CHECK_EQ(r.status, -ETIMEDOUT);
    CHECK(took >= SFU_LINK_TIMEOUT_MS - 50 && took < SFU_LINK_TIMEOUT_MS + 500);
    uint64_t end = now_ms() + 2000;
    while (atomic_load(&f.served) < 1 && now_ms() < end)
        uv_run(&t.loop, UV_RUN_ONCE);
    CHECK_EQ(atomic_load(&f.served), 1);
    tl_run_for(&t, 100); /* the late answer is read, logged and skipped */
    CHECK_EQ(r.calls, 1);
    CHECK(sfu_link_is_up(t.link));
    CHECK_EQ(t.downs, 0);
    CHECK_EQ(tl_fini(&t), 0);
    fake_stop(&f);
    CHECK_EQ(atomic_load(&f.bad), 0);
    return 0;
}

/* A peer that accepts and never greets: the attempt is given up after SFU_LINK_TIMEOUT_MS and
 * the next one follows. */
static int test_fake_mute(void)
{
    struct fake_sfu f;
    struct tl t;
    CHECK_EQ(fake_start(&f, FAKE_MUTE), 0);
    tl_init(&t);
    CHECK_EQ(tl_link_tcp(&t, &t.link, f.port, SECRET), 0);
    uint64_t start = now_ms(), end = start + SFU_LINK_TIMEOUT_MS + 1500;
    while (atomic_load(&f.accepted) < 2 && now_ms() < end)
        uv_run(&t.loop, UV_RUN_ONCE);
    CHECK_EQ(atomic_load(&f.accepted), 2);
    CHECK(now_ms() - start >= SFU_LINK_TIMEOUT_MS - 50);
    CHECK_EQ(t.ups, 0);
    CHECK_EQ(t.downs, 0);
    CHECK_EQ(tl_fini(&t), 0);
    fake_stop(&f);
    CHECK_EQ(atomic_load(&f.bad), 0);
    return 0;
}

static const struct test_case cases[] = {
    {"unix_basic", test_unix_basic},
    {"pipelined", test_pipelined},
    {"tcp", test_tcp},
    {"reconnect", test_reconnect},
    {"not_up", test_not_up},
    {"free_in_callback", test_free_in_callback},
    {"fake_bad_magic", test_fake_bad_magic},
    {"fake_bad_proof", test_fake_bad_proof},
    {"fake_garbage", test_fake_garbage},
    {"fake_timeout", test_fake_timeout},
    {"fake_mute", test_fake_mute},
};

TEST_MAIN(cases)
