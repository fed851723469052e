//! Self-locating on-disk structures: anchors found in member samples, and
//! file-system validation of assembled candidates.
//!
//! Many on-disk structures say where they sit: an ext superblock copy
//! carries its group number, an NTFS MFT record its record number, an XFS
//! v5 btree block its own disk address, a btrfs tree block its logical
//! address, a GPT header its LBA. [`scan`] finds them in a member buffer
//! and reports each as an [`Anchor`]: "member `m` at byte `member_offset`
//! holds a structure that sits at byte `fs_offset` of address space
//! `fs_key`". For the right geometry, the array offset of
//! (`member`, `member_offset`) minus `fs_offset` is one constant per address
//! space (the start of that file system in the array), so each pair of
//! anchors is an exact equation on chunk size, order and data offset.
//!
//! Address spaces ([`Anchor::fs_key`]):
//! - [`ARRAY_KEY`]: absolute array offsets (MBR, GPT headers): the
//!   constant must be 0.
//! - one key per file system (hash of its UUID / serial) for ext, XFS, FAT,
//!   NTFS boot sectors, LVM2 and LUKS, md (the member's own space);
//! - NTFS MFT records: one key per record size; `fs_offset` is
//!   `record_number * record_size`, relative to the start of the `$MFT`
//!   data, so a fragmented MFT (and `$MFTMirr`, whose records say 0..3)
//!   forms several groups with different constants;
//! - ext4 inodes ([`scan_all`] only): one key per (file system, flex
//!   group), offsets within that flex group's inode tables; see
//!   [`ext_inode`];
//! - btrfs tree blocks carry *logical* addresses: anchors agree only
//!   within one chunk, so they form one group per chunk. The btrfs
//!   superblock lives in a separate (physical) space.
//!
//! Copies that do not say which copy they are (NTFS boot sector and its
//! backup at the end of the volume) are reported once per reading
//! ([`AnchorKind::NtfsBoot`] at 0 and [`AnchorKind::NtfsBootBackup`] at the
//! end, same `member_offset`): exactly one of the two holds.
//!
//! [`validate()`] reads an assembled candidate and runs consistency checks
//! that pass only when the geometry is right (checksums of structures
//! found where other structures say they are).

pub mod btrfs;
pub mod ext;
mod ext_dir;
pub mod ext_inode;
pub mod fat;
mod fat_anchor;
pub mod ntfs;
pub mod partition;
mod read;
pub mod validate;
pub mod xfs;

mod misc;

pub use ext_inode::{scan_all, scan_all_lent};
pub use validate::{Validation, validate};

/// The address space of absolute array offsets.
pub const ARRAY_KEY: u64 = 0;

/// A structure found on a member that says where it sits in its own
/// address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Index of the member image (as given to [`scan`]).
    pub member: usize,
    /// Byte offset on the member where the structure starts.
    pub member_offset: u64,
    /// What was found.
    pub kind: AnchorKind,
    /// Anchors with equal `fs_key` live in one linear address space (see
    /// the module docs for the exceptions: MFT fragments, btrfs chunks).
    /// [`ARRAY_KEY`] means `fs_offset` is an absolute array offset.
    pub fs_key: u64,
    /// Byte position the structure claims within that space.
    pub fs_offset: u64,
}

/// The kind of a self-locating structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AnchorKind {
    /// An MBR partition table at array offset 0.
    Mbr,
    /// A GPT header (primary or backup) at `my_lba`.
    GptHeader,
    /// An NTFS boot sector read as the primary (fs offset 0).
    NtfsBoot,
    /// The same NTFS boot sector read as the backup at the volume's end.
    NtfsBootBackup,
    /// An NTFS MFT record (offset relative to the `$MFT` start).
    NtfsMftRecord,
    /// An ext2/3/4 superblock or backup (`s_block_group_nr`).
    ExtSuperblock,
    /// An ext4 inode whose number was solved from its metadata_csum
    /// checksum (offset within its flex group's inode tables; see
    /// [`ext_inode`]). Found by [`scan_all`] only.
    ExtInode,
    /// A FAT12/16/32 boot sector (or the FAT32 backup at its sector).
    FatBoot,
    /// A 512-byte piece of a FAT whose chained entries ("next cluster =
    /// this entry + 1") say which piece of the first FAT it is. Found by
    /// [`scan_all`] only (it needs the volume's boot sector).
    FatTable,
    /// The same FAT piece read as part of the second FAT (exactly one of
    /// the two readings holds).
    FatTableCopy,
    /// A FAT subdirectory cluster whose "." entry names its own cluster, or
    /// the root directory found by its volume-label entry. Found by
    /// [`scan_all`] only.
    FatDirectory,
    /// An ext4 directory block located through its directory's inode.
    ExtDirectory,
    /// An ext4 extent tree block located through its file's inode.
    ExtExtentBlock,
    /// A jbd2 journal superblock located through the journal inode.
    Jbd2Superblock,
    /// An XFS superblock whose AG number comes from the AGF after it.
    XfsSuperblock,
    /// An XFS AGF or AGI header (`seqno` = AG number).
    XfsAgHeader,
    /// An XFS v5 btree or directory block (self `blkno`).
    XfsBtreeBlock,
    /// A btrfs superblock (physical offset 64 KiB, 64 MiB, 256 GiB).
    BtrfsSuperblock,
    /// A btrfs tree block (logical `bytenr`, checksum verified).
    BtrfsTreeBlock,
    /// An LVM2 physical-volume label.
    Lvm2Label,
    /// A LUKS1 or LUKS2 header.
    LuksHeader,
    /// An md v1.x superblock (a hint: the member's own space).
    MdSuperblock,
}

