//! Label templates as data (`label-templates/*.toml`): the label's size and its elements in
//! millimetres, with their text and barcode data bound to named fields. A template is checked
//! when it is loaded, against its own sample data: unknown keys, fields used but not declared,
//! elements off the label, barcode data that is not valid GS1 or does not fit. A broken template
//! is reported with its file and element and is never printed.

use super::code128;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Line height as a share of the font size.
pub const LINE: f64 = 1.2;

/// A problem in a template, named by file and element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}: {message}")]
pub struct TemplateError {
    pub file: String,
    /// `element 3 (barcode)`, `fields`, or `template` for the whole file.
    pub place: String,
    pub message: String,
}

/// A missing or unusable field value when a label is bound to data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DataError {
    pub field: String,
    pub message: String,
}

/// The data a label is printed with: one string per field, and for a template with a table
/// (the packing slip) its rows, each with one string per column field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelData {
    pub fields: BTreeMap<String, String>,
    pub tables: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

impl From<BTreeMap<String, String>> for LabelData {
    fn from(fields: BTreeMap<String, String>) -> Self {
        Self {
            fields,
            tables: BTreeMap::new(),
        }
    }
}

impl LabelData {
    /// From a JSON object: strings (numbers are taken as their text) per field, arrays of such
    /// objects per table.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, DataError> {
        fn text(field: &str, v: &serde_json::Value) -> Result<String, DataError> {
            match v {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                _ => Err(DataError {
                    field: field.to_string(),
                    message: "must be a string or a number".into(),
                }),
            }
        }
        let serde_json::Value::Object(map) = v else {
            return Err(DataError {
                field: "(label data)".into(),
                message: "must be a JSON object with one value per field".into(),
            });
        };
        let mut out = LabelData::default();
        for (k, v) in map {
            if let serde_json::Value::Array(rows) = v {
                let mut table = Vec::with_capacity(rows.len());
                for (i, row) in rows.iter().enumerate() {
                    let serde_json::Value::Object(row) = row else {
                        return Err(DataError {
                            field: format!("{k}[{}]", i + 1),
                            message: "a table row must be an object with one value per column"
                                .into(),
                        });
                    };
                    let mut r = BTreeMap::new();
                    for (c, v) in row {
                        r.insert(c.clone(), text(&format!("{k}[{}].{c}", i + 1), v)?);
                    }
                    table.push(r);
                }
                out.tables.insert(k.clone(), table);
            } else {
                out.fields.insert(k.clone(), text(k, v)?);
            }
        }
        Ok(out)
    }
}

impl DataError {
    /// The same problem, placed in a table row.
    pub fn in_row(self, row: usize) -> Self {
        Self {
            field: format!("row {row}: {}", self.field),
            message: self.message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symbology {
    Code128,
    Gs1_128,
    Gs1Datamatrix,
    Qr,
    Ean13,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Make the font smaller until the text fits on one line (down to 40 %).
    #[default]
    Shrink,
    /// Break the text into up to `max_lines` lines.
    Wrap,
}

/// One thing drawn on a label. Positions and sizes are millimetres from the top left corner.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Element {
    Text {
        x_mm: f64,
        y_mm: f64,
        /// Character height.
        font_mm: f64,
        #[serde(default)]
        bold: bool,
        max_width_mm: f64,
        #[serde(default)]
        fit: Fit,
        #[serde(default = "one")]
        max_lines: u32,
        /// The text with `{field}` placeholders (`{page}` and `{pages}` are built in).
        text: String,
        /// Repeat on every page of a multi-page document (otherwise only on the first).
        #[serde(default)]
        every_page: bool,
    },
    Barcode {
        symbology: Symbology,
        x_mm: f64,
        y_mm: f64,
        /// Bar height (1D) or the symbol's module size (2D, `module_mm`) decides the size.
        #[serde(default)]
        height_mm: f64,
        module_mm: f64,
        /// Print the human-readable text under a 1D barcode.
        #[serde(default)]
        hri: bool,
        /// The data with `{field}` placeholders; GS1 symbologies take the bracket form
        /// `(01){gtin}(10){lot}`.
        data: String,
    },
    Box {
        x_mm: f64,
        y_mm: f64,
        width_mm: f64,
        height_mm: f64,
        line_mm: f64,
        #[serde(default)]
        every_page: bool,
    },
    /// Rows of a table in the data (the packing slip's lines), with a bold header row. Rows that
    /// do not fit above `bottom_mm` continue on a new page at `continue_y_mm`, header repeated.
    Table {
        x_mm: f64,
        y_mm: f64,
        font_mm: f64,
        /// The table in the data.
        rows: String,
        bottom_mm: f64,
        continue_y_mm: f64,
        columns: Vec<Column>,
    },
}

/// One column of a table: its header, width and the cell text with `{column field}` (or
/// `{field}`) placeholders. A cell wraps onto up to three lines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub title: String,
    pub width_mm: f64,
    pub text: String,
}

fn one() -> u32 {
    1
}

/// A template as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    description: String,
    width_mm: f64,
    height_mm: f64,
    /// Field name -> what it holds.
    fields: BTreeMap<String, String>,
    /// Table name -> (column field -> what it holds).
    #[serde(default)]
    tables: BTreeMap<String, BTreeMap<String, String>>,
    /// Example data for every field (and table): `--sample`, and the data the template is
    /// checked with.
    sample: toml::Table,
    #[serde(rename = "elements")]
    elements: Vec<Element>,
}

