#!/usr/bin/env bash
# The first README command: installs what is missing, builds, and starts the whole service on
# this machine: the SFU, the signalling service (HTTPS on 127.0.0.1:8443 with a self-signed
# certificate, SQLite under .run/) and coturn (TURN on 127.0.0.1). It then makes a demo
# consultation and prints the links to open, and runs until Ctrl-C, when all stop cleanly. Extra
# arguments go to signalling.
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

# coturn on loopback, configured as deploy/turnserver.conf.example is for real: TURN over UDP and
# TCP on 3478 and over TLS on 5349 (443 in production; self-signed here, so browsers will not use
# it), credentials signed with a shared secret signalling holds too. Browsers on this machine
# reach the SFU directly; TURN is here so that the whole service runs as it would deployed.
turn_args=()
if [ ! -s "$run/turn.secret" ]; then
  (umask 077 && openssl rand -hex 32 >"$run/turn.secret")
  echo "made a TURN secret in $run/turn.secret"
fi
if [ ! -s "$run/turn-cert.pem" ] || [ ! -s "$run/turn-key.pem" ]; then
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$run/turn-key.pem" -out "$run/turn-cert.pem" 2>/dev/null)
fi
if ss -Hlnut '( sport = :3478 or sport = :5349 )' | grep -q .; then
  echo "start: port 3478 or 5349 is taken (another TURN server?): running without TURN" >&2
else
  (umask 077 && cat >"$run/turnserver.conf" <<EOF
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=3478
tls-listening-port=5349
no-dtls
alt-listening-port=0
alt-tls-listening-port=0
min-port=49152
max-port=65535
# Relay to the SFU on this machine and nowhere else.
allow-loopback-peers
denied-peer-ip=0.0.0.0-255.255.255.255
denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
allowed-peer-ip=127.0.0.1
no-multicast-peers
no-tcp-relay
use-auth-secret
static-auth-secret=$(cat "$run/turn.secret")
realm=localhost
fingerprint
cert=$run/turn-cert.pem
pkey=$run/turn-key.pem
no-cli
log-file=$run/turnserver.log
simple-log
pidfile=$run/turnserver.pid
userdb=$run/turndb
EOF
  )
  turnserver -c "$run/turnserver.conf" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do ss -Hlnt 'sport = :5349' | grep -q . && break; sleep 0.1; done
  ss -Hlnt 'sport = :5349' | grep -q . ||
    { echo "start: coturn did not start; see $run/turnserver.log" >&2; exit 1; }
  turn_args=(--turn-secret-file "$run/turn.secret" --turn-urls
    "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp,turns:localhost:5349?transport=tcp")
fi

build/signalling/signalling --config deploy/signalling.conf.example --data-dir "$run" \
  --api-key-file "$run/api-key" "${turn_args[@]}" "$@" &
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

gpsfu is running: the SFU (media on UDP 127.0.0.1:40000 and up), signalling at $base
and, unless said otherwise above, TURN (coturn) on 127.0.0.1:3478 (UDP, TCP) and :5349 (TLS)
Open these in a browser (each link works in one browser only; the certificate is self-signed,
so accept the browser's warning once):

$links

Open the clinician link first, then the patient link in another browser (or a private window):
the patient waits until the clinician presses Admit.

Make another consultation with the API (signalling/API.md):
  curl -sk -X POST $base/api/v1/consultations -H "Authorization: Bearer \$(cat .run/api-key)" \\
    -H 'Content-Type: application/json' -d '{"kind":"consultation","guests":0}'

Ctrl-C stops them all.
EOF
wait -n "${pids[@]}"
