//! `platter raid examine`: the md superblock or DDF metadata of each
//! member, then what disagrees between them
//! ([`platter_raid::metadata::examine`]).
//!
//! Findings (stale members, other arrays, duplicate or missing roles, bad
//! checksums) are information: the exit status is 0. It is 1 when a member
//! cannot be opened or its metadata areas cannot be read; the report is
//! printed first.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use platter_core::Source;
use platter_core::size::human_size;
use platter_open::Opened;
use platter_raid::geometry::{Level, ParityLayout, Raid10Layout};
use platter_raid::metadata::{
    DdfMetadata, DdfVdConfig, Finding, MdSuperblock, codes, examine as run_examine, finding_codes,
};
use serde::Serialize;

use super::args::ExamineArgs;
use crate::args::{GlobalOpts, exit};
use crate::info::print_json;

/// What one member's metadata says about one array it belongs to: the md
/// array, or one DDF virtual disk. Field names are stable.
#[derive(Debug, Serialize)]
struct ArraySummary {
    /// "md 1.2", "DDF 02.00.00".
    metadata: String,
    /// md array UUID, or the DDF virtual disk GUID.
    array_uuid: String,
    /// md `set_name`, or the DDF virtual disk name.
    array_name: Option<String>,
    /// DDF: the container (header) GUID.
    container_guid: Option<String>,
    /// "raid5"; for levels md has no equivalent of, the raw level.
    level: String,
    /// "left-symmetric", "f2", …; `None` when the level has no layout.
    layout: Option<String>,
    /// The layout as stored ("md layout 2", "PRL 0x05 RLQ 0x03 SRL 0xff").
    layout_raw: String,
    /// Chunk (strip) size in bytes.
    chunk_bytes: Option<u64>,
    /// Members of the array.
    raid_disks: u64,
    /// This member's role ("active 2", "spare", "slot 3").
    role: String,
    /// Its slot, when active.
    slot: Option<u32>,
    /// Where its array data starts.
    data_offset_bytes: Option<u64>,
    /// Bytes available for data from there (md `data_size`, mdadm's
    /// "Avail Dev Size").
    data_size_bytes: Option<u64>,
    /// Bytes of it the array uses (md's component size, mdadm's "Used Dev
    /// Size"; DDF block count).
    used_bytes: Option<u64>,
    /// md events, or the DDF header sequence number.
    events: u64,
    /// Last metadata update (RFC 3339 UTC).
    updated: String,
    /// Every checksum of the metadata agrees.
    checksum_ok: bool,
}

/// One member. Field names are stable.
#[derive(Debug, Serialize)]
struct MemberJson<'a> {
    index: usize,
    path: PathBuf,
    format: &'static str,
    size_bytes: u64,
    /// "md 1.2", "DDF 02.00.00", both joined by " + ", or "none".
    metadata: String,
    arrays: Vec<ArraySummary>,
    /// Every field of the md superblock.
    md: Option<&'a MdSuperblock>,
    /// Every field of the DDF metadata.
    ddf: Option<&'a DdfMetadata>,
}

/// One finding, with the member's path.
#[derive(Debug, Serialize)]
struct FindingJson<'a> {
    member: Option<usize>,
    path: Option<&'a PathBuf>,
    code: &'static str,
    message: &'a str,
}

/// What `platter raid examine --json` prints.
#[derive(Debug, Serialize)]
struct ExamineJson<'a> {
    members: Vec<MemberJson<'a>>,
    findings: Vec<FindingJson<'a>>,
}

