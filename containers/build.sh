#!/usr/bin/env bash
# Build the container image stagevep:<version> from containers/Dockerfile (run by `make container`, from the
# repository root). Two ways, one image definition:
#   docker  where a Docker engine answers (`docker info`): docker build (BuildKit: Docker >= 23 for RUN --mount
#           and --secret), the Debian base pinned by digest;
#   podman  otherwise: a Debian bookworm base made locally with mmdebstrap from the Debian mirror and imported with
#           `podman import` (no registry needed), then `buildah bud --isolation chroot --layers --format docker`
#           (the docker format keeps the Dockerfile's SHELL; OCI would drop it).
# Settings (environment):
#   CONTAINER_ENGINE   auto (default), docker or podman
#   CA_BUNDLE          CA certificates pip inside the build trusts, passed as the build secret `ca_bundle` (never
#                      stored in the image); default /etc/ssl/certs/ca-certificates.crt when it exists; empty: none
#   CONTAINERS_CONF, CONTAINERS_STORAGE_CONF   podman/buildah configuration; for root they default to
#                      containers/containers.conf and containers/storage.conf (see those files)
#   STAGEVEP_BASE      the podman build's base image (default localhost/stagevep-base:bookworm; made when absent)
set -euo pipefail

cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
[ -n "$version" ] || { echo "containers/build.sh: no version in pyproject.toml" >&2; exit 1; }
image="stagevep:${version}"
engine=${CONTAINER_ENGINE:-auto}
base=${STAGEVEP_BASE:-localhost/stagevep-base:bookworm}
ca_bundle=${CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}

have() { command -v "$1" >/dev/null 2>&1; }
die() { echo "make container: $*" >&2; exit 1; }

if [ "$engine" = auto ]; then
  if have docker && docker info >/dev/null 2>&1; then
    engine=docker
  elif have podman && have buildah; then
    engine=podman
  else
    die "neither a Docker engine (docker info failed or docker is missing) nor podman + buildah was found.
Install one of them, e.g. on Debian/Ubuntu as root:  apt-get install podman buildah mmdebstrap   (or: make container-tools)
or install Docker Engine (https://docs.docker.com/engine/install/)."
  fi
fi

secret=()
if [ -n "$ca_bundle" ]; then
  [ -s "$ca_bundle" ] || die "CA_BUNDLE=$ca_bundle is not a readable, non-empty file (set CA_BUNDLE= to pass none)"
  secret=(--secret "id=ca_bundle,src=${ca_bundle}")
fi

revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain -- . 2>/dev/null)" ]; then
  revision="${revision}-dirty"
fi
source_url=$(git config --get remote.origin.url 2>/dev/null || true)
source_url=${source_url:-"stagevep ${version} source tree, git ${revision} (no remote configured)"}
build_args=(--build-arg "SOURCE=${source_url}" --build-arg "REVISION=${revision}")

start=$(date +%s)
case "$engine" in
  docker)
    have docker && docker info >/dev/null 2>&1 || die "CONTAINER_ENGINE=docker but no Docker engine answers (docker info failed)"
    echo "building ${image} with docker (base: the digest-pinned debian:bookworm-slim of containers/Dockerfile)"
    DOCKER_BUILDKIT=1 docker build "${secret[@]}" "${build_args[@]}" -t "$image" -f containers/Dockerfile .
    size=$(docker image inspect --format '{{.Size}}' "$image")
    ;;
  podman)
    for tool in podman buildah; do
      have "$tool" || die "CONTAINER_ENGINE=podman needs $tool: apt-get install podman buildah mmdebstrap (or: make container-tools)"
    done
    if [ "$(id -u)" = 0 ]; then
      export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/containers/containers.conf}
      export CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-$PWD/containers/storage.conf}
    fi
    echo "podman/buildah configuration: CONTAINERS_CONF=${CONTAINERS_CONF:-(podman default)}" \
         "CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-(podman default)}"
    if ! podman image exists "$base"; then
      have mmdebstrap || die "the base image $base is missing and mmdebstrap (to make it) is not installed: apt-get install mmdebstrap"
      echo "making the base image $base: mmdebstrap --variant=minbase bookworm from the Debian mirror"
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      mmdebstrap --variant=minbase --quiet bookworm "$tmp/rootfs.tar" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
      podman import --change 'CMD ["/bin/bash"]' "$tmp/rootfs.tar" "$base" >/dev/null
      rm -rf "$tmp"
      trap - EXIT
    fi
    echo "building ${image} with buildah (base: ${base})"
    buildah bud --isolation chroot --layers --format docker "${secret[@]}" "${build_args[@]}" --build-arg "BASE=${base}" \
      -t "$image" -f containers/Dockerfile .
    size=$(podman image inspect --format '{{.Size}}' "$image")
    ;;
  *)
    die "CONTAINER_ENGINE=$engine: use auto, docker or podman"
    ;;
esac
seconds=$(( $(date +%s) - start ))
echo "built ${image} with ${engine} in ${seconds} s; image size $(( size / 1000000 )) MB"
echo "for Apptainer/Singularity: apptainer build stagevep-${version}.img containers/stagevep.def (see the file)"
