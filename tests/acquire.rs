//! `platter acquire`, `verify` and `verify-log` on ordinary files: digests
//! against md5sum/sha1sum/sha256sum, split parts against cat, standard
//! output, sparse output, refusals, and tampering with the log.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use serde_json::Value;

use crate::util::{Dir, digest_of, image_digest, pattern, platter, platter_exe, run, text};

/// A 5 MiB source: random, text and zeros.
fn source(dir: &Dir) -> std::path::PathBuf {
    let mut d = pattern(2 << 20, 7);
    d.extend(b"The quick brown fox. ".iter().cycle().take(1 << 20));
    d.extend(vec![0u8; 2 << 20]);
    d.extend(pattern(777, 9));
    dir.write("disk.img", &d)
}

fn acquire_json(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let out = platter()
        .arg("acquire")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 3, "{}", text(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn digests_equal_the_coreutils_tools_and_verify_finds_a_flipped_byte() {
    let dir = Dir::new();
    let src = source(&dir);
    let img = dir.path("out.img");
    let (code, r) = acquire_json(&[
        src.as_os_str(),
        "-o".as_ref(),
        img.as_os_str(),
        "--hash-window".as_ref(),
        "1M".as_ref(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(fs::read(&img).unwrap(), fs::read(&src).unwrap());
    for (alg, tool) in [
        ("md5", "md5sum"),
        ("sha1", "sha1sum"),
        ("sha256", "sha256sum"),
    ] {
        assert_eq!(image_digest(&r, alg), digest_of(tool, &img), "{alg}");
    }
    // An error-free single pass hashes while copying: no read-back.
    assert_eq!(r["hashed_from_output"], false);
    assert_eq!(r["digests"]["windows"].as_array().unwrap().len(), 6);
    let w2 = &r["digests"]["windows"][2];
    let dd = run(Command::new("sh").arg("-c").arg(format!(
        "dd if={} bs=1M skip=2 count=1 status=none | md5sum",
        img.display()
    )));
    assert_eq!(
        w2["digests"][0]["hex"].as_str().unwrap(),
        text(&dd.stdout).split_whitespace().next().unwrap()
    );

    // The log is complete and verifies; the text log and the chain head.
    let log = dir.path("out.img.log.json");
    let txt = fs::read_to_string(dir.path("out.img.log.txt")).unwrap();
    assert!(
        txt.contains(&image_digest(&r, "sha256")) && txt.contains("chain head"),
        "{txt}"
    );
    let v = platter().arg("verify-log").arg(&log).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    assert!(text(&v.stdout).contains(r["chain_head"].as_str().unwrap()));
    let v = platter().arg("verify").arg(&img).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        text(&v.stdout),
        text(&v.stderr)
    );

    // One flipped byte in window 3: exit 1, and the window is named.
    let mut bytes = fs::read(&img).unwrap();
    bytes[3 * (1 << 20) + 12345] ^= 0x40;
    fs::write(&img, &bytes).unwrap();
    let v = platter()
        .args(["verify", "--json"])
        .arg(&img)
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&v.stdout).unwrap();
    let bad: Vec<u64> = j["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["ok"] == false)
        .map(|w| w["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, [3 << 20]);
}

#[test]
fn split_parts_concatenate_to_the_source_and_stdout_matches() {
    let dir = Dir::new();
    let src = source(&dir);
    let base = dir.path("split.img");
    let (_, r) = acquire_json(&[
        src.as_os_str(),
        "-o".as_ref(),
        base.as_os_str(),
        "--split".as_ref(),
        "2M".as_ref(),
    ]);
    let parts: Vec<String> = r["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(parts.len(), 3);
    assert!(parts[0].ends_with("split.img.001") && parts[2].ends_with("split.img.003"));
    let cat = run(Command::new("cat").args(&parts));
    assert_eq!(cat.stdout, fs::read(&src).unwrap());
    // `platter verify` opens the split set and finds the base's log.
    let v = platter().arg("verify").arg(&parts[0]).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        text(&v.stdout),
        text(&v.stderr)
    );

    // `-o -`: the image on stdout, the report on stderr.
    let piped = dir.path("piped.img");
    let sh = format!(
        "{} acquire {} -o - --json --log-base {} > {} 2> {}",
        platter_exe(),
        src.display(),
        dir.path("piped").display(),
        piped.display(),
        dir.path("report.json").display()
    );
    run(Command::new("sh").arg("-c").arg(&sh));
    assert_eq!(fs::read(&piped).unwrap(), fs::read(&src).unwrap());
    let rep: Value = serde_json::from_slice(&fs::read(dir.path("report.json")).unwrap()).unwrap();
    assert_eq!(image_digest(&rep, "sha1"), digest_of("sha1sum", &src));
    assert!(dir.path("piped.log.json").exists());
}

#[test]
fn sparse_output_leaves_holes_for_zero_blocks() {
    let dir = Dir::new();
    let src = source(&dir);
    let img = dir.path("sparse.img");
    acquire_json(&[
        src.as_os_str(),
        "-o".as_ref(),
        img.as_os_str(),
        "--sparse".as_ref(),
    ]);
    assert_eq!(fs::read(&img).unwrap(), fs::read(&src).unwrap());
    let allocated = fs::metadata(&img).unwrap().blocks() * 512;
    assert!(
        allocated <= (3 << 20) + 8192,
        "{allocated} bytes allocated for 2 MiB of zeros"
    );
}

#[test]
fn refusals_name_the_problem() {
    let dir = Dir::new();
    let src = source(&dir);
    let link = dir.path("link.img");
    std::os::unix::fs::symlink(&src, &link).unwrap();
    let img = dir.path("out.img");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec![
                src.clone().into(),
                "-o".into(),
                src.clone().into(),
                "--force".into(),
            ],
            "source",
        ),
        (
            vec![
                src.clone().into(),
                "-o".into(),
                link.clone().into(),
                "--force".into(),
            ],
            "source",
        ),
        (
            vec![
                src.clone().into(),
                "-o".into(),
                img.clone().into(),
                "--mapfile".into(),
                src.clone().into(),
            ],
            "source",
        ),
        (
            vec![
                src.clone().into(),
                "-o".into(),
                img.clone().into(),
                "--mapfile".into(),
                img.clone().into(),
            ],
            "output",
        ),
        (
            vec![
                src.clone().into(),
                "-o".into(),
                img.clone().into(),
                "--resume".into(),
            ],
            "--mapfile",
        ),
        (
            vec![
                src.clone().into(),
                "-o".into(),
                "-".into(),
                "--format".into(),
                "e01".into(),
            ],
            "e01",
        ),
    ];
    for (args, needle) in cases {
        let out = platter().arg("acquire").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        fs::read(&src).unwrap().len(),
        (5 << 20) + 777,
        "the source was changed"
    );
    // An existing output (and its log) only with --force.
    platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&img)
        .assert()
        .code(0);
    let out = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&img)
        .arg("--force")
        .assert()
        .code(0);
}

#[test]
fn tampering_with_any_log_record_is_detected() {
    let dir = Dir::new();
    let src = source(&dir);
    let img = dir.path("out.img");
    acquire_json(&[
        src.as_os_str(),
        "-o".as_ref(),
        img.as_os_str(),
        "--case".as_ref(),
        "2026-117".as_ref(),
    ]);
    let log = dir.path("out.img.log.json");
    let doc: Value = serde_json::from_slice(&fs::read(&log).unwrap()).unwrap();
    let n = doc["records"].as_array().unwrap().len();
    assert!(n >= 5);
    let head = doc["chain_head"].as_str().unwrap().to_string();
    let check = |d: &Value, what: &str| {
        let p = dir.path("tampered.json");
        fs::write(&p, serde_json::to_vec_pretty(d).unwrap()).unwrap();
        let out = platter().arg("verify-log").arg(&p).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what} not detected: {}",
            text(&out.stdout)
        );
        assert!(text(&out.stdout).contains("PROBLEM"), "{what}");
    };
    for i in 0..n {
        let mut d = doc.clone();
        d["records"][i]["time"] = Value::from("2020-01-01T00:00:00.000Z");
        check(&d, &format!("edited time of record {i}"));
        let mut d = doc.clone();
        d["records"][i]["data"]["tampered"] = Value::from(true);
        check(&d, &format!("edited data of record {i}"));
        let mut d = doc.clone();
        d["records"].as_array_mut().unwrap().remove(i);
        check(&d, &format!("removed record {i}"));
        if i + 1 < n {
            let mut d = doc.clone();
            d["records"].as_array_mut().unwrap().swap(i, i + 1);
            check(&d, &format!("swapped records {i} and {}", i + 1));
        }
    }
    // A noted head that differs is reported too.
    let out = platter()
        .arg("verify-log")
        .arg(&log)
        .arg("--head")
        .arg("00ff")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    platter()
        .arg("verify-log")
        .arg(&log)
        .arg("--head")
        .arg(&head)
        .assert()
        .code(0);
}

