//! Test helpers for the metadata tests: independent encoders for md 0.90
//! and 1.x superblocks and for DDF metadata, written from the documented
//! layouts (Linux `md_p.h`, mdadm `super-ddf.c`, SNIA DDF) without using
//! the crate's parsers, a sparse in-memory member, and mdadm as an oracle.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use platter_core::{Error as CoreError, Result as CoreResult, Source};

pub mod ddf;

/// A member made of zeros except for some placed byte strings; any size,
/// without allocating it.
#[derive(Debug, Clone)]
pub struct Sparse {
    pub name: String,
    pub len: u64,
    pub pieces: Vec<(u64, Vec<u8>)>,
    /// Byte ranges whose reads fail, to model bad sectors.
    pub bad: Vec<(u64, u64)>,
}

impl Sparse {
    pub fn new(name: &str, len: u64) -> Self {
        Sparse {
            name: name.into(),
            len,
            pieces: Vec::new(),
            bad: Vec::new(),
        }
    }

    pub fn with(mut self, offset: u64, bytes: Vec<u8>) -> Self {
        self.pieces.push((offset, bytes));
        self
    }

    /// Writes the member as a sparse file.
    pub fn write_file(&self, path: &Path) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(path).unwrap();
        f.set_len(self.len).unwrap();
        for (off, b) in &self.pieces {
            f.write_all_at(b, *off).unwrap();
        }
    }
}

impl Source for Sparse {
    fn len(&self) -> u64 {
        self.len
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        for &(s, l) in &self.bad {
            if offset < s + l && s < offset + n as u64 {
                return Err(CoreError::Unreadable {
                    name: self.name.clone(),
                    offset: s,
                    len: l,
                });
            }
        }
        let buf = &mut buf[..n];
        buf.fill(0);
        for (p, bytes) in &self.pieces {
            let (p, e) = (*p, *p + bytes.len() as u64);
            let lo = p.max(offset);
            let hi = e.min(offset + n as u64);
            if lo < hi {
                buf[(lo - offset) as usize..(hi - offset) as usize]
                    .copy_from_slice(&bytes[(lo - p) as usize..(hi - p) as usize]);
            }
        }
        Ok(n)
    }
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// A version-1 superblock, field by field (md_p.h `mdp_superblock_1`).
#[derive(Debug, Clone)]
pub struct Sb1 {
    pub magic: u32,
    pub major_version: u32,
    pub feature_map: u32,
    pub set_uuid: [u8; 16],
    pub set_name: String,
    pub ctime: u64,
    pub level: i32,
    pub layout: u32,
    pub size: u64,
    pub chunksize: u32,
    pub raid_disks: u32,
    pub bitmap_offset: u32,
    pub new_level: i32,
    pub reshape_position: u64,
    pub delta_disks: i32,
    pub new_layout: u32,
    pub new_chunk: u32,
    pub new_offset: u32,
    pub data_offset: u64,
    pub data_size: u64,
    pub super_offset: u64,
    pub recovery_offset: u64,
    pub dev_number: u32,
    pub device_uuid: [u8; 16],
    pub bblog_shift: u8,
    pub bblog_size: u16,
    pub bblog_offset: i32,
    pub utime: u64,
    pub events: u64,
    pub resync_offset: u64,
    pub max_dev: u32,
    pub roles: Vec<u16>,
    /// Added to the correct checksum before storing it (0: correct).
    pub csum_delta: u32,
}

impl Sb1 {
    /// Member `slot` of a 4-disk RAID5 (left-symmetric, 64 KiB chunks) with
    /// a 1.2 superblock, data at 1 MiB, 8 MiB used per member.
    pub fn raid5(slot: u16) -> Self {
        Sb1 {
            magic: 0xa92b4efc,
            major_version: 1,
            feature_map: 0,
            set_uuid: *b"\x11\x22\x33\x44platter-md12",
            set_name: "box:data".into(),
            ctime: 1_700_000_000,
            level: 5,
            layout: 2,
            size: 16384,
            chunksize: 128,
            raid_disks: 4,
            bitmap_offset: 0,
            new_level: 0,
            reshape_position: 0,
            delta_disks: 0,
            new_layout: 0,
            new_chunk: 0,
            new_offset: 0,
            data_offset: 2048,
            data_size: 16384,
            super_offset: 8,
            recovery_offset: 0,
            dev_number: u32::from(slot),
            device_uuid: [0xd0 + slot as u8; 16],
            bblog_shift: 0,
            bblog_size: 8,
            bblog_offset: 8,
            utime: 1_700_000_500,
            events: 42,
            resync_offset: u64::MAX,
            max_dev: 4,
            roles: vec![0, 1, 2, 3],
            csum_delta: 0,
        }
    }

