//! GUID Partition Tables: finding, validating and choosing between the
//! primary and the backup GPT.
//!
//! Source: UEFI 2.10, chapter 5 "GUID Partition Table (GPT) Disk Layout".
//! The primary header is at LBA 1 and the backup at the last LBA of the disk
//! (section 5.3.1). When the primary fails validation the backup is used,
//! and the switch is reported as an anomaly.

mod entry;
mod header;

use platter_core::Source;

pub(crate) use header::MAX_ENTRY_ARRAY_BYTES;

use self::header::{GPT_SIGNATURE, HeaderCheck, HeaderCtx, RawGptHeader, ValidHeader};
use crate::GptHeaderUsed;
use crate::anomaly::{Anomalies, codes};
use crate::placement::Placed;
use crate::sector::{Read, read_tolerant};

/// What was made of the GPT of a disk.
#[derive(Debug)]
pub(crate) struct GptOutcome {
    /// The sector size the GPT was found with.
    pub(crate) sector_size: u32,
    /// The disk GUID from the header used.
    pub(crate) disk_guid: Option<String>,
    /// Which header was used; `None` when neither is usable.
    pub(crate) used: Option<GptHeaderUsed>,
    /// The partitions of the header used.
    pub(crate) placed: Vec<Placed>,
    /// Everything found wrong on the way.
    pub(crate) anomalies: Anomalies,
}

/// A header whose fields and entry array CRC are all valid.
#[derive(Debug)]
struct Loaded {
    header: ValidHeader,
    lba: u64,
    array: Vec<u8>,
}

/// The outcome of loading one header and its entry array.
#[derive(Debug)]
enum Load {
    NoSignature,
    Damaged { alternate_lba: Option<u64> },
    Ok(Loaded),
}

/// Finds the sector size a GPT signature appears with: at LBA 1 first, then
/// at the last LBA, trying each candidate size in order.
fn find_sector_size(disk: &dyn Source, candidates: &[u32]) -> Option<u32> {
    let has_signature = |offset: u64| {
        let mut sig = [0u8; 8];
        offset.checked_add(8).is_some_and(|end| end <= disk.len())
            && disk.read_exact_at(&mut sig, offset).is_ok()
            && sig == GPT_SIGNATURE
    };
    let at_lba1 = candidates.iter().find(|&&ss| has_signature(u64::from(ss)));
    at_lba1
        .or_else(|| {
            candidates.iter().find(|&&ss| {
                let sectors = disk.len() / u64::from(ss);
                sectors >= 2 && has_signature((sectors - 1) * u64::from(ss))
            })
        })
        .copied()
}

/// Reads the GPT of `disk`, or `None` when no GPT signature is found with
/// any candidate sector size. Corruption and read errors become anomalies.
pub(crate) fn read(disk: &dyn Source, candidates: &[u32]) -> Option<GptOutcome> {
    let ss = find_sector_size(disk, candidates)?;
    let disk_sectors = disk.len() / u64::from(ss);
    let last = disk_sectors.saturating_sub(1);
    let mut anomalies = Anomalies::default();

    let primary = load(disk, ss, 1, "primary", disk_sectors, &mut anomalies);
    let mut backup_anomalies = Anomalies::default();
    let mut backup = load(
        disk,
        ss,
        last,
        "backup",
        disk_sectors,
        &mut backup_anomalies,
    );
    let mut backup_lba = last;
    let hint = match &primary {
        Load::Ok(l) => Some(l.header.alternate_lba),
        Load::Damaged { alternate_lba } => *alternate_lba,
        Load::NoSignature => None,
    };
    if let Some(alt) = hint.filter(|&a| a != last && a > 1 && a < disk_sectors) {
        if !matches!(backup, Load::Ok(_)) {
            let mut alt_anomalies = Anomalies::default();
            let b = load(disk, ss, alt, "backup", disk_sectors, &mut alt_anomalies);
            let better = matches!(
                (&backup, &b),
                (_, Load::Ok(_)) | (Load::NoSignature, Load::Damaged { .. })
            );
            if better {
                if matches!(b, Load::Ok(_)) {
                    let off = alt.saturating_mul(u64::from(ss));
                    alt_anomalies.push(
                        off,
                        codes::GPT_BACKUP_NOT_AT_END,
                        format!(
                            "backup GPT header found at LBA {alt} ({off:#x}), not at the last LBA {last}"
                        ),
                    );
                }
                backup = b;
                backup_anomalies = alt_anomalies;
                backup_lba = alt;
            }
        }
    }
    anomalies.extend(backup_anomalies);

    let ss64 = u64::from(ss);
    let backup_off = backup_lba.saturating_mul(ss64);
    let chosen = match (primary, backup) {
        (Load::Ok(p), b) => {
            match b {
                Load::Ok(b) => cross_check(&p, &b, ss64, &mut anomalies),
                Load::NoSignature => anomalies.push(
                    backup_off,
                    codes::GPT_BACKUP_MISSING,
                    format!(
                        "no backup GPT header at the last LBA {last} ({backup_off:#x}); the primary is used"
                    ),
                ),
                Load::Damaged { .. } => anomalies.push(
                    backup_off,
                    codes::GPT_BACKUP_DAMAGED,
                    format!(
                        "backup GPT at LBA {backup_lba} ({backup_off:#x}) is damaged; the primary is used"
                    ),
                ),
            }
            Some((p, GptHeaderUsed::Primary))
        }
        (p, Load::Ok(b)) => {
            let why = match p {
                Load::NoSignature => format!("has no \"EFI PART\" signature at LBA 1 ({ss64:#x})"),
                _ => format!("at LBA 1 ({ss64:#x}) is damaged"),
            };
            anomalies.push(
                ss64,
                codes::GPT_PRIMARY_DAMAGED_USING_BACKUP,
                format!(
                    "primary GPT {why}; using the backup GPT at LBA {backup_lba} ({backup_off:#x})"
                ),
            );
            Some((b, GptHeaderUsed::Backup))
        }
        _ => {
            anomalies.push(
                ss64,
                codes::GPT_UNUSABLE,
                format!(
                    "neither the primary GPT at LBA 1 ({ss64:#x}) nor the backup at LBA {backup_lba} \
                     ({backup_off:#x}) is usable; no GPT partitions can be listed"
                ),
            );
            None
        }
    };
    let (disk_guid, used, placed) = match chosen {
        Some((l, used)) => {
            let placed = entry::partitions(&l.header, &l.array, ss, &mut anomalies);
            (Some(l.header.disk_guid.to_string()), Some(used), placed)
        }
        None => (None, None, Vec::new()),
    };
    Some(GptOutcome {
        sector_size: ss,
        disk_guid,
        used,
        placed,
        anomalies,
    })
}

