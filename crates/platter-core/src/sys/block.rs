//! Block devices: size and sector sizes by ioctl, identity from sysfs, and
//! optional `O_DIRECT` reads through aligned bounce buffers.

use std::fmt;
use std::fs::{File, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::OFlags;
use serde::Serialize;

use super::file::pread_source;
use super::{fstat, ioctl, open_read_only, require_type, stat, sysfs};
use crate::error::{Error, Result};
use crate::source::{SectorSize, Source, clip};

/// What platter knows about a block device: geometry from ioctls, identity
/// from sysfs. Text fields are trimmed; missing attributes are `None`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// The path the device was opened from.
    pub path: PathBuf,
    /// Kernel name from sysfs (`sda1`, `nvme0n1`, `loop3`).
    pub sysfs_name: Option<String>,
    /// Size in bytes (`BLKGETSIZE64`).
    pub size_bytes: u64,
    /// Logical sector size in bytes (`BLKSSZGET`): the addressing unit.
    pub logical_sector: u32,
    /// Physical sector size in bytes (`BLKPBSZGET`).
    pub physical_sector: u32,
    /// Read-only at the block layer (`BLKROGET`, or sysfs `ro`).
    pub read_only: bool,
    /// Model string (`device/model`, or `device/name` for MMC).
    pub model: Option<String>,
    /// Vendor string (`device/vendor`; a PCI id such as `0x1af4` for virtio).
    pub vendor: Option<String>,
    /// Serial number (`device/serial`, `serial`, or a `wwid`).
    pub serial: Option<String>,
    /// Spinning disk (`queue/rotational`).
    pub rotational: Option<bool>,
    /// Removable medium (`removable`).
    pub removable: Option<bool>,
}

/// Bounce buffer size for `O_DIRECT` reads of unaligned ranges.
const BOUNCE_BYTES: usize = 1 << 20;
/// Bounce buffers kept for reuse (one per concurrently reading thread).
const POOL_MAX: usize = 8;
/// Largest logical sector size we accept for `O_DIRECT` alignment.
const MAX_SECTOR_BYTES: u32 = 1 << 16;
/// Memory alignment for `O_DIRECT` buffers (at least the logical sector).
const MIN_MEM_ALIGN: usize = 4096;

/// A block device (disk, partition, loop, device-mapper…), read-only.
///
/// With `direct`, it is opened `O_DIRECT`: reads bypass the page cache, which
/// keeps a failing disk's bad sectors from being retried by readahead and
/// keeps memory flat. Reads of any offset and length still work; unaligned
/// ones go through an aligned bounce buffer.
pub struct BlockDevice {
    file: File,
    info: DeviceInfo,
    name: String,
    direct: bool,
    /// Spare bounce buffers for unaligned direct reads.
    pool: Mutex<Vec<Vec<u8>>>,
}

