//! `platter raid assemble` from explicit parameters, against real md arrays
//! made by a Linux kernel (`fixtures/raid`): the output's sha256 (by
//! `sha256sum`) must be the kernel's own hash of `/dev/mdN`, whatever the
//! member order on the command line, with members `missing`, and with
//! member bad sectors (ddrescue mapfiles) repaired from parity. What parity
//! cannot repair is reported exactly and the status is 3.

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;

use crate::raid_util::*;
use crate::util::*;

/// `platter raid assemble MEMBERS GEOMETRY EXTRA -o OUT --json`.
fn assemble(
    members: &[PathBuf],
    geometry: &[String],
    extra: &[&str],
    out: &std::path::Path,
) -> (i32, serde_json::Value, String) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("assemble")];
    args.extend(members.iter().map(|p| p.as_os_str()));
    args.extend(geometry.iter().map(OsStr::new));
    args.extend(extra.iter().map(OsStr::new));
    args.extend([OsStr::new("-o"), out.as_os_str()]);
    json_run(&args)
}

#[test]
fn shuffled_members_with_order_give_the_kernels_array() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    let out = dir.path("r5-ls.img");
    // Slot 0 is argument 1, slot 1 argument 3, slot 2 argument 0, slot 3 argument 2.
    let shuffled = [m[2].clone(), m[0].clone(), m[3].clone(), m[1].clone()];
    let (code, report, err) = assemble(
        &shuffled,
        &real_geometry("r5-ls"),
        &["--order", "1,3,0,2"],
        &out,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-ls"));
    assert_eq!(
        digest_hex(&report["digests"], "sha256"),
        kernel_sha256("r5-ls")
    );
    assert_eq!(report["geometry"], "raid5[left-symmetric,64K,4 members]");
    assert_eq!(
        report["array_size_bytes"],
        real_array("r5-ls")["array_bytes"]
    );
    assert_eq!(report["members"][1]["path"], m[1].to_str().unwrap());
    assert_eq!(report["rebuilt_from_parity_bytes"], 0);
    assert_eq!(report["unreadable"].as_array().unwrap().len(), 0);

    // The same members in argument order without --order are another array.
    let wrong = dir.path("wrong.img");
    let (code, _, err) = assemble(&shuffled, &real_geometry("r5-ls"), &[], &wrong);
    assert_eq!(code, 0, "{err}");
    assert_ne!(digest_of("sha256sum", &wrong), kernel_sha256("r5-ls"));

    // An existing output is refused without --force; a member always is.
    let again = platter()
        .args(["raid", "assemble"])
        .args(&m)
        .args(real_geometry("r5-ls"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));
    let onto = fails(&[
        OsStr::new("raid"),
        OsStr::new("assemble"),
        os(&m[0]),
        os(&m[1]),
        os(&m[2]),
        os(&m[3]),
        OsStr::new("--level=5"),
        OsStr::new("--chunk=64K"),
        OsStr::new("--force"),
        OsStr::new("-o"),
        os(&m[2]),
    ]);
    assert!(onto.contains("refusing to write"), "{onto}");
    assert_eq!(
        fs::metadata(&m[2]).unwrap().len(),
        2 << 20,
        "member untouched"
    );
}

