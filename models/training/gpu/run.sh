#!/usr/bin/env bash
# One-shot GPU session: fresh training data from the current phantom, then the detector and
# the grader fine-tuned concurrently from the committed checkpoints, weights back in $OUT.
# Runs from the repository root of a copy of the working tree that carries .gpu/ (built by
# models/training/gpu/build.sh) and dist/ is NOT needed (the bundle holds the phantom).
# See models/training/gpu/README.md.
#
#   OUT=/some/dir bash models/training/gpu/run.sh
#
# Everything is an env var (defaults = the GPU plan; README.md has the CPU dry run).
set -uo pipefail
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }

OUT=${OUT:?set OUT}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-/tmp/jsgpu}
GEN_PROCS=${GEN_PROCS:-13}            # training-data processes (plus VAL_PROCS for validation)
GEN_SECONDS=${GEN_SECONDS:-160}       # no training chunk starts that would end after this
GEN_CHUNK=${GEN_CHUNK:-25}            # images per chunk folder
GEN_MAX=${GEN_MAX:-100000}            # images per process at most (seed ranges are 100000 apart)
TRAIN_SEED0=${TRAIN_SEED0:-3000001}   # process p renders seeds TRAIN_SEED0 + p*100000 + ...
VAL_SEED0=${VAL_SEED0:-1000001}
VAL_COUNT=${VAL_COUNT:-200}
VAL_PROCS=${VAL_PROCS:-2}
END_S=${END_S:-490}                   # planned end of both trainings, seconds after start
HARD_S=${HARD_S:-515}                 # trainers are stopped (SIGTERM) at this point whatever happens
TAIL_S=${TAIL_S:-40}                  # torch import + last validation + save, after the LR budget
THREADS=${THREADS:-4}
DET_INIT=${DET_INIT:-models/training/runs/detector/last.pt}
DET_BATCH=${DET_BATCH:-64}
DET_LR=${DET_LR:-1e-3}
DET_PER_EPOCH=${DET_PER_EPOCH:-8192}
DET_SIGMA=${DET_SIGMA:-1.25}
GRADER_INIT=${GRADER_INIT:-models/training/runs/grader-v2/last.pt}
GRADER_BATCH=${GRADER_BATCH:-256}
GRADER_LR=${GRADER_LR:-1e-3}
GRADER_PER_EPOCH=${GRADER_PER_EPOCH:-65536}

mkdir -p "$OUT" "$DATA"
exec > >(tee -a "$OUT/run.log") 2>&1
echo "== run.sh start $(date -u +%FT%TZ) host $(hostname) nproc $(nproc) commit $(git rev-parse HEAD 2>/dev/null || echo '?')"
echo "== env: PY=$PY DEVICE=$DEVICE GEN_PROCS=$GEN_PROCS GEN_SECONDS=$GEN_SECONDS END_S=$END_S HARD_S=$HARD_S" \
     "DET batch $DET_BATCH lr $DET_LR perEpoch $DET_PER_EPOCH; GRADER batch $GRADER_BATCH lr $GRADER_LR perEpoch $GRADER_PER_EPOCH"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv,noheader
df -h "$DATA" | tail -1

# ---------------------------------------------------------------- 1. node
NODE=$DATA/node
if [ ! -x "$NODE" ]; then
  "$PY" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"), 1<<20)' .gpu/node.xz "$NODE.tmp" \
    && chmod +x "$NODE.tmp" && mv "$NODE.tmp" "$NODE" || { echo "FATAL: cannot unpack .gpu/node.xz"; exit 1; }
fi
echo "== node $("$NODE" -v 2>&1 | head -1) at $(el)s"
"$NODE" -v >/dev/null 2>&1 || { echo "FATAL: node does not run"; ldd "$NODE"; exit 1; }

# ---------------------------------------------------------------- 2. data
# GPU check first, in the background (torch import is slow), so a machine without a usable
# device fails early; its output goes to the log.
"$PY" -c "import torch,numpy,sys; print('== torch', torch.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-'); sys.exit(0 if '$DEVICE'=='cpu' or torch.cuda.is_available() else 3)" &
CHECK=$!
pids=()
for v in $(seq 0 $((VAL_PROCS - 1))); do
  n=$(( (VAL_COUNT + VAL_PROCS - 1) / VAL_PROCS )); s=$(( VAL_SEED0 + v * n ))
  [ $(( v * n + n )) -gt "$VAL_COUNT" ] && n=$(( VAL_COUNT - v * n ))
  "$NODE" .gpu/training-set.mjs --count "$n" --seed "$s" --out "$DATA/val-$v" > "$DATA/gen-val-$v.log" 2>&1 &
  pids+=($!)
