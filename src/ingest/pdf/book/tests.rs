use super::navigation::is_page_list;
use super::*;

#[test]
fn paragraph_numbers() {
    for n in ["31", "7.1", "32/2", "7.1/3", " 12 "] {
        assert!(is_paragraph_number(n), "{n}");
    }
    for n in [
        "1.",
        "3.1 Scope",
        "a/2",
        "/2",
        "2/",
        "12/2/3",
        "",
        "1..2",
        "2024-01",
    ] {
        assert!(!is_paragraph_number(n), "{n}");
    }
}

#[test]
fn page_lists() {
    for s in ["5, 11, 12", "41, 43, 44, 52,", "12–14", " 7 "] {
        assert!(is_page_list(s), "{s}");
    }
    for s in ["", ", 5", "5 apples", "3.1", "-"] {
        assert!(!is_page_list(s), "{s}");
    }
}

#[test]
fn keys() {
    assert_eq!(key("3.1.1 Stage 1: the UEFI"), "311stage1theuefi");
    assert_eq!(furniture_key("Debian Reference xii"), "debianreference");
    assert_eq!(
        furniture_key("Chapter 3. The system initialization 45"),
        "chapterthesysteminitialization"
    );
    assert_eq!(furniture_key("12"), "");
}

#[test]
fn list_items() {
    for s in [
        "• item",
        "•item",
        "1. first",
        "12) twelfth",
        "– dash",
        "- minus",
        "* star",
    ] {
        assert!(opens_item(s), "{s}");
    }
    // An option or a pattern wrapped onto a line of its own.
    for s in [
        "1.2 Section",
        "2024. A year",
        "Plain text",
        "--enable-R-shlib to build",
        "-j n option",
        "*.txt files",
        "-",
    ] {
        assert!(!opens_item(s), "{s}");
    }
}
