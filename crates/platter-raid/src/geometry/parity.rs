//! RAID4/5/6 placement of P, Q and data in one row, and the Q exponent of
//! each data block.
//!
//! Source of truth: `drivers/md/raid5.c` in Linux. `raid5_compute_sector`
//! gives `pd_idx`, `qd_idx` and the data disk for each layout;
//! `raid6_d0` and `raid6_idx_to_slot` (used by `set_syndrome_sources`) give
//! the order in which data disks enter the Q syndrome. The same formulas are
//! in mdadm's `restripe.c` (`geo_map`). This is our own code.

use super::level::{Level, ParityLayout};

/// Where P, Q and the data blocks of one row sit, as slot numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    pub p: usize,
    pub q: Option<usize>,
    /// Data slots in logical order (data index 0, 1, …).
    pub data: Vec<usize>,
    /// Q exponent of each data slot, in the same order (RAID6 only).
    pub q_exponents: Vec<u8>,
}

/// Delayed parity (HP Smart Array style): the parity group of row `r`.
/// Parity stays on one member for `every` rows; the first group holds
/// `first` rows: g = 0 if r < first, else 1 + (r − first) / every.
/// The formula comes from docs of recovery tools and is unverified against
/// a real controller.
pub(crate) fn delayed_group(r: u64, every: u32, first: u32) -> u64 {
    let (d, f) = (u64::from(every.max(1)), u64::from(first));
    if r < f { 0 } else { 1 + (r - f) / d }
}

/// The placement of row `s` (after any delayed-parity mapping) for `n`
/// members. `level` is Raid4, Raid5 or Raid6; the caller validated `n`
/// (≥ 2, ≥ 4 for RAID6) and the layout.
pub(crate) fn place(level: Level, layout: ParityLayout, n: usize, s: u64) -> Placement {
    let nn = n as u64;
    // `s % x` fits in usize because x ≤ n.
    let rot = |m: usize| (s % m as u64) as usize;
    if level != Level::Raid6 {
        let k = n - 1;
        let (p, data): (usize, Vec<usize>) = match (level, layout) {
            (Level::Raid4, ParityLayout::ParityFirst) => (0, (1..n).collect()),
            (Level::Raid4, _) => (k, (0..k).collect()),
            (_, ParityLayout::LeftAsymmetric) => {
                let p = k - rot(n);
                (p, (0..k).map(|d| d + usize::from(d >= p)).collect())
            }
            (_, ParityLayout::RightAsymmetric) => {
                let p = rot(n);
                (p, (0..k).map(|d| d + usize::from(d >= p)).collect())
            }
            (_, ParityLayout::LeftSymmetric) => {
                let p = k - rot(n);
                (p, (0..k).map(|d| (p + 1 + d) % n).collect())
            }
            (_, ParityLayout::RightSymmetric) => {
                let p = rot(n);
                (p, (0..k).map(|d| (p + 1 + d) % n).collect())
            }
            (_, ParityLayout::ParityFirst) => (0, (1..n).collect()),
            // ParityLast; validation keeps RAID6-only layouts away from RAID5.
            _ => (k, (0..k).collect()),
        };
        return Placement {
            p,
            q: None,
            data,
            q_exponents: Vec::new(),
        };
    }
    let k = n - 2;
    // "Restart" family: q follows p; data restarts at disk 0 skipping p, q.
    let restart = |p: usize| -> (usize, Vec<usize>) {
        if p == n - 1 {
            (0, (0..k).map(|d| d + 1).collect())
        } else {
            (
                p + 1,
                (0..k).map(|d| if d >= p { d + 2 } else { d }).collect(),
            )
        }
    };
    let (p, q, data): (usize, usize, Vec<usize>) = match layout {
        ParityLayout::LeftAsymmetric => {
            let p = n - 1 - rot(n);
            let (q, data) = restart(p);
            (p, q, data)
        }
        ParityLayout::RightAsymmetric | ParityLayout::DdfZeroRestart => {
            let p = rot(n);
            let (q, data) = restart(p);
            (p, q, data)
        }
        ParityLayout::DdfNRestart => {
            // The kernel rotates from stripe + 1 (`stripe2 += 1`).
            let p = n - 1 - ((s % nn + 1) % nn) as usize;
            let (q, data) = restart(p);
            (p, q, data)
        }
        ParityLayout::LeftSymmetric => {
            let p = n - 1 - rot(n);
            (p, (p + 1) % n, (0..k).map(|d| (p + 2 + d) % n).collect())
        }
        ParityLayout::RightSymmetric => {
            let p = rot(n);
            (p, (p + 1) % n, (0..k).map(|d| (p + 2 + d) % n).collect())
        }
        ParityLayout::ParityFirst => (0, 1, (0..k).map(|d| d + 2).collect()),
        ParityLayout::ParityLast => (k, k + 1, (0..k).collect()),
        ParityLayout::DdfNContinue => {
            let p = n - 1 - rot(n);
            (
                p,
                (p + n - 1) % n,
                (0..k).map(|d| (p + 1 + d) % n).collect(),
            )
        }
        // The -6 layouts: the RAID5 layout over the first n-1 disks, Q last.
        ParityLayout::LeftAsymmetric6 => {
            let p = k - rot(n - 1);
            (p, n - 1, (0..k).map(|d| d + usize::from(d >= p)).collect())
        }
        ParityLayout::RightAsymmetric6 => {
            let p = rot(n - 1);
            (p, n - 1, (0..k).map(|d| d + usize::from(d >= p)).collect())
        }
        ParityLayout::LeftSymmetric6 => {
            let p = k - rot(n - 1);
            (p, n - 1, (0..k).map(|d| (p + 1 + d) % (n - 1)).collect())
        }
        ParityLayout::RightSymmetric6 => {
            let p = rot(n - 1);
            (p, n - 1, (0..k).map(|d| (p + 1 + d) % (n - 1)).collect())
        }
        ParityLayout::ParityFirst6 => (0, n - 1, (0..k).map(|d| d + 1).collect()),
    };
    let q_exponents = q_exponents(layout.is_ddf(), n, p, q, &data);
    Placement {
        p,
        q: Some(q),
        data,
        q_exponents,
    }
}

/// The Q exponent of each data slot (kernel `raid6_d0` and
/// `raid6_idx_to_slot`): DDF layouts use the physical disk index; md's
/// own layouts number the data disks in the order met walking the disks
/// from just after Q (from disk 0 when Q is the last disk).
fn q_exponents(ddf: bool, n: usize, p: usize, q: usize, data: &[usize]) -> Vec<u8> {
    if ddf {
        return data.iter().map(|&d| d as u8).collect();
    }
    let d0 = if q == n - 1 { 0 } else { q + 1 };
    let mut by_disk = vec![0u8; n];
    let mut count = 0u8;
    for i in 0..n {
        let disk = (d0 + i) % n;
        if disk != p && disk != q {
            by_disk[disk] = count;
            count = count.wrapping_add(1);
        }
    }
    data.iter().map(|&d| by_disk[d]).collect()
}
