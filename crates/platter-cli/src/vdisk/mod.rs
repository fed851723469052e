//! `platter vdisk info` and `platter vdisk extract`: VMDK, VHD and VHDX
//! opened with `platter-vdisk` (strict mode, parent checks and path rules
//! from the command line), reported, and copied to raw with digests.
//!
//! Extraction follows [`crate::output`]: never onto any file of the
//! chain, an existing output only with `--force`. Unreadable ranges are
//! filled with zeros, listed, written to a ddrescue mapfile (OUT.map by
//! default) and make the exit status 3.

pub mod args;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platter_core::size::human_size;
use platter_hash::{CopyOptions, Digest};
use platter_open::{Format, Opened};
use platter_parts::{PartitionTable, read_partitions};
use platter_vdisk::{Anomaly, VdiskFormat, VdiskInfo, VdiskOptions, VirtualDisk};
use serde::Serialize;

use crate::args::{GlobalOpts, exit};
use crate::info::print_report;
use crate::output::Output;
use crate::progress::bytes_bar;
use crate::rescue::{check_new_map, command_line, output_map};
use args::{VdiskCommand, VdiskExtractArgs, VdiskInfoArgs, VdiskOpenArgs};

/// Runs a `platter vdisk` subcommand.
pub fn run(g: &GlobalOpts, c: &VdiskCommand) -> anyhow::Result<u8> {
    match c {
        VdiskCommand::Info(a) => info(g, a),
        VdiskCommand::Extract(a) => extract(g, a),
    }
}

fn open(g: &GlobalOpts, path: &Path, o: &VdiskOpenArgs) -> anyhow::Result<VirtualDisk> {
    let opts = VdiskOptions {
        strict: o.strict,
        ignore_cid: o.ignore_cid,
        allow_outside_paths: o.allow_outside_paths,
        open: crate::open_options(g),
    };
    platter_vdisk::open(path, &opts)
        .with_context(|| format!("cannot open the virtual disk {}", path.display()))
}

/// The disk as an [`Opened`] whose segments are every file of the chain,
/// so the output guard refuses all of them.
fn as_opened(path: &Path, disk: &VirtualDisk) -> Opened {
    let format = match disk.info.format {
        VdiskFormat::Vmdk => Format {
            name: "vmdk",
            description: "VMware virtual disk (VMDK)",
        },
        VdiskFormat::Vhd => Format {
            name: "vhd",
            description: "Virtual PC / Hyper-V virtual disk (VHD)",
        },
        VdiskFormat::Vhdx => Format {
            name: "vhdx",
            description: "Hyper-V virtual disk (VHDX)",
        },
    };
    Opened {
        path: path.to_path_buf(),
        source: disk.source.clone(),
        format,
        detected: Some(format),
        notes: Vec::new(),
        segments: disk.info.files.clone(),
        device: None,
        rescue: None,
        metadata: Default::default(),
    }
}

/// What `platter vdisk info --json` prints.
#[derive(Debug, Serialize)]
struct InfoReport<'a> {
    path: &'a Path,
    #[serde(flatten)]
    info: &'a VdiskInfo,
    allocated_fraction: Option<f64>,
    partition_table: Option<PartitionTable>,
    partition_error: Option<String>,
}

