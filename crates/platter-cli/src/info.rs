//! `platter info` and `platter parts list`: describe a source and its
//! partition table, as aligned text or one JSON object.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use platter_core::size::human_size;
use platter_core::sys::DeviceInfo;
use platter_open::{Format, ImageMetadata, Opened};
use platter_parts::{Anomaly, GptHeaderUsed, PartitionTable, Scheme, codes, read_partitions};
use serde::Serialize;

use crate::args::{GlobalOpts, InfoArgs, PartsListArgs, exit};
use crate::rescue::MapfileReport;
use crate::table::{Align, Table};

/// Everything `platter info --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct InfoReport<'a> {
    path: &'a Path,
    format: Format,
    detected: Option<Format>,
    notes: &'a [String],
    size_bytes: u64,
    size_human: String,
    sectors: u64,
    logical_sector: u32,
    physical_sector: u32,
    segments: Vec<SegmentReport>,
    device: Option<&'a DeviceInfo>,
    /// Only with `--mapfile` (absent otherwise, so reports of plain images
    /// keep their shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    mapfile: Option<MapfileReport>,
    /// What the format decoder reports (E01 case metadata, stored digests,
    /// anomalies); absent for raw images, so their reports keep their shape.
    #[serde(skip_serializing_if = "metadata_is_empty")]
    metadata: &'a ImageMetadata,
    partition_table: &'a PartitionTable,
}

fn metadata_is_empty(m: &&ImageMetadata) -> bool {
    m.properties.is_empty() && m.stored_digests.is_empty() && m.anomalies.is_empty()
}

/// One file of a (split) image.
#[derive(Debug, Serialize)]
struct SegmentReport {
    path: PathBuf,
    size_bytes: Option<u64>,
}

/// What `platter parts list --json` prints.
#[derive(Debug, Serialize)]
struct PartsReport<'a> {
    path: &'a Path,
    partition_table: &'a PartitionTable,
}

/// Opens `path` with the global options (through `--mapfile` when given);
/// the error names the path.
pub fn open_source(g: &GlobalOpts, path: &Path) -> anyhow::Result<Opened> {
    let opts = crate::open_options(g);
    match &g.mapfile {
        Some(map) => platter_open::open_rescued(path, map, &opts).with_context(|| {
            format!(
                "cannot open the source {} with the mapfile {}",
                path.display(),
                map.display()
            )
        }),
        None => platter_open::open(path, &opts).context("cannot open the source"),
    }
}

/// Reads the partition table of an opened source.
pub fn partition_table(opened: &Opened) -> anyhow::Result<PartitionTable> {
    read_partitions(&*opened.source).with_context(|| {
        format!(
            "cannot read the partition table of {}",
            opened.path.display()
        )
    })
}

/// Like [`partition_table`], but an unreadable sector 0 (a bad sector, an
/// area a ddrescue mapfile does not mark rescued) gives an empty table
/// with a `read_error` anomaly, so a description can still be printed.
fn partition_table_or_anomaly(opened: &Opened) -> anyhow::Result<PartitionTable> {
    match read_partitions(&*opened.source) {
        Err(platter_parts::Error::Source(
            e @ (platter_core::Error::Unreadable { .. } | platter_core::Error::Read { .. }),
        )) => Ok(PartitionTable {
            scheme: Scheme::None,
            sector_size: opened.source.sector_size().logical,
            disk_guid: None,
            mbr_signature: None,
            gpt_header: None,
            partitions: Vec::new(),
            anomalies: vec![Anomaly {
                offset: 0,
                code: codes::READ_ERROR,
                message: format!(
                    "sector 0 at 0x0 cannot be read ({e}): no partition table could be read"
                ),
            }],
        }),
        _ => partition_table(opened),
    }
}

