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
    /// SHA-512 (FIPS 180-4). Optional: faster than SHA-256 on 64-bit CPUs
    /// without SHA-NI.
    Sha512,
    /// BLAKE3 (the 256-bit default output). Optional: SIMD, several GB/s
    /// on one core.
    Blake3,
}

impl HashAlg {
    /// Every algorithm, in the order platter prints them.
    pub const ALL: [HashAlg; 5] = [
        HashAlg::Md5,
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha512,
        HashAlg::Blake3,
    ];

    /// The default set of `--hash`: MD5, SHA-1 and SHA-256.
    pub const DEFAULT: [HashAlg; 3] = [HashAlg::Md5, HashAlg::Sha1, HashAlg::Sha256];

    /// The lowercase name: `md5`, `sha1`, `sha256`, `sha512` or `blake3`
    /// (as `md5sum`, …, `sha512sum` and `b3sum` are named).
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Md5 => "md5",
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha512 => "sha512",
            HashAlg::Blake3 => "blake3",
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha512 => 64,
            HashAlg::Blake3 => blake3::OUT_LEN,
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

    /// Parses `md5`, `sha1`, `sha256`, `sha512` or `blake3`, ignoring case;
    /// `sha-1`, `sha-256`, `sha-512` and `b3` are accepted too.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md5" => Ok(HashAlg::Md5),
            "sha1" | "sha-1" => Ok(HashAlg::Sha1),
            "sha256" | "sha-256" => Ok(HashAlg::Sha256),
            "sha512" | "sha-512" => Ok(HashAlg::Sha512),
            "blake3" | "b3" => Ok(HashAlg::Blake3),
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
    Sha512(sha2::Sha512),
    // Boxed: the BLAKE3 state (its chaining-value stack) is about 1.9 KiB.
    Blake3(Box<blake3::Hasher>),
}

impl AlgHasher {
    pub(crate) fn new(alg: HashAlg) -> Self {
        match alg {
            HashAlg::Md5 => AlgHasher::Md5(md5::Md5::new()),
            HashAlg::Sha1 => AlgHasher::Sha1(sha1::Sha1::new()),
            HashAlg::Sha256 => AlgHasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha512 => AlgHasher::Sha512(sha2::Sha512::new()),
            HashAlg::Blake3 => AlgHasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            AlgHasher::Md5(h) => h.update(data),
            AlgHasher::Sha1(h) => h.update(data),
            AlgHasher::Sha256(h) => h.update(data),
            AlgHasher::Sha512(h) => h.update(data),
            AlgHasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    pub(crate) fn finish(self) -> Digest {
        let (alg, hex) = match self {
            AlgHasher::Md5(h) => (HashAlg::Md5, to_hex(&h.finalize())),
            AlgHasher::Sha1(h) => (HashAlg::Sha1, to_hex(&h.finalize())),
            AlgHasher::Sha256(h) => (HashAlg::Sha256, to_hex(&h.finalize())),
            AlgHasher::Sha512(h) => (HashAlg::Sha512, to_hex(&h.finalize())),
            AlgHasher::Blake3(h) => (HashAlg::Blake3, to_hex(h.finalize().as_bytes())),
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

    // SHA-512: FIPS 180-2 appendix C.1 ("abc") and the empty message.
    #[test]
    fn sha512_known_vectors() {
        assert_eq!(
            hex_of(HashAlg::Sha512, b""),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
             47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
        assert_eq!(
            hex_of(HashAlg::Sha512, b"abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    /// The input of the official BLAKE3 test vectors
    /// (`test_vectors/test_vectors.json` of the BLAKE3 repository):
    /// byte `i` is `i % 251`.
    fn blake3_input(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    // BLAKE3: the unkeyed `hash` of the official test vectors for input
    // lengths 0 to 3, and the well-known digest of "abc".
    #[test]
    fn blake3_official_vectors() {
        for (len, want) in [
            (
                0,
                "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
            ),
            (
                1,
                "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
            ),
            (
                2,
                "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63",
            ),
            (
                3,
                "e1be4d7a8ab5560aa4199eea339849ba8e293d55ca0a81006726d184519e647f",
            ),
        ] {
            assert_eq!(hex_of(HashAlg::Blake3, &blake3_input(len)), want, "{len}");
        }
        assert_eq!(
            hex_of(HashAlg::Blake3, b"abc"),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    /// What `tool` (`sha512sum`, `b3sum`) prints for `data` on its standard
    /// input, or `None` when the tool is not installed.
    fn tool_digest(tool: &str, data: &[u8]) -> Option<String> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new(tool)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let feed = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&feed));
        let out = child.wait_with_output().ok()?;
        writer.join().ok()?.ok()?;
        assert!(out.status.success(), "{tool} failed");
        let text = String::from_utf8(out.stdout).ok()?;
        Some(text.split_whitespace().next()?.to_string())
    }

    // sha512sum (coreutils) and b3sum (the BLAKE3 team's tool) as oracles,
    // at sizes around BLAKE3's 1 KiB chunks and 64-byte blocks (so its tree
    // has several levels) and SHA-512's 128-byte blocks, fed in pieces
    // through the multi-threaded pipeline too.
    #[test]
    fn sha512_and_blake3_match_sha512sum_and_b3sum() {
        let sizes = [
            1usize,
            64,
            127,
            128,
            1023,
            1024,
            1025,
            2048,
            4097,
            65_537,
            1 << 20,
        ];
        let data = crate::test_data::pseudo_random(1 << 20, 41);
        let mut checked = 0;
        for (alg, tool) in [(HashAlg::Sha512, "sha512sum"), (HashAlg::Blake3, "b3sum")] {
            for &n in &sizes {
                let Some(want) = tool_digest(tool, &data[..n]) else {
                    eprintln!("skipping the {tool} oracle: {tool} is not installed");
                    break;
                };
                assert_eq!(hex_of(alg, &data[..n]), want, "{alg} of {n} bytes");
                let mut h = crate::MultiHasher::new(&[alg]);
                for piece in data[..n].chunks(1000) {
                    h.update(crate::Block::from(piece));
                }
                assert_eq!(h.finish()[0].hex, want, "{alg} of {n} bytes in pieces");
                checked += 1;
            }
        }
        // The CI installs both tools (coreutils, b3sum): there they must run.
        if std::env::var_os("CI").is_some() {
            assert_eq!(checked, 2 * sizes.len(), "an oracle tool is missing on CI");
        }
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
        assert_eq!("SHA-512".parse::<HashAlg>().unwrap(), HashAlg::Sha512);
        assert_eq!("BLAKE3".parse::<HashAlg>().unwrap(), HashAlg::Blake3);
        assert_eq!(
            parse_algs("md5,sha512,blake3").unwrap(),
            [HashAlg::Md5, HashAlg::Sha512, HashAlg::Blake3]
        );
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
