#!/bin/sh
# apt-install.sh COMMAND PACKAGE: makes sure COMMAND is on the PATH,
# installing Debian's PACKAGE through apt when it is not. Exits non-zero
# when it cannot, so that the test that needs it fails rather than being
# skipped. Used by install-chromium.sh and install-nginx.sh.
set -eu
cmd=$1 pkg=$2
if command -v "$cmd" >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "apt-install.sh: $cmd is missing and installing it needs root (apt-get install $pkg)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "$pkg" >/dev/null
command -v "$cmd" >/dev/null
