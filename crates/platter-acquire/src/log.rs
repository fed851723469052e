//! The evidence log: `OUT.log.json`, a list of records forming a SHA-256
//! hash chain, and its human-readable rendering `OUT.log.txt`.
//!
//! Each record holds `seq`, `time`, `event`, `data` and `prev_sha256`, the
//! `sha256` of the record before it (64 zeros for the first). Its own
//! `sha256` is the SHA-256 of the compact JSON serialisation of those five
//! fields, in that order, with `data` serialised as `serde_json` writes a
//! parsed value. Editing a record changes its hash; removing or reordering
//! records breaks a `prev_sha256` link or the `seq` numbering; cutting off
//! the tail loses the final `end` record and changes the chain head, which
//! the acquisition summary prints for the case notes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use platter_hash::{HashAlg, hash_bytes};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The `format` field of a log document.
pub const LOG_FORMAT: &str = "platter-acquisition-log/1";
/// `prev_sha256` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Logs larger than this are refused (64 MiB).
pub const MAX_LOG_BYTES: u64 = 64 << 20;
/// The event that closes an acquisition session.
pub const END_EVENT: &str = "end";

/// One record of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// 0-based position in the chain.
    pub seq: u64,
    /// UTC time (RFC 3339) the record was made.
    pub time: String,
    /// What happened: `start`, `pass`, `hashes`, `bad_sectors`, `verify`, `end`.
    pub event: String,
    /// The details.
    pub data: Value,
    /// `sha256` of the previous record.
    pub prev_sha256: String,
    /// SHA-256 of this record (see the module docs).
    pub sha256: String,
}

/// The hashed part of a record, in its fixed field order.
#[derive(Serialize)]
struct Unsigned<'a> {
    seq: u64,
    time: &'a str,
    event: &'a str,
    data: &'a Value,
    prev_sha256: &'a str,
}

impl LogRecord {
    /// The SHA-256 this record should carry.
    pub fn compute_hash(&self) -> String {
        let u = Unsigned {
            seq: self.seq,
            time: &self.time,
            event: &self.event,
            data: &self.data,
            prev_sha256: &self.prev_sha256,
        };
        let bytes = serde_json::to_vec(&u).unwrap_or_default();
        hash_bytes(&[HashAlg::Sha256], &bytes).remove(0).hex
    }
}

/// The `OUT.log.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogDocument {
    /// Always [`LOG_FORMAT`].
    pub format: String,
    /// The chain.
    pub records: Vec<LogRecord>,
    /// `sha256` of the last record.
    pub chain_head: String,
}

/// An evidence log being written.
#[derive(Debug, Clone, Default)]
pub struct EvidenceLog {
    records: Vec<LogRecord>,
}

impl EvidenceLog {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads an existing log to continue it (after `--resume`), failing
    /// when its chain does not verify.
    pub fn load(path: &Path) -> Result<Self> {
        let doc = read_document(path)?;
        let report = check_chain(&doc);
        if let Some(p) = report.problems.first() {
            return Err(Error::Log {
                path: path.to_path_buf(),
                record: p.record,
                reason: format!("cannot continue a log whose chain is broken: {}", p.reason),
            });
        }
        Ok(EvidenceLog {
            records: doc.records,
        })
    }

    /// Appends a record and returns its hash.
    pub fn append(&mut self, event: &str, data: Value) -> String {
        let prev = self
            .records
            .last()
            .map_or_else(|| GENESIS.to_string(), |r| r.sha256.clone());
        let mut rec = LogRecord {
            seq: self.records.len() as u64,
            time: crate::time::now(),
            event: event.to_string(),
            // Round-trip so the hashed form is what a reader will parse.
            data: serde_json::from_slice(&serde_json::to_vec(&data).unwrap_or_default())
                .unwrap_or(Value::Null),
            prev_sha256: prev,
            sha256: String::new(),
        };
        rec.sha256 = rec.compute_hash();
        let h = rec.sha256.clone();
        self.records.push(rec);
        h
    }

