//! An independent writer of ESX snapshot extents, for the tests: COWD
//! (vmfsSparse redo logs) and seSparse (ESXi 6.5+ snapshots), and the text
//! descriptors ESX writes next to them.
//!
//! Written from the format descriptions only, never from the reader (it
//! does not call `platter_vdisk`):
//! - COWD: libyal libvmdk "VMWare Virtual Disk Format (VMDK)", section
//!   "The COWD sparse extent data file": a 2048-byte header (`COWD`,
//!   version 1, flags 3, u32 capacity / granularity / GD sector /
//!   numGDEntries / freeSector, parent file name at 32, generation fields,
//!   dirty flag at 1648), a grain directory of u32 sector numbers, grain
//!   tables of a fixed 4096 u32 entries, grains. 0 means "not here: ask the
//!   parent".
//! - seSparse: qemu `block/vmdk.c` (`VMDKSESparseConstHeader`,
//!   `VMDKSESparseVolatileHeader`, `vmdk_open_se_sparse`, the seSparse
//!   branch of `get_cluster_offset`) and the ESXi hostd.log layout quoted
//!   in the qemu commit that added it: const header at sector 0, volatile
//!   header at 1, journal header at 2, journal at 2048, grain directory at
//!   4096, grain tables at 6144, free bitmap at 8192, backmap at 10240,
//!   grains at 12288, each region 2048 sectors (the grains region is the
//!   capacity). Directory entries are `0x1000_0000_xxxx_xxxx` (grain table
//!   index in the low 32 bits); table entries carry the state in the top
//!   nibble: 0 unallocated, 1 unmapped (reads zeros; the rest still names
//!   the old grain), 2 zero, 3 allocated, with the grain index stored as
//!   its low 12 bits in bits 48..60 and the rest in bits 0..48.
//!
//! Each writer keeps the guest view it produces: tests compare a reader
//! against `parent bytes overlaid with the writes`, computed here.
#![allow(dead_code)]

pub mod check;

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Bytes per sector.
pub const SECTOR: u64 = 512;

/// A file built in pieces, written sparse (seSparse files have megabytes
/// of empty preallocated metadata and grains far apart).
#[derive(Debug, Clone, Default)]
pub struct SparseImage {
    /// File length in bytes.
    pub len: u64,
    pieces: Vec<(u64, Vec<u8>)>,
}

impl SparseImage {
    /// Places `bytes` at `offset` (later pieces win where they overlap).
    pub fn put(&mut self, offset: u64, bytes: &[u8]) {
        self.len = self.len.max(offset + bytes.len() as u64);
        self.pieces.push((offset, bytes.to_vec()));
    }

    /// Writes the file, cut at `self.len` (so setting `len` truncates).
    pub fn write_to(&self, path: &Path) {
        let f = std::fs::File::create(path).unwrap();
        f.set_len(self.len).unwrap();
        for (off, bytes) in &self.pieces {
            if *off >= self.len {
                continue;
            }
            let n = (self.len - off).min(bytes.len() as u64) as usize;
            f.write_all_at(&bytes[..n], *off).unwrap();
        }
    }
}

/// `len` pseudo-random bytes: a random block of 1 MiB + 4099 bytes (a
/// length that is no multiple of any grain or table size) repeated, so
/// large test disks cost little to make in debug builds while misplaced
/// reads still show.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let block: Vec<u8> = (0..((1 << 20) + 4099) / 8 + 1)
        .flat_map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes()
        })
        .collect();
    let block = &block[..(1 << 20) + 4099];
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = (len - v.len()).min(block.len());
        v.extend_from_slice(&block[..n]);
    }
    v
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------- COWD

/// Entries per COWD grain table (fixed by the format).
pub const COWD_GTES: u64 = 4096;
/// Sectors one COWD grain table takes (4096 x u32).
pub const COWD_GT_SECTORS: u32 = (COWD_GTES * 4 / SECTOR) as u32;
/// Where ESX puts the grain directory: right after the 4-sector header.
pub const COWD_GD_SECTOR: u32 = 4;

/// A COWD redo log being written.
#[derive(Debug, Clone)]
pub struct Cowd {
    /// Disk size in sectors (header offset 12).
    pub capacity_sectors: u32,
    /// Grain size in sectors (header offset 16).
    pub grain_sectors: u32,
    /// Grain directory entries (header offset 24).
    pub gd_entries: u32,
    /// Parent file name stored in the header (offset 32).
    pub parent_name: String,
    gd: Vec<u32>,
    /// Grain tables by their sector.
    gts: BTreeMap<u32, Vec<u32>>,
    /// Grain contents by their sector.
    grains: BTreeMap<u32, Vec<u8>>,
    /// First free sector (header offset 28).
    next_free: u32,
}

