//! md RAID10: near, far and offset copies.
//!
//! Kernel `drivers/md/raid10.c`: `__raid10_find_phys` places the near
//! copies of chunk c on consecutive devices starting at (c·near) mod n, in
//! device row (c·near) / n (times `far` in offset mode); each far copy
//! moves `near` devices on (within its far set) and `stride` further down.
//! `calc_sectors` sets the stride to one chunk in offset mode, else to the
//! per-device size divided by `far`; `raid10_size` gives the array size.

use super::level::Raid10Layout;

/// Resolved RAID10 geometry (in chunks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raid10Geo {
    pub layout: Raid10Layout,
    pub disks: u64,
    pub far_set_size: u64,
    /// Distance between far copies, in chunks.
    pub stride: u64,
    /// Array size in chunks.
    pub array_chunks: u64,
}

impl Raid10Geo {
    /// Resolves the layout for `disks` members of `dev_chunks` usable chunks
    /// each (kernel `setup_geo`, `calc_sectors`, `raid10_size`).
    pub fn new(layout: Raid10Layout, disks: u64, dev_chunks: u64) -> Raid10Geo {
        let (nc, fc) = (u64::from(layout.near), u64::from(layout.far));
        let far_set_size = if layout.far_sets {
            (disks / fc).max(1)
        } else {
            disks
        };
        // calc_sectors: array chunks, then chunks actually used per device.
        let size = (dev_chunks / fc) * disks / nc;
        let used = (size * nc * fc).div_ceil(disks);
        let stride = if layout.offset { 1 } else { used / fc };
        let array_chunks = (used / fc) * disks / nc;
        Raid10Geo {
            layout,
            disks,
            far_set_size,
            stride,
            array_chunks,
        }
    }

    /// Every copy of array chunk `chunk`: (device, device chunk row), near
    /// copies first, each followed by its far copies.
    pub fn copies(&self, chunk: u64) -> Vec<(usize, u64)> {
        let (nc, fc) = (u64::from(self.layout.near), u64::from(self.layout.far));
        let n = self.disks;
        let fss = self.far_set_size;
        let last_set_start = (n / fss - 1) * fss;
        let last_set_size = fss + n % fss;
        let c = chunk * nc;
        let mut stripe = c / n;
        let mut dev = c % n;
        if self.layout.offset {
            stripe *= fc;
        }
        let mut out = Vec::with_capacity((nc * fc) as usize);
        for _ in 0..nc {
            let mut d = dev;
            let mut s = stripe;
            out.push((d as usize, s));
            for _ in 1..fc {
                let set = d / fss;
                d += nc;
                if n % fss != 0 && d > last_set_start {
                    d -= last_set_start;
                    d %= last_set_size;
                    d += last_set_start;
                } else {
                    d %= fss;
                    d += fss * set;
                }
                s += self.stride;
                out.push((d as usize, s));
            }
            dev += 1;
            if dev >= n {
                dev = 0;
                stripe += 1;
            }
        }
        out
    }
}
