//! Seating members the structures leave open: the known parity member
//! in the parity slot, every way to seat the undecided ones, and the
//! two-member swaps the structures explain as well.

use platter_raid::geometry::{Geometry, Layout, Level};
use rayon::prelude::*;

use super::{
    Candidate, Equation, Q_CHECK_SECTORS, Q_CHECK_SECTORS_PER_CHUNK, Q_CHECKED_FITS,
    Q_CHECKED_PER_CHUNK, Q_MIN_RATE, RELATION_CHECK_SECTORS, STALE_MIN_PARITY, Samples, Scored,
    merit,
};

/// Seats the known parity member `p` in the open parity slot of a fit
/// that no structure placed it in (parity holds no structure of its own),
/// and then, as the fit does, a last undecided member in the last free
/// slot.
pub(super) fn seat_parity(f: &mut crate::fit::Fit, p: usize) {
    let g = &mut f.geometry;
    let constant = matches!(
        g.layout,
        Layout::Parity(
            platter_raid::geometry::ParityLayout::ParityFirst
                | platter_raid::geometry::ParityLayout::ParityLast
        )
    );
    if !constant || !matches!(g.level, Level::Raid4 | Level::Raid5) {
        return;
    }
    let slot = parity_slot(g);
    if g.slots[slot].image.is_some() || !f.undecided_members.contains(&p) {
        return;
    }
    g.slots[slot].image = Some(p);
    f.undecided_members.retain(|&m| m != p);
    let free: Vec<usize> = (0..g.slots.len())
        .filter(|&s| g.slots[s].image.is_none())
        .collect();
    if let ([m], [s]) = (&f.undecided_members[..], &free[..]) {
        g.slots[*s].image = Some(*m);
        f.undecided_members.clear();
    }
}

/// The parity slot of a constant-parity geometry.
fn parity_slot(g: &Geometry) -> usize {
    match g.layout {
        Layout::Parity(platter_raid::geometry::ParityLayout::ParityFirst) => 0,
        _ => g.slots.len() - 1,
    }
}

/// True when the parity slot of a constant-parity geometry holds image
/// `p` or nothing.
pub(super) fn parity_open_or(g: &Geometry, p: usize) -> bool {
    g.slots[parity_slot(g)].image.is_none_or(|i| i == p)
}

/// The geometry of `top` with two slots' images swapped that the
/// structures explain as well (merit at least the top's), if any. With
/// the parity member known (`parity`), a swap that moves it off the
/// parity slot is no rival: in sparse rows parity is a copy of the one
/// non-zero data chunk, so a structure there reads alike on both.
pub(super) fn swap_rival(
    eqs: &[Equation],
    n: usize,
    member_bytes: u64,
    top: &Scored,
    samples: &Samples,
    member_sizes: &[u64],
    parity: Option<usize>,
) -> Option<(Geometry, crate::fit::Fit)> {
    let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&b| Some(b)).collect();
    let g = &top.fit.geometry;
    let slots = g.slots.len();
    let want = merit(&top.fit);
    let pairs: Vec<(usize, usize)> = (0..slots)
        .flat_map(|i| (i + 1..slots).map(move |j| (i, j)))
        .filter(|&(i, j)| g.slots[i].image.is_some() || g.slots[j].image.is_some())
        .collect();
    pairs.into_par_iter().find_map_first(|(i, j)| {
        let mut order: Vec<Option<usize>> = g.slots.iter().map(|x| x.image).collect();
        order.swap(i, j);
        let mut h = g.clone().with_order(&order);
        // Per-member data offsets travel with their images.
        h.slots[i].data_offset = g.slots[j].data_offset;
        h.slots[j].data_offset = g.slots[i].data_offset;
        if parity.is_some_and(|p| !parity_open_or(&h, p)) {
            return None;
        }
        let f = crate::fit::explain(eqs, n, member_bytes, &h)?;
        if merit(&f) < want || f.explained == 0 {
            return None;
        }
        // A complete RAID6 rival must recompute P and Q too (swapping
        // members changes their Q coefficients).
        let complete = h.slots.iter().all(|x| x.image.is_some());
        if h.level == Level::Raid6 && complete {
            let rate = crate::stale::parity_rate(samples, &h, &sizes, Q_CHECK_SECTORS);
            if !rate.is_some_and(|r| r >= Q_MIN_RATE) {
                return None;
            }
        }
        Some((h, f))
    })
}

