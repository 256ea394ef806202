//! Integration tests of `journey-tlog`, in one binary to keep link times down.

mod formats;
mod known_answers;
mod negative;
mod oracle;
mod support;
