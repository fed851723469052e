//! Damaged, hostile and odd tables: each must give a clear anomaly and
//! whatever can still be recovered, never a panic, hang or huge allocation.

mod common;

use std::sync::Arc;

use common::*;
use platter_core::{MemSource, SharedSource};
use platter_parts::{Error, GptHeaderUsed, PartitionTable, Scheme, codes, read_partitions};

fn parse(name: &str, bytes: Vec<u8>) -> (SharedSource, PartitionTable) {
    let disk = mem(name, bytes);
    let t = read_partitions(&*disk).expect("read_partitions");
    check_invariants(&disk, &t);
    (disk, t)
}

fn codes_of(t: &PartitionTable) -> Vec<&'static str> {
    t.anomalies.iter().map(|a| a.code).collect()
}

fn find<'a>(t: &'a PartitionTable, code: &str) -> &'a platter_parts::Anomaly {
    t.anomalies
        .iter()
        .find(|a| a.code == code)
        .unwrap_or_else(|| panic!("no {code} anomaly in {:#?}", t.anomalies))
}

/// What the undamaged fixture lists, for comparison.
fn clean_gpt() -> PartitionTable {
    parse("clean", fixture_bytes("gpt-ext4-fat.img")).1
}

const LAST_512: fn(&[u8]) -> usize = |img| img.len() / 512 - 1;

