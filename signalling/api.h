/* The practice system's JSON HTTP API (API.md) as pure functions: a request in, a response out,
 * no sockets. The web server's glue reads the request, calls api_handle and writes what it
 * answers. POST /api/v1/consultations makes a consultation and its join links; GET and DELETE
 * /api/v1/consultations/ID read and end one; POST /api/v1/consultations/ID/invite queues a link
 * to be sent by SMS or email (invite_send.c sends it). */
#ifndef SIG_API_H
#define SIG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_time.h" /* API_TIME_MAX and api_time_*, for callers that include only api.h */
#include "config.h"
#include "store.h"

/* Largest request body api_handle reads; a longer one gets 413. */
#define API_BODY_MAX (16 * 1024)
/* The most patients, and the most guests, one consultation may have. */
#define API_PEOPLE_MAX 20
/* Room for a label from api_label, with its NUL. */
#define API_LABEL_MAX 32
/* The most invitations one consultation may have (each makes a link and a participant). */
#define API_INVITES_MAX 20

struct api_ctx {
    const struct sig_config *cfg; /* borrowed: api_keys, public_url, link_ttl_s */
    struct store *store;          /* borrowed */
    const uint8_t *token_secret;  /* borrowed: signs the links */
    size_t token_secret_len;      /* at least TOKEN_SECRET_MIN */
    /* Called after DELETE ended a consultation (and the end is committed), so that live calls
     * end for everyone. consultation_id is borrowed for the call. May be NULL. */
    void (*ended)(void *arg, const char *consultation_id);
    void *arg; /* borrowed, handed to ended */
    /* Called after POST .../invite committed a new invitation, so that it is sent now.
     * invitation_id is borrowed for the call. May be NULL: the invitation then waits in the
     * store, and the next start resumes it. */
    void (*invited)(void *arg, const char *invitation_id);
    void *invite_arg; /* borrowed, handed to invited */
};

struct api_req {               /* all borrowed for the call */
    const char *method;        /* "GET", "POST", "DELETE", ... */
    const char *path;          /* without the query string */
    const char *authorization; /* the header's value, NULL when absent */
    const char *body;          /* need not be NUL-terminated; may be NULL when body_len is 0 */
    size_t body_len;
    int64_t now; /* unix seconds */
};

struct api_resp {
    int status;
    char *body;            /* owned: malloc'd JSON text (NUL-terminated), NULL for 204; freed by
                            * api_resp_free */
    size_t body_len;       /* without the NUL */
    const char *allow;     /* for 405: e.g. "GET, DELETE"; NULL otherwise (a static string) */
    bool www_authenticate; /* 401: the glue adds WWW-Authenticate: Bearer */
};

/* Whether path is the API's: "/api" or anything under "/api/". Such a path is always answered
 * by api_handle (404 when nothing there), never by the static files. */
bool api_path_is_api(const char *path);

/* Handles one request, always filling *resp (which the caller then frees with api_resp_free).
 * The API key (Authorization: Bearer KEY) is checked first, for every path, in constant time
 * against every configured key. Errors are {"error":{"code":C,"message":M}}, with "member"
 * naming the offending member of a request body when there is one. Codes and statuses:
 * unauthorized 401, bad_json 400, unknown_member 400, invalid_value 400, too_large 413,
 * not_found 404, method_not_allowed 405 (resp->allow set), already_ended 409, unavailable 503
 * (the database stayed locked: retry), internal 500; for invitations also missing_member,
 * invalid_phone, not_mobile and invalid_email 400, consultation_ended and
 * consultation_expired 404, too_many_invitations 409, channel_unavailable 503 (the channel is
 * not configured). An invitation is answered 202: it is queued, not yet sent. Each POST writes
 * what it makes (the consultation or the invitation, participants, tokens, audit rows) in one
 * transaction: all or nothing.
 * Returns 0 (also for every error answered), -EINVAL when resp is NULL, or -ENOMEM when even
 * the error body could not be made (resp->status is then 500 with no body, and the glue answers
 * 500 by itself). */
int api_handle(const struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp);

/* Frees resp->body and clears *resp. Accepts NULL. */
void api_resp_free(struct api_resp *resp);

/* Writes the role-based label people see for a participant: "Clinician" for a host, "Patient",
 * "Guest 1", "Observer"; from the second of a role on, numbered ("Clinician 2", "Patient 2").
 * Guests are always numbered. Never a name: signalling holds none. n is the participant's 1-based
 * place among those of its role in the order they were added (store_participant_list's order),
 * so a person's label stays the same for the whole consultation and matches the API's. An
 * unknown role gives "Participant N". out gets at most cap bytes with the NUL (API_LABEL_MAX
 * always suffices). */
void api_label(char *out, size_t cap, const char *role, int n);

#endif
