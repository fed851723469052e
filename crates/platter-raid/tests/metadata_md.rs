//! md superblock parsing against superblocks built byte by byte from
//! md_p.h by the independent encoder in `metadata_util`.

mod metadata_util;

use metadata_util::*;
use platter_raid::Error;
use platter_raid::metadata::{MdRole, Severity, codes, probe_md, probe_md_all};

const MIB: u64 = 1 << 20;

fn member_with(len: u64, off: u64, sb: Vec<u8>) -> Sparse {
    Sparse::new("disk.img", len).with(off, sb)
}

fn codes_of(sb: &platter_raid::metadata::MdSuperblock) -> Vec<&'static str> {
    sb.anomalies.iter().map(|a| a.code).collect()
}

#[test]
fn v12_raid5_every_field() {
    let mut s = Sb1::raid5(2);
    s.roles = vec![0, 1, 2, 0xffff, 3];
    s.max_dev = 5;
    s.dev_number = 2;
    let m = member_with(16 * MIB, 4096, s.encode());
    let sb = probe_md(&m).unwrap().expect("found");
    assert_eq!(sb.version, "1.2");
    assert_eq!(sb.minor_version, 2);
    assert_eq!(sb.superblock_offset_bytes, 4096);
    assert_eq!(sb.super_offset_sectors, 8);
    assert_eq!(sb.array_uuid, "11223344:706c6174:7465722d:6d643132");
    assert_eq!(
        sb.device_uuid.as_deref(),
        Some("d2d2d2d2:d2d2d2d2:d2d2d2d2:d2d2d2d2")
    );
    assert_eq!(sb.name.as_deref(), Some("box:data"));
    assert_eq!(sb.ctime_secs, 1_700_000_000);
    assert_eq!(sb.ctime, "2023-11-14T22:13:20Z");
    assert_eq!(sb.utime_secs, 1_700_000_500);
    assert_eq!(sb.level, 5);
    assert_eq!(sb.layout, 2);
    assert_eq!(sb.chunk_bytes, 64 << 10);
    assert_eq!(sb.raid_disks, 4);
    assert_eq!(sb.size_bytes, 8 * MIB);
    assert_eq!(sb.data_offset_bytes, MIB);
    assert_eq!(sb.data_size_bytes, 8 * MIB);
    assert_eq!(sb.dev_number, 2);
    assert_eq!(sb.role, MdRole::Active(2));
    assert_eq!(sb.dev_roles.len(), 5);
    assert_eq!(sb.dev_roles[3].role, MdRole::Spare);
    assert_eq!(sb.dev_roles[4].role, MdRole::Active(3));
    assert_eq!(sb.events, 42);
    assert!(sb.reshape.is_none());
    assert!(sb.clean);
    assert!(sb.checksum.valid, "{:?}", sb.checksum);
    assert_eq!(sb.checksum.stored, sb.checksum.computed);
    assert_eq!(sb.array_size_bytes(), Some(24 * MIB));
    let bb = sb.bad_block_log.as_ref().expect("bblog reserved");
    assert_eq!((bb.offset_sectors, bb.size_sectors), (8, 8));
    assert!(!bb.has_bad_blocks);
    assert!(sb.anomalies.is_empty(), "{:#?}", sb.anomalies);
    assert!(sb.is_usable());
    sb.check_usable("disk.img").unwrap();
}

#[test]
fn v11_at_sector_zero_and_v10_near_the_end() {
    let mut s = Sb1::raid5(0);
    s.super_offset = 0;
    let m = member_with(16 * MIB, 0, s.encode());
    let sb = probe_md(&m).unwrap().unwrap();
    assert_eq!((sb.version, sb.superblock_offset_bytes), ("1.1", 0));
    assert!(sb.anomalies.is_empty(), "{:#?}", sb.anomalies);

    // An odd size: 1.0 lies 8-12 KiB from the end, 4 KiB aligned.
    let len = 16 * MIB + 5 * 512 + 100;
    let sec = v10_sector(len);
    let mut s = Sb1::raid5(1);
    s.super_offset = sec;
    s.data_offset = 0;
    let m = member_with(len, sec * 512, s.encode());
    let sb = probe_md(&m).unwrap().unwrap();
    assert_eq!(sb.version, "1.0");
    assert_eq!(sb.superblock_offset_bytes, sec * 512);
    assert_eq!(sb.data_offset_bytes, 0);
    assert!(sb.anomalies.is_empty(), "{:#?}", sb.anomalies);
}

