/* The JSON HTTP API: authentication, routing, strict reading of request bodies, the three
 * consultation operations on the store, and queueing invitations. */
#include "api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api_time.h"
#include "core/log.h"
#include "invite.h"
#include "token.h"

#define API_COLLECTION "/api/v1/consultations"
#define API_INVITE     "/invite"

#define EXPIRES_IN_MIN 60
#define EXPIRES_IN_MAX 7776000 /* 90 days, as config's link-ttl */
/* starts_at window: a booking made just after its time (a late entry) is fine, one a day
 * late is a mistake; 366 days so that "a year ahead" holds across a leap day. */
#define STARTS_PAST_MAX_S  86400
#define STARTS_AHEAD_MAX_S (366 * 86400)
/* now must leave room for the window and the longest expiry below TOKEN_TIME_MAX. */
#define NOW_MAX (TOKEN_TIME_MAX - STARTS_AHEAD_MAX_S - EXPIRES_IN_MAX)

#define ID_RANDOM_BYTES 12 /* "c" or "r" and 24 hex digits: 96 random bits */
#define ID_LEN          (1 + 2 * ID_RANDOM_BYTES)
#define MEMBER_ECHO_MAX 64 /* bytes of an unknown member's name repeated in an error */
#define LINKS_MAX       (1 + 2 * API_PEOPLE_MAX)

#define DUMP_FLAGS JSON_COMPACT /* jansson keeps members in insertion order */

