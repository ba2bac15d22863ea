//! `pushfix matrix`: the channel matrix as text or JSON.

use super::output;
use crate::cli::{MatrixArgs, OutputFormat};
use crate::error::Error;
use crate::exit;
use crate::matrix::{self as channel_matrix, Matrix};

pub fn matrix(a: MatrixArgs) -> Result<i32, Error> {
    let m = Matrix::builtin().map_err(Error::Internal)?;
    let only = a.provider;
    let text = match a.format {
        OutputFormat::Text => channel_matrix::render_text(&m, only),
        OutputFormat::Json => serde_json::to_string_pretty(&channel_matrix::render_json(&m, only))
            .map_err(|e| Error::Internal(e.to_string()))?,
    };
    output::print(&format!("{text}\n"))?;
    Ok(exit::OK)
}
