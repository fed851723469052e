//! Planning from metadata the kernel did not write: md 1.2 superblocks
//! (spares, reshapes, the one-event margin) and SNIA DDF virtual disks, on
//! members striped by the independent oracle (`tests/oracle`) and
//! labelled by the independent encoders (`tests/metadata_util`).

use std::sync::Arc;

use platter_core::{SharedSource, Source};
use platter_raid::Error;
use platter_raid::assemble::{
    AssembleError, ExclusionReason, MetadataKind, PlanOptions, assemble_from_metadata,
    assemble_from_metadata_with, plan_codes,
};

use crate::metadata_util::ddf::{DdfImage, Pd, guid};
use crate::metadata_util::{Sb1, Sparse};
use crate::{oracle, shuffle};

// ------------------------------------------------- synthetic md superblocks

/// A 3-member md RAID5 (left-symmetric, 4 KiB chunks, 64 KiB per member,
/// data at 1 MiB) striped by the oracle, with 1.2 superblocks from the
/// independent encoder; `edit` adjusts each superblock.
fn synthetic_raid5(edit: impl Fn(usize, &mut Sb1)) -> (Vec<(String, SharedSource)>, Vec<u8>) {
    let spec = oracle::Spec {
        level: 5,
        layout: 2,
        chunk: 4096,
        sizes: vec![65536; 3],
        delay: None,
    };
    let striped = oracle::stripe(&spec, 7);
    let mut out = Vec::new();
    for (slot, data) in striped.members.iter().enumerate() {
        let mut sb = Sb1::raid5(slot as u16);
        sb.raid_disks = 3;
        sb.chunksize = 8;
        sb.size = 128;
        sb.data_size = 128;
        sb.max_dev = 3;
        sb.roles = vec![0, 1, 2];
        edit(slot, &mut sb);
        let name = format!("syn{slot}");
        let m = Sparse::new(&name, (1 << 20) + 65536)
            .with(4096, sb.encode())
            .with(1 << 20, data.clone());
        out.push((name, Arc::new(m) as SharedSource));
    }
    (out, striped.data)
}

fn read_all(src: &dyn Source) -> Vec<u8> {
    let mut v = vec![0u8; src.len() as usize];
    src.read_exact_at(&mut v, 0).unwrap();
    v
}

#[test]
fn spares_are_left_out_and_reshapes_refused() {
    // A fourth device, a spare of the same array.
    let (mut members, data) = synthetic_raid5(|_, sb| {
        sb.max_dev = 4;
        sb.roles = vec![0, 1, 2, 0xffff];
    });
    let mut spare = Sb1::raid5(3);
    spare.raid_disks = 3;
    spare.chunksize = 8;
    spare.size = 128;
    spare.data_size = 128;
    spare.max_dev = 4;
    spare.roles = vec![0, 1, 2, 0xffff];
    let m = Sparse::new("spare", (1 << 20) + 65536).with(4096, spare.encode());
    members.insert(0, ("spare".into(), Arc::new(m) as SharedSource));
    members.swap(1, 3);
    let (array, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(read_all(&array), data);
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(plan.excluded[0].name, "spare");
    assert_eq!(
        plan.excluded[0].reason,
        ExclusionReason::NotActive {
            role: "spare".into()
        }
    );

    // An interrupted reshape: two geometries on the members.
    let (members, _) = synthetic_raid5(|_, sb| {
        sb.feature_map |= 4; // MD_FEATURE_RESHAPE_ACTIVE
        sb.reshape_position = 96;
        sb.new_level = 5;
        sb.new_layout = 2;
        sb.delta_disks = 1;
        sb.new_chunk = 8;
    });
    let e = assemble_from_metadata(members).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            Error::Assemble(AssembleError::ReshapeInProgress {
                position_bytes: 49152,
                ..
            })
        ),
        "{text}"
    );
    assert!(
        text.contains("reshape in progress at") && text.contains("not supported yet"),
        "{text}"
    );
    assert!(text.contains("3 → 4 members"), "{text}");
}

