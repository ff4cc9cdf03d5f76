//! Integration tests for `xref::ingest`.

use std::path::{Path, PathBuf};
use xref::ingest::{
    decode, ingest_bytes, ingest_paths, Document, IngestError, IngestOptions, Paragraph,
};

const SEED: &str = "seeds/000_d3df9fe06eabeaf7.txt";

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SEED)
}

fn seed_docs() -> Vec<Document> {
    let bytes = std::fs::read(seed_path()).expect("seed file");
    ingest_bytes(&bytes, SEED, &IngestOptions::default()).expect("seed ingests")
}

fn txt(text: &str) -> Vec<Document> {
    ingest_bytes(text.as_bytes(), "t.txt", &IngestOptions::default()).unwrap()
}

fn texts(docs: &[Document]) -> Vec<String> {
    docs.iter()
        .flat_map(|d| d.paragraphs.iter().map(|p| p.text.clone()))
        .collect()
}

/// The paragraph of `doc` starting with `prefix` (exactly one must).
fn para<'a>(doc: &'a Document, prefix: &str) -> &'a Paragraph {
    let found: Vec<_> = doc
        .paragraphs
        .iter()
        .filter(|p| p.text.starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "paragraphs starting with {prefix:?} in {}",
        doc.title
    );
    found[0]
}

use xref::text::is_cjk;

// ---------------------------------------------------------------- seed corpus

#[test]
fn seed_documents_and_titles() {
    let docs = seed_docs();
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "习近平在中共中央政治局第十一次集体学习时强调加快发展新质生产力 扎实推进高质量发展",
            "习近平在二十届中央纪委三次全会上发表重要讲话强调 深入推进党的自我革命 坚决打赢反腐败斗争攻坚战持久战 李强赵乐际王沪宁蔡奇丁薛祥出席会议 李希主持会议",
            "在二〇二四年春节团拜会上的讲话",
            "习近平在省部级主要领导干部推动金融高质量发展专题研讨班开班式上发表重要讲话强调 坚定不移走中国特色金融发展之路 推动我国金融高质量发展 赵乐际王沪宁丁薛祥李希韩正出席 蔡奇主持",
            "完整、准确、全面贯彻落实关于做好新时代党的统一战线工作的重要思想",
            "铸牢中华民族共同体意识 推进新时代党的民族工作高质量发展",
            "坚持和完善人民代表大会制度 保障人民当家作主",
            "中共中央政治局召开会议 审议《中央政治局常委会听取和研究全国人大常委会、国务院、全国政协、最高人民法院、最高人民检察院党组工作汇报和中央书记处工作报告的综合情况报告》《关于在全党深入开展学习贯彻习近平新时代中国特色社会主义思想主题教育总结报告》《关于巩固拓展学习贯彻习近平新时代中国特色社会主义思想主题教育成果的意见》《中国共产党巡视工作条例》 中共中央总书记习近平主持会议",
            "习近平主持召开中央全面深化改革委员会第四次会议强调 增强土地要素对优势地区高质量发展保障能力进一步提升基层应急管理能力 李强王沪宁蔡奇出席",
            "中共中央印发《党史学习教育工作条例》",
            "党史学习教育工作条例",
            "2024年全国教育工作会议召开",
            "教育部办公厅关于进一步压实高校师德师风建设主体责任的通知",
            "政府工作报告",
            "全省优化营商环境打赢攻坚之战动员大会召开 新春伊始战鼓催征 乘势而上攻坚必胜 奋力推动辽宁全面振兴再创佳绩再谱新篇 郝鹏李乐成出席并讲话",
        ]
    );
    // Ids, line ranges and source.
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(d.id, format!("000_d3df9fe06eabeaf7-{i:02}"));
        assert_eq!(d.source, SEED);
        assert!(!d.paragraphs.is_empty(), "{}", d.title);
        if i > 0 {
            assert_eq!(
                docs[i - 1].line_end + 1,
                d.line_start,
                "documents tile the file"
            );
        }
    }
    let starts: Vec<usize> = docs.iter().map(|d| d.line_start).collect();
    assert_eq!(
        starts,
        vec![1, 144, 404, 523, 685, 886, 1148, 1777, 1922, 2096, 2143, 2527, 2742, 2885, 4250]
    );
    assert_eq!(docs.last().unwrap().line_end, 4495);
}

#[test]
fn seed_metadata_is_not_indexed() {
    let docs = seed_docs();
    assert_eq!(docs[2].meta, vec!["（2024年2月8日，上午）", "习近平"]);
    assert_eq!(docs[4].meta, vec!["习近平"]);
    assert_eq!(
        docs[10].meta,
        vec!["（2024年1月18日中共中央政治局常委会会议审议批准2024年2月5日中共中央发布）"]
    );
    assert_eq!(
        docs[13].meta,
        vec![
            "——2024年1月23日在辽宁省第十四届人民代表大会第二次会议上",
            "省长李乐成"
        ]
    );
    for p in docs.iter().flat_map(|d| &d.paragraphs) {
        for frag in [
            "习近平",
            "同志们、朋友们！",
            "谢谢大家！",
            "各位代表：",
            "十二",
            "第一章 总则",
        ] {
            assert_ne!(p.text, frag, "fragment indexed on its own");
        }
    }
}

#[test]
fn seed_paragraphs_are_clean() {
    let docs = seed_docs();
    let opts = IngestOptions::default();
    let mut ids = std::collections::HashSet::new();
    for d in &docs {
        for (i, p) in d.paragraphs.iter().enumerate() {
            assert_eq!(p.ordinal, i);
            assert_eq!(p.doc_id, d.id);
            assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
            assert!(p.id.is_ascii() && p.id.starts_with(&format!("{}.{i}-", d.id)));
            let t = &p.text;
            assert!(!t.contains(['\n', '\r', '\x0c']), "{t}");
            assert!(t.chars().count() <= opts.max_chars);
            assert!(t.chars().count() >= opts.min_chars, "fragment: {t}");
            assert!(
                p.line_start >= d.line_start
                    && p.line_end <= d.line_end
                    && p.line_start <= p.line_end
            );
            // No CJK-space-CJK or CJK-space-digit artefacts.
            let cs: Vec<char> = t.chars().collect();
            for w in cs.windows(3) {
                if w[1] == ' ' {
                    let artefact = (is_cjk(w[0]) && (is_cjk(w[2]) || w[2].is_ascii_digit()))
                        || (w[0].is_ascii_digit() && is_cjk(w[2]));
                    assert!(!artefact, "artefact space in {t}");
                }
            }
            // Every passage ends a sentence: nothing is cut mid-sentence at a
            // page break.
            assert!(
                t.ends_with(['。', '！', '？', '!', '；', '：', '）', '”']),
                "ends mid-sentence: {t}"
            );
            // Page numbers never leak into text.
            for n in ["34", "39", "69", "89"] {
                for (a, b) in [("史", "上"), ("产", "生"), ("丹东", "市"), ("共", "生")] {
                    assert!(!t.contains(&format!("{a}{n}{b}")), "page number in {t}");
                }
            }
        }
    }
}

