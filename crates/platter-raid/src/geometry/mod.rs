//! The geometry of an array: level, layout, chunk size, member order,
//! per-member data offsets and sizes; and the pure mapping from array
//! offsets to member offsets ([`Mapping`]).
//!
//! A [`Geometry`] holds the parameters, as a recipe would (serde-friendly);
//! [`Geometry::mapping`] resolves it against the member sizes into a
//! [`Mapping`], which answers "where is array byte X" ([`Mapping::locate`],
//! [`Mapping::copies`]) and "what does row R look like" ([`Mapping::row`]).
//!
//! Members are addressed by *slot*: md's `raid_disk` role, 0…n−1. Each
//! [`Slot`] names the member image that fills it (an index into the list
//! of images given to the array), or none when the member is missing.
//!
//! ```
//! use platter_raid::geometry::{Geometry, Level, Layout, ParityLayout};
//!
//! // A 4-member md RAID5, left-symmetric, 64 KiB chunks, members of 1 MiB.
//! let g = Geometry::new(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 65536, 4);
//! let m = g.mapping(&[Some(1 << 20); 4]).unwrap();
//! assert_eq!(m.array_size(), 3 << 20);
//! let row1 = m.row(1).unwrap();
//! assert_eq!(row1.p, Some(2)); // parity walks from the last member down
//! assert_eq!(row1.data_slots, vec![3, 0, 1]); // data continues after parity
//! let loc = m.locate(3 * 65536 + 10).unwrap(); // D0 of row 1
//! assert_eq!((loc.slot, loc.member_offset), (3, 65536 + 10));
//! ```

mod level;
mod mapping;
mod parity;
mod raid10;
mod zones;

#[cfg(test)]
mod tests;

pub use level::{Layout, Level, ParityLayout, Raid0Layout, Raid10Layout};
pub use mapping::{Location, Mapping, RowLayout};

use crate::error::{Error, Result};

/// The most members an array may have (md's own limit for 1.x metadata is
/// 384 roles, but RAID6 coefficients repeat past 255 data disks).
pub const MAX_MEMBERS: usize = 256;

/// The largest chunk accepted: 1 GiB.
pub const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// The sector unit: chunk sizes are multiples of it.
pub const SECTOR: u64 = 512;

/// Delayed parity (HP Smart Array style), for RAID5/6: parity stays on one
/// member for `rows_per_group` consecutive rows before rotating, and the
/// first group holds `first_group_rows` rows. Row r uses the base layout's
/// placement for group g = 0 if r < F, else 1 + (r − F) / D.
///
/// The formula is the documented one of recovery-tool manuals; it has not
/// been verified against a real controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DelayedParity {
    /// D: rows per parity group, 1…=32.
    pub rows_per_group: u32,
    /// F: rows in the first group, 1…=D.
    pub first_group_rows: u32,
}

impl DelayedParity {
    /// The parity group of row `row`: the row whose placement it takes.
    pub fn group(self, row: u64) -> u64 {
        parity::delayed_group(row, self.rows_per_group, self.first_group_rows)
    }
}

/// One member position (md `raid_disk` role) of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    /// Index of the member image filling this slot, or `None` when missing.
    pub image: Option<usize>,
    /// Where the array data starts on the member, in bytes (md's
    /// `data_offset`, a DDF start LBA, a partition offset…).
    #[serde(default)]
    pub data_offset: u64,
    /// Usable bytes from `data_offset` on (md's component size). `None`:
    /// the rest of the image; for a missing member, the smallest other slot.
    /// For md RAID10 "far" layouts give md's component size: the distance
    /// between far copies is derived from it (kernel `calc_sectors`).
    #[serde(default)]
    pub size: Option<u64>,
}

