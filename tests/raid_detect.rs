//! `platter raid detect` and `platter raid assemble --auto` on an array with
//! no metadata at all: a real ext4 file system (mkfs.ext4 -d) striped as md
//! RAID5 left-symmetric by the independent striper of raid_util.rs, member
//! files shuffled and renamed. The assembled array must equal the file
//! system image byte for byte (sha256sum as the oracle).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use crate::raid_util::*;
use crate::util::*;

/// An ext4 image of `mib` MiB filled with text files in a few directories.
fn ext4_image(dir: &Dir, mib: u64) -> PathBuf {
    let content = dir.path("content");
    for d in 0..6 {
        std::fs::create_dir_all(content.join(format!("d{d}"))).unwrap();
    }
    for i in 0..400 {
        let mut t = String::new();
        for j in 0..(10 + i % 200) {
            t.push_str(&format!("file {i} line {j}: evidence of something\n"));
        }
        std::fs::write(content.join(format!("d{}/f{i}.txt", i % 6)), t).unwrap();
    }
    std::fs::write(content.join("blob.bin"), random_bytes(2 << 20, 5)).unwrap();
    let img = dir.path("fs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "4096", "-g", "4096", "-d"])
        .arg(&content)
        .arg(&img));
    img
}

/// Members of `img` striped RAID5 left-symmetric over `n` disks, written in
/// the shuffled order `names[slot]`.
fn striped(dir: &Dir, img: &PathBuf, n: usize, chunk: usize, names: &[&str]) -> Vec<PathBuf> {
    let disk = std::fs::read(img).unwrap();
    let row = chunk * (n - 1);
    let disk = &disk[..disk.len() / row * row];
    let members = stripe_raid5_ls(disk, n, chunk, 1 << 20);
    // The first MiB (md's data offset) holds junk in the striper: zero it,
    // as a wiped superblock area would be.
    members
        .into_iter()
        .zip(names)
        .map(|(mut m, name)| {
            m[..1 << 20].fill(0);
            dir.write(name, &m)
        })
        .collect()
}

#[test]
fn detect_finds_the_geometry_and_assemble_auto_rebuilds_the_file_system() {
    let dir = Dir::new();
    let img = ext4_image(&dir, 48);
    let names = ["disk-c.img", "disk-a.img", "disk-d.img", "disk-b.img"];
    let members = striped(&dir, &img, 4, 64 << 10, &names);
    // Given in alphabetical order, not slot order.
    let mut given = members.clone();
    given.sort();
    let mut args: Vec<&OsStr> = vec![OsStr::new("raid"), OsStr::new("detect")];
    args.extend(given.iter().map(|p| p.as_os_str()));
    let v = platter_json(&args);
    assert_eq!(v["verdict"]["kind"], "found", "{v:#}");
    let top = &v["candidates"][0];
    assert_eq!(top["level"], "raid5");
    assert_eq!(top["layout"], "left-symmetric");
    assert_eq!(top["chunk_bytes"], 64 << 10);
    assert_eq!(top["data_offset_bytes"], 1 << 20);
    // Slot k holds names[k]: map back through the sorted argument list.
    let order: Vec<String> = top["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let i = i.as_u64().unwrap() as usize;
            given[i].file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(order, names);
    assert!(top["evidence"]["anchors_explained"].as_u64().unwrap() > 50);

    // The recipe opens as the array anywhere, and assemble --auto writes it.
    let recipe = dir.path("r.json");
    let mut a = args.clone();
    a.push(OsStr::new("--recipe-out"));
    a.push(recipe.as_os_str());
    platter().args(&a).assert().success();
    let out = dir.path("array.img");
    let mut a: Vec<&OsStr> = vec![
        OsStr::new("raid"),
        OsStr::new("assemble"),
        OsStr::new("--auto"),
    ];
    a.extend(given.iter().map(|p| p.as_os_str()));
    a.extend([OsStr::new("-o"), out.as_os_str()]);
    platter().args(&a).assert().success();
    let fs_len = std::fs::metadata(&out).unwrap().len();
    let want = dd_range(&img, 0, fs_len);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        want,
        "assembled array != file system"
    );
    let info = platter_json(&[OsStr::new("info"), recipe.as_os_str()]);
    assert_eq!(info["size_bytes"], fs_len);
}

#[test]
fn detect_refuses_bad_member_sets_clearly() {
    let dir = Dir::new();
    let a = dir.write("a.img", &random_bytes(1 << 20, 1));
    let b = dir.write("b.img", &vec![0u8; 1 << 20]);
    let c = dir.write("c.img", &vec![0u8; 1 << 20]);
    // One member given twice.
    let err = platter()
        .args([
            OsStr::new("raid"),
            OsStr::new("detect"),
            a.as_os_str(),
            a.as_os_str(),
        ])
        .assert()
        .code(1);
    assert!(text(&err.get_output().stderr).contains("given twice"));
    // A single member.
    let err = platter()
        .args([OsStr::new("raid"), OsStr::new("detect"), a.as_os_str()])
        .assert()
        .code(1);
    assert!(
        text(&err.get_output().stderr).contains("member"),
        "{}",
        text(&err.get_output().stderr)
    );
    // Blank members: no answer, said plainly, and no recipe written.
    let v = platter_json(&[
        OsStr::new("raid"),
        OsStr::new("detect"),
        b.as_os_str(),
        c.as_os_str(),
    ]);
    assert_eq!(v["verdict"]["kind"], "no_informative_data");
    let recipe = dir.path("r.json");
    platter()
        .args([
            OsStr::new("raid"),
            OsStr::new("detect"),
            b.as_os_str(),
            c.as_os_str(),
            OsStr::new("--recipe-out"),
            recipe.as_os_str(),
        ])
        .assert()
        .code(1);
    assert!(!recipe.exists());
    // assemble --auto refuses what detect cannot decide.
    let out = dir.path("out.img");
    let err = platter()
        .args([
            OsStr::new("raid"),
            OsStr::new("assemble"),
            OsStr::new("--auto"),
            b.as_os_str(),
            c.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
        ])
        .assert()
        .code(1);
    assert!(text(&err.get_output().stderr).contains("--auto"));
    assert!(!out.exists());
}

#[test]
fn detect_names_a_stale_member_and_says_to_leave_it_out() {
    let dir = Dir::new();
    let data = random_bytes(2 << 20, 7);
    let other = random_bytes(2 << 20, 8);
    // A mirror member that kept old data in every fifth 4 KiB block.
    let mut old = data.clone();
    for (i, (o, x)) in old.chunks_mut(4096).zip(other.chunks(4096)).enumerate() {
        if i % 5 == 2 {
            o.copy_from_slice(x);
        }
    }
    let a = dir.write("a.img", &data);
    let b = dir.write("b.img", &old);
    let c = dir.write("c.img", &data);
    let out = platter()
        .args([
            OsStr::new("raid"),
            OsStr::new("detect"),
            a.as_os_str(),
            b.as_os_str(),
            c.as_os_str(),
        ])
        .assert()
        .success();
    let t = text(&out.get_output().stdout);
    let line = t
        .lines()
        .find(|l| l.starts_with("stale: "))
        .unwrap_or_else(|| panic!("no stale line:\n{t}"));
    assert!(
        line.contains("b.img") && line.contains("leaves it out"),
        "{line}"
    );
    assert!(!line.contains("a.img") && !line.contains("c.img"), "{line}");
}
