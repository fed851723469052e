//! Refusing to write onto evidence: an output must never be the image being
//! read, one of its segments, a block device overlapping it, or the ddrescue
//! mapfile it is read through.
//!
//! Files are compared by identity (`st_dev` + `st_ino`), so hard links,
//! symbolic links and `..` cannot hide the source. Block devices are compared
//! by device number (`st_rdev`), and through sysfs a partition is matched
//! with the disk holding it and a loop device with its backing file.

use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::registry::Opened;

impl Opened {
    /// Fails with [`Error::OutputIsSource`] when writing to `out` would write
    /// onto this image. A path that does not exist yet is fine.
    ///
    /// Call it before opening `out`: opening with truncation would already
    /// destroy the source.
    pub fn check_output_path(&self, out: &Path) -> Result<()> {
        match fs::metadata(out) {
            Ok(meta) => self.check_output_metadata(out, &meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::OutputStat {
                path: out.to_path_buf(),
                source,
            }),
        }
    }

    /// Like [`check_output_path`](Self::check_output_path) for an output that
    /// is already open (standard output, or a file just opened, to close the
    /// window between the check and the open). `out` names it in errors.
    pub fn check_output_file(&self, out: &Path, file: &File) -> Result<()> {
        let meta = file.metadata().map_err(|source| Error::OutputStat {
            path: out.to_path_buf(),
            source,
        })?;
        self.check_output_metadata(out, &meta)
    }

    fn check_output_metadata(&self, out: &Path, out_meta: &Metadata) -> Result<()> {
        let refuse = |segment: &Path, relation| Error::OutputIsSource {
            output: out.to_path_buf(),
            segment: segment.to_path_buf(),
            relation,
        };
        if let Some(map) = &self.rescue {
            let same = fs::metadata(map.path())
                .is_ok_and(|m| m.dev() == out_meta.dev() && m.ino() == out_meta.ino());
            if same {
                return Err(refuse(map.path(), "the same file as the mapfile"));
            }
        }
        for segment in &self.segments {
            // A segment that vanished cannot be written through `out`.
            let Ok(seg_meta) = fs::metadata(segment) else {
                continue;
            };
            if seg_meta.dev() == out_meta.dev() && seg_meta.ino() == out_meta.ino() {
                let relation = if self.segments.len() > 1 {
                    "the same file as a segment of the source"
                } else {
                    "the same file as the source"
                };
                return Err(refuse(segment, relation));
            }
            let seg_block = seg_meta.file_type().is_block_device();
            let out_block = out_meta.file_type().is_block_device();
            if seg_block && out_block {
                if seg_meta.rdev() == out_meta.rdev() {
                    return Err(refuse(segment, "the same block device as the source"));
                }
                if let (Some(seg_sys), Some(out_sys)) =
                    (sysfs_dir(seg_meta.rdev()), sysfs_dir(out_meta.rdev()))
                {
                    if let Some(relation) = nesting(&seg_sys, &out_sys) {
                        return Err(refuse(segment, relation));
                    }
                }
            }
            if out_block && !seg_block && loop_backs(out_meta.rdev(), &seg_meta) {
                return Err(refuse(segment, "a loop device backed by the source"));
            }
            if seg_block && !out_block && loop_backs(seg_meta.rdev(), out_meta) {
                return Err(refuse(
                    segment,
                    "the backing file of the source loop device",
                ));
            }
        }
        Ok(())
    }
}

/// Major number of a Linux `dev_t` (glibc's `gnu_dev_major`).
fn major(dev: u64) -> u64 {
    ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)
}

/// Minor number of a Linux `dev_t` (glibc's `gnu_dev_minor`).
fn minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev >> 12) & !0xff)
}

/// The canonical sysfs directory of a block device
/// (`/sys/devices/…/block/sda/sda1`), when sysfs is there.
fn sysfs_dir(rdev: u64) -> Option<PathBuf> {
    let link = format!("/sys/dev/block/{}:{}", major(rdev), minor(rdev));
    fs::canonicalize(link).ok()
}

/// How two different block devices nest, from their canonical sysfs
/// directories: a partition's directory lies inside its disk's
/// (`…/block/sda/sda1`).
fn nesting(source_sys: &Path, out_sys: &Path) -> Option<&'static str> {
    if out_sys.starts_with(source_sys) {
        Some("a partition of the source device")
    } else if source_sys.starts_with(out_sys) {
        Some("the disk holding the source partition")
    } else {
        None
    }
}

