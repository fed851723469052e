//! AVX2 kernels for the bulk GF(2^8) operations, selected at run time.
//!
//! Multiplication by a constant `c` uses the split-nibble table lookup:
//! c·x = T_lo[x & 15] ⊕ T_hi[x >> 4], with the two 16-entry tables held in
//! a register and looked up 32 bytes at a time by `_mm256_shuffle_epi8`
//! (PSHUFB). Multiplication by 2 for Horner's rule is a shift plus a
//! conditional XOR of 0x1d on bytes whose top bit was set.
//!
//! Each entry point returns `false` when the CPU lacks AVX2 (checked once
//! and cached by `is_x86_feature_detected!`), or on other architectures,
//! and the caller then runs the portable SWAR code in the parent module.
//! This is the only module of the crate allowed to use `unsafe`.

#![allow(unsafe_code)]

/// Whether the AVX2 kernels may run on this CPU.
#[inline]
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // The std macro caches the CPUID result in a static.
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The split-nibble tables of `c`: `lo[i] = c·i`, `hi[i] = c·(i << 4)`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn tables(c: u8) -> ([u8; 16], [u8; 16]) {
    let mut lo = [0u8; 16];
    let mut hi = [0u8; 16];
    for i in 0..16u8 {
        lo[i as usize] = super::mul(c, i);
        hi[i as usize] = super::mul(c, i << 4);
    }
    (lo, hi)
}

/// `dst = c·src` (or `dst ^= c·src` when `ACC`) over the common length.
/// Returns false (doing nothing) when AVX2 is unavailable.
pub(crate) fn mul<const ACC: bool>(dst: &mut [u8], src: &[u8], c: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 support was just checked at run time.
        unsafe { x86::mul::<ACC>(dst, src, c) };
        return true;
    }
    let _ = (dst, src, c);
    false
}

/// `buf = c·buf` in place. Returns false when AVX2 is unavailable.
pub(crate) fn mul_in_place(buf: &mut [u8], c: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 support was just checked at run time.
        unsafe { x86::mul_in_place(buf, c) };
        return true;
    }
    let _ = (buf, c);
    false
}

/// RAID-6 two-data recovery over `dx.len()` bytes: Pₓ = p⊕pxy,
/// Qₓ = q⊕qxy, `dy = a·Pₓ ⊕ b·Qₓ`, `dx = Pₓ ⊕ dy`. Every input must be at
/// least `dx.len()` long and `dy` exactly that long (the caller asserts).
/// Returns false when AVX2 is unavailable.
#[allow(clippy::too_many_arguments)]
pub(crate) fn recover2(
    p: &[u8],
    q: &[u8],
    pxy: &[u8],
    qxy: &[u8],
    a: u8,
    b: u8,
    dx: &mut [u8],
    dy: &mut [u8],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 support was just checked at run time.
        unsafe { x86::recover2(p, q, pxy, qxy, a, b, dx, dy) };
        return true;
    }
    let _ = (p, q, pxy, qxy, a, b, dx, dy);
    false
}

