#include "lt_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t lt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lt_now_ms(void)
{
    return lt_now_ns() / 1000000u;
}

void lt_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int lt_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int lt_cpus_parse(const char *list, cpu_set_t *set)
{
    CPU_ZERO(set);
    const char *s = list;
    if (!s || !*s)
        return -EINVAL;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10);
        if (end == s || a < 0 || a >= CPU_SETSIZE)
            return -EINVAL;
        long b = a;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a || b >= CPU_SETSIZE)
                return -EINVAL;
            s = end;
        }
        for (long i = a; i <= b; i++)
            CPU_SET((int)i, set);
        if (*s == ',')
            s++;
        else if (*s)
            return -EINVAL;
    }
    return 0;
}

unsigned lt_cpus_count(const char *list)
{
    cpu_set_t set;
    if (list && lt_cpus_parse(list, &set) == 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int lt_proc_spawn(struct lt_proc *p, char *const argv[], const char *cpus, const char *log_path,
                  bool verbose, char *err, size_t errlen)
{
    cpu_set_t set;
    if (cpus && lt_cpus_parse(cpus, &set) < 0) {
        snprintf(err, errlen, "bad CPU list '%s' (taskset syntax: 0 or 0-1 or 0,2)", cpus);
        return -EINVAL;
    }
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", log_path, strerror(e));
        return -e;
    }
    /* verbose: a pipe that a tee child copies to the log and to stderr would be more code than
     * it is worth; the log is written and, when verbose, the child also inherits stderr. */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        /* Pinned where asked; else on every CPU, not on the bench's own (a pinned bench's
         * affinity would otherwise pass to its children). */
        if (!cpus) {
            CPU_ZERO(&set);
            for (long c = 0; c < sysconf(_SC_NPROCESSORS_CONF) && c < CPU_SETSIZE; c++)
                CPU_SET((int)c, &set);
        }
        sched_setaffinity(0, sizeof(set), &set);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(fd, 1);
        if (!verbose)
            dup2(fd, 2);
        execv(argv[0], argv);
        dprintf(fd, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    snprintf(p->log_path, sizeof(p->log_path), "%s", log_path);
    return 0;
}

/* The last few lines of the log, for an error message. */
static void log_tail(const char *path, char *out, size_t outlen)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char buf[4096];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Keep the last 600 bytes: enough for the error a server printed before it died. */
    const char *s = n > 600 ? buf + n - 600 : buf;
    size_t m = strlen(s) < outlen - 1 ? strlen(s) : outlen - 1;
    memcpy(out, s, m);
    out[m] = 0;
}

int lt_proc_wait_line(struct lt_proc *p, const char *text, int timeout_ms, char *line,
                      size_t linelen, char *err, size_t errlen)
{
    uint64_t deadline = lt_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        FILE *f = fopen(p->log_path, "r");
        if (f) {
            char buf[2048];
            while (fgets(buf, sizeof(buf), f)) {
                if (strstr(buf, text)) {
                    fclose(f);
                    if (line)
                        snprintf(line, linelen, "%s", buf);
                    return 0;
                }
            }
            fclose(f);
        }
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            char tail[700];
            log_tail(p->log_path, tail, sizeof(tail));
            snprintf(err, errlen,
                     "the process exited (%s %d) before it was ready; its log ends:\n%s",
                     WIFEXITED(status) ? "code" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
            p->pid = 0;
            return -ECHILD;
        }
        if (lt_now_ns() > deadline) {
            char tail[700];
            log_tail(p->log_path, tail, sizeof(tail));
            snprintf(err, errlen, "not ready within %d ms (no \"%s\" in %s); its log ends:\n%s",
                     timeout_ms, text, p->log_path, tail);
            return -ETIMEDOUT;
        }
        poll(NULL, 0, 20);
    }
}

int lt_proc_stop(struct lt_proc *p, int grace_ms)
{
    if (!p->pid)
        return -1;
    int status = 0;
    kill(p->pid, SIGTERM);
    uint64_t deadline = lt_now_ns() + (uint64_t)grace_ms * 1000000u;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            break;
        if (lt_now_ns() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        poll(NULL, 0, 10);
    }
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int lt_proc_sample(pid_t pid, double *cpu_s, uint64_t *rss_bytes)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields count from the last ')'. */
    char *s = strrchr(buf, ')');
    char state;
    long rss_pages;
    if (!s || sscanf(s + 2,
                     "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                     "%*d %*u %*u %ld",
                     &state, &rss_pages) != 2)
        return -EINVAL;
    if (state == 'Z' || state == 'X')
        return -ESRCH; /* exited, not yet reaped by its parent */
    *rss_bytes = (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
    /* CPU time in ns from the process's CPU clock: /proc's utime and stime count 10 ms ticks,
     * too coarse for a few seconds of light load. */
    clockid_t clock;
    struct timespec ts;
    int rc = pid == getpid() ? 0 : clock_getcpuclockid(pid, &clock);
    if (pid == getpid())
        clock = CLOCK_PROCESS_CPUTIME_ID;
    if (rc != 0 || clock_gettime(clock, &ts) < 0)
        return rc ? -rc : -errno;
    *cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}

int lt_cpu_latency_hold(int32_t max_us)
{
    int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* The kernel reads a binary 32-bit value and holds it until the descriptor is closed. */
    ssize_t w = write(fd, &max_us, sizeof(max_us));
    if (w != (ssize_t)sizeof(max_us)) {
        int e = w < 0 ? errno : EIO;
        close(fd);
        return -e;
    }
    return fd;
}