/// True when the block device `rdev` is a loop device whose backing file is
/// the file described by `file_meta`.
fn loop_backs(rdev: u64, file_meta: &Metadata) -> bool {
    let Some(dir) = sysfs_dir(rdev) else {
        return false;
    };
    let Ok(text) = fs::read_to_string(dir.join("loop/backing_file")) else {
        return false;
    };
    let backing = text.trim_end_matches('\n');
    match fs::metadata(backing) {
        Ok(m) => m.dev() == file_meta.dev() && m.ino() == file_meta.ino(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::open;
    use platter_core::sys::OpenOptions;

    /// glibc's `gnu_dev_makedev`.
    fn makedev(major: u64, minor: u64) -> u64 {
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    }

    #[test]
    fn dev_t_split() {
        for (ma, mi) in [(8, 17), (259, 65536), (4095, 1 << 19), (7, 0)] {
            let dev = makedev(ma, mi);
            assert_eq!((major(dev), minor(dev)), (ma, mi));
        }
        assert_eq!((major(0x811), minor(0x811)), (8, 17));
    }

    #[test]
    fn partitions_nest_in_their_disk() {
        let disk = Path::new("/sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vda");
        let part = disk.join("vda1");
        let other = Path::new("/sys/devices/virtual/block/loop0");
        let sibling = Path::new("/sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vdab");
        assert_eq!(
            nesting(disk, &part),
            Some("a partition of the source device")
        );
        assert_eq!(
            nesting(&part, disk),
            Some("the disk holding the source partition")
        );
        assert_eq!(nesting(disk, other), None);
        // Component-wise, not textual: `vdab` is not inside `vda`.
        assert_eq!(nesting(disk, sibling), None);
    }

    #[test]
    fn refuses_the_source_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        fs::write(&img, vec![0u8; 4096]).unwrap();
        let opened = open(&img, &OpenOptions::default()).unwrap();

        let err = opened.check_output_path(&img).unwrap_err();
        assert!(matches!(err, Error::OutputIsSource { .. }), "{err}");
        assert!(err.to_string().contains("disk.img"), "{err}");

        let hard = dir.path().join("hard");
        fs::hard_link(&img, &hard).unwrap();
        assert!(opened.check_output_path(&hard).is_err());

        let sym = dir.path().join("sym");
        std::os::unix::fs::symlink(&img, &sym).unwrap();
        assert!(opened.check_output_path(&sym).is_err());

        let dotted = dir.path().join("sub/../disk.img");
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(opened.check_output_path(&dotted).is_err());

        let file = File::open(&img).unwrap();
        assert!(opened.check_output_file(&img, &file).is_err());
    }

    #[test]
    fn accepts_other_and_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        let other = dir.path().join("other.img");
        fs::write(&img, vec![0u8; 4096]).unwrap();
        fs::write(&other, vec![0u8; 4096]).unwrap();
        let opened = open(&img, &OpenOptions::default()).unwrap();
        opened.check_output_path(&other).unwrap();
        opened
            .check_output_path(&dir.path().join("new.img"))
            .unwrap();
        let file = File::open(&other).unwrap();
        opened.check_output_file(&other, &file).unwrap();
    }

    #[test]
    fn refuses_the_mapfile_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        let map = dir.path().join("disk.map");
        fs::write(&img, vec![0u8; 4096]).unwrap();
        fs::write(&map, "0 +\n0 4096 +\n").unwrap();
        let opened = crate::open_rescued(&img, &map, &OpenOptions::default()).unwrap();
        let link = dir.path().join("link.map");
        std::os::unix::fs::symlink(&map, &link).unwrap();
        for out in [&map, &link] {
            let err = opened.check_output_path(out).unwrap_err();
            assert!(
                err.to_string().contains("the same file as the mapfile"),
                "{err}"
            );
            assert!(err.to_string().contains("disk.map"), "{err}");
        }
        assert!(opened.check_output_path(&img).is_err());
        let file = File::open(&map).unwrap();
        assert!(opened.check_output_file(&map, &file).is_err());
        opened
            .check_output_path(&dir.path().join("other.map"))
            .unwrap();
    }

    #[test]
    fn refuses_every_segment_of_a_split_set() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=3 {
            fs::write(dir.path().join(format!("x.{i:03}")), vec![i as u8; 1024]).unwrap();
        }
        let opened = open(&dir.path().join("x.001"), &OpenOptions::default()).unwrap();
        assert_eq!(opened.segments.len(), 3);
        for i in 1..=3 {
            let seg = dir.path().join(format!("x.{i:03}"));
            let err = opened.check_output_path(&seg).unwrap_err();
            assert!(err.to_string().contains("segment"), "{err}");
        }
    }
}
