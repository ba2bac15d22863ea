//! Thin entry point: parse arguments, run the command, map the outcome to an exit code.

/// mimalloc instead of glibc's malloc: a run allocates a few small records per request on
/// several threads, where glibc's arenas and frees were a tenth of the CPU (bench/run.sh).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (milliseconds before freed memory goes back to the system; 1000 by
/// default): the plan is built on one thread and the run's records on others, so memory freed
/// by one and not yet returned added 30 MB to a run's peak. The enum has no Rust name for it;
/// the test below fails if a new mimalloc moves it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // SAFETY: setting an option is thread-safe in mimalloc and takes no pointer.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1) };
    std::process::exit(pushfix::commands::main());
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_delay_is_the_option_we_set() {
        // SAFETY: as above.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            default, 1000,
            "mimalloc's option 15 is no longer purge_delay (=1000)"
        );
    }
}
