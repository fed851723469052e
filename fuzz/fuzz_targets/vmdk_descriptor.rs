//! Fuzzes the VMDK text-descriptor parser.
//!
//! Invariants beyond "no panic": the extent count and every extent size
//! respect the parser's limits, extent file names never contain the quote
//! that ends them, and a descriptor that parses once parses the same way
//! again (the parser is a pure function).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use platter_vdisk::vmdk::parse_descriptor;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.vmdk");
    let Ok(d) = parse_descriptor(data, path, 0) else {
        return;
    };
    assert!(d.extents.len() <= 65_536);
    for e in &d.extents {
        assert!(e.sectors <= 1 << 40);
        assert!(!e.file.contains('"'));
    }
    assert!(d.total_sectors() <= (1u64 << 40).saturating_mul(65_536));
    assert_eq!(parse_descriptor(data, path, 0).unwrap(), d);
});
