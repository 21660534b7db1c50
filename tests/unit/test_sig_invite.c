/* Invitations as data (invite.c) and their settings (config.c's invitation keys): phone numbers
 * read and normalised to E.164, email addresses checked, destinations masked, the request body
 * and every refusal, Notify's API key and JWT (against a vector computed independently), the
 * SMS JSON, the email message and its headers, appointment times in a time zone, and how the
 * sender classifies an attempt's end and spaces its retries. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "config.h"
#include "harness.h"
#include "invite.h"
#include "invite_send.h"
#include "store.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- phone numbers ---- */

static int test_phone(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"07700 900123", 0, "+447700900123"},
        {"07700900123", 0, "+447700900123"},
        {" 0 7 7 0 0 9 0 0 1 2 3 ", 0, "+447700900123"},
        {"+447700900123", 0, "+447700900123"},
        {"+44 7700 900123", 0, "+447700900123"},
        {"0044 7700 900123", 0, "+447700900123"},
        {"+1 202 555 0143", 0, "+12025550143"},
        {"+33 6 12 34 56 78", 0, "+33612345678"},
        {"+353 85 123 4567", 0, "+353851234567"},
        {"+123456789012345", 0, "+123456789012345"}, /* 15 digits: E.164's longest */
        {"01632 960123", -EDOM, NULL},               /* a landline */
        {"020 7946 0123", -EDOM, NULL},              /* London */
        {"0800 123 4567", -EDOM, NULL},              /* freephone */
        {"+44 1632 960123", -EDOM, NULL},
        {"0044 20 7946 0123", -EDOM, NULL},
        {"07700 90012", -EINVAL, NULL},      /* one digit short */
        {"07700 9001234", -EINVAL, NULL},    /* one too many */
        {"+44 07700 900123", -EINVAL, NULL}, /* the trunk 0 after +44 */
        {"+44 7700 90012", -EINVAL, NULL},
        {"7700900123", -EINVAL, NULL}, /* neither + nor 0 */
        {"447700900123", -EINVAL, NULL},
        {"07700-900123", -EINVAL, NULL}, /* only spaces may separate */
        {"(07700) 900123", -EINVAL, NULL},
        {"07700.900123", -EINVAL, NULL},
        {"+1234567890123456", -EINVAL, NULL}, /* 16 digits */
        {"+1 555", -EINVAL, NULL},
        {"+0 123456789", -EINVAL, NULL},
        {"++447700900123", -EINVAL, NULL},
        {"+44+7700900123", -EINVAL, NULL},
        {"07700 900123 ext 2", -EINVAL, NULL},
        {"", -EINVAL, NULL},
        {"   ", -EINVAL, NULL},
        {"+", -EINVAL, NULL},
        {"00", -EINVAL, NULL},
        {"0\xd9\xa7"
         "700900123",
         -EINVAL, NULL}, /* an Arabic-Indic digit is no digit */
        {"                          07700900123", -EINVAL, NULL}, /* longer than 32 in all */
    };
    char out[INVITE_PHONE_MAX + 1];
    for (size_t i = 0; i < COUNT(cases); i++) {
        memset(out, 'x', sizeof(out));
        int rc = invite_phone_normalise(cases[i].in, strlen(cases[i].in), out);
        if (rc != cases[i].rc || (rc == 0 && strcmp(out, cases[i].out) != 0)) {
            fprintf(stderr, "phone case %zu: rc %d, want %d\n", i, rc, cases[i].rc);
            return -1;
        }
    }
    /* The length given is what counts, not a NUL. */
    CHECK_EQ(invite_phone_normalise("07700900123999", 11, out), 0);
    CHECK(strcmp(out, "+447700900123") == 0);
    CHECK_EQ(invite_phone_normalise(NULL, 0, out), -EINVAL);
    return 0;
}

/* ---- email addresses ---- */

