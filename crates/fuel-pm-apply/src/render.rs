//! The report as a person reads it (the default output; `--json` prints the
//! `fuel_pm::report::Report` itself).

use std::fmt::Write;

use fuel_pm::report::{ActionOutcome, PackageAction, Report};

pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let mode = if report.check {
        ", check: nothing was changed"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "fuel-pm-apply on {} ({}{mode})",
        report.hostname, report.backend
    );
    let width = report
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for p in &report.packages {
        let what = match p.action {
            PackageAction::Failed => "FAILED",
            other => other.as_str(),
        };
        let versions = if p.before == p.after {
            shown(&p.after)
        } else {
            format!("{} -> {}", shown(&p.before), shown(&p.after))
        };
        let verb = if report.check
            && p.action != PackageAction::Unchanged
            && p.action != PackageAction::Failed
        {
            format!("would be {what}")
        } else {
            what.to_string()
        };
        let _ = write!(
            out,
            "  {:<width$}  {verb:<20} {versions} (wanted {})",
            p.name, p.requested
        );
        if let Some(reason) = &p.reason {
            let _ = write!(
                out,
                "\n  {:<width$}  {reason}: {}",
                "",
                p.message.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
    }
    if !report.collateral.is_empty() {
        let heading = if report.check || report.collateral.iter().any(|c| c.refused) {
            "packages the document does not name (would change):"
        } else {
            "packages the document does not name (changed):"
        };
        let _ = writeln!(out, "{heading}");
        for c in &report.collateral {
            let _ = writeln!(out, "  {}", c.describe());
        }
    }
    if let Some(r) = &report.recovery {
        let done = match (report.check, r.ok) {
            (true, _) => "would run",
            (false, true) => "repaired with",
            (false, false) => "NOT repaired by",
        };
        let _ = writeln!(out, "recovery: {}; {done} {}", r.found, r.command);
    }
    if !report.actions.is_empty() {
        out.push_str("after-actions:\n");
    }
    for a in &report.actions {
        let result = match a.result {
            ActionOutcome::Done => "done".to_string(),
            ActionOutcome::Failed => match (&a.reason, a.exit_code) {
                (Some(reason), _) => format!("FAILED ({reason})"),
                (None, Some(code)) => format!("FAILED (exit {code})"),
                (None, None) => "FAILED".to_string(),
            },
            ActionOutcome::Skipped => "would run".to_string(),
        };
        let _ = writeln!(
            out,
            "  {} {} {} (for {}): {result}",
            a.provider, a.ensure, a.name, a.package
        );
        if a.result != ActionOutcome::Done {
            for line in a.output_tail.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "{} changed, {} unchanged, {} failed; after-actions: {} run, {} failed; exit {}",
        t.changed, t.unchanged, t.failed, t.actions_run, t.actions_failed, report.exit_code
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuel_pm::report::{ActionResult, PackageResult, Totals};

    #[test]
    fn text_names_each_package_its_versions_reason_and_each_action() {
        let report = Report {
            schema: 1,
            hostname: "node-1".into(),
            backend: "apt".into(),
            check: false,
            packages: vec![
                PackageResult {
                    name: "fuel-test-daemon".into(),
                    requested: "3.0-1".into(),
                    before: Some("2.0-1".into()),
                    after: Some("3.0-1".into()),
                    action: PackageAction::Upgraded,
                    reason: None,
                    message: None,
                },
                PackageResult {
                    name: "nope".into(),
                    requested: "latest".into(),
                    before: None,
                    after: None,
                    action: PackageAction::Failed,
                    reason: Some("not_found".into()),
                    message: Some("nope is not installed and no repository offers it".into()),
                },
            ],
            actions: vec![ActionResult {
                package: "fuel-test-daemon".into(),
                provider: "exec".into(),
                name: "false".into(),
                ensure: "running".into(),
                result: ActionOutcome::Failed,
                exit_code: Some(1),
                output_tail: "it broke".into(),
                reason: None,
            }],
            totals: Totals {
                changed: 1,
                unchanged: 0,
                failed: 1,
                actions_run: 0,
                actions_failed: 1,
            },
            exit_code: 6,
            collateral: vec![fuel_pm::report::Collateral {
                name: "fuel-test-app".into(),
                before: Some("1.0-1".into()),
                after: None,
                action: PackageAction::Removed,
                cause: Some("fuel-test-app depends on fuel-test-lib (>= 2.0)".into()),
                refused: false,
            }],
            recovery: None,
        };
        let text = text(&report);
        assert!(
            text.contains("(changed):\n  fuel-test-app removed (1.0-1 -> -): fuel-test-app depends on fuel-test-lib (>= 2.0)\n"),
            "{text}"
        );
        assert!(text.contains("fuel-test-daemon  upgraded"), "{text}");
        assert!(text.contains("2.0-1 -> 3.0-1"), "{text}");
        assert!(text.contains("not_found: nope is not installed"), "{text}");
        assert!(
            text.contains("exec running false (for fuel-test-daemon): FAILED (exit 1)"),
            "{text}"
        );
        assert!(text.contains("      it broke"), "{text}");
        assert!(
            text.ends_with(
                "1 changed, 0 unchanged, 1 failed; after-actions: 0 run, 1 failed; exit 6\n"
            ),
            "{text}"
        );
    }
}