#[test]
fn seed_paragraph_boundaries() {
    let docs = seed_docs();
    // Crosses a page break (lines 47/48) in the middle of a sentence.
    let p = para(&docs[0], "习近平在主持学习时发表了重要讲话。");
    assert!(p
        .text
        .ends_with("同时，制约高质量发展因素还大量存在，要高度重视，切实解决。"));
    assert_eq!((p.line_start, p.line_end), (35, 48));
    // Page break in the middle of a word ("问题/产生").
    let p = para(
        &docs[1],
        "习近平强调，新征程反腐败斗争，必须在铲除腐败问题产生的土壤和条件上持续发力",
    );
    assert!(p.text.ends_with("推动防范和治理腐败问题常态化、长效化。"));
    assert_eq!((p.line_start, p.line_end), (237, 246));
    // Crosses the page number "34"; the source note is attached.
    let p = para(&docs[6], "实践证明，人民代表大会制度是符合我国国情和实际、");
    assert!(p
        .text
        .contains("是在我国政治发展史乃至世界政治发展史上具有重大意义的全新政治制度。"));
    assert!(p
        .text
        .ends_with("全新政治制度。（2021年10月13日在中央人大工作会议上的讲话）"));
    assert_eq!((p.line_start, p.line_end), (1423, 1440));
    assert_eq!(p.section.as_deref(), Some("十一"));
    // Crosses the page number "39".
    let p = para(&docs[6], "加强人民当家作主制度保障。");
    assert!(p
        .text
        .contains("保证各级人大都由民主选举产生、对人民负责、受人民监督。"));
    assert!(p.text.ends_with(
        "推动人权事业全面发展。（2022年10月16日在中国共产党第二十次全国代表大会上的报告）"
    ));
    // Crosses the page number "69" inside a report section.
    let p = para(
        &docs[13],
        "（三）强链壮群筑根基，产业结构优化升级。聚力打造现代化产业体系",
    );
    assert!(p
        .text
        .contains("大连市、丹东市、沈北新区、普兰店区获评国家消费品工业“三品”战略示范城市。"));
    assert!(p.text.ends_with("数字辽宁、智造强省建设迈出可喜步伐！"));
    assert_eq!((p.line_start, p.line_end), (3015, 3054));
    // A page number between two paragraphs ("89") keeps them apart.
    let p = para(&docs[13], "（七）坚持绿色低碳，在建设美丽辽宁上攻坚突破。");
    assert!(p.text.ends_with("促进人与自然和谐共生。"));
    let next = &docs[13].paragraphs[p.ordinal + 1];
    assert!(next
        .text
        .starts_with("深入打好污染防治攻坚战。持续推进中央生态环保督察反馈意见整改。"));
    assert_eq!(next.line_start, 3982);
    // Salutation attached forward, closing phrase attached backward.
    let p = para(&docs[2], "同志们、朋友们：");
    assert_eq!(
        p.text,
        "同志们、朋友们：龙年春节即将到来。今天，我们在这里欢聚一堂，辞旧迎新。"
    );
    assert_eq!((p.line_start, p.line_end), (412, 416));
    let last = docs[2].paragraphs.last().unwrap();
    assert_eq!(
        last.text,
        "最后，祝大家身体健康、工作顺利、阖家幸福、龙年吉祥！谢谢大家！"
    );
    assert!(para(&docs[2], "同志们、朋友们！2024年是新中国成立75周年，")
        .text
        .ends_with("一往无前。"));
    // An article with its short list items forms one passage.
    let p = para(&docs[10], "第五条");
    assert_eq!(
        p.text,
        "第五条党史学习教育工作遵循以下原则：（一）坚持党的全面领导；（二）坚持围绕中心、服务大局；（三）坚持以史鉴今、资政育人；（四）坚持统筹谋划、开拓创新；（五）坚持分类指导、精准施策；（六）坚持唯物史观和正确党史观。"
    );
    assert_eq!((p.line_start, p.line_end), (2221, 2233));
    // Page break before a paragraph that itself starts with 。-ended sentence.
    let p = para(&docs[4], "第三，必须正确处理一致性和多样性关系。");
    assert!(p
        .text
        .ends_with("在尊重多样性中寻求一致性，找到最大公约数、画出最大同心圆。"));
    // A short closing sentence is appended to the previous paragraph.
    assert!(docs[9]
        .paragraphs
        .last()
        .unwrap()
        .text
        .ends_with("要及时报告党中央。《条例》全文如下。"));
    assert!(docs[7]
        .paragraphs
        .last()
        .unwrap()
        .text
        .ends_with("不断提高巡视工作规范化水平。会议还研究了其他事项。"));
}

#[test]
fn seed_sections() {
    let docs = seed_docs();
    // (document, start of a paragraph, its section path)
    let cases = [
        (
            10,
            "第一条为了推动党史学习教育常态化长效化",
            "第一章 总则 › 第一条",
        ),
        (10, "第四条", "第一章 总则 › 第四条"),
        (
            10,
            "（一）学史明理。",
            "第一章 总则 › 第四条 › （一）学史明理",
        ),
        (10, "第七条", "第二章 领导体制和工作职责 › 第七条"),
        // A second paragraph of an article stays in it.
        (
            10,
            "中央宣传部、中央组织部、中央党史和文献研究院",
            "第二章 领导体制和工作职责 › 第七条",
        ),
        (10, "第三十四条", "第六章 附则 › 第三十四条"),
        (
            13,
            "2023年，是全面贯彻党的二十大精神的开局之年",
            "一、2023年工作回顾",
        ),
        (
            13,
            "（一）全力以赴稳增长",
            "一、2023年工作回顾 › （一）全力以赴稳增长，发展质效明显提升",
        ),
        (
            13,
            "推动有效投资持续增长。",
            "二、2024年工作安排 › （一）壮大经济实力，在保持经济赶超势头上攻坚突破",
        ),
        (
            13,
            "一要建设更强担当的有为政府。",
            "三、全面加强政府自身建设",
        ),
        (
            12,
            "要把师德师风建设摆在教师队伍建设的首位",
            "一、明确工作职责",
        ),
        (
            12,
            "高校党委要成立教师工作委员会",
            "一、明确工作职责 › （二）加强党委教师工作委员会和党委教师工作部作用",
        ),
        (
            12,
            "主管教育行政部门对高校师德师风建设工作",
            "二、落实问责措施",
        ),
        (6, "我们要坚持国家一切权力属于人民的宪法理念", "一"),
        (6, "“第二个结合”让我们掌握了思想和文化主动", "二十"),
    ];
    for (doc, prefix, section) in cases {
        assert_eq!(
            para(&docs[doc], prefix).section.as_deref(),
            Some(section),
            "{prefix}"
        );
    }
    let articles = docs[10]
        .paragraphs
        .iter()
        .filter(|p| p.text.starts_with('第') && p.text.contains('条'))
        .count();
    assert_eq!(articles, 34, "all 34 articles are passages");
    // Speeches without headings have no section.
    assert!(docs[0].paragraphs.iter().all(|p| p.section.is_none()));
}

#[test]
fn seed_ingest_is_stable() {
    // Its speed is measured by `cargo bench --bench ingest`, not here.
    let bytes = std::fs::read(seed_path()).unwrap();
    let a = ingest_bytes(&bytes, SEED, &IngestOptions::default()).unwrap();
    let b = ingest_bytes(&bytes, SEED, &IngestOptions::default()).unwrap();
    assert_eq!(a, b, "re-ingest is identical");

    // Edit one paragraph: only its id changes.
    let text = String::from_utf8(bytes).unwrap();
    let edited = text.replacen("打好关键核心技术攻坚战", "打好关键核心技术攻关战", 1);
    assert_ne!(edited, text);
    let c = ingest_bytes(edited.as_bytes(), SEED, &IngestOptions::default()).unwrap();
    let ids = |docs: &[Document]| {
        docs.iter()
            .flat_map(|d| d.paragraphs.iter().map(|p| p.id.clone()))
            .collect::<Vec<_>>()
    };
    let (ia, ic) = (ids(&a), ids(&c));
    assert_eq!(ia.len(), ic.len());
    let changed: Vec<_> = ia.iter().zip(&ic).filter(|(x, y)| x != y).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.starts_with("000_d3df9fe06eabeaf7-00.4-"));
}

// ---------------------------------------------------------------- encodings

const ZH: &str =
    "第一段内容，这是一个用于测试编码检测的段落。\n\n第二段内容，同样用于测试编码检测的功能。\n";

fn utf16(s: &str, le: bool) -> Vec<u8> {
    let mut out = if le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in s.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

#[test]
fn encodings_are_detected() {
    let expected = vec![
        "第一段内容，这是一个用于测试编码检测的段落。",
        "第二段内容，同样用于测试编码检测的功能。",
    ];
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(ZH.as_bytes());
    let (gb, _, had_errors) = encoding_rs::GB18030.encode(ZH);
    assert!(!had_errors);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (ZH.as_bytes().to_vec(), "UTF-8"),
        (bom, "UTF-8 (BOM)"),
        (utf16(ZH, true), "UTF-16LE"),
        (utf16(ZH, false), "UTF-16BE"),
        (gb.into_owned(), "GB18030"),
    ];
    for (bytes, name) in cases {
        let (text, enc) = decode(&bytes).unwrap();
        assert_eq!(enc, name);
        assert_eq!(text, ZH);
        let docs = ingest_bytes(&bytes, "enc.txt", &IngestOptions::default()).unwrap();
        assert_eq!(texts(&docs), expected, "{name}");
    }
    // GBK-only characters too.
    let (gbk, _, _) = encoding_rs::GBK.encode("国务院关于印发《政府工作报告》的通知。");
    assert_eq!(decode(&gbk).unwrap().1, "GB18030");
}

#[test]
fn empty_binary_and_undecodable_files_are_errors_naming_the_file() {
    for bytes in [&b""[..], b"   \n\n", b"\xEF\xBB\xBF"] {
        let e = ingest_bytes(bytes, "dir/empty.txt", &IngestOptions::default()).unwrap_err();
        assert!(matches!(e, IngestError::Empty { .. }), "{e:?}");
        assert!(e.to_string().contains("dir/empty.txt"));
    }
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    let e = ingest_bytes(png, "img.txt", &IngestOptions::default()).unwrap_err();
    assert!(matches!(e, IngestError::Binary { .. }), "{e:?}");
    assert!(e.to_string().contains("img.txt") && e.to_string().contains("binary"));
    let controls: Vec<u8> = (0..200u8)
        .map(|i| if i % 3 == 0 { 0x01 } else { b'a' })
        .collect();
    assert!(matches!(decode(&controls), Err(IngestError::Binary { .. })));
    let latin1 = b"Caf\xe9 cr\xe8me br\xfbl\xe9e";
    let e = ingest_bytes(latin1, "menu.txt", &IngestOptions::default()).unwrap_err();
    assert!(matches!(e, IngestError::Undecodable { .. }), "{e:?}");
    assert!(e.to_string().contains("menu.txt"));
}