/// The parameters of an array. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Geometry {
    /// RAID level.
    pub level: Level,
    /// Layout; must belong to the level's family (see [`Layout::default_for`]).
    pub layout: Layout,
    /// Chunk (strip) size in bytes: a multiple of 512 (a power of two for md;
    /// hardware controllers may use others). Ignored by RAID1; for linear
    /// it is md's rounding of member sizes.
    pub chunk_bytes: u64,
    /// The members, by slot.
    pub slots: Vec<Slot>,
    /// Delayed parity (RAID5/6 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_parity: Option<DelayedParity>,
    /// Array size in bytes, overriding the computed one (must not exceed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_size: Option<u64>,
}

impl Geometry {
    /// A geometry with `members` slots filled by images 0…n−1 in order, no
    /// data offset, sizes taken from the images.
    pub fn new(level: Level, layout: Layout, chunk_bytes: u64, members: usize) -> Geometry {
        Geometry {
            level,
            layout,
            chunk_bytes,
            slots: (0..members)
                .map(|i| Slot {
                    image: Some(i),
                    data_offset: 0,
                    size: None,
                })
                .collect(),
            delayed_parity: None,
            array_size: None,
        }
    }

    /// Sets the member order: `order[slot]` is the image index filling the
    /// slot, or `None` for a missing member. Offsets and sizes are kept.
    pub fn with_order(mut self, order: &[Option<usize>]) -> Geometry {
        self.slots.resize(
            order.len(),
            Slot {
                image: None,
                data_offset: 0,
                size: None,
            },
        );
        for (s, o) in self.slots.iter_mut().zip(order) {
            s.image = *o;
        }
        self
    }

    /// Sets the same data offset on every slot.
    pub fn with_data_offset(mut self, offset: u64) -> Geometry {
        for s in &mut self.slots {
            s.data_offset = offset;
        }
        self
    }

    /// Checks a member count read from metadata *before* anything is
    /// allocated for it: a hostile superblock may claim 2^31 disks.
    pub fn check_member_count(level: Level, count: u64) -> Result<()> {
        if count == 0 {
            return Err(Error::NoMembers);
        }
        if count > MAX_MEMBERS as u64 {
            return Err(Error::TooManyMembers {
                count,
                max: MAX_MEMBERS,
            });
        }
        let min = match level {
            Level::Raid0 | Level::Raid1 | Level::Linear => 1,
            Level::Raid4 | Level::Raid5 | Level::Raid10 => 2,
            Level::Raid6 => 4,
        };
        if (count as usize) < min {
            return Err(Error::TooFewMembers {
                level,
                count: count as usize,
                min,
            });
        }
        Ok(())
    }

    /// Number of slots (md `raid_disks`).
    pub fn member_count(&self) -> usize {
        self.slots.len()
    }

    /// The parity layout, for RAID4/5/6.
    pub fn parity_layout(&self) -> Option<ParityLayout> {
        match self.layout {
            Layout::Parity(p) => Some(p),
            _ => None,
        }
    }

    /// How many slots may fail in one row (or chunk) without data loss:
    /// 1 for RAID4/5, 2 for RAID6, copies − 1 for RAID10, n − 1 for RAID1.
    pub fn redundancy(&self) -> usize {
        match (self.level, self.layout) {
            (Level::Raid1, _) => self.slots.len().saturating_sub(1),
            (Level::Raid10, Layout::Raid10(l)) => l.copies().saturating_sub(1),
            (l, _) => l.parity_count(),
        }
    }

    /// A short description: `raid5[left-symmetric,64K,3 members]`.
    pub fn describe(&self) -> String {
        let chunk = if self.chunk_bytes % 1024 == 0 {
            format!("{}K", self.chunk_bytes / 1024)
        } else {
            format!("{}B", self.chunk_bytes)
        };
        let mut parts = Vec::new();
        if self.layout != Layout::None {
            parts.push(self.layout.to_string());
        }
        if self.level != Level::Raid1 {
            parts.push(chunk);
        }
        if let Some(d) = self.delayed_parity {
            parts.push(format!("delay {}/{}", d.rows_per_group, d.first_group_rows));
        }
        parts.push(format!("{} members", self.slots.len()));
        format!("{}[{}]", self.level, parts.join(","))
    }

