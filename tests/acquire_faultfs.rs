//! A FUSE test helper: a read-only filesystem with one file, `disk.img`,
//! whose configured sectors fail with `EIO` from the kernel, like a failing
//! disk, and whose configured *changing* ranges read differently from the
//! second read on (a disk that returns unstable data). The file is opened in direct-I/O mode, so every read reaches the
//! helper (no page cache, no readahead hiding or spreading the errors).
//!
//! Mounting needs `/dev/fuse` (and root or `fusermount3`); when it is
//! absent [`FaultFs::mount`] returns `None` and the tests say they skip.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen,
    Request,
};

/// The sector size of the fake disk.
pub const SECTOR: u64 = 512;
const FILE_INO: INodeNo = INodeNo(2);
const NAME: &str = "disk.img";

struct Fs {
    data: Arc<Vec<u8>>,
    bad: Arc<Mutex<BTreeSet<u64>>>,
    /// Byte ranges `(offset, len)` whose bytes are inverted on every read
    /// of a sector after its first.
    changing: Vec<(u64, u64)>,
    /// How many times each sector of a changing range was read.
    reads: Mutex<HashMap<u64, u32>>,
    delay: Duration,
}

impl Fs {
    /// `data[offset..end]`, with the changing ranges of sectors read before
    /// inverted; counts this read.
    fn serve(&self, offset: u64, end: u64) -> Vec<u8> {
        let mut out = self.data[offset as usize..end as usize].to_vec();
        if self.changing.is_empty() {
            return out;
        }
        let mut reads = self.reads.lock().unwrap();
        for sector in offset / SECTOR..=(end - 1) / SECTOR {
            let (s_lo, s_hi) = (sector * SECTOR, (sector + 1) * SECTOR);
            let mut seen = None;
            for &(c_off, c_len) in &self.changing {
                let lo = s_lo.max(c_off).max(offset);
                let hi = s_hi.min(c_off + c_len).min(end);
                if lo >= hi {
                    continue;
                }
                let count = *seen.get_or_insert_with(|| {
                    let n = reads.entry(sector).or_insert(0);
                    *n += 1;
                    *n
                });
                if count > 1 {
                    for b in &mut out[(lo - offset) as usize..(hi - offset) as usize] {
                        *b ^= 0xff;
                    }
                }
            }
        }
        out
    }
}

fn attr(ino: INodeNo, size: u64, kind: FileType) -> FileAttr {
    FileAttr {
        ino,
        size,
        blocks: size.div_ceil(512),
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind,
        perm: if kind == FileType::Directory {
            0o555
        } else {
            0o444
        },
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 512,
        flags: 0,
    }
}

const TTL: Duration = Duration::from_secs(60);

impl Filesystem for Fs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent == INodeNo::ROOT && name == NAME {
            let a = attr(FILE_INO, self.data.len() as u64, FileType::RegularFile);
            reply.entry(&TTL, &a, Generation(0));
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        if ino == INodeNo::ROOT {
            reply.attr(&TTL, &attr(ino, 0, FileType::Directory));
        } else if ino == FILE_INO {
            reply.attr(
                &TTL,
                &attr(ino, self.data.len() as u64, FileType::RegularFile),
            );
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn open(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        if ino != FILE_INO {
            reply.error(Errno::ENOENT);
            return;
        }
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        let len = self.data.len() as u64;
        let end = offset.saturating_add(u64::from(size)).min(len);
        if offset >= end {
            reply.data(&[]);
            return;
        }
        let first = offset / SECTOR;
        let last = (end - 1) / SECTOR;
        let hit = self
            .bad
            .lock()
            .unwrap()
            .range(first..=last)
            .next()
            .is_some();
        if hit {
            reply.error(Errno::EIO);
        } else {
            reply.data(&self.serve(offset, end));
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            reply.error(Errno::ENOENT);
            return;
        }
        let entries = [
            (INodeNo::ROOT, FileType::Directory, "."),
            (INodeNo::ROOT, FileType::Directory, ".."),
            (FILE_INO, FileType::RegularFile, NAME),
        ];
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// A mounted faulty disk; unmounted when dropped.
pub struct FaultFs {
    session: Option<fuser::BackgroundSession>,
    mountpoint: PathBuf,
}

impl FaultFs {
    /// Mounts `data` as `MOUNTPOINT/disk.img` with `bad` sectors failing,
    /// each read request delayed by `delay`. `None` (with a message) when
    /// this machine has no FUSE.
    pub fn mount(
        mountpoint: &Path,
        data: Vec<u8>,
        bad: &[u64],
        delay: Duration,
    ) -> Option<FaultFs> {
        Self::mount_with(mountpoint, data, bad, &[], delay)
    }

    /// Mounts `data` whose byte ranges `changing` (`(offset, len)`) read
    /// as stored the first time each sector is read and inverted (every
    /// byte XOR 0xff) on every later read. `None` without FUSE.
    pub fn mount_changing(
        mountpoint: &Path,
        data: Vec<u8>,
        changing: &[(u64, u64)],
    ) -> Option<FaultFs> {
        Self::mount_with(mountpoint, data, &[], changing, Duration::ZERO)
    }

    fn mount_with(
        mountpoint: &Path,
        data: Vec<u8>,
        bad: &[u64],
        changing: &[(u64, u64)],
        delay: Duration,
    ) -> Option<FaultFs> {
        if !Path::new("/dev/fuse").exists() {
            eprintln!("skipping: /dev/fuse is absent, so no FUSE faulty-disk helper");
            return None;
        }
        std::fs::create_dir_all(mountpoint).expect("create mountpoint");
        let bad = Arc::new(Mutex::new(bad.iter().copied().collect::<BTreeSet<u64>>()));
        let fs = Fs {
            data: Arc::new(data),
            bad,
            changing: changing.to_vec(),
            reads: Mutex::new(HashMap::new()),
            delay,
        };
        let mut cfg = Config::default();
        cfg.mount_options = vec![
            MountOption::RO,
            MountOption::FSName("platter-faultfs".into()),
        ];
        cfg.n_threads = Some(2);
        let session = fuser::spawn_mount(fs, mountpoint, &cfg)
            .unwrap_or_else(|e| panic!("/dev/fuse exists but mounting FUSE failed: {e}"));
        let ffs = FaultFs {
            session: Some(session),
            mountpoint: mountpoint.to_path_buf(),
        };
        // Wait until the kernel serves the file.
        for _ in 0..200 {
            if ffs.disk().exists() {
                return Some(ffs);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "the FUSE mount at {} never showed {NAME}",
            mountpoint.display()
        );
    }

    /// The faulty file.
    pub fn disk(&self) -> PathBuf {
        self.mountpoint.join(NAME)
    }
}

impl Drop for FaultFs {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.umount_and_join();
        }
    }
}

/// `data` with every bad sector replaced by the zero fill: what an
/// acquisition must produce.
pub fn expected_image(data: &[u8], bad: &[u64]) -> Vec<u8> {
    let mut e = data.to_vec();
    for &s in bad {
        let a = (s * SECTOR) as usize;
        let b = (a + SECTOR as usize).min(e.len());
        e[a..b].fill(0);
    }
    e
}
