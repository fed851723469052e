//! The accuracy table: per class (level × content × condition) counts of
//! each outcome, in markdown.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::score::{CaseResult, Outcome};

/// Counts for one class.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Cases.
    pub cases: u64,
    /// Found, exact.
    pub exact: u64,
    /// Ambiguous, truth among the candidates.
    pub ambiguous_listed: u64,
    /// Ambiguous, truth not among them.
    pub ambiguous_wrong: u64,
    /// Found, wrong: must be 0.
    pub wrong_confident: u64,
    /// No answer (other verdicts, errors).
    pub no_answer: u64,
    /// Inference panicked or hung.
    pub panics: u64,
    /// Top candidate exact, whatever the verdict.
    pub top1_exact: u64,
    /// The engine failed to read back the true geometry (harness/engine
    /// disagreement: the case says nothing about inference).
    pub truth_unreadable: u64,
}

impl Counts {
    fn add(&mut self, r: &CaseResult) {
        self.cases += 1;
        match r.outcome {
            Outcome::Exact => self.exact += 1,
            Outcome::AmbiguousListed => self.ambiguous_listed += 1,
            Outcome::AmbiguousWrong => self.ambiguous_wrong += 1,
            Outcome::WrongConfident => self.wrong_confident += 1,
            Outcome::NoAnswer => self.no_answer += 1,
            Outcome::Panic | Outcome::Hang => self.panics += 1,
        }
        self.top1_exact += u64::from(r.top1_exact);
        self.truth_unreadable += u64::from(!r.truth_reads_back);
    }

    fn row(&self, label: &str) -> String {
        let wrong = if self.wrong_confident > 0 {
            format!("**{}**", self.wrong_confident)
        } else {
            "0".to_string()
        };
        format!(
            "| {label} | {} | {} | {} | {} | {wrong} | {} | {} | {} | {} |\n",
            self.cases,
            self.exact,
            self.ambiguous_listed,
            self.ambiguous_wrong,
            self.no_answer,
            self.panics,
            self.top1_exact,
            self.truth_unreadable
        )
    }
}

/// Totals over all results.
pub fn totals(results: &[CaseResult]) -> Counts {
    let mut c = Counts::default();
    for r in results {
        c.add(r);
    }
    c
}

const HEADER: &str = "| class | cases | exact (found) | ambiguous, truth listed | \
ambiguous, truth absent | WRONG (found) | no answer | panic or hang | top-1 exact (any verdict) | \
truth unreadable |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

/// The markdown report: parameters, per-level and per-class tables, and
/// one line per case.
pub fn markdown(title: &str, params: &str, results: &[CaseResult]) -> String {
    let mut by_class: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_level: BTreeMap<String, Counts> = BTreeMap::new();
    for r in results {
        let c = &r.case;
        let class = format!(
            "{} · {} · {}",
            c.spec.level.name(),
            c.content.class(),
            c.condition()
        );
        by_class.entry(class).or_default().add(r);
        by_level
            .entry(c.spec.level.name().to_string())
            .or_default()
            .add(r);
    }
    let mut s = String::new();
    let _ = writeln!(s, "### {title}\n\n{params}\n");
    s.push_str("By level:\n\n");
    s.push_str(HEADER);
    for (k, v) in &by_level {
        s.push_str(&v.row(k));
    }
    s.push_str(&totals(results).row("**all**"));
    s.push_str("\nBy class (level · content · condition):\n\n");
    s.push_str(HEADER);
    for (k, v) in &by_class {
        s.push_str(&v.row(k));
    }
    s.push_str("\n<details><summary>Every case</summary>\n\n");
    s.push_str("| # | truth | outcome | answer | infer s |\n|---:|---|---|---|---:|\n");
    for r in results {
        let _ = writeln!(
            s,
            "| {} | {} | {:?}{} | {} | {:.2} |",
            r.case.index,
            r.case.describe(),
            r.outcome,
            if r.truth_reads_back {
                ""
            } else {
                " (truth unreadable)"
            },
            r.answer.replace('|', "/"),
            r.infer_secs
        );
    }
    s.push_str("\n</details>\n");
    s
}