// ---------------------------------------------------------------- big input

#[test]
fn five_megabyte_single_line() {
    let sentence = "这是一个很长的句子，用于测试超长单行文件的处理能力和速度。";
    let n = 5 * 1024 * 1024 / sentence.len() + 1;
    let text = sentence.repeat(n);
    assert!(text.len() >= 5 * 1024 * 1024);
    let opts = IngestOptions::default();
    // Time: `cargo bench --bench ingest` (a quadratic cut would not finish here either).
    let docs = ingest_bytes(text.as_bytes(), "big.txt", &opts).unwrap();
    assert_eq!(docs.len(), 1);
    let paras = &docs[0].paragraphs;
    assert!(paras.len() > 5 * 1024 * 1024 / 3 / 700);
    let mut joined = String::with_capacity(text.len());
    for p in paras {
        assert!(p.text.chars().count() <= opts.max_chars);
        assert!(p.text.ends_with('。'), "cut at a sentence boundary");
        assert_eq!((p.line_start, p.line_end), (1, 1));
        joined.push_str(&p.text);
    }
    assert_eq!(joined, text, "nothing lost");

    // Without any punctuation: hard cuts, still linear.
    let text = "甲".repeat(2 * 1024 * 1024);
    let docs = ingest_bytes(text.as_bytes(), "big2.txt", &opts).unwrap();
    assert!(docs[0]
        .paragraphs
        .iter()
        .all(|p| p.text.chars().count() <= opts.max_chars));
    assert_eq!(
        docs[0]
            .paragraphs
            .iter()
            .map(|p| p.text.chars().count())
            .sum::<usize>(),
        2 * 1024 * 1024
    );
}

#[test]
fn long_sentences_split_at_clauses() {
    let opts = IngestOptions {
        max_chars: 40,
        ..IngestOptions::default()
    };
    let text = "我们要坚持稳中求进工作总基调，完整准确全面贯彻新发展理念，统筹高质量发展和高水平安全，突出重点把握关键，切实增强经济活力防范化解风险改善社会预期。";
    let docs = ingest_bytes(text.as_bytes(), "x.txt", &opts).unwrap();
    let ps = &docs[0].paragraphs;
    assert!(ps.len() >= 3);
    for p in &ps[..ps.len() - 1] {
        assert!(p.text.chars().count() <= 40);
        assert!(p.text.ends_with('，'), "{}", p.text);
    }
    assert_eq!(ps.iter().map(|p| p.text.as_str()).collect::<String>(), text);
}

// ---------------------------------------------------------------- text shapes

#[test]
fn mixed_chinese_english_spacing() {
    let text = "新质生产力（new quality productive forces）是 2024 年 1 月 31 日提出的概念，GDP 增长 5.2% 。\n\nThe economy grew by 5.2 percent in 2023, according to official data.\n";
    let docs = txt(text);
    let t = texts(&docs);
    assert_eq!(
        t,
        vec![
            "新质生产力（new quality productive forces）是2024年1月31日提出的概念，GDP 增长5.2%。",
            "The economy grew by 5.2 percent in 2023, according to official data.",
        ]
    );
}

#[test]
fn windows_and_mac_line_endings() {
    let crlf = "Reflow must handle Windows line endings in a hard\r\nwrapped paragraph that continues over several\r\nlines before it ends.\r\n\r\nA second paragraph follows after a blank line.\r\n";
    let docs = txt(crlf);
    assert_eq!(
        texts(&docs),
        vec![
            "Reflow must handle Windows line endings in a hard wrapped paragraph that continues over several lines before it ends.",
            "A second paragraph follows after a blank line.",
        ]
    );
    let p = &docs[0].paragraphs;
    assert_eq!((p[0].line_start, p[0].line_end, p[1].line_start), (1, 3, 5));
    let cr = crlf.replace("\r\n", "\r");
    assert_eq!(texts(&txt(&cr)), texts(&docs));
}

#[test]
fn hyphenated_latin_reflow() {
    let text = "The inter-\nnational community agreed on a common frame-\nwork for co-operation between the member\nstates of the union.\n\nA second paragraph about Self-\nReliance follows here.\n";
    assert_eq!(
        texts(&txt(text)),
        vec![
            "The international community agreed on a common framework for co-operation between the member states of the union.",
            "A second paragraph about Self-Reliance follows here.",
        ]
    );
}

#[test]
fn page_numbers_and_running_headers_are_removed() {
    let mut text = String::new();
    let topics = ["经济", "科技", "教育", "文化", "生态", "民生"];
    for (page, topic) in topics.iter().enumerate() {
        text.push_str(&format!(
            "辽宁省人民政府 2024 年度工作报告 第 {} 页\n",
            page + 1
        ));
        text.push_str(&format!(
            "关于{topic}工作的这一段文字在本页末尾没有结束，而是一直延续到下一页\n"
        ));
        text.push_str(&format!(
            "{topic}工作的开头并在那里结束。\n\n- {} -\n\x0c",
            page + 1
        ));
    }
    let docs = txt(&text);
    let t = texts(&docs);
    assert_eq!(t.len(), 6, "{t:?}");
    for (p, topic) in t.iter().zip(topics) {
        assert_eq!(*p, format!("关于{topic}工作的这一段文字在本页末尾没有结束，而是一直延续到下一页{topic}工作的开头并在那里结束。"));
    }
    // A sentence running over a page with a page number in between is joined.
    let text =
        "第一段的文字比较长，在这一页的最后一行还没有说完，\n\n12\n\n下一页继续说完这句话。\n";
    assert_eq!(
        texts(&txt(text)),
        vec!["第一段的文字比较长，在这一页的最后一行还没有说完，下一页继续说完这句话。"]
    );
    let text = "Page one text that runs\n\x0cover the page break.\n\n第 3 页\n";
    assert_eq!(
        texts(&txt(text)),
        vec!["Page one text that runs over the page break."]
    );
}

#[test]
fn indentation_starts_paragraphs_in_wrapped_text() {
    let text = "    第一段首行缩进，这里是一段被硬换行的中文文字，每一行的宽度\n大致相同，直到段落结束为止，下一行继续这一段的内容而不会\n被拆开。\n    第二段同样首行缩进，中间没有空行分隔，但缩进说明了新段落的\n开始，所以应当被识别为新的一段文字而不是接在上一段后面。\n";
    let t = texts(&txt(text));
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].ends_with("被拆开。") && t[1].starts_with("第二段同样首行缩进"));
}

// ---------------------------------------------------------------- documents

#[test]
fn explicit_split_marker() {
    let text = "甲文件标题\n\n这是第一份文件的正文内容，足够长以便建立索引。\n===DOC===\n乙文件标题\n\n这是第二份文件的正文内容，同样足够长以便建立索引。\n===DOC===\n没有标题的正文，这一份文件直接从正文开始，长度足够。\n";
    let opts = IngestOptions {
        split_marker: Some("===DOC===".into()),
        ..IngestOptions::default()
    };
    let docs = ingest_bytes(text.as_bytes(), "multi.txt", &opts).unwrap();
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, vec!["甲文件标题", "乙文件标题", "multi (3)"]);
    assert_eq!(
        docs.iter().map(|d| d.paragraphs.len()).collect::<Vec<_>>(),
        vec![1, 1, 1]
    );
    assert_eq!((docs[1].line_start, docs[1].line_end), (5, 7));
    assert!(texts(&docs).iter().all(|t| !t.contains("===")));

    // Form feeds split documents when the marker is "\x0c".
    let text = "第一份\n\n第一份文件的正文内容，足够长以便建立索引。\n\x0c第二份\n\n第二份文件的正文内容，足够长以便建立索引。\n";
    let opts = IngestOptions {
        split_marker: Some("\x0c".into()),
        ..IngestOptions::default()
    };
    let docs = ingest_bytes(text.as_bytes(), "ff.txt", &opts).unwrap();
    assert_eq!(
        docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(),
        vec!["第一份", "第二份"]
    );
    // Without the option a form feed is only a page break.
    let docs = ingest_bytes(text.as_bytes(), "ff.txt", &IngestOptions::default()).unwrap();
    assert_eq!(
        docs.len(),
        2,
        "title after a page break still starts a document"
    );
}

