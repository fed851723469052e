//! E01 images through the CLI: `info` shows the case metadata, stored
//! digests, error2 ranges, segments and damaged chunks; an E01 made by
//! `ewfacquire` is a source like any other (its partitions extract
//! byte-exact against `dd` of the original).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::CaseInfo;
use platter_ewf::{Compression, EwfWriter, WriteOptions};

use crate::util::*;

/// Writes `media` as an E01 with our writer (MD5/SHA-1 of the media given
/// as stored digests, computed by md5sum/sha1sum of a copy).
fn write_e01(
    dir: &Dir,
    name: &str,
    media: &[u8],
    segment_size: u64,
    errors: &[(u64, u64)],
) -> Vec<PathBuf> {
    let raw = dir.write(&format!("{name}.src"), media);
    let md5 = hex_bytes::<16>(&digest_of("md5sum", &raw));
    let sha1 = hex_bytes::<20>(&digest_of("sha1sum", &raw));
    let opts = WriteOptions {
        segment_size,
        compression: Compression::Fast,
        case: CaseInfo {
            case_number: Some("CLI-CASE-9".into()),
            evidence_number: Some("item 3".into()),
            examiner: Some("R. Tester".into()),
            description: Some("USB stick".into()),
            notes: Some("bagged".into()),
        },
        media_size: media.len() as u64,
        threads: 2,
        ..Default::default()
    };
    let mut w = EwfWriter::create(&dir.path(&format!("{name}.E01")), &opts).unwrap();
    w.write(media).unwrap();
    for &(s, n) in errors {
        w.add_read_error(s, n);
    }
    w.finish(md5, sha1).unwrap().segments
}

fn hex_bytes<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            if (i / 40_000) % 3 == 0 {
                return 0;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn info_shows_case_metadata_digests_error2_and_segments() {
    let dir = Dir::new();
    let media = noise(3 << 20, 5);
    let segs = write_e01(&dir, "ev", &media, 1 << 20, &[(2048, 16)]);
    assert!(segs.len() >= 2);
    let src = dir.path("ev.src");

    let v = platter_json(&[OsStr::new("info"), segs[0].as_os_str()]);
    assert_eq!(v["format"]["name"], "e01");
    assert_eq!(v["size_bytes"], media.len() as u64);
    assert_eq!(v["segments"].as_array().unwrap().len(), segs.len());
    let props = v["metadata"]["properties"].as_array().unwrap();
    let prop = |k: &str| {
        props
            .iter()
            .find(|p| p[0] == k)
            .and_then(|p| p[1].as_str())
            .map(str::to_string)
    };
    assert_eq!(prop("case number").as_deref(), Some("CLI-CASE-9"));
    assert_eq!(prop("evidence number").as_deref(), Some("item 3"));
    assert_eq!(prop("examiner").as_deref(), Some("R. Tester"));
    assert!(
        prop("read error")
            .unwrap()
            .starts_with("sectors 2048..2064")
    );
    let digests = v["metadata"]["stored_digests"].as_array().unwrap();
    assert_eq!(digests[0]["algorithm"], "md5");
    assert_eq!(digests[0]["hex"], digest_of("md5sum", &src));
    assert_eq!(digests[1]["algorithm"], "sha1");
    assert_eq!(digests[1]["hex"], digest_of("sha1sum", &src));

    let out = platter().arg("info").arg(&segs[0]).assert().success();
    let t = text(&out.get_output().stdout);
    for want in [
        "format:          e01",
        "case number:     CLI-CASE-9",
        "description:     USB stick",
        "notes:           bagged",
        &format!("stored md5:      {}", digest_of("md5sum", &src)),
        "read error:      sectors 2048..2064 (16 sectors",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    assert!(t.contains(&segs[1].display().to_string()), "{t}");
}

#[test]
fn ewfacquire_image_is_a_source_its_partitions_extract_exactly() {
    let dir = Dir::new();
    let img = dir.sfdisk_image(
        "disk.img",
        6 << 20,
        "label: gpt\nstart=2048, size=4096, type=linux\nstart=6144, size=4096, type=linux\n",
    );
    // Fill the partitions with something worth compressing and not.
    let mut bytes = fs::read(&img).unwrap();
    let fill = noise(4096 * 512 * 2, 9);
    bytes[2048 * 512..(2048 + 8192) * 512].copy_from_slice(&fill);
    fs::write(&img, &bytes).unwrap();
    let target = dir.path("acq");
    run(Command::new("ewfacquire")
        .args([
            "-u", "-q", "-c", "best", "-S", "1048576", "-C", "acq-case", "-t",
        ])
        .arg(&target)
        .arg(&img));
    let first = dir.path("acq.E01");
    let v = platter_json(&[OsStr::new("info"), first.as_os_str()]);
    assert_eq!(v["format"]["name"], "e01");
    assert_eq!(v["partition_table"]["scheme"], "gpt");
    assert_eq!(
        v["metadata"]["stored_digests"][0]["hex"],
        digest_of("md5sum", &img)
    );
    for index in [1u64, 2] {
        let out = dir.path(&format!("p{index}.img"));
        platter()
            .args(["parts", "extract"])
            .arg(&first)
            .args(["--partition", &index.to_string(), "-o"])
            .arg(&out)
            .assert()
            .success();
        let start = if index == 1 { 2048 } else { 6144 } * 512;
        assert!(fs::read(&out).unwrap() == dd_range(&img, start, 4096 * 512));
    }
    // Writing onto any segment of the set is refused.
    platter()
        .args(["parts", "extract"])
        .arg(&first)
        .args(["--partition", "1", "--force", "-o"])
        .arg(dir.path("acq.E02"))
        .assert()
        .failure();
}

fn damage(path: &Path, at_from_end: usize) {
    let mut b = fs::read(path).unwrap();
    let table = b.windows(8).position(|w| w == b"table\0\0\0").unwrap();
    b[table - at_from_end] ^= 0x40;
    fs::write(path, b).unwrap();
}

#[test]
fn info_reports_a_damaged_chunk_and_a_missing_segment() {
    let dir = Dir::new();
    let media = noise(3 << 20, 7);
    let segs = write_e01(&dir, "bad", &media, 1 << 20, &[]);
    damage(&segs[0], 500);
    let out = platter().arg("info").arg(&segs[0]).assert().success();
    let t = text(&out.get_output().stdout);
    assert!(t.contains("image anomalies: 1"), "{t}");
    let line = t.lines().find(|l| l.contains("is unreadable")).unwrap();
    assert!(
        line.contains("bad.E01 at offset 0x") && line.contains("chunk "),
        "{line}"
    );

    fs::remove_file(&segs[1]).unwrap();
    let out = platter().arg("info").arg(&segs[0]).assert().code(1);
    let err = text(&out.get_output().stderr);
    assert!(err.contains("bad.E02 does not exist"), "{err}");
}
