use super::libro_iva::{PurchaseEntry, SaleEntry, purchases_book, sales_book};
use super::qr::AfipQr;
use super::*;

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn cuit(s: &str) -> Cuit {
    Cuit::parse(s).unwrap()
}

#[test]
fn voucher_codes_follow_afips_table() {
    let cases = [
        (Letter::A, VoucherKind::Invoice, 1),
        (Letter::A, VoucherKind::DebitNote, 2),
        (Letter::A, VoucherKind::CreditNote, 3),
        (Letter::B, VoucherKind::Invoice, 6),
        (Letter::B, VoucherKind::CreditNote, 8),
        (Letter::C, VoucherKind::Invoice, 11),
        (Letter::C, VoucherKind::DebitNote, 12),
        (Letter::C, VoucherKind::CreditNote, 13),
        (Letter::M, VoucherKind::Invoice, 51),
        (Letter::M, VoucherKind::CreditNote, 53),
    ];
    for (letter, kind, code) in cases {
        let t = VoucherType { letter, kind };
        assert_eq!(t.code(), code);
        assert_eq!(VoucherType::from_code(code).unwrap(), t);
    }
    for code in [0, 4, 5, 10, 14, 50, 83, 201] {
        assert_eq!(
            VoucherType::from_code(code),
            Err(InvoiceError::VoucherCode(code))
        );
    }
    assert_eq!(VoucherType::invoice(Letter::B).to_string(), "Factura B");
    assert!(Letter::A.discriminates_vat() && Letter::M.discriminates_vat());
    assert!(!Letter::B.discriminates_vat() && !Letter::C.discriminates_vat());
}

#[test]
fn voucher_numbers() {
    let n = VoucherNumber::parse("0003-00001234").unwrap();
    assert_eq!((n.point_of_sale(), n.number()), (3, 1234));
    assert_eq!(n.to_string(), "00003-00001234");
    assert_eq!(VoucherNumber::parse("00003-00001234").unwrap(), n);
    assert_eq!(VoucherNumber::parse("3 1234").unwrap(), n);
    assert_eq!(VoucherNumber::parse("0-1"), Err(InvoiceError::PointOfSale));
    assert_eq!(VoucherNumber::parse("1-0"), Err(InvoiceError::Number));
    for bad in ["", "1234", "000003-1", "1-123456789", "A-1", "1-"] {
        assert_eq!(
            VoucherNumber::parse(bad),
            Err(InvoiceError::NumberFormat),
            "{bad}"
        );
    }
}

#[test]
fn argentine_amounts_parse_exactly() {
    assert_eq!(parse_ar_money("1.234,56"), Ok(Money::from_minor(123_456)));
    assert_eq!(parse_ar_money("1234,56"), Ok(Money::from_minor(123_456)));
    assert_eq!(parse_ar_money("$ 1.234,56"), Ok(Money::from_minor(123_456)));
    assert_eq!(
        parse_ar_money("$1.234.567,8"),
        Ok(Money::from_minor(123_456_780))
    );
    assert_eq!(parse_ar_money("-0,50"), Ok(Money::from_minor(-50)));
    assert_eq!(parse_ar_money("-$ 10,00"), Ok(Money::from_minor(-1000)));
    assert_eq!(parse_ar_money("1.234"), Ok(Money::from_minor(123_400)));
    assert_eq!(parse_ar_money("0,01"), Ok(Money::from_minor(1)));
    // 0,1 + 0,2 in binary floating point is not 0,3; here it is.
    assert_eq!(
        parse_ar_money("0,10").unwrap() + parse_ar_money("0,20").unwrap(),
        parse_ar_money("0,30").unwrap()
    );
    assert_eq!(parse_ar_money(""), Err(MoneyError::Empty));
    assert_eq!(parse_ar_money("1,234"), Err(MoneyError::TooManyDecimals));
    for bad in [
        "1,234.56",
        "1.23,4",
        "12.3456,00",
        "1.2.3",
        "abc",
        "1,2,3",
        ",5",
        "1.234,",
    ] {
        assert_eq!(parse_ar_money(bad), Err(MoneyError::Format), "{bad}");
    }
    assert_eq!(parse_ar_qty("12,00"), Ok(Qty::units(12)));
    assert_eq!(parse_ar_qty("1.000"), Ok(Qty::units(1000)));
    assert_eq!(parse_ar_qty("2,5"), Ok(Qty::from_milli(2500)));
    assert_eq!(parse_ar_qty("0,250000"), Ok(Qty::from_milli(250)));
    assert!(parse_ar_qty("0,2501").is_err());
    assert_eq!(
        format_ar_amount(Money::from_minor(123_456_789)),
        "1.234.567,89"
    );
    assert_eq!(format_ar_amount(Money::from_minor(-5)), "-0,05");
}

