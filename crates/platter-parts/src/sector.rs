//! Reading table structures from the disk without trusting their location.

use platter_core::Source;

use crate::anomaly::{Anomalies, codes};

/// The outcome of reading a table structure.
#[derive(Debug)]
pub(crate) enum Read {
    /// The bytes asked for.
    Bytes(Vec<u8>),
    /// The range does not lie wholly inside the disk (or overflows); nothing was read.
    OutsideDisk,
    /// The read failed; a [`codes::READ_ERROR`] anomaly was recorded.
    Failed,
}

/// Reads `len` bytes at `offset` when the range lies inside the disk.
///
/// Callers bound `len` by a named limit before calling. A read error does not
/// stop the parse: it is recorded as an anomaly naming `what` and the offset,
/// so the rest of the table (the backup GPT, the other EBRs) can still be read.
pub(crate) fn read_tolerant(
    disk: &dyn Source,
    offset: u64,
    len: usize,
    what: &str,
    anomalies: &mut Anomalies,
) -> Read {
    let fits = u64::try_from(len)
        .ok()
        .and_then(|l| offset.checked_add(l))
        .is_some_and(|end| end <= disk.len());
    if !fits {
        return Read::OutsideDisk;
    }
    let mut buf = vec![0u8; len];
    match disk.read_exact_at(&mut buf, offset) {
        Ok(()) => Read::Bytes(buf),
        Err(e) => {
            anomalies.push(
                offset,
                codes::READ_ERROR,
                format!("{what} at {offset:#x}: cannot be read ({e}); continuing without it"),
            );
            Read::Failed
        }
    }
}

/// Sector sizes the GPT is probed with: the source's own logical sector size
/// (when plausible), then 512 and 4096, without repeats.
pub(crate) fn candidate_sector_sizes(hint: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(3);
    for ss in [hint, 512, 4096] {
        if is_plausible_sector_size(ss) && !out.contains(&ss) {
            out.push(ss);
        }
    }
    out
}

/// A sector size platter accepts: a power of two from 512 to 64 KiB.
pub(crate) fn is_plausible_sector_size(ss: u32) -> bool {
    ss.is_power_of_two() && (512..=65536).contains(&ss)
}
