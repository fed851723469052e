//! Tests of the recognise-only probes: each signature on a temp file, and the
//! raw fallback.

use std::fs;
use std::path::Path;

use platter_core::sys::OpenOptions;

use super::*;
use crate::registry::{NO_SIGNATURE_NOTE, Registry};

/// Opens `path` with the recognisers alone: the builtin registry decodes
/// VMDK, VHD and VHDX (see `vdisk_probe`), these tests cover recognition.
fn open(path: &Path, opts: &OpenOptions) -> crate::Result<crate::Opened> {
    let mut reg = Registry::empty();
    recognisers().into_iter().for_each(|p| reg.register(p));
    reg.open(path, opts)
}

const SIZE: usize = 256 * 1024;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn with_head(magic: &[u8]) -> Vec<u8> {
    let mut b = vec![0x5au8; SIZE];
    b[..magic.len()].copy_from_slice(magic);
    b
}

/// A 512-byte VHD footer with a correct checksum.
fn vhd_footer() -> [u8; 512] {
    let mut f = [0u8; 512];
    f[..8].copy_from_slice(b"conectix");
    f[60..64].copy_from_slice(&2u32.to_be_bytes()); // fixed disk
    let sum = f.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// Opens `bytes` (named misleadingly, to prove the name is not used) and
/// checks the detected format and the note.
fn assert_recognised(bytes: &[u8], name: &str, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "evidence.raw", bytes);
    let opened = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(opened.format, Format::RAW);
    assert_eq!(opened.detected.map(|f| f.name), Some(name));
    assert_eq!(opened.notes.len(), 1, "{:?}", opened.notes);
    let note = &opened.notes[0];
    assert!(
        note.starts_with(&format!("{label} signature found at offset")),
        "{note}"
    );
    assert!(
        note.ends_with(&format!("cannot decode {label} yet: opened as raw bytes")),
        "{note}"
    );
    // Opened as raw: the bytes are exactly the file's.
    assert_eq!(opened.source.len(), bytes.len() as u64);
    let mut buf = vec![0u8; bytes.len()];
    opened.source.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(buf, bytes);
}

#[test]
fn e01() {
    assert_recognised(&with_head(EWF_MAGIC), "e01", "E01");
}

#[test]
fn ex01() {
    assert_recognised(&with_head(EWF2_MAGIC), "ex01", "Ex01");
}

#[test]
fn vhdx() {
    assert_recognised(&with_head(b"vhdxfile"), "vhdx", "VHDX");
}

#[test]
fn vmdk_sparse_cowd_sesparse_and_descriptor() {
    assert_recognised(&with_head(b"KDMV\x01\0\0\0"), "vmdk", "VMDK");
    assert_recognised(&with_head(b"COWD\x01\0\0\0"), "vmdk", "VMDK");
    assert_recognised(&with_head(&0xcafe_babe_u64.to_le_bytes()), "vmdk", "VMDK");
    let desc = b"# Disk DescriptorFile\nversion=1\nCID=fffffffe\ncreateType=\"monolithicFlat\"\n";
    assert_recognised(desc, "vmdk", "VMDK");
}

#[test]
fn qcow2() {
    assert_recognised(&with_head(b"QFI\xfb\0\0\0\x03"), "qcow2", "qcow");
}

#[test]
fn vhd_footer_at_end_and_copy_at_start() {
    let mut fixed = vec![0x11u8; SIZE];
    fixed[SIZE - 512..].copy_from_slice(&vhd_footer());
    assert_recognised(&fixed, "vhd", "VHD");

    let mut dynamic = vec![0x11u8; SIZE];
    dynamic[..512].copy_from_slice(&vhd_footer());
    assert_recognised(&dynamic, "vhd", "VHD");
}

#[test]
fn vhd_checksum_sets_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut good = vec![0u8; 4096];
    good[4096 - 512..].copy_from_slice(&vhd_footer());
    let mut bad = good.clone();
    bad[4096 - 512 + 100] ^= 1;
    let reg = Registry::builtin();
    for (bytes, want) in [(good, Confidence::Certain), (bad, Confidence::Likely)] {
        let path = write(dir.path(), "x", &bytes);
        let ctx = crate::registry::base_context(&path, &OpenOptions::default()).unwrap();
        let hits = reg.detect(&ctx);
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0.name(), hits[0].1), ("vhd", want));
    }
}

#[test]
fn unknown_content_opens_as_raw_with_note() {
    let dir = tempfile::tempdir().unwrap();
    // Named like a VHDX, but the content is not: the name must not matter.
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let path = write(dir.path(), "disk.vhdx", &bytes);
    let opened = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(opened.format, Format::RAW);
    assert_eq!(opened.detected, None);
    assert_eq!(opened.notes, vec![NO_SIGNATURE_NOTE.to_string()]);
    assert_eq!(opened.segments, vec![path.clone()]);
    assert!(opened.device.is_none());
}

