//! RAID inference accuracy harness (issue #6; docs/inference-accuracy.md).
//!
//! Real file systems (mkfs.ext4, mkfs.vfat, mkntfs) and raw data are
//! striped by an independent striper (proven against the kernel-made md
//! arrays of `fixtures/raid`) into member images of random level, layout,
//! chunk, member count, order, names, data offsets, missing and stale
//! members. `infer` must never answer `Found` with a geometry that does not
//! read back the content.
//!
//! - `ci_subset`: a dozen small cases, always run; asserts no confident
//!   wrong answer and no panic, prints the table.
//! - `full`: `PLATTER_ACCURACY=full cargo test --release -p
//!   platter-raid-infer --test accuracy full -- --nocapture` with `CASES`,
//!   `SEED`, `MAX_MEMBER_MIB`; `PLATTER_ACCURACY_TABLE=path` writes the
//!   markdown table; `PLATTER_ACCURACY_CACHE` holds built content.

#[path = "accuracy/mod.rs"]
mod harness;

use std::time::Instant;

use harness::cases::{Profile, Want, generate};
use harness::score::{CaseResult, Outcome, run};
use harness::striper::MdLevel;
use harness::{content, table};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Runs the cases, each in its own temporary directory. Cases whose
/// content cannot be built are skipped (and counted in `skipped`): a long
/// run is not lost to one failing mkfs.
fn run_all(
    seed: u64,
    cases: usize,
    profile: &Profile,
    plan: Option<&[(MdLevel, Want)]>,
    skipped: &mut Vec<String>,
) -> Vec<CaseResult> {
    (0..cases)
        .filter_map(|i| {
            // CASE=N reruns only case N of the run.
            if std::env::var("CASE").is_ok_and(|c| c.trim() != i.to_string()) {
                return None;
            }
            let (level, want) = match plan {
                Some(p) => (Some(p[i % p.len()].0), p[i % p.len()].1),
                None => (None, Want::Any),
            };
            let case = generate(seed, i, profile, level, want);
            let dir = tempfile::tempdir().expect("temp dir");
            // PLATTER_ACCURACY_KEEP=DIR keeps each case's member images in
            // DIR/case-N, to rerun a failure by hand;
            // PLATTER_ACCURACY_ORDER=1 prints the order the images are given
            // to inference in (results can depend on it).
            let keep = std::env::var_os("PLATTER_ACCURACY_KEEP")
                .map(|d| std::path::PathBuf::from(d).join(format!("case-{i}")));
            let work = match &keep {
                Some(k) => {
                    let _ = std::fs::remove_dir_all(k);
                    std::fs::create_dir_all(k).expect("create PLATTER_ACCURACY_KEEP dir");
                    k.clone()
                }
                None => dir.path().to_path_buf(),
            };
            let t = Instant::now();
            let r = match run(&case, &work) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("case {i}: SKIPPED ({}): {e}", case.describe());
                    skipped.push(format!("case {i}: {e}"));
                    return None;
                }
            };
            eprintln!(
                "case {i}: {:?} in {:.1}s ({}): {}",
                r.outcome,
                t.elapsed().as_secs_f64(),
                case.describe(),
                r.answer
            );
            Some(r)
        })
        .collect()
}

