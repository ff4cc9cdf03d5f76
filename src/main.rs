fn main() {
    std::process::exit(xref::cli::main());
}