static const char *const kinds[] = {"consultation", "group", "mdt", "ward_round"};
static const char *const members[] = {"kind",       "patients", "guests",    "starts_at",
                                      "expires_in", "message",  "single_use"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool api_path_is_api(const char *path)
{
    return path != NULL && (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0);
}

void api_resp_free(struct api_resp *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* ---- labels ---- */

void api_label(char *out, size_t cap, const char *role, int n)
{
    const char *word = "Participant";
    bool numbered = true;
    if (cap == 0)
        return;
    if (role != NULL && strcmp(role, "host") == 0) {
        word = "Clinician";
        numbered = n > 1;
    } else if (role != NULL && strcmp(role, "patient") == 0) {
        word = "Patient";
        numbered = n > 1;
    } else if (role != NULL && strcmp(role, "observer") == 0) {
        word = "Observer";
        numbered = n > 1;
    } else if (role != NULL && strcmp(role, "guest") == 0) {
        /* "Guest" alone would read as the only one even when more are to come. */
        word = "Guest";
    }
    if (numbered)
        snprintf(out, cap, "%s %d", word, n);
    else
        snprintf(out, cap, "%s", word);
}

/* ---- responses ---- */

/* Serializes root into a malloc'd NUL-terminated text (not jansson's allocator, so that
 * api_resp_free's free() is always right). NULL when out of memory. */
static char *json_text(const json_t *root, size_t *len)
{
    size_t n = json_dumpb(root, NULL, 0, DUMP_FLAGS);
    if (n == 0)
        return NULL;
    char *text = malloc(n + 1);
    if (text == NULL)
        return NULL;
    if (json_dumpb(root, text, n, DUMP_FLAGS) != n) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

/* Replaces every byte outside printable ASCII with '?': messages can quote request text (an
 * unknown member's name, jansson's "near '...'"), which may be cut mid-character. */
static void ascii_only(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
    }
}

/* Fills resp with an error. Returns 0, or -ENOMEM with resp->status 500 and no body. */
static int api_fail(struct api_resp *resp, int status, const char *code, const char *member,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int api_fail(struct api_resp *resp, int status, const char *code, const char *member,
                    const char *fmt, ...)
{
    char msg[512], name[MEMBER_ECHO_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ascii_only(msg);

    free(resp->body);
    memset(resp, 0, sizeof(*resp));
    resp->status = status;
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", msg);
    json_t *root = json_pack("{s:o}", "error", err);
    int rc = root != NULL ? 0 : -ENOMEM;
    if (rc == 0 && member != NULL) {
        snprintf(name, sizeof(name), "%s", member);
        ascii_only(name);
        rc = json_object_set_new(err, "member", json_string(name)) == 0 ? 0 : -ENOMEM;
    }
    if (rc == 0)
        resp->body = json_text(root, &resp->body_len);
    json_decref(root);
    if (resp->body == NULL) {
        resp->status = 500;
        resp->body_len = 0;
        return -ENOMEM;
    }
    return 0;
}

/* Takes root (a reference is stolen) into resp. */
static int api_ok(struct api_resp *resp, int status, json_t *root)
{
    size_t len = 0;
    char *text = root != NULL ? json_text(root, &len) : NULL;
    json_decref(root);
    if (text == NULL)
        return api_fail(resp, 500, "internal", NULL, "out of memory");
    resp->status = status;
    resp->body = text;
    resp->body_len = len;
    return 0;
}

/* A store error as the answer: the database stayed locked (503, worth a retry) or anything
 * else (500). The store's message is logged (it never holds request content); the caller gets
 * no detail of the server's insides. */
static int api_store_fail(struct api_resp *resp, struct store *s, int err, const char *what)
{
    log_error("api", "%s: %s", what, store_errmsg(s));
    if (err == -EBUSY)
        return api_fail(resp, 503, "unavailable", NULL,
                        "the database is busy; try again in a moment");
    return api_fail(resp, 500, "internal", NULL, "could not %s", what);
}

/* ---- authentication ---- */

static bool api_key_ok(const struct sig_config *cfg, const char *header)
{
    if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 ||
        (header[6] != ' ' && header[6] != '\t'))
        return false;
    const char *key = header + 6;
    while (*key == ' ' || *key == '\t')
        key++;
    size_t n = strlen(key);
    while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\t'))
        n--;
    if (n == 0 || n > SIG_CONFIG_API_KEY_MAX)
        return false;
    /* Every key is compared, each over its whole length and without stopping at a match, so
     * the time taken tells neither which key matched nor how much of one did. Only a key's
     * length shows, and keys are at least 16 random characters. */
    unsigned match = 0;
    for (size_t i = 0; i < cfg->api_key_count && i < SIG_CONFIG_API_KEYS_MAX; i++) {
        const char *want = cfg->api_keys[i];
        if (strnlen(want, SIG_CONFIG_API_KEY_MAX + 1) == n)
            match |= CRYPTO_memcmp(want, key, n) == 0;
    }
    return match != 0;
}

/* ---- POST: reading the body ---- */

struct create_req {
    const char *kind; /* one of kinds[] */
    int patients, guests;
    int64_t starts_at;
    int64_t expires_in;
    const char *message; /* borrowed from the parsed body; "" when none */
    bool single_use;
};

struct body_error {
    int status;
    const char *code;
    const char *member; /* borrowed; NULL for the body as a whole */
    char msg[256];
};

static int body_refuse(struct body_error *e, const char *code, const char *member, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static int body_refuse(struct body_error *e, const char *code, const char *member, const char *fmt,
                       ...)
{
    va_list ap;
    e->status = 400;
    e->code = code;
    e->member = member;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int read_count(json_t *v, const char *name, int *out, struct body_error *e)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > API_PEOPLE_MAX)
        return body_refuse(e, "invalid_value", name, "%s must be a whole number from 0 to %d", name,
                           API_PEOPLE_MAX);
    *out = (int)json_integer_value(v);
    return 0;
}

/* The waiting-room message is shown to patients as text: no control characters (C0, DEL, C1),
 * which would garble it, except line feeds. jansson has already refused invalid UTF-8 and NUL. */
static int read_message(json_t *v, const char **out, struct body_error *e)
{
    if (!json_is_string(v))
        return body_refuse(e, "invalid_value", "message", "message must be a string");
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    if (n > STORE_MESSAGE_MAX)
        return body_refuse(e, "invalid_value", "message",
                           "message is %zu bytes; at most %d are allowed", n, STORE_MESSAGE_MAX);
    for (size_t i = 0; i < n; i++) {
        bool c0 = (s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f;
        bool c1 = s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f;
        if (c0 || c1)
            return body_refuse(e, "invalid_value", "message",
                               "message may hold no control characters other than line feeds "
                               "(\\n); found one at byte %zu",
                               i);
    }
    *out = (const char *)s;
    return 0;
}

static int read_member(const char *key, json_t *v, int64_t now, struct create_req *r,
                       struct body_error *e)
{
    if (strcmp(key, "kind") == 0) {
        for (size_t i = 0; json_is_string(v) && i < COUNT(kinds); i++) {
            if (strcmp(json_string_value(v), kinds[i]) == 0) {
                r->kind = kinds[i];
                return 0;
            }
        }
        return body_refuse(e, "invalid_value", "kind",
                           "kind must be \"consultation\", \"group\", \"mdt\" or \"ward_round\"");
    }
    if (strcmp(key, "patients") == 0)
        return read_count(v, "patients", &r->patients, e);
    if (strcmp(key, "guests") == 0)
        return read_count(v, "guests", &r->guests, e);
    if (strcmp(key, "starts_at") == 0) {
        int64_t t;
        if (!json_is_string(v) ||
            api_time_parse(json_string_value(v), json_string_length(v), &t) < 0)
            return body_refuse(e, "invalid_value", "starts_at",
                               "starts_at must be an RFC 3339 time with Z or an offset, such as "
                               "\"2026-12-01T09:30:00Z\" or \"2026-12-01T09:30:00+01:00\"");
        if (t < now - STARTS_PAST_MAX_S)
            return body_refuse(e, "invalid_value", "starts_at",
                               "starts_at is more than a day in the past");
        if (t > now + STARTS_AHEAD_MAX_S)
            return body_refuse(e, "invalid_value", "starts_at",
                               "starts_at is more than a year ahead");
        r->starts_at = t;
        return 0;
    }
    if (strcmp(key, "expires_in") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < EXPIRES_IN_MIN ||
            json_integer_value(v) > EXPIRES_IN_MAX)
            return body_refuse(e, "invalid_value", "expires_in",
                               "expires_in must be a whole number of seconds from %d to %d",
                               EXPIRES_IN_MIN, EXPIRES_IN_MAX);
        r->expires_in = json_integer_value(v);
        return 0;
    }
    if (strcmp(key, "message") == 0)
        return read_message(v, &r->message, e);
    if (strcmp(key, "single_use") == 0) {
        if (!json_is_boolean(v))
            return body_refuse(e, "invalid_value", "single_use",
                               "single_use must be true or false");
        r->single_use = json_is_true(v);
        return 0;
    }
    /* Every name was checked against members[] first. */
    return body_refuse(e, "unknown_member", key, "unknown member");
}

/* Reads the body into *r (borrowing strings from *root, which the caller frees). */
static int create_req_read(const struct api_ctx *ctx, const struct api_req *req, json_t **root,
                           struct create_req *r, struct body_error *e)
{
    json_error_t jerr;
    const char *key;
    json_t *v;

    *root = NULL;
    if (req->body_len > API_BODY_MAX) {
        body_refuse(e, "too_large", NULL, "the body is %zu bytes; at most %d are allowed",
                    req->body_len, API_BODY_MAX);
        e->status = 413;
        return -EINVAL;
    }
    if (req->body == NULL || req->body_len == 0)
        return body_refuse(e, "bad_json", NULL, "the body must be a JSON object, such as {}");
    /* Duplicates are refused: {"guests":0,"guests":5} must not mean whichever came last. */
    *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL)
        return body_refuse(e, "bad_json", NULL, "not valid JSON: %s (line %d, column %d)",
                           jerr.text, jerr.line, jerr.column);
    if (!json_is_object(*root))
        return body_refuse(e, "bad_json", NULL, "the body must be a JSON object, such as {}");

    /* Unknown names first, so a typo ("guest") is named even when another value is bad too. */
    json_object_foreach(*root, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < COUNT(members) && !known; i++)
            known = strcmp(key, members[i]) == 0;
        if (!known)
            return body_refuse(e, "unknown_member", key,
                               "unknown member \"%.*s\"; the members are kind, patients, guests, "
                               "starts_at, expires_in, message and single_use",
                               MEMBER_ECHO_MAX, key);
    }

    r->kind = kinds[0];
    r->patients = -1; /* its default depends on kind */
    r->guests = 0;
    r->starts_at = req->now;
    r->expires_in = ctx->cfg->link_ttl_s;
    r->message = "";
    r->single_use = true;
    /* A fixed order, so that with several bad members the same one is always reported. */
    for (size_t i = 0; i < COUNT(members); i++) {
        v = json_object_get(*root, members[i]);
        /* null is the same as leaving the member out: what many serializers write for "unset". */
        if (v == NULL || json_is_null(v))
            continue;
        int err = read_member(members[i], v, req->now, r, e);
        if (err < 0)
            return err;
    }
    if (r->patients < 0)
        r->patients = strcmp(r->kind, "mdt") == 0 ? 0 : 1;
    return 0;
}

/* ---- POST: making the consultation ---- */

static int random_id(char prefix, char out[ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[ID_RANDOM_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    out[0] = prefix;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[1 + 2 * i] = hex[raw[i] >> 4];
        out[2 + 2 * i] = hex[raw[i] & 15];
    }
    out[ID_LEN] = '\0';
    return 0;
}

/* Makes one link: a fresh jti, its participant and token rows and audit row, and its URL
 * appended to list (when list is not NULL; an invitation signs its link again when sending it,
 * so that the store never holds one). The jti (the participant's id) goes to jti_out when it is
 * not NULL. Returns 0, a store error (*from_store set), -EIO (randomness or signing) or
 * -ENOMEM. */
static int create_link(const struct api_ctx *ctx, const struct store_consultation *c,
                       enum token_role role, bool single_use, int64_t now, json_t *list,
                       char *jti_out, bool *from_store)
{
    struct token_claims claims;
    struct store_participant p;
    struct store_token t;
    char tok[TOKEN_SIGNED_MAX];
    char url[SIG_CONFIG_URL_MAX + sizeof("/join/") + TOKEN_SIGNED_MAX];
    char detail[STORE_DETAIL_MAX + 1];
    const char *role_name = token_role_name(role);

    *from_store = false;
    memset(&claims, 0, sizeof(claims));
    if (token_id_new(claims.jti) < 0)
        return -EIO;
    snprintf(claims.consultation, sizeof(claims.consultation), "%s", c->id);
    claims.role = role;
    claims.iat = now;
    claims.exp = c->expires_at;
    claims.single_use = single_use;
    int n = token_sign(ctx->token_secret, ctx->token_secret_len, &claims, tok, sizeof(tok));
    if (n < 0) {
        log_error("api", "signing a link failed: %s", token_strerror(n));
        return -EIO;
    }

    /* The participant's id is the jti: a link is a seat, and the seat is the link's. */
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", claims.jti);
    snprintf(p.consultation_id, sizeof(p.consultation_id), "%s", c->id);
    snprintf(p.role, sizeof(p.role), "%s", role_name);
    snprintf(p.state, sizeof(p.state), "invited");
    p.state_at = now;
    *from_store = true;
    int err = store_participant_add(ctx->store, &p);
    if (err < 0)
        return err;

    memset(&t, 0, sizeof(t));
    snprintf(t.jti, sizeof(t.jti), "%s", claims.jti);
    snprintf(t.consultation_id, sizeof(t.consultation_id), "%s", c->id);
    snprintf(t.role, sizeof(t.role), "%s", role_name);
    t.single_use = single_use;
    t.expires_at = c->expires_at;
    err = store_token_add(ctx->store, &t);
    if (err < 0)
        return err;

    /* The participant id, never the token: the audit log must not hold a way in. */
    snprintf(detail, sizeof(detail), "participant=%s role=%s single_use=%d", p.id, role_name,
             single_use ? 1 : 0);
    err = store_audit(ctx->store, now, c->id, "api", "link_issued", detail);
    if (err < 0)
        return err;
    *from_store = false;

    if (jti_out != NULL)
        memcpy(jti_out, claims.jti, sizeof(claims.jti));
    if (list == NULL) {
        OPENSSL_cleanse(tok, sizeof(tok));
        return 0;
    }
    snprintf(url, sizeof(url), "%s/join/%s", ctx->cfg->public_url, tok);
    OPENSSL_cleanse(tok, sizeof(tok));
    err = json_array_append_new(list, json_string(url)) == 0 ? 0 : -ENOMEM;
    OPENSSL_cleanse(url, sizeof(url));
    return err;
}

/* Writes everything for r inside the caller's transaction and builds the 201 body. On an
 * error, *from_store tells whether the store refused (else: randomness, signing, memory). */
static int create_write(const struct api_ctx *ctx, const struct create_req *r, int64_t now,
                        json_t **body, bool *from_store)
{
    struct store_consultation c;
    char detail[STORE_DETAIL_MAX + 1], starts[API_TIME_MAX], expires[API_TIME_MAX];
    json_t *host = json_array(), *patients = json_array(), *guests = json_array();
    json_t *root = NULL;
    int err = 0;

    *from_store = false;
    if (host == NULL || patients == NULL || guests == NULL) {
        err = -ENOMEM;
        goto out;
    }
    memset(&c, 0, sizeof(c));
    /* The room id is random and unrelated to the consultation id, so knowing one (from a link,
     * a log) tells nothing about the other. */
    if (random_id('c', c.id) < 0 || random_id('r', c.room_id) < 0) {
        log_error("api", "the random generator failed");
        err = -EIO;
        goto out;
    }
    snprintf(c.kind, sizeof(c.kind), "%s", r->kind);
    snprintf(c.practice_message, sizeof(c.practice_message), "%s", r->message);
    c.created_at = now;
    c.starts_at = r->starts_at;
    c.expires_at = (r->starts_at > now ? r->starts_at : now) + r->expires_in;
    *from_store = true;
    err = store_consultation_create(ctx->store, &c);
    if (err < 0)
        goto out;

    err = create_link(ctx, &c, TOKEN_ROLE_HOST, r->single_use, now, host, NULL, from_store);
    for (int i = 0; err == 0 && i < r->patients; i++)
        err = create_link(ctx, &c, TOKEN_ROLE_PATIENT, r->single_use, now, patients, NULL,
                          from_store);
    for (int i = 0; err == 0 && i < r->guests; i++)
        err = create_link(ctx, &c, TOKEN_ROLE_GUEST, r->single_use, now, guests, NULL, from_store);
    if (err < 0)
        goto out;

    snprintf(detail, sizeof(detail), "kind=%s patients=%d guests=%d single_use=%d", c.kind,
             r->patients, r->guests, r->single_use ? 1 : 0);
    *from_store = true;
    err = store_audit(ctx->store, now, c.id, "api", "create", detail);
    if (err < 0)
        goto out;
    *from_store = false;

    api_time_format(c.starts_at, starts);
    api_time_format(c.expires_at, expires);
    json_t *first_patient = json_array_get(patients, 0);
    root =
        json_pack("{s:s,s:s,s:s,s:s,s:{s:O,s:O,s:O,s:O}}", "id", c.id, "kind", c.kind, "starts_at",
                  starts, "expires_at", expires, "links", "host", json_array_get(host, 0),
                  "patient", first_patient != NULL ? first_patient : json_null(), "patients",
                  patients, "guests", guests);
    if (root == NULL) {
        err = -ENOMEM;
        goto out;
    }
    *body = root;
out:
    json_decref(host);
    json_decref(patients);
    json_decref(guests);
    return err;
}

static int api_create(const struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp)
{
    struct create_req r;
    struct body_error e;
    json_t *req_root = NULL, *body = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    if (create_req_read(ctx, req, &req_root, &r, &e) < 0) {
        rc = api_fail(resp, e.status, e.code, e.member, "%s", e.msg);
        goto out;
    }
    bool from_store = true;
    int err = store_tx_begin(ctx->store);
    if (err < 0) {
        rc = api_store_fail(resp, ctx->store, err, "begin a transaction");
        goto out;
    }
    err = create_write(ctx, &r, req->now, &body, &from_store);
    /* The answer is made before the commit: a consultation whose links nobody received would
     * be a consultation nobody can join. */
    if (err == 0 && (text = json_text(body, &len)) == NULL)
        err = -ENOMEM;
    if (err == 0) {
        from_store = true;
        err = store_tx_commit(ctx->store);
    }
    if (err < 0) {
        store_tx_rollback(ctx->store);
        if (from_store)
            rc = api_store_fail(resp, ctx->store, err, "store the consultation");
        else if (err == -ENOMEM)
            rc = api_fail(resp, 500, "internal", NULL, "out of memory");
        else
            rc = api_fail(resp, 500, "internal", NULL, "could not make the links");
        goto out;
    }
    const char *id = json_string_value(json_object_get(body, "id"));
    log_info("api", "consultation %s created (%s, %d patient(s), %d guest(s))", id ? id : "?",
             r.kind, r.patients, r.guests);
    resp->status = 201;
    resp->body = text;
    resp->body_len = len;
    text = NULL;
    rc = 0;
out:
    if (text != NULL) {
        /* The links are secrets: don't leave them in freed memory. */
        OPENSSL_cleanse(text, len);
        free(text);
    }
    json_decref(body);
    json_decref(req_root);
    return rc;
}

/* ---- GET and DELETE ---- */

struct list_ctx {
    json_t *participants, *waiting, *in, *invitations; /* borrowed */
    int n_host, n_patient, n_guest, n_observer, n_other;
};

static int list_participant(const struct store_participant *p, void *arg)
{
    struct list_ctx *x = arg;
    char label[API_LABEL_MAX], since[API_TIME_MAX];
    int n;
    if (strcmp(p->role, "host") == 0)
        n = ++x->n_host;
    else if (strcmp(p->role, "patient") == 0)
        n = ++x->n_patient;
    else if (strcmp(p->role, "guest") == 0)
        n = ++x->n_guest;
    else if (strcmp(p->role, "observer") == 0)
        n = ++x->n_observer;
    else
        n = ++x->n_other;
    api_label(label, sizeof(label), p->role, n);
    api_time_format(p->state_at, since);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", p->id, "role", p->role, "label", label,
                          "state", p->state, "since", since);
    if (o == NULL || json_array_append_new(x->participants, o) < 0)
        return -ENOMEM;
    json_t *to = strcmp(p->state, "waiting") == 0    ? x->waiting
                 : strcmp(p->state, "admitted") == 0 ? x->in
                                                     : NULL;
    if (to != NULL && json_array_append_new(to, json_string(p->id)) < 0)
        return -ENOMEM;
    return 0;
}

/* An invitation as the API shows it: never its destination, only the masked form. */
static json_t *invitation_json(const struct store_invitation *inv)
{
    char created[API_TIME_MAX], updated[API_TIME_MAX];
    api_time_format(inv->created_at, created);
    api_time_format(inv->updated_at, updated);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:o,s:s,s:s,s:s}", "id", inv->id, "participant",
                     inv->participant_id, "role", inv->role, "channel", inv->channel, "status",
                     inv->status, "attempts", inv->attempts, "last_error",
                     inv->last_error[0] ? json_string(inv->last_error) : json_null(), "destination",
                     inv->masked, "created_at", created, "updated_at", updated);
}

