//! Integration tests of `journey-returns`, in one binary to keep link times down.

mod d2i;
mod returns;
