//! The `[packing]` section: the sender on the label, the SSCC numbering plan, the parcel boxes
//! and the pack stations' label printers.

use serde::{Deserialize, Deserializer, Serialize};

/// A string of digits, also when the source wrote it as a number (figment reads an environment
/// variable of digits as one). A leading zero is lost that way: quote such a prefix.
pub(super) fn digits<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Digits {
        Text(String),
        Number(u64),
    }
    Ok(match Digits::deserialize(d)? {
        Digits::Text(s) => s,
        Digits::Number(n) => n.to_string(),
    })
}

/// The pack stations: sender, SSCC numbering, parcel boxes and the stations' printers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PackingConfig {
    /// The warehouse as sender on the shipping label.
    pub sender_name: String,
    /// The sender's address on one line.
    pub sender_address: String,
    /// The GS1 company prefix for SSCCs (7 to 10 digits; Danish prefixes start 57). Digits given
    /// as a number (an environment variable) are taken as the prefix.
    #[serde(deserialize_with = "digits")]
    pub gs1_company_prefix: String,
    /// The SSCC's extension digit (0-9).
    pub sscc_extension: u8,
    /// The first and last serial reference to hand out (default: all the prefix leaves).
    pub sscc_serial_first: Option<u64>,
    pub sscc_serial_last: Option<u64>,
    /// Carrier and service printed on the label until carrier booking decides them.
    pub carrier: String,
    pub service: String,
    /// The parcel boxes (`[[packing.parcel_types]]`); the first is the default.
    pub parcel_types: Vec<crate::domain::packing::ParcelType>,
    /// Which printers serve which pack station (`[[packing.stations]]`); a station without an
    /// entry uses the printers registered with its station code: a label printer whose labels
    /// fit 100 x 150 mm, and a document printer (`kind = "pdf"`) for the packing slip.
    pub stations: Vec<PackStationSetting>,
}

/// A pack station's printers (`[[packing.stations]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackStationSetting {
    /// The station's code: a location of kind `packing`.
    pub id: String,
    /// The label printer for shipping labels.
    pub label_printer: String,
    /// The document printer for the A4 packing slip (default: a `pdf` printer registered with
    /// the station, if any).
    #[serde(default)]
    pub document_printer: Option<String>,
}

impl Default for PackingConfig {
    fn default() -> Self {
        let box_ = |name: &str, l, w, h, tare, max| crate::domain::packing::ParcelType {
            name: name.into(),
            length_mm: l,
            width_mm: w,
            height_mm: h,
            tare_g: tare,
            max_weight_g: max,
        };
        Self {
            sender_name: "Konsignationslager Vejle".into(),
            sender_address: "Industrivej 10, 7100 Vejle".into(),
            gs1_company_prefix: "5790002".into(),
            sscc_extension: 0,
            sscc_serial_first: None,
            sscc_serial_last: None,
            carrier: "PostNord".into(),
            service: "MyPack Home".into(),
            parcel_types: vec![
                box_("S", 250, 180, 100, 120, 5_000),
                box_("M", 350, 250, 150, 220, 10_000),
                box_("L", 500, 350, 250, 400, 20_000),
            ],
            stations: Vec::new(),
        }
    }
}

impl PackingConfig {
    /// The SSCC numbering plan (checked when the configuration loads).
    pub fn sscc_plan(&self) -> Result<crate::domain::sscc::SsccPlan, crate::domain::Invalid> {
        crate::domain::sscc::SsccPlan::new(
            self.sscc_extension,
            &self.gs1_company_prefix,
            self.sscc_serial_first,
            self.sscc_serial_last,
        )
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        self.sscc_plan()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        for (f, v) in [
            ("sender_name", &self.sender_name),
            ("sender_address", &self.sender_address),
            ("carrier", &self.carrier),
            ("service", &self.service),
        ] {
            anyhow::ensure!(
                !v.trim().is_empty() && v.chars().count() <= 100,
                "invalid configuration: packing.{f} must be 1 to 100 characters"
            );
        }
        anyhow::ensure!(
            !self.parcel_types.is_empty() && self.parcel_types.len() <= 50,
            "invalid configuration: packing.parcel_types needs 1 to 50 parcel types"
        );
        let mut names = std::collections::HashSet::new();
        for t in &self.parcel_types {
            t.check().map_err(|e| {
                anyhow::anyhow!(
                    "invalid configuration: packing.parcel_types {:?}: {e}",
                    t.name
                )
            })?;
            anyhow::ensure!(
                names.insert(t.name.trim().to_lowercase()),
                "invalid configuration: packing.parcel_types: {:?} is named twice",
                t.name
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Overrides};
    use std::path::Path;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
    fn a_bad_sscc_plan_or_parcel_type_is_refused_with_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KONSIGN_PACKING__GS1_COMPANY_PREFIX", "123456");
            let e = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("packing.gs1_company_prefix"), "{e}");
            jail.set_env("KONSIGN_PACKING__GS1_COMPANY_PREFIX", "5790000001");
            jail.set_env("KONSIGN_PACKING__SSCC_SERIAL_LAST", "1000000");
            let e = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("packing.sscc_serial_last"), "{e}");
            jail.set_env("KONSIGN_PACKING__SSCC_SERIAL_LAST", "999999");
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.packing.sscc_plan().unwrap().last(), 999_999);
            assert_eq!(c.packing.gs1_company_prefix, "5790000001");
            jail.create_file(
                "k.toml",
                "[[packing.parcel_types]]\nname = \"S\"\nlength_mm = 200\nwidth_mm = 150\nheight_mm = 100\ntare_g = 6000\nmax_weight_g = 5000\n",
            )?;
            let e = Config::load(Some(Path::new("k.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("packing.parcel_types") && e.contains("tare_g"),
                "{e}"
            );
            Ok(())
        });
    }
}
