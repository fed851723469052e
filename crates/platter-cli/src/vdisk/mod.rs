//! `platter vdisk info` and `platter vdisk extract` (being built).

pub mod args;

use crate::args::GlobalOpts;

/// Runs a `platter vdisk` subcommand.
pub fn run(_g: &GlobalOpts, _c: &args::VdiskCommand) -> anyhow::Result<u8> {
    anyhow::bail!("vdisk: not built yet")
}
