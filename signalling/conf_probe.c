/* The pre-call connection test (PROTOCOL.md `probe`): before joining, a browser whose link is
 * valid gets a short-lived transport on the SFU to measure its round-trip time and loss against.
 * Each probe has an SFU room of its own ("probe-" and 32 random hex digits, never a
 * consultation's room id, which starts with 'r') holding its one transport and one producer and
 * never a consumer: nobody's media reaches a probe, and a probe's media reaches nobody. The room
 * is closed after PROBE_TTL_MS, when the socket joins, asks for another probe or goes, and when
 * signalling stops (then by the SFU's grace timer, or by the next signalling process, which
 * closes rooms it does not know). */
#include "conf_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "link.h"
#include "sfu_link.h"
#include "token.h"

#define TAG "probe"

/* Long enough for a direct try that fails (the browser gives it a few seconds), a try through
 * TURN and a few seconds of measuring; short enough that a forgotten page costs nothing. */
#define PROBE_TTL_MS 15000
/* Per socket: a direct try, a try through TURN, and two "check again". */
#define PROBE_PER_SOCKET 4
/* Across the service, each being an SFU room: a flood of sockets cannot fill the SFU. */
#define PROBE_MAX_LIVE 64

enum probe_step { STEP_ROOM, STEP_TRANSPORT, STEP_CONNECT, STEP_PRODUCE };

struct conf_probe {
    struct list node; /* in hub->probes */
    uv_timer_t timer;
    bool timer_on;
    struct conf_hub *hub;   /* borrowed */
    struct conf_conn *conn; /* borrowed; NULL once the probe ended */
    uint64_t uid;           /* SFU answers find the probe again by it */
    char room_id[STORE_ID_MAX + 1];
    char participant[STORE_ID_MAX + 1]; /* the link's, for TURN credentials */
    struct sdp_publish *offer;          /* owned until answered */
    char *answer;                       /* owned: the SDP answer, sent once Produce is done */
    int64_t re;
    int pending; /* ConnectTransport and Produce answers still to come */
};

/* One SFU request in flight. */
struct probe_op {
    struct conf_hub *hub;
    uint64_t uid;
    enum probe_step step;
};

static struct conf_probe *probe_find(struct conf_hub *h, uint64_t uid)
{
    struct list *pos;
    list_for_each(pos, &h->probes)
    {
        struct conf_probe *p = list_entry(pos, struct conf_probe, node);
        if (p->uid == uid)
            return p;
    }
    return NULL;
}

static void probe_freed(uv_handle_t *t)
{
    free(t->data);
}

/* Ends p: its room is closed on the SFU (which closes its transport and producer with it), it
 * leaves the hub, and it is freed once its timer has closed. */
static void probe_free(struct conf_probe *p)
{
    struct conf_hub *h = p->hub;
    if (p->conn)
        p->conn->probe = NULL;
    p->conn = NULL;
    /* Sent even when CreateRoom is still unanswered: the control link keeps requests in order,
     * so the room is made and then closed. Refused when the hub is stopping. */
    conf__close_room(h, p->room_id);
    list_remove(&p->node);
    h->n_probes--;
    free(p->offer);
    free(p->answer);
    p->offer = NULL;
    p->answer = NULL;
    if (p->timer_on) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, probe_freed);
    } else {
        free(p);
    }
}

static void probe_fail(struct conf_probe *p, const char *code, const char *message)
{
    if (p->conn)
        conf__send_error(p->conn, code, message, p->re);
    probe_free(p);
}

static void probe_answered(void *arg, int status, const Sfu__Envelope *resp);

static int probe_call(struct conf_probe *p, Sfu__Envelope *env, enum probe_step step)
{
    struct conf_hub *h = p->hub;
    if (h->stopping)
        return -ECANCELED;
    if (!h->p.link)
        return -ENOTCONN;
    struct probe_op *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->hub = h;
    o->uid = p->uid;
    o->step = step;
    int rc = sfu_link_call(h->p.link, env, probe_answered, o);
    if (rc < 0)
        free(o);
    return rc;
}

static void probe_expired(uv_timer_t *t)
{
    struct conf_probe *p = t->data;
    if (p->conn)
        conf__send(p->conn, json_pack("{s:s, s:s}", "type", "probe_ended", "reason", "expired"));
    probe_free(p);
}

