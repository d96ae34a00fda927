fn main() {
    std::process::exit(brainsurgery::cli::main());
}
