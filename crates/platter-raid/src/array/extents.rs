//! `extents()` of the array, from the members' extents alone (no data is
//! read): unreadable exactly where a row (or chunk) has more members
//! missing or unreadable than its redundancy, zero where the contributing
//! members are known zero.

use platter_core::{Extent, ExtentKind, clip, push_extent};

use super::RaidArray;
use crate::error::Result;
use crate::geometry::Level;

/// Kinds of a slot over relative (data-offset based) byte ranges.
type Runs = Vec<(u64, u64, ExtentKind)>;

/// The runs of `list` over `[a, b)`, gaps unreadable.
fn query(list: &Runs, a: u64, b: u64) -> Runs {
    let mut out: Runs = Vec::new();
    let mut pos = a;
    let first = list.partition_point(|r| r.1 <= a);
    for &(s, e, k) in &list[first..] {
        if s >= b || pos >= b {
            break;
        }
        if s > pos {
            out.push((pos, s, ExtentKind::Unreadable));
            pos = s;
        }
        let e = e.min(b);
        if e > pos {
            out.push((pos, e, k));
            pos = e;
        }
    }
    if pos < b {
        out.push((pos, b, ExtentKind::Unreadable));
    }
    out
}

fn kind_at(runs: &Runs, x: u64) -> ExtentKind {
    runs.iter()
        .find(|r| r.0 <= x && x < r.1)
        .map_or(ExtentKind::Unreadable, |r| r.2)
}

impl RaidArray {
    /// Member extents of `slot` over relative spans, as sorted runs.
    fn slot_runs(&self, slot: usize, spans: &[(u64, u64)]) -> Result<Runs> {
        let mut runs: Runs = Vec::new();
        let Some(src) = &self.slots[slot] else {
            return Ok(spans
                .iter()
                .map(|&(a, b)| (a, b, ExtentKind::Unreadable))
                .collect());
        };
        let off = self.geometry().slots[slot].data_offset;
        for &(a, b) in spans {
            let abs = off.saturating_add(a);
            let ext = src
                .extents(abs, b - a)
                .map_err(|e| self.member_error(slot, abs, e))?;
            let mut pos = a;
            for e in ext {
                let (s, t) = (e.offset.saturating_sub(off), e.end().saturating_sub(off));
                if s > pos {
                    runs.push((pos, s, ExtentKind::Unreadable));
                }
                runs.push((s.max(pos), t, e.kind));
                pos = t.max(pos);
            }
            if pos < b {
                runs.push((pos, b, ExtentKind::Unreadable));
            }
        }
        runs.sort_by_key(|r| r.0);
        Ok(runs)
    }

    /// Relative member spans touched by array bytes `[start, end)`.
    fn spans(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let m = &self.mapping;
        let chunk = m.chunk_bytes().max(1);
        let size = m.slot_sizes().iter().copied().max().unwrap_or(0);
        match self.geometry().level {
            Level::Raid4 | Level::Raid5 | Level::Raid6 | Level::Raid0 => {
                let lo = m.row_of(start).and_then(|(r, _)| m.row(r));
                let hi = m.row_of(end - 1).and_then(|(r, _)| m.row(r));
                match (lo, hi) {
                    (Some(lo), Some(hi)) => {
                        vec![(lo.offset_in_member, hi.offset_in_member + chunk)]
                    }
                    _ => vec![(0, size)],
                }
            }
            Level::Raid1 => vec![(start, end)],
            Level::Raid10 => {
                // Near copies lie in device rows around c·near/n; far copies
                // one stride further each. Gather all copies' rows.
                let c0 = start / chunk;
                let c1 = (end - 1) / chunk;
                let mut rows: Vec<u64> = Vec::new();
                for c in [c0, c1] {
                    rows.extend(m.copies(c * chunk).iter().map(|l| {
                        (l.member_offset - self.geometry().slots[l.slot].data_offset) / chunk
                    }));
                }
                let lo = rows.iter().copied().min().unwrap_or(0);
                let hi = rows.iter().copied().max().unwrap_or(0) + 1;
                // Copies of chunks between c0 and c1 lie between these rows
                // for each far copy; cover [lo, hi) whole (small for small ranges).
                vec![(lo * chunk, hi * chunk)]
            }
            Level::Linear => vec![(0, size)],
        }
    }