static void create_transport(struct conf_probe *p)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateTransportRequest req = SFU__CREATE_TRANSPORT_REQUEST__INIT;
    req.room_id = p->room_id;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_TRANSPORT;
    env.create_transport = &req;
    if (probe_call(p, &env, STEP_TRANSPORT) < 0)
        probe_fail(p, "unavailable", "the media server is not available");
}

/* The transport exists: the answer is written now (the response is only borrowed), and sent
 * once the browser's fingerprint is set and its one track has a producer to receive it, so
 * that the SFU reports on what arrives (receiver reports carry the loss the browser reads). */
static void transport_made(struct conf_probe *p, const Sfu__CreateTransportResponse *tr)
{
    struct sdp_transport t;
    if (sdp_transport_from_pb(&t, tr) < 0 || sdp_answer_build(p->offer, &t, &p->answer) < 0) {
        probe_fail(p, "internal", "the answer could not be built");
        return;
    }
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConnectTransportRequest cr = SFU__CONNECT_TRANSPORT_REQUEST__INIT;
    Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
    fp.algorithm = "sha-256";
    fp.value = p->offer->fingerprint;
    cr.room_id = p->room_id;
    cr.transport_id = tr->transport_id;
    cr.fingerprint = &fp;
    env.body_case = SFU__ENVELOPE__BODY_CONNECT_TRANSPORT;
    env.connect_transport = &cr;
    if (probe_call(p, &env, STEP_CONNECT) < 0) {
        probe_fail(p, "unavailable", "the media server is not available");
        return;
    }
    p->pending = 1;
    for (size_t i = 0; i < p->offer->n_media; i++) {
        struct sdp_media *m = &p->offer->media[i];
        if (!m->publish)
            continue;
        struct sdp_rtp_view v;
        Sfu__Envelope penv = SFU__ENVELOPE__INIT;
        Sfu__ProduceRequest req = SFU__PRODUCE_REQUEST__INIT;
        sdp_rtp_view_fill(&v, m);
        req.room_id = p->room_id;
        req.transport_id = tr->transport_id;
        req.kind = m->kind;
        req.rtp = &v.rtp;
        penv.body_case = SFU__ENVELOPE__BODY_PRODUCE;
        penv.produce = &req;
        if (probe_call(p, &penv, STEP_PRODUCE) < 0) {
            probe_fail(p, "unavailable", "the media server is not available");
            return;
        }
        p->pending++;
    }
}

static void answer_send(struct conf_probe *p)
{
    json_t *msg =
        json_pack("{s:s, s:s, s:o, s:i}", "type", "probe", "sdp", p->answer, "ice_servers",
                  conf__ice_servers(p->hub, p->participant), "ttl", PROBE_TTL_MS / 1000);
    if (msg && p->re >= 0)
        json_object_set_new(msg, "re", json_integer(p->re));
    conf__send(p->conn, msg);
    free(p->offer);
    free(p->answer);
    p->offer = NULL;
    p->answer = NULL;
}

static void probe_answered(void *arg, int status, const Sfu__Envelope *resp)
{
    struct probe_op *o = arg;
    struct conf_probe *p = probe_find(o->hub, o->uid);
    enum probe_step step = o->step;
    free(o);
    if (!p || !p->conn)
        return; /* ended meanwhile: its room is closed, and whatever this made with it */
    bool ok = false;
    if (status == 0) {
        switch (step) {
        case STEP_ROOM:
        case STEP_CONNECT:
            ok = resp->body_case == SFU__ENVELOPE__BODY_OK;
            break;
        case STEP_TRANSPORT:
            ok = resp->body_case == SFU__ENVELOPE__BODY_TRANSPORT_CREATED;
            break;
        case STEP_PRODUCE:
            ok = resp->body_case == SFU__ENVELOPE__BODY_PRODUCED;
            break;
        }
    }
    if (!ok) {
        log_warn(TAG, "a connection test failed at step %d: %s", (int)step,
                 status < 0 ? "no answer" : conf__sfu_error(resp));
        if (step == STEP_PRODUCE)
            probe_fail(p, "bad_sdp", "the media server refused the test's track");
        else
            probe_fail(p, "unavailable", "the media server is not available");
        return;
    }
    switch (step) {
    case STEP_ROOM:
        create_transport(p);
        break;
    case STEP_TRANSPORT:
        transport_made(p, resp->transport_created);
        break;
    case STEP_CONNECT:
    case STEP_PRODUCE:
        if (--p->pending == 0)
            answer_send(p);
        break;
    }
}

