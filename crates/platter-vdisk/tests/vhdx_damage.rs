//! VHDX recovery: a dirty log replayed in memory (built by the independent
//! generator, checked against qemu-img's own replay on a copy), damaged
//! headers and region tables, truncated files.

mod vhd_support;

use platter_vdisk::{Error, VdiskOptions, vhdx};
use vhd_support::generator::{LogWrite, log_entry, set_log_guid, vhdx_layout};
use vhd_support::*;

const MIB: u64 = 1 << 20;

/// A qemu-made dynamic VHDX with 1 MiB blocks; (path, file bytes, guest bytes).
fn image(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let src = source_disk(dir, "src.raw", 10 * MIB as usize, 31);
    let img = dir.join("disk.vhdx");
    qemu_from_raw(&src, "vhdx", "block_size=1M", &img);
    let raw = qemu_raw(&img, "vhdx");
    (img.clone(), std::fs::read(&img).unwrap(), raw)
}

fn bat_entry(file: &[u8], bat: u64, i: usize) -> u64 {
    let at = bat as usize + i * 8;
    u64::from_le_bytes(file[at..at + 8].try_into().unwrap())
}

#[test]
fn dirty_log_is_replayed_in_memory_like_qemu_does_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (_img, mut file, raw) = image(dir.path());
    let lay = vhdx_layout(&file);
    assert!(lay.log_length >= MIB);
    let (k, j) = (1usize, 2usize);
    let j_off = (bat_entry(&file, lay.bat_offset, j) >> 20) << 20;
    assert_eq!(
        bat_entry(&file, lay.bat_offset, j) & 7,
        6,
        "block J present"
    );
    // New data for block K goes to a new 1 MiB area at the end of the file
    // (payload is written in place; only the BAT update is logged).
    let new_off = (file.len() as u64).next_multiple_of(MIB);
    let new_block = random_bytes(77, MIB as usize);
    file.resize(new_off as usize, 0);
    file.extend_from_slice(&new_block);
    let mut bat_sector = file[lay.bat_offset as usize..lay.bat_offset as usize + 4096].to_vec();
    bat_sector[k * 8..k * 8 + 8].copy_from_slice(&(new_off | 6).to_le_bytes());
    let guid = [0x5au8; 16];
    let flen = file.len() as u64;
    // Entry A (seq 5) zeroes 8 KiB of block J; entry B (seq 6) rewrites the
    // BAT sector. A stale entry C (seq 2) after them must not be replayed.
    let a = log_entry(
        &guid,
        5,
        0,
        flen,
        &[LogWrite::Zero {
            offset: j_off,
            len: 8192,
        }],
    );
    let b = log_entry(
        &guid,
        6,
        0,
        flen,
        &[LogWrite::Data {
            offset: lay.bat_offset,
            bytes: bat_sector,
        }],
    );
    let c_at = (a.len() + b.len()) as u32;
    let c = log_entry(
        &guid,
        2,
        c_at,
        flen,
        &[LogWrite::Data {
            offset: j_off + 65536,
            bytes: vec![0xee; 4096],
        }],
    );
    let mut at = lay.log_offset as usize;
    for e in [&a, &b, &c] {
        file[at..at + e.len()].copy_from_slice(e);
        at += e.len();
    }
    set_log_guid(&mut file, &guid);
    let dirty = dir.path().join("dirty.vhdx");
    std::fs::write(&dirty, &file).unwrap();

    let mut want = raw.clone();
    want[k * MIB as usize..(k + 1) * MIB as usize].copy_from_slice(&new_block);
    want[j * MIB as usize..j * MIB as usize + 8192].fill(0);

    let disk = vhdx::open(&dirty, &VdiskOptions::default()).unwrap();
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    let log = disk
        .info
        .properties
        .iter()
        .find(|(k, _)| k == "log")
        .unwrap();
    assert!(
        log.1
            .contains("replayed in memory (2 entries, sequence 5..6"),
        "{}",
        log.1
    );
    assert_same(&read_all(&*disk.source), &want, "replayed log");
    // The evidence file was not written.
    assert_eq!(std::fs::read(&dirty).unwrap(), file);

    // qemu-img replays the log by writing: do that on a copy and compare.
    let copy = dir.path().join("copy.vhdx");
    std::fs::copy(&dirty, &copy).unwrap();
    let _ = std::process::Command::new("qemu-img")
        .args(["check", "-r", "all", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_same(&want, &qemu_raw(&copy, "vhdx"), "qemu's replay");
}

#[test]
fn damaged_header_and_region_table_fall_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_img, file, raw) = image(dir.path());
    let lay = vhdx_layout(&file);
    // Damage the current header: the other one is used.
    let mut bad = file.clone();
    bad[lay.header_at + 200] ^= 1;
    let p = dir.path().join("h.vhdx");
    std::fs::write(&p, &bad).unwrap();
    let disk = vhdx::open(&p, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.anomalies.len(), 1, "{:?}", disk.info.anomalies);
    assert_eq!(disk.info.anomalies[0].kind, "header_damaged");
    assert_eq!(disk.info.anomalies[0].offset, Some(lay.header_at as u64));
    assert_same(&read_all(&*disk.source), &raw, "header fallback");
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(vhdx::open(&p, &strict), Err(Error::Strict(_))));
    // Both headers damaged: a clear error naming the offset.
    let other = if lay.header_at == 0x10000 {
        0x20000
    } else {
        0x10000
    };
    bad[other + 200] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let err = vhdx::open(&p, &VdiskOptions::default()).unwrap_err();
    assert!(err.to_string().contains("both VHDX headers"), "{err}");

    // Damage the first region table: the second is used.
    let mut bad = file.clone();
    bad[0x30000 + 20] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let disk = vhdx::open(&p, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.anomalies[0].kind, "region_table_fallback");
    assert_same(&read_all(&*disk.source), &raw, "region table fallback");
    bad[0x40000 + 20] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    assert!(vhdx::open(&p, &VdiskOptions::default()).is_err());
}

