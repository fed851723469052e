//! Content continuity: chunk size from where same-member continuity
//! breaks, and member order and layout from continuity across the chunk
//! boundaries a candidate predicts (RAID5/4, and RAID6 ties that parity
//! cannot separate).
//!
//! Every RAID5 member is the XOR of the others, so parity cannot say which
//! member holds parity in a row. What does differ between candidates is
//! the logical byte stream they assemble: under the right (layout, chunk,
//! order) the last sector of each logical chunk is followed by the sector
//! that really came next, and consecutive sectors of real data resemble
//! each other (shared structure, text, counters that differ in the last
//! digits). The score of a candidate is the mean byte-position similarity
//! of the sector pairs that meet at its chunk boundaries.
//!
//! Similarities are precomputed once per chunk size and row, for every
//! (member, member) pair, so scoring the n!·6 candidates is a table walk.

use platter_raid::geometry::{Level, ParityLayout};
use rayon::prelude::*;

use crate::bytes::{is_zero, words, zero_bytes};
use crate::placement::{CHUNKS, PlacementTable, permutations};
use crate::raid6::Scored;
use crate::sample::{SECTOR, Samples};
use crate::text_flow::TextModel;

/// The boundary similarities of one row.
#[derive(Debug, Clone)]
pub(crate) struct RowSims {
    pub(crate) row: u64,
    /// `same[a*n+b]`: end of member a's chunk vs start of member b's chunk,
    /// same row; `None` when either sector is all zero.
    pub(crate) same: Vec<Option<f32>>,
    /// Same, with b's chunk taken from the next row.
    pub(crate) next: Option<Vec<Option<f32>>>,
}

/// Continuity of the sector pair (`a`, `b`) meeting at a chunk boundary,
/// 0…1: of the byte positions that stay the same from `a_prev` to `a`
/// (and from `b` to `b_next`), inside each chunk, the fraction that also
/// stay the same from `a` to `b`. Structure that persists within a chunk
/// should persist across the boundary to the chunk that really follows;
/// noise-like positions (changing within the chunk) do not count. `None`
/// when a sector is all zero or no position is stable.
pub(crate) fn similarity(
    a_prev: &[u8],
    a: &[u8],
    b: &[u8],
    b_next: &[u8],
    text: Option<&TextModel>,
) -> Option<f32> {
    if is_zero(a) || is_zero(b) {
        return None;
    }
    if let Some(follows) = counter_follows(a_prev, a, b, b_next) {
        return Some(if follows { 1.0 } else { 0.0 });
    }
    // Flowing text keeps no byte in place: how it flows decides.
    if let Some(v) = text.and_then(|m| m.junction(a, b)) {
        return Some(v);
    }
    let (mut stable, mut kept) = (0u32, 0u32);
    let it = words(a_prev).zip(words(a)).zip(words(b).zip(words(b_next)));
    for ((wp, wa), (wb, wn)) in it {
        let cross = zero_bytes(wa ^ wb);
        let sa = zero_bytes(wp ^ wa);
        let sb = zero_bytes(wn ^ wb);
        stable += sa.count_ones() + sb.count_ones();
        kept += (sa & cross).count_ones() + (sb & cross).count_ones();
    }
    (stable > 0).then(|| kept as f32 / stable as f32)
}

/// Bytes at the start of a sector searched for a sequence number.
const COUNTER_SPAN: usize = 256;
/// Bytes before a counter that must read the same in both chunks for a
/// different number to say the chunks do not follow.
const COUNTER_LABEL: usize = 6;
/// Largest step between consecutive sectors taken for a counter.
const MAX_COUNTER_STEP: u64 = 1 << 24;

