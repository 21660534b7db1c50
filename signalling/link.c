/* Join links: the token, then what the store says about it, in the order PROTOCOL.md's error
 * codes need; and the page or JSON a refused link gets. */
#include "link.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"

/* What the checks learnt, kept even when they refuse, so link_use can audit the refusal under
 * the consultation the store holds for the jti. */
struct link_seen {
    bool known; /* the store holds the jti: row is filled */
    struct store_token row;
};

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static int link_check_seen(const uint8_t *secret, size_t secret_len, struct store *s,
                           const char *token, size_t len, const char *session, int64_t now,
                           struct link_info *out, struct link_seen *seen)
{
    struct token_claims claims;
    struct store_consultation cons;
    struct store_participant part;
    char bound[STORE_ID_MAX + 1];

    seen->known = false;
    if (secret == NULL || s == NULL || token == NULL || out == NULL ||
        secret_len < TOKEN_SECRET_MIN)
        return -EINVAL;

    int err = token_verify(secret, secret_len, token, len, now, &claims);
    switch (err) {
    case 0:
        break;
    case -ETIMEDOUT:
        return -EKEYEXPIRED;
    case -EBADMSG:
    case -EACCES: /* a signature that does not match: tampered, or not ours */
    case -EINVAL: /* the arguments were checked above, so these are the claims */
        return -EBADMSG;
    default:
        return err;
    }

    err = store_token_get(s, claims.jti, &seen->row, bound);
    if (err < 0)
        return err;
    seen->known = true;
    /* The signature proves we made the token; the store proves which consultation we made it
     * for. They can only disagree if the secret leaked or a link from one database is shown
     * to another: either way it opens nothing. */
    if (!str_eq(seen->row.consultation_id, claims.consultation) ||
        !str_eq(seen->row.role, token_role_name(claims.role)))
        return -EXDEV;
    if (now >= seen->row.expires_at)
        return -EKEYEXPIRED;

    err = store_consultation_get(s, claims.consultation, &cons);
    if (err < 0)
        return err;
    if (cons.ended_at != 0)
        return -ESHUTDOWN;
    if (now >= cons.expires_at)
        return -EKEYEXPIRED;

    err = store_participant_get(s, claims.jti, &part);
    if (err < 0)
        return err;
    if (!str_eq(part.consultation_id, claims.consultation))
        return -EXDEV;
    if (str_eq(part.state, "denied") || str_eq(part.state, "removed"))
        return -EPERM;

    /* The store's single_use is the one store_token_use enforces, so it is the one looked at. */
    if (session != NULL && seen->row.single_use && bound[0] != '\0' && !str_eq(bound, session))
        return -EACCES;

    out->claims = claims;
    out->cons = cons;
    return 0;
}

int link_check(const uint8_t *secret, size_t secret_len, struct store *s, const char *token,
               size_t len, const char *session, int64_t now, struct link_info *out)
{
    struct link_seen seen;
    return link_check_seen(secret, secret_len, s, token, len, session, now, out, &seen);
}

int link_use(const uint8_t *secret, size_t secret_len, struct store *s, const char *token,
             size_t len, const char *session, int64_t now, struct link_info *out)
{
    struct link_info info;
    struct link_seen seen;
    if (session == NULL || session[0] == '\0' || out == NULL)
        return -EINVAL;
    int err = link_check_seen(secret, secret_len, s, token, len, session, now, &info, &seen);
    if (err == 0)
        err = store_token_use(s, info.claims.jti, session, now);
    if (err == 0) {
        *out = info;
        return 0;
    }
    if (seen.known) {
        char detail[64];
        snprintf(detail, sizeof(detail), "reason=%s", link_error_of(err).code);
        /* The refusal stands whether or not it could be written down. */
        if (store_audit(s, now, seen.row.consultation_id, seen.row.role, "join_refused", detail) <
            0)
            log_warn("link", "audit of a refused link failed: %s", store_errmsg(s));
    }
    return err;
}

