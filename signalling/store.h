/* The signalling service's durable state in SQLite: consultations, participants, token ids and
 * their first use, invitations, and the audit log. Everything signalling must rebuild after a
 * restart is here.
 */
#ifndef SIG_STORE_H
#define SIG_STORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Longest id (consultation, room, participant, token jti, browser session), in bytes. */
#define STORE_ID_MAX 64
/* Longest enumerated word (kind, role, state, audit actor). */
#define STORE_WORD_MAX 16
/* Longest audit action name, and audit detail. Detail is a short machine-readable note
 * ("reason=timeout"), never clinical content; the bound keeps free text from growing there. */
#define STORE_ACTION_MAX 32
#define STORE_DETAIL_MAX 256
/* Longest waiting-room message from the practice. */
#define STORE_MESSAGE_MAX 1024
/* An invitation's destination (E.164 number or email address), its masked form (bytes: "•" is
 * three), and the short code of its last error ("http_503", "smtp_450", "timeout"). */
#define STORE_DEST_MAX   254
#define STORE_MASKED_MAX 271
#define STORE_ERROR_MAX  32
/* A participant's media state blob (conf_persist.c): a receiving connection of 48 sections. */
#define STORE_MEDIA_MAX     1048576
#define STORE_MEDIA_MAX_STR "1048576"

/* The schema version this code creates and understands (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 4

struct store;

/* Times are wall-clock unix seconds, chosen by the caller. A time of 0 means "not set". */

struct store_consultation {
    char id[STORE_ID_MAX + 1];
    /* "consultation", "group", "mdt" or "ward_round"; anything else is refused by the schema. */
    char kind[STORE_WORD_MAX + 1];
    char room_id[STORE_ID_MAX + 1];
    int64_t created_at;
    int64_t starts_at;
    int64_t expires_at;
    int64_t ended_at;                             /* 0 while not ended */
    char practice_message[STORE_MESSAGE_MAX + 1]; /* "" when none */
};

struct store_participant {
    char id[STORE_ID_MAX + 1];
    char consultation_id[STORE_ID_MAX + 1];
    char role[STORE_WORD_MAX + 1]; /* "host", "patient", "guest" or "observer" */
    char state[STORE_WORD_MAX +
               1]; /* "invited", "waiting", "admitted", "denied", "removed", "left" */
    int64_t joined_at;
    int64_t state_at;                  /* when state last changed */
    char session_id[STORE_ID_MAX + 1]; /* the resumable browser session; "" until bound */
};

struct store_token {
    char jti[STORE_ID_MAX + 1];
    char consultation_id[STORE_ID_MAX + 1];
    char role[STORE_WORD_MAX + 1];
    int single_use; /* 0 or 1 */
    int64_t expires_at;
};

struct store_audit_row {
    int64_t id; /* increasing in insertion order, never reused */
    int64_t at;
    char consultation_id[STORE_ID_MAX + 1]; /* "" for events about no consultation */
    char actor_role[STORE_WORD_MAX + 1];    /* a participant role, "api" or "system" */
    char action[STORE_ACTION_MAX + 1];
    char detail[STORE_DETAIL_MAX + 1]; /* "" when none */
};

/* An invitation sent by SMS or email (api.c makes it, invite_send.c sends it). status is
 * "queued" (not tried yet), "sending" (an attempt under way), "retrying" (waiting for the next
 * attempt at next_at), "sent" or "failed". */
struct store_invitation {
    char id[STORE_ID_MAX + 1];
    char consultation_id[STORE_ID_MAX + 1];
    char participant_id[STORE_ID_MAX + 1]; /* the link's seat: its token id */
    char role[STORE_WORD_MAX + 1];
    char channel[STORE_WORD_MAX + 1]; /* "sms" or "email" */
    char status[STORE_WORD_MAX + 1];
    int attempts;
    char last_error[STORE_ERROR_MAX + 1]; /* "" when none; a code, never patient data */
    /* The full number or address while pending; "" once sent or failed (the schema refuses a
     * finished row that holds one). Patient data: wipe copies after use, never log. */
    char destination[STORE_DEST_MAX + 1];
    char masked[STORE_MASKED_MAX + 1]; /* "•••• 123", "p•••@example.org" */
    int64_t created_at;
    int64_t updated_at;
    int64_t next_at; /* when the next attempt is due */
};

