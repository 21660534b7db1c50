#include "lt_report.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

/* --- the table ------------------------------------------------------------------------------ */

struct row {
    const char *label;
    const char *fmt;
    double (*get)(const struct lt_result *r);
};

#define FIG(name, expr)                                                                            \
    static double name(const struct lt_result *r)                                                  \
    {                                                                                              \
        return (expr);                                                                             \
    }
FIG(g_rooms, r->total.rooms)
FIG(g_people, r->total.people)
FIG(g_join50, r->join_p50_ms)
FIG(g_join95, r->join_p95_ms)
FIG(g_d50, r->total.delay_p50_ms)
FIG(g_d99, r->total.delay_p99_ms)
FIG(g_dmax, r->total.delay_max_ms)
FIG(g_loss, r->total.loss_pct)
FIG(g_jit, r->total.jitter_ms)
FIG(g_jitmax, r->total.jitter_max_ms)
FIG(g_ppsin, r->total.pps_in)
FIG(g_ppsout, r->total.pps_out)
FIG(g_mbin, r->total.mbps_in)
FIG(g_mbout, r->total.mbps_out)
FIG(g_cpu, r->total.server_cpu_pct)
FIG(g_rss, r->total.server_rss_mb_max)
FIG(g_fwd, r->total.fwd_per_cpu_s)
FIG(g_bench, r->total.bench_cpu_pct)
FIG(g_sent, (double)r->total.sent)
FIG(g_exp, (double)r->total.expected)
FIG(g_rcv, (double)r->total.received)
FIG(g_err, (double)(r->join_errors + r->foreign + r->unstamped + r->send_errors))

static const struct row rows[] = {
    {"rooms", "%.0f", g_rooms},          {"people", "%.0f", g_people},
    {"join p50 (ms)", "%.0f", g_join50}, {"join p95 (ms)", "%.0f", g_join95},
    {"delay p50 (ms)", "%.3f", g_d50},   {"delay p99 (ms)", "%.3f", g_d99},
    {"delay max (ms)", "%.3f", g_dmax},  {"loss (%)", "%.3f", g_loss},
    {"jitter mean (ms)", "%.3f", g_jit}, {"jitter max (ms)", "%.3f", g_jitmax},
    {"packets/s in", "%.0f", g_ppsin},   {"packets/s out", "%.0f", g_ppsout},
    {"Mbit/s in", "%.2f", g_mbin},       {"Mbit/s out", "%.2f", g_mbout},
    {"server CPU (%)", "%.1f", g_cpu},   {"server RSS (MiB)", "%.1f", g_rss},
    {"fwd pkts/CPU-s", "%.0f", g_fwd},   {"bench CPU (%)", "%.1f", g_bench},
    {"packets sent", "%.0f", g_sent},    {"copies expected", "%.0f", g_exp},
    {"copies received", "%.0f", g_rcv},  {"errors", "%.0f", g_err},
};

