//! Partition tables: MBR (with its EBR chain) and GPT headers.
//!
//! Layouts: the classic MBR (four 16-byte entries at 0x1BE, signature
//! 0x55AA at 0x1FE) and the GPT header and entry array of UEFI 2.10,
//! section 5.3 (header CRC32 over `header_size` bytes with the CRC field
//! zeroed, entry-array CRC32 at 0x58).

use super::read::{MAX_READ, Reader};
use super::validate::{MAX_FS_STARTS, Validation};
use super::{ARRAY_KEY, AnchorKind, Ctx, fat, le32, le64, ntfs};

/// EBRs followed at most in an extended partition chain.
const MAX_EBRS: usize = 32;

/// One MBR partition entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MbrEntry {
    kind: u8,
    start: u64,
    sectors: u64,
}

/// Parses the four entries of an MBR-like sector; `None` unless every
/// entry is either empty (all zero) or well-formed and one is in use.
fn mbr_entries(s: &[u8]) -> Option<[MbrEntry; 4]> {
    if s.len() < 512 || s[510] != 0x55 || s[511] != 0xAA {
        return None;
    }
    let mut out = [MbrEntry {
        kind: 0,
        start: 0,
        sectors: 0,
    }; 4];
    let mut used = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let e = &s[0x1BE + 16 * i..0x1BE + 16 * (i + 1)];
        let kind = e[4];
        if kind == 0 {
            if e.iter().any(|&b| b != 0) {
                return None;
            }
            continue;
        }
        let (start, sectors) = (u64::from(le32(e, 8)), u64::from(le32(e, 12)));
        if !matches!(e[0], 0x00 | 0x80) || start == 0 || sectors == 0 {
            return None;
        }
        *o = MbrEntry {
            kind,
            start,
            sectors,
        };
        used += 1;
    }
    (used > 0).then_some(out)
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// True when an MBR-like sector looks like an EBR (a link in a logical
/// partition chain) rather than a disk's MBR: no boot code, no disk
/// signature, one partition and at most a link to the next EBR.
fn looks_like_ebr(s: &[u8], e: &[MbrEntry; 4]) -> bool {
    s[..0x1BC].iter().all(|&b| b == 0)
        && e[0].kind != 0
        && e[0].kind != 0xEE
        && !is_extended(e[0].kind)
        && (e[1].kind == 0 || is_extended(e[1].kind))
        && e[2].kind == 0
        && e[3].kind == 0
}

pub(crate) fn scan_mbr(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(s) = ctx.get(pos, 512) else { return };
    if &s[3..11] == b"EXFAT   " {
        return;
    }
    let Some(e) = mbr_entries(s) else { return };
    if looks_like_ebr(s, &e) {
        return;
    }
    ctx.push(pos, AnchorKind::Mbr, ARRAY_KEY, 0);
}

/// A parsed GPT header with a valid CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptHeader {
    /// Logical sector size the header's LBAs are in (512 or 4096).
    pub sector_bytes: u64,
    /// LBA of this header.
    pub my_lba: u64,
    /// LBA of the other header.
    pub alternate_lba: u64,
    /// First LBA of the entry array.
    pub entries_lba: u64,
    /// Entries in the array.
    pub entries: u32,
    /// Bytes per entry.
    pub entry_bytes: u32,
    /// CRC32 of the entry array.
    pub entries_crc: u32,
}

/// Parses a GPT header sector and checks its CRC; the sector size is
/// deduced from where the entry array fits.
pub fn parse_gpt(s: &[u8]) -> Option<GptHeader> {
    if s.len() < 512 || &s[0..8] != b"EFI PART" || le32(s, 8) != 0x0001_0000 {
        return None;
    }
    let size = le32(s, 12) as usize;
    if !(92..=512).contains(&size) || le32(s, 20) != 0 {
        return None;
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&s[..16]);
    h.update(&[0; 4]);
    h.update(&s[20..size]);
    if h.finalize() != le32(s, 16) {
        return None;
    }
    let (my_lba, alt, first, last) = (le64(s, 24), le64(s, 32), le64(s, 40), le64(s, 48));
    let (entries_lba, entries, entry_bytes) = (le64(s, 72), le32(s, 80), le32(s, 84));
    if entry_bytes < 128 || !entry_bytes.is_power_of_two() || entries == 0 || first > last {
        return None;
    }
    let array_bytes = u64::from(entries) * u64::from(entry_bytes);
    let fits = |ss: u64| {
        let end = entries_lba.saturating_add(array_bytes.div_ceil(ss));
        if my_lba < alt {
            end <= first
        } else {
            end <= my_lba && entries_lba > last
        }
    };
    let sector_bytes = if fits(512) {
        512
    } else if fits(4096) {
        4096
    } else {
        return None;
    };
    Some(GptHeader {
        sector_bytes,
        my_lba,
        alternate_lba: alt,
        entries_lba,
        entries,
        entry_bytes,
        entries_crc: le32(s, 88),
    })
}

