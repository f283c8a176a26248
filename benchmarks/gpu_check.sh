#!/usr/bin/env bash
# The GPU checks in one run (under 8 minutes on one H100/H200), written to one results file:
#   1. the CUDA unit tests (pytest -m gpu: bf16/fp16 autocast, CUDA scoring = CPU scoring, a real out-of-memory retry)
#   2. bench_train.py --model-size full: fp32, bf16, bf16 + checkpointing (samples/s, peak memory, MFU)
#   3. bench_variants.py --model-size full, without and with --rc-ensemble (variants/s)
#
# Usage: benchmarks/gpu_check.sh [--dry-run] [RESULTS_FILE]
#   RESULTS_FILE  default: $OUT/gpu_check.md, or ./gpu_check.md without $OUT
#   --dry-run     the same steps on the CPU with the tiny model and short contexts (a minute or two): checks the
#                 script before device time is spent on it (tests/test_gpu_check.py runs it)
# Environment: PYTHON (default: python) must import stagevep and its dependencies. Each step has its own time
# limit, so the whole run stays under 8 minutes; a step that fails or times out is recorded and the script goes
# on, then exits 1.
set -uo pipefail

dry_run=0
results=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) dry_run=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu_check.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) results="$arg" ;;
    esac
done
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
results="${results:-${OUT:-.}/gpu_check.md}"
mkdir -p "$(dirname "$results")"
python="${PYTHON:-python}"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
cd "$repo" || exit 2

if [ "$dry_run" = 1 ]; then
    mode="dry run (CPU, tiny model, short contexts)"
    device=cpu
    train_size=(--model-size tiny --context-length 4096 --n-bins 16 --batch-size 2 --steps 1 --warmup 1)
    variant_size=(--model-size tiny --context-length 4096 --n-bins 16 --n-variants 16 --n-baseline 4 --batch-size 4)
    limits=(120 240 120 120)
else
    mode="GPU"
    device=cuda
    if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check.sh: no CUDA device visible to $python (use --dry-run on a CPU machine)" >&2
        exit 2
    fi
    # full Enformer at 196,608 bp: batch 4 as in docs/benchmarks.md; 256 variants (64 for the batch-1 baselines)
    train_size=(--model-size full --batch-size 4 --steps 5 --warmup 2)
    variant_size=(--model-size full --n-variants 256 --n-baseline 16 --batch-size 8)
    limits=(110 170 80 80)  # seconds per step: 440 in all, plus the environment (20) and start-up
fi

failed=0
# section TITLE LIMIT COMMAND...: run COMMAND with a time limit, append its output and exit status to the results
section() {
    local title="$1" limit="$2"
    shift 2
    local start status
    start=$(date +%s)
    {
        echo
        echo "## $title"
        echo
        echo "command: \`$*\`"
        echo
        echo '```'
    } >> "$results"
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >> "$results" 2>&1
    status=$?
    {
        echo '```'
        echo
        echo "exit status: $status$([ "$status" = 124 ] && echo " (timed out after ${limit} s)"); $(( $(date +%s) - start )) s"
    } >> "$results"
    echo "gpu_check.sh: $title: exit status $status" >&2
    [ "$status" = 0 ] || failed=1
}

{
    echo "# stagevep GPU checks"
    echo
    echo "mode: $mode"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$results"

section "environment" 20 "$python" -c '
import platform, torch, stagevep
print("stagevep", stagevep.__version__, "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| python", platform.python_version())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB, compute capability {p.major}.{p.minor}")
if not torch.cuda.is_available():
    print("no CUDA device: CPU only")
'
section "CUDA unit tests (pytest -m gpu)" "${limits[0]}" \
    "$python" -m pytest -m gpu -q -p no:cacheprovider -rs tests/test_gpu.py
section "training throughput (bench_train.py)" "${limits[1]}" \
    "$python" benchmarks/bench_train.py "${train_size[@]}" --device "$device" --only fp32 bf16 "bf16 + checkpointing"
section "variant scoring (bench_variants.py)" "${limits[2]}" \
    "$python" benchmarks/bench_variants.py "${variant_size[@]}" --device "$device"
section "variant scoring with --rc-ensemble (bench_variants.py)" "${limits[3]}" \
    "$python" benchmarks/bench_variants.py "${variant_size[@]}" --device "$device" --rc-ensemble

echo >> "$results"
echo "all steps passed: $([ "$failed" = 0 ] && echo yes || echo no)" >> "$results"
echo "gpu_check.sh: results in $results" >&2
exit "$failed"