static int list_invitation(const struct store_invitation *inv, void *arg)
{
    struct list_ctx *x = arg;
    json_t *o = invitation_json(inv);
    if (o == NULL || json_array_append_new(x->invitations, o) < 0)
        return -ENOMEM;
    return 0;
}

static const char *cons_state(const struct store_consultation *c, int64_t now)
{
    if (c->ended_at != 0)
        return "ended";
    if (now >= c->expires_at)
        return "expired";
    if (now < c->starts_at)
        return "scheduled";
    return "live";
}

static int api_get(const struct api_ctx *ctx, const char *id, int64_t now, struct api_resp *resp)
{
    struct store_consultation c;
    struct list_ctx x;
    char starts[API_TIME_MAX], expires[API_TIME_MAX], ended[API_TIME_MAX];

    int err = store_consultation_get(ctx->store, id, &c);
    if (err == -ENOENT)
        return api_fail(resp, 404, "not_found", NULL, "no consultation has this id");
    if (err < 0)
        return api_store_fail(resp, ctx->store, err, "read the consultation");

    memset(&x, 0, sizeof(x));
    x.participants = json_array();
    x.waiting = json_array();
    x.in = json_array();
    x.invitations = json_array();
    json_t *root = NULL;
    if (x.participants == NULL || x.waiting == NULL || x.in == NULL || x.invitations == NULL) {
        err = -ENOMEM;
        goto out;
    }
    err = store_participant_list(ctx->store, id, list_participant, &x);
    if (err == 0)
        err = store_invitation_list(ctx->store, id, list_invitation, &x);
    if (err < 0)
        goto out;
    api_time_format(c.starts_at, starts);
    api_time_format(c.expires_at, expires);
    api_time_format(c.ended_at, ended);
    root =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:O,s:O,s:O,s:O}", "id", c.id, "kind", c.kind, "state",
                  cons_state(&c, now), "starts_at", starts, "expires_at", expires, "ended_at",
                  c.ended_at != 0 ? json_string(ended) : json_null(), "participants",
                  x.participants, "waiting", x.waiting, "in", x.in, "invitations", x.invitations);
    if (root == NULL)
        err = -ENOMEM;
