/* DTLS 1.0/1.2 record-layer parsing (RFC 6347 section 4.1): walks the records of a datagram so
 * garbage is refused before it reaches OpenSSL and a ClientHello is recognised. */
#ifndef SFU_DTLS_RECORD_H
#define SFU_DTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTLS_RECORD_HDR_LEN 13
/* RFC 6347 section 4.1 (via RFC 5246 section 6.2.3): a record's fragment is at most 2^14 + 2048
 * bytes. */
#define DTLS_RECORD_MAX_LEN (16384 + 2048)

enum dtls_content_type {
    DTLS_CT_CHANGE_CIPHER_SPEC = 20,
    DTLS_CT_ALERT = 21,
    DTLS_CT_HANDSHAKE = 22,
    DTLS_CT_APPLICATION_DATA = 23,
    DTLS_CT_HEARTBEAT = 24,
};

#define DTLS_VERSION_1_0 0xFEFF
#define DTLS_VERSION_1_2 0xFEFD

/* One record, pointing into the datagram (borrowed: valid as long as the datagram is). */
struct dtls_record {
    uint8_t content_type; /* enum dtls_content_type */
    uint16_t version;     /* DTLS_VERSION_1_0 or DTLS_VERSION_1_2 */
    uint16_t epoch;
    uint64_t seq;            /* 48-bit sequence number */
    const uint8_t *fragment; /* borrowed: the record's payload inside the datagram */
    size_t length;           /* bytes at fragment */
};

/* Walks the records of one datagram; fill with dtls_record_iter_init. */
struct dtls_record_iter {
    const uint8_t *buf; /* borrowed */
    size_t len;
    size_t off;
};

/* Starts a walk over buf[0..len). buf is borrowed for the life of the iterator. */
void dtls_record_iter_init(struct dtls_record_iter *it, const uint8_t *buf, size_t len);

/* Parses the next record into *rec. Returns 0 with *rec filled; -ENOENT once the datagram is
 * exhausted; -EBADMSG if what follows is not a whole record: a short header, a content type
 * outside 20..24, a version other than DTLS 1.0/1.2, a length above DTLS_RECORD_MAX_LEN or
 * beyond the datagram. After -EBADMSG the iterator stays at the bad record. Content type 25
 * (tls12_cid, RFC 9146) is refused: its header has a connection ID whose length is negotiated,
 * not carried, and we never negotiate one, so such a record can be neither parsed nor ours. */
int dtls_record_iter_next(struct dtls_record_iter *it, struct dtls_record *rec);

/* Checks that buf[0..len) is one or more whole records and nothing else. Returns the number of
 * records (at least 1), or -EBADMSG (including for an empty datagram). */
int dtls_record_validate(const uint8_t *buf, size_t len);

/* True when the datagram's first record is well formed and is a handshake record of epoch 0
 * whose handshake message is a ClientHello (type 1) with its 12-byte DTLS handshake header
 * present: the start of a new handshake. */
bool dtls_record_is_client_hello(const uint8_t *buf, size_t len);

#endif
