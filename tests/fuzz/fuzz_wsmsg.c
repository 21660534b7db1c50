/* Fuzzes browser messages (wsmsg_parse): any bytes a browser can send on the socket. An accepted
 * message must keep every limit PROTOCOL.md sets (checked here without wsmsg.c's helpers) and
 * parse back the same once jansson writes it out again; a refused one must be empty but for a
 * valid id, with an error of plain words. The same bytes always give the same answer, and
 * wsmsg_free twice is safe. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID_MAX    (1LL << 53)
#define TOKEN_MAX 2048
#define SDP_MAX   65536
#define ECHO_MAX  32

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int plain_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* Printable ASCII, and whatever it quotes is a short plain name: never a value's bytes. */
static void check_error_text(const char *err, size_t cap)
{
    check(memchr(err, '\0', cap) != NULL && err[0] != '\0');
    const char *open = NULL;
    for (const char *p = err; *p; p++) {
        check(*p >= 0x20 && *p <= 0x7e);
        if (*p != '"')
            continue;
        if (!open) {
            open = p;
        } else {
            check(p - open - 1 >= 1 && p - open - 1 <= ECHO_MAX);
            for (const char *q = open + 1; q < p; q++)
                check(plain_name_char(*q));
            open = NULL;
        }
    }
    check(open == NULL);
}

static void check_participant(const char *s)
{
    size_t n = strlen(s);
    check(n >= 1 && n <= WSMSG_ID_MAX);
    for (size_t i = 0; i < n; i++)
        check(plain_name_char(s[i]) && s[i] != '.');
}

/* Counts code points by their lead bytes, and refuses control characters byte by byte: C0 but
 * newline, DEL, and C1 (U+0080..U+009F, encoded C2 80..C2 9F). */
static void check_chat(const char *s, size_t len)
{
    check(strlen(s) == len);
    size_t count = 0;
    int visible = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            count++;
        check(c >= 0x20 || c == '\n');
        check(c != 0x7f);
        if (c == 0xc2)
            check(i + 1 < len &&
                  ((unsigned char)s[i + 1] < 0x80 || (unsigned char)s[i + 1] > 0x9f));
        if (c != ' ' && c != '\n')
            visible = 1;
    }
    check(count >= 1 && count <= WSMSG_CHAT_MAX);
    check(visible);
}