/* Checks what the browser sent before anything is made. Returns 0 with the parsed offer in
 * *offer (the caller's), or -1 after answering the error. */
static int probe_check(struct conf_conn *c, const char *token, const char *sdp, size_t sdp_len,
                       int64_t re, struct link_info *info, struct sdp_publish **offer)
{
    struct conf_hub *h = c->hub;
    char err[256];
    if (c->room) {
        conf__send_error(c, "already_joined", "a connection test is for before joining", re);
        return -1;
    }
    if (c->probes >= PROBE_PER_SOCKET) {
        conf__send_error(c, "rate_limited", "too many connection tests on this connection", re);
        return -1;
    }
    c->probes++;
    if (!c->session[0]) {
        conf__send_error(c, "no_session", "the connection came without the session cookie", re);
        return -1;
    }
    /* As join checks it, but without using the link: a test must not bind a single-use link
     * to this browser, and a link bound to another browser gets no test (nor TURN credentials). */
    int rc = link_check(h->p.token_secret, h->p.token_secret_len, h->p.store, token, strlen(token),
                        c->session, conf__now(h), info);
    if (rc < 0) {
        struct link_error e = link_error_of(rc);
        conf__send_error(c, e.code, e.message, re);
        return -1;
    }
    if (h->n_probes - (c->probe != NULL) >= PROBE_MAX_LIVE) { /* c's own is replaced */
        conf__send_error(c, "busy", "too many connection tests are running; try again later", re);
        return -1;
    }
    struct sdp_publish *o = malloc(sizeof(*o));
    if (!o) {
        conf__send_error(c, "internal", "out of memory", re);
        return -1;
    }
    if (sdp_offer_parse(sdp, sdp_len, o, err, sizeof(err)) < 0) {
        conf__send_error(c, "bad_sdp", err, re);
        free(o);
        return -1;
    }
    size_t n_pub = 0;
    for (size_t i = 0; i < o->n_media; i++)
        n_pub += o->media[i].publish;
    if (n_pub != 1) {
        conf__send_error(c, "bad_sdp", "a connection test sends exactly one track", re);
        free(o);
        return -1;
    }
    *offer = o;
    return 0;
}

void conf__on_probe(struct conf_conn *c, const char *token, const char *sdp, size_t sdp_len,
                    int64_t re)
{
    struct conf_hub *h = c->hub;
    struct link_info info;
    struct sdp_publish *offer = NULL;
    char rid[TOKEN_ID_LEN + 1];
    /* A refused test leaves the one running alone; an accepted one replaces it (the retry
     * through TURN). */
    if (probe_check(c, token, sdp, sdp_len, re, &info, &offer) < 0)
        return;
    conf__probe_end(c);
    struct conf_probe *p = calloc(1, sizeof(*p));
    if (!p || token_id_new(rid) < 0) {
        free(p);
        free(offer);
        conf__send_error(c, "internal", "out of memory", re);
        return;
    }
    p->hub = h;
    p->conn = c;
    p->uid = ++h->next_uid;
    p->re = re;
    p->offer = offer;
    snprintf(p->room_id, sizeof(p->room_id), "probe-%s", rid);
    snprintf(p->participant, sizeof(p->participant), "%s", info.claims.jti);
    list_insert_tail(&h->probes, &p->node);
    h->n_probes++;
    c->probe = p;
    if (h->p.loop) {
        uv_timer_init(h->p.loop, &p->timer);
        p->timer.data = p;
        p->timer_on = true;
        uv_timer_start(&p->timer, probe_expired, PROBE_TTL_MS, 0);
    }

    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = p->room_id;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    if (probe_call(p, &env, STEP_ROOM) < 0)
        probe_fail(p, "unavailable", "the media server is not available");
}

void conf__probe_end(struct conf_conn *c)
{
    if (c->probe)
        probe_free(c->probe);
}

void conf__probes_stop(struct conf_hub *h)
{
    while (!list_empty(&h->probes))
        probe_free(list_entry(h->probes.next, struct conf_probe, node));
}
