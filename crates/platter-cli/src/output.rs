//! Writing a copy of a source to a file or standard output, shared by the
//! commands that copy (`parts extract`, `raid assemble`, `vdisk extract`).
//!
//! Safety rules for the output, checked before anything is opened for
//! writing and again on the open file:
//! - never the source, one of its files (segments, members, mapfiles) or a
//!   block device overlapping it, even with `--force`;
//! - an existing output only with `--force` (else it is created with
//!   `O_CREAT|O_EXCL`);
//! - never raw bytes to a terminal.
//!
//! A copy that fails removes the output file it created, so a partial copy
//! cannot be mistaken for a complete one.
//!
//! Speed: a file or device output is synced in the background every
//! [`FLUSH_EVERY_BYTES`] while the copy runs, so the disk writes while the
//! hashers still work and the final sync is short; `--sparse` finds zero
//! pages with a vectorised scan and writes only the runs of data.

use std::fs::{self, File};
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use platter_core::Source;
use platter_hash::{CopyOptions, CopyReport, copy_hashed};
use platter_open::Opened;

/// An open output: a file, or standard output for `-`.
#[derive(Debug)]
pub struct Output {
    file: File,
    path: PathBuf,
    /// The file was created by this run (so a failed copy may remove it).
    created: bool,
    /// The output is standard output (reports then go to standard error).
    pub to_stdout: bool,
}

impl Output {
    /// Opens `path` (`-` for standard output) following the rules in the
    /// module docs, refusing anything that is part of `source`.
    pub fn open(source: &Opened, path: &Path, force: bool, what: &str) -> anyhow::Result<Output> {
        let to_stdout = path.as_os_str() == "-";
        let file = if to_stdout {
            open_stdout(source, what)?
        } else {
            open_output(source, path, force)?
        };
        Ok(Output {
            file,
            path: path.to_path_buf(),
            created: !to_stdout && !force,
            to_stdout,
        })
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The name to print: the path, or `<stdout>`.
    pub fn name(&self) -> PathBuf {
        if self.to_stdout {
            PathBuf::from("<stdout>")
        } else {
            self.path.clone()
        }
    }

    /// Closes the output and removes the file if this run created it.
    /// Returns true when it was removed.
    pub fn discard(self) -> bool {
        let Output {
            file,
            path,
            created,
            ..
        } = self;
        drop(file);
        created && fs::remove_file(&path).is_ok()
    }

    /// Copies `src` into the output while hashing it, with a progress bar.
    /// On failure the partial output is removed (when this run created it)
    /// and the error says so, after `what` (e.g. "extracting partition 1
    /// of disk.img").
    pub fn copy_from(
        self,
        src: &dyn Source,
        opts: &CopyOptions,
        bar: &ProgressBar,
        what: impl FnOnce() -> String,
    ) -> anyhow::Result<CopyReport> {
        self.copy_with(src, opts, bar, what, false)
    }

    /// [`copy_from`](Self::copy_from), but runs of zeros are skipped with a
    /// seek instead of written, so the output file is sparse (`--sparse`).
    /// Standard output and devices are written in full.
    pub fn copy_sparse_from(
        self,
        src: &dyn Source,
        opts: &CopyOptions,
        bar: &ProgressBar,
        what: impl FnOnce() -> String,
    ) -> anyhow::Result<CopyReport> {
        // Only a regular file (emptied when opened) can be left with holes.
        let sparse = !self.to_stdout && self.file.metadata().is_ok_and(|m| m.is_file());
        self.copy_with(src, opts, bar, what, sparse)
    }

    fn copy_with(
        self,
        src: &dyn Source,
        opts: &CopyOptions,
        bar: &ProgressBar,
        what: impl FnOnce() -> String,
        sparse: bool,
    ) -> anyhow::Result<CopyReport> {
        let name = self.name();
        let progress = |done| bar.set_position(done);
        let file = &self.file;
        // Standard output is never synced (it may be a pipe); a file or a
        // device is flushed in the background while the copy runs, so the
        // final sync has little left to do.
        let flush_early = !self.to_stdout;
        let copied = thread::scope(|scope| {
            let (nudge, flusher) = if flush_early {
                let (tx, rx) = sync_channel::<()>(1);
                let handle = thread::Builder::new()
                    .name("platter-flusher".into())
                    .spawn_scoped(scope, move || flush_on_nudge(file, rx))
                    .ok();
                (handle.is_some().then_some(tx), handle)
            } else {
                (None, None)
            };
            let copied = if sparse {
                let mut w = Nudging::new(SparseWriter { file, pos: 0 }, nudge);
                copy_hashed(src, Some(&mut w), opts, &progress).and_then(|r| {
                    // A trailing hole still counts towards the length.
                    let end = w.inner.pos;
                    file.set_len(end).map_err(|e| platter_hash::Error::Write {
                        offset: end,
                        source: e,
                    })?;
                    Ok(r)
                })
            } else {
                let mut w = Nudging::new(file, nudge);
                copy_hashed(src, Some(&mut w), opts, &progress)
            };
            // The writer dropped its end of the channel: the flusher ends.
            let flushed = flusher.map_or(Ok(()), |h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            copied.map_err(anyhow::Error::new).and_then(|report| {
                // An error seen by an early sync is not reported again by
                // the final one (the kernel reports it once per open file).
                flushed.with_context(|| format!("cannot flush {} to disk", name.display()))?;
                if flush_early {
                    file.sync_all()
                        .with_context(|| format!("cannot flush {} to disk", name.display()))?;
                }
                Ok(report)
            })
        });
        bar.finish_and_clear();
        match copied {
            Ok(report) => Ok(report),
            Err(err) => {
                let removed = self.discard();
                let what = format!(
                    "{} to {}{}",
                    what(),
                    name.display(),
                    if removed {
                        " (the partial output was removed)"
                    } else {
                        ""
                    }
                );
                Err(err.context(what))
            }
        }
    }
}

/// Output bytes between two background flushes: the disk writes the copy
/// while the hashers still work, instead of all of it at the end.
const FLUSH_EVERY_BYTES: u64 = 64 << 20;

/// The flusher thread: syncs `file`'s data each time it is nudged, until
/// the writer hangs up. Returns the first error, which the caller must
/// report (the kernel reports a write-back error only once).
fn flush_on_nudge(file: &File, nudges: Receiver<()>) -> io::Result<()> {
    for () in nudges {
        file.sync_data()?;
    }
    Ok(())
}

/// A writer that nudges the flusher every [`FLUSH_EVERY_BYTES`] without
/// ever waiting for it (a nudge sent while a flush runs is dropped).
struct Nudging<W> {
    inner: W,
    nudge: Option<SyncSender<()>>,
    since_nudge: u64,
}

impl<W> Nudging<W> {
    fn new(inner: W, nudge: Option<SyncSender<()>>) -> Self {
        Nudging {
            inner,
            nudge,
            since_nudge: 0,
        }
    }
}

impl<W: io::Write> io::Write for Nudging<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.since_nudge += n as u64;
        if self.since_nudge >= FLUSH_EVERY_BYTES {
            self.since_nudge = 0;
            if let Some(tx) = &self.nudge {
                if let Err(TrySendError::Disconnected(())) = tx.try_send(()) {
                    // The flusher stopped on an error; it is reported at the end.
                    self.nudge = None;
                }
            }
        }
        Ok(n)
    }

