fn main() -> std::process::ExitCode {
    almacen::cli::main()
}
