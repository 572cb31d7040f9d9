//! One module per `fuel` command.

pub mod completion;
pub mod deploy;
pub mod env;
pub mod inventory;
pub mod node;
pub mod package;
pub mod task;
