//! Reference questions: 16 everyday questions (boiled eggs, the Mona Lisa, tides) in English
//! and the same 16 in Chinese, which documents are rarely about. Embedded once per search
//! batch (they ride in the questions' batch: one forward pass over a few dozen short
//! questions costs little more than over one) or once per server generation, they tell two
//! things no fixed constant can:
//!
//! * how high off-topic questions score in *this* corpus ([`super::OffTopic`]);
//! * where English questions sit relative to the same questions in Chinese
//!   ([`super::QueryShift`]), which moves a question towards the language of a corpus
//!   written in the other one.

use anyhow::Result;

use crate::embed::{Embedder, Prefix};

/// Off-topic reference questions in Latin script (they stand for every non-CJK question).
pub const REFERENCE_EN: [&str; 16] = [
    "How long should I boil an egg?",
    "What is the tallest mountain in Africa?",
    "Who painted the Mona Lisa?",
    "How many players are on a basketball team?",
    "What causes ocean tides?",
    "How do I train a puppy to sit?",
    "Which planet has the most moons?",
    "What is a good stretch for back pain?",
    "How do I knit a scarf?",
    "When did the Roman Empire fall?",
    "What wine goes well with fish?",
    "How far is the Moon from Earth?",
    "Why do leaves change colour in autumn?",
    "How do I remove a red wine stain?",
    "What is the plot of Hamlet?",
    "How many hours of sleep does a teenager need?",
];

/// The same questions in Chinese, in the same order (they stand for every CJK question).
pub const REFERENCE_ZH: [&str; 16] = [
    "鸡蛋要煮多久？",
    "非洲最高的山是哪座？",
    "《蒙娜丽莎》是谁画的？",
    "篮球队有几名上场球员？",
    "潮汐是怎么形成的？",
    "怎样训练小狗坐下？",
    "哪颗行星的卫星最多？",
    "腰疼时做什么拉伸比较好？",
    "怎么织围巾？",
    "罗马帝国是什么时候灭亡的？",
    "吃鱼配什么葡萄酒？",
    "月球离地球有多远？",
    "秋天树叶为什么会变色？",
    "怎样去除红酒渍？",
    "《哈姆雷特》讲了什么故事？",
    "青少年每天需要睡多少小时？",
];

/// The reference questions, [`REFERENCE_EN`] then [`REFERENCE_ZH`].
pub fn questions<'a>() -> impl Iterator<Item = &'a str> {
    REFERENCE_EN.into_iter().chain(REFERENCE_ZH)
}

/// The reference questions' (query) vectors, in [`questions`] order.
pub fn embed(embedder: &Embedder) -> Result<Vec<Vec<f32>>> {
    let texts: Vec<&str> = questions().collect();
    Ok(embedder
        .embed(&texts, Prefix::Query)?
        .into_iter()
        .map(|e| e.vector)
        .collect())
}
