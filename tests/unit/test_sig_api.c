/* The JSON HTTP API against a real store file: links that verify and name the right roles and
 * are recorded, the consultation's state as a practice system sees it, ending it, and every
 * refusal (key, body, member, value, method, path) with the status and the reason a caller
 * needs. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "harness.h"
#include "store.h"
#include "token.h"

#define KEY_A      "practice-key-aaaaaaaaaaaaaaaa"
#define KEY_B      "practice-key-bbbbbbbbbbbbbbbb"
#define PUBLIC_URL "https://video.example.nhs.uk"
#define NOW        1780000000LL /* 2026-05-28T20:26:40Z */

static const uint8_t secret[32] = "api-test-secret-api-test-secret!";

struct fixture {
    char dir[64];
    char path[96];
    struct sig_config cfg;
    struct store *store;
    struct api_ctx ctx;
    int ended_calls;
    char ended_id[STORE_ID_MAX + 1];
    int invited_calls;
    char invited_id[STORE_ID_MAX + 1];
};

static void on_ended(void *arg, const char *id)
{
    struct fixture *f = arg;
    f->ended_calls++;
    snprintf(f->ended_id, sizeof(f->ended_id), "%s", id);
}

static void on_invited(void *arg, const char *id)
{
    struct fixture *f = arg;
    f->invited_calls++;
    snprintf(f->invited_id, sizeof(f->invited_id), "%s", id);
}

static int fixture_open(struct fixture *f)
{
    char err[256];
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/gpsfu-api-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/sig.db", f->dir);
    sig_config_defaults(&f->cfg);
    if (sig_config_set(&f->cfg, "api-keys", KEY_A "," KEY_B, "test", err, sizeof(err)) < 0 ||
        sig_config_set(&f->cfg, "public-url", PUBLIC_URL "/", "test", err, sizeof(err)) < 0)
        return -1;
    if (store_open(&f->store, f->path) < 0)
        return -1;
    f->ctx.cfg = &f->cfg;
    f->ctx.store = f->store;
    f->ctx.token_secret = secret;
    f->ctx.token_secret_len = sizeof(secret);
    f->ctx.ended = on_ended;
    f->ctx.arg = f;
    f->ctx.invited = on_invited;
    f->ctx.invite_arg = f;
    return 0;
}

static void fixture_close(struct fixture *f)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    store_close(f->store);
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    sig_config_wipe(&f->cfg);
}

/* One request; auth is the whole header value (NULL: none). */
static int call(struct fixture *f, const char *method, const char *path, const char *auth,
                const char *body, int64_t now, struct api_resp *r)
{
    struct api_req req = {
        .method = method,
        .path = path,
        .authorization = auth,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
        .now = now,
    };
    return api_handle(&f->ctx, &req, r);
}

static json_t *body_json(const struct api_resp *r)
{
    if (r->body == NULL || strlen(r->body) != r->body_len)
        return NULL;
    return json_loads(r->body, JSON_REJECT_DUPLICATES, NULL);
}

