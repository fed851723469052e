//! md RAID0 zones for members of unequal size, and linear concatenation.
//!
//! Kernel `drivers/md/raid0.c`: `create_strip_zones` rounds each member
//! down to whole chunks; zone 0 stripes over all members up to the
//! smallest size; each later zone stripes over the members still larger,
//! in slot order, up to the next size. `map_sector` picks the member of a
//! chunk as (chunk number) mod (members in zone), where the chunk number is
//! array-wide for the original layout and zone-relative for the alternate
//! one, and places it at `zone dev_start + (chunk in zone / members) ·
//! chunk`.

/// One RAID0 zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Zone {
    /// First array byte of the zone.
    pub start: u64,
    /// One past the last array byte.
    pub end: u64,
    /// Where the zone starts on each of its members (relative to the data offset).
    pub dev_start: u64,
    /// Its members, by slot, in slot order.
    pub slots: Vec<usize>,
    /// Global index of the first row of the zone.
    pub first_row: u64,
}

impl Zone {
    /// Rows in the zone.
    pub fn rows(&self, chunk: u64) -> u64 {
        (self.end - self.start) / (chunk * self.slots.len() as u64)
    }
}

/// Builds the zones from per-slot sizes already rounded down to `chunk`.
/// Sizes are bounded by u64 member lengths and there are at most 256
/// slots, so the sums are checked.
pub(crate) fn build_zones(sizes: &[u64], chunk: u64) -> Option<Vec<Zone>> {
    let mut distinct: Vec<u64> = sizes.iter().copied().filter(|&s| s > 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut zones = Vec::new();
    let mut start = 0u64;
    let mut dev_start = 0u64;
    let mut first_row = 0u64;
    for &level in &distinct {
        let slots: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > dev_start).collect();
        let bytes = (level - dev_start).checked_mul(slots.len() as u64)?;
        let end = start.checked_add(bytes)?;
        let z = Zone {
            start,
            end,
            dev_start,
            slots,
            first_row,
        };
        first_row += z.rows(chunk);
        zones.push(z);
        start = end;
        dev_start = level;
    }
    Some(zones)
}

/// Array start offset of each slot in a linear concatenation.
pub(crate) fn linear_starts(sizes: &[u64]) -> Option<Vec<u64>> {
    let mut out = Vec::with_capacity(sizes.len() + 1);
    let mut pos = 0u64;
    out.push(0);
    for &s in sizes {
        pos = pos.checked_add(s)?;
        out.push(pos);
    }
    Some(out)
}
