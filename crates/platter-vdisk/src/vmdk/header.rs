//! Sparse extent headers: hosted sparse (`KDMV`, including streamOptimized
//! and its footer), COWD (vmfsSparse) and seSparse, normalised into one
//! [`SparseHeader`].
//!
//! Layouts: libyal libvmdk "VMWare Virtual Disk Format (VMDK)", sections
//! "VMDK sparse extent file header" and "COWD sparse extent file header";
//! qemu `block/vmdk.c` (`VMDK4Header`, `VMDK3Header`,
//! `VMDKSESparseConstHeader`, `vmdk_open_se_sparse`). All little-endian.

use std::path::Path;

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::error::{Error, Result};

/// `KDMV` as the first four bytes of a hosted sparse extent.
pub const KDMV_MAGIC: &[u8; 4] = b"KDMV";
/// `COWD` as the first four bytes of a vmfsSparse extent.
pub const COWD_MAGIC: &[u8; 4] = b"COWD";
/// seSparse const header magic (u64 at 0).
pub const SESPARSE_MAGIC: u64 = 0xcafe_babe;
/// seSparse volatile header magic.
pub const SESPARSE_VOLATILE_MAGIC: u64 = 0xcafe_cafe;
/// Sectors of a COWD header (2048 bytes, libvmdk "COWD sparse extent file
/// header"): no grain table or grain can start inside it.
pub const COWD_HEADER_SECTORS: u64 = 4;
/// `gdOffset` value meaning "the grain directory is described by the footer".
pub const GD_AT_END: u64 = u64::MAX;

/// Largest virtual capacity accepted, in sectors (2^40 sectors = 512 TiB;
/// VMware's own limit is 62 TiB).
pub const MAX_CAPACITY_SECTORS: u64 = 1 << 40;
/// Largest grain, in sectors (64 MiB; VMware uses 128 sectors = 64 KiB).
pub const MAX_GRAIN_SECTORS: u64 = 1 << 17;
/// Most entries per grain table (VMware: 512; COWD 4096; seSparse 4096).
pub const MAX_GTES_PER_GT: u64 = 8192;
/// Most grain-directory entries (4 Mi: 128 TiB at 64 KiB grains, 64 TiB
/// of seSparse).
pub const MAX_GD_ENTRIES: u64 = 4 << 20;

const FLAG_NL_DETECT: u32 = 1 << 0;
const FLAG_RGD: u32 = 1 << 1;
const FLAG_ZERO_GRAIN: u32 = 1 << 2;
const FLAG_MARKERS: u32 = 1 << 17;

/// Which on-disk flavour a sparse extent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseKind {
    /// Hosted sparse `KDMV` (monolithicSparse, twoGbMaxExtentSparse,
    /// streamOptimized).
    Hosted,
    /// ESX vmfsSparse `COWD`.
    Cowd,
    /// ESX seSparse.
    SeSparse,
}

/// A sparse extent header, normalised. Offsets and sizes are in sectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseHeader {
    /// Flavour.
    pub kind: SparseKind,
    /// Format version.
    pub version: u32,
    /// Raw flags.
    pub flags: u32,
    /// Extent size.
    pub capacity_sectors: u64,
    /// Grain size.
    pub grain_sectors: u64,
    /// Embedded descriptor position (hosted only; 0 when none).
    pub desc_offset_sectors: u64,
    /// Embedded descriptor size.
    pub desc_size_sectors: u64,
    /// Entries per grain table.
    pub gtes_per_gt: u64,
    /// Redundant grain directory, when present.
    pub rgd_offset_sectors: Option<u64>,
    /// Grain directory ([`GD_AT_END`] before the footer is read).
    pub gd_offset_sectors: u64,
    /// Number of grain-directory entries.
    pub gd_entries: u64,
    /// Where grain data starts (hosted `overHead`); grain pointers below
    /// it are invalid.
    pub overhead_sectors: u64,
    /// Grains are deflate-compressed.
    pub compressed: bool,
    /// Grains are preceded by markers (streamOptimized).
    pub markers: bool,
    /// A grain-table entry of 1 means "zeroed grain".
    pub zeroed_grain: bool,
    /// The newline-detection bytes were damaged (text-mode transfer).
    pub newline_damaged: bool,
    /// `uncleanShutdown` was set.
    pub unclean: bool,
    /// seSparse: start of the grain tables.
    pub se_tables_offset_sectors: u64,
    /// seSparse: start of the grains.
    pub se_grains_offset_sectors: u64,
}