done
for p in $(seq 0 $((GEN_PROCS - 1))); do
  "$NODE" .gpu/training-set.mjs --seed $(( TRAIN_SEED0 + p * 100000 )) --count "$GEN_MAX" --chunk "$GEN_CHUNK" \
    --deadline-s $(( GEN_SECONDS - $(el) )) --out "$DATA/train-$p" > "$DATA/gen-train-$p.log" 2>&1 &
  pids+=($!)
done
wait "$CHECK" || { echo "FATAL: no usable torch / GPU"; kill "${pids[@]}" 2>/dev/null; exit 1; }
fail=0
for pid in "${pids[@]}"; do wait "$pid" || fail=1; done
tail -q -n 1 "$DATA"/gen-*.log
[ "$fail" = 0 ] || { echo "FATAL: a generator failed"; tail -n 20 "$DATA"/gen-*.log; exit 1; }
TRAIN_DIRS=$(ls -d "$DATA"/train-*/s* | sort)
VAL_DIRS=$(ls -d "$DATA"/val-* | sort)
echo "== data at $(el)s: $(echo $TRAIN_DIRS | wc -w) training chunks, $(du -sh "$DATA" | cut -f1);" \
     "images $(cat "$DATA"/train-*/s*/meta.json | grep -o '"images": [0-9]*' | awk '{s+=$2} END {print s}')," \
     "crops $(cat "$DATA"/train-*/s*/meta.json | grep -o '"crops": [0-9]*' | awk '{s+=$2} END {print s}')"

# ---------------------------------------------------------------- 3. train (both at once)
RUNS=$DATA/runs
rm -rf "$RUNS" && mkdir -p "$RUNS"
# train NAME SCRIPT ARGS...: --data-on-device first (data and augmentation on the GPU); if
# that fails early (not by the time limit), once more without it (the CPU-side data path),
# with what is left of the budget.
train() {
  local name=$1 script=$2; shift 2
  local mode rc=1 min kill_in
  for mode in --data-on-device ""; do
    min=$("$PY" -c "print(round(max(0.5, ($END_S - $(el) - $TAIL_S) / 60), 3))")
    kill_in=$(( HARD_S - $(el) ))
    [ "$kill_in" -gt 60 ] || { echo "no time left for $name ($mode)"; return 1; }
    echo "== $name at $(el)s: ${mode:-data on the host}, LR budget $min min, stopped in ${kill_in}s at the latest"
    rm -rf "${RUNS:?}/$name"
    timeout -k 10 "$kill_in" "$PY" "models/training/$script" --out "$RUNS/$name" $mode --lr-by-time --minutes "$min" \
      --device "$DEVICE" --threads "$THREADS" --epochs 100000 --train $TRAIN_DIRS --val $VAL_DIRS "$@" 2>&1
    rc=$?
    echo "exit $rc"
    [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ "$rc" = 137 ] && return "$rc"
    [ -z "$mode" ] && return "$rc"
    echo "== $name failed with --data-on-device; retrying with the data on the host"
  done
}
echo "== training at $(el)s"
train detector train_detector.py --init "$DET_INIT" --images-per-epoch "$DET_PER_EPOCH" --batch "$DET_BATCH" \
  --lr "$DET_LR" --sigma "$DET_SIGMA" 2>&1 | sed -u 's/^/[det] /' &
DET=$!
train grader train_grader.py --init "$GRADER_INIT" --crops-per-epoch "$GRADER_PER_EPOCH" --batch "$GRADER_BATCH" \
  --lr "$GRADER_LR" 2>&1 | sed -u 's/^/[grd] /' &
GRD=$!
( while sleep 30; do command -v nvidia-smi >/dev/null && echo "[gpu $(el)s] $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)"; done ) &
MON=$!
wait "$DET"; wait "$GRD"; kill "$MON" 2>/dev/null
echo "== training done at $(el)s"

# ---------------------------------------------------------------- 4. results
"$PY" models/training/gpu/strip.py "$RUNS/detector" "$OUT/detector"
"$PY" models/training/gpu/strip.py "$RUNS/grader" "$OUT/grader"
cp "$RUNS/detector/log.csv" "$OUT/detector-log.csv" 2>/dev/null
cp "$RUNS/grader/log.csv" "$OUT/grader-log.csv" 2>/dev/null
ls -l "$OUT"
echo "== run.sh end at $(el)s"
sleep 1  # let tee flush run.log
