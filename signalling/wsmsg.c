/* The browser protocol's client messages on jansson: parse one WebSocket text message, check its
 * type and every member against PROTOCOL.md, and say precisely (never echoing a value) what is
 * wrong. */
#include "wsmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sdp.h"
#include "token.h"

/* The largest "id": JavaScript's integers are exact up to 2^53, and a browser chooses the id. */
#define ID_MAX ((json_int_t)1 << 53)

/* Echoed names (an unknown type or member) are shown only when short and plain, so an error
 * never carries a value's bytes or anything a log or a page could misread. */
#define ECHO_MAX 32

enum member {
    M_TOKEN,
    M_PC,
    M_SDP,
    M_VERSION,
    M_CANDIDATE,
    M_PARTICIPANT,
    M_AUDIO,
    M_VIDEO,
    M_TEXT,
    M_RESUME,
    M_LEVEL,
    M_LOSS,
    M_RTT,
    M_COUNT,
};

static const char *const member_names[M_COUNT] = {
    [M_TOKEN] = "token",
    [M_PC] = "pc",
    [M_SDP] = "sdp",
    [M_VERSION] = "version",
    [M_CANDIDATE] = "candidate",
    [M_PARTICIPANT] = "participant",
    [M_AUDIO] = "audio",
    [M_VIDEO] = "video",
    [M_TEXT] = "text",
    [M_RESUME] = "resume",
    [M_LEVEL] = "level",
    [M_LOSS] = "loss",
    [M_RTT] = "rtt",
};

#define BIT(m) (1u << (m))

/* Each type's members besides "type" and "id": those it requires, and those it may have. */
static const struct type_spec {
    const char *name;
    unsigned members;
    unsigned optional;
} types[] = {
    [WSMSG_JOIN] = {"join", BIT(M_TOKEN), BIT(M_RESUME)},
    [WSMSG_OFFER] = {"offer", BIT(M_PC) | BIT(M_SDP), 0},
    [WSMSG_ANSWER] = {"answer", BIT(M_PC) | BIT(M_SDP) | BIT(M_VERSION), 0},
    [WSMSG_CANDIDATE] = {"candidate", BIT(M_PC) | BIT(M_CANDIDATE), 0},
    [WSMSG_ADMIT] = {"admit", BIT(M_PARTICIPANT), 0},
    [WSMSG_DENY] = {"deny", BIT(M_PARTICIPANT), 0},
    [WSMSG_REMOVE] = {"remove", BIT(M_PARTICIPANT), 0},
    [WSMSG_MEDIA] = {"media", BIT(M_AUDIO) | BIT(M_VIDEO), 0},
    [WSMSG_CHAT] = {"chat", BIT(M_TEXT), 0},
    [WSMSG_LEAVE] = {"leave", 0, 0},
    [WSMSG_PING] = {"ping", 0, 0},
    [WSMSG_MUTE] = {"mute", BIT(M_PARTICIPANT), 0},
    [WSMSG_RESTART_ICE] = {"restart_ice", BIT(M_PC), 0},
    [WSMSG_PROBE] = {"probe", BIT(M_TOKEN) | BIT(M_SDP), 0},
    [WSMSG_QUALITY] = {"quality", BIT(M_LEVEL) | BIT(M_LOSS) | BIT(M_RTT), 0},
};

#define TYPE_FIRST WSMSG_JOIN
#define TYPE_LAST  WSMSG_QUALITY

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (err && err_len) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A name we may repeat in an error: 1..ECHO_MAX bytes of letters, digits, '_', '-' and '.'. */
static bool echo_ok(const char *s, size_t n)
{
    if (n == 0 || n > ECHO_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!id_char((unsigned char)s[i]) && s[i] != '.')
            return false;
    return true;
}

/* Decodes the code point at s[*i], strictly (no overlong forms, surrogates or values past
 * U+10FFFF), and moves *i past it. Returns -1 on a bad sequence. jansson already refuses invalid
 * UTF-8 in what it parses; this is checked again so the count below can never be misled. */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n - *i < len)
        return -1;
    for (size_t k = 1; k < len; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *i += len;
    return (int32_t)cp;
}

