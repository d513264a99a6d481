// fork_once.swift — the Swift runtime hazard Sources/ModelTreeRuntime/fork_guard.c removes, shown
// on the real runtime: a process uses Swift, forks, and in the child two threads meet in one
// swift_once (the main thread inside a slow lazy initialiser, a second thread waiting for it).
//
// Built by `make test-runtime` twice with the runtime linked in (-static-stdlib): with
// fork_guard.c, where the child must finish; and without it, as the control that shows the hazard
// is real on this toolchain (a child that hangs there is expected; one that finishes means the
// runtime no longer needs the guard, and the run says so).
import Glibc

final class Box { let v: Int; init(_ v: Int) { self.v = v } }

enum Lazy {
    static let early = Box(1)                                       // first used by the parent
    static let slow: Box = { usleep(300_000); return Box(2) }()     // first used in the child
}

_ = Lazy.early.v            // the parent's main thread goes through swift_once: its TID is cached
let child = fork()
if child == 0 {
    var waiter = pthread_t()
    pthread_create(&waiter, nil, { _ in usleep(50_000); _ = Lazy.slow.v; return nil }, nil)
    _ = Lazy.slow.v         // the main thread holds the once while the waiter contends
    pthread_join(waiter, nil)
    exit(0)
}
var status: Int32 = 0
for _ in 0..<100 {          // 10 s, against 0.3 s of work
    if waitpid(child, &status, WNOHANG) == child {
        print("the forked child finished")
        exit(status == 0 ? 0 : 1)
    }
    usleep(100_000)
}
kill(child, SIGKILL)
_ = waitpid(child, &status, 0)
print("the forked child hung in swift_once")
exit(3)
