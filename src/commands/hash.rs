//! Hash commands.

use crate::commands::Cmd;

pub static COMMANDS: &[Cmd] = &[];