/* Unicode's Cc category: C0, DEL and C1. */
static bool is_control(int32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* What JavaScript's String.prototype.trim() removes (WhiteSpace and LineTerminator), so that a
 * chat the web client would consider blank is refused here too. */
static bool is_space(int32_t cp)
{
    switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
    case 0xfeff:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200a;
    }
}

static int read_chat_text(const char *s, size_t n, char *err, size_t err_len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0;
    bool control = false, visible = false;
    for (size_t i = 0; i < n; count++) {
        int32_t cp = utf8_next(u, n, &i);
        if (cp < 0)
            return fail(-EINVAL, err, err_len, "member \"text\" is not valid UTF-8");
        if (cp != '\n' && is_control(cp))
            control = true;
        else if (!is_space(cp))
            visible = true;
    }
    if (count == 0)
        return fail(-EINVAL, err, err_len, "member \"text\" is empty");
    if (count > WSMSG_CHAT_MAX)
        return fail(-EINVAL, err, err_len,
                    "member \"text\" is longer than %d characters (it has %zu)", WSMSG_CHAT_MAX,
                    count);
    if (control)
        return fail(-EINVAL, err, err_len,
                    "member \"text\" holds a control character (only newline is allowed)");
    if (!visible)
        return fail(-EINVAL, err, err_len, "member \"text\" holds only whitespace");
    return 0;
}

static int read_pc(enum wsmsg_type type, json_t *v, struct wsmsg *out, char *err, size_t err_len)
{
    const char *s = json_string_value(v);
    if (s && strcmp(s, "send") == 0 && type != WSMSG_ANSWER && type != WSMSG_RESTART_ICE)
        out->pc = WSMSG_PC_SEND;
    else if (s && strcmp(s, "recv") == 0 && type != WSMSG_OFFER)
        out->pc = WSMSG_PC_RECV;
    else if (type == WSMSG_RESTART_ICE)
        /* The sending connection restarts ICE with an offer of its own. */
        return fail(-EINVAL, err, err_len, "member \"pc\" must be \"recv\" in restart_ice");
    else if (type == WSMSG_OFFER)
        return fail(-EINVAL, err, err_len, "member \"pc\" must be \"send\" in an offer");
    else if (type == WSMSG_ANSWER)
        return fail(-EINVAL, err, err_len, "member \"pc\" must be \"recv\" in an answer");
    else
        return fail(-EINVAL, err, err_len, "member \"pc\" must be \"send\" or \"recv\"");
    return 0;
}