pub(crate) fn scan_gpt(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(h) = ctx.get(pos, 512).and_then(parse_gpt) else {
        return;
    };
    if let Some(off) = h.my_lba.checked_mul(h.sector_bytes) {
        ctx.push(pos, AnchorKind::GptHeader, ARRAY_KEY, off);
    }
}

/// Validates the partition table at array offset 0, if any, and appends
/// the partition starts to `starts`.
pub(crate) fn validate(r: &mut Reader<'_>, v: &mut Validation, starts: &mut Vec<u64>) {
    let Some(s0) = r.read(0, 512) else { return };
    if ntfs::parse_boot(&s0).is_some() || fat::parse_boot(&s0).is_some() {
        return;
    }
    let Some(e) = mbr_entries(&s0) else { return };
    if e.iter().any(|p| p.kind == 0xEE) {
        for ss in [512u64, 4096] {
            if let Some(h) = r.read(ss, 512).and_then(|b| parse_gpt(&b))
                && h.sector_bytes == ss
            {
                validate_gpt(r, v, &h, starts);
                return;
            }
        }
        v.check(false);
        v.notes
            .push("protective MBR without a valid GPT header".into());
        return;
    }
    let len = r.len();
    v.found.push(format!(
        "MBR at 0 ({} partitions)",
        e.iter().filter(|p| p.kind != 0).count()
    ));
    for p in e.iter().filter(|p| p.kind != 0) {
        let end = (p.start + p.sectors) * 512;
        v.check(end <= len);
        if is_extended(p.kind) {
            follow_ebrs(r, v, p.start, starts);
        } else if end <= len {
            starts.push(p.start * 512);
        }
    }
}

fn follow_ebrs(r: &mut Reader<'_>, v: &mut Validation, base: u64, starts: &mut Vec<u64>) {
    let mut ebr = base;
    for _ in 0..MAX_EBRS {
        let Some(s) = ebr.checked_mul(512).and_then(|o| r.read(o, 512)) else {
            r.fail(v);
            return;
        };
        let Some(e) = mbr_entries(&s) else {
            v.check(false);
            return;
        };
        v.check(true);
        if e[0].kind != 0 && starts.len() < MAX_FS_STARTS {
            starts.push((ebr + e[0].start) * 512);
        }
        if !is_extended(e[1].kind) {
            return;
        }
        ebr = base + e[1].start;
    }
}

fn validate_gpt(r: &mut Reader<'_>, v: &mut Validation, h: &GptHeader, starts: &mut Vec<u64>) {
    let ss = h.sector_bytes;
    let len = r.len();
    v.check(h.my_lba == 1);
    let bytes = u64::from(h.entries) * u64::from(h.entry_bytes);
    let entries = h
        .entries_lba
        .checked_mul(ss)
        .filter(|_| bytes <= MAX_READ as u64)
        .and_then(|o| r.read(o, bytes as usize));
    let Some(entries) = entries else {
        r.fail(v);
        return;
    };
    v.check(crc32fast::hash(&entries) == h.entries_crc);
    let mut n = 0;
    for e in entries.chunks_exact(h.entry_bytes as usize) {
        if e[..16].iter().all(|&b| b == 0) {
            continue;
        }
        n += 1;
        let (first, last) = (le64(e, 32), le64(e, 40));
        let inside = first <= last
            && last
                .checked_add(1)
                .and_then(|l| l.checked_mul(ss))
                .is_some_and(|end| end <= len);
        v.check(inside);
        if inside && starts.len() < MAX_FS_STARTS {
            starts.push(first * ss);
        }
    }
    v.found.push(format!("GPT at {ss} ({n} partitions)"));
    // The backup header at the alternate LBA mirrors this one.
    match h.alternate_lba.checked_mul(ss).and_then(|o| r.read(o, 512)) {
        Some(b) => v.check(parse_gpt(&b).is_some_and(|bh| {
            bh.my_lba == h.alternate_lba
                && bh.alternate_lba == h.my_lba
                && bh.entries_crc == h.entries_crc
        })),
        None => r.fail(v),
    }
}
