//! `parts extract --mapfile`: a ddrescue image whose mapfile marks sectors
//! bad inside a partition. The rescue is made by the real GNU ddrescue (test
//! mode) and by hand; md5sum, sha256sum, dd and ddrescuelog are the oracles.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// Partition 1 of `gpt-ext4-fat.img`: LBA 2048..4095.
const P1_START: u64 = 2048 * 512;
const P1_LEN: u64 = 2048 * 512;
/// Partition 2: LBA 4096..6110.
const P2_START: u64 = 4096 * 512;
const P2_LEN: u64 = 2015 * 512;

/// Runs `platter --mapfile MAP parts extract IMG -p N -o OUT ARGS --json`
/// and returns its exit status and report.
fn extract_json(map: &Path, img: &Path, part: u32, out: &Path, args: &[&str]) -> (i32, Value) {
    let res = platter()
        .arg("--mapfile")
        .arg(map)
        .args(["parts", "extract", "--json", "-p", &part.to_string(), "-o"])
        .arg(out)
        .arg(img)
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&res.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&res.stdout), text(&res.stderr)));
    (res.status.code().unwrap_or(-1), report)
}

/// Asserts that `out` holds `fill` in each `(offset, len)` of `bad` and,
/// everywhere else, the bytes `dd` reads from `image` at `start`.
fn assert_filled_copy(
    out: &Path,
    image: &Path,
    start: u64,
    len: u64,
    bad: &[(u64, u64)],
    fill: u8,
) {
    let got = fs::read(out).unwrap();
    let mut want = dd_range(image, start, len);
    assert_eq!(got.len() as u64, len);
    let mut hidden = false;
    for &(off, n) in bad {
        let r = off as usize..(off + n) as usize;
        assert!(
            got[r.clone()].iter().all(|&b| b == fill),
            "range {off:#x}+{n} is not filled with {fill:#x}"
        );
        hidden |= want[r.clone()].iter().any(|&b| b != fill);
        want[r].fill(fill);
    }
    assert!(
        bad.is_empty() || hidden,
        "the test needs real data under a bad range to prove the fill"
    );
    assert!(got == want, "readable sectors differ from dd of the image");
}

