//! Helpers for the CLI tests: a temp directory, the `platter` command, the
//! committed fixtures, and independent tools used as oracles (sfdisk, dd,
//! md5sum, sha256sum, split).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A temporary directory that is removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A fresh, empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("platter-cli-test")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// A path inside the directory (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, bytes).expect("write test file");
        p
    }

    /// Copies a committed fixture into the directory.
    pub fn copy_fixture(&self, fixture_name: &str, name: &str) -> PathBuf {
        let p = self.path(name);
        fs::copy(fixture(fixture_name), &p).expect("copy fixture");
        p
    }

    /// Makes a `size_bytes` image partitioned by `sfdisk` from `script`.
    pub fn sfdisk_image(&self, name: &str, size_bytes: u64, script: &str) -> PathBuf {
        let p = self.path(name);
        let f = fs::File::create(&p).expect("create image");
        f.set_len(size_bytes).expect("size image");
        drop(f);
        run_with_stdin(
            Command::new("sfdisk")
                .args(["--quiet", "--no-reread", "--no-tell-kernel"])
                .arg(&p),
            script,
        );
        p
    }
}

/// The `platter` binary under test, in `cwd`-independent form.
pub fn platter() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_platter"));
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

/// The path of the binary, for shell pipelines.
pub fn platter_exe() -> &'static str {
    env!("CARGO_BIN_EXE_platter")
}

/// A committed fixture in `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// Runs a command, panicking with its stderr when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command with `input` on its standard input.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `sfdisk --json` of an image: the oracle for partition layouts.
pub fn sfdisk_json(image: &Path) -> Value {
    let out = run(Command::new("sfdisk").arg("--json").arg(image));
    let v: Value = serde_json::from_slice(&out.stdout).expect("sfdisk --json output");
    v["partitiontable"].clone()
}

/// The partition number sfdisk gives a partition: the digits ending its node.
pub fn sfdisk_index(part: &Value) -> u64 {
    let node = part["node"].as_str().expect("node");
    let digits: String = node
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().expect("partition number in node")
}

/// `len` bytes at byte `offset` of `path`, read by `dd`.
pub fn dd_range(path: &Path, offset: u64, len: u64) -> Vec<u8> {
    let out = run(Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["bs=1M", "iflag=skip_bytes,count_bytes", "status=none"])
        .arg(format!("skip={offset}"))
        .arg(format!("count={len}")));
    out.stdout
}

/// The first word of `TOOL FILE`'s output (`md5sum`, `sha256sum`).
pub fn digest_of(tool: &str, path: &Path) -> String {
    let out = run(Command::new(tool).arg(path));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The `hex` of the `alg` entry of a report's digest array
/// (`[{"alg": "md5", "hex": "…"}, …]`).
pub fn digest_hex(digests: &Value, alg: &str) -> String {
    digests
        .as_array()
        .unwrap_or_else(|| panic!("not a digest array: {digests:#}"))
        .iter()
        .find(|d| d["alg"] == alg)
        .unwrap_or_else(|| panic!("no {alg} in {digests:#}"))["hex"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The `alg` digest of the image in an acquire report (`digests.image`).
pub fn image_digest(report: &Value, alg: &str) -> String {
    digest_hex(&report["digests"]["image"], alg)
}

/// Splits `path` with coreutils `split` into `prefix` + `.001`, `.002`, …
/// (`-d -a 3 --numeric-suffixes=1`) and returns the segments in order.
pub fn split_numeric(path: &Path, chunk: &str, prefix: &Path) -> Vec<PathBuf> {
    let mut p = prefix.as_os_str().to_owned();
    p.push(".");
    run(Command::new("split")
        .args(["-b", chunk, "-d", "-a", "3", "--numeric-suffixes=1"])
        .arg(path)
        .arg(&p));
    segments_with_prefix(prefix)
}

/// Splits with letter suffixes (`x.aa`, `x.ab`, …).
pub fn split_alpha(path: &Path, chunk: &str, prefix: &Path) -> Vec<PathBuf> {
    let mut p = prefix.as_os_str().to_owned();
    p.push(".");
    run(Command::new("split")
        .args(["-b", chunk, "-a", "2"])
        .arg(path)
        .arg(&p));
    segments_with_prefix(prefix)
}

fn segments_with_prefix(prefix: &Path) -> Vec<PathBuf> {
    let dir = prefix.parent().unwrap();
    let stem = format!("{}.", prefix.file_name().unwrap().to_string_lossy());
    let mut segs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with(&stem))
        })
        .collect();
    segs.sort();
    segs
}

