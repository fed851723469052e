//! An independent striper: writes member data areas from array content,
//! straight from the Linux md formulas. It shares no code with platter-raid
//! (the engine under test): levels and layouts are md numbers, P/Q come
//! from its own GF(2^8) tables, and it is proven byte for byte against the
//! kernel-made arrays of `fixtures/raid` (see `md_check`).
//!
//! Sources (read, not copied):
//! - `drivers/md/raid5.c` `raid5_compute_sector` (RAID4/5/6 placement of P,
//!   Q and data for every `ALGORITHM_*`), `raid6_d0` and
//!   `raid6_idx_to_slot` (the order data blocks enter the Q syndrome: md's
//!   own layouts walk the disks from just after Q; DDF layouts use the
//!   physical index, P and Q counting as zero blocks);
//! - `lib/raid6`: Q = ⊕ g^j·D_j over GF(2^8), polynomial 0x11d, g = 2;
//! - `drivers/md/raid10.c` `__raid10_find_phys`, `calc_sectors`,
//!   `raid10_size` (near, far and offset copies; no far sets);
//! - `drivers/md/raid0.c` with equal members (one zone) and md linear;
//! - delayed parity as platter documents it (`DelayedParity` in
//!   crates/platter-raid/src/geometry/mod.rs, REFERENCE.md): row r uses the
//!   base layout's placement of row g = 0 if r < F else 1 + (r − F) / D.
//!   No controller was available to verify that formula.

use std::io;

/// md RAID levels (linear is md's −1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MdLevel {
    /// Striping.
    Raid0,
    /// Mirroring.
    Raid1,
    /// Dedicated parity.
    Raid4,
    /// Rotating parity.
    Raid5,
    /// P and Q.
    Raid6,
    /// md RAID10.
    Raid10,
    /// Concatenation.
    Linear,
}

impl MdLevel {
    /// "raid5", "linear", ….
    pub fn name(self) -> &'static str {
        match self {
            MdLevel::Raid0 => "raid0",
            MdLevel::Raid1 => "raid1",
            MdLevel::Raid4 => "raid4",
            MdLevel::Raid5 => "raid5",
            MdLevel::Raid6 => "raid6",
            MdLevel::Raid10 => "raid10",
            MdLevel::Linear => "linear",
        }
    }
}

/// What to stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Level.
    pub level: MdLevel,
    /// md algorithm number for RAID4/5/6 (`ALGORITHM_*`); RAID4 uses 5
    /// (parity last, md's only RAID4) or 4 (parity first).
    pub algo: u32,
    /// RAID10: (near, far, offset).
    pub r10: (u64, u64, bool),
    /// Chunk bytes (a multiple of 512).
    pub chunk: u64,
    /// Members.
    pub n: usize,
    /// Delayed parity (D, F) for RAID5.
    pub delay: Option<(u64, u64)>,
    /// Data-area bytes of every member (linear: see `linear_sizes`).
    pub member_bytes: u64,
    /// Linear: data-area bytes of each member.
    pub linear_sizes: Vec<u64>,
}

/// Where striped bytes go: `put(slot, offset within the data area, bytes)`.
pub trait Sink {
    /// Stores `data` at `at` in slot `slot`'s data area.
    fn put(&mut self, slot: usize, at: u64, data: &[u8]) -> io::Result<()>;
}

/// In-memory member data areas (for the fixture check).
pub struct MemSink(pub Vec<Vec<u8>>);

impl Sink for MemSink {
    fn put(&mut self, slot: usize, at: u64, data: &[u8]) -> io::Result<()> {
        let m = &mut self.0[slot];
        let end = at as usize + data.len();
        if m.len() < end {
            m.resize(end, 0);
        }
        m[at as usize..end].copy_from_slice(data);
        Ok(())
    }
}

impl Spec {
    /// Data chunks per row (RAID4/5/6).
    fn data_disks(&self) -> usize {
        match self.level {
            MdLevel::Raid6 => self.n - 2,
            _ => self.n - 1,
        }
    }

    /// md `calc_sectors` for RAID10: (used chunks per device, stride in
    /// chunks between far copies, array chunks).
    fn raid10_geometry(&self) -> (u64, u64, u64) {
        let (near, far, offset) = self.r10;
        let n = self.n as u64;
        let member_chunks = self.member_bytes / self.chunk;
        let array_chunks = member_chunks / far * n / near;
        let dev_chunks = (array_chunks * near * far).div_ceil(n);
        let stride = if offset { 1 } else { dev_chunks / far };
        (dev_chunks, stride, array_chunks)
    }

    /// Array bytes the spec stores.
    pub fn array_bytes(&self) -> u64 {
        let rows = self.member_bytes / self.chunk.max(1);
        match self.level {
            MdLevel::Raid0 => rows * self.chunk * self.n as u64,
            MdLevel::Raid1 => self.member_bytes,
            MdLevel::Raid4 | MdLevel::Raid5 | MdLevel::Raid6 => {
                rows * self.chunk * self.data_disks() as u64
            }
            MdLevel::Raid10 => self.raid10_geometry().2 * self.chunk,
            MdLevel::Linear => self.linear_sizes.iter().sum(),
        }
    }

