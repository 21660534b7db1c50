/* The invitation sender: libcurl's multi interface on the libuv loop, one job per invitation
 * (a timer for its next attempt, an easy handle while an attempt runs), the outcome of each
 * attempt written to the store. Logs name the invitation and its channel, never where it goes. */
#include "invite_send.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "config.h"
#include "core/list.h"
#include "core/log.h"
#include "invite.h"
#include "store.h"
#include "token.h"

#define TAG             "invite"
#define NOTIFY_SMS_PATH "/v2/notifications/sms"
#define LINK_MAX        (SIG_CONFIG_URL_MAX + sizeof("/join/") + TOKEN_SIGNED_MAX)

struct invite_sender {
    struct invite_sender_params p; /* borrowed members */
    CURLM *multi;                  /* owned */
    uv_timer_t timer;              /* curl's timeout */
    struct list jobs;              /* struct job, owned */
    struct list socks;             /* struct sock, owned: polled sockets */
    bool stopping;
};

/* One polled socket of curl's; freed from its close callback. */
struct sock {
    struct list node;
    uv_poll_t poll;
    struct invite_sender *s; /* borrowed */
    curl_socket_t fd;
    bool closing;
};

/* One invitation being handled; freed from its timer's close callback. */
struct job {
    struct list node;
    struct invite_sender *s; /* borrowed */
    char id[STORE_ID_MAX + 1];
    enum invite_channel channel;
    uv_timer_t timer;                  /* the wait before the next attempt */
    CURL *easy;                        /* owned, during an attempt */
    struct curl_slist *headers, *rcpt; /* owned, during an attempt */
    char *body; /* owned: the JSON or the message (it holds the link: wiped) */
    size_t body_len, body_off;
    bool closing;
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- outcomes ---- */

enum invite_outcome invite_send__classify(int curl_result, long response, int sms, char *code,
                                          size_t cap)
{
    code[0] = '\0';
    if (sms && curl_result == CURLE_OK) {
        if (response >= 200 && response <= 299)
            return INVITE_OUTCOME_SENT;
        snprintf(code, cap, "http_%ld", response);
        /* Notify: 429 is its rate limit, 5xx its own trouble; 400 (a bad number, a bad
         * template), 403 (a bad key) and the rest will fail the same way next time. */
        return response == 429 || (response >= 500 && response <= 599) ? INVITE_OUTCOME_RETRY
                                                                       : INVITE_OUTCOME_FAILED;
    }
    if (!sms) {
        if (curl_result == CURLE_OK)
            return INVITE_OUTCOME_SENT;
        /* The relay said why: 4xx is "try again later" (greylisting, a full queue), 5xx is
         * "never" (no such mailbox, relaying refused, authentication refused). */
        if (response >= 400 && response <= 599) {
            snprintf(code, cap, "smtp_%ld", response);
            return response < 500 ? INVITE_OUTCOME_RETRY : INVITE_OUTCOME_FAILED;
        }
        if (curl_result == CURLE_USE_SSL_FAILED) {
            snprintf(code, cap, "no_starttls");
            return INVITE_OUTCOME_FAILED;
        }
        if (curl_result == CURLE_LOGIN_DENIED) {
            snprintf(code, cap, "auth");
            return INVITE_OUTCOME_FAILED;
        }
    }
    switch (curl_result) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(code, cap, "timeout");
        return INVITE_OUTCOME_RETRY;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(code, cap, "connect");
        return INVITE_OUTCOME_RETRY;
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(code, cap, "tls");
        return INVITE_OUTCOME_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        /* The server's certificate is not trusted: a configuration matter, and sending the
         * message to an unverified server would be worse than not sending it. */
        snprintf(code, cap, "tls_verify");
        return INVITE_OUTCOME_FAILED;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        snprintf(code, cap, "config");
        return INVITE_OUTCOME_FAILED;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        snprintf(code, cap, "network");
        return INVITE_OUTCOME_RETRY;
    default:
        /* Anything else may pass: the attempts are bounded anyway. */
        snprintf(code, cap, "curl_%d", curl_result);
        return INVITE_OUTCOME_RETRY;
    }
}

