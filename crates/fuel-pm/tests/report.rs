//! The applier's report: its wire spelling and the detailed exit codes.

use fuel_pm::report::*;

fn sample() -> Report {
    Report {
        schema: SCHEMA,
        hostname: "node-1".into(),
        backend: "apt".into(),
        check: false,
        packages: vec![
            PackageResult {
                name: "fuel-test-daemon".into(),
                requested: "2.0-1".into(),
                before: Some("1.0-1".into()),
                after: Some("2.0-1".into()),
                action: PackageAction::Upgraded,
                reason: None,
                message: None,
            },
            PackageResult {
                name: "nosuch".into(),
                requested: "latest".into(),
                before: None,
                after: None,
                action: PackageAction::Failed,
                reason: Some(reason::NOT_FOUND.into()),
                message: Some("no package nosuch in the repositories".into()),
            },
        ],
        actions: vec![ActionResult {
            package: "fuel-test-daemon".into(),
            provider: "systemd".into(),
            name: "fuel-test-daemon".into(),
            ensure: "running".into(),
            result: ActionOutcome::Done,
            exit_code: Some(0),
            output_tail: String::new(),
            reason: None,
        }],
        totals: Totals {
            changed: 1,
            unchanged: 0,
            failed: 1,
            actions_run: 1,
            actions_failed: 0,
        },
        exit_code: Report::exit_code_for(true, true),
        collateral: vec![Collateral {
            name: "fuel-test-app".into(),
            before: Some("1.0-1".into()),
            after: None,
            action: PackageAction::Removed,
            cause: Some("fuel-test-app depends on fuel-test-lib (>= 2.0)".into()),
            refused: false,
        }],
        recovery: Some(Recovery {
            found: "dpkg was interrupted: fuel-test-slow 1.0-1 is half-configured".into(),
            command: "dpkg --configure -a".into(),
            packages: vec!["fuel-test-slow".into()],
            ok: true,
            output_tail: String::new(),
        }),
    }
}

#[test]
fn a_report_of_before_collateral_changes_and_recovery_still_reads() {
    let mut old = serde_json::to_value(sample()).unwrap();
    let fields = old.as_object_mut().unwrap();
    fields.remove("collateral");
    fields.remove("recovery");
    fields["actions"][0]
        .as_object_mut()
        .unwrap()
        .remove("reason");
    let read: Report = serde_json::from_value(old).unwrap();
    assert!(read.collateral.is_empty());
    assert_eq!(read.recovery, None);
    assert_eq!(read.actions[0].reason, None);
}

#[test]
fn a_report_round_trips_through_json() {
    let report = sample();
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}

#[test]
fn a_report_spells_its_fields_and_values_in_snake_case() {
    let json = serde_json::to_value(sample()).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["packages"][0]["action"], "upgraded");
    assert_eq!(json["packages"][1]["reason"], "not_found");
    assert_eq!(json["packages"][1]["before"], serde_json::Value::Null);
    assert_eq!(json["actions"][0]["result"], "done");
    assert_eq!(json["actions"][0]["output_tail"], "");
    assert_eq!(json["totals"]["actions_failed"], 0);
    assert_eq!(json["exit_code"], 6);
    let skipped = serde_json::to_value(ActionOutcome::Skipped).unwrap();
    assert_eq!(skipped, "skipped");
}

#[test]
fn exit_codes_are_puppets_detailed_exit_codes() {
    assert_eq!(Report::exit_code_for(false, false), 0);
    assert_eq!(Report::exit_code_for(true, false), 2);
    assert_eq!(Report::exit_code_for(false, true), 4);
    assert_eq!(Report::exit_code_for(true, true), 6);
}
