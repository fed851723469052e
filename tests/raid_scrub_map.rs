//! `platter raid map` (known layouts, SVG well-formed, absurd geometries
//! refused) and `platter raid scrub` on real md arrays: clean arrays are
//! consistent (md's own check said so), corrupted copies are found at the
//! right rows, with the culprit named for RAID6, and the stale member of
//! `stale-r5` is out of date exactly in the rows rewritten without it.

use std::ffi::OsStr;
use std::fs;

use serde_json::Value;

use crate::raid_util::*;
use crate::util::*;

/// The left-symmetric RAID5 layout over 4 disks, as `md(4)` draws it.
const LS4: &str = "\
raid5[left-symmetric,64K,4 members]: 4 rows of 64K per member
row  member offset  array offset  slot 0  slot 1  slot 2  slot 3
  0            0x0           0x0  D0      D1      D2      P
  1        0x10000       0x30000  D4      D5      P       D3
  2        0x20000       0x60000  D8      P       D6      D7
  3        0x30000       0x90000  P       D9      D10     D11
Dk = array chunk k (array bytes k × 64K), P = XOR parity
";

/// Checks that `svg` is well-formed enough: every tag closed in order,
/// one `svg` root, attributes quoted. Returns the element names in order.
fn parse_xml(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = svg.trim();
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "stray > in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = ["&amp;", "&lt;", "&gt;", "&quot;"];
            assert!(
                entity.iter().any(|e| text[i..].starts_with(e)),
                "bare & in {text:?}"
            );
        }
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body
            .split_whitespace()
            .next()
            .expect("tag name")
            .to_string();
        assert_eq!(
            body.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{body}>"
        );
        if stack.is_empty() {
            roots += 1;
        }
        names.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1);
    assert_eq!(names[0], "svg");
    names
}

