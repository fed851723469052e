//! The md and DDF parsers against `mdadm --examine`, which reads plain
//! files without the md driver. Superblocks are built by the independent
//! encoders in `metadata_util`, randomised over versions, levels, layouts,
//! chunks, offsets, roles, events, reshapes and checksum damage, written to
//! sparse files, and examined by both.

mod metadata_util;

use std::path::Path;

use metadata_util::ddf::DdfImage;
use metadata_util::*;
use platter_raid::metadata::{MdRole, MdSuperblock, probe_ddf, probe_md};

/// xorshift64*: deterministic cases without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

fn level_name(level: i32) -> &'static str {
    match level {
        -1 => "linear",
        0 => "raid0",
        1 => "raid1",
        4 => "raid4",
        5 => "raid5",
        6 => "raid6",
        10 => "raid10",
        _ => "?",
    }
}

/// mdadm's names of the RAID5/6 algorithms (mdadm `maps.c`), by number.
fn layout_name(level: i32, layout: u32) -> String {
    let base = [
        "left-asymmetric",
        "right-asymmetric",
        "left-symmetric",
        "right-symmetric",
        "parity-first",
        "parity-last",
    ];
    match (level, layout) {
        (_, 0..=5) => base[layout as usize].to_string(),
        (6, 8) => "ddf-zero-restart".into(),
        (6, 9) => "ddf-N-restart".into(),
        (6, 10) => "ddf-N-continue".into(),
        (6, 16..=20) => format!("{}-6", base[(layout - 16) as usize]),
        _ => "?".into(),
    }
}

fn random_sb1(rng: &mut Rng) -> (Sb1, u64, &'static str) {
    let version = rng.pick(&["1.0", "1.1", "1.2"]);
    let level = rng.pick(&[0, 1, 4, 5, 6, 10]);
    let raid_disks = match level {
        1 => 2 + rng.below(3) as u32,
        6 => 4 + rng.below(10) as u32,
        _ => 2 + rng.below(14) as u32,
    };
    let layout = match level {
        5 => rng.below(6) as u32,
        6 => rng.pick(&[0u32, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20]),
        10 => {
            if rng.below(2) == 0 {
                0x100 | (2 + rng.below(u64::from(raid_disks - 1)) as u32).min(raid_disks)
            } else {
                0x201 | (rng.below(2) as u32) << 16
            }
        }
        _ => 0,
    };
    let chunk_sectors = if level == 1 { 0 } else { 8u32 << rng.below(8) };
    let len: u64 = (48 << 20) + rng.below(4096) * 512;
    let sectors = len / 512;
    let mut s = Sb1::raid5(0);
    s.level = level;
    s.layout = layout;
    s.chunksize = chunk_sectors;
    s.raid_disks = raid_disks;
    s.set_name = format!("host{}:md{}", rng.below(100), rng.below(10));
    s.set_uuid = std::array::from_fn(|_| rng.next() as u8);
    s.device_uuid = std::array::from_fn(|_| rng.next() as u8);
    s.ctime = 1_000_000_000 + rng.below(800_000_000);
    s.utime = s.ctime + rng.below(1_000_000);
    s.events = rng.below(1 << 40);
    s.max_dev = raid_disks + rng.below(4) as u32;
    let mut roles: Vec<u16> = (0..raid_disks as u16).collect();
    for i in (1..roles.len()).rev() {
        roles.swap(i, rng.below(i as u64 + 1) as usize);
    }
    while roles.len() < s.max_dev as usize {
        roles.push(rng.pick(&[0xffff, 0xfffe]));
    }
    s.roles = roles;
    s.dev_number = rng.below(u64::from(s.max_dev)) as u32;
    match version {
        "1.0" => {
            s.super_offset = v10_sector(len);
            s.data_offset = 0;
            s.data_size = s.super_offset - 16;
        }
        "1.1" => {
            s.super_offset = 0;
            s.data_offset = 2048 * (1 + rng.below(4));
            s.data_size = sectors - s.data_offset;
        }
        _ => {
            s.super_offset = 8;
            s.data_offset = 2048 * (1 + rng.below(4));
            s.data_size = sectors - s.data_offset;
        }
    }
    s.size = if level == 0 {
        s.data_size
    } else {
        s.data_size - rng.below(4096)
    };
    s.bblog_size = 8;
    s.bblog_offset = if version == "1.0" { -8 } else { 8 };
    if rng.below(4) == 0 {
        s.feature_map |= 4; // reshape
        s.reshape_position = rng.below(1 << 30) * 2;
        s.new_level = level;
        s.delta_disks = 1;
        s.raid_disks += 1;
        s.new_layout = layout;
        s.new_chunk = chunk_sectors;
    }
    if rng.below(4) == 0 {
        s.feature_map |= 2; // recovery
        s.recovery_offset = rng.below(1 << 20);
    }
    if rng.below(5) == 0 {
        s.csum_delta = 1 + rng.below(1000) as u32;
    }
    (s, len, version)
}

