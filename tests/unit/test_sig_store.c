/* The signalling store on a real SQLite file in a temporary directory: schema versions and
 * migrations, round trips, single-use tokens, the audit log, and input the schema refuses. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "store.h"

struct tmpdb {
    char dir[64];
    char path[96];
};

static int tmpdb_make(struct tmpdb *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/gpsfu-store-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/sig.db", t->dir);
    return 0;
}

static void tmpdb_remove(struct tmpdb *t)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

/* One integer from a query on a raw connection, or -1000 on any failure. */
static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1000;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int raw_text_eq(const char *path, const char *sql, const char *want)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int eq = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        eq = v != NULL && strcmp(v, want) == 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return eq;
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void cons_fill(struct store_consultation *c, const char *id, const char *room,
                      int64_t created, int64_t expires)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->kind, sizeof(c->kind), "consultation");
    snprintf(c->room_id, sizeof(c->room_id), "%s", room);
    c->created_at = created;
    c->starts_at = created + 60;
    c->expires_at = expires;
}

static void part_fill(struct store_participant *p, const char *id, const char *cons,
                      const char *role, const char *state, int64_t at)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->consultation_id, sizeof(p->consultation_id), "%s", cons);
    snprintf(p->role, sizeof(p->role), "%s", role);
    snprintf(p->state, sizeof(p->state), "%s", state);
    p->joined_at = at;
    p->state_at = at;
}

static void token_fill(struct store_token *t, const char *jti, const char *cons, const char *role,
                       int single_use, int64_t expires)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->jti, sizeof(t->jti), "%s", jti);
    snprintf(t->consultation_id, sizeof(t->consultation_id), "%s", cons);
    snprintf(t->role, sizeof(t->role), "%s", role);
    t->single_use = single_use;
    t->expires_at = expires;
}

/* Collects up to 8 listed rows. */
struct collect {
    int n;
    int stop_after; /* 0: never stop */
    struct store_participant parts[8];
    struct store_audit_row audit[8];
    struct store_consultation cons[8];
};

static int collect_part(const struct store_participant *p, void *arg)
{
    struct collect *c = arg;
    if (c->n < 8)
        c->parts[c->n] = *p;
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after ? 42 : 0;
}

static int collect_audit(const struct store_audit_row *r, void *arg)
{
    struct collect *c = arg;
    if (c->n < 8)
        c->audit[c->n] = *r;
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after ? 42 : 0;
}

static int collect_cons(const struct store_consultation *k, void *arg)
{
    struct collect *c = arg;
    if (c->n < 8)
        c->cons[c->n] = *k;
    c->n++;
    return 0;
}