    /// Checks the parameters that do not depend on member sizes.
    pub fn validate(&self) -> Result<()> {
        let n = self.slots.len();
        Geometry::check_member_count(self.level, n as u64)?;
        let layout_ok = match (self.level, self.layout) {
            (Level::Raid4, Layout::Parity(p)) => {
                matches!(p, ParityLayout::ParityLast | ParityLayout::ParityFirst)
            }
            (Level::Raid5, Layout::Parity(p)) => p.valid_for_raid5(),
            (Level::Raid6, Layout::Parity(p)) => !(p.is_ddf() && n > 255),
            (Level::Raid10, Layout::Raid10(_)) => true,
            (Level::Raid0, Layout::Raid0(_)) => true,
            (Level::Raid1 | Level::Linear, Layout::None) => true,
            _ => false,
        };
        if !layout_ok {
            return Err(Error::LayoutMismatch {
                level: self.level,
                layout: self.layout.to_string(),
            });
        }
        if let Layout::Raid10(l) = self.layout {
            let copies = l.copies();
            if l.near == 0 || l.far == 0 || copies > n {
                return Err(Error::InvalidRaid10 {
                    layout: l.to_string(),
                    members: n,
                });
            }
            // raid10.c `__raid10_find_phys`: when the near copies of a chunk
            // wrap past the last member they move one chunk down, which in
            // "offset" mode is where the offset copies of the next row live.
            // md's own placement then overlaps itself, so such an array
            // cannot hold consistent data; refuse it rather than guess.
            if l.offset && l.near > 1 && n % usize::from(l.near) != 0 {
                return Err(Error::Raid10OffsetOverlap {
                    layout: l.to_string(),
                    members: n,
                });
            }
        }
        if self.level != Level::Raid1 {
            let c = self.chunk_bytes;
            if c == 0 || c % SECTOR != 0 || c > MAX_CHUNK_BYTES {
                return Err(Error::InvalidChunk { chunk_bytes: c });
            }
        }
        if let Some(d) = self.delayed_parity {
            let rotating = matches!(self.level, Level::Raid5 | Level::Raid6);
            if !rotating
                || !(1..=32).contains(&d.rows_per_group)
                || d.first_group_rows == 0
                || d.first_group_rows > d.rows_per_group
            {
                return Err(Error::InvalidDelayedParity {
                    level: self.level,
                    rows_per_group: d.rows_per_group,
                    first_group_rows: d.first_group_rows,
                });
            }
        }
        let mut seen: Vec<(usize, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, s)| s.image.map(|i| (i, slot)))
            .collect();
        seen.sort_unstable();
        for w in seen.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(Error::DuplicateImage {
                    image: w[0].0,
                    first_slot: w[0].1.min(w[1].1),
                    second_slot: w[0].1.max(w[1].1),
                });
            }
        }
        if let Some((slot, s)) = self
            .slots
            .iter()
            .enumerate()
            .find(|(_, s)| s.data_offset.checked_add(s.size.unwrap_or(0)).is_none())
        {
            return Err(Error::SlotRange {
                slot,
                data_offset: s.data_offset,
                size: s.size.unwrap_or(0),
            });
        }
        Ok(())
    }

    /// Resolves the geometry against the member images' sizes:
    /// `image_sizes[i]` is the length of image `i` (`None` when absent).
    ///
    /// A slot's usable size is its [`Slot::size`], else its image's length
    /// minus the data offset. Like md, every level but RAID0 and linear uses
    /// the *smallest* slot for all slots: members of wildly different sizes
    /// give an array sized by the smallest.
    pub fn mapping(&self, image_sizes: &[Option<u64>]) -> Result<Mapping> {
        self.validate()?;
        Mapping::new(self.clone(), image_sizes)
    }
}
