#!/bin/sh
# Acceptance test of the EC2 Query API with awscli, unchanged.
# Environment: EC2_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# (EC2_REGION, default RegionOne; AWS, the aws command, default `aws`).
# Exits non-zero on the first failing command or check.
set -eu
AWS=${AWS:-aws}
export AWS_DEFAULT_REGION="${EC2_REGION:-RegionOne}" AWS_CONFIG_FILE=/dev/null \
       AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
ec2() { "$AWS" --endpoint-url "$EC2_URL" --output text ec2 "$@"; }
fail() { echo "FAIL $*"; exit 1; }
ok() { echo "ok   $*"; }

ec2 describe-regions --query 'Regions[0].RegionName' >/dev/null && ok describe-regions || fail describe-regions
zone=$(ec2 describe-availability-zones --query 'AvailabilityZones[0].ZoneName')
[ -n "$zone" ] && ok "describe-availability-zones ($zone)" || fail "describe-availability-zones ($zone)"
image=$(ec2 describe-images --query 'Images[0].ImageId')
case "$image" in ami-*) ok "describe-images ($image)";; *) fail "describe-images: $image";; esac

key="cli-$$-$(date +%s)"
ec2 create-key-pair --key-name "$key" --query KeyMaterial | grep 'PRIVATE KEY' >/dev/null && ok create-key-pair || fail create-key-pair
if ec2 create-key-pair --key-name "$key" 2>err.$$; then fail "duplicate key accepted"; fi
grep -q InvalidKeyPair.Duplicate err.$$ && ok "create-key-pair duplicate" || fail "create-key-pair duplicate"; rm -f err.$$
ec2 describe-key-pairs --key-names "$key" --query 'KeyPairs[0].KeyName' | grep -qx "$key" && ok describe-key-pairs || fail describe-key-pairs

ids=$(ec2 run-instances --image-id "$image" --count 2 --instance-type m1.tiny --key-name "$key" \
      --placement "AvailabilityZone=$zone" \
      --tag-specifications "ResourceType=instance,Tags=[{Key=suite,Value=$key}]" \
      --query 'Instances[].InstanceId')
set -- $ids
[ $# -eq 2 ] && ok "run-instances ($ids)" || fail "run-instances ($ids)"
ec2 wait instance-running --instance-ids "$@" && ok "wait instance-running" || fail "wait instance-running"
n=$(ec2 describe-instances --filters "Name=tag:suite,Values=$key" --page-size 5 \
    --query 'Reservations[].Instances[].InstanceId' | wc -w)
[ "$n" -eq 2 ] && ok "describe-instances tag filter, paginated" || fail "describe-instances tag filter, paginated"
ec2 describe-instance-status --instance-ids "$1" --query 'InstanceStatuses[0].InstanceState.Name' | grep -qx running \
  && ok describe-instance-status || fail describe-instance-status
ec2 create-tags --resources "$1" --tags Key=env,Value=cli && ok create-tags || fail create-tags
ec2 describe-tags --filters "Name=resource-id,Values=$1" "Name=key,Values=env" --query 'Tags[0].Value' | grep -qx cli \
  && ok describe-tags || fail describe-tags
ec2 delete-tags --resources "$1" --tags Key=env && ok delete-tags || fail delete-tags
ec2 stop-instances --instance-ids "$1" --query 'StoppingInstances[0].PreviousState.Name' | grep -qx running && ok stop-instances || fail stop-instances
ec2 wait instance-stopped --instance-ids "$1" && ok "wait instance-stopped" || fail "wait instance-stopped"
ec2 start-instances --instance-ids "$1" --query 'StartingInstances[0].PreviousState.Name' | grep -qx stopped && ok start-instances || fail start-instances
ec2 wait instance-running --instance-ids "$1" && ok "wait instance-running again" || fail "wait instance-running again"
ec2 reboot-instances --instance-ids "$1" && ok reboot-instances || fail reboot-instances
ec2 get-console-output --instance-id "$1" --query InstanceId | grep -qx "$1" && ok get-console-output || fail get-console-output
ec2 describe-instance-attribute --instance-id "$1" --attribute instanceType --query 'InstanceType.Value' | grep -qx m1.tiny \
  && ok describe-instance-attribute || fail describe-instance-attribute
ec2 get-password-data --instance-id "$1" --query InstanceId | grep -qx "$1" && ok get-password-data || fail get-password-data
ec2 reset-instance-attribute --instance-id "$1" --attribute kernel && ok reset-instance-attribute || fail reset-instance-attribute
if ec2 reset-instance-attribute --instance-id "$1" --attribute instanceType 2>err.$$; then fail "instanceType reset"; fi
grep -q InvalidParameterValue err.$$ && ok "reset-instance-attribute instanceType" || fail "reset-instance-attribute instanceType"; rm -f err.$$
if ec2 describe-instances --instance-ids i-7ffffff0 2>err.$$; then fail "unknown instance found"; fi
grep -q InvalidInstanceID.NotFound err.$$ && ok "describe-instances unknown id" || fail "describe-instances unknown id"; rm -f err.$$
# An elastic IP on a running instance (the cloud's router1 joins its network to public).
eip=$(ec2 allocate-address --domain standard --query PublicIp)
ec2 associate-address --instance-id "$1" --public-ip "$eip" && ok "associate-address ($eip)" || fail associate-address
ec2 describe-addresses --public-ips "$eip" --query 'Addresses[0].InstanceId' | grep -qx "$1" \
  && ok "describe-addresses instance" || fail "describe-addresses instance"
ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].[PublicIpAddress,PublicDnsName]' \
  | grep -qx "$eip[[:space:]]*$eip" && ok "describe-instances ipAddress/dnsName follow" || fail "describe-instances ipAddress/dnsName"
