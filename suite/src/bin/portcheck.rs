fn main() {
    eprintln!("portcheck: not yet implemented");
    std::process::exit(2);
}