impl Cowd {
    /// An empty redo log of `capacity_sectors` with `grain_sectors` grains.
    pub fn new(capacity_sectors: u32, grain_sectors: u32, parent_name: &str) -> Self {
        let per_table = COWD_GTES * u64::from(grain_sectors);
        let gd_entries = u64::from(capacity_sectors).div_ceil(per_table) as u32;
        let gd_sectors = (u64::from(gd_entries) * 4).div_ceil(SECTOR) as u32;
        Cowd {
            capacity_sectors,
            grain_sectors,
            gd_entries,
            parent_name: parent_name.to_string(),
            gd: vec![0; gd_entries as usize],
            gts: BTreeMap::new(),
            grains: BTreeMap::new(),
            next_free: COWD_GD_SECTOR + gd_sectors,
        }
    }

    fn grain_bytes(&self) -> u64 {
        u64::from(self.grain_sectors) * SECTOR
    }

    /// A guest write of `data` at byte `offset`. `disk` is the guest view
    /// so far (the parent overlaid with earlier writes): a grain written
    /// for the first time is first filled with it (copy on write), then
    /// the write lands in both.
    pub fn write(&mut self, disk: &mut [u8], offset: u64, data: &[u8]) {
        let gb = self.grain_bytes();
        let end = offset + data.len() as u64;
        let mut g = offset / gb;
        while g * gb < end {
            let (t, e) = ((g / COWD_GTES) as usize, (g % COWD_GTES) as usize);
            if self.gd[t] == 0 {
                self.gd[t] = self.next_free;
                self.gts.insert(self.next_free, vec![0; COWD_GTES as usize]);
                self.next_free += COWD_GT_SECTORS;
            }
            let gt = self.gts.get_mut(&self.gd[t]).unwrap();
            let gstart = g * gb;
            if gt[e] == 0 {
                gt[e] = self.next_free;
                let copy = &disk[gstart as usize..(gstart + gb) as usize];
                self.grains.insert(self.next_free, copy.to_vec());
                self.next_free += self.grain_sectors;
            }
            let grain = self.grains.get_mut(&gt[e]).unwrap();
            let a = offset.max(gstart);
            let b = end.min(gstart + gb);
            grain[(a - gstart) as usize..(b - gstart) as usize]
                .copy_from_slice(&data[(a - offset) as usize..(b - offset) as usize]);
            g += 1;
        }
        disk[offset as usize..end as usize].copy_from_slice(data);
    }

    /// Byte offset of the grain directory.
    pub fn gd_offset(&self) -> u64 {
        u64::from(COWD_GD_SECTOR) * SECTOR
    }

    /// Byte offset of grain table `t`, when allocated.
    pub fn gt_offset(&self, t: usize) -> Option<u64> {
        let s = *self.gd.get(t)?;
        (s != 0).then(|| u64::from(s) * SECTOR)
    }

    /// Byte offset of the entry for grain `g` in its table, when the table
    /// is allocated.
    pub fn gte_offset(&self, g: u64) -> Option<u64> {
        Some(self.gt_offset((g / COWD_GTES) as usize)? + (g % COWD_GTES) * 4)
    }

    /// Byte offset of grain `g` in the file, when allocated.
    pub fn grain_offset(&self, g: u64) -> Option<u64> {
        let t = self.gts.get(self.gd.get((g / COWD_GTES) as usize)?)?;
        let s = t[(g % COWD_GTES) as usize];
        (s != 0).then(|| u64::from(s) * SECTOR)
    }

