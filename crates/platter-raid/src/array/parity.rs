//! RAID4/5/6 rows: direct reads of the data chunks, and the rebuild of
//! missing or bad data from P (XOR) and Q (GF(2^8), kernel
//! `lib/raid6/recov.c`) sector range by sector range.

use platter_core::{AlignedBuf, Extent, ExtentKind};

use super::direct::Ranges;
use super::{RaidArray, push_bad};
use crate::error::Result;
use crate::gf::raid6;

/// Upper bound of the scratch memory of one row rebuild (all members).
const SCRATCH_BYTES: usize = 8 << 20;

/// Reusable buffers of one reader thread. They are page-aligned: member
/// reads land in `bufs`, and the kernel copies page-cache pages into an
/// aligned buffer several times faster (see `docs/benchmarks.md`).
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// One window buffer per row member.
    bufs: Vec<AlignedBuf>,
    /// Results and partial syndromes.
    tmp: [AlignedBuf; 4],
}

/// A requested piece of one data chunk.
#[derive(Debug, Clone, Copy)]
struct Seg {
    slot: usize,
    /// Range within the chunk.
    a: usize,
    b: usize,
    /// Where it goes in the output.
    out_at: usize,
    /// Read directly without error.
    ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Data(u8),
    P,
    Q,
}

#[derive(Debug, Clone, Copy)]
enum Src {
    /// Bytes already in the output, at this index for the window start.
    Out(usize),
    /// Bytes in `Scratch::bufs[i]`.
    Scratch(usize),
}

fn covers(r: &Ranges, x: usize) -> bool {
    r.iter().any(|&(a, b)| a <= x && x < b)
}

impl RaidArray {
    /// Reads array bytes from `pos` up to the end of its row or of `out`.
    /// Returns the bytes done (0 past the end).
    pub(super) fn read_parity_row(
        &self,
        out: &mut [u8],
        pos: u64,
        bad: &mut Vec<Extent>,
        scratch: &mut Scratch,
    ) -> Result<usize> {
        let m = &self.mapping;
        let chunk = m.chunk_bytes();
        let Some((row, row_start)) = m.row_of(pos) else {
            return Ok(0);
        };
        let Some(pl) = m.placement(row) else {
            return Ok(0);
        };
        let row_end = row_start + chunk * pl.data.len() as u64;
        let n = (row_end - pos).min(out.len() as u64) as usize;
        let out = &mut out[..n];
        let base = row * chunk;
        let chunk_us = chunk as usize;
        let mut segs: Vec<Seg> = Vec::with_capacity(pl.data.len());
        let (mut o, mut x) = (0usize, (pos - row_start) as usize);
        while o < n {
            let d = x / chunk_us;
            let a = x % chunk_us;
            let len = (chunk_us - a).min(n - o);
            segs.push(Seg {
                slot: pl.data[d],
                a,
                b: a + len,
                out_at: o,
                ok: false,
            });
            o += len;
            x += len;
        }
        for s in &mut segs {
            let mo = m.member_offset(s.slot, base + s.a as u64);
            s.ok = self.try_read(s.slot, mo, &mut out[s.out_at..s.out_at + (s.b - s.a)])?;
        }
        if segs.iter().all(|s| s.ok) {
            return Ok(n);
        }
        // Members of the row with their roles.
        let mut parts: Vec<(usize, Role)> = pl
            .data
            .iter()
            .enumerate()
            .map(|(d, &slot)| {
                (
                    slot,
                    Role::Data(pl.q_exponents.get(d).copied().unwrap_or(0)),
                )
            })
            .collect();
        parts.push((pl.p, Role::P));
        if let Some(q) = pl.q {
            parts.push((q, Role::Q));
        }
        let mut row_bad = Vec::new();
        self.rebuild_row(out, pos, base, &segs, &parts, scratch, &mut row_bad)?;
        row_bad.sort_by_key(|e: &Extent| e.offset);
        for e in row_bad {
            push_bad(bad, e.offset, e.len);
        }
        Ok(n)
    }