#[test]
fn damaged_primary_fixture_uses_the_backup_and_says_so() {
    let (_, t) = parse("dmg", fixture_bytes("gpt-damaged-primary.img"));
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    assert_eq!(
        t.disk_guid.as_deref(),
        Some("0D15EA5E-0000-4000-8000-00000000CAFE")
    );
    let names: Vec<_> = t
        .partitions
        .iter()
        .map(|p| p.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let crc = find(&t, codes::GPT_HEADER_CRC);
    assert_eq!(crc.offset, 0x200);
    assert!(
        crc.message
            .starts_with("GPT primary header at 0x200: CRC32 mismatch (stored 0x"),
        "{}",
        crc.message
    );
    let fallback = find(&t, codes::GPT_PRIMARY_DAMAGED_USING_BACKUP);
    assert!(
        fallback.message.contains("LBA 4095 (0x1ffe00)"),
        "{}",
        fallback.message
    );
}

#[test]
fn damaged_entry_array_crc_falls_back_to_backup() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[1024 + 56] ^= 0x20; // first letter of partition 1's name, primary array
    let (_, t) = parse("x", img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    assert!(
        find(&t, codes::GPT_ENTRY_ARRAY_CRC)
            .message
            .contains("at 0x400")
    );
    assert!(codes_of(&t).contains(&codes::GPT_PRIMARY_DAMAGED_USING_BACKUP));
    assert_eq!(t.partitions, clean_gpt().partitions);
}

#[test]
fn wiped_primary_signature_falls_back_to_backup() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[512..1024].fill(0);
    let (_, t) = parse("x", img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    assert!(
        find(&t, codes::GPT_PRIMARY_DAMAGED_USING_BACKUP)
            .message
            .contains("no \"EFI PART\" signature")
    );
    assert_eq!(t.partitions, clean_gpt().partitions);
}

#[test]
fn damaged_backup_with_good_primary_is_reported() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    let last = LAST_512(&img);
    img[last * 512 + 60] ^= 0xFF;
    let (_, t) = parse("x", img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    assert_eq!(find(&t, codes::GPT_HEADER_CRC).offset, last as u64 * 512);
    assert!(codes_of(&t).contains(&codes::GPT_BACKUP_DAMAGED));
    assert_eq!(t.partitions, clean_gpt().partitions);
}

#[test]
fn both_headers_damaged_gives_gpt_without_partitions() {
    let mut img = fixture_bytes("gpt-damaged-primary.img");
    let last = LAST_512(&img);
    img[last * 512 + 0x40] ^= 0x01;
    let (_, t) = parse("x", img);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(t.partitions.is_empty());
    assert_eq!(t.gpt_header, None);
    let c = codes_of(&t);
    assert_eq!(
        c.iter().filter(|&&c| c == codes::GPT_HEADER_CRC).count(),
        2,
        "{c:?}"
    );
    assert!(c.contains(&codes::GPT_UNUSABLE));
}

#[test]
fn header_claiming_2_pow_32_entries_is_refused_without_allocating() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_gpt_crcs(&mut img, 512, 1);
    let (_, t) = parse("x", img.clone());
    let a = find(&t, codes::GPT_ENTRY_ARRAY_TOO_LARGE);
    assert_eq!(a.offset, 0x200);
    assert!(a.message.contains("0x200"), "{}", a.message);
    assert!(
        a.message.contains("4294967295 partition entries"),
        "{}",
        a.message
    );
    // The backup is intact and used.
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    assert_eq!(t.partitions, clean_gpt().partitions);

    // Both headers claim it: no partitions, two anomalies, no allocation.
    let last = LAST_512(&img);
    img[last * 512 + 80..last * 512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_gpt_crcs(&mut img, 512, last);
    let (_, t) = parse("x", img);
    assert!(t.partitions.is_empty());
    assert_eq!(
        codes_of(&t)
            .iter()
            .filter(|&&c| c == codes::GPT_ENTRY_ARRAY_TOO_LARGE)
            .count(),
        2
    );
}

#[test]
fn ebr_pointing_to_itself_terminates() {
    let mut img = fixture_bytes("mbr-logical.img");
    // The second EBR is at LBA 3099 = extended start 2560 + 539; make its
    // link point at itself (relative 539) instead of the third EBR.
    let link = 3099 * 512 + 446 + 16 + 8;
    img[link..link + 4].copy_from_slice(&539u32.to_le_bytes());
    let (_, t) = parse("x", img);
    let idx: Vec<u32> = t.partitions.iter().map(|p| p.index).collect();
    assert_eq!(idx, [1, 2, 5, 6]);
    let a = find(&t, codes::EBR_LOOP);
    assert_eq!(a.offset, link as u64 - 8);
    assert!(a.message.contains("LBA 3099"), "{}", a.message);
}

#[test]
fn ebr_pointing_back_to_the_first_terminates() {
    let mut img = fixture_bytes("mbr-logical.img");
    // The third (last) EBR, at LBA 3599, gets a link back to the first EBR:
    // relative 0 from the start of the extended partition.
    let link = 3599 * 512 + 446 + 16;
    img[link + 4] = 0x05;
    img[link + 8..link + 12].copy_from_slice(&0u32.to_le_bytes());
    img[link + 12..link + 16].copy_from_slice(&10u32.to_le_bytes());
    let (_, t) = parse("x", img);
    let idx: Vec<u32> = t.partitions.iter().map(|p| p.index).collect();
    assert_eq!(idx, [1, 2, 5, 6, 7]);
    let a = find(&t, codes::EBR_LOOP);
    assert_eq!(a.offset, link as u64);
    assert!(a.message.contains("LBA 2560"), "{}", a.message);
}

#[test]
fn ebr_link_outside_extended_partition_stops_the_chain() {
    let mut img = fixture_bytes("mbr-logical.img");
    let link = 2560 * 512 + 446 + 16 + 8;
    img[link..link + 4].copy_from_slice(&5000u32.to_le_bytes());
    let (_, t) = parse("x", img);
    let idx: Vec<u32> = t.partitions.iter().map(|p| p.index).collect();
    assert_eq!(idx, [1, 2, 5]);
    assert!(
        find(&t, codes::EBR_OUTSIDE)
            .message
            .contains("outside the extended partition")
    );
}

/// Builds an MBR disk whose extended partition holds `n` chained EBRs,
/// each with a one-sector logical partition right after it.
fn long_chain(n: u32) -> Vec<u8> {
    let ext_start = 64u32;
    let ext_len = 2 * n + 2;
    let mut img = vec![0u8; ((ext_start + ext_len + 8) * 512) as usize];
    let entry = |img: &mut Vec<u8>, at: usize, kind: u8, lba: u32, len: u32| {
        img[at + 4] = kind;
        img[at + 8..at + 12].copy_from_slice(&lba.to_le_bytes());
        img[at + 12..at + 16].copy_from_slice(&len.to_le_bytes());
    };
    entry(&mut img, 446, 0x05, ext_start, ext_len);
    img[510..512].copy_from_slice(&[0x55, 0xAA]);
    for i in 0..n {
        let ebr = ((ext_start + 2 * i) * 512) as usize;
        entry(&mut img, ebr + 446, 0x83, 1, 1);
        if i + 1 < n {
            entry(&mut img, ebr + 462, 0x05, 2 * (i + 1), 2);
        }
        img[ebr + 510..ebr + 512].copy_from_slice(&[0x55, 0xAA]);
    }
    img
}

#[test]
fn long_ebr_chain_is_capped() {
    let (_, t) = parse("x", long_chain(10));
    assert_eq!(t.partitions.len(), 11);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    assert_eq!(t.partitions.last().unwrap().index, 14);

    let (_, t) = parse("x", long_chain(300));
    let logicals = t.partitions.iter().filter(|p| p.logical).count();
    assert_eq!(logicals, platter_parts::MAX_LOGICAL_PARTITIONS as usize);
    assert!(codes_of(&t).contains(&codes::EBR_CHAIN_TOO_LONG));
}

#[test]
fn truncated_disks_do_not_panic() {
    for name in [
        "gpt-ext4-fat.img",
        "mbr-logical.img",
        "gpt-damaged-primary.img",
    ] {
        let full = fixture_bytes(name);
        for len in [
            0usize,
            1,
            300,
            511,
            512,
            513,
            600,
            1024,
            17 * 1024,
            1 << 20,
            1_331_200,
        ] {
            let (_, t) = parse(name, full[..len.min(full.len())].to_vec());
            if len < 512 {
                assert_eq!(t.scheme, Scheme::None);
                assert_eq!(codes_of(&t), [codes::DISK_TOO_SMALL]);
            }
        }
    }
    // 600 bytes of a GPT disk: the protective MBR is there, the GPT is not.
    let (_, t) = parse("x", fixture_bytes("gpt-ext4-fat.img")[..600].to_vec());
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(t.partitions.is_empty());
}

#[test]
fn truncated_image_keeps_partitions_past_the_end_and_flags_them() {
    let img = fixture_bytes("gpt-ext4-fat.img");
    let (disk, t) = parse("short.img", img[..5 << 19].to_vec());
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    assert_eq!(t.partitions.len(), 2);
    let c = codes_of(&t);
    assert!(c.contains(&codes::GPT_BACKUP_MISSING), "{c:?}");
    assert!(c.contains(&codes::GPT_ALTERNATE_LBA), "{c:?}");
    assert!(
        find(&t, codes::GPT_ALTERNATE_LBA)
            .message
            .contains("truncated")
    );
    let past = find(&t, codes::PARTITION_PAST_END);
    assert!(
        past.message.starts_with("partition 2 (entry at 0x480)"),
        "{}",
        past.message
    );
    assert_eq!(
        codes_of(&t)
            .iter()
            .filter(|&&c| c == codes::PARTITION_PAST_END)
            .count(),
        1
    );
    assert!(t.get(1).unwrap().open(disk.clone()).is_ok());
    match t.get(2).unwrap().open(disk) {
        Err(Error::PartitionOutsideDisk { index: 2, .. }) => {}
        other => panic!("expected PartitionOutsideDisk, got {other:?}"),
    }
}

#[test]
fn unreadable_backup_is_an_anomaly_unreadable_sector0_an_error() {
    let img = fixture_bytes("gpt-ext4-fat.img");
    let len = img.len() as u64;
    let disk = BadRange {
        inner: MemSource::new("bad.img", img.clone()),
        bad: len - 512..len,
    };
    let t = read_partitions(&disk).unwrap();
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    assert_eq!(t.partitions, clean_gpt().partitions);
    let a = find(&t, codes::READ_ERROR);
    assert!(
        a.message.contains("GPT backup header at 0x2ffe00"),
        "{}",
        a.message
    );

    let disk = BadRange {
        inner: MemSource::new("bad.img", img),
        bad: 0..512,
    };
    assert!(matches!(read_partitions(&disk), Err(Error::Source(_))));
}

#[test]
fn blank_disk_has_no_table() {
    let (_, t) = parse("blank", vec![0u8; 1 << 20]);
    assert_eq!(t.scheme, Scheme::None);
    assert!(t.partitions.is_empty() && t.anomalies.is_empty());
    assert!(matches!(t.get(1), Err(Error::NoSuchPartition { index: 1 })));
}

#[test]
fn volume_boot_record_is_not_a_partition_table() {
    // The FAT partition alone, as a "superfloppy": 0x55AA but a boot sector.
    let img = fixture_bytes("gpt-ext4-fat.img");
    let (_, t) = parse("fat", img[4096 * 512..(4096 + 2015) * 512].to_vec());
    assert_eq!(t.scheme, Scheme::None);
    assert_eq!(codes_of(&t), [codes::MBR_SIGNATURE_WITHOUT_TABLE]);
}

#[test]
fn hybrid_mbr_is_noted() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    // Slot 2: a FAT entry mirroring GPT partition 2.
    let e = 446 + 16;
    img[e + 4] = 0x0C;
    img[e + 8..e + 12].copy_from_slice(&4096u32.to_le_bytes());
    img[e + 12..e + 16].copy_from_slice(&2015u32.to_le_bytes());
    let (_, t) = parse("x", img.clone());
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.partitions, clean_gpt().partitions);
    assert!(
        find(&t, codes::MBR_HYBRID)
            .message
            .contains("0x0c at LBA 4096")
    );

    // With both GPT headers wiped, the hybrid MBR's entries are listed.
    img[512..1024].fill(0);
    let last = LAST_512(&img);
    img[last * 512..].fill(0);
    let (_, t) = parse("x", img);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(codes_of(&t).contains(&codes::GPT_UNUSABLE_USING_HYBRID_MBR));
    assert_eq!(t.get(2).unwrap().first_lba, 4096);
}

