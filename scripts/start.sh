#!/usr/bin/env bash
# The first README command: installs what is missing, builds, and starts the whole service on
# this machine: the SFU and the signalling service (HTTPS on 127.0.0.1:8443 with a self-signed
# certificate, SQLite under .run/). It then makes a demo consultation and prints the links to
# open, and runs until Ctrl-C, when both stop cleanly. Extra arguments go to signalling.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build

run=$PWD/.run
mkdir -p "$run"
chmod 700 "$run"
if [ ! -s "$run/api-key" ]; then
  (umask 077 && openssl rand -hex 32 >"$run/api-key")
  echo "made an API key in $run/api-key"
fi
key=$(cat "$run/api-key")

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

build/sfu/sfu --config deploy/sfu.conf.example --control-unix "$run/sfu.sock" &
pids+=($!)
for _ in $(seq 50); do [ -S "$run/sfu.sock" ] && break; sleep 0.1; done
[ -S "$run/sfu.sock" ] || { echo "start: the SFU did not start" >&2; exit 1; }

build/signalling/signalling --config deploy/signalling.conf.example --data-dir "$run" \
  --api-key-file "$run/api-key" "$@" &
pids+=($!)
base=https://127.0.0.1:8443
for _ in $(seq 100); do curl -skf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -skf "$base/healthz" >/dev/null || { echo "start: signalling did not start" >&2; exit 1; }

demo=$(curl -sk -X POST "$base/api/v1/consultations" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' \
  -d '{"kind":"consultation","guests":1,"message":"This is a demo consultation. The clinician will be with you shortly."}')
links=$(printf '%s' "$demo" | python3 -c '
import json, sys
c = json.load(sys.stdin)
print("  consultation:", c["id"])
print("  clinician (host):", c["links"]["host"])
print("  patient:", c["links"]["patient"])
for g in c["links"]["guests"]:
    print("  guest (carer, interpreter):", g)')

cat <<EOF

gpsfu is running: the SFU (media on UDP 127.0.0.1:40000 and up) and signalling at $base
Open these in a browser (each link works in one browser only; the certificate is self-signed,
so accept the browser's warning once):

$links

Open the clinician link first, then the patient link in another browser (or a private window):
the patient waits until the clinician presses Admit.

Make another consultation with the API (signalling/API.md):
  curl -sk -X POST $base/api/v1/consultations -H "Authorization: Bearer \$(cat .run/api-key)" \\
    -H 'Content-Type: application/json' -d '{"kind":"consultation","guests":0}'

Ctrl-C stops both.
EOF
wait -n "${pids[@]}"
