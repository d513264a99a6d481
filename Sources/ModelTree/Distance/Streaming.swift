import Glibc

/// How many threads the streaming kernels use: `MODELTREE_THREADS` if set (≥ 1), else the
/// number of online processors, at most 64. Results never depend on it (see `parallelForEach`).
func defaultThreadCount() -> Int {
    if let text = getenv("MODELTREE_THREADS"), let n = Int(String(cString: text)), n >= 1 {
        return Swift.min(n, 64)
    }
    return Swift.max(1, Swift.min(64, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Calls `body(item, worker)` for every `item` in `0..<count`, spread over at most `threads`
/// threads (the caller's thread is worker 0). Worker `w` takes items `w, w + threads, …`, so
/// `worker` indexes per-thread scratch; what an item computes must depend on the item only,
/// which is how callers keep their results independent of the thread count (they store one
/// partial result per item and reduce them in item order).
///
/// POSIX threads rather than Dispatch keep the core free of dependencies beyond Glibc.
func parallelForEach(_ count: Int, threads: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
    let t = Swift.max(1, Swift.min(threads, count))
    if t == 1 {
        for i in 0..<count { body(i, 0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        final class Job {
            let body: (Int, Int) -> Void
            let count: Int, stride: Int, worker: Int
            init(_ body: @escaping (Int, Int) -> Void, _ count: Int, _ stride: Int, _ worker: Int) {
                self.body = body; self.count = count; self.stride = stride; self.worker = worker
            }
            func run() { var i = worker; while i < count { body(i, worker); i += stride } }
        }
        var ids: [pthread_t] = []
        for w in 1..<t {
            let job = Unmanaged.passRetained(Job(body, count, t, w)).toOpaque()
            var id = pthread_t()
            let rc = pthread_create(&id, nil, { arg in
                let job = Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue()
                job.run()
                return nil
            }, job)
            if rc == 0 {
                ids.append(id)
            } else {                       // no thread: do its share here (same items, same results)
                Unmanaged<Job>.fromOpaque(job).takeRetainedValue().run()
            }
        }
        Job(body, count, t, 0).run()
        for id in ids { pthread_join(id, nil) }
    }
}

/// Drops this process's mapping of the whole pages inside `range` of a tensor read from a file
/// (`madvise(MADV_DONTNEED)`): the kernel keeps them in its page cache, a later read maps them
/// again, and the resident memory of a pass over a collection larger than RAM stays at the
/// part being read. Only for models loaded from files (`Model.path != nil`), whose tensors live
/// in read-only private file mappings; on memory a caller lent, the call would zero it.
func releasePages(of model: Model, _ view: TensorView, elements range: Range<Int>) {
    guard model.path != nil else { return }
    advise(view, range, MADV_DONTNEED)
}

/// Asks the kernel to start reading `range` of a tensor from its file (`madvise(MADV_WILLNEED)`)
/// while the part before it is being compared: on a collection that is not in the page cache the
/// next part arrives from disk in the background. Harmless on memory a caller lent.
func prefetchPages(_ view: TensorView, elements range: Range<Int>) {
    advise(view, range, MADV_WILLNEED)
}

/// `madvise` on the whole pages inside `range` of a tensor.
private func advise(_ view: TensorView, _ range: Range<Int>, _ advice: Int32) {
    guard let base = view.bytes.baseAddress, !range.isEmpty else { return }
    let page = Swift.max(4096, sysconf(Int32(_SC_PAGESIZE)))
    let start = Int(bitPattern: base) + range.lowerBound * view.dtype.size
    let end = Int(bitPattern: base) + range.upperBound * view.dtype.size
    let alignedStart = (start + page - 1) / page * page
    let alignedEnd = end / page * page
    guard alignedEnd > alignedStart else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: alignedStart), alignedEnd - alignedStart, advice)
}
