#!/usr/bin/env bash
# Speed of `platter raid detect` on big members (issue 6: 4 members × 1 GiB
# under 3 s reading under 5 % of the bytes; 8 members under 10 s; memory
# flat).
#
# Builds an ext4 file system filled with mixed files (text, binaries,
# compressed, random), stripes it as md RAID5 left-symmetric (64 KiB chunk,
# 1 MiB data offset) with a small independent Python striper, drops the
# page cache when allowed, and times detection with /usr/bin/time.
#
#   SIZE=1G MEMBERS="4 8" bash benches/infer_speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE="${SIZE:-1G}"
MEMBERS="${MEMBERS:-4 8}"
WORK="${WORK:-$(mktemp -d /tmp/platter-infer-bench.XXXXXX)}"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

cargo build --release -q -p platter-cli
PLATTER="$PWD/target/release/platter"

bytes() { numfmt --from=iec "$1"; }
member_bytes=$(bytes "$SIZE")

mkdir -p "$WORK/content"
# Mixed content: text, binaries, compressed data, random data.
cp -r /usr/share/common-licenses "$WORK/content/" 2>/dev/null || true
cp -r /usr/share/doc "$WORK/content/doc" 2>/dev/null || true
cp /usr/bin/[a-f]* "$WORK/content/" 2>/dev/null || true
head -c 64M /dev/urandom > "$WORK/content/random.bin"

for n in $MEMBERS; do
    data=$((n - 1))
    fs_bytes=$(( (member_bytes - (1 << 20)) * data ))
    img="$WORK/fs-$n.img"
    truncate -s "$fs_bytes" "$img"
    mkfs.ext4 -q -F -d "$WORK/content" "$img"
    python3 - "$img" "$n" "$member_bytes" "$WORK/m$n" <<'EOF'
import sys
src, n, member_bytes, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
chunk, off = 64 << 10, 1 << 20
outs = [open(f"{prefix}-{i}.img", "wb") for i in range(n)]
for o in outs:
    o.truncate(member_bytes)
    o.seek(off)
data = n - 1
rows = (member_bytes - off) // chunk
with open(src, "rb") as f:
    for r in range(rows):
        buf = f.read(chunk * data)
        if not buf:
            break
        buf = buf.ljust(chunk * data, b"\0")
        pd = data - (r % n)          # left-symmetric: parity walks backwards
        chunks = [buf[i * chunk:(i + 1) * chunk] for i in range(data)]
        par = 0
        for c in chunks:
            par ^= int.from_bytes(c, "little")
        row = [None] * n
        row[pd] = par.to_bytes(chunk, "little")
        for d in range(data):
            row[(pd + 1 + d) % n] = chunks[d]
        for i in range(n):
            outs[i].seek(off + r * chunk)
            outs[i].write(row[i])
for o in outs:
    o.close()
EOF
    rm -f "$img"
    # Shuffle the member names so the order must be found.
    members=$(ls "$WORK"/m$n-*.img | shuf --random-source=<(yes))
    sync
    echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(page cache not dropped: not allowed here)"
    echo "== $n members × $SIZE (RAID5 left-symmetric, 64K chunk, 1 MiB offset)"
    /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$PLATTER" raid detect $members --json \
        > "$WORK/report-$n.json"
    python3 - "$WORK/report-$n.json" "$member_bytes" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["candidates"][0] if r["candidates"] else {}
print(f"verdict {r['verdict']['kind']}: {c.get('level')} {c.get('layout')} chunk {c.get('chunk_bytes')} offset {c.get('data_offset_bytes')}")
if r['verdict'].get('reason'):
    print("  reason:", r['verdict']['reason'][:400])
print(f"read {r['sampled_bytes_per_member']} bytes per member = {100 * r['sampled_bytes_per_member'] / int(sys.argv[2]):.2f}% of each member")
EOF
    [ -n "${KEEP:-}" ] || rm -f "$WORK"/m$n-*.img
done
