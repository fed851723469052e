//! Fuzzes the ext4 directory, extent-block and jbd2 anchors of RAID
//! inference (`structures::ext_dir`, reached through `scan_all`).
//!
//! Those scanners only run past a metadata_csum superblock and inodes
//! whose checksums hold, which random bytes never reach. So the target
//! builds one real ext4 image once per process (mkfs.ext4 from e2fsprogs,
//! 4 KiB blocks, a journal, nested directories, a two-block directory and
//! a file with an extent tree) and each input patches it: the first two
//! bytes choose the member count (1–4) and chunk size (4–64 KiB), the
//! rest is a list of patches (2-byte offset in 16-byte units, 1-byte
//! length, bytes) written over the image's head, where the superblock,
//! group descriptors, inode table, directories and journal of a small
//! file system live. The image is then striped RAID0-style over the
//! members and scanned. The unpatched image must yield directory,
//! extent-block and jbd2 anchors, or the target stops at once.
//!
//! Invariants beyond "no panic": every anchor lies inside its member
//! buffer, and the directory, extent-block and jbd2 anchors are
//! block-aligned positions inside the file system.
#![no_main]

use std::process::Command;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use platter_raid_infer::structures::{AnchorKind, scan_all};

/// Bytes of the base image.
const IMAGE: usize = 8 << 20;
/// File system block size.
const BS: u64 = 4096;
/// Bytes at the head of the image the patches reach (16 × 65536).
const PATCHED: usize = 1 << 20;

fn base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("infer_ext_dirs.{}", std::process::id()));
        let tree = dir.join("tree");
        for d in ["a/b/c", "two", "x"] {
            std::fs::create_dir_all(tree.join(d)).expect("staging directory");
        }
        for i in 0..200 {
            std::fs::write(tree.join("two").join(format!("entry_name_{i:05}")), "x")
                .expect("staging file");
        }
        std::fs::write(tree.join("a/b/c/note"), "some text ".repeat(900)).expect("staging file");
        let sparse = std::fs::File::create(tree.join("x/sparse")).expect("staging file");
        for i in 0..8u64 {
            use std::os::unix::fs::FileExt;
            sparse
                .write_all_at(&[0x5A; 4096], i * 32768)
                .expect("staging file");
        }
        let img = dir.join("ext4.img");
        std::fs::File::create(&img)
            .and_then(|f| f.set_len(IMAGE as u64))
            .expect("image file");
        let st = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096", "-O", "metadata_csum", "-d"])
            .arg(&tree)
            .arg(&img)
            .status()
            .expect("mkfs.ext4 (e2fsprogs) must be installed");
        assert!(st.success(), "mkfs.ext4 failed");
        let bytes = std::fs::read(&img).expect("reading the image");
        let _ = std::fs::remove_dir_all(&dir);
        // The unpatched image must reach the scanners under test.
        let mut out = Vec::new();
        scan_all(&[(0, 0, bytes.as_slice())], &mut out);
        for kind in [
            AnchorKind::ExtDirectory,
            AnchorKind::ExtExtentBlock,
            AnchorKind::Jbd2Superblock,
        ] {
            assert!(
                out.iter().any(|a| a.kind == kind),
                "no {kind:?} in the base image"
            );
        }
        bytes
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let members = 1 + usize::from(data[0] % 4);
    let chunk = 4096usize << (data[1] % 5);
    let mut image = base().to_vec();
    let mut rest = &data[2..];
    while rest.len() >= 3 {
        let at = usize::from(u16::from_le_bytes([rest[0], rest[1]])) * 16;
        let len = usize::from(rest[2]).min(rest.len() - 3);
        let end = (at + len).min(PATCHED);
        image[at..end].copy_from_slice(&rest[3..3 + (end - at)]);
        rest = &rest[3 + len..];
    }
    // RAID0 striping: chunk i goes to member i mod n.
    let mut bufs = vec![Vec::with_capacity(IMAGE / members + chunk); members];
    for (i, c) in image.chunks(chunk).enumerate() {
        bufs[i % members].extend_from_slice(c);
    }
    let buffers: Vec<(usize, u64, &[u8])> = bufs
        .iter()
        .enumerate()
        .map(|(m, b)| (m, 0u64, b.as_slice()))
        .collect();
    let mut out = Vec::new();
    scan_all(&buffers, &mut out);
    for a in &out {
        let len = buffers[a.member].2.len() as u64;
        assert!(a.member_offset < len, "{a:?}");
        if matches!(
            a.kind,
            AnchorKind::ExtDirectory | AnchorKind::ExtExtentBlock | AnchorKind::Jbd2Superblock
        ) {
            assert_eq!(a.member_offset % 512, 0, "{a:?}");
            assert!(a.member_offset + 512 <= len, "{a:?}");
            assert_eq!(a.fs_offset % 1024, 0, "{a:?}");
            assert!(a.fs_offset < (1u64 << 32) * BS * 16, "{a:?}");
        }
    }
});
