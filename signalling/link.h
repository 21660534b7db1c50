/* Checking a join link (BASE/join/TOKEN), shared by GET /join/TOKEN and the WebSocket `join`:
 * the token's signature and expiry, what the store recorded for it, the consultation's and the
 * participant's state, and the single-use binding to one browser session. Also the words a
 * refused person or program is given (PROTOCOL.md's error codes). */
#ifndef SIG_LINK_H
#define SIG_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "token.h"

struct link_info {
    struct token_claims claims;     /* from the verified token */
    struct store_consultation cons; /* the consultation the claims name, as stored */
};

/* Checks token (len bytes, need not be NUL-terminated) at now (unix seconds) without using it,
 * and writes *out only on success. In order:
 *   -EBADMSG    malformed, tampered (signature refused) or with claims we would not sign;
 *   -EKEYEXPIRED past the token's or the store's expiry for it, or the consultation expired
 *               (also a token "not yet valid", which only a clock stepped back can make);
 *   -ENOENT     the jti (or its participant) unknown to the store: a link we never issued, or
 *               from a database that has since been replaced;
 *   -EXDEV      the jti recorded for another consultation (or role) than the claims name;
 *   -ESHUTDOWN  the consultation ended;
 *   -EPERM      the participant (id = jti) denied or removed;
 *   -EACCES     session is not NULL, the token is single-use and bound to another session.
 * A NULL session skips only the last check: serving the page must not use the link (a link
 * preview would lock the patient out), nor refuse a browser that has no cookie yet.
 * Other errors: -EINVAL for a NULL argument or a secret shorter than TOKEN_SECRET_MIN, and the
 * store's (-EBUSY, -EIO, -ENOMEM...), all "internal" to link_error_of. Writes no audit row. */
int link_check(const uint8_t *secret, size_t secret_len, struct store *s, const char *token,
               size_t len, const char *session, int64_t now, struct link_info *out);

/* link_check with session (required: -EINVAL when NULL or empty), then records the use with
 * store_token_use, which binds a single-use token to session. The store decides in one
 * statement, so of two browsers racing with a fresh link exactly one gets 0 and the other
 * -EACCES. Returns link_check's errors and store_token_use's. A refusal of a link the store
 * knows is written to the audit log ("join_refused", actor the token's role, detail
 * "reason=CODE"); a success writes nothing, as the caller audits the join it then makes.
 * Touches no participant row: admission state is the caller's. */
int link_use(const uint8_t *secret, size_t secret_len, struct store *s, const char *token,
             size_t len, const char *session, int64_t now, struct link_info *out);

/* What to tell about a refused link. Every member is a static string. */
struct link_error {
    int status;          /* HTTP: 401, 403, 410, or 500 */
    const char *code;    /* PROTOCOL.md's: "bad_token", "link_expired", "link_used",
                          * "consultation_ended", "forbidden" or "internal" */
    const char *title;   /* a heading for a person, e.g. "This link has already been used" */
    const char *message; /* what happened and what to do, in plain English; never names the
                          * token or anything in it */
};

/* For an error of link_check/link_use: 401 bad_token (malformed, tampered, unknown), 401
 * link_expired, 403 link_used (-EACCES), 403 forbidden (-EXDEV, -EPERM), 410
 * consultation_ended (-ESHUTDOWN), and 500 internal for anything else (0 included). */
struct link_error link_error_of(int err);

/* A complete HTML page for a refused link: lang="en", a <title>, <main> with an <h1> (the title)
 * and the message, readable from 320 px wide, text contrast at least WCAG AAA's 7:1 in light and
 * dark mode, no script and nothing fetched. Title and message are HTML-escaped. Returns a
 * malloc'd NUL-terminated string the caller frees, or NULL when out of memory. */
char *link_error_page(const struct link_error *e);

/* A Content-Security-Policy that fits link_error_page's pages: nothing but their one <style>
 * element, named by its hash (the unit test recomputes it from the page). */
#define LINK_ERROR_PAGE_CSP                                                                        \
    "default-src 'none'; style-src 'sha256-yMkxEu6WI9H/CMijWA+tpNgJn1knqAR3sNwKdU5hNGQ='; "        \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* The same refusal for a program (an Accept header without text/html): the JSON text
 * {"error":{"code":CODE,"message":MESSAGE}}, malloc'd and NUL-terminated; the caller frees it.
 * NULL when out of memory. */
char *link_error_json(const struct link_error *e);

#endif
