//! `platter raid examine` and `platter raid assemble` on SNIA DDF members.
//! There is no controller here, so the members are written by the
//! platter-raid tests' independent DDF encoder (`metadata_util::ddf`, from
//! mdadm `super-ddf.c`), and the data by this suite's own RAID5 striper:
//! the assembled array must be the disk that was striped, byte for byte.

use std::ffi::OsStr;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

#[path = "../crates/platter-raid/tests/metadata_util/mod.rs"]
mod metadata_util;

use metadata_util::ddf::{DdfImage, Vd, guid};

use crate::raid_util::*;
use crate::util::*;

/// Blocks of 512 bytes per member (metadata sits in the last 4096).
const MEMBER_BLOCKS: u64 = 8192;
/// Data blocks per member, from LBA 0.
const DATA_BLOCKS: u64 = 2048;
const STRIP: usize = 64 << 10;

/// Four DDF RAID5 members (RLQ 3: md left-symmetric, 64 KiB strips)
/// holding `disk`, plus a second, two-member RAID1 virtual disk named
/// "mirror" after it in the same container. Returns the member paths by slot.
fn ddf_members(dir: &Dir, disk: &[u8]) -> Vec<PathBuf> {
    let data = stripe_raid5_ls(disk, 4, STRIP, 0);
    (0..4)
        .map(|i| {
            let mut img = DdfImage::raid5(i);
            img.blocks = MEMBER_BLOCKS;
            for pd in &mut img.pds {
                pd.config_size = 2 * DATA_BLOCKS;
            }
            let c = &mut img.confs[0];
            c.blocks = DATA_BLOCKS;
            c.array_blocks = 3 * DATA_BLOCKS;
            let mut mirror = c.clone();
            mirror.vd_guid = guid("Linux-MD VD1");
            mirror.prim_count = 2;
            mirror.prl = 0x01;
            mirror.rlq = 0x00;
            mirror.array_blocks = DATA_BLOCKS;
            mirror.refs = img.pds[..2].iter().map(|p| p.refnum).collect();
            mirror.lbas = vec![DATA_BLOCKS; 2];
            img.confs.push(mirror);
            img.vds.push(Vd {
                guid: guid("Linux-MD VD1"),
                number: 1,
                state: 0,
                init_state: 2,
                name: "mirror".into(),
            });
            let path = dir.path(&format!("ddf-d{i}.img"));
            img.member(&format!("ddf-d{i}")).write_file(&path);
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.write_all_at(&data[i], 0).unwrap();
            path
        })
        .collect()
}

#[test]
fn ddf_members_examine_and_assemble_in_any_order() {
    let dir = Dir::new();
    let disk = random_bytes(3 * DATA_BLOCKS as usize * 512, 0xDDF);
    let disk_path = dir.write("disk.img", &disk);
    let m = ddf_members(&dir, &disk);

    // examine: one entry per virtual disk the member belongs to.
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("examine")];
    args.extend(m.iter().map(|p| p.as_os_str()));
    let (code, ex, err) = json_run(&args);
    assert_eq!(code, 0, "{err}");
    let d1 = &ex["members"][1];
    assert_eq!(d1["metadata"], "DDF 01.02.00");
    let arrays = d1["arrays"].as_array().unwrap();
    assert_eq!(arrays.len(), 2, "{d1}");
    let r5 = arrays.iter().find(|a| a["array_name"] == "bigvol").unwrap();
    assert_eq!(r5["level"], "raid5");
    assert_eq!(r5["layout"], "left-symmetric");
    assert_eq!(r5["chunk_bytes"], STRIP);
    assert_eq!(r5["raid_disks"], 4);
    assert_eq!(r5["slot"], 1);
    assert_eq!(r5["data_offset_bytes"], 0);
    assert_eq!(r5["data_size_bytes"], DATA_BLOCKS * 512);
    assert_eq!(r5["checksum_ok"], true);
    let mirror = arrays.iter().find(|a| a["array_name"] == "mirror").unwrap();
    assert_eq!(mirror["level"], "raid1");
    assert_eq!(mirror["data_offset_bytes"], DATA_BLOCKS * 512);
    // Disks 2 and 3 are not in the mirror: only the RAID5 is listed.
    assert_eq!(ex["members"][3]["arrays"].as_array().unwrap().len(), 1);
    let human = platter()
        .args(["raid", "examine"])
        .args(&m)
        .output()
        .unwrap();
    let stdout = text(&human.stdout);
    assert!(stdout.contains("  virtual disk:  "), "{stdout}");
    assert!(stdout.contains("  sequence:      "), "{stdout}");

    // assemble: the RAID5 virtual disk by name, members shuffled.
    let given = [m[2].clone(), m[0].clone(), m[3].clone(), m[1].clone()];
    let out = dir.path("out.img");
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend(given.iter().map(|p| p.as_os_str()));
    args.extend([
        OsStr::new("--virtual-disk"),
        OsStr::new("bigvol"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    let (code, report, err) = json_run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        digest_of("sha256sum", &out),
        digest_of("sha256sum", &disk_path)
    );
    assert_eq!(report["metadata"]["source"]["format"], "ddf");
    assert_eq!(report["metadata"]["array_name"], "bigvol");
    assert_eq!(report["members"][0]["path"], m[0].to_str().unwrap());

    // The mirror, from its two members only.
    let out1 = dir.path("mirror.img");
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend([m[1].as_os_str(), m[0].as_os_str()]);
    args.extend([
        OsStr::new("--virtual-disk=mirror"),
        OsStr::new("-o"),
        out1.as_os_str(),
    ]);
    let (code, report, err) = json_run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["level"], "raid1");
    assert_eq!(report["array_size_bytes"], DATA_BLOCKS * 512);

    // A virtual disk that is not there: the error lists those that are.
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend(m.iter().map(|p| p.as_os_str()));
    let o = dir.path("x.img");
    args.extend([
        OsStr::new("--virtual-disk=nope"),
        OsStr::new("-o"),
        o.as_os_str(),
    ]);
    let err = fails(&args);
    assert!(
        err.contains("nope") && err.contains("bigvol") && err.contains("mirror"),
        "{err}"
    );
}
