#!/usr/bin/env bash
# benchmarks/indrnn_speed.py --device gpu on a GPU machine that has PyTorch
# and JAX with CUDA but no Keras (and no TensorFlow): installs the wheels
# carried in .wheels/ (Keras and what it needs beyond that machine's
# packages: see the download command in indrnn_speed.py's docstring) into
# /tmp/site, then runs the benchmark once per backend named (default: torch
# jax) and copies its files to $OUT when that is set.
#
#   bash benchmarks/gpu/run_indrnn_gpu.sh [BACKEND ...] [-- BENCHMARK FLAGS]
#   bash benchmarks/gpu/run_indrnn_gpu.sh torch -- --quick
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! python3 -c 'import keras' 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .wheels/*.whl || exit 1
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD:$PYTHONPATH" PYTHONUNBUFFERED=1

backends=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do backends+=("$1"); shift; done
[ $# -gt 0 ] && shift  # the "--"
[ ${#backends[@]} -gt 0 ] || backends=(torch jax)

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
status=0
for backend in "${backends[@]}"; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python3 benchmarks/indrnn_speed.py --device gpu "$@" \
    || status=1
  if [ -n "${OUT:-}" ]; then
    cp benchmarks/results/indrnn_speed_"$backend"_gpu.* "$OUT"/ 2>/dev/null
  fi
done
exit $status
