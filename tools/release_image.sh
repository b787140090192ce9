#!/usr/bin/env bash
# Build the action's image from the Dockerfile, tag it <version> and the moving major tag, push both.
#
#   tools/release_image.sh REGISTRY VERSION [docker build options...]
#   tools/release_image.sh ghcr.io/marketagents v1.4.2            # .github/workflows/release.yml
#   tools/release_image.sh 127.0.0.1:5055 v1.4.2 --network host --build-arg BASE_IMAGE=metasup-base:local
#
# REGISTRY is where the `metasup` repository lives (ghcr.io/<owner>); VERSION is the git tag,
# vMAJOR.MINOR.PATCH. Pushes REGISTRY/metasup:VERSION and REGISTRY/metasup:vMAJOR. Refuses to push
# over an existing VERSION tag (a released tag is never rebuilt; the major tag moves). Prints, on
# its last line, the pushed digest: `REGISTRY/metasup@sha256:…` (what attestations name and users
# pin). The same script runs in the release workflow and in tests/integration/test_release.py.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
registry=${1%/}
version=$2
shift 2
if ! [[ $version =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]]; then
  echo "release_image: VERSION must look like v1.2.3, got '$version'" >&2
  exit 2
fi
major="v${BASH_REMATCH[1]}"
repository="$registry/metasup"
root=$(cd "$(dirname "$0")/.." && pwd)

insecure=()
case $registry in localhost:* | 127.*) insecure=(--insecure) ;; esac # plain-HTTP test registry
if docker manifest inspect "${insecure[@]}" "$repository:$version" >/dev/null 2>&1; then
  echo "release_image: $repository:$version already exists; a release is never pushed twice" >&2
  exit 1
fi

created=$(git -C "$root" log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
docker build "$@" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label "org.opencontainers.image.source=${METASUP_SOURCE_URL:-https://github.com/marketagents/metasup}" \
  -t "$repository:$version" -t "$repository:$major" "$root" >&2

docker push "$repository:$version" >&2
docker push "$repository:$major" >&2
digest=$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$repository:$version" \
  | grep -F "$repository@" | head -1)
[ -n "$digest" ] || { echo "release_image: no digest for $repository:$version after push" >&2; exit 1; }
echo "$digest"
