# Shared by the scripts in this folder: where downloads are cached, and the
# cached Python virtual environments their tools are installed into.

CACHE="${FRONTDESK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frontdesk}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# ensure_venv REQUIREMENTS NAME: installs exactly REQUIREMENTS into a venv
# under the cache (one per version of the file) and prints its path. A
# virtual environment cannot be moved once made, so it is made in place and
# marked complete only when every package is in.
ensure_venv() {
  local requirements=$1 name=$2 hash venv
  command -v python3 >/dev/null || die "Python 3 installs $name; install it (Debian: apt-get install python3-venv)"
  hash=$(sha256sum "$requirements" | cut -c1-16)
  venv="$CACHE/$name-venv-$hash"
  if [ ! -f "$venv/.complete" ]; then
    echo "$(basename "$0"): installing $name ($requirements) into $venv" >&2
    mkdir -p "$CACHE"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || die "python3 could not make a virtual environment"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2 \
      || { rm -rf "$venv"; die "pip could not install $requirements"; }
    touch "$venv/.complete"
  fi
  echo "$venv"
}
