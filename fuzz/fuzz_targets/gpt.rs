//! Fuzzes the GPT parser: the disk is a protective MBR followed by the
//! fuzz input from LBA 1 on (header, entry array, partitions, and a backup
//! GPT at its end if the fuzzer builds one). The first input byte chooses a
//! 512- or 4096-byte sector size (bit 0) and whether the CRCs of the headers
//! at LBA 1 and at the last LBA are recomputed (bit 1), so mutated header
//! fields and entries get past the CRC checks and into validation.
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

/// A protective MBR sector of `ss` bytes for a disk of `total_sectors`.
fn protective_mbr(ss: usize, total_sectors: u64) -> Vec<u8> {
    let mut s = vec![0u8; ss];
    let e = 446;
    s[e + 4] = 0xEE;
    s[e + 8..e + 12].copy_from_slice(&1u32.to_le_bytes());
    let len = u32::try_from(total_sectors.saturating_sub(1)).unwrap_or(u32::MAX);
    s[e + 12..e + 16].copy_from_slice(&len.to_le_bytes());
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

/// CRC-32/ISO-HDLC (the GPT CRC), bit by bit: the fuzz workspace keeps its
/// dependencies minimal, and inputs are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Recomputes the entry-array and header CRC32s of the header at `lba`
/// (the entry array only when it lies inside the image and is at most 1 MiB).
fn fix_crcs(img: &mut [u8], ss: usize, lba: usize) {
    let h = lba * ss;
    if lba == 0 || h + 92 > img.len() {
        return;
    }
    let u32_at = |img: &[u8], o: usize| u32::from_le_bytes(img[o..o + 4].try_into().unwrap());
    let entries_lba = u64::from_le_bytes(img[h + 72..h + 80].try_into().unwrap());
    let bytes = u64::from(u32_at(img, h + 80)) * u64::from(u32_at(img, h + 84));
    if let Some(start) = entries_lba.checked_mul(ss as u64) {
        if bytes <= 1 << 20 && start.saturating_add(bytes) <= img.len() as u64 {
            let crc = crc32(&img[start as usize..(start + bytes) as usize]);
            img[h + 88..h + 92].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let size = (u32_at(img, h + 12) as usize)
        .clamp(92, ss)
        .min(img.len() - h);
    img[h + 16..h + 20].fill(0);
    let crc = crc32(&img[h..h + size]);
    img[h + 16..h + 20].copy_from_slice(&crc.to_le_bytes());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let ss = if mode & 1 == 1 { 4096 } else { 512 };
    let total = (ss + rest.len()) as u64 / ss as u64;
    let mut img = protective_mbr(ss, total);
    img.extend_from_slice(rest);
    if mode & 2 == 2 {
        let sectors = img.len() / ss;
        fix_crcs(&mut img, ss, 1);
        fix_crcs(&mut img, ss, sectors.saturating_sub(1));
    }
    let disk: SharedSource = Arc::new(MemSource::new("fuzz.img", img));
    let table = read_partitions(&*disk).expect("in-memory reads cannot fail");
    common::check_table(&disk, &table);
});
