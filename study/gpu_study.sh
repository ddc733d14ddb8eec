#!/usr/bin/env bash
# The study's jobs on one lent GPU machine: WORKERS copies of run_study.py share the GPU (through CUDA MPS where its
# daemon starts, so that the small kernels of several runs can overlap), each claiming jobs as on the CPU; all stop
# at DEADLINE seconds, and only finished runs leave rows. Rows go to OUT/paired/*.csv (a fresh folder: merge them
# into study/results/paired/ afterwards), the workers' logs and the GPU's use (every 30 s) to OUT/gpu_study.log.
#
#   bash study/gpu_study.sh OUT WORKERS DEADLINE_S DATASET...      e.g. bash study/gpu_study.sh $OUT 15 540 fmnist_4k
#
# On the device machine, install the wheels and set SAR_DATA first (bench/gpu_device.md). STUDY_ARGS adds options to
# every worker (a smoke test: STUDY_ARGS='--epochs 1 --n-train 200'); PYTHON names the interpreter (default python3).
# RESUME_FROM=study/results/paired copies the CSVs there into OUT/paired first, so that finished jobs are not run
# again; OUT/paired's CSVs then hold the old rows and the new ones, and can replace the folder's.
set -u
out=$1; workers=$2; deadline=$3; shift 3; py=${PYTHON:-python3}
tmp=$(mktemp -d); mkdir -p "$out/paired" "$tmp/logs"
log=$out/gpu_study.log
[ -n "${RESUME_FROM:-}" ] && cp "$RESUME_FROM"/*.csv "$out/paired/"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; } > "$log" 2>&1
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
if nvidia-cuda-mps-control -d >> "$log" 2>&1 && timeout 30 "$py" -c "import torch; torch.zeros(1).cuda(); torch.cuda.synchronize()" >> "$log" 2>&1; then
  echo "MPS: on" >> "$log"
else
  echo quit | nvidia-cuda-mps-control > /dev/null 2>&1; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
  echo "MPS: off (the daemon did not start or a client could not reach the GPU through it)" >> "$log"
fi
start=$(date +%s); pids=()
for i in $(seq 1 "$workers"); do
  timeout "$deadline" "$py" study/run_study.py --datasets "$@" --threads 1 --progress --out "$out/paired" \
    --claims "$tmp/claims" ${STUDY_ARGS:-} > "$tmp/logs/worker_$i.log" 2>&1 &
  pids+=($!); sleep 2
done
running() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
waited=0
while running; do
  sleep 5; waited=$((waited + 5)); [ $((waited % 30)) -eq 0 ] || continue
  echo "[$(( $(date +%s) - start )) s] GPU $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || echo none), rows: $(( $(cat "$out/paired/study.csv" 2>/dev/null | wc -l) )) study, $(( $(cat "$out/paired/lambda_sweep.csv" 2>/dev/null | wc -l) )) sweep (headers included)" >> "$log"
done
wait
for f in "$tmp"/logs/worker_*.log; do echo "== $(basename "$f")"; cat "$f"; done >> "$log"
echo quit | nvidia-cuda-mps-control > /dev/null 2>&1
echo "done after $(( $(date +%s) - start )) s" >> "$log"

