//! RAID0 without structures: the member order from continuity across
//! chunk boundaries. In a row, the end of each member's chunk runs on into
//! the start of the next slot's chunk; the last slot's runs on into the
//! first slot's chunk of the next row. Sequence numbers and text that
//! persist inside a chunk show which member follows which.

use crate::continuity::{Continuity, RowSims, row_sims, stats};
use crate::placement::permutations;
use crate::sample::Samples;

/// Largest member count whose orders are all enumerated.
pub const MAX_ENUMERATED: usize = 8;
/// Largest member count searched (by beam above [`MAX_ENUMERATED`]).
pub const MAX_MEMBERS: usize = 16;
/// Partial orders the beam keeps.
const BEAM: usize = 512;

/// A RAID0 order and how well continuity supports it.
#[derive(Debug, Clone)]
pub struct Order {
    /// `order[slot]` = member image.
    pub order: Vec<usize>,
    /// Continuity over its boundaries.
    pub continuity: Continuity,
}

/// The boundaries of `order`: per row, the same-row pairs of consecutive
/// slots and the last slot's pair with the first slot of the next row, as
/// (table index, similarity) in a fixed order (`None` where unmeasured).
fn boundaries(rows: &[RowSims], order: &[usize], n: usize) -> Vec<Option<(usize, f32)>> {
    let mut out = Vec::with_capacity(rows.len() * n);
    for r in rows {
        for pair in order.windows(2) {
            let idx = pair[0] * n + pair[1];
            out.push(r.same[idx].map(|v| (idx, v)));
        }
        let idx = order[n - 1] * n + order[0];
        out.push(
            r.next
                .as_ref()
                .and_then(|t| t[idx])
                .map(|v| (n * n + idx, v)),
        );
    }
    out
}

