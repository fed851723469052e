//! Recipe files (`raid assemble --recipe-out`) open as the array anywhere:
//! `platter info`, `parts list`, `parts extract`, `raid assemble`,
//! `raid scrub`. A GPT disk made by sfdisk is striped into RAID5 members by
//! an independent striper; sfdisk and dd on the original disk are the
//! oracles for what the recipe shows. Bad recipes fail with status 1 and
//! an error naming the recipe.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::raid_util::*;
use crate::util::*;

/// 48 rows of 3 × 64 KiB: 9 MiB.
const DISK_BYTES: u64 = 48 * 3 * 65536;

/// A 9 MiB GPT disk with two partitions and random content, striped as a
/// 4-member left-symmetric RAID5 (64 KiB chunks, 64 KiB data offset) into
/// `members/m0.img`…`m3.img`. Returns the disk image and the members.
fn striped_disk(dir: &Dir) -> (std::path::PathBuf, Vec<std::path::PathBuf>) {
    let disk = dir.path("disk.img");
    fs::write(&disk, random_bytes(DISK_BYTES as usize, 7)).unwrap();
    run_with_stdin(
        std::process::Command::new("sfdisk")
            .args(["--quiet", "--no-reread", "--no-tell-kernel"])
            .arg(&disk),
        "label: gpt\nstart=2048, size=6144, type=linux, name=\"data\"\nstart=8192, size=8192, type=uefi\n",
    );
    let members = stripe_raid5_ls(&fs::read(&disk).unwrap(), 4, 65536, 65536);
    fs::create_dir(dir.path("members")).unwrap();
    let paths = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = dir.path(&format!("members/m{i}.img"));
            fs::write(&p, m).unwrap();
            p
        })
        .collect();
    (disk, paths)
}