/// A loaded and checked template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub file: String,
    pub width_mm: f64,
    pub height_mm: f64,
    pub fields: BTreeMap<String, String>,
    pub tables: BTreeMap<String, BTreeMap<String, String>>,
    pub sample: LabelData,
    pub elements: Vec<Element>,
}

impl Template {
    /// A template whose labels name a person (fields `recipient_*`: the shipping label and the
    /// packing slip): reading or reprinting them is reading personal data.
    pub fn personal_data(&self) -> bool {
        self.fields.keys().any(|k| k.starts_with("recipient_"))
    }
}

/// The placeholders every text may use without declaring them.
pub const BUILT_IN: [&str; 2] = ["page", "pages"];

/// Replaces `{field}` placeholders with what `lookup` gives; names the first missing field.
pub fn bind_with<'a>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, DataError> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(DataError {
                field: after.to_string(),
                message: "a '{' without its '}'".into(),
            });
        };
        let name = &after[..close];
        let value = lookup(name).ok_or_else(|| DataError {
            field: name.to_string(),
            message: "is missing from the label data".into(),
        })?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `{field}` placeholders with the data's fields.
pub fn bind(text: &str, data: &LabelData) -> Result<String, DataError> {
    bind_with(text, |n| data.fields.get(n).map(String::as_str))
}

/// The field names a text uses.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                names.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    names
}

impl Element {
    pub fn kind(&self) -> &'static str {
        match self {
            Element::Text { .. } => "text",
            Element::Barcode { .. } => "barcode",
            Element::Box { .. } => "box",
            Element::Table { .. } => "table",
        }
    }
}

/// The width in millimetres a 1D barcode of this data needs, quiet zones included.
pub fn barcode_width_mm(symbology: Symbology, data: &str, module_mm: f64) -> Result<f64, String> {
    let modules = match symbology {
        Symbology::Code128 | Symbology::Gs1_128 => {
            let encoded = code128::encode(data, symbology == Symbology::Gs1_128)?;
            // Start, data and check symbols are 11 modules each, the stop 13, quiet zones 10 each.
            11 * (encoded.symbols + 2) + 13 + 20
        }
        Symbology::Ean13 => 95 + 18,
        Symbology::Gs1Datamatrix | Symbology::Qr => return Ok(0.0),
    };
    Ok(modules as f64 * module_mm)
}

/// Checks bound data against what a barcode can carry.
pub fn check_barcode(
    symbology: Symbology,
    data: &str,
    today: chrono::NaiveDate,
) -> Result<(), String> {
    match symbology {
        Symbology::Gs1_128 | Symbology::Gs1Datamatrix => crate::domain::gs1::parse_hri(data, today)
            .map(|_| ())
            .map_err(|e| format!("not valid GS1: {e}")),
        Symbology::Ean13 => {
            if data.len() == 12 && data.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err("EAN-13 data must be the 12 digits before the check digit".into())
            }
        }
        Symbology::Code128 => code128::encode(data, false).map(|_| ()),
        Symbology::Qr => {
            if data.is_empty() || data.len() > 1000 {
                Err("QR data must be 1 to 1000 characters".into())
            } else {
                Ok(())
            }
        }
    }
}

