//! `platter info` and `platter parts list` against the fixtures and against
//! images partitioned by sfdisk in the test, with sfdisk as the oracle.

use std::ffi::OsStr;

use crate::util::*;

const FIXTURES: [&str; 3] = [
    "gpt-ext4-fat.img",
    "mbr-logical.img",
    "gpt-damaged-primary.img",
];

#[test]
fn info_json_matches_sfdisk_on_every_fixture() {
    let dir = Dir::new();
    for name in FIXTURES {
        // A copy, so sfdisk never touches the committed file.
        let img = dir.copy_fixture(name, name);
        let report = platter_json(&[OsStr::new("info"), img.as_os_str()]);
        assert_eq!(report["format"]["name"], "raw", "{name}");
        assert_eq!(report["path"].as_str(), img.to_str());
        let len = std::fs::metadata(&img).unwrap().len();
        assert_eq!(report["size_bytes"].as_u64(), Some(len), "{name}");
        assert_eq!(report["sectors"].as_u64(), Some(len / 512), "{name}");
        assert_eq!(report["logical_sector"], 512);
        assert!(report["device"].is_null());
        assert_same_layout_as_sfdisk(&img, &report);
    }
}

#[test]
fn parts_list_json_equals_the_info_table() {
    let dir = Dir::new();
    for name in FIXTURES {
        let img = dir.copy_fixture(name, name);
        let info = platter_json(&[OsStr::new("info"), img.as_os_str()]);
        let list = platter_json(&[OsStr::new("parts"), OsStr::new("list"), img.as_os_str()]);
        assert_eq!(list["partition_table"], info["partition_table"], "{name}");
    }
}

#[test]
fn gpt_fixture_has_ext4_and_fat_partitions() {
    let img = fixture("gpt-ext4-fat.img");
    let report = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    let table = &report["partition_table"];
    assert_eq!(table["scheme"], "gpt");
    assert_eq!(table["gpt_header"], "primary");
    assert!(
        table["anomalies"].as_array().unwrap().is_empty(),
        "{table:#}"
    );
    assert_eq!(partitions(&report).len(), 2);
    // The file systems really are where the table says: ext4's magic at
    // 0x438 of partition 1, FAT's boot signature at 0x1fe of partition 2.
    let p1 = partition(&report, 1);
    let start = p1["start_bytes"].as_u64().unwrap();
    assert_eq!(dd_range(&img, start + 0x438, 2), [0x53, 0xef]);
    let p2 = partition(&report, 2);
    let start = p2["start_bytes"].as_u64().unwrap();
    assert_eq!(dd_range(&img, start + 0x1fe, 2), [0x55, 0xaa]);
}

#[test]
fn mbr_fixture_lists_logical_partitions() {
    let img = fixture("mbr-logical.img");
    let report = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(report["partition_table"]["scheme"], "mbr");
    let logicals: Vec<&serde_json::Value> = partitions(&report)
        .iter()
        .filter(|p| p["logical"] == true)
        .collect();
    assert!(!logicals.is_empty(), "{report:#}");
    for p in logicals {
        assert!(p["index"].as_u64().unwrap() >= 5, "{p:#}");
    }
}

#[test]
fn damaged_primary_gpt_is_read_from_the_backup_and_says_so() {
    let img = fixture("gpt-damaged-primary.img");
    let report = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    let table = &report["partition_table"];
    assert_eq!(table["gpt_header"], "backup", "{table:#}");
    let anomalies = table["anomalies"].as_array().unwrap();
    assert!(
        anomalies
            .iter()
            .any(|a| a["message"].as_str().unwrap().contains("backup")),
        "{anomalies:#?}"
    );
    let out = platter().arg("info").arg(&img).assert().success();
    let stdout = text(&out.get_output().stdout);
    assert!(stdout.contains("backup GPT header used"), "{stdout}");
    // Each anomaly line names the file and a hex offset.
    let line = stdout
        .lines()
        .find(|l| l.contains("backup") && l.contains(": offset 0x"))
        .unwrap_or_else(|| panic!("no anomaly line in:\n{stdout}"));
    assert!(line.contains(img.to_str().unwrap()), "{line}");
}

