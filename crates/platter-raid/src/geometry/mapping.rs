//! [`Mapping`]: a [`Geometry`] resolved against member sizes, answering
//! where each array byte lives.

use super::level::{Layout, Level, ParityLayout, Raid0Layout};
use super::parity::{Placement, delayed_group, place};
use super::raid10::Raid10Geo;
use super::zones::{Zone, build_zones, linear_starts};
use super::{Geometry, SECTOR};
use crate::error::{Error, Result};

/// Where one array byte (and the bytes after it on the same member) lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The slot holding it.
    pub slot: usize,
    /// Byte offset within the member image (data offset included).
    pub member_offset: u64,
    /// Bytes that follow contiguously on this member (to the end of the
    /// chunk, or of the array).
    pub len: u64,
    /// The row (stripe) for striped levels; the chunk number for RAID10;
    /// `None` for RAID1 and linear.
    pub row: Option<u64>,
    /// Position of the chunk among the row's data chunks (striped levels).
    pub data_index: Option<usize>,
}

/// The layout of one row (stripe) of a RAID0/4/5/6 array.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowLayout {
    /// The row number.
    pub row: u64,
    /// Data slots in logical order: `data_slots[0]` holds the row's first chunk.
    pub data_slots: Vec<usize>,
    /// The P (XOR) parity slot.
    pub p: Option<usize>,
    /// The Q (GF(2^8)) parity slot.
    pub q: Option<usize>,
    /// For RAID6: the Q exponent of each data slot, in the order of
    /// `data_slots` (Q = ⊕ 2^e·D). md-native layouts number data disks
    /// walking from just after Q; DDF layouts use the physical index.
    pub q_exponents: Vec<u8>,
    /// Where the row starts on every member, relative to its data offset.
    pub offset_in_member: u64,
    /// Chunk size in bytes.
    pub chunk_bytes: u64,
}

impl RowLayout {
    /// Slots taking part in the row: data, then P, then Q.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.data_slots.iter().copied().chain(self.p).chain(self.q)
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Parity {
        data_disks: usize,
        layout: ParityLayout,
    },
    Raid0 {
        zones: Vec<Zone>,
        layout: Raid0Layout,
    },
    Linear {
        starts: Vec<u64>,
    },
    Raid1,
    Raid10 {
        geo: Raid10Geo,
    },
}

/// A [`Geometry`] resolved against the member sizes. Built by
/// [`Geometry::mapping`]; pure arithmetic, no I/O.
#[derive(Debug, Clone)]
pub struct Mapping {
    geometry: Geometry,
    slot_sizes: Vec<u64>,
    capacity: u64,
    array_size: u64,
    kind: Kind,
}

