//! What a container format tells about itself beyond its bytes: properties
//! for `platter info`, digests stored at acquisition time (E01 MD5/SHA-1)
//! for `platter verify`, and anomalies found while opening (a damaged
//! header copy that was skipped, a missing range).

/// Format-specific facts about an opened image, filled by the format's
/// decoder. Empty for raw images.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageMetadata {
    /// Labelled facts in display order (`("case number", "2026-17")`,
    /// `("segments", "x.E01, x.E02")`, `("subformat", "streamOptimized")`).
    pub properties: Vec<(String, String)>,
    /// Digests of the whole decoded image recorded inside the container.
    pub stored_digests: Vec<StoredDigest>,
    /// Problems found while opening, each naming the file and offset.
    pub anomalies: Vec<String>,
}

/// A digest recorded in the image itself, to be checked by recomputing it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredDigest {
    /// Algorithm name as `platter_hash` spells it (`"md5"`, `"sha1"`).
    pub algorithm: String,
    /// Lower-case hexadecimal digest.
    pub hex: String,
}
