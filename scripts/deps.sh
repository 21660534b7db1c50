#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds and tests with. Idempotent: when every
# package is there it does nothing (no apt-get update, no network).
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev clang-format
  # the scripts: test summaries, the demo consultation, the API key
  python3 curl openssl
  # the SFU and the simulated peer
  libuv1-dev libssl-dev libsrtp2-dev libnice-dev libglib2.0-dev
  libprotobuf-c-dev protobuf-c-compiler
  # signalling: JSON, the SQLite store
  libjansson-dev libsqlite3-dev sqlite3 libwebsockets-dev
  # signalling's invitations: Notify's HTTP API and SMTP through libcurl (OpenSSL flavour), and
  # the time zone database for appointment times
  libcurl4-openssl-dev tzdata
  # interop and media tests: GStreamer's webrtcbin, VP8 and Opus
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-nice
  # TURN for patients whose network blocks UDP (scripts/start.sh runs one on loopback)
  coturn
  # private test networks: ip netns, veth, tc netem, nftables (a browser's namespace losing UDP)
  iproute2 procps nftables
  # end-to-end tests: real browsers (driven by playwright-core and puppeteer-core from npm), and
  # certutil to make them trust a test CA (TURN over TLS)
  chromium firefox-esr libnss3-tools
  # sfu-bench (bench/lt): Janus to measure against, gnuplot for its plot (the clip's VP8 and
  # Opus encoders are in the GStreamer plugins above)
  janus gnuplot-nox
)
# Node.js runs the end-to-end tests; any recent one will do (Debian's, or one already here).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"

# Debian starts coturn as a service on install, with a configuration that has no credentials
# and listens everywhere: an open relay, holding the port scripts/start.sh wants. When this
# script installed it, stop that service (deploy/turnserver.conf.example is the way to run it).
if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
  "${sudo_cmd[@]}" systemctl disable --now coturn >/dev/null 2>&1 || true
  echo "deps: stopped and disabled the coturn service Debian started (not configured yet)"
fi
# Likewise Debian starts Janus on install with its sample configuration (demo rooms, HTTP and
# WebSocket on every address); sfu-bench runs its own on loopback with a generated one.
if [[ " ${missing[*]} " == *" janus "* ]] && [ -d /run/systemd/system ]; then
  "${sudo_cmd[@]}" systemctl disable --now janus >/dev/null 2>&1 || true
  echo "deps: stopped and disabled the janus service Debian started (sfu-bench runs its own)"
fi
