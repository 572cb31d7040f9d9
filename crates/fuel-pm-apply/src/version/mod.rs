//! Version ordering of the two backends: dpkg's and rpm's algorithms, each in
//! its own module, behind one `Scheme` the applier chooses with its backend.

pub mod dpkg;
pub mod rpm;

use std::cmp::Ordering;

/// Which package manager's version ordering applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Rpm,
}

impl Scheme {
    /// The backend's ordering of two versions.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
        }
    }

    /// Whether two versions are the same version for the backend.
    pub fn same(self, a: &str, b: &str) -> bool {
        self.compare(a, b) == Ordering::Equal
    }

    /// The version without its epoch.
    pub fn without_epoch(self, version: &str) -> &str {
        match self {
            Scheme::Dpkg => dpkg::without_epoch(version),
            Scheme::Rpm => rpm::without_epoch(version),
        }
    }

    /// Whether the version names an epoch.
    pub fn has_epoch(self, version: &str) -> bool {
        match self {
            Scheme::Dpkg => dpkg::has_epoch(version),
            Scheme::Rpm => rpm::has_epoch(version),
        }
    }

    /// Whether `installed` satisfies a requested version: the same version,
    /// or, when the request names no epoch, the same epoch-less form (an
    /// installed `1:1.0-1` satisfies a requested `1.0-1`, Puppet's epoch trap).
    pub fn satisfies(self, installed: &str, requested: &str) -> bool {
        if self.has_epoch(requested) {
            self.same(installed, requested)
        } else {
            self.same(self.without_epoch(installed), requested)
        }
    }
}

#[cfg(test)]
mod against_the_real_tools {
    //! The Rust orderings agree with `dpkg --compare-versions` and rpm's own
    //! `rpm.vercmp` on generated pairs (both tools are on the build machine:
    //! `cargo xtask test` installs rpm; dpkg is Debian's).
    use super::*;
    use std::process::Command;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
        fn pick<'a>(&mut self, pieces: &[&'a str]) -> &'a str {
            pieces[self.next(pieces.len())]
        }
        fn part(&mut self, pieces: &[&str]) -> String {
            let mut s = self.pick(&["0", "1", "2", "9", "10", "01"]).to_string();
            for _ in 0..self.next(5) {
                s.push_str(self.pick(pieces));
            }
            s
        }
    }

    const DEB: &[&str] = &[
        "0", "1", "2", "10", "00", "a", "b", "Z", ".", "+", "~", "~~", "ubuntu", "rc",
    ];
    const RPM: &[&str] = &[
        "0", "1", "2", "10", "00", "a", "b", "Z", ".", "_", "+", "~", "^", "el7", "rc",
    ];

    fn pairs(pieces: &[&str], seed: u64) -> Vec<(String, String)> {
        let mut g = Gen(seed);
        let version = |g: &mut Gen| {
            let mut v = String::new();
            if g.next(4) == 0 {
                v.push_str(g.pick(&["0:", "1:", "2:"]));
            }
            v.push_str(&g.part(pieces));
            if g.next(4) != 0 {
                v.push('-');
                v.push_str(&g.part(pieces));
            }
            v
        };
        (0..300)
            .map(|_| {
                let a = version(&mut g);
                // Half the pairs share a prefix, where the interesting cases are.
                let b = if g.next(2) == 0 {
                    version(&mut g)
                } else {
                    let cut = g.next(a.len() + 1);
                    let mut b = a[..cut].to_string();
                    b.push_str(&g.part(pieces)[..1]);
                    b.push_str(g.pick(pieces));
                    b
                };
                (a, b)
            })
            .collect()
    }

    fn dpkg_says(a: &str, b: &str) -> Ordering {
        let holds = |op: &str| {
            let out = Command::new("dpkg")
                .args(["--compare-versions", a, op, b])
                .output()
                .expect("running dpkg --compare-versions (dpkg must be installed)");
            assert!(
                out.stderr.is_empty(),
                "dpkg complained about {a} / {b}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.status.success()
        };
        if holds("lt") {
            Ordering::Less
        } else if holds("gt") {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    #[test]
    fn dpkg_ordering_agrees_with_dpkg_compare_versions() {
        for (a, b) in pairs(DEB, 0x5eed_0001) {
            assert_eq!(dpkg::compare(&a, &b), dpkg_says(&a, &b), "{a} vs {b}");
        }
    }

    #[test]
    fn rpm_ordering_agrees_with_rpm_vercmp() {
        let pairs = pairs(RPM, 0x5eed_0002);
        let calls: String = pairs
            .iter()
            .map(|(a, b)| format!("print(rpm.vercmp(\"{a}\", \"{b}\") .. \";\") "))
            .collect();
        let out = Command::new("rpm")
            .arg("--eval")
            .arg(format!("%{{lua: {calls}}}"))
            .output()
            .expect("running rpm --eval (rpm must be installed: cargo xtask test installs it)");
        assert!(out.status.success(), "{out:?}");
        let said: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .split(';')
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(said.len(), pairs.len(), "one answer per pair: {said:?}");
        for ((a, b), said) in pairs.iter().zip(said) {
            let want = match said.as_str() {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                "1" => Ordering::Greater,
                other => panic!("rpm.vercmp answered {other:?}"),
            };
            assert_eq!(rpm::compare(a, b), want, "{a} vs {b}");
        }
    }
}