#[test]
fn missing_members_are_rebuilt_raid6_ddf_and_raid5() {
    let dir = Dir::new();
    // RAID6 ddf-N-continue, two members gone: `missing` in the member list.
    let m = real_members(&dir, "r6-ddf-nc");
    let members = [
        m[0].clone(),
        PathBuf::from("missing"),
        m[2].clone(),
        PathBuf::from("missing"),
        m[4].clone(),
    ];
    let out = dir.path("r6.img");
    let (code, report, err) = assemble(&members, &real_geometry("r6-ddf-nc"), &[], &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r6-ddf-nc"));
    assert_eq!(report["members"][1]["path"], serde_json::Value::Null);
    assert!(report["rebuilt_from_parity_bytes"].as_u64().unwrap() > 0);

    // RAID5 left-asymmetric, slot 2 missing through --order.
    let m = real_members(&dir, "r5-la");
    let out = dir.path("r5.img");
    let (code, report, err) = assemble(
        &[m[0].clone(), m[1].clone(), m[3].clone()],
        &real_geometry("r5-la"),
        &["--order", "0,1,missing,2"],
        &out,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-la"));
    // Slot 2 holds data in 3 of every 4 rows: 3/4 of a member is rebuilt.
    assert_eq!(
        report["rebuilt_from_parity_bytes"].as_u64().unwrap(),
        983040 * 3 / 4
    );

    // RAID10 far=2 without member 0, and RAID0 zones (no redundancy) whole.
    for name in ["r10-f2", "r0-zones-alt"] {
        let m = real_members(&dir, name);
        let mut members = m.clone();
        if name == "r10-f2" {
            members[0] = PathBuf::from("missing");
        }
        let out = dir.path(&format!("{name}.img"));
        let (code, _, err) = assemble(&members, &real_geometry(name), &[], &out);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(digest_of("sha256sum", &out), kernel_sha256(name), "{name}");
    }
}

/// r5-ls: data offset 64K, 64K chunks, 4 members; slot 1 holds D1 in row 0
/// and P in row 2 (left-symmetric).
const OFF: u64 = 0x10000;
const CHUNK: u64 = 0x10000;

#[test]
fn member_bad_sectors_are_repaired_from_parity() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    let len = fs::metadata(&m[1]).unwrap().len();
    // ddrescue left zeros where it could not read: 4 KiB of data in row 0
    // and 2 KiB of parity in row 2.
    let bad = [(OFF + 0x2000, 0x1000), (OFF + 2 * CHUNK + 0x800, 0x800)];
    for &(o, l) in &bad {
        fill_range(&m[1], o, l, 0);
    }
    let map = dir.path("m1.map");
    write_bad_map(&map, len, &bad);

    // Without the mapfile the zeros are taken for data: a wrong array.
    let out = dir.path("blind.img");
    let (code, _, err) = assemble(&m, &real_geometry("r5-ls"), &[], &out);
    assert_eq!(code, 0, "{err}");
    assert_ne!(digest_of("sha256sum", &out), kernel_sha256("r5-ls"));

    let out = dir.path("repaired.img");
    let map_arg = format!("1={}", map.display());
    let (code, report, err) = assemble(
        &m,
        &real_geometry("r5-ls"),
        &["--member-mapfile", &map_arg],
        &out,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-ls"));
    // Only the data sectors needed rebuilding; the bad parity was not read.
    assert_eq!(report["rebuilt_from_parity_bytes"], 0x1000);
    assert_eq!(report["members"][1]["mapfile"], map.to_str().unwrap());
    assert_eq!(report["unreadable"].as_array().unwrap().len(), 0);
}

#[test]
fn a_member_imaged_only_in_part_is_completed_from_parity() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    // The last 512 KiB of slot 3 were never imaged; md's component size
    // (--member-size) still says where the array ends.
    let f = fs::OpenOptions::new().write(true).open(&m[3]).unwrap();
    f.set_len(3 << 19).unwrap();
    drop(f);
    let out = dir.path("out.img");
    let (code, report, err) = assemble(&m, &real_geometry("r5-ls"), &[], &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest_of("sha256sum", &out), kernel_sha256("r5-ls"));
    assert_eq!(report["array_size_bytes"], 6094848);
    // After its 64 KiB offset the cut member keeps 23 of its 31 chunks.
    // Of rows 23..=30, slot 3 holds P in rows 24 and 28 (left-symmetric:
    // P on slot 3 when row % 4 = 0) and data in the 6 others: rebuilt.
    assert_eq!(report["rebuilt_from_parity_bytes"], 6 * 65536);
}

#[test]
fn unrepairable_sectors_are_reported_exactly_with_status_3() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    let reference = dir.path("ref.img");
    let (code, _, err) = assemble(&m, &real_geometry("r5-ls"), &[], &reference);
    assert_eq!(code, 0, "{err}");
    let len = fs::metadata(&m[0]).unwrap().len();
    // The same sector of row 0 is bad on slots 0 (D0) and 1 (D1): two
    // losses in one RAID5 row. Slot 2 also has a bad sector alone (D2 of
    // row 0, elsewhere): that one is repaired.
    let both = (OFF + 0x1000, 0x200);
    let alone = (OFF + 0x4000, 0x400);
    let mut args = Vec::new();
    for (slot, bad) in [(0, vec![both]), (1, vec![both]), (2, vec![alone])] {
        for &(o, l) in &bad {
            fill_range(&m[slot], o, l, 0);
        }
        let map = dir.path(&format!("m{slot}.map"));
        write_bad_map(&map, len, &bad);
        args.push("--member-mapfile".to_string());
        args.push(format!("{slot}={}", map.display()));
    }
    args.extend(["--fill".into(), "0xee".into()]);
    let extra: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dir.path("holes.img");
    let (code, report, err) = assemble(&m, &real_geometry("r5-ls"), &extra, &out);
    assert_eq!(code, 3, "{err}");
    // D0 sits at array offset 0 and D1 at one chunk: the lost sector of
    // each, exactly.
    let ranges: Vec<(u64, u64)> = report["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["offset"].as_u64().unwrap(), r["len"].as_u64().unwrap()))
        .collect();
    assert_eq!(ranges, [(0x1000, 0x200), (CHUNK + 0x1000, 0x200)]);
    assert_eq!(report["unreadable_bytes"], 0x400);
    assert_eq!(report["rebuilt_from_parity_bytes"], 0x400);
    // Everything else is the kernel's array; the holes hold the fill byte.
    let mut want = fs::read(&reference).unwrap();
    for (o, l) in ranges {
        want[o as usize..(o + l) as usize].fill(0xee);
    }
    assert!(fs::read(&out).unwrap() == want);

    // The human report lists the ranges with their sectors.
    let human = platter()
        .args(["raid", "assemble"])
        .args(&m)
        .args(real_geometry("r5-ls"))
        .args(&args)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(3));
    let report = text(&human.stderr);
    assert!(
        report.contains("array offset 0x1000, 512 bytes (sector 8)")
            && report.contains("array offset 0x11000, 512 bytes (sector 136)"),
        "{report}"
    );
    assert_eq!(human.stdout.len() as u64, 6094848);
}

