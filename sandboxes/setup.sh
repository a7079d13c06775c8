#!/usr/bin/env bash
# Sandboxes for generated code: the Docker engine with the offline image, and bubblewrap.
#
#   sudo sandboxes/setup.sh            install what is missing, start dockerd, build the image
#   sudo sandboxes/setup.sh --rebuild  also re-import the offline image
#
# Run as root on Debian/Ubuntu. Idempotent: a second run only checks. Needs no registry:
# the offline image is an empty root imported from a tar; the host's Python is bound into
# each container read-only at run time. It needs only Python's standard library and this
# source tree (it runs before `pip install`).
#
# Environment: DOCKERD_LOG (default /var/log/eureka-dockerd.log), DOCKERD_WAIT_S (default 60),
# EUREKA_SKIP_DOCKER=1 to set up bubblewrap only (e.g. where dockerd cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=eureka-sandbox:offline
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/eureka-dockerd.log}
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-60}
PYTHON=${PYTHON:-python3}
rebuild=0
[[ "${1:-}" == "--rebuild" ]] && rebuild=1

say() { echo "sandboxes: $*"; }
fail() { echo "sandboxes: ERROR: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "run as root (installs packages, starts dockerd)"

# 1. Packages.
missing=()
if [[ "${EUREKA_SKIP_DOCKER:-0}" != 1 ]]; then
    { command -v dockerd && command -v docker; } >/dev/null || missing+=(docker.io)
fi
command -v bwrap >/dev/null || missing+=(bubblewrap)
# libseccomp: the bwrap sandbox's syscall filter is compiled with it (pyseccomp binds it).
ldconfig -p | grep -q "libseccomp\.so\.2" || missing+=(libseccomp2)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The Docker engine, and the offline image.
if [[ "${EUREKA_SKIP_DOCKER:-0}" != 1 ]]; then
    if ! timeout 10 docker info >/dev/null 2>&1; then
        if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
            systemctl start docker >/dev/null 2>&1 || true
        fi
    fi
    if ! timeout 10 docker info >/dev/null 2>&1; then
        say "starting dockerd (log: $DOCKERD_LOG)"
        mkdir -p "$(dirname "$DOCKERD_LOG")"
        if ! pgrep -x dockerd >/dev/null; then  # pid files of a dockerd that died make the new one wait for its containerd
            rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
        fi
        setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
        waited=0
        until timeout 5 docker info >/dev/null 2>&1; do
            if ((waited >= DOCKERD_WAIT_S)); then
                tail -n 20 "$DOCKERD_LOG" >&2 || true
                fail "dockerd did not answer within ${DOCKERD_WAIT_S} s (log above: $DOCKERD_LOG)"
            fi
            sleep 1
            waited=$((waited + 1))
        done
        say "dockerd answers after ${waited} s"
    fi
    if ((rebuild)) || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
        label=$("$PYTHON" -c 'from eureka.sandbox.docker import MODE_LABEL, HOST_PYTHON; print(f"{MODE_LABEL}={HOST_PYTHON}")')
        "$PYTHON" -c 'import sys; from eureka.sandbox.images import offline_rootfs; sys.stdout.buffer.write(offline_rootfs())' \
            | docker import --change "LABEL $label" - "$IMAGE" >/dev/null
        docker image prune -f --filter "label=$label" >/dev/null  # the previous, untagged copy
        say "built $IMAGE"
    fi
    say "docker: engine $(docker version --format '{{.Server.Version}}'), image $IMAGE present"
fi

# 3. bubblewrap: run a trivial job the way eureka does (nobody, all namespaces, cgroups).
# Its syscall filter needs libseccomp's Python binding, which `pip install eureka` brings but
# this script runs before that on a fresh machine.
"$PYTHON" -c "import pyseccomp" 2>/dev/null || "$PYTHON" -m pip install --quiet "pyseccomp>=0.1.2"
result=$("$PYTHON" -c 'from eureka.sandbox.bwrap import bwrap_available; ok, d = bwrap_available(); print(("ok: " if ok else "FAILED: ") + d)')
say "bwrap: $result"
if [[ "$result" != ok:* ]]; then
    fail "bubblewrap cannot run a job here. Unprivileged user namespaces must be allowed \
(sysctl user.max_user_namespaces > 0; on Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap)"
fi
