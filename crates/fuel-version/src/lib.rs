//! Answers what /etc/fuel/version.yaml used to, from each field's proper home