static int test_email(void)
{
    static const char *const good[] = {
        "pat@example.org",
        "pat.smith@example.org",
        "pat+gp@mail.example.co.uk",
        "o'brien@example.ie",
        "a@b.cd",
        "x_y-z@sub-domain.example",
        "!#$%&'*+/=?^_`{|}~-@example.org",
        "pat@xn--bcher-kva.example",
    };
    static const char *const bad[] = {
        "",
        "pat",
        "pat@",
        "@example.org",
        "pat@@example.org",
        "pat@example@org",
        "pat@localhost", /* one label */
        "pat@example.",
        "pat@.example.org",
        "pat@example..org",
        "pat@-example.org",
        "pat@example-.org",
        "pat@example.123", /* an IP address in disguise */
        "pat@[192.0.2.1]",
        ".pat@example.org",
        "pat.@example.org",
        "pat..smith@example.org",
        "pat smith@example.org",
        " pat@example.org",
        "pat@example.org ",
        "pat@exa mple.org",
        "\"pat smith\"@example.org", /* quoted local parts are refused */
        "pat(comment)@example.org",
        "pat,kim@example.org",
        "pat@example.org\r\nBcc: x@example.org",
        "pat@example.org\n",
        "pat\t@example.org",
        "p\xc3\xa4t@example.org", /* not ASCII */
        "pat@b\xc3\xbc"
        "cher.example",
        "pat<x>@example.org",
    };
    for (size_t i = 0; i < COUNT(good); i++) {
        if (invite_email_check(good[i], strlen(good[i])) != 0) {
            fprintf(stderr, "good email %zu refused\n", i);
            return -1;
        }
    }
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (invite_email_check(bad[i], strlen(bad[i])) != -EINVAL) {
            fprintf(stderr, "bad email %zu accepted\n", i);
            return -1;
        }
    }
    /* Lengths: 64 before the '@' but not 65; 254 in all but not 255; a label of 63 not 64. */
    char a[300];
    memset(a, 'a', 64);
    snprintf(a + 64, sizeof(a) - 64, "@example.org");
    CHECK_EQ(invite_email_check(a, strlen(a)), 0);
    memset(a, 'a', 65);
    snprintf(a + 65, sizeof(a) - 65, "@example.org");
    CHECK_EQ(invite_email_check(a, strlen(a)), -EINVAL);
    /* "pat@", 24 labels "abcdefghi.", then "abcdef.org": 4 + 240 + 10 = 254. */
    size_t n = (size_t)snprintf(a, sizeof(a), "pat@");
    for (int i = 0; i < 24; i++, n += 10)
        memcpy(a + n, "abcdefghi.", 10);
    snprintf(a + n, sizeof(a) - n, "abcdef.org");
    CHECK_EQ(strlen(a), 254);
    CHECK_EQ(invite_email_check(a, 254), 0);
    char longer[sizeof(a) + 1];
    longer[0] = 'x';
    memcpy(longer + 1, a, strlen(a) + 1);
    CHECK_EQ(invite_email_check(longer, 255), -EINVAL);
    char label[100];
    memset(label, 'l', 63);
    snprintf(label + 63, sizeof(label) - 63, ".org");
    snprintf(a, sizeof(a), "pat@%s", label);
    CHECK_EQ(invite_email_check(a, strlen(a)), 0);
    snprintf(a, sizeof(a), "pat@l%s", label);
    CHECK_EQ(invite_email_check(a, strlen(a)), -EINVAL);
    /* The length given is what counts. */
    CHECK_EQ(invite_email_check("pat@example.org\r\n", 15), 0);
    return 0;
}

/* ---- masking ---- */

