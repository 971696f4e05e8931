fn main() {
    std::process::exit(kb::run());
}
