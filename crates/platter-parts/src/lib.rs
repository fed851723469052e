//! MBR and GPT partition tables for platter, read the way a data-recovery
//! engineer needs: corruption never stops the parse, it is reported.
//!
//! [`read_partitions`] looks at a disk ([`Source`]) and returns a
//! [`PartitionTable`]: the scheme, the partitions (numbered as Linux numbers
//! them), and a list of [`Anomaly`]s (damaged CRCs, a GPT recovered from its
//! backup, EBR loops, partitions past the end of the disk, overlaps…). Only
//! a failure to read sector 0 is an error. Each partition opens as a
//! [`Window`] onto the disk.
//!
//! ```
//! use platter_core::{MemSource, SharedSource, Source};
//! use platter_parts::{Scheme, read_partitions};
//! use std::sync::Arc;
//!
//! // A 2 MiB disk with one MBR partition: type 0x83, LBA 2048, 1024 sectors.
//! let mut img = vec![0u8; 2 << 20];
//! img[0x1be + 4] = 0x83;
//! img[0x1be + 8..0x1be + 12].copy_from_slice(&2048u32.to_le_bytes());
//! img[0x1be + 12..0x1be + 16].copy_from_slice(&1024u32.to_le_bytes());
//! img[510..512].copy_from_slice(&[0x55, 0xAA]);
//! img[2048 * 512..2048 * 512 + 5].copy_from_slice(b"hello");
//! let disk: SharedSource = Arc::new(MemSource::new("disk.img", img));
//!
//! let table = read_partitions(&*disk).unwrap();
//! assert_eq!(table.scheme, Scheme::Mbr);
//! assert!(table.anomalies.is_empty());
//! let p1 = table.get(1).unwrap();
//! assert_eq!((p1.start_bytes, p1.len_bytes), (1 << 20, 512 * 1024));
//! assert_eq!(p1.type_name, "Linux");
//!
//! let part = p1.open(disk.clone()).unwrap();
//! assert_eq!(part.name(), "disk.img#p1");
//! let mut buf = [0u8; 5];
//! part.read_exact_at(&mut buf, 0).unwrap();
//! assert_eq!(&buf, b"hello");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod anomaly;
mod error;
mod gpt;
mod guid;
mod mbr;
mod placement;
mod sector;
mod types;

use platter_core::{SharedSource, Source, Window};

pub use anomaly::{Anomaly, codes};
pub use error::{Error, Result};

use anomaly::Anomalies;
use mbr::{MbrParse, MbrTable};

/// The largest GPT partition entry array read, in bytes; a header claiming
/// more is reported as an anomaly and not followed.
pub const MAX_GPT_ENTRY_ARRAY_BYTES: u64 = gpt::MAX_ENTRY_ARRAY_BYTES;

/// The most logical partitions followed in an MBR's extended partitions; a
/// longer EBR chain is reported as an anomaly and cut.
pub const MAX_LOGICAL_PARTITIONS: u32 = mbr::MAX_LOGICAL_PARTITIONS;

/// The partitioning scheme found on a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// No partition table.
    None,
    /// A classic MBR (with any extended/logical partitions).
    Mbr,
    /// A GUID Partition Table.
    Gpt,
}

/// Which GPT header the partitions were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GptHeaderUsed {
    /// The primary header at LBA 1.
    Primary,
    /// The backup header (normally at the last LBA), because the primary is damaged.
    Backup,
}

/// A disk's partition table, with everything found wrong with it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionTable {
    /// The scheme.
    pub scheme: Scheme,
    /// The logical sector size the table was found with, in bytes. For GPT
    /// the source's logical sector size is tried, then 512 and 4096.
    pub sector_size: u32,
    /// The GPT disk GUID (canonical uppercase `8-4-4-4-12`).
    pub disk_guid: Option<String>,
    /// The MBR disk signature (byte 440), whenever sector 0 holds an MBR
    /// (a protective MBR included).
    pub mbr_signature: Option<u32>,
    /// The GPT header the partitions come from.
    pub gpt_header: Option<GptHeaderUsed>,
    /// The partitions, in table order (MBR primaries, then logicals).
    pub partitions: Vec<Partition>,
    /// Corruption and oddities found, in the order they were found.
    pub anomalies: Vec<Anomaly>,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    /// Number as Linux gives it: MBR primaries 1–4 by slot, logicals 5, 6, …
    /// in chain order; GPT entry index + 1.
    pub index: u32,
    /// First byte on the disk.
    pub start_bytes: u64,
    /// Length in bytes.
    pub len_bytes: u64,
    /// First sector (in [`PartitionTable::sector_size`] units).
    pub first_lba: u64,
    /// Length in sectors.
    pub sectors: u64,
    /// MBR: the type byte as `"0x83"`; GPT: the type GUID, uppercase.
    pub type_code: String,
    /// Human name of the type ("Linux filesystem", "W95 FAT32 (LBA)"…), or `"unknown"`.
    pub type_name: String,
    /// GPT partition name, when not empty.
    pub name: Option<String>,
    /// GPT unique partition GUID.
    pub guid: Option<String>,
    /// MBR status 0x80, or GPT attribute bit 2 (legacy BIOS bootable).
    pub bootable: bool,
    /// An MBR logical partition (inside an extended one).
    pub logical: bool,
    /// GPT attribute bits (0 for MBR).
    pub attributes: u64,
}