fn check_against_mdadm(path: &Path, sb: &MdSuperblock) {
    let (ok, out) = mdadm_examine(path, &[]);
    assert!(ok, "mdadm --examine failed:\n{out}");
    let f = |k: &str| field(&out, k).unwrap_or_else(|| panic!("no {k:?} in\n{out}"));
    let ctx = format!("\nmdadm:\n{out}\nours: {sb:#?}");
    assert_eq!(f("Version"), sb.version, "{ctx}");
    assert_eq!(f("Raid Level"), level_name(sb.level), "{ctx}");
    assert_eq!(f("Raid Devices"), sb.raid_disks.to_string(), "{ctx}");
    assert_eq!(f("Events"), sb.events.to_string(), "{ctx}");
    assert_eq!(f("Array UUID"), sb.array_uuid, "{ctx}");
    assert_eq!(
        f("Device UUID"),
        sb.device_uuid.as_deref().unwrap(),
        "{ctx}"
    );
    assert_eq!(f("Name"), sb.name.as_deref().unwrap(), "{ctx}");
    assert_eq!(
        f("Super Offset"),
        format!("{} sectors", sb.super_offset_sectors),
        "{ctx}"
    );
    assert_eq!(
        f("Avail Dev Size").split(' ').next().unwrap(),
        (sb.data_size_bytes / 512).to_string(),
        "{ctx}"
    );
    match field(&out, "Data Offset") {
        Some(v) => assert_eq!(
            v,
            format!("{} sectors", sb.data_offset_bytes / 512),
            "{ctx}"
        ),
        None => assert_eq!(sb.data_offset_bytes, 0, "{ctx}"),
    }
    if matches!(sb.level, 0 | 4 | 5 | 6 | 10) {
        assert_eq!(
            f("Chunk Size"),
            format!("{}K", sb.chunk_bytes / 1024),
            "{ctx}"
        );
    }
    if matches!(sb.level, 5 | 6) {
        assert_eq!(f("Layout"), layout_name(sb.level, sb.layout), "{ctx}");
    }
    if sb.level > 0 {
        let size_kib = sb.array_size_bytes().unwrap() / 1024;
        assert_eq!(
            f("Array Size").split(' ').next().unwrap(),
            size_kib.to_string(),
            "{ctx}"
        );
    }
    let role = match sb.role {
        MdRole::Active(n) => format!("Active device {n}"),
        MdRole::Spare | MdRole::Faulty => "spare".into(),
        MdRole::Journal => "Journal".into(),
        MdRole::Empty => unreachable!(),
    };
    assert_eq!(f("Device Role"), role, "{ctx}");
    let csum = f("Checksum");
    if sb.checksum.valid {
        assert_eq!(csum, format!("{:x} - correct", sb.checksum.stored), "{ctx}");
    } else {
        assert_eq!(
            csum,
            format!(
                "{:x} - expected {:x}",
                sb.checksum.stored, sb.checksum.computed
            ),
            "{ctx}"
        );
    }
    if let Some(r) = &sb.reshape {
        assert_eq!(
            f("Reshape pos'n").split(' ').next().unwrap(),
            (r.position_sectors / 2).to_string(),
            "{ctx}"
        );
        assert!(
            f("Delta Devices").starts_with(&r.delta_disks.to_string()),
            "{ctx}"
        );
    }
    if let Some(r) = sb.recovery_offset_sectors {
        assert_eq!(f("Recovery Offset"), format!("{r} sectors"), "{ctx}");
    }
    if let Some(bb) = &sb.bad_block_log {
        assert_eq!(
            f("Bad Block Log"),
            format!(
                "{} entries available at offset {} sectors",
                u32::from(bb.size_sectors) * 64,
                bb.offset_sectors
            ),
            "{ctx}"
        );
    }
    let (ok, exp) = mdadm_examine(path, &["--export"]);
    assert!(ok, "{exp}");
    assert_eq!(
        export(&exp, "MD_UPDATE_TIME"),
        Some(sb.utime_secs.to_string().as_str()),
        "{exp}"
    );
    assert_eq!(
        export(&exp, "MD_DEVICES"),
        Some(sb.raid_disks.to_string().as_str()),
        "{exp}"
    );
}

