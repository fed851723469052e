//! One RAID10 candidate judged on what was read: member offsets mapped back
//! to array offsets (md `__raid10_find_phys` inverted), the copies that
//! should agree, and the self-locating structures it explains.

use std::collections::HashMap;

use platter_raid::geometry::{Geometry, Layout, Mapping};

use super::store::{HashStore, TRIVIAL};
use crate::fit::{ARRAY_SPACE, Equation};
use crate::sample::SECTOR;

/// A candidate geometry resolved against the member sizes.
#[derive(Debug)]
pub struct Resolved {
    /// The geometry.
    pub geometry: Geometry,
    /// The engine's mapping of it.
    pub mapping: Mapping,
    /// Far stride in chunks (1 for offset layouts; unused without far).
    pub stride: u64,
    /// `slot_of[image]`: the slot each member image fills.
    pub slot_of: Vec<Option<usize>>,
}

impl Resolved {
    /// Resolves `g` over `images` members of `member_bytes` bytes each;
    /// `None` when the engine refuses it or it is not RAID10.
    pub fn new(g: Geometry, images: usize, member_bytes: u64) -> Option<Resolved> {
        let Layout::Raid10(l) = g.layout else {
            return None;
        };
        if l.far_sets || g.chunk_bytes == 0 {
            return None;
        }
        let mapping = g.mapping(&vec![Some(member_bytes); g.slots.len()]).ok()?;
        let c = g.chunk_bytes;
        let slot_bytes = mapping.slot_sizes().first().copied()?;
        let (nc, fc) = (u64::from(l.near), u64::from(l.far));
        let n = g.slots.len() as u64;
        // md calc_sectors, as the engine does it (platter-raid raid10.rs).
        let dev_chunks = slot_bytes / c;
        let size = (dev_chunks / fc) * n / nc;
        let used = (size * nc * fc).div_ceil(n);
        let stride = if l.offset { 1 } else { used / fc };
        let mut slot_of = vec![None; images];
        for (s, slot) in g.slots.iter().enumerate() {
            if let Some(i) = slot.image.filter(|&i| i < images) {
                slot_of[i] = Some(s);
            }
        }
        Some(Resolved {
            geometry: g,
            mapping,
            stride: stride.max(1),
            slot_of,
        })
    }

    /// The array offset stored at member offset `member_offset` of `slot`
    /// (any copy), or `None` outside the array.
    pub fn array_offset(&self, slot: usize, member_offset: u64) -> Option<u64> {
        let Layout::Raid10(l) = self.geometry.layout else {
            return None;
        };
        let c = self.geometry.chunk_bytes;
        let rel = member_offset.checked_sub(self.geometry.slots.get(slot)?.data_offset)?;
        let (row, q) = (rel / c, rel % c);
        let (nc, fc) = (u64::from(l.near), u64::from(l.far));
        let n = self.geometry.slots.len() as u64;
        let (j, base_row) = if l.offset {
            (row % fc, row / fc)
        } else {
            let j = row / self.stride;
            if j >= fc {
                return None;
            }
            (j, row - j * self.stride)
        };
        // Far copy j sits j·near devices on from the first copy.
        let shift = (j * nc) % n;
        let dev = (slot as u64 + n - shift) % n;
        let chunk = base_row.checked_mul(n)?.checked_add(dev)? / nc;
        let a = chunk.checked_mul(c)?.checked_add(q)?;
        (a < self.mapping.array_size()).then_some(a)
    }
}

/// How well a candidate's copies agree where both were read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Agreement {
    /// Copy pairs compared (at least one non-trivial).
    pub compared: u64,
    /// Of those, equal.
    pub agreed: u64,
    /// Disagreements each member image took part in (a stale member takes
    /// part in all of them), the first [`TRACKED`] images.
    pub disagreed_by: [u64; TRACKED],
}

/// Member images whose disagreements are counted.
pub const TRACKED: usize = 16;

impl Agreement {
    /// Fraction agreed (0 with nothing compared).
    pub fn rate(&self) -> f64 {
        if self.compared == 0 {
            0.0
        } else {
            self.agreed as f64 / self.compared as f64
        }
    }
}