static const char *str_at(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Checks an error response: status, code, and (when member is not NULL) that the member is
 * named both in "member" and in the message a person reads. */
static int expect_error(const struct api_resp *r, int status, const char *code, const char *member)
{
    json_t *root = body_json(r);
    json_t *e = json_object_get(root, "error");
    int ok = r->status == status && e != NULL && str_at(e, "code") != NULL &&
             strcmp(str_at(e, "code"), code) == 0 && str_at(e, "message") != NULL &&
             strlen(str_at(e, "message")) > 0;
    if (ok && member != NULL)
        ok = str_at(e, "member") != NULL && strcmp(str_at(e, "member"), member) == 0 &&
             strstr(str_at(e, "message"), member) != NULL;
    if (!ok)
        fprintf(stderr, "wanted %d %s (%s), got %d %s\n", status, code, member ? member : "-",
                r->status, r->body ? r->body : "(no body)");
    json_decref(root);
    return ok ? 0 : -1;
}

/* The token in a link URL, or NULL when the URL is not PUBLIC_URL/join/TOKEN. */
static const char *link_token(const char *url)
{
    const char *prefix = PUBLIC_URL "/join/";
    if (url == NULL || strncmp(url, prefix, strlen(prefix)) != 0)
        return NULL;
    return url + strlen(prefix);
}

static int count_cons(const struct store_consultation *c, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

static int live_count(struct fixture *f)
{
    int n = 0;
    if (store_consultation_list_live(f->store, NOW, count_cons, &n) < 0)
        return -1;
    return n;
}

struct audit_seen {
    int create, link_issued, end, other;
    int leaked; /* a detail holding something that looks like a token */
};

static int audit_count(const struct store_audit_row *row, void *arg)
{
    struct audit_seen *a = arg;
    if (strcmp(row->action, "create") == 0 && strcmp(row->actor_role, "api") == 0)
        a->create++;
    else if (strcmp(row->action, "link_issued") == 0 && strcmp(row->actor_role, "api") == 0)
        a->link_issued++;
    else if (strcmp(row->action, "end") == 0 && strcmp(row->actor_role, "api") == 0)
        a->end++;
    else
        a->other++;
    if (strstr(row->detail, "eyJ") != NULL || strchr(row->detail, '.') != NULL)
        a->leaked++;
    return 0;
}

/* Creates one consultation with the body and returns its parsed 201 body (caller decrefs). */
static json_t *create(struct fixture *f, const char *body, int64_t now)
{
    struct api_resp r;
    if (call(f, "POST", "/api/v1/consultations", "Bearer " KEY_A, body, now, &r) != 0)
        return NULL;
    json_t *root = r.status == 201 ? body_json(&r) : NULL;
    if (root == NULL)
        fprintf(stderr, "create: %d %s\n", r.status, r.body ? r.body : "");
    api_resp_free(&r);
    return root;
}

/* The example: one clinician, one patient, one guest, later today, for an hour. */
static int test_api_create_links(void)
{
    struct fixture f;
    struct api_resp r;
    char body[256], starts[API_TIME_MAX], expires[API_TIME_MAX];
    CHECK_EQ(fixture_open(&f), 0);
    api_time_format(NOW + 7200, starts);
    api_time_format(NOW + 7200 + 3600, expires);
    snprintf(body, sizeof(body),
             "{\"kind\":\"consultation\",\"guests\":1,\"starts_at\":\"%s\",\"expires_in\":3600}",
             starts);
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, body, NOW, &r), 0);
    CHECK_EQ(r.status, 201);
    CHECK(r.allow == NULL && !r.www_authenticate);
    json_t *root = body_json(&r);
    CHECK(root != NULL);

    const char *id = str_at(root, "id");
    CHECK(id != NULL && strlen(id) == 25 && id[0] == 'c' &&
          strspn(id + 1, "0123456789abcdef") == 24);
    CHECK(strcmp(str_at(root, "kind"), "consultation") == 0);
    CHECK(strcmp(str_at(root, "starts_at"), starts) == 0);
    /* Links expire at max(now, starts_at) + expires_in. */
    CHECK(strcmp(str_at(root, "expires_at"), expires) == 0);

    json_t *links = json_object_get(root, "links");
    json_t *patients = json_object_get(links, "patients");
    json_t *guests = json_object_get(links, "guests");
    CHECK_EQ(json_array_size(patients), 1);
    CHECK_EQ(json_array_size(guests), 1);
    CHECK(json_equal(json_object_get(links, "patient"), json_array_get(patients, 0)));
    const char *urls[3] = {str_at(links, "host"), json_string_value(json_array_get(patients, 0)),
                           json_string_value(json_array_get(guests, 0))};
    const enum token_role roles[3] = {TOKEN_ROLE_HOST, TOKEN_ROLE_PATIENT, TOKEN_ROLE_GUEST};
    char jtis[3][TOKEN_ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        struct token_claims c;
        struct store_token t;
        struct store_participant p;
        char bound[STORE_ID_MAX + 1];
        const char *tok = link_token(urls[i]);
        CHECK(tok != NULL);
        /* The link opens the right seat: signed by us, this consultation, this role. */
        CHECK_EQ(token_verify(secret, sizeof(secret), tok, strlen(tok), NOW, &c), 0);
        CHECK(strcmp(c.consultation, id) == 0);
        CHECK_EQ(c.role, roles[i]);
        CHECK(c.single_use);
        CHECK_EQ(c.iat, NOW);
        CHECK_EQ(c.exp, NOW + 7200 + 3600);
        /* A token made with another secret would not verify. */
        static const uint8_t other[32] = "another-secret-another-secret-!!";
        CHECK_EQ(token_verify(other, sizeof(other), tok, strlen(tok), NOW, &c), -EACCES);
        snprintf(jtis[i], sizeof(jtis[i]), "%s", c.jti);
        /* Recorded: the token row, and a participant whose id is the jti, invited. */
        CHECK_EQ(store_token_get(f.store, c.jti, &t, bound), 0);
        CHECK(strcmp(t.consultation_id, id) == 0);
        CHECK(strcmp(t.role, token_role_name(roles[i])) == 0);
        CHECK_EQ(t.single_use, 1);
        CHECK_EQ(t.expires_at, NOW + 7200 + 3600);
        CHECK(strcmp(bound, "") == 0);
        CHECK_EQ(store_participant_get(f.store, c.jti, &p), 0);
        CHECK(strcmp(p.consultation_id, id) == 0);
        CHECK(strcmp(p.state, "invited") == 0);
        CHECK(strcmp(p.role, token_role_name(roles[i])) == 0);
    }
    CHECK(strcmp(jtis[0], jtis[1]) != 0 && strcmp(jtis[1], jtis[2]) != 0);

    /* The room id is random, not derived from the consultation id. */
    struct store_consultation c;
    CHECK_EQ(store_consultation_get(f.store, id, &c), 0);
    CHECK(c.room_id[0] == 'r' && strlen(c.room_id) == 25);
    CHECK(strcmp(c.room_id + 1, id + 1) != 0);
    CHECK_EQ(c.created_at, NOW);
    CHECK_EQ(c.starts_at, NOW + 7200);

    /* Audited: the creation and each link, never a token. */
    struct audit_seen a = {0};
    CHECK_EQ(store_audit_list(f.store, id, audit_count, &a), 0);
    CHECK_EQ(a.create, 1);
    CHECK_EQ(a.link_issued, 3);
    CHECK_EQ(a.other, 0);
    CHECK_EQ(a.leaked, 0);
    json_decref(root);
    api_resp_free(&r);
    CHECK(r.body == NULL);
    api_resp_free(NULL);
    fixture_close(&f);
    return 0;
}

