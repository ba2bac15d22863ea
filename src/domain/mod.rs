//! Shared domain types: the vocabulary every layer uses (message ids, platforms, providers,
//! actions, durations, rates, failure budgets). Depends on nothing else in the crate.

mod action;
mod duration;
mod failure_budget;
mod msg_id;
mod platform;
mod provider_kind;
mod rate;

pub use action::Action;
pub use duration::{format_duration, parse_duration};
pub use failure_budget::FailureBudget;
pub use msg_id::MsgId;
pub use platform::Platform;
pub use provider_kind::ProviderKind;
pub use rate::Rate;
