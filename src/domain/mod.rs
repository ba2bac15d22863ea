//! Shared domain types: the vocabulary every layer uses (message ids, platforms, provider
//! kinds, actions, verdicts, ledger facts, durations, rates, failure budgets, shared text and
//! per-channel maps). Depends on
//! nothing else in the crate.

mod action;
mod channel_map;
mod duration;
mod fact;
mod failure_budget;
pub mod intern;
mod msg_id;
mod platform;
mod provider_kind;
mod rate;
mod time;
mod verdict;

pub use action::Action;
pub use channel_map::ChannelMap;
pub use duration::{format_duration, parse_duration};
pub use fact::{Fact, Facts, Scheduled};
pub use failure_budget::FailureBudget;
pub use msg_id::MsgId;
pub use platform::Platform;
pub use provider_kind::ProviderKind;
pub use rate::Rate;
pub use time::{Reason as TimestampReason, TimestampError, parse_instant, parse_timestamp};
pub use verdict::{Disposition, NotCorrectedPolicy, UnsupportedPolicy, Verdict};
