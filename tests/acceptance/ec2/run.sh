#!/bin/sh
# Installs boto3 and awscli into a virtualenv (VENV, default ./.venv-ec2),
# then runs the boto3 and awscli acceptance scripts against EC2_URL.
# Environment: EC2_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, EC2_AUTH_MODE.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
VENV=${VENV:-$here/.venv-ec2}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import boto3, awscli' 2>/dev/null || "$VENV/bin/pip" install -q boto3 awscli
: "${EC2_URL:?set EC2_URL}" "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}" "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
"$VENV/bin/python" "$here/boto3_ec2.py"
AWS="$VENV/bin/aws" sh "$here/awscli_ec2.sh"