/// Runs `platter ARGS --json` expecting success and parses the output.
pub fn platter_json(args: &[&OsStr]) -> Value {
    let out = platter().args(args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("platter --json output is JSON")
}

/// Lossy text of bytes.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Normalises a partition type for comparison: sfdisk prints MBR types as
/// bare hex (`83`, `5`) and GPT types as upper-case GUIDs.
pub fn norm_type(t: &str) -> String {
    let t = t.trim().to_ascii_lowercase();
    let t = t.strip_prefix("0x").unwrap_or(&t);
    if t.len() <= 2 {
        t.trim_start_matches('0').to_string()
    } else {
        t.to_string()
    }
}

/// The partitions of a `platter info --json` or `parts list --json` report.
pub fn partitions(report: &Value) -> &Vec<Value> {
    report["partition_table"]["partitions"]
        .as_array()
        .expect("partition_table.partitions is an array")
}

/// The partition numbered `index` in a report.
pub fn partition(report: &Value, index: u64) -> &Value {
    partitions(report)
        .iter()
        .find(|p| p["index"] == index)
        .unwrap_or_else(|| panic!("no partition {index} in {report:#}"))
}

/// Asserts that a platter report lists exactly the partitions sfdisk sees
/// in `image`: same numbers, starts, sizes, types and names.
pub fn assert_same_layout_as_sfdisk(image: &Path, report: &Value) {
    let sf = sfdisk_json(image);
    let table = &report["partition_table"];
    let sector = sf["sectorsize"].as_u64().unwrap_or(512);
    assert_eq!(table["sector_size"].as_u64(), Some(sector), "{table:#}");
    let theirs = sf["partitions"].as_array().expect("sfdisk partitions");
    assert_eq!(
        partitions(report).len(),
        theirs.len(),
        "platter: {table:#}\nsfdisk: {sf:#}"
    );
    for t in theirs {
        let o = partition(report, sfdisk_index(t));
        let start = t["start"].as_u64().unwrap();
        let size = t["size"].as_u64().unwrap();
        assert_eq!(o["first_lba"].as_u64(), Some(start), "{o:#} vs {t:#}");
        assert_eq!(o["sectors"].as_u64(), Some(size), "{o:#} vs {t:#}");
        assert_eq!(o["start_bytes"].as_u64(), Some(start * sector), "{o:#}");
        assert_eq!(o["len_bytes"].as_u64(), Some(size * sector), "{o:#}");
        assert_eq!(
            norm_type(o["type_code"].as_str().expect("type_code")),
            norm_type(t["type"].as_str().expect("sfdisk type")),
            "{o:#} vs {t:#}"
        );
        if let Some(name) = t["name"].as_str() {
            assert_eq!(o["name"].as_str(), Some(name), "{o:#}");
        }
        if let Some(uuid) = t["uuid"].as_str() {
            assert_eq!(
                o["guid"].as_str().map(str::to_ascii_uppercase),
                Some(uuid.to_ascii_uppercase()),
                "{o:#}"
            );
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), so partitions hold data
/// that a wrong offset could not match by chance.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

impl Dir {
    /// An 8 MiB image full of pseudo-random data, partitioned by sfdisk with
    /// a GPT: partition 1 at 2048 (4096 sectors), 2 at 6144 (2048 sectors),
    /// 3 from 8192 to the end.
    pub fn patterned_gpt(&self, name: &str) -> PathBuf {
        let p = self.write(name, &pattern(8 << 20, 0x5eed));
        run_with_stdin(
            Command::new("sfdisk")
                .args(["--quiet", "--no-reread", "--no-tell-kernel"])
                .arg(&p),
            "label: gpt\nstart=2048, size=4096, type=L, name=one\n\
             start=6144, size=2048, type=L, name=two\nstart=8192, type=L, name=three\n",
        );
        p
    }
}

/// Runs `platter ARGS` through bash, piping its standard output into
/// `consumer`, and returns platter's own exit status (`PIPESTATUS[0]`) and
/// its standard error.
pub fn platter_piped(args: &str, consumer: &str) -> (i32, String) {
    let script = format!(
        "'{}' {args} 2>\"$ERR\" | {consumer} >/dev/null; s=${{PIPESTATUS[0]}}; cat \"$ERR\" >&2; exit $s",
        platter_exe()
    );
    let err = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("ERR", err.path())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), text(&out.stderr))
}

/// The size of the `gpt-ext4-fat.img` fixture: 6144 sectors of 512 bytes.
pub const GPT_EXT4_FAT_BYTES: u64 = 6144 * 512;

/// Rescues `input` with the real GNU ddrescue in test mode (`-H`): the
/// 512-byte sectors listed in `bad_sectors` fail to read, everything else
/// reads. Returns the image and the mapfile ddrescue wrote, named
/// `NAME.img` and `NAME.map`. `extra` is passed to ddrescue (`-n`, `-N`…).
///
/// The test map is made by `ddrescuelog --create-mapfile` from the list.
pub fn ddrescue_rescue(
    dir: &Dir,
    input: &Path,
    bad_sectors: &[u64],
    extra: &[&str],
    name: &str,
) -> (PathBuf, PathBuf) {
    let size = fs::metadata(input).unwrap().len();
    let test_map = dir.path(&format!("{name}.test.map"));
    let list: String = bad_sectors.iter().map(|s| format!("{s}\n")).collect();
    run_with_stdin(
        Command::new("ddrescuelog")
            .arg(format!("--size={size}"))
            .args(["--create-mapfile=-+", "--block-size=512"])
            .arg(&test_map),
        &list,
    );
    let img = dir.path(&format!("{name}.img"));
    let map = dir.path(&format!("{name}.map"));
    run(Command::new("ddrescue")
        .arg("-q")
        .args(extra)
        .arg(format!("--test-mode={}", test_map.display()))
        .arg(input)
        .arg(&img)
        .arg(&map));
    (img, map)
}

/// The 512-byte block numbers `ddrescuelog -l TYPES` lists for `map`.
pub fn ddrescuelog_list(map: &Path, types: &str) -> Vec<u64> {
    let out = run(Command::new("ddrescuelog")
        .arg(format!("--list-blocks={types}"))
        .arg("--block-size=512")
        .arg(map));
    text(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("ddrescuelog -l prints numbers"))
        .collect()
}

/// The area count `ddrescuelog -t` shows for each status name
/// (`"non-tried"`, `"rescued"`, `"bad-sector"`, …).
pub fn ddrescuelog_areas(map: &Path) -> Vec<(String, u64)> {
    let out = run(Command::new("ddrescuelog").arg("-t").arg(map));
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(':')?;
            let areas = rest.split(" in ").nth(1)?.split_whitespace().next()?;
            Some((name.to_string(), areas.parse().ok()?))
        })
        .filter(|(name, _)| !name.contains(' '))
        .collect()
}

/// Writes a mapfile by hand: a status line, then one line per
/// `(pos, size, status)` block.
pub fn write_mapfile(dir: &Dir, name: &str, blocks: &[(u64, u64, char)]) -> PathBuf {
    let mut text = String::from("# Mapfile written by a test\n0x00000000     +               1\n");
    for (pos, size, status) in blocks {
        text.push_str(&format!("0x{pos:08X}  0x{size:08X}  {status}\n"));
    }
    dir.write(name, text.as_bytes())
}

/// The `(offset, len)` pairs of a JSON array of ranges.
pub fn ranges(v: &Value) -> Vec<(u64, u64)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v:#}"))
        .iter()
        .map(|r| (r["offset"].as_u64().unwrap(), r["len"].as_u64().unwrap()))
        .collect()
}
