#!/bin/sh
# install-chromium.sh: makes sure headless Chromium is installed, for the
# dashboard's browser test (go test -tags ui ./httpapi). Debian's chromium
# package, through apt; exits non-zero when it cannot be installed, so that
# the test fails rather than being skipped.
set -eu
for b in chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done
exec "$(dirname "$0")/apt-install.sh" chromium chromium
