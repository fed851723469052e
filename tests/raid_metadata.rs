//! `platter raid examine` and `platter raid assemble` from the members'
//! own md metadata, against real arrays made by a Linux kernel
//! (`fixtures/raid`): with no geometry option at all, members shuffled on
//! the command line, the output's sha256 (by `sha256sum`) must be the
//! kernel's own hash of `/dev/mdN`, also with members left out, with a
//! stale member given, and through a recipe written from the metadata.
//! Damaged metadata and truncated members give clear errors.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::raid_util::*;
use crate::util::*;

/// `platter raid assemble MEMBERS EXTRA -o OUT --json`, no geometry.
fn assemble(members: &[PathBuf], extra: &[&str], out: &Path) -> (i32, Value, String) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend(members.iter().map(|p| p.as_os_str()));
    args.extend(extra.iter().map(OsStr::new));
    args.extend([OsStr::new("-o"), out.as_os_str()]);
    json_run(&args)
}

/// `platter raid assemble MEMBERS EXTRA` expecting status 1: stderr.
fn assemble_fails(members: &[PathBuf], extra: &[&str]) -> String {
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend(members.iter().map(|p| p.as_os_str()));
    args.extend(extra.iter().map(OsStr::new));
    fails(&args)
}

/// `platter raid examine MEMBERS --json`.
fn examine(members: &[PathBuf]) -> (i32, Value, String) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("examine")];
    args.extend(members.iter().map(|p| p.as_os_str()));
    json_run(&args)
}

