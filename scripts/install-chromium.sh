#!/bin/sh
# install-chromium.sh: makes sure headless Chromium is installed, for the
# dashboard's browser test (go test -tags ui ./httpapi). Debian's chromium
# package, through apt; exits non-zero when it cannot be installed, so that
# the test fails rather than being skipped.
set -eu
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "install-chromium.sh: Chromium is missing and installing it needs root (apt-get install chromium)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