#[test]
fn geometry_mistakes_are_clear_errors() {
    let dir = Dir::new();
    let a = dir.write("a.img", &[0u8; 8192]);
    let b = dir.write("b.img", &[0u8; 8192]);
    let c = dir.write("c.img", &[0u8; 8192]);
    let base = |extra: &[&str]| -> String {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("raid"),
            OsStr::new("assemble"),
            os(&a),
            os(&b),
            os(&c),
        ];
        args.extend(extra.iter().map(OsStr::new));
        fails(&args)
    };
    let out = dir.path("o.img");
    let o = out.to_str().unwrap();
    for (extra, want) in [
        (
            vec!["--level", "6", "--chunk", "4K", "-o", o],
            "raid6 needs at least 4 members, got 3",
        ),
        (
            vec!["--level", "5", "--chunk", "0", "-o", o],
            "invalid chunk size 0",
        ),
        (
            vec!["--level", "5", "-o", o],
            "--chunk is required for raid5",
        ),
        (
            vec!["--level", "5", "--chunk", "4K", "--layout", "n2", "-o", o],
            "n2",
        ),
        (
            vec!["--level", "5", "--chunk", "4K", "--order", "0,1,5", "-o", o],
            "member 5 does not exist",
        ),
        (
            vec!["--level", "5", "--chunk", "4K", "--order", "0,1", "-o", o],
            "leaves out member 2",
        ),
        (
            vec![
                "--level", "5", "--chunk", "4K", "--offset", "1K,2K", "-o", o,
            ],
            "2 values for 3 slots",
        ),
        (
            vec!["--level", "5", "--chunk", "4K", "--offset", "16K", "-o", o],
            "shorter than its data offset",
        ),
        (
            vec![
                "--level",
                "5",
                "--chunk",
                "4K",
                "--member-mapfile",
                "7=x.map",
                "-o",
                o,
            ],
            "slot 7 has no member",
        ),
        (
            vec!["--level", "5", "--chunk", "4K", "--delayed", "40", "-o", o],
            "invalid delayed parity",
        ),
        (vec!["--level", "5", "--chunk", "4K"], "nothing to write"),
        (vec!["-o", o], "give the geometry with --level"),
    ] {
        let err = base(&extra);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    assert!(!out.exists(), "no output left behind");
    let order = format!("0{}", ",0".repeat(1 << 12));
    let err = base(&["--level", "0", "--chunk", "4K", "--order", &order, "-o", o]);
    assert!(
        err.contains("4097 members is more than the supported 256"),
        "{err}"
    );
    // A member that does not exist is named.
    let err = fails(&[
        OsStr::new("raid"),
        OsStr::new("assemble"),
        os(&a),
        OsStr::new("nope.img"),
        OsStr::new("--level=1"),
        OsStr::new("-o"),
        os(&out),
    ]);
    assert!(
        err.contains("member 1") && err.contains("nope.img"),
        "{err}"
    );
}
