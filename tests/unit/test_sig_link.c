/* Join links against a real store file: a good link opens its seat, and every bad one (tampered,
 * expired, unknown, another consultation's, ended, denied, used in another browser) is refused
 * with the status and words PROTOCOL.md promises, and never a room. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "harness.h"
#include "link.h"
#include "store.h"
#include "token.h"

#define NOW 1780000000LL

static const uint8_t secret[32] = "link-test-secret-link-test-secr!";

struct fixture {
    char dir[64];
    char path[96];
    struct store *store;
};

/* A link issued as the API issues it: participant (id = jti) and token rows, then the token. */
struct issued {
    char jti[TOKEN_ID_LEN + 1];
    char tok[TOKEN_SIGNED_MAX];
    size_t len;
};

static int fixture_open(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/gpsfu-link-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/sig.db", f->dir);
    return store_open(&f->store, f->path);
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
}

static int cons_add(struct fixture *f, const char *id, const char *room, int64_t expires)
{
    struct store_consultation c;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.kind, sizeof(c.kind), "consultation");
    snprintf(c.room_id, sizeof(c.room_id), "%s", room);
    c.created_at = NOW;
    c.starts_at = NOW;
    c.expires_at = expires;
    return store_consultation_create(f->store, &c);
}

static int sign(const char *cons, enum token_role role, const char *jti, bool single_use,
                int64_t exp, struct issued *out)
{
    struct token_claims c;
    memset(&c, 0, sizeof(c));
    snprintf(c.consultation, sizeof(c.consultation), "%s", cons);
    c.role = role;
    snprintf(c.jti, sizeof(c.jti), "%s", jti);
    c.iat = NOW;
    c.exp = exp;
    c.single_use = single_use;
    int n = token_sign(secret, sizeof(secret), &c, out->tok, sizeof(out->tok));
    if (n < 0)
        return n;
    snprintf(out->jti, sizeof(out->jti), "%s", jti);
    out->len = (size_t)n;
    return 0;
}

static int issue(struct fixture *f, const char *cons, enum token_role role, bool single_use,
                 int64_t exp, struct issued *out)
{
    struct store_participant p;
    struct store_token t;
    char jti[TOKEN_ID_LEN + 1];
    if (token_id_new(jti) < 0)
        return -1;
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", jti);
    snprintf(p.consultation_id, sizeof(p.consultation_id), "%s", cons);
    snprintf(p.role, sizeof(p.role), "%s", token_role_name(role));
    snprintf(p.state, sizeof(p.state), "invited");
    p.state_at = NOW;
    memset(&t, 0, sizeof(t));
    snprintf(t.jti, sizeof(t.jti), "%s", jti);
    snprintf(t.consultation_id, sizeof(t.consultation_id), "%s", cons);
    snprintf(t.role, sizeof(t.role), "%s", token_role_name(role));
    t.single_use = single_use;
    t.expires_at = exp;
    if (store_participant_add(f->store, &p) < 0 || store_token_add(f->store, &t) < 0)
        return -1;
    return sign(cons, role, jti, single_use, exp, out);
}

static int check(struct fixture *f, const struct issued *l, const char *session, int64_t now,
                 struct link_info *out)
{
    return link_check(secret, sizeof(secret), f->store, l->tok, l->len, session, now, out);
}

static int use(struct fixture *f, const struct issued *l, const char *session, int64_t now,
               struct link_info *out)
{
    return link_use(secret, sizeof(secret), f->store, l->tok, l->len, session, now, out);
}

/* Checks that err is refused with the status and code a person and a program should get. */
static int expect_refusal(int err, int status, const char *code)
{
    struct link_error e = link_error_of(err);
    if (e.status != status || strcmp(e.code, code) != 0) {
        fprintf(stderr, "error %d: wanted %d %s, got %d %s\n", err, status, code, e.status, e.code);
        return -1;
    }
    return 0;
}

struct refusals {
    int n;
    char last_detail[STORE_DETAIL_MAX + 1];
    char last_actor[STORE_WORD_MAX + 1];
};

static int count_refusals(const struct store_audit_row *row, void *arg)
{
    struct refusals *r = arg;
    if (strcmp(row->action, "join_refused") == 0) {
        r->n++;
        snprintf(r->last_detail, sizeof(r->last_detail), "%s", row->detail);
        snprintf(r->last_actor, sizeof(r->last_actor), "%s", row->actor_role);
    }
    return 0;
}

