//! The RAID inference accuracy harness: realistic content (real file
//! systems made by mkfs, raw data), striped by an independent striper into
//! member images of random geometry, run through
//! `platter_raid_infer::infer`, and scored by whether the top candidate
//! assembles the original bytes. See docs/inference-accuracy.md.

pub mod cases;
pub mod content;
pub mod md_check;
pub mod rng;
pub mod score;
pub mod striper;
pub mod table;
