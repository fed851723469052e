//! Virtual disks as platter [`Source`](platter_core::Source)s: VMDK, VHD and
//! VHDX, snapshot chains and damaged files included.
//!
//! [`open`] detects the format of a file by its content and returns a
//! [`VirtualDisk`]: the guest-visible bytes as a source, and a [`VdiskInfo`]
//! describing the format, the parent chain and every anomaly found.
//! Damage never turns into silent zeros: ranges that cannot be recovered
//! are reported as [`Unreadable`](platter_core::ExtentKind::Unreadable)
//! extents of the source and read as errors.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod common;
mod error;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;

use std::path::Path;

pub use common::{Anomaly, ChainLink, VdiskFormat, VdiskInfo, VdiskOptions, VirtualDisk};
pub use error::{Error, Result};

/// Opens the virtual disk at `path`, detecting VMDK, VHD or VHDX by content.
///
/// # Errors
/// [`Error::NotAVirtualDisk`] when no format matches; otherwise the format
/// reader's errors (unreadable file, structure damaged beyond recovery, a
/// path escaping the image's folder, a parent that does not match).
pub fn open(path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    match detect(path)? {
        VdiskFormat::Vmdk => vmdk::open(path, opts),
        VdiskFormat::Vhd => vhd::open(path, opts),
        VdiskFormat::Vhdx => vhdx::open(path, opts),
    }
}

/// Detects the format of `path` from its first and last bytes.
///
/// # Errors
/// The file cannot be read, or matches no supported format.
pub fn detect(path: &Path) -> Result<VdiskFormat> {
    common::detect(path)
}