/// `platter info`.
pub fn info(g: &GlobalOpts, a: &InfoArgs) -> anyhow::Result<u8> {
    let opened = open_source(g, &a.source)?;
    let table = partition_table_or_anomaly(&opened)?;
    let src = &opened.source;
    let sector = src.sector_size();
    let segments = opened
        .segments
        .iter()
        .map(|p| SegmentReport {
            path: p.clone(),
            size_bytes: fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        })
        .collect();
    let report = InfoReport {
        path: &opened.path,
        format: opened.format,
        detected: opened.detected,
        notes: &opened.notes,
        size_bytes: src.len(),
        size_human: human_size(src.len()),
        sectors: src.len() / u64::from(sector.logical.max(1)),
        logical_sector: sector.logical,
        physical_sector: sector.physical,
        segments,
        device: opened.device.as_ref(),
        mapfile: opened.rescue.as_ref().map(MapfileReport::new).transpose()?,
        metadata: &opened.metadata,
        partition_table: &table,
    };
    print_report(&report, a.json, false, write_info)?;
    Ok(exit::OK)
}

/// `platter parts list`.
pub fn parts_list(g: &GlobalOpts, a: &PartsListArgs) -> anyhow::Result<u8> {
    let opened = open_source(g, &a.source)?;
    let table = partition_table_or_anomaly(&opened)?;
    let mut out = io::stdout().lock();
    if a.json {
        let report = PartsReport {
            path: &opened.path,
            partition_table: &table,
        };
        print_json(&mut out, &report)?;
    } else {
        write_table(&mut out, &opened.path, &table)?;
    }
    out.flush()?;
    Ok(exit::OK)
}

/// Prints a command's report and flushes it: as JSON with `--json`, else
/// in the human form `human` writes. It goes to stdout, or to stderr when
/// the data itself owns stdout (`-o -`).
pub fn print_report<T: Serialize>(
    report: &T,
    json: bool,
    data_on_stdout: bool,
    human: impl FnOnce(&mut dyn Write, &T) -> io::Result<()>,
) -> anyhow::Result<()> {
    let mut sink: Box<dyn Write> = if data_on_stdout {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    if json {
        print_json(&mut sink, report)?;
    } else {
        human(&mut sink, report)?;
    }
    sink.flush()?;
    Ok(())
}

/// Writes `value` as pretty JSON and a newline. The text is built first so
/// a closed pipe surfaces as a plain `io::Error` (serde_json hides it).
pub fn print_json(w: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    writeln!(w, "{text}")?;
    Ok(())
}

/// Width of the labels in the human report.
const LABEL: usize = 17;

fn field(w: &mut dyn Write, label: &str, value: impl std::fmt::Display) -> io::Result<()> {
    writeln!(w, "{:<LABEL$}{value}", format!("{label}:"))
}

fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

fn opt_yes_no(v: Option<bool>) -> &'static str {
    v.map_or("unknown", yes_no)
}

fn write_info(w: &mut dyn Write, r: &InfoReport<'_>) -> io::Result<()> {
    field(w, "path", r.path.display())?;
    field(
        w,
        "format",
        format_args!("{}: {}", r.format.name, r.format.description),
    )?;
    if let Some(d) = r.detected.filter(|d| *d != r.format) {
        field(
            w,
            "signature",
            format_args!("{}: {}", d.name, d.description),
        )?;
    }
    for note in r.notes {
        field(w, "note", note)?;
    }
    let rem = r.size_bytes % u64::from(r.logical_sector.max(1));
    let extra = if rem == 0 {
        String::new()
    } else {
        format!(" + {rem} bytes")
    };
    field(
        w,
        "size",
        format_args!(
            "{} bytes ({}), {} sectors{extra}",
            r.size_bytes, r.size_human, r.sectors
        ),
    )?;
    field(
        w,
        "sector size",
        format_args!(
            "{} bytes logical, {} bytes physical",
            r.logical_sector, r.physical_sector
        ),
    )?;
    if r.segments.len() > 1 {
        field(w, "segments", format_args!("{} files", r.segments.len()))?;
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("bytes", Align::Right),
            ("path", Align::Left),
        ]);
        for (i, s) in r.segments.iter().enumerate() {
            let size = s
                .size_bytes
                .map_or_else(|| "?".to_string(), |n| n.to_string());
            t.row(vec![
                (i + 1).to_string(),
                size,
                s.path.display().to_string(),
            ]);
        }
        t.write(w, "  ")?;
    }
    if let Some(d) = r.device {
        let name = d.sysfs_name.as_deref().unwrap_or("?");
        field(w, "device", format_args!("{} ({name})", d.path.display()))?;
        let unknown = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
        field(w, "  model", unknown(&d.model))?;
        field(w, "  vendor", unknown(&d.vendor))?;
        field(w, "  serial", unknown(&d.serial))?;
        field(w, "  read-only", yes_no(d.read_only))?;
        field(w, "  rotational", opt_yes_no(d.rotational))?;
        field(w, "  removable", opt_yes_no(d.removable))?;
    }
    if let Some(m) = &r.mapfile {
        m.write_human(w, r.logical_sector, |w, label, value| {
            field(w, label, value)
        })?;
    }
    write_metadata(w, r.metadata)?;
    write_table(w, r.path, r.partition_table)
}