uint64_t invite_send__delay_ms(uint32_t base_ms, int attempts)
{
    int shift = attempts <= 1 ? 0 : attempts - 1;
    if (shift > 20)
        shift = 20;
    return (uint64_t)base_ms << shift;
}

/* ---- jobs ---- */

static void job_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Ends the attempt under way, if any: curl lets go of the handle, and what the request held
 * (the destination, the link) is wiped. */
static void job_attempt_end(struct job *j)
{
    if (j->easy != NULL) {
        if (j->s->multi != NULL)
            curl_multi_remove_handle(j->s->multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    curl_slist_free_all(j->headers);
    curl_slist_free_all(j->rcpt);
    j->headers = j->rcpt = NULL;
    if (j->body != NULL) {
        OPENSSL_cleanse(j->body, j->body_len);
        free(j->body);
        j->body = NULL;
    }
    j->body_len = j->body_off = 0;
}

static void job_free(struct job *j)
{
    if (j->closing)
        return;
    j->closing = true;
    job_attempt_end(j);
    list_remove(&j->node);
    uv_timer_stop(&j->timer);
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

static struct job *job_find(struct invite_sender *s, const char *id)
{
    struct list *pos;
    list_for_each(pos, &s->jobs)
    {
        struct job *j = list_entry(pos, struct job, node);
        if (strcmp(j->id, id) == 0)
            return j;
    }
    return NULL;
}

/* Records a finished invitation: no destination kept, an audit row, a line in the log. */
static void job_finish(struct job *j, struct store_invitation *inv, bool sent, const char *code)
{
    struct store *st = j->s->p.store;
    char detail[STORE_DETAIL_MAX + 1];
    int64_t now = now_s();

    snprintf(inv->status, sizeof(inv->status), "%s", sent ? "sent" : "failed");
    /* A sent invitation keeps the error of the attempt before, if any: it tells why it took
     * more than one. */
    if (code != NULL)
        snprintf(inv->last_error, sizeof(inv->last_error), "%s", code);
    OPENSSL_cleanse(inv->destination, sizeof(inv->destination));
    inv->updated_at = inv->next_at = now;
    if (sent)
        snprintf(detail, sizeof(detail), "invitation=%s channel=%s attempts=%d", inv->id,
                 inv->channel, inv->attempts);
    else
        snprintf(detail, sizeof(detail), "invitation=%s channel=%s attempts=%d error=%s", inv->id,
                 inv->channel, inv->attempts, inv->last_error);
    /* The outcome and its audit row together, or neither (then the invitation stays pending
     * and a restart tries it again). */
    int err = store_tx_begin(st);
    if (err == 0)
        err = store_invitation_update(st, inv);
    if (err == 0)
        err = store_audit(st, now, inv->consultation_id, "system",
                          sent ? "invite_sent" : "invite_failed", detail);
    if (err == 0)
        err = store_tx_commit(st);
    if (err < 0) {
        log_error(TAG, "invitation %s: cannot record it %s: %s", j->id, inv->status,
                  store_errmsg(st));
        store_tx_rollback(st);
    }
    /* The destination was overwritten in the database (secure_delete); the write-ahead log
     * still holds the page as it was until a checkpoint. */
    if (store_checkpoint(st) < 0)
        log_debug(TAG, "checkpoint after invitation %s: %s", j->id, store_errmsg(st));
    if (sent)
        log_info(TAG, "invitation %s (%s) sent, attempt %d", j->id, inv->channel, inv->attempts);
    else
        log_warn(TAG, "invitation %s (%s) failed after %d attempt(s): %s", j->id, inv->channel,
                 inv->attempts, inv->last_error);
    job_free(j);
}

static void on_job_timer(uv_timer_t *t);

/* ---- making an attempt ---- */

static size_t on_response(char *data, size_t size, size_t n, void *arg)
{
    /* Read and dropped: Notify's answer names the notification, which nothing needs, and
     * echoes the message, which must not be kept. Its length is bounded by the timeout. */
    return size * n;
}

static size_t on_upload(char *buf, size_t size, size_t n, void *arg)
{
    struct job *j = arg;
    size_t want = size * n, left = j->body_len - j->body_off;
    if (want > left)
        want = left;
    memcpy(buf, j->body + j->body_off, want);
    j->body_off += want;
    return want;
}

static enum token_role role_of(const char *name)
{
    for (int r = TOKEN_ROLE_HOST; r <= TOKEN_ROLE_OBSERVER; r++) {
        if (strcmp(token_role_name((enum token_role)r), name) == 0)
            return (enum token_role)r;
    }
    return 0;
}

/* The link, signed again as api.c first signed it: same token id, role, expiry and issue time,
 * so it is the same link (HS256 is deterministic). The store never holds a link. */
static int link_make(struct invite_sender *s, const struct store_invitation *inv, char *out,
                     size_t cap, const char **code)
{
    struct store_token row;
    struct token_claims c;
    char tok[TOKEN_SIGNED_MAX];
    int err = store_token_get(s->p.store, inv->participant_id, &row, NULL);
    if (err < 0) {
        *code = "internal";
        return err;
    }
    memset(&c, 0, sizeof(c));
    if (strlen(inv->participant_id) != TOKEN_ID_LEN ||
        strlen(inv->consultation_id) > TOKEN_CONSULTATION_MAX) {
        *code = "internal";
        return -EINVAL;
    }
    memcpy(c.consultation, inv->consultation_id, strlen(inv->consultation_id) + 1);
    memcpy(c.jti, inv->participant_id, TOKEN_ID_LEN + 1);
    c.role = role_of(row.role);
    c.iat = inv->created_at;
    c.exp = row.expires_at;
    c.single_use = row.single_use != 0;
    if (now_s() >= c.exp) {
        *code = "link_expired";
        return -EKEYEXPIRED;
    }
    int n = token_sign(s->p.token_secret, s->p.token_secret_len, &c, tok, sizeof(tok));
    if (n < 0) {
        *code = "internal";
        return n;
    }
    n = snprintf(out, cap, "%s/join/%s", s->p.cfg->public_url, tok);
    OPENSSL_cleanse(tok, sizeof(tok));
    if (n < 0 || (size_t)n >= cap) {
        *code = "internal";
        return -ENOSPC;
    }
    return 0;
}

static int easy_common(struct job *j)
{
    CURL *e = j->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)INVITE_SEND_CONNECT_MS);
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)INVITE_SEND_TIMEOUT_MS);
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
    return bad != 0 ? -EINVAL : 0;
}

