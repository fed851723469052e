//! VMDK reader (being built).

use std::path::Path;

use crate::common::{VdiskOptions, VirtualDisk};
use crate::error::{Error, Result};

/// Opens a VMDK image (and its extents or parents).
///
/// # Errors
/// Not implemented yet.
pub fn open(path: &Path, _opts: &VdiskOptions) -> Result<VirtualDisk> {
    Err(Error::Unsupported {
        path: path.to_path_buf(),
        what: "VMDK reader not built yet".into(),
    })
}
