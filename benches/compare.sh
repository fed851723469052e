#!/usr/bin/env bash
# Times `platter parts extract` against the reference tools doing the same
# work, on a test disk image made here, and checks that the results agree.
#
#   (a) platter parts extract IMG --partition 1 -o OUT_A
#       (writes the partition, prints its MD5 and SHA-256)
#   (b) dd if=IMG skip=START count=LEN iflag=skip_bytes,count_bytes
#         | tee fifo_md5 fifo_sha256 > OUT_B   with md5sum and sha256sum
#       reading the fifos (the read-once equivalent of the shell's
#       `tee >(md5sum) >(sha256sum)`, but waited for properly), then
#       `sync OUT_B`, since platter fsyncs its output before reporting
#
# Usage:  bash benches/compare.sh
# Environment:
#   SIZE=1G        size of the test image (numfmt IEC suffixes: 512M, 4G, …)
#   RUNS=1         timed runs of each side; the best time is reported
#   DROP_CACHES=0  1: drop the page cache before each timed run (root),
#                  to time cold reads instead of the CPU-bound pipeline
#   WORKDIR=…      where the image and outputs go (default: a temp dir,
#                  removed at exit unless KEEP=1); needs about 3 × SIZE free
#   PLATTER=…      a platter binary to use instead of building one
#
# Exit status: 0 when both sides ran and agree, 1 on a mismatch or error,
# 2 when the platter binary has no `parts extract` yet (the reference side
# is still timed and printed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-1}
DROP_CACHES=${DROP_CACHES:-0}
KEEP=${KEEP:-0}

die() { echo "compare.sh: $*" >&2; exit 1; }
for tool in sfdisk dd tee md5sum sha256sum numfmt cmp mkfifo; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done

bytes=$(numfmt --from=iec "$SIZE") || die "cannot parse SIZE=$SIZE"
(( bytes >= 4 * 1024 * 1024 )) || die "SIZE must be at least 4M (got $bytes bytes)"
bytes=$(( bytes / 512 * 512 ))

if [[ -n ${WORKDIR:-} ]]; then
    mkdir -p "$WORKDIR"
    work=$WORKDIR
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/platter-compare.XXXXXX")
    if [[ $KEEP != 1 ]]; then
        trap 'rm -rf "$work"' EXIT
    fi
fi
img=$work/disk.img

now_ns() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }
prepare_run() {
    rm -f "$@"
    sync
    if [[ $DROP_CACHES == 1 ]]; then
        echo 3 > /proc/sys/vm/drop_caches
    else
        cat "$img" > /dev/null # warm cache for both sides alike
    fi
}

# --- 1. The test image: random data under a GPT with one big partition.
echo "== making a $(numfmt --to=iec "$bytes") test image in $work"
if command -v openssl >/dev/null; then
    # AES-CTR keystream: incompressible and much faster than /dev/urandom.
    # openssl dies of SIGPIPE when head has enough: the size is checked below.
    openssl enc -aes-128-ctr -K 706c61747465722d636f6d7061726521 -iv 0 -in /dev/zero \
        2>/dev/null | head -c "$bytes" > "$img" || true
else
    head -c "$bytes" /dev/urandom > "$img"
fi
[[ $(stat -c %s "$img") == "$bytes" ]] || die "could not write the $bytes-byte image $img"
printf 'label: gpt\n,,L\n' | sfdisk --quiet "$img" >/dev/null
line=$(sfdisk --dump "$img" | grep -E '^[^:]*1 : ')
start_s=$(sed -E 's/.*start= *([0-9]+).*/\1/' <<<"$line")
size_s=$(sed -E 's/.*size= *([0-9]+).*/\1/' <<<"$line")
start=$(( start_s * 512 ))
len=$(( size_s * 512 ))
echo "   partition 1: offset $start, $len bytes"

# --- 2. platter, built in release.
if [[ -z ${PLATTER:-} ]]; then
    echo "== building platter (release)"
    (cd "$ROOT" && cargo build --release -p platter-cli --quiet)
    PLATTER=${CARGO_TARGET_DIR:-$ROOT/target}/release/platter
fi
[[ -x $PLATTER ]] || die "no platter binary at $PLATTER"
have_extract=1
"$PLATTER" parts extract --help >/dev/null 2>&1 || have_extract=0

