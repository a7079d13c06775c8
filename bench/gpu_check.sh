#!/usr/bin/env bash
# A GPU check of the population trainer on a brax locomotion task: one generation of 16
# candidate rewards on Ant, 4096 envs each (65,536 envs), trained as ONE jitted program.
# Prints the devices, compile vs run time and aggregate env-steps/s (bench/brax_population.py).
# Sized to finish in under 8 minutes on one H200 (a hard limit of 7.5 minutes on the run).
#
#   bench/gpu_check.sh                 on a GPU machine with only this repository (installs what it needs)
#   bench/gpu_check.sh --smoke         a tiny CPU run that checks this script (no GPU, no install if present)
#   bench/gpu_check.sh --envs 2048 --timesteps 1000000 --brax-backend positional   (passed on)
#
# Needs: python3 >= 3.10 with pip, and PyPI (or a mirror) for the first install. JAX_VERSION
# (default: the jax installed here, else 0.10.2) picks the jax[cuda12] build.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
for arg in "$@"; do [[ "$arg" == "--smoke" ]] && smoke=true; done
die() { echo "gpu_check: FAILED: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 not found"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "python3 >= 3.10 needed"

have_stack() {
  python3 - <<'PY' 2>/dev/null
from importlib.metadata import version
import brax, gymnax, rejax, pydantic, yaml  # noqa: F401
assert version("gymnax") == "0.0.9" and version("rejax") == "0.1.3"
PY
}
has_gpu_jax() {
  python3 -c 'import jax, sys; sys.exit(jax.default_backend() != "gpu")' 2>/dev/null
}

if $smoke; then
  have_stack || die "the jax backend is not installed: pip install -e '.[jax,envs]'"
  export JAX_PLATFORMS=cpu
else
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
    || die "no nvidia-smi: this check is for a machine with an NVIDIA GPU (use --smoke on CPU)"
  if ! (have_stack && has_gpu_jax); then
    jax_version="${JAX_VERSION:-$(python3 -c 'import jax; print(jax.__version__)' 2>/dev/null || echo 0.10.2)}"
    echo "gpu_check: installing the jax backend with jax[cuda12]==${jax_version} (pip; a few minutes)"
    # --no-deps for eureka itself: the population trainer needs neither torch nor the LLM stack.
    python3 -m pip install --quiet --no-deps -e . \
      || die "pip install -e . failed"
    python3 -m pip install --quiet "jax[cuda12]==${jax_version}" "gymnax==0.0.9" "rejax==0.1.3" six \
        "brax==0.14.2" "mujoco==4.0.0" "mujoco-mjx==3.17.0" "pydantic>=2.6" "pyyaml>=6" \
      || die "pip install failed (is PyPI or a mirror reachable? set PIP_INDEX_URL)"
    has_gpu_jax || die "jax does not see the GPU after installing jax[cuda12]==${jax_version}: $(python3 -c 'import jax; print(jax.devices())' 2>&1 | tail -1)"
  fi
fi

# Compiled programs are reused by a second run (the first run pays the compile).
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eureka/jax}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
limit=450
$smoke && limit=900
echo "gpu_check: python3 bench/brax_population.py $* (limit ${limit} s)"
status=0
timeout "$limit" python3 bench/brax_population.py "$@" || status=$?
[[ $status -eq 124 ]] && die "ran past ${limit} s; try fewer --timesteps or --envs"
[[ $status -ne 0 ]] && die "bench/brax_population.py exited with status $status"
echo "gpu_check: OK"