/// The decimal number whose first digit is at `p` (after a non-digit or
/// at the start), up to 18 digits.
fn number_at(s: &[u8], p: usize) -> Option<u64> {
    if !s.get(p)?.is_ascii_digit() || (p > 0 && s[p - 1].is_ascii_digit()) {
        return None;
    }
    let digits = s[p..].iter().take_while(|c| c.is_ascii_digit()).take(18);
    Some(digits.fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')))
}

/// Sequence numbers (records, log lines, sector labels): a decimal number
/// at the same place that grows by the same step from `a_prev` to `a` and
/// from `b` to `b_next` says whether `b` follows `a` (it grows by that
/// step again) or not. `None` when there is no such counter.
fn counter_follows(a_prev: &[u8], a: &[u8], b: &[u8], b_next: &[u8]) -> Option<bool> {
    let span = a.len().min(COUNTER_SPAN);
    (0..span).find_map(|p| {
        let (xp, xa) = (number_at(a_prev, p)?, number_at(a, p)?);
        let xb = number_at(b, p)?;
        let step = xa
            .checked_sub(xp)
            .filter(|d| (1..=MAX_COUNTER_STEP).contains(d))?;
        if xb.checked_sub(xa) == Some(step) {
            return Some(true);
        }
        // The counter runs on in `b` by the same step, from another
        // value, or `b` carries another number behind the same label (a
        // fixed record format: "sector ", "LBA="…): `b` belongs
        // elsewhere. Otherwise the number says nothing.
        let label = p.min(COUNTER_LABEL);
        if label >= COUNTER_LABEL
            && a_prev[p - label..p] == a[p - label..p]
            && a[p - label..p] == b[p - label..p]
        {
            return Some(false);
        }
        let xn = number_at(b_next, p)?;
        (xn.checked_sub(xb) == Some(step)).then_some(false)
    })
}

/// Row similarity tables for one chunk size.
pub(crate) fn row_sims(samples: &Samples, n: usize, chunk: u64, off: u64) -> Vec<RowSims> {
    let sec = SECTOR as u64;
    let text = TextModel::learn(samples);
    let mut out = Vec::new();
    for (wi, w) in samples.windows.iter().enumerate() {
        let wlen = w.data[0].len() as u64;
        let end = w.offset + wlen;
        // A window that starts where this one ends gives the sectors after
        // a row that ends on the edge.
        let after = samples
            .windows
            .get(wi + 1)
            .filter(|x| x.offset == end && x.sectors() >= 2);
        let first_row = w.offset.saturating_sub(off).div_ceil(chunk);
        let mut row = first_row;
        loop {
            let start = off + row * chunk;
            if start < w.offset || start + chunk > end {
                break;
            }
            let last = ((start + chunk - sec - w.offset) / sec) as usize;
            let first = ((start - w.offset) / sec) as usize;
            let table = |bw: &crate::sample::SampleWindow, b_first: usize| -> Vec<Option<f32>> {
                let mut t = Vec::with_capacity(n * n);
                for a in 0..n {
                    for b in 0..n {
                        t.push(if a == b {
                            None
                        } else {
                            similarity(
                                w.sector(a, last - 1),
                                w.sector(a, last),
                                bw.sector(b, b_first),
                                bw.sector(b, b_first + 1),
                                text.as_ref(),
                            )
                        });
                    }
                }
                t
            };
            let same = table(w, first);
            let next = if start + chunk + 2 * sec <= end {
                Some(table(w, last + 1))
            } else {
                after.filter(|_| start + chunk == end).map(|x| table(x, 0))
            };
            if same.iter().any(Option::is_some) {
                out.push(RowSims { row, same, next });
            }
            row += 1;
        }
    }
    out
}

/// Statistics of a candidate's boundary similarities.
#[derive(Debug, Clone, Copy, Default)]
pub struct Continuity {
    /// Mean similarity, 0…1.
    pub mean: f64,
    /// Variance of the per-boundary similarity.
    pub var: f64,
    /// Boundaries scored.
    pub count: u64,
}

/// The boundary sector pairs of a candidate, one entry per (row, data
/// chunk) position in a fixed order: the pair's table index (0 for
/// same-row, 1 for next-row, then the member pair) and its similarity.
fn boundaries(
    rows: &[RowSims],
    t: &PlacementTable,
    order: &[usize],
    n: usize,
) -> Vec<Option<(usize, f32)>> {
    let mut out = Vec::new();
    for r in rows {
        let data = &t.row(r.row).data_slots;
        for pair in data.windows(2) {
            let idx = order[pair[0]] * n + order[pair[1]];
            out.push(r.same[idx].map(|v| (idx, v)));
        }
        let nd = &t.row(r.row + 1).data_slots;
        out.push(match (&r.next, data.last(), nd.first()) {
            (Some(next), Some(&last), Some(&first)) => {
                let idx = order[last] * n + order[first];
                next[idx].map(|v| (n * n + idx, v))
            }
            _ => None,
        });
    }
    out
}

pub(crate) fn stats(values: impl Iterator<Item = f64>) -> Continuity {
    let (mut sum, mut sq, mut count) = (0f64, 0f64, 0u64);
    for x in values {
        sum += x;
        sq += x * x;
        count += 1;
    }
    if count == 0 {
        return Continuity::default();
    }
    let mean = sum / count as f64;
    Continuity {
        mean,
        var: (sq / count as f64 - mean * mean).max(0.0),
        count,
    }
}

pub(crate) fn continuity(
    rows: &[RowSims],
    t: &PlacementTable,
    order: &[usize],
    n: usize,
) -> Continuity {
    stats(
        boundaries(rows, t, order, n)
            .into_iter()
            .flatten()
            .map(|(_, v)| f64::from(v)),
    )
}

fn paired(
    rows: &[RowSims],
    n: usize,
    a: (&PlacementTable, &[usize]),
    b: (&PlacementTable, &[usize]),
) -> f64 {
    paired_lead(
        &boundaries(rows, a.0, a.1, n),
        &boundaries(rows, b.0, b.1, n),
    )
}

/// Lead of boundary list `ba` over `bb` (the same boundaries, each as the
/// table index of the sector pair it predicts and its similarity) in
/// standard errors of the paired difference, over the boundaries where
/// they predict different pairs; 0 when they never differ.
pub(crate) fn paired_lead(ba: &[Option<(usize, f32)>], bb: &[Option<(usize, f32)>]) -> f64 {
    let diffs = ba.iter().zip(bb).filter_map(|(x, y)| match (x, y) {
        (Some((i, u)), Some((j, v))) if i != j => Some(f64::from(*u) - f64::from(*v)),
        _ => None,
    });
    let d = stats(diffs);
    if d.count < 2 {
        return 0.0;
    }
    let se = (d.var / d.count as f64).sqrt();
    if se > 0.0 {
        d.mean / se
    } else if d.mean > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// Boundary similarity tables per chunk size, computed once each.
#[derive(Debug)]
pub struct RowCache<'a> {
    samples: &'a Samples,
    n: usize,
    off: u64,
    map: std::collections::HashMap<u64, Vec<RowSims>>,
}

impl<'a> RowCache<'a> {
    /// An empty cache for `n` members with data at `off`.
    pub fn new(samples: &'a Samples, n: usize, off: u64) -> Self {
        RowCache {
            samples,
            n,
            off,
            map: std::collections::HashMap::new(),
        }
    }

    fn rows(&mut self, chunk: u64) -> &[RowSims] {
        let (samples, n, off) = (self.samples, self.n, self.off);
        self.map
            .entry(chunk)
            .or_insert_with(|| row_sims(samples, n, chunk, off))
    }

    /// Continuity of `t` at `chunk` with `order`.
    pub fn candidate(&mut self, chunk: u64, t: &PlacementTable, order: &[usize]) -> Continuity {
        let n = self.n;
        continuity(self.rows(chunk), t, order, n)
    }

    /// Lead of candidate `a` over `b` (same chunk size and level) in
    /// standard errors of the paired difference over the boundaries where
    /// they predict different sector pairs; 0 when they never differ.
    pub fn paired_z(
        &mut self,
        chunk: u64,
        a: (&PlacementTable, &[usize]),
        b: (&PlacementTable, &[usize]),
    ) -> f64 {
        let n = self.n;
        let rows = self.rows(chunk);
        paired(rows, n, a, b)
    }
}

/// Every RAID5 candidate at one chunk size with its continuity (RAID4 is
/// RAID5 parity-last).
pub fn search(samples: &Samples, n: usize, chunk: u64, off: u64) -> Vec<(Scored, Continuity)> {
    let perms = permutations(n, &vec![None; n]);
    search_orders(samples, n, chunk, off, |_, _| perms.clone())
}

/// Every RAID5 layout for `n` members at one chunk size and data offset,
/// with the member orders `orders` picks for it (from the layout's table
/// and the boundary similarities), scored by continuity: the candidates
/// with any boundary measured.
pub(crate) fn search_orders<F>(
    samples: &Samples,
    n: usize,
    chunk: u64,
    off: u64,
    orders: F,
) -> Vec<(Scored, Continuity)>
where
    F: Fn(&PlacementTable, &[RowSims]) -> Vec<Vec<usize>> + Sync,
{
    let rows = row_sims(samples, n, chunk, off);
    ParityLayout::RAID5
        .into_iter()
        .filter_map(|l| Some((l, PlacementTable::new(Level::Raid5, l, n)?)))
        .collect::<Vec<_>>()
        .par_iter()
        .flat_map_iter(|(layout, t)| {
            let rows = &rows;
            orders(t, rows).into_iter().filter_map(move |order| {
                let c = continuity(rows, t, &order, n);
                if c.count == 0 {
                    return None;
                }
                let s = Scored {
                    level: Level::Raid5,
                    layout: *layout,
                    chunk_bytes: chunk,
                    data_offset_bytes: off,
                    order,
                    q_placement_rate: 0.0,
                    score: c.mean,
                    checked_sectors: c.count,
                };
                Some((s, c))
            })
        })
        .collect()
}

/// Boundary points a chunk size needs before its continuity counts.
const MIN_POINTS: u64 = 16;

/// Same-member continuity at the odd multiples of one boundary spacing.
#[derive(Debug, Clone, Copy)]
pub struct BreakStat {
    /// The spacing (a candidate chunk size) in bytes.
    pub chunk_bytes: u64,
    /// Continuity statistics over the points.
    pub stat: Continuity,
}

/// For 2 KiB and each candidate chunk size C: mean continuity between the
/// sectors just before and just after the odd multiples of C (after
/// `off`), on the same member. Below the true chunk size these points sit
/// inside chunks and continuity holds; from it on they are chunk
/// boundaries, where the next bytes on a member belong to another row.
pub fn chunk_breaks(samples: &Samples, n: usize, off: u64) -> Vec<BreakStat> {
    let sec = SECTOR as u64;
    let text = TextModel::learn(samples);
    std::iter::once(2048)
        .chain(CHUNKS)
        .map(|c| {
            let (mut sum, mut sq, mut count) = (0f64, 0f64, 0u64);
            for (wi, w) in samples.windows.iter().enumerate() {
                let end = w.offset + w.data[0].len() as u64;
                // A window that ends where this one starts gives the
                // sectors before a point on the edge.
                let before = wi
                    .checked_sub(1)
                    .map(|p| &samples.windows[p])
                    .filter(|p| p.offset + p.data[0].len() as u64 == w.offset && p.sectors() >= 2);
                let mut j = w.offset.saturating_sub(off).div_ceil(c).max(1);
                loop {
                    let at = off + j * c;
                    if at + 2 * sec > end {
                        break;
                    }
                    let edge = at == w.offset && before.is_some();
                    if j % 2 == 1 && (at >= w.offset + 2 * sec || edge) {
                        let i = ((at - w.offset) / sec) as usize;
                        for m in 0..n {
                            let (p2, p1) = match before.filter(|_| edge) {
                                Some(b) => {
                                    let last = b.sectors();
                                    (b.sector(m, last - 2), b.sector(m, last - 1))
                                }
                                None => (w.sector(m, i - 2), w.sector(m, i - 1)),
                            };
                            let v = similarity(
                                p2,
                                p1,
                                w.sector(m, i),
                                w.sector(m, i + 1),
                                text.as_ref(),
                            );
                            if let Some(v) = v {
                                let x = f64::from(v);
                                sum += x;
                                sq += x * x;
                                count += 1;
                            }
                        }
                    }
                    j += 1;
                }
            }
            let mean = if count > 0 { sum / count as f64 } else { 0.0 };
            let var = if count > 0 {
                (sq / count as f64 - mean * mean).max(0.0)
            } else {
                0.0
            };
            BreakStat {
                chunk_bytes: c,
                stat: Continuity { mean, var, count },
            }
        })
        .collect()
}

/// Lead of `a` over `b` in standard errors (0 when undefined).
pub fn z(a: &Continuity, b: &Continuity) -> f64 {
    if a.count == 0 || b.count == 0 {
        return 0.0;
    }
    let se = (a.var / a.count as f64 + b.var / b.count as f64).sqrt();
    let lead = a.mean - b.mean;
    if se > 0.0 {
        lead / se
    } else if lead > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The chunk size where same-member continuity drops and stays low, with
/// the drop in standard errors; `None` when no size stands out by `min_z`.
pub fn pick_chunk(breaks: &[BreakStat], min_z: f64) -> Option<(u64, f64)> {
    let mut best: Option<(u64, f64)> = None;
    for i in 1..breaks.len() {
        let (prev, cur) = (&breaks[i - 1].stat, &breaks[i].stat);
        if prev.count < MIN_POINTS || cur.count < MIN_POINTS {
            continue;
        }
        let drop = z(prev, cur);
        // Every larger size must stay low (its points are boundaries too).
        let stays = breaks[i + 1..].iter().all(|b| {
            b.stat.count < MIN_POINTS || b.stat.mean <= cur.mean + (prev.mean - cur.mean) / 2.0
        });
        if drop >= min_z && stays && best.is_none_or(|(_, z)| drop > z) {
            best = Some((breaks[i].chunk_bytes, drop));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(chunk_bytes: u64, mean: f64) -> BreakStat {
        BreakStat {
            chunk_bytes,
            stat: Continuity {
                mean,
                var: 0.001,
                count: 100,
            },
        }
    }

    #[test]
    fn chunk_is_where_continuity_drops_and_stays_low() {
        let b = [
            stat(2048, 0.95),
            stat(4096, 0.95),
            stat(8192, 0.5),
            stat(16384, 0.52),
        ];
        assert_eq!(pick_chunk(&b, 4.0).map(|(c, _)| c), Some(8192));
        // A dip that recovers is not a chunk size.
        let b = [stat(2048, 0.95), stat(4096, 0.5), stat(8192, 0.95)];
        assert_eq!(pick_chunk(&b, 4.0), None);
        // No drop at all.
        let b = [stat(2048, 0.9), stat(4096, 0.9)];
        assert_eq!(pick_chunk(&b, 4.0), None);
    }

    #[test]
    fn sizes_with_too_few_points_do_not_veto_the_chunk() {
        let mut breaks: Vec<BreakStat> = [(16384, 0.9), (32768, 0.9), (65536, 0.2), (131072, 0.25)]
            .into_iter()
            .map(|(c, m)| stat(c, m))
            .collect();
        // Three points at 1 MiB that happen to run on.
        let mut few = stat(1 << 20, 0.9);
        few.stat.count = 3;
        breaks.push(few);
        assert_eq!(pick_chunk(&breaks, 4.0).map(|x| x.0), Some(65536));
        breaks.last_mut().unwrap().stat.count = 100;
        assert_eq!(pick_chunk(&breaks, 4.0), None);
    }

    #[test]
    fn sequence_numbers_say_which_sector_follows() {
        let sector = |n: u64| {
            let mut s = format!("log 7 record {n} of the journal").into_bytes();
            s.resize(512, b'.');
            s
        };
        let (p, a) = (sector(41), sector(42));
        assert_eq!(
            similarity(&p, &a, &sector(43), &sector(44), None),
            Some(1.0)
        );
        assert_eq!(
            similarity(&p, &a, &sector(91), &sector(92), None),
            Some(0.0)
        );
        // A constant number ("7") is no counter; without one the byte
        // measure decides.
        assert_eq!(counter_follows(&a, &a, &a, &a), None);
        // A sector with the same label and another number that runs on in
        // neither direction (parity: the XOR of three labels) does not
        // follow; a number behind another label says nothing.
        let mut parity = sector(517);
        let mut next = sector(13);
        next[..3].copy_from_slice(b"gol");
        assert_eq!(counter_follows(&p, &a, &parity, &next), Some(false));
        parity[..14].copy_from_slice(b"other  label: ");
        assert_eq!(counter_follows(&p, &a, &parity, &next), None);
    }

    /// Members of labelled sectors ("platter sector N"), striped as RAID0
    /// over `n` members with `chunk`-byte chunks, read as contiguous
    /// `window`-byte windows.
    fn labelled_raid0(n: usize, chunk: usize, member: usize, window: usize) -> Samples {
        let mut images = vec![vec![0u8; member]; n];
        for (i, img) in images.iter_mut().enumerate() {
            for at in (0..member).step_by(512) {
                let row = at / chunk;
                let sector = ((row * n + i) * chunk + at % chunk) / 512;
                let mut s = format!("platter sector {sector} of the array").into_bytes();
                s.resize(512, b' ');
                img[at..at + 512].copy_from_slice(&s);
            }
        }
        Samples {
            windows: (0..member)
                .step_by(window)
                .map(|at| crate::sample::SampleWindow {
                    offset: at as u64,
                    data: images.iter().map(|m| m[at..at + window].to_vec()).collect(),
                })
                .collect(),
            bytes_read_per_member: member as u64,
            common_bytes: member as u64,
        }
    }

    #[test]
    fn chunk_boundaries_on_window_edges_count() {
        // 128K chunks read in 256K windows from a 128K data offset: every
        // odd multiple of the chunk past the offset lies on a window edge.
        let samples = labelled_raid0(3, 128 << 10, 2 << 20, 256 << 10);
        let breaks = chunk_breaks(&samples, 3, 128 << 10);
        let at = |c: u64| breaks.iter().find(|b| b.chunk_bytes == c).unwrap().stat;
        assert!(at(128 << 10).count >= 16, "{:?}", at(128 << 10));
        assert!(at(128 << 10).mean < 0.1 && at(64 << 10).mean > 0.9);
        assert_eq!(pick_chunk(&breaks, 4.0).map(|x| x.0), Some(128 << 10));
        // Rows that end on a window edge still see the next row's start.
        let rows = row_sims(&samples, 3, 128 << 10, 0);
        assert!(rows.iter().filter(|r| r.next.is_some()).count() >= rows.len() - 1);
    }

    #[test]
    fn similarity_counts_only_positions_stable_inside_the_chunk() {
        let prev = [1u8; 512];
        let mut a = [1u8; 512];
        a[..256].fill(2); // half the positions change inside the chunk
        let b = a;
        assert_eq!(similarity(&prev, &a, &b, &b, None), Some(1.0));
        let mut other = a;
        other[300..512].fill(7);
        let s = similarity(&prev, &a, &other, &other, None).unwrap();
        assert!(s < 0.7, "{s}");
        assert_eq!(similarity(&prev, &[0; 512], &b, &b, None), None);
    }
}