#[test]
fn empty_and_tiny_files_open_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    for bytes in [&b""[..], b"KDM", b"conecti"] {
        let path = write(dir.path(), "tiny", bytes);
        let opened = open(&path, &OpenOptions::default()).unwrap();
        assert_eq!(opened.detected, None, "{bytes:?}");
        assert_eq!(opened.source.len(), bytes.len() as u64);
    }
}

#[test]
fn magic_elsewhere_is_not_a_signature() {
    // "vhdxfile" at offset 1 and "conectix" not at a footer position.
    let mut bytes = vec![0u8; SIZE];
    bytes[1..9].copy_from_slice(b"vhdxfile");
    bytes[SIZE - 1024..SIZE - 1016].copy_from_slice(b"conectix");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x", &bytes);
    let opened = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(opened.detected, None);
}

#[test]
fn split_set_is_probed_like_any_source() {
    let dir = tempfile::tempdir().unwrap();
    let whole = with_head(b"vhdxfile");
    for (i, chunk) in whole.chunks(100_000).enumerate() {
        write(dir.path(), &format!("img.{:03}", i + 1), chunk);
    }
    let opened = open(&dir.path().join("img.001"), &OpenOptions::default()).unwrap();
    assert_eq!(opened.format, Format::SPLIT_RAW);
    assert_eq!(opened.detected.map(|f| f.name), Some("vhdx"));
    assert_eq!(opened.segments.len(), 3);
    assert_eq!(opened.source.len(), whole.len() as u64);
    let mut buf = vec![0u8; whole.len()];
    opened.source.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(buf, whole);
}

#[test]
fn a_later_segment_opens_alone_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "img.001", &[1u8; 1000]);
    let second = write(dir.path(), "img.002", &[2u8; 700]);
    let opened = open(&second, &OpenOptions::default()).unwrap();
    assert_eq!(opened.format, Format::RAW);
    assert_eq!(opened.source.len(), 700);
    let hint = opened.notes.last().unwrap();
    assert!(
        hint.contains("later segment") && hint.contains("img.001"),
        "{hint}"
    );
}

#[test]
fn split_set_detects_the_footer_in_the_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut whole = vec![0x22u8; SIZE];
    whole[SIZE - 512..].copy_from_slice(&vhd_footer());
    for (i, chunk) in whole.chunks(SIZE / 2 + 7).enumerate() {
        let suffix = ["aa", "ab"][i];
        write(dir.path(), &format!("disk.{suffix}"), chunk);
    }
    let opened = open(&dir.path().join("disk.aa"), &OpenOptions::default()).unwrap();
    assert_eq!(opened.format, Format::SPLIT_RAW);
    assert_eq!(opened.detected.map(|f| f.name), Some("vhd"));
}

/// A probe standing in for a real decoder, to test the registry's plumbing.
struct FakeDecoder;

impl FormatProbe for FakeDecoder {
    fn name(&self) -> &'static str {
        "vhdx"
    }
    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence> {
        ctx.starts_with(b"vhdxfile").then_some(Confidence::Certain)
    }
    fn open(&self, ctx: &ProbeContext) -> Result<Opened> {
        let inner = platter_core::Window::new(ctx.base().clone(), 8, ctx.len() - 8)?;
        let format = Format {
            name: "vhdx",
            description: "test decoder",
        };
        Ok(ctx.opened(std::sync::Arc::new(inner), format))
    }
}

#[test]
fn a_registered_decoder_replaces_the_recogniser() {
    let mut reg = Registry::builtin();
    let before = reg.names();
    reg.register(Box::new(FakeDecoder));
    assert_eq!(reg.names(), before, "replaced in place, not appended");

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x", &with_head(b"vhdxfile"));
    let opened = reg.open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(opened.format.description, "test decoder");
    assert!(opened.notes.is_empty());
    assert_eq!(opened.source.len(), SIZE as u64 - 8);
}

#[test]
fn most_confident_probe_wins() {
    // Starts like a VMDK (Likely) but ends with a valid VHD footer (Certain).
    let mut bytes = with_head(b"KDMV");
    bytes[SIZE - 512..].copy_from_slice(&vhd_footer());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x", &bytes);
    let opened = open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(opened.detected.map(|f| f.name), Some("vhd"));
}

#[test]
fn empty_registry_opens_everything_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x", &with_head(b"vhdxfile"));
    let opened = Registry::empty()
        .open(&path, &OpenOptions::default())
        .unwrap();
    assert_eq!(opened.detected, None);
    assert_eq!(opened.notes, vec![NO_SIGNATURE_NOTE.to_string()]);
}

#[test]
fn missing_file_and_directory_fail_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.img");
    let err = open(&missing, &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nope.img"), "{err}");
    let err = open(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("directory"), "{err}");
}