impl Template {
    /// Parses and checks a template file's text: its own fields and the elements against the
    /// label's edges. `Template::parse` (in `load.rs`) adds the layout of its sample data.
    pub(super) fn parse_definition(file: &str, text: &str) -> Result<Self, TemplateError> {
        let err = |place: String, message: String| TemplateError {
            file: file.to_string(),
            place,
            message,
        };
        let t: TemplateFile = toml::from_str(text)
            .map_err(|e| err("template".into(), e.to_string().trim().replace('\n', " ")))?;
        if !(10.0..=300.0).contains(&t.width_mm) || !(10.0..=450.0).contains(&t.height_mm) {
            return Err(err(
                "template".into(),
                "width_mm must be 10-300 and height_mm 10-450".into(),
            ));
        }
        let sample_json =
            serde_json::to_value(&t.sample).map_err(|e| err("sample".into(), e.to_string()))?;
        let sample =
            LabelData::from_json(&sample_json).map_err(|e| err("sample".into(), e.to_string()))?;
        for name in t.fields.keys().chain(t.tables.keys()) {
            if BUILT_IN.contains(&name.as_str()) {
                return Err(err("fields".into(), format!("{name} is built in")));
            }
        }
        let today = chrono::Utc::now().date_naive();
        for (i, e) in t.elements.iter().enumerate() {
            let place = format!("element {} ({})", i + 1, e.kind());
            let declared = |name: &str, columns: Option<&BTreeMap<String, String>>| {
                t.fields.contains_key(name)
                    || BUILT_IN.contains(&name)
                    || columns.is_some_and(|c| c.contains_key(name))
            };
            let texts: Vec<(&str, Option<&BTreeMap<String, String>>)> = match e {
                Element::Text { text, .. } => vec![(text.as_str(), None)],
                Element::Barcode { data, .. } => vec![(data.as_str(), None)],
                Element::Box { .. } => vec![],
                Element::Table { rows, columns, .. } => {
                    let Some(cols) = t.tables.get(rows) else {
                        return Err(err(
                            place,
                            format!("rows = {rows:?} is not a declared table"),
                        ));
                    };
                    columns
                        .iter()
                        .map(|c| (c.text.as_str(), Some(cols)))
                        .collect()
                }
            };
            for (text, columns) in texts {
                for name in placeholders(text) {
                    if !declared(name, columns) {
                        return Err(err(place, format!("uses the undeclared field {{{name}}}")));
                    }
                }
            }
            if let Element::Barcode { data, .. } = e {
                for name in placeholders(data) {
                    if BUILT_IN.contains(&name) {
                        return Err(err(place, format!("{{{name}}} cannot be in a barcode")));
                    }
                }
            }
            let (x, y, w, h) = match e {
                Element::Text {
                    x_mm,
                    y_mm,
                    font_mm,
                    max_width_mm,
                    max_lines,
                    ..
                } => {
                    if !(0.5..=50.0).contains(font_mm) || *max_lines == 0 {
                        return Err(err(
                            place,
                            "font_mm must be 0.5-50 and max_lines at least 1".into(),
                        ));
                    }
                    (
                        *x_mm,
                        *y_mm,
                        *max_width_mm,
                        font_mm * f64::from(*max_lines) * LINE,
                    )
                }
                Element::Barcode {
                    symbology,
                    x_mm,
                    y_mm,
                    height_mm,
                    module_mm,
                    data,
                    ..
                } => {
                    if !(0.1..=2.0).contains(module_mm) {
                        return Err(err(place, "module_mm must be 0.1-2.0".into()));
                    }
                    let bound =
                        bind(data, &sample).map_err(|d| err(place.clone(), d.to_string()))?;
                    check_barcode(*symbology, &bound, today)
                        .map_err(|m| err(place.clone(), format!("sample data: {m}")))?;
                    let width = barcode_width_mm(*symbology, &bound, *module_mm)
                        .map_err(|m| err(place.clone(), m))?;
                    (*x_mm, *y_mm, width, *height_mm)
                }
                Element::Box {
                    x_mm,
                    y_mm,
                    width_mm,
                    height_mm,
                    ..
                } => (*x_mm, *y_mm, *width_mm, *height_mm),
                Element::Table {
                    x_mm,
                    y_mm,
                    font_mm,
                    bottom_mm,
                    continue_y_mm,
                    columns,
                    ..
                } => {
                    if columns.is_empty() || !(0.5..=20.0).contains(font_mm) {
                        return Err(err(
                            place,
                            "a table needs columns and font_mm 0.5-20".into(),
                        ));
                    }
                    if *continue_y_mm + font_mm * 8.0 > *bottom_mm
                        || *y_mm + font_mm * 4.0 > *bottom_mm
                    {
                        return Err(err(
                            place,
                            "y_mm and continue_y_mm must leave room for rows above bottom_mm"
                                .into(),
                        ));
                    }
                    let width = columns.iter().map(|c| c.width_mm).sum::<f64>();
                    (
                        *x_mm,
                        (*y_mm).min(*continue_y_mm),
                        width,
                        bottom_mm - y_mm.min(*continue_y_mm),
                    )
                }
            };
            if x < 0.0 || y < 0.0 || x + w > t.width_mm + 0.01 || y + h > t.height_mm + 0.01 {
                return Err(err(
                    place,
                    format!(
                        "reaches {:.1} x {:.1} mm, off the {} x {} mm label",
                        x + w,
                        y + h,
                        t.width_mm,
                        t.height_mm
                    ),
                ));
            }
        }
        let template = Self {
            name: t.name,
            description: t.description,
            file: file.to_string(),
            width_mm: t.width_mm,
            height_mm: t.height_mm,
            fields: t.fields,
            tables: t.tables,
            sample,
            elements: t.elements,
        };
        template
            .check_data(&template.sample)
            .map_err(|e| err("sample".into(), e.to_string()))?;
        Ok(template)
    }

