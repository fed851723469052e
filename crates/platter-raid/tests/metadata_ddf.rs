//! DDF parsing against members written by the independent DDF writer in
//! `metadata_util::ddf`.

mod metadata_util;

use metadata_util::Sparse;
use metadata_util::ddf::{DdfImage, guid};
use platter_raid::metadata::{MdEquivalent, Severity, codes, probe_ddf};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn codes_of(d: &platter_raid::metadata::DdfMetadata) -> Vec<&'static str> {
    d.anomalies.iter().map(|a| a.code).collect()
}

#[test]
fn raid5_member_every_field() {
    for mdadm_crc in [false, true] {
        let mut img = DdfImage::raid5(2);
        img.crc_mdadm = mdadm_crc;
        let m = img.member("pd2.img");
        let d = probe_ddf(&m).unwrap().expect("DDF found");
        assert!(d.anomalies.is_empty(), "{:#?}", d.anomalies);
        assert_eq!(d.block_size, 512);
        assert_eq!(d.revision, "01.02.00");
        assert_eq!(d.header_guid, hex(&img.header_guid));
        assert_eq!(d.header_guid_text, "Linux-MD");
        assert!(d.anchor.is_valid());
        assert_eq!(d.anchor.offset_bytes, m.len - 512);
        let p = d.primary.as_ref().unwrap();
        assert!(p.is_valid(), "{p:?}");
        assert_eq!(p.lba, img.primary_lba());
        assert!(d.secondary.as_ref().unwrap().is_valid());
        assert_eq!(d.active_header, "primary");
        assert_eq!(d.sequence, 7);
        assert_eq!(d.timestamp_secs, 315_532_800 + 1_000_000);
        assert_eq!((d.max_pd_entries, d.max_vd_entries), (63, 63));
        assert_eq!(d.max_primary_elements, 16);
        assert_eq!(d.config_record_blocks, 2);

        let c = d.controller.as_ref().unwrap();
        assert_eq!(c.guid_text, "Linux-MD");
        assert_eq!((c.vendor_id, c.device_id), (0x1000, 0x0073));
        assert_eq!(c.product_id, "Platter Test");
        assert!(c.crc_valid);

        assert_eq!(d.physical_disks.len(), 4);
        for (i, pd) in d.physical_disks.iter().enumerate() {
            assert_eq!(pd.index, i as u32);
            assert_eq!(pd.refnum, img.pds[i].refnum);
            assert_eq!(pd.guid, hex(&img.pds[i].guid));
            assert_eq!(pd.state_text, "online");
            assert_eq!(pd.configured_size_blocks, 32 * 2048);
        }
        assert_eq!(d.virtual_disks.len(), 1);
        let v = &d.virtual_disks[0];
        assert_eq!(
            (v.name.as_str(), v.state_text, v.init_state),
            ("bigvol", "optimal", 2)
        );

        let t = d.this_disk.as_ref().unwrap();
        assert_eq!(t.refnum, img.pds[2].refnum);
        assert_eq!(d.this_physical_disk().unwrap().index, 2);

        assert_eq!(d.configs.len(), 1);
        let cfg = &d.configs[0];
        assert_eq!(cfg.vd_guid, hex(&guid("Linux-MD VD0")));
        assert_eq!(cfg.vd_name.as_deref(), Some("bigvol"));
        assert_eq!(cfg.sequence, 3);
        assert_eq!(
            (cfg.prl, cfg.prl_name, cfg.rlq, cfg.srl),
            (5, "RAID5", 3, 0xff)
        );
        assert_eq!(cfg.primary_elements, 4);
        assert_eq!(cfg.strip_size_exponent, 7);
        assert_eq!(cfg.strip_bytes, Some(64 << 10));
        assert_eq!(cfg.block_size, 512);
        assert_eq!(cfg.block_count, 30 * 2048);
        assert_eq!(cfg.vd_size_blocks, 90 * 2048);
        assert_eq!(cfg.this_disk_slot, Some(2));
        assert!(cfg.crc_valid);
        assert_eq!(
            cfg.md,
            Some(MdEquivalent {
                level: 5,
                layout: 2,
                raid_disks: 4
            })
        );
        let refs: Vec<u32> = cfg.members.iter().map(|m| m.refnum).collect();
        assert_eq!(refs, img.confs[0].refs);
        assert!(
            cfg.members
                .iter()
                .enumerate()
                .all(|(i, m)| m.slot == i as u32
                    && m.physical_disk_index == Some(i as u32)
                    && m.start_bytes == Some(0))
        );
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["configs"][0]["md"]["layout"], 2);
    }
}

