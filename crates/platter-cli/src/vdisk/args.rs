//! Arguments of `platter vdisk`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `platter vdisk …`.
#[derive(Debug, Subcommand)]
pub enum VdiskCommand {
    /// Describe a virtual disk.
    Info(VdiskInfoArgs),
}

/// `platter vdisk info`.
#[derive(Debug, Args)]
pub struct VdiskInfoArgs {
    /// The VMDK descriptor or image, VHD or VHDX.
    pub file: PathBuf,
}
