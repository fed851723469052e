//! Assembly from metadata alone against 34 real md arrays made by a Linux
//! 6.1 kernel (`fixtures/raid/`, see its README). The members are given
//! shuffled, nothing of the manifest's geometry is used, and the array must
//! hash to the kernel's own sha256 of `/dev/mdN`, whole and with members
//! left out within the redundancy. The stale member of `stale-r5` must be
//! found and left out; mixed, duplicate and insufficient members must be
//! refused with errors that name them.
//!
//! DDF has no kernel-made fixture (md writes DDF only through mdadm's
//! container support): DDF planning is checked on members striped by the
//! independent oracle (`tests/oracle`) and carrying DDF metadata from the
//! independent encoder (`tests/metadata_util/ddf.rs`).
//!
//! Members are decompressed once with the `xz` command (xz-utils).

mod md_fixtures;
mod metadata_util;
mod oracle;
/// Synthetic md superblocks and DDF metadata on oracle-striped members.
#[path = "real_md_metadata/synthetic.rs"]
mod synthetic;

use std::sync::Arc;

use md_fixtures::{Fixture, all, fixture};
use platter_core::{SharedSource, Source};
use platter_raid::Error;
use platter_raid::assemble::{
    AssembleError, ExclusionReason, MetadataKind, MetadataPlan, assemble_from_metadata, plan_codes,
    plan_from_metadata,
};
use platter_raid::geometry::{Layout, Level, Raid0Layout};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- fixtures

/// A member image shared between tests without copying it.
#[derive(Debug)]
struct Image {
    name: String,
    bytes: Arc<Vec<u8>>,
}

impl Source for Image {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let len = self.bytes.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let n = buf.len().min((len - offset) as usize);
        buf[..n].copy_from_slice(&self.bytes[offset as usize..offset as usize + n]);
        Ok(n)
    }
}

impl Fixture {
    fn member(&self, k: usize) -> &Value {
        &self.array["members"][k]
    }
    fn role(&self, k: usize) -> usize {
        self.member(k)["role"].as_u64().unwrap() as usize
    }
    fn sha256(&self) -> &str {
        self.array["sha256"].as_str().unwrap()
    }
    fn level(&self) -> &str {
        self.array["level"].as_str().unwrap()
    }
    /// Member `k` as a named source.
    fn source(&self, k: usize) -> (String, SharedSource) {
        let name = format!("{}/m{k}", self.name);
        let img = Image {
            name: name.clone(),
            bytes: self.members[k].clone(),
        };
        (name, Arc::new(img) as SharedSource)
    }
}

/// A deterministic permutation of 0..n, seeded by `seed`.
fn shuffle(n: usize, seed: &str) -> Vec<usize> {
    let mut s = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        v.swap(i, ((s >> 33) % (i as u64 + 1)) as usize);
    }
    // A shuffle that leaves every member in place proves nothing.
    if n > 1 && v.iter().enumerate().all(|(i, &k)| i == k) {
        v.rotate_left(1);
    }
    v
}

/// Members `keep` of `f` (creation indices), in shuffled order. Returns the
/// sources and, per position given, the creation index.
fn given(f: &Fixture, keep: &[usize], seed: &str) -> (Vec<(String, SharedSource)>, Vec<usize>) {
    let order: Vec<usize> = shuffle(keep.len(), seed).iter().map(|&i| keep[i]).collect();
    (order.iter().map(|&k| f.source(k)).collect(), order)
}