/// Loads the header at `lba` and its entry array, validating both.
fn load(
    disk: &dyn Source,
    ss: u32,
    lba: u64,
    which: &'static str,
    disk_sectors: u64,
    anomalies: &mut Anomalies,
) -> Load {
    let Some(offset) = lba.checked_mul(u64::from(ss)) else {
        return Load::NoSignature;
    };
    let what = format!("GPT {which} header");
    let sector = match read_tolerant(disk, offset, ss as usize, &what, anomalies) {
        Read::Bytes(b) => b,
        Read::OutsideDisk => return Load::NoSignature,
        Read::Failed => {
            return Load::Damaged {
                alternate_lba: None,
            };
        }
    };
    let ctx = HeaderCtx {
        which,
        lba,
        offset,
        sector_size: ss,
        disk_sectors,
    };
    let header = match RawGptHeader::check(&sector, &ctx, anomalies) {
        HeaderCheck::NoSignature => return Load::NoSignature,
        HeaderCheck::Damaged { alternate_lba } => {
            return Load::Damaged {
                alternate_lba: Some(alternate_lba),
            };
        }
        HeaderCheck::Valid(h) => h,
    };
    let damaged = Load::Damaged {
        alternate_lba: Some(header.alternate_lba),
    };
    let what = format!("GPT {which} partition entry array");
    let array = match read_tolerant(
        disk,
        header.entries_offset,
        header.entry_array_bytes,
        &what,
        anomalies,
    ) {
        Read::Bytes(b) => b,
        Read::OutsideDisk | Read::Failed => return damaged,
    };
    let computed = crc32fast::hash(&array);
    if computed != header.entries_crc32 {
        anomalies.push(
            header.entries_offset,
            codes::GPT_ENTRY_ARRAY_CRC,
            format!(
                "GPT {which} partition entry array at {:#x} (LBA {}, {} entries of {} bytes): CRC32 \
                 mismatch (stored {:#010x}, computed {computed:#010x})",
                header.entries_offset,
                header.entries_lba,
                header.entry_count,
                header.entry_size,
                header.entries_crc32
            ),
        );
        return damaged;
    }
    Load::Ok(Loaded { header, lba, array })
}

/// Records where two valid headers describe different tables.
fn cross_check(p: &Loaded, b: &Loaded, ss: u64, anomalies: &mut Anomalies) {
    let (ph, bh) = (&p.header, &b.header);
    let mut diffs = Vec::new();
    if ph.disk_guid != bh.disk_guid {
        diffs.push(format!("disk GUID {} vs {}", ph.disk_guid, bh.disk_guid));
    }
    if (ph.first_usable_lba, ph.last_usable_lba) != (bh.first_usable_lba, bh.last_usable_lba) {
        diffs.push(format!(
            "usable LBAs {}..={} vs {}..={}",
            ph.first_usable_lba, ph.last_usable_lba, bh.first_usable_lba, bh.last_usable_lba
        ));
    }
    if (ph.entry_count, ph.entry_size) != (bh.entry_count, bh.entry_size) {
        diffs.push(format!(
            "{} entries of {} bytes vs {} of {}",
            ph.entry_count, ph.entry_size, bh.entry_count, bh.entry_size
        ));
    }
    if p.array != b.array {
        diffs.push("the partition entries differ".to_string());
    }
    if !diffs.is_empty() {
        let off = b.lba.saturating_mul(ss);
        anomalies.push(
            off,
            codes::GPT_HEADERS_DISAGREE,
            format!(
                "primary GPT at {ss:#x} and backup GPT at {off:#x} disagree: {}; the primary is used",
                diffs.join("; ")
            ),
        );
    }
}
