/* Fuzzes the invitation body parser (POST /api/v1/consultations/ID/invite) and, on the same
 * bytes taken raw, the phone and email readers. Whatever comes in: no crash, an error with a
 * code and a message that never quotes the input's number, or a request whose destination is
 * E.164 (sms) or an address the checker accepts (email), that masks to valid text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_phone(const char *p)
{
    size_t n = strlen(p);
    if (n < 9 || n > INVITE_PHONE_MAX || p[0] != '+' || p[1] == '0')
        __builtin_trap();
    for (size_t i = 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            __builtin_trap();
    }
    /* A UK number that passed is a mobile. */
    if (p[1] == '4' && p[2] == '4' && (n != 13 || p[3] != '7'))
        __builtin_trap();
}

static void check_mask(enum invite_channel ch, const char *dest)
{
    char masked[INVITE_MASKED_MAX];
    invite_mask(ch, dest, masked);
    size_t n = strlen(masked);
    if (n == 0 || n >= INVITE_MASKED_MAX || !invite_text_ok(masked, n))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct invite_req r;
    struct invite_error e;
    char phone[INVITE_PHONE_MAX + 1];

    memset(&e, 0, sizeof(e));
    int rc = invite_req_parse((const char *)data, size, 16384, &r, &e);
    if (rc == 0) {
        if (r.role != TOKEN_ROLE_PATIENT && r.role != TOKEN_ROLE_GUEST && r.role != TOKEN_ROLE_HOST)
            __builtin_trap();
        if (r.channel == INVITE_SMS)
            check_phone(r.dest);
        else if (r.channel != INVITE_EMAIL || invite_email_check(r.dest, strlen(r.dest)) != 0)
            __builtin_trap();
        check_mask(r.channel, r.dest);
    } else if (e.code == NULL || e.msg[0] == '\0' || (e.status != 400 && e.status != 413) ||
               memchr(e.msg, '\0', sizeof(e.msg)) == NULL) {
        __builtin_trap();
    }

    /* The readers on raw bytes, embedded NULs and all. */
    rc = invite_phone_normalise((const char *)data, size, phone);
    if (rc == 0)
        check_phone(phone);
    if (invite_email_check((const char *)data, size) == 0) {
        char addr[INVITE_EMAIL_MAX + 1];
        memcpy(addr, data, size);
        addr[size] = '\0';
        if (strlen(addr) != size || strpbrk(addr, " \r\n\t<>\"") != NULL)
            __builtin_trap();
        check_mask(INVITE_EMAIL, addr);
    }
    (void)invite_text_ok((const char *)data, size);
    return 0;
}
