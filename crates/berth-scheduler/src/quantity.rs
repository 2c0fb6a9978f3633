//! Resource quantities: the exact parser lives in `berth-api` (shared with
//! the node agent and validation); re-exported here for the scheduler.

pub use berth_api::quantity::{ParsedQuantity, QuantityError, milli_value, value};