    /// The 4096 bytes written at the superblock location.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        put(&mut b, 0, &self.magic.to_le_bytes());
        put(&mut b, 4, &self.major_version.to_le_bytes());
        put(&mut b, 8, &self.feature_map.to_le_bytes());
        put(&mut b, 16, &self.set_uuid);
        let name = self.set_name.as_bytes();
        put(&mut b, 32, &name[..name.len().min(32)]);
        put(&mut b, 64, &self.ctime.to_le_bytes());
        put(&mut b, 72, &self.level.to_le_bytes());
        put(&mut b, 76, &self.layout.to_le_bytes());
        put(&mut b, 80, &self.size.to_le_bytes());
        put(&mut b, 88, &self.chunksize.to_le_bytes());
        put(&mut b, 92, &self.raid_disks.to_le_bytes());
        put(&mut b, 96, &self.bitmap_offset.to_le_bytes());
        put(&mut b, 100, &self.new_level.to_le_bytes());
        put(&mut b, 104, &self.reshape_position.to_le_bytes());
        put(&mut b, 112, &self.delta_disks.to_le_bytes());
        put(&mut b, 116, &self.new_layout.to_le_bytes());
        put(&mut b, 120, &self.new_chunk.to_le_bytes());
        put(&mut b, 124, &self.new_offset.to_le_bytes());
        put(&mut b, 128, &self.data_offset.to_le_bytes());
        put(&mut b, 136, &self.data_size.to_le_bytes());
        put(&mut b, 144, &self.super_offset.to_le_bytes());
        put(&mut b, 152, &self.recovery_offset.to_le_bytes());
        put(&mut b, 160, &self.dev_number.to_le_bytes());
        put(&mut b, 168, &self.device_uuid);
        b[185] = self.bblog_shift;
        put(&mut b, 186, &self.bblog_size.to_le_bytes());
        put(&mut b, 188, &self.bblog_offset.to_le_bytes());
        put(&mut b, 192, &self.utime.to_le_bytes());
        put(&mut b, 200, &self.events.to_le_bytes());
        put(&mut b, 208, &self.resync_offset.to_le_bytes());
        put(&mut b, 220, &self.max_dev.to_le_bytes());
        for (i, r) in self.roles.iter().enumerate().take(1920) {
            put(&mut b, 256 + 2 * i, &r.to_le_bytes());
        }
        // calc_sb_1_csum: sum the little-endian words of 256 + 2*max_dev
        // bytes (sb_csum is still zero here), add a trailing half word,
        // fold the carry once.
        let len = (256 + 2 * self.max_dev as usize).min(4096);
        let mut sum: u128 = b[..len / 4 * 4]
            .chunks(4)
            .map(|w| u128::from(u32::from_le_bytes(w.try_into().unwrap())))
            .sum();
        if len % 4 == 2 {
            sum += u128::from(u16::from_le_bytes([b[len - 2], b[len - 1]]));
        }
        let csum = ((sum & 0xffff_ffff) + (sum >> 32)) as u32;
        put(
            &mut b,
            216,
            &csum.wrapping_add(self.csum_delta).to_le_bytes(),
        );
        b
    }
}

/// 1.0 superblock sector for a member of `len` bytes: at least 8 KiB from
/// the end, 4 KiB aligned (mdadm super1.c).
pub fn v10_sector(len: u64) -> u64 {
    (len / 512 - 16) / 8 * 8
}

/// 0.90 superblock offset: the last 64 KiB-aligned 64 KiB (md_p.h).
pub fn v090_offset(len: u64) -> u64 {
    len / 65536 * 65536 - 65536
}

/// A 0.90 disk descriptor: number, major, minor, raid_disk, state.
pub type Desc = (u32, u32, u32, u32, u32);

/// A 0.90 superblock, field by field (md_p.h `mdp_super_t`).
#[derive(Debug, Clone)]
pub struct Sb0 {
    pub minor_version: u32,
    pub uuid: [u32; 4],
    pub ctime: u32,
    pub level: i32,
    pub size_kib: u32,
    pub nr_disks: u32,
    pub raid_disks: u32,
    pub md_minor: u32,
    pub utime: u32,
    pub state: u32,
    pub events: u64,
    pub reshape_position: u64,
    pub new_level: i32,
    pub delta_disks: i32,
    pub new_layout: u32,
    pub new_chunk: u32,
    pub layout: u32,
    pub chunk_size: u32,
    pub disks: Vec<Desc>,
    pub this: Desc,
    pub csum_delta: u32,
}