/* Reads one member the type requires into *out, checking its JSON type and range. */
static int read_member(enum wsmsg_type type, enum member m, json_t *v, struct wsmsg *out, char *err,
                       size_t err_len)
{
    const char *name = member_names[m];
    switch (m) {
    case M_TOKEN:
        if (!json_is_string(v))
            return fail(-EINVAL, err, err_len, "member \"token\" must be a string");
        if (json_string_length(v) == 0 || json_string_length(v) > TOKEN_MAX_LEN)
            return fail(-EINVAL, err, err_len, "member \"token\" must be 1..%d bytes",
                        TOKEN_MAX_LEN);
        out->token = json_string_value(v);
        return 0;
    case M_PC:
        return read_pc(type, v, out, err, err_len);
    case M_SDP:
        if (!json_is_string(v))
            return fail(-EINVAL, err, err_len, "member \"sdp\" must be a string");
        if (json_string_length(v) == 0 || json_string_length(v) > SDP_TEXT_MAX)
            return fail(-EINVAL, err, err_len, "member \"sdp\" must be 1..%d bytes", SDP_TEXT_MAX);
        out->sdp = json_string_value(v);
        out->sdp_len = json_string_length(v);
        return 0;
    case M_VERSION:
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
            return fail(-EINVAL, err, err_len, "member \"version\" must be an integer 1..%u",
                        (unsigned)UINT32_MAX);
        out->version = (uint32_t)json_integer_value(v);
        return 0;
    case M_CANDIDATE:
        /* An RTCIceCandidateInit, or null at the end of gathering. The SFU is ICE-lite and
         * ignores it, so its content is not looked at. */
        if (!json_is_object(v) && !json_is_null(v))
            return fail(-EINVAL, err, err_len, "member \"candidate\" must be an object or null");
        return 0;
    case M_PARTICIPANT: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!s)
            return fail(-EINVAL, err, err_len, "member \"participant\" must be a string");
        bool ok = n >= 1 && n <= WSMSG_ID_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = id_char((unsigned char)s[i]);
        if (!ok)
            return fail(-EINVAL, err, err_len,
                        "member \"participant\" must be 1..%d characters of A-Z a-z 0-9 _ -",
                        WSMSG_ID_MAX);
        out->participant = s;
        return 0;
    }
    case M_RESUME: {
        const char *k = json_string_value(v);
        size_t n = json_string_length(v);
        bool ok = k && n >= 1 && n <= WSMSG_ID_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = id_char((unsigned char)k[i]);
        if (!ok)
            return fail(-EINVAL, err, err_len,
                        "member \"resume\" must be 1..%d characters of A-Z a-z 0-9 _ -",
                        WSMSG_ID_MAX);
        out->resume = k;
        return 0;
    }
    case M_AUDIO:
    case M_VIDEO:
        if (!json_is_boolean(v))
            return fail(-EINVAL, err, err_len, "member \"%s\" must be true or false", name);
        *(m == M_AUDIO ? &out->audio : &out->video) = json_is_true(v);
        return 0;
    case M_TEXT: {
        if (!json_is_string(v))
            return fail(-EINVAL, err, err_len, "member \"text\" must be a string");
        int rc = read_chat_text(json_string_value(v), json_string_length(v), err, err_len);
        if (rc < 0)
            return rc;
        out->text = json_string_value(v);
        out->text_len = json_string_length(v);
        return 0;
    }
    case M_LEVEL: {
        const char *s = json_string_value(v);
        if (s && strcmp(s, "good") == 0)
            out->level = WSMSG_LEVEL_GOOD;
        else if (s && strcmp(s, "fair") == 0)
            out->level = WSMSG_LEVEL_FAIR;
        else if (s && strcmp(s, "poor") == 0)
            out->level = WSMSG_LEVEL_POOR;
        else
            return fail(-EINVAL, err, err_len,
                        "member \"level\" must be \"good\", \"fair\" or \"poor\"");
        return 0;
    }
    case M_LOSS:
        /* A percentage as the browser computed it: integer or not. JSON has no NaN or
         * infinity, so the range check is the whole check. */
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 100)
            return fail(-EINVAL, err, err_len, "member \"loss\" must be a number 0..100");
        out->loss = json_number_value(v);
        return 0;
    case M_RTT:
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > WSMSG_RTT_MAX)
            return fail(-EINVAL, err, err_len, "member \"rtt\" must be a number 0..%d",
                        WSMSG_RTT_MAX);
        out->rtt = (uint32_t)(json_number_value(v) + 0.5);
        return 0;
    case M_COUNT:
        break;
    }
    return fail(-EINVAL, err, err_len, "internal: member %d", (int)m);
}

/* A parse error in plain words, with where it is but never the text around it (jansson's own
 * message quotes the input). */
static int json_fail(const json_error_t *je, char *err, size_t err_len)
{
    const char *what;
    if (json_error_code(je) == json_error_out_of_memory)
        return fail(-ENOMEM, err, err_len, "out of memory");
    switch (json_error_code(je)) {
    case json_error_end_of_input_expected:
        what = "trailing data after the JSON value";
        break;
    case json_error_duplicate_key:
        what = "a member appears twice";
        break;
    case json_error_invalid_utf8:
        what = "not valid UTF-8";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        what = "a string holds a NUL character";
        break;
    case json_error_numeric_overflow:
        what = "a number is out of range";
        break;
    case json_error_premature_end_of_input:
        what = "the JSON ends early";
        break;
    case json_error_stack_overflow:
        what = "nested too deeply";
        break;
    default:
        what = "not valid JSON";
        break;
    }
    return fail(-EBADMSG, err, err_len, "bad JSON: %s (at byte %d)", what, je->position);
}

/* Reads "id" first, so that every later error can still carry it back as "re". */
static int read_id(json_t *root, struct wsmsg *out, char *err, size_t err_len)
{
    json_t *v = json_object_get(root, "id");
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ID_MAX)
        return fail(-EINVAL, err, err_len, "member \"id\" must be an integer 0..%lld",
                    (long long)ID_MAX);
    out->has_id = true;
    out->id = json_integer_value(v);
    return 0;
}

