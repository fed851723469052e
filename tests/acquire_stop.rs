//! `platter acquire` stopped before the end, for real: the output's
//! filesystem fills up (a 4 MiB tmpfs), or SIGINT / SIGTERM arrive from
//! `kill`. Each time the exit status and message are checked, the mapfile
//! must be accepted by `ddrescuelog` and claim only bytes really in the
//! output, and `--resume` must end with the image and hashes of a one-shot
//! run (`md5sum`, `sha256sum` as oracles).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::acquire_faultfs::{FaultFs, SECTOR, expected_image};
use crate::util::{
    Dir, ddrescuelog_areas, ddrescuelog_list, digest_of, image_digest, pattern, platter,
    platter_exe, run, text,
};

/// A tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`4m`) on `dir`; `None`, with a message,
    /// where this machine cannot (not root, no tmpfs).
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("platter-test-tmpfs")
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "skipping: cannot mount a tmpfs (needs root): {}",
                    text(&o.stderr)
                );
                None
            }
            Err(e) => {
                eprintln!("skipping: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// The finished (`+`) areas of a mapfile as byte ranges, per ddrescuelog.
fn finished_ranges(map: &Path) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for b in ddrescuelog_list(map, "+") {
        match out.last_mut() {
            Some((o, l)) if *o + *l == b * 512 => *l += 512,
            _ => out.push((b * 512, 512)),
        }
    }
    out
}

/// Asserts that every area the mapfile marks finished holds the source's
/// bytes in the (possibly short) output: the mapfile never claims data the
/// output does not have.
fn assert_finished_areas_are_in_the_output(map: &Path, out: &Path, data: &[u8]) {
    let got = fs::read(out).unwrap();
    for (o, l) in finished_ranges(map) {
        let (o, e) = (o as usize, ((o + l) as usize).min(data.len()));
        assert!(
            e <= got.len() && got[o..e] == data[o..e],
            "the mapfile marks {o:#x}..{e:#x} finished but the output does not hold it"
        );
    }
}

/// The output's filesystem fills up: exit 1 naming the output and the
/// exact offset of the first byte not written, a mapfile (kept on another
/// filesystem, as ddrescue advises) marking exactly the blocks written, and
/// after copying the partial output to a larger filesystem `--resume`
/// reads only the rest and ends with the one-shot run's hashes.
#[test]
fn a_full_output_disk_stops_cleanly_and_resume_finishes_elsewhere() {
    let dir = Dir::new();
    let Some(small) = Tmpfs::mount(&dir.path("small"), "4m") else {
        return;
    };
    let len = (6 << 20) + 12_345u64;
    let data = pattern(len as usize, 77);
    let src = dir.write("src.img", &data);
    let out = small.0.join("out.img");
    let map = dir.path("out.map");
    // 48 KiB blocks do not divide 4 MiB: the last block is cut short.
    let bs = 48 * 1024u64;
    let a = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .arg("--mapfile")
        .arg(&map)
        .args(["--block-size", "48K", "-q"])
        .output()
        .unwrap();
    let err = text(&a.stderr);
    assert_eq!(a.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no space left") && err.contains(&out.display().to_string()),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let offset = err
        .split("image offset 0x")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_hexdigit()).next())
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .unwrap_or_else(|| panic!("no offset in {err}"));
    // The offset is the first byte not written: the output's length.
    let written = fs::metadata(&out).unwrap().len();
    assert_eq!(offset, written, "{err}");
    assert!(
        written > 0 && written < len && written % bs != 0,
        "{written}"
    );

    // ddrescuelog accepts the mapfile; it marks finished exactly the whole
    // blocks written, the rest non-tried, and nothing bad.
    let finished = finished_ranges(&map);
    assert_eq!(finished, [(0, written / bs * bs)], "{finished:?}");
    let areas = ddrescuelog_areas(&map);
    for (name, count) in &areas {
        let want = u64::from(name == "rescued" || name == "non-tried");
        assert_eq!(*count, want, "{name} in {areas:?}");
    }
    assert_finished_areas_are_in_the_output(&map, &out, &data);

    // A one-shot run, for the hashes to compare with.
    let one = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(dir.path("one.img"))
        .args(["--json", "-q"])
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    let one: Value = serde_json::from_slice(&one.stdout).unwrap();

    // Move the partial output to a larger filesystem and resume there.
    let big = dir.path("big.img");
    fs::copy(&out, &big).unwrap();
    let r = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&big)
        .arg("--mapfile")
        .arg(&map)
        .args(["--resume", "--block-size", "48K", "--json", "-q"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let r: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(fs::read(&big).unwrap() == data, "the resumed image differs");
    // Finished areas were not read again.
    assert_eq!(r["passes"][0]["name"], "copy");
    assert_eq!(
        r["passes"][0]["bytes_read"].as_u64(),
        Some(len - written / bs * bs)
    );
    for (alg, tool) in [("md5", "md5sum"), ("sha256", "sha256sum")] {
        assert_eq!(image_digest(&r, alg), digest_of(tool, &src), "{alg}");
        assert_eq!(image_digest(&r, alg), image_digest(&one, alg), "{alg}");
    }
    assert_eq!(ddrescuelog_list(&map, "?*/-").len(), 0);
}

/// Output and mapfile both on the full tmpfs: the mapfile cannot be saved
/// either, yet no temporary file is left behind, any mapfile present is
/// consistent, and `--resume` elsewhere still ends with the source.
#[test]
fn a_full_disk_holding_the_mapfile_too_leaves_no_debris() {
    let dir = Dir::new();
    let Some(small) = Tmpfs::mount(&dir.path("small"), "2m") else {
        return;
    };
    let len = 3 << 20;
    let data = pattern(len, 78);
    let src = dir.write("src.img", &data);
    let out = small.0.join("out.img");
    let map = small.0.join("out.map");
    let a = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .arg("--mapfile")
        .arg(&map)
        .args(["--block-size", "64K", "-q"])
        .output()
        .unwrap();
    let err = text(&a.stderr);
    assert_eq!(a.status.code(), Some(1), "{err}");
    assert!(err.contains("no space left"), "{err}");
    let names: Vec<String> = fs::read_dir(&small.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".tmp")),
        "temporary files left on the full disk: {names:?}"
    );
    let bigmap = dir.path("out.map");
    if map.exists() {
        run(Command::new("ddrescuelog").arg("-t").arg(&map));
        assert_finished_areas_are_in_the_output(&map, &out, &data);
        fs::copy(&map, &bigmap).unwrap();
    }
    let big = dir.path("big.img");
    fs::copy(&out, &big).unwrap();
    let r = platter()
        .arg("acquire")
        .arg(&src)
        .arg("-o")
        .arg(&big)
        .arg("--mapfile")
        .arg(&bigmap)
        .args(["--resume", "-q"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(fs::read(&big).unwrap() == data);
}

/// Spawns `platter acquire --resume` on `disk`.
fn spawn_acquire(disk: &Path, img: &Path, map: &Path) -> Child {
    Command::new(platter_exe())
        .arg("acquire")
        .arg(disk)
        .arg("-o")
        .arg(img)
        .arg("--mapfile")
        .arg(map)
        .args(["--resume", "--block-size", "16K", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The length of `path`, 0 if it does not exist.
fn len_of(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// Waits until the output `img` has grown by `grow` bytes past `base` (the
/// acquisition is copying new data: its signal handlers are installed),
/// then sends `signal` with kill(1) and returns the exit status and
/// standard error.
fn signal_when_running(
    child: Child,
    img: &Path,
    base: u64,
    grow: u64,
    signal: &str,
) -> (Option<i32>, String) {
    let t0 = Instant::now();
    loop {
        if len_of(img) >= base + grow {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the acquisition made no progress"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let pid = child.id().to_string();
    run(Command::new("kill").arg(format!("-{signal}")).arg(&pid));
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr))
}

/// SIGINT, then SIGTERM, sent with kill(1) to a running `platter acquire`
/// of a slow failing disk: each time exit status 1 with "interrupted at
/// image offset …", a mapfile that ddrescuelog accepts and that claims
/// only bytes in the output, a log ending in an `interrupted` record whose
/// chain verifies; the final `--resume` ends with the one-shot image and
/// hashes, the log's chain continued across the three runs.
#[test]
fn sigint_and_sigterm_save_the_mapfile_and_resume_completes() {
    let dir = Dir::new();
    let len = 2 * 1024 * 1024 + 512;
    let data = pattern(len, 91);
    let last = (len as u64 - 1) / SECTOR;
    let mut bad: Vec<u64> = vec![3, 1500, last];
    bad.extend(3000..3040);
    bad.sort_unstable();
    // Each read request takes 3 ms: a whole run needs well over a second.
    let Some(fs_) = FaultFs::mount(
        &dir.path("mnt"),
        data.clone(),
        &bad,
        Duration::from_millis(3),
    ) else {
        return;
    };
    let disk = fs_.disk();
    let img = dir.path("out.img");
    let map = dir.path("out.map");
    let log = dir.path("out.img.log.json");
    let mut before = 0;
    for signal in ["INT", "TERM"] {
        let base = len_of(&img);
        let child = spawn_acquire(&disk, &img, &map);
        let (code, err) = signal_when_running(child, &img, base, 64 << 10, signal);
        assert_eq!(code, Some(1), "SIG{signal}: {err}");
        assert!(
            err.contains("interrupted at image offset") && err.contains("--resume"),
            "SIG{signal}: {err}"
        );
        // The mapfile was saved on the signal: accepted, consistent, and
        // further along than before, but not done.
        run(Command::new("ddrescuelog").arg("-t").arg(&map));
        assert_finished_areas_are_in_the_output(&map, &img, &data);
        let done: u64 = finished_ranges(&map).iter().map(|r| r.1).sum();
        assert!(done > before, "SIG{signal}: no progress saved ({done})");
        assert!(
            !ddrescuelog_list(&map, "?").is_empty(),
            "SIG{signal} came too late"
        );
        before = done;
        let doc: Value = serde_json::from_slice(&fs::read(&log).unwrap()).unwrap();
        let records = doc["records"].as_array().unwrap();
        let end = records.last().unwrap();
        assert_eq!(end["event"], "end");
        assert_eq!(end["data"]["result"], "interrupted", "{end:#}");
        platter().arg("verify-log").arg(&log).assert().code(0);
    }
    let r = platter()
        .arg("acquire")
        .arg(&disk)
        .arg("-o")
        .arg(&img)
        .arg("--mapfile")
        .arg(&map)
        .args(["--resume", "--block-size", "16K", "--json", "-q"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let r: Value = serde_json::from_slice(&r.stdout).unwrap();
    let want = expected_image(&data, &bad);
    assert!(fs::read(&img).unwrap() == want, "the resumed image differs");
    let one = dir.write("one-shot.img", &want);
    for (alg, tool) in [("md5", "md5sum"), ("sha256", "sha256sum")] {
        assert_eq!(image_digest(&r, alg), digest_of(tool, &one), "{alg}");
    }
    assert_eq!(ddrescuelog_list(&map, "-"), bad);
    let doc: Value = serde_json::from_slice(&fs::read(&log).unwrap()).unwrap();
    let starts = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "start")
        .count();
    assert_eq!(starts, 3, "the log should hold the three runs");
    platter().arg("verify-log").arg(&log).assert().code(0);
}