/// Most completions of one candidate that are tried.
pub(super) const MAX_COMPLETIONS: usize = 6;

/// Every way to seat the `undecided` members (no structure placed them)
/// in the free slots of `order` (none when there would be more than
/// [`MAX_COMPLETIONS`]). Slots left over stay missing.
pub(super) fn seatings(order: &[Option<usize>], undecided: &[usize]) -> Vec<Vec<Option<usize>>> {
    fn seat(
        free: &[usize],
        todo: &[usize],
        order: &mut Vec<Option<usize>>,
        out: &mut Vec<Vec<Option<usize>>>,
    ) {
        if out.len() > MAX_COMPLETIONS {
            return;
        }
        let Some((&m, rest)) = todo.split_first() else {
            out.push(order.clone());
            return;
        };
        for &s in free {
            if order[s].is_none() {
                order[s] = Some(m);
                seat(free, rest, order, out);
                order[s] = None;
            }
        }
    }
    let free: Vec<usize> = (0..order.len()).filter(|&s| order[s].is_none()).collect();
    let mut out = Vec::new();
    if undecided.is_empty() || undecided.len() > free.len() {
        return out;
    }
    seat(&free, undecided, &mut order.to_vec(), &mut out);
    if out.len() > MAX_COMPLETIONS {
        out.clear();
    }
    out
}

/// The candidate `c` with its undecided members seated every way (a
/// linear fit seats them somewhere; they move like unseated ones).
pub(crate) fn completions(c: &Candidate, undecided: &[usize]) -> Vec<Candidate> {
    let order: Vec<Option<usize>> = c
        .order
        .iter()
        .map(|&m| m.filter(|m| !undecided.contains(m)))
        .collect();
    seatings(&order, undecided)
        .into_iter()
        .map(|order| {
            let mut x = c.clone();
            x.geometry = x.geometry.clone().with_order(&order);
            x.order = order;
            x
        })
        .collect()
}

/// False for a RAID6 with one member missing whose rows do not keep the
/// one relation it leaves ([`crate::raid6_degraded::geometry_agreement`]);
/// true for every other geometry, and when too little can be judged.
pub(crate) fn related(samples: &Samples, g: &Geometry, member_sizes: &[u64]) -> bool {
    let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&b| Some(b)).collect();
    crate::raid6_degraded::geometry_agreement(samples, g, &sizes, RELATION_CHECK_SECTORS)
        .is_none_or(|r| r >= STALE_MIN_PARITY)
}

/// [`related`] for a fit, or for some way to seat its undecided members
/// (true when there are too many ways to try).
pub(super) fn related_seating(
    samples: &Samples,
    f: &crate::fit::Fit,
    member_sizes: &[u64],
) -> bool {
    let undecided = &f.undecided_members;
    if undecided.is_empty() {
        return related(samples, &f.geometry, member_sizes);
    }
    let order: Vec<Option<usize>> = f
        .geometry
        .slots
        .iter()
        .map(|s| s.image.filter(|m| !undecided.contains(m)))
        .collect();
    let ways = seatings(&order, undecided);
    ways.is_empty()
        || ways.len() > MAX_COMPLETIONS
        || ways
            .into_iter()
            .any(|o| related(samples, &f.geometry.clone().with_order(&o), member_sizes))
}