#[test]
fn v090_little_and_big_endian() {
    let len = 8 * MIB + 12345;
    for big in [false, true] {
        let s = Sb0::raid5(3);
        let m = member_with(len, v090_offset(len), s.encode(big));
        let sb = probe_md(&m).unwrap().expect("found");
        assert_eq!(sb.version, "0.90");
        assert_eq!(sb.byte_order, if big { "big" } else { "little" });
        assert_eq!(sb.superblock_offset_bytes, 8 * MIB - 65536);
        assert_eq!(sb.array_uuid, "0badcafe:12345678:9abcdef0:0fedcba9");
        assert_eq!(sb.events, (3 << 32) | 17);
        assert_eq!(sb.level, 5);
        assert_eq!(sb.layout, 2);
        assert_eq!(sb.chunk_bytes, 65536);
        assert_eq!(sb.raid_disks, 4);
        assert_eq!(sb.size_bytes, 4 * MIB);
        assert_eq!(sb.data_offset_bytes, 0);
        assert_eq!(sb.role, MdRole::Active(3));
        assert_eq!(sb.dev_number, 3);
        assert_eq!(sb.dev_roles.len(), 4);
        assert!(
            sb.dev_roles
                .iter()
                .all(|d| d.role == MdRole::Active(d.dev_number))
        );
        assert_eq!(sb.ctime, "2020-09-13T12:26:40Z");
        assert!(sb.checksum.valid, "{:?}", sb.checksum);
        assert!(sb.clean);
        assert!(sb.is_usable(), "{:#?}", sb.anomalies);
    }
}

#[test]
fn v090_reshape_faulty_and_spare_descriptors() {
    let mut s = Sb0::raid5(0);
    s.minor_version = 91;
    s.reshape_position = 0x1_2345_6789;
    s.new_level = 5;
    s.delta_disks = 1;
    s.new_layout = 2;
    s.new_chunk = 128 << 10;
    s.disks[1].4 = 1; // faulty
    s.disks.push((4, 8, 81, 4, 0)); // a spare outside the raid slots
    s.nr_disks = 5;
    let len = 8 * MIB;
    let sb = probe_md(&member_with(len, v090_offset(len), s.encode(false)))
        .unwrap()
        .unwrap();
    let r = sb.reshape.expect("0.91 carries a reshape");
    assert_eq!(r.position_sectors, 0x1_2345_6789);
    assert_eq!((r.new_level, r.delta_disks, r.new_layout), (5, 1, 2));
    assert_eq!(r.new_chunk_bytes, 128 << 10);
    assert_eq!(sb.dev_roles[1].role, MdRole::Faulty);
    assert_eq!(sb.dev_roles[4].role, MdRole::Spare);
    assert!(codes_of(&sb).contains(&codes::RESHAPE_ACTIVE));
}

#[test]
fn checksum_mismatch_still_parses_and_is_flagged() {
    let mut s = Sb1::raid5(1);
    s.csum_delta = 5;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(!sb.checksum.valid);
    assert_eq!(sb.checksum.stored, sb.checksum.computed.wrapping_add(5));
    assert_eq!(sb.role, MdRole::Active(1));
    let a = sb
        .anomalies
        .iter()
        .find(|a| a.code == codes::CHECKSUM)
        .unwrap();
    assert_eq!(a.severity, Severity::Warning);
    assert!(
        a.message.contains("disk.img") && a.message.contains("0x1000"),
        "{}",
        a.message
    );

    let mut s = Sb0::raid5(1);
    s.csum_delta = 0x10000; // the 16-bit fold differs too
    let sb = probe_md(&member_with(8 * MIB, v090_offset(8 * MIB), s.encode(false)))
        .unwrap()
        .unwrap();
    assert!(!sb.checksum.valid);
}

#[test]
fn absurd_raid_disks_is_a_clear_error() {
    let mut s = Sb1::raid5(0);
    s.raid_disks = 1 << 31;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(!sb.is_usable());
    let a = sb
        .anomalies
        .iter()
        .find(|a| a.code == codes::RAID_DISKS)
        .unwrap();
    assert_eq!(a.severity, Severity::Error);
    assert!(a.message.contains("2147483648"), "{}", a.message);
    match sb.check_usable("disk.img") {
        Err(Error::Metadata {
            name,
            offset,
            reason,
            ..
        }) => {
            assert_eq!(name, "disk.img");
            assert_eq!(offset, 4096);
            assert!(reason.contains("raid_disks"), "{reason}");
        }
        other => panic!("expected a metadata error, got {other:?}"),
    }
    let e = sb.check_usable("disk.img").unwrap_err().to_string();
    assert!(e.contains("disk.img") && e.contains("0x1000"), "{e}");
}

