//! Thin entry point: parse arguments, run the command, map the outcome to an exit code.

/// mimalloc instead of glibc's malloc: a run allocates a few small records per request on
/// several threads, where glibc's arenas and frees were a tenth of the CPU (bench/run.sh).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(pushfix::commands::main());
}