/// Horner evaluation of Q (and P when given) over `q.len()` bytes:
/// for each `(block, gap)` in order, Q is doubled `gap` times and the block
/// XORed in; finally Q is doubled `tail` times. Blocks must be at least
/// `q.len()` long, `p` (when given) exactly that long.
/// Returns false when AVX2 is unavailable.
pub(crate) fn horner(
    steps: &[(&[u8], u32)],
    tail: u32,
    p: Option<&mut [u8]>,
    q: &mut [u8],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 support was just checked at run time.
        unsafe { x86::horner(steps, tail, p, q) };
        return true;
    }
    let _ = (steps, tail, p, q);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    const W: usize = 32;

    /// Loads 32 bytes of `s` at `at` (unaligned).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn ld(s: &[u8], at: usize) -> __m256i {
        let b = &s[at..at + W];
        // SAFETY: `b` is 32 in-bounds bytes (checked by the slice index);
        // loadu has no alignment requirement.
        unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
    }

    /// Stores 32 bytes into `d` at `at` (unaligned).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn st(d: &mut [u8], at: usize, v: __m256i) {
        let b = &mut d[at..at + W];
        // SAFETY: `b` is 32 in-bounds writable bytes (checked by the slice
        // index); storeu has no alignment requirement.
        unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
    }

    /// The split-nibble tables of `c`, broadcast to both 128-bit halves.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn tables(c: u8) -> (__m256i, __m256i) {
        let (lo, hi) = super::tables(c);
        let mut l = [0u8; 32];
        let mut h = [0u8; 32];
        l[..16].copy_from_slice(&lo);
        l[16..].copy_from_slice(&lo);
        h[..16].copy_from_slice(&hi);
        h[16..].copy_from_slice(&hi);
        (ld(&l, 0), ld(&h, 0))
    }

    /// c·x for 32 bytes, given `c`'s tables.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mulv(x: __m256i, t: (__m256i, __m256i)) -> __m256i {
        let mask = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(x, mask);
        let hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
        _mm256_xor_si256(_mm256_shuffle_epi8(t.0, lo), _mm256_shuffle_epi8(t.1, hi))
    }

    /// 2·x for 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul2v(x: __m256i) -> __m256i {
        let high = _mm256_cmpgt_epi8(_mm256_setzero_si256(), x);
        let shifted = _mm256_add_epi8(x, x);
        _mm256_xor_si256(shifted, _mm256_and_si256(high, _mm256_set1_epi8(0x1d)))
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn mul<const ACC: bool>(dst: &mut [u8], src: &[u8], c: u8) {
        let n = dst.len().min(src.len());
        let t = tables(c);
        let full = n - n % W;
        for at in (0..full).step_by(W) {
            let mut v = mulv(ld(src, at), t);
            if ACC {
                v = _mm256_xor_si256(v, ld(dst, at));
            }
            st(dst, at, v);
        }
        for i in full..n {
            let v = crate::gf::mul(src[i], c);
            dst[i] = if ACC { dst[i] ^ v } else { v };
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn mul_in_place(buf: &mut [u8], c: u8) {
        let n = buf.len();
        let t = tables(c);
        let full = n - n % W;
        for at in (0..full).step_by(W) {
            let v = mulv(ld(buf, at), t);
            st(buf, at, v);
        }
        for x in &mut buf[full..] {
            *x = crate::gf::mul(*x, c);
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2")]
    pub(super) fn recover2(
        p: &[u8],
        q: &[u8],
        pxy: &[u8],
        qxy: &[u8],
        a: u8,
        b: u8,
        dx: &mut [u8],
        dy: &mut [u8],
    ) {
        let n = dx.len();
        let (ta, tb) = (tables(a), tables(b));
        let full = n - n % W;
        for at in (0..full).step_by(W) {
            let px = _mm256_xor_si256(ld(p, at), ld(pxy, at));
            let qx = _mm256_xor_si256(ld(q, at), ld(qxy, at));
            let vy = _mm256_xor_si256(mulv(px, ta), mulv(qx, tb));
            st(dy, at, vy);
            st(dx, at, _mm256_xor_si256(px, vy));
        }
        for i in full..n {
            let px = p[i] ^ pxy[i];
            let qx = q[i] ^ qxy[i];
            let vy = crate::gf::mul(px, a) ^ crate::gf::mul(qx, b);
            dy[i] = vy;
            dx[i] = px ^ vy;
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn horner(
        steps: &[(&[u8], u32)],
        tail: u32,
        mut p: Option<&mut [u8]>,
        q: &mut [u8],
    ) {
        const B: usize = 2 * W;
        let n = q.len();
        let full = n - n % B;
        for at in (0..full).step_by(B) {
            let (mut q0, mut q1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            let (mut p0, mut p1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for &(d, gap) in steps {
                for _ in 0..gap {
                    q0 = mul2v(q0);
                    q1 = mul2v(q1);
                }
                let (d0, d1) = (ld(d, at), ld(d, at + W));
                q0 = _mm256_xor_si256(q0, d0);
                q1 = _mm256_xor_si256(q1, d1);
                p0 = _mm256_xor_si256(p0, d0);
                p1 = _mm256_xor_si256(p1, d1);
            }
            for _ in 0..tail {
                q0 = mul2v(q0);
                q1 = mul2v(q1);
            }
            st(q, at, q0);
            st(q, at + W, q1);
            if let Some(p) = p.as_deref_mut() {
                st(p, at, p0);
                st(p, at + W, p1);
            }
        }
        for i in full..n {
            let (mut acc, mut par) = (0u8, 0u8);
            for &(d, gap) in steps {
                for _ in 0..gap {
                    acc = crate::gf::mul(acc, 2);
                }
                acc ^= d[i];
                par ^= d[i];
            }
            for _ in 0..tail {
                acc = crate::gf::mul(acc, 2);
            }
            q[i] = acc;
            if let Some(p) = p.as_deref_mut() {
                p[i] = par;
            }
        }
    }
}

#[cfg(test)]
mod tests;
