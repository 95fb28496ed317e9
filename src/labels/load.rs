//! Loading label templates: a file's text is parsed and checked (`template.rs`), then its
//! sample data is laid out in full (`layout.rs`), so a template whose barcodes cannot carry its
//! data or whose texts do not fit is refused when it is loaded, never when a label is printed.

use super::template::{Element, Template, TemplateError};
use std::path::Path;

impl Template {
    /// Parses and checks a template file's text: its own fields, the elements against the
    /// label's edges, and a full layout of its sample data (barcodes that cannot carry it,
    /// texts that do not fit).
    pub fn parse(file: &str, text: &str) -> Result<Self, TemplateError> {
        let template = Self::parse_definition(file, text)?;
        let err = |place: String, message: String| TemplateError {
            file: file.to_string(),
            place,
            message,
        };
        let today = chrono::Utc::now().date_naive();
        // The sample must lay out: texts fit, barcodes encode.
        super::layout::layout(&template, &template.sample, today).map_err(|e| match e {
            super::RenderError::Barcode { element, message }
            | super::RenderError::Text { element, message } => {
                let kind = template
                    .elements
                    .get(element - 1)
                    .map_or("?", Element::kind);
                err(
                    format!("element {element} ({kind})"),
                    format!("sample data: {message}"),
                )
            }
            other => err("sample".into(), other.to_string()),
        })?;
        Ok(template)
    }

    /// Loads and checks every `*.toml` in a folder, sorted by name. The first broken template
    /// stops the load with its error.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Template>> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| {
                anyhow::anyhow!("cannot read the label templates in {}: {e}", dir.display())
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
            out.push(Template::parse(&f.display().to_string(), &text)?);
        }
        Ok(out)
    }

    /// The templates shipped in `label-templates/`, built into the binary: used where no
    /// templates folder is configured or present.
    pub fn built_in() -> Vec<Template> {
        const FILES: [(&str, &str); 5] = [
            (
                "cut-sticker.toml",
                include_str!("../../label-templates/cut-sticker.toml"),
            ),
            (
                "handover-list.toml",
                include_str!("../../label-templates/handover-list.toml"),
            ),
            (
                "location.toml",
                include_str!("../../label-templates/location.toml"),
            ),
            (
                "packing-slip.toml",
                include_str!("../../label-templates/packing-slip.toml"),
            ),
            (
                "shipping.toml",
                include_str!("../../label-templates/shipping.toml"),
            ),
        ];
        FILES
            .iter()
            .map(|(f, text)| {
                // Checked by the unit tests on every build; a broken shipped template is a bug.
                Template::parse(&format!("(built in) {f}"), text)
                    .unwrap_or_else(|e| panic!("shipped template broken: {e}"))
            })
            .collect()
    }

    /// The templates in `dir` when given (an error when it cannot be read), otherwise those in
    /// `./label-templates` when present, otherwise the built-in ones.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Vec<Template>> {
        match dir {
            Some(d) => Self::load_dir(d),
            None if Path::new("label-templates").is_dir() => {
                Self::load_dir(Path::new("label-templates"))
            }
            None => Ok(Self::built_in()),
        }
    }
}
