//! Test helpers: the kernel-made md fixtures, and an independent striper
//! written from the formulas in REFERENCE.md (not the engine under test).
#![allow(dead_code)]

pub mod fs;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;

use platter_core::{MemSource, SharedSource, Source};
use platter_raid::array::RaidArray;
use platter_raid_infer::{Options, Report, infer};
use serde_json::Value;

/// `fixtures/raid`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/raid")
}

/// The manifest.
pub fn manifest() -> Value {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// `xz -dc` of a file.
pub fn unxz(path: &Path) -> Vec<u8> {
    let out = Command::new("xz")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("run xz");
    assert!(out.status.success(), "xz -dc {}", path.display());
    out.stdout
}

/// Members of a manifest array (slot order), with the md superblock's
/// 4 KiB zeroed.
pub fn members_without_superblock(array: &Value) -> Vec<Vec<u8>> {
    array["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut img = unxz(&fixtures().join(m["file"].as_str().unwrap()));
            let so = m["super_offset_bytes"].as_u64().unwrap() as usize;
            let end = (so + 4096).min(img.len());
            img[so..end].fill(0);
            img
        })
        .collect()
}

/// Runs inference over in-memory images.
pub fn run(images: &[Vec<u8>]) -> Report {
    run_top(images, Options::default().top)
}

/// Runs inference keeping `top` candidates.
pub fn run_top(images: &[Vec<u8>], top: usize) -> Report {
    let srcs: Vec<MemSource> = images
        .iter()
        .enumerate()
        .map(|(i, d)| MemSource::new(format!("m{i}"), d.clone()))
        .collect();
    let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
    let opts = Options {
        top,
        ..Options::default()
    };
    infer(&refs, &opts).expect("infer")
}

/// Where P, Q and data sit in row `s` (REFERENCE.md "Linux md RAID
/// layouts"): (p, q, data slots in logical order, Q exponents).
pub fn place(
    raid6: bool,
    layout: u32,
    n: usize,
    s: usize,
) -> (usize, Option<usize>, Vec<usize>, Vec<u8>) {
    if !raid6 {
        let k = n - 1;
        let (p, data): (usize, Vec<usize>) = match layout {
            0 => {
                let p = k - s % n;
                (p, (0..k).map(|d| if d >= p { d + 1 } else { d }).collect())
            }
            1 => {
                let p = s % n;
                (p, (0..k).map(|d| if d >= p { d + 1 } else { d }).collect())
            }
            2 => {
                let p = k - s % n;
                (p, (0..k).map(|d| (p + 1 + d) % n).collect())
            }
            3 => {
                let p = s % n;
                (p, (0..k).map(|d| (p + 1 + d) % n).collect())
            }
            4 => (0, (1..n).collect()),
            _ => (k, (0..k).collect()),
        };
        return (p, None, data, Vec::new());
    }
    let k = n - 2;
    let restart = |p: usize| -> (usize, Vec<usize>) {
        if p == n - 1 {
            (0, (0..k).map(|d| d + 1).collect())
        } else {
            (
                p + 1,
                (0..k).map(|d| if d >= p { d + 2 } else { d }).collect(),
            )
        }
    };
    let (p, q, data): (usize, usize, Vec<usize>) = match layout {
        0 => {
            let p = n - 1 - s % n;
            let (q, d) = restart(p);
            (p, q, d)
        }
        1 | 8 => {
            let p = s % n;
            let (q, d) = restart(p);
            (p, q, d)
        }
        9 => {
            let p = n - 1 - (s + 1) % n;
            let (q, d) = restart(p);
            (p, q, d)
        }
        2 => {
            let p = n - 1 - s % n;
            (p, (p + 1) % n, (0..k).map(|d| (p + 2 + d) % n).collect())
        }
        3 => {
            let p = s % n;
            (p, (p + 1) % n, (0..k).map(|d| (p + 2 + d) % n).collect())
        }
        4 => (0, 1, (0..k).map(|d| d + 2).collect()),
        5 => (k, k + 1, (0..k).collect()),
        10 => {
            let p = n - 1 - s % n;
            (
                p,
                (p + n - 1) % n,
                (0..k).map(|d| (p + 1 + d) % n).collect(),
            )
        }
        16..=19 => {
            let (p, _, d, _) = place(false, layout - 16, n - 1, s);
            (p, n - 1, d)
        }
        _ => (0, n - 1, (0..k).map(|d| d + 1).collect()),
    };
    let exps = if (8..=10).contains(&layout) {
        data.iter().map(|&d| d as u8).collect()
    } else {
        let mut walk = Vec::new();
        for i in 0..n {
            let disk = (q + 1 + i) % n;
            if disk != p && disk != q {
                walk.push(disk);
            }
        }
        data.iter()
            .map(|d| walk.iter().position(|w| w == d).unwrap() as u8)
            .collect()
    };
    (p, Some(q), data, exps)
}

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    r
}

