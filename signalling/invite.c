/* Invitations as data: the request body, phone numbers and email addresses checked and masked,
 * Notify's JWT and JSON, and the email message. No I/O except the random Message-ID. */
#include "invite.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "config.h"

#define BULLET          "\xe2\x80\xa2" /* U+2022, what a masked character shows as */
#define COUNT(a)        (sizeof(a) / sizeof((a)[0]))
#define MEMBER_ECHO_MAX 64

static const char *const members[] = {"channel", "phone", "email", "role"};

const char *invite_channel_name(enum invite_channel ch)
{
    switch (ch) {
    case INVITE_SMS:
        return "sms";
    case INVITE_EMAIL:
        return "email";
    }
    return NULL;
}

int invite_channel_parse(const char *s, enum invite_channel *out)
{
    if (s != NULL && strcmp(s, "sms") == 0)
        *out = INVITE_SMS;
    else if (s != NULL && strcmp(s, "email") == 0)
        *out = INVITE_EMAIL;
    else
        return -EINVAL;
    return 0;
}

bool invite_channel_ready(const struct sig_config *cfg, enum invite_channel ch)
{
    if (cfg == NULL)
        return false;
    if (ch == INVITE_SMS)
        return cfg->sms_api_key[0] != '\0' && cfg->sms_template_id[0] != '\0';
    if (ch == INVITE_EMAIL)
        return cfg->smtp_url[0] != '\0' && cfg->smtp_from[0] != '\0';
    return false;
}

/* ---- phone numbers ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int invite_phone_normalise(const char *in, size_t len, char out[INVITE_PHONE_MAX + 1])
{
    char d[INVITE_PHONE_IN + 1];
    size_t n = 0;
    bool plus = false;

    if (in == NULL || len > INVITE_PHONE_IN)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == ' ')
            continue;
        if (in[i] == '+' && n == 0 && !plus) {
            plus = true;
            continue;
        }
        if (!is_digit(in[i]))
            return -EINVAL;
        d[n++] = in[i];
    }
    d[n] = '\0';

    const char *num = d; /* the digits after the international prefix */
    if (!plus && n >= 2 && d[0] == '0' && d[1] == '0') {
        /* 00 is how the UK dials out: 0044 7700 900123 is +44 7700 900123. */
        num = d + 2;
        n -= 2;
    } else if (!plus) {
        /* A national UK number: 0 and 10 digits; only 07 is a mobile (Ofcom's plan). */
        if (n != 11 || d[0] != '0' || d[1] == '0')
            return -EINVAL;
        if (d[1] != '7')
            return -EDOM;
        memcpy(out, "+44", 3);
        memcpy(out + 3, d + 1, 11); /* ten digits and the NUL */
        return 0;
    }
    /* E.164: at most 15 digits, the country code never starting with 0; 8 is the shortest
     * mobile number in use anywhere with its country code. */
    if (n < 8 || n > 15 || num[0] == '0')
        return -EINVAL;
    if (num[0] == '4' && num[1] == '4') {
        if (n != 12 || num[2] == '0')
            return -EINVAL;
        if (num[2] != '7')
            return -EDOM;
    }
    out[0] = '+';
    memcpy(out + 1, num, n + 1);
    return 0;
}

/* ---- email addresses ---- */

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5322's atext: what a dot-atom local part is made of. */
static bool is_atext(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

int invite_email_check(const char *in, size_t len)
{
    if (in == NULL || len < 5 || len > INVITE_EMAIL_MAX)
        return -EINVAL;
    const char *at = memchr(in, '@', len);
    if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - in) - 1) != NULL)
        return -EINVAL;
    size_t local = (size_t)(at - in);
    if (local == 0 || local > INVITE_LOCAL_MAX || in[0] == '.' || in[local - 1] == '.')
        return -EINVAL;
    for (size_t i = 0; i < local; i++) {
        if (in[i] == '.' ? in[i + 1] == '.' : !is_atext(in[i]))
            return -EINVAL;
    }
    const char *dom = at + 1;
    size_t dlen = len - local - 1, label = 0, labels = 0;
    bool all_digits = true;
    for (size_t i = 0; i <= dlen; i++) {
        if (i == dlen || dom[i] == '.') {
            if (label == 0 || label > 63 || dom[i - 1] == '-')
                return -EINVAL;
            labels++;
            if (i < dlen) {
                label = 0;
                all_digits = true;
            }
            continue;
        }
        if (!is_alnum(dom[i]) && dom[i] != '-')
            return -EINVAL;
        if (label == 0 && dom[i] == '-')
            return -EINVAL;
        all_digits = all_digits && is_digit(dom[i]);
        label++;
    }
    /* The last label all digits would be an IP address written without brackets. */
    if (labels < 2 || all_digits)
        return -EINVAL;
    return 0;
}

