/* The SQLite store: schema migrations at open, cached prepared statements, and one function per
 * question signalling asks of its durable state. */
#include "store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"

#define STORE_BUSY_TIMEOUT_MS 5000

#define STR_(x)             #x
#define STR(x)              STR_(x)
#define LEN_CHECK(col, max) "CHECK (length(" col ") BETWEEN 1 AND " STR(max) ")"
#define LEN_CHECK_NULL(col, max)                                                                   \
    "CHECK (" col " IS NULL OR length(" col ") BETWEEN 1 AND " STR(max) ")"
#define ROLES "'host', 'patient', 'guest', 'observer'"

/* The schema is this list and nothing else: migration i takes user_version i to i + 1. A
 * migration is never edited once released; a change is a new entry at the end. STRICT tables
 * make SQLite refuse a value of the wrong type instead of converting it. Migration 2 is a
 * separate step (the waiting-room message and the audit log) so that upgrading a database that
 * holds data is exercised by the tests from the start. Laid out as SQL, so clang-format is off. */
/* clang-format off */
static const char *const store_migrations[] = {
    /* 1: consultations, participants, token ids. */
    "CREATE TABLE consultations ("
    " id TEXT PRIMARY KEY NOT NULL " LEN_CHECK("id", STORE_ID_MAX) ","
    " kind TEXT NOT NULL CHECK (kind IN ('consultation', 'group', 'mdt', 'ward_round')),"
    " room_id TEXT NOT NULL UNIQUE " LEN_CHECK("room_id", STORE_ID_MAX) ","
    " created_at INTEGER NOT NULL,"
    " starts_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " ended_at INTEGER"
    ") STRICT;"
    "CREATE TABLE participants ("
    " id TEXT PRIMARY KEY NOT NULL " LEN_CHECK("id", STORE_ID_MAX) ","
    " consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN (" ROLES ")),"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('invited', 'waiting', 'admitted', 'denied', 'removed', 'left')),"
    " joined_at INTEGER NOT NULL,"
    " state_at INTEGER NOT NULL,"
    " session_id TEXT " LEN_CHECK_NULL("session_id", STORE_ID_MAX)
    ") STRICT;"
    "CREATE INDEX participants_by_consultation ON participants(consultation_id);"
    "CREATE TABLE tokens ("
    " jti TEXT PRIMARY KEY NOT NULL " LEN_CHECK("jti", STORE_ID_MAX) ","
    " consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN (" ROLES ")),"
    " single_use INTEGER NOT NULL CHECK (single_use IN (0, 1)),"
    " first_used_at INTEGER,"
    " bound_session TEXT " LEN_CHECK_NULL("bound_session", STORE_ID_MAX) ","
    " expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX tokens_by_consultation ON tokens(consultation_id);",

    /* 2: the practice's waiting-room message, and the audit log. The audit log has no foreign
     * key: its rows outlive the consultations they mention, and some mention none. AUTOINCREMENT
     * keeps ids increasing even after old rows are purged, so id order is write order. */
    "ALTER TABLE consultations ADD COLUMN practice_message TEXT "
    LEN_CHECK_NULL("practice_message", STORE_MESSAGE_MAX) ";"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " consultation_id TEXT " LEN_CHECK_NULL("consultation_id", STORE_ID_MAX) ","
    " actor_role TEXT NOT NULL CHECK (actor_role IN (" ROLES ", 'api', 'system')),"
    " action TEXT NOT NULL " LEN_CHECK("action", STORE_ACTION_MAX) ","
    " detail TEXT " LEN_CHECK_NULL("detail", STORE_DETAIL_MAX)
    ") STRICT;"
    "CREATE INDEX audit_by_consultation ON audit(consultation_id, id);",

    /* 3: invitations sent by SMS or email. The destination (a phone number or an address) is
     * patient data, kept only while the invitation may still be sent: the last CHECK makes a
     * finished row that still holds one impossible, whatever the code does. */
    "CREATE TABLE invitations ("
    " id TEXT PRIMARY KEY NOT NULL " LEN_CHECK("id", STORE_ID_MAX) ","
    " consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,"
    " participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN (" ROLES ")),"
    " channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('queued', 'sending', 'retrying', 'sent', 'failed')),"
    " attempts INTEGER NOT NULL CHECK (attempts BETWEEN 0 AND 1000),"
    " last_error TEXT " LEN_CHECK_NULL("last_error", STORE_ERROR_MAX) ","
    " destination TEXT " LEN_CHECK_NULL("destination", STORE_DEST_MAX) ","
    " masked TEXT NOT NULL " LEN_CHECK("masked", STORE_MASKED_MAX) ","
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL,"
    " CHECK ((destination IS NULL) = (status IN ('sent', 'failed')))"
    ") STRICT;"
    "CREATE INDEX invitations_by_consultation ON invitations(consultation_id);"
    "CREATE INDEX invitations_pending ON invitations(next_at) WHERE destination IS NOT NULL;",

    /* 4: each live participant's media state (transports, producers, the receiving
     * connection's sections), so that a signalling process started after another one died
     * takes the SFU's rooms over and their browsers resume without a new negotiation. Written
     * by conf_persist.c; an opaque blob, checked there when read. */
    "CREATE TABLE media_state ("
    " participant_id TEXT PRIMARY KEY NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
    " consultation_id TEXT NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,"
    " room_id TEXT NOT NULL " LEN_CHECK("room_id", STORE_ID_MAX) ","
    " state BLOB NOT NULL CHECK (length(state) <= " STORE_MEDIA_MAX_STR "),"
    " updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX media_state_by_room ON media_state(room_id);",
};
/* clang-format on */

