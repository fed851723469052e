//! Arguments of `platter acquire`, `verify` and `verify-log`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use platter_core::size::parse_size;

use crate::args::{HashList, parse_hash_list};

/// `--format` of `platter acquire`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Raw bytes (one file, split parts, or standard output).
    Raw,
    /// Expert Witness E01 segments.
    E01,
}

/// `--compression` of an E01 output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// Chunks stored raw.
    None,
    /// zlib level 1.
    Fast,
    /// zlib level 9.
    Best,
}

/// `platter acquire`.
///
/// The global `--mapfile FILE` is, for this command, the GNU ddrescue
/// mapfile of the acquisition: kept up to date while imaging (atomically,
/// every few seconds and on exit, SIGINT and SIGTERM) and read by `--resume`.
#[derive(Debug, Args)]
pub struct AcquireArgs {
    /// The disk or image to acquire (file, block device, split raw set, …).
    pub source: PathBuf,
    /// The output image; `-` for standard output (the report then goes to
    /// standard error). With --split, the base name of the parts.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: FormatArg,
    /// E01 chunk compression.
    #[arg(long, value_enum, default_value = "fast")]
    pub compression: CompressionArg,
    /// Split the raw output into parts of SIZE bytes: OUTPUT.001, .002, …
    /// (for E01: the largest segment size).
    #[arg(long, visible_alias = "segment-size", value_name = "SIZE", value_parser = parse_bytes)]
    pub split: Option<u64>,
    /// Leave all-zero blocks as holes in the output file.
    #[arg(long)]
    pub sparse: bool,
    /// Overwrite an existing output, parts, mapfile and log.
    #[arg(long)]
    pub force: bool,
    /// Continue from --mapfile (ours or GNU ddrescue's): finished areas are
    /// never read again.
    #[arg(long)]
    pub resume: bool,
    /// Digests, comma-separated: md5, sha1, sha256, and optionally sha512
    /// and blake3; each runs on its own thread.
    #[arg(long, value_name = "ALGS", default_value = "md5,sha1,sha256", value_parser = parse_hash_list)]
    pub hash: HashList,
    /// Also hash every window of SIZE bytes (piecewise hashing), e.g. 1G.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub hash_window: Option<u64>,
    /// Pass-1 read size, a multiple of the sector size (default 1M).
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_bytes)]
    pub block_size: u64,
    /// Sector size for trimming and scraping (default: the device's).
    #[arg(long, value_name = "BYTES")]
    pub sector_size: Option<u32>,
    /// What replaces unreadable sectors: a byte (0, 0xEE), hex:DEADBEEF or
    /// text:BAD SECTOR, repeated from image offset 0.
    #[arg(long, value_name = "PATTERN", default_value = "0")]
    pub fill: String,
    /// Extra passes over the bad sectors left after scraping.
    #[arg(long, value_name = "N", default_value = "0")]
    pub retries: u32,
    /// Run the rescue passes from the end of the source to its start.
    #[arg(long)]
    pub reverse: bool,
    /// After imaging, re-read the source's good ranges and compare.
    #[arg(long)]
    pub verify: bool,
    /// Set the source block device read-only (BLKROSET) before reading.
    #[arg(long)]
    pub set_readonly: bool,
    /// With `-o -`: write the evidence log to BASE.log.json / BASE.log.txt.
    #[arg(long, value_name = "BASE")]
    pub log_base: Option<PathBuf>,
    /// Case number, for the log.
    #[arg(long, value_name = "TEXT")]
    pub case: Option<String>,
    /// Evidence number, for the log.
    #[arg(long, value_name = "TEXT")]
    pub evidence: Option<String>,
    /// Examiner name, for the log.
    #[arg(long, value_name = "TEXT")]
    pub examiner: Option<String>,
    /// Description of the evidence, for the log.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Free-form notes, for the log.
    #[arg(long, value_name = "TEXT")]
    pub notes: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `platter verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image to verify (a file, the first part of a split set, an E01).
    pub image: PathBuf,
    /// The acquisition log to compare with (default: IMAGE.log.json, or the
    /// digests stored in an E01).
    #[arg(long, value_name = "LOG.json")]
    pub log: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `platter verify-log`.
#[derive(Debug, Args)]
pub struct VerifyLogArgs {
    /// The acquisition log (`OUTPUT.log.json`).
    pub log: PathBuf,
    /// The chain head noted in the case file: the log must end with it.
    #[arg(long, value_name = "SHA256")]
    pub head: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn parse_bytes(text: &str) -> Result<u64, String> {
    parse_size(text, 512).map_err(|e| e.to_string())
}