static void check_accepted(const struct wsmsg *m, size_t size)
{
    check(m->type >= WSMSG_JOIN && m->type <= WSMSG_QUALITY);
    check(m->json != NULL);
    check(!m->has_id || (m->id >= 0 && m->id <= ID_MAX));
    check(m->has_id || m->id == 0);
    /* Each member is set for its own types only. */
    check(!m->token == (m->type != WSMSG_JOIN && m->type != WSMSG_PROBE));
    check(!m->sdp == (m->type != WSMSG_OFFER && m->type != WSMSG_ANSWER && m->type != WSMSG_PROBE));
    check(m->type == WSMSG_JOIN || !m->resume);
    if (m->resume) {
        size_t n = strlen(m->resume);
        check(n >= 1 && n <= 64);
        for (size_t i = 0; i < n; i++)
            check(plain_name_char(m->resume[i]) && m->resume[i] != '.');
    }
    check((m->level != 0) == (m->type == WSMSG_QUALITY));
    if (m->type == WSMSG_QUALITY)
        check(m->level >= WSMSG_LEVEL_GOOD && m->level <= WSMSG_LEVEL_POOR && m->loss >= 0 &&
              m->loss <= 100 && m->rtt <= WSMSG_RTT_MAX);
    else
        check(m->loss == 0 && m->rtt == 0);
    check(!m->participant == (m->type != WSMSG_ADMIT && m->type != WSMSG_DENY &&
                              m->type != WSMSG_REMOVE && m->type != WSMSG_MUTE));
    check(!m->text == (m->type != WSMSG_CHAT));
    check((m->version != 0) == (m->type == WSMSG_ANSWER));
    check(m->type == WSMSG_MEDIA || (!m->audio && !m->video));
    switch (m->type) {
    case WSMSG_OFFER:
        check(m->pc == WSMSG_PC_SEND);
        break;
    case WSMSG_ANSWER:
        check(m->pc == WSMSG_PC_RECV);
        break;
    case WSMSG_CANDIDATE:
        check(m->pc == WSMSG_PC_SEND || m->pc == WSMSG_PC_RECV);
        break;
    case WSMSG_RESTART_ICE:
        check(m->pc == WSMSG_PC_RECV);
        break;
    default:
        check(m->pc == 0);
        break;
    }
    /* Decoded strings are never longer than the bytes they came from. */
    if (m->token)
        check(strlen(m->token) >= 1 && strlen(m->token) <= TOKEN_MAX && strlen(m->token) < size);
    if (m->sdp)
        check(m->sdp_len == strlen(m->sdp) && m->sdp_len >= 1 && m->sdp_len <= SDP_MAX &&
              m->sdp_len < size);
    else
        check(m->sdp_len == 0);
    if (m->participant)
        check_participant(m->participant);
    if (m->text) {
        check(m->text_len < size);
        check_chat(m->text, m->text_len);
    } else {
        check(m->text_len == 0);
    }
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const struct wsmsg *a, const struct wsmsg *b)
{
    check(a->type == b->type && a->has_id == b->has_id && a->id == b->id && a->pc == b->pc);
    check(same_str(a->token, b->token) && same_str(a->sdp, b->sdp) && a->sdp_len == b->sdp_len);
    check(a->version == b->version && same_str(a->participant, b->participant));
    check(a->audio == b->audio && a->video == b->video);
    check(same_str(a->text, b->text) && a->text_len == b->text_len);
    check(same_str(a->resume, b->resume) && a->level == b->level && a->loss == b->loss &&
          a->rtt == b->rtt);
}

static void check_refused(int rc, const struct wsmsg *m, const char *err, size_t size)
{
    check(rc == -EMSGSIZE || rc == -EBADMSG || rc == -ENOENT || rc == -EINVAL || rc == -ENOMEM);
    check((rc == -EMSGSIZE) == (size > WSMSG_MAX));
    check(strcmp(wsmsg_error_code(rc), "internal") != 0 || rc == -ENOMEM);
    check_error_text(err, 256);
    check(m->type == 0 && m->pc == 0 && !m->token && !m->sdp && m->sdp_len == 0 &&
          m->version == 0 && !m->participant && !m->audio && !m->video && !m->text &&
          m->text_len == 0 && !m->json && !m->resume && m->level == 0 && m->loss == 0 &&
          m->rtt == 0);
    check(!m->has_id || (m->id >= 0 && m->id <= ID_MAX));
    check(m->has_id || m->id == 0);
    /* Without an object there is no id to read. */
    if (rc == -EMSGSIZE || rc == -EBADMSG)
        check(!m->has_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wsmsg m, again;
    char err[256], err2[256];
    memset(err, 0x5a, sizeof(err));
    int rc = wsmsg_parse((const char *)data, size, &m, err, sizeof(err));
    int rc2 = wsmsg_parse((const char *)data, size, &again, err2, sizeof(err2));
    check(rc == rc2);
    if (rc == 0) {
        check(err[0] == '\0');
        check_accepted(&m, size);
        check_same(&m, &again);
        wsmsg_free(&again);
        /* Written out by jansson (which may order, space and escape differently), the message
         * must be read back the same. */
        char *text = json_dumps(m.json, JSON_COMPACT);
        if (text && strlen(text) <= WSMSG_MAX) {
            check(wsmsg_parse(text, strlen(text), &again, err2, sizeof(err2)) == 0);
            check_same(&m, &again);
            wsmsg_free(&again);
        }
        free(text);
    } else {
        check(strcmp(err, err2) == 0);
        check_refused(rc, &m, err, size);
        check(again.has_id == m.has_id && again.id == m.id);
        wsmsg_free(&again);
    }
    wsmsg_free(&m);
    check(m.json == NULL && m.type == 0 && !m.has_id);
    wsmsg_free(&m);
    return 0;
}
