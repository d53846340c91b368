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

# The playground's page tests drive Debian's headless Chromium through chromedriver; CI runs as
# root on a clean machine, so install them there when they are missing.
ensure_chromium() {
    if ! command -v chromedriver >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
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
        # the tests start a real redis-server (Debian's package); CI runs as root on a clean machine
        if ! command -v redis-server >/dev/null 2>&1; then
            if ! apt-get install -y -q redis-server >/dev/null 2>&1; then
                apt-get update -q >/dev/null
                apt-get install -y -q redis-server >/dev/null
            fi
        fi
        "$VENV/bin/ruff" check .
        "$VENV/bin/mypy"
        ensure_chromium
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *)
        echo "usage: sh tools/dev.sh demo|test" >&2
        exit 2
        ;;
esac
