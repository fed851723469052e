//! `platter acquire`, `platter verify` and `platter verify-log`: thin
//! front ends over `platter-acquire`.
//!
//! Exit status: `acquire` 0 when every sector was read, 3 when some were
//! unreadable and filled (the report lists them), 1 on error (a full output
//! disk included), on SIGINT/SIGTERM (the mapfile and log are saved: run
//! again with `--resume`) and when `--verify` found source ranges that now
//! read differently (the report lists them); `verify` and `verify-log` 0
//! when everything matches, 1 on any mismatch.

pub mod args;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use platter_acquire::{
    AcquireOptions, AcquireReport, FillPattern, ImageVerify, OutputFormat, OutputTarget, Progress,
    acquire as run_acquire, check_chain, read_document, verify_against_digests, verify_against_log,
};
use platter_core::CaseInfo;
use platter_core::size::human_size;

use crate::args::{GlobalOpts, exit};
use crate::info::{print_json, print_report};
use crate::output::Output;
use crate::progress::bytes_bar;
use crate::rescue::command_line;

/// The progress bar, showing the pass and the bad-sector count.
struct Bar {
    bar: ProgressBar,
    sector: u64,
    pass: std::sync::Mutex<String>,
}

impl Progress for Bar {
    fn phase(&self, name: &str, total_bytes: u64) {
        *self.pass.lock().unwrap_or_else(|e| e.into_inner()) = name.to_string();
        self.bar.set_length(total_bytes);
        self.bar.set_position(0);
        self.bar.set_message(name.to_string());
    }
    fn advance(&self, done_bytes: u64) {
        self.bar.set_position(done_bytes);
    }
    fn bad_bytes(&self, bytes: u64) {
        let pass = self.pass.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.bar.set_message(format!(
            "{pass} | bad {} sectors",
            bytes.div_ceil(self.sector)
        ));
    }
}

/// `platter acquire`.
pub fn acquire(g: &GlobalOpts, a: &args::AcquireArgs) -> anyhow::Result<u8> {
    // First of all, so that a signal during a slow open of a failing disk
    // also stops cleanly (at the first block) instead of killing us.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install a signal handler")?;
    }
    let open_opts = crate::open_options(g);
    if a.set_readonly {
        platter_core::sys::set_block_read_only(&a.source)
            .with_context(|| format!("--set-readonly on {}", a.source.display()))?;
    }
    // The global --mapfile is this acquisition's mapfile, not a way to
    // read the source: open the source plainly.
    let opened = platter_open::open(&a.source, &open_opts).context("cannot open the source")?;
    let opts = AcquireOptions {
        block_size: usize::try_from(a.block_size).unwrap_or(usize::MAX),
        sector_size: a.sector_size,
        algs: a.hash.0.clone(),
        hash_window: a.hash_window,
        fill: FillPattern::parse(&a.fill)?,
        retries: a.retries,
        reverse: a.reverse,
        sparse: a.sparse,
        split: a.split,
        format: match a.format {
            args::FormatArg::Raw => OutputFormat::Raw,
            args::FormatArg::E01 => OutputFormat::E01,
        },
        e01_compression: match a.compression {
            args::CompressionArg::None => platter_acquire::E01Compression::None,
            args::CompressionArg::Fast => platter_acquire::E01Compression::Fast,
            args::CompressionArg::Best => platter_acquire::E01Compression::Best,
        },
        mapfile: g.mapfile.clone(),
        resume: a.resume,
        force: a.force,
        verify: a.verify,
        case: CaseInfo {
            case_number: a.case.clone(),
            evidence_number: a.evidence.clone(),
            examiner: a.examiner.clone(),
            description: a.description.clone(),
            notes: a.notes.clone(),
        },
        command_line: command_line(),
        tool: format!("platter {}", env!("CARGO_PKG_VERSION")),
        log_base: a.log_base.clone(),
        ..AcquireOptions::default()
    };
    let to_stdout = a.output.as_os_str() == "-";
    let target = if to_stdout {
        let out = Output::open(&opened, &a.output, false, "image")?;
        OutputTarget::Stream(
            out.file()
                .try_clone()
                .context("cannot duplicate standard output")?,
        )
    } else {
        OutputTarget::Path(a.output.clone())
    };
    let sector = u64::from(a.sector_size.unwrap_or(opened.source.sector_size().logical)).max(1);
    let bar = Bar {
        bar: bytes_bar(opened.source.len(), g.quiet, "copy".into()),
        sector,
        pass: std::sync::Mutex::new("copy".into()),
    };
    let result = run_acquire(&opened, target, &opts, &bar, &stop);
    bar.bar.finish_and_clear();
    let report = result
        .with_context(|| format!("acquiring {} to {}", a.source.display(), a.output.display()))?;
    print_report(&report, a.json, to_stdout, write_report)?;
    if let Some(v) = report.verify.as_ref().filter(|v| !v.mismatches.is_empty()) {
        let first = &v.mismatches[0];
        eprintln!(
            "platter: error: --verify: {} range(s) of {} read differently from what was written to {}, the first at offset {:#x} length {:#x}",
            v.mismatches.len(),
            report.source.display(),
            report
                .outputs
                .first()
                .map_or_else(String::new, |o| o.display().to_string()),
            first.offset,
            first.len
        );
        return Ok(exit::ERROR);
    }
    Ok(if report.bad_ranges.is_empty() {
        exit::OK
    } else {
        exit::UNREADABLE
    })
}