/// The members in another order: reversed, then rotated by one.
fn shuffled(m: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = m.iter().rev().cloned().collect();
    v.rotate_left(1);
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Findings of `code` in a report (examine, or a plan's).
fn findings<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

/// Assembles real array `name` from its metadata alone, members shuffled
/// and those of slots `drop` not given, and checks the output against the
/// kernel's hash and the members' placement against the manifest.
fn from_metadata(name: &str, drop: &[usize]) {
    let dir = Dir::new();
    let m = real_members(&dir, name);
    let given: Vec<PathBuf> = shuffled(&m)
        .into_iter()
        .filter(|p| !drop.iter().any(|&d| *p == m[d]))
        .collect();
    let out = dir.path("out.img");
    let (code, report, err) = assemble(&given, &[], &out);
    assert_eq!(code, 0, "{name}: {err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256(name), "{name}");
    let a = real_array(name);
    let plan = &report["metadata"];
    assert_eq!(plan["source"]["format"], "md", "{name}");
    assert_eq!(plan["source"]["version"], a["metadata"], "{name}");
    assert_eq!(plan["array_bytes"], a["array_bytes"], "{name}");
    assert_eq!(report["level"], a["level"], "{name}");
    for (slot, path) in m.iter().enumerate() {
        let want = if drop.contains(&slot) {
            Value::Null
        } else {
            Value::from(s(path))
        };
        assert_eq!(report["members"][slot]["path"], want, "{name} slot {slot}");
    }
    let missing: Vec<u64> = plan["missing_slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(missing, drop.iter().map(|&d| d as u64).collect::<Vec<_>>());
}

#[test]
fn raid5_and_raid6_layouts_assemble_from_metadata_alone() {
    for name in ["r5-la", "r5-ls", "r4", "r6-ddf-nr", "r6-ls6", "r6-pf"] {
        from_metadata(name, &[]);
    }
}

#[test]
fn raid0_raid1_raid10_and_linear_assemble_from_metadata_alone() {
    for name in [
        "r0-zones",
        "r0-zones-alt",
        "r1",
        "linear",
        "r10-f2",
        "r10-o2",
    ] {
        from_metadata(name, &[]);
    }
}

#[test]
fn metadata_090_10_11_assemble_from_metadata_alone() {
    for name in ["r5-meta090", "r5-meta10", "r5-meta11"] {
        from_metadata(name, &[]);
    }
}

#[test]
fn degraded_arrays_from_metadata_and_too_many_missing() {
    from_metadata("r5-rs", &[1]);
    from_metadata("r6-ddf-zr", &[0, 3]);
    from_metadata("r10-n2", &[2]);
    from_metadata("r1", &[0]);

    // Two RAID5 members gone: the error names the roles, nothing is written.
    let dir = Dir::new();
    let m = real_members(&dir, "r5-la");
    let out = dir.path("out.img");
    let err = assemble_fails(&[m[2].clone(), m[0].clone()], &["-o", s(&out)]);
    assert!(
        err.contains("no usable member for role(s) 1, 3")
            && err.contains("more than raid5 can rebuild"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn a_stale_member_is_left_out_named_and_examine_flags_it() {
    let dir = Dir::new();
    let m = real_members(&dir, "stale-r5");
    let given = shuffled(&m);
    let out = dir.path("out.img");
    let (code, report, err) = assemble(&given, &[], &out);
    assert_eq!(code, 0, "{err}");
    // The kernel's array now: m2 dropped out before the first half was
    // rewritten, so its data must not be used.
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("stale-r5"));
    let plan = &report["metadata"];
    assert_eq!(plan["events"], 42);
    let excluded = plan["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1, "{excluded:?}");
    assert_eq!(excluded[0]["name"], s(&m[2]));
    assert_eq!(excluded[0]["reason"]["kind"], "stale");
    assert_eq!(excluded[0]["reason"]["value"], 37);
    assert_eq!(excluded[0]["reason"]["freshest"], 42);
    assert_eq!(report["members"][2]["path"], Value::Null);
    assert!(report["rebuilt_from_parity_bytes"].as_u64().unwrap() > 0);

    // The human report says why, naming the member.
    let human = platter()
        .args(["raid", "assemble"])
        .args(&given)
        .arg("-o")
        .arg(dir.path("human.img"))
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(0));
    let stdout = text(&human.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains(s(&m[2])) && l.contains("stale"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("events 37 vs 42 (last updated "), "{line}");
    assert!(
        stdout.contains("metadata:        md 1.2, array "),
        "{stdout}"
    );
    assert!(stdout.contains("missing slots:   2 "), "{stdout}");

    // examine on the same members flags m2 only, with both counters.
    let (code, ex, err) = examine(&given);
    assert_eq!(code, 0, "findings are information: {err}");
    let stale = findings(&ex, "stale_member");
    assert_eq!(stale.len(), 1, "{ex}");
    assert_eq!(stale[0]["path"], s(&m[2]));
    let msg = stale[0]["message"].as_str().unwrap();
    assert!(msg.contains("events 37 < 42"), "{msg}");
    let m2 = ex["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == s(&m[2]))
        .unwrap();
    assert_eq!(m2["metadata"], "md 1.2");
    assert_eq!(m2["arrays"][0]["events"], 37);
    assert_eq!(m2["arrays"][0]["slot"], 2);
    assert_eq!(m2["arrays"][0]["level"], "raid5");
    assert_eq!(m2["arrays"][0]["layout"], "left-symmetric");
    assert_eq!(m2["arrays"][0]["chunk_bytes"], 65536);
    assert_eq!(m2["arrays"][0]["data_offset_bytes"], 65536);
    assert_eq!(m2["arrays"][0]["checksum_ok"], true);
    assert_eq!(m2["md"]["raid_disks"], 4, "the full superblock is there");
    let updated = m2["arrays"][0]["updated"].as_str().unwrap();
    assert!(updated.ends_with('Z') && updated.len() == 20, "{updated}");

    // The human examine report is aligned and names the stale member.
    let human = platter()
        .args(["raid", "examine"])
        .args(&given)
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(0));
    let stdout = text(&human.stdout);
    assert!(stdout.contains("  events:        37\n"), "{stdout}");
    assert!(
        stdout.contains("  role:          active 2 (device 2)\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  stale_member") && l.contains(s(&m[2]))),
        "{stdout}"
    );

    // Writing onto the member left out is refused too.
    let err = assemble_fails(&given, &["--force", "-o", s(&m[2])]);
    assert!(err.contains("refusing to write"), "{err}");
    assert_eq!(fs::metadata(&m[2]).unwrap().len(), 2 << 20);
}

#[test]
fn examine_flags_other_arrays_and_members_without_metadata() {
    let dir = Dir::new();
    let a = real_members(&dir, "r5-la");
    let b = real_members(&dir, "r10-n2-3");
    let blank = dir.write("blank.img", &vec![0u8; 1 << 20]);
    let given = vec![a[0].clone(), b[1].clone(), a[1].clone(), blank.clone()];
    let (code, ex, err) = examine(&given);
    assert_eq!(code, 0, "{err}");
    let mismatch = findings(&ex, "array_mismatch");
    assert_eq!(mismatch.len(), 1, "{ex}");
    assert_eq!(mismatch[0]["path"], s(&b[1]));
    assert!(
        mismatch[0]["message"]
            .as_str()
            .unwrap()
            .contains(real_array("r10-n2-3")["uuid"].as_str().unwrap())
    );
    let none = findings(&ex, "no_metadata");
    assert_eq!(none.len(), 1);
    assert_eq!(none[0]["path"], s(&blank));
    assert_eq!(ex["members"][3]["metadata"], "none");
    assert_eq!(ex["members"][1]["arrays"][0]["layout"], "n2");
    assert_eq!(ex["members"][1]["arrays"][0]["level"], "raid10");
    let human = platter()
        .args(["raid", "examine"])
        .args(&given)
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(0));
    let stdout = text(&human.stdout);
    assert!(
        stdout.contains("  metadata:      none: no md superblock and no DDF anchor"),
        "{stdout}"
    );
    assert!(stdout.contains("array_mismatch"), "{stdout}");

    // Assembly refuses the blank member, saying what to do instead.
    let err = assemble_fails(&[a[0].clone(), a[1].clone(), blank.clone()], &["-o", "x"]);
    assert!(err.contains(s(&blank)), "{err}");
    assert!(err.contains("--level, --layout and --chunk"), "{err}");
    assert!(err.contains("raid detect"), "{err}");

    // A member whose metadata areas cannot be read (an array, through a
    // recipe, with more members missing than it can rebuild): the report
    // is printed, then the error, status 1.
    let recipe = dir.path("broken.json");
    platter()
        .args(["raid", "assemble"])
        .arg(&a[0])
        .args(["missing", "missing"])
        .arg(&a[3])
        .args(["--level=5", "--layout=la", "--chunk=4K", "--recipe-out"])
        .arg(&recipe)
        .assert()
        .success();
    let out = platter()
        .args(["raid", "examine", "--json"])
        .arg(&recipe)
        .arg(&a[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let ex: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&ex, "read_error")[0]["path"], s(&recipe));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read the metadata areas of") && stderr.contains(s(&recipe)),
        "{stderr}"
    );

    // A member that cannot be opened is an error.
    let err = fails(&[
        OsStr::new("raid"),
        OsStr::new("examine"),
        os(&a[0]),
        OsStr::new("nope.img"),
    ]);
    assert!(err.contains("nope.img"), "{err}");
}

#[test]
fn a_recipe_written_from_metadata_reproduces_the_array() {
    let dir = Dir::new();
    let m = real_members(&dir, "stale-r5");
    let recipe = dir.path("r.json");
    // Only the recipe: no output.
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    let given = shuffled(&m);
    args.extend(given.iter().map(|p| p.as_os_str()));
    args.extend([OsStr::new("--recipe-out"), recipe.as_os_str()]);
    let (code, report, err) = json_run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["output"], Value::Null);
    let r: Value = serde_json::from_str(&fs::read_to_string(&recipe).unwrap()).unwrap();
    assert_eq!(r["level"], "raid5");
    assert_eq!(r["layout"], "left-symmetric");
    assert_eq!(r["chunk_bytes"], 65536);
    assert_eq!(r["members"][0]["path"], "stale-r5-m0.img");
    assert_eq!(r["members"][0]["data_offset_bytes"], 65536);
    assert_eq!(r["members"][2], Value::Null, "the stale member is left out");
    assert_eq!(r["array_size_bytes"], real_array("stale-r5")["array_bytes"]);
    let comment = r["comment"].as_str().unwrap();
    assert!(
        comment.contains("md 1.2") && comment.contains("left out") && comment.contains("m2"),
        "{comment}"
    );

    // The recipe opens as the array anywhere.
    let out = dir.path("from-recipe.img");
    platter()
        .args(["raid", "assemble"])
        .arg(&recipe)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("stale-r5"));
    let info = platter_json(&[OsStr::new("info"), recipe.as_os_str()]);
    assert_eq!(info["size_bytes"], real_array("stale-r5")["array_bytes"]);
}

#[test]
fn split_members_and_member_mapfiles_by_role() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-la");
    // Member 1 as a split set, member 2 read through a ddrescue mapfile
    // whose bad area was zeroed in the image.
    let segments = split_numeric(&m[1], "300000", &dir.path("m1.img."));
    assert!(segments.len() > 1);
    let len = fs::metadata(&m[2]).unwrap().len();
    let bad = (0x20000, 0x8000);
    fill_range(&m[2], bad.0, bad.1, 0);
    let map = dir.path("m2.map");
    write_bad_map(&map, len, &[bad]);
    let given = vec![
        m[3].clone(),
        m[2].clone(),
        segments[0].clone(),
        m[0].clone(),
    ];
    let out = dir.path("out.img");
    let map_arg = format!("2={}", map.display());
    let (code, report, err) = assemble(&given, &["--member-mapfile", &map_arg], &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-la"));
    assert_eq!(report["members"][1]["format"], "split-raw");
    assert_eq!(report["members"][1]["path"], s(&segments[0]));
    assert_eq!(report["members"][2]["mapfile"], s(&map));
    assert!(report["rebuilt_from_parity_bytes"].as_u64().unwrap() > 0);

    // Without the mapfile the zeros are taken as data.
    let wrong = dir.path("wrong.img");
    let (code, _, err) = assemble(&given, &[], &wrong);
    assert_eq!(code, 0, "{err}");
    assert_ne!(digest_of("sha256sum", &wrong), kernel_sha256("r5-la"));

    // A slot no member holds.
    let err = assemble_fails(
        &given[..3],
        &["--member-mapfile", "0=m.map", "-o", s(&dir.path("x"))],
    );
    assert!(err.contains("no member holds slot 0"), "{err}");
}

#[test]
fn explicit_geometry_overrides_metadata_and_scrub_uses_it() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    // Metadata says left-symmetric; the explicit layout wins, so the
    // array differs from the kernel's.
    let out = dir.path("out.img");
    let mut geometry = real_geometry("r5-ls");
    let i = geometry.iter().position(|a| a == "--layout").unwrap();
    geometry[i + 1] = "right-asymmetric".into();
    let geo: Vec<&str> = geometry.iter().map(String::as_str).collect();
    let (code, report, err) = assemble(&m, &geo, &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["metadata"], Value::Null);
    assert_eq!(report["layout"], "right-asymmetric");
    assert_ne!(digest_of("sha256sum", &out), kernel_sha256("r5-ls"));

    // Geometry options without --level are refused, not mixed in.
    let err = assemble_fails(&m, &["--chunk", "4K", "-o", s(&dir.path("x"))]);
    assert!(err.contains("--chunk needs --level"), "{err}");
    let err = assemble_fails(
        &m,
        &[
            "--level",
            "5",
            "--virtual-disk",
            "vd0",
            "--chunk",
            "64K",
            "-o",
            s(&dir.path("x")),
        ],
    );
    assert!(err.contains("--virtual-disk"), "{err}");

    // scrub assembles from metadata too.
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("scrub")];
    let given = shuffled(&m);
    args.extend(given.iter().map(|p| p.as_os_str()));
    let (code, scrub, err) = json_run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(scrub["metadata"]["source"]["version"], "1.2");
    assert_eq!(scrub["members"][0]["path"], s(&m[0]));
    assert_eq!(scrub["inconsistent_units"], 0);

    // info on one member notes its superblock.
    let info = platter_json(&[OsStr::new("info"), m[2].as_os_str()]);
    let notes = info["notes"].to_string();
    assert!(
        notes.contains("md 1.2 superblock at 0x1000: member 2 of raid5 array"),
        "{notes}"
    );
}