#define STORE_NMIGRATIONS ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))
_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

enum store_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_CONS_INSERT,
    ST_CONS_GET,
    ST_CONS_END,
    ST_CONS_EXISTS,
    ST_CONS_LIVE,
    ST_PART_INSERT,
    ST_PART_GET,
    ST_PART_STATE,
    ST_PART_BIND,
    ST_PART_SESSION,
    ST_PART_LIST,
    ST_TOKEN_INSERT,
    ST_TOKEN_USE,
    ST_TOKEN_GET,
    ST_TOKEN_ROW,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_INV_INSERT,
    ST_INV_GET,
    ST_INV_UPDATE,
    ST_INV_LIST,
    ST_INV_PENDING,
    ST_INV_COUNT,
    ST_MEDIA_PUT,
    ST_MEDIA_LIST,
    ST_MEDIA_DELETE,
    ST_MEDIA_ROOMS,
    ST_MEDIA_DELETE_ROOM,
    ST_COUNT
};

#define CONS_COLS "id, kind, room_id, created_at, starts_at, expires_at, ended_at, practice_message"
#define PART_COLS "id, consultation_id, role, state, joined_at, state_at, session_id"
#define INV_COLS                                                                                   \
    "id, consultation_id, participant_id, role, channel, status, attempts, last_error,"            \
    " destination, masked, created_at, updated_at, next_at"

static const char *const store_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_CONS_INSERT] =
        "INSERT INTO consultations (" CONS_COLS ") VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
    [ST_CONS_GET] = "SELECT " CONS_COLS " FROM consultations WHERE id = ?",
    [ST_CONS_END] = "UPDATE consultations SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
    [ST_CONS_EXISTS] = "SELECT 1 FROM consultations WHERE id = ?",
    [ST_CONS_LIVE] = "SELECT " CONS_COLS " FROM consultations"
                     " WHERE ended_at IS NULL AND expires_at > ? ORDER BY created_at, rowid",
    [ST_PART_INSERT] = "INSERT INTO participants (" PART_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_PART_GET] = "SELECT " PART_COLS " FROM participants WHERE id = ?",
    [ST_PART_STATE] = "UPDATE participants SET state = ?, state_at = ? WHERE id = ?",
    [ST_PART_BIND] = "UPDATE participants SET session_id = ?"
                     " WHERE id = ? AND (session_id IS NULL OR session_id = ?)",
    [ST_PART_SESSION] = "SELECT session_id FROM participants WHERE id = ?",
    [ST_PART_LIST] =
        "SELECT " PART_COLS " FROM participants WHERE consultation_id = ? ORDER BY rowid",
    [ST_TOKEN_INSERT] = "INSERT INTO tokens (jti, consultation_id, role, single_use, expires_at)"
                        " VALUES (?, ?, ?, ?, ?)",
    /* The whole decision is this one statement, so two browsers racing with the same link
     * cannot both win: the row changes only if the token is live and free or already ours. */
    [ST_TOKEN_USE] = "UPDATE tokens SET"
                     " first_used_at = coalesce(first_used_at, ?1),"
                     " bound_session = CASE WHEN single_use = 1"
                     "  THEN coalesce(bound_session, ?2) ELSE NULL END"
                     " WHERE jti = ?3 AND expires_at > ?1"
                     " AND (single_use = 0 OR bound_session IS NULL OR bound_session = ?2)",
    /* Only to choose the error code once the UPDATE above has refused. */
    [ST_TOKEN_GET] = "SELECT expires_at FROM tokens WHERE jti = ?",
    [ST_TOKEN_ROW] = "SELECT jti, consultation_id, role, single_use, expires_at, bound_session"
                     " FROM tokens WHERE jti = ?",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (at, consultation_id, actor_role, action, detail)"
                        " VALUES (?, ?, ?, ?, ?)",
    [ST_AUDIT_LIST] = "SELECT id, at, consultation_id, actor_role, action, detail FROM audit"
                      " WHERE consultation_id = ? ORDER BY id",
    [ST_INV_INSERT] = "INSERT INTO invitations (" INV_COLS ")"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_INV_GET] = "SELECT " INV_COLS " FROM invitations WHERE id = ?",
    [ST_INV_UPDATE] = "UPDATE invitations SET status = ?, attempts = ?, last_error = ?,"
                      " destination = ?, updated_at = ?, next_at = ? WHERE id = ?",
    [ST_INV_LIST] = "SELECT " INV_COLS " FROM invitations WHERE consultation_id = ?"
                    " ORDER BY created_at, rowid",
    [ST_INV_PENDING] = "SELECT " INV_COLS " FROM invitations WHERE destination IS NOT NULL"
                       " ORDER BY next_at, rowid",
    [ST_INV_COUNT] = "SELECT count(*) FROM invitations WHERE consultation_id = ?",
    [ST_MEDIA_PUT] = "INSERT OR REPLACE INTO media_state"
                     " (participant_id, consultation_id, room_id, state, updated_at)"
                     " VALUES (?, ?, ?, ?, ?)",
    [ST_MEDIA_LIST] = "SELECT participant_id, consultation_id, state FROM media_state"
                      " WHERE room_id = ? ORDER BY rowid",
    [ST_MEDIA_DELETE] = "DELETE FROM media_state WHERE participant_id = ?",
    [ST_MEDIA_ROOMS] = "SELECT DISTINCT room_id FROM media_state",
    [ST_MEDIA_DELETE_ROOM] = "DELETE FROM media_state WHERE room_id = ?",
};