/* Opens (creating if missing) the database at path, turns on WAL, foreign keys, secure_delete
 * and a busy timeout, and applies the migrations it lacks, each in its own transaction. Writes
 * *out only on success; the caller frees it with store_close. The store is for one thread.
 * Errors: -EPROTO when the database's schema is newer than this code (it is left untouched),
 * -EINVAL for a NULL argument, -ENOMEM, -EIO for any other failure. The reason of a failed open
 * is logged (tag "store"), since there is no store left to ask. */
int store_open(struct store **out, const char *path);

/* Finalizes the cached statements and closes the database. Accepts NULL. */
void store_close(struct store *s);

/* The message of the last failed call on s (SQLite's text or our own), "" if none. Borrowed:
 * valid until the next call on s. */
const char *store_errmsg(struct store *s);

/* Groups the calls between begin and commit into one transaction (e.g. a consultation with its
 * tokens). begin returns -EBUSY if another connection holds the write lock past the busy timeout,
 * -EINVAL if a transaction is already open. When commit fails the transaction is still open and
 * the caller rolls it back. rollback is safe to call when none is open. */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
void store_tx_rollback(struct store *s);

/* Errors common to the calls below: -EINVAL for a NULL argument, an over-long or empty string,
 * or a value the schema's CHECK constraints refuse (nothing is stored then); -EBUSY when the
 * database stays locked past the busy timeout; -ENOSPC when the disk is full; -EIO otherwise.
 * store_errmsg tells which. Strings are always bound as parameters, never put into SQL. */

/* Stores a new consultation (c->ended_at is ignored; "" practice_message stores none).
 * -EEXIST when the id or the room id is taken. */
int store_consultation_create(struct store *s, const struct store_consultation *c);

/* Fills *out with the consultation id. -ENOENT when there is none. */
int store_consultation_get(struct store *s, const char *id, struct store_consultation *out);

/* Marks the consultation ended at now. -ENOENT when unknown, -EALREADY when already ended. */
int store_consultation_end(struct store *s, const char *id, int64_t now);

/* Called once per row by the list functions; c/p/row are borrowed for the call. A non-zero
 * return stops the listing and becomes its result. */
typedef int (*store_consultation_cb)(const struct store_consultation *c, void *arg);
typedef int (*store_participant_cb)(const struct store_participant *p, void *arg);
typedef int (*store_audit_cb)(const struct store_audit_row *row, void *arg);

/* Lists the consultations not ended and not expired at now, oldest first: what a restarted
 * signalling process re-claims from the SFU. Returns 0, a store error, or the callback's. */
int store_consultation_list_live(struct store *s, int64_t now, store_consultation_cb cb, void *arg);

/* Adds a participant (p->session_id "" stores none). -EEXIST when the id is taken, -ENOENT when
 * the consultation does not exist, -EINVAL for an unknown role or state. */
int store_participant_add(struct store *s, const struct store_participant *p);

/* Fills *out with participant id. -ENOENT when there is none. */
int store_participant_get(struct store *s, const char *id, struct store_participant *out);

/* Sets the participant's state and state_at. -ENOENT when unknown, -EINVAL for an unknown state
 * (the old state is kept). */
int store_participant_set_state(struct store *s, const char *id, const char *state, int64_t now);

/* Binds the participant to browser session session_id if it has none yet. 0 when bound now or
 * already bound to the same session, -EACCES when bound to another, -ENOENT when unknown. */
int store_participant_bind_session(struct store *s, const char *id, const char *session_id);

/* Lists the consultation's participants in the order they were added. */
int store_participant_list(struct store *s, const char *consultation_id, store_participant_cb cb,
                           void *arg);

/* Records a token id issued for a link, before the link is handed out. -EEXIST when the jti is
 * taken, -ENOENT when the consultation does not exist. */
