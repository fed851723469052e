//! `platter acquire`, `platter verify` and `platter verify-log` (being built).

pub mod args;

use crate::args::GlobalOpts;

/// `platter acquire`.
pub fn acquire(_g: &GlobalOpts, _a: &args::AcquireArgs) -> anyhow::Result<u8> {
    anyhow::bail!("acquire: not built yet")
}

/// `platter verify`.
pub fn verify(_g: &GlobalOpts, _a: &args::VerifyArgs) -> anyhow::Result<u8> {
    anyhow::bail!("verify: not built yet")
}

/// `platter verify-log`.
pub fn verify_log(_g: &GlobalOpts, _a: &args::VerifyLogArgs) -> anyhow::Result<u8> {
    anyhow::bail!("verify-log: not built yet")
}
