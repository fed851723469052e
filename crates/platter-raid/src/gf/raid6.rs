//! RAID-6 P/Q syndromes, recovery of up to two lost blocks, and the
//! raid6check locator of a single corrupt block.
//!
//! P = ⊕ Dⱼ and Q = ⊕ g^eⱼ·Dⱼ, where eⱼ is the Q exponent of data block j
//! (which depends on the layout family; see
//! [`RowLayout::q_exponents`](crate::geometry::RowLayout::q_exponents)).
//! Recovery follows the kernel's `lib/raid6/recov.c` (`raid6_2data_recov`,
//! `raid6_datap_recov`); the locator is mdadm's `raid6check.c`:
//! z = log(Q⊕Q′) − log(P⊕P′) mod 255.
//!
//! ```
//! use platter_raid::gf::raid6;
//!
//! let d0 = [1u8, 2, 3, 4];
//! let d1 = [9u8, 8, 7, 6];
//! let (mut p, mut q) = ([0u8; 4], [0u8; 4]);
//! raid6::gen_pq(&[&d0, &d1], &[0, 1], &mut p, &mut q);
//! // Lose both data blocks and get them back from P and Q.
//! let zero = [0u8; 4];
//! let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
//! raid6::recover_two_data(&p, &q, &zero, &zero, 0, 1, &mut x, &mut y);
//! assert_eq!((x, y), (d0, d1));
//! ```

use super::{exp, inv, log, mul, mul_lanes, mul2_lanes, xor_into};

const BLOCK: usize = 64;
const LANES: usize = BLOCK / 8;

#[inline(always)]
fn load_block(b: &[u8]) -> [u64; LANES] {
    let mut out = [0u64; LANES];
    for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        *o = u64::from_ne_bytes(a);
    }
    out
}

#[inline(always)]
fn store_block(b: &mut [u8], v: &[u64; LANES]) {
    for (c, x) in b.chunks_exact_mut(8).zip(v) {
        c.copy_from_slice(&x.to_ne_bytes());
    }
}

/// Computes P (when given) and Q (when given) of `data`, where `data[j]`
/// has Q exponent `exps[j]`. Every buffer has the length of the first
/// output; data blocks must be at least that long.
///
/// # Panics
/// When `exps` and `data` differ in length, a data block is shorter than
/// the output, or `p` and `q` differ in length.
pub fn gen_pq(data: &[&[u8]], exps: &[u8], p: &mut [u8], q: &mut [u8]) {
    gen_syndromes(data, exps, Some(p), Some(q));
}

/// Computes P = ⊕ data (the RAID-5 parity) into `p`.
///
/// # Panics
/// When a data block is shorter than `p`.
pub fn gen_p(data: &[&[u8]], p: &mut [u8]) {
    p.fill(0);
    for d in data {
        assert!(d.len() >= p.len(), "data block shorter than parity");
        xor_into(p, d);
    }
}

/// Computes Q = ⊕ g^`exps[j]`·`data[j]` into `q`.
///
/// # Panics
/// As [`gen_pq`].
pub fn gen_q(data: &[&[u8]], exps: &[u8], q: &mut [u8]) {
    gen_syndromes(data, exps, None, Some(q));
}