    /// The records so far.
    pub fn records(&self) -> &[LogRecord] {
        &self.records
    }

    /// The hash of the last record ([`GENESIS`] when empty).
    pub fn head(&self) -> String {
        self.records
            .last()
            .map_or_else(|| GENESIS.to_string(), |r| r.sha256.clone())
    }

    /// The document to write.
    pub fn document(&self) -> LogDocument {
        LogDocument {
            format: LOG_FORMAT.to_string(),
            records: self.records.clone(),
            chain_head: self.head(),
        }
    }

    /// Writes `json` and `txt` atomically (temporary file, fsync, rename).
    pub fn write(&self, json: &Path, txt: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(&self.document()).unwrap_or_default();
        text.push('\n');
        write_atomic(json, text.as_bytes())?;
        write_atomic(txt, render_text(&self.records, &self.head()).as_bytes())
    }
}

/// The log paths for an output: `OUT.log.json` and `OUT.log.txt`.
pub fn log_paths(output: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = output.as_os_str().to_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".log.json"), with(".log.txt"))
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |what: &'static str| {
        move |source| Error::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    };
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let res = (|| {
        let mut f = fs::File::create(&tmp).map_err(io("create"))?;
        f.write_all(bytes).map_err(io("write"))?;
        f.sync_all().map_err(io("fsync"))?;
        fs::rename(&tmp, path).map_err(io("rename"))
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Reads and parses a log document (at most [`MAX_LOG_BYTES`]).
pub fn read_document(path: &Path) -> Result<LogDocument> {
    let err = |reason: String| Error::Log {
        path: path.to_path_buf(),
        record: 0,
        reason,
    };
    let meta = fs::metadata(path).map_err(|e| err(format!("cannot open: {e}")))?;
    if meta.len() > MAX_LOG_BYTES {
        return Err(err(format!(
            "{} bytes is more than the {MAX_LOG_BYTES}-byte limit",
            meta.len()
        )));
    }
    let bytes = fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    parse_document(&bytes, path)
}

/// Parses a log document from `bytes` (named `path` in errors). Inputs
/// larger than [`MAX_LOG_BYTES`] are refused.
pub fn parse_document(bytes: &[u8], path: &Path) -> Result<LogDocument> {
    let err = |reason: String| Error::Log {
        path: path.to_path_buf(),
        record: 0,
        reason,
    };
    if bytes.len() as u64 > MAX_LOG_BYTES {
        return Err(err(format!(
            "{} bytes is more than the {MAX_LOG_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let doc: LogDocument = serde_json::from_slice(bytes)
        .map_err(|e| err(format!("not a platter acquisition log: {e}")))?;
    if doc.format != LOG_FORMAT {
        return Err(err(format!(
            "format {:?}, expected {LOG_FORMAT:?}",
            doc.format
        )));
    }
    Ok(doc)
}

/// One thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainProblem {
    /// Index of the record in the file.
    pub record: usize,
    /// What is wrong.
    pub reason: String,
}

/// The result of checking a log's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Records in the file.
    pub records: usize,
    /// The recomputed hash of the last record.
    pub head: String,
    /// Everything wrong (empty when the chain verifies).
    pub problems: Vec<ChainProblem>,
}

/// Checks every link of the chain: hashes, `prev_sha256` links, `seq`
/// numbering, the stored `chain_head`, and that the log ends with an
/// `end` record.
pub fn check_chain(doc: &LogDocument) -> ChainReport {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut push = |record: usize, reason: String| problems.push(ChainProblem { record, reason });
    for (i, rec) in doc.records.iter().enumerate() {
        let computed = rec.compute_hash();
        if rec.seq != i as u64 {
            push(
                i,
                format!(
                    "sequence number {} where {i} was expected (a record was removed, added or moved)",
                    rec.seq
                ),
            );
        }
        if rec.prev_sha256 != prev {
            push(
                i,
                format!(
                    "prev_sha256 {} does not match the previous record's hash {prev} (a record was removed or moved)",
                    rec.prev_sha256
                ),
            );
        }
        if rec.sha256 != computed {
            push(
                i,
                format!(
                    "content was edited: its hash is {computed}, but it claims {}",
                    rec.sha256
                ),
            );
        }
        prev = computed;
    }
    let n = doc.records.len();
    if n == 0 {
        push(0, "the log has no records".into());
    } else if doc.records[n - 1].event != END_EVENT {
        push(n - 1, "the log does not end with an `end` record (records were cut off, or the run did not finish)".into());
    }
    if doc.chain_head != prev {
        push(
            n.saturating_sub(1),
            format!(
                "chain_head {} is not the last record's hash {prev}",
                doc.chain_head
            ),
        );
    }
    ChainReport {
        records: n,
        head: prev,
        problems,
    }
}

/// The human-readable log.
pub fn render_text(records: &[LogRecord], head: &str) -> String {
    let mut s = String::from("platter acquisition log\n=======================\n\n");
    for r in records {
        s.push_str(&format!("[{}] #{} {}\n", r.time, r.seq, r.event));
        render_value(&mut s, &r.data, 1);
        s.push_str(&format!("  record sha256: {}\n\n", r.sha256));
    }
    s.push_str(&format!("chain head (sha256 of the last record): {head}\n"));
    s
}

fn render_value(s: &mut String, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Object(_) | Value::Array(_) if !is_empty(val) => {
                        s.push_str(&format!("{pad}{k}:\n"));
                        render_value(s, val, depth + 1);
                    }
                    _ => s.push_str(&format!("{pad}{k}: {}\n", scalar(val))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        s.push_str(&format!("{pad}-\n"));
                        render_value(s, item, depth + 1);
                    }
                    _ => s.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        _ => s.push_str(&format!("{pad}{}\n", scalar(v))),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> LogDocument {
        let mut log = EvidenceLog::new();
        log.append(
            "start",
            json!({"source": "/dev/sdb", "size": 1u64 << 40, "rate": 1.25}),
        );
        log.append("pass", json!({"name": "copy", "seconds": 0.1}));
        log.append("end", json!({"result": "ok"}));
        log.document()
    }

    fn reparse(doc: &LogDocument) -> LogDocument {
        serde_json::from_str(&serde_json::to_string_pretty(doc).unwrap()).unwrap()
    }

    #[test]
    fn an_untouched_chain_verifies_after_a_round_trip() {
        let doc = reparse(&sample());
        let r = check_chain(&doc);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.head, doc.chain_head);
        assert_eq!(r.records, 3);
    }

    #[test]
    fn edits_removals_reorders_and_truncation_are_detected() {
        let base = sample();
        let mut edited = base.clone();
        edited.records[1].data["seconds"] = json!(0.2);
        let mut removed = base.clone();
        removed.records.remove(1);
        let mut reordered = base.clone();
        reordered.records.swap(0, 1);
        let mut cut = base.clone();
        cut.records.pop();
        cut.chain_head = cut.records[1].sha256.clone();
        let mut resealed = base.clone();
        resealed.records[0].data["size"] = json!(1);
        resealed.records[0].sha256 = resealed.records[0].compute_hash();
        for (name, doc) in [
            ("edited", edited),
            ("removed", removed),
            ("reordered", reordered),
            ("cut", cut),
            ("resealed", resealed),
        ] {
            let r = check_chain(&reparse(&doc));
            assert!(!r.problems.is_empty(), "{name} was not detected");
        }
    }

    #[test]
    fn text_rendering_lists_every_record_and_the_head() {
        let doc = sample();
        let t = render_text(&doc.records, &doc.chain_head);
        assert!(t.contains("#0 start") && t.contains("#2 end"), "{t}");
        assert!(t.contains(&doc.chain_head));
        assert!(t.contains("source: /dev/sdb"));
    }
}