static int easy_sms(struct job *j, const struct store_invitation *inv, const char *link,
                    const char *when, const char **code)
{
    const struct sig_config *cfg = j->s->p.cfg;
    char sid[INVITE_UUID_LEN + 1], secret[INVITE_UUID_LEN + 1], jwt[INVITE_JWT_MAX];
    char auth[INVITE_JWT_MAX + 32], url[SIG_CONFIG_URL_MAX + sizeof(NOTIFY_SMS_PATH)];
    int err = invite_notify_key_parse(cfg->sms_api_key, strlen(cfg->sms_api_key), sid, secret);
    if (err == 0)
        err = invite_notify_jwt(sid, secret, now_s(), jwt, sizeof(jwt));
    OPENSSL_cleanse(secret, sizeof(secret));
    if (err < 0) {
        *code = "internal";
        return err;
    }
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", jwt);
    OPENSSL_cleanse(jwt, sizeof(jwt));
    snprintf(url, sizeof(url), "%s%s", cfg->sms_base_url, NOTIFY_SMS_PATH);
    j->body = invite_sms_json(inv->destination, cfg->sms_template_id, cfg->practice_name, when,
                              link, inv->id, &j->body_len);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h != NULL)
        j->headers = h;
    h = h != NULL ? curl_slist_append(h, "Accept: application/json") : NULL;
    h = h != NULL ? curl_slist_append(h, auth) : NULL;
    OPENSSL_cleanse(auth, sizeof(auth));
    if (j->body == NULL || h == NULL) {
        *code = "internal";
        return -ENOMEM;
    }
    CURL *e = j->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, url);
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "gpsfu-signalling");
    if (bad != 0) {
        *code = "internal";
        return -EINVAL;
    }
    return 0;
}

