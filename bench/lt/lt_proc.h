/* The server processes a target runs: started with their output in a log file, pinned to the
 * CPUs the bench gives them, killed when the bench dies (PR_SET_PDEATHSIG), found ready by a
 * line in their log, and stopped with SIGTERM, then SIGKILL. Also what the bench reads of a
 * process in /proc (CPU time, RSS). */
#ifndef BENCH_LT_PROC_H
#define BENCH_LT_PROC_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lt_proc {
    pid_t pid; /* 0 when not running */
    char log_path[512];
};

/* Parses a taskset-style CPU list ("0", "0-1", "0,2-3"). Returns 0 or -EINVAL. */
int lt_cpus_parse(const char *list, cpu_set_t *set);

/* How many CPUs a list names, or the online CPUs when list is NULL. */
unsigned lt_cpus_count(const char *list);

/* Starts argv[0] with argv, stdout and stderr appended to log_path (also to the bench's stderr
 * when verbose), on the CPUs of cpus (NULL: anywhere). Returns 0 or a negative errno with a
 * message in err. */
int lt_proc_spawn(struct lt_proc *p, char *const argv[], const char *cpus, const char *log_path,
                  bool verbose, char *err, size_t errlen);

/* Waits until the process's log has a line containing text; copies that line into line (if
 * not NULL). Returns 0, -ETIMEDOUT, or -ECHILD when the process exited (err says how, with the
 * log's last lines). */
int lt_proc_wait_line(struct lt_proc *p, const char *text, int timeout_ms, char *line,
                      size_t linelen, char *err, size_t errlen);

/* SIGTERM, then SIGKILL after grace_ms; reaps it. Returns its exit code (0..255), 128 + the
 * signal that ended it, or -1 when it was not running. */
int lt_proc_stop(struct lt_proc *p, int grace_ms);

/* A process's CPU time (user + system of all its threads, seconds, from its CPU clock) and
 * resident set (bytes, /proc/PID/stat). Returns 0, -ESRCH when it has exited (a zombie too),
 * or another negative errno. */
int lt_proc_sample(pid_t pid, double *cpu_s, uint64_t *rss_bytes);

/* Keeps every CPU out of idle states that take longer than max_us to leave, through the kernel's
 * PM QoS interface (/dev/cpu_dma_latency), for as long as the returned descriptor stays open
 * (closing it, or the process ending, gives the machine its own setting back). Returns the
 * descriptor, or a negative errno (-EACCES when not root). */
int lt_cpu_latency_hold(int32_t max_us);

/* Monotonic time in ns, and in ms. */
uint64_t lt_now_ns(void);
uint64_t lt_now_ms(void);

/* Writes a message into err (errlen bytes), as the targets' functions report their errors. */
void lt_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, returning rc: "return lt_fail(err, errlen, -EINVAL, ...);". */
int lt_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