struct store {
    sqlite3 *db;                  /* owned */
    sqlite3_stmt *stmt[ST_COUNT]; /* owned, prepared once at open */
    char errmsg[256];
};

const char *store__migration_sql(int index)
{
    if (index < 0 || index >= STORE_NMIGRATIONS)
        return NULL;
    return store_migrations[index];
}

/* Maps an SQLite result (extended codes are on) to our errno, and keeps SQLite's message. */
static int store_fail(struct store *s, int rc)
{
    snprintf(s->errmsg, sizeof(s->errmsg), "%s", sqlite3_errmsg(s->db));
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    default:
        break;
    }
    /* CHECK, NOT NULL, and STRICT type errors: the value itself is wrong. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EINVAL;
    return -EIO;
}

static int store_refuse(struct store *s, int err, const char *why)
{
    snprintf(s->errmsg, sizeof(s->errmsg), "%s", why);
    return err;
}

/* The statement, reset and with no bindings, ready to bind. */
static sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which)
{
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Releases the statement's read or write hold on the database after use. */
static void store_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* A string argument is valid when present, non-empty and at most max bytes. */
static int str_ok(const char *v, size_t max)
{
    return v != NULL && v[0] != '\0' && strnlen(v, max + 1) <= max;
}

/* Binds v as text, or NULL for an empty string when empty_is_null. SQLITE_STATIC is right: the
 * caller's strings outlive the step. */
static int bind_text(sqlite3_stmt *st, int i, const char *v, int empty_is_null)
{
    if (v == NULL || (empty_is_null && v[0] == '\0'))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Copies column i into dst (cap bytes); NULL becomes "". -EBADMSG when it does not fit, which
 * the schema's length checks make impossible unless the file was edited by hand. */
static int col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap)
        return -EBADMSG;
    if (n > 0)
        memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

/* Runs a statement that returns no rows; returns 0 or a store error. */
static int store_step_done(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : store_fail(s, sqlite3_extended_errcode(s->db));
    store_done(st);
    return err;
}

static int store_exec(struct store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg != NULL ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc == SQLITE_BUSY ? -EBUSY : -EIO;
}

static int store_user_version(struct store *s, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    int err = rc == SQLITE_OK ? 0 : store_fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_finalize(st);
    return err;
}

/* Applies migration `index` if the database is still at that version. The version is read
 * inside the write transaction, so two processes opening a fresh file at once cannot both
 * apply the same step. Sets *version to the version found (or reached). */
static int store_migrate_one(struct store *s, int index, int *version)
{
    char sql[64];
    int err = store_exec(s, "BEGIN IMMEDIATE");
    if (err < 0)
        return err;
    err = store_user_version(s, version);
    if (err < 0 || *version != index)
        goto out;
    err = store_exec(s, store_migrations[index]);
    if (err < 0)
        goto out;
    /* PRAGMA takes no parameters; this is an integer of ours, not input. */
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", index + 1);
    err = store_exec(s, sql);
    if (err < 0)
        goto out;
    err = store_exec(s, "COMMIT");
    if (err == 0)
        *version = index + 1;
    return err;
out:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

static int store_migrate(struct store *s)
{
    int version = 0;
    int err = store_user_version(s, &version);
    if (err < 0)
        return err;
    while (err == 0 && version >= 0 && version < STORE_NMIGRATIONS)
        err = store_migrate_one(s, version, &version);
    if (err < 0)
        return err;
    if (version > STORE_NMIGRATIONS) {
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "database schema version %d is newer than this program's (%d); "
                 "refusing to open it",
                 version, STORE_NMIGRATIONS);
        return -EPROTO;
    }
    if (version < 0) {
        snprintf(s->errmsg, sizeof(s->errmsg), "database schema version %d is invalid", version);
        return -EIO;
    }
    return 0;
}

/* WAL lets readers go on while one connection writes; foreign keys are off by default in
 * SQLite and must be turned on per connection. synchronous stays FULL (the default): writes are
 * rare here and an admitted patient or an audit row must survive a power cut. */
static int store_configure(struct store *s)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* secure_delete: what a row held is overwritten when the row changes or goes, so a phone
     * number cleared from a finished invitation is not left readable in a free page. */
    return store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON");
}

/* Switched after the version check, so a database we refuse is left as it was. The mode is
 * persistent in the file; an in-memory database answers "memory", which is fine for it. */