#[test]
fn mbr_with_ordinary_entries_wins_over_gpt() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[446 + 4] = 0x83; // the protective entry becomes a Linux partition
    let (_, t) = parse("x", img);
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(codes_of(&t).contains(&codes::GPT_IGNORED));
}

#[test]
fn gpt_without_protective_mbr_is_still_read() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[..512].fill(0);
    let (_, t) = parse("x", img);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.mbr_signature, None);
    assert_eq!(codes_of(&t), [codes::GPT_NO_PROTECTIVE_MBR]);
}

#[test]
fn protective_mbr_without_any_gpt() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    img[512..1024].fill(0);
    let last = LAST_512(&img);
    img[last * 512..].fill(0);
    let (_, t) = parse("x", img);
    assert_eq!(t.scheme, Scheme::Gpt);
    assert!(t.partitions.is_empty());
    assert_eq!(codes_of(&t), [codes::GPT_MISSING]);
}

#[test]
fn overlapping_and_out_of_range_gpt_entries_are_listed_and_flagged() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    // Entry 2 starts inside entry 1; entry 3 lies before the usable range.
    let e2 = 1024 + 128;
    img[e2 + 32..e2 + 40].copy_from_slice(&3000u64.to_le_bytes());
    let e3 = 1024 + 256;
    img.copy_within(1024..1024 + 32, e3);
    img[e3 + 16] ^= 0xFF; // its own unique GUID
    img[e3 + 32..e3 + 40].copy_from_slice(&10u64.to_le_bytes());
    img[e3 + 40..e3 + 48].copy_from_slice(&20u64.to_le_bytes());
    let last = LAST_512(&img);
    let backup_entries = (last - 32) * 512;
    let primary_entries = img[1024..1024 + 16384].to_vec();
    img[backup_entries..backup_entries + 16384].copy_from_slice(&primary_entries);
    fix_gpt_crcs(&mut img, 512, 1);
    fix_gpt_crcs(&mut img, 512, last);
    let (_, t) = parse("x", img);
    assert_eq!(t.partitions.len(), 3);
    let o = find(&t, codes::PARTITION_OVERLAP);
    assert!(o.message.contains("partition 2"), "{}", o.message);
    assert!(o.message.contains("partition 1"), "{}", o.message);
    let u = find(&t, codes::GPT_ENTRY_OUTSIDE_USABLE);
    assert_eq!(u.offset, 0x500);
    assert!(!codes_of(&t).contains(&codes::GPT_HEADERS_DISAGREE));
}