#[test]
fn ddrescue_image_with_bad_sectors_in_a_partition_exits_3() {
    let dir = Dir::new();
    let original = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    // Sectors 2100..2102 and 3000 lie in partition 1 (LBA 2048..4095).
    let bad = [2100, 2101, 2102, 3000];
    let (img, map) = ddrescue_rescue(&dir, &original, &bad, &[], "rescued");
    assert_eq!(
        ddrescuelog_list(&map, "-"),
        bad,
        "ddrescue saw the bad sectors"
    );

    let out = dir.path("p1.img");
    let bad_map = dir.path("p1.map");
    let (code, r) = extract_json(
        &map,
        &img,
        1,
        &out,
        &["--fill", "0xEE", "--bad-map", bad_map.to_str().unwrap()],
    );
    assert_eq!(code, 3, "{r:#}");
    // Exact to the sector, relative to the partition and on the disk.
    let rel = vec![((2100 - 2048) * 512, 3 * 512), ((3000 - 2048) * 512, 512)];
    assert_eq!(ranges(&r["unreadable"]), rel, "{r:#}");
    let abs: Vec<u64> = r["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["disk_offset"].as_u64().unwrap())
        .collect();
    assert_eq!(abs, vec![2100 * 512, 3000 * 512]);
    assert_eq!(r["unreadable_bytes"], 4 * 512);
    assert_eq!(r["fill"], 0xee);
    assert_eq!(r["bytes"].as_u64(), Some(P1_LEN));
    assert_eq!(r["mapfile"].as_str(), map.to_str());

    // Readable sectors are the original data (and ddrescue's copy of it);
    // the bad ones hold the fill byte, not ddrescue's zeros.
    assert_filled_copy(&out, &original, P1_START, P1_LEN, &rel, 0xee);
    assert_filled_copy(&out, &img, P1_START, P1_LEN, &rel, 0xee);
    // The digests are those of the filled output.
    assert_eq!(digest_hex(&r["digests"], "md5"), digest_of("md5sum", &out));
    assert_eq!(
        digest_hex(&r["digests"], "sha256"),
        digest_of("sha256sum", &out)
    );

    // The bad-area map is a valid ddrescue mapfile of exactly those sectors.
    run(std::process::Command::new("ddrescuelog")
        .arg("-t")
        .arg(&bad_map));
    assert_eq!(ddrescuelog_list(&bad_map, "-"), vec![52, 53, 54, 952]);
    assert_eq!(ddrescuelog_list(&bad_map, "?*/").len(), 0);
    assert_eq!(ddrescuelog_list(&bad_map, "+").len(), 2048 - 4);

    // Partition 2 has no bad sector: exit 0 and a plain copy.
    let out2 = dir.path("p2.img");
    let (code, r) = extract_json(&map, &img, 2, &out2, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(ranges(&r["unreadable"]), vec![]);
    assert!(fs::read(&out2).unwrap() == dd_range(&original, P2_START, P2_LEN));
    assert_eq!(
        digest_hex(&r["digests"], "sha256"),
        digest_of("sha256sum", &out2)
    );
}

#[test]
fn human_report_lists_partition_and_disk_sectors_and_zero_fill_is_the_default() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    // A hand-made map: sectors 2050..2051 bad, 2060 non-scraped.
    let map = write_mapfile(
        &dir,
        "disk.map",
        &[
            (0, 2050 * 512, '+'),
            (2050 * 512, 1024, '-'),
            (2052 * 512, 8 * 512, '+'),
            (2060 * 512, 512, '/'),
            (2061 * 512, GPT_EXT4_FAT_BYTES - 2061 * 512, '+'),
        ],
    );
    let out = dir.path("p1.img");
    let res = platter()
        .arg("--mapfile")
        .arg(&map)
        .args(["parts", "extract", "-p", "1", "-o"])
        .arg(&out)
        .arg(&img)
        .assert()
        .code(3);
    let report = text(&res.get_output().stdout);
    assert!(
        report.contains("unreadable: 1536 bytes in 2 ranges, filled with 0x00:"),
        "{report}"
    );
    assert!(
        report.contains(
            "partition offset 0x400, 1024 bytes (sectors 2..3) = disk offset 0x100400 (sectors 2050..2051)"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "partition offset 0x1800, 512 bytes (sector 12) = disk offset 0x101800 (sector 2060)"
        ),
        "{report}"
    );
    let md5 = report
        .lines()
        .find_map(|l| l.strip_prefix("md5:"))
        .unwrap()
        .trim();
    assert_eq!(md5, digest_of("md5sum", &out));
    assert_filled_copy(
        &out,
        &img,
        P1_START,
        P1_LEN,
        &[(0x400, 1024), (0x1800, 512)],
        0,
    );
}

#[test]
fn bad_map_keeps_the_status_the_source_map_gives() {
    let dir = Dir::new();
    let original = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    // ddrescue without trimming or scraping leaves non-trimmed ('*') areas
    // around the bad sectors: they are unreadable too, and stay non-trimmed.
    let (img, map) = ddrescue_rescue(&dir, &original, &[2100, 3000], &["-N", "-n"], "quick");
    let non_trimmed = ddrescuelog_list(&map, "*");
    assert!(!non_trimmed.is_empty(), "ddrescue -N -n left no '*' area");
    let out = dir.path("p1.img");
    let bad_map = dir.path("p1.map");
    let (code, r) = extract_json(
        &map,
        &img,
        1,
        &out,
        &["--bad-map", bad_map.to_str().unwrap()],
    );
    assert_eq!(code, 3, "{r:#}");
    let in_p1: Vec<u64> = non_trimmed
        .iter()
        .filter(|&&s| (2048..4096).contains(&s))
        .map(|s| s - 2048)
        .collect();
    assert_eq!(ddrescuelog_list(&bad_map, "*"), in_p1);
    let unreadable: u64 = r["unreadable_bytes"].as_u64().unwrap();
    assert_eq!(unreadable, in_p1.len() as u64 * 512);
    let bad: Vec<(u64, u64)> = ranges(&r["unreadable"]);
    assert_filled_copy(&out, &original, P1_START, P1_LEN, &bad, 0);
}

#[test]
fn outputs_never_overwrite_the_mapfile_or_each_other() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    let map = write_mapfile(&dir, "disk.map", &[(0, GPT_EXT4_FAT_BYTES, '+')]);
    let before = fs::read(&map).unwrap();
    let link = dir.path("link.map");
    std::os::unix::fs::symlink(&map, &link).unwrap();

    let refuse = |args: &[&Path], needle: &str| {
        let res = platter()
            .arg("--mapfile")
            .arg(&map)
            .args(["parts", "extract", "--force", "-p", "2"])
            .arg(&img)
            .args(args)
            .assert()
            .code(1);
        let err = text(&res.get_output().stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    let o = Path::new("-o");
    let b = Path::new("--bad-map");
    let out = dir.path("p2.img");
    refuse(&[o, &map], "same file as the mapfile");
    refuse(&[o, &link], "same file as the mapfile");
    refuse(&[o, &out, b, &map], "same file as the mapfile");
    refuse(&[o, &out, b, &img], "same file as the source");
    refuse(&[o, &out, b, &out], "is the output itself");
    assert_eq!(fs::read(&map).unwrap(), before, "the mapfile was modified");
    assert!(!out.exists(), "no output for a refused extract");

    // An existing bad-area map needs --force, like the output.
    let existing = dir.write("old.map", b"keep");
    let res = platter()
        .arg("--mapfile")
        .arg(&map)
        .args(["parts", "extract", "-p", "2", "-o"])
        .arg(&out)
        .arg("--bad-map")
        .arg(&existing)
        .arg(&img)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.contains("old.map already exists"), "{err}");
    assert_eq!(fs::read(&existing).unwrap(), b"keep");
    assert!(!out.exists());
}
