//! `platter verify`: recompute an image's digests and compare them with
//! an acquisition log (image, every window, every good range) or with
//! digests stored in the image itself (E01).

use platter_core::Source;
use platter_hash::HashAlg;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hashing::{NamedDigest, RangeDigest, hash_reader};
use crate::log::{LogDocument, check_chain};
use crate::options::{MAX_WINDOWS, MIN_HASH_WINDOW};

/// Read size for verification.
const VERIFY_BLOCK: usize = 1 << 20;

/// One recomputed digest against the expected one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestCheck {
    /// Algorithm name.
    pub alg: String,
    /// What the log (or image) says.
    pub expected: String,
    /// What the image hashes to now.
    pub actual: String,
    /// `expected == actual`.
    pub ok: bool,
}

/// One window or good range, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RangeCheck {
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Every algorithm matched.
    pub ok: bool,
    /// Per algorithm.
    pub digests: Vec<DigestCheck>,
}

/// The result of verifying an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageVerify {
    /// `acquisition log` or `digests stored in the image`.
    pub against: String,
    /// Image size now.
    pub bytes: u64,
    /// Size the log records (None for stored digests).
    pub expected_bytes: Option<u64>,
    /// Whole-image digests.
    pub image: Vec<DigestCheck>,
    /// Every window.
    pub windows: Vec<RangeCheck>,
    /// Every good range.
    pub good_ranges: Vec<RangeCheck>,
    /// Whether the log's hash chain verifies (None for stored digests).
    pub chain_ok: Option<bool>,
    /// Everything matched.
    pub ok: bool,
}

/// The digests part of a log's `hashes` record.
#[derive(Debug, Deserialize)]
struct HashesRecord {
    bytes: u64,
    image: Vec<NamedDigest>,
    window_bytes: Option<u64>,
    #[serde(default)]
    windows: Vec<RangeDigest>,
    #[serde(default)]
    good_ranges: Vec<RangeDigest>,
}

fn algs_of(list: &[NamedDigest], name: &str) -> Result<Vec<HashAlg>> {
    list.iter()
        .map(|d| {
            d.alg.parse::<HashAlg>().map_err(|_| Error::Log {
                path: name.into(),
                record: 0,
                reason: format!("unknown algorithm {:?}", d.alg),
            })
        })
        .collect()
}

fn compare(expected: &[NamedDigest], actual: &[NamedDigest]) -> Vec<DigestCheck> {
    expected
        .iter()
        .map(|e| {
            let a = actual
                .iter()
                .find(|a| a.alg == e.alg)
                .map_or_else(String::new, |a| a.hex.clone());
            DigestCheck {
                alg: e.alg.clone(),
                ok: a.eq_ignore_ascii_case(&e.hex),
                expected: e.hex.clone(),
                actual: a,
            }
        })
        .collect()
}

fn compare_ranges(expected: &[RangeDigest], actual: &[RangeDigest]) -> Vec<RangeCheck> {
    expected
        .iter()
        .map(|e| {
            let found = actual
                .iter()
                .find(|a| a.offset == e.offset && a.len == e.len);
            let digests = compare(&e.digests, found.map_or(&[][..], |a| &a.digests));
            RangeCheck {
                offset: e.offset,
                len: e.len,
                ok: found.is_some() && digests.iter().all(|d| d.ok),
                digests,
            }
        })
        .collect()
}

/// Verifies `src` against the last `hashes` record of the log `doc` (read
/// from `log_name`). `progress` gets the bytes hashed.
pub fn verify_against_log(
    src: &dyn Source,
    doc: &LogDocument,
    log_name: &str,
    progress: &dyn Fn(u64),
) -> Result<ImageVerify> {
    let rec = doc
        .records
        .iter()
        .rev()
        .find(|r| r.event == "hashes")
        .ok_or_else(|| Error::Log {
            path: log_name.into(),
            record: 0,
            reason: "no `hashes` record: the acquisition did not finish".into(),
        })?;
    let h: HashesRecord = serde_json::from_value(rec.data.clone()).map_err(|e| Error::Log {
        path: log_name.into(),
        record: rec.seq as usize,
        reason: format!("malformed `hashes` record: {e}"),
    })?;
    let algs = algs_of(&h.image, log_name)?;
    let len = src.len();
    if let Some(w) = h.window_bytes {
        if w < MIN_HASH_WINDOW || len / w > MAX_WINDOWS {
            return Err(Error::Log {
                path: log_name.into(),
                record: rec.seq as usize,
                reason: format!(
                    "window size {w} is below {MIN_HASH_WINDOW} bytes or gives more than {MAX_WINDOWS} windows"
                ),
            });
        }
    }
    // The bad spans are the gaps between the logged good ranges.
    let mut bad = Vec::new();
    let mut at = 0u64;
    for g in &h.good_ranges {
        if g.offset > at {
            bad.push((at, g.offset - at));
        }
        at = at.max(g.offset.saturating_add(g.len));
    }
    if at < h.bytes {
        bad.push((at, h.bytes - at));
    }
    let got = hash_reader(
        len,
        VERIFY_BLOCK,
        &algs,
        h.window_bytes,
        Some(&bad),
        &mut |buf, off| Ok(src.read_exact_at(buf, off)?),
        progress,
    )?;
    let image = compare(&h.image, &got.image);
    let windows = compare_ranges(&h.windows, &got.windows);
    let good_ranges = compare_ranges(&h.good_ranges, &got.good_ranges);
    let chain_ok = check_chain(doc).problems.is_empty();
    let ok = len == h.bytes
        && image.iter().all(|d| d.ok)
        && windows.iter().all(|w| w.ok)
        && good_ranges.iter().all(|g| g.ok);
    Ok(ImageVerify {
        against: "acquisition log".into(),
        bytes: len,
        expected_bytes: Some(h.bytes),
        image,
        windows,
        good_ranges,
        chain_ok: Some(chain_ok),
        ok,
    })
}

/// Verifies `src` against digests stored in the image (`(algorithm, hex)`
/// pairs such as an E01's MD5 and SHA-1). Unknown algorithms are skipped.
pub fn verify_against_digests(
    src: &dyn Source,
    stored: &[(String, String)],
    progress: &dyn Fn(u64),
) -> Result<ImageVerify> {
    let expected: Vec<NamedDigest> = stored
        .iter()
        .filter_map(|(alg, hex)| {
            let a = alg.parse::<HashAlg>().ok()?;
            Some(NamedDigest {
                alg: a.name().to_string(),
                hex: hex.to_ascii_lowercase(),
            })
        })
        .collect();
    if expected.is_empty() {
        return Err(Error::Options(format!(
            "{}: none of its stored digests uses an algorithm platter computes",
            src.name()
        )));
    }
    let algs = algs_of(&expected, src.name())?;
    let got = hash_reader(
        src.len(),
        VERIFY_BLOCK,
        &algs,
        None,
        None,
        &mut |buf, off| Ok(src.read_exact_at(buf, off)?),
        progress,
    )?;
    let image = compare(&expected, &got.image);
    let ok = image.iter().all(|d| d.ok);
    Ok(ImageVerify {
        against: "digests stored in the image".into(),
        bytes: src.len(),
        expected_bytes: None,
        image,
        windows: Vec::new(),
        good_ranges: Vec::new(),
        chain_ok: None,
        ok,
    })
}