#[test]
fn random_v1_superblocks_match_mdadm() {
    require_mdadm();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x005e_ed0f_3da1_1ce5);
    for case in 0..48 {
        let (s, len, version) = random_sb1(&mut rng);
        let off = s.super_offset * 512;
        let m = Sparse::new("member", len).with(off, s.encode());
        let sb = probe_md(&m).unwrap().expect("superblock found");
        assert_eq!(sb.version, version, "case {case}");
        let path = dir.path().join(format!("m{case}.img"));
        m.write_file(&path);
        check_against_mdadm(&path, &sb);
    }
}

#[test]
fn random_v090_superblocks_match_mdadm() {
    require_mdadm();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x0090_0090_1234_5678);
    for case in 0..24 {
        let mut s = Sb0::raid5(0);
        s.level = rng.pick(&[0, 1, 4, 5, 6]);
        s.raid_disks = 4 + rng.below(8) as u32;
        s.nr_disks = s.raid_disks;
        s.layout = if s.level == 5 {
            rng.below(6) as u32
        } else if s.level == 6 {
            2
        } else {
            0
        };
        s.chunk_size = 4096 << rng.below(8);
        s.uuid = std::array::from_fn(|_| rng.next() as u32);
        s.events = rng.below(1 << 40);
        s.ctime = rng.below(1 << 31) as u32;
        s.utime = s.ctime + 1000;
        s.disks = (0..s.raid_disks)
            .map(|i| (i, 8, 16 * i + 1, i, ACTIVE_SYNC))
            .collect();
        s.this = s.disks[rng.below(u64::from(s.raid_disks)) as usize];
        if rng.below(4) == 0 {
            s.csum_delta = 1 + rng.below(100) as u32;
        }
        let len = (16 << 20) + rng.below(100_000);
        s.size_kib = ((v090_offset(len) / 1024) - rng.below(1000)) as u32;
        let m = Sparse::new("m", len).with(v090_offset(len), s.encode(false));
        let sb = probe_md(&m).unwrap().unwrap();
        let path = dir.path().join(format!("v090-{case}.img"));
        m.write_file(&path);
        let (ok, out) = mdadm_examine(&path, &[]);
        assert!(ok, "{out}");
        let f = |k: &str| field(&out, k).unwrap_or_else(|| panic!("no {k:?} in\n{out}"));
        let ctx = format!("\n{out}\n{sb:#?}");
        assert_eq!(f("Version"), "0.90.00", "{ctx}");
        assert_eq!(f("UUID"), sb.array_uuid, "{ctx}");
        assert_eq!(f("Raid Level"), level_name(sb.level), "{ctx}");
        assert_eq!(f("Raid Devices"), sb.raid_disks.to_string(), "{ctx}");
        assert_eq!(f("Events"), sb.events.to_string(), "{ctx}");
        if sb.level > 0 {
            assert_eq!(
                f("Used Dev Size").split(' ').next().unwrap(),
                (sb.size_bytes / 1024).to_string(),
                "{ctx}"
            );
        }
        if matches!(sb.level, 0 | 4 | 5 | 6) {
            assert_eq!(
                f("Chunk Size"),
                format!("{}K", sb.chunk_bytes / 1024),
                "{ctx}"
            );
        }
        if sb.level == 5 {
            assert_eq!(f("Layout"), layout_name(5, sb.layout), "{ctx}");
        }
        let csum = f("Checksum");
        let want = if sb.checksum.valid {
            format!("{:x} - correct", sb.checksum.stored)
        } else {
            format!(
                "{:x} - expected {:x}",
                sb.checksum.stored, sb.checksum.computed
            )
        };
        assert_eq!(csum, want, "{ctx}");
        // "this     2       8       33        2      active sync"
        let this = out.lines().find(|l| l.starts_with("this")).unwrap();
        let cols: Vec<&str> = this.split_whitespace().collect();
        assert_eq!(cols[1], sb.dev_number.to_string(), "{ctx}");
        assert_eq!(cols[4], sb.role.slot().unwrap().to_string(), "{ctx}");
    }
}

