//! Fuzzes the VHDX reader: headers, region tables, metadata items, BAT
//! with sector bitmap entries, and log replay. The input is scattered over
//! a 3 MiB in-memory file: its first 4 KiB become both headers, the next
//! 64 KiB both region tables (signatures set and CRC-32C fixed so parsing
//! goes deeper), and the rest is copied at 1 MiB (log, metadata) and at
//! 2 MiB (BAT, payload).
//!
//! Invariants beyond "no panic": the virtual size is at most 64 TiB, the
//! extent map is contiguous and covers the range asked, and unreadable
//! ranges never read as data.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use platter_core::{ExtentKind, MemSource, SharedSource};
use platter_vdisk::{VdiskOptions, vhdx};

const MIB: usize = 1 << 20;

fn fix_crc(b: &mut [u8]) {
    b[4..8].fill(0);
    let c = crc32c::crc32c(b);
    b[4..8].copy_from_slice(&c.to_le_bytes());
}

fuzz_target!(|data: &[u8]| {
    let mut file = vec![0u8; 3 * MIB];
    file[..8].copy_from_slice(b"vhdxfile");
    let (head, rest) = data.split_at(data.len().min(4096));
    let (regions, rest) = rest.split_at(rest.len().min(65536));
    for at in [0x10000usize, 0x20000] {
        file[at..at + head.len()].copy_from_slice(head);
        file[at..at + 4].copy_from_slice(b"head");
        fix_crc(&mut file[at..at + 4096]);
    }
    for at in [0x30000usize, 0x40000] {
        file[at..at + regions.len()].copy_from_slice(regions);
        file[at..at + 4].copy_from_slice(b"regi");
        fix_crc(&mut file[at..at + 65536]);
    }
    let rest = &rest[..rest.len().min(MIB)];
    file[MIB..MIB + rest.len()].copy_from_slice(rest);
    file[2 * MIB..2 * MIB + rest.len()].copy_from_slice(rest);
    let base: SharedSource = Arc::new(MemSource::new("fuzz.vhdx", file));
    let path = Path::new("/nonexistent-platter-fuzz/fuzz.vhdx");
    let Ok(disk) = vhdx::open_source(base, path, &VdiskOptions::default()) else {
        return;
    };
    let len = disk.source.len();
    assert!(len <= 64 << 40);
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