static int easy_email(struct job *j, const struct store_invitation *inv, const char *link,
                      const char *when, const char **code)
{
    const struct sig_config *cfg = j->s->p.cfg;
    char name[INVITE_TEXT_MAX], from[INVITE_EMAIL_MAX + 1], msgid[INVITE_MSGID_MAX];
    char mail_from[INVITE_EMAIL_MAX + 3], rcpt[INVITE_EMAIL_MAX + 3];
    *code = "internal";
    if (invite_from_parse(cfg->smtp_from, name, from) < 0 || invite_message_id(from, msgid) < 0)
        return -EINVAL;
    struct invite_email m = {
        .from = cfg->smtp_from,
        .to = inv->destination,
        .practice = cfg->practice_name,
        .when = when,
        .link = link,
        .message_id = msgid,
        .now = now_s(),
    };
    j->body = invite_email_text(&m, &j->body_len);
    snprintf(mail_from, sizeof(mail_from), "<%s>", from);
    snprintf(rcpt, sizeof(rcpt), "<%s>", inv->destination);
    j->rcpt = curl_slist_append(NULL, rcpt);
    OPENSSL_cleanse(rcpt, sizeof(rcpt));
    if (j->body == NULL || j->rcpt == NULL)
        return -ENOMEM;
    CURL *e = j->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, cfg->smtp_url);
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* smtp:// must upgrade with STARTTLS or give up: the message carries a join link. */
    bad |= curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    bad |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from);
    bad |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
    bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
    bad |= curl_easy_setopt(e, CURLOPT_READDATA, j);
    bad |= curl_easy_setopt(e, CURLOPT_INFILESIZE, (long)j->body_len);
    if (cfg->smtp_user[0] != '\0') {
        bad |= curl_easy_setopt(e, CURLOPT_USERNAME, cfg->smtp_user);
        bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->smtp_password);
    }
    if (cfg->smtp_ca_file[0] != '\0')
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->smtp_ca_file);
    return bad != 0 ? -EINVAL : 0;
}

/* Starts the next attempt of j, or finishes it when it can no longer be sent. */
static void job_attempt(struct job *j)
{
    struct invite_sender *s = j->s;
    struct store_invitation inv;
    struct store_consultation c;
    char link[LINK_MAX], when[INVITE_TIME_MAX];
    const char *code = "internal";

    int err = store_invitation_get(s->p.store, j->id, &inv);
    if (err < 0 || strcmp(inv.status, "sent") == 0 || strcmp(inv.status, "failed") == 0) {
        if (err < 0)
            log_error(TAG, "invitation %s: cannot read it: %s", j->id, store_errmsg(s->p.store));
        job_free(j);
        goto out;
    }
    j->channel = strcmp(inv.channel, "sms") == 0 ? INVITE_SMS : INVITE_EMAIL;
    if (inv.attempts >= INVITE_SEND_ATTEMPTS) {
        job_finish(j, &inv, false, inv.last_error[0] ? inv.last_error : "gave_up");
        goto out;
    }
    err = store_consultation_get(s->p.store, inv.consultation_id, &c);
    if (err < 0) {
        job_finish(j, &inv, false, "internal");
        goto out;
    }
    /* A link to a consultation that has ended would only lead to "this consultation has
     * ended": better not to send it at all. */
    if (c.ended_at != 0) {
        job_finish(j, &inv, false, "consultation_ended");
        goto out;
    }
    if (!invite_channel_ready(s->p.cfg, j->channel)) {
        job_finish(j, &inv, false, "not_configured");
        goto out;
    }
    if (link_make(s, &inv, link, sizeof(link), &code) < 0 ||
        invite_time_format(c.starts_at, when, sizeof(when)) < 0) {
        job_finish(j, &inv, false, code);
        goto out;
    }
    j->easy = curl_easy_init();
    err = j->easy != NULL ? easy_common(j) : -ENOMEM;
    if (err == 0)
        err = j->channel == INVITE_SMS ? easy_sms(j, &inv, link, when, &code)
                                       : easy_email(j, &inv, link, when, &code);
    if (err == 0 && curl_multi_add_handle(s->multi, j->easy) != CURLM_OK)
        err = -ENOMEM;
    if (err < 0) {
        job_attempt_end(j);
        job_finish(j, &inv, false, code);
        goto out;
    }
    inv.attempts++;
    snprintf(inv.status, sizeof(inv.status), "sending");
    inv.updated_at = now_s();
    if (store_invitation_update(s->p.store, &inv) < 0)
        log_error(TAG, "invitation %s: cannot record the attempt: %s", j->id,
                  store_errmsg(s->p.store));
    log_debug(TAG, "invitation %s (%s): attempt %d", j->id, inv.channel, inv.attempts);
out:
    OPENSSL_cleanse(inv.destination, sizeof(inv.destination));
    OPENSSL_cleanse(link, sizeof(link));
}