out:
    json_decref(x.participants);
    json_decref(x.waiting);
    json_decref(x.in);
    json_decref(x.invitations);
    if (err == -ENOMEM)
        return api_fail(resp, 500, "internal", NULL, "out of memory");
    if (err < 0)
        return api_store_fail(resp, ctx->store, err, "list the participants");
    return api_ok(resp, 200, root);
}

static int api_end(const struct api_ctx *ctx, const char *id, int64_t now, struct api_resp *resp)
{
    int err = store_tx_begin(ctx->store);
    if (err < 0)
        return api_store_fail(resp, ctx->store, err, "begin a transaction");
    err = store_consultation_end(ctx->store, id, now);
    if (err == 0)
        err = store_audit(ctx->store, now, id, "api", "end", NULL);
    if (err == 0)
        err = store_tx_commit(ctx->store);
    if (err < 0)
        store_tx_rollback(ctx->store);
    if (err == -ENOENT)
        return api_fail(resp, 404, "not_found", NULL, "no consultation has this id");
    if (err == -EALREADY)
        return api_fail(resp, 409, "already_ended", NULL, "the consultation has already ended");
    if (err < 0)
        return api_store_fail(resp, ctx->store, err, "end the consultation");

    log_info("api", "consultation %s ended by the API", id);
    /* Only once the end is durable: a call ended for a consultation that is not would come
     * straight back on a reload. */
    if (ctx->ended != NULL)
        ctx->ended(ctx->arg, id);
    resp->status = 204;
    return 0;
}