fn write_report(w: &mut dyn Write, r: &AcquireReport) -> io::Result<()> {
    writeln!(
        w,
        "source:       {} ({}, {} bytes, {}-byte sectors)",
        r.source.display(),
        human_size(r.size_bytes),
        r.size_bytes,
        r.sector_size
    )?;
    for o in &r.outputs {
        writeln!(w, "output:       {}", o.display())?;
    }
    if let Some(m) = &r.mapfile {
        writeln!(w, "mapfile:      {}", m.display())?;
    }
    for p in &r.passes {
        writeln!(
            w,
            "pass:         {:<20} {:>8.2} s  {:>10} read  {:>10}/s  {} errors",
            p.name,
            p.seconds,
            human_size(p.bytes_read),
            human_size(p.bytes_per_second as u64),
            p.read_errors
        )?;
    }
    for d in &r.digests.image {
        writeln!(w, "{:<13} {}", format!("{}:", d.alg), d.hex)?;
    }
    if r.hashed_from_output {
        writeln!(
            w,
            "              (hashed from the final output, read back after the rescue passes)"
        )?;
    }
    if let Some(wb) = r.digests.window_bytes {
        writeln!(
            w,
            "windows:      {} of {}",
            r.digests.windows.len(),
            human_size(wb)
        )?;
    }
    writeln!(w, "good ranges:  {}", r.digests.good_ranges.len())?;
    writeln!(
        w,
        "bad sectors:  {} in {} ranges",
        r.bad_sectors,
        r.bad_ranges.len()
    )?;
    for b in r.bad_ranges.iter().take(20) {
        writeln!(
            w,
            "  bad:        offset {:#x} length {:#x}",
            b.offset, b.len
        )?;
    }
    if r.bad_ranges.len() > 20 {
        writeln!(
            w,
            "  …           {} more in the log",
            r.bad_ranges.len() - 20
        )?;
    }
    if let Some(v) = &r.verify {
        writeln!(
            w,
            "verify:       {} compared, {} mismatching ranges",
            human_size(v.bytes_compared),
            v.mismatches.len()
        )?;
        for m in v.mismatches.iter().take(20) {
            writeln!(
                w,
                "  MISMATCH    offset {:#x} length {:#x}",
                m.offset, m.len
            )?;
        }
        if v.mismatches.len() > 20 {
            writeln!(
                w,
                "  …           {} more in the log",
                v.mismatches.len() - 20
            )?;
        }
    }
    if let Some((json, txt)) = &r.log {
        writeln!(w, "log:          {} and {}", json.display(), txt.display())?;
    }
    if let Some(h) = &r.chain_head {
        writeln!(w, "chain head:   {h}")?;
    }
    Ok(())
}

/// The log to verify `image` against when `--log` is not given.
fn default_log(image: &Path) -> Option<PathBuf> {
    let mut cands = vec![platter_acquire::log_paths(image).0];
    let s = image.to_string_lossy();
    if let Some(base) = s.strip_suffix(".001") {
        cands.push(platter_acquire::log_paths(Path::new(base)).0);
    }
    cands.into_iter().find(|p| p.exists())
}

