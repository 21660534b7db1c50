/* sfu-bench: how many consultations, group sessions or ward rounds a server carries, with what
 * delay and loss, against Janus and against the machine's own ceiling. See bench/README.md.
 *
 * Usage: sfu-bench [--target gpsfu|janus|limit | --compare] [--scenario NAME] [--rooms N]
 *                  [--duration S] [--ramp] [--json FILE] [--plot FILE.svg|.png] ... (--help) */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gst/gst.h>

#include "lt.h"
#include "lt_clip.h"
#include "lt_netns.h"
#include "lt_proc.h"
#include "lt_report.h"
#include "lt_run.h"
#include "lt_scenario.h"

struct opts {
    const char *target;
    bool compare;
    const char *scenario;
    unsigned rooms;
    struct lt_custom custom;
    unsigned duration_s;
    unsigned settle_ms;
    unsigned join_timeout_ms;
    unsigned kbps[LT_TRACKS];
    bool ramp;
    unsigned ramp_step, ramp_max;
    double loss_limit, p99_limit;
    const char *server_cpus, *bench_cpus;
    unsigned workers;
    const char *json, *plot;
    char build_dir[PATH_MAX];
    bool verbose, progress;
    bool deep_idle;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sfu-bench [options]\n"
            "  --target T          gpsfu (ours, the default), janus or limit (a plain UDP relay)\n"
            "  --compare           run gpsfu, janus and limit one after another, side by side\n"
            "  --scenario S        consultation (default), group, mdt, ward-round or custom\n"
            "  --rooms N           rooms at once (default 2 consultations, else 1 room; with\n"
            "                      --ramp, the first step)\n"
            "  --publishers N      custom: people sending audio and video (and receiving)\n"
            "  --subscribers N     custom: people only receiving\n"
            "  --duration S        seconds measured after everyone joined (default 20; with\n"
            "                      --ramp, per step; ward-round: per consultation)\n"
            "  --settle MS         wait after the joins before measuring (default 4000: a\n"
            "                      new receiver's video starts at the next keyframe)\n"
            "  --video-kbps N      camera bitrate (default 800)\n"
            "  --audio-kbps N      Opus bitrate (default 32)\n"
            "  --screen-kbps N     screen share bitrate (default 1000)\n"
            "  --ramp              add rooms step by step until loss passes --loss-limit or\n"
            "                      p99 delay passes --p99-limit; reports the capacity reached\n"
            "  --ramp-step N       rooms added per step (default 1)\n"
            "  --ramp-max N        rooms at most (default 200)\n"
            "  --loss-limit PCT    (default 0.5)\n"
            "  --p99-limit MS      (default 50)\n"
            "  --server-cpus LIST  CPUs for the server (taskset syntax; --compare default: 0)\n"
            "  --bench-cpus LIST   CPUs for the bench (--compare default: the others)\n"
            "  --workers N         SFU workers / Janus event loops (default: the server's CPUs)\n"
            "  --json FILE         every figure and the per-second samples as JSON\n"
            "  --plot FILE         throughput, delay and CPU over time (.svg or .png; gnuplot)\n"
            "  --build-dir DIR     where sfu/sfu, signalling/signalling and bench/udp_relay are\n"
            "                      (default: the build folder this program is in)\n"
            "  --join-timeout MS   one person's join (default 20000)\n"
            "  --deep-idle         let idle CPUs sleep as deeply as they like; by default the\n"
            "                      bench holds them in shallow idle states while it runs\n"
            "                      (PM QoS, root), so that waking a CPU is not in the delays\n"
            "  --no-progress       no live line on stderr\n"
            "  --verbose           the servers' logs on stderr\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_limit(const char *s, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_TARGET = 1000,
        O_COMPARE,
        O_SCENARIO,
        O_ROOMS,
        O_PUB,
        O_SUB,
        O_DURATION,
        O_SETTLE,
        O_VKBPS,
        O_AKBPS,
        O_SKBPS,
        O_RAMP,
        O_RSTEP,
        O_RMAX,
        O_LOSS,
        O_P99,
        O_SCPU,
        O_BCPU,
        O_WORKERS,
        O_JSON,
        O_PLOT,
        O_BUILD,
        O_JOINTO,
        O_NOPROG,
        O_VERBOSE,
        O_DEEPIDLE,
        O_HELP,
    };
    static const struct option longopts[] = {
        {"target", 1, 0, O_TARGET},       {"compare", 0, 0, O_COMPARE},
        {"scenario", 1, 0, O_SCENARIO},   {"rooms", 1, 0, O_ROOMS},
        {"publishers", 1, 0, O_PUB},      {"subscribers", 1, 0, O_SUB},
        {"duration", 1, 0, O_DURATION},   {"settle", 1, 0, O_SETTLE},
        {"video-kbps", 1, 0, O_VKBPS},    {"audio-kbps", 1, 0, O_AKBPS},
        {"screen-kbps", 1, 0, O_SKBPS},   {"ramp", 0, 0, O_RAMP},
        {"ramp-step", 1, 0, O_RSTEP},     {"ramp-max", 1, 0, O_RMAX},
        {"loss-limit", 1, 0, O_LOSS},     {"p99-limit", 1, 0, O_P99},
        {"server-cpus", 1, 0, O_SCPU},    {"bench-cpus", 1, 0, O_BCPU},
        {"workers", 1, 0, O_WORKERS},     {"json", 1, 0, O_JSON},
        {"plot", 1, 0, O_PLOT},           {"build-dir", 1, 0, O_BUILD},
        {"join-timeout", 1, 0, O_JOINTO}, {"no-progress", 0, 0, O_NOPROG},
        {"verbose", 0, 0, O_VERBOSE},     {"deep-idle", 0, 0, O_DEEPIDLE},
        {"help", 0, 0, O_HELP},           {0, 0, 0, 0},
    };
    *o = (struct opts){.target = "gpsfu",
                       .scenario = "consultation",
                       .rooms = 0, /* by scenario: main */
                       .duration_s = 20,
                       .settle_ms = 4000,
                       .join_timeout_ms = 20000,
                       .ramp_step = 1,
                       .ramp_max = 200,
                       .loss_limit = 0.5,
                       .p99_limit = 50,
                       .progress = true};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_TARGET:
            o->target = optarg;
            break;
        case O_COMPARE:
            o->compare = true;
            break;
        case O_SCENARIO:
            o->scenario = optarg;
            break;
        case O_ROOMS:
            bad = parse_uint(optarg, 1, LT_RUN_ROOMS_MAX, &o->rooms);
            break;
        case O_PUB:
            bad = parse_uint(optarg, 0, LT_ROOM_MAX, &o->custom.publishers);
            break;
        case O_SUB:
            bad = parse_uint(optarg, 0, LT_ROOM_MAX, &o->custom.subscribers);
            break;
        case O_DURATION:
            bad = parse_uint(optarg, 1, 3600, &o->duration_s);
            break;
        case O_SETTLE:
            bad = parse_uint(optarg, 0, 60000, &o->settle_ms);
            break;
        case O_VKBPS:
            bad = parse_uint(optarg, 50, 20000, &o->kbps[LT_VIDEO]);
            break;
        case O_AKBPS:
            bad = parse_uint(optarg, 6, 510, &o->kbps[LT_AUDIO]);
            break;
        case O_SKBPS:
            bad = parse_uint(optarg, 50, 20000, &o->kbps[LT_SCREEN]);
            break;
        case O_RAMP:
            o->ramp = true;
            break;
        case O_RSTEP:
            bad = parse_uint(optarg, 1, 100, &o->ramp_step);
            break;
        case O_RMAX:
            bad = parse_uint(optarg, 1, LT_RUN_ROOMS_MAX, &o->ramp_max);
            break;
        case O_LOSS:
            bad = parse_limit(optarg, 100, &o->loss_limit);
            break;
        case O_P99:
            bad = parse_limit(optarg, 10000, &o->p99_limit);
            break;
        case O_SCPU:
            o->server_cpus = optarg;
            break;
        case O_BCPU:
            o->bench_cpus = optarg;
            break;
        case O_WORKERS:
            bad = parse_uint(optarg, 1, 64, &o->workers);
            break;
        case O_JSON:
            o->json = optarg;
            break;
        case O_PLOT:
            o->plot = optarg;
            break;
        case O_BUILD:
            snprintf(o->build_dir, sizeof(o->build_dir), "%s", optarg);
            break;
        case O_JOINTO:
            bad = parse_uint(optarg, 1000, 600000, &o->join_timeout_ms);
            break;
        case O_NOPROG:
            o->progress = false;
            break;
        case O_VERBOSE:
            o->verbose = true;
            break;
        case O_DEEPIDLE:
            o->deep_idle = true;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "sfu-bench: --%s: '%s' is out of range or not a number\n",
                    longopts[c - O_TARGET].name, optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sfu-bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    cpu_set_t set;
    if ((o->server_cpus && lt_cpus_parse(o->server_cpus, &set) < 0) ||
        (o->bench_cpus && lt_cpus_parse(o->bench_cpus, &set) < 0)) {
        fprintf(stderr, "sfu-bench: a CPU list is taskset syntax: 0 or 0-1 or 0,2\n");
        return -1;
    }
    if (!o->build_dir[0]) {
        /* This program is BUILD/bench/lt/sfu-bench. */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) {
            fprintf(stderr, "sfu-bench: cannot find myself; give --build-dir\n");
            return -1;
        }
        self[n] = 0;
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = 0;
        }
        snprintf(o->build_dir, sizeof(o->build_dir), "%s", self);
    }
    return 0;
}