static int test_link_good(void)
{
    struct fixture f;
    struct issued l;
    struct link_info info;
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 3600, &l), 0);

    /* Opening the page (no session) and checking for a browser both pass, and use nothing. */
    memset(&info, 0, sizeof(info));
    CHECK_EQ(check(&f, &l, NULL, NOW + 10, &info), 0);
    CHECK(strcmp(info.claims.consultation, "cA") == 0);
    CHECK_EQ(info.claims.role, TOKEN_ROLE_PATIENT);
    CHECK(strcmp(info.claims.jti, l.jti) == 0);
    CHECK(strcmp(info.cons.id, "cA") == 0);
    CHECK(strcmp(info.cons.room_id, "rA") == 0);
    CHECK_EQ(check(&f, &l, "sess-a", NOW + 10, &info), 0);
    CHECK_EQ(check(&f, &l, "sess-b", NOW + 10, &info), 0);

    /* A participant who left may come back with the same link. */
    CHECK_EQ(store_participant_set_state(f.store, l.jti, "left", NOW + 20), 0);
    CHECK_EQ(check(&f, &l, "sess-a", NOW + 30, &info), 0);
    fixture_close(&f);
    return 0;
}

static int test_link_tampered(void)
{
    struct fixture f;
    struct issued l, bad;
    struct link_info info;
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 3600, &l), 0);

    /* Flip one character anywhere: header, payload or signature. */
    const char *dot1 = strchr(l.tok, '.');
    const char *dot2 = strchr(dot1 + 1, '.');
    size_t where[] = {3, (size_t)(dot1 - l.tok) + 5, (size_t)(dot2 - l.tok) + 7, l.len - 2};
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        bad = l;
        bad.tok[where[i]] = bad.tok[where[i]] == 'A' ? 'B' : 'A';
        memset(&info, 0x5a, sizeof(info));
        int err = check(&f, &bad, "sess-a", NOW, &info);
        CHECK_EQ(err, -EBADMSG);
        CHECK_EQ(expect_refusal(err, 401, "bad_token"), 0);
        CHECK_EQ((unsigned char)info.cons.id[0], 0x5a); /* nothing written */
        CHECK_EQ(use(&f, &bad, "sess-a", NOW, &info), -EBADMSG);
    }
    /* Cut short, empty, or signed with another secret. */
    bad = l;
    bad.len = l.len - 10;
    CHECK_EQ(check(&f, &bad, NULL, NOW, &info), -EBADMSG);
    bad.len = 0;
    CHECK_EQ(check(&f, &bad, NULL, NOW, &info), -EBADMSG);
    static const uint8_t other[32] = "not-the-secret-not-the-secret-!!";
    struct token_claims c;
    memset(&c, 0, sizeof(c));
    snprintf(c.consultation, sizeof(c.consultation), "cA");
    c.role = TOKEN_ROLE_HOST;
    snprintf(c.jti, sizeof(c.jti), "%s", l.jti);
    c.iat = NOW;
    c.exp = NOW + 3600;
    int n = token_sign(other, sizeof(other), &c, bad.tok, sizeof(bad.tok));
    CHECK(n > 0);
    bad.len = (size_t)n;
    CHECK_EQ(check(&f, &bad, NULL, NOW, &info), -EBADMSG);

    /* The tampering left the real link untouched and unused. */
    CHECK_EQ(use(&f, &l, "sess-a", NOW, &info), 0);
    /* Refusals before the store knew the link are not audited (no consultation to file them
     * under): only real links' refusals are. */
    struct refusals r = {0};
    CHECK_EQ(store_audit_list(f.store, "cA", count_refusals, &r), 0);
    CHECK_EQ(r.n, 0);
    fixture_close(&f);
    return 0;
}