impl SparseHeader {
    /// Grain size in bytes.
    pub fn grain_bytes(&self) -> u64 {
        self.grain_sectors * 512
    }

    /// Bytes one grain-table entry takes on disk.
    pub fn entry_bytes(&self) -> u64 {
        if self.kind == SparseKind::SeSparse {
            8
        } else {
            4
        }
    }
}

fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        what: what.into(),
    }
}

fn limit(path: &Path, offset: u64, what: &'static str, value: u64, max: u64) -> Result<u64> {
    if value > max {
        Err(Error::Limit {
            path: path.to_path_buf(),
            offset,
            what,
            value,
            limit: max,
        })
    } else {
        Ok(value)
    }
}

/// Checks grain size, table size and capacity, and computes the number of
/// grain-directory entries. `base` is the header's offset in the file.
fn finish(path: &Path, base: u64, mut h: SparseHeader, field: [u64; 3]) -> Result<SparseHeader> {
    limit(
        path,
        base + field[0],
        "capacity in sectors",
        h.capacity_sectors,
        MAX_CAPACITY_SECTORS,
    )?;
    limit(
        path,
        base + field[1],
        "grain size in sectors",
        h.grain_sectors,
        MAX_GRAIN_SECTORS,
    )?;
    limit(
        path,
        base + field[2],
        "grain table entries",
        h.gtes_per_gt,
        MAX_GTES_PER_GT,
    )?;
    if h.grain_sectors == 0 {
        return Err(corrupt(path, base + field[1], "grain size is 0"));
    }
    if h.gtes_per_gt == 0 {
        return Err(corrupt(path, base + field[2], "grain table size is 0"));
    }
    // Both factors are bounded above, so the product fits easily.
    let per_gd = h.grain_sectors * h.gtes_per_gt;
    let needed = h.capacity_sectors.div_ceil(per_gd);
    if h.gd_entries == 0 {
        h.gd_entries = needed;
    }
    limit(
        path,
        base,
        "grain directory entries",
        h.gd_entries,
        MAX_GD_ENTRIES,
    )?;
    Ok(h)
}

/// Parses a hosted sparse (`KDMV`) header or footer from the 512 bytes at
/// byte `base` of `path`.
///
/// # Errors
/// [`Error::Corrupt`] for a bad magic, version or compression algorithm;
/// [`Error::Limit`] for absurd sizes.
pub fn parse_kdmv(b: &[u8; 512], path: &Path, base: u64) -> Result<SparseHeader> {
    if &b[0..4] != KDMV_MAGIC {
        return Err(corrupt(path, base, "no KDMV magic"));
    }
    let version = LE::read_u32(&b[4..]);
    if version == 0 || version > 3 {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: format!("sparse header version {version} at offset {:#x}", base + 4),
        });
    }
    let flags = LE::read_u32(&b[8..]);
    let algorithm = LE::read_u16(&b[77..]);
    if algorithm > 1 {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "compression algorithm {algorithm} at offset {:#x}",
                base + 77
            ),
        });
    }
    let rgd = LE::read_u64(&b[48..]);
    let h = SparseHeader {
        kind: SparseKind::Hosted,
        version,
        flags,
        capacity_sectors: LE::read_u64(&b[12..]),
        grain_sectors: LE::read_u64(&b[20..]),
        desc_offset_sectors: LE::read_u64(&b[28..]),
        desc_size_sectors: LE::read_u64(&b[36..]),
        gtes_per_gt: u64::from(LE::read_u32(&b[44..])),
        rgd_offset_sectors: (flags & FLAG_RGD != 0 && rgd != 0).then_some(rgd),
        gd_offset_sectors: LE::read_u64(&b[56..]),
        gd_entries: 0,
        overhead_sectors: LE::read_u64(&b[64..]),
        compressed: algorithm == 1,
        markers: flags & FLAG_MARKERS != 0,
        zeroed_grain: flags & FLAG_ZERO_GRAIN != 0,
        newline_damaged: flags & FLAG_NL_DETECT != 0 && &b[73..77] != b"\n \r\n",
        unclean: b[72] != 0,
        se_tables_offset_sectors: 0,
        se_grains_offset_sectors: 0,
    };
    finish(path, base, h, [12, 20, 44])
}

