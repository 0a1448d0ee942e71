//! RESP wire protocol: request parsing (`parse`) and reply encoding
//! (`encode`). This module must not depend on the keyspace or commands.

pub mod encode;
pub mod parse;

pub use encode::Reply;
pub use parse::{Limits, Parsed, ProtocolError, RequestParser, peek_key_member};