struct link_error link_error_of(int err)
{
    switch (err) {
    case -EBADMSG:
    case -ENOENT:
        return (struct link_error){
            401, "bad_token", "This link does not work",
            "This link is incomplete or has been changed. Open the link again from the message "
            "your GP practice sent you, making sure you have all of it. If it still does not "
            "work, contact your GP practice for a new link."};
    case -EKEYEXPIRED:
    case -ETIMEDOUT:
        return (struct link_error){
            401, "link_expired", "This link has expired",
            "This link is no longer valid. If you still need your appointment, contact your GP "
            "practice for a new link."};
    case -EACCES:
        return (struct link_error){
            403, "link_used", "This link has already been used",
            "This link has already been used on another device. If this is your appointment, "
            "contact your GP practice for a new link."};
    case -EXDEV:
    case -EPERM:
        return (struct link_error){
            403, "forbidden", "You cannot join this appointment",
            "This link cannot be used to join this appointment. If you think this is a mistake, "
            "contact your GP practice."};
    case -ESHUTDOWN:
        return (struct link_error){
            410, "consultation_ended", "This appointment has ended",
            "This video appointment has ended. If you still need to speak to someone, contact "
            "your GP practice."};
    default:
        return (struct link_error){
            500, "internal", "Something went wrong",
            "We could not check your link just now. Please try again in a few minutes. If it "
            "keeps happening, contact your GP practice."};
    }
}

/* Colours: text #0b0c0c on #ffffff (19.6:1) and #425563 on #ffffff (7.8:1); in dark mode
 * #f0f4f5 and #c7d0d6 on #1d2125 (14.6:1, 10.4:1): all above WCAG AA's 4.5:1, and AAA's 7:1.
 * Any change here changes the hash in LINK_ERROR_PAGE_CSP (the unit test says so). */
static const char page_style[] =
    "body{margin:0;background:#f0f4f5;color:#0b0c0c;font-family:system-ui,-apple-system,"
    "\"Segoe UI\",Roboto,Arial,sans-serif;font-size:1.125rem;line-height:1.5}"
    "main{box-sizing:border-box;max-width:36rem;margin:2rem auto;padding:1.5rem 1rem;"
    "background:#fff;overflow-wrap:break-word}"
    "h1{font-size:1.75rem;line-height:1.25;margin:0 0 1rem}"
    "p{margin:0 0 1rem}"
    ".service{color:#425563;font-size:1rem;margin:0 0 .5rem}"
    "@media (prefers-color-scheme:dark){body{background:#111416;color:#f0f4f5}"
    "main{background:#1d2125}.service{color:#c7d0d6}}";

/* Appends text to buf (cap bytes) at *n, HTML-escaped; returns false when it does not fit. */
static bool html_append(char *buf, size_t cap, size_t *n, const char *text, bool escape)
{
    for (const char *p = text; *p != '\0'; p++) {
        const char *rep = NULL;
        if (escape) {
            switch (*p) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&#39;";
                break;
            default:
                break;
            }
        }
        size_t add = rep != NULL ? strlen(rep) : 1;
        if (*n + add >= cap)
            return false;
        memcpy(buf + *n, rep != NULL ? rep : p, add);
        *n += add;
    }
    buf[*n] = '\0';
    return true;
}

char *link_error_page(const struct link_error *e)
{
    const char *title = e != NULL && e->title != NULL ? e->title : "";
    const char *message = e != NULL && e->message != NULL ? e->message : "";
    /* Escaping at most sextuples a byte ("&quot;"); the fixed text is well under 2 KiB. */
    size_t cap = 2048 + sizeof(page_style) + 12 * (strlen(title) + strlen(message));
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t n = 0;
    bool ok =
        html_append(buf, cap, &n,
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"robots\" content=\"noindex\">\n"
                    "<meta name=\"referrer\" content=\"no-referrer\">\n<title>",
                    false) &&
        html_append(buf, cap, &n, title, true) &&
        html_append(buf, cap, &n, " - Video appointment</title>\n<style>", false) &&
        html_append(buf, cap, &n, page_style, false) &&
        html_append(buf, cap, &n,
                    "</style>\n</head>\n<body>\n<main>\n"
                    "<p class=\"service\">Video appointment</p>\n<h1>",
                    false) &&
        html_append(buf, cap, &n, title, true) && html_append(buf, cap, &n, "</h1>\n<p>", false) &&
        html_append(buf, cap, &n, message, true) &&
        html_append(buf, cap, &n, "</p>\n</main>\n</body>\n</html>\n", false);
    if (!ok) {
        /* cap was computed from the same strings: this is a bug, not bad input. */
        free(buf);
        return NULL;
    }
    return buf;
}

char *link_error_json(const struct link_error *e)
{
    if (e == NULL || e->code == NULL || e->message == NULL)
        return NULL;
    json_t *root = json_pack("{s:{s:s,s:s}}", "error", "code", e->code, "message", e->message);
    if (root == NULL)
        return NULL;
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
