//! Format detection as the user sees it: unknown content opens as raw and
//! says so; recognised but undecoded signatures are named.

use std::ffi::OsStr;

use crate::util::*;

#[test]
fn unknown_content_is_raw_with_a_note() {
    let dir = Dir::new();
    // Named .vhdx on purpose: detection must not trust names.
    let img = dir.write("mystery.vhdx", &pattern(1 << 20, 7));
    let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["format"]["name"], "raw");
    assert!(v["detected"].is_null());
    assert_eq!(v["notes"][0], "no known signature: opened as raw");
    let out = platter().arg("info").arg(&img).assert().success();
    let stdout = text(&out.get_output().stdout);
    assert!(
        stdout.contains("no known signature: opened as raw"),
        "{stdout}"
    );
}

#[test]
fn recognised_signatures_are_named_in_the_note() {
    let dir = Dir::new();
    let cases: [(&[u8], &str, &str); 5] = [
        (b"vhdxfile", "vhdx", "VHDX"),
        (b"EVF\x09\x0d\x0a\xff\x00", "e01", "E01"),
        (b"KDMV", "vmdk", "VMDK"),
        (b"# Disk DescriptorFile\n", "vmdk", "VMDK"),
        (b"QFI\xfb\0\0\0\x03", "qcow2", "qcow"),
    ];
    for (magic, name, label) in cases {
        let mut bytes = pattern(1 << 20, 9);
        bytes[..magic.len()].copy_from_slice(magic);
        let img = dir.write("disk.raw", &bytes);
        let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
        assert_eq!(v["format"]["name"], "raw", "{label}");
        assert_eq!(v["detected"]["name"], name, "{label}");
        assert_eq!(v["size_bytes"], 1 << 20);
        let note = v["notes"][0].as_str().unwrap();
        assert!(
            note.contains(&format!("{label} signature found"))
                && note.contains(&format!("cannot decode {label} yet: opened as raw bytes")),
            "{note}"
        );
        let out = platter().arg("info").arg(&img).assert().success();
        let stdout = text(&out.get_output().stdout);
        assert!(stdout.contains(note), "{stdout}");
    }
}

#[test]
fn vhd_footer_at_the_end_is_recognised() {
    let dir = Dir::new();
    let mut bytes = pattern(1 << 20, 11);
    let mut footer = [0u8; 512];
    footer[..8].copy_from_slice(b"conectix");
    let sum = footer
        .iter()
        .fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
    footer[64..68].copy_from_slice(&(!sum).to_be_bytes());
    let n = bytes.len();
    bytes[n - 512..].copy_from_slice(&footer);
    let img = dir.write("fixed.bin", &bytes);
    let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["detected"]["name"], "vhd");
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("VHD signature found at offset 0xffe00")
    );
}
