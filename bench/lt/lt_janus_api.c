/* The janus target's API client: one Janus session over the HTTP REST transport (libcurl,
 * jansson), requests from the bench's control thread, and a long-poll thread that receives
 * the session's events, hands each to the request waiting for it and to its handle's
 * callback, and keeps the session alive. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <glib.h>

#include "lt_janus_priv.h"

#define REQ_TIMEOUT_MS     10000
#define POLL_TIMEOUT_MS    45000 /* Janus answers an idle long-poll with a keepalive after 30 s */
#define POLL_MAXEV         32
#define KEEPALIVE_EVERY_MS 25000 /* session_timeout is 60 s */

struct jn_waiter {
    char txn[JN_TXN_LEN];
    json_t *ev; /* owned; set by the poll thread */
    struct jn_waiter *next;
};

struct jn_handle_reg {
    uint64_t id;
    jn_event_cb cb;
    void *arg;     /* borrowed */
    unsigned busy; /* callbacks running on the poll thread */
    struct jn_handle_reg *next;
};

struct jn_api {
    char base[96];         /* http://127.0.0.1:PORT/janus */
    char session_url[128]; /* base/SESSION */
    uint64_t session;
    CURL *ctl;  /* owned: the control thread's connection */
    CURL *poll; /* owned: the poll thread's connection, for its GETs and POSTs */
    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    atomic_uint txn_next;

    pthread_mutex_t mu; /* guards the lists below */
    pthread_cond_t cv;
    struct jn_waiter *waiters;     /* borrowed: they live on the waiting threads' stacks */
    struct jn_handle_reg *handles; /* owned */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    /* Not thread-safe in libcurl, so exactly once for the process. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void deadline_ts(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* --- HTTP ------------------------------------------------------------------------------------ */

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
    g_string_append_len(arg, p, (gssize)(sz * n));
    return sz * n;
}

static int abort_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    /* Lets jn_api_free end a long-poll within a second instead of waiting for Janus. */
    return atomic_load(&((struct jn_api *)arg)->stopping) ? 1 : 0;
}

