//! An independent striping oracle, written straight from the kernel's
//! formulas (drivers/md/raid5.c raid5_compute_sector and
//! set_syndrome_sources/raid6_d0/raid6_idx_to_slot; drivers/md/raid10.c
//! __raid10_find_phys and calc_sectors; drivers/md/raid0.c
//! create_strip_zones/find_zone/map_sector; md linear), chunk by chunk,
//! slow and obvious. It shares no code with the engine: levels and
//! layouts are md numbers, and P/Q come from the `gf256` crate.
#![allow(dead_code)]

use gf256::gf256 as G;

/// What to build.
#[derive(Debug, Clone)]
pub struct Spec {
    /// md level: 0, 1, 4, 5, 6, 10, or -1 for linear.
    pub level: i32,
    /// md layout number (RAID5/6 algorithm, RAID10 word, RAID0 1|2).
    pub layout: u32,
    pub chunk: usize,
    /// Usable bytes of each slot.
    pub sizes: Vec<usize>,
    /// Delayed parity (D, F).
    pub delay: Option<(u64, u64)>,
}

/// The result: member data areas (slot order), the logical array bytes,
/// and where each array chunk is stored.
#[derive(Debug, Clone)]
pub struct Striped {
    pub members: Vec<Vec<u8>>,
    pub data: Vec<u8>,
    /// For each array chunk: every (slot, relative byte offset) holding it.
    pub chunk_homes: Vec<Vec<(usize, usize)>>,
    /// RAID4/5/6: every slot takes part in every row at the same offsets.
    pub parity: usize,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b.iter_mut() {
            *x = (self.next() >> 24) as u8;
        }
    }
}

pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut v = vec![0u8; len];
    r.fill(&mut v);
    v
}

/// raid5_compute_sector for one chunk: (pd_idx, qd_idx, dd_idx, ddf).
fn compute(
    level: i32,
    algo: u32,
    raid_disks: usize,
    stripe: u64,
    dd: usize,
) -> (usize, Option<usize>, usize, bool) {
    let rd = raid_disks as u64;
    let mut dd_idx = dd;
    let mut ddf = false;
    let (pd, qd): (usize, Option<usize>);
    if level == 4 {
        return (raid_disks - 1, None, dd, false);
    }
    if level == 5 {
        let data_disks = raid_disks - 1;
        match algo {
            0 => {
                pd = data_disks - (stripe % rd) as usize;
                if dd_idx >= pd {
                    dd_idx += 1;
                }
            }
            1 => {
                pd = (stripe % rd) as usize;
                if dd_idx >= pd {
                    dd_idx += 1;
                }
            }
            2 => {
                pd = data_disks - (stripe % rd) as usize;
                dd_idx = (pd + 1 + dd_idx) % raid_disks;
            }
            3 => {
                pd = (stripe % rd) as usize;
                dd_idx = (pd + 1 + dd_idx) % raid_disks;
            }
            4 => {
                pd = 0;
                dd_idx += 1;
            }
            5 => pd = data_disks,
            _ => panic!("bad raid5 algorithm"),
        }
        return (pd, None, dd_idx, false);
    }
    let data_disks = raid_disks - 2;
    let q: usize;
    let p: usize;
    match algo {
        0 | 1 | 8 | 9 => {
            p = match algo {
                0 => raid_disks - 1 - (stripe % rd) as usize,
                1 | 8 => (stripe % rd) as usize,
                _ => raid_disks - 1 - ((stripe + 1) % rd) as usize,
            };
            if p == raid_disks - 1 {
                dd_idx += 1;
                q = 0;
            } else {
                q = p + 1;
                if dd_idx >= p {
                    dd_idx += 2;
                }
            }
            ddf = algo >= 8;
        }
        2 | 3 => {
            p = if algo == 2 {
                raid_disks - 1 - (stripe % rd) as usize
            } else {
                (stripe % rd) as usize
            };
            q = (p + 1) % raid_disks;
            dd_idx = (p + 2 + dd_idx) % raid_disks;
        }
        4 => {
            p = 0;
            q = 1;
            dd_idx += 2;
        }
        5 => {
            p = data_disks;
            q = data_disks + 1;
        }
        10 => {
            p = raid_disks - 1 - (stripe % rd) as usize;
            q = (p + raid_disks - 1) % raid_disks;
            dd_idx = (p + 1 + dd_idx) % raid_disks;
            ddf = true;
        }
        16 | 17 => {
            p = if algo == 16 {
                data_disks - (stripe % (rd - 1)) as usize
            } else {
                (stripe % (rd - 1)) as usize
            };
            if dd_idx >= p {
                dd_idx += 1;
            }
            q = raid_disks - 1;
        }
        18 | 19 => {
            p = if algo == 18 {
                data_disks - (stripe % (rd - 1)) as usize
            } else {
                (stripe % (rd - 1)) as usize
            };
            dd_idx = (p + 1 + dd_idx) % (raid_disks - 1);
            q = raid_disks - 1;
        }
        20 => {
            p = 0;
            dd_idx += 1;
            q = raid_disks - 1;
        }
        _ => panic!("bad raid6 algorithm"),
    }
    pd = p;
    qd = Some(q);
    (pd, qd, dd_idx, ddf)
}

