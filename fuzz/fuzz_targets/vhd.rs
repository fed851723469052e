//! Fuzzes the VHD reader (footer at the end or at 0, dynamic header, BAT,
//! sector bitmaps, parent locators) through `open_source` on an in-memory
//! file: the input is the whole file, with a `conectix` cookie written at
//! the footer position so most inputs get past detection.
//!
//! Invariants beyond "no panic": the virtual size is at most the reader's
//! limit, the extent map is contiguous and covers the range asked, and
//! unreadable ranges never read as data.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use platter_core::{ExtentKind, MemSource, SharedSource};
use platter_vdisk::{VdiskOptions, vhd};

fuzz_target!(|data: &[u8]| {
    let mut file = data.to_vec();
    let n = file.len();
    if n >= 512 {
        file[n - 512..n - 504].copy_from_slice(b"conectix");
    }
    if n >= 8 && data[0] & 1 == 0 {
        file[..8].copy_from_slice(b"conectix");
    }
    let base: SharedSource = Arc::new(MemSource::new("fuzz.vhd", file));
    let path = Path::new("/nonexistent-platter-fuzz/fuzz.vhd");
    let Ok(disk) = vhd::open_source(base, path, &VdiskOptions::default()) else {
        return;
    };
    let len = disk.source.len();
    assert!(len <= vhd::MAX_VIRTUAL_SIZE);
    assert!(disk.info.allocated_bytes.unwrap_or(0) <= len);
    for start in [0, len.saturating_sub(4 << 20)] {
        let span = (4u64 << 20).min(len - start);
        let map = disk.source.extents(start, span).expect("in-memory extents");
        let mut pos = start;
        for e in &map {
            assert_eq!(e.offset, pos, "extents must be contiguous");
            assert!(e.len > 0);
            pos = e.end();
        }
        assert_eq!(pos, start + span, "extents must cover the range");
        for e in map.iter().take(16) {
            let mut buf = vec![0u8; e.len.min(256 << 10) as usize];
            let r = disk.source.read_exact_at(&mut buf, e.offset);
            if e.kind == ExtentKind::Unreadable {
                assert!(r.is_err(), "unreadable range read as data");
            }
        }
    }
});