#[test]
fn inverted_gpt_entry_is_skipped_with_an_anomaly() {
    let mut img = fixture_bytes("gpt-ext4-fat.img");
    let e1 = 1024;
    img[e1 + 40..e1 + 48].copy_from_slice(&100u64.to_le_bytes());
    fix_gpt_crcs(&mut img, 512, 1);
    let (_, t) = parse("x", img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    assert_eq!(t.partitions.len(), 1);
    assert!(codes_of(&t).contains(&codes::GPT_ENTRY_INVERTED));
    assert!(codes_of(&t).contains(&codes::GPT_HEADERS_DISAGREE));
}

#[test]
fn open_rejects_partitions_past_the_end_and_names_windows() {
    let (disk, t) = parse("disk.img", fixture_bytes("mbr-logical.img"));
    let w = t.get(6).unwrap().open(disk.clone()).unwrap();
    assert_eq!(platter_core::Source::name(&w), "disk.img#p6");
    let small: SharedSource = Arc::new(MemSource::new("small.img", vec![0u8; 4096]));
    let err = t.get(6).unwrap().open(small).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("partition 6 of small.img"), "{msg}");
}

#[test]
fn table_serializes_to_json() {
    let (_, t) = parse("x", fixture_bytes("gpt-damaged-primary.img"));
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["scheme"], "gpt");
    assert_eq!(v["gpt_header"], "backup");
    assert_eq!(v["partitions"][0]["name"], "alpha");
    assert_eq!(v["anomalies"][0]["code"], codes::GPT_HEADER_CRC);
    assert_eq!(v["anomalies"][0]["offset"], 0x200);
}