#[test]
fn member_order_skips_unused_references_and_keeps_start_lbas() {
    let mut img = DdfImage::raid5(0);
    let r = img.confs[0].refs.clone();
    img.confs[0].refs = vec![u32::MAX, r[3], r[1], u32::MAX, r[0], r[2]];
    img.confs[0].lbas = vec![0, 100, 200, 0, 300, 400];
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    let cfg = &d.configs[0];
    let got: Vec<(u32, u32, u32, u64)> = cfg
        .members
        .iter()
        .map(|m| (m.slot, m.table_index, m.refnum, m.start_lba))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 1, r[3], 100),
            (1, 2, r[1], 200),
            (2, 4, r[0], 300),
            (3, 5, r[2], 400)
        ]
    );
    assert_eq!(cfg.this_disk_slot, Some(2));
    assert_eq!(cfg.members[3].start_bytes, Some(400 * 512));
}

#[test]
fn newer_secondary_header_wins_and_broken_primary_falls_back() {
    let mut img = DdfImage::raid5(1);
    img.secondary_seq = Some(9);
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.active_header, "secondary");
    assert_eq!(d.sequence, 9);

    // Equal sequence, but the primary was left open: the secondary wins.
    let mut img = DdfImage::raid5(1);
    img.primary_open = 1;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.active_header, "secondary");

    // A bad primary CRC: the secondary is used, the primary flagged.
    let mut img = DdfImage::raid5(1);
    img.header_crc_delta[1] = 1;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.active_header, "secondary");
    assert!(!d.primary.as_ref().unwrap().crc_valid);
    assert!(codes_of(&d).contains(&codes::DDF_HEADER));
    assert_eq!(d.configs.len(), 1);

    // Both broken: read through the anchor, with an error.
    img.header_crc_delta[2] = 1;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.active_header, "anchor");
    assert!(
        d.anomalies
            .iter()
            .any(|a| a.code == codes::DDF_HEADER && a.severity == Severity::Error)
    );
    assert_eq!(d.physical_disks.len(), 4, "sections still read");

    // A primary that disagrees with the anchor (different GUID) is unusable.
    let mut img = DdfImage::raid5(1);
    img.primary_patch = vec![(8, b"XXXX".to_vec())];
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert!(!d.primary.as_ref().unwrap().matches_anchor);
    assert_eq!(d.active_header, "secondary");
}

#[test]
fn anchor_crc_and_config_crc_are_checked() {
    let mut img = DdfImage::raid5(0);
    img.header_crc_delta[0] = 7;
    img.confs[0].crc_delta = 3;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert!(!d.anchor.crc_valid);
    assert!(!d.configs[0].crc_valid);
    let crc = d
        .anomalies
        .iter()
        .filter(|a| a.code == codes::CHECKSUM)
        .count();
    assert_eq!(crc, 2, "{:#?}", d.anomalies);
}

#[test]
fn secondary_levels_and_unmapped_levels() {
    // RAID10 as RAID1 pairs striped: two BVD records of one VD.
    let mut img = DdfImage::raid5(0);
    let r = img.confs[0].refs.clone();
    let mut a = img.confs[0].clone();
    a.prl = 0x01;
    a.rlq = 0;
    a.prim_count = 2;
    a.sec_count = 2;
    a.srl = 0x00;
    a.sec_seq = 0;
    a.refs = vec![r[0], r[1]];
    let mut b = a.clone();
    b.sec_seq = 1;
    b.refs = vec![r[2], r[3]];
    img.confs = vec![a, b];
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.configs.len(), 2);
    for c in &d.configs {
        assert_eq!(
            c.md,
            Some(MdEquivalent {
                level: 10,
                layout: 0x102,
                raid_disks: 4
            })
        );
    }
    assert_eq!(d.configs[1].secondary_element_seq, 1);

    let mut img = DdfImage::raid5(0);
    img.confs[0].prl = 0x25; // RAID5EE
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.configs[0].md, None);
    assert!(codes_of(&d).contains(&codes::DDF_UNMAPPED_LEVEL));
    assert_eq!(d.configs[0].prl_name, "RAID5EE");
}

