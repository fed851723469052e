//! `platter acquire` against real kernel read errors (EIO from a FUSE
//! file, see `acquire_faultfs.rs`): exact bad sectors, mapfile accepted by
//! GNU ddrescue and ddrescuelog, good-range hashes, kill -9 and resume.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::acquire_faultfs::{FaultFs, SECTOR, expected_image};
use crate::util::{Dir, digest_of, image_digest, pattern, platter, platter_exe, run, text};

/// Bad sectors of the standard faulty disk of `len` bytes: single sectors,
/// a 300-sector area, the first and the last sector.
fn bad_sectors(len: u64) -> Vec<u64> {
    let last = (len - 1) / SECTOR;
    let mut bad = vec![0, 9, 2047, 2049, last];
    bad.extend(5000..5300);
    bad.sort_unstable();
    bad
}

/// Runs of consecutive sectors as `(first, count)`.
fn runs(sectors: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &s in sectors {
        match out.last_mut() {
            Some((f, c)) if *f + *c == s => *c += 1,
            _ => out.push((s, 1)),
        }
    }
    out
}

/// The complement of the bad sectors in `[0, len)`, as byte ranges.
fn good_ranges(len: u64, bad: &[u64]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for (first, count) in runs(bad) {
        if first * SECTOR > at {
            out.push((at as usize, (first * SECTOR - at) as usize));
        }
        at = ((first + count) * SECTOR).min(len);
    }
    if at < len {
        out.push((at as usize, (len - at) as usize));
    }
    out
}

