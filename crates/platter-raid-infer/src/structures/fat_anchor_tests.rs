//! Tests of the FAT table and directory anchors against volumes made by
//! the real tools (mkfs.vfat, mcopy, mdel; mshowfat as the oracle for
//! directory clusters), striped by a tiny independent RAID0 striper, and
//! against data that is not FAT (random, text, zeros, ext4, NTFS, binaries).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;

use super::super::test_support::{run, stripe};
use super::super::{Anchor, AnchorKind, scan_all};
use super::*;

/// Scan window (the sampler reads up to 4 MiB at a time).
const WINDOW: usize = 4 << 20;
/// Where the volume starts in the partitioned variant.
const PART_START: usize = 1 << 20;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tools_missing(tools: &[&str]) -> bool {
    let missing: Vec<_> = tools.iter().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        eprintln!("skipping: {missing:?} not installed");
    }
    !missing.is_empty()
}

/// Deterministic pseudo-random bytes (xorshift), text when `text`.
fn bytes(seed: u64, len: usize, text: bool) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if text {
                b"etaoin shrdlu\n"[(x % 14) as usize]
            } else {
                x as u8
            }
        })
        .collect()
}

/// A FAT volume: the image and its directories (paths inside it).
struct Built {
    image: Vec<u8>,
    dirs: Vec<String>,
}

/// Builds a FAT`bits` volume of `kib` KiB with `spc` sectors per cluster
/// (mkfs.vfat, label PLATTER), fills nested directories with many files
/// (mcopy), deletes some and writes a large file into the holes (so it is
/// fragmented).
fn build(dir: &Path, bits: &str, kib: u64, spc: &str) -> Built {
    let img = dir.join(format!("fat{bits}.img"));
    run(Command::new("mkfs.vfat")
        .args([
            "-F", bits, "-s", spc, "-n", "PLATTER", "-i", "1234ABCD", "-C",
        ])
        .arg(&img)
        .arg(kib.to_string()));
    let stage = dir.join(format!("stage{bits}"));
    let dirs = [
        "d0",
        "d0/sub",
        "d0/sub/deeper",
        "d1",
        "d2",
        "d2/x",
        "d3",
        "d3/a",
        "d3/a/b",
    ];
    for d in dirs {
        std::fs::create_dir_all(stage.join(d)).unwrap();
    }
    let budget = kib * 1024 * 6 / 10;
    let mut total = 0u64;
    let mut i = 0u64;
    while total < budget && i < 600 {
        let len = 300 + (i * 7919 + 13) % 200_000;
        let d = dirs[(i % dirs.len() as u64) as usize];
        std::fs::write(
            stage.join(d).join(format!("F{i:03}.BIN")),
            bytes(i + 1, len as usize, i % 3 == 0),
        )
        .unwrap();
        total += len;
        i += 1;
    }
    let mut m = Command::new("mcopy");
    m.env("MTOOLS_SKIP_CHECK", "1")
        .args(["-s", "-Q", "-i"])
        .arg(&img);
    for e in std::fs::read_dir(&stage).unwrap() {
        m.arg(e.unwrap().path());
    }
    run(m.arg("::/"));
    // Holes, then a file that fills them: a fragmented chain.
    let mut del = Command::new("mdel");
    del.env("MTOOLS_SKIP_CHECK", "1").arg("-i").arg(&img);
    for k in (1..i).step_by(3) {
        let d = dirs[(k % dirs.len() as u64) as usize];
        del.arg(format!("::/{d}/F{k:03}.BIN"));
    }
    run(&mut del);
    let big = dir.join("big.bin");
    std::fs::write(&big, bytes(99, (kib as usize * 1024) / 2, false)).unwrap();
    run(Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(&img)
        .arg(&big)
        .arg("::/BIG.BIN"));
    let out = run(Command::new("mshowfat")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(&img)
        .arg("::/BIG.BIN"));
    assert!(
        out.matches('<').count() > 1,
        "BIG.BIN not fragmented: {out}"
    );
    Built {
        image: std::fs::read(&img).unwrap(),
        dirs: dirs.iter().map(|d| format!("::/{d}")).collect(),
    }
}

