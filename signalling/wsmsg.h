/* The browser protocol's client messages (PROTOCOL.md): one WebSocket text message in, one
 * checked struct out, or a precise error. Nothing here touches the network or the call state. */
#ifndef SIG_WSMSG_H
#define SIG_WSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSMSG_MAX      (64u * 1024u) /* bytes of one message, as PROTOCOL.md says */
#define WSMSG_CHAT_MAX 2000          /* characters (code points) of a chat message */
#define WSMSG_ID_MAX   64            /* bytes of a participant id */
#define WSMSG_RTT_MAX  60000         /* quality: round-trip time, milliseconds */

enum wsmsg_type {
    WSMSG_JOIN = 1, /* zero is no message */
    WSMSG_OFFER,
    WSMSG_ANSWER,
    WSMSG_CANDIDATE,
    WSMSG_ADMIT,
    WSMSG_DENY,
    WSMSG_REMOVE,
    WSMSG_MEDIA,
    WSMSG_CHAT,
    WSMSG_LEAVE,
    WSMSG_PING,
    WSMSG_MUTE,        /* host only: asks a participant to mute their microphone */
    WSMSG_RESTART_ICE, /* the receiving connection lost its path: new ICE credentials */
    WSMSG_PROBE,       /* before joining: a short connection test against the SFU */
    WSMSG_QUALITY,     /* the browser's own view of its connection, for the hosts */
};

/* A quality report's coarse level. */
enum wsmsg_level { WSMSG_LEVEL_GOOD = 1, WSMSG_LEVEL_FAIR, WSMSG_LEVEL_POOR };

enum wsmsg_pc { WSMSG_PC_SEND = 1, WSMSG_PC_RECV };

/* One parsed message. Strings point into the json it was parsed from (owned here, released by
 * wsmsg_free), so they live as long as the struct. */
struct wsmsg {
    enum wsmsg_type type;
    bool has_id;
    int64_t id; /* the client's "id", echoed as "re" */
    enum wsmsg_pc pc;
    const char *token;  /* join, probe */
    const char *resume; /* join: the resume key of the joined this page had (1..WSMSG_ID_MAX
                         * bytes of [A-Za-z0-9_-]), to keep its peer connections; NULL: none */
    const char *sdp;    /* offer, answer, probe */
    size_t sdp_len;
    uint32_t version;        /* answer */
    const char *participant; /* admit, deny, remove */
    bool audio, video;       /* media */
    const char *text;        /* chat: valid UTF-8, 1..WSMSG_CHAT_MAX code points */
    size_t text_len;         /* bytes */
    enum wsmsg_level level;  /* quality */
    double loss;             /* quality: packets lost, percent, 0..100 */
    uint32_t rtt;            /* quality: round-trip time, ms (rounded), 0..WSMSG_RTT_MAX */
    void *json;              /* owned: the jansson value the strings borrow from */
};

/* Parses len bytes (not NUL-terminated). Checks the type and, for that type, every member:
 * required ones present with the right JSON type and range (pc "send" for offer, "recv" for
 * answer, "send"/"recv" for candidate whose candidate is an object or null; ids of at most
 * WSMSG_ID_MAX bytes of [A-Za-z0-9_-]; sdp at most 64 KiB; chat text trimmed of nothing but
 * refused when empty, too long, holding control characters other than newline, or only
 * whitespace as JavaScript's trim() sees it; quality's level "good", "fair" or "poor", loss a
 * number 0..100 and rtt a number 0..WSMSG_RTT_MAX), no unknown member, no duplicate key. On
 * success fills *out (free it with wsmsg_free) and returns 0. On error returns -EMSGSIZE
 * (too_large), -EBADMSG (bad_json: not JSON or not an object), -ENOENT (unknown_type, the type
 * named in err) or -EINVAL (bad_message), with a message in err naming the member, or -ENOMEM
 * (internal) when jansson cannot allocate; *out is then left empty, and the "id", when the message
 * had a readable one, is still set in out->id/has_id so that the error can carry "re". err (always
 * NUL-terminated when err_len > 0) is safe to show: it never holds a member's value, and names an
 * unknown type or member only when that name is 1..32 bytes of [A-Za-z0-9_.-]. */
int wsmsg_parse(const char *data, size_t len, struct wsmsg *out, char *err, size_t err_len);

/* Releases what out holds and zeroes it. Accepts a zeroed or already freed struct. */
void wsmsg_free(struct wsmsg *m);

/* The PROTOCOL.md error code of a wsmsg_parse error: "too_large", "bad_json", "unknown_type",
 * "bad_message"; "internal" for anything else (-ENOMEM). */
const char *wsmsg_error_code(int err);

#endif
