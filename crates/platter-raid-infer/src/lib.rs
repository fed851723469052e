//! RAID inference for platter: from member images alone, find the RAID
//! level, chunk size, member order, parity layout and data offset, with a
//! score, a margin over the runner-up, and the evidence, or say plainly
//! that the evidence cannot decide.
//!
//! This slice handles RAID6 (exact: the GF(2^8) syndrome is recomputed
//! under every candidate), RAID5/RAID4 (parity detection is exact; layout,
//! chunk and order come from content continuity across chunk boundaries),
//! RAID1 (all members equal) and diagnoses mirrored pairs (RAID10 near),
//! missing redundancy (RAID0/JBOD) and members without informative data.
//!
//! How it works:
//! 1. [`sample`] reads aligned windows at spread-out offsets from every
//!    member (at most `max(5 %, 8 MiB)` per member by default, capped at
//!    16 MiB) and drops windows that are zero on every member.
//! 2. [`signals`] classifies each 512-byte sector with at least two non-zero
//!    members: XOR of all members zero (RAID5/4), exactly one member equal
//!    to the XOR of all (that member is RAID6's Q), all members equal.
//! 3. The level follows from the rates. The data offset is taken as the
//!    first informative sector, aligned down to 4 KiB (the same on every
//!    member).
//! 4. RAID6 ([`raid6`]): the Q member per sector must follow a layout's Q
//!    rotation at a chunk size (4 KiB–1 MiB); orders compatible with it are
//!    scored by recomputing P and Q with the layout's coefficients.
//!    Candidates that assemble the same bytes are merged. Parity cannot
//!    separate md's asymmetric from its symmetric layouts (same Q
//!    coefficient per member), nor chunk sizes of layouts whose parity
//!    does not rotate: [`continuity`] decides, or the verdict is
//!    [`Verdict::Ambiguous`].
//! 5. RAID5/4 ([`continuity`]): every member is the XOR of the others, so
//!    the chunk size comes from where same-member continuity breaks, and
//!    layout and order from continuity across the chunk boundaries each
//!    candidate predicts; a lead under 4 standard errors is ambiguous.
//!
//! ```
//! use platter_core::{MemSource, Source};
//! use platter_raid_infer::{infer, Options, Verdict};
//! use platter_raid::geometry::Level;
//!
//! let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8 | 1).collect();
//! let a = MemSource::new("a", data.clone());
//! let b = MemSource::new("b", data);
//! let report = infer(&[&a as &dyn Source, &b], &Options::default()).unwrap();
//! assert_eq!(report.verdict, Verdict::Found);
//! assert_eq!(report.candidates[0].level, Level::Raid1);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bytes;
pub mod continuity;
pub mod error;
pub mod placement;
pub mod raid6;
pub mod report;
pub mod sample;
pub mod signals;
pub mod structures;
mod verdict;

pub use error::{Error, Result};
pub use report::{Candidate, Evidence, Report, Verdict};
pub use sample::SampleOptions;

use platter_core::Source;

/// Largest member count accepted.
pub const MAX_MEMBERS: usize = 16;

/// Inference options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// What to sample.
    pub sample: SampleOptions,
    /// How many candidates to return.
    pub top: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sample: SampleOptions::default(),
            top: 5,
        }
    }
}

/// Infers how `members` (in any order) form an array.
pub fn infer(members: &[&dyn Source], opts: &Options) -> Result<Report> {
    let n = members.len();
    if n < 2 {
        return Err(Error::TooFewMembers { count: n });
    }
    if n > MAX_MEMBERS {
        return Err(Error::TooManyMembers {
            count: n,
            max: MAX_MEMBERS,
        });
    }
    let samples = sample::read_samples(members, &opts.sample)?;
    let signals = signals::compute(&samples, n);
    let (verdict, mut candidates) = verdict::decide(&samples, &signals, n);
    candidates.truncate(opts.top.max(1));
    Ok(Report {
        verdict,
        candidates,
        member_bytes: members.iter().map(|m| m.len()).collect(),
        sampled_bytes_per_member: samples.bytes_read_per_member,
        signals: signals.summary,
    })
}