#[test]
fn markdown_input() {
    let md = "---\nauthor: x\n---\n# 年度报告\n\n这是导言段落，介绍本报告的主要内容和结构。\n\n## 一、工作回顾\n\n过去一年，我们完成了**很多**重要工作，详见[附件](http://x/a.pdf)。\n文字在下一行继续。\n\n- 第一项工作\n- 第二项工作\n\n## 二、工作安排\n\n今年的主要任务是推动高质量发展，`代码`不影响正文。\n";
    let docs = ingest_bytes(md.as_bytes(), "report.md", &IngestOptions::default()).unwrap();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title, "年度报告");
    let got: Vec<(Option<&str>, &str)> = d
        .paragraphs
        .iter()
        .map(|p| (p.section.as_deref(), p.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, "这是导言段落，介绍本报告的主要内容和结构。"),
            (Some("一、工作回顾"), "过去一年，我们完成了很多重要工作，详见附件。文字在下一行继续。第一项工作第二项工作"),
            (Some("二、工作安排"), "今年的主要任务是推动高质量发展，代码不影响正文。"),
        ]
    );
    assert_eq!(
        (d.paragraphs[1].line_start, d.paragraphs[1].line_end),
        (10, 14)
    );
}

/// A short paragraph alone in its section (a manual page's NAME line, 12 characters in
/// Chinese) is a passage of that section, not the start of the next section's first
/// paragraph; a lead-in ("各位代表：") still opens the paragraph after a heading.
#[test]
fn a_short_paragraph_stays_in_its_section() {
    let docs = ingest_file(Path::new("tests/parallel/zh/mkdir.1.md")).unwrap();
    let got: Vec<(Option<&str>, &str)> = docs[0]
        .paragraphs
        .iter()
        .take(2)
        .map(|p| (p.section.as_deref(), p.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("名称"), "mkdir - 创建目录"),
            (Some("概述"), "mkdir [选项]... 目录列表..."),
        ]
    );
    let md = "# 报告\n\n各位代表：\n\n## 一、工作回顾\n\n过去一年，我们完成了很多重要工作。\n";
    let docs = ingest_bytes(md.as_bytes(), "r.md", &IngestOptions::default()).unwrap();
    let p = &docs[0].paragraphs;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].text, "各位代表：过去一年，我们完成了很多重要工作。");
}

/// A declared title (front matter, `<title>`) wins over level-1 headings; a single h1
/// repeating it is dropped, a different one stays as a section heading.
#[test]
fn declared_titles_win_over_headings() {
    let body = "这是第一段正文，内容足够长，不会被当作标题处理。";
    let md = format!("---\ntitle: 年度报告\n---\n# 年度报告\n\n{body}\n");
    let d = &ingest_bytes(md.as_bytes(), "a.md", &IngestOptions::default()).unwrap()[0];
    assert_eq!(d.title, "年度报告");
    assert_eq!(d.paragraphs.len(), 1);
    assert_eq!(d.paragraphs[0].section, None);

    let md = format!("---\ntitle: 年度报告\n---\n# 附件一\n\n{body}\n");
    let d = &ingest_bytes(md.as_bytes(), "b.md", &IngestOptions::default()).unwrap()[0];
    assert_eq!(d.title, "年度报告");
    assert_eq!(d.paragraphs[0].section.as_deref(), Some("附件一"));

    let html = format!(
        "<html><head><title>公告</title></head><body><h1>附件一</h1><p>{body}</p></body></html>"
    );
    let d = &ingest_bytes(html.as_bytes(), "c.html", &IngestOptions::default()).unwrap()[0];
    assert_eq!(d.title, "公告");
    assert_eq!(d.paragraphs[0].section.as_deref(), Some("附件一"));
}

#[test]
fn html_input() {
    let html = r#"<!DOCTYPE html><html><head><title>新闻 &amp; 公告</title>
<style>p { color: red }</style><script>var x = "<p>不是正文</p>";</script></head>
<body><nav><a href="/">首页</a></nav>
<h1>新闻 &amp; 公告</h1>
<p>第一段正文，包含实体&ldquo;引号&rdquo;和&#20013;&#x6587;字符。</p>
<h2>背景</h2>
<div>第二段正文在 div 元素里面，内容足够长<br>换行之后是第三段正文内容，同样足够长。</div>
<ul><li>列表项也是独立的段落内容，不与上一段合并。</li></ul>
<!-- 注释不应出现 -->
</body></html>"#;
    let docs = ingest_bytes(html.as_bytes(), "news.html", &IngestOptions::default()).unwrap();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title, "新闻 & 公告");
    let got: Vec<(Option<&str>, &str)> = d
        .paragraphs
        .iter()
        .map(|p| (p.section.as_deref(), p.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, "第一段正文，包含实体“引号”和中文字符。"),
            (Some("背景"), "第二段正文在 div 元素里面，内容足够长"),
            (Some("背景"), "换行之后是第三段正文内容，同样足够长。"),
            (Some("背景"), "列表项也是独立的段落内容，不与上一段合并。"),
        ]
    );
    assert_eq!(d.paragraphs[0].line_start, 5);
    // Title from the first h1 when there is no <title>.
    let docs = ingest_bytes(
        "<h1>Only Heading</h1><p>Body text long enough to index.</p>".as_bytes(),
        "a.htm",
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(docs[0].title, "Only Heading");
    assert_eq!(docs[0].paragraphs[0].section, None);
}

/// What html5ever's tokenizer brings: every character reference of the HTML standard,
/// raw text that looks like markup, markup a browser forgives; and page furniture of
/// documentation generators skipped with everything inside it.
#[test]
fn html_references_raw_text_and_page_furniture() {
    let html = r#"<!doctype html><html><head><title>Guide &mdash; &frac12; &NotEqualTilde;</title>
<script>if (a < b && c) { document.write("<p>not text</p>"); }</script></head><body>
<div class="related" role="navigation"><ul><li><a href="i.html">index</a></li><li>next |</li></ul></div>
<div class="sphinxsidebar"><div><h3>Table of Contents</h3><ul><li>Heading in the sidebar</li></ul></div>
<div><p>Previous topic: nested divs inside the sidebar</p></div></div>
<div class="navheader"><table><tr><td>Prev</td><td>Up</td><td>Next</td></tr></table></div>
<div class="body" role="main">
<h1>Guide</h1>
<p>Hearts &hearts;, fractions &frac34;, a &NotEqualTilde; relation, a bare &amp ampersand and 5 &lt; 6 &gt; 4.</p>
<p>Unclosed paragraph with <b>bold <i>nested</b> markup that a browser forgives
<p>And a second one after it, with text that mentions &lt;p&gt; tags literally.
<div role="search"><form><input name="q"> Search this site</form></div>
</div>
<footer>Copyright 2024, licensed under the PSF License.</footer>
<div class="footer" role="contentinfo">&copy; Copyright again.</div>
<div class="navfooter">Prev Home Next</div>
</body></html>"#;
    let docs = ingest_bytes(html.as_bytes(), "guide.html", &IngestOptions::default()).unwrap();
    let d = &docs[0];
    assert_eq!(d.title, "Guide — ½ ≂̸");
    let texts: Vec<&str> = d.paragraphs.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "Hearts ♥, fractions ¾, a ≂̸ relation, a bare & ampersand and 5 < 6 > 4.",
            "Unclosed paragraph with bold nested markup that a browser forgives",
            "And a second one after it, with text that mentions <p> tags literally.",
        ]
    );
    assert_eq!(d.paragraphs[0].line_start, 9);
}