fn gen_syndromes(data: &[&[u8]], exps: &[u8], mut p: Option<&mut [u8]>, q: Option<&mut [u8]>) {
    assert_eq!(data.len(), exps.len(), "one exponent per data block");
    let len = match (&p, &q) {
        (Some(p), _) => p.len(),
        (None, Some(q)) => q.len(),
        (None, None) => return,
    };
    assert!(data.iter().all(|d| d.len() >= len), "data block too short");
    let Some(q) = q else {
        if let Some(p) = p {
            gen_p(data, p);
        }
        return;
    };
    if let Some(p) = &p {
        assert_eq!(p.len(), q.len(), "P and Q differ in length");
    }
    // Horner's rule needs the data in descending exponent order with
    // distinct exponents: Q = (..((D_top)·g^gap ⊕ D_next)·g^gap ..)·g^e_last.
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| exps[b].cmp(&exps[a]));
    let distinct = order.windows(2).all(|w| exps[w[0]] != exps[w[1]]);
    if !distinct {
        if let Some(p) = p {
            gen_p(data, p);
        }
        q.fill(0);
        for (d, &e) in data.iter().zip(exps) {
            super::mul_acc(q, d, exp(e as usize));
        }
        return;
    }
    // (data block, doublings applied before it is added); then final doublings.
    let mut steps: Vec<(&[u8], u32)> = Vec::with_capacity(order.len());
    let mut prev: Option<u8> = None;
    for &j in &order {
        let gap = prev.map_or(0, |pe| u32::from(pe - exps[j]));
        steps.push((data[j], gap));
        prev = Some(exps[j]);
    }
    let tail_doublings = u32::from(prev.unwrap_or(0));
    if super::simd::horner(&steps, tail_doublings, p.as_deref_mut(), q) {
        return;
    }
    horner_swar(&steps, tail_doublings, p, q);
}

/// The portable form of the Horner loop of [`gen_syndromes`] (P, when
/// given, is the XOR of the blocks).
pub(crate) fn horner_swar(
    steps: &[(&[u8], u32)],
    tail_doublings: u32,
    p: Option<&mut [u8]>,
    q: &mut [u8],
) {
    let len = q.len();
    if let Some(p) = p {
        p.fill(0);
        for &(d, _) in steps {
            xor_into(p, d);
        }
    }
    let full = len - len % BLOCK;
    for off in (0..full).step_by(BLOCK) {
        let mut wq = [0u64; LANES];
        for &(d, gap) in steps {
            for _ in 0..gap {
                for w in wq.iter_mut() {
                    *w = mul2_lanes(*w);
                }
            }
            let dv = load_block(&d[off..off + BLOCK]);
            for (w, x) in wq.iter_mut().zip(dv) {
                *w ^= x;
            }
        }
        for _ in 0..tail_doublings {
            for w in wq.iter_mut() {
                *w = mul2_lanes(*w);
            }
        }
        store_block(&mut q[off..off + BLOCK], &wq);
    }
    for i in full..len {
        let mut acc = 0u8;
        for &(d, gap) in steps {
            for _ in 0..gap {
                acc = mul(acc, 2);
            }
            acc ^= d[i];
        }
        for _ in 0..tail_doublings {
            acc = mul(acc, 2);
        }
        q[i] = acc;
    }
}

/// Recovers two lost data blocks with Q exponents `ex` ≠ `ey` (kernel
/// `raid6_2data_recov`). `pxy` and `qxy` are P and Q computed over the
/// surviving data only (the lost blocks counted as zero).
///
/// With Pₓ = P⊕Pxy and Qₓ = Q⊕Qxy: Dy = (g^ex·Pₓ ⊕ Qₓ)/(g^ex⊕g^ey) and
/// Dx = Pₓ ⊕ Dy.
///
/// # Panics
/// When `ex == ey` or the buffers differ in length.
#[allow(clippy::too_many_arguments)]
pub fn recover_two_data(
    p: &[u8],
    q: &[u8],
    pxy: &[u8],
    qxy: &[u8],
    ex: u8,
    ey: u8,
    dx: &mut [u8],
    dy: &mut [u8],
) {
    assert_ne!(ex, ey, "two data blocks need distinct Q exponents");
    let n = dx.len();
    assert!(dy.len() == n && p.len() >= n && q.len() >= n && pxy.len() >= n && qxy.len() >= n);
    let gx = exp(ex as usize);
    let denom = inv(gx ^ exp(ey as usize));
    let a = mul(gx, denom);
    let b = denom;
    if super::simd::recover2(p, q, pxy, qxy, a, b, dx, dy) {
        return;
    }
    recover_two_swar(p, q, pxy, qxy, a, b, dx, dy);
}