static int read_type(json_t *root, enum wsmsg_type *type, char *err, size_t err_len)
{
    json_t *v = json_object_get(root, "type");
    if (!v)
        return fail(-EINVAL, err, err_len, "missing member \"type\"");
    if (!json_is_string(v))
        return fail(-EINVAL, err, err_len, "member \"type\" must be a string");
    const char *s = json_string_value(v);
    for (int t = TYPE_FIRST; t <= TYPE_LAST; t++) {
        if (strcmp(s, types[t].name) == 0) {
            *type = (enum wsmsg_type)t;
            return 0;
        }
    }
    if (echo_ok(s, json_string_length(v)))
        return fail(-ENOENT, err, err_len, "unknown type \"%s\"", s);
    return fail(-ENOENT, err, err_len,
                "unknown type (its name is not shown: empty, long or "
                "unusual characters)");
}

/* Refuses the first member, in the message's order, that this type does not have. */
static int check_unknown(json_t *root, enum wsmsg_type type, char *err, size_t err_len)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "type") == 0 || strcmp(key, "id") == 0)
            continue;
        int m = 0;
        while (m < M_COUNT && strcmp(key, member_names[m]) != 0)
            m++;
        if (m < M_COUNT && ((types[type].members | types[type].optional) & BIT(m)))
            continue;
        if (echo_ok(key, strlen(key)))
            return fail(-EINVAL, err, err_len, "unknown member \"%s\" for type %s", key,
                        types[type].name);
        return fail(-EINVAL, err, err_len,
                    "unknown member for type %s (its name is not shown: empty, long or "
                    "unusual characters)",
                    types[type].name);
    }
    return 0;
}

int wsmsg_parse(const char *data, size_t len, struct wsmsg *out, char *err, size_t err_len)
{
    json_t *root = NULL;
    json_error_t je;
    enum wsmsg_type type = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    if (err && err_len)
        err[0] = '\0';

    /* Before jansson sees a byte: the limit bounds the parser's work and memory. */
    if (len > WSMSG_MAX) {
        rc = fail(-EMSGSIZE, err, err_len, "the message is over %u bytes", WSMSG_MAX);
        goto out;
    }
    if (!data) {
        rc = fail(-EBADMSG, err, err_len, "bad JSON: no data");
        goto out;
    }
    /* Any JSON value is parsed, so a scalar gets the same "not an object" answer as an array.
     * Without JSON_DISABLE_EOF_CHECK, anything but whitespace after the value is refused. */
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!root) {
        rc = json_fail(&je, err, err_len);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = fail(-EBADMSG, err, err_len, "bad JSON: the message must be a JSON object");
        goto out;
    }
    rc = read_id(root, out, err, err_len);
    if (rc < 0)
        goto out;
    rc = read_type(root, &type, err, err_len);
    if (rc < 0)
        goto out;
    /* Unknown members before missing ones: a misspelt member is then named as such. */
    rc = check_unknown(root, type, err, err_len);
    if (rc < 0)
        goto out;
    for (int m = 0; m < M_COUNT; m++) {
        if (!((types[type].members | types[type].optional) & BIT(m)))
            continue;
        json_t *v = json_object_get(root, member_names[m]);
        if (!v && (types[type].optional & BIT(m)))
            continue;
        if (!v) {
            rc = fail(-EINVAL, err, err_len, "missing member \"%s\" for type %s", member_names[m],
                      types[type].name);
            goto out;
        }
        rc = read_member(type, (enum member)m, v, out, err, err_len);
        if (rc < 0)
            goto out;
    }
    out->type = type;
    out->json = root;
    return 0;

out:
    json_decref(root);
    /* Left empty but for the id, which the error answer carries back as "re". */
    bool has_id = out->has_id;
    int64_t id = out->id;
    memset(out, 0, sizeof(*out));
    out->has_id = has_id;
    out->id = id;
    return rc;
}

void wsmsg_free(struct wsmsg *m)
{
    if (!m)
        return;
    json_decref(m->json);
    memset(m, 0, sizeof(*m));
}

const char *wsmsg_error_code(int err)
{
    switch (err) {
    case -EMSGSIZE:
        return "too_large";
    case -EBADMSG:
        return "bad_json";
    case -ENOENT:
        return "unknown_type";
    case -EINVAL:
        return "bad_message";
    default: /* -ENOMEM */
        return "internal";
    }
}
