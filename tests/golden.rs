//! Golden JSON reports for the committed fixtures: the field names and
//! values of `info --json` are a stable interface. Regenerate after an
//! intended change with `UPDATE=1 cargo test -p platter-cli --test cli golden`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_golden(args: &[&str], golden_name: &str) {
    // Run from the repository root with a relative path, so the report is
    // the same on every machine.
    let out = platter()
        .current_dir(repo_root())
        .args(args)
        .assert()
        .success();
    let got = text(&out.get_output().stdout);
    let golden = repo_root().join("tests/golden").join(golden_name);
    if std::env::var_os("UPDATE").is_some_and(|v| v == "1") {
        fs::create_dir_all(golden.parent().unwrap()).unwrap();
        fs::write(&golden, &got).unwrap();
        return;
    }
    let want = fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (create it with UPDATE=1)",
            golden.display()
        )
    });
    assert!(
        got == want,
        "{} differs from the output of platter {args:?}; if the change is intended, \
         regenerate with UPDATE=1.\n--- got ---\n{got}",
        golden.display()
    );
}

#[test]
fn golden_info_json_of_the_fixtures() {
    for name in ["gpt-ext4-fat", "mbr-logical", "gpt-damaged-primary"] {
        let path = format!("fixtures/{name}.img");
        check_golden(&["info", "--json", &path], &format!("info-{name}.json"));
    }
}