#[test]
fn cae_is_fourteen_digits() {
    assert_eq!(
        Cae::parse(" 76123456789012 ").unwrap().as_str(),
        "76123456789012"
    );
    assert_eq!(Cae::parse("7612345678901"), Err(InvoiceError::Cae));
    assert_eq!(Cae::parse("7612345678901A"), Err(InvoiceError::Cae));
}

/// AFIP's own example from the QR specification (RG 4291 technical annex).
const AFIP_SPEC_URL: &str = "https://www.afip.gob.ar/fe/qr/?p=eyJ2ZXIiOjEsImZlY2hhIjoiMjAyMC0xMC0xMyIsImN1aXQiOjMwMDAwMDAwMDA3LCJwdG9WdGEiOjEwLCJ0aXBvQ21wIjoxLCJucm9DbXAiOjk0LCJpbXBvcnRlIjoxMjEwMCwibW9uZWRhIjoiRE9MIiwiY3R6Ijo2NSwidGlwb0RvY1JlYyI6ODAsIm5yb0RvY1JlYyI6MjAwMDAwMDAwMDEsInRpcG9Db2RBdXQiOiJFIiwiY29kQXV0Ijo3MDQxNzA1NDM2NzQ3Nn0=";

#[test]
fn qr_known_vector_from_afips_specification() {
    let qr = AfipQr::parse_url(AFIP_SPEC_URL).unwrap();
    assert_eq!(qr.version, 1);
    assert_eq!(qr.date, NaiveDate::from_ymd_opt(2020, 10, 13).unwrap());
    assert_eq!(qr.issuer_cuit, cuit("30-00000000-7"));
    assert_eq!(qr.voucher_type, VoucherType::invoice(Letter::A));
    assert_eq!(qr.number, VoucherNumber::new(10, 94).unwrap());
    assert_eq!(qr.total, m("12100"));
    assert_eq!(qr.currency, "DOL");
    assert_eq!(qr.exchange_rate, "65");
    assert_eq!(qr.receiver_cuit(), Some(cuit("20-00000000-1")));
    assert_eq!(qr.auth_type, "E");
    assert_eq!(qr.cae.as_str(), "70417054367476");
}

#[test]
fn qr_decimal_amount_is_exact_and_round_trips() {
    let url = "https://www.afip.gob.ar/fe/qr/?p=eyJ2ZXIiOjEsImZlY2hhIjoiMjAyNi0wMy0wNSIsImN1aXQiOjMzNjkzNDUwMjM5LCJwdG9WdGEiOjMsInRpcG9DbXAiOjExLCJucm9DbXAiOjEyMzQsImltcG9ydGUiOjEyMzQuNTYsIm1vbmVkYSI6IlBFUyIsImN0eiI6MSwidGlwb0RvY1JlYyI6OTksIm5yb0RvY1JlYyI6MCwidGlwb0NvZEF1dCI6IkUiLCJjb2RBdXQiOjc2MTIzNDU2Nzg5MDEyfQ==";
    let qr = AfipQr::parse_url(url).unwrap();
    assert_eq!(qr.issuer_cuit, cuit("33-69345023-9"));
    assert_eq!(qr.total, Money::from_minor(123_456));
    assert_eq!(qr.voucher_type, VoucherType::invoice(Letter::C));
    assert_eq!(qr.receiver_cuit(), None);
    let again = AfipQr::parse_url(&qr.to_url()).unwrap();
    assert_eq!(again, qr);
    // Without padding and with the URL-safe alphabet it still decodes.
    assert_eq!(AfipQr::parse_url(url.trim_end_matches('=')).unwrap(), qr);
}

