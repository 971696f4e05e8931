//! Where a search's threads run. Linux places a new thread on the core of the thread that
//! started it, where it shares that thread's time or waits for its slice to end (3 ms
//! measured on a 2-core machine) until an idle core pulls it away: a question read by the
//! model beside a search by words, or half of a scan of all vectors, would run one after the
//! other on one core. These functions put such a thread on another core from its start.
//! Elsewhere than Linux (or on one core) they do nothing.

/// The core the calling thread runs on now, if the system says.
pub fn current() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain system call without arguments.
        let here = unsafe { libc::sched_getcpu() };
        usize::try_from(here).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Let `thread`, just started, run on any core this process may use but the caller's.
pub fn elsewhere<T>(thread: &std::thread::JoinHandle<T>) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        if let Some(set) = current().and_then(others) {
            // SAFETY: a thread not joined yet (the handle is borrowed), a set of the size
            // given.
            unsafe {
                libc::pthread_setaffinity_np(
                    thread.as_pthread_t(),
                    std::mem::size_of::<libc::cpu_set_t>(),
                    &set,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = thread;
}

/// Called by a thread just started by one on core `core` ([`current`], before starting it):
/// if it runs there too, it moves to the process's other cores. The starting thread gives
/// way once after starting it ([`std::thread::yield_now`]) so that this runs at once.
pub fn leave(core: Option<usize>) {
    #[cfg(target_os = "linux")]
    if let Some(set) = core.filter(|&c| current() == Some(c)).and_then(others) {
        // SAFETY: the calling thread (0), a set of the size given.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

/// The cores this process may use but `core`; None if there is no other.
#[cfg(target_os = "linux")]
fn others(core: usize) -> Option<libc::cpu_set_t> {
    // SAFETY: a zeroed set is a valid empty one; the calls get its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        if core < libc::CPU_SETSIZE as usize {
            libc::CPU_CLR(core, &mut set);
        }
        (libc::CPU_COUNT(&set) > 0).then_some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_placed_elsewhere_still_run_and_answer() {
        let here = current();
        let t = std::thread::spawn(|| 6 * 7);
        elsewhere(&t);
        assert_eq!(t.join().unwrap(), 42);
        let got = std::thread::scope(|s| {
            let t = s.spawn(move || {
                leave(here);
                current()
            });
            std::thread::yield_now();
            t.join().unwrap()
        });
        #[cfg(target_os = "linux")]
        {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert!(here.is_some() && got.is_some());
            if cores > 1 {
                // The thread that left core `here` did not run its end there.
                assert_ne!(got, here, "{cores} cores");
            }
        }
        #[cfg(not(target_os = "linux"))]
        assert_eq!(got, None);
    }
}
