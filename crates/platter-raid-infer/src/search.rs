//! The search over shapes, chunk sizes and data offsets that [`fit`] scores
//! one at a time, and the ranking of the results.
//!
//! Which shapes are tried follows the redundancy the signals found:
//! - XOR parity on all members: RAID5 (six md layouts), RAID4, and RAID5
//!   with delayed parity;
//! - a Q member per sector: the fourteen RAID6 layouts;
//! - no redundancy: RAID0, and RAID5/RAID6 with one or two members
//!   missing (whose parity cannot be seen without them).
//!
//! Results that assemble the same bytes over the rows the equations touch
//! are merged, keeping the better.

use platter_raid::geometry::{DelayedParity, Layout, Level, ParityLayout};
use rayon::prelude::*;

use crate::fit::{Equation, Fit, Shape, fit, fit_fast};

/// Chunk sizes tried: 512 B … 4 MiB, powers of two.
pub fn chunk_sizes() -> Vec<u64> {
    (9..=22).map(|s| 1u64 << s).collect()
}

/// Chunk sizes tried when no power of two fits: three times a power of
/// two from 12 KiB to 3 MiB (md RAID0 takes any multiple of 4 KiB; some
/// controllers offer 96 or 384 KiB strips).
pub fn odd_chunk_sizes() -> Vec<u64> {
    (12..=20).map(|s| 3u64 << s).collect()
}

/// Which redundancy the signals found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// XOR of all members is zero: RAID5/RAID4.
    Xor,
    /// One member per sector is Q: RAID6.
    Q,
    /// No redundancy: RAID0, or RAID5/6 with members missing.
    None,
}

const RAID5_LAYOUTS: [ParityLayout; 6] = [
    ParityLayout::LeftAsymmetric,
    ParityLayout::RightAsymmetric,
    ParityLayout::LeftSymmetric,
    ParityLayout::RightSymmetric,
    ParityLayout::ParityFirst,
    ParityLayout::ParityLast,
];

/// Every RAID6 layout of the engine.
fn raid6_layouts() -> Vec<ParityLayout> {
    ParityLayout::ALL.to_vec()
}

/// The shapes to try for `images` member images.
pub fn shapes(family: Family, images: usize, delayed: bool) -> Vec<Shape> {
    let mut v = Vec::new();
    let parity = |level, layout, slots, delayed| Shape {
        level,
        layout: Layout::Parity(layout),
        delayed,
        slots,
    };
    let raid5 = |v: &mut Vec<Shape>, slots: usize| {
        for l in RAID5_LAYOUTS {
            v.push(parity(Level::Raid5, l, slots, None));
        }
        if delayed {
            for d in 2..=32u32 {
                v.extend(delayed_shapes(
                    slots,
                    DelayedParity {
                        rows_per_group: d,
                        first_group_rows: d,
                    },
                ));
            }
        }
    };
    let raid6 = |v: &mut Vec<Shape>, slots: usize| {
        if slots >= 4 {
            for l in raid6_layouts() {
                v.push(parity(Level::Raid6, l, slots, None));
            }
        }
    };
    match family {
        Family::Xor => {
            if images >= 2 {
                raid5(&mut v, images);
            }
        }
        Family::Q => raid6(&mut v, images),
        Family::None => {
            v.push(Shape {
                level: Level::Raid0,
                layout: Layout::default_for(Level::Raid0),
                delayed: None,
                slots: images,
            });
            raid5(&mut v, images + 1);
            raid6(&mut v, images + 1);
            raid6(&mut v, images + 2);
            // Parity that fails in part (a stale member) hides the level.
            raid5(&mut v, images);
            raid6(&mut v, images);
        }
    }
    v
}

/// RAID5 over `slots` members with delayed parity `d`, in each rotating
/// layout (a constant parity member has nothing to delay).
pub fn delayed_shapes(slots: usize, d: DelayedParity) -> impl Iterator<Item = Shape> {
    RAID5_LAYOUTS.into_iter().take(4).map(move |l| Shape {
        level: Level::Raid5,
        layout: Layout::Parity(l),
        delayed: Some(d),
        slots,
    })
}

/// Data offsets tried: 0, the usual md and partition offsets, and the
/// first informative offset rounded down to 4 KiB, all below
/// `first_informative` (data cannot start after the first data).
pub fn offsets(first_informative: Option<u64>, member_bytes: u64) -> Vec<u64> {
    let limit = first_informative.unwrap_or(0).min(member_bytes);
    let mut v = vec![0u64];
    for o in [
        4u64 << 10,
        8 << 10,
        64 << 10,
        128 << 10,
        1 << 20,
        2 << 20,
        4 << 20,
        8 << 20,
        16 << 20,
        128 << 20,
        63 * 512,
        2048 * 512 + 4096,
    ] {
        if o <= limit {
            v.push(o);
        }
    }
    if let Some(f) = first_informative {
        v.push(f / 4096 * 4096);
        // Controllers and metadata formats put data at any sector.
        v.push(f / 512 * 512);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// A fit and the parameters it was made with.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The fit.
    pub fit: Fit,
    /// The shape.
    pub shape: Shape,
}

/// Fits every shape × chunk × offset and returns those explaining at least
/// `min_explained` equations, unsorted.
pub fn run(
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
    shapes: &[Shape],
    chunks: &[u64],
    offsets: &[u64],
    min_explained: usize,
) -> Vec<Scored> {
    let jobs: Vec<(Shape, u64, u64)> = shapes
        .iter()
        .flat_map(|&s| {
            chunks
                .iter()
                .flat_map(move |&c| offsets.iter().map(move |&o| (s, c, o)))
        })
        .collect();
    jobs.par_iter()
        .filter_map(|&(shape, chunk, off)| {
            let f = fit_fast(eqs, images, member_bytes, shape, chunk, off)?;
            (f.explained >= min_explained).then_some(Scored { fit: f, shape })
        })
        .collect()
}

/// Fits again, trying every tied start of the main space, the `top` best
/// results of a fast pass (ranked by `key`, best first), and the best
/// [`REFINED_PER_CHUNK`] of every chunk size among the rest: over a few
/// structures every layout at a large chunk and several offsets tie, and
/// the true chunk's fast fit, a structure short until refitted, can rank
/// below all of them.
pub fn refine(
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
    found: Vec<Scored>,
    top: usize,
) -> Vec<Scored> {
    let mut per_chunk: std::collections::HashMap<u64, usize> = Default::default();
    type Ranked = Vec<(usize, Scored)>;
    let (chosen, rest): (Ranked, Ranked) = found.into_iter().enumerate().partition(|(i, s)| {
        let seen = per_chunk.entry(s.fit.geometry.chunk_bytes).or_default();
        *seen += 1;
        *i < top || *seen <= REFINED_PER_CHUNK
    });
    let mut out: Vec<(usize, Scored)> = chosen
        .into_par_iter()
        .map(|(i, s)| {
            let g = &s.fit.geometry;
            let offset = g.slots.first().map_or(0, |x| x.data_offset);
            let f = fit(eqs, images, member_bytes, s.shape, g.chunk_bytes, offset)
                .unwrap_or_else(|| s.fit.clone());
            (
                i,
                Scored {
                    fit: f,
                    shape: s.shape,
                },
            )
        })
        .collect();
    out.extend(rest);
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, s)| s).collect()
}

/// Fast fits of each chunk size refitted whatever their rank.
pub const REFINED_PER_CHUNK: usize = 16;
