#!/usr/bin/env bash
# Installs the programs chainrule needs outside Python, for one use:
#
#   tools/system-deps.sh demo   Graphviz's `dot` (rendering): all the product and the demo need
#   tools/system-deps.sh test   that, plus Chromium (the stepper's and player's browser tests)
#                               and the PostgreSQL server (the distributed-search test starts
#                               one; Debian keeps its programs in /usr/lib/postgresql/<v>/bin)
#
# Installs what is missing with apt-get when we are root on Debian/Ubuntu; otherwise says
# how. With --check it only reports. In CI (CI set) a missing program is a failure, never a
# silent skip.
set -u

usage() {
    echo "usage: tools/system-deps.sh demo|test [--check]" >&2
    exit 2
}

purpose="${1:-}"
check_only=""
case "${2:-}" in
    "") ;;
    --check) check_only=1 ;;
    *) usage ;;
esac
case "$purpose" in
    demo|test) ;;
    *) usage ;;
esac

have_postgres() {
    command -v pg_ctl >/dev/null 2>&1 || compgen -G "${PG_GLOB:-/usr/lib/postgresql/*/bin/pg_ctl}" >/dev/null
}

missing_programs() {
    command -v dot >/dev/null 2>&1 || echo graphviz
    if [ "$purpose" = test ]; then
        command -v chromium >/dev/null 2>&1 || echo chromium
        have_postgres || echo postgresql
    fi
}

missing=($(missing_programs))
[ ${#missing[@]} -eq 0 ] && exit 0

if [ -z "$check_only" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

still=($(missing_programs))
[ ${#still[@]} -eq 0 ] && exit 0

if [ "$purpose" = demo ]; then
    cat >&2 <<MSG
chainrule needs Graphviz's 'dot' program to draw graphs, and it is not installed:
  Debian/Ubuntu: sudo apt-get install -y graphviz
  macOS:         brew install graphviz
  Windows:       winget install graphviz (or choco install graphviz)
  conda:         conda install -c conda-forge python-graphviz
MSG
else
    cat >&2 <<MSG
the tests need these programs, which are not installed: ${still[*]}
  Debian/Ubuntu: sudo apt-get install -y ${still[*]}
  macOS:         brew install graphviz postgresql   (and Chromium for the browser tests)
  Windows:       winget install graphviz (or choco install graphviz)
  conda:         conda install -c conda-forge python-graphviz postgresql
MSG
fi
if [ -n "${CI:-}" ]; then
    echo "CI is set: a missing program is a failure." >&2
    exit 1
fi
if [ "$purpose" = demo ]; then
    echo "Continuing: the demo trains and writes its files, but no graph pictures." >&2
else
    echo "Continuing: the tests that need them will be skipped." >&2
fi
exit 0