    /// How many member failures the level survives (RAID1: n − 1).
    pub fn redundancy(&self) -> usize {
        match self.level {
            MdLevel::Raid0 | MdLevel::Linear => 0,
            MdLevel::Raid1 => self.n - 1,
            MdLevel::Raid4 | MdLevel::Raid5 => 1,
            MdLevel::Raid6 => 2,
            MdLevel::Raid10 => (self.r10.0 * self.r10.1) as usize - 1,
        }
    }
}

/// `raid5_compute_sector` for data index `dd` of stripe `stripe`:
/// (pd_idx, qd_idx, disk of the data block, ddf_layout).
fn compute(spec: &Spec, stripe: u64, dd: usize) -> (usize, Option<usize>, usize, bool) {
    let n = spec.n;
    let nn = n as u64;
    let data_disks = spec.data_disks();
    let s_mod = |m: usize| (stripe % m as u64) as usize;
    match spec.level {
        MdLevel::Raid4 => {
            if spec.algo == 4 {
                (0, None, dd + 1, false)
            } else {
                (data_disks, None, dd, false)
            }
        }
        MdLevel::Raid5 => {
            let (pd, d) = match spec.algo {
                0 => {
                    let pd = data_disks - s_mod(n);
                    (pd, if dd >= pd { dd + 1 } else { dd })
                }
                1 => {
                    let pd = s_mod(n);
                    (pd, if dd >= pd { dd + 1 } else { dd })
                }
                2 => {
                    let pd = data_disks - s_mod(n);
                    (pd, (pd + 1 + dd) % n)
                }
                3 => {
                    let pd = s_mod(n);
                    (pd, (pd + 1 + dd) % n)
                }
                4 => (0, dd + 1),
                5 => (data_disks, dd),
                a => panic!("no RAID5 algorithm {a}"),
            };
            (pd, None, d, false)
        }
        MdLevel::Raid6 => {
            // The "restart" shape shared by left/right-asymmetric and the
            // two DDF restart layouts.
            let restart = |pd: usize| -> (usize, usize) {
                if pd == n - 1 {
                    (0, dd + 1)
                } else if dd >= pd {
                    (pd + 1, dd + 2)
                } else {
                    (pd + 1, dd)
                }
            };
            let (pd, qd, d, ddf) = match spec.algo {
                0 => {
                    let pd = n - 1 - s_mod(n);
                    let (q, d) = restart(pd);
                    (pd, q, d, false)
                }
                1 => {
                    let pd = s_mod(n);
                    let (q, d) = restart(pd);
                    (pd, q, d, false)
                }
                2 => {
                    let pd = n - 1 - s_mod(n);
                    (pd, (pd + 1) % n, (pd + 2 + dd) % n, false)
                }
                3 => {
                    let pd = s_mod(n);
                    (pd, (pd + 1) % n, (pd + 2 + dd) % n, false)
                }
                4 => (0, 1, dd + 2, false),
                5 => (data_disks, data_disks + 1, dd, false),
                8 => {
                    let pd = s_mod(n);
                    let (q, d) = restart(pd);
                    (pd, q, d, true)
                }
                9 => {
                    let pd = n - 1 - ((stripe + 1) % nn) as usize;
                    let (q, d) = restart(pd);
                    (pd, q, d, true)
                }
                10 => {
                    let pd = n - 1 - s_mod(n);
                    (pd, (pd + n - 1) % n, (pd + 1 + dd) % n, true)
                }
                16 => {
                    let pd = data_disks - s_mod(n - 1);
                    (pd, n - 1, if dd >= pd { dd + 1 } else { dd }, false)
                }
                17 => {
                    let pd = s_mod(n - 1);
                    (pd, n - 1, if dd >= pd { dd + 1 } else { dd }, false)
                }
                18 => {
                    let pd = data_disks - s_mod(n - 1);
                    (pd, n - 1, (pd + 1 + dd) % (n - 1), false)
                }
                19 => {
                    let pd = s_mod(n - 1);
                    (pd, n - 1, (pd + 1 + dd) % (n - 1), false)
                }
                20 => (0, n - 1, dd + 1, false),
                a => panic!("no RAID6 algorithm {a}"),
            };
            (pd, Some(qd), d, ddf)
        }
        l => panic!("{l:?} has no parity"),
    }
}

/// `raid6_d0` + `raid6_idx_to_slot`: the Q exponent of each disk (P and Q
/// get none).
fn q_exponents(n: usize, pd: usize, qd: usize, ddf: bool) -> Vec<Option<u8>> {
    let d0 = if ddf || qd == n - 1 { 0 } else { qd + 1 };
    let mut out = vec![None; n];
    let mut count = 0u8;
    for i in 0..n {
        let disk = (d0 + i) % n;
        let slot = count;
        if ddf {
            count += 1;
        }
        if disk == pd || disk == qd {
            continue;
        }
        if !ddf {
            count += 1;
        }
        out[disk] = Some(slot);
    }
    out
}

