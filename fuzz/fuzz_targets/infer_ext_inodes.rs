//! Fuzzes the ext4 inode-number solver of RAID inference
//! (`structures::ext_inode`). The first 12 input bytes describe a file
//! system (checksum seed, inode count, inode-size selector, flex run
//! length); the rest is scanned as one member buffer for its inodes, and
//! also through `scan_all` split into two members (superblock discovery).
//!
//! Invariants beyond "no panic": every inode anchor lies inside the
//! buffer, at an inode-size (or sector) aligned position with a whole
//! inode after it, and its offset lies inside the file system's flex run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_raid_infer::structures::ext_inode::{InodeFs, scan_inodes};
use platter_raid_infer::structures::{AnchorKind, scan_all};

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (head, rest) = data.split_at(12);
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let inode_bytes = 128usize << (head[8] % 5);
    let fs = InodeFs {
        uuid: [head[9]; 16],
        seed: word(0),
        inode_bytes,
        inodes_count: u64::from(word(4)),
        run_inodes: u64::from(head[10]) * 16,
    };
    let member_offset = u64::from(head[11]) * 512;
    let mut out = Vec::new();
    scan_inodes(2, member_offset, rest, std::slice::from_ref(&fs), &mut out);
    for a in &out {
        assert_eq!((a.member, a.kind), (2, AnchorKind::ExtInode));
        let pos = (a.member_offset - member_offset) as usize;
        assert_eq!(pos % inode_bytes.min(512), 0);
        assert!(pos + inode_bytes <= rest.len());
        assert!(a.fs_offset < fs.run_inodes * inode_bytes as u64);
        assert_eq!(a.fs_offset % inode_bytes as u64, 0);
    }
    let half = rest.len() / 2;
    let bufs = [(0usize, 0u64, &rest[..half]), (1, 0, &rest[half..])];
    out.clear();
    scan_all(&bufs, &mut out);
    for a in &out {
        let len = bufs[a.member].2.len() as u64;
        assert!(a.member_offset < len, "{a:?}");
    }
});