    /// The end of the copy: the tail starts on its way to the disk while
    /// the hashers finish.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()?;
        if let Some(tx) = &self.nudge {
            let _ = tx.try_send(());
        }
        Ok(())
    }
}

/// Zero runs shorter than this are written; longer ones (aligned to it)
/// become holes. The page size: what a file system can leave unallocated.
const HOLE_GRANULE_BYTES: usize = 4096;

/// Writes to a file at increasing offsets, seeking over all-zero
/// [`HOLE_GRANULE_BYTES`] pieces so they become holes (the file must start
/// empty).
struct SparseWriter<'a> {
    file: &'a File,
    pos: u64,
}

impl io::Write for SparseWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        // Granules are aligned to the output offset, so holes land on
        // page boundaries whatever the sizes of the writes.
        let mut at = 0usize;
        let mut run: Option<usize> = None; // start of the pending data run
        while at < buf.len() {
            let into = (self.pos + at as u64) % HOLE_GRANULE_BYTES as u64;
            let end = (at + HOLE_GRANULE_BYTES - into as usize).min(buf.len());
            let zero = is_zero(&buf[at..end]);
            match (zero, run) {
                (false, None) => run = Some(at),
                (true, Some(start)) => {
                    self.file
                        .write_all_at(&buf[start..at], self.pos + start as u64)?;
                    run = None;
                }
                _ => {}
            }
            at = end;
        }
        if let Some(start) = run {
            self.file
                .write_all_at(&buf[start..], self.pos + start as u64)?;
        }
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// True when every byte of `buf` is zero. Data is usually told apart in
/// its first bytes; zeros are checked in wide words the compiler turns
/// into vector instructions.
fn is_zero(buf: &[u8]) -> bool {
    let (head, rest) = buf.split_at(buf.len().min(16));
    if head.iter().any(|&b| b != 0) {
        return false;
    }
    let mut words = rest.chunks_exact(64);
    let all_words = words
        .by_ref()
        .all(|w| w.iter().fold(0u8, |acc, &b| acc | b) == 0);
    all_words && words.remainder().iter().all(|&b| b == 0)
}

/// True when `path` exists and is the file described by `meta`.
pub fn same_file(path: &Path, meta: &fs::Metadata) -> bool {
    fs::metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}

/// Fails when `other` (a mapfile or recipe to write, named by `flag`)
/// names the same file as the open output `out`.
pub fn check_not_output(flag: &str, other: &Path, out: &File) -> anyhow::Result<()> {
    if out.metadata().is_ok_and(|o| same_file(other, &o)) {
        bail!(
            "{flag} {} is the output itself: give it another name",
            other.display()
        );
    }
    Ok(())
}