/// sha256 of a whole source, read 1 MiB at a time.
fn sha256(src: &dyn Source) -> String {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < src.len() {
        let n = (src.len() - pos).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], pos)
            .unwrap_or_else(|e| panic!("{}: {e}", src.name()));
        h.update(&buf[..n]);
        pos += n as u64;
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Assembles `keep` (shuffled) from metadata and checks the plan against
/// the manifest: every member in its kernel role, the slots of members
/// not given missing, the array size. Returns the plan and the hash.
fn assemble_checked(f: &Fixture, keep: &[usize], seed: &str) -> (MetadataPlan, String) {
    let (members, order) = given(f, keep, seed);
    let (array, plan) =
        assemble_from_metadata(members).unwrap_or_else(|e| panic!("{} {keep:?}: {e}", f.name));
    let ctx = format!("{} given {order:?}", f.name);
    assert_eq!(
        plan.source,
        MetadataKind::Md {
            version: f.array["metadata"].as_str().unwrap().to_string()
        },
        "{ctx}"
    );
    assert_eq!(
        plan.geometry.level,
        f.level().parse::<Level>().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        plan.geometry.member_count(),
        f.array["raid_disks"].as_u64().unwrap() as usize
    );
    assert_eq!(plan.array_uuid, f.array["uuid"].as_str().unwrap(), "{ctx}");
    for m in &plan.members {
        let k = order[m.image];
        assert_eq!(
            m.slot,
            f.role(k),
            "{ctx}: {} placed in slot {}",
            m.name,
            m.slot
        );
        assert_eq!(plan.geometry.slots[m.slot].image, Some(m.image));
        assert_eq!(
            m.data_offset_bytes,
            f.member(k)["data_offset_bytes"].as_u64().unwrap(),
            "{ctx}"
        );
    }
    let mut missing: Vec<usize> = (0..f.members.len())
        .filter(|k| !keep.contains(k))
        .map(|k| f.role(k))
        .collect();
    missing.sort_unstable();
    if f.name != "stale-r5" {
        assert_eq!(plan.missing_slots, missing, "{ctx}");
        assert!(plan.excluded.is_empty(), "{ctx}: {:?}", plan.excluded);
    }
    assert_eq!(
        array.len(),
        f.array["array_bytes"].as_u64().unwrap(),
        "{ctx}"
    );
    assert_eq!(plan.array_bytes, array.len());
    // The size the superblock implies is the size the geometry gives.
    assert!(
        !plan
            .findings
            .iter()
            .any(|x| x.code == plan_codes::ARRAY_SIZE),
        "{ctx}: {:?}",
        plan.findings
    );
    let hash = sha256(&array);
    (plan, hash)
}