impl fmt::Debug for BlockDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockDevice")
            .field("info", &self.info)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl BlockDevice {
    /// Opens a block device read-only, `O_DIRECT` when `direct`, and reads
    /// its geometry and sysfs identity.
    ///
    /// A missing path is [`Error::Open`]; a directory, socket, FIFO or
    /// character device is [`Error::NotReadable`]; a regular file or a failed
    /// ioctl is [`Error::Io`].
    pub fn open(path: &Path, direct: bool) -> Result<Self> {
        check_block(path, &stat(path)?)?;
        let flags = if direct {
            OFlags::DIRECT
        } else {
            OFlags::empty()
        };
        let file = open_read_only(path, flags)?;
        let meta = fstat(&file, path)?;
        check_block(path, &meta)?;
        let name = path.display().to_string();
        let io_err = |what: &'static str| {
            let name = name.clone();
            move |e: rustix::io::Errno| Error::Io {
                name,
                what,
                source: io::Error::from(e),
            }
        };
        let size_bytes = ioctl::blk_get_size64(&file).map_err(|e| Error::Io {
            name: name.clone(),
            what: "BLKGETSIZE64",
            source: e,
        })?;
        let logical_sector = rustix::fs::ioctl_blksszget(&file).map_err(io_err("BLKSSZGET"))?;
        let physical_sector = rustix::fs::ioctl_blkpbszget(&file).map_err(io_err("BLKPBSZGET"))?;
        let ro = ioctl::blk_ro_get(&file).map_err(|e| Error::Io {
            name: name.clone(),
            what: "BLKROGET",
            source: e,
        })?;
        if direct && !valid_sector(logical_sector) {
            return Err(Error::Io {
                name,
                what: "O_DIRECT alignment",
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unusable logical sector size {logical_sector}"),
                ),
            });
        }
        let rdev = meta.rdev();
        let sys = sysfs::lookup(
            Path::new("/sys"),
            rustix::fs::major(rdev),
            rustix::fs::minor(rdev),
        )
        .unwrap_or_default();
        let info = DeviceInfo {
            path: path.to_path_buf(),
            sysfs_name: sys.name,
            size_bytes,
            logical_sector,
            physical_sector,
            read_only: ro || sys.read_only == Some(true),
            model: sys.model,
            vendor: sys.vendor,
            serial: sys.serial,
            rotational: sys.rotational,
            removable: sys.removable,
        };
        Ok(Self {
            file,
            info,
            name,
            direct,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// Geometry and identity of the device.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Whether the device was opened with `O_DIRECT`.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// `O_DIRECT` read of `[start, end)` into `buf[..end-start]`.
    fn read_direct(&self, buf: &mut [u8], start: u64, end: u64) -> Result<usize> {
        let sec = u64::from(self.info.logical_sector);
        let mem_align = mem_align(self.info.logical_sector);
        let want = (end - start) as usize;
        if start % sec == 0 && (want as u64) % sec == 0 && buf.as_ptr().addr() % mem_align == 0 {
            return self.pread_direct(&mut buf[..want], start);
        }
        let mut spare = self.take_buffer(mem_align);
        let skip = (mem_align - spare.as_ptr().addr() % mem_align) % mem_align;
        let bounce = &mut spare[skip..skip + BOUNCE_BYTES];
        let mut pos = start;
        let result = loop {
            if pos >= end {
                break Ok(());
            }
            let a_start = pos - pos % sec;
            // `end` is at most the device size, a multiple of the sector
            // size, so rounding up stays in range; saturate regardless.
            let a_end = end
                .div_ceil(sec)
                .saturating_mul(sec)
                .min(a_start.saturating_add(BOUNCE_BYTES as u64));
            let io_len = (a_end - a_start) as usize;
            let got = match self.pread_direct(&mut bounce[..io_len], a_start) {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            let avail_end = a_start.saturating_add(got as u64).min(end);
            if avail_end <= pos {
                break Ok(());
            }
            let src = &bounce[(pos - a_start) as usize..(avail_end - a_start) as usize];
            buf[(pos - start) as usize..(avail_end - start) as usize].copy_from_slice(src);
            pos = avail_end;
            if got < io_len {
                break Ok(());
            }
        };
        self.give_buffer(spare);
        result.map(|()| (pos - start) as usize)
    }

    /// Aligned positional read for `O_DIRECT`: like `pread_full`, but stops
    /// at a short read that would leave the next offset unaligned.
    fn pread_direct(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        use std::os::unix::fs::FileExt;
        let sec = self.info.logical_sector as usize;
        let mut done = 0usize;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    if done % sec != 0 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Read {
                        name: self.name.clone(),
                        offset,
                        len: buf.len() as u64,
                        source,
                    });
                }
            }
        }
        Ok(done)
    }

    fn take_buffer(&self, mem_align: usize) -> Vec<u8> {
        let spare = self
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        spare.unwrap_or_else(|| vec![0u8; BOUNCE_BYTES + mem_align])
    }

    fn give_buffer(&self, spare: Vec<u8>) {
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < POOL_MAX {
            pool.push(spare);
        }
    }
}

impl Source for BlockDevice {
    fn len(&self) -> u64 {
        self.info.size_bytes
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.info.size_bytes, offset, buf.len() as u64);
        if start == end {
            return Ok(0);
        }
        if self.direct {
            return self.read_direct(buf, start, end);
        }
        pread_source(&self.file, &self.name, buf, start, end)
    }

    fn sector_size(&self) -> SectorSize {
        SectorSize {
            logical: self.info.logical_sector,
            physical: self.info.physical_sector,
        }
    }
}

/// Geometry and sysfs identity of the block device at `path`, or `None` when
/// `path` is not a block device (a regular file, a directory…).
///
/// A missing path is [`Error::Open`]. The device is opened read-only (not
/// `O_DIRECT`) for the ioctls.
pub fn device_info(path: &Path) -> Result<Option<DeviceInfo>> {
    if !stat(path)?.file_type().is_block_device() {
        return Ok(None);
    }
    Ok(Some(BlockDevice::open(path, false)?.info))
}

/// Fails unless `meta` describes a block device.
fn check_block(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    require_type(
        path,
        meta,
        FileType::is_block_device,
        "open as a block device",
        "this is a regular file, not a block device",
    )
}

/// A logical sector size usable as an `O_DIRECT` alignment.
fn valid_sector(logical: u32) -> bool {
    logical.is_power_of_two() && (512..=MAX_SECTOR_BYTES).contains(&logical)
}

fn mem_align(logical: u32) -> usize {
    (logical as usize).max(MIN_MEM_ALIGN)
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;

/// Sets the block device at `path` read-only (`BLKROSET`, as `blockdev
/// --setro`), so nothing on this machine can write to it. Needs root. A
/// path that is not a block device is an error.
pub fn set_block_read_only(path: &Path) -> Result<()> {
    check_block(path, &stat(path)?)?;
    let file = open_read_only(path, OFlags::empty())?;
    ioctl::blk_ro_set(&file, true).map_err(|e| Error::Io {
        name: path.display().to_string(),
        what: "BLKROSET",
        source: e,
    })
}
