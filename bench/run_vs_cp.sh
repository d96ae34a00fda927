#!/usr/bin/env bash
# Benchmark: brainsurgery run against `cp -r … && sync` on a ~2 GiB bf16 Llama-shaped sharded
# checkpoint, measured in the same run on the same (warm) page cache.
#
# Generates the checkpoint once with brainsurgery itself (uniform random bf16 tensors in the
# shapes of a TinyLlama-style model: hidden 2048, MLP 5632, 4 key/value heads, 20 layers,
# 512 MiB shards), then times, each followed by `sync` and each with its peak RSS
# (/usr/bin/time -v):
#   cp      cp -r of the checkpoint (the baseline)
#   (a)     rename every tensor                    target <= 1.1 x cp
#   (b)     cast every tensor bf16 -> f16          target <= 1.3 x cp
#   (c)     scale every MLP weight by 0.5, clamp to +-1   target <= 1.3 x cp
# and prints each time as a ratio of the cp time. Outputs are deleted after each step, so the
# disk needs about 3 x 2 GiB free.
#
# Usage: bench/run_vs_cp.sh [WORK_DIR]   (default: target/bench-run-vs-cp)

set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/target/bench-run-vs-cp}"
binary="$root/target/release/brainsurgery"
mkdir -p "$work"

echo "building the release binary…" >&2
(cd "$root" && cargo build --release --quiet)

input="$work/llama"
if [ ! -f "$input/model.safetensors.index.json" ]; then
  echo "generating the checkpoint in $input…" >&2
  plan="$work/generate.yaml"
  {
    echo "transforms:"
    echo "  - prefixes: { mode: add, alias: model }"
    tensor() {
      echo "  - rand: { target: 'model::$1', shape: $2, dtype: bfloat16, low: -2, high: 2, seed: $3 }"
    }
    seed=0
    tensor "model.embed_tokens.weight" "[32000, 2048]" $((seed++))
    for layer in $(seq 0 19); do
      prefix="model.layers.$layer"
      tensor "$prefix.self_attn.q_proj.weight" "[2048, 2048]" $((seed++))
      tensor "$prefix.self_attn.k_proj.weight" "[256, 2048]" $((seed++))
      tensor "$prefix.self_attn.v_proj.weight" "[256, 2048]" $((seed++))
      tensor "$prefix.self_attn.o_proj.weight" "[2048, 2048]" $((seed++))
      tensor "$prefix.mlp.gate_proj.weight" "[5632, 2048]" $((seed++))
      tensor "$prefix.mlp.up_proj.weight" "[5632, 2048]" $((seed++))
      tensor "$prefix.mlp.down_proj.weight" "[2048, 5632]" $((seed++))
      tensor "$prefix.input_layernorm.weight" "[2048]" $((seed++))
      tensor "$prefix.post_attention_layernorm.weight" "[2048]" $((seed++))
    done
    tensor "model.norm.weight" "[2048]" $((seed++))
    tensor "lm_head.weight" "[32000, 2048]" $((seed++))
    echo "output: { path: $input, alias: model, shard: 512MB }"
  } > "$plan"
  "$binary" run --quiet "$plan"
fi
bytes=$(du -sb "$input" | cut -f1)
echo "checkpoint: $input, $((bytes / 1024 / 1024)) MiB, $(ls "$input" | wc -l) files" >&2

write_plan() {
  # write_plan NAME STEPS…: a plan over the input whose output is $work/out-NAME.
  local name="$1"
  shift
  {
    echo "inputs: [$input]"
    echo "transforms:"
    for step in "$@"; do echo "  - $step"; done
    echo "output: { path: $work/out-$name, shard: 512MB }"
  } > "$work/$name.yaml"
}
write_plan rename "move: { from: '(.*)', to: 'renamed.\\1' }"
write_plan cast "cast_: { target: '.*', to: float16 }"
write_plan scale_clamp "scale_: { target: '.*\\.mlp\\..*', by: 0.5 }" \
  "clamp_: { target: '.*\\.mlp\\..*', min: -1, max: 1 }"

# measure LABEL COMMAND…: runs COMMAND followed by sync; prints "seconds peak_rss_kib".
measure() {
  local report="$work/time.txt"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$report" "$@"
  sync
  end=$(date +%s.%N)
  local rss
  rss=$(grep "Maximum resident set size" "$report" | awk '{print $NF}')
  echo "$(echo "$end - $start" | bc -l) $rss"
}

# Warm the page cache so every contender reads from memory.
cat "$input"/* > /dev/null
sync

rm -rf "$work/cp-copy"
read -r cp_seconds cp_rss < <(measure cp -r "$input" "$work/cp-copy")
rm -rf "$work/cp-copy"
sync

results=()
for name in rename cast scale_clamp; do
  rm -rf "$work/out-$name"
  read -r seconds rss < <(measure "$binary" run --quiet "$work/$name.yaml")
  results+=("$name $seconds $rss")
  rm -rf "$work/out-$name"
  sync
done

printf '%-12s %9s %7s %12s\n' "step" "seconds" "x cp" "peak RSS MiB"
printf '%-12s %9.2f %7.2f %12d\n' "cp -r+sync" "$cp_seconds" 1 $((cp_rss / 1024))
targets=(1.1 1.3 1.3)
index=0
for line in "${results[@]}"; do
  read -r name seconds rss <<< "$line"
  ratio=$(echo "$seconds / $cp_seconds" | bc -l)
  printf '%-12s %9.2f %7.2f %12d   (target <= %s)\n' "$name" "$seconds" "$ratio" $((rss / 1024)) "${targets[$index]}"
  index=$((index + 1))
done