static int test_api_create_defaults(void)
{
    struct fixture f;
    char now_s[API_TIME_MAX], day_s[API_TIME_MAX];
    CHECK_EQ(fixture_open(&f), 0);
    api_time_format(NOW, now_s);
    api_time_format(NOW + 86400, day_s);

    /* {}: a consultation now, one patient, no guests, valid for link-ttl. */
    json_t *root = create(&f, "{}", NOW);
    CHECK(root != NULL);
    json_t *links = json_object_get(root, "links");
    CHECK(strcmp(str_at(root, "kind"), "consultation") == 0);
    CHECK(strcmp(str_at(root, "starts_at"), now_s) == 0);
    CHECK(strcmp(str_at(root, "expires_at"), day_s) == 0);
    CHECK_EQ(json_array_size(json_object_get(links, "patients")), 1);
    CHECK_EQ(json_array_size(json_object_get(links, "guests")), 0);
    json_decref(root);

    /* null is "not given"; an MDT has no patient by default, so "patient" is null. */
    root = create(&f, "{\"kind\":\"mdt\",\"guests\":3,\"starts_at\":null,\"message\":null}", NOW);
    CHECK(root != NULL);
    links = json_object_get(root, "links");
    CHECK(json_is_null(json_object_get(links, "patient")));
    CHECK_EQ(json_array_size(json_object_get(links, "patients")), 0);
    CHECK_EQ(json_array_size(json_object_get(links, "guests")), 3);
    CHECK(link_token(str_at(links, "host")) != NULL);
    json_decref(root);

    /* Not single-use, an offset, a message with line feeds and non-ASCII text. */
    root = create(&f,
                  "{\"kind\":\"group\",\"patients\":2,\"single_use\":false,"
                  "\"starts_at\":\"2026-05-28T23:00:00.5+01:00\",\"expires_in\":60,"
                  "\"message\":\"Dr Brown is running 10 minutes late.\\nCroeso – diolch.\"}",
                  NOW);
    CHECK(root != NULL);
    /* 23:00+01:00 is 22:00Z, after now: links expire a minute after it. */
    CHECK(strcmp(str_at(root, "starts_at"), "2026-05-28T22:00:00Z") == 0);
    CHECK(strcmp(str_at(root, "expires_at"), "2026-05-28T22:01:00Z") == 0);
    links = json_object_get(root, "links");
    CHECK_EQ(json_array_size(json_object_get(links, "patients")), 2);
    const char *tok =
        link_token(json_string_value(json_array_get(json_object_get(links, "patients"), 1)));
    struct token_claims c;
    struct store_token t;
    struct store_consultation cons;
    CHECK_EQ(token_verify(secret, sizeof(secret), tok, strlen(tok), NOW, &c), 0);
    CHECK(!c.single_use);
    CHECK_EQ(store_token_get(f.store, c.jti, &t, NULL), 0);
    CHECK_EQ(t.single_use, 0);
    CHECK_EQ(store_consultation_get(f.store, str_at(root, "id"), &cons), 0);
    CHECK(strcmp(cons.practice_message, "Dr Brown is running 10 minutes late.\nCroeso – diolch.") ==
          0);
    CHECK(strcmp(cons.kind, "group") == 0);
    json_decref(root);

    /* A start earlier today (a late entry) is fine; links expire from now then. */
    root = create(&f, "{\"starts_at\":\"2026-05-28T09:00:00Z\",\"expires_in\":600}", NOW);
    CHECK(root != NULL);
    api_time_format(NOW + 600, day_s);
    CHECK(strcmp(str_at(root, "expires_at"), day_s) == 0);
    json_decref(root);

    /* The most people a consultation may have. */
    root = create(&f, "{\"patients\":20,\"guests\":20}", NOW);
    CHECK(root != NULL);
    CHECK_EQ(json_array_size(json_object_get(json_object_get(root, "links"), "guests")), 20);
    json_decref(root);
    fixture_close(&f);
    return 0;
}

static int test_api_get_state(void)
{
    struct fixture f;
    struct api_resp r;
    char path[128], starts[API_TIME_MAX], body[160];
    CHECK_EQ(fixture_open(&f), 0);
    api_time_format(NOW + 3600, starts);
    snprintf(body, sizeof(body),
             "{\"patients\":2,\"guests\":2,\"starts_at\":\"%s\",\"expires_in\":7200}", starts);
    json_t *made = create(&f, body, NOW);
    CHECK(made != NULL);
    snprintf(path, sizeof(path), "/api/v1/consultations/%s", str_at(made, "id"));

    /* Before its time: scheduled, everyone invited, nobody waiting or in. */
    CHECK_EQ(call(&f, "GET", path, "Bearer " KEY_B, NULL, NOW + 10, &r), 0);
    CHECK_EQ(r.status, 200);
    json_t *root = body_json(&r);
    CHECK(root != NULL);
    CHECK(strcmp(str_at(root, "id"), str_at(made, "id")) == 0);
    CHECK(strcmp(str_at(root, "state"), "scheduled") == 0);
    CHECK(strcmp(str_at(root, "starts_at"), starts) == 0);
    CHECK(json_is_null(json_object_get(root, "ended_at")));
    json_t *parts = json_object_get(root, "participants");
    CHECK_EQ(json_array_size(parts), 5);
    static const char *const roles[] = {"host", "patient", "patient", "guest", "guest"};
    static const char *const labels[] = {"Clinician", "Patient", "Patient 2", "Guest 1", "Guest 2"};
    char now_s[API_TIME_MAX];
    api_time_format(NOW, now_s);
    for (size_t i = 0; i < 5; i++) {
        json_t *p = json_array_get(parts, i);
        CHECK(strcmp(str_at(p, "role"), roles[i]) == 0);
        CHECK(strcmp(str_at(p, "label"), labels[i]) == 0);
        CHECK(strcmp(str_at(p, "state"), "invited") == 0);
        CHECK(strcmp(str_at(p, "since"), now_s) == 0);
        CHECK(str_at(p, "id") != NULL && strlen(str_at(p, "id")) == TOKEN_ID_LEN);
        CHECK_EQ(json_object_size(p), 5); /* id, role, label, state, since: no names */
    }
    CHECK_EQ(json_array_size(json_object_get(root, "waiting")), 0);
    CHECK_EQ(json_array_size(json_object_get(root, "in")), 0);
    char patient[TOKEN_ID_LEN + 1], host[TOKEN_ID_LEN + 1];
    snprintf(host, sizeof(host), "%s", str_at(json_array_get(parts, 0), "id"));
    snprintf(patient, sizeof(patient), "%s", str_at(json_array_get(parts, 2), "id"));
    json_decref(root);
    api_resp_free(&r);

    /* During it: the clinician is in, the second patient waits in the waiting room. */
    CHECK_EQ(store_participant_set_state(f.store, host, "admitted", NOW + 3700), 0);
    CHECK_EQ(store_participant_set_state(f.store, patient, "waiting", NOW + 3800), 0);
    CHECK_EQ(call(&f, "GET", path, "Bearer " KEY_A, NULL, NOW + 3900, &r), 0);
    CHECK_EQ(r.status, 200);
    root = body_json(&r);
    CHECK(strcmp(str_at(root, "state"), "live") == 0);
    CHECK_EQ(json_array_size(json_object_get(root, "in")), 1);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(root, "in"), 0)), host) == 0);
    CHECK_EQ(json_array_size(json_object_get(root, "waiting")), 1);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(root, "waiting"), 0)), patient) ==
          0);
    char since[API_TIME_MAX];
    api_time_format(NOW + 3800, since);
    json_t *p2 = json_array_get(json_object_get(root, "participants"), 2);
    CHECK(strcmp(str_at(p2, "state"), "waiting") == 0);
    CHECK(strcmp(str_at(p2, "since"), since) == 0);
    json_decref(root);
    api_resp_free(&r);

    /* After its links expired. */
    CHECK_EQ(call(&f, "GET", path, "Bearer " KEY_A, NULL, NOW + 3600 + 7200, &r), 0);
    root = body_json(&r);
    CHECK(strcmp(str_at(root, "state"), "expired") == 0);
    json_decref(root);
    api_resp_free(&r);

    /* Unknown and malformed ids. */
    CHECK_EQ(call(&f, "GET", "/api/v1/consultations/c000000000000000000000000", "Bearer " KEY_A,
                  NULL, NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
    api_resp_free(&r);
    static const char *const bad_ids[] = {
        "/api/v1/consultations/",
        "/api/v1/consultations/c%27%20OR%201=1",
        "/api/v1/consultations/c'or'1'='1",
        "/api/v1/consultations/"
        "c00000000000000000000000000000000000000000000000000000000000000000000",
        "/api/v1/consultations/../consultations",
    };
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        CHECK_EQ(call(&f, "GET", bad_ids[i], "Bearer " KEY_A, NULL, NOW, &r), 0);
        CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
        api_resp_free(&r);
    }
    json_decref(made);
    fixture_close(&f);
    return 0;
}