impl Partition {
    /// The partition as a source of its own, named like `disk.img#p2`.
    ///
    /// Fails with [`Error::PartitionOutsideDisk`] when the partition extends
    /// past the end of `disk` (a truncated image); the anomalies say so too.
    pub fn open(&self, disk: SharedSource) -> Result<Window> {
        let fits = self
            .start_bytes
            .checked_add(self.len_bytes)
            .is_some_and(|end| end <= disk.len());
        if !fits {
            return Err(Error::PartitionOutsideDisk {
                index: self.index,
                name: disk.name().to_string(),
                start_bytes: self.start_bytes,
                len_bytes: self.len_bytes,
                disk_len: disk.len(),
            });
        }
        let name = format!("{}#p{}", disk.name(), self.index);
        Ok(Window::with_name(
            disk,
            self.start_bytes,
            self.len_bytes,
            name,
        )?)
    }
}

impl PartitionTable {
    /// The partition numbered `index` (Linux numbering).
    pub fn get(&self, index: u32) -> Result<&Partition> {
        self.partitions
            .iter()
            .find(|p| p.index == index)
            .ok_or(Error::NoSuchPartition { index })
    }

    fn empty(scheme: Scheme, sector_size: u32) -> Self {
        PartitionTable {
            scheme,
            sector_size,
            disk_guid: None,
            mbr_signature: None,
            gpt_header: None,
            partitions: Vec::new(),
            anomalies: Vec::new(),
        }
    }
}

/// Reads the partition table of `disk`.
///
/// Returns an error only when sector 0 cannot be read. Everything else —
/// corrupt structures, unreadable sectors further in, absurd sizes, loops —
/// is reported in [`PartitionTable::anomalies`], with whatever could still
/// be recovered. A disk with no table gives [`Scheme::None`].
///
/// How the scheme is chosen:
/// - an MBR with ordinary (non-0xEE) entries wins, as on Linux; a valid GPT
///   also present is noted as an anomaly;
/// - otherwise the GPT is read (primary, else backup); a hybrid MBR is noted;
/// - a protective MBR with no usable GPT gives [`Scheme::Gpt`] with no
///   partitions, unless a hybrid MBR has entries to fall back to.
pub fn read_partitions(disk: &dyn Source) -> Result<PartitionTable> {
    let hint = disk.sector_size().logical;
    let mbr_ss = if sector::is_plausible_sector_size(hint) {
        hint
    } else {
        512
    };
    let mut anomalies = Anomalies::default();
    if disk.len() < mbr::MBR_SIZE as u64 {
        anomalies.push(
            0,
            codes::DISK_TOO_SMALL,
            format!(
                "disk is {} bytes, smaller than one 512-byte sector at 0x0: no partition table",
                disk.len()
            ),
        );
        let mut t = PartitionTable::empty(Scheme::None, mbr_ss);
        t.anomalies = anomalies.finish();
        return Ok(t);
    }
    let mut sector0 = [0u8; mbr::MBR_SIZE];
    disk.read_exact_at(&mut sector0, 0)?;

    let candidates = sector::candidate_sector_sizes(hint);
    let mbr = match mbr::parse_primary(&sector0, mbr_ss) {
        MbrParse::Table(t) => Some(t),
        MbrParse::NotATable(a) => {
            anomalies.push_anomaly(a);
            None
        }
        MbrParse::Absent => None,
    };
    Ok(match mbr {
        Some(t) if !t.protective && !t.placed.is_empty() => {
            mbr_scheme(disk, t, anomalies, &candidates)
        }
        mbr => gpt_scheme(disk, mbr, anomalies, &candidates),
    })
}

/// An MBR with ordinary entries: it is used, as on Linux; a valid GPT also
/// present is mentioned.
fn mbr_scheme(
    disk: &dyn Source,
    mut t: MbrTable,
    anomalies: Anomalies,
    candidates: &[u32],
) -> PartitionTable {
    if let Some(g) = gpt::read(disk, candidates).filter(|g| g.used.is_some()) {
        let off = u64::from(g.sector_size);
        t.anomalies.push(
            off,
            codes::GPT_IGNORED,
            format!(
                "a valid GPT is on the disk (signature at LBA 1, {off:#x}, or at the last LBA), \
                 but the MBR has no protective 0xEE entry and holds ordinary partitions; the MBR \
                 is used, as Linux does"
            ),
        );
    }
    finish_mbr(disk, t, anomalies)
}