void invite_mask(enum invite_channel ch, const char *dest, char out[INVITE_MASKED_MAX])
{
    size_t n = dest != NULL ? strlen(dest) : 0;
    out[0] = '\0';
    if (ch == INVITE_SMS && n >= 3) {
        snprintf(out, INVITE_MASKED_MAX, BULLET BULLET BULLET BULLET " %s", dest + n - 3);
    } else if (ch == INVITE_EMAIL && n > 0) {
        const char *at = strchr(dest, '@');
        if (at == NULL)
            return;
        /* One character of a one-character local part would be all of it. */
        if (at - dest > 1)
            snprintf(out, INVITE_MASKED_MAX, "%c" BULLET BULLET BULLET "%s", dest[0], at);
        else
            snprintf(out, INVITE_MASKED_MAX, BULLET BULLET BULLET "%s", at);
    }
}

/* ---- text ---- */

bool invite_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    if (s == NULL)
        return false;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + need >= len)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF, and the C1 controls. */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += need + 1;
    }
    return true;
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool invite_uuid_ok(const char *s, size_t len)
{
    if (s == NULL || len != INVITE_UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

/* ---- the request body ---- */

static int refuse(struct invite_error *e, int status, const char *code, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct invite_error *e, int status, const char *code, const char *name,
                  const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->code = code;
    snprintf(e->member, sizeof(e->member), "%s", name != NULL ? name : "");
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The member's value, or NULL when absent or null. */
static json_t *member(json_t *root, const char *name)
{
    json_t *v = json_object_get(root, name);
    return json_is_null(v) ? NULL : v;
}

static int read_dest(json_t *root, struct invite_req *r, struct invite_error *e)
{
    bool sms = r->channel == INVITE_SMS;
    const char *want = sms ? "phone" : "email", *other = sms ? "email" : "phone";
    if (member(root, other) != NULL)
        return refuse(e, 400, "invalid_value", other, "%s is not used with channel \"%s\"; give %s",
                      other, invite_channel_name(r->channel), want);
    json_t *v = member(root, want);
    const char *m = want;
    if (v == NULL)
        return refuse(e, 400, "missing_member", m, "channel \"%s\" needs %s",
                      invite_channel_name(r->channel), want);
    if (!json_is_string(v))
        return refuse(e, 400, "invalid_value", m, "%s must be a string", want);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (sms) {
        int err = invite_phone_normalise(s, n, r->dest);
        if (err == -EDOM)
            return refuse(e, 400, "not_mobile", m,
                          "phone is a UK number that is not a mobile, so it cannot take an SMS");
        if (err < 0)
            return refuse(e, 400, "invalid_phone", m,
                          "phone must be a UK mobile number (07700 900000, +44 7700 900000) or "
                          "an international number (+ and the country code); spaces are allowed");
        return 0;
    }
    if (invite_email_check(s, n) < 0)
        return refuse(e, 400, "invalid_email", m,
                      "email must be one plain address such as name@example.org (ASCII, no "
                      "spaces, at most %d characters)",
                      INVITE_EMAIL_MAX);
    memcpy(r->dest, s, n + 1);
    return 0;
}

int invite_req_parse(const char *body, size_t len, size_t max_len, struct invite_req *out,
                     struct invite_error *e)
{
    struct invite_req r;
    json_error_t jerr;
    const char *key;
    json_t *v;
    int err = -EINVAL;

    memset(e, 0, sizeof(*e));
    if (len > max_len)
        return refuse(e, 413, "too_large", NULL, "the body is %zu bytes; at most %zu are allowed",
                      len, max_len);
    if (body == NULL || len == 0)
        return refuse(
            e, 400, "bad_json", NULL,
            "the body must be a JSON object, such as {\"channel\":\"sms\",\"phone\":...}");
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        /* jansson's text can quote the body ("near '...'"), which may hold the number: only the
         * place is given back. */
        return refuse(e, 400, "bad_json", NULL, "not valid JSON (line %d, column %d)", jerr.line,
                      jerr.column);
    memset(&r, 0, sizeof(r));
    if (!json_is_object(root)) {
        refuse(e, 400, "bad_json", NULL, "the body must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < COUNT(members) && !known; i++)
            known = strcmp(key, members[i]) == 0;
        if (!known) {
            refuse(e, 400, "unknown_member", key,
                   "unknown member \"%.*s\"; the members are channel, phone, email and role",
                   MEMBER_ECHO_MAX, key);
            goto out;
        }
    }
    v = member(root, "channel");
    if (v == NULL) {
        refuse(e, 400, "missing_member", members[0],
               "channel is needed: \"sms\" (with phone) or \"email\" (with email)");
        goto out;
    }
    if (!json_is_string(v) || invite_channel_parse(json_string_value(v), &r.channel) < 0) {
        refuse(e, 400, "invalid_value", members[0], "channel must be \"sms\" or \"email\"");
        goto out;
    }
    r.role = TOKEN_ROLE_PATIENT;
    v = member(root, "role");
    if (v != NULL) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "patient") == 0)
            r.role = TOKEN_ROLE_PATIENT;
        else if (strcmp(s, "guest") == 0)
            r.role = TOKEN_ROLE_GUEST;
        else if (strcmp(s, "host") == 0)
            r.role = TOKEN_ROLE_HOST;
        else {
            refuse(e, 400, "invalid_value", members[3],
                   "role must be \"patient\", \"guest\" or \"host\"");
            goto out;
        }
    }
    if (read_dest(root, &r, e) < 0)
        goto out;
    *out = r;
    err = 0;
out:
    OPENSSL_cleanse(&r, sizeof(r));
    json_decref(root);
    return err;
}

/* ---- Notify ---- */

int invite_notify_key_parse(const char *key, size_t len, char service_id[INVITE_UUID_LEN + 1],
                            char secret[INVITE_UUID_LEN + 1])
{
    if (key == NULL || len < INVITE_NOTIFY_KEY_MIN || len > INVITE_NOTIFY_KEY_MAX)
        return -EINVAL;
    const char *sid = key + len - (2 * INVITE_UUID_LEN + 1);
    const char *sec = key + len - INVITE_UUID_LEN;
    if (sid[-1] != '-' || sid[INVITE_UUID_LEN] != '-' || !invite_uuid_ok(sid, INVITE_UUID_LEN) ||
        !invite_uuid_ok(sec, INVITE_UUID_LEN))
        return -EINVAL;
    memcpy(service_id, sid, INVITE_UUID_LEN);
    service_id[INVITE_UUID_LEN] = '\0';
    memcpy(secret, sec, INVITE_UUID_LEN);
    secret[INVITE_UUID_LEN] = '\0';
    return 0;
}

/* Unpadded base64url of in, appended at out; returns the length or -ENOSPC. */
static int b64url(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t k = len - i >= 3 ? 3 : len - i;
        if (k > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (k > 2)
            v |= in[i + 2];
        if (n + k + 2 > cap)
            return -ENOSPC;
        for (size_t j = 0; j <= k; j++)
            out[n++] = abc[(v >> (18 - 6 * j)) & 63];
    }
    if (n >= cap)
        return -ENOSPC;
    out[n] = '\0';
    return (int)n;
}

int invite_notify_jwt(const char *service_id, const char *secret, int64_t now, char *out,
                      size_t cap)
{
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
    char claims[96];
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;

    if (service_id == NULL || secret == NULL || out == NULL || now < 0 ||
        !invite_uuid_ok(service_id, strlen(service_id)) || strlen(secret) == 0)
        return -EINVAL;
    int c =
        snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%" PRId64 "}", service_id, now);
    int a = b64url((const uint8_t *)header, sizeof(header) - 1, out, cap);
    if (a < 0)
        return a;
    if ((size_t)a + 1 >= cap)
        return -ENOSPC;
    out[a] = '.';
    int b = b64url((const uint8_t *)claims, (size_t)c, out + a + 1, cap - (size_t)a - 1);
    if (b < 0)
        return b;
    size_t signed_len = (size_t)a + 1 + (size_t)b;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)out, signed_len, mac,
             &mac_len) == NULL)
        return -EIO;
    if (signed_len + 1 >= cap)
        return -ENOSPC;
    out[signed_len] = '.';
    int s = b64url(mac, mac_len, out + signed_len + 1, cap - signed_len - 1);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (s < 0)
        return s;
    return (int)(signed_len + 1 + (size_t)s);
}