fn gf_pow2(e: u8) -> u8 {
    (0..e).fold(1u8, |x, _| gf_mul(x, 2))
}

/// Stripes `data` (whole rows only) over `n` members in slot order, with
/// `offset` bytes of zeros before the data on each member.
pub fn stripe(
    raid6: bool,
    layout: u32,
    n: usize,
    chunk: usize,
    offset: usize,
    data: &[u8],
) -> Vec<Vec<u8>> {
    stripe_grouped(raid6, layout, n, chunk, offset, data, |s| s)
}

/// RAID5 with delayed parity (REFERENCE.md: row `r` takes the placement
/// of group 0 below `first` rows, then of group `1 + (r − first) / every`).
pub fn stripe_delayed(
    layout: u32,
    n: usize,
    chunk: usize,
    offset: usize,
    data: &[u8],
    (every, first): (usize, usize),
) -> Vec<Vec<u8>> {
    stripe_grouped(false, layout, n, chunk, offset, data, |r| {
        if r < first {
            0
        } else {
            1 + (r - first) / every
        }
    })
}

/// [`stripe`] with row `s` placed as row `group(s)`.
fn stripe_grouped(
    raid6: bool,
    layout: u32,
    n: usize,
    chunk: usize,
    offset: usize,
    data: &[u8],
    group: impl Fn(usize) -> usize,
) -> Vec<Vec<u8>> {
    let k = if raid6 { n - 2 } else { n - 1 };
    let rows = data.len() / (chunk * k);
    let mut m = vec![vec![0u8; offset + rows * chunk]; n];
    for s in 0..rows {
        let (p, q, slots, exps) = place(raid6, layout, n, group(s));
        let at = offset + s * chunk;
        for (d, &slot) in slots.iter().enumerate() {
            let src = &data[(s * k + d) * chunk..][..chunk];
            m[slot][at..at + chunk].copy_from_slice(src);
            for b in 0..chunk {
                m[p][at + b] ^= src[b];
            }
            if let Some(q) = q {
                // Multiplication table by the coefficient, once per chunk.
                let c = gf_pow2(exps[d]);
                let table: Vec<u8> = (0..=255u8).map(|v| gf_mul(c, v)).collect();
                for b in 0..chunk {
                    m[q][at + b] ^= table[usize::from(src[b])];
                }
            }
        }
    }
    m
}

/// Reorders slot-ordered members so that image `order[slot]` holds slot.
pub fn shuffle(members: Vec<Vec<u8>>, order: &[usize]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); members.len()];
    for (slot, m) in members.into_iter().enumerate() {
        out[order[slot]] = m;
    }
    out
}

