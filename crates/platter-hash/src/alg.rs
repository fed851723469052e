//! Hash algorithms, their names, and single-threaded hashing.

use std::fmt;
use std::str::FromStr;

use md5::Digest as _;

use crate::error::{Error, Result};

/// A hash algorithm platter can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// MD5 (RFC 1321). About 540 MB/s on one core; cannot be split.
    Md5,
    /// SHA-1 (FIPS 180-4). Uses SHA-NI when the CPU has it.
    Sha1,
    /// SHA-256 (FIPS 180-4). Uses SHA-NI when the CPU has it.
    Sha256,
}

impl HashAlg {
    /// Every algorithm, in the order platter prints them.
    pub const ALL: [HashAlg; 3] = [HashAlg::Md5, HashAlg::Sha1, HashAlg::Sha256];

    /// The lowercase name: `md5`, `sha1` or `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Md5 => "md5",
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlg {
    type Err = Error;

    /// Parses `md5`, `sha1` or `sha256`, ignoring case; `sha-1` and
    /// `sha-256` are accepted too.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md5" => Ok(HashAlg::Md5),
            "sha1" | "sha-1" => Ok(HashAlg::Sha1),
            "sha256" | "sha-256" => Ok(HashAlg::Sha256),
            _ => Err(Error::UnknownAlgorithm {
                name: s.to_string(),
            }),
        }
    }
}

/// Parses a comma-separated list such as `md5,sha1,sha256`.
///
/// Names are case-insensitive and may be surrounded by spaces; duplicates are
/// removed, keeping the first occurrence. An empty item (including an empty
/// list) is an unknown algorithm, and the error names the bad item. The
/// whole list `none` means no digests (an empty list), e.g. to time a copy.
///
/// ```
/// use platter_hash::{HashAlg, parse_algs};
/// assert_eq!(parse_algs("SHA256, md5,sha256").unwrap(), [HashAlg::Sha256, HashAlg::Md5]);
/// assert!(parse_algs("md5,crc32").unwrap_err().to_string().contains("crc32"));
/// assert!(parse_algs("none").unwrap().is_empty());
/// ```
pub fn parse_algs(list: &str) -> Result<Vec<HashAlg>> {
    if list.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut algs = Vec::new();
    for item in list.split(',') {
        let alg: HashAlg = item.trim().parse()?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    Ok(algs)
}

/// A finished digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Digest {
    /// The algorithm that produced it.
    pub alg: HashAlg,
    /// The digest as lowercase hexadecimal, as `md5sum` prints it.
    pub hex: String,
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.alg, self.hex)
    }
}

/// Lowercase hexadecimal of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The running state of one algorithm.
#[derive(Clone)]
pub(crate) enum AlgHasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl AlgHasher {
    pub(crate) fn new(alg: HashAlg) -> Self {
        match alg {
            HashAlg::Md5 => AlgHasher::Md5(md5::Md5::new()),
            HashAlg::Sha1 => AlgHasher::Sha1(sha1::Sha1::new()),
            HashAlg::Sha256 => AlgHasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            AlgHasher::Md5(h) => h.update(data),
            AlgHasher::Sha1(h) => h.update(data),
            AlgHasher::Sha256(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        let (alg, hex) = match self {
            AlgHasher::Md5(h) => (HashAlg::Md5, to_hex(&h.finalize())),
            AlgHasher::Sha1(h) => (HashAlg::Sha1, to_hex(&h.finalize())),
            AlgHasher::Sha256(h) => (HashAlg::Sha256, to_hex(&h.finalize())),
        };
        Digest { alg, hex }
    }
}

/// Hashes `data` with each algorithm on the calling thread, returning the
/// digests in the order of `algs`. Meant for tests and small data; large
/// streams go through [`MultiHasher`](crate::MultiHasher).
///
/// ```
/// use platter_hash::{HashAlg, hash_bytes};
/// let d = hash_bytes(&[HashAlg::Md5], b"abc");
/// assert_eq!(d[0].hex, "900150983cd24fb0d6963f7d28e17f72");
/// ```
pub fn hash_bytes(algs: &[HashAlg], data: &[u8]) -> Vec<Digest> {
    algs.iter()
        .map(|&alg| {
            let mut h = AlgHasher::new(alg);
            h.update(data);
            h.finish()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(alg: HashAlg, data: &[u8]) -> String {
        hash_bytes(&[alg], data).remove(0).hex
    }

    // Test vectors: RFC 1321 appendix A.5 (MD5) and FIPS 180-2 appendix
    // A/B (SHA-1, SHA-256), plus the well-known empty-input digests.
    #[test]
    fn known_vectors_empty() {
        assert_eq!(
            hex_of(HashAlg::Md5, b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hex_of(HashAlg::Sha1, b""),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex_of(HashAlg::Sha256, b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn known_vectors_abc() {
        assert_eq!(
            hex_of(HashAlg::Md5, b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex_of(HashAlg::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex_of(HashAlg::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hash_bytes_keeps_order_and_lengths() {
        let order = [HashAlg::Sha256, HashAlg::Md5, HashAlg::Sha1];
        let d = hash_bytes(&order, b"abc");
        assert_eq!(d.iter().map(|d| d.alg).collect::<Vec<_>>(), order);
        for d in &d {
            assert_eq!(d.hex.len(), d.alg.output_len() * 2);
            assert!(
                d.hex
                    .bytes()
                    .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            );
        }
    }

    #[test]
    fn names_round_trip_and_ignore_case() {
        for alg in HashAlg::ALL {
            assert_eq!(alg.name().parse::<HashAlg>().unwrap(), alg);
            assert_eq!(
                alg.to_string().to_uppercase().parse::<HashAlg>().unwrap(),
                alg
            );
        }
        assert_eq!("SHA-256".parse::<HashAlg>().unwrap(), HashAlg::Sha256);
    }

    #[test]
    fn serializes_with_lowercase_names() {
        let d = hash_bytes(&[HashAlg::Sha1], b"abc").remove(0);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"alg":"sha1","hex":"a9993e364706816aba3e25717850c26c9cd0d89d"}"#
        );
    }

    #[test]
    fn parse_algs_dedups_and_names_the_bad_item() {
        assert_eq!(parse_algs("md5").unwrap(), [HashAlg::Md5]);
        assert_eq!(
            parse_algs("md5,sha1,sha256").unwrap(),
            [HashAlg::Md5, HashAlg::Sha1, HashAlg::Sha256]
        );
        assert_eq!(
            parse_algs(" Sha256 ,MD5,sha256,md5").unwrap(),
            [HashAlg::Sha256, HashAlg::Md5]
        );
        match parse_algs("md5,whirlpool,sha1") {
            Err(Error::UnknownAlgorithm { name }) => assert_eq!(name, "whirlpool"),
            other => panic!("expected UnknownAlgorithm, got {other:?}"),
        }
        assert!(matches!(
            parse_algs(""),
            Err(Error::UnknownAlgorithm { .. })
        ));
        assert_eq!(parse_algs(" None ").unwrap(), []);
        assert!(matches!(
            parse_algs("md5,none"),
            Err(Error::UnknownAlgorithm { .. })
        ));
        assert!(matches!(
            parse_algs("md5,"),
            Err(Error::UnknownAlgorithm { .. })
        ));
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
