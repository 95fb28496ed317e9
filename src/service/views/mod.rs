//! The API's response types: what `src/http` sends as JSON, with the OpenAPI schema on each.
//!
//! Each view is declared with `view!` beside the store row it is made from. The macro writes the
//! struct as declared and its one conversion, `From<row>`, field by field. So the rows in
//! `src/store` carry no serde or schema derive and are never sent as they are: a column added to
//! a row does not reach the API until a view names it, and a column renamed or retyped fails to
//! compile here instead of silently changing the API that the ordering web system depends on.
//! Handlers take a row from a service and send `View::from(row)` (`.into()`); they never name a
//! store type. The schema names stay those of the published `docs/openapi.json`
//! (`#[schema(as = ...)]`), so clients generated from it keep their type names.

/// Declares an API view of a store row and its conversion (see the module's doc).
macro_rules! view {
    (
        $(#[$attr:meta])*
        pub struct $name:ident from $row:path {
            $(
                $(#[$fattr:meta])*
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        pub struct $name {
            $( $(#[$fattr])* pub $field: $ty, )*
        }

        impl From<$row> for $name {
            fn from(r: $row) -> Self {
                Self { $( $field: r.$field, )* }
            }
        }
    };
}

pub mod auth;
pub mod carrier;
pub mod catalog;
pub mod counting;
pub mod cutting;
pub mod handover;
pub mod log;
pub mod orders;
pub mod packing;
pub mod parcels;
pub mod printing;
pub mod scans;
pub mod stock;

/// Converts every row of a list to its view.
pub fn all<R, V: From<R>>(rows: Vec<R>) -> Vec<V> {
    rows.into_iter().map(V::from).collect()
}