/// First clusters of `dirs` in the image at `img`, from mshowfat.
fn first_clusters(img: &Path, dirs: &[String]) -> Vec<u64> {
    let out = run(Command::new("mshowfat")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(img)
        .args(dirs));
    let clusters: Vec<u64> = out
        .lines()
        .map(|l| {
            let s = &l[l.find('<').unwrap() + 1..];
            s[..s.find(['-', '>']).unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(clusters.len(), dirs.len(), "{out}");
    clusters
}

/// Scans `data` as member `member` in [`WINDOW`] buffers with `scan_all`
/// (so FAT anchors see the boot sector) and returns the FAT table and
/// directory anchors.
fn scan_members(members: &[&[u8]]) -> Vec<Anchor> {
    let mut buffers = Vec::new();
    for (m, data) in members.iter().enumerate() {
        for (i, w) in data.chunks(WINDOW).enumerate() {
            buffers.push((m, (i * WINDOW) as u64, w));
        }
    }
    let mut out = Vec::new();
    scan_all(&buffers, &mut out);
    out.retain(|a| is_fat_anchor(a.kind));
    out
}

fn is_fat_anchor(k: AnchorKind) -> bool {
    matches!(
        k,
        AnchorKind::FatTable | AnchorKind::FatTableCopy | AnchorKind::FatDirectory
    )
}

/// The FAT pieces that should anchor, computed independently: the whole
/// first FAT decoded entry by entry, pieces whose whole entries have at
/// least [`MIN_LINKS`] "next = this + 1" links making half of their
/// cluster pointers. Returns the pieces' byte offsets in the FAT.
fn expected_pieces(image: &[u8], b: &FatBoot) -> BTreeSet<u64> {
    let bps = b.bytes_per_sector as usize;
    let fat = &image[b.reserved_sectors as usize * bps..][..b.fat_sectors as usize * bps];
    let bits: u64 = match b.fat_type {
        FatType::Fat12 => 12,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    };
    let entry = |i: u64| -> u64 {
        let i = i as usize;
        match b.fat_type {
            FatType::Fat12 => {
                let w = u64::from(le16(fat, i * 3 / 2));
                if i % 2 == 1 { w >> 4 } else { w & 0xFFF }
            }
            FatType::Fat16 => u64::from(le16(fat, 2 * i)),
            FatType::Fat32 => u64::from(le32(fat, 4 * i)) & 0x0FFF_FFFF,
        }
    };
    let mut pieces = BTreeSet::new();
    for j in 0..(fat.len() / 512) as u64 {
        let first = (4096 * j).div_ceil(bits);
        let end = 4096 * (j + 1) / bits;
        let (mut links, mut pointers) = (0, 0);
        for i in first.max(2)..end {
            let v = entry(i);
            if (2..=b.clusters + 1).contains(&v) {
                pointers += 1;
                links += usize::from(v == i + 1);
            }
        }
        if links >= MIN_LINKS && 2 * links >= pointers {
            pieces.insert(512 * j);
        }
    }
    pieces
}

/// Checks the anchors of a volume at array byte `start` of `array`,
/// where `array_of` maps an anchor to its array offset: every table piece
/// expected is found in both FATs, each with one reading that locates
/// the volume, every directory '.' (and the root's label) is found at
/// the cluster mshowfat names, and nothing else.
fn check_volume(
    built: &Built,
    img: &Path,
    start: u64,
    anchors: &[Anchor],
    array_of: &dyn Fn(&Anchor) -> u64,
) {
    let b = parse_boot(&built.image[..512]).unwrap();
    let v = Volume::new(&built.image[..512]).unwrap();
    assert!(anchors.iter().all(|a| a.fs_key == v.key), "{anchors:?}");
    // Tables: (volume offset of the sector, fs offset claimed) pairs.
    let mut tables = BTreeSet::new();
    for a in anchors
        .iter()
        .filter(|a| a.kind != AnchorKind::FatDirectory)
    {
        tables.insert((array_of(a) - start, a.kind, a.fs_offset));
    }
    let mut want = BTreeSet::new();
    for piece in expected_pieces(&built.image, &b) {
        for copy in [0, v.fat_bytes] {
            let at = v.fat_start + copy + piece;
            want.insert((at, AnchorKind::FatTable, v.fat_start + piece));
            want.insert((
                at,
                AnchorKind::FatTableCopy,
                v.fat_start + v.fat_bytes + piece,
            ));
        }
    }
    assert!(
        want.len() >= 8,
        "{:?}: too few chained FAT pieces",
        b.fat_type
    );
    assert_eq!(tables, want, "{:?}", b.fat_type);
    let dirs: BTreeSet<(u64, u64)> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::FatDirectory)
        .map(|a| (array_of(a) - start, a.fs_offset))
        .collect();
    let mut want: BTreeSet<(u64, u64)> = first_clusters(img, &built.dirs)
        .into_iter()
        .map(|c| {
            let off = v.cluster_at(c).unwrap();
            (off, off)
        })
        .collect();
    want.insert((v.root_start, v.root_start));
    assert_eq!(dirs, want, "{:?}", b.fat_type);
}

/// mkfs.vfat's choices for the harness sizes, plus FAT32.
fn volumes_to_test() -> Vec<(&'static str, u64, &'static str)> {
    vec![("12", 8192, "4"), ("16", 32768, "4"), ("32", 65536, "1")]
}

/// Each volume scanned whole (at 0 and behind a 1 MiB partition gap),
/// then striped RAID0 over 3 members: every chained FAT piece and every
/// directory anchors, and maps back to the volume start through the
/// known geometry.
#[test]
fn fat_pieces_and_directories_locate_the_volume() {
    if tools_missing(&["mkfs.vfat", "mcopy", "mdel", "mshowfat"]) {
        return;
    }
    for (bits, kib, spc) in volumes_to_test() {
        let dir = tempfile::tempdir().unwrap();
        let built = build(dir.path(), bits, kib, spc);
        let img = dir.path().join(format!("fat{bits}.img"));
        let anchors = scan_members(&[&built.image]);
        check_volume(&built, &img, 0, &anchors, &|a| a.member_offset);
        let mut disk = vec![0u8; PART_START];
        disk.extend_from_slice(&built.image);
        let anchors = scan_members(&[&disk]);
        check_volume(&built, &img, PART_START as u64, &anchors, &|a| {
            a.member_offset
        });
        for chunk in [512usize, 4096, 64 << 10] {
            let n = 3;
            let members = stripe(&built.image, n, chunk);
            let refs: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
            let anchors = scan_members(&refs);
            let on: BTreeSet<usize> = anchors.iter().map(|a| a.member).collect();
            assert_eq!(on.len(), n, "FAT{bits} chunk {chunk}: {on:?}");
            let chunk = chunk as u64;
            let array_of = |a: &Anchor| {
                let row = a.member_offset / chunk;
                (row * n as u64 + a.member as u64) * chunk + a.member_offset % chunk
            };
            check_volume(&built, &img, 0, &anchors, &array_of);
        }
    }
}

/// A FAT volume's boot sector as member 0, `foreign` in windows on the
/// other members: no FAT table or directory anchor may appear.
fn assert_no_fat_anchors(boot: &[u8], foreign: &[u8], what: &str) {
    let mut buffers = vec![(0usize, 0u64, boot)];
    // Every window at offset 0 of its own member: all within the
    // volume's reach.
    for (i, w) in foreign.chunks(WINDOW).enumerate() {
        buffers.push((i + 1, 0, w));
    }
    let mut out = Vec::new();
    scan_all(&buffers, &mut out);
    assert!(
        out.iter().any(|a| a.kind == AnchorKind::FatBoot),
        "{what}: boot sector not seen"
    );
    let bad: Vec<_> = out.iter().filter(|a| is_fat_anchor(a.kind)).collect();
    assert!(
        bad.is_empty(),
        "{what}: {} false anchors: {:?}",
        bad.len(),
        &bad[..bad.len().min(4)]
    );
}

/// Boot sectors of FAT12, FAT16 (also one with 65 k clusters, where nearly
/// every 16-bit value is a legal entry) and FAT32 volumes.
fn boot_sectors(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (bits, kib, spc) in [
        ("12", 8192u64, "4"),
        ("16", 32768, "4"),
        ("16", 131072, "4"),
        ("16", 63000, "2"),
        ("32", 65536, "1"),
    ] {
        let img = dir.join(format!("boot{bits}-{kib}-{spc}.img"));
        run(Command::new("mkfs.vfat")
            .args(["-F", bits, "-s", spc, "-n", "PLATTER", "-C"])
            .arg(&img)
            .arg(kib.to_string()));
        let data = std::fs::read(&img).unwrap();
        let b = parse_boot(&data[..512]).unwrap();
        out.push((
            format!("{:?} {} clusters", b.fat_type, b.clusters),
            data[..512].to_vec(),
        ));
        std::fs::remove_file(&img).unwrap();
    }
    out
}

/// Real data that is not FAT: an ext4 and an NTFS volume made by their
/// tools (with files), and binaries and text from the system.
fn foreign_images(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let stage = dir.join("stage");
    std::fs::create_dir_all(stage.join("a/b")).unwrap();
    for i in 0..40u64 {
        let sub = if i % 2 == 0 { "a" } else { "a/b" };
        std::fs::write(
            stage.join(sub).join(format!("f{i}")),
            bytes(i, 3000 + i as usize * 1500, i % 2 == 0),
        )
        .unwrap();
    }
    if have("mkfs.ext4") {
        let img = dir.join("ext4.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-d"])
            .arg(&stage)
            .arg(&img));
        out.push(("ext4".to_string(), std::fs::read(&img).unwrap()));
    }
    if have("mkntfs") && have("ntfscp") {
        let img = dir.join("ntfs.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        run(Command::new("mkntfs").args(["-q", "-F", "-Q"]).arg(&img));
        for i in (0..40).step_by(5) {
            let sub = if i % 2 == 0 { "a" } else { "a/b" };
            run(Command::new("ntfscp")
                .arg(&img)
                .arg(stage.join(sub).join(format!("f{i}")))
                .arg(format!("f{i}")));
        }
        out.push(("ntfs".to_string(), std::fs::read(&img).unwrap()));
    }
    // System binaries and text, each file at a sector boundary as a file
    // system would place it.
    let mut sys = Vec::new();
    for d in [
        "/usr/bin",
        "/usr/share/common-licenses",
        "/usr/lib/x86_64-linux-gnu",
    ] {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files.iter().take(200) {
            if sys.len() > (48 << 20) {
                break;
            }
            if let Ok(data) = std::fs::read(f) {
                sys.extend_from_slice(&data);
                sys.resize(sys.len().div_ceil(512) * 512, 0);
            }
        }
    }
    out.push(("system files".to_string(), sys));
    // Members of real md arrays (fixtures/raid, made by the kernel).
    let raid = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/raid");
    for array in ["r5-ls", "r6-ls"] {
        for m in 0..4 {
            let path = raid.join(array).join(format!("m{m}.img.xz"));
            if let Ok(o) = Command::new("xz").arg("-dc").arg(&path).output()
                && o.status.success()
            {
                out.push((format!("md {array} m{m}"), o.stdout));
            }
        }
    }
    out
}

#[test]
fn other_data_yields_no_fat_anchors() {
    if tools_missing(&["mkfs.vfat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let boots = boot_sectors(dir.path());
    let mut foreign = foreign_images(dir.path());
    foreign.push(("zeros".to_string(), vec![0u8; 1 << 20]));
    foreign.push(("ones".to_string(), vec![0xFFu8; 1 << 20]));
    foreign.push(("text".to_string(), bytes(7, 4 << 20, true)));
    foreign.push(("random".to_string(), bytes(8, 4 << 20, false)));
    // Identity tables (NTFS $UpCase style) in 16 and 32 bits.
    let id16: Vec<u8> = (0..1u32 << 20)
        .flat_map(|i| (i as u16).to_le_bytes())
        .collect();
    let id32: Vec<u8> = (0..1u32 << 18).flat_map(|i| i.to_le_bytes()).collect();
    foreign.push(("identity u16".to_string(), id16));
    foreign.push(("identity u32".to_string(), id32));
    for (name, boot) in &boots {
        for (what, data) in &foreign {
            assert_no_fat_anchors(boot, data, &format!("{name} vs {what}"));
        }
    }
}

/// Structures of a volume whose boot sector was not sampled are not
/// claimed by another FAT volume whose boot sector was, when they sit
/// further along the member than that volume reaches.
#[test]
fn structures_of_an_unseen_volume_far_away_do_not_anchor() {
    if tools_missing(&["mkfs.vfat", "mcopy", "mdel", "mshowfat"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), "16", 32768, "4");
    let other = dir.path().join("other.img");
    run(Command::new("mkfs.vfat")
        .args(["-F", "16", "-s", "4", "-n", "OTHER", "-i", "0BADF00D", "-C"])
        .arg(&other)
        .arg("65536"));
    let other_boot = std::fs::read(&other).unwrap()[..512].to_vec();
    let mut body = built.image.clone();
    body[..512].fill(0);
    let far = Volume::new(&other_boot).unwrap().fat_bytes * 4 + MAX_MEMBER_SKEW + (64 << 20);
    let buffers = [(0usize, 0u64, other_boot.as_slice()), (0, far, &body)];
    let mut out = Vec::new();
    scan_all(&buffers, &mut out);
    assert!(out.iter().all(|a| !is_fat_anchor(a.kind)), "{out:?}");
    // Close by, the same body does lend structures to the other volume
    // (the documented limit): this proves the refusal above is the
    // distance rule, not a failure to find them.
    let buffers = [
        (0usize, 0u64, other_boot.as_slice()),
        (0, 512, &body[512..]),
    ];
    out.clear();
    scan_all(&buffers, &mut out);
    assert!(out.iter().any(|a| is_fat_anchor(a.kind)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random sectors with planted '.'/'..' entries, volume labels and
    /// runs of FAT-like links that do not line up never anchor.
    #[test]
    fn planted_fragments_in_random_data_do_not_anchor(
        seed in any::<u64>(),
        plant in proptest::collection::vec((0usize..64, 0usize..4, any::<u16>()), 0..24),
    ) {
        let boot = {
            let mut s = vec![0u8; 512];
            s[0..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
            s[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
            s[0x0D] = 4;
            s[0x0E] = 4;
            s[0x10] = 2;
            s[0x11..0x13].copy_from_slice(&512u16.to_le_bytes());
            s[0x13..0x15].copy_from_slice(&65535u16.to_le_bytes());
            s[0x15] = 0xF8;
            s[0x16..0x18].copy_from_slice(&64u16.to_le_bytes());
            s[0x26] = 0x29;
            s[0x27..0x2B].copy_from_slice(&seed.to_le_bytes()[..4]);
            s[0x2B..0x36].copy_from_slice(b"PLATTER    ");
            s[510] = 0x55;
            s[511] = 0xAA;
            s
        };
        prop_assume!(parse_boot(&boot).is_some());
        let mut buf = bytes(seed, 64 * 512, false);
        for (sector, what, x) in plant {
            let s = &mut buf[sector * 512..(sector + 1) * 512];
            match what {
                0 => {
                    s[..11].copy_from_slice(DOT);
                    s[11] = ATTR_DIRECTORY;
                }
                1 => {
                    s[..11].copy_from_slice(b"PLATTER    ");
                    s[11] = ATTR_VOLUME_ID;
                }
                2 => {
                    // A run of links one entry off the piece alignment.
                    let base = u32::from(x) & !0xFF;
                    for t in 0..64u32 {
                        let v = (base + t + 1 + 1) as u16;
                        s[2 * t as usize..2 * t as usize + 2].copy_from_slice(&v.to_le_bytes());
                    }
                }
                _ => {
                    // A run of aligned links, but the rest stays random.
                    let base = u32::from(x) & 0xFF00;
                    for t in 0..32u32 {
                        let v = (base + t + 1) as u16;
                        s[2 * t as usize..2 * t as usize + 2].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        let mut out = Vec::new();
        scan_all(&[(0, 0, &boot), (1, 0, &buf)], &mut out);
        prop_assert!(out.iter().all(|a| !is_fat_anchor(a.kind)), "{:?}", out);
    }
}
