//! Helpers shared by the E01 integration tests: deterministic mixed media,
//! digests, and running the libewf tools.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use md5::Digest as _;
use platter_core::CaseInfo;
use platter_ewf::{Compression, EwfWriter, WriteOptions, WriteSummary};

/// Media like a real disk: runs of zeros, text, incompressible noise and
/// repeated records, so chunks end up both compressed and raw.
pub fn mixed_media(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let run = 4096 + (rnd() as usize % 60_000);
        match rnd() % 5 {
            0 => out.extend(std::iter::repeat_n(0u8, run)),
            1 => out.extend((0..run).map(|i| b"the quick brown fox jumps\n"[i % 26])),
            2 | 3 => out.extend((0..run).map(|_| rnd() as u8)),
            _ => out.extend((0..run).map(|i| (i / 512) as u8 ^ (i as u8 & 0x0f))),
        }
    }
    out.truncate(len);
    out
}

/// (md5, sha1) of `data`.
pub fn digests(data: &[u8]) -> ([u8; 16], [u8; 20]) {
    let m: [u8; 16] = md5::Md5::digest(data).into();
    let s: [u8; 20] = sha1::Sha1::digest(data).into();
    (m, s)
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The case metadata the tests write.
pub fn case() -> CaseInfo {
    CaseInfo {
        case_number: Some("CASE-2026-17".into()),
        evidence_number: Some("EV-042".into()),
        examiner: Some("J. Examiner".into()),
        description: Some("Seized laptop disk".into()),
        notes: Some("write-blocked".into()),
    }
}

/// Writes `media` to `path` with our writer, feeding it in odd-sized pieces.
pub fn write_e01(
    path: &Path,
    media: &[u8],
    compression: Compression,
    segment_size: u64,
    errors: &[(u64, u64)],
) -> WriteSummary {
    let opts = WriteOptions {
        segment_size,
        compression,
        case: case(),
        media_size: media.len() as u64,
        sector_size: 512,
        threads: 2,
        force: false,
    };
    let mut w = EwfWriter::create(path, &opts).unwrap();
    for piece in media.chunks(100_003) {
        w.write(piece).unwrap();
    }
    for &(s, n) in errors {
        w.add_read_error(s, n);
    }
    let (m, s) = digests(media);
    w.finish(m, s).unwrap()
}

/// Runs a libewf tool; panics with its output when it is not installed.
pub fn run(tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): install ewf-tools (see .ci/run)"))
}

/// stdout and stderr of a tool run, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
