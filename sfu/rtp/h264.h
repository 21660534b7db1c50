/* H.264 RTP payloads (RFC 6184): keyframe detection for the keyframe gate of a consumer. */
#ifndef SFU_RTP_H264_H
#define SFU_RTP_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the payload carries an IDR slice (NAL type 5) or an SPS (7): as a single NAL unit,
 * inside a STAP-A (24) aggregate, or as the start fragment of an FU-A (28). False for anything
 * else, including truncated or malformed payloads (an aggregate is read only as far as its
 * sizes fit). */
bool h264_is_keyframe(const uint8_t *payload, size_t len);

#endif
