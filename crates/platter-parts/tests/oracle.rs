//! Our partition tables against `sfdisk --json`, and partition windows
//! against `dd`, for the committed fixtures and for random layouts written
//! by sfdisk in a temporary directory.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use platter_core::{MemSource, SharedSource, Source};
use platter_parts::{GptHeaderUsed, Scheme, read_partitions};

fn parse_file(path: &Path) -> (SharedSource, platter_parts::PartitionTable) {
    let disk = mem(
        &path.display().to_string(),
        std::fs::read(path).expect("image"),
    );
    let table = read_partitions(&*disk).expect("read_partitions");
    check_invariants(&disk, &table);
    (disk, table)
}

#[test]
fn fixtures_match_sfdisk_and_dd() {
    for name in [
        "gpt-ext4-fat.img",
        "mbr-logical.img",
        "gpt-damaged-primary.img",
    ] {
        let path = fixture(name);
        let (disk, table) = parse_file(&path);
        assert_matches_sfdisk(&table, &sfdisk_json(&path));
        assert_windows_equal_dd(&path, &disk, &table);
    }
}

#[test]
fn gpt_ext4_fat_fixture_in_detail() {
    let (disk, t) = parse_file(&fixture("gpt-ext4-fat.img"));
    assert_eq!(t.scheme, Scheme::Gpt);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    let p1 = t.get(1).unwrap();
    assert_eq!(p1.type_name, "Linux filesystem");
    assert_eq!(p1.name.as_deref(), Some("platter-ext4"));
    let p2 = t.get(2).unwrap();
    assert_eq!(p2.type_name, "Microsoft basic data");

    // The windows hold the filesystems mkfs made: the ext4 superblock magic
    // at 1024 + 0x38, and the FAT volume label in the boot sector.
    let w1 = p1.open(disk.clone()).unwrap();
    assert_eq!(w1.name(), format!("{}#p1", disk.name()));
    let mut magic = [0u8; 2];
    w1.read_exact_at(&mut magic, 1024 + 0x38).unwrap();
    assert_eq!(magic, [0x53, 0xEF]);
    let w2 = p2.open(disk.clone()).unwrap();
    let mut label = [0u8; 11];
    w2.read_exact_at(&mut label, 0x2B).unwrap();
    assert_eq!(&label, b"PLATTERFAT ");
}

#[test]
fn mbr_logical_fixture_in_detail() {
    let (_, t) = parse_file(&fixture("mbr-logical.img"));
    assert_eq!(t.scheme, Scheme::Mbr);
    assert!(t.anomalies.is_empty(), "{:#?}", t.anomalies);
    let idx: Vec<u32> = t.partitions.iter().map(|p| p.index).collect();
    assert_eq!(idx, [1, 2, 5, 6, 7]);
    let names: Vec<&str> = t.partitions.iter().map(|p| p.type_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Linux",
            "Extended",
            "Linux",
            "Linux swap / Solaris",
            "W95 FAT32 (LBA)"
        ]
    );
    assert!(t.get(1).unwrap().bootable);
    assert!(t.get(6).unwrap().logical && !t.get(2).unwrap().logical);
    assert_eq!(t.get(7).unwrap().type_code, "0x0c");
}

/// A random GPT layout as an sfdisk script, on a disk of `sectors` sectors.
fn random_gpt_script(rng: &mut Rng, sectors: u64, ss: u64) -> String {
    const TYPES: [&str; 6] = ["L", "U", "S", "H", "R", "V"];
    const NAMES: [&str; 6] = ["root", "données", "swap", "", "EFI boot", "日本語"];
    let first = 34u64.max(16384 / ss + 2);
    let last = sectors - first;
    let mut s = format!(
        "label: gpt\nlabel-id: {}\nunit: sectors\nfirst-lba: {first}\n",
        rng.guid()
    );
    let n = rng.range(1, 8);
    let mut pos = first + rng.range(0, 64);
    for _ in 0..n {
        let size = rng.range(1, 300);
        if pos + size > last {
            break;
        }
        let name = rng.pick(&NAMES);
        s += &format!(
            "start={pos}, size={size}, type={}, uuid={}, name=\"{name}\"\n",
            rng.pick(&TYPES),
            rng.guid()
        );
        pos += size + rng.range(0, 100);
    }
    s
}

#[test]
fn random_gpt_layouts_match_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EED_0001);
    for round in 0..8 {
        let sectors = rng.range(2048, 6000);
        let img = dir.path().join(format!("gpt{round}.img"));
        std::fs::File::create(&img)
            .unwrap()
            .set_len(sectors * 512)
            .unwrap();
        sfdisk_write(&img, &random_gpt_script(&mut rng, sectors, 512));
        let (disk, table) = parse_file(&img);
        assert!(table.anomalies.is_empty(), "{:#?}", table.anomalies);
        assert_matches_sfdisk(&table, &sfdisk_json(&img));
        assert_windows_equal_dd(&img, &disk, &table);
    }
}