ec2 disassociate-address --public-ip "$eip" && ok disassociate-address || fail "disassociate-address ($eip)"
left=$(ec2 describe-addresses --public-ips "$eip" --query 'Addresses[0].InstanceId')
case "$left" in None|"") ok "describe-addresses after disassociate";; *) fail "describe-addresses after disassociate: $left";; esac
ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].PublicIpAddress' | grep -qvx "$eip" \
  && ok "describe-instances ipAddress leaves" || fail "describe-instances ipAddress leaves"
ec2 release-address --public-ip "$eip" >/dev/null && ok "release-address ($eip)" || fail "release-address ($eip)"
ec2 terminate-instances --instance-ids "$@" --query 'TerminatingInstances[].CurrentState.Name' >/dev/null && ok terminate-instances || fail terminate-instances
ec2 wait instance-terminated --instance-ids "$@" && ok "wait instance-terminated" || fail "wait instance-terminated"
ec2 delete-key-pair --key-name "$key" >/dev/null && ok delete-key-pair || fail delete-key-pair
ec2 describe-security-groups --query 'SecurityGroups[0].GroupName' | grep -qx default && ok describe-security-groups || fail describe-security-groups
ec2 describe-account-attributes --query 'AccountAttributes[0].AttributeName' >/dev/null && ok describe-account-attributes || fail describe-account-attributes
ip=$(ec2 allocate-address --domain standard --query PublicIp)
[ -n "$ip" ] && ok "allocate-address ($ip)" || fail "allocate-address"
ec2 describe-addresses --public-ips "$ip" --query 'Addresses[0].Domain' | grep -qx standard \
  && ok describe-addresses || fail describe-addresses
ec2 disassociate-address --public-ip "$ip" && ok "disassociate-address (not associated)" || fail disassociate-address
ec2 release-address --public-ip "$ip" && ok release-address || fail release-address
if ec2 describe-addresses --public-ips "$ip" 2>err.$$; then fail "released address found"; fi
grep -q InvalidAddress.NotFound err.$$ && ok "describe-addresses released" || fail "describe-addresses released"; rm -f err.$$
# The seeded image is the admin project's, as this caller's.
ec2 describe-image-attribute --image-id "$image" --attribute launchPermission --query 'LaunchPermissions[0].Group' | grep -qx all \
  && ok "describe-image-attribute launchPermission" || fail "describe-image-attribute launchPermission"
ec2 create-tags --resources "$image" --tags Key=cli,Value=image && ok "create-tags on an image" || fail "create-tags on an image"
ec2 describe-tags --filters "Name=resource-type,Values=image" --query 'Tags[0].Key' | grep -qx cli \
  && ok "describe-tags resource-type image" || fail "describe-tags resource-type image"
ec2 delete-tags --resources "$image" --tags Key=cli && ok "delete-tags on an image" || fail "delete-tags on an image"
echo "all awscli checks passed"
