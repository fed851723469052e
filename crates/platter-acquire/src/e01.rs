//! E01 output: the image goes in order to `platter_ewf::EwfWriter`, so the
//! acquisition runs in sequential mode (inline rescue, see
//! `sequential.rs`); unreadable sectors go into the error2 section, and the
//! MD5 and SHA-1 computed while reading are stored in the digest and hash
//! sections.

use std::path::{Path, PathBuf};

use platter_ewf::{EwfWriter, WriteOptions};
use platter_open::Opened;

use crate::error::{Error, Result};
use crate::hashing::NamedDigest;
use crate::options::AcquireOptions;
use crate::sequential::StreamSink;

/// Most segment names checked against the source before writing.
const MAX_CHECKED_SEGMENTS: u32 = 1000;

/// An E01 being written.
pub(crate) struct EwfSink {
    writer: Option<EwfWriter>,
    first: PathBuf,
    sector: u64,
    error: Option<Error>,
}

fn ewf_err(path: &Path, e: platter_ewf::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        what: "write E01",
        source: std::io::Error::other(e.to_string()),
    }
}

impl EwfSink {
    /// Creates the first segment of `path` (`.E01` appended if needed),
    /// refusing any segment name that is part of the source.
    pub(crate) fn create(
        source: &Opened,
        path: &Path,
        len: u64,
        sector: u32,
        opts: &AcquireOptions,
    ) -> Result<EwfSink> {
        if len % u64::from(sector) != 0 {
            return Err(Error::Options(format!(
                "E01 stores whole sectors: the source's {len} bytes are not a multiple of {sector}; use --format raw"
            )));
        }
        let first = platter_ewf::first_segment_name(path);
        let segment_size = opts.split.unwrap_or(platter_ewf::DEFAULT_SEGMENT_SIZE);
        let count = (len / segment_size.max(1) + 2).min(u64::from(MAX_CHECKED_SEGMENTS)) as u32;
        for n in 1..=count {
            if let Some(p) = platter_ewf::segment_path(&first, n) {
                source.check_output_path(&p)?;
            }
        }
        let wopts = WriteOptions {
            segment_size,
            compression: opts.e01_compression,
            case: opts.case.clone(),
            media_size: len,
            sector_size: sector,
            force: opts.force,
            ..WriteOptions::default()
        };
        let writer = EwfWriter::create(&first, &wopts).map_err(|e| match e {
            platter_ewf::Error::InvalidOptions { reason } => {
                Error::Options(format!("E01: {reason}"))
            }
            other if first.exists() && !opts.force => {
                let _ = other;
                Error::Exists {
                    path: first.clone(),
                }
            }
            other => ewf_err(&first, other),
        })?;
        Ok(EwfSink {
            writer: Some(writer),
            first,
            sector: u64::from(sector),
            error: None,
        })
    }

    /// Writes the digest sections and closes the last segment; returns the
    /// segment files.
    pub(crate) fn finish(mut self, digests: &[NamedDigest]) -> Result<Vec<PathBuf>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let find = |alg: &str| digests.iter().find(|d| d.alg == alg).map(|d| d.hex.clone());
        let md5 = unhex::<16>(&find("md5").unwrap_or_default());
        let sha1 = unhex::<20>(&find("sha1").unwrap_or_default());
        let w = self
            .writer
            .take()
            .ok_or_else(|| Error::Options("E01 writer already closed".into()))?;
        let summary = w.finish(md5, sha1).map_err(|e| ewf_err(&self.first, e))?;
        Ok(summary.segments)
    }
}

fn unhex<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

impl StreamSink for EwfSink {
    fn write_block(&mut self, data: &[u8], pos: u64) -> Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| Error::Options("E01 writer closed".into()))?;
        w.write(data).map_err(|e| Error::Write {
            path: self.first.clone(),
            offset: pos,
            source: std::io::Error::other(e.to_string()),
        })
    }
    fn bad(&mut self, pos: u64, len: u64) {
        if let Some(w) = self.writer.as_mut() {
            let first = pos / self.sector;
            let last = (pos + len).div_ceil(self.sector);
            w.add_read_error(first, last - first);
        }
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
