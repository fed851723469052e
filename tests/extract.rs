//! `platter parts extract`: output equals `dd` of the partition's range,
//! printed digests equal md5sum/sha256sum, and the output safety rules.

use std::fs;

use crate::util::*;

/// Byte range of partition `index` as sfdisk sees it.
fn sfdisk_range(image: &std::path::Path, index: u64) -> (u64, u64) {
    let sf = sfdisk_json(image);
    let sector = sf["sectorsize"].as_u64().unwrap_or(512);
    let p = sf["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| sfdisk_index(p) == index)
        .unwrap();
    (
        p["start"].as_u64().unwrap() * sector,
        p["size"].as_u64().unwrap() * sector,
    )
}

/// The value printed after `label:` on a report line.
fn reported(report: &str, label: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no {label} line in:\n{report}"))
        .trim()
        .to_string()
}

#[test]
fn output_equals_dd_and_digests_equal_md5sum_and_sha256sum() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    for index in 1..=3u64 {
        let out = dir.path(&format!("p{index}.img"));
        let res = platter()
            .args(["parts", "extract"])
            .arg(&img)
            .args(["--partition", &index.to_string(), "-o"])
            .arg(&out)
            .assert()
            .success();
        let (start, len) = sfdisk_range(&img, index);
        let got = fs::read(&out).unwrap();
        assert_eq!(got.len() as u64, len);
        assert!(
            got == dd_range(&img, start, len),
            "partition {index} differs from dd"
        );
        let report = text(&res.get_output().stdout);
        assert_eq!(
            reported(&report, "md5"),
            digest_of("md5sum", &out),
            "{report}"
        );
        assert_eq!(
            reported(&report, "sha256"),
            digest_of("sha256sum", &out),
            "{report}"
        );
        assert!(
            reported(&report, "bytes written").starts_with(&format!("{len} ")),
            "{report}"
        );
        assert_eq!(reported(&report, "unreadable"), "none");
    }
}

#[test]
fn hash_choice_block_size_and_json_report() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let out = dir.path("p2.img");
    let res = platter()
        .args(["parts", "extract"])
        .arg(&img)
        .args([
            "-p",
            "2",
            "--hash",
            "sha1",
            "--block-size",
            "4K",
            "--json",
            "-o",
        ])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&res.get_output().stdout).unwrap();
    let (start, len) = sfdisk_range(&img, 2);
    assert_eq!(v["partition"], 2);
    assert_eq!(v["start_bytes"].as_u64(), Some(start));
    assert_eq!(v["bytes"].as_u64(), Some(len));
    assert_eq!(v["output"].as_str(), out.to_str());
    assert_eq!(v["unreadable"].as_array().unwrap().len(), 0);
    let digests = v["digests"].as_array().unwrap();
    assert_eq!(digests.len(), 1, "only the asked algorithm: {v:#}");
    assert_eq!(digests[0]["alg"], "sha1");
    assert_eq!(
        digests[0]["hex"].as_str().unwrap(),
        digest_of("sha1sum", &out)
    );
    assert!(fs::read(&out).unwrap() == dd_range(&img, start, len));
}

#[test]
fn mmap_reads_the_same_bytes() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let out = dir.path("p3.img");
    platter()
        .args(["--mmap", "parts", "extract", "-p", "3", "-o"])
        .arg(&out)
        .arg(&img)
        .assert()
        .success();
    let (start, len) = sfdisk_range(&img, 3);
    assert!(fs::read(&out).unwrap() == dd_range(&img, start, len));
}

