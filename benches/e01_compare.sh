#!/usr/bin/env bash
# E01 writer and reader against libewf, on the same mixed source.
#
#   write: ewfacquire -u -c fast -d sha1 SRC        (MD5 + SHA-1, 1.4 GiB segments)
#          vs platter's EwfWriter, fast, MD5 + SHA-1 (examples/e01_write.rs,
#          or with ACQUIRE=1 `platter acquire --format e01 --compression fast
#          --hash md5,sha1`, which also writes the acquisition log)
#   read:  ewfverify -q -d sha1 on each image
#          vs platter's EwfImage hash pass (examples/e01_hash.rs, or
#          `platter verify IMAGE.E01` with VERIFY=1)
#
# Both images are checked: ewfverify must pass on ours, and both tools must
# agree on the digests.
#
# Usage:  bash benches/e01_compare.sh
# Environment:
#   SIZE=2G        size of the mixed source (numfmt IEC suffixes)
#   WORKDIR=…      where the source and images go (default: a temp dir,
#                  removed at exit unless KEEP=1); needs about 3 × SIZE free
#   THREADS=0      compression threads for platter (0 = all cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-2G}
THREADS=${THREADS:-0}
KEEP=${KEEP:-0}
ACQUIRE=${ACQUIRE:-0}
VERIFY=${VERIFY:-0}

die() { echo "e01_compare.sh: $*" >&2; exit 1; }
for tool in ewfacquire ewfverify numfmt dd; do
    command -v "$tool" >/dev/null || die "missing tool: $tool (apt-get install ewf-tools)"
done
bytes=$(numfmt --from=iec "$SIZE") || die "cannot parse SIZE=$SIZE"
block=$(( 64 * 1024 * 1024 ))
(( bytes >= block )) || die "SIZE must be at least 64M"
blocks=$(( bytes / block ))
bytes=$(( blocks * block ))

if [[ -n ${WORKDIR:-} ]]; then
    mkdir -p "$WORKDIR"; work=$WORKDIR
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/platter-e01.XXXXXX")
    [[ $KEEP == 1 ]] || trap 'rm -rf "$work"' EXIT
fi

now_ns() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }

echo "== building (release)"
(cd "$ROOT" && cargo build --release -q -p platter-cli -p platter-ewf --examples --bins)
bin=$ROOT/target/release
platter=$bin/platter

# The mixed source: 64 MiB blocks cycling through incompressible noise,
# zeros, executable code and text, like a used system disk.
src=$work/source.raw
echo "== making a $bytes-byte mixed source in $work"
code=$work/code.bin
# `head` closing its pipe is expected here: no pipefail while generating.
set +o pipefail
cat /usr/bin/* 2>/dev/null | head -c $block > "$code"
: > "$src"
for (( i = 0; i < blocks; i++ )); do
    case $(( i % 4 )) in
        0) head -c $block /dev/urandom ;;
        1) head -c $block /dev/zero ;;
        2) cat "$code" /dev/zero | head -c $block ;;
        3) yes "platter E01 benchmark: the quick brown fox jumps over the lazy dog $i" | head -c $block ;;
    esac >> "$src"
done
set -o pipefail
sync

run_timed() { # label, command… ; prints the time and MB/s
    local label=$1; shift
    sync
    local t0 t1
    t0=$(now_ns)
    "$@" > "$work/$label.out" 2>&1 || { cat "$work/$label.out"; die "$label failed"; }
    sync
    t1=$(now_ns)
    printf '%-34s %8s s  %6s MB/s\n' "$label" "$(secs $((t1 - t0)))" "$(mbps "$bytes" $((t1 - t0)))"
}

echo "== write (fast compression, MD5 + SHA-1)"
rm -f "$work"/ref.E* "$work"/ours.E*
run_timed "ewfacquire -u -c fast" ewfacquire -u -q -c fast -d sha1 -t "$work/ref" "$src"
if [[ $ACQUIRE == 1 ]]; then
    run_timed "platter acquire --format e01" \
        "$platter" acquire "$src" -o "$work/ours.E01" --format e01 --compression fast --hash md5,sha1
else
    run_timed "platter EwfWriter (e01_write)" \
        "$bin/examples/e01_write" "$src" "$work/ours.E01" fast 1503238553 "$THREADS"
fi
ls -l "$work"/ref.E* "$work"/ours.E* | awk '{ print "   ", $5, $9 }'

echo "== read + hash (MD5 + SHA-1)"
run_timed "ewfverify (ewfacquire's image)" ewfverify -q -d sha1 "$work/ref.E01"
run_timed "ewfverify (platter's image)" ewfverify -q -d sha1 "$work/ours.E01"
if [[ $VERIFY == 1 ]]; then
    run_timed "platter verify (platter's image)" "$platter" verify "$work/ours.E01"
else
    run_timed "EwfImage hash (ewfacquire's)" "$bin/examples/e01_hash" "$work/ref.E01"
    run_timed "EwfImage hash (platter's)" "$bin/examples/e01_hash" "$work/ours.E01"
fi

# Agreement: every tool computed the same MD5.
want=$(md5sum < "$src" | cut -d' ' -f1)
for f in "ewfverify (ewfacquire's image)" "ewfverify (platter's image)"; do
    grep -q "SUCCESS" "$work/$f.out" || die "$f did not report SUCCESS"
    grep -q "$want" "$work/$f.out" || die "$f computed another MD5 than md5sum ($want)"
done
echo "== all digests agree with md5sum: $want"
