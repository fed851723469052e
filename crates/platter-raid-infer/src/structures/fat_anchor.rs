//! FAT table sectors and directory clusters as anchors.
//!
//! A FAT boot sector ([`AnchorKind::FatBoot`]) is one structure per volume:
//! too few equations to solve a striped array. The rest of a FAT volume
//! says where it is too, once the boot sector's parameters are known:
//!
//! - **FAT table sectors** ([`AnchorKind::FatTable`],
//!   [`AnchorKind::FatTableCopy`]). Files written in one go get contiguous
//!   clusters, so most used FAT entries read "next cluster = this entry +
//!   1". Entry `t` of a 512-byte piece of the FAT holding `i0 + t + 1`
//!   gives the index `i0` of the piece's first entry, hence the piece's
//!   byte offset in the FAT. With two FATs the piece is reported once for
//!   each copy (same member offset): exactly one of the two holds, as for
//!   the NTFS boot sector and its backup.
//! - **Directory clusters** ([`AnchorKind::FatDirectory`]). A
//!   subdirectory's first cluster starts with `.` and `..`; the `.` entry
//!   names the cluster itself, at `data_start + (cluster − 2) ×
//!   cluster_bytes`. The root directory (the fixed region of FAT12/16, the
//!   root cluster of FAT32) is found by its volume-label entry, which must
//!   equal the boot sector's label.
//!
//! Entry layout and the FAT types follow Microsoft's "FAT32 File System
//! Specification" v1.03, sections 4 (FAT entries, EOC and bad-cluster
//! marks) and 6 (directory entries, `.` and `..`).
//!
//! # FAT12
//!
//! 12-bit entries straddle 512-byte pieces: three pieces hold 1024
//! entries, and piece `j` starts at bit `4096 j`, i.e. its first whole
//! entry `i0 = ⌈1024 j / 3⌉` begins 0, 8 or 4 bits in. Each piece is
//! decoded at those three phases; the phase is self-checking, since
//! `i0 × 12 − 4096 j` must equal the phase's starting bit.
//!
//! # Why false anchors do not happen
//!
//! A piece becomes a table anchor only when *every* entry is a legal
//! value for the volume (free, a cluster number below `clusters + 2`, bad,
//! or end of chain), at least [`MIN_LINKS`] entries agree on one `i0`
//! that puts the piece at a whole-piece position inside the FAT, those
//! agreeing links are at least half the entries that point at clusters,
//! no entry points at itself, entries past the last cluster are free, and
//! the first piece carries the media byte in entry 0. Random bytes fail
//! the residue test (1 in 256 per entry for FAT16); text fails the value
//! range or the links; tables of identity (`v[i] = i`, NTFS `$UpCase`)
//! give `i0 − 1` and fail the alignment. Directories need both the `.`
//! and `..` entries with directory attributes, zero sizes and in-range
//! clusters. A structure that matches more than one known volume is
//! dropped.
//!
//! Directories and FAT pieces do not name their volume. A volume whose
//! boot sector was not sampled can therefore lend its structures to
//! another FAT volume of the same type that was: those that sit further
//! along the member than the known volume reaches ([`MAX_MEMBER_SKEW`]
//! past its boot sector plus the claimed offset) are refused; closer ones
//! get the other volume's key. Their offsets are then off by one constant
//! (the distance between the volumes, plus the difference of the two data
//! regions for directories), so under the right geometry they agree among
//! themselves, like a fragment, and they never agree with a wrong one more
//! than by chance.

use super::fat::{FatBoot, FatType, boot_label, parse_boot, volume_key};
use super::{Anchor, AnchorKind, SCAN_SECTOR, le16, le32};

/// FAT volumes whose structures are looked for at most (distinct keys).
pub const MAX_VOLUMES: usize = 4;
/// How far past its volume's boot sector (plus its claimed offset) a
/// structure may sit on a member: a member offset grows no faster than
/// the array offset it holds, up to a chunk (4 MiB at most) and the
/// difference between members' data offsets.
pub const MAX_MEMBER_SKEW: u64 = 32 << 20;
/// Entries of one 512-byte FAT piece that must agree on its position.
pub const MIN_LINKS: usize = 16;
/// Whole FAT12 entries in a 512-byte piece, at most (the largest count).
const MAX_ENTRIES: usize = 341;
/// Bits in a 512-byte piece.
const PIECE_BITS: u64 = SCAN_SECTOR as u64 * 8;
/// The `.` entry's name.
const DOT: &[u8; 11] = b".          ";
/// The `..` entry's name.
const DOTDOT: &[u8; 11] = b"..         ";
/// Directory entry attribute bits.
const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
/// Attribute bits no short entry has (0x40, 0x80 are reserved).
const ATTR_RESERVED: u8 = 0xC0;
/// The attribute of a long-file-name entry.
const ATTR_LONG_NAME: u8 = 0x0F;