    /// Rebuilds the segments of `segs` that failed, window by window.
    #[allow(clippy::too_many_arguments)]
    fn rebuild_row(
        &self,
        out: &mut [u8],
        pos: u64,
        base: u64,
        segs: &[Seg],
        parts: &[(usize, Role)],
        scratch: &mut Scratch,
        row_bad: &mut Vec<Extent>,
    ) -> Result<()> {
        let m = &self.mapping;
        let failed: Vec<Seg> = segs.iter().filter(|s| !s.ok).copied().collect();
        let lo = failed.iter().map(|s| s.a).min().unwrap_or(0);
        let hi = failed.iter().map(|s| s.b).max().unwrap_or(0);
        let window = (SCRATCH_BYTES / parts.len()).clamp(4096, 1 << 20) & !511;
        if scratch.bufs.len() < parts.len() {
            scratch.bufs.resize_with(parts.len(), AlignedBuf::new);
        }
        let redundancy = self.geometry().redundancy();
        let mut w0 = lo;
        while w0 < hi {
            let w1 = (w0 + window).min(hi);
            let wl = w1 - w0;
            // Contents and bad ranges of every row member over the window.
            let mut srcs: Vec<Src> = Vec::with_capacity(parts.len());
            let mut bads: Vec<Ranges> = Vec::with_capacity(parts.len());
            for (i, &(slot, _)) in parts.iter().enumerate() {
                let direct = segs
                    .iter()
                    .find(|s| s.slot == slot && s.ok && s.a <= w0 && s.b >= w1);
                if let Some(s) = direct {
                    srcs.push(Src::Out(s.out_at + (w0 - s.a)));
                    bads.push(Vec::new());
                    continue;
                }
                let buf = &mut scratch.bufs[i];
                if buf.len() < wl {
                    buf.resize(wl);
                }
                let r = self.read_member(
                    slot,
                    m.member_offset(slot, base + w0 as u64),
                    &mut buf[..wl],
                )?;
                srcs.push(Src::Scratch(i));
                bads.push(r);
            }
            // Elementary intervals: every bad edge and segment edge.
            let mut edges: Vec<usize> = vec![0, wl];
            for r in &bads {
                for &(a, b) in r {
                    edges.push(a);
                    edges.push(b);
                }
            }
            for s in &failed {
                edges.push(s.a.saturating_sub(w0).min(wl));
                edges.push(s.b.saturating_sub(w0).min(wl));
            }
            edges.sort_unstable();
            edges.dedup();
            for iv in edges.windows(2) {
                let (x0, x1) = (iv[0], iv[1]);
                let (c0, c1) = (w0 + x0, w0 + x1);
                // Failed requested segments covering this interval.
                let wanted: Vec<(usize, Seg)> = failed
                    .iter()
                    .filter(|s| s.a <= c0 && s.b >= c1)
                    .filter_map(|s| parts.iter().position(|p| p.0 == s.slot).map(|i| (i, *s)))
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                let lost: Vec<usize> = (0..parts.len()).filter(|&i| covers(&bads[i], x0)).collect();
                // Wanted members that read fine here: copy their bytes.
                for &(i, s) in &wanted {
                    if !lost.contains(&i) {
                        if let Src::Scratch(j) = srcs[i] {
                            let at = s.out_at + (c0 - s.a);
                            out[at..at + (x1 - x0)].copy_from_slice(&scratch.bufs[j][x0..x1]);
                        }
                    }
                }
                let lost_wanted: Vec<(usize, Seg)> = wanted
                    .iter()
                    .filter(|(i, _)| lost.contains(i))
                    .copied()
                    .collect();
                if lost_wanted.is_empty() {
                    continue;
                }
                if lost.len() > redundancy || !solve(parts, &srcs, &lost, out, scratch, x0, x1) {
                    for (_, s) in &lost_wanted {
                        let at = s.out_at + (c0 - s.a);
                        out[at..at + (x1 - x0)].fill(0);
                        row_bad.push(Extent {
                            offset: pos + at as u64,
                            len: (x1 - x0) as u64,
                            kind: ExtentKind::Unreadable,
                        });
                    }
                    continue;
                }
                // solve() left the lost data members' bytes in tmp[0], tmp[1]
                // in the order of `lost`.
                let lost_data: Vec<usize> = lost
                    .iter()
                    .copied()
                    .filter(|&i| matches!(parts[i].1, Role::Data(_)))
                    .collect();
                for (i, s) in &lost_wanted {
                    let k = lost_data.iter().position(|j| j == i).unwrap_or(0);
                    let at = s.out_at + (c0 - s.a);
                    out[at..at + (x1 - x0)].copy_from_slice(&scratch.tmp[k][..x1 - x0]);
                    self.note_rebuilt(self.geometry().level, (x1 - x0) as u64);
                }
            }
            w0 = w1;
        }
        Ok(())
    }
}

/// Rebuilds the lost data members of an interval into `scratch.tmp[0]`
/// (and `tmp[1]` for a second one), in the order they appear in `lost`.
/// Returns false when the lost set cannot be solved (e.g. RAID5 with P
/// and a data member lost).
fn solve(
    parts: &[(usize, Role)],
    srcs: &[Src],
    lost: &[usize],
    out: &[u8],
    scratch: &mut Scratch,
    x0: usize,
    x1: usize,
) -> bool {
    let len = x1 - x0;
    let Scratch { bufs, tmp } = scratch;
    for t in tmp.iter_mut() {
        if t.len() < len {
            t.resize(len);
        }
    }
    let slice = |i: usize| -> &[u8] {
        match srcs[i] {
            Src::Out(at) => &out[at + x0..at + x1],
            Src::Scratch(j) => &bufs[j][x0..x1],
        }
    };
    let mut known: Vec<&[u8]> = Vec::new();
    let mut known_exp: Vec<u8> = Vec::new();
    let mut lost_exp: Vec<u8> = Vec::new();
    let (mut p, mut q): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    for (i, &(_, role)) in parts.iter().enumerate() {
        let is_lost = lost.contains(&i);
        match (role, is_lost) {
            (Role::Data(e), false) => {
                known.push(slice(i));
                known_exp.push(e);
            }
            (Role::Data(e), true) => lost_exp.push(e),
            (Role::P, false) => p = Some(slice(i)),
            (Role::Q, false) => q = Some(slice(i)),
            _ => {}
        }
    }
    let [t0, t1, t2, t3] = tmp;
    let (t0, t1, t2, t3) = (
        &mut t0[..len],
        &mut t1[..len],
        &mut t2[..len],
        &mut t3[..len],
    );
    match (lost_exp.as_slice(), p, q) {
        ([], _, _) => true,
        ([_], Some(p), _) => {
            raid6::gen_p(&known, t2);
            raid6::recover_data_from_p(p, t2, t0);
            true
        }
        ([ex], None, Some(q)) => {
            raid6::gen_q(&known, &known_exp, t2);
            raid6::recover_data_from_q(q, t2, *ex, t0);
            true
        }
        ([ex, ey], Some(p), Some(q)) if ex != ey => {
            raid6::gen_pq(&known, &known_exp, t2, t3);
            raid6::recover_two_data(p, q, t2, t3, *ex, *ey, t0, t1);
            true
        }
        _ => false,
    }
}
