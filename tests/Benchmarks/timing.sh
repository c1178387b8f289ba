# Sourced by the whole-process benchmark scripts.

# median_ms FUNCTION: runs FUNCTION $runs times and prints the median wall time in milliseconds.
median_ms() {
  local fn=$1 times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N); "$fn"; end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
