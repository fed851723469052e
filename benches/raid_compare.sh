#!/usr/bin/env bash
# Times `platter raid assemble` against `cat` of the members, the I/O limit,
# on RAID5 and RAID6 member images made here, and checks what it assembles.
#
#   cat     cat R5/m0 … R5/m3 > /dev/null                   (4 × SIZE bytes)
#   dd      the same with dd bs=4M, platter's read size      (informational)
#   r5      platter raid assemble R5/m0 … m3 --level 5 …    (intact, 3 × SIZE)
#   r5-1    the same without m2: --order 0,1,missing,2       (XOR rebuild)
#   r6-2    RAID6 of 5 members without m1 and m3:
#           --order 0,missing,1,missing,2                    (P+Q rebuild)
#   r5-hashed  r5 with platter's default digests (MD5 + SHA-256), informational
#
# The timed cases pass `--hash none`: what is measured is the RAID engine
# and the copy, not MD5 (which alone runs at ~0.5 GB/s per core).
#
# All arrays are left-symmetric with 64 KiB chunks and 3 data members per
# row, so every array holds the same 3 × SIZE logical bytes. The members are
# striped here from an AES-CTR keystream (incompressible) by a small python3
# script written straight from the kernel's raid5_compute_sector() and the
# RAID-6 Q syndrome (Q = ⊕ 2^j·Dj over GF(2^8), polynomial 0x11d); it is
# independent of platter's engine and prints the sha256 of the logical data.
#
# Everything runs from a warm page cache (the members are read once before
# timing): dropping caches is not reliable on shared machines, so `cat` is
# the speed of copying cached pages, i.e. a memory-bandwidth limit, and the
# ratios are as strict as they can be.
#
# Throughput of a platter case = array bytes written / seconds; of cat =
# member bytes read / seconds. ratio = platter MB/s / cat MB/s.
# Targets (issue 5): r5 ≥ 0.8, r5-1 ≥ 0.6, r6-2 ≥ 0.4; memory flat (peak
# RSS of platter is printed and must stay under RSS_LIMIT_MB whatever SIZE).
#
# Usage:  bash benches/raid_compare.sh
# Environment:
#   SIZE=1G         bytes per member (numfmt IEC: 256M, 1G, 4G …; ≥ 1M)
#   RUNS=3          timed runs of each case; the best is reported
#   CHECK=1         0: skip the (untimed) sha256 check of each case's output
#   RSS_LIMIT_MB=256  the peak RSS above which memory is called not flat
#   WORKDIR=…       where members go (default a temp dir, removed at exit
#                   unless KEEP=1); needs 9 × SIZE free, 13 × SIZE with
#                   WITH_DISSECT=1
#   PLATTER=…       a platter binary to use instead of building one
#   PRELOAD=…       a library to LD_PRELOAD into platter only, e.g.
#                   /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 (whose large
#                   allocations are page-aligned: see docs/benchmarks.md)
#   HASH=none       the --hash list of the timed cases; `default` for none
#                   given (a platter refusing `none` falls back to that)
#   WITH_DISSECT=1  also compare with dissect.volume (python3 module, `pip
#                   install dissect.volume`) on the real md RAID5 array
#                   fixtures/raid/r5-defoff (metadata 1.2), DISSECT_REPS=20
#                   reads of it on each side, and on a 3 × SIZE md RAID5
#                   made of its superblocks and the RAID5 members (part 4)
#
# Exit status: 0 when every case ran, its output matched and every target
# was met; 1 on a mismatch or error; 3 when a target was missed; 2 when the
# platter binary has no `raid assemble` yet (cat is still timed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
CHECK=${CHECK:-1}
KEEP=${KEEP:-0}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-256}
WITH_DISSECT=${WITH_DISSECT:-0}
DISSECT_REPS=${DISSECT_REPS:-20}
CHUNK=65536

die() { echo "raid_compare.sh: $*" >&2; exit 1; }
for tool in python3 numfmt cat awk dd; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done

member=$(numfmt --from=iec "$SIZE") || die "cannot parse SIZE=$SIZE"
member=$(( member / CHUNK * CHUNK ))
(( member >= 1 << 20 )) || die "SIZE must be at least 1M"
array=$(( 3 * member ))

if [[ -n ${WORKDIR:-} ]]; then
    mkdir -p "$WORKDIR"
    work=$WORKDIR
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/platter-raid-compare.XXXXXX")
    if [[ $KEEP != 1 ]]; then
        trap 'rm -rf "$work"' EXIT
    fi