static int store_wal_on(struct store *s, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (mode == NULL || strcmp(mode, "wal") != 0)
            log_warn("store", "%s: journal mode is %s, not wal", path, mode ? mode : "unknown");
        rc = SQLITE_OK;
    }
    int err = rc == SQLITE_OK ? 0 : store_fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_finalize(st);
    return err;
}

static void store_free(struct store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

int store_open(struct store **out, const char *path)
{
    if (out == NULL || path == NULL)
        return -EINVAL;
    struct store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    int err;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(s->errmsg, sizeof(s->errmsg), "%s",
                 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        err = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        goto out;
    }
    err = store_configure(s);
    if (err == 0)
        err = store_migrate(s);
    if (err == 0)
        err = store_wal_on(s, path);
    for (int i = 0; err == 0 && i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                NULL);
        if (rc != SQLITE_OK)
            err = store_fail(s, rc);
    }
    if (err == 0) {
        *out = s;
        return 0;
    }
out:
    if (err != -EPROTO && err != -ENOMEM)
        err = -EIO;
    log_error("store", "cannot open %s: %s", path, s->errmsg);
    store_free(s);
    return err;
}

void store_close(struct store *s)
{
    store_free(s);
}

const char *store_errmsg(struct store *s)
{
    return s != NULL ? s->errmsg : "no store";
}

int store_tx_begin(struct store *s)
{
    if (s == NULL)
        return -EINVAL;
    if (!sqlite3_get_autocommit(s->db))
        return store_refuse(s, -EINVAL, "a transaction is already open");
    return store_step_done(s, store_stmt(s, ST_BEGIN));
}

int store_tx_commit(struct store *s)
{
    if (s == NULL)
        return -EINVAL;
    return store_step_done(s, store_stmt(s, ST_COMMIT));
}

void store_tx_rollback(struct store *s)
{
    if (s == NULL || sqlite3_get_autocommit(s->db))
        return;
    store_step_done(s, store_stmt(s, ST_ROLLBACK));
}

/* ---- consultations ---- */

int store_consultation_create(struct store *s, const struct store_consultation *c)
{
    if (s == NULL || c == NULL)
        return -EINVAL;
    if (!str_ok(c->id, STORE_ID_MAX) || !str_ok(c->room_id, STORE_ID_MAX) ||
        !str_ok(c->kind, STORE_WORD_MAX) ||
        strnlen(c->practice_message, STORE_MESSAGE_MAX + 1) > STORE_MESSAGE_MAX)
        return store_refuse(s, -EINVAL, "consultation id, room id or kind missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_CONS_INSERT);
    bind_text(st, 1, c->id, 0);
    bind_text(st, 2, c->kind, 0);
    bind_text(st, 3, c->room_id, 0);
    sqlite3_bind_int64(st, 4, c->created_at);
    sqlite3_bind_int64(st, 5, c->starts_at);
    sqlite3_bind_int64(st, 6, c->expires_at);
    bind_text(st, 7, c->practice_message, 1);
    return store_step_done(s, st);
}

static int row_consultation(sqlite3_stmt *st, struct store_consultation *c)
{
    int err = col_text(st, 0, c->id, sizeof(c->id));
    if (err == 0)
        err = col_text(st, 1, c->kind, sizeof(c->kind));
    if (err == 0)
        err = col_text(st, 2, c->room_id, sizeof(c->room_id));
    c->created_at = sqlite3_column_int64(st, 3);
    c->starts_at = sqlite3_column_int64(st, 4);
    c->expires_at = sqlite3_column_int64(st, 5);
    c->ended_at = sqlite3_column_int64(st, 6); /* NULL reads as 0 */
    if (err == 0)
        err = col_text(st, 7, c->practice_message, sizeof(c->practice_message));
    return err;
}

/* Steps a one-row query and lets fill read the row. -ENOENT when there is none. */
static int store_get_one(struct store *s, sqlite3_stmt *st,
                         int (*fill)(sqlite3_stmt *st, void *out), void *out)
{
    int rc = sqlite3_step(st);
    int err;
    if (rc == SQLITE_ROW) {
        err = fill(st, out);
        if (err < 0)
            store_refuse(s, err, "a stored value is longer than the schema allows");
    } else if (rc == SQLITE_DONE) {
        err = store_refuse(s, -ENOENT, "not found");
    } else {
        err = store_fail(s, sqlite3_extended_errcode(s->db));
    }
    store_done(st);
    return err;
}

static int fill_consultation(sqlite3_stmt *st, void *out)
{
    return row_consultation(st, out);
}

int store_consultation_get(struct store *s, const char *id, struct store_consultation *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_CONS_GET);
    bind_text(st, 1, id, 0);
    return store_get_one(s, st, fill_consultation, out);
}

static int fill_nothing(sqlite3_stmt *st, void *out)
{
    return 0;
}

int store_consultation_end(struct store *s, const char *id, int64_t now)
{
    if (s == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_CONS_END);
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, id, 0);
    int err = store_step_done(s, st);
    if (err < 0 || sqlite3_changes(s->db) == 1)
        return err;
    st = store_stmt(s, ST_CONS_EXISTS);
    bind_text(st, 1, id, 0);
    err = store_get_one(s, st, fill_nothing, NULL);
    if (err == 0)
        err = store_refuse(s, -EALREADY, "consultation already ended");
    return err;
}

