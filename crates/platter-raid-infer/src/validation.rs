//! Validation of candidates on the assembled array: each candidate is read
//! as an array (through a light view over the borrowed members) and the
//! file systems inside are checked ([`structures::validate`]). A wrong
//! order, chunk or layout puts metadata where the file system does not
//! expect it, and checks fail.

use platter_core::{Result as CoreResult, Source};
use platter_raid::geometry::{Geometry, Mapping};

use crate::report::Candidate;
use crate::structures::{Validation, validate};

/// Bytes a validation may read per candidate.
pub const BUDGET_BYTES: u64 = 8 << 20;
/// A candidate whose file systems pass this fraction of checks is valid.
pub const VALID_RATE: f64 = 0.95;
/// Fewer checks than this say nothing.
pub const MIN_CHECKS: u64 = 4;

/// A candidate's array over borrowed members: data is read from where the
/// geometry puts it; slots without an image read as errors (validation
/// skips what it cannot read).
#[derive(Debug)]
struct View<'a> {
    members: &'a [&'a dyn Source],
    geometry: Geometry,
    mapping: Mapping,
}

impl View<'_> {
    /// Rebuilds a missing data chunk's bytes from the rest of its row
    /// (XOR of the other data chunks and P). False when the row has other
    /// members missing or no P.
    fn rebuild(
        &self,
        row: Option<u64>,
        slot: usize,
        member_offset: u64,
        out: &mut [u8],
    ) -> CoreResult<bool> {
        let Some(layout) = row.and_then(|r| self.mapping.row(r)) else {
            return Ok(false);
        };
        let Some(p) = layout.p else {
            return Ok(false);
        };
        out.fill(0);
        let mut tmp = vec![0u8; out.len()];
        for s in layout.data_slots.iter().copied().chain([p]) {
            if s == slot {
                continue;
            }
            let Some(m) = self.geometry.slots[s]
                .image
                .and_then(|i| self.members.get(i))
            else {
                return Ok(false);
            };
            // Data offsets are equal across slots in inferred geometries.
            let off = member_offset - self.geometry.slots[slot].data_offset
                + self.geometry.slots[s].data_offset;
            m.read_exact_at(&mut tmp, off)?;
            for (o, t) in out.iter_mut().zip(&tmp) {
                *o ^= t;
            }
        }
        Ok(true)
    }
}

impl Source for View<'_> {
    fn len(&self) -> u64 {
        self.mapping.array_size()
    }

    fn name(&self) -> &str {
        "candidate array"
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let Some(loc) = self.mapping.locate(pos) else {
                break;
            };
            let want = (buf.len() - done).min(usize::try_from(loc.len).unwrap_or(usize::MAX));
            let img = self.geometry.slots[loc.slot]
                .image
                .and_then(|i| self.members.get(i));
            let out = &mut buf[done..done + want];
            match img {
                Some(m) => m.read_exact_at(out, loc.member_offset)?,
                None => {
                    if !self.rebuild(loc.row, loc.slot, loc.member_offset, out)? {
                        if done > 0 {
                            break;
                        }
                        return Err(platter_core::Error::Unreadable {
                            name: "candidate array".into(),
                            offset: pos,
                            len: want as u64,
                        });
                    }
                }
            }
            done += want;
        }
        Ok(done)
    }
}

/// Validates `c` over `members`; `None` when the geometry does not resolve.
pub fn check(members: &[&dyn Source], c: &Candidate) -> Option<Validation> {
    let sizes: Vec<Option<u64>> = members.iter().map(|m| Some(m.len())).collect();
    let mapping = c.geometry.mapping(&sizes).ok()?;
    let view = View {
        members,
        geometry: c.geometry.clone(),
        mapping,
    };
    Some(validate(&view, BUDGET_BYTES))
}

/// True when `v` found file systems and they pass.
pub fn passes(v: &Validation) -> bool {
    v.checks >= MIN_CHECKS && v.rate().is_some_and(|r| r >= VALID_RATE)
}
