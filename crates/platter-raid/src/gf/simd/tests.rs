//! The AVX2 kernels against the portable SWAR code and the independent
//! `gf256` crate, for every constant and lengths with and without tails.

use super::super::raid6::{horner_swar, recover_two_swar};
use super::super::{mul_in_place as dispatch_in_place, mul_swar};
use super::*;
use ::gf256::gf256 as G;

fn oracle_mul(a: u8, b: u8) -> u8 {
    u8::from(G(a) * G(b))
}

/// Deterministic pseudo-random bytes (xorshift).
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Lengths around the 32- and 64-byte strides, empty, and a few odd ones.
fn lengths() -> Vec<usize> {
    let mut v = vec![0, 1, 7, 31, 32, 33, 63, 64, 65, 95, 96, 127, 129, 1000];
    v.extend(bytes(6, 99).iter().map(|&b| 200 + usize::from(b) * 3));
    v
}

#[test]
fn avx2_is_used_when_the_cpu_has_it() {
    #[cfg(target_arch = "x86_64")]
    assert_eq!(available(), std::is_x86_feature_detected!("avx2"));
    let mut d = [0u8; 40];
    assert_eq!(mul::<false>(&mut d, &[1u8; 40], 3), available());
}

#[test]
fn mul_matches_swar_and_gf256_for_every_constant() {
    for (k, n) in lengths().into_iter().enumerate() {
        let src = bytes(n, k as u64 + 1);
        let base = bytes(n, k as u64 + 1000);
        for c in 0..=255u8 {
            let want: Vec<u8> = src.iter().map(|&x| oracle_mul(x, c)).collect();
            let mut got = vec![0xaau8; n];
            let mut swar = vec![0x55u8; n];
            if !mul::<false>(&mut got, &src, c) {
                mul_swar::<false>(&mut got, &src, c);
            }
            mul_swar::<false>(&mut swar, &src, c);
            assert_eq!(got, want, "mul c={c} n={n}");
            assert_eq!(swar, want, "swar mul c={c} n={n}");

            let mut acc = base.clone();
            let mut acc_swar = base.clone();
            if !mul::<true>(&mut acc, &src, c) {
                mul_swar::<true>(&mut acc, &src, c);
            }
            mul_swar::<true>(&mut acc_swar, &src, c);
            let want_acc: Vec<u8> = base.iter().zip(&want).map(|(a, b)| a ^ b).collect();
            assert_eq!(acc, want_acc, "mul_acc c={c} n={n}");
            assert_eq!(acc_swar, want_acc, "swar mul_acc c={c} n={n}");

            let mut inplace = src.clone();
            dispatch_in_place(&mut inplace, c);
            assert_eq!(inplace, want, "mul_in_place c={c} n={n}");
        }
    }
}

#[test]
fn mul_stops_at_the_shorter_buffer() {
    let src = bytes(70, 5);
    let mut dst = vec![9u8; 100];
    if !mul::<false>(&mut dst, &src, 0x8e) {
        mul_swar::<false>(&mut dst, &src, 0x8e);
    }
    for i in 0..70 {
        assert_eq!(dst[i], oracle_mul(src[i], 0x8e));
    }
    assert!(dst[70..].iter().all(|&b| b == 9));
}

#[test]
fn recover2_matches_swar_for_every_constant_pair_sample() {
    for (k, n) in lengths().into_iter().enumerate() {
        let ins: Vec<Vec<u8>> = (0..4).map(|j| bytes(n, (k * 4 + j) as u64 + 7)).collect();
        for a in 0..=255u8 {
            let b = a.wrapping_mul(37).wrapping_add(k as u8);
            let (mut dx, mut dy) = (vec![1u8; n], vec![2u8; n]);
            let (mut sx, mut sy) = (vec![3u8; n], vec![4u8; n]);
            if !recover2(&ins[0], &ins[1], &ins[2], &ins[3], a, b, &mut dx, &mut dy) {
                recover_two_swar(&ins[0], &ins[1], &ins[2], &ins[3], a, b, &mut dx, &mut dy);
            }
            recover_two_swar(&ins[0], &ins[1], &ins[2], &ins[3], a, b, &mut sx, &mut sy);
            for i in 0..n {
                let px = ins[0][i] ^ ins[2][i];
                let qx = ins[1][i] ^ ins[3][i];
                let vy = oracle_mul(px, a) ^ oracle_mul(qx, b);
                assert_eq!((dy[i], dx[i]), (vy, px ^ vy), "a={a} b={b} n={n} i={i}");
            }
            assert_eq!((dx, dy), (sx, sy), "a={a} b={b} n={n}");
        }
    }
}

#[test]
fn horner_matches_swar_and_gf256() {
    for (k, n) in lengths().into_iter().enumerate() {
        // Exponents in descending order, as gen_syndromes hands them over.
        for exps in [vec![5u8, 3, 2, 0], vec![254u8, 100, 1], vec![9u8], vec![]] {
            let data: Vec<Vec<u8>> = (0..exps.len())
                .map(|j| bytes(n, (k * 8 + j) as u64 + 3))
                .collect();
            let mut steps: Vec<(&[u8], u32)> = Vec::new();
            let mut prev: Option<u8> = None;
            for (d, &e) in data.iter().zip(&exps) {
                steps.push((d, prev.map_or(0, |pe| u32::from(pe - e))));
                prev = Some(e);
            }
            let tail = u32::from(prev.unwrap_or(0));
            let (mut p, mut q) = (vec![0xeeu8; n], vec![0xddu8; n]);
            if !horner(&steps, tail, Some(&mut p), &mut q) {
                horner_swar(&steps, tail, Some(&mut p), &mut q);
            }
            let (mut sp, mut sq) = (vec![1u8; n], vec![2u8; n]);
            horner_swar(&steps, tail, Some(&mut sp), &mut sq);
            let mut q_only = vec![0x11u8; n];
            if !horner(&steps, tail, None, &mut q_only) {
                horner_swar(&steps, tail, None, &mut q_only);
            }
            for i in 0..n {
                let mut wp = 0u8;
                let mut wq = G(0);
                for (d, &e) in data.iter().zip(&exps) {
                    wp ^= d[i];
                    wq += G::GENERATOR.pow(e) * G(d[i]);
                }
                assert_eq!((p[i], q[i]), (wp, u8::from(wq)), "{exps:?} n={n} i={i}");
            }
            assert_eq!((&p, &q), (&sp, &sq), "{exps:?} n={n}");
            assert_eq!(q_only, q, "{exps:?} n={n}");
        }
    }
}
