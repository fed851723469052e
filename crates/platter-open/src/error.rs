//! The one error type of `platter-open`.

use std::path::PathBuf;

/// Result alias used throughout `platter-open`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while opening an image or checking an output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening or reading the underlying files failed (the core error names
    /// the path and the byte offset).
    #[error(transparent)]
    Core(#[from] platter_core::Error),
    /// A format decoder plugged into the registry failed on a file that
    /// carries its signature. The inner error names the offset.
    #[error("cannot decode {path} as {format}")]
    Decode {
        /// The file that was being decoded.
        path: PathBuf,
        /// Short name of the format (`"vhdx"`, `"e01"`, …).
        format: &'static str,
        /// The decoder's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An output path designates the image being read, one of its segments,
    /// or a block device overlapping it. Writing there would destroy evidence.
    #[error("refusing to write to {output}: it is {relation} {segment}")]
    OutputIsSource {
        /// The output that was refused.
        output: PathBuf,
        /// The source file or device it collides with.
        segment: PathBuf,
        /// How they collide: `"the same file as the source"`, …
        relation: &'static str,
    },
    /// A ddrescue mapfile marks as finished (rescued) an area that lies past
    /// the end of the image: the image is truncated, or the mapfile belongs
    /// to another rescue.
    #[error(
        "mapfile {mapfile} marks {pos:#x}+{size:#x} as rescued, past the end of the image \
         {image} ({image_len} bytes): the image is truncated or the mapfile belongs to another rescue"
    )]
    MapfileBeyondImage {
        /// The mapfile.
        mapfile: PathBuf,
        /// The image (its source name, usually the path).
        image: PathBuf,
        /// Start of the finished block.
        pos: u64,
        /// Size of the finished block.
        size: u64,
        /// Length of the image in bytes.
        image_len: u64,
    },
    /// A RAID recipe that cannot be read, or a RAID error while opening an
    /// array (the message names the recipe or member).
    #[error(transparent)]
    Raid(#[from] platter_raid::Error),
    /// A member of a RAID array (a recipe's, or one given on the command
    /// line) could not be opened.
    #[error("{array}: member {member}")]
    ArrayMember {
        /// The array (`"recipe r.json"`, …).
        array: String,
        /// The member's index (its slot, for a recipe).
        member: usize,
        /// The member's path.
        path: PathBuf,
        /// Why it could not be opened.
        #[source]
        source: Box<Error>,
    },
    /// The members do not fit the array's geometry (too small for the data
    /// offset, a size override too large, …).
    #[error("{array}")]
    ArrayAssembly {
        /// The array (`"recipe r.json"`, …).
        array: String,
        /// The engine's error.
        #[source]
        source: platter_raid::Error,
    },
    /// Inspecting an output path failed.
    #[error("cannot inspect output {path}: {source}")]
    OutputStat {
        /// The output path.
        path: PathBuf,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },
}
