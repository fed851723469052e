//! Arithmetic in GF(2^8) as Linux md RAID-6 uses it: polynomial
//! x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2 (kernel `lib/raid6`,
//! `include/linux/raid/pq.h`; H. Peter Anvin, "The mathematics of RAID-6").
//!
//! Scalar helpers ([`mul`], [`div`], [`inv`], [`exp`], [`log`]) are table
//! driven. Bulk operations on buffers ([`mul_into`], [`mul_acc`],
//! [`mul_in_place`] and the RAID-6 functions in [`raid6`]) use AVX2
//! split-nibble table lookups (PSHUFB) when the CPU has them (the private
//! `simd` module, the crate's only `unsafe` code); otherwise they work on
//! eight bytes at a time in `u64` lanes with the "multiply by 2" trick of
//! the kernel's `lib/raid6/int.uc`.
//!
//! ```
//! use platter_raid::gf;
//!
//! assert_eq!(gf::mul(0x80, 2), 0x1d); // x^8 reduces to x^4+x^3+x^2+1
//! assert_eq!(gf::mul(gf::inv(0x53), 0x53), 1);
//! let mut dst = [1u8, 2, 3];
//! gf::mul_acc(&mut dst, &[1, 1, 1], 2);
//! assert_eq!(dst, [3, 0, 1]);
//! ```

pub mod raid6;
mod simd;

/// The field polynomial, x^8 + x^4 + x^3 + x^2 + 1.
pub const POLYNOMIAL: u16 = 0x11d;

/// The generator `g` whose powers give the RAID-6 Q coefficients.
pub const GENERATOR: u8 = 2;

/// `EXP[i] = g^i` for `i` in `0..510` (doubled so `EXP[log a + log b]`
/// needs no reduction).
const EXP: [u8; 510] = {
    let mut t = [0u8; 510];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 510 {
        t[i] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLYNOMIAL;
        }
        i += 1;
    }
    t
};

/// `LOG[a]` = i with g^i = a, for a ≠ 0 (`LOG[0]` is unused).
const LOG: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        t[EXP[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// g^i (i taken modulo 255).
pub fn exp(i: usize) -> u8 {
    EXP[i % 255]
}

/// The discrete logarithm of `a` to base `g`, or `None` for 0.
pub fn log(a: u8) -> Option<u8> {
    (a != 0).then(|| LOG[a as usize])
}

/// The product `a·b`.
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// The inverse of `a`; `inv(0)` is 0 by convention.
pub fn inv(a: u8) -> u8 {
    if a == 0 {
        0
    } else {
        EXP[255 - LOG[a as usize] as usize]
    }
}

/// The quotient `a / b`; division by 0 gives 0.
pub fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

/// Multiplies each of the eight bytes packed in `x` by 2 (the kernel's
/// `MASK`/`SHLBYTE` trick in `lib/raid6/int.uc`).
#[inline(always)]
pub(crate) fn mul2_lanes(x: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let high = x & HIGH;
    let shifted = (x & !HIGH) << 1;
    shifted ^ ((high >> 7) * 0x1d)
}

/// Multiplies each byte packed in `x` by `c`, looking at the low `bits`
/// bits of `c`.
#[inline(always)]
pub(crate) fn mul_lanes(mut x: u64, c: u8, bits: u32) -> u64 {
    let mut r = 0u64;
    for i in 0..bits {
        let mask = 0u64.wrapping_sub(u64::from((c >> i) & 1));
        r ^= x & mask;
        x = mul2_lanes(x);
    }
    r
}

#[inline(always)]
pub(crate) fn load(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_ne_bytes(a)
}

#[inline(always)]
pub(crate) fn store(b: &mut [u8], v: u64) {
    b[..8].copy_from_slice(&v.to_ne_bytes());
}

/// `dst ^= src` over the common length.
pub fn xor_into(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut d = dst.chunks_exact_mut(64);
    let mut s = src.chunks_exact(64);
    for (db, sb) in (&mut d).zip(&mut s) {
        for (x, y) in db.iter_mut().zip(sb) {
            *x ^= *y;
        }
    }
    for (x, y) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *x ^= *y;
    }
}

/// `dst = c·src` over the common length.
pub fn mul_into(dst: &mut [u8], src: &[u8], c: u8) {
    mul_impl::<false>(dst, src, c);
}

/// `dst ^= c·src` over the common length.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    mul_impl::<true>(dst, src, c);
}

/// `buf = c·buf` in place.
pub fn mul_in_place(buf: &mut [u8], c: u8) {
    if simd::mul_in_place(buf, c) {
        return;
    }
    let bits = 8 - c.leading_zeros();
    let mut d = buf.chunks_exact_mut(8);
    for db in &mut d {
        let v = mul_lanes(load(db), c, bits);
        store(db, v);
    }
    for x in d.into_remainder() {
        *x = mul(*x, c);
    }
}

fn mul_impl<const ACC: bool>(dst: &mut [u8], src: &[u8], c: u8) {
    if simd::mul::<ACC>(dst, src, c) {
        return;
    }
    mul_swar::<ACC>(dst, src, c);
}

/// The portable SWAR form of [`mul_impl`] (also the oracle of the SIMD
/// tests).
pub(crate) fn mul_swar<const ACC: bool>(dst: &mut [u8], src: &[u8], c: u8) {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let bits = 8 - c.leading_zeros();
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (db, sb) in (&mut d).zip(&mut s) {
        let v = mul_lanes(load(sb), c, bits);
        let v = if ACC { v ^ load(db) } else { v };
        store(db, v);
    }
    for (x, y) in d.into_remainder().iter_mut().zip(s.remainder()) {
        let v = mul(*y, c);
        *x = if ACC { *x ^ v } else { v };
    }
}

#[cfg(test)]
mod tests;