#[test]
fn qr_rejects_foreign_or_broken_payloads() {
    let rule = |s: &str| AfipQr::parse_url(s).unwrap_err().rule();
    assert_eq!(rule("https://example.com/fe/qr/?p=e30="), "qr");
    assert_eq!(rule("https://www.afip.gob.ar/fe/qr/?x=1"), "qr");
    assert_eq!(rule("https://www.afip.gob.ar/fe/qr/?p=!!!"), "qr");
    // {} is valid base64 JSON but lacks every field.
    assert_eq!(rule("https://www.afip.gob.ar/fe/qr/?p=e30="), "qr");
    // A CUIT with a bad check digit inside the QR is not accepted as ground truth.
    use base64::Engine;
    let json = r#"{"ver":1,"fecha":"2020-10-13","cuit":30000000008,"ptoVta":10,"tipoCmp":1,"nroCmp":94,"importe":12100,"moneda":"PES","ctz":1,"tipoCodAut":"E","codAut":70417054367476}"#;
    let p = base64::engine::general_purpose::STANDARD.encode(json);
    assert_eq!(rule(&format!("https://www.afip.gob.ar/fe/qr/?p={p}")), "qr");
    let good = json.replace("30000000008", "30000000007");
    let p = base64::engine::general_purpose::STANDARD.encode(good);
    assert!(AfipQr::parse_url(&format!("https://www.afip.gob.ar/fe/qr/?p={p}")).is_ok());
    // An amount with 3 decimals is not a peso amount.
    let p = base64::engine::general_purpose::STANDARD.encode(
        json.replace("30000000008", "30000000007")
            .replace("12100", "1.005"),
    );
    assert_eq!(rule(&format!("https://www.afip.gob.ar/fe/qr/?p={p}")), "qr");
}

fn invoice_a() -> InvoiceData {
    InvoiceData {
        voucher_type: Some(VoucherType::invoice(Letter::A)),
        number: Some(VoucherNumber::new(3, 1234).unwrap()),
        issue_date: NaiveDate::from_ymd_opt(2026, 3, 5),
        issuer_cuit: Some(cuit("30-50001091-2")),
        issuer_name: Some("Distribuidora Sur SA".into()),
        issuer_vat_condition: Some(VatCondition::ResponsableInscripto),
        receiver_cuit: Some(cuit("33-69345023-9")),
        cae: Some(Cae::parse("76123456789012").unwrap()),
        cae_due: NaiveDate::from_ymd_opt(2026, 3, 15),
        lines: vec![
            InvoiceLine {
                code: Some("P1".into()),
                description: "Yerba 1 kg".into(),
                quantity: Qty::units(10),
                unit_price: m("100"),
                discount_bp: 0,
                subtotal: m("1000"),
                vat_rate: Some(VatRate::General),
            },
            InvoiceLine {
                code: None,
                description: "Fideos".into(),
                quantity: Qty::units(4),
                unit_price: m("55.55"),
                discount_bp: 1000,
                subtotal: m("199.98"),
                vat_rate: Some(VatRate::Reduced),
            },
        ],
        vat: vec![
            VatAmount {
                rate: VatRate::General,
                net: m("1000"),
                vat: m("210"),
            },
            VatAmount {
                rate: VatRate::Reduced,
                net: m("199.98"),
                vat: m("21"),
            },
        ],
        perception_iibb: m("15"),
        total: Some(m("1445.98")),
        ..InvoiceData::default()
    }
}

fn failed(d: &InvoiceData, ours: Option<&Cuit>) -> Vec<String> {
    d.checks(ours)
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| c.rule)
        .collect()
}

#[test]
fn a_consistent_invoice_passes_every_check() {
    let ours = cuit("33-69345023-9");
    let d = invoice_a();
    let checks = d.checks(Some(&ours));
    assert_eq!(checks.len(), 5);
    assert!(
        checks.iter().all(|c| c.ok && c.detail.is_empty()),
        "{checks:?}"
    );
}