#[test]
fn directories_warnings_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("b.txt"), "乙文件的正文内容，足够长以便建立索引。").unwrap();
    std::fs::write(
        root.join("a.md"),
        "# A\n\nMarkdown body text that is long enough.\n",
    )
    .unwrap();
    std::fs::write(root.join("c.epub"), b"PK epub binary").unwrap();
    std::fs::write(
        root.join("sub/d.html"),
        "<p>HTML body text that is long enough.</p>",
    )
    .unwrap();
    std::fs::write(root.join("sub/deeper/e.txt"), b"\x00\x01\x02binary").unwrap();
    std::fs::write(root.join("sub/empty.txt"), b"").unwrap();
    std::fs::write(root.join(".git/config.txt"), "hidden directory content").unwrap();
    std::fs::write(
        root.join("sub/b.txt"),
        "同名文件的正文内容，足够长以便建立索引。",
    )
    .unwrap();

    let corpus = ingest_paths(&[root.to_path_buf()], &IngestOptions::default()).unwrap();
    let sources: Vec<String> = corpus
        .documents
        .iter()
        .map(|d| {
            Path::new(&d.source)
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(sources, vec!["a.md", "b.txt", "sub/b.txt", "sub/d.html"]);
    let ids: Vec<&str> = corpus.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids[0], "a-00");
    assert_eq!(ids[1], "b-00");
    assert!(
        ids[2].starts_with("b_") && ids[2].ends_with("-00") && ids[2] != ids[1],
        "{ids:?}"
    );
    let warned: Vec<(String, String)> = corpus
        .warnings
        .iter()
        .map(|w| {
            (
                Path::new(&w.path)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string(),
                w.message.clone(),
            )
        })
        .collect();
    assert_eq!(warned.len(), 3, "{warned:?}");
    assert_eq!(warned[0].0, "c.epub");
    assert!(warned[0].1.contains("unsupported file type"));
    assert_eq!(warned[1].0, "sub/deeper/e.txt");
    assert!(warned[1].1.contains("binary"));
    assert_eq!(warned[2].0, "sub/empty.txt");
    assert!(warned[2].1.contains("empty"));
    for w in &corpus.warnings {
        assert!(
            w.message.contains(&w.path),
            "message names the file: {}",
            w.message
        );
    }

    // Deterministic, and a single file path works too.
    assert_eq!(
        ingest_paths(&[root.to_path_buf()], &IngestOptions::default()).unwrap(),
        corpus
    );
    let one = ingest_paths(&[root.join("b.txt")], &IngestOptions::default()).unwrap();
    assert_eq!(one.documents.len(), 1);

    // A missing path is an error naming it.
    let missing = root.join("nope");
    let e = ingest_paths(std::slice::from_ref(&missing), &IngestOptions::default()).unwrap_err();
    assert!(matches!(e, IngestError::NotFound { .. }));
    assert!(e.to_string().contains("nope"));
}

#[test]
fn json_round_trip() {
    let docs = seed_docs();
    let json = serde_json::to_string(&docs[2]).unwrap();
    let back: Document = serde_json::from_str(&json).unwrap();
    assert_eq!(back, docs[2]);
    assert!(json.contains("\"line_start\""));
}

// ---------------------------------------------------------------- PDF, Word, rst

mod common;

fn scratch(name: &str) -> PathBuf {
    common::scratch("ingest", name)
}

fn ingest_file(path: &Path) -> Result<Vec<Document>, IngestError> {
    let bytes = std::fs::read(path).unwrap();
    ingest_bytes(&bytes, path.to_str().unwrap(), &IngestOptions::default())
}

/// Edit distance in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[test]
fn the_seed_printed_to_pdf_ingests_into_the_seed_documents() {
    let pdf = common::seed_pdf(&scratch("seed-pdf"));
    let from_pdf = ingest_file(&pdf).expect("the printed seed ingests");
    let from_text = seed_docs();
    assert_eq!(from_pdf.len(), from_text.len(), "documents");
    let (mut same, mut total) = (0, 0);
    let mut last_page = 0;
    for (p, t) in from_pdf.iter().zip(&from_text) {
        assert!(
            distance(&p.title, &t.title) <= 2,
            "title {:?} vs {:?}",
            p.title,
            t.title
        );
        assert_eq!(p.paragraphs.len(), t.paragraphs.len(), "{}", t.title);
        for (a, b) in p.paragraphs.iter().zip(&t.paragraphs) {
            total += 1;
            same += usize::from(a.text == b.text);
            // Every PDF paragraph knows its page; pages never go backwards.
            let page = a.page.expect("a page number") as usize;
            assert!(
                page >= last_page,
                "{} on page {page} after {last_page}",
                a.id
            );
            last_page = page;
            assert!(b.page.is_none());
        }
    }
    // A glyph the font maps to another code point (户 as 戶) may differ, nothing else.
    assert!(
        same * 100 >= total * 95,
        "{same} of {total} paragraphs identical"
    );
    assert!(last_page >= 90, "the seed's pages: {last_page}");
}

#[test]
fn bad_pdfs_are_skipped_with_a_reason() {
    let dir = scratch("bad-pdf");
    let pdf = common::seed_pdf(&dir);
    let bytes = std::fs::read(&pdf).unwrap();
    let expect = |name: &str, data: &[u8], words: &[&str]| {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        let err = ingest_file(&path).expect_err(name).to_string();
        assert!(err.starts_with(path.to_str().unwrap()), "{err}");
        for w in words {
            assert!(err.contains(w), "{name}: {err}");
        }
    };
    expect(
        "truncated.pdf",
        &bytes[..bytes.len() / 3],
        &["not a readable PDF"],
    );
    expect(
        "text.pdf",
        "这不是 PDF。".as_bytes(),
        &["not a readable PDF"],
    );
    expect("empty.pdf", b"", &["empty"]);
    // A PDF named .txt is binary, not text.
    expect("seed-pdf.txt", &bytes, &["binary"]);

    // Encrypted by qpdf.
    let locked = dir.join("locked.pdf");
    common::ensure_tools();
    let out = std::process::Command::new("qpdf")
        .args(["--encrypt", "user", "owner", "256", "--"])
        .arg(&pdf)
        .arg(&locked)
        .output()
        .expect("run qpdf (Debian's package, installed by .ci/setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect(
        "locked2.pdf",
        &std::fs::read(&locked).unwrap(),
        &["encrypted"],
    );

    // Image-only: a page of drawings and no text layer, as a scan is.
    let html = dir.join("scan.html");
    std::fs::write(
        &html,
        "<!doctype html><svg width=600 height=800><rect x=20 y=20 width=500 height=30 fill=#333/>\
         <rect x=20 y=70 width=480 height=30 fill=#333/><circle cx=300 cy=400 r=90/></svg>",
    )
    .unwrap();
    let scan = dir.join("scan.pdf");
    common::print_pdf(&html, &scan);
    expect(
        "scan2.pdf",
        &std::fs::read(&scan).unwrap(),
        &["no text layer", "OCR"],
    );

    // In a folder, each bad file is a warning and the good one is read.
    let folder = dir.join("mixed");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(&pdf, folder.join("good.pdf")).unwrap();
    std::fs::write(folder.join("bad.pdf"), &bytes[..1000]).unwrap();
    let corpus = ingest_paths(&[folder], &IngestOptions::default()).unwrap();
    assert_eq!(corpus.documents.len(), 15);
    assert_eq!(corpus.warnings.len(), 1, "{:?}", corpus.warnings);
    assert!(corpus.warnings[0].path.ends_with("bad.pdf"));
}

const DOCX_SCRIPT: &str = r#"
import sys
import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
d = docx.Document()
d.core_properties.title = "Core title"
d.add_paragraph("营商环境建设报告", style="Title")
d.add_heading("第一章 总体要求", level=1)
p = d.add_paragraph("优化营商环境是推动高质量发展的重要举措，各地区要持续深化改革。")
d.add_comment(p.runs, text="批注内容不应出现在索引里。", author="审阅人")
d.add_heading("第一节 工作目标", level=2)
kept = d.add_paragraph("到二〇二五年，市场主体满意度明显提升。")
kept._p.append(parse_xml(
    '<w:del %s w:id="7" w:author="a" w:date="2024-01-01T00:00:00Z">'
    '<w:r><w:delText>这句已被修订删除。</w:delText></w:r></w:del>' % nsdecls("w")))
d.add_heading("Chapter 2 Measures", level=1)
d.add_paragraph("Cut the time needed to register a business to three working days.")
t = d.add_table(rows=2, cols=2)
t.cell(0, 0).text = "指标"
t.cell(0, 1).text = "目标值"
t.cell(1, 0).text = "开办企业时间"
t.cell(1, 1).text = "三个工作日以内"
d.save(sys.argv[1])
"#;

#[test]
fn word_documents_keep_headings_tables_and_drop_comments_and_deletions() {
    let dir = scratch("docx");
    let path = dir.join("report.docx");
    common::python(DOCX_SCRIPT, &[&path]);
    let docs = ingest_file(&path).expect("the docx ingests");
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title, "营商环境建设报告");
    let rows: Vec<(Option<&str>, &str)> = d
        .paragraphs
        .iter()
        .map(|p| (p.section.as_deref(), p.text.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                Some("第一章 总体要求"),
                "优化营商环境是推动高质量发展的重要举措，各地区要持续深化改革。"
            ),
            (
                Some("第一章 总体要求 › 第一节 工作目标"),
                "到二〇二五年，市场主体满意度明显提升。"
            ),
            (
                Some("Chapter 2 Measures"),
                "Cut the time needed to register a business to three working days."
            ),
            (
                Some("Chapter 2 Measures"),
                "指标 | 目标值; 开办企业时间 | 三个工作日以内"
            ),
        ]
        .into_iter()
        .filter(|r| r.1.chars().count() >= 15)
        .collect::<Vec<_>>(),
        "{:#?}",
        d.paragraphs
    );
    let all: String = d.paragraphs.iter().map(|p| p.text.as_str()).collect();
    assert!(!all.contains("批注") && !all.contains("已被修订删除"));
}

