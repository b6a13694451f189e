#!/bin/sh
# Installs the test tools that come from the npm registry into the build tree (nothing system-wide):
# s3rver, the local S3-compatible server of tests/cli/s3_test.cpp. Without it that suite skips.
#   scripts/install-test-tools.sh [BUILD_DIR]   (default: build)
# Needs node and npm (Debian's nodejs and npm); installs nothing when s3rver is already there.
set -eu
build_dir=${1:-build}
s3rver_version=3.7.1
if [ -x "$build_dir/node/node_modules/.bin/s3rver" ]; then
  exit 0
fi
# npm is not in deps/debian-packages.txt: machines that have Node.js from elsewhere (NodeSource's
# nodejs ships its own npm) conflict with Debian's npm package, so it is installed only when no
# npm is there at all.
if ! command -v npm >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
  echo "install-test-tools: installing Debian's npm for the object-storage tests" >&2
  $sudo_cmd apt-get install -y -qq --no-install-recommends npm >/dev/null 2>&1 || true
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-test-tools: npm is missing; the object-storage tests (S3Cli) will be skipped." >&2
  exit 0
fi
mkdir -p "$build_dir/node"
npm install --no-audit --no-fund --prefix "$build_dir/node" "s3rver@$s3rver_version"
