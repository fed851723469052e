//! `platter parts extract`: copy one partition to a raw file (or standard
//! output) while hashing it.
//!
//! Safety rules for the output, checked before anything is opened for
//! writing and again on the open file:
//! - never the source, one of its segments, or a block device overlapping it,
//!   even with `--force`;
//! - an existing output only with `--force` (else it is created with
//!   `O_CREAT|O_EXCL`);
//! - never raw bytes to a terminal.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platter_core::Extent;
use platter_core::size::human_size;
use platter_hash::{CopyOptions, CopyReport, Digest, copy_hashed};
use serde::Serialize;

use crate::args::{GlobalOpts, PartsExtractArgs, exit};
use crate::info::{open_source, partition_table, print_json};
use crate::progress::bytes_bar;

/// What `platter parts extract --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct ExtractReport<'a> {
    source: &'a Path,
    partition: u32,
    start_bytes: u64,
    len_bytes: u64,
    output: &'a Path,
    bytes: u64,
    digests: &'a [Digest],
    unreadable: &'a [Extent],
    unreadable_bytes: u64,
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
    // Whether the output file is ours (created by this run), so a failed
    // copy may remove it.
    let created = !to_stdout && !a.force;
    let mut file = if to_stdout {
        open_stdout(&opened)?
    } else {
        open_output(&opened, &a.output, a.force)?
    };
    let out_name: PathBuf = if to_stdout {
        PathBuf::from("<stdout>")
    } else {
        a.output.clone()
    };

    let opts = CopyOptions {
        block_size: a.block_size.0,
        algs: a.hash.0.clone(),
        ..CopyOptions::default()
    };
    let bar = bytes_bar(
        part.len_bytes,
        g.quiet,
        format!("partition {}", a.partition),
    );
    let copied = copy_hashed(&window, Some(&mut file), &opts, &|done| {
        bar.set_position(done)
    })
    .map_err(anyhow::Error::new)
    .and_then(|report| {
        if !to_stdout {
            file.sync_all()
                .with_context(|| format!("cannot flush {} to disk", out_name.display()))?;
        }
        Ok(report)
    });
    bar.finish_and_clear();
    let report = match copied {
        Ok(report) => report,
        Err(err) => {
            drop(file);
            // A file we created holds a partial copy with no digest: remove
            // it so it cannot be mistaken for the partition.
            let removed = created && fs::remove_file(&a.output).is_ok();
            let what = format!(
                "extracting partition {} of {} to {}{}",
                a.partition,
                opened.path.display(),
                out_name.display(),
                if removed {
                    " (the partial output was removed)"
                } else {
                    ""
                }
            );
            return Err(err.context(what));
        }
    };

    let json = ExtractReport {
        source: &opened.path,
        partition: a.partition,
        start_bytes: part.start_bytes,
        len_bytes: part.len_bytes,
        output: &out_name,
        bytes: report.bytes,
        digests: &report.digests,
        unreadable: &report.unreadable,
        unreadable_bytes: report.unreadable_bytes(),
    };
    // With `-o -` the data owns stdout; the report goes to stderr.
    let mut sink: Box<dyn Write> = if to_stdout {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    if a.json {
        print_json(&mut sink, &json)?;
    } else {
        write_human(&mut sink, &json, &report)?;
    }
    sink.flush()?;
    Ok(if report.unreadable.is_empty() {
        exit::OK
    } else {
        exit::UNREADABLE
    })
}

fn write_human(w: &mut dyn Write, r: &ExtractReport<'_>, report: &CopyReport) -> io::Result<()> {
    writeln!(
        w,
        "partition {} of {} (offset {}, {} bytes) -> {}",
        r.partition,
        r.source.display(),
        r.start_bytes,
        r.len_bytes,
        r.output.display()
    )?;
    writeln!(w, "bytes written: {} ({})", r.bytes, human_size(r.bytes))?;
    for d in &report.digests {
        writeln!(w, "{:<8}{}", format!("{}:", d.alg), d.hex)?;
    }
    if report.unreadable.is_empty() {
        writeln!(w, "unreadable: none")?;
    } else {
        writeln!(
            w,
            "unreadable: {} bytes in {} ranges, filled with zeros:",
            r.unreadable_bytes,
            report.unreadable.len()
        )?;
        for e in &report.unreadable {
            writeln!(
                w,
                "  partition offset {:#x}, {} bytes (disk offset {:#x})",
                e.offset,
                e.len,
                r.start_bytes.saturating_add(e.offset)
            )?;
        }
    }
    Ok(())
}

/// Standard output as the destination: refused when it is a terminal or
/// when it is the source itself (`>> disk.img`).
/// It is duplicated as a `File` so large writes go out unbuffered.
fn open_stdout(opened: &platter_open::Opened) -> anyhow::Result<File> {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        bail!(
            "refusing to write raw partition data to a terminal: redirect standard output or use -o FILE"
        );
    }
    let fd = stdout
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate standard output")?;
    let file = File::from(fd);
    opened.check_output_file(Path::new("<stdout>"), &file)?;
    Ok(file)
}

/// Opens `path` for writing, following the rules in the module docs.
fn open_output(opened: &platter_open::Opened, path: &Path, force: bool) -> anyhow::Result<File> {
    // Before opening anything: opening may create or truncate.
    opened.check_output_path(path)?;
    if !force {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() {
                    anyhow::anyhow!(
                        "{} is a directory: give the path of the file to write",
                        path.display()
                    )
                } else if e.kind() == io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!(
                        "{} already exists: use --force to overwrite it, or choose another output",
                        path.display()
                    )
                } else {
                    anyhow::Error::new(e)
                        .context(format!("cannot create output {}", path.display()))
                }
            })?;
        return Ok(file);
    }
    // `--force`: open without truncating, check again what was actually
    // opened (a symlink may have been swapped in), then truncate.
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open output {}", path.display()))?;
    opened.check_output_file(path, &file)?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot inspect output {}", path.display()))?;
    if meta.is_file() {
        file.set_len(0)
            .with_context(|| format!("cannot truncate output {}", path.display()))?;
    }
    Ok(file)
}
