//! Word-at-a-time byte helpers for the hot per-sector loops.

/// The sector as little-endian 64-bit words (512 / 8 = 64 words).
pub fn words(s: &[u8]) -> impl Iterator<Item = u64> + '_ {
    s.chunks_exact(8).map(|c| {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        u64::from_le_bytes(b)
    })
}

/// True when every byte is zero.
pub fn is_zero(s: &[u8]) -> bool {
    const ZERO: [u8; 4096] = [0; 4096];
    s.chunks(ZERO.len()).all(|c| c == &ZERO[..c.len()])
}

/// Mask with 0x80 in every byte of `v` that is zero.
pub fn zero_bytes(v: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let t = (v & LOW7).wrapping_add(LOW7) | v;
    !t & 0x8080_8080_8080_8080
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_byte_mask_marks_exactly_the_zero_bytes() {
        let v = u64::from_le_bytes([0, 1, 0x80, 0, 0xff, 0, 0x7f, 0]);
        assert_eq!(zero_bytes(v).count_ones(), 4);
        assert_eq!(zero_bytes(0).count_ones(), 8);
        assert_eq!(zero_bytes(u64::MAX).count_ones(), 0);
        assert!(is_zero(&[0; 512]));
        assert!(!is_zero(&[0, 0, 1]));
    }
}
