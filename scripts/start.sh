#!/usr/bin/env bash
# The first README command: installs what is missing, builds, and starts the service on this
# machine. For now that is the SFU alone; it prints its control address and runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build
mkdir -p .run
exec build/sfu/sfu --config deploy/sfu.conf.example --control-unix "$PWD/.run/sfu.sock" "$@"
