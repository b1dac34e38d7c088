#!/bin/sh
# The source tree's layers (README, Layout): each folder may include only
# itself and the layers it stands on, so the pool knows nothing of the
# application and no include runs back up.  Exit 1 naming each include
# that breaks the rule.
top=${srcdir:-.}/src
allowed() {
	case $1 in
	lib)	echo "lib" ;;
	pool)	echo "lib pool" ;;
	redis)	echo "lib redis" ;;
	store)	echo "lib store" ;;
	auth)	echo "lib redis store auth" ;;
	http)	echo "lib redis http" ;;
	mail)	echo "lib redis auth mail" ;;
	app)	echo "lib pool redis store auth http mail app" ;;
	*)	echo "" ;;
	esac
}
bad=0
for dir in "$top"/*/; do
	layer=$(basename "$dir")
	ok=$(allowed "$layer")
	if [ -z "$ok" ]; then
		echo "src/$layer: not a known layer (add it to $0)"
		bad=1
		continue
	fi
	for f in "$dir"*.c "$dir"*.h; do
		[ -f "$f" ] || continue
		for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$f"); do
			case " $ok " in
			*" $inc "*) ;;
			*) echo "src/$layer/$(basename "$f"): includes $inc/," \
			    "above its layer"; bad=1 ;;
			esac
		done
		if grep -q '^#include "[^/]*"' "$f"; then
			echo "src/$layer/$(basename "$f"): an include without its layer"
			bad=1
		fi
	done
done
[ -z "$(ls "$top"/*.c "$top"/*.h 2>/dev/null)" ] ||
    { echo "src/: files outside a layer"; bad=1; }
exit $bad
