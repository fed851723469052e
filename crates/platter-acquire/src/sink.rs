//! Raw outputs written by position: one file, or split parts
//! `OUT.001, OUT.002, …`. Reading back (for hashing after a multi-pass or
//! resumed run) goes through the same mapping.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use platter_open::Opened;

use crate::error::{Error, Result};

/// One file of a raw output.
#[derive(Debug)]
struct Part {
    path: PathBuf,
    file: File,
    /// Image offset of the part's first byte.
    start: u64,
    /// Bytes of the image the part holds.
    len: u64,
    /// A regular file (sized with `set_len`), not a block device.
    regular: bool,
}

/// A raw image written by position to one file or to split parts.
#[derive(Debug)]
pub(crate) struct RawOutput {
    parts: Vec<Part>,
    /// Bytes per part (the image size for a single file).
    part_size: u64,
}

/// The names of the parts of a split output: `BASE.001`, `BASE.002`, …
/// (four digits from the 1000th part on).
pub fn split_part_paths(base: &Path, total: u64, part_size: u64) -> Vec<PathBuf> {
    let count = total.div_ceil(part_size.max(1)).max(1);
    let width = if count > 999 {
        count.to_string().len()
    } else {
        3
    };
    (1..=count)
        .map(|i| {
            let mut name = base.as_os_str().to_os_string();
            name.push(format!(".{i:0width$}"));
            PathBuf::from(name)
        })
        .collect()
}

