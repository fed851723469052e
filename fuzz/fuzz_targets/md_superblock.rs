//! Fuzzes the md superblock parsers (0.90 in both byte orders, 1.0, 1.1,
//! 1.2). The first input byte chooses the location (bits 0-1), whether the
//! checksum is recomputed so mutated fields get past it (bit 2), the 0.90
//! byte order (bit 3) and the member size (bits 4-7); the rest is the
//! superblock, with the md magic forced in front.
//!
//! Invariants checked beyond "no panic": the superblock is found where it
//! was put, lists stay bounded, a recomputed checksum is reported valid,
//! and a superblock without error-level anomalies has a sane geometry
//! that fits the member.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_core::{MemSource, Source};
use platter_raid::metadata::{MD_MAGIC, MdSuperblock, probe_md};

/// Recomputes a 1.x `sb_csum` (md.c `calc_sb_1_csum`).
fn fix_v1(sb: &mut [u8]) {
    let max_dev = u32::from_le_bytes(sb[220..224].try_into().unwrap()).min(1920) as usize;
    let len = 256 + 2 * max_dev;
    sb[216..220].fill(0);
    let mut sum: u64 = 0;
    let mut i = 0;
    while i + 4 <= len {
        sum += u64::from(u32::from_le_bytes(sb[i..i + 4].try_into().unwrap()));
        i += 4;
    }
    if len - i == 2 {
        sum += u64::from(u16::from_le_bytes([sb[i], sb[i + 1]]));
    }
    let c = (sum as u32).wrapping_add((sum >> 32) as u32);
    sb[216..220].copy_from_slice(&c.to_le_bytes());
}

/// Recomputes a 0.90 `sb_csum` (md.c `calc_sb_csum`) in the given order.
fn fix_v090(sb: &mut [u8], big: bool) {
    sb[152..156].fill(0);
    let sum: u64 = sb
        .chunks_exact(4)
        .map(|w| {
            let w: [u8; 4] = w.try_into().unwrap();
            u64::from(if big {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            })
        })
        .sum();
    let c = (sum as u32).wrapping_add((sum >> 32) as u32);
    let b = if big {
        c.to_be_bytes()
    } else {
        c.to_le_bytes()
    };
    sb[152..156].copy_from_slice(&b);
}

fn check(sb: &MdSuperblock, len: u64, offset: u64, fixed: bool) {
    assert_eq!(sb.superblock_offset_bytes, offset);
    assert!(sb.dev_roles.len() <= 1920);
    assert!(sb.anomalies.len() <= 40 * 16 + 2);
    if fixed {
        assert!(sb.checksum.valid, "{:?}", sb.checksum);
    }
    if sb.is_usable() {
        let max = if sb.version == "0.90" { 27 } else { 1920 };
        assert!((1..=max).contains(&sb.raid_disks));
        if matches!(sb.level, 0 | 4 | 5 | 6 | 10) {
            assert!(sb.chunk_bytes > 0 && sb.chunk_bytes % 512 == 0);
            assert!(sb.chunk_bytes <= 1 << 30);
        }
        let end = sb.data_offset_bytes.checked_add(sb.used_bytes()).unwrap();
        assert!(end <= len);
        if let Some(size) = sb.array_size_bytes() {
            assert!(size <= sb.used_bytes().saturating_mul(u64::from(sb.raid_disks)));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let len: u64 = (1 << 20) + u64::from(mode >> 4) * 1536;
    let big = mode & 8 != 0;
    let mut sb = vec![0u8; 4096];
    let n = rest.len().min(4096);
    sb[..n].copy_from_slice(&rest[..n]);
    let (offset, v090) = match mode & 3 {
        0 => (4096, false),
        1 => (0, false),
        2 => (((len / 512 - 16) & !7) * 512, false),
        _ => ((len & !0xffff) - 0x10000, true),
    };
    let magic = if v090 && big {
        MD_MAGIC.to_be_bytes()
    } else {
        MD_MAGIC.to_le_bytes()
    };
    sb[..4].copy_from_slice(&magic);
    let fixed = mode & 4 != 0;
    if fixed {
        if v090 {
            fix_v090(&mut sb, big);
        } else {
            fix_v1(&mut sb);
        }
    }
    let mut img = vec![0u8; len as usize];
    img[offset as usize..offset as usize + 4096].copy_from_slice(&sb);
    let member = MemSource::new("fuzz.img", img);
    let found = probe_md(&member).expect("in-memory reads cannot fail");
    let sb = found.expect("the magic is there");
    check(&sb, member.len(), offset, fixed);
});