impl Mapping {
    pub(super) fn new(geometry: Geometry, image_sizes: &[Option<u64>]) -> Result<Mapping> {
        let n = geometry.slots.len();
        let chunk = geometry.chunk_bytes;
        // Usable size of each slot, where known.
        let mut known: Vec<Option<u64>> = Vec::with_capacity(n);
        for (slot, s) in geometry.slots.iter().enumerate() {
            let from_image = match s.image {
                Some(i) => {
                    let len = image_sizes.get(i).ok_or(Error::ImageOutOfRange {
                        slot,
                        image: i,
                        images: image_sizes.len(),
                    })?;
                    match len {
                        Some(len) if *len < s.data_offset => {
                            return Err(Error::MemberTooSmall {
                                slot,
                                image: i,
                                len: *len,
                                data_offset: s.data_offset,
                            });
                        }
                        Some(len) => Some(len - s.data_offset),
                        None => None,
                    }
                }
                None => None,
            };
            known.push(s.size.or(from_image));
        }
        let per_slot = matches!(geometry.level, Level::Raid0 | Level::Linear);
        let smallest = known.iter().flatten().copied().min();
        let mut sizes = Vec::with_capacity(n);
        for (slot, k) in known.iter().enumerate() {
            match (k, per_slot, smallest) {
                (Some(v), _, _) => sizes.push(*v),
                (None, false, Some(m)) => sizes.push(m),
                _ => return Err(Error::UnknownSize { slot }),
            }
        }
        let round = |v: u64, unit: u64| v - v % unit;
        let (slot_sizes, capacity, kind) = match (geometry.level, geometry.layout) {
            (Level::Raid4 | Level::Raid5 | Level::Raid6, Layout::Parity(layout)) => {
                let s = round(sizes.iter().copied().min().unwrap_or(0), chunk);
                let data_disks = n - geometry.level.parity_count();
                let cap = s
                    .checked_mul(data_disks as u64)
                    .ok_or(Error::InvalidChunk { chunk_bytes: chunk })?;
                (vec![s; n], cap, Kind::Parity { data_disks, layout })
            }
            (Level::Raid0, Layout::Raid0(layout)) => {
                let rs: Vec<u64> = sizes.iter().map(|&v| round(v, chunk)).collect();
                let zones =
                    build_zones(&rs, chunk).ok_or(Error::InvalidChunk { chunk_bytes: chunk })?;
                let cap = zones.last().map_or(0, |z| z.end);
                (rs, cap, Kind::Raid0 { zones, layout })
            }
            (Level::Linear, _) => {
                let rs: Vec<u64> = sizes.iter().map(|&v| round(v, chunk)).collect();
                let starts =
                    linear_starts(&rs).ok_or(Error::InvalidChunk { chunk_bytes: chunk })?;
                let cap = *starts.last().unwrap_or(&0);
                (rs, cap, Kind::Linear { starts })
            }
            (Level::Raid1, _) => {
                let s = round(sizes.iter().copied().min().unwrap_or(0), SECTOR);
                (vec![s; n], s, Kind::Raid1)
            }
            (Level::Raid10, Layout::Raid10(layout)) => {
                let dev_chunks = sizes.iter().copied().min().unwrap_or(0) / chunk;
                let geo = Raid10Geo::new(layout, n as u64, dev_chunks);
                let cap = geo
                    .array_chunks
                    .checked_mul(chunk)
                    .ok_or(Error::InvalidChunk { chunk_bytes: chunk })?;
                (vec![dev_chunks * chunk; n], cap, Kind::Raid10 { geo })
            }
            _ => {
                return Err(Error::LayoutMismatch {
                    level: geometry.level,
                    layout: geometry.layout.to_string(),
                });
            }
        };
        let array_size = match geometry.array_size {
            Some(r) if r > capacity => {
                return Err(Error::ArraySizeTooLarge {
                    requested: r,
                    capacity,
                });
            }
            Some(r) => r,
            None => capacity,
        };
        Ok(Mapping {
            geometry,
            slot_sizes,
            capacity,
            array_size,
            kind,
        })
    }

    /// The parameters.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The array size in bytes (the override when one was given).
    pub fn array_size(&self) -> u64 {
        self.array_size
    }

    /// What the members can hold, in bytes, by md's rules.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Usable bytes of each slot after md's rounding (whole chunks for
    /// striped levels; the smallest member for all but RAID0/linear).
    pub fn slot_sizes(&self) -> &[u64] {
        &self.slot_sizes
    }

    /// Chunk size in bytes.
    pub fn chunk_bytes(&self) -> u64 {
        self.geometry.chunk_bytes
    }

    /// Absolute offset in the member image of `rel` bytes past the slot's
    /// data offset (saturating: geometry validation bounds the offset).
    pub fn member_offset(&self, slot: usize, rel: u64) -> u64 {
        self.geometry.slots[slot].data_offset.saturating_add(rel)
    }

    /// Data chunks per row for RAID4/5/6 (members − parity).
    pub fn data_disks(&self) -> Option<usize> {
        match self.kind {
            Kind::Parity { data_disks, .. } => Some(data_disks),
            _ => None,
        }
    }

    /// Number of rows for RAID0/4/5/6 (covering the capacity).
    pub fn row_count(&self) -> Option<u64> {
        let chunk = self.geometry.chunk_bytes;
        match &self.kind {
            Kind::Parity { .. } => Some(self.slot_sizes[0] / chunk),
            Kind::Raid0 { zones, .. } => {
                Some(zones.last().map_or(0, |z| z.first_row + z.rows(chunk)))
            }
            _ => None,
        }
    }

    /// The parity placement of row `row` (RAID4/5/6), with delayed parity.
    pub(crate) fn placement(&self, row: u64) -> Option<Placement> {
        let Kind::Parity { layout, .. } = self.kind else {
            return None;
        };
        let g = match self.geometry.delayed_parity {
            Some(d) => delayed_group(row, d.rows_per_group, d.first_group_rows),
            None => row,
        };
        Some(place(
            self.geometry.level,
            layout,
            self.geometry.slots.len(),
            g,
        ))
    }