/// Sets `raid_disks` of the 1.2 superblock of `path` (at 4 KiB; field at
/// 0x5c, `struct mdp_superblock_1` in the kernel's md_p.h) and, when
/// `fix_csum`, recomputes `sb_csum` (0xd8) as `calc_sb_1_csum` does.
fn set_raid_disks(path: &Path, disks: u32, fix_csum: bool) {
    const SB: usize = 4096;
    let mut b = fs::read(path).unwrap();
    b[SB + 0x5c..SB + 0x60].copy_from_slice(&disks.to_le_bytes());
    if fix_csum {
        let max_dev = u32::from_le_bytes(b[SB + 0xdc..SB + 0xe0].try_into().unwrap()) as usize;
        b[SB + 0xd8..SB + 0xdc].fill(0);
        let len = 256 + 2 * max_dev;
        let mut sum: u64 = b[SB..SB + len / 4 * 4]
            .chunks_exact(4)
            .map(|w| u64::from(u32::from_le_bytes(w.try_into().unwrap())))
            .sum();
        if len % 4 == 2 {
            sum += u64::from(u16::from_le_bytes([b[SB + len - 2], b[SB + len - 1]]));
        }
        let csum = ((sum & 0xffff_ffff) + (sum >> 32)) as u32;
        b[SB + 0xd8..SB + 0xdc].copy_from_slice(&csum.to_le_bytes());
    }
    fs::write(path, b).unwrap();
}

