//! Command-line arguments: clap derive, subcommands grouped by noun.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use platter_core::size::parse_size;
use platter_hash::{HashAlg, MAX_BLOCK_SIZE, parse_algs};

/// Exit statuses, documented in `--help` and README.
pub mod exit {
    /// Everything went as asked.
    pub const OK: u8 = 0;
    /// An error stopped the command.
    pub const ERROR: u8 = 1;
    /// The command line was wrong (clap's own status).
    pub const USAGE: u8 = 2;
    /// The command completed, but some data could not be read and was
    /// filled; the report lists the ranges.
    pub const UNREADABLE: u8 = 3;
    /// `raid scrub` completed and found inconsistent rows (parity or
    /// copies that do not match the data); the report lists them.
    pub const INCONSISTENT: u8 = 4;
}

const LONG_ABOUT: &str = "\
Read-only forensic imaging, RAID reconstruction and virtual-disk recovery.

\
platter reads disks and disk images without ever writing to them: raw files, \
block devices and split raw sets (x.001, x.002… or x.aa, x.ab…). Formats are \
detected from their content, not their names. A GNU ddrescue image is read \
through its mapfile with --mapfile: areas it does not mark rescued read as \
unreadable.

Exit status:
  0  success
  1  error (the message names the file and byte offset)
  2  usage error (bad command line)
  3  completed, but some data was unreadable and filled (the report lists the ranges)
  4  raid scrub found inconsistent rows (the report lists them)";

/// The `platter` command line.
#[derive(Debug, Parser)]
#[command(
    name = "platter",
    version,
    about = "Read-only forensic imaging, RAID reconstruction and virtual-disk recovery",
    long_about = LONG_ABOUT,
    propagate_version = true,
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Open block devices with O_DIRECT (bypass the page cache).
    #[arg(long, global = true)]
    pub direct: bool,
    /// Memory-map image files. Only for images known to be good: an I/O
    /// error under a mapping kills the process instead of being reported.
    #[arg(long, global = true)]
    pub mmap: bool,
    /// No progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// SOURCE is a GNU ddrescue image and FILE is its mapfile: only areas
    /// marked finished ('+') are trusted; the rest reads as unreadable
    /// (reported, and filled when copied).
    #[arg(long, global = true, value_name = "FILE")]
    pub mapfile: Option<PathBuf>,
}

/// The commands, by noun.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a disk or image: format, size, sectors, device details,
    /// partition table and anomalies.
    Info(InfoArgs),
    /// Partition tables: list partitions, extract one.
    #[command(subcommand)]
    Parts(PartsCommand),
    /// RAID arrays: assemble from members or a recipe, map a layout,
    /// scrub parity.
    #[command(subcommand)]
    Raid(Box<crate::raid::args::RaidCommand>),
    /// Image a disk or any source: hashed, ddrescue-style rescue of bad
    /// areas, mapfile and resume, evidence log.
    Acquire(Box<crate::acquire::args::AcquireArgs>),
    /// Recompute an image's hashes and compare them with its acquisition
    /// log (or, for an E01, with the digests stored inside it).
    Verify(crate::acquire::args::VerifyArgs),
    /// Check the hash chain of an acquisition log: any edited, removed or
    /// reordered record is detected.
    VerifyLog(crate::acquire::args::VerifyLogArgs),
    /// Virtual disks (VMDK, VHD, VHDX): describe, extract to raw.
    #[command(subcommand)]
    Vdisk(crate::vdisk::args::VdiskCommand),
}

/// `platter info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The disk, image file, or first segment of a split set.
    pub source: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `platter parts …`.
#[derive(Debug, Subcommand)]
pub enum PartsCommand {
    /// List the partitions of a disk or image.
    List(PartsListArgs),
    /// Copy one partition to a raw file, printing its digests.
    Extract(PartsExtractArgs),
}

/// `platter parts list`.
#[derive(Debug, Args)]
pub struct PartsListArgs {
    /// The disk, image file, or first segment of a split set.
    pub source: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `platter parts extract`.
#[derive(Debug, Args)]
pub struct PartsExtractArgs {
    /// The disk, image file, or first segment of a split set.
    pub source: PathBuf,
    /// The partition number, as `platter parts list` shows it.
    #[arg(short, long, value_name = "N")]
    pub partition: u32,
    /// Where to write the partition; `-` for standard output (the report
    /// then goes to standard error).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Overwrite OUT if it exists. Writing onto the source is refused anyway.
    #[arg(long)]
    pub force: bool,
    /// Digests to compute, comma-separated: md5, sha1, sha256.
    #[arg(long, value_name = "ALGS", default_value = "md5,sha256", value_parser = parse_hash_list)]
    pub hash: HashList,
    /// Bytes per read, e.g. 64K, 1M, 2048s.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_block_size)]
    pub block_size: BlockSize,
    /// The byte written (and hashed) in place of unreadable data: 0-255,
    /// decimal or 0x hex.
    #[arg(long, value_name = "BYTE", default_value = "0", value_parser = parse_fill_byte)]
    pub fill: u8,
    /// Also write a GNU ddrescue mapfile of OUT: the unreadable (filled)
    /// ranges as not rescued, everything else as rescued (`+`). Positions
    /// are offsets in OUT.
    #[arg(long, value_name = "MAP")]
    pub bad_map: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// A parsed `--hash` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashList(pub Vec<HashAlg>);

/// A parsed `--block-size`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSize(pub usize);

pub fn parse_hash_list(text: &str) -> Result<HashList, String> {
    parse_algs(text).map(HashList).map_err(|e| e.to_string())
}

pub fn parse_fill_byte(text: &str) -> Result<u8, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => t.parse::<u8>(),
    };
    parsed.map_err(|_| format!("{text:?} is not a byte: give 0 to 255, or 0x00 to 0xff"))
}

pub fn parse_block_size(text: &str) -> Result<BlockSize, String> {
    let bytes = parse_size(text, 512).map_err(|e| e.to_string())?;
    match usize::try_from(bytes) {
        Ok(n) if n > 0 && n <= MAX_BLOCK_SIZE => Ok(BlockSize(n)),
        _ => Err(format!(
            "block size must be between 1 byte and {} MiB",
            MAX_BLOCK_SIZE >> 20
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_and_hashes() {
        assert_eq!(parse_block_size("64K"), Ok(BlockSize(65536)));
        assert_eq!(parse_block_size("2048s"), Ok(BlockSize(1 << 20)));
        assert!(parse_block_size("0").is_err());
        assert!(parse_block_size("1G").is_err());
        assert_eq!(
            parse_hash_list("sha1,MD5"),
            Ok(HashList(vec![HashAlg::Sha1, HashAlg::Md5]))
        );
        assert!(parse_hash_list("crc").is_err());
    }

    #[test]
    fn fill_bytes() {
        assert_eq!(parse_fill_byte("0xEE"), Ok(0xee));
        assert_eq!(parse_fill_byte("0Xff"), Ok(0xff));
        assert_eq!(parse_fill_byte("17"), Ok(17));
        for bad in ["256", "0x100", "-1", "ee", ""] {
            assert!(parse_fill_byte(bad).is_err(), "{bad}");
        }
    }
}
