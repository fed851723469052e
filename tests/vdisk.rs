//! `platter vdisk info/extract` on VHD and VHDX images made by qemu-img:
//! output equal to `qemu-img convert -O raw`, digests equal to
//! md5sum/sha256sum, partitions equal to `dd` of the sfdisk range, sparse
//! output, damaged images (exit 3 and a ddrescue mapfile checked with
//! ddrescuelog), and the output safety rules.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// Converts `src` (raw) to `fmt` with qemu-img options `opts`.
fn qemu_convert(src: &Path, fmt: &str, opts: &str, out: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", fmt, "-o", opts])
        .arg(src)
        .arg(out));
}

/// `qemu-img convert -O raw` of `img`.
fn qemu_raw(img: &Path, fmt: &str, dir: &Dir) -> Vec<u8> {
    let out = dir.path("qemu.raw");
    let _ = fs::remove_file(&out);
    run(Command::new("qemu-img")
        .args(["convert", "-f", fmt, "-O", "raw"])
        .arg(img)
        .arg(&out));
    fs::read(&out).unwrap()
}

fn vdisk_json(args: &[&OsStr]) -> serde_json::Value {
    let mut all = vec![OsStr::new("vdisk")];
    all.extend_from_slice(args);
    platter_json(&all)
}

#[test]
fn extract_equals_qemu_img_and_digests_equal_md5sum() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    for (fmt, opts, name) in [
        ("vhdx", "block_size=1M", "d.vhdx"),
        ("vpc", "subformat=dynamic,force_size=on", "d.vhd"),
        ("vpc", "subformat=fixed,force_size=on", "f.vhd"),
    ] {
        let img = dir.path(name);
        qemu_convert(&src, fmt, opts, &img);
        let out = dir.path(&format!("{name}.raw"));
        let res = platter()
            .args(["vdisk", "extract", "--json", "-q"])
            .arg(&img)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&res.get_output().stdout).unwrap();
        assert_eq!(fs::read(&out).unwrap(), qemu_raw(&img, fmt, &dir), "{name}");
        assert_eq!(v["digests"][0]["hex"], digest_of("md5sum", &out), "{name}");
        assert_eq!(
            v["digests"][1]["hex"],
            digest_of("sha256sum", &out),
            "{name}"
        );
        assert_eq!(v["unreadable_bytes"], 0);
        assert!(v["bad_map"].is_null());
    }
}

#[test]
fn partition_equals_dd_of_the_sfdisk_range() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    let img = dir.path("d.vhdx");
    qemu_convert(&src, "vhdx", "block_size=1M", &img);
    let sf = sfdisk_json(&src);
    let p = &sf["partitions"][1];
    let (start, size) = (
        p["start"].as_u64().unwrap() * 512,
        p["size"].as_u64().unwrap() * 512,
    );
    let out = dir.path("p2.raw");
    platter()
        .args(["vdisk", "extract", "-q", "--partition", "2"])
        .arg(&img)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(fs::read(&out).unwrap(), dd_range(&src, start, size));
}

#[test]
fn sparse_output_has_holes_and_the_same_bytes() {
    let dir = Dir::new();
    let src = dir.sfdisk_image("src.raw", 64 << 20, "label: dos\nstart=2048, type=83\n");
    let img = dir.path("d.vhd");
    qemu_convert(&src, "vpc", "subformat=dynamic,force_size=on", &img);
    let out = dir.path("out.raw");
    platter()
        .args(["vdisk", "extract", "-q", "--sparse"])
        .arg(&img)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(fs::read(&out).unwrap(), fs::read(&src).unwrap());
    let meta = fs::metadata(&out).unwrap();
    assert_eq!(meta.len(), 64 << 20);
    assert!(
        meta.blocks() * 512 < 4 << 20,
        "{} bytes allocated",
        meta.blocks() * 512
    );
}

#[test]
fn info_reports_format_chain_and_partitions() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    let img = dir.path("d.vhdx");
    qemu_convert(&src, "vhdx", "block_size=8M", &img);
    let v = vdisk_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["format"], "vhdx");
    assert_eq!(v["subformat"], "dynamic");
    assert_eq!(v["virtual_size"], 8 << 20);
    assert_eq!(v["block_size"], 8 << 20);
    assert_eq!(v["chain"][0]["status"], "ok");
    assert_eq!(
        v["partition_table"]["partitions"].as_array().unwrap().len(),
        3
    );
    assert!(v["anomalies"].as_array().unwrap().is_empty());
    let out = platter()
        .args(["vdisk", "info"])
        .arg(&img)
        .assert()
        .success();
    let t = text(&out.get_output().stdout);
    assert!(
        t.contains("vhdx (dynamic)") && t.contains("anomalies: none"),
        "{t}"
    );
    // `platter info` decodes it through the registry too.
    let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["format"]["name"], "vhdx");
    assert_eq!(v["size_bytes"], 8 << 20);
}

