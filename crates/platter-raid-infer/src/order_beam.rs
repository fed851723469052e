//! RAID5/4 member order by continuity for arrays too wide to enumerate
//! (7 to 16 members: 16! orders per layout).
//!
//! A candidate's continuity is a sum over its chunk boundaries, and each
//! boundary joins the chunk of one slot to the chunk of another (in the
//! same row, or the last of a row to the first of the next). So the score
//! of an order is a sum over slot pairs of a member-pair table: for slot
//! pair (a, b), the similarities of every boundary the layout puts between
//! them, summed per (member at a, member at b). Those tables are built
//! once per layout; a beam search then seats members slot by slot, scoring
//! each partial order on the boundaries between seated slots, and a swap
//! search polishes the best orders. The caller weighs the result exactly
//! like the enumerated one (paired lead over the runner-up).

use std::collections::HashMap;

use crate::continuity::{Continuity, RowSims};
use crate::placement::PlacementTable;
use crate::raid6::Scored;
use crate::sample::Samples;

/// Partial orders kept at each step.
const BEAM: usize = 512;
/// Finished orders returned per layout.
const KEPT: usize = 24;
/// Largest member count searched.
pub const MAX_MEMBERS: usize = 16;

/// Per slot pair (and same row or next row): the summed similarities and
/// counts of its boundaries, per member pair `a * n + b`.
struct Tables {
    n: usize,
    /// (slot a, slot b, sum[n*n], count[n*n]).
    pairs: Vec<(usize, usize, Vec<f64>, Vec<u32>)>,
    /// Indices into `pairs` whose later slot is `k`.
    by_slot: Vec<Vec<usize>>,
}

impl Tables {
    fn new(rows: &[RowSims], t: &PlacementTable, n: usize) -> Tables {
        let mut index: HashMap<(usize, usize, bool), usize> = HashMap::new();
        let mut pairs: Vec<(usize, usize, Vec<f64>, Vec<u32>)> = Vec::new();
        let mut add = |a: usize, b: usize, next: bool, table: &[Option<f32>]| {
            let i = *index.entry((a, b, next)).or_insert_with(|| {
                pairs.push((a, b, vec![0.0; n * n], vec![0; n * n]));
                pairs.len() - 1
            });
            let (_, _, sum, count) = &mut pairs[i];
            for (k, v) in table.iter().enumerate() {
                if let Some(v) = v {
                    sum[k] += f64::from(*v);
                    count[k] += 1;
                }
            }
        };
        for r in rows {
            let data = &t.row(r.row).data_slots;
            for w in data.windows(2) {
                add(w[0], w[1], false, &r.same);
            }
            let nd = &t.row(r.row + 1).data_slots;
            if let (Some(next), Some(&last), Some(&first)) = (&r.next, data.last(), nd.first()) {
                add(last, first, true, next);
            }
        }
        let mut by_slot = vec![Vec::new(); n];
        for (i, (a, b, _, _)) in pairs.iter().enumerate() {
            by_slot[(*a).max(*b)].push(i);
        }
        Tables { n, pairs, by_slot }
    }

    /// Sum and count added by seating `member` at slot `k` after `order`.
    fn gain(&self, order: &[usize], k: usize, member: usize) -> (f64, u32) {
        let n = self.n;
        let (mut s, mut c) = (0.0, 0);
        for &i in &self.by_slot[k] {
            let (a, b, sum, count) = &self.pairs[i];
            let ma = if *a == k { member } else { order[*a] };
            let mb = if *b == k { member } else { order[*b] };
            s += sum[ma * n + mb];
            c += count[ma * n + mb];
        }
        (s, c)
    }

    /// Mean over a full order.
    fn mean(&self, order: &[usize]) -> f64 {
        let n = self.n;
        let (mut s, mut c) = (0.0, 0u32);
        for (a, b, sum, count) in &self.pairs {
            s += sum[order[*a] * n + order[*b]];
            c += count[order[*a] * n + order[*b]];
        }
        if c == 0 { 0.0 } else { s / f64::from(c) }
    }
}

/// A partial order.
#[derive(Clone)]
struct State {
    order: Vec<usize>,
    used: u32,
    sum: f64,
    count: u32,
}

impl State {
    fn mean(&self) -> f64 {
        // Unmeasured prefixes rank in the middle, not first or last.
        (self.sum + 0.5) / (f64::from(self.count) + 1.0)
    }
}