/// The portable form of [`recover_two_data`] given the two constants
/// `a = g^ex/(g^ex⊕g^ey)` and `b = 1/(g^ex⊕g^ey)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn recover_two_swar(
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
    let (abits, bbits) = (8 - a.leading_zeros(), 8 - b.leading_zeros());
    let full = n - n % 8;
    for off in (0..full).step_by(8) {
        let r = off..off + 8;
        let px = super::load(&p[r.clone()]) ^ super::load(&pxy[r.clone()]);
        let qx = super::load(&q[r.clone()]) ^ super::load(&qxy[r.clone()]);
        let vy = mul_lanes(px, a, abits) ^ mul_lanes(qx, b, bbits);
        super::store(&mut dy[r.clone()], vy);
        super::store(&mut dx[r], px ^ vy);
    }
    for i in full..n {
        let px = p[i] ^ pxy[i];
        let qx = q[i] ^ qxy[i];
        let vy = mul(px, a) ^ mul(qx, b);
        dy[i] = vy;
        dx[i] = px ^ vy;
    }
}

/// Recovers one lost data block with Q exponent `ex` when P is lost too
/// (kernel `raid6_datap_recov`): Dx = (Q ⊕ Qx)·g^−ex, where `qx` is Q over
/// the surviving data.
///
/// # Panics
/// When a buffer is shorter than `dx`.
pub fn recover_data_from_q(q: &[u8], qx: &[u8], ex: u8, dx: &mut [u8]) {
    let n = dx.len();
    assert!(q.len() >= n && qx.len() >= n);
    let c = inv(exp(ex as usize));
    dx.copy_from_slice(&q[..n]);
    xor_into(dx, qx);
    super::mul_in_place(dx, c);
}

/// Recovers one lost data block from P: Dx = P ⊕ Pₓ, where `px` is the XOR
/// of the surviving data (the RAID-5 case, and RAID-6 with Q lost or intact).
///
/// # Panics
/// When a buffer is shorter than `dx`.
pub fn recover_data_from_p(p: &[u8], px: &[u8], dx: &mut [u8]) {
    let n = dx.len();
    assert!(p.len() >= n && px.len() >= n);
    dx.copy_from_slice(&p[..n]);
    xor_into(dx, px);
}

/// What the raid6check locator concludes for a byte or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Syndrome {
    /// P and Q both match the data.
    Consistent,
    /// Only P disagrees: the P block is wrong.
    PWrong,
    /// Only Q disagrees: the Q block is wrong.
    QWrong,
    /// Both disagree consistently with a single bad data block, the one
    /// with this Q exponent (which may not exist in the row: then more than
    /// one block is wrong).
    Data {
        /// The Q exponent z = log(ΔQ) − log(ΔP) mod 255.
        exponent: u8,
    },
    /// The bytes disagree about which block is wrong: several blocks are.
    Multiple,
}

/// The locator for one byte, given ΔP = P⊕P′ and ΔQ = Q⊕Q′ (stored versus
/// recomputed).
pub fn locate_byte(delta_p: u8, delta_q: u8) -> Syndrome {
    match (log(delta_p), log(delta_q)) {
        (None, None) => Syndrome::Consistent,
        (Some(_), None) => Syndrome::PWrong,
        (None, Some(_)) => Syndrome::QWrong,
        (Some(lp), Some(lq)) => Syndrome::Data {
            exponent: ((255 + u16::from(lq) - u16::from(lp)) % 255) as u8,
        },
    }
}

/// The locator for a block: every byte that disagrees must point at the
/// same culprit, else the verdict is [`Syndrome::Multiple`].
pub fn locate_block(delta_p: &[u8], delta_q: &[u8]) -> Syndrome {
    let mut verdict = Syndrome::Consistent;
    for (&dp, &dq) in delta_p.iter().zip(delta_q) {
        let v = locate_byte(dp, dq);
        if v == Syndrome::Consistent {
            continue;
        }
        if verdict == Syndrome::Consistent {
            verdict = v;
        } else if verdict != v {
            return Syndrome::Multiple;
        }
    }
    verdict
}