/// RAID6: keeps the fits (undecided members seated every way) whose P and
/// Q recompute on the samples. In a sparse row the P chunk is a copy of
/// the one non-zero data chunk, so structures alone can swap them; Q
/// cannot be fooled.
pub(super) fn q_consistent(
    found: Vec<Scored>,
    samples: &Samples,
    sizes: &[Option<u64>],
) -> Vec<Scored> {
    let mut out = Vec::new();
    // The best fits, and the best few of every chunk size on fewer
    // sectors (a wrong Q fails nearly everywhere): the refined fits of
    // other chunks can fill the first places.
    let mut per_chunk: std::collections::HashMap<u64, usize> = Default::default();
    let checked = found.into_iter().enumerate().filter_map(|(i, s)| {
        let seen = per_chunk.entry(s.fit.geometry.chunk_bytes).or_default();
        *seen += 1;
        if i < Q_CHECKED_FITS {
            Some((s, Q_CHECK_SECTORS))
        } else {
            (*seen <= Q_CHECKED_PER_CHUNK).then_some((s, Q_CHECK_SECTORS_PER_CHUNK))
        }
    });
    for (s, sectors) in checked {
        let mut variants = vec![s.fit.clone()];
        if !s.fit.undecided_members.is_empty() {
            let order: Vec<Option<usize>> = s.fit.geometry.slots.iter().map(|x| x.image).collect();
            variants = seatings(&order, &s.fit.undecided_members)
                .into_iter()
                .map(|o| {
                    let mut f = s.fit.clone();
                    f.geometry = f.geometry.clone().with_order(&o);
                    f.undecided_members.clear();
                    f
                })
                .collect();
        }
        for f in variants {
            // A degraded RAID6 cannot be checked this way: it stays.
            let degraded = f.geometry.slots.iter().any(|x| x.image.is_none());
            let rate = crate::stale::parity_rate(samples, &f.geometry, sizes, sectors);
            if degraded || rate.is_some_and(|r| r >= Q_MIN_RATE) {
                out.push(Scored {
                    fit: f,
                    shape: s.shape,
                });
            }
        }
    }
    out
}

/// Best fits whose members are re-seated two at a time, at most.
const SWAPPED_FITS: usize = 8;
/// Rounds of swaps per fit, at most.
const SWAP_ROUNDS: usize = 3;

/// Re-seats the members of the best [`SWAPPED_FITS`] fits two at a time,
/// keeping every swap that explains more structures, until none does.
/// The fit votes each member into the slot most of its structures name;
/// a stale member's old structures, or copies of structures in parity
/// chunks, can outvote the rest and seat two members the wrong way round,
/// which a full refit repeats and a swap undoes.
pub(super) fn improve_by_swaps(
    found: &mut [Scored],
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
) {
    let k = found.len().min(SWAPPED_FITS);
    found[..k].par_iter_mut().for_each(|s| {
        let g = &s.fit.geometry;
        let one_offset = g
            .slots
            .first()
            .is_some_and(|f| g.slots.iter().all(|x| x.data_offset == f.data_offset));
        if g.level == Level::Linear || !one_offset {
            return;
        }
        for _ in 0..SWAP_ROUNDS {
            let order: Vec<Option<usize>> = s.fit.geometry.slots.iter().map(|x| x.image).collect();
            let mut best: Option<crate::fit::Fit> = None;
            for a in 0..order.len() {
                for b in a + 1..order.len() {
                    if order[a].is_none() && order[b].is_none() {
                        continue;
                    }
                    let mut o = order.clone();
                    o.swap(a, b);
                    let g = s.fit.geometry.clone().with_order(&o);
                    let Some(f) = crate::fit::explain(eqs, images, member_bytes, &g) else {
                        continue;
                    };
                    let bar = best.as_ref().map_or(merit(&s.fit), merit);
                    if merit(&f) > bar {
                        best = Some(f);
                    }
                }
            }
            match best {
                Some(f) => s.fit = f,
                None => break,
            }
        }
    });
}
