//! [`acquire`]: checks, output opening, the passes, hashing, verification
//! and the evidence log.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use platter_core::mapfile::{BlockStatus, Mapfile};
use platter_core::{FileId, file_id};
use platter_hash::HashAlg;
use platter_open::Opened;
use serde::Serialize;
use serde_json::json;

use crate::e01::EwfSink;
use crate::error::{Error, Result};
use crate::hashing::{ImageDigests, hash_reader};
use crate::log::{END_EVENT, EvidenceLog, log_paths};
use crate::options::{AcquireOptions, OutputFormat, OutputTarget};
use crate::progress::Progress;
use crate::rescue::{PassStat, Rescue};
use crate::sequential::{RawStream, stream_copy};
use crate::sink::RawOutput;

/// A byte range of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// What `--verify` found when it re-read the source's good ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceVerify {
    /// Bytes re-read from the source and compared.
    pub bytes_compared: u64,
    /// Ranges (to the sector) where the source now reads differently, or
    /// no longer reads.
    pub mismatches: Vec<ByteRange>,
}

/// The result of an acquisition.
#[derive(Debug, Clone, Serialize)]
pub struct AcquireReport {
    /// The source path.
    pub source: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The sector size used for trimming and scraping.
    pub sector_size: u32,
    /// The files written (`<stdout>` for a stream).
    pub outputs: Vec<PathBuf>,
    /// The mapfile, if one was kept.
    pub mapfile: Option<PathBuf>,
    /// Image, window and good-range digests.
    pub digests: ImageDigests,
    /// Whether the digests came from reading the output back (after a
    /// resumed, reversed or multi-pass run) instead of from pass 1.
    pub hashed_from_output: bool,
    /// Unreadable ranges, filled in the output.
    pub bad_ranges: Vec<ByteRange>,
    /// Unreadable sectors (partial sectors count as one).
    pub bad_sectors: u64,
    /// Passes, in order.
    pub passes: Vec<PassStat>,
    /// The `--verify` result.
    pub verify: Option<SourceVerify>,
    /// `OUT.log.json`, `OUT.log.txt` when written.
    pub log: Option<(PathBuf, PathBuf)>,
    /// SHA-256 of the log's last record: write it into the case notes.
    pub chain_head: Option<String>,
}