#[test]
fn zero_chunk_on_striped_levels_only() {
    for (level, bad) in [
        (0, true),
        (4, true),
        (5, true),
        (6, true),
        (10, true),
        (1, false),
        (-1, false),
    ] {
        let mut s = Sb1::raid5(0);
        s.level = level;
        s.layout = if level == 10 {
            0x102
        } else if level == 5 || level == 6 {
            2
        } else {
            0
        };
        s.chunksize = 0;
        let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
            .unwrap()
            .unwrap();
        assert_eq!(
            codes_of(&sb).contains(&codes::CHUNK_ZERO),
            bad,
            "level {level}: {:#?}",
            sb.anomalies
        );
    }
}

#[test]
fn unknown_level_and_layout() {
    let mut s = Sb1::raid5(0);
    s.level = 7;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(codes_of(&sb).contains(&codes::UNKNOWN_LEVEL));
    let mut s = Sb1::raid5(0);
    s.layout = 9;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(codes_of(&sb).contains(&codes::UNKNOWN_LAYOUT));
    let mut s = Sb1::raid5(0);
    s.level = 10;
    s.layout = 0x105; // 5 near copies on 4 disks
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(codes_of(&sb).contains(&codes::UNKNOWN_LAYOUT));
}

#[test]
fn absurd_max_dev_is_bounded() {
    let mut s = Sb1::raid5(3);
    s.max_dev = u32::MAX;
    s.roles = vec![0; 1920];
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert_eq!(sb.dev_roles.len(), 1920);
    assert!(codes_of(&sb).contains(&codes::MAX_DEV));
    assert!(!sb.is_usable());
}

#[test]
fn dev_number_beyond_table_is_a_spare() {
    let mut s = Sb1::raid5(3);
    s.dev_number = 77;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert_eq!(sb.role, MdRole::Spare);
    assert!(codes_of(&sb).contains(&codes::DEV_NUMBER));

    let mut s = Sb1::raid5(3);
    s.roles[3] = 0xfffe;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert_eq!(sb.role, MdRole::Faulty);
    s.roles[3] = 0xfffd;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert_eq!(sb.role, MdRole::Journal);
    s.roles[3] = 9; // beyond raid_disks
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(codes_of(&sb).contains(&codes::ROLE_OUT_OF_RANGE));
}