#[test]
fn a_member_being_rebuilt_is_used_only_when_needed() {
    // syn1 was being rebuilt: valid only up to 16 KiB past its data offset.
    let rebuilding = |slot: usize, sb: &mut Sb1| {
        if slot == 1 {
            sb.feature_map |= 2; // MD_FEATURE_RECOVERY_OFFSET
            sb.recovery_offset = 32;
        }
    };
    let (members, data) = synthetic_raid5(rebuilding);
    let (array, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(plan.missing_slots, vec![1]);
    assert_eq!(
        plan.excluded[0].reason,
        ExclusionReason::Recovering {
            recovery_offset_bytes: 16384
        }
    );
    assert_eq!(read_all(&array), data);

    // Without syn0 it is needed, and used with a loud finding.
    let (mut members, _) = synthetic_raid5(rebuilding);
    members.remove(0);
    let (_, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(plan.missing_slots, vec![0]);
    assert!(plan.members.iter().any(|m| m.slot == 1 && m.kept_stale));
    assert!(
        plan.findings
            .iter()
            .any(|x| x.code == plan_codes::STALE_KEPT
                && x.message.contains("syn1: was being rebuilt"))
    );
}

#[test]
fn one_event_behind_is_accepted_and_takes_its_role_from_the_freshest() {
    // syn2 missed the last update (events 41): md still accepts it. But in
    // that update the others marked it faulty: md then trusts them.
    let (members, data) = synthetic_raid5(|slot, sb| {
        if slot == 2 {
            sb.events = 41;
        }
    });
    let (array, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(read_all(&array), data);
    assert!(plan.excluded.is_empty());
    assert!(
        plan.findings
            .iter()
            .any(|x| x.code == plan_codes::EVENTS_MARGIN)
    );

    let (members, _) = synthetic_raid5(|slot, sb| {
        if slot == 2 {
            sb.events = 41;
        } else {
            sb.roles[2] = 0xfffe;
        }
    });
    let (_, plan) = assemble_from_metadata(members).unwrap();
    assert_eq!(plan.missing_slots, vec![2]);
    assert_eq!(
        plan.excluded[0].reason,
        ExclusionReason::NotActive {
            role: "faulty".into()
        }
    );
}

// ----------------------------------------------------------------------- DDF

/// One DDF case: PRL, RLQ, the md level/layout the oracle stripes with,
/// members, and per member the start LBA of its extent.
struct DdfCase {
    prl: u8,
    rlq: u8,
    md_level: i32,
    md_layout: u32,
    lbas: Vec<u64>,
}

/// Blocks of array data per member (512-byte blocks), strip 2^3 blocks.
const DDF_BLOCKS: u64 = 512;
/// Member size in blocks: headers at blocks−4096 and blocks−2048.
const DDF_MEMBER_BLOCKS: u64 = 6144;

/// Member images of a DDF virtual disk holding the oracle's striping, seen
/// from each disk; `seq[i]` is member i's header sequence number.
fn ddf_members(c: &DdfCase, seq: &[u32]) -> (Vec<Sparse>, Vec<u8>) {
    let n = c.lbas.len();
    let spec = oracle::Spec {
        level: c.md_level,
        layout: c.md_layout,
        chunk: 4096,
        sizes: vec![(DDF_BLOCKS * 512) as usize; n],
        delay: None,
    };
    let striped = oracle::stripe(&spec, 0xddf ^ u64::from(c.prl) << 8 ^ u64::from(c.rlq));
    let mut out = Vec::new();
    for (i, data) in striped.members.iter().enumerate() {
        let mut img = DdfImage::raid5(0);
        img.blocks = DDF_MEMBER_BLOCKS;
        img.pds = (0..n)
            .map(|j| Pd {
                guid: guid(&format!("PLATTER-PD{j}")),
                refnum: 0x1000_0000 + j as u32 * 0x11,
                pd_type: 0x2,
                state: 0x1,
                config_size: DDF_BLOCKS,
            })
            .collect();
        let conf = &mut img.confs[0];
        conf.prim_count = n as u16;
        conf.strip_exp = 3;
        conf.prl = c.prl;
        conf.rlq = c.rlq;
        conf.blocks = DDF_BLOCKS;
        conf.array_blocks = (striped.data.len() / 512) as u64;
        conf.refs = img.pds.iter().map(|p| p.refnum).collect();
        conf.lbas = c.lbas.clone();
        img.this_refnum = img.pds[i].refnum;
        img.this_guid = img.pds[i].guid;
        img.seq = seq[i];
        let m = img
            .member(&format!("ddf{i}"))
            .with(c.lbas[i] * 512, data.clone());
        out.push(m);
    }
    (out, striped.data)
}

fn shared(members: Vec<Sparse>, order: &[usize]) -> Vec<(String, SharedSource)> {
    order
        .iter()
        .map(|&i| {
            (
                members[i].name.clone(),
                Arc::new(members[i].clone()) as SharedSource,
            )
        })
        .collect()
}

#[test]
fn ddf_virtual_disks_assemble_from_their_configuration_records() {
    let case = |prl, rlq, md_level, md_layout, lbas: &[u64]| DdfCase {
        prl,
        rlq,
        md_level,
        md_layout,
        lbas: lbas.to_vec(),
    };
    let cases = [
        case(0x05, 3, 5, 2, &[0, 64, 128, 0]),
        case(0x05, 0, 5, 1, &[32, 0, 0, 8]),
        case(0x05, 2, 5, 0, &[0, 0, 0, 0]),
        case(0x06, 1, 6, 8, &[0, 16, 0, 16, 0]),
        case(0x06, 2, 6, 9, &[0, 0, 0, 0, 0]),
        case(0x06, 3, 6, 10, &[8, 0, 8, 0, 8]),
        case(0x00, 0, 0, 1, &[0, 256, 0]),
        case(0x01, 0, 1, 0, &[0, 64]),
        case(0x11, 0, 10, 0x102, &[0, 0, 128]),
        case(0x04, 1, 4, 5, &[0, 0, 0]),
    ];
    for c in &cases {
        let n = c.lbas.len();
        let what = format!("PRL {:#x} RLQ {}", c.prl, c.rlq);
        let (members, data) = ddf_members(c, &vec![7; n]);
        let order = shuffle(n, &what);
        let (array, plan) = assemble_from_metadata(shared(members.clone(), &order))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            plan.source,
            MetadataKind::Ddf {
                revision: "01.02.00".into()
            }
        );
        assert_eq!(plan.array_name.as_deref(), Some("bigvol"));
        assert_eq!(plan.sequence, Some(7));
        for m in &plan.members {
            assert_eq!(m.slot, order[m.image], "{what}");
            assert_eq!(m.data_offset_bytes, c.lbas[m.slot] * 512, "{what}");
            assert_eq!(m.size_bytes, DDF_BLOCKS * 512);
        }
        assert_eq!(array.len(), data.len() as u64, "{what}");
        assert!(read_all(&array) == data, "{what}: array data");

        // Degraded within the redundancy.
        let out: &[usize] = match c.md_level {
            6 => &[1, 3],
            5 | 4 | 1 | 10 => &[n - 1],
            _ => &[],
        };
        if !out.is_empty() {
            let keep: Vec<usize> = order.iter().copied().filter(|i| !out.contains(i)).collect();
            let (array, plan) = assemble_from_metadata(shared(members, &keep)).unwrap();
            assert_eq!(plan.missing_slots, out, "{what}");
            assert!(read_all(&array) == data, "{what}: degraded data");
        }
    }
}

#[test]
fn ddf_stale_member_is_left_out_by_sequence_number() {
    let c = DdfCase {
        prl: 0x06,
        rlq: 3,
        md_level: 6,
        md_layout: 10,
        lbas: vec![0; 5],
    };
    let (members, data) = ddf_members(&c, &[9, 9, 8, 9, 9]);
    let (array, plan) = assemble_from_metadata(shared(members.clone(), &[4, 2, 0, 3, 1])).unwrap();
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(plan.excluded[0].name, "ddf2");
    assert!(matches!(
        plan.excluded[0].reason,
        ExclusionReason::Stale {
            counter: "sequence",
            value: 8,
            freshest: 9,
            ..
        }
    ));
    assert_eq!(plan.missing_slots, vec![2]);
    assert!(read_all(&array) == data);

    // A virtual disk asked for by name must exist.
    let e = assemble_from_metadata_with(
        shared(members, &[0, 1, 2, 3, 4]),
        &PlanOptions {
            virtual_disk: Some("nosuch".into()),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("bigvol"), "{e}");
}
