#!/usr/bin/env bash
# Builds one content image for the RAID inference accuracy harness
# (crates/platter-raid-infer/tests/accuracy.rs, docs/inference-accuracy.md):
# a real file system made by the real tools, filled with varied files, or a
# raw-data image.
#
#   make-content.sh KIND SIZE_BYTES FILL_PCT SEED OUT_A [OUT_B]
#
# KIND      ext4 | vfat | ntfs | raw-random | raw-text, with an optional
#           partition table around a file system: ext4+gpt, vfat+mbr, …
#           (the file system then starts at 1 MiB).
# FILL_PCT  how full to make the file system (10–90), or for raw-text how
#           much of the image is text (the rest stays zero).
# SEED      picks the files (bash's RANDOM is seeded with it), the volume
#           serials and partition GUIDs. Random file bodies come from
#           /dev/urandom, and the pool of files is whatever this machine
#           has in /usr/share/doc, /usr/share/common-licenses and /usr/bin,
#           so an image is reproducible only on the same machine: the
#           harness caches what it builds.
# OUT_B     when given, a later state of the same volume: 5–20 % of the
#           files rewritten in place with new contents (debugfs / mcopy -o /
#           ntfscp) and a few new files added; for raw kinds 5–20 % of the
#           4 KiB blocks rewritten in a few runs. The harness stripes OUT_A
#           for a stale member and OUT_B for the rest.
#
# No mounting: mkfs.ext4 -d, mkfs.vfat + mcopy, mkntfs + ntfscp, sfdisk,
# sgdisk. Output files are written to a temporary name and renamed.
set -euo pipefail