/// GF(2^8) with polynomial 0x11d: exp and log tables.
struct Gf {
    exp: [u8; 512],
    log: [u8; 256],
}

impl Gf {
    fn new() -> Gf {
        let mut exp = [0u8; 512];
        let mut log = [0u8; 256];
        let mut x: u16 = 1;
        for (i, e) in exp.iter_mut().take(255).enumerate() {
            *e = x as u8;
            log[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= 0x11d;
            }
        }
        for i in 255..512 {
            exp[i] = exp[i - 255];
        }
        Gf { exp, log }
    }

    /// The table of y ↦ g^e · y.
    fn times_pow2(&self, e: u8) -> [u8; 256] {
        let mut t = [0u8; 256];
        for (y, v) in t.iter_mut().enumerate().skip(1) {
            *v = self.exp[self.log[y] as usize + e as usize];
        }
        t
    }
}

/// Stripes the array content (`read(offset, buf)` fills `buf` from array
/// offset `offset`, zeros past the content) into `sink`, for every slot.
pub fn stripe(
    spec: &Spec,
    read: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let c = spec.chunk;
    let n = spec.n;
    let mut buf = vec![0u8; c as usize];
    match spec.level {
        MdLevel::Raid1 => {
            let mut at = 0;
            let mut big = vec![0u8; 1 << 20];
            while at < spec.member_bytes {
                let len = (spec.member_bytes - at).min(big.len() as u64) as usize;
                read(at, &mut big[..len])?;
                for slot in 0..n {
                    sink.put(slot, at, &big[..len])?;
                }
                at += len as u64;
            }
        }
        MdLevel::Linear => {
            let mut base = 0;
            let mut big = vec![0u8; 1 << 20];
            for (slot, &size) in spec.linear_sizes.iter().enumerate() {
                let mut at = 0;
                while at < size {
                    let len = (size - at).min(big.len() as u64) as usize;
                    read(base + at, &mut big[..len])?;
                    sink.put(slot, at, &big[..len])?;
                    at += len as u64;
                }
                base += size;
            }
        }
        MdLevel::Raid0 => {
            let chunks = spec.array_bytes() / c;
            for chunk in 0..chunks {
                read(chunk * c, &mut buf)?;
                sink.put((chunk % n as u64) as usize, chunk / n as u64 * c, &buf)?;
            }
        }
        MdLevel::Raid10 => {
            let (near, far, offset) = spec.r10;
            let (_, stride, array_chunks) = spec.raid10_geometry();
            for chunk in 0..array_chunks {
                read(chunk * c, &mut buf)?;
                // __raid10_find_phys
                let first = chunk * near;
                let mut dev = (first % n as u64) as usize;
                let mut stripe = first / n as u64;
                if offset {
                    stripe *= far;
                }
                let mut sector = stripe * c;
                for _ in 0..near {
                    let (mut d, mut s) = (dev, sector);
                    sink.put(d, s, &buf)?;
                    for _ in 1..far {
                        d = (d + near as usize) % n;
                        s += stride * c;
                        sink.put(d, s, &buf)?;
                    }
                    dev += 1;
                    if dev >= n {
                        dev = 0;
                        sector += c;
                    }
                }
            }
        }
        MdLevel::Raid4 | MdLevel::Raid5 | MdLevel::Raid6 => {
            let gf = Gf::new();
            let k = spec.data_disks() as u64;
            let rows = spec.member_bytes / c;
            let mut p = vec![0u8; c as usize];
            let mut q = vec![0u8; c as usize];
            for row in 0..rows {
                let placement_row = match spec.delay {
                    Some((d, f)) if row >= f => 1 + (row - f) / d,
                    Some(_) => 0,
                    None => row,
                };
                p.fill(0);
                q.fill(0);
                let (pd, qd, _, ddf) = compute(spec, placement_row, 0);
                let exps = qd.map(|qd| q_exponents(n, pd, qd, ddf));
                for dd in 0..k as usize {
                    let (_, _, disk, _) = compute(spec, placement_row, dd);
                    read((row * k + dd as u64) * c, &mut buf)?;
                    sink.put(disk, row * c, &buf)?;
                    for (x, y) in p.iter_mut().zip(&buf) {
                        *x ^= y;
                    }
                    if let Some(exps) = &exps {
                        let e = exps[disk].expect("data disk has a Q exponent");
                        let t = gf.times_pow2(e);
                        for (x, y) in q.iter_mut().zip(&buf) {
                            *x ^= t[*y as usize];
                        }
                    }
                }
                sink.put(pd, row * c, &p)?;
                if let Some(qd) = qd {
                    sink.put(qd, row * c, &q)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gf_matches_hand_computed_products() {
        let gf = Gf::new();
        // 2^8 = 0x11d ^ 0x100 = 0x1d; 2 · 0x80 = 0x1d.
        assert_eq!(gf.exp[8], 0x1d);
        assert_eq!(gf.times_pow2(1)[0x80], 0x1d);
        assert_eq!(gf.times_pow2(0)[0x57], 0x57);
    }
}
