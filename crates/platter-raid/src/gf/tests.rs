//! GF(2^8) checked against the independent `gf256` crate (0x11d, g = 2).

use super::raid6::{self, Syndrome};
use super::*;
use ::gf256::gf256 as G;

fn oracle_mul(a: u8, b: u8) -> u8 {
    u8::from(G(a) * G(b))
}

#[test]
fn scalar_ops_match_gf256() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            assert_eq!(mul(a, b), oracle_mul(a, b), "{a}*{b}");
        }
        if a != 0 {
            assert_eq!(mul(inv(a), a), 1);
            assert_eq!(exp(log(a).unwrap() as usize), a);
        }
    }
    for i in 0..300usize {
        assert_eq!(exp(i), u8::from(G::GENERATOR.pow((i % 255) as u8)));
    }
    assert_eq!(log(0), None);
    assert_eq!(div(mul(7, 9), 9), 7);
}

#[test]
fn bulk_ops_match_scalar() {
    let src: Vec<u8> = (0..203u32).map(|i| (i * 37 + 11) as u8).collect();
    for c in [0u8, 1, 2, 3, 0x1d, 0x80, 0xff, 0x53] {
        let mut dst = vec![0u8; src.len()];
        mul_into(&mut dst, &src, c);
        let want: Vec<u8> = src.iter().map(|&x| oracle_mul(x, c)).collect();
        assert_eq!(dst, want, "mul_into c={c}");
        let mut acc: Vec<u8> = (0..src.len()).map(|i| i as u8).collect();
        mul_acc(&mut acc, &src, c);
        for (i, v) in acc.iter().enumerate() {
            assert_eq!(*v, (i as u8) ^ want[i]);
        }
        let mut inplace = src.clone();
        mul_in_place(&mut inplace, c);
        assert_eq!(inplace, want);
    }
    let mut x = src.clone();
    xor_into(&mut x, &src);
    assert!(x.iter().all(|&b| b == 0));
}

fn blocks(n: usize, len: usize, seed: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|j| {
            (0..len)
                .map(|i| ((i as u32).wrapping_mul(2654435761) ^ (j as u32 * 977 + seed)) as u8)
                .collect()
        })
        .collect()
}

fn oracle_pq(data: &[Vec<u8>], exps: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let len = data[0].len();
    let mut p = vec![0u8; len];
    let mut q = vec![0u8; len];
    for (d, &e) in data.iter().zip(exps) {
        let g = G::GENERATOR.pow(e);
        for i in 0..len {
            p[i] ^= d[i];
            q[i] = u8::from(G(q[i]) + G(d[i]) * g);
        }
    }
    (p, q)
}

#[test]
fn syndromes_match_gf256_for_any_exponent_order() {
    for (exps, len) in [
        (vec![0u8, 1, 2], 200usize),
        (vec![2u8, 0, 1], 130),
        (vec![0u8, 3, 5, 6], 64),
        (vec![7u8], 9),
        (vec![1u8, 1], 70), // duplicates take the slow path
        (vec![254u8, 0, 100], 129),
    ] {
        let data = blocks(exps.len(), len, 5);
        let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
        let (mut p, mut q) = (vec![0u8; len], vec![0u8; len]);
        raid6::gen_pq(&refs, &exps, &mut p, &mut q);
        let (wp, wq) = oracle_pq(&data, &exps);
        assert_eq!(p, wp, "P for {exps:?}");
        assert_eq!(q, wq, "Q for {exps:?}");
    }
}

#[test]
fn recovery_of_every_pair() {
    let exps = [0u8, 1, 2, 3, 4, 9];
    let len = 77;
    let data = blocks(exps.len(), len, 3);
    let (p, q) = oracle_pq(&data, &exps);
    for x in 0..exps.len() {
        // data + P lost, and data + Q lost (from P).
        let others: Vec<Vec<u8>> = (0..exps.len())
            .map(|j| {
                if j == x {
                    vec![0; len]
                } else {
                    data[j].clone()
                }
            })
            .collect();
        let (px, qx) = oracle_pq(&others, &exps);
        let mut d = vec![0u8; len];
        raid6::recover_data_from_q(&q, &qx, exps[x], &mut d);
        assert_eq!(d, data[x]);
        raid6::recover_data_from_p(&p, &px, &mut d);
        assert_eq!(d, data[x]);
        for y in 0..exps.len() {
            if y == x {
                continue;
            }
            let others: Vec<Vec<u8>> = (0..exps.len())
                .map(|j| {
                    if j == x || j == y {
                        vec![0; len]
                    } else {
                        data[j].clone()
                    }
                })
                .collect();
            let (pxy, qxy) = oracle_pq(&others, &exps);
            let (mut dx, mut dy) = (vec![0u8; len], vec![0u8; len]);
            raid6::recover_two_data(&p, &q, &pxy, &qxy, exps[x], exps[y], &mut dx, &mut dy);
            assert_eq!(dx, data[x], "x={x} y={y}");
            assert_eq!(dy, data[y], "x={x} y={y}");
        }
    }
}

#[test]
fn locator_names_the_corrupt_block() {
    let exps = [0u8, 1, 2, 3];
    let len = 40;
    let data = blocks(4, len, 9);
    let (p, q) = oracle_pq(&data, &exps);
    for bad in 0..4 {
        let mut d = data.clone();
        d[bad][3] ^= 0x5a;
        d[bad][20] ^= 0x01;
        let (p2, q2) = oracle_pq(&d, &exps);
        let dp: Vec<u8> = p.iter().zip(&p2).map(|(a, b)| a ^ b).collect();
        let dq: Vec<u8> = q.iter().zip(&q2).map(|(a, b)| a ^ b).collect();
        assert_eq!(
            raid6::locate_block(&dp, &dq),
            Syndrome::Data {
                exponent: exps[bad]
            }
        );
    }
    assert_eq!(raid6::locate_byte(0, 0), Syndrome::Consistent);
    assert_eq!(raid6::locate_byte(3, 0), Syndrome::PWrong);
    assert_eq!(raid6::locate_byte(0, 3), Syndrome::QWrong);
    // Two bytes blaming different blocks.
    assert_eq!(raid6::locate_block(&[1, 1], &[1, 2]), Syndrome::Multiple);
}
