//! Reading a mapfile from disk and replacing one atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{MAX_MAPFILE_BYTES, Mapfile};
use crate::error::{Error, Result};

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        name: path.display().to_string(),
        what,
        source,
    }
}

impl Mapfile {
    /// Reads and parses the mapfile at `path`; errors name the path.
    ///
    /// Files larger than [`MAX_MAPFILE_BYTES`] are refused without being
    /// read whole.
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = file.metadata().map_err(io_err(path, "stat"))?;
        if meta.is_dir() {
            return Err(Error::NotReadable {
                path: path.to_path_buf(),
                kind: "a directory",
            });
        }
        if meta.len() > MAX_MAPFILE_BYTES {
            return Err(too_large(path, meta.len()));
        }
        let mut data = Vec::new();
        file.take(MAX_MAPFILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(io_err(path, "read"))?;
        if data.len() as u64 > MAX_MAPFILE_BYTES {
            return Err(too_large(path, data.len() as u64));
        }
        Self::parse_bytes(&data, &path.display().to_string())
    }

    /// Writes the map to `path` atomically: to a temporary file in the same
    /// directory, fsynced, then renamed over `path`, then the directory is
    /// fsynced. A crash leaves either the old or the new map, never a mix.
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = path.file_name().ok_or_else(|| Error::Io {
            name: path.display().to_string(),
            what: "write mapfile",
            source: io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        })?;
        let tmp = dir.join(format!(
            ".{}.{}-{}.tmp",
            file_name.to_string_lossy(),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_synced(&tmp, self.to_text().as_bytes()).and_then(|()| {
            fs::rename(&tmp, path).map_err(io_err(path, "rename temporary mapfile"))
        });
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir, "fsync directory"))
    }
}

fn too_large(path: &Path, len: u64) -> Error {
    Error::Mapfile {
        name: path.display().to_string(),
        line: 0,
        reason: format!(
            "{len} bytes is larger than the {MAX_MAPFILE_BYTES}-byte limit for a mapfile"
        ),
    }
}

/// Creates `path` (which must not exist), writes `bytes` and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err(path, "create temporary mapfile"))?;
    f.write_all(bytes).map_err(io_err(path, "write"))?;
    f.sync_all().map_err(io_err(path, "fsync"))
}
