/* Monotonic and wall clocks in the units the protocols use. */
#ifndef SFU_CLOCK_H
#define SFU_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t clock_mono_ms(void)
{
    return clock_mono_us() / 1000u;
}

/* The NTP timestamp (RFC 3550 section 4) of now: seconds since 1900 in the high 32 bits. */
static inline uint64_t clock_ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec + 2208988800u;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return sec << 32 | frac;
}

#endif
