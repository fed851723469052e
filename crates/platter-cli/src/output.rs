//! Writing a copy of a source to a file or standard output, shared by the
//! commands that copy (`parts extract`, `raid assemble`).
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

use std::fs::{self, File};
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
        mut self,
        src: &dyn Source,
        opts: &CopyOptions,
        bar: &ProgressBar,
        what: impl FnOnce() -> String,
        sparse: bool,
    ) -> anyhow::Result<CopyReport> {
        let name = self.name();
        let progress = |done| bar.set_position(done);
        let copied = if sparse {
            let mut w = SparseWriter {
                file: &self.file,
                pos: 0,
            };
            copy_hashed(src, Some(&mut w), opts, &progress).and_then(|r| {
                // A trailing hole still counts towards the length.
                self.file
                    .set_len(w.pos)
                    .map_err(|e| platter_hash::Error::Write {
                        offset: w.pos,
                        source: e,
                    })?;
                Ok(r)
            })
        } else {
            copy_hashed(src, Some(&mut self.file), opts, &progress)
        }
        .map_err(anyhow::Error::new)
        .and_then(|report| {
            if !self.to_stdout {
                self.file
                    .sync_all()
                    .with_context(|| format!("cannot flush {} to disk", name.display()))?;
            }
            Ok(report)
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

/// Writes to a file at increasing offsets, seeking over all-zero buffers
/// so they become holes (the file must start empty).
struct SparseWriter<'a> {
    file: &'a File,
    pos: u64,
}

impl io::Write for SparseWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if buf.iter().any(|&b| b != 0) {
            self.file.write_all_at(buf, self.pos)?;
        }
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
