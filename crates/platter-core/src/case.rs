//! Case metadata an examiner attaches to an acquisition: it goes into the
//! acquisition log and into the header sections of an E01.

/// The examiner's description of the evidence, from `--case --evidence
/// --examiner --description --notes`. Every field is optional free text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseInfo {
    /// Case number or name (`--case`).
    pub case_number: Option<String>,
    /// Evidence item number (`--evidence`).
    pub evidence_number: Option<String>,
    /// Name of the examiner (`--examiner`).
    pub examiner: Option<String>,
    /// What the evidence is (`--description`).
    pub description: Option<String>,
    /// Free-form notes (`--notes`).
    pub notes: Option<String>,
}
