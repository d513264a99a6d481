import Glibc

/// Threads the streaming passes use when the caller does not say (`RecoveryOptions.threads`):
/// one per online processor, at most `maxThreads`. Read once; results never depend on it.
let defaultThreadCount: Int = Swift.max(1, Swift.min(maxThreads, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

/// The most threads one call uses, whatever it is asked for.
let maxThreads = 64

/// Calls `body(item, worker)` for every `item` in `0..<count`, spread over at most `threads`
/// threads (the caller's thread is worker 0). Worker `w` takes items `w, w + threads, …`, so
/// `worker` indexes per-thread scratch; what an item computes must depend on the item only,
/// which is how callers keep their results independent of the thread count (they store one
/// partial result per item and reduce them in item order).
///
/// When items throw (a file that cannot be read), each worker stops at its first failure and the
/// error of the lowest failing item is rethrown once all have stopped: the same error whatever
/// the thread count, since every item below a worker's first failure was done.
///
/// POSIX threads rather than Dispatch keep the core free of dependencies beyond Glibc.
func parallelForEach<E: Error>(_ count: Int, threads: Int,
                               _ body: @Sendable (_ item: Int, _ worker: Int) throws(E) -> Void) throws(E) {
    let t = Swift.max(1, Swift.min(threads, count))
    if t == 1 {
        for i in 0..<count { try body(i, 0) }
        return
    }
    let failure: (item: Int, error: E)? = withoutActuallyEscaping(body) { body in
        var jobs: [Share<E>] = []
        var ids: [pthread_t] = []
        for w in 1..<t {
            let job = Share(body, count, t, w)
            jobs.append(job)
            var id = pthread_t()
            let rc = pthread_create(&id, nil, { arg in
                Unmanaged<ThreadWork>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            }, Unmanaged<ThreadWork>.passRetained(job).toOpaque())
            if rc == 0 {
                ids.append(id)
            } else {                       // no thread: do its share here (same items, same results)
                Unmanaged<ThreadWork>.passUnretained(job).release()
                job.run()
            }
        }
        let own = Share(body, count, t, 0)
        jobs.append(own)
        own.run()
        for id in ids { pthread_join(id, nil) }
        return jobs.compactMap(\.failure).min { $0.item < $1.item }
    }
    if let failure { throw failure.error }
}

/// What a thread runs; not generic, so that a C function pointer can start it.
private class ThreadWork {
    func run() {}
}

/// One worker's share of a `parallelForEach`: items `worker, worker + stride, …`. Made on the
/// calling thread, run on one thread, read again by the caller after `pthread_join`.
private final class Share<E: Error>: ThreadWork {
    let body: @Sendable (Int, Int) throws(E) -> Void
    let count: Int, stride: Int, worker: Int
    /// The first item that threw, and its error; read after the thread is joined.
    var failure: (item: Int, error: E)?

    init(_ body: @escaping @Sendable (Int, Int) throws(E) -> Void, _ count: Int, _ stride: Int, _ worker: Int) {
        self.body = body; self.count = count; self.stride = stride; self.worker = worker
    }

    override func run() {
        var i = worker
        while i < count {
            do throws(E) { try body(i, worker) } catch { failure = (i, error); return }
            i += stride
        }
    }
}
