/* The control server over real sockets: a loop thread runs ctl_server, the test thread talks to
 * it with the blocking ctl_client (Unix socket and loopback TCP), and every wait is bounded. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <uv.h>

#include "control/ctl_server.h"
#include "ctl_client.h"
#include "ctl_frame.h"
#include "harness.h"

#define WAIT_MS          3000
#define FLOOD_REASON_LEN (60 * 1024)

static const uint8_t secret_good[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret_bad[32] = "0123456789abcdef0123456789abcdeX";

struct fix {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    struct ctl_server *srv; /* touched by the loop thread only, once started */
    int port;
    char dir[64];
    char path[128];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu: what the callbacks saw. */
    int opens;
    int closes;
    int requests;
    uint64_t open_id;
    uint64_t close_id;
    uint64_t req_id;
    uint64_t req_conn;
    char room[64];
    int send_after_close;
    int send_frame_after_close;
    int flood_result;
    int floods;
};

static void fix_signal(struct fix *f)
{
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void on_open(void *arg, uint64_t conn_id)
{
    struct fix *f = arg;
    pthread_mutex_lock(&f->mu);
    f->opens++;
    f->open_id = conn_id;
    fix_signal(f);
}

static void on_close(void *arg, uint64_t conn_id)
{
    struct fix *f = arg;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__Ok ok = SFU__OK__INIT;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    int r = ctl_server_send(f->srv, conn_id, &env);
    uint8_t *frame;
    size_t len;
    int rf = ctl_frame_pack(&env, &frame, &len);
    if (rf == 0)
        rf = ctl_server_send_frame(f->srv, conn_id, frame, len); /* frees frame */
    pthread_mutex_lock(&f->mu);
    f->send_frame_after_close = rf;
    f->closes++;
    f->close_id = conn_id;
    f->send_after_close = r;
    fix_signal(f);
}

/* Floods the connection with 60 KiB envelopes until the server gives up on it. */
static int flood(struct fix *f, uint64_t conn_id, uint64_t id)
{
    char *reason = malloc(FLOOD_REASON_LEN + 1);
    int r = -ENOMEM;
    if (!reason)
        return r;
    memset(reason, 'x', FLOOD_REASON_LEN);
    reason[FLOOD_REASON_LEN] = '\0';
    Sfu__Error e = SFU__ERROR__INIT;
    e.code = SFU__ERROR_CODE__ERROR_CODE_INVALID;
    e.reason = reason;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_ERROR;
    env.error = &e;
    for (int i = 0; i < 2000; i++) {
        r = ctl_server_send(f->srv, conn_id, &env);
        if (r < 0)
            break;
    }
    free(reason);
    return r;
}

/* Answers CreateRoom with Ok (and, for room "with-event", an event first); CloseRoom "flood"
 * floods the peer. */
static void on_request(void *arg, uint64_t conn_id, Sfu__Envelope *env)
{
    struct fix *f = arg;
    /* Recorded before answering, so that a client holding the answer sees the count. */
    pthread_mutex_lock(&f->mu);
    f->requests++;
    f->req_id = env->id;
    f->req_conn = conn_id;
    if (env->body_case == SFU__ENVELOPE__BODY_CREATE_ROOM)
        snprintf(f->room, sizeof(f->room), "%s", env->create_room->room_id);
    fix_signal(f);

    if (env->body_case == SFU__ENVELOPE__BODY_CREATE_ROOM) {
        if (strcmp(env->create_room->room_id, "with-event") == 0) {
            Sfu__TransportStateEvent tse = SFU__TRANSPORT_STATE_EVENT__INIT;
            tse.room_id = "with-event";
            tse.transport_id = 9;
            tse.state = SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED;
            Sfu__Envelope ev = SFU__ENVELOPE__INIT;
            ev.body_case = SFU__ENVELOPE__BODY_TRANSPORT_STATE;
            ev.transport_state = &tse;
            ctl_server_send(f->srv, conn_id, &ev);
        }
        Sfu__Ok ok = SFU__OK__INIT;
        Sfu__Envelope resp = SFU__ENVELOPE__INIT;
        resp.id = env->id;
        resp.body_case = SFU__ENVELOPE__BODY_OK;
        resp.ok = &ok;
        uint8_t *frame;
        size_t len;
        /* Room "as-frame": the answer goes as a frame packed beforehand (as workers do). */
        if (strcmp(env->create_room->room_id, "as-frame") == 0 &&
            ctl_frame_pack(&resp, &frame, &len) == 0)
            ctl_server_send_frame(f->srv, conn_id, frame, len);
        else
            ctl_server_send(f->srv, conn_id, &resp);
    } else if (env->body_case == SFU__ENVELOPE__BODY_CLOSE_ROOM &&
               strcmp(env->close_room->room_id, "flood") == 0) {
        int r = flood(f, conn_id, env->id);
        pthread_mutex_lock(&f->mu);
        f->flood_result = r;
        f->floods++;
        fix_signal(f);
    }
    sfu__envelope__free_unpacked(env, NULL);
}

static const struct ctl_server_cbs test_cbs = {on_request, on_open, on_close};

static void on_stop(uv_async_t *a)
{
    struct fix *f = a->data;
    ctl_server_close(f->srv);
    uv_close((uv_handle_t *)&f->stop, NULL);
}

static void *loop_main(void *arg)
{
    struct fix *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int fix_dir(struct fix *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/ctl-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -errno;
    snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
    return 0;
}

/* Starts a server with cfg (unix_path NULL: f->path is not used) on a loop thread. */
static int fix_start(struct fix *f, struct ctl_server_cfg *cfg)
{
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (uv_loop_init(&f->loop) != 0)
        return -1;
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    int err = ctl_server_new(&f->srv, &f->loop, cfg, &test_cbs, f);
    if (err < 0) {
        uv_close((uv_handle_t *)&f->stop, NULL);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        uv_loop_close(&f->loop);
        return err;
    }
    if (cfg->tcp_host)
        f->port = ctl_server_tcp_port(f->srv);
    pthread_create(&f->thread, NULL, loop_main, f);
    return 0;
}

/* Stops the loop thread; returns uv_loop_close's result (0 when every handle was closed).
 * The fields may then be read without the mutex, which is gone. */
static int fix_stop(struct fix *f)
{
    uv_async_send(&f->stop);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    return uv_loop_close(&f->loop);
}

static void fix_rmdir(struct fix *f)
{
    unlink(f->path);
    rmdir(f->dir);
}

/* Waits until *counter (under mu) reaches target. Returns 0, or -ETIMEDOUT. */
static int fix_wait(struct fix *f, const int *counter, int target)
{
    struct timespec ts;
    int err = 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&f->mu);
    while (*counter < target && err == 0)
        err = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    int reached = *counter >= target;
    pthread_mutex_unlock(&f->mu);
    return reached ? 0 : -ETIMEDOUT;
}

static int fix_get(struct fix *f, const int *v)
{
    pthread_mutex_lock(&f->mu);
    int r = *v;
    pthread_mutex_unlock(&f->mu);
    return r;
}

static int start_unix(struct fix *f, size_t max_msg)
{
    memset(f, 0, sizeof(*f));
    if (fix_dir(f) < 0)
        return -1;
    struct ctl_server_cfg cfg = {.unix_path = f->path, .max_msg = max_msg};
    return fix_start(f, &cfg);
}

static int call_create_room(struct ctl_client *c, const char *room, uint64_t *id_out)
{
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__Envelope *resp = NULL;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    int err = ctl_client_call(c, &env, &resp, WAIT_MS);
    if (err < 0)
        return err;
    int ok = resp->id == env.id && resp->body_case == SFU__ENVELOPE__BODY_OK;
    sfu__envelope__free_unpacked(resp, NULL);
    if (id_out)
        *id_out = env.id;
    return ok ? 0 : -EPROTO;
}

/* Sends body as one frame, as it is. */
static int send_framed(struct ctl_client *c, const uint8_t *body, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    int err = ctl_client_send_raw(c, hdr, sizeof(hdr));
    return err < 0 ? err : ctl_client_send_raw(c, body, len);
}

/* Receives one envelope and checks it is Error{code} with id; returns 0 or -1. The reason is
 * copied to reason (may be NULL). */
static int expect_error(struct ctl_client *c, uint64_t id, Sfu__ErrorCode code, char *reason,
                        size_t reason_len)
{
    Sfu__Envelope *env = NULL;
    CHECK_EQ(ctl_client_recv(c, &env, WAIT_MS), 0);
    int ok =
        env->id == id && env->body_case == SFU__ENVELOPE__BODY_ERROR && env->error->code == code;
    if (ok && reason)
        snprintf(reason, reason_len, "%s", env->error->reason);
    if (!ok)
        fprintf(stderr, "got id %llu body %d\n", (unsigned long long)env->id, (int)env->body_case);
    sfu__envelope__free_unpacked(env, NULL);
    CHECK(ok);
    return 0;
}

static int test_unix_socket_mode_0600(void)
{
    struct fix f;
    struct stat st;
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(lstat(f.path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(st.st_uid, geteuid());
    CHECK_EQ(fix_stop(&f), 0);
    /* Closing removed the file. */
    CHECK_EQ(lstat(f.path, &st), -1);
    CHECK_EQ(errno, ENOENT);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_request_reply(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    uint64_t id = 0;
    Sfu__Envelope *ev = NULL;
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(call_create_room(c, "room-1", &id), 0);
    CHECK(id != 0);
    pthread_mutex_lock(&f.mu);
    uint64_t req_id = f.req_id, req_conn = f.req_conn, open_id = f.open_id;
    int requests = f.requests, opens = f.opens;
    int same_room = strcmp(f.room, "room-1") == 0;
    pthread_mutex_unlock(&f.mu);
    CHECK_EQ(requests, 1);
    CHECK_EQ(req_id, id);
    CHECK(same_room);
    CHECK_EQ(opens, 1);
    CHECK_EQ(req_conn, open_id);

    /* An event sent before the answer is kept for next_event while call waits. */
    CHECK_EQ(call_create_room(c, "with-event", &id), 0);
    CHECK_EQ(ctl_client_next_event(c, &ev, 0), 0);
    CHECK_EQ(ev->id, 0);
    CHECK_EQ(ev->body_case, SFU__ENVELOPE__BODY_TRANSPORT_STATE);
    CHECK_EQ(ev->transport_state->transport_id, 9);
    CHECK(strcmp(ev->transport_state->room_id, "with-event") == 0);
    sfu__envelope__free_unpacked(ev, NULL);
    CHECK_EQ(ctl_client_next_event(c, &ev, 0), -ETIMEDOUT);
    CHECK_EQ(call_create_room(c, "as-frame", NULL), 0);

    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_conn_close_on_disconnect(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(fix_wait(&f, &f.opens, 1), 0);
    CHECK_EQ(fix_get(&f, &f.closes), 0);
    ctl_client_free(c);
    CHECK_EQ(fix_wait(&f, &f.closes, 1), 0);
    pthread_mutex_lock(&f.mu);
    uint64_t open_id = f.open_id, close_id = f.close_id;
    int send_r = f.send_after_close, send_frame_r = f.send_frame_after_close;
    pthread_mutex_unlock(&f.mu);
    CHECK_EQ(close_id, open_id);
    /* From on_conn_close on, the connection is gone for senders. */
    CHECK_EQ(send_r, -ENOTCONN);
    CHECK_EQ(send_frame_r, -ENOTCONN);
    CHECK_EQ(fix_stop(&f), 0);
    CHECK_EQ(f.closes, 1);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_too_large_then_ok(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    char reason[256];
    uint8_t *big = calloc(1, 4 + 2000);
    CHECK(big != NULL);
    big[2] = 2000 >> 8;
    big[3] = 2000 & 0xff;
    CHECK_EQ(start_unix(&f, 1024), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(ctl_client_send_raw(c, big, 4 + 2000), 0);
    free(big);
    CHECK_EQ(expect_error(c, 0, SFU__ERROR_CODE__ERROR_CODE_TOO_LARGE, reason, sizeof(reason)), 0);
    CHECK(strcmp(reason, "message of 2000 bytes is over the limit of 1024") == 0);
    /* The 2000 bytes were skipped, and the next frame is read as one. */
    CHECK_EQ(call_create_room(c, "after-big", NULL), 0);
    CHECK_EQ(fix_get(&f, &f.requests), 1);
    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_garbage_bad_message(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    char reason[256];
    /* A tag varint that never ends. */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(send_framed(c, garbage, sizeof(garbage)), 0);
    CHECK_EQ(expect_error(c, 0, SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE, reason, sizeof(reason)),
             0);
    CHECK(strncmp(reason, "malformed Envelope: ", 20) == 0);
    CHECK_EQ(call_create_room(c, "after-garbage", NULL), 0);
    CHECK_EQ(fix_get(&f, &f.requests), 1);
    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_response_body_unknown_request(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    uint8_t *buf;
    size_t len;
    Sfu__Ok ok = SFU__OK__INIT;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    env.id = 77;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    CHECK_EQ(ctl_frame_pack(&env, &buf, &len), 0);
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(ctl_client_send_raw(c, buf, len), 0);
    free(buf);
    CHECK_EQ(expect_error(c, 77, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST, NULL, 0), 0);
    CHECK_EQ(call_create_room(c, "after-ok", NULL), 0);
    CHECK_EQ(fix_get(&f, &f.requests), 1);
    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_unknown_field_unknown_request(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    /* id = 5 (field 1, varint), then field 200 (varint 1): a number no build knows yet. */
    static const uint8_t body[] = {0x08, 0x05, 0xc0, 0x0c, 0x01};
    CHECK_EQ(start_unix(&f, 0), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(send_framed(c, body, sizeof(body)), 0);
    CHECK_EQ(expect_error(c, 5, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST, NULL, 0), 0);
    /* A zero-length frame is an empty Envelope: no body either. */
    static const uint8_t empty[4] = {0, 0, 0, 0};
    CHECK_EQ(ctl_client_send_raw(c, empty, sizeof(empty)), 0);
    CHECK_EQ(expect_error(c, 0, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST, NULL, 0), 0);
    CHECK_EQ(fix_get(&f, &f.requests), 0);
    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_bad_input_isolated(void)
{
    struct fix f;
    struct ctl_client *a = NULL, *b = NULL;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t unknown[] = {0x08, 0x06, 0xc0, 0x0c, 0x01};
    uint8_t big[4 + 1500] = {0, 0, 1500 >> 8, 1500 & 0xff};
    CHECK_EQ(start_unix(&f, 1024), 0);
    CHECK_EQ(ctl_client_connect_unix(&a, f.path), 0);
    CHECK_EQ(ctl_client_connect_unix(&b, f.path), 0);
    CHECK_EQ(fix_wait(&f, &f.opens, 2), 0);
    CHECK_EQ(ctl_client_send_raw(a, big, sizeof(big)), 0);
    CHECK_EQ(send_framed(a, garbage, sizeof(garbage)), 0);
    CHECK_EQ(send_framed(a, unknown, sizeof(unknown)), 0);
    /* All three answered, in order, on a. */
    CHECK_EQ(expect_error(a, 0, SFU__ERROR_CODE__ERROR_CODE_TOO_LARGE, NULL, 0), 0);
    CHECK_EQ(expect_error(a, 0, SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE, NULL, 0), 0);
    CHECK_EQ(expect_error(a, 6, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST, NULL, 0), 0);
    /* b saw nothing of it and works; so does a. */
    Sfu__Envelope *env = NULL;
    CHECK_EQ(ctl_client_recv(b, &env, 0), -ETIMEDOUT);
    CHECK_EQ(call_create_room(b, "on-b", NULL), 0);
    CHECK_EQ(call_create_room(a, "on-a", NULL), 0);
    CHECK_EQ(fix_get(&f, &f.requests), 2);
    CHECK_EQ(fix_get(&f, &f.closes), 0);
    ctl_client_free(a);
    ctl_client_free(b);
    CHECK_EQ(fix_wait(&f, &f.closes, 2), 0);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_stuck_peer_closed(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    uint8_t *buf;
    size_t len;
    memset(&f, 0, sizeof(f));
    CHECK_EQ(fix_dir(&f), 0);
    struct ctl_server_cfg cfg = {.unix_path = f.path, .max_queued = 256 * 1024};
    CHECK_EQ(fix_start(&f, &cfg), 0);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    Sfu__CloseRoomRequest req = SFU__CLOSE_ROOM_REQUEST__INIT;
    req.room_id = "flood";
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    env.id = 3;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_ROOM;
    env.close_room = &req;
    CHECK_EQ(ctl_frame_pack(&env, &buf, &len), 0);
    CHECK_EQ(ctl_client_send_raw(c, buf, len), 0);
    free(buf);
    /* The client does not read: the server closes it once 256 KiB wait in its queue. */
    CHECK_EQ(fix_wait(&f, &f.floods, 1), 0);
    CHECK_EQ(fix_get(&f, &f.flood_result), -ENOBUFS);
    CHECK_EQ(fix_get(&f, &f.closes), 1);
    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_stale_socket_replaced(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    struct stat st;
    memset(&f, 0, sizeof(f));
    CHECK_EQ(fix_dir(&f), 0);
    /* A socket file left by a dead server. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    CHECK(strlen(f.path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, f.path, strlen(f.path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    CHECK_EQ(lstat(f.path, &st), 0);
    struct ctl_server_cfg cfg = {.unix_path = f.path};
    CHECK_EQ(fix_start(&f, &cfg), 0);
    CHECK_EQ(lstat(f.path, &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(ctl_client_connect_unix(&c, f.path), 0);
    CHECK_EQ(call_create_room(c, "after-stale", NULL), 0);

    /* A second server on the same path refuses to steal it from the live one. */
    uv_loop_t loop2;
    struct ctl_server *s2 = NULL;
    CHECK_EQ(uv_loop_init(&loop2), 0);
    CHECK_EQ(ctl_server_new(&s2, &loop2, &cfg, &test_cbs, NULL), -EADDRINUSE);
    CHECK(s2 == NULL);
    CHECK_EQ(uv_loop_close(&loop2), 0);
    CHECK_EQ(call_create_room(c, "still-there", NULL), 0);

    ctl_client_free(c);
    CHECK_EQ(fix_stop(&f), 0);
    fix_rmdir(&f);
    return 0;
}

static int test_unix_regular_file_not_replaced(void)
{
    char dir[64], path[128], got[8] = {0};
    uv_loop_t loop;
    struct ctl_server *s = NULL;
    snprintf(dir, sizeof(dir), "/tmp/ctl-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/ctl.sock", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "keep", 4), 4);
    close(fd);
    struct ctl_server_cfg cfg = {.unix_path = path};
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_EQ(ctl_server_new(&s, &loop, &cfg, &test_cbs, NULL), -EEXIST);
    CHECK(s == NULL);
    CHECK_EQ(uv_loop_close(&loop), 0);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ(read(fd, got, sizeof(got)), 4);
    close(fd);
    CHECK(memcmp(got, "keep", 4) == 0);
    unlink(path);
    rmdir(dir);
    return 0;
}

static int start_tcp(struct fix *f, unsigned auth_timeout_ms)
{
    memset(f, 0, sizeof(*f));
    struct ctl_server_cfg cfg = {.tcp_host = "127.0.0.1",
                                 .tcp_port = 0,
                                 .secret = secret_good,
                                 .secret_len = sizeof(secret_good),
                                 .auth_timeout_ms = auth_timeout_ms};
    return fix_start(f, &cfg);
}

static int test_tcp_right_secret(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    uint64_t id = 0;
    CHECK_EQ(start_tcp(&f, 0), 0);
    CHECK(f.port > 0);
    CHECK_EQ(
        ctl_client_connect_tcp(&c, "127.0.0.1", (uint16_t)f.port, secret_good, sizeof(secret_good)),
        0);
    CHECK_EQ(call_create_room(c, "tcp-room", &id), 0);
    CHECK_EQ(fix_get(&f, &f.opens), 1);
    CHECK_EQ(fix_get(&f, &f.requests), 1);
    pthread_mutex_lock(&f.mu);
    uint64_t req_id = f.req_id;
    pthread_mutex_unlock(&f.mu);
    CHECK_EQ(req_id, id);
    ctl_client_free(c);
    CHECK_EQ(fix_wait(&f, &f.closes, 1), 0);
    CHECK_EQ(fix_stop(&f), 0);
    return 0;
}

static int test_tcp_wrong_secret_closed(void)
{
    struct fix f;
    struct ctl_client *c = NULL;
    uint8_t *buf;
    size_t len;
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN], answer[CTL_AUTH_CLIENT_LEN], more;
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = "sneaky";
    Sfu__Envelope e = SFU__ENVELOPE__INIT;
    e.id = 1;
    e.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    e.create_room = &req;
    CHECK_EQ(ctl_frame_pack(&e, &buf, &len), 0);
    CHECK_EQ(start_tcp(&f, 0), 0);
    /* The client library finds out at once: the server hangs up instead of proving itself. */
    CHECK_EQ(
        ctl_client_connect_tcp(&c, "127.0.0.1", (uint16_t)f.port, secret_bad, sizeof(secret_bad)),
        -ECONNRESET);
    /* By hand: a wrong answer with a request right behind it, which must be dropped unread. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(recv(fd, hello, sizeof(hello), MSG_WAITALL), (ssize_t)sizeof(hello));
    CHECK_EQ(ctl_auth_mac(secret_bad, sizeof(secret_bad), CTL_AUTH_CLIENT,
                          hello + CTL_AUTH_MAGIC_LEN, answer),
             0);
    memset(answer + CTL_AUTH_MAC_LEN, 7, CTL_AUTH_NONCE_LEN);
    CHECK_EQ(send(fd, answer, sizeof(answer), MSG_NOSIGNAL), (ssize_t)sizeof(answer));
    ssize_t sent = send(fd, buf, len, MSG_NOSIGNAL);
    CHECK(sent == (ssize_t)len || sent < 0);
    free(buf);
    /* Closed without a proof and without an answer to the request. */
    ssize_t got = recv(fd, &more, 1, 0);
    CHECK(got == 0 || (got < 0 && errno == ECONNRESET));
    close(fd);
    CHECK_EQ(fix_get(&f, &f.requests), 0);
    CHECK_EQ(fix_get(&f, &f.opens), 0);
    CHECK_EQ(fix_stop(&f), 0);
    CHECK_EQ(f.closes, 0);
    return 0;
}

/* A listener that says the greeting but does not hold the secret: the client refuses it before
 * sending anything that matters. */
static int test_tcp_fake_server_refused(void)
{
    struct ctl_client *c = NULL;
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN] = {0}, answer[CTL_AUTH_CLIENT_LEN];
    uint8_t proof[CTL_AUTH_MAC_LEN];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(listen(lfd, 1), 0);
    CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    /* The fake's whole script fits in the socket buffers, so it can be played before the
     * client connects: accept after. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int cfd = accept(lfd, NULL, NULL);
        memcpy(hello, CTL_AUTH_MAGIC, CTL_AUTH_MAGIC_LEN);
        if (cfd < 0 || send(cfd, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello) ||
            recv(cfd, answer, sizeof(answer), MSG_WAITALL) != (ssize_t)sizeof(answer))
            _exit(1);
        /* It echoes the client's own answer as its proof: wrong label, so it must fail. */
        memcpy(proof, answer, sizeof(proof));
        if (send(cfd, proof, sizeof(proof), MSG_NOSIGNAL) != (ssize_t)sizeof(proof))
            _exit(1);
        recv(cfd, answer, 1, 0);
        _exit(0);
    }
    close(lfd);
    CHECK_EQ(ctl_client_connect_tcp(&c, "127.0.0.1", ntohs(sa.sin_port), secret_good,
                                    sizeof(secret_good)),
             -EACCES);
    CHECK(c == NULL);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}

static int test_tcp_handshake_timeout(void)
{
    struct fix f;
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN], more;
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    CHECK_EQ(start_tcp(&f, 100), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(recv(fd, hello, sizeof(hello), MSG_WAITALL), (ssize_t)sizeof(hello));
    CHECK_MEM(hello, CTL_AUTH_MAGIC, CTL_AUTH_MAGIC_LEN);
    /* Say nothing: the server hangs up after 100 ms, well before our 3 s receive timeout. */
    CHECK_EQ(recv(fd, &more, 1, 0), 0);
    close(fd);
    CHECK_EQ(fix_get(&f, &f.opens), 0);
    CHECK_EQ(fix_stop(&f), 0);
    return 0;
}

/* Clients that connect and never authenticate hold at most CTL_SERVER_MAX_UNAUTHED slots: one
 * more is closed at once, and a real client still gets in. */
static int test_tcp_unauthenticated_capped(void)
{
    struct fix f;
    int fds[CTL_SERVER_MAX_UNAUTHED + 1];
    uint8_t hello[CTL_AUTH_MAGIC_LEN + CTL_AUTH_NONCE_LEN], more;
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    struct ctl_client *c = NULL;
    uint64_t id = 0;
    CHECK_EQ(start_tcp(&f, 0), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i <= CTL_SERVER_MAX_UNAUTHED; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fds[i] >= 0);
        CHECK_EQ(setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        CHECK_EQ(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        if (i < CTL_SERVER_MAX_UNAUTHED)
            CHECK_EQ(recv(fds[i], hello, sizeof(hello), MSG_WAITALL), (ssize_t)sizeof(hello));
    }
    /* The one over the cap is hung up on without a greeting. */
    CHECK_EQ(recv(fds[CTL_SERVER_MAX_UNAUTHED], &more, 1, 0), 0);
    CHECK_EQ(
        ctl_client_connect_tcp(&c, "127.0.0.1", (uint16_t)f.port, secret_good, sizeof(secret_good)),
        -ECONNRESET);
    /* Once the squatters go, a real client gets in. */
    for (int i = 0; i <= CTL_SERVER_MAX_UNAUTHED; i++)
        close(fds[i]);
    for (int tries = 0; tries < 50; tries++) {
        if (ctl_client_connect_tcp(&c, "127.0.0.1", (uint16_t)f.port, secret_good,
                                   sizeof(secret_good)) == 0)
            break;
        c = NULL;
        usleep(20000);
    }
    CHECK(c != NULL);
    CHECK_EQ(call_create_room(c, "after-squatters", &id), 0);
    ctl_client_free(c);
    CHECK_EQ(fix_wait(&f, &f.closes, 1), 0);
    CHECK_EQ(fix_stop(&f), 0);
    return 0;
}

static int test_tcp_non_loopback_refused(void)
{
    static const char *hosts[] = {"192.0.2.1", "0.0.0.0", "::", "10.0.0.1", "localhost", ""};
    uv_loop_t loop;
    CHECK_EQ(uv_loop_init(&loop), 0);
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct ctl_server *s = NULL;
        struct ctl_server_cfg cfg = {
            .tcp_host = hosts[i], .secret = secret_good, .secret_len = sizeof(secret_good)};
        CHECK_EQ(ctl_server_new(&s, &loop, &cfg, &test_cbs, NULL), -EINVAL);
        CHECK(s == NULL);
    }
    /* Loopback, but without a (long enough) secret. */
    struct ctl_server *s = NULL;
    struct ctl_server_cfg cfg = {.tcp_host = "127.0.0.1"};
    CHECK_EQ(ctl_server_new(&s, &loop, &cfg, &test_cbs, NULL), -EINVAL);
    cfg.secret = secret_good;
    cfg.secret_len = 8;
    CHECK_EQ(ctl_server_new(&s, &loop, &cfg, &test_cbs, NULL), -EINVAL);
    /* No listener at all. */
    struct ctl_server_cfg none = {0};
    CHECK_EQ(ctl_server_new(&s, &loop, &none, &test_cbs, NULL), -EINVAL);
    CHECK(s == NULL);
    CHECK_EQ(uv_loop_close(&loop), 0);
    return 0;
}

static const struct test_case cases[] = {
    {"unix_socket_mode_0600", test_unix_socket_mode_0600},
    {"unix_request_reply", test_unix_request_reply},
    {"unix_conn_close_on_disconnect", test_unix_conn_close_on_disconnect},
    {"unix_too_large_then_ok", test_unix_too_large_then_ok},
    {"unix_garbage_bad_message", test_unix_garbage_bad_message},
    {"unix_response_body_unknown_request", test_unix_response_body_unknown_request},
    {"unix_unknown_field_unknown_request", test_unix_unknown_field_unknown_request},
    {"unix_bad_input_isolated", test_unix_bad_input_isolated},
    {"unix_stuck_peer_closed", test_unix_stuck_peer_closed},
    {"unix_stale_socket_replaced", test_unix_stale_socket_replaced},
    {"unix_regular_file_not_replaced", test_unix_regular_file_not_replaced},
    {"tcp_right_secret", test_tcp_right_secret},
    {"tcp_unauthenticated_capped", test_tcp_unauthenticated_capped},
    {"tcp_wrong_secret_closed", test_tcp_wrong_secret_closed},
    {"tcp_fake_server_refused", test_tcp_fake_server_refused},
    {"tcp_handshake_timeout", test_tcp_handshake_timeout},
    {"tcp_non_loopback_refused", test_tcp_non_loopback_refused},
};

TEST_MAIN(cases)