/// `--set-readonly` on a loop device: BLKROSET is set before reading (as
/// `blockdev --getro` reports), the log's device identity says read-only,
/// and the image equals the backing file.
#[test]
fn set_readonly_marks_a_block_device_read_only() {
    let dir = Dir::new();
    let src = source(&dir);
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&src)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("skipping: no loop device: {}", text(&out.stderr));
        return;
    }
    let dev = text(&out.stdout).trim().to_string();
    // BLKROSET outlives the loop attachment: clear it before detaching, or
    // the next user of this loop device would find it read-only.
    struct Detach(String);
    impl Drop for Detach {
        fn drop(&mut self) {
            let _ = Command::new("blockdev").args(["--setrw", &self.0]).status();
            let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
        }
    }
    let _guard = Detach(dev.clone());
    let getro = || {
        text(&run(Command::new("blockdev").args(["--getro", &dev])).stdout)
            .trim()
            .to_string()
    };
    assert_eq!(getro(), "0");
    let img = dir.path("loop.img");
    let (code, _) = acquire_json(&[
        dev.as_ref(),
        "-o".as_ref(),
        img.as_os_str(),
        "--set-readonly".as_ref(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(getro(), "1");
    // A loop device ends at the last whole sector of its backing file.
    let (got, want) = (fs::read(&img).unwrap(), fs::read(&src).unwrap());
    assert_eq!(got.len(), want.len() / 512 * 512);
    assert!(
        got == want[..got.len()],
        "the image differs from the backing file"
    );
    let log: Value =
        serde_json::from_slice(&fs::read(dir.path("loop.img.log.json")).unwrap()).unwrap();
    assert_eq!(
        log["records"][0]["data"]["source"]["device"]["read_only"],
        true
    );
}

/// `--hash md5,sha512,blake3`: the image digests equal md5sum, sha512sum
/// and b3sum of the output, both from the pipeline and when read back
/// (`--reverse`); windows are hashed with the same algorithms; the log
/// records them and `platter verify` checks all three, naming a tampered
/// window.
#[test]
fn sha512_and_blake3_end_to_end() {
    if Command::new("b3sum").arg("--version").output().is_err() {
        // CI installs it (.ci/run): only a developer machine may lack it.
        assert!(std::env::var_os("CI").is_none(), "b3sum missing on CI");
        eprintln!("skipping: b3sum is not installed");
        return;
    }
    let dir = Dir::new();
    let src = source(&dir);
    for (name, extra) in [("fwd.img", None), ("rev.img", Some("--reverse"))] {
        let img = dir.path(name);
        let mut args = vec![
            src.as_os_str(),
            "-o".as_ref(),
            img.as_os_str(),
            "--hash".as_ref(),
            "md5,sha512,blake3".as_ref(),
            "--hash-window".as_ref(),
            "2M".as_ref(),
        ];
        args.extend(extra.map(std::ffi::OsStr::new));
        let (code, r) = acquire_json(&args);
        assert_eq!(code, 0);
        assert_eq!(r["hashed_from_output"], extra.is_some(), "{name}");
        let algs: Vec<&str> = r["digests"]["image"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["alg"].as_str().unwrap())
            .collect();
        assert_eq!(algs, ["md5", "sha512", "blake3"]);
        for (alg, tool) in [
            ("md5", "md5sum"),
            ("sha512", "sha512sum"),
            ("blake3", "b3sum"),
        ] {
            assert_eq!(image_digest(&r, alg), digest_of(tool, &img), "{name} {alg}");
        }
        // Window 1 (2 MiB at 2 MiB), by b3sum.
        let w1 = &r["digests"]["windows"][1]["digests"];
        let dd = run(Command::new("sh").arg("-c").arg(format!(
            "dd if={} bs=1M skip=2 count=2 status=none | b3sum",
            img.display()
        )));
        assert_eq!(
            w1[2]["hex"].as_str().unwrap(),
            text(&dd.stdout).split_whitespace().next().unwrap()
        );
        let log = fs::read_to_string(dir.path(&format!("{name}.log.json"))).unwrap();
        assert!(
            log.contains(&image_digest(&r, "blake3")) && log.contains(&image_digest(&r, "sha512"))
        );
    }
    let img = dir.path("fwd.img");
    let v = platter()
        .args(["verify", "--json"])
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    let j: Value = serde_json::from_slice(&v.stdout).unwrap();
    let checked: Vec<&str> = j["image"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["alg"].as_str().unwrap())
        .collect();
    assert_eq!(checked, ["md5", "sha512", "blake3"]);
    let mut bytes = fs::read(&img).unwrap();
    bytes[(4 << 20) + 99] ^= 1;
    fs::write(&img, &bytes).unwrap();
    let v = platter()
        .args(["verify", "--json"])
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    let j: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert!(
        j["image"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["ok"] == false)
    );
    let bad: Vec<u64> = j["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["ok"] == false)
        .map(|w| w["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, [4 << 20]);
}

/// `--format e01 --segment-size`: several EnCase segments (.E01, .E02, …)
/// that ewfverify accepts, with the digests md5sum gives.
#[test]
fn e01_segment_size_makes_segments_ewfverify_accepts() {
    if std::process::Command::new("ewfverify")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: ewfverify missing (install ewf-tools)");
        return;
    }
    let dir = Dir::new();
    let mut data = pattern(6 << 20, 3);
    data[2 << 20..3 << 20].fill(0);
    let src = dir.write("src.img", &data);
    let out = dir.path("ev.E01");
    platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .args([
            "--format",
            "e01",
            "--segment-size",
            "2M",
            "--hash",
            "md5,sha1",
        ])
        .assert()
        .code(0);
    assert!(dir.path("ev.E02").exists(), "no second segment");
    let v = std::process::Command::new("ewfverify")
        .arg("-q")
        .arg(&out)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains(&digest_of("md5sum", &src)),
        "{}",
        text(&v.stdout)
    );
}