# --- 3. The reference: dd | tee, md5sum and sha256sum reading fifos.
ref_once() {
    local out=$work/ref.out
    prepare_run "$out" "$work/ref.md5" "$work/ref.sha256" "$work/fifo.md5" "$work/fifo.sha256"
    mkfifo "$work/fifo.md5" "$work/fifo.sha256"
    local t0 t1 m s
    t0=$(now_ns)
    md5sum < "$work/fifo.md5" > "$work/ref.md5" & m=$!
    sha256sum < "$work/fifo.sha256" > "$work/ref.sha256" & s=$!
    dd if="$img" bs=1M skip="$start" count="$len" iflag=skip_bytes,count_bytes status=none \
        | tee "$work/fifo.md5" "$work/fifo.sha256" > "$out"
    wait "$m" "$s"
    sync "$out" # platter fsyncs its output before it reports: do the same
    t1=$(now_ns)
    echo $(( t1 - t0 ))
}

# --- 4. platter parts extract.
platter_once() {
    local out=$work/platter.out
    prepare_run "$out"
    local t0 t1
    t0=$(now_ns)
    "$PLATTER" parts extract "$img" --partition 1 -o "$out" > "$work/platter.log" 2>&1 \
        || { cat "$work/platter.log" >&2; die "platter parts extract failed"; }
    t1=$(now_ns)
    echo $(( t1 - t0 ))
}

best() { # best of RUNS runs of "$1"
    local best_ns="" ns i
    for (( i = 0; i < RUNS; i++ )); do
        ns=$("$1")
        if [[ -z $best_ns ]] || (( ns < best_ns )); then best_ns=$ns; fi
    done
    echo "$best_ns"
}

echo "== timing the reference (dd | tee | md5sum + sha256sum), best of $RUNS"
ref_ns=$(best ref_once)
ref_md5=$(cut -d' ' -f1 "$work/ref.md5")
ref_sha=$(cut -d' ' -f1 "$work/ref.sha256")
printf '   reference: %8s s  %6s MB/s\n' "$(secs "$ref_ns")" "$(mbps "$len" "$ref_ns")"

if [[ $have_extract == 0 ]]; then
    echo "!! $PLATTER has no 'parts extract' command yet: platter side skipped" >&2
    exit 2
fi

echo "== timing platter parts extract, best of $RUNS"
pl_ns=$(best platter_once)
# Pick the digests out of platter's output, text or JSON alike.
pl_md5=$(grep -oE '\b[0-9a-f]{32}\b' "$work/platter.log" | head -n1 || true)
pl_sha=$(grep -oE '\b[0-9a-f]{64}\b' "$work/platter.log" | head -n1 || true)
printf '   platter:   %8s s  %6s MB/s\n' "$(secs "$pl_ns")" "$(mbps "$len" "$pl_ns")"

# --- 5. Results.
ratio=$(awk -v r="$ref_ns" -v p="$pl_ns" 'BEGIN { printf "%.2f", r / p }')
echo
echo "partition bytes : $len"
printf 'reference       : %s s, %s MB/s\n' "$(secs "$ref_ns")" "$(mbps "$len" "$ref_ns")"
printf 'platter         : %s s, %s MB/s\n' "$(secs "$pl_ns")" "$(mbps "$len" "$pl_ns")"
echo "ratio           : ${ratio}x (reference time / platter time; above 1 means platter is faster)"
echo "md5    reference: $ref_md5"
echo "md5    platter  : ${pl_md5:-<none printed>}"
echo "sha256 reference: $ref_sha"
echo "sha256 platter  : ${pl_sha:-<none printed>}"

status=0
[[ $pl_md5 == "$ref_md5" ]] || { echo "MISMATCH: MD5 differs" >&2; status=1; }
[[ $pl_sha == "$ref_sha" ]] || { echo "MISMATCH: SHA-256 differs" >&2; status=1; }
cmp --quiet "$work/platter.out" "$work/ref.out" \
    || { echo "MISMATCH: the extracted files differ" >&2; status=1; }
if [[ $status == 0 ]]; then echo "agree           : yes (digests and output bytes)"; fi
exit "$status"
