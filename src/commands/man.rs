//! `pushfix man`: the man page, rendered at run time from the clap definitions the binary
//! itself parses with (clap_mangen), so it always describes the binary that prints it — a
//! page generated at build time and installed beside it could be left from another version.

use std::path::Path;

use clap::CommandFactory;

use super::output;
use crate::atomic_file::write_atomic;
use crate::cli::{Cli, ManArgs};
use crate::error::Error;
use crate::exit;

pub fn man(a: ManArgs) -> Result<i32, Error> {
    let cmd = Cli::command();
    match &a.out_dir {
        None => output::print(&String::from_utf8_lossy(&render(cmd)?))?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::atomic_file::WriteError::new(dir, e))?;
            let mut written = vec![write_page(dir, "pushfix", cmd.clone())?];
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                // clap names are `&'static str` (no `string` feature): a few bytes per page,
                // once, in a process that ends right after.
                let name: &'static str = format!("pushfix-{}", sub.get_name()).leak();
                // A subcommand has no version of its own: the page's footer names the binary's.
                let page = sub.clone().name(name).version(env!("CARGO_PKG_VERSION"));
                written.push(write_page(dir, name, page)?);
            }
            output::print(&format!(
                "wrote {} man pages to {}: `man pushfix` (add the folder's parent to MANPATH if man does not find it)\n",
                written.len(),
                dir.display()
            ))?;
        }
    }
    Ok(exit::OK)
}

fn render(cmd: clap::Command) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
    Ok(out)
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> Result<String, Error> {
    let file = dir.join(format!("{name}.1"));
    write_atomic(&file, &render(cmd)?)?;
    Ok(name.to_string())
}
