//! Helpers for the `platter raid` tests: the real md arrays of
//! `fixtures/raid` (members decompressed with `xz`, geometry and kernel
//! hashes from `manifest.json`), ddrescue mapfiles, and an independent
//! RAID5 striper written straight from the kernel's formula.

#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::*;

/// The manifest entry of real array `name`.
pub fn real_array(name: &str) -> Value {
    let text = fs::read_to_string(fixture("raid/manifest.json")).expect("manifest.json");
    let m: Value = serde_json::from_str(&text).expect("manifest is JSON");
    m["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no array {name} in the manifest"))
        .clone()
}

/// The kernel's sha256 of `/dev/mdN` for array `name`.
pub fn kernel_sha256(name: &str) -> String {
    real_array(name)["sha256"].as_str().unwrap().to_string()
}

/// Decompresses the members of array `name` into `dir` (`NAME-mK.img`), in
/// slot order.
pub fn real_members(dir: &Dir, name: &str) -> Vec<PathBuf> {
    let a = real_array(name);
    let mut members: Vec<(u64, PathBuf)> = a["members"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let out = dir.path(&format!("{name}-m{k}.img"));
            let status = Command::new("xz")
                .arg("-dc")
                .arg(fixture(&format!("raid/{}", m["file"].as_str().unwrap())))
                .stdout(Stdio::from(File::create(&out).unwrap()))
                .status()
                .expect("run xz (install xz-utils)");
            assert!(status.success(), "xz -dc failed");
            (m["role"].as_u64().unwrap(), out)
        })
        .collect();
    members.sort();
    members.into_iter().map(|(_, p)| p).collect()
}

/// The geometry options of array `name`, from the manifest's md numbers:
/// level, layout, chunk, data offset and md's data size.
pub fn real_geometry(name: &str) -> Vec<String> {
    let a = real_array(name);
    let level = a["level_md"].as_i64().unwrap();
    let mut args = vec![
        "--level".to_string(),
        if level == -1 {
            "linear".into()
        } else {
            level.to_string()
        },
    ];
    let layout = a["layout_md"].as_u64().unwrap();
    match level {
        5 | 6 => args.extend(["--layout".into(), layout.to_string()]),
        10 => args.extend(["--layout".into(), format!("{layout:#x}")]),
        0 if layout == 2 => args.extend(["--layout".into(), "alternate".into()]),
        _ => {}
    }
    let chunk = a["chunk_bytes"].as_u64().unwrap();
    if chunk > 0 {
        args.extend(["--chunk".into(), chunk.to_string()]);
    }
    let m0 = &a["members"][0];
    args.extend([
        "--offset".into(),
        m0["data_offset_bytes"].as_u64().unwrap().to_string(),
    ]);
    // md's component size of each slot; for 0.90 the data runs up to the
    // superblock at the end.
    let mut sizes: Vec<(u64, u64)> = a["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let offset = m["data_offset_bytes"].as_u64().unwrap();
            let superblock = m["super_offset_bytes"].as_u64().unwrap();
            let size = m["data_size_bytes"]
                .as_u64()
                .unwrap_or(superblock.saturating_sub(offset));
            (m["role"].as_u64().unwrap(), size)
        })
        .collect();
    sizes.sort();
    let list: Vec<String> = sizes.iter().map(|s| s.1.to_string()).collect();
    args.extend(["--member-size".into(), list.join(",")]);
    args
}

/// Runs `platter ARGS --json`, returning the exit status and the report.
pub fn json_run(args: &[&std::ffi::OsStr]) -> (i32, Value, String) {
    let out = platter().args(args).arg("--json").output().unwrap();
    let stderr = text(&out.stderr);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{stderr}", text(&out.stdout)));
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// Runs `platter ARGS` expecting failure with status 1; returns stderr.
pub fn fails(args: &[&std::ffi::OsStr]) -> String {
    let out = platter().args(args).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: expected status 1\nstdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(stderr.starts_with("platter: error: "), "{stderr}");
    stderr
}

/// Writes a GNU ddrescue mapfile of an image of `size` bytes where the
/// `bad` (offset, len) ranges are bad sectors (`-`) and the rest rescued.
pub fn write_bad_map(path: &Path, size: u64, bad: &[(u64, u64)]) {
    let mut text = String::from("# Mapfile. Created by a platter test\n0x0 +\n");
    let mut pos = 0;
    for &(off, len) in bad {
        if off > pos {
            text.push_str(&format!("{pos:#x} {:#x} +\n", off - pos));
        }
        text.push_str(&format!("{off:#x} {len:#x} -\n"));
        pos = off + len;
    }
    if pos < size {
        text.push_str(&format!("{pos:#x} {:#x} +\n", size - pos));
    }
    fs::write(path, text).unwrap();
}

/// Overwrites `len` bytes of `path` at `offset` with `byte`.
pub fn fill_range(path: &Path, offset: u64, len: u64, byte: u8) {
    let mut b = fs::read(path).unwrap();
    b[offset as usize..(offset + len) as usize].fill(byte);
    fs::write(path, b).unwrap();
}

/// Stripes `disk` over `n` members as md RAID5 left-symmetric with
/// `chunk`-byte chunks, each member starting with `offset` bytes of junk.
/// Written from `raid5_compute_sector` (ALGORITHM_LEFT_SYMMETRIC): row r
/// has P on member n−1−(r mod n) and data chunk d on (P + 1 + d) mod n.
pub fn stripe_raid5_ls(disk: &[u8], n: usize, chunk: usize, offset: usize) -> Vec<Vec<u8>> {
    let row_bytes = chunk * (n - 1);
    assert_eq!(disk.len() % row_bytes, 0, "whole rows only");
    let rows = disk.len() / row_bytes;
    let mut members: Vec<Vec<u8>> = (0..n)
        .map(|m| (0..offset).map(|i| (i * 13 + m * 7) as u8).collect())
        .collect();
    for r in 0..rows {
        let p = n - 1 - r % n;
        let mut parity = vec![0u8; chunk];
        let mut cells = vec![Vec::new(); n];
        for d in 0..n - 1 {
            let data = &disk[r * row_bytes + d * chunk..r * row_bytes + (d + 1) * chunk];
            for (x, y) in parity.iter_mut().zip(data) {
                *x ^= y;
            }
            cells[(p + 1 + d) % n] = data.to_vec();
        }
        cells[p] = parity;
        for (m, c) in cells.into_iter().enumerate() {
            members[m].extend_from_slice(&c);
        }
    }
    members
}

/// `n` pseudo-random bytes (xorshift), reproducible from `seed`.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Paths as `OsStr` arguments.
pub fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}
