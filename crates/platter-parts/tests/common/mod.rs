//! Helpers shared by the integration tests: fixtures, an sfdisk oracle,
//! dd, a source with a chosen sector size, and the invariants every parse
//! result must satisfy.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use platter_core::{MemSource, Result as CoreResult, SectorSize, SharedSource, Source};
use platter_parts::{PartitionTable, codes};

/// Path of a committed fixture.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// The bytes of a committed fixture.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// An in-memory disk.
pub fn mem(name: &str, bytes: Vec<u8>) -> SharedSource {
    Arc::new(MemSource::new(name, bytes))
}

/// A source reporting a chosen logical sector size, like a 4Kn block device.
#[derive(Debug)]
pub struct Sectored {
    pub inner: MemSource,
    pub logical: u32,
}

impl Source for Sectored {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        self.inner.read_at(buf, offset)
    }
    fn sector_size(&self) -> SectorSize {
        SectorSize {
            logical: self.logical,
            physical: self.logical,
        }
    }
}

/// A source whose reads fail inside one byte range (a bad sector).
#[derive(Debug)]
pub struct BadRange {
    pub inner: MemSource,
    pub bad: std::ops::Range<u64>,
}

impl Source for BadRange {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let end = offset + buf.len() as u64;
        if offset < self.bad.end && self.bad.start < end {
            return Err(platter_core::Error::Unreadable {
                name: self.name().to_string(),
                offset: self.bad.start,
                len: self.bad.end - self.bad.start,
            });
        }
        self.inner.read_at(buf, offset)
    }
}

/// One partition as `sfdisk --json` reports it.
#[derive(Debug, Clone)]
pub struct SfPart {
    pub index: u32,
    pub start: u64,
    pub size: u64,
    pub kind: String,
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub bootable: bool,
}

/// What `sfdisk --json` reports for a disk.
#[derive(Debug, Clone)]
pub struct SfTable {
    pub label: String,
    pub id: String,
    pub sector_size: u32,
    pub parts: Vec<SfPart>,
}