fi

now_ns() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# --- 1. Members: RAID5 (4) and RAID6 (5), striped from one logical stream.
cat > "$work/stripe.py" <<'PY'
"""Stripes stdin (3 × member bytes) into md left-symmetric RAID5 (4 members)
and RAID6 (5 members), 64 KiB chunks; prints the sha256 of the input and
of its first member-size bytes.

Placement, from drivers/md/raid5.c raid5_compute_sector(), ALGORITHM_LEFT_SYMMETRIC:
  RAID5: pd = data_disks - row % n;      data j on (pd + 1 + j) % n
  RAID6: pd = n - 1 - row % n; qd = (pd + 1) % n; data j on (pd + 2 + j) % n
md-native RAID6 numbers data disks from the one after Q, so data j has
Q coefficient 2^j (lib/raid6: Q = sum 2^j D_j over GF(2^8), poly 0x11d).
Multiplication by 2 runs on a whole chunk held as one integer, byte lanes
masked as the kernel's lib/raid6/int.uc does with machine words.
"""
import hashlib
import sys

CHUNK = 65536
member, out = int(sys.argv[1]), sys.argv[2]
LOW7 = int.from_bytes(b"\x7f" * CHUNK, "little")
HIGH = int.from_bytes(b"\x80" * CHUNK, "little")


def mul2(x):
    return ((x & LOW7) << 1) ^ (((x & HIGH) >> 7) * 0x1D)


r5 = [open(f"{out}/r5-m{i}.img", "wb", buffering=1 << 20) for i in range(4)]
r6 = [open(f"{out}/r6-m{i}.img", "wb", buffering=1 << 20) for i in range(5)]
digest, prefix, left = hashlib.sha256(), hashlib.sha256(), member
src = sys.stdin.buffer
for row in range(member // CHUNK):
    raw = src.read(3 * CHUNK)
    if len(raw) != 3 * CHUNK:
        sys.exit("stripe.py: short input")
    digest.update(raw)
    if left > 0:  # the first `member` bytes: what dissect.volume exposes
        prefix.update(raw[:left])
        left -= min(left, len(raw))
    d = [raw[j * CHUNK:(j + 1) * CHUNK] for j in range(3)]
    x = [int.from_bytes(b, "little") for b in d]
    p = (x[0] ^ x[1] ^ x[2]).to_bytes(CHUNK, "little")
    q = (mul2(mul2(x[2]) ^ x[1]) ^ x[0]).to_bytes(CHUNK, "little")
    n = 4
    pd = (n - 1) - row % n
    blocks = [b""] * n
    blocks[pd] = p
    for j in range(3):
        blocks[(pd + 1 + j) % n] = d[j]
    for f, b in zip(r5, blocks):
        f.write(b)
    n = 5
    pd = n - 1 - row % n
    blocks = [b""] * n
    blocks[pd], blocks[(pd + 1) % n] = p, q
    for j in range(3):
        blocks[(pd + 2 + j) % n] = d[j]
    for f, b in zip(r6, blocks):
        f.write(b)
for f in r5 + r6:
    f.close()
print(digest.hexdigest(), prefix.hexdigest())
PY

echo "== striping 4 + 5 members of $(numfmt --to=iec "$member") in $work"
t0=$(now_ns)
if command -v openssl >/dev/null; then
    # openssl dies of SIGPIPE when head has enough; stripe.py checks the length.
    read -r want_sha want_prefix_sha < <( (openssl enc -aes-128-ctr -K 706c61747465722d72616964636d7021 -iv 0 \
        -in /dev/zero 2>/dev/null || true) | head -c "$array" \
        | python3 "$work/stripe.py" "$member" "$work")
else
    read -r want_sha want_prefix_sha < <(head -c "$array" /dev/urandom \
        | python3 "$work/stripe.py" "$member" "$work")
fi
[[ -n ${want_prefix_sha:-} ]] || die "could not make the members"
echo "   done in $(secs $(( $(now_ns) - t0 ))) s; logical sha256 $want_sha"
R5=("$work"/r5-m{0,1,2,3}.img)
R6=("$work"/r6-m{0,1,2,3,4}.img)

# --- 2. platter, built in release.
if [[ -z ${PLATTER:-} ]]; then
    echo "== building platter (release)"
    (cd "$ROOT" && cargo build --release -p platter-cli --quiet)
    PLATTER=${CARGO_TARGET_DIR:-$ROOT/target}/release/platter
fi
[[ -x $PLATTER ]] || die "no platter binary at $PLATTER"
RUN_PLATTER=("$PLATTER")
if [[ -n ${PRELOAD:-} ]]; then
    [[ -r $PRELOAD ]] || die "PRELOAD=$PRELOAD: no such library"
    RUN_PLATTER=(env "LD_PRELOAD=$PRELOAD" "$PLATTER")
fi
have_assemble=1
"$PLATTER" raid assemble --help >/dev/null 2>&1 || have_assemble=0

# The cases. case_cmd NAME sets CMD to the platter command line of case NAME
# (its output goes to standard output, `-o -`, which the callers redirect:
# no file is created and no character device is fsynced).
GEO=(--layout left-symmetric --chunk 64K)
HASH_ARGS=()
case_cmd() {
    case $1 in
        r5 | r5-hashed) CMD=("${R5[@]}" --level 5 "${GEO[@]}") ;;
        r5-1) CMD=("${R5[0]}" "${R5[1]}" "${R5[3]}" --level 5 "${GEO[@]}" --order 0,1,missing,2) ;;
        r6-2) CMD=("${R6[0]}" "${R6[2]}" "${R6[4]}" --level 6 "${GEO[@]}" --order 0,missing,1,missing,2) ;;
        *) die "unknown case $1" ;;
    esac
    if [[ $1 != r5-hashed ]]; then CMD+=("${HASH_ARGS[@]}"); fi
    CMD=("${RUN_PLATTER[@]}" raid assemble "${CMD[@]}" -o -)
}
CASES=(r5 r5-1 r6-2)
declare -A TARGET=([r5]=0.8 [r5-1]=0.6 [r6-2]=0.4)
declare -A LABEL=([r5]="RAID5 intact" [r5-1]="RAID5, 1 missing" [r6-2]="RAID6, 2 missing"
    [r5-hashed]="RAID5 intact, default md5+sha256")