/// `sha256sum` of `bytes`, fed on standard input.
pub fn sha256_of(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn bad_sectors_are_exactly_filled_mapped_and_accepted_by_ddrescue() {
    let dir = Dir::new();
    let len = 4 * 1024 * 1024 + 1000;
    let data = pattern(len as usize, 11);
    let bad = bad_sectors(len);
    let Some(fs_) = FaultFs::mount(&dir.path("mnt"), data.clone(), &bad, Duration::ZERO) else {
        return;
    };
    let disk = fs_.disk();
    // The kernel really fails these reads.
    let out = Command::new("dd")
        .arg(format!("if={}", disk.display()))
        .args(["of=/dev/null", "bs=512", "skip=9", "count=1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "dd read a bad sector");

    let img = dir.path("out.img");
    let map = dir.path("out.map");
    let a = platter()
        .arg("acquire")
        .arg(&disk)
        .arg("-o")
        .arg(&img)
        .arg("--mapfile")
        .arg(&map)
        .args(["--block-size", "64K", "--json"])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();

    // The output differs from the source exactly at the bad sectors.
    let got = fs::read(&img).unwrap();
    assert_eq!(got.len(), data.len());
    let want = expected_image(&data, &bad);
    assert!(
        got == want,
        "the image differs from the source outside the bad sectors"
    );
    let differing: Vec<u64> = (0..len.div_ceil(SECTOR))
        .filter(|&s| {
            let a = (s * SECTOR) as usize;
            let b = (a + SECTOR as usize).min(data.len());
            got[a..b] != data[a..b]
        })
        .collect();
    assert_eq!(differing, bad);

    // The mapfile lists exactly those sectors as '-', per ddrescuelog.
    let listed = run(Command::new("ddrescuelog")
        .args(["-b", "512", "--list-blocks=-"])
        .arg(&map));
    let listed: Vec<u64> = text(&listed.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(listed, bad);
    let status = run(Command::new("ddrescuelog").arg("-t").arg(&map));
    assert!(
        text(&status.stdout).contains("bad-sector"),
        "{}",
        text(&status.stdout)
    );
    // GNU ddrescue resumes from our mapfile and finds nothing left to do
    // but the bad sectors, which still fail: the image does not change.
    let before = digest_of("sha256sum", &img);
    let d = Command::new("ddrescue")
        .args(["-q", "-r1"])
        .arg(&disk)
        .arg(&img)
        .arg(&map)
        .output()
        .unwrap();
    assert!(
        d.status.success(),
        "ddrescue refused our mapfile: {}",
        text(&d.stderr)
    );
    assert_eq!(digest_of("sha256sum", &img), before);
    let listed = run(Command::new("ddrescuelog")
        .args(["-b", "512", "--list-blocks=-"])
        .arg(&map));
    assert_eq!(text(&listed.stdout).lines().count(), bad.len());

    // Image hashes equal md5sum/sha1sum/sha256sum; every good range hash
    // matches the bytes between the bad areas.
    for (alg, tool) in [
        ("md5", "md5sum"),
        ("sha1", "sha1sum"),
        ("sha256", "sha256sum"),
    ] {
        assert_eq!(image_digest(&report, alg), digest_of(tool, &img), "{alg}");
    }
    let ranges: Vec<(usize, usize)> = report["digests"]["good_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["offset"].as_u64().unwrap() as usize,
                r["len"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(ranges, good_ranges(len, &bad));
    for (r, (o, l)) in report["digests"]["good_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .zip(ranges)
    {
        let got = r["digests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["alg"] == "sha256")
            .unwrap()["hex"]
            .clone();
        assert_eq!(got, sha256_of(&data[o..o + l]), "good range {o}+{l}");
    }
    assert_eq!(report["bad_sectors"].as_u64(), Some(bad.len() as u64));
}

/// A small xorshift generator, so kill points are reproducible from the
/// printed seed.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Runs `platter acquire --resume …` and kills it with SIGKILL after
/// `after`; returns true if it finished first.
fn run_and_kill(disk: &Path, img: &Path, map: &Path, after: Duration) -> bool {
    let mut child = Command::new(platter_exe())
        .arg("acquire")
        .arg(disk)
        .arg("-o")
        .arg(img)
        .arg("--mapfile")
        .arg(map)
        .args(["--resume", "--block-size", "64K", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    false
}

/// `kill -9` at 20 random points (`PLATTER_KILL_POINTS=N` for another
/// count), each followed by `--resume`, then a final `--resume`: the same
/// image and hashes as a one-shot run. `PLATTER_KILL_SEED` replays a run.
#[test]
fn kill_9_at_random_points_then_resume_gives_the_one_shot_result() {
    let dir = Dir::new();
    let len = 3 * 1024 * 1024 + 512;
    let data = pattern(len as usize, 23);
    let bad = bad_sectors(len);
    // Each read request takes 1 ms, like a slow failing disk.
    let Some(fs_) = FaultFs::mount(
        &dir.path("mnt"),
        data.clone(),
        &bad,
        Duration::from_millis(1),
    ) else {
        return;
    };
    let disk = fs_.disk();
    let one = dir.path("one.img");
    let t0 = Instant::now();
    let a = platter()
        .arg("acquire")
        .arg(&disk)
        .arg("-o")
        .arg(&one)
        .arg("--mapfile")
        .arg(dir.path("one.map"))
        .args(["--block-size", "64K", "--json"])
        .output()
        .unwrap();
    let one_shot = t0.elapsed();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let reference: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(fs::read(&one).unwrap(), expected_image(&data, &bad));

    let points: usize = std::env::var("PLATTER_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut seed: u64 = std::env::var("PLATTER_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill points: {points}, PLATTER_KILL_SEED={seed}, one-shot run {one_shot:?}");
    let img = dir.path("killed.img");
    let map = dir.path("killed.map");
    // Kill points spread over about one acquisition's length in total.
    let span = (2 * one_shot.as_millis() as u64 / points.max(1) as u64).max(20);
    let mut killed = 0;
    for _ in 0..points {
        let after = Duration::from_millis(5 + next(&mut seed) % span);
        if run_and_kill(&disk, &img, &map, after) {
            break;
        }
        killed += 1;
    }
    let a = platter()
        .arg("acquire")
        .arg(&disk)
        .arg("-o")
        .arg(&img)
        .arg("--mapfile")
        .arg(&map)
        .args(["--resume", "--block-size", "64K", "--json"])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let resumed: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(
        fs::read(&img).unwrap(),
        fs::read(&one).unwrap(),
        "seed {seed}"
    );
    assert_eq!(resumed["digests"], reference["digests"], "seed {seed}");
    assert_eq!(digest_of("md5sum", &img), digest_of("md5sum", &one));
    let listed = run(Command::new("ddrescuelog")
        .args(["-b", "512", "--list-blocks=-"])
        .arg(&map));
    assert_eq!(text(&listed.stdout).lines().count(), bad.len());
    eprintln!("killed {killed} times before the final --resume");
    assert!(killed >= 1, "no run was killed (seed {seed})");
}

/// GNU ddrescue copies without scraping (`-n`), leaving non-scraped areas
/// in its mapfile; `platter acquire --resume` finishes from that mapfile
/// and ends where a full ddrescue run ends.
#[test]
fn resume_from_a_gnu_ddrescue_mapfile() {
    let dir = Dir::new();
    let len = 3 * 1024 * 1024;
    let data = pattern(len as usize, 5);
    let bad = bad_sectors(len);
    let Some(fs_) = FaultFs::mount(&dir.path("mnt"), data.clone(), &bad, Duration::ZERO) else {
        return;
    };
    let disk = fs_.disk();
    let img = dir.path("ddr.img");
    let map = dir.path("ddr.map");
    let d = Command::new("ddrescue")
        .args(["-q", "-n"])
        .arg(&disk)
        .arg(&img)
        .arg(&map)
        .output()
        .unwrap();
    assert!(
        d.status.success() || d.status.code() == Some(1),
        "{}",
        text(&d.stderr)
    );
    let status = text(&run(Command::new("ddrescuelog").arg("-t").arg(&map)).stdout);
    assert!(
        status.contains("non-scraped") || status.contains("non-trimmed"),
        "{status}"
    );
    let a = platter()
        .arg("acquire")
        .arg(&disk)
        .arg("-o")
        .arg(&img)
        .arg("--mapfile")
        .arg(&map)
        .args(["--resume", "--json"])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(fs::read(&img).unwrap(), expected_image(&data, &bad));
    let listed = run(Command::new("ddrescuelog")
        .args(["-b", "512", "--list-blocks=-"])
        .arg(&map));
    let listed: Vec<u64> = text(&listed.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(listed, bad);
    let md5 = report["digests"]["image"][0]["hex"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(md5, digest_of("md5sum", &img));
    assert_eq!(report["hashed_from_output"], true);
}

/// `--format e01` from a failing disk: inline rescue, the bad sectors in
/// the error2 section, and libewf's `ewfverify` agrees with the stored
/// digests (and so with ours).
#[test]
fn e01_from_a_failing_disk_passes_ewfverify() {
    if Command::new("ewfverify").arg("-V").output().is_err() {
        eprintln!("skipping: ewfverify (ewf-tools) is not installed");
        return;
    }
    let dir = Dir::new();
    let len = 3 * 1024 * 1024;
    let data = pattern(len as usize, 31);
    let bad = bad_sectors(len);
    let Some(fs_) = FaultFs::mount(&dir.path("mnt"), data.clone(), &bad, Duration::ZERO) else {
        return;
    };
    let e01 = dir.path("case.E01");
    let a = platter()
        .arg("acquire")
        .arg(fs_.disk())
        .arg("-o")
        .arg(&e01)
        .args([
            "--format",
            "e01",
            "--json",
            "--case",
            "C-42",
            "--examiner",
            "A. Examiner",
        ])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let out = run(Command::new("ewfverify").arg("-q").arg(&e01));
    assert!(
        text(&out.stdout).contains("SUCCESS"),
        "{}",
        text(&out.stdout)
    );
    // ewfexport's raw image is ours: the source with the bad sectors zeroed.
    let raw = dir.path("exported");
    run(Command::new("ewfexport")
        .args(["-q", "-u", "-f", "raw", "-t"])
        .arg(&raw)
        .arg(&e01));
    let exported = fs::read(dir.path("exported.raw")).unwrap();
    assert!(exported == expected_image(&data, &bad));
    let md5 = report["digests"]["image"][0]["hex"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(md5, digest_of("md5sum", &dir.path("exported.raw")));
    let info = text(&run(Command::new("ewfinfo").arg(&e01)).stdout);
    assert!(info.contains("C-42"), "{info}");
    // `platter verify` checks the digests stored in the E01.
    platter().arg("verify").arg(&e01).assert().code(0);
}

/// `--verify` on a disk whose bytes 300000..305000 read differently the
/// second time (the FUSE helper inverts them): exit 1, the mismatching
/// range reported to the sector (in the JSON report, on standard error and
/// in the log), while the image keeps what the first read returned and its
/// hashes still equal md5sum's.
#[test]
fn verify_reports_where_the_source_reads_differently() {
    let dir = Dir::new();
    let len = 1 << 20;
    let data = pattern(len, 57);
    let (c_off, c_len) = (300_000u64, 5_000u64);
    let Some(fs_) = FaultFs::mount_changing(&dir.path("mnt"), data.clone(), &[(c_off, c_len)])
    else {
        return;
    };
    let img = dir.path("out.img");
    let a = platter()
        .arg("acquire")
        .arg(fs_.disk())
        .arg("-o")
        .arg(&img)
        .args(["--verify", "--block-size", "64K", "--json"])
        .output()
        .unwrap();
    let err = text(&a.stderr);
    assert_eq!(a.status.code(), Some(1), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    // Whole sectors 585..=595 hold the changing bytes.
    let (first, end) = (
        c_off / SECTOR * SECTOR,
        (c_off + c_len).div_ceil(SECTOR) * SECTOR,
    );
    let want = serde_json::json!([{"offset": first, "len": end - first}]);
    assert_eq!(report["verify"]["mismatches"], want, "{report:#}");
    assert_eq!(
        report["verify"]["bytes_compared"].as_u64(),
        Some(len as u64)
    );
    assert!(
        err.contains("--verify")
            && err.contains(&format!("offset {first:#x} length {:#x}", end - first)),
        "{err}"
    );
    assert!(
        fs::read(&img).unwrap() == data,
        "the image is not the first read"
    );
    let md5 = report["digests"]["image"][0]["hex"].as_str().unwrap();
    assert_eq!(md5, digest_of("md5sum", &img));
    let log: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path("out.img.log.json")).unwrap()).unwrap();
    let records = log["records"].as_array().unwrap();
    let verify = records.iter().find(|r| r["event"] == "verify").unwrap();
    assert_eq!(verify["data"]["mismatches"], want);
    assert!(
        records.last().unwrap()["data"]["result"]
            .as_str()
            .unwrap()
            .contains("verify mismatch")
    );

    // The human report lists the range too (on a fresh mount: on this one
    // the changing bytes were read already, so they now read stably).
    drop(fs_);
    let fs_ = FaultFs::mount_changing(&dir.path("mnt2"), data.clone(), &[(c_off, c_len)]).unwrap();
    let img2 = dir.path("again.img");
    let h = platter()
        .arg("acquire")
        .arg(fs_.disk())
        .arg("-o")
        .arg(&img2)
        .args(["--verify", "-q"])
        .output()
        .unwrap();
    assert_eq!(h.status.code(), Some(1));
    let out = text(&h.stdout);
    assert!(
        out.contains(&format!(
            "MISMATCH    offset {first:#x} length {:#x}",
            end - first
        )),
        "{out}"
    );
}

/// The control: `--verify` on a stable failing disk compares every good
/// byte, finds nothing, and exits 3 for the bad sectors only.
#[test]
fn verify_of_a_stable_source_finds_no_mismatch() {
    let dir = Dir::new();
    let len = 1 << 20;
    let data = pattern(len, 58);
    let bad = [7u64, 1000, 1001];
    let Some(fs_) = FaultFs::mount(&dir.path("mnt"), data.clone(), &bad, Duration::ZERO) else {
        return;
    };
    let img = dir.path("out.img");
    let a = platter()
        .arg("acquire")
        .arg(fs_.disk())
        .arg("-o")
        .arg(&img)
        .args(["--verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(3), "{}", text(&a.stderr));
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(report["verify"]["mismatches"], serde_json::json!([]));
    assert_eq!(
        report["verify"]["bytes_compared"].as_u64(),
        Some(len as u64 - 3 * SECTOR)
    );
}
