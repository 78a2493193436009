#!/bin/sh
# Install the Debian packages weft needs to build, test and run its examples,
# when they are missing. Only root installs; anyone else is told what is missing.
set -e
PKGS="build-essential pkg-config python3-dev libsqlite3-dev libjansson-dev libsodium-dev
libxxhash-dev libyaml-dev libmd4c-dev libmd4c-html0-dev libzmq3-dev
python3-numpy python3-scipy python3-matplotlib python3-pandas python3-cloudpickle python3-pygments
python3-ipykernel python3-pweave jupyter-nbconvert chromium libjs-katex
r-cran-irkernel clang libclang-rt-14-dev
texlive-latex-recommended texlive-luatex lmodern poppler-utils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
else
	echo "weft: missing Debian packages (run as root to install):$missing" >&2
	exit 1
fi
