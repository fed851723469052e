//! Types shared by the VMDK, VHD and VHDX readers: options, the opened
//! [`VirtualDisk`], its [`VdiskInfo`] report and [`Anomaly`] records.

use std::fmt;
use std::path::{Path, PathBuf};

use platter_core::SharedSource;
use platter_core::sys::OpenOptions;

use crate::error::{Error, Result};

/// How to open a virtual disk.
#[derive(Debug, Clone, Default)]
pub struct VdiskOptions {
    /// Make every anomaly an error instead of working around it
    /// (`--strict`).
    pub strict: bool,
    /// Accept a VMDK parent whose CID does not match the child's
    /// parentCID (`--ignore-cid`); the mismatch is still reported.
    pub ignore_cid: bool,
    /// Follow extent and parent paths that are absolute or leave the
    /// image's folder (`--allow-outside-paths`).
    pub allow_outside_paths: bool,
    /// How the underlying files are opened (O_DIRECT, mmap).
    pub open: OpenOptions,
}

/// The three supported formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VdiskFormat {
    /// VMware VMDK (descriptor, sparse, COWD, seSparse, stream).
    Vmdk,
    /// Virtual PC / Hyper-V VHD.
    Vhd,
    /// Hyper-V VHDX.
    Vhdx,
}

impl VdiskFormat {
    /// Lower-case name (`"vmdk"`).
    pub fn name(self) -> &'static str {
        match self {
            VdiskFormat::Vmdk => "vmdk",
            VdiskFormat::Vhd => "vhd",
            VdiskFormat::Vhdx => "vhdx",
        }
    }
}

impl fmt::Display for VdiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something wrong found while opening or reading, and worked around or
/// reported: a bad checksum, a fallback to a redundant copy, a missing
/// range.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anomaly {
    /// The file it was found in.
    pub file: PathBuf,
    /// Byte offset in that file, when it has one.
    pub offset: Option<u64>,
    /// Stable machine-readable kind (`"footer_checksum"`,
    /// `"redundant_gd_used"`, `"truncated"`, `"corrupt_grain"`, …).
    pub kind: String,
    /// Plain-language description.
    pub message: String,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(off) = self.offset {
            write!(f, " at offset {off:#x}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One image of a snapshot chain, child first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainLink {
    /// The file (descriptor or image).
    pub path: PathBuf,
    /// Its format.
    pub format: VdiskFormat,
    /// Its subformat (`"monolithicSparse"`, `"dynamic"`, `"differencing"`).
    pub subformat: String,
    /// `"ok"`, or what is wrong with this link (`"parent CID mismatch
    /// (ignored)"`, `"missing"`).
    pub status: String,
}

/// What `platter vdisk info` reports about a virtual disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VdiskInfo {
    /// The format.
    pub format: VdiskFormat,
    /// The subformat (VMDK createType, VHD disk type, `"vhdx"`...).
    pub subformat: String,
    /// Size of the guest-visible disk in bytes.
    pub virtual_size: u64,
    /// Grain (VMDK) or block (VHD/VHDX) size in bytes, when the format
    /// allocates in blocks.
    pub block_size: Option<u64>,
    /// Bytes of the virtual disk allocated in this image and its parents,
    /// when known.
    pub allocated_bytes: Option<u64>,
    /// The chain, this image first, then its parent, and so on.
    pub chain: Vec<ChainLink>,
    /// Every file read (descriptor, extents, parents). Outputs must never
    /// be written onto any of them.
    pub files: Vec<PathBuf>,
    /// Other labelled facts (CHS geometry, disk UUID, CID, log state...).
    pub properties: Vec<(String, String)>,
    /// Everything wrong that was found.
    pub anomalies: Vec<Anomaly>,
}

/// An opened virtual disk: the guest-visible bytes and the report.
#[derive(Debug, Clone)]
pub struct VirtualDisk {
    /// The guest-visible disk. Unrecoverable ranges are `Unreadable`
    /// extents and reads over them fail.
    pub source: SharedSource,
    /// The report.
    pub info: VdiskInfo,
}

/// Detects the format of `path` by content: VHDX by its `vhdxfile`
/// signature at 0, VMDK by `KDMV`/`COWD`/seSparse magic or a text descriptor,
/// VHD by a `conectix` footer at the end (or at 0, for a damaged end).
pub(crate) fn detect(path: &Path) -> Result<VdiskFormat> {
    use std::io::{Seek, SeekFrom};
    let io = |offset, source| Error::Io {
        path: path.to_path_buf(),
        offset,
        source,
    };
    let mut f = std::fs::File::open(path).map_err(|e| io(0, e))?;
    let len = f.metadata().map_err(|e| io(0, e))?.len();
    let mut head = [0u8; 512];
    let n = read_up_to(&mut f, &mut head).map_err(|e| io(0, e))?;
    let head = &head[..n];
    if head.starts_with(b"vhdxfile") {
        return Ok(VdiskFormat::Vhdx);
    }
    if head.starts_with(b"KDMV") || head.starts_with(b"COWD") {
        return Ok(VdiskFormat::Vmdk);
    }
    // seSparse: u64 little-endian magic 0xcafebabe at 0 (qemu `block/vmdk.c`).
    if head.starts_with(&crate::vmdk::SESPARSE_MAGIC.to_le_bytes()) {
        return Ok(VdiskFormat::Vmdk);
    }
    if head.starts_with(b"conectix") {
        return Ok(VdiskFormat::Vhd);
    }
    if len >= 512 {
        let mut tail = [0u8; 512];
        f.seek(SeekFrom::Start(len - 512))
            .map_err(|e| io(len - 512, e))?;
        let n = read_up_to(&mut f, &mut tail).map_err(|e| io(len - 512, e))?;
        // Footers written by old Virtual PC versions are 511 bytes long.
        if tail[..n].starts_with(b"conectix") || tail[1..n].starts_with(b"conectix") {
            return Ok(VdiskFormat::Vhd);
        }
    }
    let text = String::from_utf8_lossy(head);
    if text.contains("# Disk DescriptorFile") || text.contains("createType") {
        return Ok(VdiskFormat::Vmdk);
    }
    Err(Error::NotAVirtualDisk {
        path: path.to_path_buf(),
    })
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
