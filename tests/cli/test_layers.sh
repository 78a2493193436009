#!/bin/sh
# Layers point one way: a source folder includes headers only from the layers
# below it (README, Layout). A new include that points up, or sideways between
# readers and renderers, fails here with the file and line that does it.
. "$(dirname "$0")/../lib.sh"
cd "$TOP/src" || exit 1

# layer: the layers it may include besides itself
allowed() {
	case $1 in
	util) echo "" ;;
	model) echo "util" ;;
	reader | render | cache) echo "util model" ;;
	engine) echo "util model cache" ;;
	planner) echo "util model cache engine" ;;
	convert) echo "util model reader render" ;;
	cli) echo "util model reader render cache engine planner convert" ;;
	*) echo "?" ;;
	esac
}

for dir in */; do
	layer=${dir%/}
	ok_layers=$(allowed "$layer")
	if [ "$ok_layers" = "?" ]; then
		not_ok "layer $layer is in the layer list" "add src/$layer to tests/cli/test_layers.sh and README's Layout"
		continue
	fi
	bad=""
	for f in "$layer"/*.c "$layer"/*.h; do
		[ -f "$f" ] || continue
		for inc in $(grep -n '^#include "[a-z_]*/' "$f" | sed 's/^\([0-9]*\):#include "\([a-z_]*\)\/.*/\1:\2/'); do
			line=${inc%%:*}
			to=${inc#*:}
			[ "$to" = "$layer" ] && continue
			case " $ok_layers " in *" $to "*) ;; *) bad="$bad src/$f:$line includes $to;" ;; esac
		done
	done
	if [ -z "$bad" ]; then ok "layer $layer includes only: ${ok_layers:-nothing}"; else not_ok "layer $layer includes only: $ok_layers" "$bad"; fi
done