    /// Every allocated grain: (grain index, byte offset in the file).
    pub fn allocated(&self) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        for (t, &s) in self.gd.iter().enumerate() {
            if s == 0 {
                continue;
            }
            for (e, &gs) in self.gts[&s].iter().enumerate() {
                if gs != 0 {
                    v.push((t as u64 * COWD_GTES + e as u64, u64::from(gs) * SECTOR));
                }
            }
        }
        v
    }

    /// The 2048-byte header, as ESX writes it for a child redo log.
    pub fn header(&self) -> Vec<u8> {
        let mut h = vec![0u8; 2048];
        h[0..4].copy_from_slice(b"COWD");
        put32(&mut h, 4, 1); // version
        put32(&mut h, 8, 3); // flags, as seen in ESX files
        put32(&mut h, 12, self.capacity_sectors);
        put32(&mut h, 16, self.grain_sectors);
        put32(&mut h, 20, COWD_GD_SECTOR);
        put32(&mut h, 24, self.gd_entries);
        put32(&mut h, 28, self.next_free);
        let name = self.parent_name.as_bytes();
        h[32..32 + name.len().min(1023)].copy_from_slice(&name[..name.len().min(1023)]);
        put32(&mut h, 1056, 7); // parent generation
        put32(&mut h, 1060, 1); // generation
        h[1064..1064 + 9].copy_from_slice(b"redo log\0");
        put32(&mut h, 1636, 1); // saved generation
        put32(&mut h, 1648, 0); // clean
        h
    }

    /// The whole file.
    pub fn image(&self) -> SparseImage {
        let mut img = SparseImage::default();
        img.put(0, &self.header());
        let gd: Vec<u8> = self.gd.iter().flat_map(|v| v.to_le_bytes()).collect();
        img.put(self.gd_offset(), &gd);
        for (s, t) in &self.gts {
            let b: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            img.put(u64::from(*s) * SECTOR, &b);
        }
        for (s, g) in &self.grains {
            img.put(u64::from(*s) * SECTOR, g);
        }
        img.len = img.len.max(u64::from(self.next_free) * SECTOR);
        img
    }
}

// ------------------------------------------------------------ seSparse

/// seSparse grain size in sectors (the only one qemu and ESXi use).
pub const SE_GRAIN_SECTORS: u64 = 8;
/// seSparse grain size in bytes.
pub const SE_GRAIN: u64 = SE_GRAIN_SECTORS * SECTOR;
/// Entries per seSparse grain table (64 sectors of u64).
pub const SE_GTES: u64 = 64 * SECTOR / 8;
/// Region size of the ESXi layout, in sectors.
const SE_REGION: u64 = 2048;
/// Region starts of the ESXi layout, in sectors.
pub const SE_VOLATILE: u64 = 1;
pub const SE_JOURNAL_HDR: u64 = 2;
pub const SE_JOURNAL: u64 = 2048;
pub const SE_GD: u64 = 4096;
pub const SE_GTS: u64 = 6144;
pub const SE_BITMAP: u64 = 8192;
pub const SE_BACKMAP: u64 = 10240;
pub const SE_GRAINS: u64 = 12288;

const SE_DIR_ALLOCATED: u64 = 0x1000_0000_0000_0000;
const SE_UNMAPPED: u64 = 0x1;
const SE_ZERO: u64 = 0x2;
const SE_ALLOCATED: u64 = 0x3;

/// Encodes an allocated grain-table entry for grain index `idx`.
pub fn se_allocated_entry(idx: u64) -> u64 {
    assert!(idx >> 60 == 0);
    (SE_ALLOCATED << 60) | ((idx & 0xfff) << 48) | (idx >> 12)
}

/// What the snapshot says about one grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeState {
    /// Not in the snapshot: the parent shows through.
    Unallocated,
    /// Stored at this grain index.
    Allocated(u64),
    /// Zero grain (type 2).
    Zero,
    /// Unmapped (type 1): zeros; keeps the old index, if any.
    Unmapped(Option<u64>),
}