#[test]
fn absurd_counts_and_sizes_are_bounded() {
    // A section claiming 65535 entries in 8 blocks: at most 63 are read.
    let img = DdfImage::raid5(0);
    let mut m = img.member("m");
    for lba in [img.primary_lba(), img.secondary_lba()] {
        let off = (lba + 2) * 512;
        let (_, b) = m.pieces.iter_mut().find(|(o, _)| *o == off).unwrap();
        b[10..12].copy_from_slice(&0xffffu16.to_be_bytes());
        metadata_util::ddf::seal(b, 0, false);
    }
    let d = probe_ddf(&m).unwrap().unwrap();
    assert_eq!(d.physical_disks.len(), 4);
    assert!(codes_of(&d).contains(&codes::DDF_FIELD));

    // Strip exponent 255 means "unspecified"; 60 is absurd.
    let mut img = DdfImage::raid5(0);
    img.confs[0].strip_exp = 255;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.configs[0].strip_bytes, None);
    assert!(!codes_of(&d).contains(&codes::CHUNK_INVALID));
    img.confs[0].strip_exp = 60;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert!(codes_of(&d).contains(&codes::CHUNK_INVALID));

    // More primary elements than the record holds.
    let mut img = DdfImage::raid5(0);
    img.confs[0].prim_count = 999;
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert!(d.configs[0].members.len() <= 16);
    assert!(codes_of(&d).contains(&codes::DDF_CONFIG));
}

#[test]
fn header_fields_pointing_outside_are_flagged() {
    let img = DdfImage::raid5(0);
    let mut m = img.member("m");
    // Anchor: primary LBA far beyond the member, secondary absent.
    let anchor_off = m.len - 512;
    let (_, a) = m.pieces.iter_mut().find(|(o, _)| *o == anchor_off).unwrap();
    a[96..104].copy_from_slice(&(u64::MAX - 5).to_be_bytes());
    a[104..112].copy_from_slice(&u64::MAX.to_be_bytes());
    metadata_util::ddf::seal(a, 0, false);
    let d = probe_ddf(&m).unwrap().unwrap();
    assert!(d.primary.is_none() && d.secondary.is_none());
    assert_eq!(d.active_header, "anchor");
    assert!(d.physical_disks.is_empty());
    assert!(!d.anomalies.is_empty());
}

#[test]
fn truncated_member_extent_is_an_error() {
    let mut img = DdfImage::raid5(0);
    img.confs[0].lbas = vec![39 * 2048; 4]; // 30 MiB from 39 MiB on a 40 MiB disk
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    let a = d
        .anomalies
        .iter()
        .find(|a| a.code == codes::MEMBER_TRUNCATED)
        .unwrap();
    assert_eq!(a.severity, Severity::Error);
    assert!(!d.is_usable());
    let e = d.check_usable("m").unwrap_err().to_string();
    assert!(e.contains("extends past its end"), "{e}");
    let ok = probe_ddf(&DdfImage::raid5(0).member("ok"))
        .unwrap()
        .unwrap();
    ok.check_usable("ok").unwrap();
}

#[test]
fn no_signature_no_ddf_and_unreadable_anchor_errors() {
    assert!(probe_ddf(&Sparse::new("blank", 1 << 20)).unwrap().is_none());
    assert!(probe_ddf(&Sparse::new("empty", 0)).unwrap().is_none());
    assert!(probe_ddf(&Sparse::new("tiny", 100)).unwrap().is_none());
    let mut m = Sparse::new("bad", 1 << 20);
    m.bad.push(((1 << 20) - 4096, 4096));
    let e = probe_ddf(&m).unwrap_err().to_string();
    assert!(e.contains("bad"), "{e}");
}

