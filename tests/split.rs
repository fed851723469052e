//! Split raw sets: segments made with coreutils `split` read as one disk.

use std::ffi::OsStr;
use std::fs;

use crate::util::*;

#[test]
fn numeric_split_fixture_reports_segments_and_the_same_partitions() {
    let dir = Dir::new();
    let whole = dir.copy_fixture("gpt-ext4-fat.img", "whole.img");
    let segs = split_numeric(&whole, "1M", &dir.path("x"));
    assert!(segs.len() > 2, "{segs:?}");
    assert!(segs[0].ends_with("x.001"));

    let split = platter_json(&[OsStr::new("info"), segs[0].as_os_str()]);
    let plain = platter_json(&[OsStr::new("info"), whole.as_os_str()]);
    assert_eq!(split["format"]["name"], "split-raw");
    assert_eq!(split["size_bytes"], plain["size_bytes"]);
    assert_eq!(split["partition_table"], plain["partition_table"]);
    let listed: Vec<&str> = split["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = segs.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(listed, expected);
    for s in split["segments"].as_array().unwrap() {
        let len = fs::metadata(s["path"].as_str().unwrap()).unwrap().len();
        assert_eq!(s["size_bytes"].as_u64(), Some(len));
    }

    // The human report lists every segment.
    let out = platter().arg("info").arg(&segs[0]).assert().success();
    let stdout = text(&out.get_output().stdout);
    assert!(
        stdout.contains(&format!("segments:        {} files", segs.len())),
        "{stdout}"
    );
    for s in &segs {
        assert!(stdout.contains(s.to_str().unwrap()), "{stdout}");
    }
}

#[test]
fn extract_from_a_split_set_equals_extract_from_the_whole_image() {
    let dir = Dir::new();
    let whole = dir.patterned_gpt("whole.img");
    // 700K does not divide the sector size into the partition boundaries,
    // so partitions straddle segment ends.
    let segs = split_numeric(&whole, "700K", &dir.path("x"));
    for index in ["1", "3"] {
        let a = dir.path(&format!("whole-p{index}"));
        let b = dir.path(&format!("split-p{index}"));
        platter()
            .args(["parts", "extract", "-p", index, "-o"])
            .arg(&a)
            .arg(&whole)
            .assert()
            .success();
        platter()
            .args(["parts", "extract", "-p", index, "-o"])
            .arg(&b)
            .arg(&segs[0])
            .assert()
            .success();
        assert!(
            fs::read(&a).unwrap() == fs::read(&b).unwrap(),
            "partition {index}"
        );
    }
}

#[test]
fn alphabetic_split_and_writing_onto_a_segment_is_refused() {
    let dir = Dir::new();
    let whole = dir.patterned_gpt("whole.img");
    let segs = split_alpha(&whole, "3M", &dir.path("disk"));
    assert_eq!(segs.len(), 3);
    assert!(segs[1].ends_with("disk.ab"));
    let split = platter_json(&[OsStr::new("info"), segs[0].as_os_str()]);
    let plain = platter_json(&[OsStr::new("info"), whole.as_os_str()]);
    assert_eq!(split["format"]["name"], "split-raw");
    assert_eq!(split["partition_table"], plain["partition_table"]);

    let before = digest_of("sha256sum", &segs[2]);
    let res = platter()
        .args(["parts", "extract", "--force", "-p", "1", "-o"])
        .arg(&segs[2])
        .arg(&segs[0])
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.contains("segment of the source"), "{err}");
    assert_eq!(digest_of("sha256sum", &segs[2]), before);
}