/// No MBR, an empty one, or a protective one: look for a GPT.
fn gpt_scheme(
    disk: &dyn Source,
    mbr: Option<MbrTable>,
    mut anomalies: Anomalies,
    candidates: &[u32],
) -> PartitionTable {
    let gpt = gpt::read(disk, candidates);
    if let Some(t) = &mbr {
        mbr::note_hybrid(t, &mut anomalies);
    }
    match (gpt, mbr) {
        (Some(g), mbr) if g.used.is_some() => gpt_table(disk, g, mbr, anomalies),
        (g, Some(t)) if hybrid(&t) => {
            match g {
                Some(g) => anomalies.extend(g.anomalies),
                None => note_gpt_missing(&mut anomalies),
            }
            anomalies.push(
                PROTECTIVE_ENTRIES_OFFSET,
                codes::GPT_UNUSABLE_USING_HYBRID_MBR,
                "the GPT is unusable; listing the hybrid MBR's entries at 0x1be instead"
                    .to_string(),
            );
            finish_mbr(disk, t, anomalies)
        }
        (Some(g), mbr) => gpt_table(disk, g, mbr, anomalies),
        (None, Some(t)) if t.protective => {
            note_gpt_missing(&mut anomalies);
            let mut table = PartitionTable::empty(Scheme::Gpt, t.sector_size);
            table.mbr_signature = Some(t.disk_signature);
            anomalies.extend(t.anomalies);
            table.anomalies = anomalies.finish();
            table
        }
        // A valid MBR without entries, and no GPT: an empty MBR table.
        (None, Some(t)) => finish_mbr(disk, t, anomalies),
        (None, None) => {
            let mut table =
                PartitionTable::empty(Scheme::None, candidates.first().copied().unwrap_or(512));
            table.anomalies = anomalies.finish();
            table
        }
    }
}

/// Where the MBR's partition entries start.
const PROTECTIVE_ENTRIES_OFFSET: u64 = 0x1BE;

fn note_gpt_missing(anomalies: &mut Anomalies) {
    anomalies.push(
        PROTECTIVE_ENTRIES_OFFSET,
        codes::GPT_MISSING,
        "the MBR at 0x1be has a protective 0xEE entry, but no GPT header was found at LBA 1 \
         or at the last LBA (sector sizes 512 and 4096 tried)"
            .to_string(),
    );
}

/// Builds a GPT table (possibly without partitions when neither header is usable).
fn gpt_table(
    disk: &dyn Source,
    g: gpt::GptOutcome,
    mbr: Option<MbrTable>,
    mut anomalies: Anomalies,
) -> PartitionTable {
    if mbr.as_ref().is_none_or(|t| !t.protective) {
        anomalies.push(
            PROTECTIVE_ENTRIES_OFFSET,
            codes::GPT_NO_PROTECTIVE_MBR,
            "sector 0 has no protective MBR (no 0xEE entry at 0x1be) in front of the GPT"
                .to_string(),
        );
    }
    let mbr_signature = mbr.as_ref().map(|t| t.disk_signature);
    if let Some(t) = mbr {
        anomalies.extend(t.anomalies);
    }
    anomalies.extend(g.anomalies);
    placement::check(&g.placed, disk.len(), &mut anomalies);
    PartitionTable {
        scheme: Scheme::Gpt,
        sector_size: g.sector_size,
        disk_guid: g.disk_guid,
        mbr_signature,
        gpt_header: g.used,
        partitions: g.placed.into_iter().map(|p| p.part).collect(),
        anomalies: anomalies.finish(),
    }
}

/// True for a protective MBR that also holds ordinary entries.
fn hybrid(t: &MbrTable) -> bool {
    t.protective && t.has_ordinary_entries()
}

/// Follows the EBR chains, checks placement and builds the MBR table;
/// `anomalies` (found before) come first.
fn finish_mbr(disk: &dyn Source, mut t: MbrTable, mut anomalies: Anomalies) -> PartitionTable {
    mbr::walk_extended(disk, &mut t);
    anomalies.extend(t.anomalies);
    placement::check(&t.placed, disk.len(), &mut anomalies);
    PartitionTable {
        scheme: Scheme::Mbr,
        sector_size: t.sector_size,
        disk_guid: None,
        mbr_signature: Some(t.disk_signature),
        gpt_header: None,
        partitions: t.placed.into_iter().map(|p| p.part).collect(),
        anomalies: anomalies.finish(),
    }
}
