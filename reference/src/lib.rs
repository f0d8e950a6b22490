//! portcheck's reference model: the executable specification of Erlang-style
//! ports over sockets (OTP 25 `gen_tcp` on the inet driver). Pure Rust,
//! deterministic, no I/O, no threads.
//!
//! The kernel's and the scheduler's choices ([`choice::Choice`]) are inputs;
//! the model predicts every other observable and names the rule behind it.

pub mod choice;
pub mod model;
pub mod observation;
pub mod op;
pub mod options;
pub mod rules;
pub mod units;
pub mod variant;