fn recipe_out(members: &[std::path::PathBuf], recipe: &Path, extra: &[&str]) -> Value {
    let (code, report, err) = json_run(
        &[
            &[OsStr::new("raid"), OsStr::new("assemble")][..],
            &members.iter().map(|p| p.as_os_str()).collect::<Vec<_>>(),
            &[
                "--level",
                "5",
                "--chunk",
                "64K",
                "--offset",
                "128s",
                "--recipe-out",
            ]
            .map(OsStr::new),
            &[recipe.as_os_str()],
            &extra.iter().map(OsStr::new).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    report
}

#[test]
fn a_recipe_opens_as_the_array_everywhere() {
    let dir = Dir::new();
    let (disk, members) = striped_disk(&dir);
    fs::create_dir(dir.path("case")).unwrap();
    let recipe = dir.path("case/r.json");
    // Only the recipe: nothing is read but the members' sizes.
    let report = recipe_out(&members, &recipe, &[]);
    assert_eq!(report["output"], Value::Null);
    assert_eq!(report["array_size_bytes"], DISK_BYTES);
    let r: Value = serde_json::from_str(&fs::read_to_string(&recipe).unwrap()).unwrap();
    assert_eq!(r["platter_recipe"], 1);
    assert_eq!(r["level"], "raid5");
    assert_eq!(r["layout"], "left-symmetric");
    assert_eq!(r["chunk_bytes"], 65536);
    assert_eq!(r["array_size_bytes"], DISK_BYTES);
    assert_eq!(r["members"][2]["path"], "../members/m2.img");
    assert_eq!(r["members"][2]["data_offset_bytes"], 65536);
    assert_eq!(r["members"][2]["image_bytes"], 65536 + DISK_BYTES / 3);

    // info: the format, the members, and the array's partition table as
    // sfdisk sees it on the original disk.
    let info = platter_json(&[OsStr::new("info"), recipe.as_os_str()]);
    assert_eq!(info["format"]["name"], "raid-recipe");
    assert_eq!(info["size_bytes"], DISK_BYTES);
    assert_same_layout_as_sfdisk(&disk, &info);
    let segments: Vec<&str> = info["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(segments.len(), 5, "{segments:?}");
    assert!(segments[1].ends_with("members/m0.img"), "{segments:?}");
    let notes = info["notes"].to_string();
    assert!(
        notes.contains("raid5[left-symmetric,64K,4 members]"),
        "{notes}"
    );
    let human = platter().arg("info").arg(&recipe).output().unwrap();
    let human = text(&human.stdout);
    assert!(human.contains("format:          raid-recipe"), "{human}");
    assert!(human.contains("slot 3:"), "{human}");

    // parts list and extract through the recipe.
    let parts = platter_json(&[OsStr::new("parts"), OsStr::new("list"), recipe.as_os_str()]);
    assert_same_layout_as_sfdisk(&disk, &parts);
    let p2 = dir.path("p2.img");
    platter()
        .args(["parts", "extract", "-p", "2", "-o"])
        .arg(&p2)
        .arg(&recipe)
        .assert()
        .success();
    assert!(fs::read(&p2).unwrap() == dd_range(&disk, 8192 * 512, 8192 * 512));

    // Writing onto a member through the recipe is refused.
    let err = fails(&[
        OsStr::new("parts"),
        OsStr::new("extract"),
        OsStr::new("-p"),
        OsStr::new("1"),
        OsStr::new("--force"),
        OsStr::new("-o"),
        os(&members[1]),
        os(&recipe),
    ]);
    assert!(err.contains("refusing to write"), "{err}");

    // raid assemble of the recipe: the disk, byte for byte.
    let out = dir.path("array.img");
    platter()
        .args(["raid", "assemble"])
        .arg(&recipe)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(digest_of("sha256sum", &out), digest_of("sha256sum", &disk));

    // The recipe and its members move together: relative paths still hold.
    let moved = Dir::new();
    run(std::process::Command::new("cp")
        .arg("-r")
        .arg(dir.path("case"))
        .arg(dir.path("members"))
        .arg(moved.root()));
    let info = platter_json(&[OsStr::new("info"), moved.path("case/r.json").as_os_str()]);
    assert_same_layout_as_sfdisk(&disk, &info);
}

#[test]
fn recipes_carry_missing_members_mapfiles_and_hashes() {
    let dir = Dir::new();
    let (disk, members) = striped_disk(&dir);
    // Member 1 was imaged by ddrescue, which could not read 1 KiB.
    let len = fs::metadata(&members[1]).unwrap().len();
    let bad = (65536 + 3 * 65536 + 0x400, 0x400);
    fill_range(&members[1], bad.0, bad.1, 0);
    let map = dir.path("members/m1.map");
    write_bad_map(&map, len, &[bad]);
    let recipe = dir.path("r.json");
    let args = [
        OsStr::new("raid"),
        OsStr::new("assemble"),
        os(&members[0]),
        os(&members[1]),
        OsStr::new("missing"),
        os(&members[3]),
        OsStr::new("--level=5"),
        OsStr::new("--chunk=64K"),
        OsStr::new("--offset=64K"),
        OsStr::new("--member-mapfile"),
    ];
    let map_arg = format!("1={}", map.display());
    let (code, _, err) = json_run(
        &[
            &args[..],
            &[
                OsStr::new(&map_arg),
                OsStr::new("--member-hashes"),
                OsStr::new("--recipe-out"),
                os(&recipe),
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&fs::read_to_string(&recipe).unwrap()).unwrap();
    assert_eq!(r["members"][2], Value::Null);
    assert_eq!(r["members"][1]["mapfile"], "members/m1.map");
    assert_eq!(
        r["members"][0]["sha256"],
        digest_of("sha256sum", &members[0])
    );
    // Slot 2 is missing and slot 1 has a hole in row 3, where both hold
    // data: that kilobyte of each is lost; the rest is the disk.
    let out = dir.path("out.img");
    let res = platter()
        .args(["raid", "assemble", "--json", "-o"])
        .arg(&out)
        .arg(&recipe)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", text(&res.stderr));
    let report: Value = serde_json::from_slice(&res.stdout).unwrap();
    // Row 3 of left-symmetric over 4: P on slot 0, D9 on slot 1, D10 on
    // slot 2, D11 on slot 3.
    let lost: Vec<(u64, u64)> = report["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["offset"].as_u64().unwrap(), r["len"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        lost,
        [(9 * 65536 + 0x400, 0x400), (10 * 65536 + 0x400, 0x400)]
    );
    assert_eq!(report["recipe"], recipe.to_str().unwrap());
    let mut want = fs::read(&disk).unwrap();
    for (o, l) in lost {
        want[o as usize..(o + l) as usize].fill(0);
    }
    assert!(fs::read(&out).unwrap() == want);
}

#[test]
fn bad_recipes_fail_clearly() {
    let dir = Dir::new();
    let m0 = dir.write("m0.img", &vec![0u8; 1 << 16]);
    let _m1 = dir.write("m1.img", &vec![0u8; 1 << 16]);
    let good = serde_json::json!({
        "platter_recipe": 1,
        "level": "raid1",
        "members": [{"path": "m0.img", "image_bytes": 65536}, {"path": "m1.img"}],
    });
    let recipe = dir.path("r.json");
    fs::write(&recipe, good.to_string()).unwrap();
    platter().arg("info").arg(&recipe).assert().success();
    let check = |value: &str, want: &[&str]| {
        fs::write(&recipe, value).unwrap();
        for cmd in [&["info"][..], &["parts", "list"], &["raid", "scrub"]] {
            let mut args: Vec<&OsStr> = cmd.iter().map(OsStr::new).collect();
            args.push(recipe.as_os_str());
            let err = fails(&args);
            for w in want {
                assert!(err.contains(w), "{cmd:?} {value}: {err}");
            }
        }
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let r = recipe.to_str().unwrap();
    check(
        &with(&|v| v["members"][1]["path"] = "gone.img".into()),
        &[r, "member 1", "gone.img", "No such file"],
    );
    check(
        "{\"platter_recipe\": 1,\n  \"level\": \"raid1\",\n  \"members\": [,]\n}",
        &[r, "invalid JSON at line 3, column 15"],
    );
    check(
        &with(&|v| {
            v["level"] = "raid6".into();
            v["chunk_bytes"] = 4096.into();
            v["members"].as_array_mut().unwrap().push(Value::Null);
        }),
        &[r, "raid6 needs at least 4 members, got 3"],
    );
    check(
        &with(&|v| {
            v["level"] = "raid5".into();
            v["chunk_bytes"] = 0.into();
        }),
        &[r, "invalid chunk size 0"],
    );
    check(
        &with(&|v| v["members"][0]["image_bytes"] = 4096.into()),
        &[r, "member 0", "65536 bytes, but the recipe says 4096"],
    );
    check(
        &with(&|v| v["members"][0]["data_offset_bytes"] = u64::MAX.into()),
        &[
            r,
            "slot 0 (image 0) is 0x10000 bytes long, shorter than its data offset",
        ],
    );
    check(
        &with(&|v| v["platter_recipe"] = 9.into()),
        &[r, "format version 9 is not supported"],
    );
    check(
        &with(&|v| v["members"][0]["path"] = "r.json".into()),
        &[r, "names itself"],
    );
    let many = serde_json::json!({
        "platter_recipe": 1, "level": "raid0", "chunk_bytes": 4096,
        "members": vec![Value::Null; 300],
    });
    check(
        &many.to_string(),
        &[r, "300 members is more than the supported 256"],
    );
    // Geometry options cannot be mixed with a recipe.
    fs::write(&recipe, good.to_string()).unwrap();
    let err = fails(&[
        OsStr::new("raid"),
        OsStr::new("scrub"),
        os(&recipe),
        OsStr::new("--chunk=4K"),
    ]);
    assert!(err.contains("carries its own geometry"), "{err}");
    let _ = m0;
}