/// The decoder's properties, stored digests and anomalies.
fn write_metadata(w: &mut dyn Write, m: &ImageMetadata) -> io::Result<()> {
    // Decoder labels can be long: keep at least one space after the colon.
    let meta_field = |w: &mut dyn Write, label: &str, value: &str| {
        let label = format!("{label}:");
        if label.len() < LABEL {
            writeln!(w, "{label:<LABEL$}{value}")
        } else {
            writeln!(w, "{label} {value}")
        }
    };
    for (label, value) in &m.properties {
        meta_field(w, label, value)?;
    }
    for d in &m.stored_digests {
        meta_field(w, &format!("stored {}", d.algorithm), &d.hex)?;
    }
    if !m.anomalies.is_empty() {
        field(w, "image anomalies", m.anomalies.len())?;
        for a in &m.anomalies {
            writeln!(w, "  {a}")?;
        }
    }
    Ok(())
}

/// The partition-table part of the human report, shared with `parts list`.
fn write_table(w: &mut dyn Write, path: &Path, table: &PartitionTable) -> io::Result<()> {
    let mut desc = match table.scheme {
        Scheme::None => "none found",
        Scheme::Mbr => "MBR",
        Scheme::Gpt => "GPT",
    }
    .to_string();
    if let Some(guid) = &table.disk_guid {
        desc.push_str(&format!(", disk GUID {guid}"));
    }
    if let (Scheme::Mbr, Some(sig)) = (table.scheme, table.mbr_signature) {
        desc.push_str(&format!(", disk signature 0x{sig:08x}"));
    }
    match table.gpt_header {
        Some(GptHeaderUsed::Primary) => desc.push_str(", primary GPT header used"),
        Some(GptHeaderUsed::Backup) => desc.push_str(", backup GPT header used"),
        None => {}
    }
    desc.push_str(&format!(", {}-byte sectors", table.sector_size));
    field(w, "partition table", desc)?;
    if table.partitions.is_empty() {
        writeln!(w, "  (no partitions)")?;
    } else {
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("start", Align::Right),
            ("end", Align::Right),
            ("sectors", Align::Right),
            ("size", Align::Right),
            ("type", Align::Left),
            ("flags", Align::Left),
            ("name", Align::Left),
        ]);
        for p in &table.partitions {
            let end = p
                .first_lba
                .checked_add(p.sectors)
                .and_then(|e| e.checked_sub(1))
                .filter(|_| p.sectors > 0)
                .map_or_else(|| "-".to_string(), |e| e.to_string());
            let mut flags = Vec::new();
            if p.bootable {
                flags.push("boot");
            }
            if p.logical {
                flags.push("logical");
            }
            t.row(vec![
                p.index.to_string(),
                p.first_lba.to_string(),
                end,
                p.sectors.to_string(),
                human_size(p.len_bytes),
                format!("{} ({})", p.type_name, p.type_code),
                flags.join(","),
                p.name.clone().unwrap_or_default(),
            ]);
        }
        t.write(w, "  ")?;
    }
    if !table.anomalies.is_empty() {
        field(w, "anomalies", table.anomalies.len())?;
        for a in &table.anomalies {
            writeln!(
                w,
                "  {}: offset {:#x}: {} [{}]",
                path.display(),
                a.offset,
                a.message,
                a.code
            )?;
        }
    }
    Ok(())
}