/// An seSparse snapshot being written.
#[derive(Debug, Clone)]
pub struct SeSparse {
    /// Disk size in sectors.
    pub capacity_sectors: u64,
    /// Directory: grain table index per entry, when allocated.
    gd: Vec<Option<u64>>,
    /// Grain tables by index.
    gts: Vec<Vec<SeState>>,
    /// Grain contents by grain index.
    grains: BTreeMap<u64, Vec<u8>>,
    /// Grains allocated so far (drives the scattered index sequence).
    count: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl SeSparse {
    /// An empty snapshot. The ESXi layout reserves 2048 sectors of grain
    /// tables: 32 tables of 16 MiB, so at most 512 MiB here.
    pub fn new(capacity_sectors: u64) -> Self {
        let tables = capacity_sectors.div_ceil(SE_GTES * SE_GRAIN_SECTORS);
        assert!(tables <= SE_REGION * SECTOR / (SE_GTES * 8));
        assert!(capacity_sectors % SE_GRAIN_SECTORS == 0);
        SeSparse {
            capacity_sectors,
            gd: vec![None; tables as usize],
            gts: Vec::new(),
            grains: BTreeMap::new(),
            count: 0,
        }
    }

    fn max_grains(&self) -> u64 {
        self.capacity_sectors / SE_GRAIN_SECTORS
    }

    /// Grain indices are handed out scattered over the grains region (a
    /// stride coprime with its size), so that indices of 4096 and more,
    /// whose high bits sit in the low part of the entry, occur early.
    fn next_index(&mut self) -> u64 {
        let n = self.max_grains();
        let stride = if gcd(4099, n) == 1 { 4099 } else { 1 };
        let idx = (self.count * stride + 5) % n;
        self.count += 1;
        idx
    }

    fn state_mut(&mut self, g: u64) -> &mut SeState {
        let t = (g / SE_GTES) as usize;
        if self.gd[t].is_none() {
            self.gd[t] = Some(self.gts.len() as u64);
            self.gts.push(vec![SeState::Unallocated; SE_GTES as usize]);
        }
        let ti = self.gd[t].unwrap() as usize;
        &mut self.gts[ti][(g % SE_GTES) as usize]
    }

    /// The state of grain `g`.
    pub fn state(&self, g: u64) -> SeState {
        match self.gd[(g / SE_GTES) as usize] {
            None => SeState::Unallocated,
            Some(t) => self.gts[t as usize][(g % SE_GTES) as usize],
        }
    }

    /// A guest write (copy on write of the grains it touches, from `disk`,
    /// the guest view so far, which receives the write too).
    pub fn write(&mut self, disk: &mut [u8], offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        let mut g = offset / SE_GRAIN;
        while g * SE_GRAIN < end {
            let gstart = g * SE_GRAIN;
            let idx = match self.state(g) {
                SeState::Allocated(i) => i,
                _ => {
                    let i = self.next_index();
                    let copy = disk[gstart as usize..(gstart + SE_GRAIN) as usize].to_vec();
                    self.grains.insert(i, copy);
                    *self.state_mut(g) = SeState::Allocated(i);
                    i
                }
            };
            let grain = self.grains.get_mut(&idx).unwrap();
            let a = offset.max(gstart);
            let b = end.min(gstart + SE_GRAIN);
            grain[(a - gstart) as usize..(b - gstart) as usize]
                .copy_from_slice(&data[(a - offset) as usize..(b - offset) as usize]);
            g += 1;
        }
        disk[offset as usize..end as usize].copy_from_slice(data);
    }

    /// The guest zeroes grain `g` (a type-2 zero grain).
    pub fn zero(&mut self, disk: &mut [u8], g: u64) {
        *self.state_mut(g) = SeState::Zero;
        disk[(g * SE_GRAIN) as usize..((g + 1) * SE_GRAIN) as usize].fill(0);
    }

    /// The guest unmaps grain `g` (type 1; a zero grain stays zero).
    pub fn unmap(&mut self, disk: &mut [u8], g: u64) {
        let s = self.state_mut(g);
        *s = match *s {
            SeState::Zero => SeState::Zero,
            SeState::Allocated(i) => SeState::Unmapped(Some(i)),
            SeState::Unmapped(i) => SeState::Unmapped(i),
            SeState::Unallocated => SeState::Unmapped(None),
        };
        disk[(g * SE_GRAIN) as usize..((g + 1) * SE_GRAIN) as usize].fill(0);
    }

    fn entry(s: SeState) -> u64 {
        match s {
            SeState::Unallocated => 0,
            SeState::Allocated(i) => se_allocated_entry(i),
            SeState::Zero => SE_ZERO << 60,
            SeState::Unmapped(None) => SE_UNMAPPED << 60,
            SeState::Unmapped(Some(i)) => {
                (SE_UNMAPPED << 60) | (se_allocated_entry(i) & 0x0fff_ffff_ffff_ffff)
            }
        }
    }

    /// Byte offset of grain `g`'s data in the file, when allocated.
    pub fn grain_offset(&self, g: u64) -> Option<u64> {
        match self.state(g) {
            SeState::Allocated(i) => Some(Self::index_offset(i)),
            _ => None,
        }
    }

    /// Byte offset of grain index `i`.
    pub fn index_offset(i: u64) -> u64 {
        SE_GRAINS * SECTOR + i * SE_GRAIN
    }

    /// Byte offset of the grain-table entry of grain `g`, when its table is
    /// allocated.
    pub fn gte_offset(&self, g: u64) -> Option<u64> {
        let t = self.gd[(g / SE_GTES) as usize]?;
        Some(SE_GTS * SECTOR + t * SE_GTES * 8 + (g % SE_GTES) * 8)
    }

    /// Byte offset of directory entry `t`.
    pub fn gde_offset(t: u64) -> u64 {
        SE_GD * SECTOR + t * 8
    }

    /// Every allocated grain: (grain number on the disk, byte offset).
    pub fn allocated(&self) -> Vec<(u64, u64)> {
        (0..self.max_grains())
            .filter_map(|g| self.grain_offset(g).map(|o| (g, o)))
            .collect()
    }

    /// The const header (sector 0).
    pub fn const_header(&self) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        let q = [
            0xcafe_babe,           // magic
            0x0000_0002_0000_0001, // version 2.1
            self.capacity_sectors,
            SE_GRAIN_SECTORS,
            64, // grain table size, sectors
            0,  // flags
            0,
            0,
            0,
            0, // reserved
            SE_VOLATILE,
            1,
            SE_JOURNAL_HDR,
            2,
            SE_JOURNAL,
            SE_REGION,
            SE_GD,
            SE_REGION,
            SE_GTS,
            SE_REGION,
            SE_BITMAP,
            SE_REGION,
            SE_BACKMAP,
            SE_REGION,
            SE_GRAINS,
            self.capacity_sectors,
        ];
        for (i, v) in q.iter().enumerate() {
            put64(&mut h, i * 8, *v);
        }
        h
    }