int store_token_add(struct store *s, const struct store_token *t);

/* Records a use of token jti by browser session session_id at now, atomically (one UPDATE):
 * 0 on first use (a single-use token is then bound to session_id), on reuse by the same session
 * (a reload), and on any use of a token that is not single-use; -EACCES when a single-use token is
 * bound to another session; -EKEYEXPIRED when now >= its expiry; -ENOENT when jti is unknown. */
int store_token_use(struct store *s, const char *jti, const char *session_id, int64_t now);

/* Fills *out with the row of token jti without using it, and, when bound_session is not NULL,
 * writes there the browser session a single-use token is bound to ("" while unbound, and always
 * "" for a token that is not single-use): what a link check needs to refuse another browser
 * before anything is recorded. -ENOENT when jti is unknown. */
int store_token_get(struct store *s, const char *jti, struct store_token *out,
                    char bound_session[STORE_ID_MAX + 1]);

/* Appends an audit row. consultation_id and detail may be NULL; actor_role is a participant
 * role, "api" or "system"; action is a short name such as "join" or "admit". The audit log holds
 * who, when and what happened, never clinical content. */
int store_audit(struct store *s, int64_t at, const char *consultation_id, const char *actor_role,
                const char *action, const char *detail);

/* Lists the audit rows of a consultation in the order they were written. */
int store_audit_list(struct store *s, const char *consultation_id, store_audit_cb cb, void *arg);

typedef int (*store_invitation_cb)(const struct store_invitation *inv, void *arg);

/* Adds an invitation, not finished (queued, sending or retrying), with its destination.
 * -EEXIST when the id is taken, -ENOENT when its consultation or participant does not exist. */
int store_invitation_add(struct store *s, const struct store_invitation *inv);

/* Fills *out with invitation id. -ENOENT when there is none. */
int store_invitation_get(struct store *s, const char *id, struct store_invitation *out);

/* Writes inv's status, attempts, last_error, updated_at and next_at; its destination too while
 * it is not finished, and none once it is sent or failed. -ENOENT when unknown. */
int store_invitation_update(struct store *s, const struct store_invitation *inv);

/* Lists a consultation's invitations, oldest first. The rows handed to cb hold the destination
 * of a pending invitation: cb must not keep or log it. */
int store_invitation_list(struct store *s, const char *consultation_id, store_invitation_cb cb,
                          void *arg);

/* Lists every pending invitation (queued, sending, retrying), the soonest due first: what a
 * restarted service resumes. */
int store_invitation_list_pending(struct store *s, store_invitation_cb cb, void *arg);

/* How many invitations the consultation has had. */
int store_invitation_count(struct store *s, const char *consultation_id, int *out);

/* Copies the write-ahead log into the database and truncates it, so that rows overwritten
 * since (a cleared destination) are gone from the log file too. 0 or a store error; -EBUSY
 * when a reader holds the log. */
int store_checkpoint(struct store *s);

/* The SQL of each migration, in order: migration i (0-based) takes user_version i to i + 1.
 * Internal, exported for the tests that build an older database by hand. */
const char *store__migration_sql(int index);

/* A participant's media state (an opaque blob of conf_persist.c, at most STORE_MEDIA_MAX bytes),
 * replacing the one before. -EINVAL, -E2BIG, or a store error. */
int store_media_put(struct store *s, const char *participant_id, const char *consultation_id,
                    const char *room_id, const void *state, size_t len, int64_t now);
/* Calls cb for each media state kept for the SFU room room_id, in the order they were first
 * written; the blob is borrowed for the call. A non-zero return from cb stops the walk. */
typedef int (*store_media_cb)(const char *participant_id, const char *consultation_id,
                              const void *state, size_t len, void *arg);
int store_media_list(struct store *s, const char *room_id, store_media_cb cb, void *arg);
/* Forgets the media states of every room for which keep returns false. */
int store_media_prune(struct store *s, bool (*keep)(const char *room_id, void *arg), void *arg);
/* Forgets a participant's media state (they left; nothing to resume). 0 also when none. */
int store_media_delete(struct store *s, const char *participant_id);

#endif
