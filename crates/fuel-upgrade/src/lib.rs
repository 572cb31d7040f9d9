//! Journaled package-based upgrade of the Fuel master node
