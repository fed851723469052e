//! Bad input: missing files, directories, truncated and hostile images.
//! Every case ends with a clear message naming the path (and the offset
//! where there is one), never a panic (exit status 101).

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use crate::util::*;

/// Runs `platter ARGS`, checks it did not panic, and returns (status,
/// stdout, stderr).
fn run_platter(args: &[&OsStr]) -> (i32, String, String) {
    let out = platter().args(args).output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains("panicked"), "{stderr}");
    let code = out.status.code().expect("exited normally");
    assert_ne!(code, 101, "{stderr}");
    (code, stdout, stderr)
}

#[test]
fn missing_file() {
    let dir = Dir::new();
    let missing = dir.path("no-such.img");
    for cmd in [&["info"][..], &["parts", "list"]] {
        let mut args: Vec<&OsStr> = cmd.iter().map(OsStr::new).collect();
        args.push(missing.as_os_str());
        let (code, stdout, stderr) = run_platter(&args);
        assert_eq!(code, 1);
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("platter: error: "), "{stderr}");
        assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains("No such file"), "{stderr}");
    }
}

#[test]
fn directory_and_character_device() {
    let dir = Dir::new();
    let (code, _, stderr) = run_platter(&[OsStr::new("info"), dir.root().as_os_str()]);
    assert_eq!(code, 1);
    assert!(stderr.contains(dir.root().to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");

    let (code, _, stderr) = run_platter(&[OsStr::new("info"), OsStr::new("/dev/null")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("/dev/null is a character device"),
        "{stderr}"
    );
}

#[test]
fn empty_file_is_reported_not_fatal() {
    let dir = Dir::new();
    let img = dir.write("empty.img", b"");
    let (code, stdout, stderr) = run_platter(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 bytes"), "{stdout}");
    assert!(
        stdout.contains(&format!("{}: offset 0x0", img.display())),
        "{stdout}"
    );
}

#[test]
fn truncated_gpt_disk() {
    let dir = Dir::new();
    let whole = dir.patterned_gpt("whole.img");
    let bytes = fs::read(&whole).unwrap();
    let img = dir.write("cut.img", &bytes[..700]);
    let (code, stdout, stderr) = run_platter(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    // The GPT header at LBA 1 (0x200) is cut short: reported with the path
    // and that offset.
    let line = stdout
        .lines()
        .find(|l| l.contains(&format!("{}: offset 0x200", img.display())))
        .unwrap_or_else(|| panic!("no anomaly at 0x200 in:\n{stdout}"));
    assert!(!line.is_empty());

    // Cut inside partition 3: listing works, extracting it fails cleanly.
    let img = dir.write("half.img", &bytes[..5 << 20]);
    let (code, stdout, _) = run_platter(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("backup GPT header used") || stdout.contains("primary GPT header used")
    );
    let out = dir.path("p3.img");
    let (code, _, stderr) = run_platter(&[
        OsStr::new("parts"),
        OsStr::new("extract"),
        img.as_os_str(),
        OsStr::new("-p"),
        OsStr::new("3"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("half.img") && stderr.contains("past the end"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// Sets the GPT header at byte `at` to claim `entries` entries, with a
/// correct header CRC32, so only the entry count is wrong.
fn patch_entry_count(image: &Path, at: usize, entries: u32) {
    let mut bytes = fs::read(image).unwrap();
    let hdr = &mut bytes[at..at + 512];
    assert_eq!(&hdr[..8], b"EFI PART");
    hdr[80..84].copy_from_slice(&entries.to_le_bytes());
    let size = u32::from_le_bytes(hdr[12..16].try_into().unwrap()) as usize;
    hdr[16..20].fill(0);
    let crc = crc32fast::hash(&hdr[..size]);
    hdr[16..20].copy_from_slice(&crc.to_le_bytes());
    fs::write(image, bytes).unwrap();
}

#[test]
fn gpt_header_claiming_2_pow_32_entries() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "huge-count.img");
    let len = fs::metadata(&img).unwrap().len() as usize;
    let good = platter_json(&[OsStr::new("info"), fixture("gpt-ext4-fat.img").as_os_str()]);

    // Primary only: the backup takes over, and the anomaly says where.
    patch_entry_count(&img, 512, u32::MAX);
    let (code, stdout, stderr) = run_platter(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    let prefix = format!("{}: offset 0x200", img.display());
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("  {prefix}")) && l.contains("4294967295"))
        .unwrap_or_else(|| panic!("no anomaly naming the entry count in:\n{stdout}"));
    assert!(line.contains("entries"), "{line}");
    let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(v["partition_table"]["gpt_header"], "backup");
    assert_eq!(
        v["partition_table"]["partitions"],
        good["partition_table"]["partitions"]
    );

    // Both headers: no partitions can be trusted, and nothing explodes.
    patch_entry_count(&img, len - 512, u32::MAX);
    let (code, stdout, stderr) = run_platter(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&prefix), "{stdout}");
    assert!(
        stdout.contains(&format!("{}: offset {:#x}", img.display(), len - 512)),
        "{stdout}"
    );
    let v = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert!(partitions(&v).is_empty(), "{v:#}");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    for args in [
        &[][..],
        &["info"],
        &["frobnicate"],
        &["parts"],
        &["parts", "extract", "x.img"],
        &["info", "--no-such-flag", "x.img"],
    ] {
        let out = platter().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = platter().arg("--help").assert().success();
    let help = text(&out.get_output().stdout);
    for line in ["0  success", "1  error", "2  usage error", "3  completed"] {
        assert!(help.contains(line), "{help}");
    }
}

#[test]
fn broken_pipe_on_info_json_exits_zero_quietly() {
    // A GPT with 600 partitions: the JSON report is far bigger than a pipe
    // holds, so `head` closes it while platter is still writing.
    let dir = Dir::new();
    let mut script = String::from("label: gpt\ntable-length: 600\nfirst-lba: 2048\n");
    for i in 0..600u64 {
        script.push_str(&format!("start={}, size=8, type=L\n", 2048 + i * 8));
    }
    let img = dir.sfdisk_image("many.img", 8 << 20, &script);
    let (code, err) = platter_piped(&format!("info --json '{}'", img.display()), "head -c 10");
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let (code, err) = platter_piped(&format!("parts list '{}'", img.display()), "head -n 1");
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
}
