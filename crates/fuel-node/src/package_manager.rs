//! The node's package manager: the one type for what the API calls the OS
//! family (`ubuntu`, `centos`), what the applier calls its backend (`apt`,
//! `dnf`) and what /etc/os-release says.

use std::fmt;
use std::str::FromStr;

/// Which package manager drives a node. Displayed and parsed as `apt`/`dnf`
/// (the applier's `--backend`); the API's wire and database form is the OS
/// family, through [`PackageManager::os_family`] and the [`os_family`] serde
/// module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PackageManager {
    /// apt-get and dpkg: Debian and Ubuntu nodes.
    Apt,
    /// dnf (yum) and rpm: CentOS and the other RHEL-like nodes.
    Dnf,
}

/// The OS families the API accepts, in the order its help lists them.
pub const OS_FAMILIES: &[&str] = &["ubuntu", "centos"];

/// A name that is neither a package manager nor an OS family Fuel knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownPackageManager {
    #[error("unknown package manager `{0}`: expected apt or dnf")]
    Backend(String),
    #[error("unknown OS family `{0}`: expected ubuntu or centos")]
    OsFamily(String),
}

impl PackageManager {
    pub const ALL: [PackageManager; 2] = [PackageManager::Apt, PackageManager::Dnf];

    /// `apt` or `dnf`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageManager::Apt => "apt",
            PackageManager::Dnf => "dnf",
        }
    }

    /// The API's OS family: `ubuntu` (apt) or `centos` (dnf).
    pub fn os_family(self) -> &'static str {
        match self {
            PackageManager::Apt => "ubuntu",
            PackageManager::Dnf => "centos",
        }
    }

    /// The package manager of an OS family the API accepts.
    pub fn from_os_family(family: &str) -> Result<PackageManager, UnknownPackageManager> {
        PackageManager::ALL
            .into_iter()
            .find(|pm| pm.os_family() == family)
            .ok_or_else(|| UnknownPackageManager::OsFamily(family.to_string()))
    }

    /// The package manager /etc/os-release names: its `ID`, else the first
    /// of its `ID_LIKE` that is a known family.
    pub fn from_os_release(text: &str) -> Option<PackageManager> {
        let field = |key: &str| {
            text.lines()
                .filter_map(|l| l.trim().split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
                .unwrap_or_default()
        };
        let family = |id: &str| match id {
            "debian" | "ubuntu" => Some(PackageManager::Apt),
            "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" => {
                Some(PackageManager::Dnf)
            }
            _ => None,
        };
        let id = field("ID");
        let like = field("ID_LIKE");
        family(&id).or_else(|| like.split_whitespace().find_map(family))
    }
}

impl fmt::Display for PackageManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PackageManager {
    type Err = UnknownPackageManager;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageManager::ALL
            .into_iter()
            .find(|pm| pm.as_str() == s)
            .ok_or_else(|| UnknownPackageManager::Backend(s.to_string()))
    }
}

/// Serde for a [`PackageManager`] written as the API's OS family
/// (`"ubuntu"`/`"centos"`): `#[serde(with = "fuel_node::os_family")]`, or
/// `os_family::option` for an `Option`.
pub mod os_family {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use super::PackageManager;

    pub fn serialize<S: Serializer>(pm: &PackageManager, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(pm.os_family())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PackageManager, D::Error> {
        let text = String::deserialize(d)?;
        PackageManager::from_os_family(&text).map_err(D::Error::custom)
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::PackageManager;

        pub fn serialize<S: Serializer>(
            pm: &Option<PackageManager>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match pm {
                Some(pm) => s.serialize_some(pm.os_family()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<PackageManager>, D::Error> {
            #[derive(Deserialize)]
            struct Family(#[serde(with = "super")] PackageManager);
            Ok(Option::<Family>::deserialize(d)?.map(|Family(pm)| pm))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_picks_the_package_manager_by_id_then_id_like() {
        let cases = [
            ("ID=debian\nVERSION_ID=\"12\"\n", Some(PackageManager::Apt)),
            ("ID=ubuntu\nID_LIKE=debian\n", Some(PackageManager::Apt)),
            (
                "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\n",
                Some(PackageManager::Dnf),
            ),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
                Some(PackageManager::Dnf),
            ),
            (
                "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n",
                Some(PackageManager::Apt),
            ),
            ("ID=arch\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(PackageManager::from_os_release(text), want, "{text:?}");
        }
    }

    #[test]
    fn os_families_and_backend_names_round_trip() {
        for pm in PackageManager::ALL {
            assert_eq!(pm.to_string().parse::<PackageManager>().unwrap(), pm);
            assert_eq!(PackageManager::from_os_family(pm.os_family()).unwrap(), pm);
            assert!(OS_FAMILIES.contains(&pm.os_family()));
        }
        assert_eq!(
            PackageManager::from_os_family("ubuntu"),
            Ok(PackageManager::Apt)
        );
        assert_eq!(
            PackageManager::from_os_family("centos"),
            Ok(PackageManager::Dnf)
        );
        assert!("yum".parse::<PackageManager>().is_err());
        let error = PackageManager::from_os_family("debian")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected ubuntu or centos"), "{error}");
    }

    #[test]
    fn serde_writes_the_os_family() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Node {
            #[serde(with = "os_family")]
            os: PackageManager,
            #[serde(
                default,
                with = "os_family::option",
                skip_serializing_if = "Option::is_none"
            )]
            update: Option<PackageManager>,
        }
        let node = Node {
            os: PackageManager::Dnf,
            update: Some(PackageManager::Apt),
        };
        let json = serde_json::to_string(&node).unwrap();
        assert_eq!(json, r#"{"os":"centos","update":"ubuntu"}"#);
        assert_eq!(serde_json::from_str::<Node>(&json).unwrap(), node);
        let absent: Node = serde_json::from_str(r#"{"os":"ubuntu"}"#).unwrap();
        assert_eq!(absent.update, None);
        let error = serde_json::from_str::<Node>(r#"{"os":"debian"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown OS family `debian`"), "{error}");
    }
}