#[test]
fn truncated_member_is_flagged() {
    // 1 MiB data offset + 8 MiB used does not fit in 5 MiB.
    let s = Sb1::raid5(0);
    let sb = probe_md(&member_with(5 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    let a = sb
        .anomalies
        .iter()
        .find(|a| a.code == codes::MEMBER_TRUNCATED)
        .expect("flagged");
    assert_eq!(a.severity, Severity::Error);
    assert!(a.message.contains("truncated"), "{}", a.message);
    // Overflowing data_offset + size does not panic either.
    let mut s = Sb1::raid5(0);
    s.data_offset = u64::MAX / 2;
    s.size = u64::MAX / 2;
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    assert!(codes_of(&sb).contains(&codes::MEMBER_TRUNCATED));
}

#[test]
fn truncated_members_and_blank_members_find_nothing() {
    // A 0.90 member cut short: the superblock is no longer where md looks.
    let s = Sb0::raid5(0);
    let full = 8 * MIB;
    let cut = Sparse::new("cut.img", full - 100 * 1024).with(v090_offset(full), s.encode(false));
    assert!(probe_md(&cut).unwrap().is_none());
    for len in [0, 1, 511, 4096, 12 * 1024] {
        assert!(
            probe_md(&Sparse::new("tiny", len)).unwrap().is_none(),
            "{len}"
        );
    }
}

#[test]
fn magic_with_garbage_is_reported_not_trusted() {
    let mut junk = vec![0u8; 4096];
    let mut x: u32 = 0x1234_5678;
    for b in junk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    junk[..4].copy_from_slice(&0xa92b4efcu32.to_le_bytes());
    let sb = probe_md(&member_with(16 * MIB, 4096, junk))
        .unwrap()
        .unwrap();
    assert!(!sb.is_usable(), "{sb:#?}");
    assert!(!sb.checksum.valid);
    assert!(sb.dev_roles.len() <= 1920);
}

#[test]
fn newest_of_several_superblocks_wins() {
    // An old 0.90 array left behind, re-created later with 1.2.
    let len = 16 * MIB;
    let old = Sb0::raid5(0).encode(false);
    let new = Sb1::raid5(0).encode();
    let m = Sparse::new("reused.img", len)
        .with(4096, new)
        .with(v090_offset(len), old);
    assert_eq!(probe_md_all(&m).unwrap().len(), 2);
    let sb = probe_md(&m).unwrap().unwrap();
    assert_eq!(sb.version, "1.2");
    let a = sb
        .anomalies
        .iter()
        .find(|a| a.code == codes::MULTIPLE_SUPERBLOCKS)
        .unwrap();
    assert!(a.message.contains("0.90"), "{}", a.message);
}

#[test]
fn v1_reshape_recovery_and_bad_blocks() {
    let mut s = Sb1::raid5(1);
    // RESHAPE_ACTIVE | RECOVERY_OFFSET | BAD_BLOCKS | NEW_OFFSET | BACKWARDS
    s.feature_map = 4 | 2 | 8 | 64 | 32;
    s.new_level = 6;
    s.reshape_position = 123_456;
    s.delta_disks = -1i32;
    s.new_layout = 18;
    s.new_chunk = 256;
    s.new_offset = (-2048i32) as u32;
    s.recovery_offset = 4096;
    s.bblog_size = 8;
    s.bblog_offset = 16;
    s.bblog_shift = 3;
    let mut log = vec![0xffu8; 8 * 512];
    log[..8].copy_from_slice(&((100u64 << 10) | 2).to_le_bytes());
    log[8..16].copy_from_slice(&((7u64 << 10) | 1).to_le_bytes());
    let m = member_with(16 * MIB, 4096, s.encode()).with(4096 + 16 * 512, log);
    let sb = probe_md(&m).unwrap().unwrap();
    let r = sb.reshape.unwrap();
    assert_eq!(r.position_sectors, 123_456);
    assert_eq!((r.new_level, r.delta_disks, r.new_layout), (6, -1, 18));
    assert_eq!(r.new_chunk_bytes, 128 << 10);
    assert_eq!(r.new_offset_sectors, Some(-2048));
    assert!(r.backwards);
    assert_eq!(sb.recovery_offset_sectors, Some(4096));
    let bb = sb.bad_block_log.clone().unwrap();
    assert!(bb.has_bad_blocks);
    assert_eq!(bb.entries, vec![(800, 16), (56, 8)]);
    let c = codes_of(&sb);
    for code in [
        codes::RESHAPE_ACTIVE,
        codes::RECOVERY_IN_PROGRESS,
        codes::BAD_BLOCKS,
    ] {
        assert!(c.contains(&code), "{code} missing: {c:?}");
    }
}

#[test]
fn super_offset_mismatch_is_a_warning() {
    let mut s = Sb1::raid5(0);
    s.super_offset = 2056; // written for a partition starting at 1 MiB
    let sb = probe_md(&member_with(16 * MIB, 4096, s.encode()))
        .unwrap()
        .unwrap();
    let a = sb
        .anomalies
        .iter()
        .find(|a| a.code == codes::SUPER_OFFSET)
        .unwrap();
    assert_eq!(a.severity, Severity::Warning);
}

#[test]
fn read_errors_at_one_location_do_not_hide_another() {
    let len = 8 * MIB;
    let mut m = Sparse::new("bad.img", len).with(v090_offset(len), Sb0::raid5(2).encode(false));
    m.bad.push((0, 64 * 1024));
    let sb = probe_md(&m).unwrap().expect("0.90 still found");
    assert_eq!(sb.version, "0.90");
    // Everything unreadable: the error is reported.
    let mut m = Sparse::new("dead.img", len);
    m.bad.push((0, len));
    let e = probe_md(&m).unwrap_err().to_string();
    assert!(e.contains("dead.img"), "{e}");
}

#[test]
fn serializes_to_json() {
    let sb = probe_md(&member_with(16 * MIB, 4096, Sb1::raid5(2).encode()))
        .unwrap()
        .unwrap();
    let j = serde_json::to_value(&sb).unwrap();
    assert_eq!(j["version"], "1.2");
    assert_eq!(j["role"]["active"], 2);
    assert_eq!(j["chunk_bytes"], 65536);
    assert_eq!(j["checksum"]["valid"], true);
}
