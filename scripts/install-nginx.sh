#!/bin/sh
# install-nginx.sh: makes sure nginx (with its auth_request module, which
# Debian's build has) is installed, for the test of deploy/nginx
# (go test -tags nginx ./httpapi). Debian's nginx package, through apt;
# exits non-zero when it cannot be installed, so that the test fails rather
# than being skipped.
set -eu
installed=$(command -v nginx || true)
"$(dirname "$0")/apt-install.sh" nginx nginx
if [ -z "$installed" ] && command -v service >/dev/null 2>&1; then
	# The package starts a server on port 80; the test runs its own.
	service nginx stop >/dev/null 2>&1 || true
fi