/// Beam search, then swaps, over one layout's tables: the best full
/// orders found, best first.
fn best_orders(t: &Tables) -> Vec<Vec<usize>> {
    let n = t.n;
    let mut beam = vec![State {
        order: Vec::with_capacity(n),
        used: 0,
        sum: 0.0,
        count: 0,
    }];
    for k in 0..n {
        let mut next: Vec<State> = Vec::with_capacity(beam.len() * (n - k));
        for s in &beam {
            for m in (0..n).filter(|&m| s.used & (1 << m) == 0) {
                let (g, c) = t.gain(&s.order, k, m);
                let mut o = s.order.clone();
                o.push(m);
                next.push(State {
                    order: o,
                    used: s.used | 1 << m,
                    sum: s.sum + g,
                    count: s.count + c,
                });
            }
        }
        next.sort_by(|a, b| b.mean().total_cmp(&a.mean()));
        next.truncate(BEAM);
        beam = next;
    }
    let mut out: Vec<(f64, Vec<usize>)> = beam
        .into_iter()
        .take(KEPT)
        .map(|s| (t.mean(&s.order), s.order))
        .collect();
    // Swaps until none helps, from the best few.
    for (score, order) in out.iter_mut().take(4) {
        loop {
            let mut improved = false;
            for i in 0..n {
                for j in i + 1..n {
                    order.swap(i, j);
                    let s = t.mean(order);
                    if s > *score + 1e-12 {
                        *score = s;
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
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.dedup_by(|a, b| a.1 == b.1);
    out.into_iter().map(|(_, o)| o).collect()
}

/// The best RAID5 candidates at one chunk size for `n` members (up to
/// [`MAX_MEMBERS`]), with their continuity: a handful per layout.
pub(crate) fn search(
    samples: &Samples,
    n: usize,
    chunk: u64,
    off: u64,
) -> Vec<(Scored, Continuity)> {
    if !(2..=MAX_MEMBERS).contains(&n) {
        return Vec::new();
    }
    crate::continuity::search_orders(samples, n, chunk, off, |t, rows| {
        best_orders(&Tables::new(rows, t, n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_core::{MemSource, Source};
    use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};

    use crate::sample::{SECTOR, SampleOptions, read_samples};

    /// Members of a RAID5 of `n` with `order` whose array holds labelled
    /// sectors, with parity computed.
    fn raid5(layout: ParityLayout, order: &[usize], chunk: u64, member: u64) -> Vec<Vec<u8>> {
        let n = order.len();
        let slots: Vec<Option<usize>> = order.iter().map(|&i| Some(i)).collect();
        let g = Geometry::new(Level::Raid5, Layout::Parity(layout), chunk, n).with_order(&slots);
        let m = g.mapping(&vec![Some(member); n]).unwrap();
        let mut imgs = vec![vec![0u8; member as usize]; n];
        let s = SECTOR as u64;
        for k in 0..m.array_size() / s {
            let loc = m.locate(k * s).unwrap();
            let mut sec = format!("log line {k:>12} of the archive\n").into_bytes();
            sec.resize(SECTOR, b' ');
            let at = loc.member_offset as usize;
            imgs[order[loc.slot]][at..at + SECTOR].copy_from_slice(&sec);
        }
        // Parity: every member XORs to zero.
        let rows = member / chunk;
        for r in 0..rows {
            let row = m.row(r).unwrap();
            let p = order[row.p.unwrap()];
            let base = (r * chunk) as usize;
            let mut acc = vec![0u8; chunk as usize];
            for (i, img) in imgs.iter().enumerate() {
                if i != p {
                    for (a, b) in acc.iter_mut().zip(&img[base..base + chunk as usize]) {
                        *a ^= b;
                    }
                }
            }
            imgs[p][base..base + chunk as usize].copy_from_slice(&acc);
        }
        imgs
    }

    #[test]
    fn beam_orders_a_wide_array() {
        let order = [7, 2, 9, 0, 11, 4, 1, 8, 10, 3, 6, 5];
        let chunk = 16 << 10;
        for layout in [ParityLayout::LeftSymmetric, ParityLayout::RightAsymmetric] {
            let imgs = raid5(layout, &order, chunk, 1 << 20);
            let srcs: Vec<MemSource> = imgs
                .iter()
                .enumerate()
                .map(|(i, d)| MemSource::new(format!("m{i}"), d.clone()))
                .collect();
            let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
            let samples = read_samples(&refs, &SampleOptions::default()).unwrap();
            let mut found = search(&samples, order.len(), chunk, 0);
            found.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
            let top = &found[0].0;
            assert_eq!(top.layout, layout);
            assert_eq!(top.order, order, "{layout:?}");
        }
    }
}
