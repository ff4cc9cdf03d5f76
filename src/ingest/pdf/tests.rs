use super::*;

/// A one-page PDF whose text is `cids` (two bytes each) in a CID font that is not
/// embedded and has no ToUnicode map, as older Japanese and Chinese PDFs set their text
/// (Ryumin-Light, Identity-H), its CIDs from Adobe's collection `ordering`. Written by
/// lopdf: no producer here makes such a file.
fn system_cid_font_pdf(ordering: &str, cids: &[u16]) -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor", "FontName" => "Ryumin-Light", "Flags" => 4,
        "FontBBox" => vec![0.into(), (-120).into(), 1000.into(), 880.into()],
        "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 700,
        "StemV" => 80,
    });
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "Ryumin-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal(ordering),
            "Supplement" => 6,
        },
        "FontDescriptor" => descriptor, "DW" => 1000,
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Ryumin-Light",
        "Encoding" => "Identity-H", "DescendantFonts" => vec![cid_font.into()],
    });
    let text: Vec<u8> = cids.iter().flat_map(|c| c.to_be_bytes()).collect();
    let hex: String = text.iter().map(|b| format!("{b:02x}")).collect();
    let content = format!("BT /F1 24 Tf 72 700 Td <{hex}> Tj ET");
    let contents = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let pages_id = doc.new_object_id();
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn system_cjk_fonts_without_a_unicode_map_read_through_adobes_collections() {
    // 日本語 in Adobe-Japan1's CIDs; 中文 in Adobe-GB1's (a page needs 10 characters to
    // count as text).
    let ja = pages(&system_cid_font_pdf(
        "Japan1",
        &[0x0cd4, 0x0e8a, 0x07a0].repeat(4),
    ));
    assert_eq!(ja.unwrap()[0].trim(), "日本語".repeat(4));
    let zh = pages(&system_cid_font_pdf("GB1", &[0x11cf, 0x0ed3].repeat(5)));
    assert_eq!(zh.unwrap()[0].trim(), "中文".repeat(5));
    // CIDs of no known collection stay unread (no guessing).
    let other = pages(&system_cid_font_pdf(
        "Identity",
        &[0x0cd4, 0x0e8a].repeat(6),
    ));
    assert!(matches!(other, Err(PdfError::NoText { .. })), "{other:?}");
}

/// Six pages written by lopdf: text, a page-sized image alone (a scan), nothing (a
/// blank page), text, a scan drawn through a form, a small logo alone (a title page).
/// The scans are found; the blank page and the logo's page are none.
#[test]
fn scanned_pages_among_text_pages_are_named() {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![128u8; 64],
    ));
    let form = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
        },
        b"q 500 0 0 700 40 60 cm /Im1 Do Q".to_vec(),
    ));
    let text =
        "BT /F1 12 Tf 72 700 Td (A page of text that xref reads well, every word of it.) Tj ET";
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for content in [
        text,
        "q 500 0 0 700 40 60 cm /Im1 Do Q",
        "",
        text,
        "/Fm1 Do",
        "q 60 0 0 60 260 600 cm /Im1 Do Q",
    ] {
        let contents = doc.add_object(Stream::new(dictionary! {}, content.into()));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! {
                "Font" => dictionary! { "F1" => font },
                "XObject" => dictionary! { "Im1" => image, "Fm1" => form },
            },
        })));
    }
    // Every page's resources name the image and the form, as producers' shared
    // resources do: only the pages that draw them count.
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Count" => kids.len() as i64, "Kids" => kids,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let pdf = read(&bytes).expect("the text pages read");
    assert_eq!(pdf.scanned, [2, 5]);
    assert!(pdf.pages[0].text().contains("A page of text"));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(matches!(
        pages(b"%PDF-1.7\n1 0 obj <<"),
        Err(PdfError::Unreadable(_))
    ));
    assert!(matches!(
        pages(b"not a pdf at all"),
        Err(PdfError::Unreadable(_))
    ));
}