static int test_api_delete_ends(void)
{
    struct fixture f;
    struct api_resp r;
    char path[128];
    CHECK_EQ(fixture_open(&f), 0);
    json_t *made = create(&f, "{\"guests\":1}", NOW);
    CHECK(made != NULL);
    const char *id = str_at(made, "id");
    snprintf(path, sizeof(path), "/api/v1/consultations/%s", id);

    CHECK_EQ(call(&f, "DELETE", path, "Bearer " KEY_A, NULL, NOW + 600, &r), 0);
    CHECK_EQ(r.status, 204);
    CHECK(r.body == NULL && r.body_len == 0);
    /* Live calls are told, once, after the end is stored. */
    CHECK_EQ(f.ended_calls, 1);
    CHECK(strcmp(f.ended_id, id) == 0);
    api_resp_free(&r);

    CHECK_EQ(call(&f, "DELETE", path, "Bearer " KEY_A, NULL, NOW + 700, &r), 0);
    CHECK_EQ(expect_error(&r, 409, "already_ended", NULL), 0);
    CHECK_EQ(f.ended_calls, 1);
    api_resp_free(&r);

    CHECK_EQ(call(&f, "GET", path, "Bearer " KEY_A, NULL, NOW + 800, &r), 0);
    CHECK_EQ(r.status, 200);
    json_t *root = body_json(&r);
    char ended[API_TIME_MAX];
    api_time_format(NOW + 600, ended);
    CHECK(strcmp(str_at(root, "state"), "ended") == 0);
    CHECK(strcmp(str_at(root, "ended_at"), ended) == 0);
    json_decref(root);
    api_resp_free(&r);

    struct audit_seen a = {0};
    CHECK_EQ(store_audit_list(f.store, id, audit_count, &a), 0);
    CHECK_EQ(a.end, 1);

    /* Unknown or malformed ids: 404, and nobody is told anything ended. */
    CHECK_EQ(call(&f, "DELETE", "/api/v1/consultations/cffffffffffffffffffffffff", "Bearer " KEY_A,
                  NULL, NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
    api_resp_free(&r);
    CHECK_EQ(call(&f, "DELETE", "/api/v1/consultations/a b", "Bearer " KEY_A, NULL, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
    api_resp_free(&r);
    CHECK_EQ(f.ended_calls, 1);

    /* Without an ended callback, DELETE works all the same. */
    f.ctx.ended = NULL;
    json_t *other = create(&f, "{}", NOW);
    CHECK(other != NULL);
    snprintf(path, sizeof(path), "/api/v1/consultations/%s", str_at(other, "id"));
    CHECK_EQ(call(&f, "DELETE", path, "Bearer " KEY_A, NULL, NOW, &r), 0);
    CHECK_EQ(r.status, 204);
    api_resp_free(&r);
    json_decref(other);
    json_decref(made);
    fixture_close(&f);
    return 0;
}

static int test_api_auth(void)
{
    struct fixture f;
    struct api_resp r;
    CHECK_EQ(fixture_open(&f), 0);
    static const char *const refused[] = {
        NULL,
        "",
        "Bearer",
        "Bearer ",
        KEY_A,                                  /* no scheme */
        "Basic " KEY_A,                         /* another scheme */
        "Bearer practice-key-aaaaaaaaaaaaaaab", /* same length, last character wrong */
        "Bearer practice-key-aaaaaaaaaaaaaaa",  /* a prefix */
        "Bearer " KEY_A "a",                    /* longer */
        "Bearer " KEY_A "," KEY_B,              /* the configured list is not a key */
        "BearerX" KEY_A,
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        /* Refused on every path, before the path or body is looked at. */
        CHECK_EQ(call(&f, "POST", "/api/v1/consultations", refused[i], "{}", NOW, &r), 0);
        CHECK_EQ(expect_error(&r, 401, "unauthorized", NULL), 0);
        CHECK(r.www_authenticate);
        api_resp_free(&r);
        CHECK_EQ(call(&f, "GET", "/api/nothing-here", refused[i], NULL, NOW, &r), 0);
        CHECK_EQ(r.status, 401);
        api_resp_free(&r);
    }
    CHECK_EQ(live_count(&f), 0);

    /* The scheme is case-insensitive (RFC 7235); spaces around the key are fine; either key. */
    static const char *const accepted[] = {"Bearer " KEY_A, "bearer " KEY_B,
                                           "BEARER   " KEY_A "  "};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        CHECK_EQ(call(&f, "POST", "/api/v1/consultations", accepted[i], "{}", NOW, &r), 0);
        CHECK_EQ(r.status, 201);
        CHECK(!r.www_authenticate);
        api_resp_free(&r);
    }
    CHECK_EQ(live_count(&f), 3);
    fixture_close(&f);
    return 0;
}

/* Each body is refused with 400 (413 for size) and a reason that names the member. */
static int test_api_bad_bodies(void)
{
    struct fixture f;
    struct api_resp r;
    char past[96], ahead[96], almost[96];
    CHECK_EQ(fixture_open(&f), 0);
    char t[API_TIME_MAX];
    api_time_format(NOW - 86400 - 1, t);
    snprintf(past, sizeof(past), "{\"starts_at\":\"%s\"}", t);
    api_time_format(NOW + 366 * 86400 + 1, t);
    snprintf(ahead, sizeof(ahead), "{\"starts_at\":\"%s\"}", t);
    api_time_format(NOW + 300 * 86400, t);
    snprintf(almost, sizeof(almost), "{\"starts_at\":\"%s\"}", t);
    const struct {
        const char *body;
        const char *code, *member;
    } bad[] = {
        {"", "bad_json", NULL},
        {"not json", "bad_json", NULL},
        {"{\"guests\":1", "bad_json", NULL},
        {"{} {}", "bad_json", NULL},
        {"[]", "bad_json", NULL},
        {"\"consultation\"", "bad_json", NULL},
        {"{\"guests\":1,\"guests\":2}", "bad_json", NULL},
        {"{\"message\":\"\\u0000\"}", "bad_json", NULL},
        {"{\"guest\":1}", "unknown_member", "guest"},
        {"{\"guests\":1,\"patient_name\":\"Jane\"}", "unknown_member", "patient_name"},
        {"{\"kind\":\"surgery\"}", "invalid_value", "kind"},
        {"{\"kind\":1}", "invalid_value", "kind"},
        {"{\"patients\":21}", "invalid_value", "patients"},
        {"{\"patients\":-1}", "invalid_value", "patients"},
        {"{\"guests\":21}", "invalid_value", "guests"},
        {"{\"guests\":1.0}", "invalid_value", "guests"},
        {"{\"guests\":\"1\"}", "invalid_value", "guests"},
        {"{\"guests\":true}", "invalid_value", "guests"},
        {"{\"guests\":99999999999999999999}", "bad_json", NULL}, /* too big for an integer */
        {"{\"starts_at\":\"2026-12-01 09:30:00Z\"}", "invalid_value", "starts_at"},
        {"{\"starts_at\":\"2026-12-01T09:30:00\"}", "invalid_value", "starts_at"},
        {"{\"starts_at\":\"2026-02-29T09:30:00Z\"}", "invalid_value", "starts_at"},
        {"{\"starts_at\":\"2026-12-01T24:00:00Z\"}", "invalid_value", "starts_at"},
        {"{\"starts_at\":\"tomorrow\"}", "invalid_value", "starts_at"},
        {"{\"starts_at\":1780000000}", "invalid_value", "starts_at"},
        {past, "invalid_value", "starts_at"},
        {ahead, "invalid_value", "starts_at"},
        {"{\"expires_in\":59}", "invalid_value", "expires_in"},
        {"{\"expires_in\":7776001}", "invalid_value", "expires_in"},
        {"{\"expires_in\":\"3600\"}", "invalid_value", "expires_in"},
        {"{\"message\":\"Ring the bell\\u0007\"}", "invalid_value", "message"},
        {"{\"message\":\"line\\r\\nline\"}", "invalid_value", "message"},
        {"{\"message\":\"\\u0085\"}", "invalid_value", "message"},
        {"{\"message\":[]}", "invalid_value", "message"},
        {"{\"single_use\":1}", "invalid_value", "single_use"},
        {"{\"single_use\":\"false\"}", "invalid_value", "single_use"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, bad[i].body, NOW, &r),
                 0);
        if (expect_error(&r, 400, bad[i].code, bad[i].member) < 0) {
            fprintf(stderr, "body: %s\n", bad[i].body);
            return -1;
        }
        api_resp_free(&r);
    }
    /* An unknown member is named even when another member is bad too. */
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A,
                  "{\"guests\":99,\"colour\":\"red\"}", NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 400, "unknown_member", "colour"), 0);
    api_resp_free(&r);

    /* Invalid UTF-8 is refused as JSON; the reason stays printable ASCII. */
    const char invalid_utf8[] = "{\"message\":\"\xff\xfe\"}";
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, invalid_utf8, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 400, "bad_json", NULL), 0);
    for (size_t i = 0; i < r.body_len; i++)
        CHECK((unsigned char)r.body[i] >= 0x20 && (unsigned char)r.body[i] < 0x7f);
    api_resp_free(&r);

    /* A message of 1024 bytes is fine, 1025 is not. */
    char msg[1100];
    int n = snprintf(msg, sizeof(msg), "{\"message\":\"");
    memset(msg + n, 'x', 1024);
    snprintf(msg + n + 1024, sizeof(msg) - (size_t)n - 1024, "\"}");
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, msg, NOW, &r), 0);
    CHECK_EQ(r.status, 201);
    api_resp_free(&r);
    memset(msg + n, 'x', 1025);
    snprintf(msg + n + 1025, sizeof(msg) - (size_t)n - 1025, "\"}");
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, msg, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 400, "invalid_value", "message"), 0);
    api_resp_free(&r);

    /* Over 16 KiB: 413, whatever it holds. */
    size_t big_len = API_BODY_MAX + 1;
    char *big = malloc(big_len + 1);
    CHECK(big != NULL);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    big[big_len] = '\0';
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, big, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 413, "too_large", NULL), 0);
    api_resp_free(&r);
    /* Exactly 16 KiB of whitespace around {} is a fine body. */
    big[big_len - 2] = '}';
    big[big_len - 1] = '\0';
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, big, NOW, &r), 0);
    CHECK_EQ(r.status, 201);
    api_resp_free(&r);
    free(big);

    /* 300 days ahead is within the year. */
    CHECK_EQ(call(&f, "POST", "/api/v1/consultations", "Bearer " KEY_A, almost, NOW, &r), 0);
    CHECK_EQ(r.status, 201);
    api_resp_free(&r);

    /* Only the three accepted bodies made consultations. */
    CHECK_EQ(live_count(&f), 3);
    fixture_close(&f);
    return 0;
}

