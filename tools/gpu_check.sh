#!/usr/bin/env bash
# Every GPU check in one run, for a session that is lent a CUDA machine: tests/gpu (Triton kernels against a
# float64 reference, bf16/fp16, models on the GPU), a block-size sweep of the Triton kernels, and the grkan and
# kan benches on the device. Usage: bash tools/gpu_check.sh OUTDIR   (writes at most 7 files there)
set -u
OUT=${1:-${OUT:-gpu-out}}
mkdir -p "$OUT"
export PYTHONPATH=$PWD BASISKIT_PROGRESS=0 PYTHONUNBUFFERED=1 BASISKIT_CACHE=/tmp/basiskit-cache
PY=${PY:-python3}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  $PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"; } \
  2>&1 | tee "$OUT/device.txt"
echo "== tests"; timeout 200 $PY -m pytest -q -p no:cacheprovider tests/gpu tests/ops/test_rational_triton.py \
  tests/ops/test_rational.py tests/nn/test_grkan.py 2>&1 | tee "$OUT/tests.log" | tail -25
echo "== sweep"; timeout 150 $PY tools/gpu_sweep.py 2>&1 | tee "$OUT/sweep.log"
echo "== bench grkan"; timeout 120 $PY -m basiskit bench grkan --device cuda --out "$OUT/bench_grkan.json" 2>&1 | tail -30
echo "== bench kan"; timeout 60 $PY -m basiskit bench kan --device cuda --quick --out "$OUT/bench_kan.json" 2>&1 | tail -30