/// Prints the table, writes it when `PLATTER_ACCURACY_TABLE` is set, and
/// asserts no confident wrong answer and no panic.
fn report(title: &str, params: &str, results: &[CaseResult]) {
    let md = table::markdown(title, params, results);
    println!("{md}");
    if let Some(path) = std::env::var_os("PLATTER_ACCURACY_TABLE") {
        std::fs::write(&path, &md).expect("write PLATTER_ACCURACY_TABLE");
    }
    let bad: Vec<String> = results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::WrongConfident | Outcome::Panic | Outcome::Hang
            )
        })
        .map(|r| {
            format!(
                "case {}: {:?}: {} -> {}",
                r.case.index,
                r.outcome,
                r.case.describe(),
                r.answer
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "confident wrong answers, panics or hangs:\n{}",
        bad.join("\n")
    );
}

#[test]
fn striper_reproduces_every_kernel_made_md_array() {
    let checked = harness::md_check::check_all();
    // 34 arrays, less the two RAID0 arrays of unequal members (zones).
    assert_eq!(checked, 32);
}

/// Thousands of draws, without building anything: every case is a valid
/// array the engine accepts, large enough for its content, with missing
/// and stale members within the redundancy.
#[test]
fn generated_cases_are_valid_arrays() {
    let profile = Profile {
        max_member_mib: 1024,
        min_content_mib: 4,
        max_members: 12,
        fs_kinds: vec!["ext4", "vfat", "ntfs"],
    };
    let mut seen_levels = std::collections::BTreeSet::new();
    for i in 0..3000 {
        let c = generate(7, i, &profile, None, Want::Any);
        let s = &c.spec;
        let what = c.describe();
        assert!(
            s.chunk >= 512 && s.chunk % 512 == 0 && s.chunk <= 4 << 20,
            "{what}"
        );
        assert!(s.array_bytes() >= c.content.bytes, "{what}");
        assert!(
            c.missing.len() + usize::from(c.stale.is_some()) <= s.redundancy(),
            "{what}"
        );
        assert_eq!(c.images.len() + c.missing.len(), s.n, "{what}");
        assert!((2..=12).contains(&s.n), "{what}");
        harness::score::truth_geometry(&c)
            .validate()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        seen_levels.insert(s.level);
    }
    assert_eq!(seen_levels.len(), 7);
}

#[test]
fn ci_subset() {
    if std::env::var("PLATTER_ACCURACY").as_deref() == Ok("full") {
        return; // the full run replaces it
    }
    let t = Instant::now();
    let profile = Profile {
        max_member_mib: 2,
        min_content_mib: 4,
        max_members: 6,
        fs_kinds: content::fs_kinds(),
    };
    // Every level and condition; the parity levels more than once.
    let plan = [
        (MdLevel::Raid5, Want::Plain),
        (MdLevel::Raid6, Want::Plain),
        (MdLevel::Raid1, Want::Plain),
        (MdLevel::Raid10, Want::Plain),
        (MdLevel::Raid5, Want::Missing),
        (MdLevel::Raid0, Want::Plain),
        (MdLevel::Raid6, Want::Missing),
        (MdLevel::Raid4, Want::Offsets),
        (MdLevel::Linear, Want::Plain),
        (MdLevel::Raid5, Want::Stale),
        (MdLevel::Raid10, Want::Offsets),
        (MdLevel::Raid6, Want::Stale),
        (MdLevel::Raid5, Want::Delayed),
    ];
    let seed = env_u64("SEED", 1);
    let mut skipped = Vec::new();
    let results = run_all(seed, plan.len(), &profile, Some(&plan), &mut skipped);
    // The CI installs every tool the content builder uses.
    assert!(skipped.is_empty(), "content not built: {skipped:?}");
    report(
        "CI subset",
        &format!(
            "seed {seed}, {} cases, members up to {} MiB, took {:.1} s",
            results.len(),
            profile.max_member_mib,
            t.elapsed().as_secs_f64()
        ),
        &results,
    );
}

/// Cases of the full run (seed, index at `MAX_MEMBER_MIB=32`) that a
/// change once took from a wrong or open answer to exact (or to the truth
/// first among ambiguous candidates, where the content built afresh holds
/// other random file bytes and leaves a fair doubt), rerun on every test
/// run; each names what it guards.
#[test]
fn regressions() {
    if std::env::var("PLATTER_ACCURACY").as_deref() == Ok("full") {
        return;
    }
    let profile = Profile {
        max_member_mib: 32,
        min_content_mib: 4,
        max_members: 12,
        fs_kinds: content::fs_kinds(),
    };
    // The verdict must be "found" exactly (0), or the truth only first
    // (1), or the answer only not confidently wrong (2).
    let (found, first, not_wrong) = (0, 1, 2);
    for (seed, index, must, what) in [
        (
            1,
            32,
            not_wrong,
            "a RAID4 whose RAID5 rival was completed and validated while the RAID4 fit was not",
        ),
        (
            1,
            173,
            not_wrong,
            "a RAID6 whose stale member fails P and Q on under 1 % of the sectors",
        ),
        (
            1,
            118,
            found,
            "NTFS $MFTMirr records claim the MFT's first places again",
        ),
        (
            1,
            119,
            found,
            "a RAID0 whose content looks as if parity rotated",
        ),
        (
            1,
            9,
            first,
            "a RAID0 whose inode table a wrong chunk cuts and counts",
        ),
        (
            1,
            47,
            first,
            "RAID10 far 2 over two members, whose halves mirror each other crosswise",
        ),
        (
            1,
            157,
            found,
            "a RAID5 whose 2 MiB-chunk rival fails a few file-system checks",
        ),
        (
            1,
            6,
            found,
            "a RAID10 whose rival shifted by a data offset shows no file system",
        ),
        (
            1,
            184,
            first,
            "a RAID5 with a stale member, whose rival with a member unseated fails checks, and whose fit seated two members the wrong way round until swapped back",
        ),
        (
            1,
            125,
            found,
            "a RAID10 whose stale pair's first chunks are zeros, members at different starts",
        ),
        (
            1,
            114,
            first,
            "a RAID6 of 4 over FAT with a member missing: only the GF(2^8) relation each row keeps shows it",
        ),
        (
            1,
            17,
            first,
            "a RAID6 of 4 over text with a member missing, left-asymmetric told from left-symmetric by continuity",
        ),
        (
            1,
            22,
            found,
            "a RAID5 whose parity stays 8 rows on a member after a first group of 1",
        ),
        (
            1,
            120,
            found,
            "a RAID5 whose true chunk fits the structures only once refined, ranked below 64 fast fits",
        ),
        (
            1,
            126,
            found,
            "a RAID5 whose content shows parity rotating at twice the chunk, open, and whose copies leave two members to seat",
        ),
        (
            1,
            74,
            found,
            "a RAID6 of 7 with Q and a data member missing, the RAID5 it leaves, behind RAID6 readings with one member missing whose rows keep no relation",
        ),
        (
            1,
            82,
            found,
            "a RAID6 whose structure fit, seated by copies in parity chunks, starts a row early with no file system at array 0: Q from the first data stands behind it for validation",
        ),
        (
            2,
            81,
            found,
            "a RAID0 at 17 KiB whose FAT boot sector is alone on its member, before any sector two members share",
        ),
        (
            1,
            34,
            found,
            "a degraded RAID5 whose RAID6 twin (Q slot missing too) assembles the same array and is no rival",
        ),
        (
            1,
            164,
            found,
            "a parity-last RAID5 with a data member missing, read as RAID0 with the parity member in its place: the copies name the parity member and validation picks the RAID4 reading",
        ),
        (
            1,
            105,
            found,
            "a parity-last RAID5 of 3 with a data member missing, read as RAID0 of the 2 left: either may be parity, and validation picks the right RAID4 reading",
        ),
        (
            1,
            96,
            found,
            "a degraded RAID5 whose parity member holds copies of the missing first chunk, which vote it into the missing slot",
        ),
        (
            2,
            65,
            found,
            "a parity-first RAID5 with a data member missing, whose RAID0 reading at the true chunk is second behind one at half of it",
        ),
        (
            1,
            78,
            found,
            "a RAID10 far 3 of 9 over a sparse ext4, one member without data at the probes to name the member after it",
        ),
        (
            1,
            5,
            found,
            "a RAID10 far 2 whose members start at 0, 64 and 128 KiB: a copy delta per member, the starts from the walk around the cycle",
        ),
        (
            1,
            194,
            found,
            "a RAID10 far 3 whose members start at five different offsets, found by probing around the stride, one member too sparse to show its copies, and its third copies telling it from far 2",
        ),
        (
            2,
            49,
            found,
            "a RAID10 far 2 whose members start at 0, 64 KiB and 1 MiB: copies past the shortest member, and copies lower on the next member than on this one",
        ),
        (
            2,
            4,
            found,
            "a RAID0 of six over a small ext4 beside open RAID4/5/6 fits: their seatings validated, the RAID4 missing its parity member reading the same bytes as the RAID0",
        ),
    ] {
        let case = generate(seed, index, &profile, None, Want::Any);
        let dir = tempfile::tempdir().expect("temp dir");
        let r = run(&case, dir.path()).expect("content built");
        let what = format!(
            "seed {seed} case {index} ({what}; {}): {}",
            case.describe(),
            r.answer
        );
        match must {
            0 => assert_eq!(r.outcome, Outcome::Exact, "{what}"),
            1 => assert!(
                r.top1_exact && r.outcome != Outcome::WrongConfident,
                "{:?}, truth not first: {what}",
                r.outcome
            ),
            _ => assert_ne!(r.outcome, Outcome::WrongConfident, "{what}"),
        }
    }
}

/// The full run; does nothing unless `PLATTER_ACCURACY=full`.
#[test]
fn full() {
    if std::env::var("PLATTER_ACCURACY").as_deref() != Ok("full") {
        return;
    }
    let t = Instant::now();
    let max_member_mib = env_u64("MAX_MEMBER_MIB", 64);
    let profile = Profile {
        max_member_mib,
        min_content_mib: 4,
        max_members: 12,
        fs_kinds: content::fs_kinds(),
    };
    let seed = env_u64("SEED", 1);
    let cases = env_u64("CASES", 200) as usize;
    let mut skipped = Vec::new();
    let results = run_all(seed, cases, &profile, None, &mut skipped);
    report(
        "Full run",
        &format!(
            "seed {seed}, {cases} cases ({} skipped: content not built), members up to \
             {max_member_mib} MiB, release build, took {:.0} s",
            skipped.len(),
            t.elapsed().as_secs_f64()
        ),
        &results,
    );
}