static const struct lt_target_ops *target_by_name(const char *name)
{
    static const struct lt_target_ops *all[] = {&lt_target_gpsfu, &lt_target_janus,
                                                &lt_target_limit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static void machine_describe(char *out, size_t outlen)
{
    char model[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                snprintf(model, sizeof(model), "%s", colon + 2);
                model[strcspn(model, "\n")] = 0;
            }
            break;
        }
    }
    if (f)
        fclose(f);
    snprintf(out, outlen, "%s, %u CPUs online", model, lt_cpus_count(NULL));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static volatile sig_atomic_t interrupted;

/* The first Ctrl-C ends the run cleanly (everyone leaves, the servers stop, the figures so far
 * are not reported as a result); a second one kills at once. */
static void on_signal(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    char err[512];
    struct lt_scenario sc;
    if (!o.rooms) /* a pair of consultations, or one group, MDT, ward round or custom room */
        o.rooms = strcmp(o.scenario, "consultation") == 0 ? 2 : 1;
    if (lt_scenario_make(&sc, o.scenario, o.rooms, &o.custom, err, sizeof(err)) < 0) {
        fprintf(stderr, "sfu-bench: %s\n", err);
        return 2;
    }
    if (sc.moves && o.ramp) {
        fprintf(stderr, "sfu-bench: --ramp adds rooms that stay; a ward round moves through "
                        "its consultations: ramp the consultation scenario instead\n");
        return 2;
    }
    if (sc.rooms * (sc.moves ? sc.moves : 1) > LT_RUN_ROOMS_MAX) {
        fprintf(stderr, "sfu-bench: %u rooms%s: the bench keeps at most %d rooms in a run\n",
                sc.rooms * (sc.moves ? sc.moves : 1), sc.moves ? " (rounds x consultations)" : "",
                LT_RUN_ROOMS_MAX);
        return 2;
    }
    const struct lt_target_ops *targets[3];
    size_t n_targets = 0;
    if (o.compare) {
        targets[n_targets++] = &lt_target_gpsfu;
        targets[n_targets++] = &lt_target_janus;
        targets[n_targets++] = &lt_target_limit;
        /* Fairness: the server under test and the bench on separate cores. */
        unsigned cpus = lt_cpus_count(NULL);
        if (!o.server_cpus && cpus >= 2)
            o.server_cpus = "0";
        static char rest[32];
        if (!o.bench_cpus && cpus >= 2) {
            snprintf(rest, sizeof(rest), cpus == 2 ? "1" : "1-%u", cpus - 1);
            o.bench_cpus = rest;
        }
        if (cpus < 2)
            fprintf(stderr, "sfu-bench: warning: one CPU: the server and the bench share it, "
                            "so the comparison is of the pair\n");
    } else if (!(targets[n_targets++] = target_by_name(o.target))) {
        fprintf(stderr, "sfu-bench: unknown target '%s' (gpsfu, janus or limit)\n", o.target);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    /* Janus will not put media on a loopback interface: the run moves into a private network
     * namespace with an address of its own, and every target of the run uses it, so that they
     * are compared on the same path. Before any thread: the namespace is the thread's. */
    const char *media_ip = NULL;
    bool janus = false;
    for (size_t i = 0; i < n_targets; i++)
        janus |= targets[i] == &lt_target_janus;
    if (janus) {
        if (lt_netns_enter(err, sizeof(err)) < 0) {
            fprintf(stderr,
                    "sfu-bench: Janus needs an address that is not loopback for its media, "
                    "and %s\n",
                    err);
            return 1;
        }
        media_ip = LT_NETNS_IP;
        fprintf(stderr, "sfu-bench: in a private network namespace, media on %s\n", media_ip);
    }

    /* A CPU waking from a deep idle state (on a virtual machine, a halted vCPU the host must
     * schedule again) takes from tens of microseconds to milliseconds: measured here, it put the
     * plain relay's p99 delay at 5 ms instead of 1 and cost every server CPU per packet. The
     * servers are measured, not the machine's power management, so by default the bench keeps
     * idle CPUs in states they leave at once, as a latency-tuned media server would be. */
    int idle_fd = -1;
    const char *idle = "deep idle states allowed (--deep-idle)";
    if (!o.deep_idle) {
        idle_fd = lt_cpu_latency_hold(0);
        if (idle_fd >= 0) {
            idle = "idle CPUs held in shallow states (PM QoS 0 us)";
        } else {
            idle = "deep idle states allowed (PM QoS not available)";
            fprintf(stderr,
                    "sfu-bench: warning: could not hold idle CPUs in shallow states "
                    "(/dev/cpu_dma_latency: %s%s): CPU wake-up times will be in the delays\n",
                    strerror(-idle_fd), idle_fd == -EACCES ? "; run as root" : "");
        }
    }

    char line[256];
    lt_scenario_describe(&sc, line, sizeof(line));
    fprintf(stderr, "sfu-bench: %s\n", line);
    fprintf(stderr, "sfu-bench: encoding the clip (VP8 and Opus, GStreamer)...\n");
    struct lt_clip_params cp;
    lt_clip_params_init(&cp);
    for (int k = 0; k < LT_TRACKS; k++)
        if (o.kbps[k])
            cp.track[k].kbps = o.kbps[k];
    struct lt_clip *clip;
    if (lt_clip_new(&clip, &cp, err, sizeof(err)) < 0) {
        fprintf(stderr, "sfu-bench: %s\n", err);
        return 1;
    }
    char work[] = "/tmp/sfu-bench-XXXXXX";
    if (!mkdtemp(work)) {
        fprintf(stderr, "sfu-bench: temporary folder: %s\n", strerror(errno));
        lt_clip_free(clip);
        return 1;
    }

    struct lt_result res[3];
    memset(res, 0, sizeof(res));
    int failures = 0;
    for (size_t i = 0; i < n_targets && !interrupted; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/%s", work, targets[i]->name);
        mkdir(dir, 0700);
        struct lt_run_cfg rc = {
            .target = targets[i],
            .target_cfg = {.build_dir = o.build_dir,
                           .cpus = o.server_cpus,
                           .workers = o.workers ? o.workers : lt_cpus_count(o.server_cpus),
                           .work_dir = dir,
                           .verbose = o.verbose,
                           .media_ip = media_ip},
            .scenario = &sc,
            .clip = clip,
            .duration_s = o.duration_s,
            .settle_ms = o.settle_ms,
            .join_timeout_ms = (int)o.join_timeout_ms,
            .ramp = o.ramp,
            .ramp_step = o.ramp_step,
            .ramp_max = o.ramp_max,
            .ramp_loss_pct = o.loss_limit,
            .ramp_p99_ms = o.p99_limit,
            .bench_cpus = o.bench_cpus,
            .progress = o.progress && isatty(2),
            .stop = &interrupted,
        };
        fprintf(stderr, "sfu-bench: running %s...\n", targets[i]->name);
        if (lt_run(&rc, &res[i]) < 0) {
            fprintf(stderr, "sfu-bench: %s: %s\n", targets[i]->name, res[i].error);
            failures++;
        }
    }
    char machine[200];
    machine_describe(machine, sizeof(machine));
    struct lt_report_ctx ctx = {.scenario_line = line,
                                .machine = machine,
                                .server_cpus = o.server_cpus,
                                .bench_cpus = o.bench_cpus,
                                .duration_s = o.duration_s,
                                .ramp = o.ramp,
                                .idle = idle};
    lt_report_table(stdout, &ctx, res, n_targets);
    if (o.json && lt_report_json(o.json, &ctx, res, n_targets) < 0) {
        fprintf(stderr, "sfu-bench: could not write %s\n", o.json);
        failures++;
    }
    if (o.plot && lt_report_plot(o.plot, res, n_targets, err, sizeof(err)) < 0) {
        fprintf(stderr, "sfu-bench: plot: %s\n", err);
        failures++;
    }
    for (size_t i = 0; i < n_targets; i++)
        lt_result_free(&res[i]);
    lt_clip_free(clip);
    /* The servers' logs stay when something failed: they say why. */
    if (failures)
        fprintf(stderr, "sfu-bench: the servers' logs are in %s\n", work);
    else if (nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        fprintf(stderr, "sfu-bench: could not remove %s\n", work);
    gst_deinit();
    if (idle_fd >= 0)
        close(idle_fd);
    return interrupted ? 130 : failures ? 1 : 0;
}