/* root as malloc'd compact JSON (not jansson's allocator, so that free() is always right). */
static char *json_text(const json_t *root, size_t *len)
{
    size_t n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    char *text = n > 0 ? malloc(n + 1) : NULL;
    if (text == NULL)
        return NULL;
    if (json_dumpb(root, text, n, JSON_COMPACT) != n) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

char *invite_sms_json(const char *phone, const char *template_id, const char *practice,
                      const char *when, const char *link, const char *reference, size_t *len)
{
    if (phone == NULL || template_id == NULL || practice == NULL || when == NULL || link == NULL ||
        reference == NULL || len == NULL)
        return NULL;
    json_t *root = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:s}", "phone_number", phone, "template_id",
                             template_id, "personalisation", "practice", practice, "time", when,
                             "link", link, "reference", reference);
    if (root == NULL)
        return NULL;
    char *text = json_text(root, len);
    json_decref(root);
    return text;
}

/* ---- email ---- */

int invite_from_parse(const char *from, char name[INVITE_TEXT_MAX], char addr[INVITE_EMAIL_MAX + 1])
{
    if (from == NULL)
        return -EINVAL;
    size_t n = strlen(from);
    const char *lt = memchr(from, '<', n);
    const char *a = from;
    size_t alen = n, nlen = 0;
    if (lt != NULL) {
        if (n < 2 || from[n - 1] != '>')
            return -EINVAL;
        a = lt + 1;
        alen = (size_t)(from + n - 1 - a);
        nlen = (size_t)(lt - from);
        while (nlen > 0 && from[nlen - 1] == ' ')
            nlen--;
        if (nlen >= INVITE_TEXT_MAX || (nlen > 0 && from[0] == ' '))
            return -EINVAL;
        for (size_t i = 0; i < nlen; i++) {
            unsigned char c = (unsigned char)from[i];
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>')
                return -EINVAL;
        }
    }
    if (invite_email_check(a, alen) < 0)
        return -EINVAL;
    memcpy(name, from, nlen);
    name[nlen] = '\0';
    memcpy(addr, a, alen);
    addr[alen] = '\0';
    return 0;
}

