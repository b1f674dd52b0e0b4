//! Usage texts, generated from the flag tables in [`crate::cli`].

use crate::cli::{flag_usage, CmdDef, COMMANDS, GLOBAL_FLAGS};

fn push_flags(out: &mut String, flags: &[crate::cli::FlagDef], with_help: bool) {
    let mut rows: Vec<(String, &str)> = flags.iter().map(flag_usage).collect();
    if with_help {
        rows.push(("-h, --help".to_string(), "show this help"));
    }
    let width = rows.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    for (u, h) in rows {
        out.push_str(&format!("  {u:width$}   {h}\n"));
    }
}

/// `fastrun --help`.
pub fn global() -> String {
    let mut out = String::from(
        "fastrun: a fast OCI container runtime (a drop-in replacement for runc)\n\n\
         Usage: fastrun [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS...]\n\nCommands:\n",
    );
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in COMMANDS {
        out.push_str(&format!("  {:width$}   {}\n", c.name, c.summary));
    }
    out.push_str(&format!(
        "  {:width$}   {}\n",
        "help", "show help for a command"
    ));
    out.push_str("\nGlobal options (before COMMAND):\n");
    push_flags(&mut out, GLOBAL_FLAGS, false);
    out.push_str("\nRun \"fastrun COMMAND --help\" for a command's options.\n");
    out
}

/// `fastrun COMMAND --help`.
pub fn command(c: &CmdDef) -> String {
    let mut out = format!("Usage: fastrun {}", c.name);
    if !c.flags().is_empty() {
        out.push_str(" [OPTIONS]");
    }
    if !c.args.is_empty() {
        out.push(' ');
        out.push_str(c.args);
    }
    out.push_str("\n\n");
    out.push_str(c.summary);
    out.push('\n');
    out.push_str("\nOptions:\n");
    push_flags(&mut out, c.flags(), true);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_lists_every_command() {
        let g = super::global();
        for c in crate::cli::COMMANDS {
            assert!(g.contains(c.name));
            let h = super::command(c);
            assert!(h.starts_with(&format!("Usage: fastrun {}", c.name)));
        }
        assert!(g.contains("--root DIR"));
        let e = super::command(crate::cli::command("exec").unwrap());
        assert!(e.contains("-e, --env KEY=VALUE"));
        assert!(e.contains("-p, --process FILE"));
    }
}
