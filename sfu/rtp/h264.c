/* H.264 payload inspection: NAL unit types read from the RTP payload without copying. */
#include "rtp/h264.h"

#include "core/bytes.h"

#define NAL_IDR    5
#define NAL_SPS    7
#define NAL_STAP_A 24
#define NAL_FU_A   28

static bool nal_is_key(uint8_t type)
{
    return type == NAL_IDR || type == NAL_SPS;
}

bool h264_is_keyframe(const uint8_t *payload, size_t len)
{
    if (len < 1)
        return false;
    uint8_t type = payload[0] & 0x1f;
    if (type == NAL_STAP_A) {
        size_t off = 1;
        while (len - off >= 3) {
            size_t n = be16_load(payload + off);
            off += 2;
            if (n == 0 || n > len - off)
                return false;
            if (nal_is_key(payload[off] & 0x1f))
                return true;
            off += n;
        }
        return false;
    }
    if (type == NAL_FU_A) {
        /* The FU header: S bit, then the fragmented NAL's type. Only the start says it all. */
        if (len < 2)
            return false;
        return (payload[1] & 0x80) != 0 && nal_is_key(payload[1] & 0x1f);
    }
    return nal_is_key(type);
}
