//! Block-device tests on real loop devices (needs root and `losetup`).

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use super::*;
use crate::sys::{OpenOptions, open_os};

/// Serializes loop setup so parallel tests do not race for the same device.
static LOOP_LOCK: Mutex<()> = Mutex::new(());

/// A loop device, detached on drop (also when the test fails).
struct Loop {
    dev: PathBuf,
}

impl Loop {
    /// Attaches `file` with extra `losetup` args; `None` (with a message)
    /// when loop devices cannot be used here.
    fn attach(file: &Path, args: &[&str]) -> Option<Loop> {
        let _g = LOOP_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .args(args)
            .arg(file)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let dev = String::from_utf8_lossy(&o.stdout).trim().to_string();
                Some(Loop { dev: dev.into() })
            }
            Ok(o) => {
                eprintln!(
                    "SKIPPING loop-device test: losetup failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPING loop-device test: cannot run losetup: {e}");
                None
            }
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Reads `[off, off+n)` from `dev` and compares with `data`.
fn check_range(dev: &BlockDevice, data: &[u8], off: usize, n: usize) {
    let mut buf = vec![0u8; n];
    dev.read_exact_at(&mut buf, off as u64)
        .unwrap_or_else(|e| panic!("direct={} off={off} n={n}: {e}", dev.is_direct()));
    assert!(
        buf == data[off..off + n],
        "direct={} off={off} n={n}: bytes differ",
        dev.is_direct()
    );
}

fn check_reads(dev: &BlockDevice, data: &[u8]) {
    let len = data.len();
    assert_eq!(dev.len(), len as u64);
    let cases = [
        (0, len),
        (0, 4096),
        (1, 1),
        (511, 2),
        (4095, 4098),
        (12_345, 100_000),
        (3, (1 << 20) + 5000), // longer than one bounce buffer
        (len - 1, 1),
        (len - 4096, 4096),
    ];
    for (off, n) in cases {
        check_range(dev, data, off, n);
    }
    // Aligned offset and length into an aligned buffer: the no-bounce path.
    let mut raw = vec![0u8; 3 * 4096 + 8192];
    let skip = (8192 - raw.as_ptr().addr() % 8192) % 8192;
    let aligned = &mut raw[skip..skip + 3 * 4096];
    dev.read_exact_at(aligned, 8192).unwrap();
    assert!(aligned == &data[8192..8192 + 3 * 4096]);
    // Crossing the end: a short read; at the end: nothing.
    let mut buf = vec![0u8; 10_000];
    assert_eq!(dev.read_at(&mut buf, (len - 700) as u64).unwrap(), 700);
    assert!(buf[..700] == data[len - 700..]);
    assert_eq!(dev.read_at(&mut buf, len as u64).unwrap(), 0);
    assert!(matches!(
        dev.read_exact_at(&mut buf, (len - 700) as u64),
        Err(Error::Truncated { got: 700, .. })
    ));
}

/// Concurrent unaligned reads from several threads share one device.
fn check_threads(dev: Arc<BlockDevice>, data: Arc<Vec<u8>>) {
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let (dev, data) = (Arc::clone(&dev), Arc::clone(&data));
            std::thread::spawn(move || {
                let rnd = pattern(64, t + 100);
                for pair in rnd.chunks(2) {
                    let off = usize::from(pair[0]) * 4099 + t as usize;
                    let n = usize::from(pair[1]) * 37 + 1;
                    check_range(&dev, &data, off, n);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn loop_device_4096_byte_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk4k.img");
    let data = pattern((1 << 20) + 3 * 4096, 1);
    fs::write(&img, &data).unwrap();
    let Some(lo) = Loop::attach(&img, &["--sector-size", "4096"]) else {
        return;
    };
    let data = Arc::new(data);
    for direct in [false, true] {
        let dev = BlockDevice::open(&lo.dev, direct).unwrap();
        assert_eq!(dev.is_direct(), direct);
        let info = dev.info();
        assert_eq!(info.path, lo.dev);
        assert_eq!(info.size_bytes, data.len() as u64);
        assert_eq!(info.logical_sector, 4096);
        assert!(info.physical_sector >= 4096, "{info:?}");
        assert!(!info.read_only);
        let kernel_name = lo.dev.file_name().unwrap().to_str().unwrap();
        assert_eq!(info.sysfs_name.as_deref(), Some(kernel_name));
        assert_eq!(info.removable, Some(false));
        assert_eq!(info.model, None, "loop devices have no hardware model");
        assert_eq!(
            dev.sector_size(),
            SectorSize {
                logical: 4096,
                physical: info.physical_sector
            }
        );
        check_reads(&dev, &data);
        check_threads(Arc::new(dev), Arc::clone(&data));
    }
    // The kernel really enforces the alignment we work around: an unaligned
    // O_DIRECT pread on the raw fd fails, so the test above proves the bounce
    // path, not a lenient device.
    let raw = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(&lo.dev)
        .unwrap();
    let mut small = vec![0u8; 8192];
    assert!(std::os::unix::fs::FileExt::read_at(&raw, &mut small[1..4097], 512).is_err());
}

#[test]
fn loop_device_512_read_only_via_open_os_and_device_info() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("disk512.img");
    let data = pattern(2_301 * 512, 2); // odd sector count, > 1 MiB
    fs::write(&img, &data).unwrap();
    let Some(lo) = Loop::attach(&img, &["-r"]) else {
        return;
    };
    let info = device_info(&lo.dev).unwrap().expect("a block device");
    assert_eq!(info.size_bytes, data.len() as u64);
    assert_eq!(info.logical_sector, 512);
    assert!(info.read_only, "losetup -r makes the device read-only");
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["read_only"], true);
    assert_eq!(json["logical_sector"], 512);
    assert_eq!(json["path"], lo.dev.to_str().unwrap());

    for direct in [false, true] {
        let src = open_os(
            &lo.dev,
            &OpenOptions {
                direct,
                mmap: true, // ignored for block devices
            },
        )
        .unwrap();
        assert!(format!("{src:?}").starts_with("BlockDevice"));
        assert_eq!(src.sector_size().logical, 512);
        let dev = BlockDevice::open(&lo.dev, direct).unwrap();
        check_reads(&dev, &data);
    }
}