#[test]
fn garbage_after_the_signature_does_not_panic() {
    let mut junk = vec![0u8; 512];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in junk.iter_mut() {
        x ^= x << 7;
        x ^= x >> 9;
        *b = x as u8;
    }
    junk[..4].copy_from_slice(&0xDE11DE11u32.to_be_bytes());
    let len = 8 << 20;
    let d = probe_ddf(&Sparse::new("junk", len).with(len - 512, junk))
        .unwrap()
        .unwrap();
    assert!(!d.anchor.crc_valid);
    assert!(!d.anomalies.is_empty());
}

#[test]
fn little_endian_signature_is_refused_clearly() {
    let len = 8 << 20;
    let mut anchor = vec![0u8; 512];
    anchor[..4].copy_from_slice(&0xDE11DE11u32.to_le_bytes());
    let m = Sparse::new("le.img", len).with(len - 512, anchor);
    let e = probe_ddf(&m).unwrap_err();
    assert!(matches!(e, platter_raid::Error::Metadata { offset, .. } if offset == len - 512));
    let s = e.to_string();
    assert!(s.contains("le.img") && s.contains("little-endian"), "{s}");
}

#[test]
fn ddf2_block_size_and_rotate_parity_count() {
    // DDF 2.0: Block_Size at 0x58 and Rotate_Parity_count at 0x5A.
    let mut img = DdfImage::raid5(1);
    img.revision = *b"02.00.00";
    img.confs[0].patch = vec![(0x58, vec![0x10, 0x00, 3])];
    img.confs[0].lbas = vec![0, 1, 2, 3];
    img.confs[0].blocks = 30 * 256; // 30 MiB in 4 KiB blocks
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert!(d.anomalies.is_empty(), "{:#?}", d.anomalies);
    let c = &d.configs[0];
    assert_eq!(c.block_size, 4096);
    assert_eq!(c.strip_bytes, Some(4096 << 7));
    assert_eq!(c.rotate_parity_count, Some(3));
    assert_eq!(c.members[2].start_bytes, Some(2 * 4096));

    // The same bytes in a 01.02.00 record are padding.
    img.revision = *b"01.02.00";
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.configs[0].block_size, 512);
    assert_eq!(d.configs[0].rotate_parity_count, None);

    // A nonsensical 2.0 block size falls back to the member's, flagged.
    img.revision = *b"02.00.00";
    img.confs[0].patch = vec![(0x58, vec![0x00, 0x03])];
    let d = probe_ddf(&img.member("m")).unwrap().unwrap();
    assert_eq!(d.configs[0].block_size, 512);
    assert!(codes_of(&d).contains(&codes::DDF_FIELD));
}

#[test]
fn four_kib_blocks() {
    // A 4Kn member: the anchor is the last 4096-byte block and every LBA
    // and length counts 4096-byte blocks.
    let mut img = DdfImage::raid5(0);
    img.bs = 4096;
    img.confs[0].blocks = 30 * 256;
    let m = img.member("4kn.img");
    let d = probe_ddf(&m).unwrap().expect("found with 4 KiB blocks");
    assert!(d.anomalies.is_empty(), "{:#?}", d.anomalies);
    assert_eq!(d.block_size, 4096);
    assert_eq!(d.config_record_blocks, 1);
    assert_eq!(d.anchor.offset_bytes, m.len - 4096);
    assert_eq!(
        d.primary.as_ref().unwrap().offset_bytes,
        img.primary_lba() * 4096
    );
    assert_eq!(d.physical_disks.len(), 4);
    assert_eq!(d.configs.len(), 1);
    assert_eq!(d.configs[0].block_size, 4096);
    assert_eq!(d.configs[0].strip_bytes, Some(4096 << 7));
    assert_eq!(d.configs[0].this_disk_slot, Some(0));
}