    /// Checks that data has every declared field and table column, and nothing else.
    pub fn check_data(&self, data: &LabelData) -> Result<(), DataError> {
        let missing = |field: &str| DataError {
            field: field.to_string(),
            message: "is missing from the label data".into(),
        };
        let unknown = |field: &str| DataError {
            field: field.to_string(),
            message: format!("is not a field of the {} template", self.name),
        };
        for f in self.fields.keys() {
            if !data.fields.contains_key(f) {
                return Err(missing(f));
            }
        }
        for f in data.fields.keys() {
            if !self.fields.contains_key(f) {
                return Err(unknown(f));
            }
        }
        for (name, columns) in &self.tables {
            let Some(rows) = data.tables.get(name) else {
                return Err(missing(name));
            };
            for (i, row) in rows.iter().enumerate() {
                for c in columns.keys() {
                    if !row.contains_key(c) {
                        return Err(missing(&format!("{name}[{}].{c}", i + 1)));
                    }
                }
                for c in row.keys() {
                    if !columns.contains_key(c) {
                        return Err(unknown(&format!("{name}[{}].{c}", i + 1)));
                    }
                }
            }
        }
        for name in data.tables.keys() {
            if !self.tables.contains_key(name) {
                return Err(unknown(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "t"
description = "test"
width_mm = 100
height_mm = 30
[fields]
code = "location code"
[sample]
code = "A-01-1"
[[elements]]
type = "text"
x_mm = 2
y_mm = 2
font_mm = 8
max_width_mm = 90
text = "Lokation {code}"
[[elements]]
type = "barcode"
symbology = "code128"
x_mm = 2
y_mm = 14
height_mm = 10
module_mm = 0.5
data = "{code}"
"#;

    #[test]
    fn a_good_template_loads_and_binds() {
        let t = Template::parse("t.toml", OK).unwrap();
        assert_eq!(t.elements.len(), 2);
        let data = LabelData::from(BTreeMap::from([("code".to_string(), "B-02-3".to_string())]));
        assert_eq!(bind("Lokation {code}", &data).unwrap(), "Lokation B-02-3");
        assert_eq!(bind("{nope}", &data).unwrap_err().field, "nope");
    }

    #[test]
    fn broken_templates_name_file_and_element() {
        let e = Template::parse(
            "t.toml",
            &OK.replace("{code}\"\n[[elements]]", "{kode}\"\n[[elements]]"),
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.place.as_str()),
            ("t.toml", "element 1 (text)")
        );
        assert!(e.message.contains("undeclared field {kode}"), "{e}");
        let e = Template::parse("t.toml", &OK.replace("y_mm = 14", "y_mm = 25")).unwrap_err();
        assert_eq!(e.place, "element 2 (barcode)");
        assert!(e.message.contains("off the 100 x 30 mm label"), "{e}");
        // A code too long for the label at this module width.
        let e = Template::parse(
            "t.toml",
            &OK.replace("code = \"A-01-1\"", "code = \"ABCDEFGHIJKLMNOPQRSTUVWXYZ\""),
        )
        .unwrap_err();
        assert_eq!(e.place, "element 2 (barcode)", "{e}");
        let e = Template::parse(
            "t.toml",
            &OK.replace("module_mm = 0.5", "module_mm = 0.5\ncolour = \"red\""),
        )
        .unwrap_err();
        assert_eq!(e.place, "template");
        assert!(e.message.contains("colour"), "{e}");
    }
}
