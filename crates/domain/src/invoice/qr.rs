//! The QR that AFIP requires on electronic vouchers since RG 4291: a URL
//! `https://www.afip.gob.ar/fe/qr/?p=<base64 JSON>` whose JSON names the issuer, the voucher
//! and the CAE. When present it is authoritative for those fields.

use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Cae, InvoiceError, VoucherNumber, VoucherType};
use crate::cuit::Cuit;
use crate::money::Money;

/// The URL prefix AFIP prints; `www.` is optional in the wild.
const PREFIXES: [&str; 2] = [
    "https://www.afip.gob.ar/fe/qr/",
    "https://afip.gob.ar/fe/qr/",
];

/// Largest payload accepted, so a hostile QR cannot make us decode megabytes.
const MAX_PAYLOAD: usize = 4096;

/// The QR's fields, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfipQr {
    pub version: u32,
    pub date: NaiveDate,
    pub issuer_cuit: Cuit,
    pub voucher_type: VoucherType,
    pub number: VoucherNumber,
    pub total: Money,
    /// AFIP currency code: "PES" for pesos, "DOL" for US dollars.
    pub currency: String,
    /// Exchange rate as printed ("1", "850.50"); kept as text because it is informative only.
    pub exchange_rate: String,
    /// 80 = CUIT, 96 = DNI, 99 = final consumer.
    pub receiver_doc_type: Option<u32>,
    pub receiver_doc: Option<u64>,
    /// "E" for CAE, "A" for CAEA.
    pub auth_type: String,
    pub cae: Cae,
}

#[derive(Deserialize, Serialize)]
struct Wire<'a> {
    ver: u32,
    fecha: String,
    cuit: u64,
    #[serde(rename = "ptoVta")]
    pto_vta: u32,
    #[serde(rename = "tipoCmp")]
    tipo_cmp: u32,
    #[serde(rename = "nroCmp")]
    nro_cmp: u32,
    #[serde(borrow)]
    importe: &'a RawValue,
    moneda: String,
    #[serde(borrow)]
    ctz: &'a RawValue,
    #[serde(
        rename = "tipoDocRec",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    tipo_doc_rec: Option<u32>,
    #[serde(rename = "nroDocRec", default, skip_serializing_if = "Option::is_none")]
    nro_doc_rec: Option<u64>,
    #[serde(rename = "tipoCodAut")]
    tipo_cod_aut: String,
    #[serde(rename = "codAut")]
    cod_aut: u64,
}

fn bad(why: &str) -> InvoiceError {
    InvoiceError::Qr(why.to_owned())
}

impl AfipQr {
    /// Parses the QR's text (the URL). The amount is read from the JSON literal's text, never
    /// through floating point.
    pub fn parse_url(text: &str) -> Result<AfipQr, InvoiceError> {
        let text = text.trim();
        let rest = PREFIXES
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .ok_or_else(|| bad("la dirección no es https://www.afip.gob.ar/fe/qr/"))?;
        let query = rest.trim_start_matches('?');
        let p = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("p="))
            .ok_or_else(|| bad("falta el parámetro p"))?;
        if p.len() > MAX_PAYLOAD {
            return Err(bad("el contenido es demasiado largo"));
        }
        // Some issuers URL-encode the padding or use the URL-safe alphabet.
        let p = p.replace("%3D", "=").replace("%3d", "=");
        let p = p.replace('-', "+").replace('_', "/");
        let json = base64::engine::general_purpose::STANDARD
            .decode(p.trim_end_matches('='))
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(p.trim_end_matches('='))
            })
            .map_err(|_| bad("el contenido no es base64"))?;
        Self::parse_json(&json)
    }

    /// Parses the decoded JSON payload.
    pub fn parse_json(json: &[u8]) -> Result<AfipQr, InvoiceError> {
        let w: Wire<'_> =
            serde_json::from_slice(json).map_err(|e| bad(&format!("JSON inválido ({e})")))?;
        let date = NaiveDate::parse_from_str(&w.fecha, "%Y-%m-%d")
            .map_err(|_| bad("la fecha no es AAAA-MM-DD"))?;
        let issuer_cuit =
            Cuit::parse(&format!("{:011}", w.cuit)).map_err(|e| bad(&e.to_string()))?;
        let voucher_type = VoucherType::from_code(w.tipo_cmp)?;
        let number = VoucherNumber::new(w.pto_vta, w.nro_cmp)?;
        let total = Money::parse(w.importe.get()).map_err(|e| bad(&format!("importe: {e}")))?;
        let exchange_rate = w.ctz.get().trim_matches('"').to_owned();
        let cae = Cae::parse(&format!("{:014}", w.cod_aut))?;
        if !matches!(w.tipo_cod_aut.as_str(), "E" | "A") {
            return Err(bad("tipoCodAut debe ser E (CAE) o A (CAEA)"));
        }
        Ok(AfipQr {
            version: w.ver,
            date,
            issuer_cuit,
            voucher_type,
            number,
            total,
            currency: w.moneda,
            exchange_rate,
            receiver_doc_type: w.tipo_doc_rec,
            receiver_doc: w.nro_doc_rec,
            auth_type: w.tipo_cod_aut,
            cae,
        })
    }

    /// The receiver's CUIT when the QR names one (document type 80).
    pub fn receiver_cuit(&self) -> Option<Cuit> {
        match (self.receiver_doc_type, self.receiver_doc) {
            (Some(80), Some(n)) => Cuit::parse(&format!("{n:011}")).ok(),
            _ => None,
        }
    }

    /// The URL an issuer prints, as AFIP's specification builds it (used to generate test
    /// invoices and by anyone re-encoding a corrected QR).
    pub fn to_url(&self) -> String {
        let importe = self.total.to_string();
        let raw = |s: &str| -> Option<Box<RawValue>> { RawValue::from_string(s.to_owned()).ok() };
        let (Some(importe), Some(ctz)) = (raw(&importe), raw(&self.exchange_rate)) else {
            return String::new();
        };
        let cuit = self.issuer_cuit.as_str().parse::<u64>().unwrap_or(0);
        let cod_aut = self.cae.as_str().parse::<u64>().unwrap_or(0);
        let wire = Wire {
            ver: self.version,
            fecha: self.date.format("%Y-%m-%d").to_string(),
            cuit,
            pto_vta: self.number.point_of_sale(),
            tipo_cmp: self.voucher_type.code(),
            nro_cmp: self.number.number(),
            importe: &importe,
            moneda: self.currency.clone(),
            ctz: &ctz,
            tipo_doc_rec: self.receiver_doc_type,
            nro_doc_rec: self.receiver_doc,
            tipo_cod_aut: self.auth_type.clone(),
            cod_aut,
        };
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        format!(
            "{}?p={}",
            PREFIXES[0],
            base64::engine::general_purpose::STANDARD.encode(json)
        )
    }
}
