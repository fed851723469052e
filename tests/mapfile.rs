//! `--mapfile`: `info` of a ddrescue image read through its mapfile, with
//! ddrescuelog as the oracle for the per-status totals; partition tables
//! with unreadable sectors; malformed, missing and mismatched mapfiles.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// `platter --mapfile MAP info IMG --json`, expecting success.
fn info_json(map: &Path, img: &Path) -> Value {
    platter_json(&[
        "--mapfile".as_ref(),
        map.as_os_str(),
        "info".as_ref(),
        img.as_os_str(),
    ])
}

/// `(bytes, areas)` of the status named `name` (`"bad_sector"`, …).
fn status(report: &Value, name: &str) -> (u64, u64) {
    let s = report["mapfile"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == name)
        .unwrap_or_else(|| panic!("no status {name} in {report:#}"));
    (s["bytes"].as_u64().unwrap(), s["areas"].as_u64().unwrap())
}

/// The anomaly codes and offsets of a report.
fn anomalies(report: &Value) -> Vec<(String, u64)> {
    report["partition_table"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["code"].as_str().unwrap().to_string(),
                a["offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn info_totals_match_ddrescuelog_for_every_status() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    let s = 512;
    let map = write_mapfile(
        &dir,
        "disk.map",
        &[
            (0, 2100 * s, '+'),
            (2100 * s, 4 * s, '?'),
            (2104 * s, 2 * s, '+'),
            (2106 * s, 8 * s, '*'),
            (2114 * s, 3 * s, '/'),
            (2117 * s, s, '-'),
            (2118 * s, 100 * s, '+'),
            (2218 * s, s, '-'),
            (2219 * s, GPT_EXT4_FAT_BYTES - 2219 * s, '+'),
        ],
    );
    let r = info_json(&map, &img);
    let m = &r["mapfile"];
    assert_eq!(m["path"].as_str(), map.to_str());
    assert_eq!(m["image_bytes"].as_u64(), Some(GPT_EXT4_FAT_BYTES));
    assert_eq!(m["domain_end"].as_u64(), Some(GPT_EXT4_FAT_BYTES));
    let areas = ddrescuelog_areas(&map);
    for (ours, types, theirs) in [
        ("non_tried", "?", "non-tried"),
        ("non_trimmed", "*", "non-trimmed"),
        ("non_scraped", "/", "non-scraped"),
        ("bad_sector", "-", "bad-sector"),
        ("finished", "+", "rescued"),
    ] {
        let (bytes, n) = status(&r, ours);
        assert_eq!(
            bytes,
            ddrescuelog_list(&map, types).len() as u64 * 512,
            "{ours}"
        );
        let want = areas.iter().find(|a| a.0 == theirs).unwrap().1;
        assert_eq!(n, want, "{ours} areas vs ddrescuelog -t {areas:?}");
    }
    assert_eq!(
        m["rescued_bytes"].as_u64().unwrap(),
        ddrescuelog_list(&map, "+").len() as u64 * 512
    );
    assert_eq!(m["non_rescued_bytes"].as_u64(), Some(17 * 512));
    // Adjacent non-rescued blocks of different statuses form one range.
    assert_eq!(
        ranges(&m["unreadable"]),
        vec![(2100 * s, 4 * s), (2106 * s, 12 * s), (2218 * s, s)]
    );
    assert_eq!(m["unreadable_bytes"].as_u64(), Some(17 * 512));
    // Reading through the map does not disturb the partition table.
    assert_same_layout_as_sfdisk(&img, &r);
    assert_eq!(anomalies(&r), vec![]);
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("3 unreadable areas")),
        "{notes:?}"
    );

    // The human form shows the same figures.
    let res = platter()
        .arg("--mapfile")
        .arg(&map)
        .arg("info")
        .arg(&img)
        .assert()
        .success();
    let out = text(&res.get_output().stdout);
    for line in [
        "  rescued:       3137024 bytes",
        "  non-tried:     2048 bytes (2.00 KiB) in 1 area",
        "  non-trimmed:   4096 bytes",
        "  non-scraped:   1536 bytes",
        "  bad-sector:    1024 bytes (1.00 KiB) in 2 areas",
        "  unreadable:    8704 bytes in 3 ranges:",
        "    offset 0x106800, 2048 bytes (sectors 2100..2103)",
        "    offset 0x115400, 512 bytes (sector 2218)",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
}

#[test]
fn text_lists_the_first_ranges_and_json_lists_all() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    // 25 isolated bad sectors: 3000, 3002, …, 3048.
    let mut blocks = vec![(0, 3000 * 512, '+')];
    for i in 0..25u64 {
        let sector = 3000 + 2 * i;
        blocks.push((sector * 512, 512, '-'));
        let next = sector + 1;
        let len = if i == 24 {
            GPT_EXT4_FAT_BYTES - next * 512
        } else {
            512
        };
        blocks.push((next * 512, len, '+'));
    }
    let map = write_mapfile(&dir, "disk.map", &blocks);
    let r = info_json(&map, &img);
    let all = ranges(&r["mapfile"]["unreadable"]);
    assert_eq!(all.len(), 25);
    assert_eq!(all[24], (3048 * 512, 512));
    let res = platter()
        .args(["info", "--mapfile"])
        .arg(&map)
        .arg(&img)
        .assert()
        .success();
    let out = text(&res.get_output().stdout);
    assert!(
        out.contains("12800 bytes in 25 ranges, the first 20 listed (all with --json):"),
        "{out}"
    );
    assert!(
        out.contains("(sector 3038)") && !out.contains("(sector 3040)"),
        "{out}"
    );
}

