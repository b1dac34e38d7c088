#!/bin/sh
# Several mockpie hosts across a real network on one machine (issue 10
# item 5): tests/it_netns.py builds network namespaces of its own and runs
# nginx, two pools, PostgreSQL, a Redis master, its replica and three
# sentinels in them.  It needs root (CI runs as root); otherwise it is
# skipped with the reason.  Exit 0 pass, 1 fail, 77 skip (automake's test
# driver).
srcdir=${MOCKPIE_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: network namespaces need root (CI runs make check as root)"
	exit 77
fi
if [ ! -x /usr/bin/python3 ]; then
	echo "SKIP: no /usr/bin/python3 (Debian's python3)"
	exit 77
fi
exec /usr/bin/python3 "$srcdir/tests/it_netns.py" "$@"