#[test]
fn map_of_a_known_layout_as_text_json_and_svg() {
    let dir = Dir::new();
    let svg = dir.path("ls4.svg");
    let out = platter()
        .args(["raid", "map", "--level", "5", "--layout", "left-symmetric"])
        .args(["--chunk", "64K", "--members", "4", "--rows", "4", "--svg"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = text(&out.stdout);
    assert_eq!(
        got,
        format!("{LS4}SVG written to {}\n", svg.display()),
        "{got}"
    );
    let picture = fs::read_to_string(&svg).unwrap();
    let names = parse_xml(&picture);
    // A background and one box per cell, each labelled.
    assert_eq!(names.iter().filter(|n| *n == "rect").count(), 1 + 16);
    for label in ["D0", "D11", ">P<", "slot 3", "row 3"] {
        assert!(picture.contains(label), "{label} missing");
    }
    // An existing SVG is not replaced without --force.
    platter()
        .args([
            "raid",
            "map",
            "--level=5",
            "--chunk=64K",
            "--members=4",
            "--svg",
        ])
        .arg(&svg)
        .assert()
        .code(1);

    // RAID6 left-symmetric over 5 and RAID10 near=2 over 3 in JSON.
    let j = platter_json(
        &[
            "raid",
            "map",
            "--level=6",
            "--chunk=4K",
            "--members=5",
            "--rows=2",
        ]
        .map(OsStr::new),
    );
    let kinds: Vec<String> = j["rows"][0]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["kind"].as_str().unwrap() {
            "data" => format!("D{}", c["chunk"]),
            k => k.to_uppercase(),
        })
        .collect();
    assert_eq!(kinds, ["Q", "D0", "D1", "D2", "P"]);
    assert_eq!(j["rows"][0]["cells"][1]["q_exponent"], 0);
    let t = platter()
        .args(["raid", "map", "--level=10", "--layout=n2", "--chunk=64K"])
        .args(["--members=3", "--rows=2"])
        .output()
        .unwrap();
    let t = text(&t.stdout);
    assert!(
        t.contains("  0            0x0  D0      D0      D1\n"),
        "{t}"
    );
    assert!(
        t.contains("  1        0x10000  D1      D2      D2\n"),
        "{t}"
    );
}

#[test]
fn map_refuses_absurd_geometries() {
    for (args, want) in [
        (
            &["--level=5", "--chunk=64K", "--members=2147483648"][..],
            "2147483648 members is more than the supported 256",
        ),
        (
            &["--level=6", "--chunk=64K", "--members=3"],
            "raid6 needs at least 4 members, got 3",
        ),
        (
            &["--level=5", "--chunk=0", "--members=4"],
            "invalid chunk size 0",
        ),
        (&["--level=5", "--members=4"], "--chunk is required"),
        (
            &["--level=5", "--chunk=64K", "--members=4", "--layout=f2"],
            "f2",
        ),
        (
            &["--level=7", "--chunk=64K", "--members=4"],
            "unknown RAID level",
        ),
        (
            &["--level=10", "--layout=n3", "--chunk=64K", "--members=2"],
            "at most 2 copies",
        ),
    ] {
        let mut a: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("map")];
        a.extend(args.iter().map(OsStr::new));
        let err = fails(&a);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

fn scrub(args: &[&OsStr]) -> (i32, Value, String) {
    let mut a: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("scrub")];
    a.extend_from_slice(args);
    json_run(&a)
}

fn geometry_args(name: &str) -> Vec<std::ffi::OsString> {
    real_geometry(name).into_iter().map(Into::into).collect()
}

#[test]
fn scrub_finds_corruption_and_names_the_raid6_culprit() {
    let dir = Dir::new();
    let m = real_members(&dir, "r6-ls");
    let g = geometry_args("r6-ls");
    let args = |m: &[std::path::PathBuf]| -> Vec<std::ffi::OsString> {
        m.iter()
            .map(|p| p.clone().into_os_string())
            .chain(g.clone())
            .collect()
    };
    let a = args(&m);
    let a: Vec<&OsStr> = a.iter().map(|s| s.as_os_str()).collect();
    let (code, clean, err) = scrub(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(clean["check"], "parity_and_q");
    assert_eq!(
        (clean["units"].as_u64(), clean["units_checked"].as_u64()),
        (Some(31), Some(31))
    );
    assert_eq!(clean["inconsistent"].as_array().unwrap().len(), 0);

    // Left-symmetric RAID6 over 5: row 2 has P on slot 2, Q on slot 3 and
    // data on 4, 0, 1; row 4 has P on slot 0.
    let off = 0x10000u64;
    let chunk = 0x10000u64;
    let mut bytes = fs::read(&m[0]).unwrap();
    for i in 0..4 {
        bytes[(off + 2 * chunk + 100 + i) as usize] ^= 0x5a;
    }
    bytes[(off + 4 * chunk + 7) as usize] ^= 1;
    fs::write(&m[0], bytes).unwrap();
    let (code, r, err) = scrub(&a);
    assert_eq!(code, 4, "{err}");
    let runs = r["inconsistent"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{r:#}");
    assert_eq!(runs[0]["first_unit"], 2);
    assert_eq!(runs[0]["units"], 1);
    assert_eq!(runs[0]["array_offset"], 2 * 3 * chunk);
    assert_eq!(runs[0]["array_len"], 3 * chunk);
    assert_eq!(
        runs[0]["verdict"],
        serde_json::json!({"kind": "data_wrong", "slot": 0})
    );
    assert_eq!(runs[0]["members"][0]["offset"], off + 2 * chunk);
    assert_eq!(runs[0]["members"][0]["len"], chunk);
    assert_eq!(runs[1]["first_unit"], 4);
    assert_eq!(
        runs[1]["verdict"],
        serde_json::json!({"kind": "p_wrong", "slot": 0})
    );

    let human = platter().args(["raid", "scrub"]).args(&a).output().unwrap();
    assert_eq!(human.status.code(), Some(4));
    let h = text(&human.stdout);
    let name = m[0].display().to_string();
    assert!(
        h.contains("result:          2 rows inconsistent, in 2 runs:"),
        "{h}"
    );
    assert!(
        h.contains(&format!(
            "row 2: array offset 0x60000, 196608 bytes: the data on slot 0 ({name}) is wrong (P and Q agree)"
        )),
        "{h}"
    );
    assert!(
        h.contains(&format!(
            "row 4: array offset 0xc0000, 196608 bytes: P on slot 0 ({name}) is wrong"
        )),
        "{h}"
    );
}

#[test]
fn scrub_of_the_stale_member_flags_the_rewritten_rows() {
    let dir = Dir::new();
    let m = real_members(&dir, "stale-r5");
    let g = geometry_args("stale-r5");
    let mut a: Vec<&OsStr> = m.iter().map(|p| p.as_os_str()).collect();
    a.extend(g.iter().map(|s| s.as_os_str()));
    let (code, r, err) = scrub(&a);
    assert_eq!(code, 4, "{err}");
    // The first half (15.5 rows of 192 KiB) was rewritten while m2 was away.
    let runs = r["inconsistent"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{r:#}");
    assert_eq!(
        (runs[0]["first_unit"].as_u64(), runs[0]["units"].as_u64()),
        (Some(0), Some(16))
    );
    assert_eq!(runs[0]["verdict"]["kind"], "parity_mismatch");
    assert_eq!(r["inconsistent_units"], 16);
    assert_eq!(r["units_checked"], 31);

    // Left out, nothing can be checked: said so, status 0.
    a[2] = OsStr::new("missing");
    let (code, r, err) = scrub(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["units_skipped"], 31);
    assert!(
        r["skipped_reason"]
            .as_str()
            .unwrap()
            .contains("slot 2 missing")
    );
    let human = platter().args(["raid", "scrub"]).args(&a).output().unwrap();
    let h = text(&human.stdout);
    assert!(
        h.contains("skipped:         31 rows: slot 2 missing"),
        "{h}"
    );
}

#[test]
fn scrub_reports_unreadable_member_sectors_and_refuses_raid0() {
    let dir = Dir::new();
    let m = real_members(&dir, "r5-ls");
    let len = fs::metadata(&m[1]).unwrap().len();
    let map = dir.path("m1.map");
    write_bad_map(&map, len, &[(0x10000 + 0x20000, 0x1000)]);
    let map_arg = format!("--member-mapfile=1={}", map.display());
    let mut a: Vec<&OsStr> = m.iter().map(|p| p.as_os_str()).collect();
    let g = geometry_args("r5-ls");
    a.extend(g.iter().map(|s| s.as_os_str()));
    a.push(OsStr::new(&map_arg));
    let (code, r, err) = scrub(&a);
    assert_eq!(code, 3, "{err}");
    assert_eq!(r["unreadable_member_bytes"], 0x1000);
    assert_eq!(r["unchecked"][0]["first_unit"], 2);
    assert!(r["inconsistent"].as_array().unwrap().is_empty());

    let z = real_members(&dir, "r0-zones");
    let mut a: Vec<&OsStr> = z.iter().map(|p| p.as_os_str()).collect();
    let g = geometry_args("r0-zones");
    a.extend(g.iter().map(|s| s.as_os_str()));
    let mut full = vec![OsStr::new("raid"), OsStr::new("scrub")];
    full.extend(a);
    let err = fails(&full);
    assert!(err.contains("raid0 has no redundancy to check"), "{err}");
}
