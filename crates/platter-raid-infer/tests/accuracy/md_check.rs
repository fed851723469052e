//! Proof of the striper: for every kernel-made md array in
//! `fixtures/raid/` (see its README and `manifest.json`), regenerate the
//! array content from the manifest's content rule, stripe it, and compare
//! with the members' data areas byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::striper::{MdLevel, MemSink, Spec, stripe};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/raid")
}

fn unxz(path: &Path) -> Vec<u8> {
    let out = Command::new("xz")
        .arg("-dc")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xz (install xz-utils): {e}"));
    assert!(out.status.success(), "xz -dc {}", path.display());
    out.stdout
}

fn fnv1a32(s: &[u8]) -> u32 {
    s.iter().fold(0x811C_9DC5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// One 512-byte sector of the manifest's `content_rule`.
fn rule_sector(seed: &str, n: u64, out: &mut [u8]) {
    let text = format!("platter-md {seed} sector {n}");
    out[..47].fill(b' ');
    out[..text.len().min(47)].copy_from_slice(&text.as_bytes()[..text.len().min(47)]);
    out[47] = b'\n';
    let mut s = fnv1a32(seed.as_bytes()) ^ (n as u32).wrapping_mul(0x9E37_79B1);
    let mut r = [0u8; 16];
    for x in &mut r {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *x = (s >> 16) as u8;
    }
    for i in 0..29 {
        out[48 + 16 * i..64 + 16 * i].copy_from_slice(&r);
    }
}

/// The array content of a manifest entry, from its `content` list (or with
/// `whole_seed` over everything).
fn content(array: &Value, whole_seed: Option<&str>) -> Vec<u8> {
    let len = array["array_bytes"].as_u64().unwrap() as usize;
    let mut v = vec![0u8; len];
    let ranges: Vec<(String, u64, u64)> = match whole_seed {
        Some(s) => vec![(s.to_string(), 0, len as u64)],
        None => array["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["seed"].as_str().unwrap().to_string(),
                    c["array_offset"].as_u64().unwrap(),
                    c["bytes"].as_u64().unwrap(),
                )
            })
            .collect(),
    };
    for (seed, off, bytes) in ranges {
        for sector in off / 512..(off + bytes) / 512 {
            let at = sector as usize * 512;
            rule_sector(&seed, sector, &mut v[at..at + 512]);
        }
    }
    v
}

/// The striper's spec for a manifest entry (members by role), or `None`
/// for arrays it does not model (RAID0 with zones of unequal members).
fn spec_of(a: &Value) -> Option<(Spec, Vec<usize>)> {
    let level = match a["level"].as_str().unwrap() {
        "raid0" => MdLevel::Raid0,
        "raid1" => MdLevel::Raid1,
        "raid4" => MdLevel::Raid4,
        "raid5" => MdLevel::Raid5,
        "raid6" => MdLevel::Raid6,
        "raid10" => MdLevel::Raid10,
        "linear" => MdLevel::Linear,
        l => panic!("level {l}"),
    };
    let members = a["members"].as_array().unwrap();
    let n = members.len();
    // Data size of each member by role: md's component size, or for 0.90
    // up to the superblock.
    let mut sizes = vec![0u64; n];
    let mut image_of_role = vec![0usize; n];
    for (i, m) in members.iter().enumerate() {
        let role = m["role"].as_u64().unwrap() as usize;
        let off = m["data_offset_bytes"].as_u64().unwrap();
        sizes[role] = m["data_size_bytes"]
            .as_u64()
            .unwrap_or_else(|| m["super_offset_bytes"].as_u64().unwrap() - off);
        image_of_role[role] = i;
    }
    if level == MdLevel::Raid0 && sizes.iter().any(|s| *s != sizes[0]) {
        return None;
    }
    let layout = a["layout_md"].as_u64().unwrap() as u32;
    let chunk = a["chunk_bytes"].as_u64().unwrap().max(512);
    let min = *sizes.iter().min().unwrap();
    let spec = Spec {
        level,
        algo: if level == MdLevel::Raid4 { 5 } else { layout },
        r10: (
            u64::from(layout & 0xff),
            u64::from((layout >> 8) & 0xff),
            layout & (1 << 16) != 0,
        ),
        chunk,
        n,
        delay: None,
        member_bytes: if level == MdLevel::Raid1 {
            min
        } else {
            min / chunk * chunk
        },
        linear_sizes: sizes,
    };
    Some((spec, image_of_role))
}

/// Checks every fixture; returns how many arrays matched.
pub fn check_all() -> usize {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest");
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for a in manifest["arrays"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        let Some((spec, image_of_role)) = spec_of(a) else {
            continue;
        };
        assert_eq!(
            spec.array_bytes(),
            a["array_bytes"].as_u64().unwrap(),
            "{name}: array size"
        );
        let members = a["members"].as_array().unwrap();
        let mut expected = Vec::new();
        for variant in [None, Some(name)] {
            let data = content(a, variant);
            let mut sink = MemSink(vec![Vec::new(); spec.n]);
            stripe(
                &spec,
                &mut |at, buf| {
                    let at = at as usize;
                    buf.fill(0);
                    if at < data.len() {
                        let end = (at + buf.len()).min(data.len());
                        buf[..end - at].copy_from_slice(&data[at..end]);
                    }
                    Ok(())
                },
                &mut sink,
            )
            .unwrap();
            expected.push(sink.0);
        }
        for (role, &img) in image_of_role.iter().enumerate() {
            let m = &members[img];
            let stale = m["stale"].as_bool() == Some(true);
            // A stale member holds the array written whole with the first
            // seed; the others hold the current content.
            let want = &expected[usize::from(stale)][role];
            assert!(!want.is_empty(), "{name}: nothing striped to role {role}");
            let bytes = unxz(&fixtures().join(m["file"].as_str().unwrap()));
            let off = m["data_offset_bytes"].as_u64().unwrap() as usize;
            let got = &bytes[off..off + want.len()];
            if got != &want[..] {
                let at = got.iter().zip(want).position(|(x, y)| x != y).unwrap();
                panic!(
                    "{name}: role {role} differs from the kernel's member at data byte {at:#x} \
                     (chunk {})",
                    at as u64 / spec.chunk
                );
            }
        }
        checked += 1;
    }
    checked
}
