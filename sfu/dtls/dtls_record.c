/* DTLS record-layer walk with explicit bounds checks (RFC 6347 section 4.1). */
#include "dtls/dtls_record.h"

#include <errno.h>

#include "core/bytes.h"

#define DTLS_HS_HDR_LEN      12 /* msg_type, length(3), message_seq(2), offset(3), frag_len(3) */
#define DTLS_HS_CLIENT_HELLO 1

void dtls_record_iter_init(struct dtls_record_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = len;
    it->off = 0;
}

int dtls_record_iter_next(struct dtls_record_iter *it, struct dtls_record *rec)
{
    size_t left = it->len - it->off;
    const uint8_t *p = it->buf + it->off;

    if (left == 0)
        return -ENOENT;
    if (left < DTLS_RECORD_HDR_LEN)
        return -EBADMSG;

    uint8_t type = p[0];
    uint16_t version = be16_load(p + 1);
    size_t length = be16_load(p + 11);

    if (type < DTLS_CT_CHANGE_CIPHER_SPEC || type > DTLS_CT_HEARTBEAT)
        return -EBADMSG;
    if (version != DTLS_VERSION_1_0 && version != DTLS_VERSION_1_2)
        return -EBADMSG;
    if (length > DTLS_RECORD_MAX_LEN || length > left - DTLS_RECORD_HDR_LEN)
        return -EBADMSG;

    rec->content_type = type;
    rec->version = version;
    rec->epoch = be16_load(p + 3);
    /* The 48-bit sequence number: two high bytes, then four. */
    rec->seq = (uint64_t)be16_load(p + 5) << 32 | be32_load(p + 7);
    rec->fragment = p + DTLS_RECORD_HDR_LEN;
    rec->length = length;
    it->off += DTLS_RECORD_HDR_LEN + length;
    return 0;
}

int dtls_record_validate(const uint8_t *buf, size_t len)
{
    struct dtls_record_iter it;
    struct dtls_record rec;
    int n = 0, err;

    dtls_record_iter_init(&it, buf, len);
    while ((err = dtls_record_iter_next(&it, &rec)) == 0)
        n++;
    if (err != -ENOENT || n == 0)
        return -EBADMSG;
    return n;
}

bool dtls_record_is_client_hello(const uint8_t *buf, size_t len)
{
    struct dtls_record_iter it;
    struct dtls_record rec;

    dtls_record_iter_init(&it, buf, len);
    if (dtls_record_iter_next(&it, &rec) != 0)
        return false;
    return rec.content_type == DTLS_CT_HANDSHAKE && rec.epoch == 0 &&
           rec.length >= DTLS_HS_HDR_LEN && rec.fragment[0] == DTLS_HS_CLIENT_HELLO;
}