#[test]
fn totals_tolerate_one_centavo_only() {
    let mut d = invoice_a();
    d.total = Some(m("1445.99"));
    assert!(failed(&d, None).is_empty());
    d.total = Some(m("1446.00"));
    assert_eq!(failed(&d, None), ["totals"]);
    let detail = d.checks(None).into_iter().find(|c| !c.ok).unwrap().detail;
    assert!(
        detail.contains("1.445,98") && detail.contains("1.446,00"),
        "{detail}"
    );
}

#[test]
fn line_sums_are_checked_per_line_and_against_the_footer() {
    let mut d = invoice_a();
    d.lines[1].subtotal = m("222.20");
    assert_eq!(failed(&d, None), ["lines"]);
    let mut d = invoice_a();
    d.vat[0].net = m("1100");
    d.vat[0].vat = m("110");
    assert_eq!(failed(&d, None), ["lines"]);
}

#[test]
fn letter_rules() {
    let mut d = invoice_a();
    d.vat.iter_mut().for_each(|v| v.vat = Money::ZERO);
    d.total = Some(m("1214.98"));
    assert_eq!(failed(&d, None), ["letter_vat"]);

    let c = InvoiceData {
        voucher_type: Some(VoucherType::invoice(Letter::C)),
        number: Some(VoucherNumber::new(1, 77).unwrap()),
        issue_date: NaiveDate::from_ymd_opt(2026, 3, 6),
        issuer_cuit: Some(cuit("20-17254359-7")),
        lines: vec![InvoiceLine {
            code: None,
            description: "Servicio".into(),
            quantity: Qty::units(2),
            unit_price: m("250"),
            discount_bp: 0,
            subtotal: m("500"),
            vat_rate: None,
        }],
        total: Some(m("500")),
        ..InvoiceData::default()
    };
    assert!(failed(&c, None).is_empty());
    let mut with_vat = c.clone();
    with_vat.vat = vec![VatAmount {
        rate: VatRate::General,
        net: m("413.22"),
        vat: m("86.78"),
    }];
    assert!(failed(&with_vat, None).contains(&"letter_vat".to_owned()));
}

#[test]
fn receiver_must_be_us_and_missing_fields_are_named() {
    let d = invoice_a();
    let other = cuit("20-17254359-7");
    assert_eq!(failed(&d, Some(&other)), ["receiver"]);
    let empty = InvoiceData::default();
    let checks = empty.checks(None);
    let required = checks.iter().find(|c| c.rule == "required").unwrap();
    assert!(!required.ok);
    assert!(
        required.detail.contains("CUIT del emisor"),
        "{}",
        required.detail
    );
}