/// Every order of `n` (2…[`MAX_ENUMERATED`]) members, or the best the
/// beam finds for up to [`MAX_MEMBERS`], at `chunk` bytes and
/// data offset `off`, best first by mean boundary continuity, with the
/// paired lead of the best over the runner-up in standard errors (over
/// the boundaries where they differ). `None` when there are too many
/// members or nothing was measured.
pub fn search(samples: &Samples, n: usize, chunk: u64, off: u64) -> Option<(Vec<Order>, f64)> {
    if !(2..=MAX_MEMBERS).contains(&n) {
        return None;
    }
    let rows = row_sims(samples, n, chunk, off);
    // Per table cell: sum and count, so that each order is scored in O(n).
    let cells = 2 * n * n;
    let (mut sum, mut count) = (vec![0f64; cells], vec![0u64; cells]);
    for r in &rows {
        for (i, v) in r.same.iter().enumerate() {
            if let Some(v) = v {
                sum[i] += f64::from(*v);
                count[i] += 1;
            }
        }
        if let Some(next) = &r.next {
            for (i, v) in next.iter().enumerate() {
                if let Some(v) = v {
                    sum[n * n + i] += f64::from(*v);
                    count[n * n + i] += 1;
                }
            }
        }
    }
    let score = |order: &[usize]| -> (f64, u64) {
        let mut idx: Vec<usize> = order.windows(2).map(|p| p[0] * n + p[1]).collect();
        idx.push(n * n + order[n - 1] * n + order[0]);
        let (s, c) = idx
            .iter()
            .fold((0f64, 0u64), |(s, c), &i| (s + sum[i], c + count[i]));
        (if c > 0 { s / c as f64 } else { 0.0 }, c)
    };
    let orders = if n <= MAX_ENUMERATED {
        permutations(n, &vec![None; n])
    } else {
        beam(n, &sum, &count, &score)
    };
    let mut ranked: Vec<(f64, u64, Vec<usize>)> = orders
        .into_iter()
        .map(|o| {
            let (m, c) = score(&o);
            (m, c, o)
        })
        .filter(|x| x.1 > 0)
        .collect();
    if ranked.is_empty() {
        return None;
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    ranked.truncate(8);
    let orders: Vec<Order> = ranked
        .into_iter()
        .map(|(_, _, order)| {
            let c = stats(
                boundaries(&rows, &order, n)
                    .into_iter()
                    .flatten()
                    .map(|(_, v)| f64::from(v)),
            );
            Order {
                order,
                continuity: c,
            }
        })
        .collect();
    let z = match orders.get(1) {
        None => f64::INFINITY,
        Some(b) => paired_z(&rows, n, &orders[0].order, &b.order),
    };
    Some((orders, z))
}

/// Orders of `n` members too many to enumerate: seated one slot at a
/// time, each partial order scored on the boundaries between its seated
/// slots (the best [`BEAM`] kept), then polished by swapping members while
/// that helps. `sum`/`count` are the same-row and next-row cell tables.
fn beam(
    n: usize,
    sum: &[f64],
    count: &[u64],
    score: &dyn Fn(&[usize]) -> (f64, u64),
) -> Vec<Vec<usize>> {
    // (order, sum, count); unmeasured prefixes rank in the middle.
    let key = |s: f64, c: u64| (s + 0.5) / (c as f64 + 1.0);
    let mut states: Vec<(Vec<usize>, f64, u64)> = vec![(Vec::new(), 0.0, 0)];
    for k in 0..n {
        let mut next = Vec::with_capacity(states.len() * (n - k));
        for (o, s, c) in &states {
            for m in (0..n).filter(|m| !o.contains(m)) {
                let (mut s2, mut c2) = (*s, *c);
                if let Some(&prev) = o.last() {
                    s2 += sum[prev * n + m];
                    c2 += count[prev * n + m];
                }
                if k == n - 1 {
                    // The last slot runs on into the first of the next row.
                    s2 += sum[n * n + m * n + o[0]];
                    c2 += count[n * n + m * n + o[0]];
                }
                let mut o2 = o.clone();
                o2.push(m);
                next.push((o2, s2, c2));
            }
        }
        next.sort_by(|a, b| key(b.1, b.2).total_cmp(&key(a.1, a.2)));
        next.truncate(BEAM);
        states = next;
    }
    let mut out: Vec<Vec<usize>> = states.into_iter().map(|(o, _, _)| o).take(64).collect();
    for order in out.iter_mut().take(4) {
        let mut best = score(order).0;
        loop {
            let mut improved = false;
            for i in 0..n {
                for j in i + 1..n {
                    order.swap(i, j);
                    let s = score(order).0;
                    if s > best + 1e-12 {
                        best = s;
                        improved = true;
                    } else {
                        order.swap(i, j);
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Lead of order `a` over `b` in standard errors of the paired difference
/// over the boundaries where they predict different sector pairs.
fn paired_z(rows: &[RowSims], n: usize, a: &[usize], b: &[usize]) -> f64 {
    crate::continuity::paired_lead(&boundaries(rows, a, n), &boundaries(rows, b, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleWindow;

    /// Labelled sectors ("log record N") striped as RAID0 with `order`.
    fn striped(order: &[usize], chunk: usize, member: usize) -> Samples {
        let n = order.len();
        let mut images = vec![vec![0u8; member]; n];
        for (slot, &img) in order.iter().enumerate() {
            for at in (0..member).step_by(512) {
                let row = at / chunk;
                let sector = ((row * n + slot) * chunk + at % chunk) / 512;
                let mut s = format!("log record {sector} of the journal").into_bytes();
                s.resize(512, b'.');
                images[img][at..at + 512].copy_from_slice(&s);
            }
        }
        let window = 256 << 10;
        Samples {
            windows: (0..member)
                .step_by(window)
                .map(|at| SampleWindow {
                    offset: at as u64,
                    data: images.iter().map(|m| m[at..at + window].to_vec()).collect(),
                })
                .collect(),
            bytes_read_per_member: member as u64,
            common_bytes: member as u64,
        }
    }

    #[test]
    fn continuity_orders_raid0_members() {
        for order in [
            vec![2, 0, 3, 1],
            vec![1, 0],
            vec![4, 2, 0, 1, 3],
            vec![9, 3, 11, 0, 7, 1, 10, 5, 2, 8, 4, 6],
        ] {
            let samples = striped(&order, 64 << 10, 2 << 20);
            let (found, z) = search(&samples, order.len(), 64 << 10, 0).unwrap();
            assert_eq!(found[0].order, order);
            assert!(z >= 4.0, "{z}");
        }
    }

    #[test]
    fn no_continuity_no_order() {
        // Random bytes: nothing persists, no order stands out.
        let images: Vec<Vec<u8>> = (0..3u64)
            .map(|i| crate::structures::test_support::noise(0x2545F4914F6CDD1Du64 + i, 1 << 20))
            .collect();
        let samples = Samples {
            windows: vec![SampleWindow {
                offset: 0,
                data: images,
            }],
            bytes_read_per_member: 1 << 20,
            common_bytes: 1 << 20,
        };
        if let Some((_, z)) = search(&samples, 3, 64 << 10, 0) {
            assert!(z < 4.0, "{z}");
        }
        assert!(search(&samples, MAX_MEMBERS + 1, 64 << 10, 0).is_none());
    }
}