/// Runs `sfdisk --json DEV` and parses its output.
pub fn sfdisk_json(dev: &Path) -> SfTable {
    let out = Command::new("sfdisk")
        .arg("--json")
        .arg(dev)
        .stderr(Stdio::null())
        .output()
        .expect("running sfdisk (apt-get install util-linux)");
    assert!(
        out.status.success(),
        "sfdisk --json {} failed",
        dev.display()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sfdisk json");
    let t = &v["partitiontable"];
    let node_prefix = dev.to_string_lossy().to_string();
    let parts = t["partitions"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|p| {
            let node = p["node"].as_str().unwrap();
            let tail = node
                .strip_prefix(&node_prefix)
                .unwrap()
                .trim_start_matches('p');
            SfPart {
                index: tail.parse().unwrap(),
                start: p["start"].as_u64().unwrap(),
                size: p["size"].as_u64().unwrap(),
                kind: p["type"].as_str().unwrap().to_string(),
                uuid: p["uuid"].as_str().map(str::to_string),
                name: p["name"].as_str().map(str::to_string),
                bootable: p["bootable"].as_bool().unwrap_or(false),
            }
        })
        .collect();
    SfTable {
        label: t["label"].as_str().unwrap().to_string(),
        id: t["id"].as_str().unwrap().to_string(),
        sector_size: t["sectorsize"].as_u64().unwrap_or(512) as u32,
        parts,
    }
}

/// Writes a partition table with an sfdisk script.
pub fn sfdisk_write(dev: &Path, script: &str) {
    use std::io::Write;
    let mut child = Command::new("sfdisk")
        .args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .arg(dev)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running sfdisk");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sfdisk failed on script:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that our table lists exactly what sfdisk lists.
pub fn assert_matches_sfdisk(ours: &PartitionTable, sf: &SfTable) {
    assert_eq!(ours.sector_size, sf.sector_size, "sector size");
    assert_eq!(
        ours.partitions.len(),
        sf.parts.len(),
        "partition count: ours {:#?}\nsfdisk {:#?}",
        ours.partitions,
        sf.parts
    );
    match sf.label.as_str() {
        "gpt" => {
            assert_eq!(ours.scheme, platter_parts::Scheme::Gpt);
            assert_eq!(ours.disk_guid.as_deref(), Some(sf.id.as_str()));
        }
        "dos" => {
            assert_eq!(ours.scheme, platter_parts::Scheme::Mbr);
            let id = u32::from_str_radix(sf.id.trim_start_matches("0x"), 16).unwrap();
            assert_eq!(ours.mbr_signature, Some(id));
        }
        other => panic!("unexpected label {other}"),
    }
    for s in &sf.parts {
        let p = ours
            .get(s.index)
            .unwrap_or_else(|_| panic!("partition {} missing", s.index));
        assert_eq!(p.first_lba, s.start, "start of {}", s.index);
        assert_eq!(p.sectors, s.size, "size of {}", s.index);
        assert_eq!(p.start_bytes, s.start * u64::from(sf.sector_size));
        assert_eq!(p.len_bytes, s.size * u64::from(sf.sector_size));
        if sf.label == "gpt" {
            assert_eq!(p.type_code, s.kind, "type of {}", s.index);
            assert_eq!(p.guid, s.uuid, "uuid of {}", s.index);
            assert_eq!(p.name, s.name, "name of {}", s.index);
        } else {
            let t = u8::from_str_radix(&s.kind, 16).unwrap();
            assert_eq!(p.type_code, format!("{t:#04x}"), "type of {}", s.index);
            assert_eq!(p.bootable, s.bootable, "bootable flag of {}", s.index);
            assert_eq!(p.logical, s.index >= 5, "logical flag of {}", s.index);
        }
    }
}

/// `dd if=IMG bs=BS skip=SKIP count=COUNT` to a byte vector.
pub fn dd(img: &Path, bs: u32, skip: u64, count: u64) -> Vec<u8> {
    let out = Command::new("dd")
        .arg(format!("if={}", img.display()))
        .arg(format!("bs={bs}"))
        .arg(format!("skip={skip}"))
        .arg(format!("count={count}"))
        .arg("status=none")
        .output()
        .expect("running dd");
    assert!(out.status.success());
    out.stdout
}

/// Asserts every partition's window reads the same bytes as dd of its range.
pub fn assert_windows_equal_dd(img: &Path, disk: &SharedSource, table: &PartitionTable) {
    for p in &table.partitions {
        let w = p.open(disk.clone()).unwrap();
        assert_eq!(w.len(), p.len_bytes);
        let mut ours = vec![0u8; p.len_bytes as usize];
        w.read_exact_at(&mut ours, 0).unwrap();
        let theirs = dd(img, table.sector_size, p.first_lba, p.sectors);
        assert_eq!(
            theirs.len(),
            ours.len(),
            "dd length of partition {}",
            p.index
        );
        assert!(
            theirs == ours,
            "partition {} window differs from dd",
            p.index
        );
    }
}

/// The invariants any result must satisfy, whatever the input:
/// bounded partition count; every partition either fits the disk (and opens
/// to a window of its length) or is flagged past the end (and does not
/// open); every anomaly message names its offset in hex.
pub fn check_invariants(disk: &SharedSource, t: &PartitionTable) {
    let max = (platter_parts::MAX_GPT_ENTRY_ARRAY_BYTES / 128) as usize
        + 4
        + platter_parts::MAX_LOGICAL_PARTITIONS as usize;
    assert!(t.partitions.len() <= max);
    for p in &t.partitions {
        assert!(p.sectors > 0);
        let end = p.start_bytes.checked_add(p.len_bytes).expect("no overflow");
        let needle = format!("partition {} ", p.index);
        if end <= disk.len() {
            let w = p.open(disk.clone()).expect("fitting partition opens");
            assert_eq!(w.len(), p.len_bytes);
        } else {
            assert!(p.open(disk.clone()).is_err());
            assert!(
                t.anomalies
                    .iter()
                    .any(|a| a.code == codes::PARTITION_PAST_END && a.message.contains(&needle)),
                "partition {} past the end without an anomaly: {:#?}",
                p.index,
                t.anomalies
            );
        }
    }
    for a in &t.anomalies {
        assert!(!a.message.is_empty());
        if a.code != codes::ANOMALIES_TRUNCATED {
            let hex = format!("{:#x}", a.offset);
            assert!(
                a.message.contains(&hex),
                "anomaly message does not name its offset {hex}: {}",
                a.message
            );
        }
    }
}

/// Recomputes the CRCs of the GPT header at `lba` (and of its entry array
/// when it lies inside the image and is at most 1 MiB), so a test can
/// change header fields and still pass the CRC checks.
pub fn fix_gpt_crcs(img: &mut [u8], ss: usize, lba: usize) {
    let h = lba * ss;
    if h + 92 > img.len() {
        return;
    }
    let u32_at = |img: &[u8], o: usize| u32::from_le_bytes(img[o..o + 4].try_into().unwrap());
    let u64_at = |img: &[u8], o: usize| u64::from_le_bytes(img[o..o + 8].try_into().unwrap());
    let entries_lba = u64_at(img, h + 72);
    let count = u64::from(u32_at(img, h + 80));
    let size = u64::from(u32_at(img, h + 84));
    let bytes = count * size;
    if bytes <= 1 << 20 {
        let start = entries_lba.checked_mul(ss as u64);
        if let Some(start) = start.filter(|s| s + bytes <= img.len() as u64) {
            let crc = crc32fast::hash(&img[start as usize..(start + bytes) as usize]);
            img[h + 88..h + 92].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let hsize = (u32_at(img, h + 12) as usize)
        .clamp(92, ss)
        .min(img.len() - h);
    img[h + 16..h + 20].fill(0);
    let crc = crc32fast::hash(&img[h..h + hsize]);
    img[h + 16..h + 20].copy_from_slice(&crc.to_le_bytes());
}

/// A tiny deterministic PRNG (xorshift64*), so random layouts are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
    pub fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}
