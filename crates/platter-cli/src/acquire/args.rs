//! Arguments of `platter acquire`, `verify` and `verify-log`.

use std::path::PathBuf;

use clap::Args;

/// `platter acquire`.
#[derive(Debug, Args)]
pub struct AcquireArgs {
    /// The disk or image to acquire.
    pub source: PathBuf,
    /// The output image; `-` for standard output.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
}

/// `platter verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image to verify.
    pub image: PathBuf,
}

/// `platter verify-log`.
#[derive(Debug, Args)]
pub struct VerifyLogArgs {
    /// The acquisition log (`OUTPUT.log.json`).
    pub log: PathBuf,
}