const BAD_ZIPS: &str = r#"
import sys, zipfile
# A zip bomb: 200 MB of spaces in word/document.xml, a few hundred KB packed.
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", "<Types/>")
    with z.open("word/document.xml", "w") as f:
        f.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
        block = b" " * (1 << 20)
        for _ in range(200):
            f.write(block)
        f.write(b"</w:body></w:document>")
# A zip that is no Word document.
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("readme.txt", "hello")
"#;

#[test]
fn bad_word_files_are_skipped_with_a_reason() {
    let dir = scratch("bad-docx");
    let good = dir.join("good.docx");
    common::python(DOCX_SCRIPT, &[&good]);
    let bomb = dir.join("bomb.docx");
    let other = dir.join("other.docx");
    common::python(BAD_ZIPS, &[&bomb, &other]);
    let err = |p: &Path| ingest_file(p).expect_err(p.to_str().unwrap()).to_string();
    let e = err(&bomb);
    assert!(e.contains("zip bomb"), "{e}");
    let e = err(&other);
    assert!(e.contains("no word/document.xml"), "{e}");
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.docx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(&cut);
    assert!(e.contains("not a Word document"), "{e}");
    let text = dir.join("text.docx");
    std::fs::write(&text, "plain text, wrong extension").unwrap();
    let e = err(&text);
    assert!(e.contains("not a Word document"), "{e}");
}

#[test]
fn restructuredtext_primer_from_docutils() {
    // docutils' own primer (public domain), directives, roles, literal blocks and all.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quickstart.rst");
    let docs = ingest_file(&path).unwrap();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title, "A ReStructuredText Primer");
    assert!(
        d.meta.iter().any(|m| m == "Author: Richard Jones"),
        "{:?}",
        d.meta
    );
    let sections: Vec<&str> = d
        .paragraphs
        .iter()
        .filter_map(|p| p.section.as_deref())
        .fold(Vec::new(), |mut v, s| {
            if v.last() != Some(&s) {
                v.push(s);
            }
            v
        });
    for want in [
        "Structure",
        "Text styles",
        "Lists",
        "Preformatting (code samples)",
        "Sections",
        "What Next?",
    ] {
        assert!(sections.contains(&want), "{want} in {sections:?}");
    }
    for p in &d.paragraphs {
        assert!(
            !p.text.contains(".. ")
                && !p.text.contains("include::")
                && !p.text.contains(":Author:"),
            "markup left in {:?}",
            p.text
        );
        assert!(
            !p.text.contains("``") && !p.text.contains(":ref:`"),
            "inline markup left in {:?}",
            p.text
        );
    }
    // A literal block's content is not a passage; the paragraph introducing it is, with
    // its "::" reduced to ":".
    assert!(d
        .paragraphs
        .iter()
        .all(|p| !p.text.contains("An example::")));
}

#[test]
fn markdown_by_commonmark_rules() {
    let md = "# 手册\n\n<!-- 注释不应出现在正文里 -->\n\n正文第一段，介绍这个工具的用途和基本用法，[参见][ref]。\n\n[ref]: https://example.org/a-long-reference-target\n\n    indented code block stays apart from the prose\n\n| 选项 | 含义 |\n|---|---|\n| -n | 显示行号并继续处理 |\n\n- 第一层列表项的内容\n  - 第二层列表项的内容\n- 第一层的另一项内容\n\n<div>原始 HTML 块不是正文内容。</div>\n";
    let d = &ingest_bytes(md.as_bytes(), "m.md", &IngestOptions::default()).unwrap()[0];
    assert_eq!(d.title, "手册");
    let texts: Vec<&str> = d.paragraphs.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "正文第一段，介绍这个工具的用途和基本用法，参见。",
            "indented code block stays apart from the prose",
            "选项 | 含义; -n | 显示行号并继续处理",
            "第一层列表项的内容第二层列表项的内容第一层的另一项内容",
        ],
        "{:#?}",
        d.paragraphs
    );
    assert_eq!(d.paragraphs[1].line_start, 9);
}

/// A book as HTML: a title page, three chapters (`<h1>`, each on a new page) of two
/// sections (`<h2>`) of paragraphs long enough to run over pages, a table and a terminal
/// session in each chapter's first section. Deterministic text from a small vocabulary.
/// Returns the HTML and, per paragraph, its text and section path ("chapter › section").
fn book_html() -> (String, Vec<(String, String)>) {
    let words = "river water stone valley current delta basin flood season channel bank \
        sediment meander estuary tributary source mouth rain snow glacier lake wetland fish \
        bird forest soil erosion bridge town mill boat"
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>();
    let mut state = 7u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % n
    };
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>A Field Guide to Rivers</title>\
         <style>body{font-family:serif;font-size:11pt} h1{font-size:20pt;page-break-before:always} \
         h2{font-size:15pt} td,th{border:1px solid #999;padding:2px 10px}</style></head><body>\
         <div style=\"font-size:28pt;text-align:center;margin-top:200px\">A Field Guide to Rivers</div>\n",
    );
    let mut paragraphs = Vec::new();
    for c in 1..=3 {
        let chapter = format!("Chapter {c}. The {} of rivers", words[c]);
        html += &format!("<h1>{chapter}</h1>\n");
        for s in 1..=2 {
            let section = format!("{c}.{s} On {} and {}", words[c + s + 3], words[c + s + 9]);
            html += &format!("<h2>{section}</h2>\n");
            for _ in 0..5 {
                let sentences: Vec<String> = (0..3 + next(5))
                    .map(|_| {
                        let mut s: Vec<&str> =
                            (0..8 + next(9)).map(|_| words[next(words.len())]).collect();
                        let first = s[0][..1].to_uppercase() + &s[0][1..];
                        s[0] = Box::leak(first.into_boxed_str());
                        s.join(" ") + "."
                    })
                    .collect();
                let text = sentences.join(" ");
                html += &format!("<p>{text}</p>\n");
                paragraphs.push((text, format!("{chapter} › {section}")));
            }
            if s == 1 {
                html += "<table><tr><th>River</th><th>Length km</th><th>Mouth</th></tr>";
                for _ in 0..5 {
                    html += &format!(
                        "<tr><td>{} river</td><td>{}</td><td>{} sea</td></tr>",
                        words[next(words.len())],
                        100 + next(6000),
                        words[next(words.len())]
                    );
                }
                html += "</table>\n<pre>$ measure --river nile --unit km\nlength: 6650\n\
                         $ measure --river amazon --unit km\nlength: 6400</pre>\n";
            }
        }
    }
    html += "</body></html>\n";
    (html, paragraphs)
}

