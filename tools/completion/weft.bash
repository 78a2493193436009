# bash completion for weft (and its Pweave names: pweave, ptangle, pypublish, pweave-convert)
_weft() {
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[0]##*/}
	if [ "$cmd" = weft ] && [ "$COMP_CWORD" -eq 1 ] && [[ $cur != -* ]]; then
		COMPREPLY=($(compgen -W "weave render tangle convert publish cache formats" -- "$cur"))
		COMPREPLY+=($(compgen -f -- "$cur"))
		return
	fi
	[ "$cmd" = weft ] && cmd=${COMP_WORDS[1]}
	case $prev in
	-f|--format)
		if [ "$cmd" = convert ] || [ "$cmd" = pweave-convert ]; then
			COMPREPLY=($(compgen -W "noweb script notebook markdown" -- "$cur"))
		elif [ "$cmd" = publish ] || [ "$cmd" = pypublish ]; then
			COMPREPLY=($(compgen -W "html pdf" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(weft formats 2>/dev/null | awk '{print $1}')" -- "$cur"))
		fi
		return ;;
	-i|--input-format)
		COMPREPLY=($(compgen -W "markdown noweb script notebook" -- "$cur")); return ;;
	-g|--figure-format)
		COMPREPLY=($(compgen -W "png svg pdf" -- "$cur")); return ;;
	-k|--kernel)
		COMPREPLY=($(compgen -W "$(jupyter kernelspec list 2>/dev/null | awk 'NR>1{print $1}')" -- "$cur"))
		return ;;
	-o|--output|--summary-json|--python)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-F|--figure-dir|--figure-directory|--cache-dir|--cache-directory)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	esac
	if [ "$cmd" = cache ]; then
		COMPREPLY=($(compgen -W "status clean gc" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--format --input-format --output --figure-dir --figure-format
			--no-embed --latex-engine --keep-tex --matplotlib --timeout --python --kernel --cache --no-cache --cache-dir
			--rebuild --frozen --explain --summary-json --jobs --quiet --list-formats --help" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _weft weft pweave ptangle pypublish pweave-convert