/* An attempt has ended with result: sent, a retry later, or failed for good. */
static void job_done(struct job *j, CURLcode result)
{
    struct invite_sender *s = j->s;
    struct store_invitation inv;
    char code[STORE_ERROR_MAX + 1];
    long response = 0;

    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &response);
    job_attempt_end(j);
    enum invite_outcome o =
        invite_send__classify((int)result, response, j->channel == INVITE_SMS, code, sizeof(code));
    int err = store_invitation_get(s->p.store, j->id, &inv);
    if (err < 0) {
        log_error(TAG, "invitation %s: cannot read it: %s", j->id, store_errmsg(s->p.store));
        job_free(j);
        return;
    }
    if (o == INVITE_OUTCOME_SENT) {
        job_finish(j, &inv, true, NULL);
    } else if (o == INVITE_OUTCOME_FAILED || inv.attempts >= INVITE_SEND_ATTEMPTS) {
        job_finish(j, &inv, false, code);
    } else {
        uint64_t delay = invite_send__delay_ms(s->p.cfg->invite_retry_base_ms, inv.attempts);
        snprintf(inv.status, sizeof(inv.status), "retrying");
        snprintf(inv.last_error, sizeof(inv.last_error), "%s", code);
        inv.updated_at = now_s();
        inv.next_at = inv.updated_at + (int64_t)((delay + 999) / 1000);
        if (store_invitation_update(s->p.store, &inv) < 0)
            log_error(TAG, "invitation %s: cannot record the retry: %s", j->id,
                      store_errmsg(s->p.store));
        /* curl's own words say what went wrong on the wire ("Couldn't connect to server"),
         * never what was sent or to whom. */
        log_info(TAG, "invitation %s (%s): attempt %d failed (%s%s%s); retrying in %" PRIu64 " ms",
                 j->id, inv.channel, inv.attempts, code, result != CURLE_OK ? ": " : "",
                 result != CURLE_OK ? curl_easy_strerror(result) : "", delay);
        uv_timer_start(&j->timer, on_job_timer, delay, 0);
    }
    OPENSSL_cleanse(inv.destination, sizeof(inv.destination));
}

static void on_job_timer(uv_timer_t *t)
{
    struct job *j = t->data;
    if (!j->s->stopping)
        job_attempt(j);
}

void invite_sender_queue(struct invite_sender *s, const char *invitation_id)
{
    struct store_invitation inv;
    if (s == NULL || s->stopping || invitation_id == NULL || strlen(invitation_id) > STORE_ID_MAX ||
        job_find(s, invitation_id) != NULL)
        return;
    if (store_invitation_get(s->p.store, invitation_id, &inv) < 0)
        return;
    OPENSSL_cleanse(inv.destination, sizeof(inv.destination));
    if (strcmp(inv.status, "sent") == 0 || strcmp(inv.status, "failed") == 0)
        return;
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        log_error(TAG, "invitation %s: out of memory; it is sent at the next start", invitation_id);
        return;
    }
    j->s = s;
    snprintf(j->id, sizeof(j->id), "%s", invitation_id);
    uv_timer_init(s->p.loop, &j->timer);
    j->timer.data = j;
    list_insert_tail(&s->jobs, &j->node);
    int64_t wait_s = inv.next_at - now_s();
    uint64_t delay = wait_s > 0 ? (uint64_t)wait_s * 1000 : 0;
    uv_timer_start(&j->timer, on_job_timer, delay, 0);
}