/* Steps a listing query, handing each row to the callback through rowfn. */
static int store_list(struct store *s, sqlite3_stmt *st,
                      int (*rowfn)(sqlite3_stmt *st, const void *ctx), const void *ctx)
{
    int rc = SQLITE_DONE, err = 0;
    while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = rowfn(st, ctx);
    if (err == 0 && rc != SQLITE_DONE)
        err = store_fail(s, sqlite3_extended_errcode(s->db));
    if (err == -EBADMSG)
        store_refuse(s, err, "a stored value is longer than the schema allows");
    store_done(st);
    return err;
}

/* A callback and its argument travel together to the row functions (ISO C has no portable
 * conversion of a function pointer to void *). */
struct consultation_ctx {
    store_consultation_cb cb;
    void *arg;
};

static int row_consultation_cb(sqlite3_stmt *st, const void *ctx)
{
    const struct consultation_ctx *x = ctx;
    struct store_consultation c;
    int err = row_consultation(st, &c);
    if (err < 0)
        return err;
    return x->cb(&c, x->arg);
}

int store_consultation_list_live(struct store *s, int64_t now, store_consultation_cb cb, void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_CONS_LIVE);
    sqlite3_bind_int64(st, 1, now);
    struct consultation_ctx ctx = {cb, arg};
    return store_list(s, st, row_consultation_cb, &ctx);
}

/* ---- participants ---- */