static int test_api_methods_and_paths(void)
{
    struct fixture f;
    struct api_resp r;
    CHECK_EQ(fixture_open(&f), 0);
    static const char *const collection_bad[] = {"GET", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < sizeof(collection_bad) / sizeof(collection_bad[0]); i++) {
        CHECK_EQ(
            call(&f, collection_bad[i], "/api/v1/consultations", "Bearer " KEY_A, NULL, NOW, &r),
            0);
        CHECK_EQ(expect_error(&r, 405, "method_not_allowed", NULL), 0);
        CHECK(r.allow != NULL && strcmp(r.allow, "POST") == 0);
        api_resp_free(&r);
    }
    static const char *const item_bad[] = {"POST", "PUT", "PATCH", "get"};
    for (size_t i = 0; i < sizeof(item_bad) / sizeof(item_bad[0]); i++) {
        CHECK_EQ(call(&f, item_bad[i], "/api/v1/consultations/c1", "Bearer " KEY_A, "{}", NOW, &r),
                 0);
        CHECK_EQ(expect_error(&r, 405, "method_not_allowed", NULL), 0);
        CHECK(r.allow != NULL && strcmp(r.allow, "GET, DELETE") == 0);
        api_resp_free(&r);
    }
    static const char *const unknown[] = {
        "/api",
        "/api/",
        "/api/v2/consultations",
        "/api/v1/consultation",
        "/api/v1/consultations/c1/participants",
        "/api/v1/consultations//",
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        CHECK_EQ(call(&f, "GET", unknown[i], "Bearer " KEY_A, NULL, NOW, &r), 0);
        CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
        CHECK(r.allow == NULL);
        api_resp_free(&r);
    }
    CHECK(api_path_is_api("/api"));
    CHECK(api_path_is_api("/api/"));
    CHECK(api_path_is_api("/api/v1/consultations"));
    CHECK(!api_path_is_api("/apix"));
    CHECK(!api_path_is_api("/join/abc"));
    CHECK(!api_path_is_api("/"));
    CHECK(!api_path_is_api(NULL));

    /* A glue mistake is answered, not crashed on. */
    struct api_req req = {.method = "GET", .path = NULL, .now = NOW};
    CHECK_EQ(api_handle(&f.ctx, &req, &r), 0);
    CHECK_EQ(expect_error(&r, 500, "internal", NULL), 0);
    api_resp_free(&r);
    CHECK_EQ(api_handle(&f.ctx, &req, NULL), -EINVAL);
    fixture_close(&f);
    return 0;
}