/// A book printed with Chromium's running header and footer (date, title, file address,
/// "page / pages"), with bookmarks and without, reads as one document: chapters and
/// sections from the outline, or from their type where there is none; every paragraph whole (also across page breaks) and in its section, no
/// header or footer text in any passage, headings never glued to a paragraph, the table
/// and the terminal session passages of their own kinds.
#[test]
fn a_book_pdf_is_one_document_with_its_sections_with_or_without_an_outline() {
    let dir = scratch("book-pdf");
    let (html, paragraphs) = book_html();
    let html_path = dir.join("rivers.html");
    std::fs::write(&html_path, html).unwrap();
    // With bookmarks, and without (headings from their type): the same book either way.
    let outlined = dir.join("rivers.pdf");
    common::print_pdf_with(&html_path, &outlined, &["--generate-pdf-document-outline"]);
    let typeset = dir.join("rivers-typeset.pdf");
    common::print_pdf_with(&html_path, &typeset, &[]);
    for pdf in [&outlined, &typeset] {
        read_as_the_book(pdf, &paragraphs);
    }
    // Asked for (--chapters), each chapter is a document of its own, its sections within.
    let opts = IngestOptions {
        chapters: true,
        ..IngestOptions::default()
    };
    let bytes = std::fs::read(&outlined).unwrap();
    let docs = ingest_bytes(&bytes, "rivers.pdf", &opts).unwrap();
    let chapters: Vec<&Document> = docs.iter().filter(|d| d.title.contains('›')).collect();
    assert_eq!(
        chapters.len(),
        3,
        "{:?}",
        docs.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
    for (c, d) in chapters.iter().enumerate() {
        assert!(
            d.title
                .starts_with(&format!("A Field Guide to Rivers › Chapter {}.", c + 1)),
            "{}",
            d.title
        );
        assert_eq!(d.paragraphs.len(), 12, "{}", d.title);
        assert!(d.paragraphs.iter().all(|p| p
            .section
            .as_deref()
            .is_some_and(|s| s.starts_with(&format!("{}.", c + 1)))));
    }
}

/// The same book set in two columns (justified, first lines indented, as reports and
/// papers are): a paragraph runs on from the foot of one column to the top of the next,
/// and one that ends at a column's foot does not swallow the next column's first one.
#[test]
fn a_two_column_book_pdf_reads_each_paragraph_whole() {
    let dir = scratch("two-column-pdf");
    let (html, paragraphs) = book_html();
    let html = html.replace(
        "body{font-family:serif;font-size:11pt}",
        "body{font-family:serif;font-size:11pt;column-count:2;column-gap:2em;text-align:justify} \
         p{text-indent:1.5em;margin:0 0 .4em 0}",
    );
    // With bookmarks (read as a book), and as a report of paragraphs alone in one type
    // size, without them. Chromium tags its PDFs (a structure tree of headings and
    // paragraphs): every paragraph whole either way. Untagged, the layout alone tells them:
    // as a book, by the columns; without bookmarks, as plain text (paragraphs told apart by
    // their indented first lines, in a column and at the next column's top).
    let plain = html
        .lines()
        .filter(|l| !l.starts_with("<h"))
        .collect::<Vec<_>>()
        .join("\n");
    let outline = ["--generate-pdf-document-outline"];
    let bare = ["--no-pdf-header-footer"];
    // Untagged and read as plain text too: a terminal session's repeated lines on one page
    // are no running header (27 of 30 whole while they were taken for one).
    for (name, html, flags) in [
        ("rivers-columns", html, &outline[..]),
        ("rivers-columns-plain", plain, &bare[..]),
    ] {
        let pdf = print_html(&dir, name, &html, flags);
        all_whole(&pdf, &paragraphs);
        all_whole(&untagged(&pdf), &paragraphs);
    }
}

/// A producer that sets its headings in a fixed-pitch face (LibreOffice does): chapters
/// larger than the text, sections bold at its size, both in the face of the book's
/// terminal sessions. Untagged and without bookmarks, the headings are still headings —
/// the larger ones say which face headings are set in — and the sessions' lines, in that
/// face but not bold, are not.
#[test]
fn headings_in_a_fixed_pitch_face_are_headings_without_tags() {
    let dir = scratch("mono-headings-pdf");
    let (html, paragraphs) = book_html();
    let html = html.replace(
        "h2{font-size:15pt}",
        "h1{font-family:monospace} h2{font:bold 11pt monospace}",
    );
    let pdf = print_html(&dir, "rivers-mono", &html, &[]);
    read_as_the_book(&untagged(&pdf), &paragraphs);
}

/// `html` written to `dir/name.html` and printed by Chromium to `dir/name.pdf`.
fn print_html(dir: &Path, name: &str, html: &str, flags: &[&str]) -> PathBuf {
    let html_path = dir.join(format!("{name}.html"));
    std::fs::write(&html_path, html).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    common::print_pdf_with(&html_path, &pdf, flags);
    pdf
}

/// A copy of `pdf` without its structure tree (`/StructTreeRoot`): the same layout as an
/// untagged PDF, read from the page geometry alone.
fn untagged(pdf: &Path) -> PathBuf {
    let mut doc = lopdf::Document::load(pdf).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let catalog = doc.get_object_mut(root).unwrap().as_dict_mut().unwrap();
    assert!(
        catalog.remove(b"StructTreeRoot").is_some(),
        "Chromium tags its PDFs"
    );
    let out = pdf.with_extension("untagged.pdf");
    doc.save(&out).unwrap();
    out
}

fn all_whole(pdf: &Path, paragraphs: &[(String, String)]) {
    let docs = ingest_file(pdf).expect("the book ingests");
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let passages: Vec<String> = docs
        .iter()
        .flat_map(|d| &d.paragraphs)
        .map(|p| norm(&p.text))
        .collect();
    let whole: Vec<bool> = paragraphs
        .iter()
        .map(|(text, _)| passages.iter().any(|p| *p == norm(text)))
        .collect();
    let missing: Vec<&String> = paragraphs
        .iter()
        .zip(&whole)
        .filter(|(_, w)| !**w)
        .map(|((t, _), _)| t)
        .collect();
    assert!(
        missing.is_empty(),
        "{}: {} of {} not whole: {missing:#?}\n{passages:#?}",
        pdf.display(),
        missing.len(),
        paragraphs.len()
    );
}

/// A report without bookmarks whose headings are set bold at the body text's size (as
/// word processors set their lowest headings): each paragraph whole, in its section.
#[test]
fn bold_headings_at_the_body_size_are_sections() {
    let dir = scratch("bold-headings-pdf");
    let (_, paragraphs) = book_html();
    // The book's sentences, regrouped under headings in bold at 11 pt.
    let sentences: Vec<String> = paragraphs
        .iter()
        .flat_map(|(p, _)| p.split(". "))
        .map(|s| s.trim_end_matches('.').to_string() + ".")
        .collect();
    let groups: Vec<(String, Vec<String>)> = sentences
        .chunks(16)
        .take(6)
        .enumerate()
        .map(|(h, group)| {
            let paragraphs = group.chunks(4).map(|s| s.join(" ")).collect();
            (format!("Survey area {} and its rivers", h + 1), paragraphs)
        })
        .collect();
    let style = "h3{font-size:11pt;font-weight:bold;margin:1em 0 .3em}";
    let (pdf, expected) = print_report(&dir, "survey", style, "h3", &groups);
    // The headings are the structure tree's `H3`s; untagged, they are told by their type.
    sections_as_expected(&pdf, &expected);
    sections_as_expected(&untagged(&pdf), &expected);
}

/// Headings a tagged PDF marks though its type does not: set like the body text, neither
/// larger nor bold, they are sections only by the structure tree. The same PDF untagged
/// has no headings to read (one section-less run of paragraphs).
#[test]
fn a_tagged_pdfs_headings_are_sections_whatever_their_type() {
    let dir = scratch("tagged-headings-pdf");
    let (_, paragraphs) = book_html();
    let paragraphs: Vec<String> = paragraphs.into_iter().map(|(p, _)| p).take(12).collect();
    let groups: Vec<(String, Vec<String>)> = paragraphs
        .chunks(3)
        .enumerate()
        .map(|(i, chunk)| (format!("Part {} of the notes", i + 1), chunk.to_vec()))
        .collect();
    let style = "h2{font:11pt serif;margin:0 0 .6em 0}";
    let (pdf, expected) = print_report(&dir, "notes", style, "h2", &groups);
    sections_as_expected(&pdf, &expected);
    let docs = ingest_file(&untagged(&pdf)).expect("the notes ingest");
    assert!(
        docs.iter().flat_map(|d| &d.paragraphs).all(|p| p
            .section
            .as_deref()
            .is_none_or(|s| !s.contains("Part 2 of"))),
        "untagged, the headings look like body text"
    );
}

/// A report printed by Chromium: each group's heading (element `tag`, styled by `style`)
/// and its paragraphs. Returns the PDF and each paragraph with its heading.
fn print_report(
    dir: &Path,
    name: &str,
    style: &str,
    tag: &str,
    groups: &[(String, Vec<String>)],
) -> (PathBuf, Vec<(String, String)>) {
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{name}</title>\
         <style>body{{font:11pt serif}} {style} p{{margin:0 0 .6em 0}}</style></head><body>\n"
    );
    let mut expected = Vec::new();
    for (heading, paragraphs) in groups {
        html += &format!("<{tag}>{heading}</{tag}>\n");
        for p in paragraphs {
            html += &format!("<p>{p}</p>\n");
            expected.push((p.clone(), heading.clone()));
        }
    }
    html += "</body></html>\n";
    let html_path = dir.join(format!("{name}.html"));
    std::fs::write(&html_path, html).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    common::print_pdf(&html_path, &pdf);
    (pdf, expected)
}