/// Parses a COWD (vmfsSparse) header from the first 512 bytes of `path`.
///
/// # Errors
/// As [`parse_kdmv`].
pub fn parse_cowd(b: &[u8; 512], path: &Path) -> Result<SparseHeader> {
    if &b[0..4] != COWD_MAGIC {
        return Err(corrupt(path, 0, "no COWD magic"));
    }
    let gd_entries = u64::from(LE::read_u32(&b[24..]));
    let h = SparseHeader {
        kind: SparseKind::Cowd,
        version: LE::read_u32(&b[4..]),
        flags: LE::read_u32(&b[8..]),
        capacity_sectors: u64::from(LE::read_u32(&b[12..])),
        grain_sectors: u64::from(LE::read_u32(&b[16..])),
        desc_offset_sectors: 0,
        desc_size_sectors: 0,
        gtes_per_gt: 4096,
        rgd_offset_sectors: None,
        gd_offset_sectors: u64::from(LE::read_u32(&b[20..])),
        gd_entries,
        overhead_sectors: COWD_HEADER_SECTORS,
        compressed: false,
        markers: false,
        zeroed_grain: false,
        newline_damaged: false,
        unclean: false,
        se_tables_offset_sectors: 0,
        se_grains_offset_sectors: 0,
    };
    if gd_entries == 0 {
        return Err(corrupt(path, 24, "COWD grain directory size is 0"));
    }
    finish(path, 0, h, [12, 16, 0])
}

/// Parses a seSparse const header (first 512 bytes) and checks its
/// volatile header (`volatile`, read from the offset the const header
/// gives: see [`sesparse_volatile_offset`]). Returns the header and
/// whether the journal needs replaying (dirty image).
///
/// # Errors
/// [`Error::Corrupt`] or [`Error::Unsupported`] for values qemu also
/// refuses (version, grain size 8, table size 64, flags).
pub fn parse_sesparse(
    b: &[u8; 512],
    volatile: &[u8; 512],
    path: &Path,
) -> Result<(SparseHeader, bool)> {
    let q = |i: usize| LE::read_u64(&b[i * 8..]);
    if q(0) != SESPARSE_MAGIC {
        return Err(corrupt(path, 0, "no seSparse magic"));
    }
    let unsupported = |what: String| Error::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    if q(1) != 0x0000_0002_0000_0001 {
        return Err(unsupported(format!("seSparse version {:#x}", q(1))));
    }
    if q(3) != 8 || q(4) != 64 || q(5) != 0 {
        return Err(unsupported(format!(
            "seSparse grain size {} / table size {} / flags {:#x}",
            q(3),
            q(4),
            q(5)
        )));
    }
    let vq = |i: usize| LE::read_u64(&volatile[i * 8..]);
    if vq(0) != SESPARSE_VOLATILE_MAGIC {
        return Err(corrupt(
            path,
            q(10).saturating_mul(512),
            "bad seSparse volatile header magic",
        ));
    }
    let h = SparseHeader {
        kind: SparseKind::SeSparse,
        version: 2,
        flags: 0,
        capacity_sectors: q(2),
        grain_sectors: q(3),
        desc_offset_sectors: 0,
        desc_size_sectors: 0,
        gtes_per_gt: q(4) * 512 / 8,
        rgd_offset_sectors: None,
        gd_offset_sectors: q(16),
        gd_entries: limit(
            path,
            17 * 8,
            "seSparse grain directory sectors",
            q(17),
            MAX_GD_ENTRIES,
        )? * 64,
        overhead_sectors: 1,
        compressed: false,
        markers: false,
        zeroed_grain: true,
        newline_damaged: false,
        unclean: false,
        se_tables_offset_sectors: q(18),
        se_grains_offset_sectors: q(24),
    };
    let h = finish(path, 0, h, [16, 24, 32])?;
    Ok((h, vq(3) != 0))
}