static int test_api_label(void)
{
    char out[API_LABEL_MAX];
    static const struct {
        const char *role;
        int n;
        const char *want;
    } cases_[] = {
        {"host", 1, "Clinician"},    {"host", 2, "Clinician 2"},    {"patient", 1, "Patient"},
        {"patient", 2, "Patient 2"}, {"guest", 1, "Guest 1"},       {"guest", 12, "Guest 12"},
        {"observer", 1, "Observer"}, {"observer", 3, "Observer 3"}, {"nurse", 4, "Participant 4"},
        {NULL, 1, "Participant 1"},
    };
    for (size_t i = 0; i < sizeof(cases_) / sizeof(cases_[0]); i++) {
        api_label(out, sizeof(out), cases_[i].role, cases_[i].n);
        CHECK(strcmp(out, cases_[i].want) == 0);
    }
    char tiny[4];
    api_label(tiny, sizeof(tiny), "patient", 1);
    CHECK(strcmp(tiny, "Pat") == 0);
    return 0;
}

static int test_api_time(void)
{
    int64_t t;
    static const struct {
        const char *in;
        int64_t want;
    } good[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-01T09:30:00Z", 1796117400},
        {"2026-12-01t09:30:00z", 1796117400},
        {"2026-12-01T10:30:00+01:00", 1796117400},
        {"2026-12-01T04:00:00-05:30", 1796117400},
        {"2026-12-01T09:30:00-00:00", 1796117400},
        {"2026-12-01T09:30:00.999999Z", 1796117400},
        {"2028-02-29T00:00:00Z", 1835395200},
        {"2000-02-29T12:00:00Z", 951825600},
        {"2016-12-31T23:59:60Z", 1483228800}, /* a leap second: the next second */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_EQ(api_time_parse(good[i].in, strlen(good[i].in), &t), 0);
        CHECK_EQ(t, good[i].want);
    }
    static const char *const bad[] = {
        "",
        "2026-12-01",
        "2026-12-01T09:30Z",
        "2026-12-01T09:30:00",
        "2026-12-01T09:30:00+0100",
        "2026-12-01T09:30:00+24:00",
        "2026-12-01T09:30:00.Z",
        "2026-13-01T09:30:00Z",
        "2026-00-01T09:30:00Z",
        "2026-04-31T09:30:00Z",
        "1900-02-29T09:30:00Z",
        "2026-12-01T09:60:00Z",
        "2026-12-01T09:30:61Z",
        "2026-12-01T09:30:00Z ",
        " 2026-12-01T09:30:00Z",
        "+2026-12-01T09:30:00Z",
        "2026-12-01T09:30:00ZZ",
        "２026-12-01T09:30:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_time_parse(bad[i], strlen(bad[i]), &t) != -EINVAL) {
            fprintf(stderr, "accepted '%s'\n", bad[i]);
            return -1;
        }
    }
    /* Length, not NUL, ends the text. */
    CHECK_EQ(api_time_parse("2026-12-01T09:30:00Zjunk", 20, &t), 0);
    CHECK_EQ(t, 1796117400);

    char out[API_TIME_MAX];
    api_time_format(1796117400, out);
    CHECK(strcmp(out, "2026-12-01T09:30:00Z") == 0);
    api_time_format(-5, out);
    CHECK(strcmp(out, "1970-01-01T00:00:00Z") == 0);
    api_time_format(INT64_MAX, out);
    CHECK(strcmp(out, "9999-12-31T23:59:59Z") == 0);
    return 0;
}

