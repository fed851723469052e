//! Block devices, through loop devices (the tests run as root): sysfs
//! details in `info`, and the output guard against writing onto the disk by
//! another name. Skipped, with a message, where loop devices are unavailable.

use std::ffi::OsStr;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// A loop device attached to a file, detached on drop.
struct Loop(PathBuf);

impl Loop {
    fn attach(file: &Path, partscan: bool) -> Option<Loop> {
        let mut cmd = Command::new("losetup");
        cmd.args(["--find", "--show", "--read-only"]);
        if partscan {
            cmd.arg("--partscan");
        }
        let out = cmd.arg(file).output().ok()?;
        if !out.status.success() {
            eprintln!("skipping: losetup failed: {}", text(&out.stderr));
            return None;
        }
        Some(Loop(PathBuf::from(text(&out.stdout).trim())))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

#[test]
fn info_on_a_block_device_shows_sysfs_details_and_partitions() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let Some(dev) = Loop::attach(&img, false) else {
        return;
    };
    let v = platter_json(&[OsStr::new("info"), dev.0.as_os_str()]);
    let d = &v["device"];
    assert!(d.is_object(), "{v:#}");
    let kernel_name = dev.0.file_name().unwrap().to_str().unwrap();
    assert_eq!(d["sysfs_name"], kernel_name);
    assert_eq!(d["size_bytes"], 8 << 20);
    assert_eq!(d["read_only"], true, "attached with --read-only");
    assert_eq!(v["size_bytes"], 8 << 20);
    let file = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["partition_table"], file["partition_table"]);

    let out = platter().arg("info").arg(&dev.0).assert().success();
    let stdout = text(&out.get_output().stdout);
    for label in ["device:", "model:", "serial:", "rotational:", "removable:"] {
        assert!(stdout.contains(label), "missing {label} in:\n{stdout}");
    }
    let ro = stdout.lines().find(|l| l.contains("read-only:")).unwrap();
    assert!(ro.ends_with(" yes"), "{ro}");

    // O_DIRECT reads through aligned bounce buffers give the same bytes.
    let out = dir.path("p2.img");
    platter()
        .args(["--direct", "parts", "extract", "-p", "2", "-o"])
        .arg(&out)
        .arg(&dev.0)
        .assert()
        .success();
    let p2 = partition(&file, 2);
    let (start, len) = (
        p2["start_bytes"].as_u64().unwrap(),
        p2["len_bytes"].as_u64().unwrap(),
    );
    assert!(std::fs::read(&out).unwrap() == dd_range(&img, start, len));
}

#[test]
fn output_onto_the_loop_device_or_its_backing_file_is_refused() {
    let dir = Dir::new();
    let img = dir.patterned_gpt("disk.img");
    let before = digest_of("sha256sum", &img);
    let Some(dev) = Loop::attach(&img, true) else {
        return;
    };
    let extract = |source: &Path, out: &Path| {
        let res = platter()
            .args(["parts", "extract", "--force", "-q", "-p", "1", "-o"])
            .arg(out)
            .arg(source)
            .assert()
            .code(1);
        text(&res.get_output().stderr)
    };
    // Source: the image; output: the loop device showing it.
    let err = extract(&img, &dev.0);
    assert!(err.contains("loop device backed by the source"), "{err}");
    // Source: the loop device; output: its backing file.
    let err = extract(&dev.0, &img);
    assert!(err.contains("backing file of the source"), "{err}");
    // Source: the loop device; output: one of its partitions.
    let p1 = PathBuf::from(format!("{}p1", dev.0.display()));
    // Partition nodes appear only where the kernel scans loop partitions.
    if std::fs::metadata(&p1).is_ok_and(|m| m.file_type().is_block_device()) {
        let err = extract(&dev.0, &p1);
        assert!(err.contains("a partition of the source device"), "{err}");
    }
    assert_eq!(digest_of("sha256sum", &img), before);
}
