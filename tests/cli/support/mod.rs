//! What the integration tests share: the [`Test`] builder that runs the real binary, the one
//! snapshot check, temp dirs and audit readers, and the httpmock [`Campaign`].

mod campaign;
mod files;
mod sandbox;
pub mod snapshot;
mod test;

pub use campaign::*;
pub use files::*;
pub use sandbox::*;
pub use test::*;
