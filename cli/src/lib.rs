//! The `frontdesk` command: the local server and operator commands.
//!
//! `frontdesk serve` runs the same routers as the Lambda functions on one
//! port, with the embedded SQLite store by default so a web developer needs
//! nothing but this binary; each booking's emails land as `.eml` files in the
//! data directory's outbox. `frontdesk content check` and `content push`
//! validate the `content/` folder and load it into the content store.

#![warn(missing_docs)]

pub mod alarms;
pub mod content;
pub mod notify;
pub mod serve;
pub mod site;
pub mod staff;
pub mod status;
pub mod subject;
pub mod tables;