/// `platter raid examine`.
pub fn examine(g: &GlobalOpts, a: &ExamineArgs) -> anyhow::Result<u8> {
    if let Some(map) = &g.mapfile {
        bail!(
            "--mapfile {}: raid examine reads each member's metadata as stored; \
             give no mapfile",
            map.display()
        );
    }
    let opts = crate::open_options(g);
    let mut opened: Vec<Opened> = Vec::with_capacity(a.members.len());
    for p in &a.members {
        let o = platter_open::open(p, &opts)
            .with_context(|| format!("cannot open member {}", p.display()))?;
        opened.push(o);
    }
    let names: Vec<String> = a.members.iter().map(|p| p.display().to_string()).collect();
    let refs: Vec<(&str, &dyn Source)> = opened
        .iter()
        .zip(&names)
        .map(|(o, n)| (n.as_str(), &*o.source as &dyn Source))
        .collect();
    let report = run_examine(&refs);
    let members: Vec<MemberJson<'_>> = report
        .members
        .iter()
        .zip(&opened)
        .map(|(m, o)| MemberJson {
            index: m.index,
            path: o.path.clone(),
            format: o.format.name,
            size_bytes: m.size_bytes,
            metadata: metadata_kind(m.md.as_ref(), m.ddf.as_ref()),
            arrays: summaries(m.md.as_ref(), m.ddf.as_ref()),
            md: m.md.as_ref(),
            ddf: m.ddf.as_ref(),
        })
        .collect();
    let findings: Vec<FindingJson<'_>> = report
        .findings
        .iter()
        .map(|f: &Finding| FindingJson {
            member: f.member,
            path: f.member.and_then(|i| a.members.get(i)),
            code: f.code,
            message: &f.message,
        })
        .collect();
    let j = ExamineJson { members, findings };
    let mut out = io::stdout().lock();
    if a.json {
        print_json(&mut out, &j)?;
    } else {
        write_human(&mut out, &j)?;
    }
    out.flush()?;
    let unreadable: Vec<&str> = j
        .findings
        .iter()
        .filter(|f| f.code == finding_codes::READ_ERROR)
        .filter_map(|f| f.member.map(|i| names[i].as_str()))
        .collect();
    if !unreadable.is_empty() {
        bail!(
            "cannot read the metadata areas of {}: see the findings above",
            unreadable.join(", ")
        );
    }
    Ok(exit::OK)
}

fn metadata_kind(md: Option<&MdSuperblock>, ddf: Option<&DdfMetadata>) -> String {
    let mut kinds = Vec::new();
    if let Some(m) = md {
        kinds.push(format!("md {}", m.version));
    }
    if let Some(d) = ddf {
        kinds.push(format!("DDF {}", d.revision));
    }
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(" + ")
    }
}

fn summaries(md: Option<&MdSuperblock>, ddf: Option<&DdfMetadata>) -> Vec<ArraySummary> {
    let mut v = Vec::new();
    if let Some(m) = md {
        v.push(md_summary(m));
    }
    if let Some(d) = ddf {
        // The virtual disks this member is part of; all of them when it is
        // in none (a spare, or an unidentified disk).
        let mine: Vec<&DdfVdConfig> = d
            .configs
            .iter()
            .filter(|c| c.this_disk_slot.is_some())
            .collect();
        let shown = if mine.is_empty() {
            d.configs.iter().collect()
        } else {
            mine
        };
        v.extend(shown.into_iter().map(|c| ddf_summary(d, c)));
    }
    v
}

/// The engine's level name for an md level number.
fn md_level_name(level: i32) -> String {
    match (Level::from_md_number(level), level) {
        (Some(l), _) => l.name().to_string(),
        (None, -4) => "multipath (md level -4)".into(),
        (None, -5) => "faulty (md level -5)".into(),
        (None, n) => format!("unknown (md level {n})"),
    }
}

/// The layout name for an md level and layout word, as the kernel reads it.
fn md_layout_name(level: i32, layout: u32) -> Option<String> {
    let unknown = || format!("unknown ({layout})");
    Some(match Level::from_md_number(level)? {
        // raid5.c: RAID4 parity is on the last member whatever is recorded.
        Level::Raid4 => "parity-last".into(),
        Level::Raid5 => ParityLayout::from_md_number(layout)
            .filter(|l| l.valid_for_raid5())
            .map_or_else(unknown, |l| l.name().to_string()),
        Level::Raid6 => {
            ParityLayout::from_md_number(layout).map_or_else(unknown, |l| l.name().to_string())
        }
        Level::Raid10 => Raid10Layout::from_md_word(layout).map_or_else(unknown, |l| l.to_string()),
        Level::Raid0 => match layout {
            1 => "original".into(),
            2 => "alternate".into(),
            0 => "not recorded (made before Linux 5.4)".into(),
            _ => unknown(),
        },
        Level::Raid1 | Level::Linear => return None,
    })
}