#[test]
fn absurd_superblocks_and_truncated_members_give_clear_errors() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-la");
    let out = dir.path("out.img");

    // One member claims 2^31 disks (with a valid checksum): it is left out
    // as untrustworthy, named, and the others still give the array.
    set_raid_disks(&m[1], 1 << 31, true);
    let (code, report, err) = assemble(&shuffled(&m), &[], &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-la"));
    let ex = &report["metadata"]["excluded"][0];
    assert_eq!(ex["name"], s(&m[1]));
    assert_eq!(ex["reason"]["kind"], "invalid_metadata");
    assert!(
        ex["message"]
            .as_str()
            .unwrap()
            .contains("raid_disks 2147483648"),
        "{ex}"
    );
    let (code, exam, _) = examine(&m[1..2]);
    assert_eq!(code, 0);
    assert_eq!(exam["members"][0]["arrays"][0]["raid_disks"], 2147483648u64);
    assert_eq!(findings(&exam, "invalid_metadata").len(), 1, "{exam}");

    // Every member so (one with a stale checksum): a clear error, exit 1.
    set_raid_disks(&m[0], 1 << 31, false);
    set_raid_disks(&m[2], 1 << 31, true);
    set_raid_disks(&m[3], 1 << 31, true);
    let err = assemble_fails(&m, &["-o", s(&dir.path("x.img"))]);
    assert!(
        err.contains("raid_disks 2147483648") && err.contains("r5-la-m"),
        "{err}"
    );
    let (code, exam, _) = examine(&m[..1]);
    assert_eq!(code, 0);
    assert_eq!(exam["members"][0]["arrays"][0]["checksum_ok"], false);
    assert_eq!(findings(&exam, "checksum").len(), 1, "{exam}");

    // A truncated RAID5 member is left out, named; RAID0 cannot do
    // without it.
    let r5 = real_members(&dir, "r5-ls");
    fs::File::options()
        .write(true)
        .open(&r5[3])
        .unwrap()
        .set_len(300_000)
        .unwrap();
    let out5 = dir.path("r5.img");
    let (code, report, err) = assemble(&r5, &[], &out5);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out5), kernel_sha256("r5-ls"));
    let ex = &report["metadata"]["excluded"][0];
    assert_eq!(ex["name"], s(&r5[3]));
    assert!(
        ex["message"].as_str().unwrap().contains("truncated"),
        "{ex}"
    );

    let r0 = real_members(&dir, "r0-zones");
    fs::File::options()
        .write(true)
        .open(&r0[1])
        .unwrap()
        .set_len(500_000)
        .unwrap();
    let err = assemble_fails(&r0, &["-o", s(&dir.path("r0.img"))]);
    assert!(
        err.contains("role(s) 1") && err.contains(s(&r0[1])) && err.contains("truncated"),
        "{err}"
    );
    // Cut before the superblock: no metadata, named, with the way out.
    fs::File::options()
        .write(true)
        .open(&r0[1])
        .unwrap()
        .set_len(2048)
        .unwrap();
    let err = assemble_fails(&r0, &["-o", s(&dir.path("r0.img"))]);
    assert!(err.contains(s(&r0[1])) && err.contains("--level"), "{err}");
    assert!(!dir.path("r0.img").exists());
}