#[test]
fn ddf_matches_mdadm() {
    require_mdadm();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xddf0_ddf0_0000_0001);
    // (PRL, RLQ, members): RAID5 in its three qualifiers, RAID6, RAID0,
    // RAID1, RAID4 and RAID1E.
    let kinds = [
        (0x05u8, 0u8, 4usize),
        (0x05, 2, 3),
        (0x05, 3, 5),
        (0x06, 1, 4),
        (0x06, 3, 6),
        (0x00, 0, 3),
        (0x01, 0, 2),
        (0x04, 1, 3),
        (0x11, 0, 3),
    ];
    for (case, &(prl, rlq, n)) in kinds.iter().enumerate() {
        let mut img = DdfImage::raid5(0);
        img.crc_mdadm = true;
        img.pds.truncate(1);
        for i in 1..n {
            let mut p = img.pds[0].clone();
            p.refnum = 0x2000_0000 + rng.below(1 << 24) as u32 + i as u32;
            p.guid[12] = b'0' + i as u8;
            img.pds.push(p);
        }
        img.seq = rng.below(1000) as u32 + 1;
        let c = &mut img.confs[0];
        (c.prl, c.rlq, c.prim_count) = (prl, rlq, n as u16);
        c.strip_exp = 3 + rng.below(8) as u8;
        c.blocks = 2048 * (1 + rng.below(28));
        c.array_blocks = c.blocks * n as u64;
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        c.refs = order.iter().map(|&i| img.pds[i].refnum).collect();
        c.lbas = (0..n).map(|_| rng.below(64) * 8).collect();
        let this = rng.below(n as u64) as usize;
        img.this_refnum = img.pds[this].refnum;
        img.this_guid = img.pds[this].guid;
        let m = img.member("ddf");
        let d = probe_ddf(&m).unwrap().expect("DDF found");
        assert!(d.anomalies.is_empty(), "case {case}: {:#?}", d.anomalies);
        let path = dir.path().join(format!("ddf{case}.img"));
        m.write_file(&path);
        let (ok, out) = mdadm_examine(&path, &[]);
        assert!(ok, "{out}");
        let f = |k: &str| field(&out, k).unwrap_or_else(|| panic!("no {k:?} in\n{out}"));
        let cfg = &d.configs[0];
        let ctx = format!("\ncase {case}\n{out}\n{d:#?}");
        assert_eq!(f("Seq"), format!("{:08x}", d.sequence), "{ctx}");
        let guid: String = d
            .header_guid
            .to_uppercase()
            .as_bytes()
            .chunks(8)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(f("Container GUID"), guid, "{ctx}");
        assert_eq!(f("Raid Level[0]"), cfg.prl_name, "{ctx}");
        assert_eq!(
            f("Chunk Size[0]"),
            format!("{} sectors", cfg.strip_bytes.unwrap() / 512),
            "{ctx}"
        );
        assert_eq!(
            f("Device Size[0]"),
            (cfg.block_count / 2).to_string(),
            "{ctx}"
        );
        assert_eq!(
            f("Array Size[0]"),
            (cfg.vd_size_blocks / 2).to_string(),
            "{ctx}"
        );
        assert_eq!(f("Name[0]"), cfg.vd_name.as_deref().unwrap(), "{ctx}");
        // "4 (2@0K 0@8K ...)": physical disk entry and start of each member.
        let members: Vec<String> = cfg
            .members
            .iter()
            .map(|m| {
                format!(
                    "{}@{}K",
                    m.physical_disk_index.unwrap(),
                    m.start_bytes.unwrap() / 1024
                )
            })
            .collect();
        assert_eq!(
            f("Raid Devices[0]"),
            format!("{} ({})", cfg.members.len(), members.join(" ")),
            "{ctx}"
        );
        for pd in &d.physical_disks {
            let row = format!("{:08x}", pd.refnum);
            assert!(
                out.lines()
                    .any(|l| l.split_whitespace().nth(1) == Some(row.as_str())
                        && l.contains(&format!("{}K", pd.configured_size_blocks / 2))),
                "refnum {row} missing{ctx}"
            );
        }
    }
}
