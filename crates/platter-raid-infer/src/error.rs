//! The error type of RAID inference.

/// Everything that can stop inference before it reaches a verdict.
///
/// Weak or missing evidence is *not* an error: it is a
/// [`Verdict`](crate::Verdict) such as `NoInformativeData` or `Ambiguous`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer than two member images were given.
    #[error("RAID inference needs at least 2 members, got {count}")]
    TooFewMembers {
        /// Members given.
        count: usize,
    },
    /// More member images than inference supports.
    #[error("RAID inference supports at most {max} members, got {count}")]
    TooManyMembers {
        /// Members given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An option is out of range.
    #[error("invalid inference option {name}: {value}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Its value.
        value: u64,
    },
    /// Reading a member failed.
    #[error("reading member {member} ({name}) at offset {offset:#x}: {source}")]
    Read {
        /// Index of the member in the list given.
        member: usize,
        /// The member's name (usually its path).
        name: String,
        /// Byte offset of the failed read in the member.
        offset: u64,
        /// The underlying error.
        #[source]
        source: platter_core::Error,
    },
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