# --- 3. Warm the page cache: every member once.
cat "${R5[@]}" "${R6[@]}" > /dev/null

best_of() { # best_of CMD…: best wall time in ns of RUNS runs
    local best_ns="" ns t0 i
    for (( i = 0; i < RUNS; i++ )); do
        t0=$(now_ns)
        "$@"
        ns=$(( $(now_ns) - t0 ))
        if [[ -z $best_ns ]] || (( ns < best_ns )); then best_ns=$ns; fi
    done
    echo "$best_ns"
}

cat_members() { cat "${R5[@]}" > /dev/null; }
echo "== timing cat of the 4 RAID5 members (the I/O limit), best of $RUNS"
cat_ns=$(best_of cat_members)
cat_mbps=$(mbps $(( 4 * member )) "$cat_ns")
printf '   cat: %s s, %s MB/s\n' "$(secs "$cat_ns")" "$cat_mbps"
# The same reads in platter's 4 MiB blocks: a buffer that no longer fits in
# the CPU caches, as platter's does not (informational, no target).
dd_members() {
    local f
    for f in "${R5[@]}"; do dd if="$f" of=/dev/null bs=4M status=none; done
}
echo "== timing dd bs=4M of the same members, best of $RUNS"
dd_ns=$(best_of dd_members)
printf '   dd:  %s s, %s MB/s\n' "$(secs "$dd_ns")" "$(mbps $(( 4 * member )) "$dd_ns")"

if [[ $have_assemble == 0 ]]; then
    echo "!! $PLATTER has no 'raid assemble' command yet: platter cases skipped" >&2
    exit 2
fi

# What is timed is the RAID engine, so digests are off (`--hash none`) unless
# HASH says otherwise; r5-hashed times the default (MD5 + SHA-256) once.
case ${HASH:-none} in
    default) HASH_ARGS=() ;;
    *) HASH_ARGS=(--hash "${HASH:-none}") ;;
