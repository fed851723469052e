//! Fuzzes the FAT table-piece and directory anchors of RAID inference
//! (`structures::fat_anchor`, reached through `scan_all`). The first 12
//! input bytes build a FAT12/16/32 boot sector (type, cluster size,
//! reserved sectors, FAT count and size, volume size, serial); the rest is
//! a second member's buffer, at a member offset the last header byte picks.
//!
//! Invariants beyond "no panic": every FAT anchor lies inside the scanned
//! buffer at a 512-byte aligned position, carries the boot sector's space
//! key, and claims an offset inside its structure's region (the first or
//! second FAT for table pieces, the volume for directories); at most two
//! anchors (a piece and its copy reading) per sector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_raid_infer::structures::fat::parse_boot;
use platter_raid_infer::structures::{AnchorKind, scan_all};

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (h, rest) = data.split_at(12);
    let fat32 = h[0] % 3 == 2;
    let mut boot = vec![0u8; 512];
    boot[0..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    boot[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
    boot[0x0D] = 1 << (h[1] % 8);
    boot[0x0E..0x10].copy_from_slice(&u16::from(h[2].max(1)).to_le_bytes());
    boot[0x10] = 1 + h[3] % 2;
    boot[0x15] = 0xF8;
    let fat_sectors = u32::from(u16::from_le_bytes([h[4], h[5]]).max(1));
    let total = u32::from_le_bytes([h[6], h[7], h[8], 0]) << (h[0] % 4);
    boot[0x20..0x24].copy_from_slice(&total.to_le_bytes());
    let (sig, label) = if fat32 {
        boot[0x24..0x28].copy_from_slice(&fat_sectors.to_le_bytes());
        boot[0x2C..0x30].copy_from_slice(&2u32.to_le_bytes());
        (0x42, 0x47)
    } else {
        boot[0x11..0x13].copy_from_slice(&512u16.to_le_bytes());
        boot[0x16..0x18].copy_from_slice(&(fat_sectors as u16).to_le_bytes());
        (0x26, 0x2B)
    };
    boot[sig] = 0x29;
    boot[sig + 1..sig + 5].copy_from_slice(&[h[9], h[10], 0x5A, 0xA5]);
    boot[label..label + 11].copy_from_slice(b"FUZZ       ");
    boot[510] = 0x55;
    boot[511] = 0xAA;
    let Some(b) = parse_boot(&boot) else {
        return;
    };
    let member_offset = u64::from(h[11]) * 512 * 64;
    let bufs = [(0usize, 0u64, boot.as_slice()), (1, member_offset, rest)];
    let mut out = Vec::new();
    scan_all(&bufs, &mut out);
    let Some(key) = out
        .iter()
        .find(|a| a.kind == AnchorKind::FatBoot)
        .map(|a| a.fs_key)
    else {
        return;
    };
    let bps = b.bytes_per_sector;
    let fat_start = b.reserved_sectors * bps;
    let fat_bytes = b.fat_sectors * bps;
    let volume = b.total_sectors * bps;
    let fat = |a: &&platter_raid_infer::structures::Anchor| {
        matches!(
            a.kind,
            AnchorKind::FatTable | AnchorKind::FatTableCopy | AnchorKind::FatDirectory
        )
    };
    let mut per_sector = std::collections::HashMap::new();
    for a in out.iter().filter(fat) {
        assert_eq!(a.member, 1, "{a:?}");
        assert_eq!(a.fs_key, key, "{a:?}");
        let pos = a.member_offset - member_offset;
        assert_eq!(pos % 512, 0);
        assert!(pos + 512 <= rest.len() as u64, "{a:?}");
        let copy = u64::from(a.kind == AnchorKind::FatTableCopy);
        match a.kind {
            AnchorKind::FatDirectory => assert!(a.fs_offset < volume, "{a:?} {b:?}"),
            _ => {
                let lo = fat_start + copy * fat_bytes;
                assert!((lo..lo + fat_bytes).contains(&a.fs_offset), "{a:?} {b:?}");
                assert_eq!((a.fs_offset - fat_start) % 512, 0);
                if copy == 1 {
                    assert_eq!(b.fats, 2);
                }
            }
        }
        *per_sector.entry(a.member_offset).or_insert(0) += 1;
    }
    assert!(per_sector.values().all(|&n| n <= 2), "{per_sector:?}");
});