fn md_summary(m: &MdSuperblock) -> ArraySummary {
    ArraySummary {
        metadata: format!("md {}", m.version),
        array_uuid: m.array_uuid.clone(),
        array_name: m.name.clone().filter(|n| !n.is_empty()),
        container_guid: None,
        level: md_level_name(m.level),
        layout: md_layout_name(m.level, m.layout),
        layout_raw: format!("md layout {:#x}", m.layout),
        chunk_bytes: (m.chunk_bytes > 0).then_some(m.chunk_bytes),
        raid_disks: u64::from(m.raid_disks),
        role: if m.version == "0.90" {
            m.role.to_string()
        } else {
            format!("{} (device {})", m.role, m.dev_number)
        },
        slot: m.role.slot(),
        data_offset_bytes: Some(m.data_offset_bytes),
        data_size_bytes: Some(m.data_size_bytes),
        used_bytes: Some(m.used_bytes()),
        events: m.events,
        updated: m.utime.clone(),
        checksum_ok: m.checksum.valid,
    }
}

fn ddf_summary(d: &DdfMetadata, c: &DdfVdConfig) -> ArraySummary {
    let this = c
        .this_disk_slot
        .and_then(|s| c.members.iter().find(|m| m.slot == s));
    let (level, layout) = match c.md {
        Some(eq) => (md_level_name(eq.level), md_layout_name(eq.level, eq.layout)),
        None => (format!("{} (no md equivalent)", c.prl_name), None),
    };
    ArraySummary {
        metadata: format!("DDF {}", d.revision),
        array_uuid: c.vd_guid.clone(),
        array_name: c.vd_name.clone().filter(|n| !n.is_empty()),
        container_guid: Some(d.header_guid.clone()),
        level,
        layout,
        layout_raw: format!(
            "PRL {:#04x} ({}) RLQ {:#04x} SRL {:#04x}",
            c.prl, c.prl_name, c.rlq, c.srl
        ),
        chunk_bytes: c.strip_bytes,
        raid_disks: c
            .md
            .map_or(u64::from(c.primary_elements), |eq| u64::from(eq.raid_disks)),
        role: match c.this_disk_slot {
            Some(s) => format!("slot {s}"),
            None => "not a member of this virtual disk".into(),
        },
        slot: c.this_disk_slot,
        data_offset_bytes: this.and_then(|m| m.start_bytes),
        data_size_bytes: c.block_count.checked_mul(u64::from(c.block_size)),
        used_bytes: c.block_count.checked_mul(u64::from(c.block_size)),
        events: u64::from(d.sequence),
        updated: d.timestamp.clone(),
        checksum_ok: c.crc_valid && !d.anomalies.iter().any(|a| a.code == codes::CHECKSUM),
    }
}

/// Width of the labels (values start in column 17).
const LABEL: usize = 15;

fn bytes(n: u64) -> String {
    format!("{n} bytes ({})", human_size(n))
}

/// A label and value, the value in column 17 whatever the indent.
fn field(
    w: &mut dyn Write,
    indent: usize,
    label: &str,
    value: &dyn std::fmt::Display,
) -> io::Result<()> {
    let width = (LABEL + 2).saturating_sub(indent);
    writeln!(w, "{:indent$}{:<width$}{value}", "", format!("{label}:"))
}

