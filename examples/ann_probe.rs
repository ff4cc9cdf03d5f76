use std::time::Instant;
use xref::index::ann::{exact_search, Ann};
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let dim = 384;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut u = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64 };
    let mut unit = |_| { let mut v: Vec<f32> = (0..dim).map(|_| { let (a, b) = (u(), u()); ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32 }).collect(); xref::embed::normalize(&mut v); v };
    let data: Vec<Vec<f32>> = (0..n).map(&mut unit).collect();
    let queries: Vec<Vec<f32>> = (0..200).map(&mut unit).collect();
    let rows: Vec<&[f32]> = data.iter().map(|v| v.as_slice()).collect();
    let t = Instant::now();
    let ann = Ann::build(&rows);
    println!("build {:.1}s", t.elapsed().as_secs_f64());
    let exact: Vec<Vec<usize>> = queries.iter().map(|q| exact_search(&rows, q, 10, None).iter().map(|h| h.row).collect()).collect();
    for ef in [200, 800, 1600, 3200] {
        let t = Instant::now();
        let mut r = 0.0;
        for (q, e) in queries.iter().zip(&exact) {
            let a: Vec<usize> = ann.search_ef(q, 10, ef, None).iter().map(|h| h.row).collect();
            r += e.iter().filter(|x| a.contains(x)).count() as f64 / 10.0;
        }
        println!("ef {ef}: recall {:.4}, {:.0} q/s", r / 200.0, 200.0 / t.elapsed().as_secs_f64());
    }
}
