//! RAID engine of platter (in progress): geometry of every Linux md and DDF
//! layout, the array as a [`platter_core::Source`] with degraded reads and
//! parity repair of member bad sectors, and md/DDF metadata parsing.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod array;
pub mod assemble;
pub mod error;
pub mod geometry;
pub mod gf;
pub mod map;
pub mod metadata;
pub mod recipe;
pub mod scrub;

pub use error::{Error, Result};
