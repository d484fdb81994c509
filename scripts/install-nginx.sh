#!/bin/sh
# install-nginx.sh: makes sure nginx (with its auth_request module, which
# Debian's build has) is installed, for the test of deploy/nginx
# (go test -tags nginx ./httpapi). Debian's nginx package, through apt;
# exits non-zero when it cannot be installed, so that the test fails rather
# than being skipped.
set -eu
if command -v nginx >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-nginx.sh: nginx is missing and installing it needs root (apt-get install nginx)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends nginx >/dev/null
# The package starts a server on port 80; the test runs its own.
if command -v service >/dev/null 2>&1; then
	service nginx stop >/dev/null 2>&1 || true
fi
command -v nginx >/dev/null
