/* Invitations: what POST /api/v1/consultations/ID/invite reads (a channel and a phone number or
 * email address), and the messages that carry a join link to its person: an SMS through GOV.UK
 * Notify's HTTP API (its JSON body and its JWT) or an email (a plain-text RFC 5322 message).
 * Pure functions, no sockets and no store: invite_send.c sends, api.c records. Phone numbers and
 * addresses are patient data: nothing here logs, and callers must not either. */
#ifndef SIG_INVITE_H
#define SIG_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token.h"

#define INVITE_PHONE_MAX  16               /* "+" and at most 15 digits (E.164), without the NUL */
#define INVITE_PHONE_IN   32               /* longest phone number read, spaces included */
#define INVITE_EMAIL_MAX  254              /* RFC 5321's longest path less its angle brackets */
#define INVITE_LOCAL_MAX  64               /* the part before '@' */
#define INVITE_DEST_MAX   INVITE_EMAIL_MAX /* either, without the NUL */
#define INVITE_MASKED_MAX 272 /* a masked destination with its NUL ("•" is 3 bytes) */
#define INVITE_UUID_LEN   36  /* 8-4-4-4-12 hex digits */
#define INVITE_TEXT_MAX   128 /* practice name, SMTP user, display name: bytes with the NUL */
#define INVITE_TIME_MAX   64  /* "Tuesday 1 December 2026 at 09:30 GMT" with its NUL */
#define INVITE_JWT_MAX    256 /* a Notify JWT with its NUL */
#define INVITE_MSGID_MAX  (INVITE_EMAIL_MAX + 40)
/* Notify's API key: KEYNAME-SERVICEID-SECRET, the last two uuids (36 characters each). */
#define INVITE_NOTIFY_KEY_MIN (2 * INVITE_UUID_LEN + 2)
#define INVITE_NOTIFY_KEY_MAX 256

enum invite_channel {
    INVITE_SMS = 1, /* zero is no channel */
    INVITE_EMAIL,
};

struct sig_config;

/* Whether the service is configured to send by ch: sms needs the Notify key and a template,
 * email an SMTP URL and a sender (config.c's finish refuses anything in between). */
bool invite_channel_ready(const struct sig_config *cfg, enum invite_channel ch);

/* "sms" or "email"; NULL for anything else. */
const char *invite_channel_name(enum invite_channel ch);
/* The channel named s ("sms", "email"); -EINVAL for anything else. */
int invite_channel_parse(const char *s, enum invite_channel *out);

/* Reads a mobile number as a person types it and writes its E.164 form ("+447700900123") to
 * out. Accepted: a UK mobile, 07 and 9 digits, or +447 (or 00447) and 9 digits; any other
 * number in international form, + (or 00) and 8 to 15 digits, the first not 0. Spaces may
 * appear anywhere between the characters; nothing else (no dashes, dots or brackets). Returns 0,
 * -EDOM for a well-formed UK number that is not a mobile (01..., 02..., 03..., 08..., +441...:
 * it cannot take an SMS), -EINVAL for anything else. in need not be NUL-terminated. */
int invite_phone_normalise(const char *in, size_t len, char out[INVITE_PHONE_MAX + 1]);

/* Checks an email address conservatively: ASCII only, exactly one '@', at most 254 bytes;
 * before the '@' 1 to 64 of A-Z a-z 0-9 and !#$%&'*+/=?^_`{|}~- and dots (not first, not last,
 * never two together); after it at least two dot-separated labels of 1 to 63 letters, digits
 * and hyphens (not first or last), the last not all digits. So no spaces, no control
 * characters, no quoted local parts, no address literals, and nothing that could end a mail
 * header. Returns 0 or -EINVAL. in need not be NUL-terminated. */
int invite_email_check(const char *in, size_t len);

/* What may be shown of a destination (the API's "destination", the service's own pages): a
 * phone number as "•••• " and its last 3 digits, an address as its first character, "•••" and
 * its domain ("p•••@example.org"; "•••@example.org" for a one-character local part). dest is
 * what invite_phone_normalise or invite_email_check accepted. */
void invite_mask(enum invite_channel ch, const char *dest, char out[INVITE_MASKED_MAX]);

/* Whether s (len bytes) is valid UTF-8 without control characters (C0, DEL, C1): text that may
 * go into a message and a mail header. */
bool invite_text_ok(const char *s, size_t len);

/* Whether s is a uuid as Notify writes them: 36 characters, lowercase or uppercase hex digits
 * with '-' at 8, 13, 18 and 23. */
bool invite_uuid_ok(const char *s, size_t len);

