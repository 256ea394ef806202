//! The `journey` command (issue #4 fills in its subcommands).

fn main() -> anyhow::Result<()> {
    eprintln!("journey {}: the command-line interface arrives with issue #4", env!("CARGO_PKG_VERSION"));
    Ok(())
}
