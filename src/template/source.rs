//! Where a template's text came from, so render errors point into the right file.

use crate::diag::{SourceFile, Span};

/// A template and where its text came from, so render errors point into the right file.
#[derive(Debug, Clone)]
pub struct TemplateSrc {
    pub text: String,
    /// The field it came from, for messages (`message.body`).
    pub field: String,
    pub origin: TemplateOrigin,
}

#[derive(Debug, Clone)]
pub enum TemplateOrigin {
    /// Written in the playbook: the scalar's byte range in the playbook file.
    Inline {
        file: SourceFile,
        offset: usize,
        len: usize,
        span: Span,
    },
    /// Read from a template file (`body_template`).
    File { file: SourceFile },
}

/// Free-form JSON whose strings are templates (`extras`).
#[derive(Debug, Clone)]
pub enum TemplateTree {
    Template(TemplateSrc),
    Literal(serde_json::Value),
    Map(Vec<(String, TemplateTree)>),
    List(Vec<TemplateTree>),
}