#[test]
fn human_info_shows_size_sectors_and_an_aligned_table() {
    let dir = Dir::new();
    let img = dir.sfdisk_image(
        "disk.img",
        8 << 20,
        "label: gpt\nstart=2048, size=4096, type=L, name=alpha\nstart=6144, size=2048, type=U, name=\"beta two\"\n",
    );
    let out = platter().arg("info").arg(&img).assert().success();
    let stdout = text(&out.get_output().stdout);
    let has = |s: &str| assert!(stdout.contains(s), "missing {s:?} in:\n{stdout}");
    has("format:");
    has("raw");
    has("no known signature: opened as raw");
    has("8388608 bytes (8.00 MiB), 16384 sectors");
    has("512 bytes logical, 512 bytes physical");
    has("GPT");
    // Rows: number, start, end, sectors, size, type (+code), name.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() > 4 && (w[0] == "1" || w[0] == "2"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(rows[0][..4], ["1", "2048", "6143", "4096"]);
    assert_eq!(rows[1][..4], ["2", "6144", "8191", "2048"]);
    let row1 = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap();
    assert!(
        row1.contains("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
        "{row1}"
    );
    assert!(row1.ends_with("alpha"), "{row1}");
    let row2 = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap();
    assert!(
        row2.contains("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
        "{row2}"
    );
    assert!(row2.ends_with("beta two"), "{row2}");
    // Aligned: the name column starts at the same place on both rows.
    assert_eq!(row1.find("alpha"), row2.find("beta two"), "{stdout}");
}

#[test]
fn sfdisk_made_gpt_and_mbr_match_sfdisk() {
    let dir = Dir::new();
    let gpt = dir.sfdisk_image(
        "gpt.img",
        16 << 20,
        "label: gpt\n\
         size=2MiB, type=L, name=root\n\
         size=1MiB, type=S, name=swap\n\
         size=3MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios\n\
         type=U, name=esp\n",
    );
    let report = platter_json(&[OsStr::new("info"), gpt.as_os_str()]);
    assert_eq!(report["partition_table"]["scheme"], "gpt");
    let sf = sfdisk_json(&gpt);
    assert_eq!(
        report["partition_table"]["disk_guid"]
            .as_str()
            .map(str::to_ascii_uppercase),
        sf["id"].as_str().map(str::to_ascii_uppercase)
    );
    assert_same_layout_as_sfdisk(&gpt, &report);

    let mbr = dir.sfdisk_image(
        "mbr.img",
        16 << 20,
        "label: dos\nlabel-id: 0x1234abcd\n\
         size=2MiB, type=83, bootable\n\
         size=2MiB, type=c\n\
         type=5\n\
         size=1MiB, type=83\n\
         size=2MiB, type=82\n\
         type=7\n",
    );
    let report = platter_json(&[OsStr::new("info"), mbr.as_os_str()]);
    assert_eq!(report["partition_table"]["scheme"], "mbr");
    assert_eq!(report["partition_table"]["mbr_signature"], 0x1234abcd);
    assert_eq!(partition(&report, 1)["bootable"], true);
    assert_eq!(partition(&report, 2)["bootable"], false);
    for i in 5..=7 {
        assert_eq!(partition(&report, i)["logical"], true);
    }
    assert_same_layout_as_sfdisk(&mbr, &report);
}

#[test]
fn unpartitioned_image_has_no_partitions() {
    let dir = Dir::new();
    let img = dir.write("blank.img", &vec![0u8; 1 << 20]);
    let report = platter_json(&[OsStr::new("info"), img.as_os_str()]);
    assert_eq!(report["partition_table"]["scheme"], "none");
    assert!(partitions(&report).is_empty());
    let out = platter()
        .args(["parts", "list"])
        .arg(&img)
        .assert()
        .success();
    assert!(text(&out.get_output().stdout).contains("(no partitions)"));
}
