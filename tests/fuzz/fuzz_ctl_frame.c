/* Fuzzes the control channel's input: the frame reader fed in random-sized pieces, and every
 * complete frame unpacked as an Envelope, as the SFU does with what a control peer sends. */
#include <stddef.h>
#include <stdint.h>

#include "ctl_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_frame(void *arg, int status, const uint8_t *msg, size_t len)
{
    (void)arg;
    if (status != 0)
        return;
    Sfu__Envelope *env = sfu__envelope__unpack(NULL, len, msg);
    if (env)
        sfu__envelope__free_unpacked(env, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_frame_reader r;
    ctl_frame_reader_init(&r, 4096);
    /* The first byte picks the size of the pieces, so splits are explored too. */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (ctl_frame_reader_feed(&r, data + off, n, on_frame, NULL) < 0)
            break;
    }
    ctl_frame_reader_free(&r);
    return 0;
}
