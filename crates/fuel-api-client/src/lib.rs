//! Typed client and JSON types of the Fuel master's REST API