/* Both invitation channels configured, as finish would leave them (the key is read from its
 * file there; set directly here). */
static int fixture_channels(struct fixture *f)
{
    char err[256];
    snprintf(f->cfg.sms_api_key, sizeof(f->cfg.sms_api_key),
             "test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0");
    if (sig_config_set(&f->cfg, "sms-template-id", "f33517ff-2a88-4f6e-b855-c550268ce08a", "t", err,
                       sizeof(err)) < 0 ||
        sig_config_set(&f->cfg, "smtp-url", "smtps://smtp.example.org", "t", err, sizeof(err)) <
            0 ||
        sig_config_set(&f->cfg, "smtp-from", "noreply@practice.example", "t", err, sizeof(err)) < 0)
        return -1;
    return 0;
}

struct invite_audit {
    int requested, issued, other;
    int leaked; /* a row that holds the destination */
};

static int invite_audit_cb(const struct store_audit_row *row, void *arg)
{
    struct invite_audit *a = arg;
    if (strcmp(row->action, "invite_requested") == 0)
        a->requested++;
    else if (strcmp(row->action, "link_issued") == 0)
        a->issued++;
    else
        a->other++;
    if (strstr(row->detail, "900123") || strstr(row->detail, "example.org"))
        a->leaked++;
    return 0;
}

/* POST .../invite: a fresh link and participant for the role, the invitation queued with its
 * destination in the store and only its masked form anywhere else, the sender told; GET lists
 * it. */