/* A consultation id as the store would hold one: 1..64 of [A-Za-z0-9_-] (the token's
 * alphabet). Anything else cannot exist, so it is 404 without asking the store. */
static bool id_ok(const char *id)
{
    size_t n = strnlen(id, TOKEN_CONSULTATION_MAX + 1);
    if (n == 0 || n > TOKEN_CONSULTATION_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* ---- POST .../invite ---- */

/* Writes the invitation for r inside the caller's transaction: a fresh link for r->role (its
 * participant, token and audit rows, as a booking makes them), then the invitation row with
 * the destination, queued. *from_store as create_write's. */
static int invite_write(const struct api_ctx *ctx, const struct store_consultation *c,
                        const struct invite_req *r, int64_t now, struct store_invitation *inv,
                        bool *from_store)
{
    char detail[STORE_DETAIL_MAX + 1];
    int n = 0;
    *from_store = true;
    int err = store_invitation_count(ctx->store, c->id, &n);
    if (err < 0)
        return err;
    if (n >= API_INVITES_MAX)
        return -EDQUOT;
    memset(inv, 0, sizeof(*inv));
    err = create_link(ctx, c, r->role, true, now, NULL, inv->participant_id, from_store);
    if (err < 0)
        return err;
    *from_store = false;
    if (random_id('i', inv->id) < 0)
        return -EIO;
    snprintf(inv->consultation_id, sizeof(inv->consultation_id), "%s", c->id);
    snprintf(inv->role, sizeof(inv->role), "%s", token_role_name(r->role));
    snprintf(inv->channel, sizeof(inv->channel), "%s", invite_channel_name(r->channel));
    snprintf(inv->status, sizeof(inv->status), "queued");
    memcpy(inv->destination, r->dest, sizeof(inv->destination));
    invite_mask(r->channel, r->dest, inv->masked);
    inv->created_at = inv->updated_at = inv->next_at = now;
    *from_store = true;
    err = store_invitation_add(ctx->store, inv);
    if (err < 0)
        return err;
    /* Who asked for what, never where to: the destination stays out of the audit log. */
    snprintf(detail, sizeof(detail), "invitation=%s channel=%s participant=%s role=%s", inv->id,
             inv->channel, inv->participant_id, inv->role);
    err = store_audit(ctx->store, now, c->id, "api", "invite_requested", detail);
    if (err == 0)
        *from_store = false;
    return err;
}

static int api_invite(const struct api_ctx *ctx, const char *id, const struct api_req *req,
                      struct api_resp *resp)
{
    struct invite_req r;
    struct invite_error e;
    struct store_consultation c;
    struct store_invitation inv;
    bool from_store = true;
    int rc;

    memset(&inv, 0, sizeof(inv));
    if (invite_req_parse(req->body, req->body_len, API_BODY_MAX, &r, &e) < 0)
        return api_fail(resp, e.status, e.code, e.member[0] ? e.member : NULL, "%s", e.msg);
    if (!invite_channel_ready(ctx->cfg, r.channel)) {
        rc = api_fail(resp, 503, "channel_unavailable", "channel",
                      "invitations by %s (channel) are not configured on this service",
                      invite_channel_name(r.channel));
        goto out;
    }
    int err = id_ok(id) ? store_consultation_get(ctx->store, id, &c) : -ENOENT;
    if (err == -ENOENT) {
        rc = api_fail(resp, 404, "not_found", NULL, "no consultation has this id");
        goto out;
    }
    if (err < 0) {
        rc = api_store_fail(resp, ctx->store, err, "read the consultation");
        goto out;
    }
    if (c.ended_at != 0) {
        rc = api_fail(resp, 404, "consultation_ended", NULL, "the consultation has ended");
        goto out;
    }
    if (req->now >= c.expires_at) {
        rc = api_fail(resp, 404, "consultation_expired", NULL,
                      "the consultation has expired: its links no longer work");
        goto out;
    }

    err = store_tx_begin(ctx->store);
    if (err < 0) {
        rc = api_store_fail(resp, ctx->store, err, "begin a transaction");
        goto out;
    }
    err = invite_write(ctx, &c, &r, req->now, &inv, &from_store);
    json_t *body = NULL;
    if (err == 0 && (body = invitation_json(&inv)) == NULL) {
        from_store = false;
        err = -ENOMEM;
    }
    if (err == 0) {
        from_store = true;
        err = store_tx_commit(ctx->store);
    }
    if (err < 0) {
        store_tx_rollback(ctx->store);
        json_decref(body);
        if (err == -EDQUOT)
            rc = api_fail(resp, 409, "too_many_invitations", NULL,
                          "the consultation already has %d invitations, the most it may have",
                          API_INVITES_MAX);
        else if (from_store)
            rc = api_store_fail(resp, ctx->store, err, "store the invitation");
        else if (err == -ENOMEM)
            rc = api_fail(resp, 500, "internal", NULL, "out of memory");
        else
            rc = api_fail(resp, 500, "internal", NULL, "could not make the link");
        goto out;
    }
    /* The invitation's id and channel only: never its destination. */
    log_info("api", "invitation %s (%s) queued for consultation %s", inv.id, inv.channel, c.id);
    if (ctx->invited != NULL)
        ctx->invited(ctx->invite_arg, inv.id);
    rc = api_ok(resp, 202, body);
out:
    OPENSSL_cleanse(&r, sizeof(r));
    OPENSSL_cleanse(inv.destination, sizeof(inv.destination));
    return rc;
}

/* Whether path is API_COLLECTION/ID/invite, with ID (as given; id_ok checks it) copied to id. */
static bool is_invite_path(const char *path, char *id, size_t cap)
{
    const size_t base = strlen(API_COLLECTION "/");
    if (strncmp(path, API_COLLECTION "/", base) != 0)
        return false;
    const char *rest = path + base;
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || strcmp(slash, API_INVITE) != 0 ||
        (size_t)(slash - rest) >= cap)
        return false;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    return true;
}

int api_handle(const struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp)
{
    if (resp == NULL)
        return -EINVAL;
    memset(resp, 0, sizeof(*resp));
    if (ctx == NULL || ctx->cfg == NULL || ctx->store == NULL || ctx->token_secret == NULL ||
        ctx->token_secret_len < TOKEN_SECRET_MIN || req == NULL || req->method == NULL ||
        req->path == NULL) {
        log_error("api", "api_handle called without its context or request");
        return api_fail(resp, 500, "internal", NULL, "the service is misconfigured");
    }
    if (req->now < 0 || req->now > NOW_MAX) {
        log_error("api", "the clock reads %" PRId64 ", out of range", req->now);
        return api_fail(resp, 500, "internal", NULL, "the server's clock is wrong");
    }
    /* Authentication before routing: without a key, nobody learns which paths exist. */
    if (!api_key_ok(ctx->cfg, req->authorization)) {
        int rc =
            api_fail(resp, 401, "unauthorized", NULL,
                     req->authorization == NULL ? "an API key is needed: Authorization: Bearer KEY"
                                                : "the API key is not valid");
        resp->www_authenticate = resp->status == 401;
        return rc;
    }

    const char *path = req->path;
    const size_t base = strlen(API_COLLECTION);
    if (strcmp(path, API_COLLECTION) == 0) {
        if (strcmp(req->method, "POST") != 0) {
            int rc = api_fail(resp, 405, "method_not_allowed", NULL,
                              "%.16s is not allowed here; use POST", req->method);
            resp->allow = resp->status == 405 ? "POST" : NULL;
            return rc;
        }
        return api_create(ctx, req, resp);
    }
    char invite_id[TOKEN_CONSULTATION_MAX + 1];
    if (is_invite_path(path, invite_id, sizeof(invite_id))) {
        if (strcmp(req->method, "POST") != 0) {
            int rc = api_fail(resp, 405, "method_not_allowed", NULL,
                              "%.16s is not allowed here; use POST", req->method);
            resp->allow = resp->status == 405 ? "POST" : NULL;
            return rc;
        }
        return api_invite(ctx, invite_id, req, resp);
    }
    if (strncmp(path, API_COLLECTION "/", base + 1) == 0 && strchr(path + base + 1, '/') == NULL) {
        const char *id = path + base + 1;
        bool get = strcmp(req->method, "GET") == 0;
        if (!get && strcmp(req->method, "DELETE") != 0) {
            int rc = api_fail(resp, 405, "method_not_allowed", NULL,
                              "%.16s is not allowed here; use GET or DELETE", req->method);
            resp->allow = resp->status == 405 ? "GET, DELETE" : NULL;
            return rc;
        }
        if (!id_ok(id))
            return api_fail(resp, 404, "not_found", NULL, "no consultation has this id");
        return get ? api_get(ctx, id, req->now, resp) : api_end(ctx, id, req->now, resp);
    }
    return api_fail(resp, 404, "not_found", NULL, "no such API path; see API.md");
}
