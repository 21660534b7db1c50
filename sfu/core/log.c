/* Log lines: "2026-11-24T08:44:04.123Z WARN  tag: message" on stderr, one write() each so that
 * lines from several workers do not interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;

void log_level_set(enum log_level level)
{
    g_level = level;
}

enum log_level log_level_get(void)
{
    return g_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
    static const char *labels[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    char line[1024];
    struct timeval tv;
    struct tm tm;
    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), labels[level], tag);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

int log_ratelimit_pass(struct log_ratelimit *rl, uint64_t now_ms)
{
    if (rl->last_ms != 0 && now_ms - rl->last_ms < LOG_RATELIMIT_MS) {
        rl->suppressed++;
        return -1;
    }
    int held = (int)rl->suppressed;
    rl->last_ms = now_ms ? now_ms : 1;
    rl->suppressed = 0;
    return held;
}