/// Structured content: 64-byte records with a running counter, a few
/// text fields and a checksum, interrupted by zero runs and binary blobs.
pub fn content(bytes: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes);
    let mut x = seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    ];
    let mut rec = 0u64;
    while out.len() < bytes {
        let kind = rnd() % 16;
        let span = 4096 * (1 + (rnd() % 8) as usize);
        let start = out.len();
        while out.len() < start + span && out.len() < bytes {
            match kind {
                0 => out.push(0),
                1 => out.push(rnd() as u8),
                _ => {
                    let w = words[(rnd() % 7) as usize];
                    let line = format!("{rec:012} {w:<8} v={:06}|", rnd() % 1_000_000);
                    let mut b = line.into_bytes();
                    b.resize(63, b' ');
                    b.push(b'\n');
                    out.extend_from_slice(&b);
                    rec += 1;
                }
            }
        }
    }
    out.truncate(bytes);
    out
}

/// What an array looks like to a reader, over `rows` rows: per row the
/// image of each data chunk, and for RAID6 the Q image and each data
/// image's Q exponent. Equal signatures assemble and rebuild identically.
pub fn signature(raid6: bool, layout: u32, order: &[usize], rows: usize) -> Vec<Vec<usize>> {
    let n = order.len();
    (0..rows)
        .map(|s| {
            let (_, q, data, exps) = place(raid6, layout, n, s);
            let mut v: Vec<usize> = data.iter().map(|&d| order[d]).collect();
            if let Some(q) = q {
                v.push(order[q]);
                let mut by_image: Vec<(usize, u8)> = data
                    .iter()
                    .zip(&exps)
                    .map(|(&d, &e)| (order[d], e))
                    .collect();
                by_image.sort();
                v.extend(by_image.iter().map(|&(i, e)| i * 256 + usize::from(e)));
            }
            v
        })
        .collect()
}

/// True when `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `cmd` and panics with its stderr when it fails.
pub fn run_cmd(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `img` an ext4 of `bytes` bytes with 4 KiB blocks holding the
/// files of `dir` (mkfs.ext4 -d), with the `extra` mkfs arguments.
pub fn mkfs_ext4(img: &Path, bytes: u64, dir: &Path, extra: &[&str]) {
    std::fs::File::create(img).unwrap().set_len(bytes).unwrap();
    run_cmd(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096"])
            .args(extra)
            .arg("-d")
            .arg(dir)
            .arg(img),
    );
}

/// A FAT file system of `mib` MiB (mkfs.vfat picks FAT12/16/32) holding
/// `paths` copied in with mcopy, built in `root`; `None` (with a note)
/// when the tools are missing.
pub fn fat_image(root: &Path, mib: u64, paths: &[PathBuf]) -> Option<Vec<u8>> {
    if !have("mkfs.vfat") || !have("mcopy") {
        eprintln!("note: mkfs.vfat or mcopy missing, FAT cases skipped");
        return None;
    }
    let img = root.join("fat.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
    run_cmd(Command::new("mkfs.vfat").arg(&img));
    run_cmd(
        Command::new("mcopy")
            .args(["-s", "-i"])
            .arg(&img)
            .args(paths)
            .arg("::"),
    );
    Some(std::fs::read(&img).unwrap())
}

/// Deterministic pseudo-random bytes (xorshift): content that never
/// repeats, like compressed or encrypted files.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Whether the report's first candidate, assembled over `images` (the
/// images the report's indices refer to), reads back `content` from its
/// start (as much of it as the array holds when `whole` is false).
pub fn reads_back(images: &[Vec<u8>], report: &Report, content: &[u8], whole: bool) -> bool {
    let Some(c) = report.candidates.first() else {
        return false;
    };
    let srcs: Vec<Option<SharedSource>> = images
        .iter()
        .enumerate()
        .map(|(i, m)| Some(Arc::new(MemSource::new(format!("m{i}"), m.clone())) as SharedSource))
        .collect();
    let Ok(arr) = RaidArray::new(c.geometry.clone(), srcs) else {
        return false;
    };
    if whole && arr.len() < content.len() as u64 {
        return false;
    }
    let n = content.len().min(arr.len() as usize);
    let mut buf = vec![0u8; n];
    arr.read_exact_at(&mut buf, 0).is_ok() && buf == content[..n]
}