fn write_human(w: &mut dyn Write, j: &ExamineJson<'_>) -> io::Result<()> {
    for (i, m) in j.members.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        writeln!(w, "{}", m.path.display())?;
        field(w, 2, "size", &bytes(m.size_bytes))?;
        if m.md.is_none() && m.ddf.is_none() {
            field(
                w,
                2,
                "metadata",
                &"none: no md superblock and no DDF anchor",
            )?;
            continue;
        }
        if let Some(md) = m.md {
            let s = md_summary(md);
            field(
                w,
                2,
                "metadata",
                &format_args!(
                    "{} (superblock at {:#x})",
                    s.metadata, md.superblock_offset_bytes
                ),
            )?;
            let name = s
                .array_name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            field(w, 2, "array", &format_args!("{}{name}", s.array_uuid))?;
            write_geometry(w, 2, &s)?;
            field(w, 2, "events", &s.events)?;
            field(w, 2, "updated", &s.updated)?;
            let checksum = if md.checksum.valid {
                "ok".to_string()
            } else {
                format!(
                    "BAD (stored {:#010x}, computed {:#010x})",
                    md.checksum.stored, md.checksum.computed
                )
            };
            field(w, 2, "checksum", &checksum)?;
        }
        if let Some(ddf) = m.ddf {
            field(
                w,
                2,
                "metadata",
                &format_args!(
                    "DDF {} (anchor at LBA {}, {} header in use)",
                    ddf.revision, ddf.anchor.lba, ddf.active_header
                ),
            )?;
            field(w, 2, "container", &ddf.header_guid)?;
            field(w, 2, "sequence", &ddf.sequence)?;
            field(w, 2, "updated", &ddf.timestamp)?;
            let vds: Vec<&ArraySummary> = m
                .arrays
                .iter()
                .filter(|s| s.container_guid.is_some())
                .collect();
            if vds.is_empty() {
                field(w, 2, "virtual disks", &"none")?;
            }
            for s in vds {
                let name = s
                    .array_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                field(
                    w,
                    2,
                    "virtual disk",
                    &format_args!("{}{name}", s.array_uuid),
                )?;
                write_geometry(w, 4, s)?;
                let ok = if s.checksum_ok {
                    "ok"
                } else {
                    "BAD (see the findings)"
                };
                field(w, 4, "checksum", &ok)?;
            }
        }
    }
    writeln!(w)?;
    if j.findings.is_empty() {
        return writeln!(w, "findings: none");
    }
    writeln!(w, "findings:")?;
    let width = j.findings.iter().map(|f| f.code.len()).max().unwrap_or(0);
    for f in &j.findings {
        writeln!(w, "  {:<width$}  {}", f.code, f.message)?;
    }
    Ok(())
}

/// Level, layout, chunk, member count, role, data area.
fn write_geometry(w: &mut dyn Write, indent: usize, s: &ArraySummary) -> io::Result<()> {
    field(w, indent, "level", &s.level)?;
    let layout = s.layout.as_deref().unwrap_or("none");
    field(
        w,
        indent,
        "layout",
        &format_args!("{layout} ({})", s.layout_raw),
    )?;
    match s.chunk_bytes {
        Some(c) => field(w, indent, "chunk", &bytes(c))?,
        None => field(w, indent, "chunk", &"none")?,
    }
    field(w, indent, "raid disks", &s.raid_disks)?;
    field(w, indent, "role", &s.role)?;
    match s.data_offset_bytes {
        Some(o) => field(
            w,
            indent,
            "data offset",
            &format_args!("{o:#x} ({o} bytes)"),
        )?,
        None => field(w, indent, "data offset", &"unknown")?,
    }
    match s.data_size_bytes {
        Some(n) => field(w, indent, "data size", &bytes(n))?,
        None => field(w, indent, "data size", &"unknown")?,
    }
    if let Some(u) = s.used_bytes.filter(|&u| Some(u) != s.data_size_bytes) {
        field(w, indent, "used size", &bytes(u))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_layouts_are_named_as_the_kernel_reads_them() {
        assert_eq!(md_layout_name(5, 2).as_deref(), Some("left-symmetric"));
        assert_eq!(md_layout_name(5, 8).as_deref(), Some("unknown (8)"));
        assert_eq!(md_layout_name(6, 8).as_deref(), Some("ddf-zero-restart"));
        assert_eq!(md_layout_name(4, 0).as_deref(), Some("parity-last"));
        assert_eq!(md_layout_name(10, 0x201).as_deref(), Some("f2"));
        assert_eq!(md_layout_name(0, 2).as_deref(), Some("alternate"));
        assert_eq!(md_layout_name(1, 0), None);
        assert_eq!(md_level_name(-1), "linear");
        assert_eq!(md_level_name(-4), "multipath (md level -4)");
        assert_eq!(md_level_name(42), "unknown (md level 42)");
    }
}