static int test_mask(void)
{
    char out[INVITE_MASKED_MAX];
    invite_mask(INVITE_SMS, "+447700900123", out);
    CHECK(strcmp(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 123") == 0);
    invite_mask(INVITE_EMAIL, "pat.smith@example.org", out);
    CHECK(strcmp(out, "p\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.org") == 0);
    /* A one-character local part shows none of it. */
    invite_mask(INVITE_EMAIL, "p@example.org", out);
    CHECK(strcmp(out, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.org") == 0);
    /* Nothing of the number but its last three digits; nothing of the local part but one. */
    invite_mask(INVITE_SMS, "+447700900123", out);
    CHECK(strstr(out, "7700") == NULL && strstr(out, "900") == NULL);
    invite_mask(INVITE_EMAIL, "pat.smith@example.org", out);
    CHECK(strstr(out, "at.smith") == NULL);
    /* The longest address fits. */
    char a[INVITE_EMAIL_MAX + 1];
    memset(a, 'a', 64);
    a[64] = '@';
    for (size_t i = 65; i < INVITE_EMAIL_MAX; i++)
        a[i] = (i - 65) % 10 == 9 ? '.' : 'd';
    memcpy(a + INVITE_EMAIL_MAX - 3, "org", 4);
    invite_mask(INVITE_EMAIL, a, out);
    CHECK_EQ(strlen(out), 1 + 9 + (INVITE_EMAIL_MAX - 64));
    CHECK(strlen(out) < INVITE_MASKED_MAX);
    CHECK(invite_text_ok(out, strlen(out)));
    return 0;
}

static int test_text_and_uuid(void)
{
    static const char *const good[] = {"Riverside Surgery", "Meddygfa'r Fenni \xe2\x80\x93 Cymru",
                                       "Dr \xc3\x89tienne", "\xf0\x9f\x8f\xa5 clinic", ""};
    static const char *const bad[] = {"tab\there",
                                      "line\nfeed",
                                      "del\x7f",
                                      "c1 \xc2\x85 next",
                                      "overlong \xc0\xaf",
                                      "surrogate \xed\xa0\x80",
                                      "cut \xe2\x80",
                                      "beyond \xf4\x90\x80\x80",
                                      "\xff"};
    for (size_t i = 0; i < COUNT(good); i++)
        CHECK(invite_text_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (invite_text_ok(bad[i], strlen(bad[i]))) {
            fprintf(stderr, "bad text %zu accepted\n", i);
            return -1;
        }
    }
    CHECK(invite_uuid_ok("26785a09-ab16-4eb0-8407-a37497a57506", 36));
    CHECK(invite_uuid_ok("26785A09-AB16-4EB0-8407-A37497A57506", 36));
    CHECK(!invite_uuid_ok("26785a09-ab16-4eb0-8407-a37497a5750", 35));
    CHECK(!invite_uuid_ok("26785a09-ab16-4eb0-8407-a37497a5750g", 36));
    CHECK(!invite_uuid_ok("26785a09ab16-4eb0-8407-a37497a57506-", 36));
    return 0;
}

/* ---- the request body ---- */

static int parse(const char *body, struct invite_req *r, struct invite_error *e)
{
    return invite_req_parse(body, body != NULL ? strlen(body) : 0, 16384, r, e);
}

static int test_req_parse(void)
{
    struct invite_req r;
    struct invite_error e;
    CHECK_EQ(parse("{\"channel\":\"sms\",\"phone\":\"07700 900123\"}", &r, &e), 0);
    CHECK_EQ(r.channel, INVITE_SMS);
    CHECK_EQ(r.role, TOKEN_ROLE_PATIENT);
    CHECK(strcmp(r.dest, "+447700900123") == 0);
    CHECK_EQ(parse("{\"channel\":\"email\",\"email\":\"pat@example.org\",\"role\":\"guest\","
                   "\"phone\":null}",
                   &r, &e),
             0);
    CHECK_EQ(r.channel, INVITE_EMAIL);
    CHECK_EQ(r.role, TOKEN_ROLE_GUEST);
    CHECK(strcmp(r.dest, "pat@example.org") == 0);
    CHECK_EQ(parse("{\"channel\":\"sms\",\"phone\":\"+33612345678\",\"role\":\"host\"}", &r, &e),
             0);
    CHECK_EQ(r.role, TOKEN_ROLE_HOST);

    static const struct {
        const char *body;
        int status;
        const char *code, *member;
    } bad[] = {
        {"", 400, "bad_json", ""},
        {"[]", 400, "bad_json", ""},
        {"{\"channel\":\"sms\",", 400, "bad_json", ""},
        {"{\"channel\":\"sms\",\"channel\":\"email\",\"phone\":\"07700900123\"}", 400, "bad_json",
         ""},
        {"{}", 400, "missing_member", "channel"},
        {"{\"channel\":null,\"phone\":\"07700900123\"}", 400, "missing_member", "channel"},
        {"{\"channel\":\"fax\"}", 400, "invalid_value", "channel"},
        {"{\"channel\":1}", 400, "invalid_value", "channel"},
        {"{\"channel\":\"SMS\",\"phone\":\"07700900123\"}", 400, "invalid_value", "channel"},
        {"{\"channel\":\"sms\"}", 400, "missing_member", "phone"},
        {"{\"channel\":\"sms\",\"phone\":7700900123}", 400, "invalid_value", "phone"},
        {"{\"channel\":\"sms\",\"phone\":\"07700 90012\"}", 400, "invalid_phone", "phone"},
        {"{\"channel\":\"sms\",\"phone\":\"01632 960123\"}", 400, "not_mobile", "phone"},
        {"{\"channel\":\"sms\",\"phone\":\"07700900123\",\"email\":\"p@example.org\"}", 400,
         "invalid_value", "email"},
        {"{\"channel\":\"email\"}", 400, "missing_member", "email"},
        {"{\"channel\":\"email\",\"email\":\"p@example.org\",\"phone\":\"07700900123\"}", 400,
         "invalid_value", "phone"},
        {"{\"channel\":\"email\",\"email\":\"pat\"}", 400, "invalid_email", "email"},
        {"{\"channel\":\"email\",\"email\":[\"pat@example.org\"]}", 400, "invalid_value", "email"},
        {"{\"channel\":\"email\",\"email\":\"pat@example.org\\u0000x\"}", 400, "bad_json", ""},
        {"{\"channel\":\"sms\",\"phone\":\"07700900123\",\"role\":\"observer\"}", 400,
         "invalid_value", "role"},
        {"{\"channel\":\"sms\",\"phone\":\"07700900123\",\"role\":3}", 400, "invalid_value",
         "role"},
        {"{\"channel\":\"sms\",\"phone\":\"07700900123\",\"name\":\"Pat\"}", 400, "unknown_member",
         "name"},
        /* The unknown member is named even when another is bad too. */
        {"{\"channel\":\"fax\",\"Phone\":\"07700900123\"}", 400, "unknown_member", "Phone"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        memset(&e, 0, sizeof(e));
        int rc = parse(bad[i].body, &r, &e);
        if (rc != -EINVAL || e.status != bad[i].status || e.code == NULL ||
            strcmp(e.code, bad[i].code) != 0 || strcmp(e.member, bad[i].member) != 0 ||
            e.msg[0] == '\0' || strstr(e.msg, "900123") != NULL ||
            strstr(e.msg, "960123") != NULL) {
            fprintf(stderr, "body case %zu: rc %d status %d code %s member %s msg %s\n", i, rc,
                    e.status, e.code ? e.code : "-", e.member, e.msg);
            return -1;
        }
        /* The member is named in the message too. */
        if (bad[i].member[0] != '\0' && strstr(e.msg, bad[i].member) == NULL) {
            fprintf(stderr, "body case %zu: message does not name %s: %s\n", i, bad[i].member,
                    e.msg);
            return -1;
        }
    }
    /* Too large: 413. And JSON's own complaint never quotes the body. */
    CHECK_EQ(invite_req_parse("{\"channel\":\"sms\"}", 17, 10, &r, &e), -EINVAL);
    CHECK_EQ(e.status, 413);
    CHECK(strcmp(e.code, "too_large") == 0);
    CHECK_EQ(parse("{\"phone\":\"07700900123\" x}", &r, &e), -EINVAL);
    CHECK(strstr(e.msg, "0770") == NULL);
    return 0;
}

/* ---- Notify ---- */

/* The vector was computed independently of this code, with Python's standard library:
 *   import hmac, hashlib, base64
 *   b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
 *   sid = "26785a09-ab16-4eb0-8407-a37497a57506"; sec = "3d844edf-8d35-48ac-975b-e847b4f122b0"
 *   si = b64(b'{"typ":"JWT","alg":"HS256"}') + "." + \
 *        b64(('{"iss":"%s","iat":1780000000}' % sid).encode())
 *   print(si + "." + b64(hmac.new(sec.encode(), si.encode(), hashlib.sha256).digest()))
 * which is how Notify's own clients sign (notifications-python-client, authentication.py). */
#define VEC_SID "26785a09-ab16-4eb0-8407-a37497a57506"
#define VEC_SEC "3d844edf-8d35-48ac-975b-e847b4f122b0"
#define VEC_JWT                                                                                    \
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."                                                        \
    "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3ODAwMDAwMDB9."        \
    "IqNt-g0LoY4Upf3VJ_yu3ax0y7Q8C8W9oThdGJXkQjI"

static int test_notify_key_and_jwt(void)
{
    char sid[INVITE_UUID_LEN + 1], sec[INVITE_UUID_LEN + 1], jwt[INVITE_JWT_MAX];
    const char *key = "my_test_key-" VEC_SID "-" VEC_SEC;
    CHECK_EQ(invite_notify_key_parse(key, strlen(key), sid, sec), 0);
    CHECK(strcmp(sid, VEC_SID) == 0 && strcmp(sec, VEC_SEC) == 0);
    /* A key name with dashes of its own, as Notify allows. */
    key = "practice-live-key-" VEC_SID "-" VEC_SEC;
    CHECK_EQ(invite_notify_key_parse(key, strlen(key), sid, sec), 0);
    CHECK(strcmp(sid, VEC_SID) == 0 && strcmp(sec, VEC_SEC) == 0);
    /* The two uuids alone (no name) are not Notify's format; nor a broken uuid. */
    key = VEC_SID "-" VEC_SEC;
    CHECK_EQ(invite_notify_key_parse(key, strlen(key), sid, sec), -EINVAL);
    key = "k-" VEC_SID "x" VEC_SEC;
    CHECK_EQ(invite_notify_key_parse(key, strlen(key), sid, sec), -EINVAL);
    key = "k-26785a09-ab16-4eb0-8407-a37497a5750z-" VEC_SEC;
    CHECK_EQ(invite_notify_key_parse(key, strlen(key), sid, sec), -EINVAL);

    int n = invite_notify_jwt(VEC_SID, VEC_SEC, 1780000000, jwt, sizeof(jwt));
    CHECK_EQ(n, (int)strlen(VEC_JWT));
    CHECK(strcmp(jwt, VEC_JWT) == 0);
    CHECK_EQ(invite_notify_jwt(VEC_SID, VEC_SEC, 1780000000, jwt, 100), -ENOSPC);
    CHECK_EQ(invite_notify_jwt("not-a-uuid", VEC_SEC, 1780000000, jwt, sizeof(jwt)), -EINVAL);
    CHECK_EQ(invite_notify_jwt(VEC_SID, VEC_SEC, -1, jwt, sizeof(jwt)), -EINVAL);
    return 0;
}

static int test_sms_json(void)
{
    size_t len = 0;
    char *text = invite_sms_json("+447700900123", VEC_SID, "Meddygfa \xe2\x80\x93 Cymru",
                                 "Tuesday 1 December 2026 at 09:30 GMT",
                                 "https://video.example.nhs.uk/join/abc.def.ghi", "i0123", &len);
    CHECK(text != NULL);
    CHECK_EQ(strlen(text), len);
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    CHECK(root != NULL);
    json_t *p = json_object_get(root, "personalisation");
    int ok =
        json_object_size(root) == 4 &&
        strcmp(json_string_value(json_object_get(root, "phone_number")), "+447700900123") == 0 &&
        strcmp(json_string_value(json_object_get(root, "template_id")), VEC_SID) == 0 &&
        strcmp(json_string_value(json_object_get(root, "reference")), "i0123") == 0 &&
        json_object_size(p) == 3 &&
        strcmp(json_string_value(json_object_get(p, "practice")), "Meddygfa \xe2\x80\x93 Cymru") ==
            0 &&
        strcmp(json_string_value(json_object_get(p, "time")),
               "Tuesday 1 December 2026 at 09:30 GMT") == 0 &&
        strcmp(json_string_value(json_object_get(p, "link")),
               "https://video.example.nhs.uk/join/abc.def.ghi") == 0;
    json_decref(root);
    CHECK(ok);
    /* Invalid UTF-8 cannot become JSON. */
    CHECK(invite_sms_json("+447700900123", VEC_SID, "\xff", "t", "l", "i", &len) == NULL);
    return 0;
}

/* ---- email ---- */

static int test_from_parse(void)
{
    char name[INVITE_TEXT_MAX], addr[INVITE_EMAIL_MAX + 1];
    CHECK_EQ(invite_from_parse("noreply@practice.example", name, addr), 0);
    CHECK(name[0] == '\0' && strcmp(addr, "noreply@practice.example") == 0);
    CHECK_EQ(invite_from_parse("Riverside Surgery <noreply@riverside.example>", name, addr), 0);
    CHECK(strcmp(name, "Riverside Surgery") == 0 && strcmp(addr, "noreply@riverside.example") == 0);
    CHECK_EQ(invite_from_parse("Dr. O'Neil, Practice <a@b.example>", name, addr), 0);
    CHECK(strcmp(name, "Dr. O'Neil, Practice") == 0);
    CHECK_EQ(invite_from_parse("<a@b.example>", name, addr), 0);
    CHECK(name[0] == '\0');
    static const char *const bad[] = {"",
                                      "Riverside",
                                      "Riverside <a@b.example",
                                      "Riverside a@b.example>",
                                      "\"Riverside\" <a@b.example>",
                                      "River\\side <a@b.example>",
                                      " Riverside <a@b.example>",
                                      "Riverside <a@@b.example>",
                                      "Caf\xc3\xa9 <a@b.example>",
                                      "R <a@b.example> x",
                                      "R\r\nBcc: x <a@b.example>",
                                      "R <a@b.example>>"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (invite_from_parse(bad[i], name, addr) != -EINVAL) {
            fprintf(stderr, "bad from %zu accepted\n", i);
            return -1;
        }
    }
    return 0;
}

static int time_in(const char *tz, int64_t t, char *out, size_t cap)
{
    setenv("TZ", tz, 1);
    tzset();
    int n = invite_time_format(t, out, cap);
    unsetenv("TZ");
    tzset();
    return n;
}

static int test_time_format(void)
{
    char out[INVITE_TIME_MAX];
    /* 1796117400 is 2026-12-01T09:30:00Z (GMT in London), 1780000000 2026-05-28T20:26:40Z
     * (BST), as Python's zoneinfo gives them. */
    CHECK(time_in("UTC", 1796117400, out, sizeof(out)) > 0);
    CHECK(strcmp(out, "Tuesday 1 December 2026 at 09:30 UTC") == 0);
    CHECK(time_in("Europe/London", 1796117400, out, sizeof(out)) > 0);
    CHECK(strcmp(out, "Tuesday 1 December 2026 at 09:30 GMT") == 0);
    CHECK(time_in("Europe/London", 1780000000, out, sizeof(out)) > 0);
    CHECK(strcmp(out, "Thursday 28 May 2026 at 21:26 BST") == 0);
    CHECK(time_in("UTC", 1780000000, out, sizeof(out)) > 0);
    CHECK(strcmp(out, "Thursday 28 May 2026 at 20:26 UTC") == 0);
    CHECK_EQ(time_in("UTC", 1780000000, out, 10), -EINVAL);
    CHECK_EQ(time_in("UTC", -1, out, sizeof(out)), -EINVAL);
    return 0;
}

/* Every line ends in CRLF, none is longer than RFC 5322's 998, and there is no bare CR or LF. */
static int lines_ok(const char *text)
{
    size_t line = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            if (p[1] != '\n')
                return 0;
            p++;
            line = 0;
        } else if (*p == '\n' || ++line > 998) {
            return 0;
        }
    }
    return line == 0;
}

/* The value of header name (not folded) in text's header block, or NULL. */
static const char *header(const char *text, const char *name, char *out, size_t cap)
{
    char want[64];
    snprintf(want, sizeof(want), "\r\n%s: ", name);
    const char *end = strstr(text, "\r\n\r\n");
    const char *h;
    if (strncmp(text, want + 2, strlen(want) - 2) == 0)
        h = text + strlen(want) - 2;
    else if ((h = strstr(text, want)) != NULL && h < end)
        h += strlen(want);
    else
        return NULL;
    size_t n = strcspn(h, "\r");
    snprintf(out, cap, "%.*s", (int)n, h);
    return out;
}

static int test_email_text(void)
{
    char buf[512];
    const char *link = "https://video.example.nhs.uk/join/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                       "eyJjIjoiYzEyMyJ9.c2lnbmF0dXJl";
    struct invite_email m = {
        .from = "Riverside Surgery <noreply@riverside.example>",
        .to = "pat.smith@example.org",
        .practice = "Riverside Surgery",
        .when = "Tuesday 1 December 2026 at 09:30 GMT",
        .link = link,
        .message_id = "<0123456789abcdef0123456789abcdef@riverside.example>",
        .now = 1796117400,
    };
    size_t len = 0;
    char *text = invite_email_text(&m, &len);
    CHECK(text != NULL);
    CHECK_EQ(strlen(text), len);
    CHECK(lines_ok(text));
    CHECK(strncmp(text, "From: \"Riverside Surgery\" <noreply@riverside.example>\r\n", 55) == 0);
    int ok = header(text, "To", buf, sizeof(buf)) && strcmp(buf, "pat.smith@example.org") == 0;
    ok = ok && header(text, "Subject", buf, sizeof(buf)) &&
         strcmp(buf, "Your video consultation with Riverside Surgery") == 0;
    ok = ok && header(text, "Date", buf, sizeof(buf)) &&
         strcmp(buf, "Tue, 01 Dec 2026 09:30:00 +0000") == 0;
    ok = ok && header(text, "Message-ID", buf, sizeof(buf)) &&
         strcmp(buf, "<0123456789abcdef0123456789abcdef@riverside.example>") == 0;
    ok = ok && header(text, "MIME-Version", buf, sizeof(buf)) && strcmp(buf, "1.0") == 0;
    ok = ok && header(text, "Content-Type", buf, sizeof(buf)) &&
         strcmp(buf, "text/plain; charset=utf-8") == 0;
    ok = ok && header(text, "Content-Transfer-Encoding", buf, sizeof(buf)) &&
         strcmp(buf, "8bit") == 0;
    ok = ok && header(text, "Auto-Submitted", buf, sizeof(buf)) &&
         strcmp(buf, "auto-generated") == 0;
    const char *body = strstr(text, "\r\n\r\n");
    ok = ok && body != NULL && strstr(body, "Riverside Surgery has booked") != NULL &&
         strstr(body, "\r\nWhen: Tuesday 1 December 2026 at 09:30 GMT\r\n") != NULL;
    /* The link alone on its line, so that every mail program makes it clickable. */
    snprintf(buf, sizeof(buf), "\r\n%s\r\n", link);
    ok = ok && strstr(body, buf) != NULL;
    free(text);
    CHECK(ok);

    /* A plain sender address; a practice name that is not ASCII goes into RFC 2047 words of at
     * most 75 characters, split between characters, that decode to the subject. */
    m.from = "noreply@practice.example";
    m.practice = "Meddygfa'r Fenni \xe2\x80\x93 Gwasanaeth Iechyd Gwladol Cymru \xe2\x80\x93 "
                 "Gwent";
    text = invite_email_text(&m, &len);
    CHECK(text != NULL);
    CHECK(lines_ok(text));
    CHECK(strncmp(text, "From: noreply@practice.example\r\n", 32) == 0);
    const char *subj = strstr(text, "\r\nSubject: ");
    CHECK(subj != NULL);
    subj += strlen("\r\nSubject: ");
    char decoded[512] = "";
    size_t dn = 0;
    int words = 0;
    for (;;) {
        CHECK(strncmp(subj, "=?UTF-8?B?", 10) == 0);
        const char *end = strstr(subj + 10, "?=");
        CHECK(end != NULL && end + 2 - subj <= 75);
        unsigned char raw[128];
        int rn = EVP_DecodeBlock(raw, (const unsigned char *)subj + 10, (int)(end - subj - 10));
        CHECK(rn > 0);
        for (const char *q = end - 1; *q == '='; q--)
            rn--;
        CHECK(invite_text_ok((const char *)raw, (size_t)rn)); /* whole characters only */
        memcpy(decoded + dn, raw, (size_t)rn);
        dn += (size_t)rn;
        words++;
        if (strncmp(end + 2, "\r\n ", 3) != 0)
            break;
        subj = end + 5;
    }
    decoded[dn] = '\0';
    CHECK(words >= 2);
    snprintf(buf, sizeof(buf), "Your video consultation with %s", m.practice);
    CHECK(strcmp(decoded, buf) == 0);
    CHECK(strstr(strstr(text, "\r\n\r\n"), m.practice) != NULL); /* the body as UTF-8 itself */
    free(text);

    /* Refused: an address that could add a header, a sender that does not parse, a control
     * character in the practice's name. */
    m.practice = "Riverside Surgery";
    m.to = "pat@example.org\r\nBcc: x@example.org";
    CHECK(invite_email_text(&m, &len) == NULL);
    m.to = "pat@example.org";
    m.from = "Riverside <noreply>";
    CHECK(invite_email_text(&m, &len) == NULL);
    m.from = "noreply@practice.example";
    m.practice = "Riverside\r\nBcc: x@example.org";
    CHECK(invite_email_text(&m, &len) == NULL);
    return 0;
}

static int test_message_id(void)
{
    char a[INVITE_MSGID_MAX], b[INVITE_MSGID_MAX];
    CHECK_EQ(invite_message_id("noreply@riverside.example", a), 0);
    CHECK_EQ(invite_message_id("noreply@riverside.example", b), 0);
    CHECK_EQ(strlen(a), 1 + 32 + strlen("@riverside.example") + 1);
    CHECK(a[0] == '<' && strcmp(a + 33, "@riverside.example>") == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ(invite_message_id("noreply", a), -EIO);
    return 0;
}

/* ---- the sender's decisions ---- */

static int test_classify(void)
{
    static const struct {
        int result;
        long response;
        int sms;
        enum invite_outcome want;
        const char *code;
    } cases[] = {
        {CURLE_OK, 201, 1, INVITE_OUTCOME_SENT, ""},
        {CURLE_OK, 200, 1, INVITE_OUTCOME_SENT, ""},
        {CURLE_OK, 429, 1, INVITE_OUTCOME_RETRY, "http_429"},
        {CURLE_OK, 500, 1, INVITE_OUTCOME_RETRY, "http_500"},
        {CURLE_OK, 503, 1, INVITE_OUTCOME_RETRY, "http_503"},
        {CURLE_OK, 400, 1, INVITE_OUTCOME_FAILED, "http_400"},
        {CURLE_OK, 403, 1, INVITE_OUTCOME_FAILED, "http_403"},
        {CURLE_OK, 404, 1, INVITE_OUTCOME_FAILED, "http_404"},
        {CURLE_OK, 302, 1, INVITE_OUTCOME_FAILED, "http_302"},
        {CURLE_COULDNT_CONNECT, 0, 1, INVITE_OUTCOME_RETRY, "connect"},
        {CURLE_OPERATION_TIMEDOUT, 0, 1, INVITE_OUTCOME_RETRY, "timeout"},
        {CURLE_GOT_NOTHING, 0, 1, INVITE_OUTCOME_RETRY, "network"},
        {CURLE_PEER_FAILED_VERIFICATION, 0, 1, INVITE_OUTCOME_FAILED, "tls_verify"},
        {CURLE_OK, 250, 0, INVITE_OUTCOME_SENT, ""},
        {CURLE_RECV_ERROR, 451, 0, INVITE_OUTCOME_RETRY, "smtp_451"},
        {CURLE_SEND_ERROR, 421, 0, INVITE_OUTCOME_RETRY, "smtp_421"},
        {CURLE_RECV_ERROR, 550, 0, INVITE_OUTCOME_FAILED, "smtp_550"},
        {CURLE_LOGIN_DENIED, 535, 0, INVITE_OUTCOME_FAILED, "smtp_535"},
        {CURLE_LOGIN_DENIED, 0, 0, INVITE_OUTCOME_FAILED, "auth"},
        {CURLE_USE_SSL_FAILED, 250, 0, INVITE_OUTCOME_FAILED, "no_starttls"},
        {CURLE_COULDNT_CONNECT, 0, 0, INVITE_OUTCOME_RETRY, "connect"},
        {CURLE_PEER_FAILED_VERIFICATION, 220, 0, INVITE_OUTCOME_FAILED, "tls_verify"},
    };
    char code[STORE_ERROR_MAX + 1];
    for (size_t i = 0; i < COUNT(cases); i++) {
        enum invite_outcome o = invite_send__classify(cases[i].result, cases[i].response,
                                                      cases[i].sms, code, sizeof(code));
        if (o != cases[i].want || strcmp(code, cases[i].code) != 0) {
            fprintf(stderr, "classify case %zu: %d %s\n", i, (int)o, code);
            return -1;
        }
    }
    CHECK_EQ(invite_send__delay_ms(1000, 1), 1000);
    CHECK_EQ(invite_send__delay_ms(1000, 2), 2000);
    CHECK_EQ(invite_send__delay_ms(1000, 3), 4000);
    CHECK_EQ(invite_send__delay_ms(1000, 4), 8000);
    CHECK_EQ(invite_send__delay_ms(100, 0), 100);
    CHECK(invite_send__delay_ms(600000, 1000) > 0); /* no overflow */
    return 0;
}

/* ---- the settings ---- */

static char dir[64];

static const char *file_put(const char *name, const char *content, mode_t mode)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f == NULL)
        return "/nonexistent";
    fputs(content, f);
    fclose(f);
    chmod(p, mode);
    return p;
}

static int base(struct sig_config *cfg, char *err, size_t n)
{
    snprintf(dir, sizeof(dir), "/tmp/gpsfu-inv-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    sig_config_defaults(cfg);
    if (sig_config_set(cfg, "data-dir", dir, "t", err, n) < 0 ||
        sig_config_set(cfg, "api-keys", "practice-key-aaaaaaaaaaaaaaaa", "t", err, n) < 0)
        return -1;
    return 0;
}

static void dir_done(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* finish on cfg with the given key = value pairs set first; returns finish's result and
 * leaves its message in err. */
static int finish_with(struct sig_config *cfg, char *err, size_t n, const char *const *kv)
{
    for (; kv[0] != NULL; kv += 2) {
        int rc = sig_config_set(cfg, kv[0], kv[1], "t", err, n);
        if (rc < 0)
            return rc;
    }
    return sig_config_finish(cfg, err, n);
}

#define NOTIFY_KEY "gpsfu_live-" VEC_SID "-" VEC_SEC

static int test_config_keys(void)
{
    struct sig_config cfg;
    char err[512];
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    /* Defaults: no channel, Europe/London, 1 s, Notify's real address. */
    CHECK(strcmp(cfg.practice_name, "Your GP practice") == 0);
    CHECK(strcmp(cfg.timezone, "Europe/London") == 0);
    CHECK(strcmp(cfg.sms_base_url, "https://api.notifications.service.gov.uk") == 0);
    CHECK_EQ(cfg.invite_retry_base_ms, 1000);
    CHECK_EQ(sig_config_finish(&cfg, err, sizeof(err)), 0);
    CHECK(!invite_channel_ready(&cfg, INVITE_SMS) && !invite_channel_ready(&cfg, INVITE_EMAIL));

    static const char *const bad[][2] = {
        {"practice-name", ""},
        {"practice-name", "Riverside\nSurgery"},
        {"practice-name", "Caf\xc3"},
        {"timezone", "../../etc/passwd"},
        {"timezone", "/etc/localtime"},
        {"timezone", "Europe London"},
        {"sms-base-url", "http://api.notifications.service.gov.uk"}, /* plain http off loopback */
        {"sms-base-url", "ftp://example.org"},
        {"sms-base-url", "https://user@example.org"},
        {"sms-base-url", ""},
        {"sms-template-id", "not-a-uuid"},
        {"smtp-url", "https://smtp.example.org"},
        {"smtp-url", "smtp://smtp.example.org/path"},
        {"smtp-url", "smtp://smtp.example.org:99999"},
        {"smtp-url", "smtp://"},
        {"smtp-from", "Riverside <noreply>"},
        {"smtp-from", "\"Riverside\" <noreply@example.org>"},
        {"invite-retry-base", "9"},
        {"invite-retry-base", "600001"},
        {"invite-retry-base", "1s"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (sig_config_set(&cfg, bad[i][0], bad[i][1], "flag", err, sizeof(err)) != -EINVAL ||
            strstr(err, bad[i][0]) == NULL) {
            fprintf(stderr, "bad setting %zu accepted (%s)\n", i, err);
            return -1;
        }
    }
    CHECK_EQ(sig_config_set(&cfg, "sms-base-url", "http://127.0.0.1:8099/", "t", err, sizeof(err)),
             0);
    CHECK(strcmp(cfg.sms_base_url, "http://127.0.0.1:8099") == 0); /* the '/' dropped */
    CHECK_EQ(sig_config_set(&cfg, "smtp-url", "smtps://[::1]:465", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "smtp-url", "", "t", err, sizeof(err)), 0);
    CHECK_EQ(sig_config_set(&cfg, "invite-retry-base", "10", "t", err, sizeof(err)), 0);
    CHECK_EQ(cfg.invite_retry_base_ms, 10);
    sig_config_wipe(&cfg);
    dir_done();
    return 0;
}

static int test_config_channels(void)
{
    struct sig_config cfg;
    char err[512];
    char *text = NULL;
    size_t len = 0;

    /* Both channels, fully: ready, and the dump shows the files but no secret. */
    CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
    const char *key = file_put("notify.key", NOTIFY_KEY "\n", 0600);
    const char *pw = file_put("smtp.pw", "relay-secret-pw\n", 0600);
    const char *ca = file_put("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    const char *full[] = {"sms-api-key-file",
                          key,
                          "sms-template-id",
                          VEC_SID,
                          "smtp-url",
                          "smtp://127.0.0.1:2525",
                          "smtp-user",
                          "relay",
                          "smtp-password-file",
                          pw,
                          "smtp-from",
                          "Riverside <a@b.example>",
                          "smtp-ca-file",
                          ca,
                          "timezone",
                          "UTC",
                          NULL};
    if (finish_with(&cfg, err, sizeof(err), full) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    CHECK(invite_channel_ready(&cfg, INVITE_SMS) && invite_channel_ready(&cfg, INVITE_EMAIL));
    CHECK(strcmp(cfg.sms_api_key, NOTIFY_KEY) == 0);
    CHECK(strcmp(cfg.smtp_password, "relay-secret-pw") == 0);
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    sig_config_dump(&cfg, f);
    fclose(f);
    int ok = strstr(text, VEC_SEC) == NULL && strstr(text, "relay-secret-pw") == NULL &&
             strstr(text, "key (set)") != NULL && strstr(text, "password (set)") != NULL &&
             strstr(text, "invite-retry-base  = 1000  [default]") != NULL &&
             strstr(text, "practice-name      = Your GP practice  [default]") != NULL;
    if (!ok)
        fprintf(stderr, "dump:\n%s", text);
    free(text);
    CHECK(ok);
    sig_config_wipe(&cfg);
    CHECK(cfg.sms_api_key[0] == '\0' && cfg.smtp_password[0] == '\0');
    dir_done();

    /* Half a channel, or a secret that is wrong, is refused at start, naming the key. */
    const char *key_ok = NULL;
    struct {
        const char *kv[8];
        const char *names;
    } bad[] = {
        {{"sms-api-key-file", "KEY", NULL}, "sms-api-key-file"},
        {{"sms-template-id", VEC_SID, NULL}, "sms-template-id"},
        {{"sms-api-key-file", "SHORT", "sms-template-id", VEC_SID, NULL}, "sms-api-key-file"},
        {{"sms-api-key-file", "OPEN", "sms-template-id", VEC_SID, NULL}, "sms-api-key-file"},
        {{"sms-api-key-file", "NOTNOTIFY", "sms-template-id", VEC_SID, NULL}, "sms-api-key-file"},
        {{"smtp-url", "smtp://127.0.0.1:25", NULL}, "smtp-url"},
        {{"smtp-from", "a@b.example", NULL}, "smtp-from"},
        {{"smtp-url", "smtp://127.0.0.1:25", "smtp-from", "a@b.example", "smtp-user", "u", NULL},
         "smtp-user"},
        {{"smtp-url", "smtp://127.0.0.1:25", "smtp-from", "a@b.example", "smtp-password-file", "PW",
          NULL},
         "smtp-password-file"},
        {{"smtp-url", "smtp://127.0.0.1:25", "smtp-from", "a@b.example", "smtp-ca-file",
          "/nonexistent/ca.pem", NULL},
         "smtp-ca-file"},
        {{"smtp-user", "u", NULL}, "smtp-user"},
        {{"timezone", "Atlantis/Capital", NULL}, "timezone"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        CHECK_EQ(base(&cfg, err, sizeof(err)), 0);
        key_ok = file_put("notify.key", NOTIFY_KEY, 0600);
        const char *kv[8];
        for (size_t k = 0; k < 8; k++) {
            const char *v = bad[i].kv[k];
            if (v != NULL && strcmp(v, "KEY") == 0)
                v = key_ok;
            else if (v != NULL && strcmp(v, "SHORT") == 0)
                v = file_put("short.key", "abc", 0600);
            else if (v != NULL && strcmp(v, "OPEN") == 0)
                v = file_put("open.key", NOTIFY_KEY, 0644);
            else if (v != NULL && strcmp(v, "NOTNOTIFY") == 0)
                v = file_put("x.key", "name-" VEC_SID "-" VEC_SEC "xyz", 0600);
            else if (v != NULL && strcmp(v, "PW") == 0)
                v = file_put("pw", "relay-pw-xyz", 0600);
            kv[k] = v;
            if (v == NULL)
                break;
        }
        int rc = finish_with(&cfg, err, sizeof(err), kv);
        int good = rc == -EINVAL && strncmp(err, bad[i].names, strlen(bad[i].names)) == 0 &&
                   strstr(err, VEC_SEC) == NULL && strstr(err, "relay-pw-xyz") == NULL;
        if (!good)
            fprintf(stderr, "channel case %zu: rc %d: %s\n", i, rc, err);
        sig_config_wipe(&cfg);
        dir_done();
        CHECK(good);
    }
    return 0;
}

static const struct test_case cases[] = {
    {"phone", test_phone},
    {"email", test_email},
    {"mask", test_mask},
    {"text_and_uuid", test_text_and_uuid},
    {"req_parse", test_req_parse},
    {"notify_key_and_jwt", test_notify_key_and_jwt},
    {"sms_json", test_sms_json},
    {"from_parse", test_from_parse},
    {"time_format", test_time_format},
    {"email_text", test_email_text},
    {"message_id", test_message_id},
    {"classify", test_classify},
    {"config_keys", test_config_keys},
    {"config_channels", test_config_channels},
};

TEST_MAIN(cases)
