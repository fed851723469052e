//! Arguments of `platter vdisk`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::args::{HashList, parse_hash_list};

/// `platter vdisk …`.
#[derive(Debug, Subcommand)]
pub enum VdiskCommand {
    /// Describe a virtual disk: format, size, chain, anomalies, partitions.
    Info(VdiskInfoArgs),
    /// Write the guest-visible disk (or one partition) as a raw file.
    Extract(VdiskExtractArgs),
}

/// How the virtual disk is opened (shared by both subcommands).
#[derive(Debug, Clone, Args)]
pub struct VdiskOpenArgs {
    /// Make every anomaly (bad checksum, fallback copy, lost range) an error.
    #[arg(long)]
    pub strict: bool,
    /// Accept a parent whose id does not match the child (VMDK parentCID,
    /// VHD parent id, VHDX parent linkage); the mismatch is still reported.
    #[arg(long)]
    pub ignore_cid: bool,
    /// Follow extent and parent paths that are absolute or leave the
    /// image's folder.
    #[arg(long)]
    pub allow_outside_paths: bool,
}

/// `platter vdisk info`.
#[derive(Debug, Args)]
pub struct VdiskInfoArgs {
    /// The VMDK descriptor or image, VHD or VHDX.
    pub file: PathBuf,
    /// How to open it.
    #[command(flatten)]
    pub open: VdiskOpenArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `platter vdisk extract`.
#[derive(Debug, Args)]
pub struct VdiskExtractArgs {
    /// The VMDK descriptor or image, VHD or VHDX.
    pub file: PathBuf,
    /// Where to write the raw disk; `-` for standard output (the report
    /// then goes to standard error).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Only this partition, numbered as `platter parts list` shows it.
    #[arg(short, long, value_name = "N")]
    pub partition: Option<u32>,
    /// Leave unallocated and zero ranges as holes in OUT.
    #[arg(long)]
    pub sparse: bool,
    /// Overwrite OUT if it exists. Writing onto any file of the chain is
    /// refused anyway.
    #[arg(long)]
    pub force: bool,
    /// Digests to compute, comma-separated: md5, sha1, sha256, or none.
    #[arg(long, value_name = "ALGS", default_value = "md5,sha256", value_parser = parse_hash_list)]
    pub hash: HashList,
    /// Where to write the ddrescue mapfile of unreadable ranges (default:
    /// OUT.map, written only when some ranges were unreadable).
    #[arg(long, value_name = "MAP")]
    pub bad_map: Option<PathBuf>,
    /// How to open it.
    #[command(flatten)]
    pub open: VdiskOpenArgs,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}