fn info(g: &GlobalOpts, a: &VdiskInfoArgs) -> anyhow::Result<u8> {
    let disk = open(g, &a.file, &a.open)?;
    let (table, table_err) = match read_partitions(&*disk.source) {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let i = &disk.info;
    let report = InfoReport {
        path: &a.file,
        info: i,
        allocated_fraction: i
            .allocated_bytes
            .filter(|_| i.virtual_size > 0)
            .map(|b| b as f64 / i.virtual_size as f64),
        partition_table: table,
        partition_error: table_err,
    };
    print_report(&report, a.json, false, write_info)?;
    Ok(exit::OK)
}

fn write_info(w: &mut dyn Write, r: &InfoReport<'_>) -> io::Result<()> {
    let i = r.info;
    let row = |w: &mut dyn Write, k: &str, v: String| writeln!(w, "{:<18}{v}", format!("{k}:"));
    row(w, "file", r.path.display().to_string())?;
    row(w, "format", format!("{} ({})", i.format, i.subformat))?;
    row(
        w,
        "virtual size",
        format!("{} bytes ({})", i.virtual_size, human_size(i.virtual_size)),
    )?;
    if let Some(bs) = i.block_size {
        row(w, "block size", format!("{bs} bytes ({})", human_size(bs)))?;
    }
    if let (Some(a), Some(f)) = (i.allocated_bytes, r.allocated_fraction) {
        row(w, "allocated", format!("{a} bytes ({:.1}%)", f * 100.0))?;
    }
    for (k, v) in &i.properties {
        row(w, k, v.clone())?;
    }
    writeln!(w, "chain:")?;
    for (n, l) in i.chain.iter().enumerate() {
        writeln!(
            w,
            "  {n}: {} [{} {}] {}",
            l.path.display(),
            l.format,
            l.subformat,
            l.status
        )?;
    }
    write_anomalies(w, &i.anomalies)?;
    match (&r.partition_table, &r.partition_error) {
        (Some(t), _) if !t.partitions.is_empty() => {
            writeln!(w, "partitions ({:?}):", t.scheme)?;
            for p in &t.partitions {
                writeln!(
                    w,
                    "  {}: start {} bytes, {} bytes ({})",
                    p.index,
                    p.start_bytes,
                    p.len_bytes,
                    human_size(p.len_bytes)
                )?;
            }
        }
        (_, Some(e)) => writeln!(w, "partitions: cannot be read: {e}")?,
        _ => writeln!(w, "partitions: none found")?,
    }
    Ok(())
}

fn write_anomalies(w: &mut dyn Write, list: &[Anomaly]) -> io::Result<()> {
    if list.is_empty() {
        return writeln!(w, "anomalies: none");
    }
    writeln!(w, "anomalies:")?;
    for a in list {
        writeln!(w, "  [{}] {a}", a.kind)?;
    }
    Ok(())
}

/// What `platter vdisk extract --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct ExtractReport<'a> {
    source: &'a Path,
    format: VdiskFormat,
    subformat: &'a str,
    virtual_size: u64,
    partition: Option<u32>,
    start_bytes: u64,
    len_bytes: u64,
    output: PathBuf,
    sparse: bool,
    bytes: u64,
    digests: &'a [Digest],
    unreadable: Vec<Range>,
    unreadable_bytes: u64,
    bad_map: Option<PathBuf>,
    anomalies: &'a [Anomaly],
}

/// Bytes per read of `vdisk extract`: 4 MiB, so one read spans 64 grains
/// of a streamOptimized VMDK (inflated in parallel by the reader) and the
/// hasher queues hold tens of milliseconds of work, keeping MD5 busy. The
/// pipeline holds a few dozen such blocks at most, whatever the disk size.
const EXTRACT_BLOCK_BYTES: usize = 4 << 20;

/// An unreadable range: offset in the output, and in the virtual disk.
#[derive(Debug, Serialize)]
struct Range {
    offset: u64,
    len: u64,
    disk_offset: u64,
}