void lt_report_table(FILE *out, const struct lt_report_ctx *ctx, const struct lt_result *res,
                     size_t n)
{
    fprintf(out, "\n%s\n", ctx->scenario_line);
    fprintf(out, "machine: %s; server on CPUs %s, bench on CPUs %s; %s%u s measured%s\n",
            ctx->machine, ctx->server_cpus ? ctx->server_cpus : "any",
            ctx->bench_cpus ? ctx->bench_cpus : "any", ctx->ramp ? "ramp, each step " : "",
            ctx->duration_s, ctx->ramp ? "" : " after everyone joined");
    if (ctx->idle)
        fprintf(out, "CPU idle: %s\n", ctx->idle);
    fprintf(out, "\n%-20s", "");
    for (size_t i = 0; i < n; i++)
        fprintf(out, " %14s", res[i].target);
    fprintf(out, "\n");
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
        fprintf(out, "%-20s", rows[k].label);
        for (size_t i = 0; i < n; i++) {
            char cell[32];
            if (res[i].ok)
                snprintf(cell, sizeof(cell), rows[k].fmt, rows[k].get(&res[i]));
            else
                snprintf(cell, sizeof(cell), "failed");
            fprintf(out, " %14s", cell);
        }
        fprintf(out, "\n");
    }
    if (ctx->ramp) {
        fprintf(out, "%-20s", "capacity (rooms)");
        for (size_t i = 0; i < n; i++) {
            char cell[32];
            /* Not limited by the server (the ramp's end, or the bench): a floor, not a figure. */
            snprintf(cell, sizeof(cell), res[i].capacity_limited ? "%u" : ">= %u", res[i].capacity);
            fprintf(out, " %14s", res[i].ok ? cell : "failed");
        }
        fprintf(out, "\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (!res[i].ok)
            fprintf(out, "%s failed: %s\n", res[i].target, res[i].error);
        if (ctx->ramp && res[i].limit_reason[0])
            fprintf(out, "%s ramp: %s\n", res[i].target, res[i].limit_reason);
        if (res[i].foreign)
            fprintf(out,
                    "%s: %llu packets reached someone who should not get them (another room's, "
                    "or their own)\n",
                    res[i].target, (unsigned long long)res[i].foreign);
        const struct lt_figures *bb = &res[i].total;
        for (unsigned k = 0; k < res[i].n_steps && !bb->bench_bound; k++)
            if (res[i].steps[k].bench_bound)
                bb = &res[i].steps[k];
        if (res[i].bench_bound || bb->bench_bound)
            fprintf(out,
                    "\n*** %s: THE BENCH WAS THE BOTTLENECK (%s), not the server: these figures "
                    "understate the server. Give the bench more CPUs (--bench-cpus) or run fewer "
                    "rooms. ***\n",
                    res[i].target, bb->bench_why[0] ? bb->bench_why : "see the steps");
    }
    if (n < 2 || !res[0].ok)
        return;
    /* With a ramp every target went through the same steps (rooms); efficiency and delay are
     * compared at the largest step all of them passed, not each at its own last. */
    unsigned common = LT_RUN_STEPS_MAX;
    for (size_t i = 0; ctx->ramp && i < n; i++) {
        if (!res[i].ok)
            continue;
        unsigned passed = 0;
        while (passed < res[i].n_steps && res[i].capacity &&
               res[i].steps[passed].rooms <= res[i].capacity)
            passed++;
        common = passed < common ? passed : common;
    }
    const struct lt_figures *base =
        ctx->ramp ? (common ? &res[0].steps[common - 1] : NULL) : &res[0].total;
    fprintf(out, "\n%s against the others", res[0].target);
    if (ctx->ramp && base)
        fprintf(out, " (at %u rooms, the largest step all passed)", base->rooms);
    fprintf(out, ":\n");
    for (size_t i = 1; i < n; i++) {
        if (!res[i].ok)
            continue;
        const struct lt_figures *other =
            ctx->ramp ? (common ? &res[i].steps[common - 1] : NULL) : &res[i].total;
        char fwd[32] = "n/a", p99[64] = "n/a", cap[32] = "n/a";
        if (base && other && other->fwd_per_cpu_s > 0)
            snprintf(fwd, sizeof(fwd), "%.2fx", base->fwd_per_cpu_s / other->fwd_per_cpu_s);
        if (base && other)
            snprintf(p99, sizeof(p99), "%.3f ms against %.3f ms", base->delay_p99_ms,
                     other->delay_p99_ms);
        if (res[i].capacity)
            snprintf(cap, sizeof(cap), "%.2fx%s", (double)res[0].capacity / res[i].capacity,
                     res[0].capacity_limited && res[i].capacity_limited ? "" : " (from a floor)");
        fprintf(out, "  vs %-8s forwarded packets per CPU-second %s, p99 delay %s", res[i].target,
                fwd, p99);
        if (ctx->ramp)
            fprintf(out, ", capacity %s", cap);
        fprintf(out, "\n");
    }
}

/* --- JSON ----------------------------------------------------------------------------------- */

static json_t *figures_json(const struct lt_figures *f)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, "
        "s:f, s:f, s:f, s:f, s:f}",
        "rooms", (json_int_t)f->rooms, "people", (json_int_t)f->people, "window_s", f->window_s,
        "sent", (json_int_t)f->sent, "expected", (json_int_t)f->expected, "received",
        (json_int_t)f->received, "duplicates", (json_int_t)f->duplicates, "loss_pct", f->loss_pct,
        "delay_p50_ms", f->delay_p50_ms, "delay_p99_ms", f->delay_p99_ms, "delay_max_ms",
        f->delay_max_ms, "jitter_ms", f->jitter_ms, "jitter_max_ms", f->jitter_max_ms, "pps_in",
        f->pps_in, "pps_out", f->pps_out, "mbps_in", f->mbps_in, "mbps_out", f->mbps_out,
        "server_cpu_pct", f->server_cpu_pct, "server_cpu_s", f->server_cpu_s, "bench_cpu_pct",
        f->bench_cpu_pct, "server_rss_mb_max", f->server_rss_mb_max, "fwd_per_cpu_s",
        f->fwd_per_cpu_s);
    if (o) {
        json_object_set_new(o, "delivered", json_integer((json_int_t)f->delivered));
        json_object_set_new(o, "send_errors", json_integer((json_int_t)f->send_errors));
        json_object_set_new(o, "bench_late_ms", json_real(f->bench_late_ms));
        json_object_set_new(o, "bench_late_pct", json_real(f->bench_late_pct));
        json_object_set_new(o, "bench_loop_pct", json_real(f->bench_loop_pct));
        json_object_set_new(o, "bench_bound", json_boolean(f->bench_bound));
        json_object_set_new(o, "bench_why", json_string(f->bench_why));
    }
    return o;
}