/// Member sets the redundancy can spare: each member for RAID1/4/5/6/10,
/// and for RAID6 two pairs, different for each array (the engine's own
/// tests in `real_md.rs` cover every pair with the manifest's parameters;
/// here the planning is under test).
fn left_out_sets(f: &Fixture) -> Vec<Vec<usize>> {
    let n = f.members.len();
    let singles = (0..n).map(|k| vec![k]);
    match f.level() {
        "raid1" | "raid4" | "raid5" | "raid10" => singles.collect(),
        "raid6" => {
            let o = shuffle(n, &format!("{}-pairs", f.name));
            singles
                .chain([vec![o[0], o[1]], vec![o[2], o[3]]])
                .collect()
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------- md tests

#[test]
fn every_real_array_assembles_from_metadata_in_any_order_whole_and_degraded() {
    let all = all();
    let degraded = std::thread::scope(|s| {
        let handles: Vec<_> = all
            .iter()
            .map(|f| {
                s.spawn(move || {
                    let n = f.members.len();
                    let everyone: Vec<usize> = (0..n).collect();
                    let (_, hash) = assemble_checked(f, &everyone, &f.name);
                    assert_eq!(hash, f.sha256(), "{}: sha256 of the array", f.name);
                    if f.name == "stale-r5" {
                        return 0;
                    }
                    let sets = left_out_sets(f);
                    for out in &sets {
                        let keep: Vec<usize> = (0..n).filter(|k| !out.contains(k)).collect();
                        let (plan, hash) = assemble_checked(f, &keep, &format!("{out:?}"));
                        assert_eq!(hash, f.sha256(), "{} without {out:?}", f.name);
                        assert!(
                            plan.findings.iter().any(|x| x.code == plan_codes::DEGRADED),
                            "{}: degraded assembly must be reported",
                            f.name
                        );
                    }
                    sets.len()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    // 11 RAID4/5 × 4, RAID10 3 × 4 + 3, RAID1 2, RAID6 14 × (5 + 2)
    // (stale-r5 has its own test).
    assert_eq!(degraded, 11 * 4 + 3 * 4 + 3 + 2 + 14 * 7);
}

#[test]
fn metadata_versions_090_10_11_are_read_where_they_live() {
    for (name, version, offset) in [
        ("r5-meta090", "0.90", 0),
        ("r5-meta10", "1.0", 0),
        ("r5-meta11", "1.1", 65536),
        ("r5-defoff", "1.2", 1 << 20),
    ] {
        let f = fixture(name);
        let refs: Vec<(String, SharedSource)> = (0..4).map(|k| f.source(k)).collect();
        let list: Vec<(&str, &dyn Source)> =
            refs.iter().map(|(n, s)| (n.as_str(), s.as_ref())).collect();
        let plan = plan_from_metadata(&list).unwrap();
        assert_eq!(
            plan.source,
            MetadataKind::Md {
                version: version.into()
            }
        );
        assert!(
            plan.members.iter().all(|m| m.data_offset_bytes == offset),
            "{name}"
        );
        // 0.90 and 1.0 keep the superblock at the end: the data runs from 0.
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["source"]["version"], version);
        assert_eq!(json["geometry"]["level"], "raid5");
    }
}

#[test]
fn stale_member_is_found_left_out_and_reported() {
    let f = fixture("stale-r5");
    let stale = (0..4)
        .find(|&k| f.member(k)["stale"].as_bool() == Some(true))
        .unwrap();
    assert_eq!(stale, 2, "the README names m2");
    let (plan, hash) = assemble_checked(f, &[0, 1, 2, 3], "stale");
    assert_eq!(hash, f.sha256(), "the kernel's array after the rewrite");
    assert_eq!(plan.missing_slots, vec![2]);
    assert_eq!(plan.events, Some(42));
    assert_eq!(plan.excluded.len(), 1, "{:?}", plan.excluded);
    let ex = &plan.excluded[0];
    assert_eq!(ex.name, "stale-r5/m2");
    match &ex.reason {
        ExclusionReason::Stale {
            counter,
            value,
            freshest,
            updated,
            freshest_updated,
        } => {
            assert_eq!((*counter, *value, *freshest), ("events", 37, 42));
            assert!(
                updated < freshest_updated,
                "{updated} vs {freshest_updated}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(ex.message.contains("events 37 < 42"), "{}", ex.message);
    assert!(
        plan.findings
            .iter()
            .any(|x| x.code == plan_codes::STALE_EXCLUDED && x.message.contains("stale-r5/m2"))
    );
    // examine's own flag is part of the plan's findings.
    assert!(
        plan.findings
            .iter()
            .any(|x| x.code == "stale_member" && x.member.is_some())
    );

    // Without m0 the array needs m2: it is used, loudly, and the rows
    // rewritten while it was away no longer read as the kernel's array.
    let (plan, hash) = assemble_checked(f, &[1, 2, 3], "stale-kept");
    assert!(plan.excluded.is_empty());
    assert_eq!(plan.missing_slots, vec![0]);
    let m2 = plan.members.iter().find(|m| m.slot == 2).unwrap();
    assert!(m2.kept_stale && m2.name == "stale-r5/m2");
    let kept = plan
        .findings
        .iter()
        .find(|x| x.code == plan_codes::STALE_KEPT)
        .expect("a loud finding");
    assert!(kept.message.contains("USED ANYWAY") && kept.message.contains("events 37 < 42"));
    assert_ne!(hash, f.sha256());

    // Without m0 and m1 not even the stale member saves it.
    let (members, _) = given(f, &[2, 3], "stale-short");
    let e = assemble_from_metadata(members).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, Error::Assemble(AssembleError::TooManyMissing { missing, .. }) if missing == &[0, 1]),
        "{text}"
    );
    assert!(text.contains("role(s) 0, 1"), "{text}");
}

#[test]
fn members_of_two_arrays_are_refused_unless_one_is_a_minority() {
    let (la, ra) = (fixture("r5-la"), fixture("r5-ra"));
    // Two and two: no majority.
    let members = vec![la.source(0), ra.source(1), la.source(2), ra.source(3)];
    let e = assemble_from_metadata(members).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, Error::Assemble(AssembleError::MixedArrays { groups }) if groups.len() == 2)
    );
    for name in ["r5-la/m0", "r5-la/m2", "r5-ra/m1", "r5-ra/m3"] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains(la.array["uuid"].as_str().unwrap()), "{text}");

    // Four of r5-la and one stray member of r5-ra: the stray is left out.
    let mut members: Vec<_> = (0..4).map(|k| la.source(k)).collect();
    members.insert(2, ra.source(0));
    let (array, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(plan.excluded[0].name, "r5-ra/m0");
    assert!(matches!(
        &plan.excluded[0].reason,
        ExclusionReason::ForeignArray { uuid, .. } if uuid == ra.array["uuid"].as_str().unwrap()
    ));
    assert!(
        plan.findings
            .iter()
            .any(|x| x.code == plan_codes::FOREIGN_EXCLUDED)
    );
    assert_eq!(sha256(&array), la.sha256());
}

#[test]
fn the_same_member_twice_is_refused_naming_both() {
    let f = fixture("r6-ls");
    let mut members: Vec<_> = (0..5).map(|k| f.source(k)).collect();
    let (_, copy) = f.source(3);
    members.insert(1, ("copy-of-m3.img".to_string(), copy));
    let e = assemble_from_metadata(members).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            Error::Assemble(AssembleError::DuplicateRole { role: 3, .. })
        ),
        "{text}"
    );
    assert!(
        text.contains("copy-of-m3.img") && text.contains("r6-ls/m3"),
        "{text}"
    );
}

#[test]
fn too_many_missing_members_are_refused_naming_the_roles() {
    let cases: [(&str, &[usize], &[usize]); 5] = [
        ("r5-ls", &[0, 3], &[1, 2]),
        ("r6-ra", &[1], &[0, 2, 3, 4]),
        ("r0-zones", &[0, 2], &[1]),
        ("linear", &[1], &[0]),
        // near=2 over 4: slots 2 and 3 mirror each other.
        ("r10-n2", &[0, 1], &[2, 3]),
    ];
    for (name, keep, missing) in cases {
        let f = fixture(name);
        let (members, _) = given(f, keep, name);
        let e = assemble_from_metadata(members).unwrap_err();
        let text = e.to_string();
        match &e {
            Error::Assemble(AssembleError::TooManyMissing { missing: m, .. }) => {
                assert_eq!(m, missing, "{name}: {text}")
            }
            other => panic!("{name}: {other}"),
        }
        let roles: Vec<String> = missing.iter().map(|r| r.to_string()).collect();
        assert!(
            text.contains(&format!("role(s) {}", roles.join(", "))),
            "{text}"
        );
    }
    // near=2 over 4 without one of each mirror still works.
    let f = fixture("r10-n2");
    let (_, hash) = assemble_checked(f, &[1, 2], "r10-halves");
    assert_eq!(hash, f.sha256());
}

/// Member images of `f` with the RAID0 layout word of the 1.2 superblock
/// (byte 76 of the superblock at 4 KiB) zeroed, as Linux before 5.4 wrote
/// it. The checksum no longer matches (a warning, not an error).
fn without_raid0_layout(f: &Fixture) -> Vec<(String, SharedSource)> {
    (0..f.members.len())
        .map(|k| {
            let mut b = f.members[k].as_ref().clone();
            assert_eq!(
                b[4096 + 76..4096 + 80],
                f.array["layout_md"].as_u64().unwrap().to_le_bytes()[..4]
            );
            b[4096 + 76..4096 + 80].fill(0);
            let name = format!("{}/m{k}", f.name);
            let img = Image {
                name: name.clone(),
                bytes: Arc::new(b),
            };
            (name, Arc::new(img) as SharedSource)
        })
        .collect()
}

#[test]
fn raid0_zone_layout_follows_the_superblock_and_warns_when_unrecorded() {
    for (name, want) in [
        ("r0-zones", Raid0Layout::Original),
        ("r0-zones-alt", Raid0Layout::Alternate),
    ] {
        let f = fixture(name);
        let (plan, hash) = assemble_checked(f, &[0, 1, 2], name);
        assert_eq!(plan.geometry.layout, Layout::Raid0(want), "{name}");
        assert_eq!(hash, f.sha256(), "{name}");
        assert!(
            !plan
                .findings
                .iter()
                .any(|x| x.code == plan_codes::RAID0_LAYOUT_UNKNOWN)
        );

        // Unrecorded: the original layout, with a warning that matters here.
        let (array, plan) = assemble_from_metadata(without_raid0_layout(f)).unwrap();
        assert_eq!(plan.geometry.layout, Layout::Raid0(Raid0Layout::Original));
        let warn = plan
            .findings
            .iter()
            .find(|x| x.code == plan_codes::RAID0_LAYOUT_UNKNOWN)
            .expect("a warning");
        assert!(warn.message.contains("alternate"), "{}", warn.message);
        assert_eq!(
            sha256(&array) == f.sha256(),
            want == Raid0Layout::Original,
            "{name}"
        );
    }
}