/// Images `source` to `target`; see the crate docs. `stop` is polled
/// between reads (set it from SIGINT/SIGTERM): the mapfile and log are then
/// saved and [`Error::Interrupted`] returned.
pub fn acquire(
    source: &Opened,
    target: OutputTarget,
    opts: &AcquireOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<AcquireReport> {
    let src = &*source.source;
    let sector = opts.sector_size.unwrap_or(src.sector_size().logical);
    opts.check(sector)?;
    let stream = matches!(target, OutputTarget::Stream(_));
    if stream && (opts.resume || opts.verify || opts.split.is_some() || opts.sparse) {
        return Err(Error::Options(
            "--resume, --verify, --split and --sparse need a file output, not -o -".into(),
        ));
    }
    let e01 = opts.format == OutputFormat::E01;
    if e01 && (stream || opts.resume || opts.verify || opts.sparse || opts.reverse) {
        return Err(Error::Options(
            "--format e01 is written in order to a file: it cannot go to -o -, and --resume, --verify, --sparse and --reverse need --format raw".into(),
        ));
    }
    // E01 stores MD5 and SHA-1: compute them whatever --hash says.
    let mut owned;
    let opts = if e01 {
        owned = opts.clone();
        for alg in [HashAlg::Md5, HashAlg::Sha1] {
            if !owned.algs.contains(&alg) {
                owned.algs.push(alg);
            }
        }
        &owned
    } else {
        opts
    };
    let log_files = match &target {
        OutputTarget::Path(p) => opts.write_log.then(|| log_paths(p)),
        OutputTarget::Stream(_) => opts.log_base.as_deref().map(log_paths),
    };
    let mut log = prepare_log(source, log_files.as_ref(), opts)?;
    let map = prepare_map(source, opts, src.len())?;
    log.append("start", start_record(source, opts, sector, map.as_ref()));

    let res = run(source, target, opts, sector, map, progress, stop, &mut log);
    match res {
        Ok(mut report) => {
            if let Some((json, txt)) = &log_files {
                log.write(json, txt)?;
                report.chain_head = Some(log.head());
                report.log = log_files.clone();
            }
            Ok(report)
        }
        // A refusal (before anything was written) leaves no log behind.
        Err(
            e @ (Error::Exists { .. }
            | Error::OutputIsSource(_)
            | Error::Options(_)
            | Error::MapfileMismatch { .. }),
        ) => Err(e),
        Err(e) => {
            let result = if matches!(e, Error::Interrupted { .. }) {
                "interrupted"
            } else {
                "error"
            };
            log.append(END_EVENT, json!({"result": result, "error": e.to_string()}));
            if let Some((json, txt)) = &log_files {
                let _ = log.write(json, txt);
            }
            Err(e)
        }
    }
}

/// Loads the log to continue (resume) or starts one; refuses to overwrite.
fn prepare_log(
    source: &Opened,
    files: Option<&(PathBuf, PathBuf)>,
    opts: &AcquireOptions,
) -> Result<EvidenceLog> {
    let Some((json, txt)) = files else {
        return Ok(EvidenceLog::new());
    };
    for p in [json, txt] {
        source.check_output_path(p)?;
    }
    if opts.resume && json.exists() {
        return EvidenceLog::load(json);
    }
    if !opts.force && !opts.resume {
        for p in [json, txt] {
            if p.exists() {
                return Err(Error::Exists { path: p.clone() });
            }
        }
    }
    Ok(EvidenceLog::new())
}

/// Loads the mapfile to resume from, or checks a new one may be written.
fn prepare_map(source: &Opened, opts: &AcquireOptions, len: u64) -> Result<Option<Mapfile>> {
    let Some(path) = &opts.mapfile else {
        return Ok(None);
    };
    source.check_output_path(path)?;
    if opts.resume && path.exists() {
        let map = Mapfile::read(path)?;
        if map.size() != len || map.start() != 0 {
            return Err(Error::MapfileMismatch {
                path: path.clone(),
                map_size: map.size(),
                source_size: len,
            });
        }
        return Ok(Some(map));
    }
    if !opts.force && !opts.resume && path.exists() {
        return Err(Error::Exists { path: path.clone() });
    }
    Ok(None)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn start_record(
    source: &Opened,
    opts: &AcquireOptions,
    sector: u32,
    map: Option<&Mapfile>,
) -> serde_json::Value {
    let src = &*source.source;
    let ss = src.sector_size();
    json!({
        "tool": opts.tool,
        "command_line": opts.command_line,
        "host": host_name(),
        "resumed": map.is_some(),
        "source": {
            "path": source.path,
            "format": source.format.name,
            "size_bytes": src.len(),
            "logical_sector_bytes": ss.logical,
            "physical_sector_bytes": ss.physical,
            "device": source.device,
        },
        "case": opts.case,
        "options": {
            "format": opts.format,
            "block_size": opts.block_size,
            "sector_size": sector,
            "hash": opts.algs.iter().map(|a| a.name()).collect::<Vec<_>>(),
            "hash_window": opts.hash_window,
            "fill_hex": opts.fill.bytes().iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "retries": opts.retries,
            "reverse": opts.reverse,
            "sparse": opts.sparse,
            "split": opts.split,
            "mapfile": opts.mapfile,
            "verify": opts.verify,
        },
    })
}

/// Bad (not rescued) ranges of a map, as `(offset, len)`.
fn bad_of(map: &Mapfile) -> Vec<(u64, u64)> {
    map.ranges_with(|s| s != BlockStatus::Finished).collect()
}

fn count_sectors(bad: &[(u64, u64)], sector: u64) -> u64 {
    bad.iter()
        .map(|&(o, l)| (o + l).div_ceil(sector) - o / sector)
        .sum()
}

#[allow(clippy::too_many_arguments)]
fn run(
    source: &Opened,
    target: OutputTarget,
    opts: &AcquireOptions,
    sector: u32,
    loaded: Option<Mapfile>,
    progress: &dyn Progress,
    stop: &AtomicBool,
    log: &mut EvidenceLog,
) -> Result<AcquireReport> {
    let src = &*source.source;
    let len = src.len();
    let sector64 = u64::from(sector);
    let (digests, map, passes, outputs, hashed_from_output, verify) = match target {
        OutputTarget::Stream(file) => {
            let name = PathBuf::from("<stdout>");
            let mut sink = RawStream {
                file,
                name: name.clone(),
            };
            let o = stream_copy(
                src,
                &mut sink,
                opts,
                sector64,
                opts.mapfile.as_deref(),
                stop,
                progress,
            )?;
            (o.digests, o.map, o.passes, vec![name], false, None)
        }
        OutputTarget::Path(base) if opts.format == OutputFormat::E01 => {
            check_map_not_output(
                opts.mapfile.as_deref(),
                &[platter_ewf::first_segment_name(&base)],
            )?;
            let mut sink = EwfSink::create(source, &base, len, sector, opts)?;
            let o = stream_copy(
                src,
                &mut sink,
                opts,
                sector64,
                opts.mapfile.as_deref(),
                stop,
                progress,
            )?;
            let segments = sink.finish(&o.digests.image)?;
            (o.digests, o.map, o.passes, segments, false, None)
        }
        OutputTarget::Path(base) => {
            let planned = match opts.split {
                Some(size) => crate::sink::split_part_paths(&base, len, size),
                None => vec![base.clone()],
            };
            check_map_not_output(opts.mapfile.as_deref(), &planned)?;
            let out = RawOutput::open(source, &base, len, opts.split, opts.force, opts.resume)?;
            check_map_not_output(opts.mapfile.as_deref(), &out.paths())?;
            let mut map = loaded.unwrap_or_else(|| Mapfile::new(len));
            map.command_line = Some(opts.command_line.clone());
            let whole_fresh = map.bytes_with(BlockStatus::NonTried) == len;
            let sparse_skip = opts.sparse && !opts.resume;
            let mut r = Rescue {
                src,
                out: &out,
                map: Mutex::new(map),
                mapfile: opts.mapfile.as_deref(),
                sector: sector64,
                block_size: opts.block_size,
                fill: &opts.fill,
                sparse_skip,
                reverse: opts.reverse,
                stop,
                progress,
                interval: opts.save_interval,
                last_save: Mutex::new(Instant::now()),
                passes: Vec::new(),
            };
            let hasher = (whole_fresh && !opts.reverse)
                .then(|| crate::hashing::ImageHasher::new(&opts.algs, opts.hash_window));
            let streamed = r.copy_pass(hasher)?;
            r.sweep_pass()?;
            r.trim_pass()?;
            r.scrape_pass()?;
            r.retry_passes(opts.retries)?;
            r.fill_bad(sparse_skip)?;
            out.finish()?;
            let map = r.finish_map()?;
            let mut passes = std::mem::take(&mut r.passes);
            let (digests, from_output) = match streamed {
                Some(h) => (h.finish(), false),
                None => {
                    let bad = bad_of(&map);
                    progress.phase("hash output", len);
                    let t0 = Instant::now();
                    let d = hash_reader(
                        len,
                        opts.block_size,
                        &opts.algs,
                        opts.hash_window,
                        (!bad.is_empty()).then_some(&bad[..]),
                        &mut |buf, off| out.read_at(buf, off),
                        &|done| progress.advance(done),
                    )?;
                    passes.push(stat("read-back", t0, len));
                    (d, true)
                }
            };
            let verify = if opts.verify {
                let t0 = Instant::now();
                let v = verify_source(src, &out, &map, opts.block_size, sector64, progress)?;
                passes.push(stat("verify", t0, v.bytes_compared));
                Some(v)
            } else {
                None
            };
            (digests, map, passes, out.paths(), from_output, verify)
        }
    };
    let bad = bad_of(&map);
    let bad_sectors = count_sectors(&bad, sector64);
    let bad_ranges: Vec<ByteRange> = bad
        .iter()
        .map(|&(offset, len)| ByteRange { offset, len })
        .collect();
    for p in &passes {
        log.append("pass", serde_json::to_value(p).unwrap_or_default());
    }
    log.append(
        "hashes",
        json!({
            "bytes": digests.bytes,
            "image": digests.image,
            "hashed_from_output": hashed_from_output,
            "window_bytes": digests.window_bytes,
            "windows": digests.windows,
            "good_ranges": digests.good_ranges,
        }),
    );
    log.append(
        "bad_sectors",
        json!({"sector_size": sector, "count": bad_sectors, "bytes": bad.iter().map(|b| b.1).sum::<u64>(), "ranges": bad_ranges}),
    );
    if let Some(v) = &verify {
        log.append("verify", serde_json::to_value(v).unwrap_or_default());
    }
    log.append(
        END_EVENT,
        json!({"result": end_result(bad.is_empty(), verify.as_ref()),
               "outputs": outputs, "mapfile": opts.mapfile}),
    );
    Ok(AcquireReport {
        source: source.path.clone(),
        size_bytes: len,
        sector_size: sector,
        outputs,
        mapfile: opts.mapfile.clone(),
        digests,
        hashed_from_output,
        bad_ranges,
        bad_sectors,
        passes,
        verify,
        log: None,
        chain_head: None,
    })
}

/// The `result` of the log's `end` record.
fn end_result(no_bad: bool, verify: Option<&SourceVerify>) -> &'static str {
    let mismatch = verify.is_some_and(|v| !v.mismatches.is_empty());
    match (no_bad, mismatch) {
        (true, false) => "complete",
        (false, false) => "complete with unreadable sectors",
        (_, true) => "complete; the source re-read differently (verify mismatch)",
    }
}

fn stat(name: &str, t0: Instant, bytes: u64) -> PassStat {
    let seconds = t0.elapsed().as_secs_f64();
    PassStat {
        name: name.into(),
        seconds,
        bytes_read: bytes,
        bytes_rescued: 0,
        read_errors: 0,
        bytes_per_second: if seconds > 0.0 {
            bytes as f64 / seconds
        } else {
            0.0
        },
    }
}

/// Refuses a mapfile that is the output or one of its parts.
fn check_map_not_output(map: Option<&Path>, parts: &[PathBuf]) -> Result<()> {
    let Some(map) = map else { return Ok(()) };
    let map_id: Option<FileId> = file_id(map)?;
    for p in parts {
        let same = p == map || (map_id.is_some() && file_id(p)? == map_id);
        if same {
            return Err(Error::Options(format!(
                "--mapfile {} is the output {}: give it another name",
                map.display(),
                p.display()
            )));
        }
    }
    Ok(())
}

/// `--verify`: re-reads the source's rescued ranges and compares them with
/// the output, narrowing differences down to the sector.
fn verify_source(
    src: &dyn platter_core::Source,
    out: &RawOutput,
    map: &Mapfile,
    block_size: usize,
    sector: u64,
    progress: &dyn Progress,
) -> Result<SourceVerify> {
    let good: Vec<(u64, u64)> = map.ranges_with(|s| s == BlockStatus::Finished).collect();
    let total: u64 = good.iter().map(|g| g.1).sum();
    progress.phase("verify", total);
    let mut a = vec![0u8; block_size];
    let mut b = vec![0u8; block_size];
    let mut mismatches: Vec<ByteRange> = Vec::new();
    let mut done = 0u64;
    let mut push = |offset: u64, len: u64| match mismatches.last_mut() {
        Some(last) if last.offset + last.len == offset => last.len += len,
        _ => mismatches.push(ByteRange { offset, len }),
    };
    for (pos, len) in good {
        let mut at = pos;
        while at < pos + len {
            let n = (pos + len - at).min(block_size as u64) as usize;
            out.read_at(&mut b[..n], at)?;
            let same = src.read_exact_at(&mut a[..n], at).is_ok() && a[..n] == b[..n];
            if !same {
                let mut s = at;
                while s < at + n as u64 {
                    let e = (s / sector + 1).saturating_mul(sector).min(at + n as u64);
                    let (i, j) = ((s - at) as usize, (e - at) as usize);
                    let ok = src.read_exact_at(&mut a[i..j], s).is_ok() && a[i..j] == b[i..j];
                    if !ok {
                        push(s, e - s);
                    }
                    s = e;
                }
            }
            at += n as u64;
            done += n as u64;
            progress.advance(done);
        }
    }
    Ok(SourceVerify {
        bytes_compared: done,
        mismatches,
    })
}