int store_participant_add(struct store *s, const struct store_participant *p)
{
    if (s == NULL || p == NULL)
        return -EINVAL;
    if (!str_ok(p->id, STORE_ID_MAX) || !str_ok(p->consultation_id, STORE_ID_MAX) ||
        !str_ok(p->role, STORE_WORD_MAX) || !str_ok(p->state, STORE_WORD_MAX) ||
        strnlen(p->session_id, STORE_ID_MAX + 1) > STORE_ID_MAX)
        return store_refuse(s, -EINVAL, "participant field missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_PART_INSERT);
    bind_text(st, 1, p->id, 0);
    bind_text(st, 2, p->consultation_id, 0);
    bind_text(st, 3, p->role, 0);
    bind_text(st, 4, p->state, 0);
    sqlite3_bind_int64(st, 5, p->joined_at);
    sqlite3_bind_int64(st, 6, p->state_at);
    bind_text(st, 7, p->session_id, 1);
    return store_step_done(s, st);
}

static int row_participant(sqlite3_stmt *st, struct store_participant *p)
{
    int err = col_text(st, 0, p->id, sizeof(p->id));
    if (err == 0)
        err = col_text(st, 1, p->consultation_id, sizeof(p->consultation_id));
    if (err == 0)
        err = col_text(st, 2, p->role, sizeof(p->role));
    if (err == 0)
        err = col_text(st, 3, p->state, sizeof(p->state));
    p->joined_at = sqlite3_column_int64(st, 4);
    p->state_at = sqlite3_column_int64(st, 5);
    if (err == 0)
        err = col_text(st, 6, p->session_id, sizeof(p->session_id));
    return err;
}

static int fill_participant(sqlite3_stmt *st, void *out)
{
    return row_participant(st, out);
}

int store_participant_get(struct store *s, const char *id, struct store_participant *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "participant id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_PART_GET);
    bind_text(st, 1, id, 0);
    return store_get_one(s, st, fill_participant, out);
}

int store_participant_set_state(struct store *s, const char *id, const char *state, int64_t now)
{
    if (s == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX) || !str_ok(state, STORE_WORD_MAX))
        return store_refuse(s, -EINVAL, "participant id or state missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_PART_STATE);
    bind_text(st, 1, state, 0);
    sqlite3_bind_int64(st, 2, now);
    bind_text(st, 3, id, 0);
    int err = store_step_done(s, st);
    if (err == 0 && sqlite3_changes(s->db) == 0)
        err = store_refuse(s, -ENOENT, "no such participant");
    return err;
}

int store_participant_bind_session(struct store *s, const char *id, const char *session_id)
{
    if (s == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX) || !str_ok(session_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "participant or session id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_PART_BIND);
    bind_text(st, 1, session_id, 0);
    bind_text(st, 2, id, 0);
    bind_text(st, 3, session_id, 0);
    int err = store_step_done(s, st);
    if (err < 0 || sqlite3_changes(s->db) == 1)
        return err;
    st = store_stmt(s, ST_PART_SESSION);
    bind_text(st, 1, id, 0);
    err = store_get_one(s, st, fill_nothing, NULL);
    if (err == 0)
        err = store_refuse(s, -EACCES, "participant is bound to another session");
    return err;
}

struct participant_ctx {
    store_participant_cb cb;
    void *arg;
};

static int row_participant_cb(sqlite3_stmt *st, const void *ctx)
{
    const struct participant_ctx *x = ctx;
    struct store_participant p;
    int err = row_participant(st, &p);
    if (err < 0)
        return err;
    return x->cb(&p, x->arg);
}

int store_participant_list(struct store *s, const char *consultation_id, store_participant_cb cb,
                           void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    if (!str_ok(consultation_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_PART_LIST);
    bind_text(st, 1, consultation_id, 0);
    struct participant_ctx ctx = {cb, arg};
    return store_list(s, st, row_participant_cb, &ctx);
}

/* ---- media state ---- */

int store_media_put(struct store *s, const char *participant_id, const char *consultation_id,
                    const char *room_id, const void *state, size_t len, int64_t now)
{
    if (s == NULL || state == NULL)
        return -EINVAL;
    if (!str_ok(participant_id, STORE_ID_MAX) || !str_ok(consultation_id, STORE_ID_MAX) ||
        !str_ok(room_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "id missing or too long");
    if (len == 0 || len > STORE_MEDIA_MAX)
        return store_refuse(s, -E2BIG, "media state empty or too large");
    sqlite3_stmt *st = store_stmt(s, ST_MEDIA_PUT);
    bind_text(st, 1, participant_id, 0);
    bind_text(st, 2, consultation_id, 0);
    bind_text(st, 3, room_id, 0);
    sqlite3_bind_blob(st, 4, state, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    return store_step_done(s, st);
}

int store_media_list(struct store *s, const char *room_id, store_media_cb cb, void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    if (!str_ok(room_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "room id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_MEDIA_LIST);
    bind_text(st, 1, room_id, 0);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char pid[STORE_ID_MAX + 1], cid[STORE_ID_MAX + 1];
        if (col_text(st, 0, pid, sizeof(pid)) < 0 || col_text(st, 1, cid, sizeof(cid)) < 0)
            continue;
        const void *blob = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        if (cb(pid, cid, blob, len, arg) != 0)
            break;
    }
    int err = 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = store_fail(s, sqlite3_extended_errcode(s->db));
    store_done(st);
    return err;
}

int store_media_delete(struct store *s, const char *participant_id)
{
    if (s == NULL)
        return -EINVAL;
    if (!str_ok(participant_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "participant id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_MEDIA_DELETE);
    bind_text(st, 1, participant_id, 0);
    return store_step_done(s, st);
}

int store_media_prune(struct store *s, bool (*keep)(const char *room_id, void *arg), void *arg)
{
    if (s == NULL || keep == NULL)
        return -EINVAL;
    /* The rooms to forget are collected first: a table is not changed under its own SELECT. */
    char(*gone)[STORE_ID_MAX + 1] = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = store_stmt(s, ST_MEDIA_ROOMS);
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char room[STORE_ID_MAX + 1];
        if (col_text(st, 0, room, sizeof(room)) < 0 || keep(room, arg))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            void *g = realloc(gone, ncap * sizeof(*gone));
            if (!g) {
                err = -ENOMEM;
                break;
            }
            gone = g;
            cap = ncap;
        }
        memcpy(gone[n++], room, sizeof(room));
    }
    if (!err && rc != SQLITE_DONE)
        err = store_fail(s, sqlite3_extended_errcode(s->db));
    store_done(st);
    for (size_t i = 0; !err && i < n; i++) {
        st = store_stmt(s, ST_MEDIA_DELETE_ROOM);
        bind_text(st, 1, gone[i], 0);
        err = store_step_done(s, st);
    }
    free(gone);
    return err;
}

/* ---- tokens ---- */

int store_token_add(struct store *s, const struct store_token *t)
{
    if (s == NULL || t == NULL)
        return -EINVAL;
    if (!str_ok(t->jti, STORE_ID_MAX) || !str_ok(t->consultation_id, STORE_ID_MAX) ||
        !str_ok(t->role, STORE_WORD_MAX))
        return store_refuse(s, -EINVAL, "token field missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_TOKEN_INSERT);
    bind_text(st, 1, t->jti, 0);
    bind_text(st, 2, t->consultation_id, 0);
    bind_text(st, 3, t->role, 0);
    sqlite3_bind_int(st, 4, t->single_use);
    sqlite3_bind_int64(st, 5, t->expires_at);
    return store_step_done(s, st);
}

static int fill_int64(sqlite3_stmt *st, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(st, 0);
    return 0;
}

int store_token_use(struct store *s, const char *jti, const char *session_id, int64_t now)
{
    if (s == NULL)
        return -EINVAL;
    if (!str_ok(jti, STORE_ID_MAX) || !str_ok(session_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "token or session id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_TOKEN_USE);
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, session_id, 0);
    bind_text(st, 3, jti, 0);
    int err = store_step_done(s, st);
    if (err < 0 || sqlite3_changes(s->db) == 1)
        return err;
    /* Refused: the decision is made; this read only names the reason. */
    int64_t expires_at = 0;
    st = store_stmt(s, ST_TOKEN_GET);
    bind_text(st, 1, jti, 0);
    err = store_get_one(s, st, fill_int64, &expires_at);
    if (err < 0)
        return err;
    if (now >= expires_at)
        return store_refuse(s, -EKEYEXPIRED, "token expired");
    return store_refuse(s, -EACCES, "single-use token already used by another session");
}

/* Where fill_token puts a token row and, when wanted, its bound session. */
struct token_row {
    struct store_token *t;
    char *bound; /* NULL: not wanted */
};

static int fill_token(sqlite3_stmt *st, void *out)
{
    struct token_row *r = out;
    struct store_token *t = r->t;
    int err = col_text(st, 0, t->jti, sizeof(t->jti));
    if (err == 0)
        err = col_text(st, 1, t->consultation_id, sizeof(t->consultation_id));
    if (err == 0)
        err = col_text(st, 2, t->role, sizeof(t->role));
    t->single_use = sqlite3_column_int(st, 3);
    t->expires_at = sqlite3_column_int64(st, 4);
    if (err == 0 && r->bound != NULL)
        err = col_text(st, 5, r->bound, STORE_ID_MAX + 1);
    return err;
}

int store_token_get(struct store *s, const char *jti, struct store_token *out,
                    char bound_session[STORE_ID_MAX + 1])
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!str_ok(jti, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "token id missing or too long");
    /* Filled into locals first, so *out is written only on success. */
    struct store_token t;
    char bound[STORE_ID_MAX + 1] = "";
    struct token_row r = {&t, bound_session != NULL ? bound : NULL};
    memset(&t, 0, sizeof(t));
    sqlite3_stmt *st = store_stmt(s, ST_TOKEN_ROW);
    bind_text(st, 1, jti, 0);
    int err = store_get_one(s, st, fill_token, &r);
    if (err < 0)
        return err;
    *out = t;
    if (bound_session != NULL)
        memcpy(bound_session, bound, sizeof(bound));
    return 0;
}

/* ---- audit ---- */

int store_audit(struct store *s, int64_t at, const char *consultation_id, const char *actor_role,
                const char *action, const char *detail)
{
    if (s == NULL)
        return -EINVAL;
    if ((consultation_id != NULL && !str_ok(consultation_id, STORE_ID_MAX)) ||
        !str_ok(actor_role, STORE_WORD_MAX) || !str_ok(action, STORE_ACTION_MAX) ||
        (detail != NULL && strnlen(detail, STORE_DETAIL_MAX + 1) > STORE_DETAIL_MAX))
        return store_refuse(s, -EINVAL, "audit field missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_INSERT);
    sqlite3_bind_int64(st, 1, at);
    bind_text(st, 2, consultation_id, 0);
    bind_text(st, 3, actor_role, 0);
    bind_text(st, 4, action, 0);
    bind_text(st, 5, detail, 1);
    return store_step_done(s, st);
}

struct audit_ctx {
    store_audit_cb cb;
    void *arg;
};

static int row_audit_cb(sqlite3_stmt *st, const void *ctx)
{
    const struct audit_ctx *x = ctx;
    struct store_audit_row r;
    r.id = sqlite3_column_int64(st, 0);
    r.at = sqlite3_column_int64(st, 1);
    int err = col_text(st, 2, r.consultation_id, sizeof(r.consultation_id));
    if (err == 0)
        err = col_text(st, 3, r.actor_role, sizeof(r.actor_role));
    if (err == 0)
        err = col_text(st, 4, r.action, sizeof(r.action));
    if (err == 0)
        err = col_text(st, 5, r.detail, sizeof(r.detail));
    if (err < 0)
        return err;
    return x->cb(&r, x->arg);
}

int store_audit_list(struct store *s, const char *consultation_id, store_audit_cb cb, void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    if (!str_ok(consultation_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_LIST);
    bind_text(st, 1, consultation_id, 0);
    struct audit_ctx ctx = {cb, arg};
    return store_list(s, st, row_audit_cb, &ctx);
}

/* ---- invitations ---- */

static bool inv_word_ok(const char *v, const char *const *allowed)
{
    for (; v != NULL && *allowed != NULL; allowed++) {
        if (strcmp(v, *allowed) == 0)
            return true;
    }
    return false;
}

static const char *const inv_statuses[] = {"queued", "sending", "retrying", "sent", "failed", NULL};

static bool inv_finished(const char *status)
{
    return strcmp(status, "sent") == 0 || strcmp(status, "failed") == 0;
}

int store_invitation_add(struct store *s, const struct store_invitation *inv)
{
    static const char *const channels[] = {"sms", "email", NULL};
    if (s == NULL || inv == NULL)
        return -EINVAL;
    if (!str_ok(inv->id, STORE_ID_MAX) || !str_ok(inv->consultation_id, STORE_ID_MAX) ||
        !str_ok(inv->participant_id, STORE_ID_MAX) || !str_ok(inv->role, STORE_WORD_MAX) ||
        !inv_word_ok(inv->channel, channels) || !inv_word_ok(inv->status, inv_statuses) ||
        inv_finished(inv->status) || !str_ok(inv->destination, STORE_DEST_MAX) ||
        !str_ok(inv->masked, STORE_MASKED_MAX) ||
        strnlen(inv->last_error, STORE_ERROR_MAX + 1) > STORE_ERROR_MAX)
        return store_refuse(s, -EINVAL, "invitation field missing, unknown or too long");
    sqlite3_stmt *st = store_stmt(s, ST_INV_INSERT);
    bind_text(st, 1, inv->id, 0);
    bind_text(st, 2, inv->consultation_id, 0);
    bind_text(st, 3, inv->participant_id, 0);
    bind_text(st, 4, inv->role, 0);
    bind_text(st, 5, inv->channel, 0);
    bind_text(st, 6, inv->status, 0);
    sqlite3_bind_int(st, 7, inv->attempts);
    bind_text(st, 8, inv->last_error, 1);
    bind_text(st, 9, inv->destination, 1);
    bind_text(st, 10, inv->masked, 0);
    sqlite3_bind_int64(st, 11, inv->created_at);
    sqlite3_bind_int64(st, 12, inv->updated_at);
    sqlite3_bind_int64(st, 13, inv->next_at);
    return store_step_done(s, st);
}

static int row_invitation(sqlite3_stmt *st, struct store_invitation *inv)
{
    char *text[] = {inv->id,   inv->consultation_id, inv->participant_id,
                    inv->role, inv->channel,         inv->status};
    size_t caps[] = {sizeof(inv->id),   sizeof(inv->consultation_id), sizeof(inv->participant_id),
                     sizeof(inv->role), sizeof(inv->channel),         sizeof(inv->status)};
    int err = 0;
    for (int i = 0; err == 0 && i < 6; i++)
        err = col_text(st, i, text[i], caps[i]);
    inv->attempts = sqlite3_column_int(st, 6);
    if (err == 0)
        err = col_text(st, 7, inv->last_error, sizeof(inv->last_error));
    if (err == 0)
        err = col_text(st, 8, inv->destination, sizeof(inv->destination));
    if (err == 0)
        err = col_text(st, 9, inv->masked, sizeof(inv->masked));
    inv->created_at = sqlite3_column_int64(st, 10);
    inv->updated_at = sqlite3_column_int64(st, 11);
    inv->next_at = sqlite3_column_int64(st, 12);
    return err;
}

static int fill_invitation(sqlite3_stmt *st, void *out)
{
    return row_invitation(st, out);
}

int store_invitation_get(struct store *s, const char *id, struct store_invitation *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!str_ok(id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "invitation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_INV_GET);
    bind_text(st, 1, id, 0);
    return store_get_one(s, st, fill_invitation, out);
}

int store_invitation_update(struct store *s, const struct store_invitation *inv)
{
    if (s == NULL || inv == NULL)
        return -EINVAL;
    bool done = inv_word_ok(inv->status, inv_statuses) && inv_finished(inv->status);
    if (!str_ok(inv->id, STORE_ID_MAX) || !inv_word_ok(inv->status, inv_statuses) ||
        inv->attempts < 0 || strnlen(inv->last_error, STORE_ERROR_MAX + 1) > STORE_ERROR_MAX ||
        (!done && !str_ok(inv->destination, STORE_DEST_MAX)))
        return store_refuse(s, -EINVAL, "invitation field missing, unknown or too long");
    sqlite3_stmt *st = store_stmt(s, ST_INV_UPDATE);
    bind_text(st, 1, inv->status, 0);
    sqlite3_bind_int(st, 2, inv->attempts);
    bind_text(st, 3, inv->last_error, 1);
    /* A finished invitation keeps no destination, whatever the caller's struct still holds. */
    bind_text(st, 4, done ? NULL : inv->destination, 1);
    sqlite3_bind_int64(st, 5, inv->updated_at);
    sqlite3_bind_int64(st, 6, inv->next_at);
    bind_text(st, 7, inv->id, 0);
    int err = store_step_done(s, st);
    if (err == 0 && sqlite3_changes(s->db) == 0)
        err = store_refuse(s, -ENOENT, "no such invitation");
    return err;
}

struct invitation_ctx {
    store_invitation_cb cb;
    void *arg;
};

static int row_invitation_cb(sqlite3_stmt *st, const void *ctx)
{
    const struct invitation_ctx *x = ctx;
    struct store_invitation inv;
    int err = row_invitation(st, &inv);
    if (err == 0)
        err = x->cb(&inv, x->arg);
    /* The row may hold a destination: it does not outlive the call in this frame. */
    memset(inv.destination, 0, sizeof(inv.destination));
    return err;
}

int store_invitation_list(struct store *s, const char *consultation_id, store_invitation_cb cb,
                          void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    if (!str_ok(consultation_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    sqlite3_stmt *st = store_stmt(s, ST_INV_LIST);
    bind_text(st, 1, consultation_id, 0);
    struct invitation_ctx ctx = {cb, arg};
    return store_list(s, st, row_invitation_cb, &ctx);
}

int store_invitation_list_pending(struct store *s, store_invitation_cb cb, void *arg)
{
    if (s == NULL || cb == NULL)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_INV_PENDING);
    struct invitation_ctx ctx = {cb, arg};
    return store_list(s, st, row_invitation_cb, &ctx);
}

int store_invitation_count(struct store *s, const char *consultation_id, int *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!str_ok(consultation_id, STORE_ID_MAX))
        return store_refuse(s, -EINVAL, "consultation id missing or too long");
    int64_t n = 0;
    sqlite3_stmt *st = store_stmt(s, ST_INV_COUNT);
    bind_text(st, 1, consultation_id, 0);
    int err = store_get_one(s, st, fill_int64, &n);
    if (err == 0)
        *out = (int)n;
    return err;
}

int store_checkpoint(struct store *s)
{
    if (s == NULL)
        return -EINVAL;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_fail(s, sqlite3_extended_errcode(s->db));
}
