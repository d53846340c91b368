#!/bin/sh
# The install step of deploy/Containerfile, kept in a script so that the test suite runs the same
# steps in a temporary directory (tests/deploy/test_image_recipe.py) where no image is built.
#
#   deploy/install.sh SOURCE_DIR
#
# SOURCE_DIR is a benthic checkout. Where things go (the Containerfile's values are the defaults):
#   BENTHIC_PREFIX   the virtual environment holding benthic            (/opt/benthic)
#   BENTHIC_HOME     presets and the CloudEvents schema; the work dir   (/etc/benthic)
#   BENTHIC_EXTRAS   extras installed with benthic                      (kubernetes)
#   PYTHON           the interpreter that creates the environment       (python3)
set -eu

src=${1:?usage: install.sh SOURCE_DIR}
prefix=${BENTHIC_PREFIX:-/opt/benthic}
home=${BENTHIC_HOME:-/etc/benthic}
extras=${BENTHIC_EXTRAS-kubernetes}
python=${PYTHON:-python3}

"$python" -m venv "$prefix"
if [ -n "$extras" ]; then
    "$prefix/bin/pip" install --disable-pip-version-check "$src[$extras]"
else
    "$prefix/bin/pip" install --disable-pip-version-check "$src"
fi
# fail the build, not the first start, when the package does not import
"$prefix/bin/benthic" --version >/dev/null

# Presets at $BENTHIC_HOME/presets/<name>/config.yaml, as OpenMeter's image lays out
# /etc/benthos/presets; the schema sits in the work directory because the http-server preset
# names it relative to it (file://./cloudevents.spec.json).
mkdir -p "$home/presets"
for preset in "$src"/deploy/presets/*/; do
    name=$(basename "$preset")
    mkdir -p "$home/presets/$name"
    cp "$preset/config.yaml" "$home/presets/$name/config.yaml"
done
cp "$src/deploy/presets/cloudevents.spec.json" "$home/cloudevents.spec.json"
cp "$src/deploy/entrypoint.sh" "$prefix/bin/benthic-entrypoint"
chmod 0755 "$prefix/bin/benthic-entrypoint"