/// A known period written out by hand, field by field, from RG 4597's layout.
#[test]
fn libro_iva_purchases_matches_the_hand_computed_file() {
    let a = PurchaseEntry {
        date: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
        voucher_type: VoucherType::invoice(Letter::A),
        point_of_sale: 3,
        number: 1234,
        seller_cuit: cuit("30-50001091-2"),
        seller_name: "Distribuidora Sur SA".into(),
        total: m("1446"),
        no_gravado: Money::ZERO,
        exento: Money::ZERO,
        perception_vat: Money::ZERO,
        perception_iibb: m("15"),
        vat: vec![
            VatAmount {
                rate: VatRate::General,
                net: m("1000"),
                vat: m("210"),
            },
            VatAmount {
                rate: VatRate::Reduced,
                net: m("200"),
                vat: m("21"),
            },
        ],
    };
    let c = PurchaseEntry {
        date: NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(),
        voucher_type: VoucherType::invoice(Letter::C),
        point_of_sale: 1,
        number: 77,
        seller_cuit: cuit("20-17254359-7"),
        seller_name: "Almacén Ñandú de José".into(),
        total: m("500"),
        no_gravado: Money::ZERO,
        exento: Money::ZERO,
        perception_vat: Money::ZERO,
        perception_iibb: Money::ZERO,
        vat: vec![],
    };
    let book = purchases_book(&[a, c]);
    let z = "000000000000000";
    let expected_cbte = [
        "20260305",
        "001",
        "00003",
        "00000000000000001234",
        "                ",
        "80",
        "00000000030500010912",
        "DISTRIBUIDORA SUR SA          ",
        "000000000144600",
        z,
        z,
        z,
        z,
        "000000000001500",
        z,
        z,
        "PES",
        "0001000000",
        "2",
        "0",
        "000000000023100",
        z,
        "00000000000",
        "                              ",
        z,
        "\r\n",
        "20260306",
        "011",
        "00001",
        "00000000000000000077",
        "                ",
        "80",
        "00000000020172543597",
        "ALMACEN NANDU DE JOSE         ",
        "000000000050000",
        z,
        z,
        z,
        z,
        z,
        z,
        z,
        "PES",
        "0001000000",
        "0",
        "0",
        z,
        z,
        "00000000000",
        "                              ",
        z,
        "\r\n",
    ]
    .concat();
    assert_eq!(book.comprobantes, expected_cbte);
    assert!(book.comprobantes.lines().all(|l| l.len() == 325));
    let expected_alic = concat!(
        "001000030000000000000000123480000000000305000109120000000001000000005000000000021000\r\n",
        "001000030000000000000000123480000000000305000109120000000000200000004000000000002100\r\n",
    );
    assert_eq!(book.alicuotas, expected_alic);
    assert!(book.alicuotas.lines().all(|l| l.len() == 84));
    assert_eq!(
        book.csv,
        concat!(
            "Fecha;Tipo;Punto de venta;Número;CUIT vendedor;Vendedor;Neto gravado;IVA;No gravado;Exento;Percepciones IVA;Percepciones IIBB;Total\r\n",
            "05/03/2026;Factura A;00003;00001234;30-50001091-2;Distribuidora Sur SA;1.200,00;231,00;0,00;0,00;0,00;15,00;1.446,00\r\n",
            "06/03/2026;Factura C;00001;00000077;20-17254359-7;Almacén Ñandú de José;0,00;0,00;0,00;0,00;0,00;0,00;500,00\r\n",
        )
    );
}

#[test]
fn libro_iva_sales_matches_the_hand_computed_file() {
    let t = SaleEntry {
        date: NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
        voucher_code: 83,
        point_of_sale: 2,
        number: 15,
        buyer_doc_type: 99,
        buyer_doc: 0,
        buyer_name: "Consumidor Final".into(),
        total: m("331"),
        no_gravado: Money::ZERO,
        exento: Money::ZERO,
        vat: vec![
            VatAmount {
                rate: VatRate::Reduced,
                net: m("100"),
                vat: m("10.50"),
            },
            VatAmount {
                rate: VatRate::General,
                net: m("182.23"),
                vat: m("38.27"),
            },
        ],
    };
    let book = sales_book(&[t]);
    let z = "000000000000000";
    let expected = [
        "20260307",
        "083",
        "00002",
        "00000000000000000015",
        "00000000000000000015",
        "99",
        "00000000000000000000",
        "CONSUMIDOR FINAL              ",
        "000000000033100",
        z,
        z,
        z,
        z,
        z,
        z,
        z,
        "PES",
        "0001000000",
        "2",
        "0",
        z,
        "00000000",
        "\r\n",
    ]
    .concat();
    assert_eq!(book.comprobantes, expected);
    assert_eq!(book.comprobantes.trim_end().len(), 266);
    assert_eq!(
        book.alicuotas,
        concat!(
            "08300002000000000000000000150000000000100000004000000000001050\r\n",
            "08300002000000000000000000150000000000182230005000000000003827\r\n",
        )
    );
    assert_eq!(
        book.csv,
        concat!(
            "Fecha;Tipo;Punto de venta;Número;Documento comprador;Comprador;Neto gravado;IVA;No gravado;Exento;Total\r\n",
            "07/03/2026;083;00002;00000015;0;Consumidor Final;282,23;48,77;0,00;0,00;331,00\r\n",
        )
    );
}
