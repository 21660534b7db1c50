/* Levelled log lines on stderr, and a rate limit for lines that bad input can trigger.
 * Never log patient data; peer addresses only at LOG_DEBUG. */
#ifndef SFU_LOG_H
#define SFU_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set once at start, before any worker runs; read-only afterwards. */
void log_level_set(enum log_level level);
enum log_level log_level_get(void);
/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A rate limit for one call site: at most one line per interval, with the count of the lines
 * held back since the last one. Each worker thread keeps its own (they are not shared). */
struct log_ratelimit {
    uint64_t last_ms;
    uint32_t suppressed;
};

#define LOG_RATELIMIT_MS 5000

/* Returns the number of lines suppressed since the last one written (>= 0) when this one may
 * be written now, or -1 when it is to be held back. */
int log_ratelimit_pass(struct log_ratelimit *rl, uint64_t now_ms);

#define log_error(tag, ...) log_write(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_write(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_write(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...)                                                                        \
    do {                                                                                           \
        if (log_level_get() >= LOG_DEBUG)                                                          \
            log_write(LOG_DEBUG, tag, __VA_ARGS__);                                                \
    } while (0)

#endif
