//! Logins on the packaged `fuel-api` (issue 17): password checks bounded in
//! memory under a flood, failed logins slowed per client address and per
//! user name (429 with Retry-After), and the operator's own login answered
//! within a second through it all. Clients are told apart by their loopback
//! source address (127.0.0.2, …), as the server sees real clients.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use fuel_e2e::api::{ApiConfig, PackagedApi, USER};
use fuel_e2e::logins::{flood, login_from};

const PASSWORD: &str = "logins-e2e";
/// The bound on fuel-api's peak resident memory through the flood.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;

fn start() -> (tempfile::TempDir, PackagedApi) {
    let dir = tempfile::tempdir().unwrap();
    let api = PackagedApi::start(dir.path(), &ApiConfig::new(PASSWORD))
        .unwrap_or_else(|e| panic!("{e:#}"));
    (dir, api)
}

fn retry_after(answer: &fuel_e2e::http::Answer) -> u64 {
    answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {answer:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("Retry-After is not seconds ({e}): {answer:?}"))
}

#[test]
fn two_hundred_bad_logins_at_once_keep_fuel_api_under_64_mib_and_the_operator_logs_in_within_a_second(
) {
    let (_dir, api) = start();
    let flood = flood(&api, PASSWORD, 200).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!(
        "peak {} KiB, idle {} KiB, valid login {:?}",
        flood.peak_rss_kib, flood.idle_rss_kib, flood.valid_latency
    );
    assert_eq!(flood.valid.status, 201, "{:?}", flood.valid);
    assert!(
        flood.valid_latency < Duration::from_secs(1),
        "the operator's login took {:?} behind the flood",
        flood.valid_latency
    );
    assert!(
        flood.peak_rss_kib < PEAK_RSS_LIMIT_KIB,
        "fuel-api's peak RSS was {} KiB through 200 bad logins",
        flood.peak_rss_kib
    );
    let mut refused = 0;
    for answer in &flood.bad {
        match answer.status {
            401 => refused += 1,
            429 => assert!(retry_after(answer) >= 1, "{answer:?}"),
            _ => panic!("a bad login answered {answer:?}"),
        }
    }
    assert!(refused >= 1, "some bad logins were checked and refused");
    assert!(
        flood.bad.iter().any(|a| a.status == 429),
        "a flood of bad logins is slowed, not all checked"
    );
}

#[test]
fn an_address_failing_logins_is_slowed_while_other_addresses_and_the_right_password_get_through() {
    let (_dir, api) = start();
    let attacker = Ipv4Addr::new(127, 0, 0, 9);
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(login_from(&api, attacker, USER, "not the password").unwrap());
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{answers:#?}");
    let slowed = &answers[5];
    let wait = retry_after(slowed);
    assert!(slowed.body.contains("too many failed logins"), "{slowed:?}");
    // Slowed before its password is checked: the right one is refused too.
    assert_eq!(
        login_from(&api, attacker, USER, PASSWORD).unwrap().status,
        429
    );

    // Another address is not slowed by the attacker's failures, and the
    // operator logs in from a new address: five failures of the user name are
    // under its limit.
    let other = Ipv4Addr::new(127, 0, 0, 10);
    assert_eq!(
        login_from(&api, other, USER, "not the password")
            .unwrap()
            .status,
        401
    );
    let began = Instant::now();
    let operator = login_from(&api, Ipv4Addr::new(127, 0, 0, 11), USER, PASSWORD).unwrap();
    assert_eq!(operator.status, 201, "{operator:?}");
    assert!(began.elapsed() < Duration::from_secs(1));

    // After Retry-After, the attacker's address is checked again.
    std::thread::sleep(Duration::from_secs(wait) + Duration::from_millis(100));
    assert_eq!(
        login_from(&api, attacker, USER, "not the password")
            .unwrap()
            .status,
        401
    );
}

#[test]
fn a_user_name_failing_from_many_addresses_is_slowed_except_from_the_address_that_logged_in_before()
{
    let (_dir, api) = start();
    // Ten addresses, one failure each: the user name's free failures.
    for n in 0..10u8 {
        let answer = login_from(&api, Ipv4Addr::new(127, 0, 1, n + 1), USER, "wrong").unwrap();
        assert_eq!(answer.status, 401, "{answer:?}");
    }
    let fresh = login_from(&api, Ipv4Addr::new(127, 0, 1, 100), USER, PASSWORD).unwrap();
    assert_eq!(fresh.status, 429, "{fresh:?}");
    assert!(retry_after(&fresh) <= 15, "{fresh:?}");
    // 127.0.0.1 logged in when the server started (the harness's login).
    let known = login_from(&api, Ipv4Addr::LOCALHOST, USER, PASSWORD).unwrap();
    assert_eq!(known.status, 201, "{known:?}");
}
