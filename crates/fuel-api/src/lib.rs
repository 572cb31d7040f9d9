//! The Fuel master node's REST service