static int test_api_invite(void)
{
    struct fixture f;
    struct api_resp r;
    char path[128], get[128];
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(fixture_channels(&f), 0);
    json_t *made = create(&f, "{\"patients\":0,\"expires_in\":3600}", NOW);
    CHECK(made != NULL);
    const char *id = str_at(made, "id");
    snprintf(get, sizeof(get), "/api/v1/consultations/%s", id);
    snprintf(path, sizeof(path), "/api/v1/consultations/%s/invite", id);

    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"sms\",\"phone\":\"07700 900123\"}", NOW + 5, &r),
             0);
    CHECK_EQ(r.status, 202);
    CHECK(strstr(r.body, "900123") == NULL);
    json_t *inv = body_json(&r);
    api_resp_free(&r);
    CHECK(inv != NULL);
    char when[API_TIME_MAX];
    api_time_format(NOW + 5, when);
    CHECK(strcmp(str_at(inv, "status"), "queued") == 0);
    CHECK(strcmp(str_at(inv, "channel"), "sms") == 0);
    CHECK(strcmp(str_at(inv, "role"), "patient") == 0);
    CHECK(strcmp(str_at(inv, "destination"),
                 "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 123") == 0);
    CHECK(strcmp(str_at(inv, "created_at"), when) == 0);
    CHECK(json_is_null(json_object_get(inv, "last_error")));
    CHECK_EQ(json_integer_value(json_object_get(inv, "attempts")), 0);
    CHECK_EQ(json_object_size(inv), 10);
    const char *iid = str_at(inv, "id");
    CHECK(iid != NULL && iid[0] == 'i' && strlen(iid) == 25);
    /* The sender was told, once, after the commit. */
    CHECK_EQ(f.invited_calls, 1);
    CHECK(strcmp(f.invited_id, iid) == 0);
    /* The store holds the number (to send it), normalised. */
    struct store_invitation row;
    CHECK_EQ(store_invitation_get(f.store, iid, &row), 0);
    CHECK(strcmp(row.destination, "+447700900123") == 0);
    CHECK(strcmp(row.participant_id, str_at(inv, "participant")) == 0);

    /* GET: the invitation, and its seat as the consultation's first patient. */
    CHECK_EQ(call(&f, "GET", get, "Bearer " KEY_A, NULL, NOW + 6, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "900123") == NULL);
    json_t *root = body_json(&r);
    api_resp_free(&r);
    json_t *list = json_object_get(root, "invitations");
    CHECK_EQ(json_array_size(list), 1);
    CHECK(json_equal(json_array_get(list, 0), inv));
    json_t *parts = json_object_get(root, "participants");
    CHECK_EQ(json_array_size(parts), 2);
    json_t *seat = json_array_get(parts, 1);
    CHECK(strcmp(str_at(seat, "id"), str_at(inv, "participant")) == 0);
    CHECK(strcmp(str_at(seat, "label"), "Patient") == 0);
    json_decref(root);

    /* An email to a guest. */
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"email\",\"email\":\"pat.smith@example.org\",\"role\":\"guest\"}",
                  NOW + 7, &r),
             0);
    CHECK_EQ(r.status, 202);
    root = body_json(&r);
    api_resp_free(&r);
    CHECK(strcmp(str_at(root, "destination"),
                 "p\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.org") == 0);
    CHECK(strcmp(str_at(root, "role"), "guest") == 0);
    json_decref(root);
    CHECK_EQ(f.invited_calls, 2);

    /* Audit: each link issued, each invitation requested, never where to. */
    struct invite_audit a = {0};
    CHECK_EQ(store_audit_list(f.store, id, invite_audit_cb, &a), 0);
    CHECK_EQ(a.requested, 2);
    CHECK_EQ(a.issued, 3); /* the clinician's at booking, and one per invitation */
    CHECK_EQ(a.leaked, 0);

    /* Refusals, each leaving nothing behind. */
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"sms\",\"phone\":\"01632 960123\"}", NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 400, "not_mobile", "phone"), 0);
    api_resp_free(&r);
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A, "{\"channel\":\"email\",\"email\":\"pat\"}",
                  NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 400, "invalid_email", "email"), 0);
    api_resp_free(&r);
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A, NULL, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 400, "bad_json", NULL), 0);
    api_resp_free(&r);
    CHECK_EQ(
        call(&f, "POST", path, NULL, "{\"channel\":\"sms\",\"phone\":\"07700900123\"}", NOW, &r),
        0);
    CHECK_EQ(r.status, 401);
    api_resp_free(&r);
    CHECK_EQ(call(&f, "GET", path, "Bearer " KEY_A, NULL, NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 405, "method_not_allowed", NULL), 0);
    CHECK(r.allow != NULL && strcmp(r.allow, "POST") == 0);
    api_resp_free(&r);
    static const char *const no_paths[] = {
        "/api/v1/consultations//invite",
        "/api/v1/consultations/c000000000000000000000000/invite",
        "/api/v1/consultations/c'or'1/invite",
    };
    for (size_t i = 0; i < sizeof(no_paths) / sizeof(no_paths[0]); i++) {
        CHECK_EQ(call(&f, "POST", no_paths[i], "Bearer " KEY_A,
                      "{\"channel\":\"sms\",\"phone\":\"07700900123\"}", NOW, &r),
                 0);
        CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
        api_resp_free(&r);
    }
    char deeper[160];
    snprintf(deeper, sizeof(deeper), "%s/x", path);
    CHECK_EQ(call(&f, "POST", deeper, "Bearer " KEY_A, "{}", NOW, &r), 0);
    CHECK_EQ(expect_error(&r, 404, "not_found", NULL), 0);
    api_resp_free(&r);
    /* Expired: its links would not work. */
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"sms\",\"phone\":\"07700900123\"}", NOW + 3600, &r),
             0);
    CHECK_EQ(expect_error(&r, 404, "consultation_expired", NULL), 0);
    api_resp_free(&r);
    /* A channel the service has no settings for. */
    f.cfg.smtp_url[0] = '\0';
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"email\",\"email\":\"pat@example.org\"}", NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 503, "channel_unavailable", "channel"), 0);
    api_resp_free(&r);
    int n = 0;
    CHECK_EQ(store_invitation_count(f.store, id, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(f.invited_calls, 2);

    /* At most API_INVITES_MAX. */
    for (int i = 2; i < API_INVITES_MAX; i++) {
        CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                      "{\"channel\":\"sms\",\"phone\":\"+33612345678\"}", NOW, &r),
                 0);
        CHECK_EQ(r.status, 202);
        api_resp_free(&r);
    }
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"sms\",\"phone\":\"+33612345678\"}", NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 409, "too_many_invitations", NULL), 0);
    api_resp_free(&r);
    CHECK_EQ(store_invitation_count(f.store, id, &n), 0);
    CHECK_EQ(n, API_INVITES_MAX);

    /* Ended: 404 consultation_ended. */
    CHECK_EQ(call(&f, "DELETE", get, "Bearer " KEY_A, NULL, NOW, &r), 0);
    CHECK_EQ(r.status, 204);
    api_resp_free(&r);
    CHECK_EQ(call(&f, "POST", path, "Bearer " KEY_A,
                  "{\"channel\":\"sms\",\"phone\":\"07700900123\"}", NOW, &r),
             0);
    CHECK_EQ(expect_error(&r, 404, "consultation_ended", NULL), 0);
    api_resp_free(&r);

    json_decref(inv);
    json_decref(made);
    fixture_close(&f);
    return 0;
}

static const struct test_case cases[] = {
    {"api_create_links", test_api_create_links},
    {"api_create_defaults", test_api_create_defaults},
    {"api_get_state", test_api_get_state},
    {"api_delete_ends", test_api_delete_ends},
    {"api_auth", test_api_auth},
    {"api_bad_bodies", test_api_bad_bodies},
    {"api_methods_and_paths", test_api_methods_and_paths},
    {"api_label", test_api_label},
    {"api_time", test_api_time},
    {"api_invite", test_api_invite},
};

TEST_MAIN(cases)
