//! The OCR adapter: implements the app's `InvoiceReader` port with the `ocr` crate, so the
//! use cases stay testable without Tesseract.

use std::time::Duration;

use app::invoices::{InvoiceReader, InvoiceSettings, ReadFailure, ReadInvoice};

pub struct OcrReader {
    scanner: ocr::Scanner,
    /// Checked once at start-up: Tesseract does not appear while the server runs.
    available: bool,
}

impl OcrReader {
    pub fn new(settings: &InvoiceSettings) -> OcrReader {
        let scanner = ocr::Scanner {
            our_cuit: settings
                .shop_cuit
                .as_deref()
                .and_then(|c| domain::Cuit::parse(c).ok()),
            limits: ocr::Limits {
                max_bytes: settings.max_upload_bytes,
                tool_timeout: Duration::from_secs(settings.scan_timeout_secs.max(1)),
                ..ocr::Limits::default()
            },
            ..ocr::Scanner::default()
        };
        let available = scanner.ocr_available();
        if !available {
            tracing::warn!(
                "tesseract is not installed: invoice scanning is off, manual entry works"
            );
        }
        OcrReader { scanner, available }
    }
}

impl InvoiceReader for OcrReader {
    fn available(&self) -> bool {
        self.available
    }

    fn read(&self, bytes: &[u8]) -> Result<ReadInvoice, ReadFailure> {
        match self.scanner.scan(bytes) {
            Ok(ex) => Ok(ReadInvoice {
                data: ex.data.clone(),
                raw_text: ex.raw_text.clone(),
                extraction: serde_json::to_value(&ex).unwrap_or_default(),
                page_image: ex.page_image.clone(),
            }),
            Err(e) => Err(ReadFailure {
                rule: e.rule().to_owned(),
                detail: e.to_string(),
            }),
        }
    }
}