#[test]
fn refuses_an_existing_output_unless_forced() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let out = dir.write("existing.img", b"keep me");
    let res = platter()
        .args(["parts", "extract"])
        .arg(&img)
        .args(["-p", "2", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.starts_with("platter: error: "), "{err}");
    assert!(
        err.contains("existing.img") && err.contains("already exists"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(fs::read(&out).unwrap(), b"keep me");

    platter()
        .args(["parts", "extract", "--force", "-q"])
        .arg(&img)
        .args(["-p", "2", "-o"])
        .arg(&out)
        .assert()
        .success();
    let (start, len) = sfdisk_range(&img, 2);
    assert!(fs::read(&out).unwrap() == dd_range(&img, start, len));
}

#[test]
fn never_writes_onto_the_source_even_with_force() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let before = digest_of("sha256sum", &img);
    let link = dir.path("link.img");
    std::os::unix::fs::symlink(&img, &link).unwrap();
    let hard = dir.path("hard.img");
    fs::hard_link(&img, &hard).unwrap();
    for out in [&img, &link, &hard] {
        let res = platter()
            .args(["parts", "extract", "--force"])
            .arg(&img)
            .args(["-p", "1", "-o"])
            .arg(out)
            .assert()
            .code(1);
        let err = text(&res.get_output().stderr);
        assert!(err.contains("refusing to write to"), "{err}");
        assert!(err.contains("same file as the source"), "{err}");
    }
    assert_eq!(
        digest_of("sha256sum", &img),
        before,
        "the source was modified"
    );
}

#[test]
fn stdout_output_carries_the_data_and_the_report_goes_to_stderr() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let res = platter()
        .args(["parts", "extract"])
        .arg(&img)
        .args(["-p", "2", "-o", "-"])
        .assert()
        .success();
    let (start, len) = sfdisk_range(&img, 2);
    let data = &res.get_output().stdout;
    assert!(
        *data == dd_range(&img, start, len),
        "stdout differs from dd"
    );
    let copy = dir.write("copy.img", data);
    let report = text(&res.get_output().stderr);
    assert_eq!(
        reported(&report, "md5"),
        digest_of("md5sum", &copy),
        "{report}"
    );
}

#[test]
fn stdout_appending_to_the_source_is_refused() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let before = fs::metadata(&img).unwrap().len();
    let file = fs::OpenOptions::new().append(true).open(&img).unwrap();
    let res = std::process::Command::new(platter_exe())
        .args(["parts", "extract"])
        .arg(&img)
        .args(["-p", "2", "-o", "-"])
        .stdout(file)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    let err = text(&res.stderr);
    assert!(err.contains("refusing to write"), "{err}");
    assert_eq!(fs::metadata(&img).unwrap().len(), before);
}

#[test]
fn missing_partition_and_bad_options() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let out = dir.path("x.img");
    let res = platter()
        .args(["parts", "extract"])
        .arg(&img)
        .args(["-p", "9", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(
        err.contains("disk.img has no partition 9") && err.contains("it lists 1, 2, 3"),
        "{err}"
    );
    assert!(!out.exists(), "no output is created for a failed extract");

    let res = platter()
        .args(["parts", "extract"])
        .arg(&img)
        .args(["-p", "1", "-o"])
        .arg(dir.root())
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.contains("is a directory"), "{err}");

    for bad in [
        ["--hash", "crc32"],
        ["--block-size", "0"],
        ["--block-size", "1Q"],
    ] {
        platter()
            .args(["parts", "extract"])
            .arg(&img)
            .args(["-p", "1", "-o"])
            .arg(&out)
            .args(bad)
            .assert()
            .code(2);
    }
}

#[test]
fn broken_pipe_on_stdout_exits_zero_quietly() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    // Partition 3 is several MiB: far more than a pipe holds.
    let (code, err) = platter_piped(
        &format!("parts extract '{}' -p 3 -o -", img.display()),
        "head -c 10",
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("error"), "{err}");
}

/// A 1 MiB tmpfs mounted for one test, unmounted on drop.
struct TinyFs(std::path::PathBuf);

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_failed_write_names_the_offset_and_removes_the_partial_output() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");

    // A device that is always full: the error names the output offset.
    let res = platter()
        .args(["parts", "extract", "--force", "-p", "1", "-o", "/dev/full"])
        .arg(&img)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(
        err.contains("/dev/full") && err.contains("output offset 0x0"),
        "{err}"
    );
    assert!(err.contains("No space left on device"), "{err}");

    // A file system too small for the 2 MiB partition.
    let mnt = dir.path("mnt");
    fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1M", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping the partial-output part: cannot mount a tmpfs here");
        return;
    }
    let _guard = TinyFs(mnt.clone());
    let out = mnt.join("p1.img");
    let res = platter()
        .args(["parts", "extract", "-p", "1", "-o"])
        .arg(&out)
        .arg(&img)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("partial output was removed"), "{err}");
    assert!(!out.exists());
}