/// One document whose paragraphs are each whole and in the section `expected` names.
fn sections_as_expected(pdf: &Path, expected: &[(String, String)]) {
    let docs = ingest_file(pdf).expect("the report ingests");
    assert_eq!(
        docs.len(),
        1,
        "{}: {:?}",
        pdf.display(),
        docs.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for (text, heading) in expected {
        let p = docs[0]
            .paragraphs
            .iter()
            .find(|p| norm(&p.text) == norm(text))
            .unwrap_or_else(|| panic!("not whole: {text}"));
        assert!(
            p.section
                .as_deref()
                .is_some_and(|s| s.ends_with(heading.as_str())),
            "{:?} for {heading}",
            p.section
        );
    }
}

fn read_as_the_book(pdf: &Path, paragraphs: &[(String, String)]) {
    let docs = ingest_file(pdf).expect("the book ingests");
    assert_eq!(
        docs.len(),
        1,
        "one book, one document: {:?}",
        docs.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
    let book = &docs[0];
    assert_eq!(book.title, "A Field Guide to Rivers");
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut pages = std::collections::BTreeSet::new();
    for (text, section) in paragraphs {
        let found: Vec<&Paragraph> = book
            .paragraphs
            .iter()
            .filter(|p| norm(&p.text) == norm(text))
            .collect();
        assert_eq!(found.len(), 1, "paragraph not read whole: {text:?}");
        assert_eq!(
            found[0].section.as_deref(),
            Some(section.as_str()),
            "{text:?} in {}",
            pdf.display()
        );
        assert_eq!(found[0].kind, xref::ingest::Kind::Prose);
        pages.insert(found[0].page.unwrap());
    }
    assert!(pages.len() >= 5, "the paragraphs run over pages: {pages:?}");
    for p in &book.paragraphs {
        for furniture in ["rivers.html", "file://", "/1", " PM ", " AM "] {
            assert!(
                !p.text.contains(furniture),
                "running header or footer in {:?}",
                p.text
            );
        }
        assert!(
            !p.text.starts_with("Chapter") && !p.text.contains(" On "),
            "a heading glued: {:?}",
            p.text
        );
    }
    let of_kind = |k: xref::ingest::Kind| {
        book.paragraphs
            .iter()
            .filter(|p| p.kind == k)
            .collect::<Vec<_>>()
    };
    let tables = of_kind(xref::ingest::Kind::Table);
    let code = of_kind(xref::ingest::Kind::Code);
    assert_eq!(tables.len(), 3, "one table a chapter: {tables:?}");
    assert!(
        tables
            .iter()
            .all(|t| t.text.starts_with("River Length km Mouth")),
        "{tables:?}"
    );
    assert_eq!(code.len(), 3, "one session a chapter: {code:?}");
    assert!(
        code.iter()
            .all(|c| c.text.starts_with("$ measure --river nile --unit km")),
        "{code:?}"
    );
}

/// HTML passages know their kind: a table's rows (each row one passage, its caption with
/// the first), a `<pre>` listing, list items; DocBook's admonitions, set in a layout
/// `<table summary="Note">`, stay prose; a table of contents is navigation and dropped;
/// nothing of a table is glued to the paragraph before it.
#[test]
fn html_passages_know_their_kind() {
    use xref::ingest::Kind;
    let html = r#"<html><head><title>Firewalls</title></head><body>
<div class="toc"><p>Table of Contents</p><dl><dt>5.7. The netfilter infrastructure and its tools</dt></dl></div>
<h2>5.7. The netfilter infrastructure</h2>
<p>Netfilter provides a stateful firewall and network address translation framework.</p>
<div class="table"><p class="title"><b>Table 5.7. List of firewall tools</b></p>
<div class="table-contents"><table summary="List of firewall tools" border="1">
<thead><tr><th>package</th><th>popcon</th><th>description</th></tr></thead>
<tbody><tr><td>iptables</td><td>V:315</td><td>administration tools for packet filtering and NAT</td></tr>
<tr><td>shorewall</td><td>V:4</td><td>Shoreline Firewall, netfilter configuration file generator</td></tr></tbody>
</table></div></div>
<div class="note"><table border="0" summary="Note"><tr><td>Note</td></tr>
<tr><td><p>Although the netfilter tools are many, most people only need the firewall that their desktop sets up.</p></td></tr></table></div>
<pre class="screen">$ sudo iptables -L -n -v --line-numbers</pre>
<ul><li><p>Use the firewall configuration tool of your desktop environment first.</p></li></ul>
</body></html>"#;
    let docs = ingest_bytes(html.as_bytes(), "fw.html", &IngestOptions::default()).unwrap();
    let ps: Vec<(Kind, &str)> = docs[0]
        .paragraphs
        .iter()
        .map(|p| (p.kind, p.text.as_str()))
        .collect();
    assert_eq!(
        ps,
        vec![
            (Kind::Prose, "Netfilter provides a stateful firewall and network address translation framework."),
            (Kind::Table, "Table 5.7. List of firewall tools package popcon description"),
            (Kind::Table, "iptables V:315 administration tools for packet filtering and NAT"),
            (Kind::Table, "shorewall V:4 Shoreline Firewall, netfilter configuration file generator"),
            (Kind::Prose, "Note Although the netfilter tools are many, most people only need the firewall that their desktop sets up."),
            (Kind::Code, "$ sudo iptables -L -n -v --line-numbers"),
            (Kind::List, "Use the firewall configuration tool of your desktop environment first."),
        ]
    );
}

/// The content-stream parser xref patches in lopdf for speed (`vendor/lopdf/PATCHED.md`)
/// reads the grammar it read before: operands of every type, hexadecimal strings with
/// white space and an odd last digit, names with `#` escapes, reals without a digit on one
/// side, literal strings with escapes, arrays, comments, operations without operands.
#[test]
fn the_content_stream_parser_reads_every_operand_type() {
    use lopdf::content::Content;
    use lopdf::{Object, StringFormat};
    let stream = b"BT /F1#20x 12 Tf <48 65 6c6C\n6f7> Tj % a comment\n\
        [(a\\)b) -120 (c)] TJ 1 0 0 1 +.5 -3. Tm /A#42 true null << /K [1 2] >> DP ET q Q";
    let ops = Content::decode(stream)
        .expect("the stream parses")
        .operations;
    let by_operator: Vec<(&str, &Vec<Object>)> = ops
        .iter()
        .map(|o| (o.operator.as_str(), &o.operands))
        .collect();
    let operators: Vec<&str> = by_operator.iter().map(|(o, _)| *o).collect();
    assert_eq!(
        operators,
        ["BT", "Tf", "Tj", "TJ", "Tm", "DP", "ET", "q", "Q"]
    );
    assert!(ops[0].operands.is_empty());
    assert_eq!(
        ops[1].operands,
        [Object::Name(b"F1 x".to_vec()), Object::Integer(12)]
    );
    assert_eq!(
        ops[2].operands,
        [Object::String(
            vec![0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x70],
            StringFormat::Hexadecimal
        )]
    );
    assert_eq!(
        ops[3].operands,
        [Object::Array(vec![
            Object::String(b"a)b".to_vec(), StringFormat::Literal),
            Object::Integer(-120),
            Object::String(b"c".to_vec(), StringFormat::Literal),
        ])]
    );
    assert_eq!(
        ops[4].operands,
        [1, 0, 0, 1]
            .map(Object::Integer)
            .into_iter()
            .chain([Object::Real(0.5), Object::Real(-3.0)])
            .collect::<Vec<_>>()
    );
    let mut dict = lopdf::Dictionary::new();
    dict.set(
        "K",
        Object::Array(vec![Object::Integer(1), Object::Integer(2)]),
    );
    assert_eq!(
        ops[5].operands,
        [
            Object::Name(b"AB".to_vec()),
            Object::Boolean(true),
            Object::Null,
            Object::Dictionary(dict)
        ]
    );
}

/// An index is navigation, not text, in HTML as in PDF: Texinfo's printed index (its
/// entries' table and the bar of initials that jumps into it) gives no passages, while
/// a table row of single marks after a label ("Metacharacters: | ; & ( )") is kept.
#[test]
fn an_index_gives_no_passages() {
    let html = "<html><head><title>Manual</title></head><body>\
        <h2>Operators</h2>\
        <p>The shell reads a line and splits it into words at the metacharacters.</p>\
        <table><tr><td>Metacharacters: | ; &amp; ( )</td></tr></table>\
        <h2>Concept index</h2>\
        <table summary=\"\"><tr><th>Jump to: &nbsp; </th><td>\
        <a class=\"summary-letter\" href=\"#a\"><b>A</b></a> \
        <a class=\"summary-letter\" href=\"#b\"><b>B</b></a> \
        <a class=\"summary-letter\" href=\"#c\"><b>C</b></a> \
        <a class=\"summary-letter\" href=\"#d\"><b>D</b></a> \
        <a class=\"summary-letter\" href=\"#e\"><b>E</b></a></td></tr></table>\
        <table class=\"index-cp\"><tr><th>Index Entry</th><th>Section</th></tr>\
        <tr><td><a href=\"#x\">assignment</a>:</td><td><a href=\"#y\">Operators</a></td></tr>\
        <tr><td><a href=\"#x\">words, splitting into</a>:</td><td><a href=\"#y\">Operators</a></td></tr>\
        </table></body></html>";
    let docs = ingest_bytes(html.as_bytes(), "manual.html", &IngestOptions::default()).unwrap();
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|d| &d.paragraphs)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "The shell reads a line and splits it into words at the metacharacters.",
            "Metacharacters: | ; & ( )"
        ]
    );
}