static int test_link_expired(void)
{
    struct fixture f;
    struct issued l, l2;
    struct link_info info;
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 600, &l), 0);
    CHECK_EQ(check(&f, &l, "sess-a", NOW + 599, &info), 0);
    /* At its expiry the store refuses it, although the token's own check allows clock skew. */
    int err = check(&f, &l, "sess-a", NOW + 600, &info);
    CHECK_EQ(err, -EKEYEXPIRED);
    CHECK_EQ(expect_refusal(err, 401, "link_expired"), 0);
    /* Well past it, the token's signature check refuses it first. */
    CHECK_EQ(check(&f, &l, "sess-a", NOW + 7200, &info), -EKEYEXPIRED);
    CHECK_EQ(use(&f, &l, "sess-a", NOW + 7200, &info), -EKEYEXPIRED);

    /* A link that outlives its consultation stops with it. */
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_GUEST, true, NOW + 7200, &l2), 0);
    CHECK_EQ(check(&f, &l2, "sess-a", NOW + 3599, &info), 0);
    CHECK_EQ(check(&f, &l2, "sess-a", NOW + 3600, &info), -EKEYEXPIRED);
    CHECK_EQ(use(&f, &l2, "sess-a", NOW + 3600, &info), -EKEYEXPIRED);
    struct refusals r = {0};
    CHECK_EQ(store_audit_list(f.store, "cA", count_refusals, &r), 0);
    CHECK_EQ(r.n, 1); /* the second: the first was refused before the store was asked */
    CHECK(strcmp(r.last_detail, "reason=link_expired") == 0);
    CHECK(strcmp(r.last_actor, "guest") == 0);
    fixture_close(&f);
    return 0;
}

static int test_link_unknown_and_other_consultation(void)
{
    struct fixture f;
    struct issued a, forged, unknown;
    struct link_info info;
    char jti[TOKEN_ID_LEN + 1];
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(cons_add(&f, "cB", "rB", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 3600, &a), 0);

    /* Properly signed, but the store never issued this jti (e.g. a replaced database). */
    CHECK_EQ(token_id_new(jti), 0);
    CHECK_EQ(sign("cA", TOKEN_ROLE_PATIENT, jti, true, NOW + 3600, &unknown), 0);
    int err = check(&f, &unknown, "sess-a", NOW, &info);
    CHECK_EQ(err, -ENOENT);
    CHECK_EQ(expect_refusal(err, 401, "bad_token"), 0);
    CHECK_EQ(use(&f, &unknown, "sess-a", NOW, &info), -ENOENT);

    /* Signed with the right secret, naming consultation B, with a jti that belongs to A. */
    CHECK_EQ(sign("cB", TOKEN_ROLE_PATIENT, a.jti, true, NOW + 3600, &forged), 0);
    err = check(&f, &forged, "sess-a", NOW, &info);
    CHECK_EQ(err, -EXDEV);
    CHECK_EQ(expect_refusal(err, 403, "forbidden"), 0);
    CHECK_EQ(use(&f, &forged, "sess-a", NOW, &info), -EXDEV);
    /* The same jti claiming another role in its own consultation. */
    CHECK_EQ(sign("cA", TOKEN_ROLE_HOST, a.jti, true, NOW + 3600, &forged), 0);
    CHECK_EQ(check(&f, &forged, "sess-a", NOW, &info), -EXDEV);
    /* Neither took A's link: its patient still gets in. */
    CHECK_EQ(use(&f, &a, "sess-p", NOW, &info), 0);
    CHECK(strcmp(info.cons.id, "cA") == 0);
    struct refusals r = {0};
    CHECK_EQ(store_audit_list(f.store, "cA", count_refusals, &r), 0);
    CHECK_EQ(r.n, 1);
    CHECK(strcmp(r.last_detail, "reason=forbidden") == 0);
    fixture_close(&f);
    return 0;
}

static int test_link_ended_and_denied(void)
{
    struct fixture f;
    struct issued l, denied, removed;
    struct link_info info;
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 3600, &l), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_GUEST, true, NOW + 3600, &denied), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_GUEST, true, NOW + 3600, &removed), 0);

    CHECK_EQ(store_participant_set_state(f.store, denied.jti, "denied", NOW + 5), 0);
    CHECK_EQ(store_participant_set_state(f.store, removed.jti, "removed", NOW + 5), 0);
    int err = check(&f, &denied, NULL, NOW + 10, &info);
    CHECK_EQ(err, -EPERM);
    CHECK_EQ(expect_refusal(err, 403, "forbidden"), 0);
    CHECK_EQ(check(&f, &removed, "sess-x", NOW + 10, &info), -EPERM);
    CHECK_EQ(use(&f, &removed, "sess-x", NOW + 10, &info), -EPERM);

    CHECK_EQ(use(&f, &l, "sess-a", NOW + 10, &info), 0);
    CHECK_EQ(store_consultation_end(f.store, "cA", NOW + 20), 0);
    /* Ended: even the browser it is bound to is refused, with 410. */
    err = check(&f, &l, "sess-a", NOW + 30, &info);
    CHECK_EQ(err, -ESHUTDOWN);
    CHECK_EQ(expect_refusal(err, 410, "consultation_ended"), 0);
    CHECK_EQ(check(&f, &l, NULL, NOW + 30, &info), -ESHUTDOWN);
    CHECK_EQ(use(&f, &l, "sess-a", NOW + 30, &info), -ESHUTDOWN);
    struct refusals r = {0};
    CHECK_EQ(store_audit_list(f.store, "cA", count_refusals, &r), 0);
    CHECK_EQ(r.n, 2);
    CHECK(strcmp(r.last_detail, "reason=consultation_ended") == 0);
    CHECK(strcmp(r.last_actor, "patient") == 0);
    fixture_close(&f);
    return 0;
}

