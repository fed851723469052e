//! Digests checked against the coreutils tools `md5sum`, `sha1sum`,
//! `sha256sum` and `sha512sum`, and BLAKE3's `b3sum`, run on the same bytes
//! written to a temporary file.

use std::io::Write;
use std::process::Command;

use platter_core::MemSource;
use platter_hash::{Block, CopyOptions, HashAlg, MultiHasher, copy_hashed, hash_bytes};

#[path = "../src/test_data.rs"]
mod test_data;

use test_data::pseudo_random;

/// The hex digest printed by `tool` for `path`.
fn tool_digest(tool: &str, path: &std::path::Path) -> String {
    let out = Command::new(tool)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(out.status.success(), "{tool} failed: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().to_string()
}

fn tool_for(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Md5 => "md5sum",
        HashAlg::Sha1 => "sha1sum",
        HashAlg::Sha256 => "sha256sum",
        HashAlg::Sha512 => "sha512sum",
        // The BLAKE3 team's tool (Debian package b3sum).
        HashAlg::Blake3 => "b3sum",
    }
}

#[test]
fn digests_match_coreutils_on_random_data() {
    // A few MiB plus an odd tail, so no block size divides it.
    let data = pseudo_random((3 << 20) + 12_345, 0x5eed);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&data).unwrap();
    file.flush().unwrap();
    let want: Vec<String> = HashAlg::ALL
        .iter()
        .map(|&alg| tool_digest(tool_for(alg), file.path()))
        .collect();

    // The single-threaded helper.
    let hex = |d: Vec<platter_hash::Digest>| d.into_iter().map(|d| d.hex).collect::<Vec<_>>();
    assert_eq!(hex(hash_bytes(&HashAlg::ALL, &data)), want);

    // The threaded hasher fed odd-sized blocks.
    let mut h = MultiHasher::new(&HashAlg::ALL);
    for chunk in data.chunks(777_777) {
        h.update(Block::from(chunk));
    }
    assert_eq!(hex(h.finish()), want);

    // Each algorithm alone on its thread.
    for (i, alg) in HashAlg::ALL.into_iter().enumerate() {
        let mut h = MultiHasher::new(&[alg]);
        for chunk in data.chunks(1 << 20) {
            h.update(Block::from(chunk));
        }
        assert_eq!(h.finish()[0].hex, want[i], "{alg}");
    }

    // The full pipeline, writing a copy that the tools hash too.
    let src = MemSource::new("random", data.clone());
    let copy = tempfile::NamedTempFile::new().unwrap();
    let mut out = std::fs::File::create(copy.path()).unwrap();
    let opts = CopyOptions {
        block_size: 1 << 20,
        fill: 0,
        algs: HashAlg::ALL.to_vec(),
    };
    let report = copy_hashed(&src, Some(&mut out), &opts, &|_| {}).unwrap();
    drop(out);
    assert_eq!(report.bytes, data.len() as u64);
    assert_eq!(hex(report.digests), want);
    for (i, alg) in HashAlg::ALL.into_iter().enumerate() {
        assert_eq!(
            tool_digest(tool_for(alg), copy.path()),
            want[i],
            "copy, {alg}"
        );
    }
}