/// One FAT volume whose structures are looked for.
#[derive(Debug, Clone)]
struct Volume {
    boot: FatBoot,
    key: u64,
    label: Option<[u8; 11]>,
    /// The lowest member offset a boot sector of the volume implies for
    /// the volume's start.
    origin: u64,
    /// Byte offsets from the boot sector.
    fat_start: u64,
    fat_bytes: u64,
    data_start: u64,
    cluster_bytes: u64,
    /// Where the root directory starts.
    root_start: u64,
}

impl Volume {
    fn new(sector: &[u8]) -> Option<Volume> {
        let boot = parse_boot(sector)?;
        let bps = boot.bytes_per_sector;
        let root_start = if boot.fat_type == FatType::Fat32 {
            cluster_offset(&boot, boot.root_cluster)?
        } else {
            boot.fats
                .checked_mul(boot.fat_sectors)?
                .checked_add(boot.reserved_sectors)?
                .checked_mul(bps)?
        };
        Some(Volume {
            key: volume_key(&boot),
            label: boot_label(sector, &boot),
            origin: u64::MAX,
            fat_start: boot.reserved_sectors.checked_mul(bps)?,
            fat_bytes: boot.fat_sectors.checked_mul(bps)?,
            data_start: boot.first_data_sector.checked_mul(bps)?,
            cluster_bytes: boot.sectors_per_cluster.checked_mul(bps)?,
            root_start,
            boot,
        })
    }

    /// The highest cluster number in use (`clusters + 1`).
    fn last_cluster(&self) -> u64 {
        self.boot.clusters + 1
    }

    /// True when `x` is a legal FAT entry value for this volume: free, a
    /// data cluster, bad or end of chain.
    fn legal(&self, x: u32) -> bool {
        let x = u64::from(x);
        x == 0 || (2..=self.last_cluster()).contains(&x) || x >= bad_mark(self.boot.fat_type)
    }

    /// Byte offset of the subdirectory cluster `c` from the boot sector.
    fn cluster_at(&self, c: u64) -> Option<u64> {
        if c < 2 || c > self.last_cluster() {
            return None;
        }
        (c - 2)
            .checked_mul(self.cluster_bytes)?
            .checked_add(self.data_start)
    }
}

/// Byte offset of cluster `c` of `b` from its boot sector.
fn cluster_offset(b: &FatBoot, c: u64) -> Option<u64> {
    c.checked_sub(2)?
        .checked_mul(b.sectors_per_cluster)?
        .checked_add(b.first_data_sector)?
        .checked_mul(b.bytes_per_sector)
}

/// Bits per entry.
fn entry_bits(t: FatType) -> u64 {
    match t {
        FatType::Fat12 => 12,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    }
}

/// The bad-cluster mark; values above it are end-of-chain marks.
fn bad_mark(t: FatType) -> u64 {
    match t {
        FatType::Fat12 => 0xFF7,
        FatType::Fat16 => 0xFFF7,
        FatType::Fat32 => 0x0FFF_FFF7,
    }
}

/// The starting bits of the first whole entry a 512-byte piece can have.
fn phases(t: FatType) -> &'static [u64] {
    match t {
        FatType::Fat12 => &[0, 8, 4],
        FatType::Fat16 | FatType::Fat32 => &[0],
    }
}

/// The volumes of the FAT boot sectors among `anchors`, read back from
/// `buffers`, one per space key, at most [`MAX_VOLUMES`].
fn volumes(buffers: &[(usize, u64, &[u8])], anchors: &[Anchor]) -> Vec<Volume> {
    let mut found: Vec<Volume> = Vec::new();
    for a in anchors.iter().filter(|a| a.kind == AnchorKind::FatBoot) {
        let origin = a.member_offset.saturating_sub(a.fs_offset);
        if let Some(v) = found.iter_mut().find(|v| v.key == a.fs_key) {
            v.origin = v.origin.min(origin);
            continue;
        }
        let Some(v) = buffers.iter().find_map(|&(m, off, buf)| {
            let pos = usize::try_from(a.member_offset.checked_sub(off)?).ok()?;
            (m == a.member)
                .then(|| buf.get(pos..pos.checked_add(SCAN_SECTOR)?))
                .flatten()
                .and_then(Volume::new)
        }) else {
            continue;
        };
        if v.key == a.fs_key && found.len() < MAX_VOLUMES {
            found.push(Volume { origin, ..v });
        }
    }
    found
}