/// Where the seSparse volatile header lives, in bytes (saturating).
pub fn sesparse_volatile_offset(b: &[u8; 512]) -> u64 {
    LE::read_u64(&b[80..]).saturating_mul(512)
}

/// Validates a streamOptimized footer block: the 1536 bytes before the end
/// of the file (footer marker, footer header, end-of-stream marker).
/// Returns the footer header when all three look right.
pub fn parse_footer(b: &[u8; 1536], path: &Path, base: u64) -> Option<SparseHeader> {
    let marker_ok = LE::read_u32(&b[8..]) == 0 && LE::read_u32(&b[12..]) == 3;
    let eos = &b[1024..];
    let eos_ok =
        LE::read_u64(eos) == 0 && LE::read_u32(&eos[8..]) == 0 && LE::read_u32(&eos[12..]) == 0;
    if !marker_ok || !eos_ok {
        return None;
    }
    let mut hdr = [0u8; 512];
    hdr.copy_from_slice(&b[512..1024]);
    let h = parse_kdmv(&hdr, path, base + 512).ok()?;
    (h.gd_offset_sectors != GD_AT_END).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kdmv() -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..4].copy_from_slice(b"KDMV");
        LE::write_u32(&mut b[4..], 1);
        LE::write_u32(&mut b[8..], 3);
        LE::write_u64(&mut b[12..], 16384);
        LE::write_u64(&mut b[20..], 128);
        LE::write_u32(&mut b[44..], 512);
        LE::write_u64(&mut b[48..], 21);
        LE::write_u64(&mut b[56..], 26);
        LE::write_u64(&mut b[64..], 128);
        b[73..77].copy_from_slice(b"\n \r\n");
        b
    }

    #[test]
    fn parses_hosted_header() {
        let h = parse_kdmv(&kdmv(), Path::new("d.vmdk"), 0).unwrap();
        assert_eq!(h.gd_entries, 1);
        assert_eq!(h.rgd_offset_sectors, Some(21));
        assert!(!h.compressed && !h.newline_damaged);
        assert_eq!(h.grain_bytes(), 65536);
    }

    #[test]
    fn refuses_absurd_values() {
        let mut b = kdmv();
        LE::write_u64(&mut b[20..], 0);
        assert!(parse_kdmv(&b, Path::new("d"), 0).is_err());
        let mut b = kdmv();
        LE::write_u64(&mut b[12..], u64::MAX);
        assert!(matches!(
            parse_kdmv(&b, Path::new("d"), 0),
            Err(Error::Limit { .. })
        ));
        let mut b = kdmv();
        LE::write_u64(&mut b[20..], 1);
        LE::write_u32(&mut b[44..], 1);
        LE::write_u64(&mut b[12..], MAX_CAPACITY_SECTORS);
        assert!(matches!(
            parse_kdmv(&b, Path::new("d"), 0),
            Err(Error::Limit { .. })
        ));
        let mut b = kdmv();
        b[75] = b'\n';
        assert!(parse_kdmv(&b, Path::new("d"), 0).unwrap().newline_damaged);
    }
}
