//! `examine` across members: stale members, foreign members, duplicate and
//! missing roles, geometry disagreements, checksum failures, DDF members.

mod metadata_util;

use metadata_util::ddf::DdfImage;
use metadata_util::*;
use platter_core::Source;
use platter_raid::metadata::{ExamineReport, MdRole, examine, finding_codes as fc};

const LEN: u64 = 16 << 20;

fn md_member(name: &str, s: &Sb1) -> Sparse {
    Sparse::new(name, LEN).with(4096, s.encode())
}

fn run(members: &[Sparse]) -> ExamineReport {
    let list: Vec<(&str, &dyn Source)> = members
        .iter()
        .map(|m| (m.name.as_str(), m as &dyn Source))
        .collect();
    examine(&list)
}

fn findings(r: &ExamineReport, code: &str) -> Vec<(Option<usize>, String)> {
    r.findings
        .iter()
        .filter(|f| f.code == code)
        .map(|f| (f.member, f.message.clone()))
        .collect()
}

#[test]
fn healthy_array_has_no_findings() {
    let ms: Vec<Sparse> = (0..4)
        .map(|i| md_member(&format!("sd{i}"), &Sb1::raid5(i)))
        .collect();
    let r = run(&ms);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.members.len(), 4);
    for (i, m) in r.members.iter().enumerate() {
        assert_eq!(m.md.as_ref().unwrap().role, MdRole::Active(i as u32));
        assert_eq!(m.size_bytes, LEN);
        assert!(m.ddf.is_none());
    }
}

#[test]
fn stale_member_is_flagged_by_events_and_update_time() {
    let mut ms: Vec<Sparse> = Vec::new();
    for i in 0..4u16 {
        let mut s = Sb1::raid5(i);
        if i == 1 {
            // Dropped out: older events and update time, and the others'
            // role tables mark device 1 faulty.
            s.events = 30;
            s.utime -= 3600;
        } else {
            s.roles[1] = 0xfffe;
        }
        ms.push(md_member(&format!("sd{i}"), &s));
    }
    let r = run(&ms);
    let stale = findings(&r, fc::STALE_MEMBER);
    assert_eq!(stale.len(), 1, "{:#?}", r.findings);
    assert_eq!(stale[0].0, Some(1));
    assert!(stale[0].1.contains("events 30 < 42"), "{}", stale[0].1);
    assert!(stale[0].1.contains("updated"), "{}", stale[0].1);
    let dis = findings(&r, fc::ROLE_DISAGREES);
    assert_eq!(dis.len(), 1, "{:#?}", r.findings);
    assert!(dis[0].1.contains("faulty"), "{}", dis[0].1);
    assert!(findings(&r, fc::MISSING_ROLE).is_empty());

    // Equal events but an older update time is enough.
    let mut s = Sb1::raid5(3);
    s.utime -= 10;
    ms[3] = md_member("sd3", &s);
    ms[1] = md_member("sd1", &Sb1::raid5(1));
    let r = run(&ms);
    let stale = findings(&r, fc::STALE_MEMBER);
    assert_eq!(stale.len(), 1, "{:#?}", r.findings);
    assert_eq!(stale[0].0, Some(3));
}

#[test]
fn foreign_member_duplicate_and_missing_roles() {
    let mut foreign = Sb1::raid5(2);
    foreign.set_uuid = [0xee; 16];
    let ms = vec![
        md_member("a", &Sb1::raid5(0)),
        md_member("b", &Sb1::raid5(0)), // a second copy claiming role 0
        md_member("c", &foreign),
        md_member("d", &Sb1::raid5(3)),
    ];
    let r = run(&ms);
    let mism = findings(&r, fc::ARRAY_MISMATCH);
    assert_eq!(mism.len(), 1, "{:#?}", r.findings);
    assert_eq!(mism[0].0, Some(2));
    assert!(mism[0].1.contains("eeeeeeee"), "{}", mism[0].1);
    let dup = findings(&r, fc::DUPLICATE_ROLE);
    assert_eq!(
        dup.iter().map(|d| d.0).collect::<Vec<_>>(),
        vec![Some(0), Some(1)]
    );
    assert!(
        dup[0].1.contains("role 0") && dup[0].1.contains("a, b"),
        "{}",
        dup[0].1
    );
    // Roles 1 and 2 are held by nobody of this array.
    let miss = findings(&r, fc::MISSING_ROLE);
    assert_eq!(miss.len(), 1);
    assert_eq!(miss[0].0, None);
    assert!(miss[0].1.ends_with(": 1, 2"), "{}", miss[0].1);
}