/// `platter verify`.
pub fn verify(g: &GlobalOpts, a: &args::VerifyArgs) -> anyhow::Result<u8> {
    let opened = crate::info::open_source(g, &a.image)?;
    let src = &*opened.source;
    let bar = bytes_bar(src.len(), g.quiet, "verify".into());
    let progress = |d: u64| bar.set_position(d);
    let stored: Vec<(String, String)> = opened
        .metadata
        .stored_digests
        .iter()
        .map(|d| (d.algorithm.clone(), d.hex.clone()))
        .collect();
    let log = a.log.clone().or_else(|| {
        if stored.is_empty() {
            default_log(&a.image)
        } else {
            None
        }
    });
    let result = match &log {
        Some(path) => {
            let doc = read_document(path)?;
            verify_against_log(src, &doc, &path.display().to_string(), &progress)
        }
        None if !stored.is_empty() => verify_against_digests(src, &stored, &progress),
        None => bail!(
            "no acquisition log for {}: give --log LOG.json (looked for {})",
            a.image.display(),
            platter_acquire::log_paths(&a.image).0.display()
        ),
    };
    bar.finish_and_clear();
    let v = result.with_context(|| format!("verifying {}", a.image.display()))?;
    let mut out = io::stdout().lock();
    if a.json {
        print_json(&mut out, &v)?;
    } else {
        write_verify(&mut out, &a.image, log.as_deref(), &v)?;
    }
    Ok(if v.ok { exit::OK } else { exit::ERROR })
}

fn write_verify(
    w: &mut dyn Write,
    image: &Path,
    log: Option<&Path>,
    v: &ImageVerify,
) -> io::Result<()> {
    let mark = |ok: bool| if ok { "ok" } else { "MISMATCH" };
    writeln!(w, "image:        {} ({} bytes)", image.display(), v.bytes)?;
    match log {
        Some(l) => writeln!(w, "against:      {} ({})", v.against, l.display())?,
        None => writeln!(w, "against:      {}", v.against)?,
    }
    if let Some(e) = v.expected_bytes {
        if e != v.bytes {
            writeln!(w, "size:         MISMATCH: the log records {e} bytes")?;
        }
    }
    for d in &v.image {
        writeln!(
            w,
            "{:<13} {} {}",
            format!("{}:", d.alg),
            d.actual,
            mark(d.ok)
        )?;
        if !d.ok {
            writeln!(w, "              expected {}", d.expected)?;
        }
    }
    for (what, list) in [("window", &v.windows), ("good range", &v.good_ranges)] {
        let bad = list.iter().filter(|r| !r.ok).count();
        if !list.is_empty() {
            writeln!(
                w,
                "{:<13} {} checked, {} mismatching",
                format!("{what}s:"),
                list.len(),
                bad
            )?;
        }
        for r in list.iter().filter(|r| !r.ok) {
            writeln!(
                w,
                "  MISMATCH    {what} offset {:#x} length {:#x}",
                r.offset, r.len
            )?;
        }
    }
    if let Some(c) = v.chain_ok {
        writeln!(
            w,
            "log chain:    {}",
            if c {
                "ok"
            } else {
                "BROKEN (run platter verify-log)"
            }
        )?;
    }
    writeln!(w, "result:       {}", if v.ok { "ok" } else { "MISMATCH" })
}

/// `platter verify-log`.
pub fn verify_log(_g: &GlobalOpts, a: &args::VerifyLogArgs) -> anyhow::Result<u8> {
    let doc = read_document(&a.log)?;
    let mut report = check_chain(&doc);
    if let Some(h) = &a.head {
        if !h.eq_ignore_ascii_case(&report.head) {
            report.problems.push(platter_acquire::ChainProblem {
                record: report.records.saturating_sub(1),
                reason: format!(
                    "the chain head is {}, not the {h} noted in the case file",
                    report.head
                ),
            });
        }
    }
    let mut out = io::stdout().lock();
    if a.json {
        print_json(&mut out, &report)?;
    } else {
        writeln!(out, "log:          {}", a.log.display())?;
        writeln!(out, "records:      {}", report.records)?;
        writeln!(out, "chain head:   {}", report.head)?;
        for p in &report.problems {
            writeln!(out, "PROBLEM:      record {}: {}", p.record, p.reason)?;
        }
        writeln!(
            out,
            "result:       {}",
            if report.problems.is_empty() {
                "ok: no record was edited, removed or reordered"
            } else {
                "TAMPERED or incomplete"
            }
        )?;
    }
    Ok(if report.problems.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    })
}
