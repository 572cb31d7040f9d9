//! The pieces of the `fuel` command (the Fuel master's operator CLI) that
//! are more than glue: node selections (`--node 2,3`), where to connect and
//! as whom (python-fuelclient's settings file included), fetching node host
//! keys (ssh-keyscan), and tables. The binary (`src/main.rs`) is the clap
//! front end and the commands over `fuel_api_client`.

pub mod keyscan;
pub mod selection;
pub mod settings;
pub mod table;

pub use keyscan::KeyscanError;
pub use selection::{NodeSelection, SelectionError};
pub use settings::{Connection, ConnectionFlags, Credentials, SettingsError};
pub use table::Table;