impl RawOutput {
    /// Opens (creating as needed) every file of the output, refusing any
    /// that is part of `source`, and an existing one unless `force` or
    /// `resume`. A fresh run (not `resume`) truncates what it reuses.
    pub(crate) fn open(
        source: &Opened,
        base: &Path,
        total: u64,
        split: Option<u64>,
        force: bool,
        resume: bool,
    ) -> Result<RawOutput> {
        let (paths, part_size) = match split {
            Some(size) => (split_part_paths(base, total, size), size),
            None => (vec![base.to_path_buf()], total.max(1)),
        };
        for p in &paths {
            source.check_output_path(p)?;
            if !force && !resume && fs::symlink_metadata(p).is_ok() {
                return Err(Error::Exists { path: p.clone() });
            }
        }
        let mut parts = Vec::with_capacity(paths.len());
        for (i, path) in paths.into_iter().enumerate() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    what: "open output",
                    source,
                })?;
            // The path may have been swapped for a link to the source
            // between the check and the open: check what was opened.
            source.check_output_file(&path, &file)?;
            let meta = file.metadata().map_err(|source| Error::Io {
                path: path.clone(),
                what: "stat output",
                source,
            })?;
            let regular = meta.is_file();
            if regular && !resume {
                file.set_len(0).map_err(|source| Error::Io {
                    path: path.clone(),
                    what: "truncate output",
                    source,
                })?;
            }
            let start = part_size.saturating_mul(i as u64);
            let len = total.saturating_sub(start).min(part_size);
            parts.push(Part {
                path,
                file,
                start,
                len,
                regular,
            });
        }
        Ok(RawOutput { parts, part_size })
    }

    /// The files of the output, in order.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.parts.iter().map(|p| p.path.clone()).collect()
    }

    /// The name to report: the single file, or the first part.
    pub(crate) fn first_path(&self) -> &Path {
        &self.parts[0].path
    }

    /// Calls `f(part, offset_in_part, range_in_data)` for each part that
    /// `[offset, offset+len)` touches.
    fn for_each_piece(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(&Part, u64, std::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let mut done = 0usize;
        while done < len {
            let pos = offset + done as u64;
            let idx = usize::try_from(pos / self.part_size).unwrap_or(usize::MAX);
            let Some(part) = self.parts.get(idx) else {
                return Err(Error::Write {
                    path: self.parts[self.parts.len() - 1].path.clone(),
                    offset: pos,
                    source: io::Error::new(io::ErrorKind::InvalidInput, "past the image end"),
                });
            };
            let in_part = pos - part.start;
            let room = usize::try_from(self.part_size - in_part).unwrap_or(usize::MAX);
            let n = room.min(len - done);
            f(part, in_part, done..done + n)?;
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at image offset `offset`. An error names the image
    /// offset of the first byte not written (a short write before `ENOSPC`
    /// counts); a full disk is [`Error::OutputFull`].
    pub(crate) fn write_at(&self, data: &[u8], offset: u64) -> Result<()> {
        self.for_each_piece(offset, data.len(), |part, at, r| {
            let piece = &data[r.clone()];
            let mut done = 0usize;
            while done < piece.len() {
                let failed = |source: io::Error| {
                    let path = part.path.clone();
                    let offset = offset + (r.start + done) as u64;
                    if source.kind() == io::ErrorKind::StorageFull {
                        Error::OutputFull { path, offset }
                    } else {
                        Error::Write {
                            path,
                            offset,
                            source,
                        }
                    }
                };
                match part.file.write_at(&piece[done..], at + done as u64) {
                    Ok(0) => return Err(failed(io::ErrorKind::WriteZero.into())),
                    Ok(n) => done += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(failed(e)),
                }
            }
            Ok(())
        })
    }

    /// Reads `buf.len()` bytes at image offset `offset` back from the output.
    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.for_each_piece(offset, buf.len(), |part, at, r| {
            part.file
                .read_exact_at(&mut buf[r], at)
                .map_err(|source| Error::Io {
                    path: part.path.clone(),
                    what: "read back",
                    source,
                })
        })
    }

    /// Flushes every part to stable storage.
    pub(crate) fn sync(&self) -> Result<()> {
        for p in &self.parts {
            p.file.sync_data().map_err(|source| Error::Io {
                path: p.path.clone(),
                what: "fsync output",
                source,
            })?;
        }
        Ok(())
    }

    /// Gives every regular part its final size (holes stay holes) and syncs.
    pub(crate) fn finish(&self) -> Result<()> {
        for p in &self.parts {
            if p.regular {
                p.file.set_len(p.len).map_err(|source| Error::Io {
                    path: p.path.clone(),
                    what: "set output size",
                    source,
                })?;
            }
        }
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_and_counts() {
        let base = Path::new("/x/out.img");
        let p = split_part_paths(base, 10, 4);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Path::new("/x/out.img.001"));
        assert_eq!(p[2], Path::new("/x/out.img.003"));
        assert_eq!(split_part_paths(base, 8, 4).len(), 2);
        assert_eq!(split_part_paths(base, 0, 4).len(), 1);
        let many = split_part_paths(base, 1000, 1);
        assert_eq!(many[999], Path::new("/x/out.img.1000"));
        assert_eq!(many[0], Path::new("/x/out.img.0001"));
    }

    #[test]
    fn split_write_and_read_back_cross_parts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.img");
        fs::write(&src, vec![0u8; 4096]).unwrap();
        let opened = platter_open::open(&src, &Default::default()).unwrap();
        let base = dir.path().join("out");
        let out = RawOutput::open(&opened, &base, 10, Some(4), false, false).unwrap();
        out.write_at(b"0123456789", 0).unwrap();
        out.finish().unwrap();
        assert_eq!(fs::read(dir.path().join("out.001")).unwrap(), b"0123");
        assert_eq!(fs::read(dir.path().join("out.003")).unwrap(), b"89");
        let mut back = [0u8; 6];
        out.read_at(&mut back, 3).unwrap();
        assert_eq!(&back, b"345678");
        // Existing parts are refused without force or resume.
        drop(out);
        let err = RawOutput::open(&opened, &base, 10, Some(4), false, false).unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        // The source itself is refused even with force.
        let err = RawOutput::open(&opened, &src, 10, None, true, false).unwrap_err();
        assert!(matches!(err, Error::OutputIsSource(_)), "{err}");
    }
}