/// Compares, for every known head sector (every `step`-th) and the sectors
/// at `extra` offsets, each copy the candidate predicts elsewhere. Stops
/// early once `max_disagree` copies differ.
pub fn agreement(
    r: &Resolved,
    store: &HashStore,
    extra: &[u64],
    step: usize,
    max_disagree: u64,
) -> Agreement {
    let mut out = Agreement::default();
    let head = (0..store.head_bytes / SECTOR as u64).map(|i| i * SECTOR as u64);
    let offsets: Vec<u64> = head
        .step_by(step.max(1))
        .chain(extra.iter().copied())
        .collect();
    for (m, slot) in r.slot_of.iter().enumerate() {
        let Some(slot) = *slot else {
            continue;
        };
        for &x in &offsets {
            let Some(h) = store.get(m, x) else {
                continue;
            };
            // The quick screen looks at data only.
            if step > 1 && h == TRIVIAL {
                continue;
            }
            let Some(a) = r.array_offset(slot, x) else {
                continue;
            };
            let copies = r.mapping.copies(a);
            // The inverse must agree with the engine's placement.
            if !copies
                .iter()
                .any(|l| l.slot == slot && l.member_offset == x)
            {
                continue;
            }
            for l in copies {
                if l.slot == slot && l.member_offset == x {
                    continue;
                }
                let Some(img) = r.geometry.slots[l.slot].image else {
                    continue;
                };
                let Some(h2) = store.get(img, l.member_offset) else {
                    continue;
                };
                if h == TRIVIAL && h2 == TRIVIAL {
                    continue;
                }
                out.compared += 1;
                if h == h2 {
                    out.agreed += 1;
                } else {
                    for i in [m, img] {
                        if let Some(d) = out.disagreed_by.get_mut(i) {
                            *d += 1;
                        }
                    }
                    if out.compared - out.agreed >= max_disagree {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// Structures a candidate explains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explained {
    /// Equations placed at their space's common start.
    pub explained: usize,
    /// Equations inside the candidate's data area.
    pub considered: usize,
    /// Spaces (array-offset equations count as one) starting at array 0.
    pub origins_at_zero: usize,
}

impl Explained {
    /// Explained minus three times unexplained.
    pub fn merit(&self) -> i64 {
        self.explained as i64 - 3 * (self.considered - self.explained) as i64
    }

    /// Fraction explained.
    pub fn rate(&self) -> f64 {
        if self.considered == 0 {
            0.0
        } else {
            self.explained as f64 / self.considered as f64
        }
    }
}

/// For each address space, the array start shared by most of its
/// equations under `r`; every copy of a structure lands at the same array
/// offset, so copies count like separate structures.
pub fn explain(r: &Resolved, eqs: &[Equation]) -> Explained {
    let mut by_space: HashMap<u64, HashMap<i128, usize>> = HashMap::new();
    let mut out = Explained::default();
    for e in eqs {
        let Some(slot) = r.slot_of.get(e.member).copied().flatten() else {
            continue;
        };
        let Some(a) = r.array_offset(slot, e.member_offset) else {
            continue;
        };
        out.considered += 1;
        let start = i128::from(a) - i128::from(e.fs_offset);
        if e.space == ARRAY_SPACE && start != 0 {
            continue;
        }
        *by_space
            .entry(e.space)
            .or_default()
            .entry(start)
            .or_default() += 1;
    }
    for (_, starts) in by_space {
        if let Some((&start, &count)) = starts
            .iter()
            .max_by_key(|(s, c)| (**c, std::cmp::Reverse(s.unsigned_abs())))
        {
            out.explained += count;
            if start == 0 {
                out.origins_at_zero += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_raid::geometry::{Level, Raid10Layout};

    fn layout(near: u8, far: u8, offset: bool) -> Layout {
        Layout::Raid10(Raid10Layout {
            near,
            far,
            offset,
            far_sets: false,
        })
    }

    /// The inverse agrees with the engine's forward placement for every
    /// copy of every chunk, on every md layout without far sets.
    #[test]
    fn inverse_matches_the_engine_for_every_copy() {
        for (near, far, offset) in [
            (2, 1, false),
            (3, 1, false),
            (1, 2, false),
            (1, 3, false),
            (1, 2, true),
            (1, 3, true),
            (2, 2, false),
            (2, 2, true),
        ] {
            for n in 2..=7usize {
                if usize::from(near) * usize::from(far) > n {
                    continue;
                }
                if offset && near > 1 && n % usize::from(near) != 0 {
                    continue;
                }
                let chunk = 4096;
                let member = chunk * 30;
                let order: Vec<Option<usize>> = (0..n).map(|i| Some((i + 2) % n)).collect();
                let g = Geometry::new(Level::Raid10, layout(near, far, offset), chunk, n)
                    .with_order(&order)
                    .with_data_offset(8192);
                let r = Resolved::new(g, n, member + 8192).expect("resolves");
                let chunks = r.mapping.array_size() / chunk;
                assert!(chunks > 0);
                for k in 0..chunks {
                    for l in r.mapping.copies(k * chunk + 512) {
                        assert_eq!(
                            r.array_offset(l.slot, l.member_offset),
                            Some(k * chunk + 512),
                            "n{near} f{far} o{offset} on {n}: chunk {k} slot {}",
                            l.slot
                        );
                    }
                }
            }
        }
    }
}