/* One request on conn: POST post (a JSON text) or GET when post is NULL. *out: the reply. */
static int http_do(struct jn_api *a, CURL *conn, const char *url, const char *post, long timeout_ms,
                   json_t **out, char *err, size_t errlen)
{
    GString *body = g_string_new(NULL);
    curl_easy_reset(conn);
    curl_easy_setopt(conn, CURLOPT_URL, url);
    curl_easy_setopt(conn, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(conn, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(conn, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(conn, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(conn, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(conn, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(conn, CURLOPT_XFERINFOFUNCTION, abort_cb);
    curl_easy_setopt(conn, CURLOPT_XFERINFODATA, a);
    struct curl_slist *hdrs = NULL;
    if (post) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(conn, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(conn, CURLOPT_POSTFIELDS, post);
    }
    int rc = 0;
    CURLcode cc = curl_easy_perform(conn);
    long code = 0;
    curl_easy_getinfo(conn, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        lt_errf(err, errlen, "janus: HTTP %s %s: %s", post ? "POST" : "GET", url,
                curl_easy_strerror(cc));
        rc = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
        goto out;
    }
    if (code != 200) {
        lt_errf(err, errlen, "janus: HTTP %s %s: status %ld", post ? "POST" : "GET", url, code);
        rc = -EIO;
        goto out;
    }
    json_error_t jerr;
    *out = json_loadb(body->str, body->len, 0, &jerr);
    if (!*out) {
        lt_errf(err, errlen, "janus: %s: bad JSON (%s)", url, jerr.text);
        rc = -EPROTO;
    }
out:
    curl_slist_free_all(hdrs);
    g_string_free(body, TRUE);
    return rc;
}

/* POSTs msg (stolen) with a fresh transaction to url; checks the reply is not a Janus error. */
static int post_json(struct jn_api *a, CURL *conn, const char *url, json_t *msg, char *txn,
                     json_t **reply, char *err, size_t errlen)
{
    char t[JN_TXN_LEN];
    if (!txn)
        txn = t;
    snprintf(txn, JN_TXN_LEN, "lt%u", atomic_fetch_add(&a->txn_next, 1));
    json_object_set_new(msg, "transaction", json_string(txn));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    json_t *r = NULL;
    int rc = http_do(a, conn, url, text, REQ_TIMEOUT_MS, &r, err, errlen);
    free(text);
    if (rc < 0)
        return rc;
    const char *kind = json_string_value(json_object_get(r, "janus"));
    if (!kind || strcmp(kind, "error") == 0) {
        json_t *e = json_object_get(r, "error");
        lt_errf(err, errlen, "janus: %s: error %" JSON_INTEGER_FORMAT " %s", url,
                json_integer_value(json_object_get(e, "code")),
                jn_str_or(json_string_value(json_object_get(e, "reason")), "(no reason)"));
        json_decref(r);
        return -EPROTO;
    }
    *reply = r;
    return 0;
}

json_t *jn_msg_data(json_t *msg)
{
    return json_object_get(json_object_get(msg, "plugindata"), "data");
}

/* A plugin's error inside data, as -EPROTO and text. */
static int plugin_error(json_t *data, const char *what, char *err, size_t errlen)
{
    json_t *code = json_object_get(data, "error_code");
    if (!code)
        return 0;
    lt_errf(err, errlen, "janus: %s: videoroom error %" JSON_INTEGER_FORMAT ": %s", what,
            json_integer_value(code),
            jn_str_or(json_string_value(json_object_get(data, "error")), "?"));
    return -EPROTO;
}

/* --- the long-poll thread ------------------------------------------------------------------- */

static void dispatch(struct jn_api *a, json_t *msg)
{
    const char *txn = json_string_value(json_object_get(msg, "transaction"));
    uint64_t sender = (uint64_t)json_integer_value(json_object_get(msg, "sender"));
    pthread_mutex_lock(&a->mu);
    if (txn) {
        for (struct jn_waiter *w = a->waiters; w; w = w->next)
            if (strcmp(w->txn, txn) == 0 && !w->ev) {
                w->ev = json_incref(msg);
                pthread_cond_broadcast(&a->cv);
                break;
            }
    }
    struct jn_handle_reg *h = a->handles;
    while (h && h->id != sender)
        h = h->next;
    if (!h || !h->cb) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    /* The callback runs unlocked (it may POST); busy keeps jn_api_detach from returning, and so
     * its owner from freeing arg, until it is done. */
    h->busy++;
    pthread_mutex_unlock(&a->mu);
    h->cb(h->arg, msg);
    pthread_mutex_lock(&a->mu);
    h->busy--;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void *poll_main(void *arg)
{
    struct jn_api *a = arg;
    char url[192], err[LT_ERR_LEN];
    uint64_t last_keepalive = lt_now_ms();
    unsigned rid = 0;
    while (!atomic_load(&a->stopping)) {
        snprintf(url, sizeof(url), "%s?maxev=%d&rid=%u", a->session_url, POLL_MAXEV, rid++);
        json_t *r = NULL;
        int rc = http_do(a, a->poll, url, NULL, POLL_TIMEOUT_MS, &r, err, sizeof(err));
        if (rc < 0) {
            if (!atomic_load(&a->stopping))
                usleep(100 * 1000); /* Janus gone or busy: do not spin */
            continue;
        }
        if (json_is_array(r)) {
            for (size_t i = 0; i < json_array_size(r); i++)
                dispatch(a, json_array_get(r, i));
        } else {
            dispatch(a, r);
        }
        json_decref(r);
        /* Any request counts as activity for Janus; an explicit keepalive does not depend on
         * how the transport treats long-polls. */
        if (lt_now_ms() - last_keepalive >= KEEPALIVE_EVERY_MS && !atomic_load(&a->stopping)) {
            json_t *rep = NULL;
            if (post_json(a, a->poll, a->session_url, json_pack("{s:s}", "janus", "keepalive"),
                          NULL, &rep, err, sizeof(err)) == 0)
                json_decref(rep);
            last_keepalive = lt_now_ms();
        }
    }
    return NULL;
}

/* --- public ---------------------------------------------------------------------------------- */

int jn_api_new(struct jn_api **out, const char *base_url, char *err, size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    struct jn_api *a = calloc(1, sizeof(*a));
    if (!a) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    int rc;
    snprintf(a->base, sizeof(a->base), "%s", base_url);
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    a->ctl = curl_easy_init();
    a->poll = curl_easy_init();
    if (!a->ctl || !a->poll) {
        lt_errf(err, errlen, "janus: curl_easy_init failed");
        rc = -ENOMEM;
        goto fail;
    }
    json_t *r = NULL;
    rc =
        post_json(a, a->ctl, a->base, json_pack("{s:s}", "janus", "create"), NULL, &r, err, errlen);
    if (rc < 0)
        goto fail;
    a->session = (uint64_t)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    if (a->session == 0) {
        lt_errf(err, errlen, "janus: create session: no id in the reply");
        rc = -EPROTO;
        goto fail;
    }
    snprintf(a->session_url, sizeof(a->session_url), "%s/%" PRIu64, a->base, a->session);
    if (pthread_create(&a->thread, NULL, poll_main, a) != 0) {
        lt_errf(err, errlen, "janus: cannot start the long-poll thread");
        rc = -EIO;
        goto fail;
    }
    a->thread_started = true;
    *out = a;
    return 0;
fail:
    jn_api_free(a);
    return rc;
}

void jn_api_free(struct jn_api *a)
{
    if (!a)
        return;
    char err[LT_ERR_LEN];
    if (a->session) {
        json_t *r = NULL;
        if (post_json(a, a->ctl, a->session_url, json_pack("{s:s}", "janus", "destroy"), NULL, &r,
                      err, sizeof(err)) == 0)
            json_decref(r);
    }
    atomic_store(&a->stopping, true);
    if (a->thread_started)
        pthread_join(a->thread, NULL);
    struct jn_handle_reg *h = a->handles;
    while (h) {
        struct jn_handle_reg *next = h->next;
        free(h);
        h = next;
    }
    if (a->ctl)
        curl_easy_cleanup(a->ctl);
    if (a->poll)
        curl_easy_cleanup(a->poll);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int jn_api_attach(struct jn_api *a, jn_event_cb cb, void *arg, uint64_t *handle, char *err,
                  size_t errlen)
{
    struct jn_handle_reg *h = calloc(1, sizeof(*h));
    if (!h) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    json_t *r = NULL;
    int rc =
        post_json(a, a->ctl, a->session_url,
                  json_pack("{s:s,s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom"),
                  NULL, &r, err, errlen);
    if (rc < 0) {
        free(h);
        return rc;
    }
    h->id = (uint64_t)json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
    json_decref(r);
    if (h->id == 0) {
        free(h);
        lt_errf(err, errlen, "janus: attach: no handle id in the reply");
        return -EPROTO;
    }
    h->cb = cb;
    h->arg = arg;
    /* Registered before anything is sent on the handle, so no event of it goes unseen; *handle
     * is written first, so the callback (which takes the lock) sees it. */
    *handle = h->id;
    pthread_mutex_lock(&a->mu);
    h->next = a->handles;
    a->handles = h;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void jn_api_detach(struct jn_api *a, uint64_t handle)
{
    pthread_mutex_lock(&a->mu);
    struct jn_handle_reg **pp = &a->handles;
    while (*pp && (*pp)->id != handle)
        pp = &(*pp)->next;
    struct jn_handle_reg *h = *pp;
    if (h) {
        *pp = h->next;
        while (h->busy > 0)
            pthread_cond_wait(&a->cv, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    free(h);

    char url[192], err[LT_ERR_LEN];
    snprintf(url, sizeof(url), "%s/%" PRIu64, a->session_url, handle);
    json_t *r = NULL;
    if (post_json(a, a->ctl, url, json_pack("{s:s}", "janus", "detach"), NULL, &r, err,
                  sizeof(err)) == 0)
        json_decref(r);
}

static json_t *message_new(json_t *body, json_t *jsep)
{
    json_t *m = json_pack("{s:s,s:o}", "janus", "message", "body", body);
    if (m && jsep)
        json_object_set_new(m, "jsep", jsep);
    else if (jsep)
        json_decref(jsep);
    return m;
}

int jn_api_sync(struct jn_api *a, uint64_t handle, json_t *body, json_t **data, char *err,
                size_t errlen)
{
    char url[192];
    snprintf(url, sizeof(url), "%s/%" PRIu64, a->session_url, handle);
    const char *what = json_string_value(json_object_get(body, "request"));
    char req[32];
    snprintf(req, sizeof(req), "%s", what ? what : "?");
    json_t *r = NULL;
    int rc = post_json(a, a->ctl, url, message_new(body, NULL), NULL, &r, err, errlen);
    if (rc < 0)
        return rc;
    json_t *d = jn_msg_data(r);
    rc = d ? plugin_error(d, req, err, errlen) : -EPROTO;
    if (!d)
        lt_errf(err, errlen, "janus: %s: no plugin data in the reply", req);
    if (rc == 0)
        *data = json_incref(d);
    json_decref(r);
    return rc;
}

int jn_api_send(struct jn_api *a, bool from_poll, uint64_t handle, json_t *body, json_t *jsep,
                char *txn, char *err, size_t errlen)
{
    char url[192];
    snprintf(url, sizeof(url), "%s/%" PRIu64, a->session_url, handle);
    json_t *r = NULL;
    int rc = post_json(a, from_poll ? a->poll : a->ctl, url, message_new(body, jsep), txn, &r, err,
                       errlen);
    if (rc < 0)
        return rc;
    /* Asynchronous requests are acked; a synchronous error (bad request) comes back at once. */
    json_t *d = jn_msg_data(r);
    if (d)
        rc = plugin_error(d, "request", err, errlen);
    json_decref(r);
    return rc;
}

int jn_api_call(struct jn_api *a, uint64_t handle, json_t *body, json_t *jsep, int timeout_ms,
                json_t **ev, char *err, size_t errlen)
{
    char req[32];
    const char *what = json_string_value(json_object_get(body, "request"));
    snprintf(req, sizeof(req), "%s", what ? what : "?");
    struct jn_waiter w = {0};
    char url[192];
    snprintf(url, sizeof(url), "%s/%" PRIu64, a->session_url, handle);

    /* The transaction is known before the POST and the waiter listed, because the event may
     * reach the poll thread before the POST returns its ack. */
    snprintf(w.txn, sizeof(w.txn), "lt%u", atomic_fetch_add(&a->txn_next, 1));
    json_t *m = message_new(body, jsep);
    json_object_set_new(m, "transaction", json_string(w.txn));
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!text) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&a->mu);
    w.next = a->waiters;
    a->waiters = &w;
    pthread_mutex_unlock(&a->mu);

    json_t *r = NULL;
    int rc = http_do(a, a->ctl, url, text, REQ_TIMEOUT_MS, &r, err, errlen);
    free(text);
    if (rc == 0) {
        const char *kind = json_string_value(json_object_get(r, "janus"));
        if (kind && strcmp(kind, "error") == 0) {
            lt_errf(
                err, errlen, "janus: %s: error %s", req,
                jn_str_or(json_string_value(json_object_get(json_object_get(r, "error"), "reason")),
                          "?"));
            rc = -EPROTO;
        } else if (jn_msg_data(r)) {
            /* Answered synchronously (a plugin error for a malformed request). */
            rc = plugin_error(jn_msg_data(r), req, err, errlen);
            if (rc == 0) {
                lt_errf(err, errlen, "janus: %s: unexpected synchronous answer", req);
                rc = -EPROTO;
            }
        }
        json_decref(r);
    }

    struct timespec dl;
    deadline_ts(&dl, timeout_ms);
    pthread_mutex_lock(&a->mu);
    while (rc == 0 && !w.ev)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &dl) == ETIMEDOUT && !w.ev) {
            lt_errf(err, errlen, "janus: %s: no event within %d ms", req, timeout_ms);
            rc = -ETIMEDOUT;
        }
    struct jn_waiter **pp = &a->waiters;
    while (*pp != &w)
        pp = &(*pp)->next;
    *pp = w.next;
    pthread_mutex_unlock(&a->mu);

    if (rc == 0)
        rc = plugin_error(jn_msg_data(w.ev), req, err, errlen);
    if (rc == 0)
        *ev = w.ev;
    else
        json_decref(w.ev);
    return rc;
}
