//! Property tests: superblocks with arbitrary field values round-trip
//! through the independent encoders and the parsers, and random bytes or
//! mutations never panic and keep every list bounded.

mod metadata_util;

use metadata_util::ddf::{DdfImage, seal};
use metadata_util::*;
use platter_raid::metadata::{MdRole, examine, probe_ddf, probe_md, probe_md_all};
use proptest::prelude::*;

const LEN: u64 = 16 << 20;

fn bounded_md(sb: &platter_raid::metadata::MdSuperblock) {
    assert!(sb.dev_roles.len() <= 1920);
    assert!(sb.anomalies.len() <= 40 * 16 + 2, "{}", sb.anomalies.len());
    if let Some(bb) = &sb.bad_block_log {
        assert!(bb.entries.len() <= 100 * 64);
    }
}

fn bounded_ddf(d: &platter_raid::metadata::DdfMetadata) {
    // Sections are at most 4 MiB: 64-byte entries and 512-byte+ records.
    assert!(d.physical_disks.len() <= (4 << 20) / 64);
    assert!(d.virtual_disks.len() <= (4 << 20) / 64);
    assert!(d.configs.len() <= 1024);
    for c in &d.configs {
        assert!(c.members.len() <= usize::from(d.max_primary_elements));
        assert!(c.members.len() <= usize::from(c.primary_elements));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn v1_fields_round_trip(
        level in any::<i32>(), layout in any::<u32>(), chunk in any::<u32>(),
        raid_disks in any::<u32>(), events in any::<u64>(), size in any::<u64>(),
        data_offset in any::<u64>(), dev_number in 0u32..2000, max_dev in 0u32..3000,
        roles in proptest::collection::vec(any::<u16>(), 0..40),
        feature_map in any::<u32>(), ctime in any::<u64>(), csum_delta in any::<u32>(),
    ) {
        let mut s = Sb1::raid5(0);
        (s.level, s.layout, s.chunksize, s.raid_disks) = (level, layout, chunk, raid_disks);
        (s.events, s.size, s.data_offset, s.dev_number) = (events, size, data_offset, dev_number);
        (s.max_dev, s.roles, s.feature_map, s.ctime) = (max_dev, roles.clone(), feature_map, ctime);
        s.csum_delta = csum_delta;
        let m = Sparse::new("p", LEN).with(4096, s.encode());
        let sb = probe_md(&m).unwrap().expect("magic present");
        bounded_md(&sb);
        prop_assert_eq!(sb.version, "1.2");
        prop_assert_eq!(sb.level, level);
        prop_assert_eq!(sb.layout, layout);
        prop_assert_eq!(sb.chunk_bytes, u64::from(chunk) * 512);
        prop_assert_eq!(sb.raid_disks, raid_disks);
        prop_assert_eq!(sb.events, events);
        prop_assert_eq!(sb.size_bytes, size.saturating_mul(512));
        prop_assert_eq!(sb.data_offset_bytes, data_offset.saturating_mul(512));
        prop_assert_eq!(sb.ctime_secs, ctime & ((1 << 40) - 1));
        prop_assert_eq!(sb.checksum.valid, csum_delta == 0);
        prop_assert_eq!(sb.dev_roles.len(), max_dev.min(1920) as usize);
        let want_role = if dev_number < max_dev.min(1920) {
            match roles.get(dev_number as usize).copied().unwrap_or(0) {
                0xffff => MdRole::Spare,
                0xfffe => MdRole::Faulty,
                0xfffd => MdRole::Journal,
                n => MdRole::Active(u32::from(n)),
            }
        } else {
            MdRole::Spare
        };
        prop_assert_eq!(sb.role, want_role);
        prop_assert_eq!(sb.reshape.is_some(), feature_map & 4 != 0);
        // Usable only if the geometry is sane.
        if raid_disks == 0 || raid_disks > 1920 || max_dev > 1920 {
            prop_assert!(!sb.is_usable());
        }
    }

    #[test]
    fn v090_fields_round_trip(
        big in any::<bool>(), level in any::<i32>(), raid_disks in any::<u32>(),
        events in any::<u64>(), chunk in any::<u32>(), layout in any::<u32>(),
        uuid in any::<[u32; 4]>(), raid_disk in any::<u32>(), state in any::<u32>(),
        size_kib in any::<u32>(), csum_delta in any::<u32>(),
    ) {
        let mut s = Sb0::raid5(0);
        (s.level, s.raid_disks, s.events, s.chunk_size) = (level, raid_disks, events, chunk);
        (s.layout, s.uuid, s.size_kib) = (layout, uuid, size_kib);
        s.this = (1, 8, 17, raid_disk, state);
        s.csum_delta = csum_delta;
        let off = v090_offset(LEN);
        let m = Sparse::new("p", LEN).with(off, s.encode(big));
        let sb = probe_md(&m).unwrap().expect("magic present");
        bounded_md(&sb);
        prop_assert_eq!(sb.byte_order, if big { "big" } else { "little" });
        prop_assert_eq!(sb.level, level);
        prop_assert_eq!(sb.raid_disks, raid_disks);
        prop_assert_eq!(sb.events, events);
        prop_assert_eq!(sb.chunk_bytes, u64::from(chunk));
        prop_assert_eq!(sb.layout, layout);
        prop_assert_eq!(sb.size_bytes, u64::from(size_kib) * 1024);
        let want_uuid = format!("{:08x}:{:08x}:{:08x}:{:08x}", uuid[0], uuid[1], uuid[2], uuid[3]);
        prop_assert_eq!(sb.array_uuid, want_uuid);
        // The kernel compares 16-bit folds, so a few deltas still fold equal.
        if csum_delta == 0 {
            prop_assert!(sb.checksum.valid);
        }
        let want_role = if state & 1 != 0 {
            MdRole::Faulty
        } else if state & 4 != 0 {
            MdRole::Active(raid_disk)
        } else {
            MdRole::Spare
        };
        prop_assert_eq!(sb.role, want_role);
    }

    #[test]
    fn random_bytes_at_md_locations_never_panic(
        which in 0usize..4, body in proptest::collection::vec(any::<u8>(), 4096),
        len_extra in 0u64..1_000_000,
    ) {
        let len = LEN + len_extra;
        let mut body = body;
        let (off, magic) = match which {
            0 => (4096, 0xa92b4efcu32.to_le_bytes()),
            1 => (0, 0xa92b4efcu32.to_le_bytes()),
            2 => (v10_sector(len) * 512, 0xa92b4efcu32.to_le_bytes()),
            _ => (v090_offset(len), 0xa92b4efcu32.to_be_bytes()),
        };
        body[..4].copy_from_slice(&magic);
        let m = Sparse::new("r", len).with(off, body);
        for sb in probe_md_all(&m).unwrap() {
            bounded_md(&sb);
        }
        let sb = probe_md(&m).unwrap().expect("magic present");
        prop_assert_eq!(sb.superblock_offset_bytes, off);
    }

    #[test]
    fn mutated_v1_superblocks_never_panic(
        flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..32),
    ) {
        let mut b = Sb1::raid5(1).encode();
        for (i, v) in flips {
            b[i] = v;
        }
        let m = Sparse::new("m", LEN).with(4096, b);
        if let Some(sb) = probe_md(&m).unwrap() {
            bounded_md(&sb);
        }
        let r = examine(&[("m", &m)]);
        prop_assert_eq!(r.members.len(), 1);
    }

    #[test]
    fn mutated_ddf_never_panics(
        target in 0usize..8,
        flips in proptest::collection::vec((0usize..8192, any::<u8>()), 1..24),
        reseal in any::<bool>(),
    ) {
        let img = DdfImage::raid5(1);
        let mut m = img.member("d");
        // Pieces: primary header and sections, secondary ones, the anchor.
        let n = m.pieces.len();
        let (_, piece) = &mut m.pieces[target % n];
        for (i, v) in flips {
            let at = i % piece.len();
            piece[at] = v;
        }
        if reseal && piece.len() >= 8 {
            // Get past the CRC checks into the validation of the fields.
            seal(piece, 0, false);
        }
        if let Some(d) = probe_ddf(&m).unwrap() {
            bounded_ddf(&d);
        }
    }

    #[test]
    fn sealed_random_ddf_header_fields_never_panic(
        fields in proptest::collection::vec(any::<u8>(), 512),
        keep_prefix in any::<bool>(),
    ) {
        let img = DdfImage::raid5(0);
        let mut m = img.member("h");
        let anchor_at = m.len - 512;
        let plba = img.primary_lba() * 512;
        for (off, piece) in m.pieces.iter_mut() {
            if *off == anchor_at || *off == plba {
                let mut h = fields.clone();
                if keep_prefix {
                    // Signature, GUID, revision and LBAs intact: random limits
                    // and section offsets.
                    h[..128].copy_from_slice(&piece[..128]);
                } else {
                    h[..4].copy_from_slice(&0xDE11DE11u32.to_be_bytes());
                }
                *piece = h;
                seal(piece, 0, false);
            }
        }
        if let Some(d) = probe_ddf(&m).unwrap() {
            bounded_ddf(&d);
        }
    }
}