#[test]
fn geometry_checksum_invalid_and_empty_members() {
    let mut other_chunk = Sb1::raid5(1);
    other_chunk.chunksize = 256;
    let mut bad_csum = Sb1::raid5(2);
    bad_csum.csum_delta = 1;
    let mut absurd = Sb1::raid5(3);
    absurd.events = 1;
    absurd.raid_disks = 1 << 31;
    let ms = vec![
        md_member("a", &Sb1::raid5(0)),
        md_member("b", &other_chunk),
        md_member("c", &bad_csum),
        md_member("d", &absurd),
        Sparse::new("blank", LEN),
    ];
    let r = run(&ms);
    let geo = findings(&r, fc::GEOMETRY_MISMATCH);
    assert_eq!(
        geo.iter().map(|g| g.0).collect::<Vec<_>>(),
        vec![Some(1), Some(3)],
        "{:#?}",
        r.findings
    );
    assert!(geo[0].1.contains("chunk 131072"), "{}", geo[0].1);
    let cs = findings(&r, fc::CHECKSUM);
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].0, Some(2));
    let inv = findings(&r, fc::INVALID_METADATA);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].0, Some(3));
    assert!(inv[0].1.contains("raid_disks 2147483648"), "{}", inv[0].1);
    let none = findings(&r, fc::NO_METADATA);
    assert_eq!(
        none,
        vec![(Some(4), "blank: no md superblock and no DDF anchor".into())]
    );
}

#[test]
fn unreadable_member_is_a_finding_not_a_failure() {
    let mut dead = Sparse::new("dead", LEN);
    dead.bad.push((0, LEN));
    let r = run(&[md_member("a", &Sb1::raid5(0)), dead]);
    let errs = findings(&r, fc::READ_ERROR);
    assert_eq!(
        errs.len(),
        2,
        "md and DDF probes both fail: {:#?}",
        r.findings
    );
    assert!(errs.iter().all(|e| e.0 == Some(1)));
}

#[test]
fn ddf_members_stale_duplicate_missing_and_foreign() {
    let mut ms: Vec<Sparse> = Vec::new();
    for i in 0..3 {
        let mut img = DdfImage::raid5(i);
        if i == 0 {
            img.seq = 5; // older than the others' 7
        }
        ms.push(img.member(&format!("pd{i}")));
    }
    // pd3 is absent; a copy of pd2 is present twice; a foreign DDF disk.
    ms.push(DdfImage::raid5(2).member("pd2-copy"));
    let mut foreign = DdfImage::raid5(3);
    foreign.header_guid = metadata_util::ddf::guid("OTHER-CONTAINER");
    ms.push(foreign.member("other"));
    let r = run(&ms);
    let stale = findings(&r, fc::STALE_MEMBER);
    assert_eq!(stale.len(), 1, "{:#?}", r.findings);
    assert_eq!(stale[0].0, Some(0));
    assert!(stale[0].1.contains("sequence 5 < 7"), "{}", stale[0].1);
    let dup = findings(&r, fc::DUPLICATE_ROLE);
    assert_eq!(
        dup.iter().map(|d| d.0).collect::<Vec<_>>(),
        vec![Some(2), Some(3)]
    );
    let miss = findings(&r, fc::MISSING_ROLE);
    assert_eq!(miss.len(), 1, "{:#?}", r.findings);
    assert!(
        miss[0].1.contains("bigvol") && miss[0].1.contains("slots 3"),
        "{}",
        miss[0].1
    );
    let foreign = findings(&r, fc::ARRAY_MISMATCH);
    assert_eq!(foreign.len(), 1);
    assert_eq!(foreign[0].0, Some(4));
    assert!(r.members[0].ddf.is_some() && r.members[0].md.is_none());
}

#[test]
fn md_and_ddf_on_one_member() {
    let img = DdfImage::raid5(0);
    let mut m = img.member("both");
    m.pieces.push((4096, Sb1::raid5(0).encode()));
    let r = run(&[m]);
    assert_eq!(findings(&r, fc::MD_AND_DDF).len(), 1, "{:#?}", r.findings);
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["members"][0]["md"]["version"], "1.2");
    assert_eq!(j["members"][0]["ddf"]["revision"], "01.02.00");
}
