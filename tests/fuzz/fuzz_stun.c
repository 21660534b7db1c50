/* Fuzzes what the SFU does with a datagram that looks like STUN: the USERNAME routing peek, then
 * the full ICE-lite check with fixed credentials, from an IPv4 and an IPv6 source. Each input is
 * checked as it is and once more with its MESSAGE-INTEGRITY and FINGERPRINT recomputed, so the
 * mutations also reach the attribute handling behind those two gates. */
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "ice/ice_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The credentials the corpus's valid checks were signed with (USERNAME "fuzzUfrg:peer"). */
static const char fuzz_ufrag[] = "fuzzUfrg";
static const char fuzz_pwd[] = "fuzzPasswordFuzzPassword";

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Re-signs a copy of a STUN-looking input: MESSAGE-INTEGRITY (if present, 20 bytes) with the
 * fixed password, then FINGERPRINT (if it is the last attribute). */
static void stun_fixup(uint8_t *m, size_t len)
{
    size_t off = 20;

    while (off + 4 <= len) {
        uint16_t type = be16_load(m + off), alen = be16_load(m + off + 2);
        size_t padded = ((size_t)alen + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return;
        if (type == 0x0008 && alen == 20) {
            uint8_t hdr_len[2] = {m[2], m[3]};
            unsigned mac_len = 0;
            be16_store(m + 2, (uint16_t)(off + 24 - 20));
            HMAC(EVP_sha1(), fuzz_pwd, (int)strlen(fuzz_pwd), m, off, m + off + 4, &mac_len);
            m[2] = hdr_len[0];
            m[3] = hdr_len[1];
        } else if (type == 0x8028 && alen == 4 && off + 8 == len) {
            be32_store(m + off + 4, crc32_ieee(m, off) ^ 0x5354554eu);
        }
        off += 4 + padded;
    }
}

static void run_checks(struct ice_lite *ice, const uint8_t *data, size_t size)
{
    uint8_t reply[ICE_REPLY_MAX];
    struct ice_check_info info;
    const char *u;
    size_t ulen;

    if (ice_stun_username_local(data, size, &u, &ulen) == 0) {
        /* The pointer must lie inside the datagram. */
        if (u < (const char *)data || ulen == 0 || u + ulen > (const char *)data + size)
            __builtin_trap();
    }

    struct sockaddr_in s4;
    memset(&s4, 0, sizeof(s4));
    s4.sin_family = AF_INET;
    s4.sin_port = htons(5000);
    s4.sin_addr.s_addr = htonl(0x7f000001);
    size_t n = sizeof(reply);
    int err = ice_lite_check(ice, data, size, (const struct sockaddr *)&s4, sizeof(s4), fuzz_ufrag,
                             fuzz_pwd, reply, &n, &info);
    if (err == 0 && n > sizeof(reply))
        __builtin_trap();

    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons(5001);
    s6.sin6_addr.s6_addr[15] = 1;
    /* A small reply buffer explores the -ENOSPC paths too. */
    n = size % 2 ? 64 : sizeof(reply);
    err = ice_lite_check(ice, data, size, (const struct sockaddr *)&s6, sizeof(s6), fuzz_ufrag,
                         fuzz_pwd, reply, &n, &info);
    if (err == 0 && n > sizeof(reply))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ice_lite *ice;

    /* One checker for the whole run, as one worker keeps one. */
    if (!ice && ice_lite_new(&ice) < 0)
        return 0;
    run_checks(ice, data, size);
    if (ice_stun_maybe(data, size)) {
        /* An exact-size heap copy, so ASan still sees any read past the end. */
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        stun_fixup(copy, size);
        run_checks(ice, copy, size);
        free(copy);
    }
    return 0;
}
