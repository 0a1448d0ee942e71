//! sort commands (being filled in).

use super::Cmd;

pub static COMMANDS: &[Cmd] = &[];
