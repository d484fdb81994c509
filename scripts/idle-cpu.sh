#!/bin/sh
# idle-cpu.sh [SECONDS]: measures what idle fairmesh nodes cost: a node
# alone, then each node of a 3-node mesh on loopback, with no traffic, over
# SECONDS (default 60), as utime+stime from /proc/PID/stat; then, as the
# baseline of the same run, a 3-node mesh of bare memberlist members
# configured as fairmesh configures memberlist (scripts/memberlist-idle):
# the floor fairmesh cannot go under while memberlist runs its timers.
# Linux only.
set -eu
secs=${1:-60}
dir=$(mktemp -d)
trap 'kill $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$(dirname "$0")/.."
go build -o "$dir/fairmesh" ./cmd/fairmesh
go build -o "$dir/memberlist-idle" ./scripts/memberlist-idle
head -c 32 /dev/urandom | base64 > "$dir/key"
hz=$(getconf CLK_TCK)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start() { # name http gossip [join]
	"$dir/fairmesh" serve --node-id "$1" --http "127.0.0.1:$2" --bind "127.0.0.1:$3" \
		--gossip-key-file "$dir/key" --data-dir "" ${4:+--join "$4"} 2>"$dir/$1.log" &
	echo $! > "$dir/$1.pid"
}

measure() { # label pids...
	label=$1; shift
	sleep 5 # past start-up and joining
	before=""
	for p in "$@"; do before="$before $(ticks "$p")"; done
	sleep "$secs"
	i=1
	for p in "$@"; do
		b=$(echo $before | cut -d' ' -f$i)
		a=$(ticks "$p")
		awk -v l="$label" -v n="$i" -v d="$((a - b))" -v hz="$hz" -v s="$secs" \
			'BEGIN { printf "%s node %d: %.3f%% of a core (%d ticks of 1/%d s over %d s)\n", l, n, 100 * d / hz / s, d, hz, s }'
		i=$((i + 1))
	done
}

start solo 18080 17946
measure "alone" "$(cat "$dir/solo.pid")"
kill "$(cat "$dir/solo.pid")"; rm "$dir/solo.pid"

start a 18081 17947
start b 18082 17948 127.0.0.1:17947
start c 18083 17949 127.0.0.1:17947,127.0.0.1:17948
measure "3-node mesh" "$(cat "$dir/a.pid")" "$(cat "$dir/b.pid")" "$(cat "$dir/c.pid")"
kill "$(cat "$dir/a.pid")" "$(cat "$dir/b.pid")" "$(cat "$dir/c.pid")"; rm "$dir/a.pid" "$dir/b.pid" "$dir/c.pid"

base() { # name port [join]
	"$dir/memberlist-idle" "$1" "$2" "$dir/key" ${3:+"$3"} 2>"$dir/$1.log" &
	echo $! > "$dir/$1.pid"
}
base ma 17957
base mb 17958 127.0.0.1:17957
base mc 17959 127.0.0.1:17957,127.0.0.1:17958
measure "memberlist alone (baseline), 3 members" "$(cat "$dir/ma.pid")" "$(cat "$dir/mb.pid")" "$(cat "$dir/mc.pid")"