void invite_sender_invited(void *arg, const char *invitation_id)
{
    invite_sender_queue(arg, invitation_id);
}

/* The ids are gathered first and queued after the listing: queueing reads the store, which
 * is better not done with the listing's statement still stepping. */
struct pending {
    char (*ids)[STORE_ID_MAX + 1];
    size_t n, cap;
};

static int pending_add(const struct store_invitation *inv, void *arg)
{
    struct pending *p = arg;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        void *ids = realloc(p->ids, cap * sizeof(p->ids[0]));
        if (ids == NULL)
            return -ENOMEM;
        p->ids = ids;
        p->cap = cap;
    }
    snprintf(p->ids[p->n++], STORE_ID_MAX + 1, "%s", inv->id);
    return 0;
}

int invite_sender_resume(struct invite_sender *s)
{
    struct pending p = {NULL, 0, 0};
    if (s == NULL)
        return -EINVAL;
    int err = store_invitation_list_pending(s->p.store, pending_add, &p);
    for (size_t i = 0; err == 0 && i < p.n; i++)
        invite_sender_queue(s, p.ids[i]);
    if (err == 0 && p.n > 0)
        log_info(TAG, "resuming %zu pending invitation(s)", p.n);
    free(p.ids);
    return err;
}

/* ---- curl on the loop ---- */

/* Hands every finished transfer to its job. */
static void check_done(struct invite_sender *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct job *j = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        CURLcode result = msg->data.result;
        if (j != NULL)
            job_done(j, result);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *k = h->data;
    struct invite_sender *s = k->s;
    int flags = 0, running = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(s->multi, k->fd, flags, &running);
    check_done(s);
}

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sock_close(struct sock *k)
{
    if (k->closing)
        return;
    k->closing = true;
    list_remove(&k->node);
    uv_poll_stop(&k->poll);
    uv_close((uv_handle_t *)&k->poll, sock_closed);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct invite_sender *s = userp;
    struct sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k != NULL) {
            if (!s->stopping)
                curl_multi_assign(s->multi, fd, NULL);
            /* Stopped now, closed later: the fd may be reused by curl at once, and libuv
             * allows one watcher per fd. */
            sock_close(k);
        }
        return 0;
    }
    if (k == NULL) {
        k = calloc(1, sizeof(*k));
        if (k == NULL)
            return -1;
        if (uv_poll_init_socket(s->p.loop, &k->poll, fd) < 0) {
            free(k);
            return -1;
        }
        k->s = s;
        k->fd = fd;
        k->poll.data = k;
        list_insert_tail(&s->socks, &k->node);
        curl_multi_assign(s->multi, fd, k);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&k->poll, events, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    struct invite_sender *s = t->data;
    int running = 0;
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(s);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct invite_sender *s = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&s->timer);
    else
        /* 0 means "at once": on the next turn of the loop, never from inside this callback. */
        uv_timer_start(&s->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

int invite_sender_new(struct invite_sender **out, const struct invite_sender_params *p)
{
    if (out == NULL || p == NULL || p->loop == NULL || p->cfg == NULL || p->store == NULL ||
        p->token_secret == NULL)
        return -EINVAL;
    struct invite_sender *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->p = *p;
    list_init(&s->jobs);
    list_init(&s->socks);
    s->multi = curl_multi_init();
    if (s->multi == NULL) {
        free(s);
        return -EIO;
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    uv_timer_init(p->loop, &s->timer);
    s->timer.data = s;
    *out = s;
    return 0;
}

void invite_sender_stop(struct invite_sender *s)
{
    if (s == NULL || s->stopping)
        return;
    s->stopping = true;
    struct list *pos, *tmp;
    /* Transfers first: removing them lets curl hand back their sockets. */
    list_for_each_safe(pos, tmp, &s->jobs)
    {
        job_free(list_entry(pos, struct job, node));
    }
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
    /* Whatever curl did not hand back (a connection kept for reuse) is closed here. */
    list_for_each_safe(pos, tmp, &s->socks)
    {
        sock_close(list_entry(pos, struct sock, node));
    }
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
}

void invite_sender_free(struct invite_sender *s)
{
    if (s == NULL)
        return;
    invite_sender_stop(s);
    free(s);
}