static int test_store_fresh_open_creates_schema(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    CHECK(s != NULL);
    CHECK_EQ(raw_int(t.path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                             " ('consultations', 'participants', 'tokens', 'audit')"),
             4);
    CHECK(raw_text_eq(t.path, "PRAGMA journal_mode", "wal"));
    CHECK_EQ(strcmp(store_errmsg(s), ""), 0);
    store_close(s);
    store_close(NULL);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_reopen_idempotent(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    store_close(s);
    for (int i = 0; i < 2; i++) {
        s = NULL;
        CHECK_EQ(store_open(&s, t.path), 0);
        CHECK_EQ(store_consultation_get(s, "c1", &got), 0);
        CHECK_EQ(strcmp(got.room_id, "r1"), 0);
        store_close(s);
        CHECK_EQ(raw_int(t.path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM consultations"), 1);
    }
    tmpdb_remove(&t);
    return 0;
}

static int test_store_newer_schema_refused(void)
{
    struct tmpdb t;
    struct store *s = (struct store *)&t; /* a sentinel that must survive the failure */
    char sql[64];
    CHECK_EQ(tmpdb_make(&t), 0);
    snprintf(sql, sizeof(sql), "CREATE TABLE x (a); PRAGMA user_version = %d",
             STORE_SCHEMA_VERSION + 1);
    CHECK_EQ(raw_exec(t.path, sql), 0);
    CHECK_EQ(store_open(&s, t.path), -EPROTO);
    CHECK(s == (struct store *)&t);
    /* Left as it was: same version, no tables of ours, journal mode not switched. */
    CHECK_EQ(raw_int(t.path, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name = 'consultations'"), 0);
    CHECK(raw_text_eq(t.path, "PRAGMA journal_mode", "delete"));
    tmpdb_remove(&t);

    /* A path that cannot be a database is -EIO, not a crash. */
    CHECK_EQ(store_open(&s, "/nonexistent-dir/x/y.db"), -EIO);
    CHECK_EQ(store_open(NULL, "/tmp/x.db"), -EINVAL);
    CHECK_EQ(store_open(&s, NULL), -EINVAL);
    CHECK(s == (struct store *)&t);
    return 0;
}

/* A database made by the first migration alone, holding data, is brought to the current version
 * and keeps its data and the token's binding. */
static int test_store_v1_migrates_keeps_data(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c;
    struct store_participant p;
    struct collect col;
    char sql[2048];
    CHECK(STORE_SCHEMA_VERSION >= 2);
    CHECK(store__migration_sql(0) != NULL);
    CHECK(store__migration_sql(STORE_SCHEMA_VERSION) == NULL);
    CHECK(store__migration_sql(-1) == NULL);
    CHECK_EQ(tmpdb_make(&t), 0);
    snprintf(sql, sizeof(sql), "BEGIN; %s PRAGMA user_version = 1; COMMIT;",
             store__migration_sql(0));
    CHECK_EQ(raw_exec(t.path, sql), 0);
    CHECK_EQ(raw_exec(t.path,
                      "INSERT INTO consultations (id, kind, room_id, created_at, starts_at,"
                      " expires_at) VALUES ('old', 'mdt', 'room-old', 10, 20, 9000);"
                      "INSERT INTO participants VALUES ('p-host', 'old', 'host', 'admitted',"
                      " 11, 12, 'sess-h');"
                      "INSERT INTO tokens VALUES ('jti-old', 'old', 'patient', 1, 15, 'sess-a',"
                      " 9000);"),
             0);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name = 'audit'"), 0);

    CHECK_EQ(store_open(&s, t.path), 0);
    CHECK_EQ(raw_int(t.path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_EQ(store_consultation_get(s, "old", &c), 0);
    CHECK_EQ(strcmp(c.kind, "mdt"), 0);
    CHECK_EQ(strcmp(c.room_id, "room-old"), 0);
    CHECK_EQ(c.expires_at, 9000);
    CHECK_EQ(c.ended_at, 0);
    CHECK_EQ(strcmp(c.practice_message, ""), 0);
    CHECK_EQ(store_participant_get(s, "p-host", &p), 0);
    CHECK_EQ(strcmp(p.state, "admitted"), 0);
    CHECK_EQ(strcmp(p.session_id, "sess-h"), 0);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_participant_list(s, "old", collect_part, &col), 0);
    CHECK_EQ(col.n, 1);
    /* The binding made under v1 still holds. */
    CHECK_EQ(store_token_use(s, "jti-old", "sess-a", 100), 0);
    CHECK_EQ(store_token_use(s, "jti-old", "sess-b", 100), -EACCES);
    /* What migration 2 added works. */
    CHECK_EQ(store_audit(s, 101, "old", "system", "migrated", NULL), 0);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_audit_list(s, "old", collect_audit, &col), 0);
    CHECK_EQ(col.n, 1);
    CHECK_EQ(strcmp(col.audit[0].action, "migrated"), 0);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_consultation_round_trip(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    struct collect col;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);

    cons_fill(&c, "c-1", "room-1", 1000, 4600);
    snprintf(c.kind, sizeof(c.kind), "ward_round");
    snprintf(c.practice_message, sizeof(c.practice_message),
             "The doctor will be with you shortly.");
    c.ended_at = 77; /* ignored by create */
    CHECK_EQ(store_consultation_create(s, &c), 0);
    memset(&got, 0x55, sizeof(got));
    CHECK_EQ(store_consultation_get(s, "c-1", &got), 0);
    CHECK_EQ(strcmp(got.id, "c-1"), 0);
    CHECK_EQ(strcmp(got.kind, "ward_round"), 0);
    CHECK_EQ(strcmp(got.room_id, "room-1"), 0);
    CHECK_EQ(got.created_at, 1000);
    CHECK_EQ(got.starts_at, 1060);
    CHECK_EQ(got.expires_at, 4600);
    CHECK_EQ(got.ended_at, 0);
    CHECK_EQ(strcmp(got.practice_message, "The doctor will be with you shortly."), 0);

    /* Same id, or another consultation in the same room. */
    cons_fill(&c, "c-1", "room-2", 1000, 4600);
    CHECK_EQ(store_consultation_create(s, &c), -EEXIST);
    cons_fill(&c, "c-2", "room-1", 1000, 4600);
    CHECK_EQ(store_consultation_create(s, &c), -EEXIST);
    CHECK(strlen(store_errmsg(s)) > 0);
    CHECK_EQ(store_consultation_get(s, "c-2", &got), -ENOENT);

    /* Live listing: c-1 live; c-2 ended; c-3 expired by now = 2000. */
    cons_fill(&c, "c-2", "room-2", 1001, 4600);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    cons_fill(&c, "c-3", "room-3", 1002, 2000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    CHECK_EQ(store_consultation_end(s, "c-2", 1500), 0);
    CHECK_EQ(store_consultation_end(s, "c-2", 1600), -EALREADY);
    CHECK_EQ(store_consultation_end(s, "nope", 1600), -ENOENT);
    CHECK_EQ(store_consultation_get(s, "c-2", &got), 0);
    CHECK_EQ(got.ended_at, 1500);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_consultation_list_live(s, 2000, collect_cons, &col), 0);
    CHECK_EQ(col.n, 1);
    CHECK_EQ(strcmp(col.cons[0].id, "c-1"), 0);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_consultation_list_live(s, 1999, collect_cons, &col), 0);
    CHECK_EQ(col.n, 2);
    CHECK_EQ(strcmp(col.cons[1].id, "c-3"), 0);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_participant_round_trip(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c;
    struct store_participant p, got;
    struct collect col;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);

    part_fill(&p, "p-patient", "c1", "patient", "invited", 1000);
    CHECK_EQ(store_participant_add(s, &p), 0);
    part_fill(&p, "p-host", "c1", "host", "admitted", 1001);
    snprintf(p.session_id, sizeof(p.session_id), "sess-host");
    CHECK_EQ(store_participant_add(s, &p), 0);
    part_fill(&p, "p-guest", "c1", "guest", "invited", 1002);
    CHECK_EQ(store_participant_add(s, &p), 0);
    CHECK_EQ(store_participant_add(s, &p), -EEXIST);
    part_fill(&p, "p-x", "no-such-consultation", "guest", "invited", 1002);
    CHECK_EQ(store_participant_add(s, &p), -ENOENT);

    /* The patient goes invited -> waiting -> admitted -> left. */
    CHECK_EQ(store_participant_set_state(s, "p-patient", "waiting", 1100), 0);
    CHECK_EQ(store_participant_get(s, "p-patient", &got), 0);
    CHECK_EQ(strcmp(got.state, "waiting"), 0);
    CHECK_EQ(got.state_at, 1100);
    CHECK_EQ(got.joined_at, 1000);
    CHECK_EQ(strcmp(got.session_id, ""), 0);
    CHECK_EQ(store_participant_set_state(s, "p-patient", "admitted", 1200), 0);
    CHECK_EQ(store_participant_set_state(s, "p-patient", "left", 1300), 0);
    CHECK_EQ(store_participant_get(s, "p-patient", &got), 0);
    CHECK_EQ(strcmp(got.state, "left"), 0);
    CHECK_EQ(got.state_at, 1300);
    CHECK_EQ(store_participant_set_state(s, "p-nobody", "left", 1300), -ENOENT);
    CHECK_EQ(store_participant_get(s, "p-nobody", &got), -ENOENT);

    /* Session binding: first bind wins, same again fine, another refused. */
    CHECK_EQ(store_participant_bind_session(s, "p-patient", "sess-1"), 0);
    CHECK_EQ(store_participant_bind_session(s, "p-patient", "sess-1"), 0);
    CHECK_EQ(store_participant_bind_session(s, "p-patient", "sess-2"), -EACCES);
    CHECK_EQ(store_participant_bind_session(s, "p-nobody", "sess-2"), -ENOENT);
    CHECK_EQ(store_participant_get(s, "p-patient", &got), 0);
    CHECK_EQ(strcmp(got.session_id, "sess-1"), 0);

    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_participant_list(s, "c1", collect_part, &col), 0);
    CHECK_EQ(col.n, 3);
    CHECK_EQ(strcmp(col.parts[0].id, "p-patient"), 0);
    CHECK_EQ(strcmp(col.parts[1].id, "p-host"), 0);
    CHECK_EQ(strcmp(col.parts[1].role, "host"), 0);
    CHECK_EQ(strcmp(col.parts[1].session_id, "sess-host"), 0);
    CHECK_EQ(strcmp(col.parts[2].id, "p-guest"), 0);
    /* A callback's non-zero return stops the listing and is returned. */
    memset(&col, 0, sizeof(col));
    col.stop_after = 2;
    CHECK_EQ(store_participant_list(s, "c1", collect_part, &col), 42);
    CHECK_EQ(col.n, 2);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_participant_list(s, "c-other", collect_part, &col), 0);
    CHECK_EQ(col.n, 0);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_token_single_use(void)
{
    struct tmpdb t;
    struct store *s = NULL, *s2 = NULL;
    struct store_consultation c;
    struct store_token tok;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    token_fill(&tok, "jti-patient", "c1", "patient", 1, 4000);
    CHECK_EQ(store_token_add(s, &tok), 0);
    CHECK_EQ(store_token_add(s, &tok), -EEXIST);
    token_fill(&tok, "jti-x", "no-such", "patient", 1, 4000);
    CHECK_EQ(store_token_add(s, &tok), -ENOENT);

    CHECK_EQ(store_token_use(s, "jti-patient", "sess-a", 1100), 0);
    CHECK_EQ(raw_int(t.path, "SELECT first_used_at FROM tokens WHERE jti = 'jti-patient'"), 1100);
    CHECK(raw_text_eq(t.path, "SELECT bound_session FROM tokens WHERE jti = 'jti-patient'",
                      "sess-a"));
    /* A reload: same session, later. The first use time is kept. */
    CHECK_EQ(store_token_use(s, "jti-patient", "sess-a", 1200), 0);
    CHECK_EQ(raw_int(t.path, "SELECT first_used_at FROM tokens WHERE jti = 'jti-patient'"), 1100);
    CHECK_EQ(store_token_use(s, "jti-patient", "sess-b", 1300), -EACCES);
    CHECK(strstr(store_errmsg(s), "another session") != NULL);
    /* The refusal changed nothing: the first browser still gets back in. */
    CHECK_EQ(store_token_use(s, "jti-patient", "sess-a", 1400), 0);
    CHECK(raw_text_eq(t.path, "SELECT bound_session FROM tokens WHERE jti = 'jti-patient'",
                      "sess-a"));
    CHECK_EQ(store_token_use(s, "jti-unknown", "sess-a", 1400), -ENOENT);
    /* Past its expiry even the bound session is refused. */
    CHECK_EQ(store_token_use(s, "jti-patient", "sess-a", 4000), -EKEYEXPIRED);

    /* Another connection to the same file (a second process) sees the binding. */
    CHECK_EQ(store_open(&s2, t.path), 0);
    CHECK_EQ(store_token_use(s2, "jti-patient", "sess-c", 1500), -EACCES);
    CHECK_EQ(store_token_use(s2, "jti-patient", "sess-a", 1500), 0);
    token_fill(&tok, "jti-race", "c1", "guest", 1, 4000);
    CHECK_EQ(store_token_add(s2, &tok), 0);
    CHECK_EQ(store_token_use(s2, "jti-race", "sess-x", 1500), 0);
    CHECK_EQ(store_token_use(s, "jti-race", "sess-y", 1500), -EACCES);
    store_close(s2);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

/* A link check must see who holds a token without taking it: get reports the binding and
 * leaves the token free for the first browser that really uses it. */
static int test_store_token_get(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c;
    struct store_token tok, got;
    char bound[STORE_ID_MAX + 1];
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    token_fill(&tok, "jti-patient", "c1", "patient", 1, 4000);
    CHECK_EQ(store_token_add(s, &tok), 0);
    token_fill(&tok, "jti-host", "c1", "host", 0, 4500);
    CHECK_EQ(store_token_add(s, &tok), 0);

    memset(bound, 'x', sizeof(bound));
    CHECK_EQ(store_token_get(s, "jti-patient", &got, bound), 0);
    CHECK_EQ(strcmp(got.jti, "jti-patient"), 0);
    CHECK_EQ(strcmp(got.consultation_id, "c1"), 0);
    CHECK_EQ(strcmp(got.role, "patient"), 0);
    CHECK_EQ(got.single_use, 1);
    CHECK_EQ(got.expires_at, 4000);
    CHECK_EQ(strcmp(bound, ""), 0);
    /* Looking did not use it: the first session to use it still gets it. */
    CHECK_EQ(raw_int(t.path, "SELECT first_used_at IS NULL FROM tokens WHERE jti = 'jti-patient'"),
             1);
    CHECK_EQ(store_token_use(s, "jti-patient", "sess-a", 1100), 0);
    CHECK_EQ(store_token_get(s, "jti-patient", &got, bound), 0);
    CHECK_EQ(strcmp(bound, "sess-a"), 0);
    CHECK_EQ(store_token_get(s, "jti-patient", &got, NULL), 0);

    /* A token that is not single-use is never bound, however many browsers use it. */
    CHECK_EQ(store_token_use(s, "jti-host", "sess-b", 1100), 0);
    CHECK_EQ(store_token_get(s, "jti-host", &got, bound), 0);
    CHECK_EQ(got.single_use, 0);
    CHECK_EQ(got.expires_at, 4500);
    CHECK_EQ(strcmp(bound, ""), 0);

    /* Unknown or bad ids leave *out untouched. */
    memset(&got, 0x5a, sizeof(got));
    CHECK_EQ(store_token_get(s, "jti-unknown", &got, bound), -ENOENT);
    CHECK_EQ(store_token_get(s, "", &got, bound), -EINVAL);
    CHECK_EQ(store_token_get(s, NULL, &got, bound), -EINVAL);
    CHECK_EQ(store_token_get(s, "jti-host", NULL, bound), -EINVAL);
    CHECK_EQ(store_token_get(NULL, "jti-host", &got, bound), -EINVAL);
    CHECK_EQ((unsigned char)got.jti[0], 0x5a);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_token_multi_use(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c;
    struct store_token tok;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    token_fill(&tok, "jti-host", "c1", "host", 0, 4000);
    CHECK_EQ(store_token_add(s, &tok), 0);
    CHECK_EQ(store_token_use(s, "jti-host", "sess-desk", 1100), 0);
    CHECK_EQ(store_token_use(s, "jti-host", "sess-laptop", 1200), 0);
    CHECK_EQ(store_token_use(s, "jti-host", "sess-desk", 1300), 0);
    CHECK_EQ(raw_int(t.path, "SELECT first_used_at FROM tokens WHERE jti = 'jti-host'"), 1100);
    CHECK_EQ(raw_int(t.path, "SELECT bound_session IS NULL FROM tokens WHERE jti = 'jti-host'"), 1);
    CHECK_EQ(store_token_use(s, "jti-host", "sess-desk", 4001), -EKEYEXPIRED);
    /* single_use must be 0 or 1. */
    token_fill(&tok, "jti-odd", "c1", "host", 2, 4000);
    CHECK_EQ(store_token_add(s, &tok), -EINVAL);
    CHECK_EQ(store_token_use(s, "jti-odd", "sess-desk", 1100), -ENOENT);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_audit_in_order(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct collect col;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    /* The audit log needs no consultation row: it outlives them. */
    CHECK_EQ(store_audit(s, 500, "c1", "api", "create", "guests=1"), 0);
    CHECK_EQ(store_audit(s, 501, "c2", "api", "create", NULL), 0);
    CHECK_EQ(store_audit(s, 510, "c1", "patient", "join", NULL), 0);
    CHECK_EQ(store_audit(s, 505, "c1", "host", "admit", "participant=p-patient"), 0);
    CHECK_EQ(store_audit(s, 520, NULL, "system", "start", ""), 0);
    CHECK_EQ(store_audit(s, 530, "c1", "patient", "leave", NULL), 0);

    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_audit_list(s, "c1", collect_audit, &col), 0);
    CHECK_EQ(col.n, 4);
    /* Write order, even where the caller's clock went backwards (510 then 505). */
    CHECK_EQ(strcmp(col.audit[0].action, "create"), 0);
    CHECK_EQ(strcmp(col.audit[0].detail, "guests=1"), 0);
    CHECK_EQ(strcmp(col.audit[0].actor_role, "api"), 0);
    CHECK_EQ(col.audit[0].at, 500);
    CHECK_EQ(strcmp(col.audit[1].action, "join"), 0);
    CHECK_EQ(strcmp(col.audit[1].detail, ""), 0);
    CHECK_EQ(strcmp(col.audit[2].action, "admit"), 0);
    CHECK_EQ(col.audit[2].at, 505);
    CHECK_EQ(strcmp(col.audit[2].actor_role, "host"), 0);
    CHECK_EQ(strcmp(col.audit[3].action, "leave"), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(strcmp(col.audit[i].consultation_id, "c1"), 0);
    CHECK(col.audit[0].id < col.audit[1].id && col.audit[1].id < col.audit[2].id &&
          col.audit[2].id < col.audit[3].id);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_audit_list(s, "c2", collect_audit, &col), 0);
    CHECK_EQ(col.n, 1);
    memset(&col, 0, sizeof(col));
    col.stop_after = 1;
    CHECK_EQ(store_audit_list(s, "c1", collect_audit, &col), 42);
    CHECK_EQ(col.n, 1);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM audit WHERE consultation_id IS NULL"
                             " AND detail IS NULL"),
             1);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

/* Unknown kind, role, state or actor: the schema's CHECK refuses, the call says -EINVAL, and
 * nothing is stored or changed. */
static int test_store_check_constraints_refuse(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    struct store_participant p, pgot;
    struct store_token tok;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);

    cons_fill(&c, "c-bad", "r-bad", 1000, 5000);
    snprintf(c.kind, sizeof(c.kind), "party");
    CHECK_EQ(store_consultation_create(s, &c), -EINVAL);
    CHECK(strstr(store_errmsg(s), "CHECK") != NULL);
    CHECK_EQ(store_consultation_get(s, "c-bad", &got), -ENOENT);

    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    part_fill(&p, "p1", "c1", "admin", "waiting", 1000);
    CHECK_EQ(store_participant_add(s, &p), -EINVAL);
    CHECK_EQ(store_participant_get(s, "p1", &pgot), -ENOENT);
    part_fill(&p, "p1", "c1", "Host", "waiting", 1000); /* case matters */
    CHECK_EQ(store_participant_add(s, &p), -EINVAL);
    part_fill(&p, "p1", "c1", "patient", "dancing", 1000);
    CHECK_EQ(store_participant_add(s, &p), -EINVAL);
    CHECK_EQ(store_participant_get(s, "p1", &pgot), -ENOENT);

    part_fill(&p, "p1", "c1", "patient", "waiting", 1000);
    CHECK_EQ(store_participant_add(s, &p), 0);
    CHECK_EQ(store_participant_set_state(s, "p1", "superuser", 1100), -EINVAL);
    CHECK_EQ(store_participant_get(s, "p1", &pgot), 0);
    CHECK_EQ(strcmp(pgot.state, "waiting"), 0);
    CHECK_EQ(pgot.state_at, 1000);

    token_fill(&tok, "jti-1", "c1", "root", 1, 4000);
    CHECK_EQ(store_token_add(s, &tok), -EINVAL);
    CHECK_EQ(store_token_use(s, "jti-1", "sess", 1100), -ENOENT);
    CHECK_EQ(store_audit(s, 1, "c1", "root", "join", NULL), -EINVAL);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM audit"), 0);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM participants"), 1);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM consultations"), 1);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

/* Ids shaped like SQL are stored and found as plain text; the tables survive. */
static int test_store_injection_ids_are_text(void)
{
    static const char *const evil[] = {
        "x'); DROP TABLE consultations; --",
        "\" OR 1=1 --",
        "'; DELETE FROM participants; SELECT '",
        "%s%n%x",
    };
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    struct store_participant p, pgot;
    struct collect col;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    for (int i = 0; i < 4; i++) {
        char room[16];
        snprintf(room, sizeof(room), "room-%d", i);
        cons_fill(&c, evil[i], room, 1000, 5000);
        CHECK_EQ(store_consultation_create(s, &c), 0);
        CHECK_EQ(store_consultation_get(s, evil[i], &got), 0);
        CHECK_EQ(strcmp(got.id, evil[i]), 0);
        part_fill(&p, evil[(i + 1) % 4], evil[i], "guest", "invited", 1000);
        CHECK_EQ(store_participant_add(s, &p), 0);
        CHECK_EQ(store_audit(s, 1000, evil[i], "api", "create", evil[(i + 2) % 4]), 0);
    }
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM consultations"), 4);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM participants"), 4);
    CHECK_EQ(store_participant_get(s, evil[2], &pgot), 0);
    CHECK_EQ(strcmp(pgot.consultation_id, evil[1]), 0);
    memset(&col, 0, sizeof(col));
    CHECK_EQ(store_audit_list(s, evil[0], collect_audit, &col), 0);
    CHECK_EQ(col.n, 1);
    CHECK_EQ(strcmp(col.audit[0].detail, evil[2]), 0);
    /* The LIKE-ish and quote characters do not match other rows. */
    CHECK_EQ(store_consultation_get(s, "x", &got), -ENOENT);
    CHECK_EQ(store_consultation_get(s, "%", &got), -ENOENT);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_bad_args(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    struct store_participant p;
    char longid[STORE_ID_MAX + 2];
    char longdetail[STORE_DETAIL_MAX + 2];
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    memset(longdetail, 'd', sizeof(longdetail) - 1);
    longdetail[sizeof(longdetail) - 1] = '\0';

    CHECK_EQ(store_consultation_create(NULL, &c), -EINVAL);
    CHECK_EQ(store_consultation_create(s, NULL), -EINVAL);
    cons_fill(&c, "", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), -EINVAL);
    CHECK(strlen(store_errmsg(s)) > 0);
    /* An id exactly at the limit is fine; get with one past it is refused before SQL. */
    char id64[STORE_ID_MAX + 1];
    memcpy(id64, longid, STORE_ID_MAX);
    id64[STORE_ID_MAX] = '\0';
    cons_fill(&c, id64, "r1", 1000, 5000);
    CHECK_EQ(strlen(c.id), STORE_ID_MAX);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    CHECK_EQ(store_consultation_get(s, longid, &got), -EINVAL);
    CHECK_EQ(store_consultation_get(s, c.id, &got), 0);
    CHECK_EQ(store_consultation_get(s, NULL, &got), -EINVAL);
    CHECK_EQ(store_consultation_end(s, NULL, 1), -EINVAL);
    part_fill(&p, "p1", c.id, "guest", "invited", 1);
    p.role[0] = '\0';
    CHECK_EQ(store_participant_add(s, &p), -EINVAL);
    CHECK_EQ(store_participant_set_state(s, "p1", NULL, 1), -EINVAL);
    CHECK_EQ(store_participant_list(s, c.id, NULL, NULL), -EINVAL);
    CHECK_EQ(store_token_use(s, "jti", "", 1), -EINVAL);
    CHECK_EQ(store_token_use(s, NULL, "sess", 1), -EINVAL);
    CHECK_EQ(store_token_use(s, "jti", longid, 1), -EINVAL);
    CHECK_EQ(store_audit(s, 1, c.id, "api", "create", longdetail), -EINVAL);
    longdetail[STORE_DETAIL_MAX] = '\0';
    CHECK_EQ(store_audit(s, 1, c.id, "api", "create", longdetail), 0);
    CHECK_EQ(store_audit(s, 1, c.id, "api", NULL, NULL), -EINVAL);
    CHECK_EQ(store_audit_list(s, NULL, collect_audit, NULL), -EINVAL);
    CHECK_EQ(store_token_use(NULL, "jti", "sess", 1), -EINVAL);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

static int test_store_transaction(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c, got;
    struct store_token tok;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);

    CHECK_EQ(store_tx_begin(s), 0);
    CHECK_EQ(store_tx_begin(s), -EINVAL);
    cons_fill(&c, "c1", "r1", 1000, 5000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    token_fill(&tok, "jti-1", "c1", "patient", 1, 4000);
    CHECK_EQ(store_token_add(s, &tok), 0);
    store_tx_rollback(s);
    CHECK_EQ(store_consultation_get(s, "c1", &got), -ENOENT);
    CHECK_EQ(store_token_use(s, "jti-1", "sess", 1100), -ENOENT);
    store_tx_rollback(s); /* none open: harmless */

    CHECK_EQ(store_tx_begin(s), 0);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    CHECK_EQ(store_token_add(s, &tok), 0);
    CHECK_EQ(store_tx_commit(s), 0);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM tokens"), 1);
    CHECK_EQ(store_token_use(s, "jti-1", "sess", 1100), 0);
    store_close(s);
    tmpdb_remove(&t);
    return 0;
}

/* 1 when the file's bytes hold needle, 0 when not, -1 when it cannot be read. */
static int file_holds(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void inv_fill(struct store_invitation *inv, const char *id, const char *cons,
                     const char *part, const char *channel, const char *dest, int64_t at)
{
    memset(inv, 0, sizeof(*inv));
    snprintf(inv->id, sizeof(inv->id), "%s", id);
    snprintf(inv->consultation_id, sizeof(inv->consultation_id), "%s", cons);
    snprintf(inv->participant_id, sizeof(inv->participant_id), "%s", part);
    snprintf(inv->role, sizeof(inv->role), "patient");
    snprintf(inv->channel, sizeof(inv->channel), "%s", channel);
    snprintf(inv->status, sizeof(inv->status), "queued");
    snprintf(inv->destination, sizeof(inv->destination), "%s", dest);
    snprintf(inv->masked, sizeof(inv->masked), "\xe2\x80\xa2\xe2\x80\xa2 %s",
             dest + strlen(dest) - 3);
    inv->created_at = inv->updated_at = inv->next_at = at;
}

struct inv_seen {
    int n;
    char ids[8][STORE_ID_MAX + 1];
    int with_dest;
};

static int collect_inv(const struct store_invitation *inv, void *arg)
{
    struct inv_seen *x = arg;
    if (x->n < 8)
        snprintf(x->ids[x->n], sizeof(x->ids[0]), "%s", inv->id);
    x->n++;
    x->with_dest += inv->destination[0] != '\0';
    return 0;
}

/* Invitations: round trip, the destination kept only while pending (cleared by the store and
 * refused by the schema once finished), the pending list a restart resumes, the count. */
static int test_store_invitations(void)
{
    struct tmpdb t;
    struct store *s = NULL;
    struct store_consultation c;
    struct store_participant p;
    struct store_invitation inv, got;
    struct inv_seen seen;
    int n = -1;
    CHECK_EQ(tmpdb_make(&t), 0);
    CHECK_EQ(store_open(&s, t.path), 0);
    cons_fill(&c, "c1", "r1", 1000, 9000);
    CHECK_EQ(store_consultation_create(s, &c), 0);
    part_fill(&p, "p1", "c1", "patient", "invited", 1000);
    CHECK_EQ(store_participant_add(s, &p), 0);
    part_fill(&p, "p2", "c1", "guest", "invited", 1000);
    CHECK_EQ(store_participant_add(s, &p), 0);

    inv_fill(&inv, "i1", "c1", "p1", "sms", "+447700900123", 1100);
    CHECK_EQ(store_invitation_add(s, &inv), 0);
    CHECK_EQ(store_invitation_add(s, &inv), -EEXIST);
    inv_fill(&inv, "i2", "c1", "p2", "email", "pat@example.org", 1200);
    CHECK_EQ(store_invitation_add(s, &inv), 0);
    CHECK_EQ(store_invitation_get(s, "i1", &got), 0);
    CHECK(strcmp(got.destination, "+447700900123") == 0 && strcmp(got.status, "queued") == 0 &&
          strcmp(got.channel, "sms") == 0 && strcmp(got.participant_id, "p1") == 0 &&
          got.attempts == 0 && got.last_error[0] == '\0' && got.created_at == 1100);
    CHECK(strcmp(got.masked, "\xe2\x80\xa2\xe2\x80\xa2 123") == 0);
    CHECK_EQ(store_invitation_get(s, "nope", &got), -ENOENT);
    CHECK_EQ(store_invitation_count(s, "c1", &n), 0);
    CHECK_EQ(n, 2);

    /* Refused: an unknown channel or status, a row added finished, an unknown participant. */
    inv_fill(&inv, "i3", "c1", "p1", "fax", "+447700900123", 1300);
    CHECK_EQ(store_invitation_add(s, &inv), -EINVAL);
    inv_fill(&inv, "i3", "c1", "p1", "sms", "+447700900123", 1300);
    snprintf(inv.status, sizeof(inv.status), "sent");
    CHECK_EQ(store_invitation_add(s, &inv), -EINVAL);
    inv_fill(&inv, "i3", "c1", "p9", "sms", "+447700900123", 1300);
    CHECK_EQ(store_invitation_add(s, &inv), -ENOENT);

    /* A retry keeps the destination; sent clears it, whatever the struct still holds. */
    CHECK_EQ(store_invitation_get(s, "i1", &got), 0);
    snprintf(got.status, sizeof(got.status), "retrying");
    snprintf(got.last_error, sizeof(got.last_error), "http_503");
    got.attempts = 1;
    got.next_at = 1500;
    CHECK_EQ(store_invitation_update(s, &got), 0);
    CHECK_EQ(store_invitation_get(s, "i1", &got), 0);
    CHECK(strcmp(got.destination, "+447700900123") == 0 && got.attempts == 1 &&
          strcmp(got.last_error, "http_503") == 0 && got.next_at == 1500);
    snprintf(got.status, sizeof(got.status), "sent");
    got.attempts = 2;
    CHECK_EQ(store_invitation_update(s, &got), 0);
    CHECK_EQ(store_invitation_get(s, "i1", &got), 0);
    CHECK(strcmp(got.status, "sent") == 0 && got.destination[0] == '\0' && got.attempts == 2);
    CHECK(strcmp(got.masked, "\xe2\x80\xa2\xe2\x80\xa2 123") == 0);
    /* Pending without a destination is refused, and so is an unknown id. */
    snprintf(got.status, sizeof(got.status), "retrying");
    got.destination[0] = '\0';
    CHECK_EQ(store_invitation_update(s, &got), -EINVAL);
    snprintf(got.id, sizeof(got.id), "nope");
    snprintf(got.status, sizeof(got.status), "failed");
    CHECK_EQ(store_invitation_update(s, &got), -ENOENT);

    /* The pending list: only i2. The consultation's list: both, oldest first. */
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ(store_invitation_list_pending(s, collect_inv, &seen), 0);
    CHECK(seen.n == 1 && strcmp(seen.ids[0], "i2") == 0 && seen.with_dest == 1);
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ(store_invitation_list(s, "c1", collect_inv, &seen), 0);
    CHECK(seen.n == 2 && strcmp(seen.ids[0], "i1") == 0 && strcmp(seen.ids[1], "i2") == 0);
    CHECK_EQ(seen.with_dest, 1);
    CHECK_EQ(store_checkpoint(s), 0);
    store_close(s);
    /* Nothing of the cleared number is left in the files: secure_delete zeroed the old cell,
     * the checkpoint emptied the log. The pending address is there, as it must be. */
    CHECK_EQ(file_holds(t.path, "+447700900123"), 0);
    CHECK_EQ(file_holds(t.path, "pat@example.org"), 1);
    char wal[128];
    snprintf(wal, sizeof(wal), "%s-wal", t.path);
    CHECK(file_holds(wal, "+447700900123") <= 0);

    /* The schema itself refuses a finished row holding a destination, and a pending one
     * without. */
    CHECK_EQ(raw_exec(t.path, "PRAGMA foreign_keys = ON; UPDATE invitations SET destination ="
                              " '+447700900123' WHERE id = 'i1'"),
             -1);
    CHECK_EQ(raw_exec(t.path, "UPDATE invitations SET destination = NULL WHERE id = 'i2'"), -1);
    CHECK_EQ(raw_exec(t.path, "UPDATE invitations SET status = 'lost' WHERE id = 'i2'"), -1);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM invitations WHERE destination IS NULL"), 1);
    CHECK_EQ(raw_int(t.path, "SELECT count(*) FROM invitations"), 2);
    tmpdb_remove(&t);
    return 0;
}

static const struct test_case cases[] = {
    {"store_fresh_open_creates_schema", test_store_fresh_open_creates_schema},
    {"store_reopen_idempotent", test_store_reopen_idempotent},
    {"store_newer_schema_refused", test_store_newer_schema_refused},
    {"store_v1_migrates_keeps_data", test_store_v1_migrates_keeps_data},
    {"store_consultation_round_trip", test_store_consultation_round_trip},
    {"store_participant_round_trip", test_store_participant_round_trip},
    {"store_token_single_use", test_store_token_single_use},
    {"store_token_get", test_store_token_get},
    {"store_token_multi_use", test_store_token_multi_use},
    {"store_audit_in_order", test_store_audit_in_order},
    {"store_check_constraints_refuse", test_store_check_constraints_refuse},
    {"store_injection_ids_are_text", test_store_injection_ids_are_text},
    {"store_bad_args", test_store_bad_args},
    {"store_transaction", test_store_transaction},
    {"store_invitations", test_store_invitations},
};

TEST_MAIN(cases)