int lt_report_json(const char *path, const struct lt_report_ctx *ctx, const struct lt_result *res,
                   size_t n)
{
    json_t *runs = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct lt_result *r = &res[i];
        json_t *steps = json_array();
        for (unsigned s = 0; s < r->n_steps; s++)
            json_array_append_new(steps, figures_json(&r->steps[s]));
        json_t *samples = json_array();
        for (size_t s = 0; s < r->n_samples; s++) {
            const struct lt_sample *x = &r->samples[s];
            json_array_append_new(
                samples,
                json_pack("{s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "t_s", x->t_s,
                          "rooms", (json_int_t)x->rooms, "pps_in", x->pps_in, "pps_out", x->pps_out,
                          "mbps_in", x->mbps_in, "mbps_out", x->mbps_out, "p50_ms", x->p50_ms,
                          "p99_ms", x->p99_ms, "server_cpu_pct", x->server_cpu_pct, "bench_cpu_pct",
                          x->bench_cpu_pct, "server_rss_mb", x->server_rss_mb));
        }
        json_t *o = json_pack(
            "{s:s, s:b, s:s, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:s, s:b, "
            "s:o}",
            "target", r->target, "ok", r->ok, "error", r->error, "joins", (json_int_t)r->joins,
            "join_errors", (json_int_t)r->join_errors, "join_p50_ms", r->join_p50_ms, "join_p95_ms",
            r->join_p95_ms, "join_samples", (json_int_t)r->join_samples, "foreign_packets",
            (json_int_t)r->foreign, "unstamped_packets", (json_int_t)r->unstamped, "send_errors",
            (json_int_t)r->send_errors, "total", figures_json(&r->total), "steps", steps,
            "capacity", (json_int_t)r->capacity, "limit_reason", r->limit_reason, "bench_bound",
            r->bench_bound, "samples", samples);
        if (o)
            json_object_set_new(o, "capacity_limited", json_boolean(r->capacity_limited));
        json_array_append_new(runs, o);
    }
    json_t *doc = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:I, s:b, s:s?, s:o}", "scenario", ctx->scenario_line, "machine",
        ctx->machine, "server_cpus", ctx->server_cpus, "bench_cpus", ctx->bench_cpus, "duration_s",
        (json_int_t)ctx->duration_s, "ramp", ctx->ramp, "cpu_idle", ctx->idle, "runs", runs);
    if (!doc)
        return -ENOMEM;
    int rc = json_dump_file(doc, path, JSON_INDENT(2)) < 0 ? -EIO : 0;
    json_decref(doc);
    return rc;
}

/* --- the plot ------------------------------------------------------------------------------- */

int lt_report_plot(const char *path, const struct lt_result *res, size_t n, char *err,
                   size_t errlen)
{
    const char *ext = strrchr(path, '.');
    bool png = ext && strcmp(ext, ".png") == 0;
    if (!ext || (!png && strcmp(ext, ".svg") != 0)) {
        snprintf(err, errlen, "the plot's file name must end in .svg or .png: %s", path);
        return -EINVAL;
    }
    char data[] = "/tmp/sfu-bench-plot-XXXXXX";
    int fd = mkstemp(data);
    if (fd < 0) {
        snprintf(err, errlen, "temporary file: %s", strerror(errno));
        return -errno;
    }
    FILE *f = fdopen(fd, "w");
    /* One gnuplot data block per run, separated by two blank lines (gnuplot's "index"). */
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "# %s\n", res[i].target);
        for (size_t s = 0; s < res[i].n_samples; s++) {
            const struct lt_sample *x = &res[i].samples[s];
            fprintf(f, "%.2f %.1f %.3f %.3f %.3f %.1f %u\n", x->t_s, x->pps_out, x->mbps_out,
                    x->p50_ms, x->p99_ms, x->server_cpu_pct, x->rooms);
        }
        fprintf(f, "\n\n");
    }
    fclose(f);

    int in[2];
    if (pipe(in) < 0) {
        unlink(data);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        unlink(data);
        snprintf(err, errlen, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        close(in[0]);
        close(in[1]);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    FILE *g = fdopen(in[1], "w");
    fprintf(g, "set terminal %s size 1000,900 %s\n", png ? "pngcairo" : "svg",
            png ? "" : "dynamic background rgb 'white'");
    fprintf(g, "set output '%s'\nset multiplot layout 3,1\nset grid\nset key outside right\n",
            path);
    fprintf(g, "set xlabel 'seconds'\n");
    const char *panels[3][2] = {{"2", "packets/s out (forwarded copies received)"},
                                {"5", "forwarding delay p99 (ms)"},
                                {"6", "server CPU (% of one core)"}};
    for (int p = 0; p < 3; p++) {
        fprintf(g, "set title '%s'\nplot ", panels[p][1]);
        for (size_t i = 0; i < n; i++)
            fprintf(g, "%s'%s' index %zu using 1:%s with lines lw 2 title '%s'", i ? ", " : "",
                    data, i, panels[p][0], res[i].target);
        fprintf(g, "\n");
    }
    fprintf(g, "unset multiplot\n");
    fclose(g);
    /* gnuplot draws a few hundred points in well under a second: 30 s means it is stuck. */
    int status = 0;
    for (int i = 0; waitpid(pid, &status, WNOHANG) == 0; i++) {
        if (i == 3000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    unlink(data);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen,
                 WIFEXITED(status) && WEXITSTATUS(status) == 127
                     ? "gnuplot is not installed (Debian: gnuplot-nox)"
                     : "gnuplot failed");
        return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
    }
    return 0;
}