/// set_syndrome_sources: the syndrome slot of each disk (None for P/Q).
fn syndrome_slots(raid_disks: usize, pd: usize, qd: usize, ddf: bool) -> Vec<Option<usize>> {
    // raid6_d0: DDF starts at disk 0; md just after Q (0 when Q is last).
    let d0 = if ddf || qd == raid_disks - 1 {
        0
    } else {
        qd + 1
    };
    let mut out = vec![None; raid_disks];
    let mut count = 0usize;
    let mut i = d0;
    loop {
        // raid6_idx_to_slot
        let slot = count;
        if ddf {
            count += 1;
        }
        if i != pd && i != qd {
            if !ddf {
                count += 1;
            }
            out[i] = Some(slot);
        }
        i = if i + 1 < raid_disks { i + 1 } else { 0 };
        if i == d0 {
            break;
        }
    }
    out
}

pub fn stripe(spec: &Spec, seed: u64) -> Striped {
    let n = spec.sizes.len();
    let c = spec.chunk;
    let mut members: Vec<Vec<u8>> = spec
        .sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| random_bytes(s, seed ^ (0x1000 + i as u64)))
        .collect();
    let min = *spec.sizes.iter().min().unwrap();
    match spec.level {
        4..=6 => {
            let parity = if spec.level == 6 { 2 } else { 1 };
            let k = n - parity;
            let rows = min / c;
            let data = random_bytes(rows * k * c, seed);
            let mut homes = Vec::new();
            for chunk in 0..rows * k {
                let row = (chunk / k) as u64;
                let g = match spec.delay {
                    Some((d, f)) => {
                        if row < f {
                            0
                        } else {
                            1 + (row - f) / d
                        }
                    }
                    None => row,
                };
                let (_, _, disk, _) = compute(spec.level, spec.layout, n, g, chunk % k);
                let at = row as usize * c;
                members[disk][at..at + c].copy_from_slice(&data[chunk * c..(chunk + 1) * c]);
                homes.push(vec![(disk, at)]);
            }
            for row in 0..rows {
                let r = row as u64;
                let g = match spec.delay {
                    Some((d, f)) => {
                        if r < f {
                            0
                        } else {
                            1 + (r - f) / d
                        }
                    }
                    None => r,
                };
                let (pd, qd, _, ddf) = compute(spec.level, spec.layout, n, g, 0);
                let slots = qd.map(|q| syndrome_slots(n, pd, q, ddf));
                let at = row * c;
                for b in 0..c {
                    let mut p = G(0);
                    let mut q = G(0);
                    for disk in 0..n {
                        if disk == pd || Some(disk) == qd {
                            continue;
                        }
                        let v = G(members[disk][at + b]);
                        p += v;
                        if let Some(sl) = &slots {
                            q += v * G::GENERATOR.pow(sl[disk].unwrap() as u8);
                        }
                    }
                    members[pd][at + b] = u8::from(p);
                    if let Some(qd) = qd {
                        members[qd][at + b] = u8::from(q);
                    }
                }
            }
            Striped {
                members,
                data,
                chunk_homes: homes,
                parity,
            }
        }
        1 => {
            let len = min - min % 512;
            let data = random_bytes(len, seed);
            for m in members.iter_mut() {
                m[..len].copy_from_slice(&data);
            }
            let homes = (0..len.div_ceil(c))
                .map(|ch| (0..n).map(|s| (s, ch * c)).collect())
                .collect();
            Striped {
                members,
                data,
                chunk_homes: homes,
                parity: 0,
            }
        }
        10 => {
            let nc = (spec.layout & 0xff) as usize;
            let fc = ((spec.layout >> 8) & 0xff) as usize;
            let offset = spec.layout & (1 << 16) != 0;
            let far_set_size = if spec.layout & (1 << 17) != 0 {
                n / fc
            } else {
                n
            };
            // calc_sectors / raid10_size, in chunks.
            let dev = min / c;
            let size0 = (dev / fc) * n / nc;
            let used = (size0 * nc * fc).div_ceil(n);
            let stride = if offset { 1 } else { used / fc };
            let chunks = (used / fc) * n / nc;
            let data = random_bytes(chunks * c, seed);
            let last_far_set_start = (n / far_set_size - 1) * far_set_size;
            let last_far_set_size = far_set_size + n % far_set_size;
            let mut homes = Vec::new();
            for ch in 0..chunks {
                let mut h = Vec::new();
                let mut stripe = ch * nc;
                let mut dev = stripe % n;
                stripe /= n;
                if offset {
                    stripe *= fc;
                }
                let mut sector = stripe;
                for _ in 0..nc {
                    let mut d = dev;
                    let mut s = sector;
                    h.push((d, s * c));
                    for _ in 1..fc {
                        let set = d / far_set_size;
                        d += nc;
                        if n % far_set_size != 0 && d > last_far_set_start {
                            d -= last_far_set_start;
                            d %= last_far_set_size;
                            d += last_far_set_start;
                        } else {
                            d %= far_set_size;
                            d += far_set_size * set;
                        }
                        s += stride;
                        h.push((d, s * c));
                    }
                    dev += 1;
                    if dev >= n {
                        dev = 0;
                        sector += 1;
                    }
                }
                for &(d, at) in &h {
                    members[d][at..at + c].copy_from_slice(&data[ch * c..(ch + 1) * c]);
                }
                homes.push(h);
            }
            Striped {
                members,
                data,
                chunk_homes: homes,
                parity: 0,
            }
        }
        0 => {
            // create_strip_zones, in chunks.
            let sizes: Vec<usize> = spec.sizes.iter().map(|s| s / c).collect();
            let mut zones: Vec<(usize, usize, Vec<usize>)> = Vec::new(); // (zone_end, dev_start, devs)
            let mut order: Vec<usize> = sizes.clone();
            order.sort();
            order.dedup();
            let mut end = 0;
            let mut start_dev = 0;
            for s in order.into_iter().filter(|&s| s > 0) {
                let devs: Vec<usize> = (0..n).filter(|&i| sizes[i] > start_dev).collect();
                end += (s - start_dev) * devs.len();
                zones.push((end, start_dev, devs));
                start_dev = s;
            }
            let data = random_bytes(end * c, seed);
            let mut homes = Vec::new();
            for ch in 0..end {
                // find_zone
                let zi = zones.iter().position(|z| ch < z.0).unwrap();
                let zstart = if zi == 0 { 0 } else { zones[zi - 1].0 };
                let zc = ch - zstart;
                let (_, dev_start, devs) = &zones[zi];
                let pick = if spec.layout == 2 { zc } else { ch };
                let disk = devs[pick % devs.len()];
                let at = (dev_start + zc / devs.len()) * c;
                members[disk][at..at + c].copy_from_slice(&data[ch * c..(ch + 1) * c]);
                homes.push(vec![(disk, at)]);
            }
            Striped {
                members,
                data,
                chunk_homes: homes,
                parity: 0,
            }
        }
        -1 => {
            let mut data = Vec::new();
            let mut homes = Vec::new();
            for (i, &s) in spec.sizes.iter().enumerate() {
                let r = s - s % c;
                for ch in 0..r / c {
                    homes.push(vec![(i, ch * c)]);
                }
                data.extend_from_slice(&members[i][..r]);
            }
            Striped {
                members,
                data,
                chunk_homes: homes,
                parity: 0,
            }
        }
        _ => panic!("bad level"),
    }
}