#[test]
fn unreadable_gpt_headers_are_anomalies_not_errors() {
    let dir = Dir::new();
    let original = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    let s = 512;

    // The backup header (last LBA) was never rescued: a hand-made map.
    let map = write_mapfile(
        &dir,
        "tail.map",
        &[
            (0, GPT_EXT4_FAT_BYTES - s, '+'),
            (GPT_EXT4_FAT_BYTES - s, s, '-'),
        ],
    );
    let r = info_json(&map, &original);
    assert_eq!(r["partition_table"]["gpt_header"], "primary");
    assert_eq!(partitions(&r).len(), 2);
    assert!(
        anomalies(&r).contains(&("read_error".to_string(), GPT_EXT4_FAT_BYTES - s)),
        "{r:#}"
    );

    // ddrescue's image is short when the tail was not rescued: the size
    // comes from the map and the missing tail reads as unreadable.
    let short = dir.path("short.img");
    std::fs::write(&short, dd_range(&original, 0, GPT_EXT4_FAT_BYTES - s)).unwrap();
    let r = info_json(&map, &short);
    assert_eq!(r["size_bytes"].as_u64(), Some(GPT_EXT4_FAT_BYTES));
    assert_eq!(
        r["mapfile"]["image_bytes"].as_u64(),
        Some(GPT_EXT4_FAT_BYTES - s)
    );
    assert_eq!(partitions(&r).len(), 2);
    assert!(anomalies(&r).contains(&("read_error".to_string(), GPT_EXT4_FAT_BYTES - s)));

    // The primary header (LBA 1) unreadable, rescued by the real ddrescue:
    // the backup GPT is used.
    let (img, map) = ddrescue_rescue(&dir, &original, &[1], &[], "lba1");
    assert_eq!(ddrescuelog_list(&map, "-"), vec![1]);
    let r = info_json(&map, &img);
    assert_eq!(r["partition_table"]["gpt_header"], "backup", "{r:#}");
    assert_same_layout_as_sfdisk(&original, &r);
    assert!(
        anomalies(&r).contains(&("read_error".to_string(), s)),
        "{r:#}"
    );

    // Sector 0 unreadable: info still describes the image and says why no
    // table was read; extracting a partition is an error.
    let (img, map) = ddrescue_rescue(&dir, &original, &[0], &[], "lba0");
    let r = info_json(&map, &img);
    assert_eq!(r["partition_table"]["scheme"], "none");
    assert_eq!(anomalies(&r), vec![("read_error".to_string(), 0)]);
    let res = platter()
        .arg("--mapfile")
        .arg(&map)
        .args(["parts", "extract", "-p", "1", "-o"])
        .arg(dir.path("p1.img"))
        .arg(&img)
        .assert()
        .code(1);
    let err = text(&res.get_output().stderr);
    assert!(err.contains("unreadable range at offset 0x0"), "{err}");
}

#[test]
fn bad_mapfiles_are_errors_naming_the_mapfile() {
    let dir = Dir::new();
    let img = dir.copy_fixture("gpt-ext4-fat.img", "disk.img");
    let fails = |map: &Path| {
        let res = platter()
            .arg("--mapfile")
            .arg(map)
            .arg("info")
            .arg(&img)
            .assert()
            .code(1);
        text(&res.get_output().stderr)
    };

    // A syntax error on line 4: a status character ddrescue does not know.
    let broken = dir.write(
        "broken.map",
        b"# Mapfile\n0x00000000  +  1\n0x00000000  0x00100000  +\n0x00100000  0x00200000  X\n",
    );
    let err = fails(&broken);
    assert!(err.starts_with("platter: error: "), "{err}");
    assert!(
        err.contains(&format!("mapfile {}, line 4", broken.display())),
        "{err}"
    );

    // Blocks that do not follow each other (line 3).
    let gap = dir.write("gap.map", b"0 +\n0x0 0x200 +\n0x400 0x200 -\n");
    let err = fails(&gap);
    assert!(err.contains("gap.map, line 3"), "{err}");

    let missing = dir.path("missing.map");
    let err = fails(&missing);
    assert!(
        err.contains("missing.map") && err.contains("No such file"),
        "{err}"
    );

    // Rescued data promised past the end of the image.
    let big = write_mapfile(&dir, "big.map", &[(0, GPT_EXT4_FAT_BYTES + 4096, '+')]);
    let err = fails(&big);
    assert!(
        err.contains("big.map") && err.contains("disk.img") && err.contains("past the end"),
        "{err}"
    );
    assert!(err.contains(&GPT_EXT4_FAT_BYTES.to_string()), "{err}");

    // A directory given as the mapfile.
    let err = fails(dir.root());
    assert!(err.contains("directory"), "{err}");
}
