//! The payload structs, one per event type, grouped by journey stage.

mod casework;
mod child_in_need;
mod corrections;
mod court;
mod front_door;
mod identity;
mod leaving_care;
mod looked_after;
mod permanence;
mod protection;

pub use casework::*;
pub use child_in_need::*;
pub use corrections::*;
pub use court::*;
pub use front_door::*;
pub use identity::*;
pub use leaving_care::*;
pub use looked_after::*;
pub use permanence::*;
pub use protection::*;