/// Decodes the whole entries of piece `s` whose first entry starts
/// `start_bit` bits in; returns how many.
fn decode(t: FatType, s: &[u8], start_bit: u64, out: &mut [u32; MAX_ENTRIES]) -> usize {
    match t {
        FatType::Fat16 => {
            for (o, w) in out.iter_mut().zip(s.chunks_exact(2)) {
                *o = u32::from(u16::from_le_bytes([w[0], w[1]]));
            }
            SCAN_SECTOR / 2
        }
        FatType::Fat32 => {
            for (o, w) in out.iter_mut().zip(s.chunks_exact(4)) {
                *o = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & 0x0FFF_FFFF;
            }
            SCAN_SECTOR / 4
        }
        FatType::Fat12 => {
            // Two entries in three bytes once entry-pair aligned.
            let (skip, mut n) = match start_bit {
                0 => (0, 0),
                8 => (1, 0),
                _ => {
                    out[0] = u32::from(s[0]) >> 4 | u32::from(s[1]) << 4;
                    (2, 1)
                }
            };
            let body = &s[skip..];
            for (pair, b) in out[n..].chunks_exact_mut(2).zip(body.chunks_exact(3)) {
                let (b0, b1, b2) = (u32::from(b[0]), u32::from(b[1]), u32::from(b[2]));
                pair[0] = b0 | (b1 & 0xF) << 8;
                pair[1] = b1 >> 4 | b2 << 4;
            }
            n += body.len() / 3 * 2;
            // A last even entry in the two bytes left (phase 0 only).
            if body.len() % 3 == 2 {
                let at = body.len() - 2;
                out[n] = u32::from(body[at]) | (u32::from(body[at + 1]) & 0xF) << 8;
                n += 1;
            }
            n
        }
    }
}

/// The bits a 512-byte piece of the FAT full of links would show, for one
/// FAT type and phase: entry `t` holds `i0 + t + 1`, and `i0` is known
/// modulo the entries of a period (256 for FAT16, 128 for FAT32, 1024 for
/// FAT12, where the phase fixes `i0 mod 1024`), so the low 8, 7 or 10 bits
/// of every link are known. Every entry owns at least one byte no other
/// entry touches, so the count of matching bytes bounds the links from
/// above: one vectorisable pass over the sector rejects almost all
/// sectors before any decoding.
struct LinkPattern {
    start_bit: u64,
    pattern: [u8; SCAN_SECTOR],
    mask: [u8; SCAN_SECTOR],
    /// Bytes with an empty mask (they always match).
    unmasked: u16,
}

impl LinkPattern {
    fn new(t: FatType, start_bit: u64) -> LinkPattern {
        let bits = entry_bits(t);
        let (known_bits, residue) = match t {
            FatType::Fat12 => (10, [0u64, 683, 342][(start_bit / 4) as usize]),
            FatType::Fat16 => (8, 0),
            FatType::Fat32 => (7, 0),
        };
        let mut pattern = [0u8; SCAN_SECTOR];
        let mut mask = [0u8; SCAN_SECTOR];
        let entries = (PIECE_BITS - start_bit) / bits;
        for k in 0..entries {
            let value = residue + k + 1;
            for j in 0..known_bits {
                let bit = start_bit + k * bits + j;
                let (byte, shift) = ((bit / 8) as usize, bit % 8);
                mask[byte] |= 1 << shift;
                pattern[byte] |= ((value >> j & 1) as u8) << shift;
            }
        }
        let unmasked = mask.iter().filter(|&&m| m == 0).count() as u16;
        LinkPattern {
            start_bit,
            pattern,
            mask,
            unmasked,
        }
    }

