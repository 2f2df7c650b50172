#!/usr/bin/env bash
# Installs the Debian tools the test suites drive for real (iptables, nft,
# ip, conntrack, dig, curl, …) when they are missing. Runs before `npm test`.
set -euo pipefail
need=()
for pair in iptables-restore:iptables nft:nftables ip:iproute2 conntrack:conntrack dig:dnsutils curl:curl nc:netcat-openbsd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-host-deps: missing ${need[*]}; not root, so the network e2e suites will be skipped" >&2
  exit 0
fi
echo "install-host-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
