#!/usr/bin/env bash
# Start Debian's docker-registry (distribution 2.x) on 127.0.0.1:PORT, storing in a temp dir:
# the stand-in for ghcr.io in tests/integration/test_release.py (.ci/run calls it).
#
#   eval "$(tools/local_registry.sh 5055)"    # prints: export METASUP_TEST_REGISTRY=127.0.0.1:5055
#
# Installs the package when missing. The packaged /etc/docker/registry/config.yml listens on
# every interface (:5000) with htpasswd auth; this writes its own config instead: loopback only,
# no auth, filesystem storage in a fresh temp dir. Idempotent: a registry already answering on
# the port is reused; a port held by anything else is replaced by a free one (the export says which). Stop it with: kill "$(cat "$METASUP_TEST_REGISTRY_DIR/pid")".
set -euo pipefail
port=${1:-5055}
address="127.0.0.1:$port"
log() { echo "local_registry: $*" >&2; }

if ! command -v docker-registry >/dev/null; then
  log "installing docker-registry"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >&2
fi
if curl -fsS --max-time 2 "http://$address/v2/" >/dev/null 2>&1; then
  log "reusing the registry on $address"
  echo "export METASUP_TEST_REGISTRY=$address"
  exit 0
fi
if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null; then
  # something else (not a registry) holds the port: take a free one rather than fail the run
  port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  log "127.0.0.1:${1:-5055} is taken by something that is not a registry; using $port"
  address="127.0.0.1:$port"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/metasup-registry.XXXXXX")
cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $address
CONFIG
nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
echo $! >"$dir/pid"
for _ in $(seq 30); do curl -fsS --max-time 2 "http://$address/v2/" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS --max-time 2 "http://$address/v2/" >/dev/null || { log "did not start; see $dir/registry.log"; exit 1; }
log "serving on $address (storage $dir/data)"
echo "export METASUP_TEST_REGISTRY=$address"
echo "export METASUP_TEST_REGISTRY_DIR=$dir"
