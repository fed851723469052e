//! What an acquisition is asked to do: [`AcquireOptions`], the fill
//! [`FillPattern`] and the [`OutputFormat`].

use std::path::PathBuf;
use std::time::Duration;

use platter_core::CaseInfo;
use platter_hash::HashAlg;

use crate::error::{Error, Result};

/// Default read size of pass 1: 1 MiB.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;
/// Largest accepted block size: 64 MiB (the pipeline holds a few dozen).
pub const MAX_BLOCK_SIZE: usize = 64 << 20;
/// Largest accepted sector size: 64 KiB.
pub const MAX_SECTOR_SIZE: u32 = 1 << 16;
/// Longest accepted fill pattern: 4 KiB.
pub const MAX_FILL_LEN: usize = 4096;
/// Most retry passes accepted.
pub const MAX_RETRIES: u32 = 1000;
/// Smallest `--hash-window`: 64 KiB.
pub const MIN_HASH_WINDOW: u64 = 64 << 10;
/// Most windows an image may have (so a tiny window cannot spawn hashers
/// without end).
pub const MAX_WINDOWS: u64 = 1 << 20;
/// Default interval between mapfile saves.
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_secs(5);

/// The bytes written (and hashed) in place of unreadable sectors.
///
/// The pattern repeats from image offset 0, so the byte at offset `o` of a
/// bad area is always `pattern[o % len]`, whichever pass gave up on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillPattern(Vec<u8>);

impl Default for FillPattern {
    fn default() -> Self {
        FillPattern(vec![0])
    }
}

impl FillPattern {
    /// Parses `0`, `0xEE` (one byte), `hex:DEADBEEF` or `text:BAD SECTOR`.
    ///
    /// ```
    /// use platter_acquire::FillPattern;
    /// assert_eq!(FillPattern::parse("0xee").unwrap().bytes(), &[0xee]);
    /// assert_eq!(FillPattern::parse("hex:dead").unwrap().bytes(), &[0xde, 0xad]);
    /// assert_eq!(FillPattern::parse("text:BAD").unwrap().bytes(), b"BAD");
    /// assert!(FillPattern::parse("hex:abc").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::Options(format!("--fill {text:?}: {why}"));
        let bytes = if let Some(hex) = text.strip_prefix("hex:") {
            if hex.is_empty() || hex.len() % 2 != 0 {
                return Err(bad("give an even number of hex digits"));
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map_err(|_| bad("not hexadecimal"))?
        } else if let Some(t) = text.strip_prefix("text:") {
            t.as_bytes().to_vec()
        } else {
            let t = text.trim();
            let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u8::from_str_radix(h, 16),
                None => t.parse::<u8>(),
            };
            vec![v.map_err(|_| bad("give a byte (0-255, 0xNN), hex:HEX or text:TEXT"))?]
        };
        if bytes.is_empty() || bytes.len() > MAX_FILL_LEN {
            return Err(bad("the pattern must be 1 to 4096 bytes"));
        }
        Ok(FillPattern(bytes))
    }

    /// The pattern bytes (never empty).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// True when the pattern is all zero bytes (a sparse output can then
    /// leave bad areas as holes).
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// Fills `buf`, which holds image bytes from `offset` on.
    pub fn fill(&self, buf: &mut [u8], offset: u64) {
        let n = self.0.len();
        let mut i = (offset % n as u64) as usize;
        for b in buf {
            *b = self.0[i];
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }
}

/// The image format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Raw bytes: one file, split parts, or standard output.
    #[default]
    Raw,
    /// Expert Witness (EnCase) E01 segments.
    E01,
}

/// Where the image goes.
#[derive(Debug)]
pub enum OutputTarget {
    /// A file path (with [`AcquireOptions::split`], the base of the parts).
    Path(PathBuf),
    /// An already open, sequential stream (standard output); the caller
    /// checked it is not the source.
    Stream(std::fs::File),
}