    pub(super) fn extents_impl(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.mapping.array_size(), offset, len);
        let mut out = Vec::new();
        if end <= start {
            return Ok(out);
        }
        let level = self.geometry().level;
        let spans = self.spans(start, end);
        let n = self.slots.len();
        let mut runs: Vec<Runs> = Vec::with_capacity(n);
        let mut slot_start = 0u64;
        for slot in 0..n {
            let spans = if level == Level::Linear {
                // Only the part of this member inside [start, end).
                let size = self.mapping.slot_sizes()[slot];
                let (a, b) = (start.max(slot_start), end.min(slot_start + size));
                slot_start += size;
                if a < b {
                    vec![(a - (slot_start - size), b - (slot_start - size))]
                } else {
                    Vec::new()
                }
            } else {
                spans.clone()
            };
            runs.push(self.slot_runs(slot, &spans)?);
        }
        // Fast path: every present member is plain data and the missing
        // ones are within the redundancy.
        let missing = self.slots.iter().filter(|s| s.is_none()).count();
        let present_all_data = (0..n)
            .filter(|&s| self.slots[s].is_some())
            .all(|s| runs[s].iter().all(|r| r.2 == ExtentKind::Data));
        let redundant = matches!(
            level,
            Level::Raid1 | Level::Raid4 | Level::Raid5 | Level::Raid6 | Level::Raid10
        );
        if present_all_data
            && (missing == 0 || (redundant && missing <= self.geometry().redundancy()))
        {
            push_extent(
                &mut out,
                Extent {
                    offset: start,
                    len: end - start,
                    kind: ExtentKind::Data,
                },
            );
            return Ok(out);
        }
        let redundancy = self.geometry().redundancy();
        let chunk = self.mapping.chunk_bytes().max(1);
        let mut pos = start;
        while pos < end {
            match level {
                Level::Raid4 | Level::Raid5 | Level::Raid6 => {
                    let (row, row_start) = self.mapping.row_of(pos).expect("inside the array");
                    let pl = self.mapping.placement(row).expect("parity level");
                    let within = pos - row_start;
                    let d = (within / chunk) as usize;
                    let a = within % chunk;
                    let seg_end = (pos + (chunk - a)).min(end);
                    let base = row * chunk;
                    let (ra, rb) = (base + a, base + a + (seg_end - pos));
                    let slot = pl.data[d];
                    let own = query(&runs[slot], ra, rb);
                    for (s, e, k) in own {
                        let at = pos + (s - ra);
                        if k != ExtentKind::Unreadable {
                            push_extent(
                                &mut out,
                                Extent {
                                    offset: at,
                                    len: e - s,
                                    kind: k,
                                },
                            );
                            continue;
                        }
                        let others: Vec<Runs> = pl
                            .data
                            .iter()
                            .copied()
                            .chain(Some(pl.p))
                            .chain(pl.q)
                            .filter(|&o| o != slot)
                            .map(|o| query(&runs[o], s, e))
                            .collect();
                        let mut edges: Vec<u64> = vec![s, e];
                        for r in &others {
                            edges.extend(r.iter().flat_map(|x| [x.0, x.1]));
                        }
                        edges.sort_unstable();
                        edges.dedup();
                        for iv in edges.windows(2) {
                            let kinds: Vec<ExtentKind> =
                                others.iter().map(|r| kind_at(r, iv[0])).collect();
                            let lost = 1 + kinds
                                .iter()
                                .filter(|k| **k == ExtentKind::Unreadable)
                                .count();
                            let kind = if lost > redundancy {
                                ExtentKind::Unreadable
                            } else if kinds.iter().all(|k| *k != ExtentKind::Data) {
                                ExtentKind::Zero
                            } else {
                                ExtentKind::Data
                            };
                            push_extent(
                                &mut out,
                                Extent {
                                    offset: pos + (iv[0] - ra),
                                    len: iv[1] - iv[0],
                                    kind,
                                },
                            );
                        }
                    }
                    pos = seg_end;
                }
                _ => {
                    let copies = self.mapping.copies(pos);
                    let Some(first) = copies.first() else { break };
                    let seg_end = pos + first.len.min(end - pos);
                    let seg_len = seg_end - pos;
                    let rel = |c: &crate::geometry::Location| {
                        c.member_offset - self.geometry().slots[c.slot].data_offset
                    };
                    let lists: Vec<Runs> = copies
                        .iter()
                        .map(|c| query(&runs[c.slot], rel(c), rel(c) + seg_len))
                        .collect();
                    let mut edges: Vec<u64> = vec![0, seg_len];
                    for (c, r) in copies.iter().zip(&lists) {
                        edges.extend(r.iter().flat_map(|x| [x.0 - rel(c), x.1 - rel(c)]));
                    }
                    edges.sort_unstable();
                    edges.dedup();
                    for iv in edges.windows(2) {
                        let kind = copies
                            .iter()
                            .zip(&lists)
                            .map(|(c, r)| kind_at(r, rel(c) + iv[0]))
                            .find(|k| *k != ExtentKind::Unreadable)
                            .unwrap_or(ExtentKind::Unreadable);
                        push_extent(
                            &mut out,
                            Extent {
                                offset: pos + iv[0],
                                len: iv[1] - iv[0],
                                kind,
                            },
                        );
                    }
                    pos = seg_end;
                }
            }
        }
        Ok(out)
    }
}
