//! Helpers shared by the integration tests: building engine geometries
//! from md numbers and member images from oracle output.
#![allow(dead_code)]

use std::sync::Arc;

use platter_core::{MemSource, SharedSource};
use platter_raid::geometry::{
    DelayedParity, Geometry, Layout, Level, ParityLayout, Raid0Layout, Raid10Layout, Slot,
};

use crate::oracle::Spec;

/// The engine geometry for an oracle spec (slots in order, no offsets).
pub fn geometry_for(spec: &Spec) -> Geometry {
    let level = Level::from_md_number(spec.level).unwrap();
    let layout = match spec.level {
        4..=6 => Layout::Parity(ParityLayout::from_md_number(spec.layout).unwrap()),
        10 => Layout::Raid10(Raid10Layout::from_md_word(spec.layout).unwrap()),
        0 => Layout::Raid0(if spec.layout == 2 {
            Raid0Layout::Alternate
        } else {
            Raid0Layout::Original
        }),
        _ => Layout::None,
    };
    let mut g = Geometry::new(level, layout, spec.chunk as u64, spec.sizes.len());
    g.delayed_parity = spec.delay.map(|(d, f)| DelayedParity {
        rows_per_group: d as u32,
        first_group_rows: f as u32,
    });
    g
}

/// Member images: `offsets[slot]` junk bytes, then the slot's data area.
/// `perm[slot]` is the image index holding the slot.
pub fn images(
    members: &[Vec<u8>],
    offsets: &[usize],
    perm: &[usize],
    seed: u64,
) -> Vec<Option<SharedSource>> {
    let mut out: Vec<Option<SharedSource>> = vec![None; members.len()];
    for (slot, m) in members.iter().enumerate() {
        let mut img = crate::oracle::random_bytes(offsets[slot], seed ^ 0xabc ^ slot as u64);
        img.extend_from_slice(m);
        out[perm[slot]] = Some(Arc::new(MemSource::new(format!("img{}", perm[slot]), img)));
    }
    out
}

/// Sets order and offsets on a geometry.
pub fn place(mut g: Geometry, offsets: &[usize], perm: &[usize]) -> Geometry {
    g.slots = perm
        .iter()
        .zip(offsets)
        .map(|(&p, &o)| Slot {
            image: Some(p),
            data_offset: o as u64,
            size: None,
        })
        .collect();
    g
}

/// A small deterministic generator for test choices.
pub struct Pick(pub u64);
impl Pick {
    pub fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.next(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
