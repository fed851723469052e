//! `platter parts extract`: copy one partition to a raw file (or standard
//! output) while hashing it.
//!
//! The output follows the rules of [`crate::output`]: never the source, one
//! of its segments, a block device overlapping it, or its `--mapfile`, even
//! with `--force`; an existing output only with `--force`; never raw bytes
//! to a terminal.
//!
//! `--bad-map MAP` follows the same rules and must not be the output either.
//! The exit status is 3 when some of the partition could not be read: the
//! report lists those ranges, which were filled with `--fill`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, bail};
use platter_core::size::human_size;
use platter_hash::{CopyOptions, Digest};
use serde::Serialize;

use crate::args::{GlobalOpts, PartsExtractArgs, exit};
use crate::info::{open_source, partition_table, print_report};
use crate::output::{Output, check_not_output, same_file};
use crate::progress::bytes_bar;
use crate::rescue::{check_new_map, command_line, output_map, sectors};

/// What `platter parts extract --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct ExtractReport<'a> {
    source: &'a Path,
    mapfile: Option<&'a Path>,
    partition: u32,
    start_bytes: u64,
    len_bytes: u64,
    sector_size: u32,
    output: &'a Path,
    bytes: u64,
    digests: &'a [Digest],
    fill: u8,
    unreadable: Vec<UnreadableRange>,
    unreadable_bytes: u64,
    bad_map: Option<&'a Path>,
}

/// One unreadable range of the partition, filled in the output.
#[derive(Debug, Serialize)]
struct UnreadableRange {
    /// Offset in the partition (and in the output).
    offset: u64,
    /// Length in bytes.
    len: u64,
    /// Offset on the disk: the partition's start plus `offset`.
    disk_offset: u64,
}

/// `platter parts extract`.
pub fn extract(g: &GlobalOpts, a: &PartsExtractArgs) -> anyhow::Result<u8> {
    let opened = open_source(g, &a.source)?;
    let table = partition_table(&opened)?;
    let Ok(part) = table.get(a.partition) else {
        let numbers: Vec<String> = table
            .partitions
            .iter()
            .map(|p| p.index.to_string())
            .collect();
        let listed = if numbers.is_empty() {
            "it lists none".to_string()
        } else {
            format!("it lists {}", numbers.join(", "))
        };
        bail!(
            "{} has no partition {} in its partition table ({listed}; see `platter parts list`)",
            opened.path.display(),
            a.partition
        );
    };
    let window = part.open(opened.source.clone()).with_context(|| {
        format!(
            "cannot open partition {} of {}",
            a.partition,
            opened.path.display()
        )
    })?;

    let to_stdout = a.output.as_os_str() == "-";
    if let Some(map) = &a.bad_map {
        opened.check_output_path(map)?;
        if !to_stdout {
            let existing = fs::metadata(&a.output).ok();
            if map == &a.output || existing.is_some_and(|o| same_file(map, &o)) {
                bail!(
                    "--bad-map {} is the output itself: give the mapfile another name",
                    map.display()
                );
            }
        }
        check_new_map(map, a.force)?;
    }
    let out = Output::open(&opened, &a.output, a.force, "partition")?;
    if let Some(map) = &a.bad_map {
        // Another name for the output (a link made beforehand) is caught here.
        if let Err(err) = check_not_output("--bad-map", map, out.file()) {
            out.discard();
            return Err(err);
        }
    }
    let out_name = out.name();

    let opts = CopyOptions {
        block_size: a.block_size.0,
        algs: a.hash.0.clone(),
        fill: a.fill,
    };
    let bar = bytes_bar(
        part.len_bytes,
        g.quiet,
        format!("partition {}", a.partition),
    );
    let report = out.copy_from(&window, &opts, &bar, || {
        format!(
            "extracting partition {} of {}",
            a.partition,
            opened.path.display()
        )
    })?;

    if let Some(map) = &a.bad_map {
        output_map(
            &opened,
            part.start_bytes,
            report.bytes,
            &report.unreadable,
            command_line(),
        )
        .write_atomic(map)
        .with_context(|| {
            format!(
                "cannot write the bad-area map {} (the output {} is complete)",
                map.display(),
                out_name.display()
            )
        })?;
    }

    let json = ExtractReport {
        source: &opened.path,
        mapfile: opened.rescue.as_ref().map(|r| r.path()),
        partition: a.partition,
        start_bytes: part.start_bytes,
        len_bytes: part.len_bytes,
        sector_size: table.sector_size,
        output: &out_name,
        bytes: report.bytes,
        digests: &report.digests,
        fill: a.fill,
        unreadable: report
            .unreadable
            .iter()
            .map(|e| UnreadableRange {
                offset: e.offset,
                len: e.len,
                disk_offset: part.start_bytes.saturating_add(e.offset),
            })
            .collect(),
        unreadable_bytes: report.unreadable_bytes(),
        bad_map: a.bad_map.as_deref(),
    };
    // With `-o -` the data owns stdout; the report goes to stderr.
    print_report(&json, a.json, to_stdout, write_human)?;
    Ok(if report.unreadable.is_empty() {
        exit::OK
    } else {
        exit::UNREADABLE
    })
}

fn write_human(w: &mut dyn Write, r: &ExtractReport<'_>) -> io::Result<()> {
    writeln!(
        w,
        "partition {} of {} (offset {}, {} bytes) -> {}",
        r.partition,
        r.source.display(),
        r.start_bytes,
        r.len_bytes,
        r.output.display()
    )?;
    if let Some(map) = r.mapfile {
        writeln!(w, "mapfile: {} (only rescued areas read)", map.display())?;
    }
    writeln!(w, "bytes written: {} ({})", r.bytes, human_size(r.bytes))?;
    for d in r.digests {
        writeln!(w, "{:<8}{}", format!("{}:", d.alg), d.hex)?;
    }
    if r.unreadable.is_empty() {
        writeln!(w, "unreadable: none")?;
    } else {
        writeln!(
            w,
            "unreadable: {} bytes in {} ranges, filled with {:#04x}:",
            r.unreadable_bytes,
            r.unreadable.len(),
            r.fill
        )?;
        for e in &r.unreadable {
            writeln!(
                w,
                "  partition offset {:#x}, {} bytes ({}) = disk offset {:#x} ({})",
                e.offset,
                e.len,
                sectors(e.offset, e.len, r.sector_size),
                e.disk_offset,
                sectors(e.disk_offset, e.len, r.sector_size)
            )?;
        }
    }
    if let Some(map) = r.bad_map {
        writeln!(w, "bad-area map: {}", map.display())?;
    }
    Ok(())
}
