#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian/Ubuntu machine, then run them (arguments go to pytest).
#   bash scripts/test.sh                 # all tests
#   bash scripts/test.sh -m "not slow"   # the fast unit tests only
# System packages: ffmpeg decodes what libsndfile cannot; rubberband-cli and sox are pitch shifters for
# training; chromium renders the evaluation report and, with chromium-driver, drives the web page test.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in ffmpeg:ffmpeg rubberband:rubberband-cli sox:sox chromium:chromium chromedriver:chromium-driver; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
python -m pip install -q -e ".[test]"
python -m pytest -q "$@"