/* The request body of POST /api/v1/consultations/ID/invite, read by invite_req_parse. */
struct invite_req {
    enum invite_channel channel;
    enum token_role role;           /* which link to send; TOKEN_ROLE_PATIENT by default */
    char dest[INVITE_DEST_MAX + 1]; /* E.164 number or email address; secret-ish: wipe it */
};

/* Why a body was refused, as the API answers it. */
struct invite_error {
    int status;       /* 400 or 413 */
    const char *code; /* bad_json, unknown_member, missing_member, invalid_value,
                       * invalid_phone, not_mobile, invalid_email, too_large */
    char member[68];  /* the member at fault (its first 64 bytes); "" for the whole body */
    char msg[256];    /* plain ASCII; never quotes the number or the address */
};

/* Reads an invitation body: a JSON object of at most max_len bytes with "channel" ("sms" or
 * "email", required), "phone" (for sms, required there and refused with email) or "email"
 * (the reverse), and "role" ("patient", the default, "guest" or "host"). A member given as
 * null is absent; an unknown member or one given twice is refused. Writes *out only on
 * success. Returns 0, or -EINVAL with *e filled. body need not be NUL-terminated. */
int invite_req_parse(const char *body, size_t len, size_t max_len, struct invite_req *out,
                     struct invite_error *e);

/* Splits a Notify API key (KEYNAME-SERVICEID-SECRET) into its service id and its secret, each
 * a uuid with its NUL. Returns 0 or -EINVAL (too short or too long, or the last 73 characters
 * are not uuid '-' uuid). */
int invite_notify_key_parse(const char *key, size_t len, char service_id[INVITE_UUID_LEN + 1],
                            char secret[INVITE_UUID_LEN + 1]);

/* Writes the bearer token Notify wants: a JWT with header {"typ":"JWT","alg":"HS256"}, claims
 * {"iss":SERVICE_ID,"iat":NOW}, signed with HMAC-SHA256 keyed by the secret's 36 characters.
 * Returns its length, -EINVAL for a bad argument, -ENOSPC (INVITE_JWT_MAX always suffices) or
 * -EIO when the crypto library fails. */
int invite_notify_jwt(const char *service_id, const char *secret, int64_t now, char *out,
                      size_t cap);

/* Notify's request body for one SMS, as malloc'd NUL-terminated JSON (*len without the NUL):
 * {"phone_number":PHONE,"template_id":T,"personalisation":{"practice":P,"time":W,"link":L},
 * "reference":R}. The template's ((practice)), ((time)) and ((link)) are filled from it. NULL
 * when out of memory or a string is not valid UTF-8. The caller wipes and frees it. */
char *invite_sms_json(const char *phone, const char *template_id, const char *practice,
                      const char *when, const char *link, const char *reference, size_t *len);

/* Splits smtp-from, "addr@example.org" or "Display Name <addr@example.org>", into its display
 * name ("" when none; printable ASCII without " \ < > and not starting or ending with a space)
 * and its address (checked by invite_email_check). Returns 0 or -EINVAL. */
int invite_from_parse(const char *from, char name[INVITE_TEXT_MAX],
                      char addr[INVITE_EMAIL_MAX + 1]);

/* An appointment time as a person reads it, in the process's time zone (TZ, which main sets
 * from the timezone setting): "Tuesday 1 December 2026 at 09:30 GMT", the zone's abbreviation
 * always written ("UTC" for UTC). Returns the length or -EINVAL. */
int invite_time_format(int64_t t, char *out, size_t cap);

/* A fresh Message-ID, "<32 hex digits@DOMAIN>", DOMAIN being from_addr's. 0 or -EIO. */
int invite_message_id(const char *from_addr, char out[INVITE_MSGID_MAX]);

struct invite_email {       /* all borrowed */
    const char *from;       /* smtp-from as configured (invite_from_parse accepts it) */
    const char *to;         /* the address (invite_email_check accepts it) */
    const char *practice;   /* practice-name (invite_text_ok) */
    const char *when;       /* from invite_time_format */
    const char *link;       /* the join link */
    const char *message_id; /* from invite_message_id */
    int64_t now;            /* the Date header, unix seconds */
};

/* The whole message (headers and plain-text body, CRLF line ends, every line under 998 bytes)
 * as malloc'd NUL-terminated text, *len without the NUL: From, To, Subject (RFC 2047 encoded
 * when the practice's name is not ASCII), Date, Message-ID, MIME-Version, Content-Type
 * text/plain; charset=utf-8, Content-Transfer-Encoding 8bit, Auto-Submitted, then the practice's
 * name, the time and the link. NULL when out of memory or an argument is refused. The caller
 * wipes and frees it (it holds the link). */
char *invite_email_text(const struct invite_email *m, size_t *len);

#endif
