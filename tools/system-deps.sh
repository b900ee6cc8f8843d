#!/usr/bin/env bash
# Installs the programs chainrule needs outside Python: Graphviz's `dot`
# (rendering), Chromium (the stepper's browser tests) and the PostgreSQL server
# (the distributed-search test starts one; Debian keeps its programs in
# /usr/lib/postgresql/<version>/bin). Installs them with apt-get when we are
# root on Debian/Ubuntu; otherwise says how. In CI a missing program is a
# failure, never a silent skip.
set -u

have_postgres() {
    command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

missing_programs() {
    command -v dot >/dev/null 2>&1 || echo graphviz
    command -v chromium >/dev/null 2>&1 || echo chromium
    have_postgres || echo postgresql
}

missing=($(missing_programs))
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

still=($(missing_programs))
[ ${#still[@]} -eq 0 ] && exit 0

cat >&2 <<MSG
chainrule needs these programs, which are not installed: ${still[*]}
  Debian/Ubuntu: sudo apt-get install -y ${still[*]}
  macOS:         brew install graphviz postgresql   (and Chromium for the browser tests)
  Windows:       winget install graphviz (or choco install graphviz)
  conda:         conda install -c conda-forge python-graphviz postgresql
MSG
if [ -n "${CI:-}" ]; then
    echo "CI is set: a missing program is a failure." >&2
    exit 1
fi
echo "Continuing: the tests that need them will be skipped." >&2
exit 0