#[test]
fn truncated_vhdx_reports_exactly_the_lost_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let (_img, file, raw) = image(dir.path());
    let lay = vhdx_layout(&file);
    let cut = file.len() - 3 * MIB as usize / 2 - 4096 * 3 - 100;
    let p = dir.path().join("cut.vhdx");
    std::fs::write(&p, &file[..cut]).unwrap();
    let disk = vhdx::open(&p, &VdiskOptions::default()).unwrap();
    // Expected, from the BAT: the part of each present block past the cut.
    let blocks = raw.len() / MIB as usize;
    let mut want: Vec<(u64, u64)> = Vec::new();
    for i in 0..blocks {
        let e = bat_entry(&file, lay.bat_offset, i);
        if e & 7 != 6 {
            continue;
        }
        let off = (e >> 20) << 20;
        if off + MIB > cut as u64 {
            let keep = (cut as u64).saturating_sub(off);
            want.push((i as u64 * MIB + keep, MIB - keep));
        }
    }
    want.sort();
    assert!(!want.is_empty());
    let got = unreadable_ranges(&*disk.source);
    assert_eq!(got, want);
    assert!(disk.info.anomalies.iter().any(|a| a.kind == "truncated"));
    // Every byte outside the lost ranges is still exact.
    let mut buf = vec![0u8; raw.len()];
    let (_, bad) = platter_core::read_filled(&*disk.source, &mut buf, 0, 0, 512).unwrap();
    assert_eq!(
        bad.iter().map(|e| (e.offset, e.len)).collect::<Vec<_>>(),
        want
    );
    for (o, l) in &want {
        buf[*o as usize..(*o + *l) as usize].copy_from_slice(&raw[*o as usize..(*o + *l) as usize]);
    }
    assert_same(&buf, &raw, "readable part");
}
