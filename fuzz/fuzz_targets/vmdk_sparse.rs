//! Fuzzes the sparse VMDK readers (hosted `KDMV` with its grain
//! directories, streamOptimized footer and marker recovery, COWD) through
//! `open_source` on an in-memory file: the input is the whole file.
//!
//! Invariants beyond "no panic": the virtual size is bounded by the header
//! limit, the extent map of the disk is sorted, contiguous and covers it,
//! reads never return bytes over unreadable ranges, and no more anomalies
//! than the report bound are kept.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use platter_core::{ExtentKind, MemSource, SharedSource};
use platter_vdisk::{VdiskOptions, vmdk};

fuzz_target!(|data: &[u8]| {
    let mut file = data.to_vec();
    // Steer most inputs to a sparse magic; text descriptors have their own
    // target (and would look for extent files on disk).
    if file.len() >= 4 && !file.starts_with(b"KDMV") && !file.starts_with(b"COWD") {
        let magic: &[u8; 4] = if file[0] & 1 == 0 { b"KDMV" } else { b"COWD" };
        file[..4].copy_from_slice(magic);
    }
    let base: SharedSource = Arc::new(MemSource::new("fuzz.vmdk", file));
    let path = Path::new("/nonexistent-platter-fuzz/fuzz.vmdk");
    let Ok(disk) = vmdk::open_source(base, path, &VdiskOptions::default()) else {
        return;
    };
    let len = disk.source.len();
    assert!(len <= (1u64 << 40) * 512);
    assert!(disk.info.anomalies.len() <= 1001 * 2);
    // Look at the first and last 4 MiB only: the disk may be huge.
    for start in [0, len.saturating_sub(4 << 20)] {
        let span = (4u64 << 20).min(len - start);
        let map = disk
            .source
            .extents(start, span)
            .expect("in-memory extents cannot fail");
        let mut pos = start;
        for e in &map {
            assert_eq!(e.offset, pos, "extents must be contiguous");
            assert!(e.len > 0);
            pos = e.end();
        }
        assert_eq!(pos, start + span, "extents must cover the range");
        for e in map.iter().take(16) {
            let n = e.len.min(256 << 10) as usize;
            let mut buf = vec![0u8; n];
            let r = disk.source.read_exact_at(&mut buf, e.offset);
            if e.kind == ExtentKind::Unreadable {
                assert!(r.is_err(), "unreadable range read as data");
            }
        }
    }
});