kind=${1:?kind} size=${2:?size} fill=${3:?fill} seed=${4:?seed} out_a=${5:?out_a}
out_b=${6:-}
fs=${kind%%+*}
table=
[[ $kind == *+* ]] && table=${kind#*+}

RANDOM=$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/platter-content.XXXXXX")
trap 'rm -rf "$work"' EXIT

# No $(…) around these: a subshell reseeds RANDOM, and the sequence must
# stay reproducible. Results go to globals.
rnd() { R=$(((RANDOM << 15 | RANDOM) % $1)); } # R = 0 … $1-1
hex() { # HEX = $1 hex digits
    HEX=
    while ((${#HEX} < $1)); do HEX+=$(printf '%04x' $RANDOM); done
    HEX=${HEX:0:$1}
}
uuid() { hex 32; UUID="${HEX:0:8}-${HEX:8:4}-4${HEX:13:3}-8${HEX:17:3}-${HEX:20:12}"; }

# --- the pool of real files -------------------------------------------------
mapfile -t texts < <(find /usr/share/common-licenses /usr/share/doc -type f \
    \( -name 'copyright' -o -name 'README*' -o -name '*.txt' -o -path '*/common-licenses/*' \) \
    ! -name '*.gz' -size -2M 2>/dev/null | sort)
mapfile -t gzs < <(find /usr/share/doc -type f -name '*.gz' -size -4M 2>/dev/null | sort)
mapfile -t bins < <(find /usr/bin -maxdepth 1 -type f -size -8M 2>/dev/null | sort)
# Minimal containers drop /usr/share/doc: fall back to /etc for text, and
# compress some of the pool ourselves for already-compressed files.
if ((${#texts[@]} < 20)); then
    mapfile -t -O "${#texts[@]}" texts < <(find /etc -type f -size -1024k -readable 2>/dev/null |
        xargs -r grep -lI . 2>/dev/null | sort | head -500)
fi
if ((${#gzs[@]} < 20)); then
    mkdir -p "$work/pool"
    for ((j = 0; j < 40 && j < ${#texts[@]} + ${#bins[@]}; j++)); do
        if ((j % 2 == 0 && j / 2 < ${#texts[@]})); then src=${texts[$((j / 2))]}; else src=${bins[$j]}; fi
        gzip -9 -c "$src" > "$work/pool/$j.gz" && gzs+=("$work/pool/$j.gz")
    done
fi
((${#texts[@]} && ${#gzs[@]} && ${#bins[@]})) || { echo "make-content: empty file pool" >&2; exit 1; }

# Writes one file of a random kind, at most $2 bytes, to $1; SZ = its size.
one_file() {
    local dest=$1 cap=$2 r src
    rnd 100
    r=$R
    if ((r < 30)); then
        rnd ${#texts[@]}
        src=${texts[$R]}
    elif ((r < 55)); then
        rnd ${#bins[@]}
        src=${bins[$R]}
    elif ((r < 75)); then
        rnd ${#gzs[@]}
        src=${gzs[$R]}
    else
        rnd $((cap > 8192 ? cap - 4096 : 4096))
        SZ=$((4096 + R))
        if ((r < 90)); then
            head -c "$SZ" /dev/urandom > "$dest"
        else
            head -c "$SZ" /dev/zero > "$dest"
        fi
        return
    fi
    SZ=$(stat -c %s "$src")
    if ((SZ > cap)); then
        head -c "$cap" "$src" > "$dest"
        SZ=$cap
    else
        cp "$src" "$dest"
    fi
}

# Fills directory $1 with about $2 bytes of files ($3: flat, for ntfscp).
fill_dir() {
    local dir=$1 target=$2 flat=${3:-} total=0 i=0 sub cap
    # Files of a few hundred at most, so tiny and huge images both work.
    cap=$((target / 6 > 4096 ? target / 6 : 4096))
    ((cap > 64 << 20)) && cap=$((64 << 20))
    mkdir -p "$dir"
    while ((total < target && i < 5000)); do
        sub=$dir
        if [[ -z $flat ]]; then
            rnd 6
            sub=$dir/d$R
            mkdir -p "$sub"
        fi
        rnd 1000
        one_file "$sub/f$i.$R" $((target - total < cap ? target - total + 4096 : cap))
        total=$((total + SZ))
        i=$((i + 1))
    done
}

fs_bytes=$size
offset=0
if [[ -n $table ]]; then
    offset=$((1 << 20))
    fs_bytes=$((size - 2 * (1 << 20)))
fi
target=$((fs_bytes / 100 * fill))

# Makes file system image $2 from staging directory $1 (ext4, vfat); for
# ntfs, $1 is the list of files to copy.
fsimg=$work/fs.img
build_fs() {
    local stage=$1 img=$2
    rm -f "$img"
    truncate -s "$fs_bytes" "$img"
    case $fs in
    ext4)
        # -d copies the tree without mounting; fixed UUID, hash seed and time.
        E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -U "$fs_uuid" \
            -E "hash_seed=$fs_uuid,root_owner=0:0" -d "$stage" "$img"
        ;;
    vfat)
        mkfs.vfat -i "$vol_id" -n PLATTER "$img" > /dev/null
        MTOOLS_SKIP_CHECK=1 mcopy -s -Q -m -i "$img" "$stage"/* ::/
        ;;
    ntfs)
        mkntfs -F -f -q -s 512 -c 4096 -p $((offset / 512)) -H 255 -S 63 -L PLATTER "$img" 2> /dev/null
        local f
        for f in "$stage"/*; do
            ntfscp -q "$img" "$f" "$(basename "$f")" 2> /dev/null || break
        done
        ;;
    *)
        echo "make-content: unknown kind $kind" >&2
        exit 2
        ;;
    esac
}

# Wraps $1 (a file system image) in the partition table into $2.
wrap() {
    local img=$1 out=$2
    if [[ -z $table ]]; then
        mv "$img" "$out"
        return
    fi
    rm -f "$out"
    truncate -s "$size" "$out"
    case $table in
    mbr)
        printf 'label: dos\nlabel-id: 0x%s\nstart=2048, size=%d, type=%s\n' \
            "$mbr_id" $((fs_bytes / 512)) "$([[ $fs == ext4 ]] && echo 83 || echo 7)" |
            sfdisk -q "$out"
        ;;
    gpt)
        sgdisk -U "$disk_guid" -n "1:2048:+$((fs_bytes / 512 - 1))" -u "1:$part_guid" \
            -t "1:$([[ $fs == ext4 ]] && echo 8300 || echo 0700)" "$out" > /dev/null
        ;;
    *)
        echo "make-content: unknown partition table $table" >&2
        exit 2
        ;;
    esac
    dd if="$img" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$img"
}

uuid
fs_uuid=$UUID
hex 8
vol_id=$HEX
hex 8
mbr_id=$HEX
uuid
disk_guid=$UUID
uuid
part_guid=$UUID

case $fs in
raw-random)
    head -c "$size" /dev/urandom > "$work/a.img"
    ;;
raw-text)
    : > "$work/a.img"
    while (($(stat -c %s "$work/a.img") < size * fill / 100)); do
        batch=()
        for ((j = 0; j < 64; j++)); do
            rnd ${#texts[@]}
            batch+=("${texts[$R]}")
        done
        cat "${batch[@]}" >> "$work/a.img"
    done
    truncate -s "$size" "$work/a.img"
    ;;
ext4 | vfat | ntfs)
    # File-system overhead (journal, FATs, MFT, inode tables) eats into
    # small images: aim lower, and drop files until the tree fits.
    target=$((target * 85 / 100))
    fill_dir "$work/stage" "$target" "$([[ $fs == ntfs ]] && echo flat)"
    for attempt in 1 2 3 4 5 6; do
        if build_fs "$work/stage" "$fsimg" 2> "$work/err"; then
            break
        fi
        ((attempt == 6)) && { cat "$work/err" >&2; exit 1; }
        # Too full: remove about a fifth of the files.
        find "$work/stage" -type f | sort | awk 'NR % 5 == 0' | xargs -r rm -f
    done
    cp --sparse=always "$fsimg" "$work/fs-a.img"
    ;;
*)
    echo "make-content: unknown kind $kind" >&2
    exit 2
    ;;
esac

# --- the later state (B) ----------------------------------------------------
if [[ -n $out_b ]]; then
    rnd 16
    pct=$((5 + R))
    case $fs in
    raw-random | raw-text)
        cp --sparse=always "$work/a.img" "$work/b.img"
        blocks=$((size / 4096))
        todo=$((blocks * pct / 100))
        while ((todo > 0)); do
            rnd $((todo < 256 ? todo : 256))
            run=$((1 + R))
            rnd $((blocks - run + 1))
            at=$R
            head -c $((run * 4096)) /dev/urandom |
                dd of="$work/b.img" bs=4096 seek="$at" conv=notrunc status=none
            todo=$((todo - run))
        done
        ;;
    ext4 | vfat | ntfs)
        cp --sparse=always "$work/fs-a.img" "$fsimg"
        mapfile -t files < <(cd "$work/stage" && find . -type f | sed 's|^\./||' | sort)
        # Rewrite files until about pct % of the staged bytes changed.
        goal=$(du -sb "$work/stage" | cut -f1)
        goal=$((goal * pct / 100))
        done_bytes=0
        : > "$work/debugfs.cmd"
        for ((j = 0; done_bytes < goal && j < 2000; j++)); do
            rnd ${#files[@]}
            f=${files[$R]}
            old=$(stat -c %s "$work/stage/$f")
            new=$work/new$j
            # Same size where possible: a rewrite, as an application would.
            one_file "$new" $((old > 4096 ? old : 4096))
            done_bytes=$((done_bytes + old))
            case $fs in
            ext4) # debugfs writes into its current directory.
                printf 'cd /%s\nrm %s\nwrite %s %s\ncd /\n' "$(dirname "$f")" "$(basename "$f")" \
                    "$new" "$(basename "$f")" >> "$work/debugfs.cmd" ;;
            vfat) MTOOLS_SKIP_CHECK=1 mcopy -o -Q -i "$fsimg" "$new" "::/$f" ;;
            ntfs) ntfscp -q "$fsimg" "$new" "$f" 2> /dev/null || true ;;
            esac
        done
        # And a couple of new files.
        for ((j = 0; j < 2; j++)); do
            new=$work/add$j
            one_file "$new" $((target / 50 > 4096 ? target / 50 : 4096))
            case $fs in
            ext4) printf 'write %s /new%d\n' "$new" "$j" >> "$work/debugfs.cmd" ;;
            vfat) MTOOLS_SKIP_CHECK=1 mcopy -o -Q -i "$fsimg" "$new" "::/new$j" 2> /dev/null || true ;;
            ntfs) ntfscp -q "$fsimg" "$new" "new$j" 2> /dev/null || true ;;
            esac
        done
        if [[ $fs == ext4 ]]; then
            E2FSPROGS_FAKE_TIME=1700100000 debugfs -w -f "$work/debugfs.cmd" "$fsimg" > /dev/null 2>&1
        fi
        wrap "$fsimg" "$work/b.img"
        ;;
    esac
    mv "$work/b.img" "$out_b.tmp.$$"
fi

if [[ -f $work/fs-a.img ]]; then
    wrap "$work/fs-a.img" "$work/a.img"
fi
mv "$work/a.img" "$out_a.tmp.$$"
[[ -n $out_b ]] && mv "$out_b.tmp.$$" "$out_b"
mv "$out_a.tmp.$$" "$out_a"
