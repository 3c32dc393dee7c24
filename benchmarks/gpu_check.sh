#!/usr/bin/env bash
# The GPU check, when a GPU is lent (about 5 minutes on one): the figures the README and docs/ quote, printed and kept in
# $OUT (default benchmarks/out/gpu_check).
#   1. the paper experiment's rates on this device (estimate.py --measure: render step, training and evaluation
#      image, start-up), as data with the date and device (gpu_rates.yaml, for bench_pipeline.py --estimate);
#   2. the render loop against the bare forward + backward floor, in fp32 and bf16 (bench_precision.py, speed);
#   3. one flowers17 render job: GoogLeNet (random weights), its three layers x 5 channels x 3 seeds, 512 steps,
#      then the same job warm-started from its rows for the paper experiment's warm steps, and the paper target's
#      estimate on this device's rates, cold against warm;
#   4. the feature diff's crosscoder on the device: two trainings with one seed give the same dictionary, and its
#      time against the CPU's (benchmarks/crosscoder_check.py);
#   5. the demo end to end on the device in bf16 autocast (precision: auto), its wall time.
# benchmarks/gpu_check.sh --reduced runs the same steps on the CPU at toy sizes (the tests run it that way).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONUNBUFFERED=1
OUT=${OUT:-benchmarks/out/gpu_check}
mkdir -p "$OUT"
if [ "${1:-}" = "--reduced" ]; then
    device=cpu exp=demo steps=2 warm=1 size=32 timing=2 demo=false
else
    device=cuda exp=flowers17 steps=512 warm=128 size=128 timing=8 demo=true
fi
seconds() { local start=$SECONDS; "$@" > "$OUT/$1.log" 2>&1 || { tail -n 20 "$OUT/$1.log"; exit 1; }; echo $((SECONDS - start)); }

echo "== 1. rates of $exp on $device"
python benchmarks/estimate.py --measure "$exp" --device "$device" -o "$OUT/gpu_rates.yaml"

echo "== 2. render loop against its floor ($device)"
python benchmarks/bench_precision.py --device "$device" --skip render training --timing-steps "$timing" \
    --size "$size" 2>&1 | tee "$OUT/precision.txt" | tail -n 12

echo "== 3. one flowers17 render job (GoogLeNet, random weights, 3 layers x 5 channels x 3 seeds, $steps steps)"
python - "$OUT" <<'PY'
import sys
from driftlens import models
from driftlens.checkpoint import Checkpoint, save_checkpoint
net = models.load("googlenet", weights="random", num_classes=17).net
save_checkpoint(Checkpoint(net.state_dict(), 0, {"model": "googlenet"}, [str(k) for k in range(17)]),
                f"{sys.argv[1]}/googlenet_random.pt")
PY
echo 0,1,2,3,4 > "$OUT/channels.txt"
units=(); rows=(); pngs=()
for layer in mixed3b Mixed_4c_Branch_3_b_1x1 mixed5b; do
    units+=("$layer=$OUT/channels.txt"); rows+=("$OUT/$layer.npz"); pngs+=("$OUT/$layer.png")
done
took=$(seconds driftlens render-checkpoint --checkpoint "$OUT/googlenet_random.pt" --units "${units[@]}" \
    --seeds 0,1,2 --steps "$steps" --size "$size" --device "$device" --rows "${rows[@]}" --pngs "${pngs[@]}" --no-progress)
echo "flowers17 render job: ${took} s wall (45 images, $steps steps at $size px)"
warm_rows=(); warm_pngs=()
for layer in mixed3b Mixed_4c_Branch_3_b_1x1 mixed5b; do
    warm_rows+=("$OUT/$layer.warm.npz"); warm_pngs+=("$OUT/$layer.warm.png")
done
took=$(seconds driftlens render-checkpoint --checkpoint "$OUT/googlenet_random.pt" --units "${units[@]}" \
    --seeds 0,1,2 --steps "$steps" --size "$size" --device "$device" --warm-start "${rows[@]}" --warm-steps "$warm" \
    --warm-start-checkpoint "$OUT/googlenet_random.pt" \
    --rows "${warm_rows[@]}" --pngs "${warm_pngs[@]}" --no-progress)
echo "flowers17 warm-started render job: ${took} s wall (45 images, $warm steps at $size px)"
if $demo; then
    python benchmarks/bench_pipeline.py --estimate flowers17 --cores 16 --gpu-rates "$OUT/gpu_rates.yaml" \
        --warm-steps "$warm" 2>&1 | tee "$OUT/estimate.txt" | grep -A 30 "measured"
fi

echo "== 4. the feature diff's crosscoder on $device"
python benchmarks/crosscoder_check.py --device "$device" --steps "$steps" 2>&1 | tee "$OUT/crosscoder.txt"

if $demo; then
    echo "== 5. the demo on $device, bf16 autocast"
    work=$(mktemp -d)
    cp config.yaml "$work/"
    took=$(seconds snakemake --snakefile "$PWD/Snakefile" --directory "$work" --cores 16 --resources gpu=1)
    echo "demo on $device: ${took} s wall"
fi
echo "figures kept in $OUT"
