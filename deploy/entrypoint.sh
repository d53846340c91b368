#!/bin/sh
# The container's entrypoint: trust the CA certificates mounted at start, then run the command.
#
#   benthic-entrypoint benthic -c /etc/benthic/presets/run-ai/config.yaml
#
# OpenMeter's collector image runs update-ca-certificates when /usr/local/share/ca-certificates
# is not empty. That needs root and a writable /etc/ssl; this image runs as a non-root user on a
# read-only root file system, and Python's HTTP clients read the bundle named by SSL_CERT_FILE
# rather than the system store in any case. So every PEM certificate mounted there (*.crt, as
# update-ca-certificates takes) is appended to a copy of the system bundle written to a writable
# directory, and SSL_CERT_FILE and REQUESTS_CA_BUNDLE name that copy.
#
#   BENTHIC_CA_DIR      where certificates are mounted   (/usr/local/share/ca-certificates)
#   BENTHIC_CA_BUNDLE   the bundle written               ($TMPDIR or /tmp, benthic-ca-bundle.pem)
set -eu

ca_dir=${BENTHIC_CA_DIR:-/usr/local/share/ca-certificates}
bundle=${BENTHIC_CA_BUNDLE:-${TMPDIR:-/tmp}/benthic-ca-bundle.pem}

log() {
    echo "benthic-entrypoint: $*" >&2
}

# The bundle the mounted certificates are added to: one the user named, the system's, or the
# one Python's certifi ships (the image's own Python sits beside this script).
base_bundle() {
    for candidate in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
        if [ -n "$candidate" ] && [ -r "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
    python=$(dirname "$0")/python
    [ -x "$python" ] || python=python3
    "$python" -c 'import certifi; print(certifi.where())' 2>/dev/null || true
}

trust_mounted_certificates() {
    [ -d "$ca_dir" ] || return 0
    # -L: a ConfigMap volume holds symlinks to files under hidden ..data directories; follow the
    # links and skip the hidden copies so that each certificate counts once
    certs=$(find -L "$ca_dir" -type f -name '*.crt' ! -path '*/..*' | sort) ||
        log "could not read all of $ca_dir: trusting what could be read"
    [ -n "$certs" ] || return 0

    base=$(base_bundle)
    tmp="$bundle.$$"
    umask 022
    if [ -n "$base" ]; then
        cat "$base" >"$tmp"
    else
        log "no system CA bundle found: trusting only the mounted certificates"
        : >"$tmp"
    fi
    count=0
    old_ifs=$IFS
    IFS='
'
    for cert in $certs; do
        if ! grep -q -- '-----BEGIN CERTIFICATE-----' "$cert"; then
            # one unreadable entry would make the whole bundle fail to load
            log "skipping $cert: not a PEM certificate"
            continue
        fi
        printf '\n' >>"$tmp"
        cat "$cert" >>"$tmp"
        count=$((count + 1))
    done
    IFS=$old_ifs
    mv "$tmp" "$bundle"
    export SSL_CERT_FILE="$bundle" REQUESTS_CA_BUNDLE="$bundle"
    log "trusting $count certificate(s) from $ca_dir (bundle $bundle)"
}

trust_mounted_certificates
exec "$@"