static int test_link_single_use_session(void)
{
    struct fixture f;
    struct issued l, host;
    struct link_info info;
    CHECK_EQ(fixture_open(&f), 0);
    CHECK_EQ(cons_add(&f, "cA", "rA", NOW + 3600), 0);
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_PATIENT, true, NOW + 3600, &l), 0);

    CHECK_EQ(use(&f, &l, "sess-a", NOW + 10, &info), 0);
    CHECK(strcmp(info.claims.jti, l.jti) == 0);
    /* Another browser: refused, 403 link_used; checking it changed nothing. */
    int err = check(&f, &l, "sess-b", NOW + 20, &info);
    CHECK_EQ(err, -EACCES);
    CHECK_EQ(expect_refusal(err, 403, "link_used"), 0);
    CHECK_EQ(use(&f, &l, "sess-b", NOW + 20, &info), -EACCES);
    /* The first browser reloads: back in. Serving the page (no session) is not refused. */
    CHECK_EQ(check(&f, &l, "sess-a", NOW + 30, &info), 0);
    CHECK_EQ(use(&f, &l, "sess-a", NOW + 30, &info), 0);
    CHECK_EQ(check(&f, &l, NULL, NOW + 30, &info), 0);
    struct refusals r = {0};
    CHECK_EQ(store_audit_list(f.store, "cA", count_refusals, &r), 0);
    CHECK_EQ(r.n, 1);
    CHECK(strcmp(r.last_detail, "reason=link_used") == 0);
    CHECK(strcmp(r.last_actor, "patient") == 0);

    /* Two browsers racing with a fresh link through two connections: exactly one wins. */
    struct store *s2 = NULL;
    struct issued fresh;
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_GUEST, true, NOW + 3600, &fresh), 0);
    CHECK_EQ(store_open(&s2, f.path), 0);
    CHECK_EQ(link_check(secret, sizeof(secret), s2, fresh.tok, fresh.len, "sess-y", NOW, &info), 0);
    CHECK_EQ(use(&f, &fresh, "sess-x", NOW, &info), 0);
    CHECK_EQ(link_use(secret, sizeof(secret), s2, fresh.tok, fresh.len, "sess-y", NOW, &info),
             -EACCES);
    store_close(s2);

    /* A link that is not single-use opens in any number of browsers. */
    CHECK_EQ(issue(&f, "cA", TOKEN_ROLE_HOST, false, NOW + 3600, &host), 0);
    CHECK_EQ(use(&f, &host, "desk", NOW + 10, &info), 0);
    CHECK_EQ(use(&f, &host, "laptop", NOW + 20, &info), 0);
    CHECK_EQ(check(&f, &host, "phone", NOW + 30, &info), 0);

    /* link_use needs a session. */
    CHECK_EQ(use(&f, &host, NULL, NOW, &info), -EINVAL);
    CHECK_EQ(use(&f, &host, "", NOW, &info), -EINVAL);
    CHECK_EQ(link_check(secret, 16, f.store, l.tok, l.len, NULL, NOW, &info), -EINVAL);
    CHECK_EQ(link_check(secret, sizeof(secret), NULL, l.tok, l.len, NULL, NOW, &info), -EINVAL);
    CHECK_EQ(expect_refusal(-EINVAL, 500, "internal"), 0);
    CHECK_EQ(expect_refusal(-EIO, 500, "internal"), 0);
    CHECK_EQ(expect_refusal(-EBUSY, 500, "internal"), 0);
    CHECK_EQ(expect_refusal(0, 500, "internal"), 0);
    fixture_close(&f);
    return 0;
}

/* The words: each refusal tells a person what happened and what to do, in plain English, and
 * never mentions tokens. */
