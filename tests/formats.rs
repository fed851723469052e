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
fn recognised_but_undecoded_signatures_are_named_in_the_note() {
    let dir = Dir::new();
    let cases: [(&[u8], &str, &str); 2] = [
        (b"QFI\xfb\0\0\0\x03", "qcow2", "qcow"),
        (b"EVF2\x0d\x0a\x81\x00", "ex01", "Ex01"),
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

/// A decoded format whose structures are garbage behind a valid magic is
/// an error naming the file, never silently raw bytes.
#[test]
fn decoded_formats_with_garbage_headers_are_clear_errors() {
    let dir = Dir::new();
    let cases: [(&[u8], &str); 4] = [
        (b"vhdxfile", "VHDX"),
        (b"EVF\x09\x0d\x0a\xff\x00", "E01"),
        (b"KDMV", "VMDK"),
        (b"# Disk DescriptorFile\n", "VMDK"),
    ];
    for (magic, label) in cases {
        let mut bytes = pattern(1 << 20, 9);
        bytes[..magic.len()].copy_from_slice(magic);
        let img = dir.write("disk.raw", &bytes);
        let out = platter().arg("info").arg(&img).assert().code(1);
        let stderr = text(&out.get_output().stderr);
        assert!(stderr.contains("disk.raw"), "{label}: {stderr}");
    }
}

#[test]
fn vhd_footer_at_the_end_is_decoded_or_refused() {
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
    // A footer with a valid checksum but no sane fields (disk type 0,
    // size 0): the VHD reader says what is wrong, naming the file.
    let out = platter().arg("info").arg(&img).assert().code(1);
    let stderr = text(&out.get_output().stderr);
    assert!(stderr.contains("fixed.bin"), "{stderr}");
}