    /// The layout of row `row` of a RAID0/4/5/6 array, or `None` for other
    /// levels and rows past the end.
    pub fn row(&self, row: u64) -> Option<RowLayout> {
        let chunk = self.geometry.chunk_bytes;
        match &self.kind {
            Kind::Parity { .. } => {
                if row >= self.row_count()? {
                    return None;
                }
                let pl = self.placement(row)?;
                Some(RowLayout {
                    row,
                    data_slots: pl.data,
                    p: Some(pl.p),
                    q: pl.q,
                    q_exponents: pl.q_exponents,
                    offset_in_member: row * chunk,
                    chunk_bytes: chunk,
                })
            }
            Kind::Raid0 { zones, layout } => {
                let z = zones
                    .iter()
                    .find(|z| row >= z.first_row && row < z.first_row + z.rows(chunk))?;
                let local = row - z.first_row;
                let nb = z.slots.len() as u64;
                // First chunk number used to pick members (see zones.rs).
                let first = match layout {
                    Raid0Layout::Original => z.start / chunk + local * nb,
                    Raid0Layout::Alternate => local * nb,
                };
                Some(RowLayout {
                    row,
                    data_slots: (0..nb)
                        .map(|d| z.slots[((first + d) % nb) as usize])
                        .collect(),
                    p: None,
                    q: None,
                    q_exponents: Vec::new(),
                    offset_in_member: z.dev_start + local * chunk,
                    chunk_bytes: chunk,
                })
            }
            _ => None,
        }
    }

    /// The row of a RAID0/4/5/6 array holding array byte `offset`, with the
    /// array offset where that row starts.
    pub fn row_of(&self, offset: u64) -> Option<(u64, u64)> {
        if offset >= self.array_size {
            return None;
        }
        let chunk = self.geometry.chunk_bytes;
        match &self.kind {
            Kind::Parity { data_disks, .. } => {
                let row_bytes = chunk * *data_disks as u64;
                let row = offset / row_bytes;
                Some((row, row * row_bytes))
            }
            Kind::Raid0 { zones, .. } => {
                let z = zones.iter().find(|z| offset < z.end)?;
                let row_bytes = chunk * z.slots.len() as u64;
                let local = (offset - z.start) / row_bytes;
                Some((z.first_row + local, z.start + local * row_bytes))
            }
            _ => None,
        }
    }

    /// Where array byte `offset` is read from: the data chunk for striped
    /// levels, the first copy for mirrors. `None` past the end.
    pub fn locate(&self, offset: u64) -> Option<Location> {
        self.copies(offset).into_iter().next()
    }

    /// Every place array byte `offset` is stored: one for RAID0/4/5/6 and
    /// linear, each copy for RAID1/10 (in md's order). Empty past the end.
    pub fn copies(&self, offset: u64) -> Vec<Location> {
        if offset >= self.array_size {
            return Vec::new();
        }
        let chunk = self.geometry.chunk_bytes;
        let to_end = self.array_size - offset;
        match &self.kind {
            Kind::Parity { .. } | Kind::Raid0 { .. } => {
                let Some((row, row_start)) = self.row_of(offset) else {
                    return Vec::new();
                };
                let Some(rl) = self.row(row) else {
                    return Vec::new();
                };
                let within = offset - row_start;
                let d = (within / chunk) as usize;
                let in_chunk = within % chunk;
                let slot = rl.data_slots[d];
                vec![Location {
                    slot,
                    member_offset: self.member_offset(slot, rl.offset_in_member + in_chunk),
                    len: (chunk - in_chunk).min(to_end),
                    row: Some(row),
                    data_index: Some(d),
                }]
            }
            Kind::Linear { starts } => {
                let slot = starts.partition_point(|&s| s <= offset) - 1;
                let rel = offset - starts[slot];
                vec![Location {
                    slot,
                    member_offset: self.member_offset(slot, rel),
                    len: (starts[slot + 1] - offset).min(to_end),
                    row: None,
                    data_index: None,
                }]
            }
            Kind::Raid1 => (0..self.geometry.slots.len())
                .map(|slot| Location {
                    slot,
                    member_offset: self.member_offset(slot, offset),
                    len: to_end,
                    row: None,
                    data_index: None,
                })
                .collect(),
            Kind::Raid10 { geo } => {
                let c = offset / chunk;
                let in_chunk = offset % chunk;
                geo.copies(c)
                    .into_iter()
                    .map(|(slot, dev_row)| Location {
                        slot,
                        member_offset: self.member_offset(slot, dev_row * chunk + in_chunk),
                        len: (chunk - in_chunk).min(to_end),
                        row: Some(c),
                        data_index: None,
                    })
                    .collect()
            }
        }
    }
}
