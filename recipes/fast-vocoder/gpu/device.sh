#!/bin/bash
# One device call (carry .gpu): the wheels, the widened start, then four runs side by side for MINUTES each.
#   bash recipes/fast-vocoder/gpu/device.sh [MINUTES] [DEVICE]
# A dry run here: mkdir -p /tmp/site; PACK=TINY_PACK OUT=/tmp/fv_out bash recipes/fast-vocoder/gpu/device.sh 0.2 cpu
set -euo pipefail
minutes=${1:-6}
device=${2:-cuda}
[ -d /tmp/site ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
out=${OUT:-/tmp/fv_out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null || true
pack=${PACK:-.gpu/fastvoc}
python3 recipes/fast-vocoder/widen.py "$pack/init" /tmp/wide_init
python3 recipes/fast-vocoder/gpu/run.py "$pack" /tmp/fv "$out" --copies 3 --minutes "$minutes" --device "$device" \
  --run "adv:--batch=128 --adversarial=0.1" --run "adv3:--batch=128 --adversarial=0.3" \
  --run "phase:--batch=128 --adversarial=0.1 --phase=1" --run "wide:--batch=128 --adversarial=0.1 --init=/tmp/wide_init"