int invite_time_format(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (out == NULL || cap == 0 || t < 0 || localtime_r(&tt, &tm) == NULL)
        return -EINVAL;
    /* %Z is the zone's abbreviation (GMT, BST, UTC): the "clear label" a person needs to
     * know which clock the time is on. The day of the month without a leading zero is written
     * by hand (strftime's %-d is a GNU extension). */
    char day[16], rest[48];
    if (strftime(day, sizeof(day), "%A", &tm) == 0 ||
        strftime(rest, sizeof(rest), "%B %Y at %H:%M %Z", &tm) == 0)
        return -EINVAL;
    int n = snprintf(out, cap, "%s %d %s", day, tm.tm_mday, rest);
    if (n < 0 || (size_t)n >= cap)
        return -EINVAL;
    return n;
}

int invite_message_id(const char *from_addr, char out[INVITE_MSGID_MAX])
{
    uint8_t raw[16];
    char hex[33];
    const char *at = from_addr != NULL ? strchr(from_addr, '@') : NULL;
    if (at == NULL || RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(out, INVITE_MSGID_MAX, "<%s%s>", hex, at);
    return 0;
}

static bool ascii_only(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80)
            return false;
    }
    return true;
}

/* Writes the Subject header's value: the text itself when ASCII, else RFC 2047 encoded words
 * of at most 45 bytes each (60 base64 characters, 72 with the markers), split between UTF-8
 * characters and folded onto continuation lines. Returns the length (as snprintf). */
