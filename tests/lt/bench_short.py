#!/usr/bin/env python3
"""The short bench CI runs: sfu-bench against our SFU, 2 consultation rooms for 10 s. It must
complete, report every field (table and JSON), and see no loss at that light load; no packet may
reach someone in another room. Speed targets are not asserted here (bench/README.md has them)."""
import json
import os
import subprocess
import sys
import tempfile

build = os.environ["LT_BUILD_DIR"]
bench = os.path.join(build, "bench", "lt", "sfu-bench")

FIGURES = ["rooms", "people", "window_s", "sent", "expected", "received", "duplicates",
           "loss_pct", "delay_p50_ms", "delay_p99_ms", "delay_max_ms", "jitter_ms",
           "jitter_max_ms", "pps_in", "pps_out", "mbps_in", "mbps_out", "server_cpu_pct",
           "server_cpu_s", "bench_cpu_pct", "server_rss_mb_max", "delivered", "fwd_per_cpu_s",
           "send_errors", "bench_late_ms", "bench_late_pct", "bench_loop_pct", "bench_bound",
           "bench_why"]
RUN = ["target", "ok", "error", "joins", "join_errors", "join_p50_ms", "join_p95_ms",
       "join_samples", "foreign_packets", "unstamped_packets", "send_errors", "total", "steps",
       "capacity", "capacity_limited", "limit_reason", "bench_bound", "samples"]
SAMPLE = ["t_s", "rooms", "pps_in", "pps_out", "mbps_in", "mbps_out", "p50_ms", "p99_ms",
          "server_cpu_pct", "bench_cpu_pct", "server_rss_mb"]
TABLE = ["join p50 (ms)", "delay p99 (ms)", "loss (%)", "jitter mean (ms)", "packets/s in",
         "Mbit/s out", "server CPU (%)", "server RSS (MiB)", "fwd pkts/CPU-s", "bench CPU (%)"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}")


with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "bench.json")
    plot = os.path.join(d, "bench.svg")
    # Under ASan, leak checking is off for this one program: GLib leaks its first quark table
    # on purpose once a process registers more than 2048 quarks (GStreamer with every codec
    # and payloader, libnice and the rest do), and its frames carry no frame pointers for a
    # suppression to match. Every part of the bench has its own test with leak checking on.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    p = subprocess.run([bench, "--scenario", "consultation", "--rooms", "2", "--duration", "10",
                        "--json", out, "--plot", plot, "--no-progress"],
                       capture_output=True, text=True, timeout=180, env=env)
    print(p.stdout)
    print(p.stderr, file=sys.stderr)
    check(p.returncode == 0, f"sfu-bench exited {p.returncode}")
    for label in TABLE:
        check(label in p.stdout, f"the table has a '{label}' row")
    check(os.path.exists(plot) and os.path.getsize(plot) > 1000, "the plot was drawn")
    doc = json.load(open(out)) if os.path.exists(out) else {"runs": []}
    check(len(doc["runs"]) == 1, "one run in the JSON")
    for run in doc["runs"]:
        for k in RUN:
            check(k in run, f"run has '{k}'")
        check(run.get("ok") is True, f"the run completed: {run.get('error')}")
        total = run.get("total", {})
        for k in FIGURES:
            check(k in total, f"figures have '{k}'")
        check(total.get("rooms") == 2 and total.get("people") == 4, "2 rooms of 2 measured")
        # 2 rooms x 2 people x audio+video, each stream to the other person: ~150 packets/s
        # per person sending, 10 s.
        check(total.get("sent", 0) > 4 * 100 * 8, f"packets were sent: {total.get('sent')}")
        check(total.get("expected") == total.get("sent"),
              "each stream had one receiver: expected copies = packets sent")
        check(total.get("received") == total.get("expected"),
              f"no loss at light load: {total.get('received')} of {total.get('expected')}")
        check(total.get("loss_pct") == 0, f"loss 0%: {total.get('loss_pct')}")
        check(0 < total.get("delay_p50_ms", 0) <= total.get("delay_p99_ms", 0)
              <= total.get("delay_max_ms", 0), "delay p50 <= p99 <= max, all above 0")
        check(total.get("server_cpu_pct", 0) > 0, "the SFU's CPU was read")
        check(total.get("send_errors") == 0, "the bench sent every packet")
        check(total.get("fwd_per_cpu_s", 0) > 0 and total.get("delivered", 0) > 0,
              "packets per CPU-second computed")
        check(0 < total.get("bench_loop_pct", 0) < 100,
              f"the peers' loop threads' CPU was read: {total.get('bench_loop_pct')}%")
        check(total.get("server_rss_mb_max", 0) > 1, "the SFU's memory was read")
        check(total.get("mbps_out", 0) > 0.5, f"media flowed: {total.get('mbps_out')} Mbit/s out")
        check(run.get("foreign_packets") == 0, "nothing reached another room")
        check(run.get("unstamped_packets") == 0, "every packet carried its trailer")
        check(run.get("join_errors") == 0 and run.get("joins") == 4, "4 people joined")
        check(run.get("join_samples", 0) >= 2 and run.get("join_p50_ms", 0) > 0,
              "join times measured for the second person of each room")
        samples = run.get("samples", [])
        check(len(samples) >= 10, f"a sample each second: {len(samples)}")
        for s in samples[:1]:
            for k in SAMPLE:
                check(k in s, f"sample has '{k}'")

print(f"{'FAILED' if failures else 'passed'}: {len(failures)} check(s) failed")
sys.exit(1 if failures else 0)