/// Everything an acquisition is asked to do.
#[derive(Debug, Clone)]
pub struct AcquireOptions {
    /// Pass 1 read size in bytes, a multiple of the sector size.
    pub block_size: usize,
    /// Sector size for trimming and scraping; `None` asks the source.
    pub sector_size: Option<u32>,
    /// Image digests to compute.
    pub algs: Vec<HashAlg>,
    /// Also hash every window of this many bytes (piecewise hashing).
    pub hash_window: Option<u64>,
    /// What replaces unreadable sectors.
    pub fill: FillPattern,
    /// Extra passes over the bad sectors left after scraping.
    pub retries: u32,
    /// Run the passes from the end of the source towards its start.
    pub reverse: bool,
    /// Leave all-zero blocks as holes in a raw file output.
    pub sparse: bool,
    /// Split a raw output into parts of this many bytes (`OUT.001`, …);
    /// for E01, the largest segment size.
    pub split: Option<u64>,
    /// Raw or E01.
    pub format: OutputFormat,
    /// Chunk compression of an E01 output.
    pub e01_compression: platter_ewf::Compression,
    /// The GNU ddrescue mapfile to keep up to date (and resume from).
    pub mapfile: Option<PathBuf>,
    /// Continue from [`mapfile`](Self::mapfile) (ours or ddrescue's).
    pub resume: bool,
    /// Overwrite an existing output, parts and log.
    pub force: bool,
    /// After imaging, re-read the source's good ranges and compare.
    pub verify: bool,
    /// Examiner's case metadata for the log.
    pub case: CaseInfo,
    /// The command line, for the log and the mapfile header.
    pub command_line: String,
    /// The tool name and version for the log (`platter 0.1.0`).
    pub tool: String,
    /// How often the mapfile is saved while working.
    pub save_interval: Duration,
    /// Write the evidence log next to the output (`OUT.log.json`,
    /// `OUT.log.txt`). Ignored for a stream output without [`log_base`](Self::log_base).
    pub write_log: bool,
    /// Where the log goes when the output is a stream (`-o -`): the logs
    /// are `BASE.log.json` and `BASE.log.txt`.
    pub log_base: Option<PathBuf>,
}

impl Default for AcquireOptions {
    fn default() -> Self {
        AcquireOptions {
            block_size: DEFAULT_BLOCK_SIZE,
            sector_size: None,
            algs: vec![HashAlg::Md5, HashAlg::Sha1, HashAlg::Sha256],
            hash_window: None,
            fill: FillPattern::default(),
            retries: 0,
            reverse: false,
            sparse: false,
            split: None,
            format: OutputFormat::Raw,
            e01_compression: platter_ewf::Compression::Fast,
            mapfile: None,
            resume: false,
            force: false,
            verify: false,
            case: CaseInfo::default(),
            command_line: String::new(),
            tool: format!("platter-acquire {}", env!("CARGO_PKG_VERSION")),
            save_interval: DEFAULT_SAVE_INTERVAL,
            write_log: true,
            log_base: None,
        }
    }
}

impl AcquireOptions {
    /// Checks the values that do not depend on the source.
    pub fn check(&self, sector: u32) -> Result<()> {
        let bad = |s: String| Err(Error::Options(s));
        if sector == 0 || sector > MAX_SECTOR_SIZE || !sector.is_power_of_two() {
            return bad(format!(
                "sector size {sector} must be a power of two up to {MAX_SECTOR_SIZE}"
            ));
        }
        if self.block_size == 0
            || self.block_size > MAX_BLOCK_SIZE
            || self.block_size % sector as usize != 0
        {
            return bad(format!(
                "block size {} must be a multiple of the {sector}-byte sector, at most {} MiB",
                self.block_size,
                MAX_BLOCK_SIZE >> 20
            ));
        }
        if self.retries > MAX_RETRIES {
            return bad(format!(
                "--retries {} is more than {MAX_RETRIES}",
                self.retries
            ));
        }
        if self.hash_window.is_some_and(|w| w < MIN_HASH_WINDOW) {
            return bad(format!(
                "--hash-window must be at least {MIN_HASH_WINDOW} bytes"
            ));
        }
        if self.split == Some(0) {
            return bad("--split must be more than 0 bytes".into());
        }
        if self.resume && self.mapfile.is_none() {
            return bad("--resume needs --mapfile FILE (ours or GNU ddrescue's)".into());
        }
        Ok(())
    }
}