fn extract(g: &GlobalOpts, a: &VdiskExtractArgs) -> anyhow::Result<u8> {
    let disk = open(g, &a.file, &a.open)?;
    let opened = as_opened(&a.file, &disk);
    let to_stdout = a.output.as_os_str() == "-";
    if a.sparse && to_stdout {
        bail!("--sparse needs a file: standard output cannot have holes");
    }
    let (src, start, len): (platter_core::SharedSource, u64, u64) = match a.partition {
        None => (disk.source.clone(), 0, disk.source.len()),
        Some(n) => {
            let table = read_partitions(&*disk.source).with_context(|| {
                format!("cannot read the partition table of {}", a.file.display())
            })?;
            let Ok(p) = table.get(n) else {
                bail!(
                    "{} has no partition {n} (see `platter vdisk info`)",
                    a.file.display()
                );
            };
            let w = p.open(disk.source.clone())?;
            (std::sync::Arc::new(w), p.start_bytes, p.len_bytes)
        }
    };
    let map_path = a.bad_map.clone().or_else(|| {
        (!to_stdout).then(|| {
            let mut p = a.output.clone().into_os_string();
            p.push(".map");
            PathBuf::from(p)
        })
    });
    if let Some(map) = &map_path {
        opened.check_output_path(map)?;
        if a.bad_map.is_some() {
            check_new_map(map, a.force)?;
        }
    }
    let out = Output::open(&opened, &a.output, a.force, "virtual disk")?;
    let out_name = out.name();
    let opts = CopyOptions {
        algs: a.hash.0.clone(),
        block_size: EXTRACT_BLOCK_BYTES,
        ..CopyOptions::default()
    };
    let bar = bytes_bar(len, g.quiet, format!("{}", a.file.display()));
    let what = || format!("extracting {}", a.file.display());
    let report = if a.sparse {
        out.copy_sparse_from(&*src, &opts, &bar, what)?
    } else {
        out.copy_from(&*src, &opts, &bar, what)?
    };
    let mut written_map = None;
    if let Some(map) = map_path.filter(|_| !report.unreadable.is_empty() || a.bad_map.is_some()) {
        if a.bad_map.is_none() {
            check_new_map(&map, a.force)?;
        }
        output_map(
            &opened,
            start,
            report.bytes,
            &report.unreadable,
            command_line(),
        )
        .write_atomic(&map)
        .with_context(|| format!("cannot write the mapfile {}", map.display()))?;
        written_map = Some(map);
    }
    let json = ExtractReport {
        source: &a.file,
        format: disk.info.format,
        subformat: &disk.info.subformat,
        virtual_size: disk.info.virtual_size,
        partition: a.partition,
        start_bytes: start,
        len_bytes: len,
        output: out_name,
        sparse: a.sparse,
        bytes: report.bytes,
        digests: &report.digests,
        unreadable: report
            .unreadable
            .iter()
            .map(|e| Range {
                offset: e.offset,
                len: e.len,
                disk_offset: start + e.offset,
            })
            .collect(),
        unreadable_bytes: report.unreadable_bytes(),
        bad_map: written_map,
        anomalies: &disk.info.anomalies,
    };
    print_report(&json, a.json, to_stdout, write_extract)?;
    Ok(if report.unreadable.is_empty() {
        exit::OK
    } else {
        exit::UNREADABLE
    })
}

fn write_extract(w: &mut dyn Write, r: &ExtractReport<'_>) -> io::Result<()> {
    let what = match r.partition {
        Some(n) => format!("partition {n} (offset {}) of ", r.start_bytes),
        None => String::new(),
    };
    writeln!(
        w,
        "{what}{} [{} {}] -> {}{}",
        r.source.display(),
        r.format,
        r.subformat,
        r.output.display(),
        if r.sparse { " (sparse)" } else { "" }
    )?;
    writeln!(w, "bytes written: {} ({})", r.bytes, human_size(r.bytes))?;
    for d in r.digests {
        writeln!(w, "{:<8}{}", format!("{}:", d.alg), d.hex)?;
    }
    if r.unreadable.is_empty() {
        writeln!(w, "unreadable: none")?;
    } else {
        writeln!(
            w,
            "unreadable: {} bytes in {} ranges, filled with zeros:",
            r.unreadable_bytes,
            r.unreadable.len()
        )?;
        for e in &r.unreadable {
            writeln!(
                w,
                "  offset {:#x}, {} bytes (disk offset {:#x})",
                e.offset, e.len, e.disk_offset
            )?;
        }
    }
    if let Some(m) = &r.bad_map {
        writeln!(w, "mapfile: {}", m.display())?;
    }
    write_anomalies(w, r.anomalies)
}
