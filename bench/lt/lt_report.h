/* sfu-bench's reports: the table at the end, the JSON file, and the plot over time. */
#ifndef BENCH_LT_REPORT_H
#define BENCH_LT_REPORT_H

#include <stdio.h>

#include "lt_run.h"

/* What the run was, for the report's heading and JSON. */
struct lt_report_ctx {
    const char *scenario_line; /* lt_scenario_describe */
    const char *machine;       /* CPU model and cores */
    const char *server_cpus, *bench_cpus;
    unsigned duration_s;
    bool ramp;
    const char *idle; /* how idle CPUs were held, for the heading */
};

/* The table of one or more runs (side by side when several), and with several runs the ratios
 * of the first (ours) to each other: forwarded packets per CPU-second, p99 delay, capacity. */
void lt_report_table(FILE *out, const struct lt_report_ctx *ctx, const struct lt_result *res,
                     size_t n);

/* Writes every figure of every run, with its samples, as JSON to path. Returns 0 or -errno. */
int lt_report_json(const char *path, const struct lt_report_ctx *ctx, const struct lt_result *res,
                   size_t n);

/* Plots throughput, delay and server CPU over time for every run with gnuplot (SVG or PNG by
 * path's extension). Returns 0, or a negative errno with a message in err (-ENOENT when gnuplot
 * is missing). */
int lt_report_plot(const char *path, const struct lt_result *res, size_t n, char *err,
                   size_t errlen);

#endif
