//! File-system images for the tests: directories of text and random
//! files, and an NTFS holding one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Text files to fill a file system with: `dirs` directories `docs/dN`,
/// `files` files, file `i` holding `20 + (i * step) % spread` numbered
/// lines ending in `phrase`, and `random.bin` of `noise(seed, random)`.
/// Returns the directory.
pub fn text_files(
    root: &Path,
    (dirs, files, step, spread): (usize, usize, usize, usize),
    phrase: &str,
    (seed, random): (u64, usize),
) -> PathBuf {
    let d = root.join("content");
    for g in 0..dirs {
        std::fs::create_dir_all(d.join(format!("docs/d{g}"))).unwrap();
    }
    for i in 0..files {
        let mut text = String::new();
        for j in 0..(20 + (i * step) % spread) {
            text.push_str(&format!("line {j} of file {i}: {phrase}\n"));
        }
        std::fs::write(d.join(format!("docs/d{}/file{i}.txt", i % dirs)), text).unwrap();
    }
    std::fs::write(d.join("random.bin"), super::noise(seed, random)).unwrap();
    d
}

/// The seed of [`content_dir`]'s `random.bin`.
pub const RANDOM_SEED: u64 = 0x1234_5678_9abc_def1;
/// The length of [`content_dir`]'s `random.bin`.
pub const RANDOM_BYTES: usize = 3 << 20;

/// A directory of mixed files: text, a binary, random and zero files.
pub fn content_dir(root: &Path) -> PathBuf {
    let d = text_files(
        root,
        (10, 500, 7, 400),
        "the quick brown fox",
        (RANDOM_SEED, RANDOM_BYTES),
    );
    std::fs::write(d.join("zeros.bin"), vec![0u8; 1 << 20]).unwrap();
    std::fs::copy("/bin/sh", d.join("sh.bin")).unwrap();
    d
}

/// An NTFS of `mib` MiB holding [`content_dir`]'s files (mkntfs, then
/// ntfs-3g or ntfscp), or `None` without the tools.
pub fn ntfs_image(root: &Path, mib: u64) -> Option<Vec<u8>> {
    if !super::have("mkntfs") || !super::have("ntfscp") {
        return None;
    }
    let img = root.join("ntfs.img");
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(mib << 20).unwrap();
    super::run_cmd(Command::new("mkntfs").args(["-q", "-F", "-f"]).arg(&img));
    let d = content_dir(root);
    // Mount through ntfs-3g (FUSE) when possible: one process for all
    // files; else ntfscp, one file at a time.
    let mnt = root.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "ntfs-3g"])
        .arg(&img)
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let ok = Command::new("cp")
            .arg("-r")
            .arg(d.join("docs"))
            .arg(d.join("random.bin"))
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        super::run_cmd(Command::new("umount").arg(&mnt));
        assert!(ok, "copy into NTFS failed");
    } else {
        // ntfscp makes no directories: every file goes to the root, the
        // same files as through the mount (their names are unique).
        let mut files: Vec<PathBuf> = std::fs::read_dir(d.join("docs"))
            .unwrap()
            .flat_map(|g| std::fs::read_dir(g.unwrap().path()).unwrap())
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.push(d.join("random.bin"));
        for p in files {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            super::run_cmd(
                Command::new("ntfscp")
                    .arg("-f")
                    .arg(&img)
                    .arg(&p)
                    .arg(&name),
            );
        }
    }
    Some(std::fs::read(&img).unwrap())
}
