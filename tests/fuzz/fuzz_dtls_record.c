/* Fuzzes the DTLS record walk: every record's fragment must lie inside the datagram, and the
 * iterator, the validator and the ClientHello test must agree. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "dtls/dtls_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dtls_record_iter it;
    struct dtls_record rec;
    int n = 0, err;
    volatile uint8_t sink = 0;

    dtls_record_iter_init(&it, data, size);
    while ((err = dtls_record_iter_next(&it, &rec)) == 0) {
        if (rec.fragment < data + DTLS_RECORD_HDR_LEN || rec.fragment + rec.length > data + size)
            __builtin_trap();
        /* Touch the fragment's last byte, so ASan checks the bounds the parser claims. */
        if (rec.length)
            sink ^= rec.fragment[rec.length - 1];
        n++;
    }
    (void)sink;
    if (err != -ENOENT && err != -EBADMSG)
        __builtin_trap();
    int v = dtls_record_validate(data, size);
    if ((err == -ENOENT && n > 0) ? v != n : v != -EBADMSG)
        __builtin_trap();
    if (dtls_record_is_client_hello(data, size) &&
        (size < DTLS_RECORD_HDR_LEN + 12 || data[0] != 22))
        __builtin_trap();
    return 0;
}