    /// The whole file. Its length ends at the highest allocated grain (or
    /// at the start of the grains region when there is none).
    pub fn image(&self) -> SparseImage {
        let mut img = SparseImage::default();
        img.put(0, &self.const_header());
        let mut v = vec![0u8; 512];
        put64(&mut v, 0, 0xcafe_cafe);
        put64(&mut v, 8, self.gts.len() as u64); // free GT number
        put64(&mut v, 16, 0); // next transaction
        put64(&mut v, 24, 0); // replay journal: no
        img.put(SE_VOLATILE * SECTOR, &v);
        let gd: Vec<u8> = self
            .gd
            .iter()
            .flat_map(|t| t.map_or(0, |t| SE_DIR_ALLOCATED | t).to_le_bytes())
            .collect();
        img.put(SE_GD * SECTOR, &gd);
        for (t, gt) in self.gts.iter().enumerate() {
            let b: Vec<u8> = gt
                .iter()
                .flat_map(|s| Self::entry(*s).to_le_bytes())
                .collect();
            img.put(SE_GTS * SECTOR + t as u64 * SE_GTES * 8, &b);
        }
        for (i, g) in &self.grains {
            img.put(Self::index_offset(*i), g);
        }
        img.len = img.len.max(SE_GRAINS * SECTOR);
        img
    }
}

// ---------------------------------------------------------- descriptors

/// A descriptor as ESX writes it. `extent` is `(sectors, TYPE, file)`.
pub fn descriptor(
    cid: u32,
    parent_cid: u32,
    create_type: &str,
    parent_hint: Option<&str>,
    extent: (u64, &str, &str),
) -> String {
    let mut s = format!(
        "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID={cid:08x}\n\
         parentCID={parent_cid:08x}\nisNativeSnapshot=\"no\"\ncreateType=\"{create_type}\"\n"
    );
    if let Some(p) = parent_hint {
        s.push_str(&format!("parentFileNameHint=\"{p}\"\n"));
    }
    let (sectors, kind, file) = extent;
    s.push_str(&format!(
        "\n# Extent description\nRW {sectors} {kind} \"{file}\"\n\n\
         # The Disk Data Base\n#DDB\n\n"
    ));
    if parent_hint.is_none() {
        let cyl = sectors / (255 * 63);
        s.push_str(&format!(
            "ddb.adapterType = \"lsilogic\"\nddb.geometry.cylinders = \"{cyl}\"\n\
             ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\n\
             ddb.uuid = \"60 00 C2 9b 1a 2c 3d 4e-5f 60 71 82 93 a4 b5 c6\"\n\
             ddb.virtualHWVersion = \"13\"\n"
        ));
    }
    s.push_str(&format!(
        "ddb.longContentID = \"5e2a1b3c4d5e6f708192a3b4{cid:08x}\"\n"
    ));
    if kind == "SESPARSE" {
        s.push_str("ddb.grain = \"8\"\n");
    }
    s
}

/// Reads the `CID=` of a descriptor (text file, or embedded in a sparse
/// file made by qemu-img).
pub fn cid_of(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(1 << 20)]);
    let line = text
        .lines()
        .find(|l| l.starts_with("CID="))
        .expect("a CID line");
    u32::from_str_radix(line[4..].trim(), 16).unwrap()
}
