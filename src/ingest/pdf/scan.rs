//! Scanned pages among text pages: a page without text that draws a page-sized image.

use pdf_extract::Transform;

use super::tags;

/// Whether a page is a scan: it draws an image (an XObject its content invokes, directly
/// or through a form three deep at most, or an inline image) over half its area or more.
/// Only what the page draws counts (producers share one resource dictionary between
/// pages), and a logo on a title page is no scan.
pub(super) fn is_scan(doc: &pdf_extract::Document, page: pdf_extract::ObjectId, area: f64) -> bool {
    use pdf_extract::{Dictionary, Object};
    /// The largest area an image covers (the unit square through the transform).
    fn largest(
        doc: &pdf_extract::Document,
        content: &[u8],
        resources: &[&Dictionary],
        ctm: Transform,
        depth: usize,
    ) -> f64 {
        let Ok(content) = pdf_extract::content::Content::decode(content) else {
            return 0.0;
        };
        let (mut ctm, mut saved, mut best) = (ctm, Vec::new(), 0.0f64);
        for op in &content.operations {
            match op.operator.as_str() {
                "q" => saved.push(ctm),
                "Q" => ctm = saved.pop().unwrap_or(ctm),
                "cm" => {
                    let n: Vec<f64> = (op.operands.iter())
                        .filter_map(|o| o.as_float().ok().map(f64::from))
                        .collect();
                    if let [a, b, c, d, e, f] = n[..] {
                        ctm = ctm.pre_transform(&Transform::row_major(a, b, c, d, e, f));
                    }
                }
                "BI" => best = best.max(ctm.determinant().abs()),
                "Do" => {
                    let Some(x) =
                        op.operands
                            .first()
                            .and_then(|n| n.as_name().ok())
                            .and_then(|name| {
                                resources.iter().find_map(|r| {
                                    tags::dict(doc, r.get(b"XObject").ok()?)?.get(name).ok()
                                })
                            })
                    else {
                        continue;
                    };
                    let Ok((_, Object::Stream(s))) = doc.dereference(x) else {
                        continue;
                    };
                    match s.dict.get(b"Subtype").and_then(|t| t.as_name()) {
                        Ok(b"Image") => best = best.max(ctm.determinant().abs()),
                        Ok(b"Form") if depth < 3 => {
                            let own = s
                                .dict
                                .get(b"Resources")
                                .ok()
                                .and_then(|r| tags::dict(doc, r));
                            let inner: Vec<&Dictionary> =
                                own.into_iter().chain(resources.iter().copied()).collect();
                            if let Ok(c) = s.get_plain_content() {
                                best = best.max(largest(doc, &c, &inner, ctm, depth + 1));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        best
    }
    let Ok((own, inherited)) = doc.get_page_resources(page) else {
        return false;
    };
    let resources: Vec<&Dictionary> = own
        .into_iter()
        .chain(
            inherited
                .iter()
                .filter_map(|id| doc.get_dictionary(*id).ok()),
        )
        .collect();
    area > 0.0
        && doc
            .get_page_content(page)
            .is_ok_and(|c| largest(doc, &c, &resources, Transform::identity(), 0) * 2.0 >= area)
}