    /// Bytes of `s` that match (an upper bound on the piece's links).
    fn hits(&self, s: &[u8]) -> usize {
        const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
        let word = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let mut same = 0u32;
        for ((b, p), m) in s
            .chunks_exact(8)
            .zip(self.pattern.chunks_exact(8))
            .zip(self.mask.chunks_exact(8))
        {
            // High bit of each byte set where the masked byte is zero.
            let x = (word(b) ^ word(p)) & word(m);
            same += (!((x & LOW7).wrapping_add(LOW7) | x | LOW7)).count_ones();
        }
        same as usize - usize::from(self.unmasked)
    }
}

/// The byte offset within the FAT of a piece with entries `e` (decoded
/// at `start_bit`), when it verifies as a piece of `v`'s FAT.
fn table_offset(v: &Volume, e: &[u32], start_bit: u64) -> Option<u64> {
    let t = v.boot.fat_type;
    let last = v.last_cluster();
    let in_use = |x: u32| (2..=last).contains(&u64::from(x));
    // The position most entries point after (majority vote).
    let (mut cand, mut votes) = (0u64, 0usize);
    for (k, &x) in e.iter().enumerate() {
        let Some(c) = u64::from(x).checked_sub(k as u64 + 1) else {
            continue;
        };
        if !in_use(x) {
            continue;
        }
        if votes == 0 {
            cand = c;
        }
        votes = if c == cand { votes + 1 } else { votes - 1 };
    }
    let i0 = cand;
    let bits = entry_bits(t);
    let first_bit = i0.checked_mul(bits)?;
    let piece = first_bit / PIECE_BITS;
    if first_bit - piece * PIECE_BITS != start_bit || i0 > last {
        return None;
    }
    let piece_offset = piece.checked_mul(SCAN_SECTOR as u64)?;
    if piece_offset.checked_add(SCAN_SECTOR as u64)? > v.fat_bytes {
        return None;
    }
    let (mut links, mut pointers) = (0usize, 0usize);
    for (k, &x) in e.iter().enumerate() {
        let index = i0 + k as u64;
        if index < 2 {
            continue;
        }
        let x64 = u64::from(x);
        if !v.legal(x) || x64 == index || (index > last && x != 0) {
            return None;
        }
        if in_use(x) {
            pointers += 1;
            links += usize::from(x64 == index + 1);
        }
    }
    if i0 == 0 {
        // Entry 0: the media byte with all other bits set.
        let max = (1u64 << bits.min(28)) - 1;
        if u64::from(e[0]) != (max & !0xFF) | u64::from(v.boot.media) {
            return None;
        }
    }
    (links >= MIN_LINKS && 2 * links >= pointers).then_some(piece_offset)
}

/// The cluster named by the `.` entry of a subdirectory's first sector
/// (and its `..` entry's cluster), when both entries are well formed.
fn dot_entries(s: &[u8]) -> Option<(u64, u64)> {
    let entry = |at: usize, name: &[u8; 11]| {
        let e = &s[at..at + 32];
        let attr = e[11];
        (&e[..11] == name
            && attr & ATTR_DIRECTORY != 0
            && attr & (ATTR_VOLUME_ID | ATTR_RESERVED) == 0
            && le32(e, 28) == 0)
            .then(|| u64::from(le16(e, 26)) | u64::from(le16(e, 20)) << 16)
    };
    Some((entry(0, DOT)?, entry(32, DOTDOT)?))
}

/// The root directory's offset when sector `s` starts with `v`'s volume
/// label entry.
fn root_offset(v: &Volume, s: &[u8]) -> Option<u64> {
    let label = v.label.as_ref()?;
    let attr = s[11];
    let ok = &s[..11] == label
        && attr & ATTR_VOLUME_ID != 0
        && attr & (ATTR_DIRECTORY | ATTR_RESERVED) == 0
        && attr & ATTR_LONG_NAME != ATTR_LONG_NAME
        && le16(s, 20) == 0
        && le16(s, 26) == 0
        && le32(s, 28) == 0;
    ok.then_some(v.root_start)
}

/// The directory anchor of sector `s` for volume `v`, if any.
fn directory_offset(v: &Volume, s: &[u8]) -> Option<u64> {
    if s[0] == b'.' {
        let (c, parent) = dot_entries(s)?;
        let wide = v.boot.fat_type == FatType::Fat32;
        let parent_ok = parent == 0 || (parent != c && v.cluster_at(parent).is_some());
        if !parent_ok || (!wide && (c | parent) > 0xFFFF) {
            return None;
        }
        return v.cluster_at(c);
    }
    root_offset(v, s)
}

