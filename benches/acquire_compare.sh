#!/usr/bin/env bash
# Times `platter acquire` against dc3dd doing the same job (image a source
# to a file while computing MD5, SHA-1 and SHA-256), and against
# `openssl dgst -md5` alone (the MD5 limit: one core hashing, nothing else),
# on one 2 GiB source made here: 64 MiB pieces of random data, text and
# zeros in turn. It checks the three agree on the MD5, prints the
# throughputs and the ratios, and platter's peak memory (max RSS).
#
# Targets (issue #3): platter >= 3x dc3dd's wall-clock throughput,
# >= 0.85x the MD5-alone throughput, peak memory < 256 MiB.
#
# Usage:  bash benches/acquire_compare.sh
# Environment:
#   SIZE=2G        source size (numfmt IEC suffixes), a multiple of 64M
#   RUNS=1         timed runs of each tool; the best is reported
#   WORKDIR=…      where the source and outputs go (default: a temp dir,
#                  removed at exit unless KEEP=1); needs about 3 × SIZE free
#   PLATTER=…      a platter binary to use instead of building a release one
#
# Every run reads the source from the page cache (it is read once before
# each run), and dc3dd's and platter's outputs are flushed to disk before
# the clock stops (platter fsyncs its output itself; dc3dd is followed by
# `sync`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-2G}
RUNS=${RUNS:-1}
KEEP=${KEEP:-0}

die() { echo "acquire_compare.sh: $*" >&2; exit 1; }
for tool in dc3dd openssl md5sum numfmt /usr/bin/time; do
    command -v "$tool" >/dev/null || die "missing tool: $tool (apt-get install dc3dd openssl time)"
done

bytes=$(numfmt --from=iec "$SIZE") || die "cannot parse SIZE=$SIZE"
piece=$((64 << 20))
(( bytes >= piece && bytes % piece == 0 )) || die "SIZE must be a multiple of 64M"

if [[ -n ${WORKDIR:-} ]]; then
    mkdir -p "$WORKDIR"; work=$WORKDIR
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/platter-acquire-compare.XXXXXX")
    [[ $KEEP == 1 ]] || trap 'rm -rf "$work"' EXIT
fi
src=$work/source.img

if [[ -z ${PLATTER:-} ]]; then
    echo "== building platter (release)"
    cargo build --release -q -p platter-cli --manifest-path "$ROOT/Cargo.toml"
    PLATTER=$ROOT/target/release/platter
fi

echo "== making a $(numfmt --to=iec "$bytes") mixed source in $work"
: > "$src"
for ((i = 0; i < bytes / piece; i++)); do
    case $((i % 3)) in
        0) openssl enc -aes-128-ctr -K 706c61747465722d6163717569726521 -iv "$(printf '%032x' "$i")" \
               -in /dev/zero 2>/dev/null | head -c "$piece" >> "$src" || true ;;
        1) yes "Case 2026-117, evidence item 4: the quick brown fox jumps over the lazy dog $i." \
               | head -c "$piece" >> "$src" || true ;;
        2) head -c "$piece" /dev/zero >> "$src" ;;
    esac
done
[[ $(stat -c %s "$src") == "$bytes" ]] || die "could not write the source"

now_ns() { date +%s%N; }
mbps() { awk -v b="$bytes" -v ns="$1" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
warm() { rm -rf "$work"/out.* "$work"/dc3dd.*; sync; cat "$src" > /dev/null; }

best() { # best NAME CMD...: runs CMD RUNS times, sets best_ns
    best_ns=
    for ((r = 0; r < RUNS; r++)); do
        warm
        local t0; t0=$(now_ns)
        "$@"
        local ns=$(( $(now_ns) - t0 ))
        if [[ -z $best_ns || $ns -lt $best_ns ]]; then best_ns=$ns; fi
    done
}

run_dc3dd_file() { dc3dd if="$src" of="$work/dc3dd.img" hash=md5 hash=sha1 hash=sha256 \
                      log="$work/dc3dd.log" >/dev/null 2>&1; sync; }
run_platter_file() { /usr/bin/time -f %M -o "$work/platter.rss" "$PLATTER" acquire "$src" \
                      -o "$work/out.img" --hash md5,sha1,sha256 -q --json > "$work/platter.json"; }
run_dc3dd_null() { dc3dd if="$src" of=/dev/null hash=md5 hash=sha1 hash=sha256 \
                      log="$work/dc3dd.log" >/dev/null 2>&1; }
run_platter_null() { /usr/bin/time -f %M -o "$work/platter.rss" "$PLATTER" acquire "$src" \
                      -o - --log-base "$work/out.null" --hash md5,sha1,sha256 -q --json \
                      > /dev/null 2> "$work/platter.json"; }
run_md5() { openssl dgst -md5 "$src" > "$work/openssl.md5"; }
dc3dd_md5() { grep -io '[0-9a-f]\{32\} (md5)' "$work/dc3dd.log" | head -1 | cut -d' ' -f1; }
platter_md5() { grep -A2 '"alg": "md5"' "$work/platter.json" | grep -o '[0-9a-f]\{32\}' | head -1; }

echo "== timing (best of $RUNS)"
best run_md5;          md5_ns=$best_ns
openssl_md5=$(grep -o '[0-9a-f]\{32\}' "$work/openssl.md5")
check() { [[ $1 == "$openssl_md5" ]] || die "MD5 mismatch: $2 gave $1, openssl $openssl_md5"; }
# (a) The imaging pipeline alone: output to /dev/null (no disk writes).
best run_dc3dd_null;   dnull_ns=$best_ns; check "$(dc3dd_md5)" dc3dd
best run_platter_null; pnull_ns=$best_ns; check "$(platter_md5)" platter
rss_null=$(tail -1 "$work/platter.rss")
# (b) Imaging to a file on disk, flushed.
best run_dc3dd_file;   dfile_ns=$best_ns; check "$(dc3dd_md5)" dc3dd
best run_platter_file; pfile_ns=$best_ns; check "$(platter_md5)" platter
rss_file=$(tail -1 "$work/platter.rss")
cmp -s "$src" "$work/out.img" || die "platter's image differs from the source"

row() { printf '%-58s %6s MB/s %s\n' "$1" "$(mbps "$2")" "${3:-}"; }
row "openssl dgst -md5 (MD5 alone)" "$md5_ns"
row "dc3dd hash=md5,sha1,sha256 of=/dev/null" "$dnull_ns"
row "platter acquire --hash md5,sha1,sha256 -o - >/dev/null" "$pnull_ns" "(peak RSS $((rss_null / 1024)) MiB)"
row "dc3dd hash=md5,sha1,sha256 of=FILE; sync" "$dfile_ns"
row "platter acquire --hash md5,sha1,sha256 -o FILE (fsyncs)" "$pfile_ns" "(peak RSS $((rss_file / 1024)) MiB)"
awk -v dn="$dnull_ns" -v pn="$pnull_ns" -v df="$dfile_ns" -v pf="$pfile_ns" -v m="$md5_ns" 'BEGIN {
    printf "platter / dc3dd, to /dev/null:   %.2fx  (target >= 3)\n", dn / pn
    printf "platter / dc3dd, to a file:      %.2fx\n", df / pf
    printf "platter / MD5 alone, /dev/null:  %.2fx  (target >= 0.85)\n", m / pn
}'
echo "md5 (all three agree): $openssl_md5"