static int subject_value(const char *subject, char *out, size_t cap)
{
    if (ascii_only(subject))
        return snprintf(out, cap, "%s", subject);
    size_t n = 0, len = strlen(subject), i = 0;
    while (i < len) {
        size_t k = len - i > 45 ? 45 : len - i;
        /* Back off to a character boundary: a continuation byte may not start a word. */
        while (i + k < len && ((unsigned char)subject[i + k] & 0xc0) == 0x80)
            k--;
        unsigned char b64[64];
        int w = EVP_EncodeBlock(b64, (const unsigned char *)subject + i, (int)k);
        int m = snprintf(n < cap ? out + n : NULL, n < cap ? cap - n : 0,
                         "%s=?UTF-8?B?%s?=", i > 0 ? "\r\n " : "", (const char *)b64);
        if (w < 0 || m < 0)
            return -1;
        n += (size_t)m;
        i += k;
    }
    return (int)n;
}

/* The message into out (cap bytes), returning its whole length as snprintf does; run once to
 * measure and once to write. */
static int email_write(const struct invite_email *m, const char *name, const char *addr,
                       const char *subject, const char *date, char *out, size_t cap)
{
    char from[INVITE_TEXT_MAX + INVITE_EMAIL_MAX + 8];
    if (name[0] != '\0')
        snprintf(from, sizeof(from), "\"%s\" <%s>", name, addr);
    else
        snprintf(from, sizeof(from), "%s", addr);
    return snprintf(out, cap,
                    "From: %s\r\n"
                    "To: %s\r\n"
                    "Subject: %s\r\n"
                    "Date: %s\r\n"
                    "Message-ID: %s\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n"
                    "Auto-Submitted: auto-generated\r\n"
                    "\r\n"
                    "Hello,\r\n"
                    "\r\n"
                    "%s has booked a video consultation for you.\r\n"
                    "\r\n"
                    "When: %s\r\n"
                    "\r\n"
                    "To join, open this link on your phone, tablet or computer a few minutes "
                    "before then:\r\n"
                    "\r\n"
                    "%s\r\n"
                    "\r\n"
                    "You do not need to install anything. The link is for you only: please do "
                    "not share it.\r\n"
                    "If you cannot join, or did not expect this message, contact %s.\r\n",
                    from, m->to, subject, date, m->message_id, m->practice, m->when, m->link,
                    m->practice);
}

char *invite_email_text(const struct invite_email *m, size_t *len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char name[INVITE_TEXT_MAX], addr[INVITE_EMAIL_MAX + 1];
    char plain[INVITE_TEXT_MAX + 64], subject[512], date[64];
    struct tm tm;
    time_t now;

    if (m == NULL || len == NULL || m->to == NULL || m->practice == NULL || m->when == NULL ||
        m->link == NULL || m->message_id == NULL || m->now < 0 ||
        invite_from_parse(m->from, name, addr) < 0 ||
        invite_email_check(m->to, strlen(m->to)) < 0 ||
        !invite_text_ok(m->practice, strlen(m->practice)) ||
        strlen(m->practice) >= INVITE_TEXT_MAX || !invite_text_ok(m->when, strlen(m->when)) ||
        !invite_text_ok(m->link, strlen(m->link)) || strlen(m->link) > 900 ||
        !invite_text_ok(m->message_id, strlen(m->message_id)))
        return NULL;
    now = (time_t)m->now;
    if (gmtime_r(&now, &tm) == NULL)
        return NULL;
    /* RFC 5322's date, in English whatever the locale, in UTC. */
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(plain, sizeof(plain), "Your video consultation with %s", m->practice);
    int sl = subject_value(plain, subject, sizeof(subject));
    if (sl < 0 || (size_t)sl >= sizeof(subject))
        return NULL;

    int need = email_write(m, name, addr, subject, date, NULL, 0);
    if (need < 0)
        return NULL;
    char *text = malloc((size_t)need + 1);
    if (text == NULL)
        return NULL;
    email_write(m, name, addr, subject, date, text, (size_t)need + 1);
    *len = (size_t)need;
    return text;
}
