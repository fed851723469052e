//! Helpers shared by the structure scanners' tests.

use std::process::Command;

/// Runs `cmd`, panics with its stderr when it fails, returns its stdout.
pub(crate) fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deterministic pseudo-random bytes (xorshift).
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
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

/// RAID0 over `n` members with `chunk`-byte chunks (an independent
/// striper: chunk `i` goes to member `i mod n`).
pub(crate) fn stripe(data: &[u8], n: usize, chunk: usize) -> Vec<Vec<u8>> {
    let mut m = vec![Vec::new(); n];
    for (i, c) in data.chunks(chunk).enumerate() {
        m[i % n].extend_from_slice(c);
    }
    m
}