/// `active sync` descriptor state.
pub const ACTIVE_SYNC: u32 = 0b110;

impl Sb0 {
    pub fn raid5(slot: u32) -> Self {
        let disks: Vec<Desc> = (0..4).map(|i| (i, 8, 16 * i + 1, i, ACTIVE_SYNC)).collect();
        Sb0 {
            minor_version: 90,
            uuid: [0x0badcafe, 0x12345678, 0x9abcdef0, 0x0fedcba9],
            ctime: 1_600_000_000,
            level: 5,
            size_kib: 4096,
            nr_disks: 4,
            raid_disks: 4,
            md_minor: 0,
            utime: 1_600_000_900,
            state: 1,
            events: (3 << 32) | 17,
            reshape_position: 0,
            new_level: 0,
            delta_disks: 0,
            new_layout: 0,
            new_chunk: 0,
            layout: 2,
            chunk_size: 64 << 10,
            this: disks[slot as usize],
            disks,
            csum_delta: 0,
        }
    }

    /// The 4096-byte superblock in the given byte order.
    pub fn encode(&self, big_endian: bool) -> Vec<u8> {
        let mut w = vec![0u32; 1024];
        w[0] = 0xa92b4efc;
        w[1] = 0;
        w[2] = self.minor_version;
        w[5] = self.uuid[0];
        w[6] = self.ctime;
        w[7] = self.level as u32;
        w[8] = self.size_kib;
        w[9] = self.nr_disks;
        w[10] = self.raid_disks;
        w[11] = self.md_minor;
        w[13] = self.uuid[1];
        w[14] = self.uuid[2];
        w[15] = self.uuid[3];
        w[32] = self.utime;
        w[33] = self.state;
        w[34] = self.raid_disks;
        w[35] = self.raid_disks;
        // events: lo then hi on little-endian hosts, hi then lo on big-endian.
        let (hi, lo) = ((self.events >> 32) as u32, self.events as u32);
        if big_endian {
            (w[39], w[40]) = (hi, lo);
        } else {
            (w[39], w[40]) = (lo, hi);
        }
        // reshape_position is a native u64 at words 44-45.
        let (rhi, rlo) = (
            (self.reshape_position >> 32) as u32,
            self.reshape_position as u32,
        );
        if big_endian {
            (w[44], w[45]) = (rhi, rlo);
        } else {
            (w[44], w[45]) = (rlo, rhi);
        }
        w[46] = self.new_level as u32;
        w[47] = self.delta_disks as u32;
        w[48] = self.new_layout;
        w[49] = self.new_chunk;
        w[64] = self.layout;
        w[65] = self.chunk_size;
        let desc = |w: &mut [u32], at: usize, d: &Desc| {
            w[at] = d.0;
            w[at + 1] = d.1;
            w[at + 2] = d.2;
            w[at + 3] = d.3;
            w[at + 4] = d.4;
        };
        for (i, d) in self.disks.iter().enumerate().take(27) {
            desc(&mut w, 128 + 32 * i, d);
        }
        desc(&mut w, 992, &self.this);
        // calc_sb_csum: the sum of the words (sb_csum, word 38, is zero),
        // carry folded once.
        let sum: u64 = w.iter().map(|&x| u64::from(x)).sum();
        w[38] = ((sum & 0xffff_ffff) + (sum >> 32)) as u32;
        w[38] = w[38].wrapping_add(self.csum_delta);
        w.iter()
            .flat_map(|x| {
                if big_endian {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect()
    }
}

/// Panics with instructions when mdadm is missing.
pub fn require_mdadm() {
    match Command::new("mdadm").arg("--version").output() {
        Ok(o) if o.status.success() || !o.stderr.is_empty() => {}
        _ => panic!(
            "`mdadm` is not on PATH: install it (`apt-get install -y mdadm`) to run the md oracle tests"
        ),
    }
}

/// `mdadm --examine [extra] FILE` with TZ=UTC; returns (success, stdout+stderr).
pub fn mdadm_examine(path: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new("mdadm")
        .arg("--examine")
        .args(extra)
        .arg(path)
        .env("TZ", "UTC")
        .output()
        .expect("run mdadm");
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

/// The value of a `Key : value` line of mdadm's examine output.
pub fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines().find_map(|l| {
        let (k, v) = l.split_once(" : ")?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The value of a `KEY=value` line of `mdadm --examine --export`.
pub fn export<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// CRC-32 (zlib), bit by bit: independent of the crate's table version.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_init(data, !0)
}

/// The bitwise CRC-32 loop from register `init`, inverted at the end.
pub fn crc32_init(data: &[u8], init: u32) -> u32 {
    let mut crc = init;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