/// True when the sector is all zeros.
fn is_zero(s: &[u8]) -> bool {
    s.chunks_exact(16)
        .all(|c| u128::from_le_bytes(c.try_into().unwrap_or([1; 16])) == 0)
}

/// Appends anchors for FAT structures of the file systems whose boot
/// sectors are among `out[start..]`: FAT table pieces and directories,
/// in the boot sector's space (see the module docs).
pub(crate) fn scan_fat(buffers: &[(usize, u64, &[u8])], start: usize, out: &mut Vec<Anchor>) {
    let vols = volumes(buffers, &out[start..]);
    if vols.is_empty() {
        return;
    }
    // Table pieces and directories sit within a volume's reach of its
    // boot sector on any member (see MAX_MEMBER_SKEW).
    let reach = |v: &Volume, end: u64| v.origin.saturating_add(end).saturating_add(MAX_MEMBER_SKEW);
    let table_reach: Vec<u64> = vols
        .iter()
        .map(|v| {
            reach(
                v,
                v.fat_start
                    .saturating_add(v.fat_bytes.saturating_mul(v.boot.fats)),
            )
        })
        .collect();
    let dir_reach: Vec<u64> = vols
        .iter()
        .map(|v| {
            reach(
                v,
                v.boot.total_sectors.saturating_mul(v.boot.bytes_per_sector),
            )
        })
        .collect();
    let patterns: Vec<(FatType, LinkPattern)> = [FatType::Fat12, FatType::Fat16, FatType::Fat32]
        .into_iter()
        .filter(|&t| vols.iter().any(|v| v.boot.fat_type == t))
        .flat_map(|t| phases(t).iter().map(move |&b| (t, LinkPattern::new(t, b))))
        .collect();
    let mut entries = [0u32; MAX_ENTRIES];
    // (volume, kind, fs offset) found for the current sector.
    let mut hits: Vec<(usize, AnchorKind, u64)> = Vec::new();
    for &(member, member_offset, buf) in buffers {
        for (i, s) in buf.chunks_exact(SCAN_SECTOR).enumerate() {
            let at = member_offset.saturating_add((i * SCAN_SECTOR) as u64);
            if !dir_reach.iter().any(|&r| at <= r) || is_zero(s) {
                continue;
            }
            hits.clear();
            for (k, v) in vols.iter().enumerate() {
                if at <= dir_reach[k]
                    && let Some(off) = directory_offset(v, s)
                {
                    hits.push((k, AnchorKind::FatDirectory, off));
                }
            }
            for (t, pattern) in &patterns {
                let t = *t;
                let near = |k: usize| vols[k].boot.fat_type == t && at <= table_reach[k];
                if !(0..vols.len()).any(near) || pattern.hits(s) < MIN_LINKS {
                    continue;
                }
                let start_bit = pattern.start_bit;
                let n = decode(t, s, start_bit, &mut entries);
                let e = &entries[..n];
                for (k, v) in vols.iter().enumerate() {
                    if !near(k) {
                        continue;
                    }
                    let Some(piece) = table_offset(v, e, start_bit) else {
                        continue;
                    };
                    let Some(first) = v.fat_start.checked_add(piece) else {
                        continue;
                    };
                    hits.push((k, AnchorKind::FatTable, first));
                    if v.boot.fats == 2
                        && let Some(copy) = first.checked_add(v.fat_bytes)
                    {
                        hits.push((k, AnchorKind::FatTableCopy, copy));
                    }
                }
            }
            // A sector that fits two volumes, or reads as two structures,
            // says nothing reliable.
            let Some(&(k0, _, _)) = hits.first() else {
                continue;
            };
            let count = |kind| hits.iter().filter(|h| h.1 == kind).count();
            let (tables, dirs) = (count(AnchorKind::FatTable), count(AnchorKind::FatDirectory));
            if hits.iter().any(|h| h.0 != k0) || tables + dirs != 1 {
                continue;
            }
            let reachable = |&(k, _, fs_offset): &(usize, AnchorKind, u64)| {
                let v: &Volume = &vols[k];
                at <= v
                    .origin
                    .saturating_add(fs_offset)
                    .saturating_add(MAX_MEMBER_SKEW)
            };
            if !hits.iter().any(reachable) {
                continue;
            }
            for &(k, kind, fs_offset) in &hits {
                out.push(Anchor {
                    member,
                    member_offset: at,
                    kind,
                    fs_key: vols[k].key,
                    fs_offset,
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "fat_anchor_tests.rs"]
mod tests;
