//! The one error type of `platter-raid`.

use crate::geometry::Level;

/// Result alias of `platter-raid`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the RAID engine. Variants carry the slot (member position),
/// image index and byte offsets where they apply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from a member or other source.
    #[error(transparent)]
    Source(#[from] platter_core::Error),
    /// A read of one member failed in a way parity cannot help with (not a
    /// bad sector: an I/O error of the device, a vanished file…).
    #[error("member in slot {slot} (image {image}) failed at offset {offset:#x}: {source}")]
    MemberRead {
        /// Slot of the member.
        slot: usize,
        /// Image index of the member.
        image: usize,
        /// Byte offset within the member image.
        offset: u64,
        /// The member's error.
        #[source]
        source: platter_core::Error,
    },
    /// Text that does not name a level or layout.
    #[error("unknown {what}: {text:?}")]
    Parse {
        /// What was being parsed ("RAID level", "RAID10 layout", …).
        what: &'static str,
        /// The text given.
        text: String,
    },
    /// A geometry with no members.
    #[error("an array needs at least one member")]
    NoMembers,
    /// More members than supported.
    #[error("{count} members is more than the supported {max}")]
    TooManyMembers {
        /// Members asked for.
        count: u64,
        /// The limit ([`MAX_MEMBERS`](crate::geometry::MAX_MEMBERS)).
        max: usize,
    },
    /// Too few members for the level.
    #[error("{level} needs at least {min} members, got {count}")]
    TooFewMembers {
        /// The level.
        level: Level,
        /// Members given.
        count: usize,
        /// The minimum.
        min: usize,
    },
    /// The layout does not belong to the level.
    #[error("layout {layout} is not valid for {level}")]
    LayoutMismatch {
        /// The level.
        level: Level,
        /// The layout given.
        layout: String,
    },
    /// RAID10 copies that the members cannot hold.
    #[error("RAID10 layout {layout} needs near and far ≥ 1 and at most {members} copies")]
    InvalidRaid10 {
        /// The layout given.
        layout: String,
        /// Members in the array.
        members: usize,
    },
    /// RAID10 with near copies and offset copies on a member count that is
    /// not a multiple of the near copies: md's placement overlaps itself.
    #[error(
        "RAID10 layout {layout} on {members} members: near copies wrapping into the offset copies overlap in md's placement; the member count must be a multiple of the near copies"
    )]
    Raid10OffsetOverlap {
        /// The layout given.
        layout: String,
        /// Members in the array.
        members: usize,
    },
    /// A chunk size that is zero, not a multiple of 512 or above 1 GiB.
    #[error(
        "invalid chunk size {chunk_bytes} bytes: it must be a non-zero multiple of 512, at most 1 GiB"
    )]
    InvalidChunk {
        /// The chunk size given.
        chunk_bytes: u64,
    },
    /// Delayed parity on a level without rotating parity, or out of range.
    #[error(
        "invalid delayed parity for {level}: {rows_per_group} rows per group (1..=32), first group {first_group_rows} rows (1..=D); RAID5/6 only"
    )]
    InvalidDelayedParity {
        /// The level.
        level: Level,
        /// D.
        rows_per_group: u32,
        /// F.
        first_group_rows: u32,
    },
    /// One image fills two slots.
    #[error("image {image} is given for both slot {first_slot} and slot {second_slot}")]
    DuplicateImage {
        /// The image index.
        image: usize,
        /// First slot naming it.
        first_slot: usize,
        /// Second slot naming it.
        second_slot: usize,
    },
    /// A slot names an image that was not supplied.
    #[error("slot {slot} names image {image}, but only {images} images were given")]
    ImageOutOfRange {
        /// The slot.
        slot: usize,
        /// The image index named.
        image: usize,
        /// Images given.
        images: usize,
    },
    /// A slot's data offset plus size overflows.
    #[error("slot {slot}: data offset {data_offset:#x} + size {size:#x} overflows")]
    SlotRange {
        /// The slot.
        slot: usize,
        /// Its data offset.
        data_offset: u64,
        /// Its size.
        size: u64,
    },
    /// A member image ends before its data offset.
    #[error(
        "slot {slot} (image {image}) is {len:#x} bytes long, shorter than its data offset {data_offset:#x}"
    )]
    MemberTooSmall {
        /// The slot.
        slot: usize,
        /// The image.
        image: usize,
        /// The image length.
        len: u64,
        /// The data offset.
        data_offset: u64,
    },
    /// The usable size of a missing slot cannot be guessed (RAID0/linear
    /// members differ in size) or no slot has a known size.
    #[error("the size of slot {slot} is unknown: give it explicitly")]
    UnknownSize {
        /// The slot.
        slot: usize,
    },
    /// An array size override larger than the members can hold.
    #[error("array size {requested:#x} is larger than the {capacity:#x} bytes the members hold")]
    ArraySizeTooLarge {
        /// The size asked for.
        requested: u64,
        /// What the geometry computes.
        capacity: u64,
    },
    /// RAID metadata (an md superblock, a DDF header or record) was found
    /// but cannot be used: an absurd disk count, a zero chunk, a member too
    /// small for the data it describes, …
    #[error("{name}: {what} at offset {offset:#x}: {reason}")]
    Metadata {
        /// Name of the member holding the metadata.
        name: String,
        /// Byte offset of the structure on that member.
        offset: u64,
        /// Which structure ("md 1.2 superblock", "DDF anchor header", …).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A scrub of a level without redundancy (RAID0, linear).
    #[error("{level} has no redundancy to check")]
    NoRedundancy {
        /// The level.
        level: Level,
    },
    /// A recipe file that cannot be used: bad JSON (the reason gives the
    /// line and column), an unsupported version, absurd values, or members
    /// that do not match it.
    #[error("recipe {path}: {reason}")]
    Recipe {
        /// The recipe file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Assembly from metadata refused: the members do not form one usable
    /// array (see [`AssembleError`](crate::assemble::AssembleError)).
    #[error(transparent)]
    Assemble(#[from] crate::assemble::AssembleError),
}
