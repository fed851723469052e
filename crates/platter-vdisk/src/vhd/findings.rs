//! Collecting anomalies while opening an image, turning each into an error
//! in strict mode, and describing lost guest ranges precisely.

use std::path::{Path, PathBuf};

use platter_core::{ExtentKind, Source};

use crate::common::Anomaly;
use crate::error::{Error, Result};

/// Most lost ranges listed one by one before a summary line.
const MAX_LISTED_RANGES: usize = 32;

/// The anomalies of one file.
#[derive(Debug)]
pub(crate) struct Findings {
    file: PathBuf,
    strict: bool,
    /// What was found, in order.
    pub list: Vec<Anomaly>,
}

impl Findings {
    /// Findings for `file`; `strict` makes every [`add`](Self::add) fail.
    pub fn new(file: &Path, strict: bool) -> Self {
        Findings {
            file: file.to_path_buf(),
            strict,
            list: Vec::new(),
        }
    }

    /// Records an anomaly, or fails with [`Error::Strict`] in strict mode.
    pub fn add(&mut self, offset: Option<u64>, kind: &str, message: String) -> Result<()> {
        let anomaly = Anomaly {
            file: self.file.clone(),
            offset,
            kind: kind.to_string(),
            message,
        };
        if self.strict {
            return Err(Error::Strict(anomaly));
        }
        self.list.push(anomaly);
        Ok(())
    }

    /// Reports every unreadable range of `disk` within the guest ranges
    /// `suspects` (merged, in order) as one `kind` anomaly each, saying why
    /// (`cause`, e.g. "the file ends at 0x…").
    pub fn lost_ranges(
        &mut self,
        disk: &dyn Source,
        suspects: &[(u64, u64)],
        file_offset: Option<u64>,
        kind: &str,
        cause: &str,
    ) -> Result<()> {
        let mut lost: Vec<(u64, u64)> = Vec::new();
        for &(off, len) in suspects {
            let Ok(map) = disk.extents(off, len) else {
                lost.push((off, len));
                continue;
            };
            for e in map.into_iter().filter(|e| e.kind == ExtentKind::Unreadable) {
                match lost.last_mut() {
                    Some(last) if last.0 + last.1 == e.offset => last.1 += e.len,
                    _ => lost.push((e.offset, e.len)),
                }
            }
        }
        let total: u64 = lost.iter().map(|r| r.1).sum();
        for &(off, len) in lost.iter().take(MAX_LISTED_RANGES) {
            self.add(
                file_offset,
                kind,
                format!(
                    "{cause}: guest bytes {off:#x}..{:#x} ({len} bytes) are lost and read as unreadable",
                    off + len
                ),
            )?;
        }
        if lost.len() > MAX_LISTED_RANGES {
            self.add(
                file_offset,
                kind,
                format!(
                    "{cause}: {} more lost ranges; {total} bytes lost in all",
                    lost.len() - MAX_LISTED_RANGES
                ),
            )?;
        }
        Ok(())
    }
}
