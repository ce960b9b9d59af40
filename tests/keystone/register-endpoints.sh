#!/usr/bin/env bash
# Registers nova-api-rs in a Keystone's service catalogue: the compute
# service (osapi-compute), the EC2 service (ec2-api) and the image service
# (the small Image v2 app osapi-compute serves at /image), each with a
# public, internal and admin endpoint. Idempotent: a service that already
# exists, or an endpoint already registered, is left alone.
#
# Usage: tests/keystone/register-endpoints.sh COMPUTE_URL EC2_URL [IMAGE_URL]
#   e.g. tests/keystone/register-endpoints.sh http://127.0.0.1:8774/v2.1 \
#          http://127.0.0.1:8773/ http://127.0.0.1:8774/image
# Environment: the admin credentials for the `openstack` CLI (OS_CLOUD with
# a clouds.yaml, or OS_AUTH_URL/OS_USERNAME/...); REGION (RegionOne);
# OPENSTACK (the CLI to run, default `openstack`).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,14p' "$0" >&2
    exit 2
fi
COMPUTE_URL="$1"
EC2_URL="$2"
IMAGE_URL="${3:-}"
REGION="${REGION:-RegionOne}"
OPENSTACK="${OPENSTACK:-openstack}"

# What is registered already, read once.
SERVICES="$($OPENSTACK service list -f value -c Type)"
ENDPOINTS="$($OPENSTACK endpoint list --region "$REGION" -f value -c "Service Type" -c Interface)"
COMMANDS=""

# register NAME TYPE URL: the service (unless one of TYPE exists) and its
# public, internal and admin endpoints (unless registered). No
# --description: python-openstackclient 10.5 with Keystone 30 stores it as
# the service's type.
register() {
    local name="$1" type="$2" url="$3" interface
    if ! grep -qx "$type" <<<"$SERVICES"; then
        COMMANDS+="service create --name $name $type"$'\n'
    fi
    for interface in public internal admin; do
        if ! grep -qx "$type $interface" <<<"$ENDPOINTS"; then
            COMMANDS+="endpoint create --region $REGION $type $interface $url"$'\n'
        fi
    done
}

register nova compute "$COMPUTE_URL"
register ec2 ec2 "$EC2_URL"
if [ -n "$IMAGE_URL" ]; then
    register glance image "$IMAGE_URL"
fi
if [ -n "$COMMANDS" ]; then
    printf '%s' "$COMMANDS"
    # One CLI process runs them all (its batch mode reads stdin; its exit
    # status says nothing, so the catalogue is read back).
    $OPENSTACK <<<"$COMMANDS" >/dev/null || true
    ENDPOINTS="$($OPENSTACK endpoint list --region "$REGION" -f value -c "Service Type" -c Interface)"
    for type in compute ec2 ${IMAGE_URL:+image}; do
        for interface in public internal admin; do
            grep -qx "$type $interface" <<<"$ENDPOINTS" || {
                echo "register-endpoints: the $interface $type endpoint is missing" >&2
                exit 1
            }
        done
    done
fi