esac
if [[ ${#HASH_ARGS[@]} -gt 0 ]]; then
    case_cmd r5
    if ! "${CMD[@]}" > /dev/null 2> "$work/hash-probe.log"; then
        echo "!! platter refused '${HASH_ARGS[*]}' ($(head -n1 "$work/hash-probe.log")):" \
            "timing with its default digests instead" >&2
        HASH_ARGS=()
    fi
fi
if [[ ${#HASH_ARGS[@]} -gt 0 && ${HASH:-none} == none ]]; then CASES+=(r5-hashed); fi
hash_note=${HASH_ARGS[*]:-"default digests (md5,sha256)"}

assemble() { case_cmd "$1"; "${CMD[@]}" > /dev/null 2> "$work/$1.log"; }
peak_rss_kb() { # peak RSS of one run, in KiB
    case_cmd "$1"
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -f '%M' -o "$work/$1.rss" "${CMD[@]}" > /dev/null 2> "$work/$1.log"
        tail -n1 "$work/$1.rss"
    else # poll /proc/PID/status for VmHWM (the peak) until the process ends
        "${CMD[@]}" > /dev/null 2> "$work/$1.log" &
        local pid=$! hwm=0 v
        while :; do # a zombie (ended, not yet waited for) has no VmHWM line
            v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
            [[ -n $v ]] || break
            if (( v > hwm )); then hwm=$v; fi
            sleep 0.02
        done
        wait "$pid"
        echo "$hwm"
    fi
}

status=0
declare -A NS RSS RATIO
for c in "${CASES[@]}"; do
    echo "== timing platter raid assemble: ${LABEL[$c]}, best of $RUNS"
    assemble "$c" || { cat "$work/$c.log" >&2; die "platter raid assemble failed ($c)"; }
    NS[$c]=$(best_of assemble "$c")
    RSS[$c]=$(peak_rss_kb "$c")
    RATIO[$c]=$(awk -v a="$(mbps "$array" "${NS[$c]}")" -v c="$cat_mbps" \
        'BEGIN { printf "%.2f", a / c }')
    printf '   %s s, %s MB/s, %.2fx cat, peak RSS %s MiB\n' "$(secs "${NS[$c]}")" \
        "$(mbps "$array" "${NS[$c]}")" "${RATIO[$c]}" $(( RSS[$c] / 1024 ))
    if [[ $CHECK == 1 && $c != r5-hashed ]]; then
        case_cmd "$c"
        got=$("${CMD[@]}" 2>> "$work/$c.log" \
            | python3 -c 'import hashlib, sys; print(hashlib.file_digest(sys.stdin.buffer, "sha256").hexdigest())')
        if [[ $got == "$want_sha" ]]; then
            echo "   output sha256 matches the logical data"
        else
            echo "MISMATCH ($c): sha256 $got, want $want_sha" >&2
            status=1
        fi
    fi
done

# --- 4. Optional: dissect.volume on md RAID5 with metadata 1.2.
#   (a) the real array fixtures/raid/r5-defoff (9 MiB, made by the kernel):
#       both readers are checked against the kernel's sha256, and each reads
#       it DISSECT_REPS times (platter: one process per read, start-up
#       included; dissect: one python process, import and open excluded);
#   (b) at scale: the kernel's superblocks of r5-defoff grafted onto the
#       RAID5 members above (size fields patched, checksum recomputed, data
#       at md's 1 MiB data offset), read once by each.
# dissect.volume 3.18 reads the array through 64 KiB reads (its chunk size):
# larger reads return wrong bytes (RAID456Stream._read reads `length`, not
# the chunk's remainder), it takes the member size for the array size (so
# it exposes the first third of a 4-member RAID5), and it cannot read a
# degraded set (KeyError on the missing member).
dissect_line=""
if [[ $WITH_DISSECT == 1 ]]; then
    python3 -c 'import dissect.volume.md.md' 2>/dev/null \
        || die "WITH_DISSECT=1 needs the python3 module: pip install dissect.volume"
    command -v xz >/dev/null || die "WITH_DISSECT=1 needs xz"
    fx=$work/r5-defoff
    mkdir -p "$fx"
    for i in 0 1 2 3; do
        xz -dc "$ROOT/fixtures/raid/r5-defoff/m$i.img.xz" > "$fx/m$i.img"
    done
    fx_sha=$(python3 -c 'import json, sys
print(next(a["sha256"] for a in json.load(open(sys.argv[1]))["arrays"] if a["name"] == "r5-defoff"))' \
        "$ROOT/fixtures/raid/manifest.json")
    cat > "$work/dissect_read.py" <<'PY'
"""Reads an md set with dissect.volume: REPS timed reads of the whole
virtual disk in 64 KiB reads, then (CHECK=1) one more read hashed.
Prints: bytes read per rep, ns for all reps, virtual disk size, sha256."""
import hashlib, sys, time
from dissect.volume.md.md import MD
reps, check, paths = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
vd = MD([open(p, "rb") for p in paths]).configurations[0].virtual_disks[0]
def read_all(h=None):
    s, n = vd.open(), 0
    while True:
        b = s.read(65536)
        if not b:
            return n
        n += len(b)
        if h:
            h.update(b)
t0 = time.perf_counter_ns()
for _ in range(reps):
    n = read_all()
ns = time.perf_counter_ns() - t0
h = hashlib.sha256()
if check:
    read_all(h)
print(n, ns, vd.size, h.hexdigest() if check else "-")
PY
    sha_file() { # sha256 of the first $2 bytes of file $1 (all without $2)
        python3 -c 'import hashlib, sys
h, left = hashlib.sha256(), int(sys.argv[2]) if len(sys.argv) > 2 else None
with open(sys.argv[1], "rb") as f:
    while left is None or left > 0:
        b = f.read(1 << 20 if left is None else min(1 << 20, left))
        if not b:
            break
        h.update(b)
        left = None if left is None else left - len(b)
print(h.hexdigest())' "$@"
    }

    # (a) the real array.
    echo "== dissect.volume vs platter on fixtures/raid/r5-defoff, $DISSECT_REPS reads each"
    read -r d_bytes d_ns d_size d_sha < <(python3 "$work/dissect_read.py" "$DISSECT_REPS" 1 "$fx"/m{0,1,2,3}.img)
    fx_args=("$fx"/m{0,1,2,3}.img --level 5 "${GEO[@]}" --offset 1M "${HASH_ARGS[@]}")
    "${RUN_PLATTER[@]}" raid assemble "${fx_args[@]}" -o - > "$fx/array.out" 2> "$fx/platter.log" \
        || { cat "$fx/platter.log" >&2; die "platter raid assemble failed on r5-defoff"; }
    fx_size=$(stat -c %s "$fx/array.out")
    p_sha=$(sha_file "$fx/array.out")
    p_prefix=$(sha_file "$fx/array.out" "$d_size")
    t0=$(now_ns)
    for (( i = 0; i < DISSECT_REPS; i++ )); do
        "${RUN_PLATTER[@]}" raid assemble "${fx_args[@]}" -o - > /dev/null 2>&1
    done
    p_ns=$(( $(now_ns) - t0 ))
    fx_d_mbps=$(mbps $(( d_bytes * DISSECT_REPS )) "$d_ns")
    fx_p_mbps=$(mbps $(( fx_size * DISSECT_REPS )) "$p_ns")
    printf '   dissect.volume: %s of %s bytes, %s MB/s, bytes %s\n' "$d_size" "$fx_size" "$fx_d_mbps" \
        "$([[ $d_sha == "$p_prefix" && $p_sha == "$fx_sha" ]] && echo "= kernel's" || echo "DIFFER")"
    printf '   platter:        %s bytes, %s MB/s (start-up included), sha256 %s\n' \
        "$fx_size" "$fx_p_mbps" "$([[ $p_sha == "$fx_sha" ]] && echo "= kernel's" || echo "DIFFERS")"
    [[ $p_sha == "$fx_sha" ]] || { echo "MISMATCH: platter on r5-defoff" >&2; status=1; }

    # (b) at scale: md 1.2 superblocks grafted onto the RAID5 members.
    echo "== dissect.volume vs platter on a $(numfmt --to=iec "$array") md RAID5 (metadata 1.2)"
    python3 - "$member" "$fx" "$work" <<'PY'
"""Member i = the first MiB of r5-defoff/m{i} (its md 1.2 superblock at
4 KiB, data offset 1 MiB) with size and data_size set to the new member
size (struct mdp_superblock_1, include/uapi/linux/raid/md_p.h), sb_csum
recomputed as calc_sb_1_csum() does, then the RAID5 member's data."""
import shutil, struct, sys
member, fx, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(4):
    head = bytearray(open(f"{fx}/m{i}.img", "rb").read(1 << 20))
    sb = memoryview(head)[4096:]
    assert struct.unpack_from("<I", sb, 0)[0] == 0xA92B4EFC, "no md superblock"
    assert struct.unpack_from("<Q", sb, 128)[0] == 2048, "data offset is not 1 MiB"
    struct.pack_into("<Q", sb, 80, member // 512)   # size (component, sectors)
    struct.pack_into("<Q", sb, 136, member // 512)  # data_size
    n = 256 + 2 * struct.unpack_from("<I", sb, 220)[0]  # + dev_roles[max_dev]
    struct.pack_into("<I", sb, 216, 0)
    total = sum(struct.unpack_from(f"<{n // 4}I", sb))
    if n % 4:
        total += struct.unpack_from("<H", sb, n - 2)[0]
    struct.pack_into("<I", sb, 216, ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF)
    with open(f"{work}/md-m{i}.img", "wb") as out, open(f"{work}/r5-m{i}.img", "rb") as data:
        out.write(head)
        shutil.copyfileobj(data, out, 1 << 20)
PY
    MD=("$work"/md-m{0,1,2,3}.img)
    cat "${MD[@]}" > /dev/null
    read -r d_bytes d_ns d_size d_sha < <(python3 "$work/dissect_read.py" 1 "$CHECK" "${MD[@]}")
    md_read() { "${RUN_PLATTER[@]}" raid assemble "${MD[@]}" --level 5 "${GEO[@]}" --offset 1M "${HASH_ARGS[@]}" -o - > /dev/null 2>&1; }
    p_ns=$(best_of md_read)
    d_mbps=$(mbps "$d_bytes" "$d_ns")
    p_mbps=$(mbps "$array" "$p_ns")
    d_ok="not checked"
    if [[ $CHECK == 1 ]]; then
        d_ok=$([[ $d_sha == "$want_prefix_sha" ]] && echo "= the logical data" || echo "DIFFER")
    fi
    printf '   dissect.volume: %s of %s bytes in %s s, %s MB/s, bytes %s\n' "$d_bytes" "$array" \
        "$(secs "$d_ns")" "$d_mbps" "$d_ok"
    printf '   platter:        %s bytes in %s s, %s MB/s\n' "$array" "$(secs "$p_ns")" "$p_mbps"
    dissect_line=$(awk -v p="$p_mbps" -v d="$d_mbps" -v fp="$fx_p_mbps" -v fd="$fx_d_mbps" \
        'BEGIN { printf "%.1fx at scale, %.1fx on the 9 MiB fixture (target ≥ 20x)", p / d, fp / fd }')
    rm -f "${MD[@]}"
fi

# --- 5. Summary.
echo
echo "member size      : $member bytes; array: $array bytes; warm page cache; $(nproc) CPUs"
echo "platter digests  : $hash_note"
echo "LD_PRELOAD       : ${PRELOAD:-none (glibc malloc)}"
printf '%-33s %9s %9s %7s %8s %9s  %s\n' case seconds MB/s ratio target "RSS MiB" verdict
printf '%-33s %9s %9s %7s %8s %9s  %s\n' "cat 4 members" "$(secs "$cat_ns")" "$cat_mbps" 1.00 - - "I/O limit"
printf '%-33s %9s %9s %7s %8s %9s  %s\n' "dd bs=4M, 4 members" "$(secs "$dd_ns")" \
    "$(mbps $(( 4 * member )) "$dd_ns")" \
    "$(awk -v a="$(mbps $(( 4 * member )) "$dd_ns")" -v c="$cat_mbps" 'BEGIN { printf "%.2f", a / c }')" \
    - - "(no target)"
for c in "${CASES[@]}"; do
    if [[ -z ${TARGET[$c]:-} ]]; then # informational row, no target
        printf '%-33s %9s %9s %7s %8s %9s  %s\n' "${LABEL[$c]}" "$(secs "${NS[$c]}")" \
            "$(mbps "$array" "${NS[$c]}")" "${RATIO[$c]}" - $(( RSS[$c] / 1024 )) "(no target)"
        continue
    fi
    ok=$(awk -v r="${RATIO[$c]}" -v t="${TARGET[$c]}" 'BEGIN { print (r >= t) ? "met" : "MISSED" }')
    if (( RSS[$c] / 1024 > RSS_LIMIT_MB )); then ok="$ok, RSS over ${RSS_LIMIT_MB} MiB"; fi
    if [[ $ok != met && $status == 0 ]]; then status=3; fi
    printf '%-33s %9s %9s %7s %8s %9s  %s\n' "${LABEL[$c]}" "$(secs "${NS[$c]}")" \
        "$(mbps "$array" "${NS[$c]}")" "${RATIO[$c]}" "≥${TARGET[$c]}" $(( RSS[$c] / 1024 )) "$ok"
done
[[ -z $dissect_line ]] || echo "vs dissect.volume: $dissect_line"
exit "$status"