/// Standard output as the destination: refused when it is a terminal or
/// when it is the source itself (`>> disk.img`).
/// It is duplicated as a `File` so large writes go out unbuffered.
fn open_stdout(opened: &Opened, what: &str) -> anyhow::Result<File> {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        bail!(
            "refusing to write raw {what} data to a terminal: redirect standard output or use -o FILE"
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
fn open_output(opened: &Opened, path: &Path, force: bool) -> anyhow::Result<File> {
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

/// Writes a small text file (a recipe) next to its final name and renames
/// it into place, so a reader never sees half of it. Refuses to replace an
/// existing file unless `force`, and refuses anything that is part of
/// `source`.
pub fn write_small_file(
    source: &Opened,
    path: &Path,
    text: &str,
    force: bool,
    flag: &str,
) -> anyhow::Result<()> {
    source.check_output_path(path)?;
    write_plain_file(path, text, force, flag)
}

/// [`write_small_file`] for output that reads no source (a picture).
pub fn write_plain_file(path: &Path, text: &str, force: bool, flag: &str) -> anyhow::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!(
            "{} is a directory: give the path of the file to write",
            path.display()
        ),
        Ok(_) if !force => bail!(
            "{} already exists: use --force to overwrite it, or choose another {flag}",
            path.display()
        ),
        _ => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile_in(&dir, path)?;
    use std::io::Write;
    let result = tmp
        .1
        .write_all(text.as_bytes())
        .and_then(|()| tmp.1.sync_all())
        .with_context(|| format!("cannot write {}", tmp.0.display()))
        .and_then(|()| {
            fs::rename(&tmp.0, path)
                .with_context(|| format!("cannot rename {} to {}", tmp.0.display(), path.display()))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp.0);
    }
    result
}

/// A new, exclusive temporary file in `dir` named after `target`.
fn tempfile_in(dir: &Path, target: &Path) -> anyhow::Result<(PathBuf, File)> {
    let base = target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    for i in 0..100u32 {
        let p = dir.join(format!(".{base}.{}.{i}.tmp", std::process::id()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot create a temporary file in {}",
                    dir.display()
                )));
            }
        }
    }
    bail!("cannot create a temporary file in {}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn is_zero_finds_a_single_set_byte_anywhere() {
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 4095, 4096, 4097, 10_000] {
            let mut buf = vec![0u8; len];
            assert!(is_zero(&buf), "len {len}");
            for at in [0, len / 3, len / 2, len.saturating_sub(1)] {
                if at < len {
                    buf[at] = 0x40;
                    assert!(!is_zero(&buf), "len {len}, byte {at}");
                    buf[at] = 0;
                }
            }
        }
    }

    /// Allocated bytes of `file` (st_blocks is in 512-byte units).
    fn allocated(file: &File) -> u64 {
        file.metadata().unwrap().blocks() * 512
    }

    #[test]
    fn sparse_writer_keeps_content_and_leaves_zero_pages_as_holes() {
        let g = HOLE_GRANULE_BYTES;
        // Data, 16 zero pages, a data byte in the middle of a page, zeros
        // to an unaligned end.
        let mut data = vec![0u8; 40 * g + 123];
        data[..g + 10].fill(0xaa);
        data[30 * g + 77] = 1;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = File::create(&path).unwrap();
        let mut w = SparseWriter {
            file: &file,
            pos: 0,
        };
        // Odd-sized writes: granules follow the output offset, not them.
        for piece in data.chunks(3 * g + 5) {
            w.write_all(piece).unwrap();
        }
        file.set_len(w.pos).unwrap();
        file.sync_all().unwrap();
        assert_eq!(fs::read(&path).unwrap(), data);
        // Three data pages (two at the start, one at 30) out of 41.
        let used = allocated(&file);
        assert!(used <= 4 * g as u64, "{used} bytes allocated");
    }

    #[test]
    fn nudging_asks_for_a_flush_every_so_many_bytes_and_never_waits() {
        let (tx, rx) = sync_channel::<()>(1);
        let mut w = Nudging::new(io::sink(), Some(tx));
        let piece = vec![0u8; 1 << 20];
        let pieces = 3 * FLUSH_EVERY_BYTES / (1 << 20);
        for _ in 0..pieces {
            // Nobody receives: a full channel must not block the writer.
            w.write_all(&piece).unwrap();
        }
        assert_eq!(
            rx.try_iter().count(),
            1,
            "one nudge waits, the rest dropped"
        );
        w.write_all(&vec![0u8; FLUSH_EVERY_BYTES as usize]).unwrap();
        assert_eq!(rx.try_iter().count(), 1);
        drop(rx);
        // A flusher that has quit is no reason to fail the copy.
        w.write_all(&vec![0u8; FLUSH_EVERY_BYTES as usize]).unwrap();
        assert!(w.nudge.is_none());
    }

    #[test]
    fn flusher_syncs_until_the_writer_hangs_up() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("out")).unwrap();
        let (tx, rx) = sync_channel::<()>(1);
        thread::scope(|s| {
            let h = s.spawn(|| flush_on_nudge(&file, rx));
            tx.send(()).unwrap();
            tx.send(()).unwrap();
            drop(tx);
            h.join().unwrap().unwrap();
        });
    }
}