static int test_link_error_words(void)
{
    static const int errs[] = {-EBADMSG, -ENOENT, -EKEYEXPIRED, -ETIMEDOUT, -EACCES,
                               -EXDEV,   -EPERM,  -ESHUTDOWN,   -EIO};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        struct link_error e = link_error_of(errs[i]);
        CHECK(e.title != NULL && e.message != NULL && e.code != NULL);
        CHECK(strstr(e.message, "token") == NULL && strstr(e.title, "token") == NULL);
        CHECK(strstr(e.message, "GP practice") != NULL || strstr(e.message, "try again") != NULL);
        CHECK(strlen(e.message) < 300);
    }
    struct link_error used = link_error_of(-EACCES);
    CHECK(strstr(used.message, "already been used on another device") != NULL);
    return 0;
}

/* Extracts the text between from and to in s into a malloc'd string. */
static char *between(const char *s, const char *from, const char *to)
{
    const char *a = strstr(s, from);
    if (a == NULL)
        return NULL;
    a += strlen(from);
    const char *b = strstr(a, to);
    if (b == NULL)
        return NULL;
    return strndup(a, (size_t)(b - a));
}

static int test_link_error_page(void)
{
    struct link_error e = link_error_of(-EACCES);
    char *page = link_error_page(&e);
    CHECK(page != NULL);
    CHECK(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    CHECK(strstr(page, "<html lang=\"en\">") != NULL);
    CHECK(strstr(page, "<meta charset=\"utf-8\">") != NULL);
    CHECK(strstr(page, "name=\"viewport\" content=\"width=device-width, initial-scale=1\"") !=
          NULL);
    CHECK(strstr(page, "<title>This link has already been used - Video appointment</title>") !=
          NULL);
    CHECK(strstr(page, "<main>") != NULL && strstr(page, "</main>") != NULL);
    CHECK(strstr(page, "<h1>This link has already been used</h1>") != NULL);
    CHECK(strstr(page, e.message) != NULL);
    CHECK(strstr(page, "<script") == NULL && strstr(page, "src=") == NULL &&
          strstr(page, "href=") == NULL && strstr(page, "url(") == NULL);
    /* Nothing wider than a phone: no fixed widths in px. */
    CHECK(strstr(page, "px") == NULL);

    /* LINK_ERROR_PAGE_CSP names the page's style by its hash. */
    char *style = between(page, "<style>", "</style>");
    CHECK(style != NULL);
    unsigned char md[32];
    unsigned int md_len = 0;
    char b64[64], want[96];
    CHECK_EQ(EVP_Digest(style, strlen(style), md, &md_len, EVP_sha256(), NULL), 1);
    EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len);
    snprintf(want, sizeof(want), "style-src 'sha256-%s'", b64);
    int csp_ok = strstr(LINK_ERROR_PAGE_CSP, want) != NULL;
    if (!csp_ok)
        fprintf(stderr, "the page's style hash is now %s\n", b64);
    free(style);
    free(page);
    CHECK(csp_ok);

    /* Title and message are escaped. */
    struct link_error odd = {403, "forbidden", "<b>A & B</b>", "\"quoted\" 'single'"};
    page = link_error_page(&odd);
    CHECK(page != NULL);
    CHECK(strstr(page, "<h1>&lt;b&gt;A &amp; B&lt;/b&gt;</h1>") != NULL);
    CHECK(strstr(page, "<p>&quot;quoted&quot; &#39;single&#39;</p>") != NULL);
    CHECK(strstr(page, "<b>") == NULL);
    free(page);

    /* For a program: the same refusal as JSON. */
    struct link_error ended = link_error_of(-ESHUTDOWN);
    char *json = link_error_json(&ended);
    CHECK(json != NULL);
    json_t *root = json_loads(json, 0, NULL);
    free(json);
    CHECK(root != NULL);
    json_t *err = json_object_get(root, "error");
    int ok = json_is_object(err) &&
             strcmp(json_string_value(json_object_get(err, "code")), "consultation_ended") == 0 &&
             strcmp(json_string_value(json_object_get(err, "message")), ended.message) == 0;
    json_decref(root);
    CHECK(ok);
    CHECK(link_error_json(NULL) == NULL);
    return 0;
}

static const struct test_case cases[] = {
    {"link_good", test_link_good},
    {"link_tampered", test_link_tampered},
    {"link_expired", test_link_expired},
    {"link_unknown_and_other_consultation", test_link_unknown_and_other_consultation},
    {"link_ended_and_denied", test_link_ended_and_denied},
    {"link_single_use_session", test_link_single_use_session},
    {"link_error_words", test_link_error_words},
    {"link_error_page", test_link_error_page},
};

TEST_MAIN(cases)
