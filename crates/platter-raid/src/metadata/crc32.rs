//! CRC-32/ISO-HDLC (zlib's `crc32`, polynomial 0xEDB88320 reflected), the
//! checksum of every DDF structure. A compile-time table keeps it fast on
//! the larger DDF sections without a dependency.

/// The byte-wise lookup table.
const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Standard CRC-32 of `data` (zlib `crc32(0, data, len)`).
#[cfg(test)]
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// The CRC-32 register after `data` with the CRC field (bytes 4..8, the
/// same place in every DDF structure) read as 0xFFFFFFFF, starting from
/// `init`, without the final inversion.
fn ddf_register(data: &[u8], init: u32) -> u32 {
    let mut c = init;
    for (i, &b) in data.iter().enumerate() {
        let b = if (4..8).contains(&i) { 0xff } else { b };
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    c
}

/// The DDF CRC of a structure as the SNIA specification, FreeBSD graid and
/// dmraid compute it: standard CRC-32 over the structure with its CRC field
/// set to 0xFFFFFFFF.
pub(crate) fn ddf_crc(data: &[u8]) -> u32 {
    !ddf_register(data, !0)
}

/// The variant mdadm writes: its bundled zlib `crc32.c` is built with
/// `NOBYFOUR` and has the initial and final inversions commented out, so
/// `crc32(0, buf, len)` in `super-ddf.c` `calc_crc` yields the bare
/// register started from 0.
pub(crate) fn ddf_crc_mdadm(data: &[u8]) -> u32 {
    ddf_register(data, 0)
}

/// Checks a stored DDF CRC against both variants: (valid, computed), where
/// `computed` is the variant that matched, else the standard one.
pub(crate) fn check_ddf_crc(stored: u32, data: &[u8]) -> (bool, u32) {
    let std = ddf_crc(data);
    if stored == std {
        return (true, std);
    }
    let md = ddf_crc_mdadm(data);
    if stored == md {
        (true, md)
    } else {
        (false, std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        // The standard CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn ddf_crc_ignores_the_stored_crc() {
        let mut a = vec![7u8; 64];
        let c = ddf_crc(&a);
        a[4..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(ddf_crc(&a), c);
        let mut b = a.clone();
        b[4..8].fill(0xff);
        assert_eq!(crc32(&b), c);
        assert_eq!(check_ddf_crc(c, &a), (true, c));
    }

    #[test]
    fn mdadm_variant_is_the_bare_register() {
        // Bit by bit: start from 0, CRC field as all-ones, no inversion.
        let data: Vec<u8> = (0u8..40).collect();
        let mut c = 0u32;
        for (i, &b) in data.iter().enumerate() {
            c ^= u32::from(if (4..8).contains(&i) { 0xff } else { b });
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        assert_eq!(ddf_crc_mdadm(&data), c);
        assert_ne!(c, ddf_crc(&data));
        assert_eq!(check_ddf_crc(c, &data), (true, c));
        assert_eq!(check_ddf_crc(c ^ 1, &data), (false, ddf_crc(&data)));
    }
}