#[test]
fn truncated_image_exits_3_with_a_mapfile_of_the_lost_ranges() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    let img = dir.path("d.vhdx");
    qemu_convert(&src, "vhdx", "block_size=1M", &img);
    let bytes = fs::read(&img).unwrap();
    let cut = dir.write("cut.vhdx", &bytes[..bytes.len() - (1 << 20) - 5000]);
    let out = dir.path("out.raw");
    let res = platter()
        .args(["vdisk", "extract", "--json", "-q"])
        .arg(&cut)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(3);
    let v: serde_json::Value = serde_json::from_slice(&res.get_output().stdout).unwrap();
    let lost = ranges(&v["unreadable"]);
    assert!(!lost.is_empty());
    assert!(
        v["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "truncated")
    );
    let map = PathBuf::from(v["bad_map"].as_str().unwrap());
    assert_eq!(map, dir.path("out.raw.map"));
    let mut want: Vec<u64> = Vec::new();
    for (o, l) in &lost {
        want.extend(o / 512..(o + l) / 512);
    }
    assert_eq!(ddrescuelog_list(&map, "-"), want);
    // Outside the lost ranges the output equals the original.
    let got = fs::read(&out).unwrap();
    let orig = fs::read(&src).unwrap();
    let mut pos = 0u64;
    for (o, l) in &lost {
        assert_eq!(
            got[pos as usize..*o as usize],
            orig[pos as usize..*o as usize]
        );
        assert!(got[*o as usize..(o + l) as usize].iter().all(|&b| b == 0));
        pos = o + l;
    }
    assert_eq!(got[pos as usize..], orig[pos as usize..]);
    // Strict mode refuses the damaged image.
    platter()
        .args(["vdisk", "info", "--strict"])
        .arg(&cut)
        .assert()
        .code(1);
}

#[test]
fn refuses_to_overwrite_or_write_onto_the_image() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    let img = dir.path("d.vhd");
    qemu_convert(&src, "vpc", "subformat=dynamic", &img);
    let before = fs::read(&img).unwrap();
    let link = dir.path("link.raw");
    fs::hard_link(&img, &link).unwrap();
    for target in [&img, &link] {
        let res = platter()
            .args(["vdisk", "extract", "-q", "--force"])
            .arg(&img)
            .arg("-o")
            .arg(target)
            .assert()
            .code(1);
        let err = text(&res.get_output().stderr);
        assert!(err.contains("refusing to write"), "{err}");
    }
    let existing = dir.write("exists.raw", b"keep");
    let res = platter()
        .args(["vdisk", "extract", "-q"])
        .arg(&img)
        .arg("-o")
        .arg(&existing)
        .assert()
        .code(1);
    assert!(text(&res.get_output().stderr).contains("--force"));
    assert_eq!(fs::read(&existing).unwrap(), b"keep");
    assert_eq!(fs::read(&img).unwrap(), before);
}

#[test]
fn garbage_behind_a_signature_is_a_clear_error_naming_file_and_offset() {
    let dir = Dir::new();
    let mut bytes = pattern(1 << 20, 9);
    bytes[..8].copy_from_slice(b"vhdxfile");
    let img = dir.write("fake.vhdx", &bytes);
    for args in [&["info"][..], &["vdisk", "info"][..]] {
        let res = platter().args(args).arg(&img).assert().code(1);
        let err = text(&res.get_output().stderr);
        assert!(
            err.contains("fake.vhdx")
                && err.contains("both VHDX headers are damaged at offset 0x10000"),
            "{err}"
        );
    }
}

#[test]
fn a_vhd_split_in_segments_decodes_through_the_registry() {
    let dir = Dir::new();
    let src = dir.patterned_gpt("src.raw");
    let img = dir.path("d.vhd");
    qemu_convert(&src, "vpc", "subformat=dynamic,force_size=on", &img);
    let segments = split_numeric(&img, "3M", &dir.path("seg"));
    assert!(segments.len() > 1);
    let v = platter_json(&[OsStr::new("info"), segments[0].as_os_str()]);
    assert_eq!(v["format"]["name"], "vhd");
    assert_eq!(v["size_bytes"], 8 << 20);
    // The partitions inside are read through the decoded disk.
    let out = dir.path("p1.raw");
    platter()
        .args(["parts", "extract", "-q", "-p", "1"])
        .arg(&segments[0])
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        fs::read(&out).unwrap(),
        dd_range(&src, 2048 * 512, 4096 * 512)
    );
}