impl AnchorKind {
    /// A short stable name.
    pub fn name(self) -> &'static str {
        match self {
            AnchorKind::Mbr => "mbr",
            AnchorKind::GptHeader => "gpt-header",
            AnchorKind::NtfsBoot => "ntfs-boot",
            AnchorKind::NtfsBootBackup => "ntfs-boot-backup",
            AnchorKind::NtfsMftRecord => "ntfs-mft-record",
            AnchorKind::ExtSuperblock => "ext-superblock",
            AnchorKind::ExtInode => "ext-inode",
            AnchorKind::FatBoot => "fat-boot",
            AnchorKind::FatTable => "fat-table",
            AnchorKind::FatTableCopy => "fat-table-copy",
            AnchorKind::FatDirectory => "fat-directory",
            AnchorKind::ExtDirectory => "ext-directory",
            AnchorKind::ExtExtentBlock => "ext-extent-block",
            AnchorKind::Jbd2Superblock => "jbd2-superblock",
            AnchorKind::XfsSuperblock => "xfs-superblock",
            AnchorKind::XfsAgHeader => "xfs-ag-header",
            AnchorKind::XfsBtreeBlock => "xfs-btree-block",
            AnchorKind::BtrfsSuperblock => "btrfs-superblock",
            AnchorKind::BtrfsTreeBlock => "btrfs-tree-block",
            AnchorKind::Lvm2Label => "lvm2-label",
            AnchorKind::LuksHeader => "luks-header",
            AnchorKind::MdSuperblock => "md-superblock",
        }
    }
}

/// Sector granularity of the scan.
pub const SCAN_SECTOR: usize = 512;

/// Scans one member buffer that starts at member byte `member_offset`
/// and appends the anchors found to `out`.
///
/// Only 512-byte aligned positions of `buf` are examined (a trailing
/// partial sector is ignored); structures that extend past the end of
/// `buf` are skipped. Every anchor is verified beyond its magic
/// (checksums where the format has them, field consistency otherwise).
pub fn scan(member: usize, member_offset: u64, buf: &[u8], out: &mut Vec<Anchor>) {
    let mut ctx = Ctx {
        member,
        member_offset,
        buf,
        out,
    };
    let sectors = buf.len() / SCAN_SECTOR;
    for i in 0..sectors {
        let pos = i * SCAN_SECTOR;
        let s = &buf[pos..pos + SCAN_SECTOR];
        let head = le32(s, 0);
        match &s[0..4] {
            b"FILE" => ntfs::scan_record(&mut ctx, pos),
            b"XFSB" => xfs::scan_superblock(&mut ctx, pos),
            b"AB3B" | b"AB3C" | b"IAB3" | b"FIB3" | b"RMB3" | b"R3FC" | b"BMA3" | b"XDB3"
            | b"XDD3" | b"XDF3" => xfs::scan_block(&mut ctx, pos),
            b"LABE" => misc::scan_lvm2(&mut ctx, pos),
            b"LUKS" | b"SKUL" => misc::scan_luks(&mut ctx, pos),
            b"EFI " => partition::scan_gpt(&mut ctx, pos),
            _ if head == misc::MD_MAGIC => misc::scan_md(&mut ctx, pos),
            _ => {}
        }
        if s[510] == 0x55 && s[511] == 0xAA {
            if &s[3..11] == b"NTFS    " {
                ntfs::scan_boot(&mut ctx, pos);
            } else if !fat::scan_boot(&mut ctx, pos) {
                partition::scan_mbr(&mut ctx, pos);
            }
        }
        if s[0x38] == 0x53 && s[0x39] == 0xEF {
            ext::scan_superblock(&mut ctx, pos);
        }
        if &s[0x40..0x48] == btrfs::MAGIC {
            btrfs::scan_superblock(&mut ctx, pos);
        } else if btrfs::maybe_tree_block(s) {
            btrfs::scan_tree_block(&mut ctx, pos);
        }
    }
}

/// What the per-format scanners share.
pub(crate) struct Ctx<'a> {
    member: usize,
    member_offset: u64,
    buf: &'a [u8],
    out: &'a mut Vec<Anchor>,
}

impl Ctx<'_> {
    /// `len` bytes at `pos` of the buffer, or `None` past its end.
    fn get(&self, pos: usize, len: usize) -> Option<&[u8]> {
        self.buf.get(pos..pos.checked_add(len)?)
    }

    /// Records an anchor for the structure at buffer position `pos`.
    fn push(&mut self, pos: usize, kind: AnchorKind, fs_key: u64, fs_offset: u64) {
        self.out.push(Anchor {
            member: self.member,
            member_offset: self.member_offset.saturating_add(pos as u64),
            kind,
            fs_key,
            fs_offset,
        });
    }
}

/// A 64-bit key for an address space from identifying bytes (FNV-1a,
/// then a final mix); never [`ARRAY_KEY`].
pub fn space_key(tag: &str, id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in tag.as_bytes().iter().chain([0u8].iter()).chain(id) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    if h == ARRAY_KEY { 1 } else { h }
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(w)
}

/// Linux-kernel style CRC32C: `seed` in, raw register out (no final
/// inversion), as ext4 and btrfs' `crc32c(seed, ...)` use it.
pub(crate) fn crc32c_raw(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

#[cfg(test)]
mod ext_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
