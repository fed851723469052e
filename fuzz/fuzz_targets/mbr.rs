//! Fuzzes the MBR / EBR-chain parser: the input is the whole disk.
//!
//! Invariants checked beyond "no panic": the partition count is bounded,
//! every partition either fits the disk (and opens as a window of its
//! length) or is flagged `partition_past_end`, and the anomaly list is
//! bounded.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use platter_core::{MemSource, SharedSource};
use platter_parts::read_partitions;

mod common;

fuzz_target!(|data: &[u8]| {
    let disk: SharedSource = Arc::new(MemSource::new("fuzz.img", data.to_vec()));
    let table = read_partitions(&*disk).expect("in-memory reads cannot fail");
    common::check_table(&disk, &table);
});
