//! Fuzzes the acquisition-log reader behind `platter verify-log` and
//! `platter verify`: any bytes either fail to parse with an error or give
//! a document whose chain check accounts for every record, and a chain
//! that verifies ends with an `end` record whose hash is the stored head.
#![no_main]

use std::path::Path;

use platter_acquire::{END_EVENT, check_chain, parse_document, render_text};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse_document(data, Path::new("fuzz.log.json")) else {
        return;
    };
    let report = check_chain(&doc);
    assert_eq!(report.records, doc.records.len());
    if report.problems.is_empty() {
        let last = doc.records.last().expect("a verified chain has records");
        assert_eq!(last.event, END_EVENT);
        assert_eq!(report.head, doc.chain_head);
        assert_eq!(last.compute_hash(), last.sha256);
    }
    for p in &report.problems {
        assert!(p.record <= doc.records.len());
    }
    let _ = render_text(&doc.records, &report.head);
});
