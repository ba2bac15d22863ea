//! The built-in provider simulator (DESIGN §7). Being written.
