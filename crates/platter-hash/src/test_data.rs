//! Test data shared by the unit tests and, through `#[path]`, the
//! integration tests.

/// `len` reproducible pseudo-random bytes (xorshift64) for `seed`.
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
