//! The one error type of `platter-raid`.

/// Result alias of `platter-raid`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the RAID engine. Variants carry the member index and byte
/// offsets where they apply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from a member or other source.
    #[error(transparent)]
    Source(#[from] platter_core::Error),
}