#[test]
fn random_mbr_layouts_with_logicals_match_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EED_0002);
    const TYPES: [&str; 5] = ["83", "82", "c", "7", "8e"];
    for round in 0..8 {
        let primaries = rng.range(0, 3);
        let mut s = format!(
            "label: dos\nlabel-id: {:#010x}\nunit: sectors\n",
            rng.next() as u32
        );
        let mut pos = 2048u64;
        for _ in 0..primaries {
            let size = rng.range(8, 200);
            let boot = if rng.range(0, 3) == 0 {
                ", bootable"
            } else {
                ""
            };
            s += &format!(
                "start={pos}, size={size}, type={}{boot}\n",
                rng.pick(&TYPES)
            );
            pos += size + rng.range(0, 30);
        }
        let ext_type = rng.pick(&["5", "f", "85"]);
        let logicals = rng.range(1, 6);
        let ext_start = pos;
        let mut lpos = ext_start;
        let mut ls = String::new();
        for _ in 0..logicals {
            lpos += rng.range(2, 40); // room for the EBR
            let size = rng.range(8, 200);
            ls += &format!("start={lpos}, size={size}, type={}\n", rng.pick(&TYPES));
            lpos += size;
        }
        let ext_size = lpos - ext_start + rng.range(0, 50);
        s += &format!("start={ext_start}, size={ext_size}, type={ext_type}\n{ls}");
        let sectors = ext_start + ext_size + rng.range(0, 100);
        let img = dir.path().join(format!("mbr{round}.img"));
        std::fs::File::create(&img)
            .unwrap()
            .set_len(sectors * 512)
            .unwrap();
        sfdisk_write(&img, &s);
        let (disk, table) = parse_file(&img);
        assert!(table.anomalies.is_empty(), "{s}\n{:#?}", table.anomalies);
        assert_matches_sfdisk(&table, &sfdisk_json(&img));
        assert_windows_equal_dd(&img, &disk, &table);
    }
}

/// Attaches `img` to a loop device with 4096-byte logical sectors, or
/// `None` when loop devices are not available (containers, non-root).
fn loop_attach_4k(img: &Path) -> Option<String> {
    let out = Command::new("losetup")
        .args(["--show", "-f", "--sector-size", "4096"])
        .arg(img)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn loop_detach(dev: &str) {
    let _ = Command::new("losetup").args(["-d", dev]).status();
}

#[test]
fn gpt_with_4096_byte_sectors_matches_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("gpt4k.img");
    let sectors = 1024u64; // 4 MiB of 4 KiB sectors
    std::fs::File::create(&img)
        .unwrap()
        .set_len(sectors * 4096)
        .unwrap();
    let Some(dev) = loop_attach_4k(&img) else {
        eprintln!("skipping: no loop device with 4096-byte sectors available");
        return;
    };
    let mut rng = Rng(0x5EED_4096);
    let script = random_gpt_script(&mut rng, sectors, 4096);
    let sf = std::panic::catch_unwind(|| {
        sfdisk_write(Path::new(&dev), &script);
        sfdisk_json(Path::new(&dev))
    });
    loop_detach(&dev);
    let sf = sf.expect("sfdisk on the loop device");
    assert_eq!(sf.sector_size, 4096);
    assert!(!sf.parts.is_empty());
    let bytes = std::fs::read(&img).unwrap();

    // Found both when the source says 4096 and when it says 512 (an image
    // file of a 4Kn disk): the probe tries 4096 after 512.
    let sectored: SharedSource = Arc::new(Sectored {
        inner: MemSource::new(img.display().to_string(), bytes.clone()),
        logical: 4096,
    });
    for disk in [sectored, mem(&img.display().to_string(), bytes)] {
        let table = read_partitions(&*disk).unwrap();
        check_invariants(&disk, &table);
        assert!(table.anomalies.is_empty(), "{:#?}", table.anomalies);
        assert_matches_sfdisk(&table, &sf);
        assert_windows_equal_dd(&img, &disk, &table);
    }
}

#[test]
fn empty_labels_match_sfdisk() {
    let dir = tempfile::tempdir().unwrap();
    for (label, scheme) in [("dos", Scheme::Mbr), ("gpt", Scheme::Gpt)] {
        let img = dir.path().join(format!("{label}.img"));
        std::fs::File::create(&img)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        sfdisk_write(&img, &format!("label: {label}\n"));
        let (_, table) = parse_file(&img);
        assert_eq!(table.scheme, scheme);
        assert!(table.anomalies.is_empty(), "{:#?}", table.anomalies);
        assert_matches_sfdisk(&table, &sfdisk_json(&img));
    }
}
