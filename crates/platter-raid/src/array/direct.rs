//! Reading member ranges, narrowing failures down to bad sectors, and the
//! levels without parity: RAID0, linear (one place) and RAID1/10 (copies).

use platter_core::{Error as CoreError, Extent, read_filled};

use super::{RaidArray, push_bad};
use crate::error::Result;
use crate::geometry::Location;

/// Half-open byte ranges relative to the start of a buffer.
pub(super) type Ranges = Vec<(usize, usize)>;

/// True for member errors that mean "these bytes cannot be read" rather
/// than "the member itself is broken".
fn is_bad_range(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::Read { .. }
            | CoreError::Unreadable { .. }
            | CoreError::Truncated { .. }
            | CoreError::OutOfBounds { .. }
    )
}

impl RaidArray {
    /// Tries one plain read of `out.len()` bytes of `slot` at member offset
    /// `member_offset`. `Ok(false)` when the slot is missing or the read hit
    /// bad sectors (then `out` holds garbage).
    pub(super) fn try_read(&self, slot: usize, member_offset: u64, out: &mut [u8]) -> Result<bool> {
        let Some(src) = &self.slots[slot] else {
            return Ok(false);
        };
        match src.read_exact_at(out, member_offset) {
            Ok(()) => Ok(true),
            Err(e) if is_bad_range(&e) => Ok(false),
            Err(e) => Err(self.member_error(slot, member_offset, e)),
        }
    }

    /// Reads `out.len()` bytes of `slot` at `member_offset`, filling what
    /// cannot be read with zeros, and returns those ranges (relative to
    /// `out`). A missing slot is one bad range. Failures are narrowed to the
    /// member's logical sector (`platter_core::read_filled`), and bytes past
    /// the end of a short member are bad.
    pub(super) fn read_member(
        &self,
        slot: usize,
        member_offset: u64,
        out: &mut [u8],
    ) -> Result<Ranges> {
        let len = out.len();
        let Some(src) = &self.slots[slot] else {
            out.fill(0);
            return Ok(vec![(0, len)]);
        };
        match src.read_exact_at(out, member_offset) {
            Ok(()) => return Ok(Vec::new()),
            Err(e) if is_bad_range(&e) => {}
            Err(e) => return Err(self.member_error(slot, member_offset, e)),
        }
        let gran = src.sector_size().logical.max(1);
        let (covered, bad) = read_filled(src.as_ref(), out, member_offset, 0, gran)
            .map_err(|e| self.member_error(slot, member_offset, e))?;
        let mut ranges: Ranges = bad
            .iter()
            .map(|e| {
                (
                    (e.offset - member_offset) as usize,
                    (e.end() - member_offset) as usize,
                )
            })
            .collect();
        if covered < len {
            out[covered..].fill(0);
            match ranges.last_mut() {
                Some(last) if last.1 == covered => last.1 = len,
                _ => ranges.push((covered, len)),
            }
        }
        Ok(ranges)
    }

    /// Reads array bytes `[pos, pos + out.len())`, which lie in one chunk
    /// with the given copies (one for RAID0/linear, several for mirrors).
    /// Bytes no copy can supply go to `bad` as array ranges.
    pub(super) fn read_copies(
        &self,
        copies: &[Location],
        out: &mut [u8],
        pos: u64,
        bad: &mut Vec<Extent>,
    ) -> Result<()> {
        // Prefer present members: the first present copy is read whole.
        let mut order: Vec<&Location> = copies
            .iter()
            .filter(|c| self.slots[c.slot].is_some())
            .collect();
        order.extend(copies.iter().filter(|c| self.slots[c.slot].is_none()));
        let Some(first) = order.first() else {
            return Ok(());
        };
        if self.try_read(first.slot, first.member_offset, out)? {
            return Ok(());
        }
        let mut todo = self.read_member(first.slot, first.member_offset, out)?;
        let level = self.geometry().level;
        for other in order.iter().skip(1) {
            if todo.is_empty() {
                break;
            }
            let mut still = Vec::new();
            for &(a, b) in &todo {
                let got =
                    self.read_member(other.slot, other.member_offset + a as u64, &mut out[a..b])?;
                let lost: usize = got.iter().map(|(x, y)| y - x).sum();
                self.note_rebuilt(level, (b - a - lost) as u64);
                still.extend(got.into_iter().map(|(x, y)| (a + x, a + y)));
            }
            todo = still;
        }
        for (a, b) in todo {
            out[a..b].fill(0);
            push_bad(bad, pos + a as u64, (b - a) as u64);
        }
        Ok(())
    }
}
