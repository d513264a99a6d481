/*
 * fork_guard.c — a forked child of a process that used libmodeltree must not livelock in the
 * Swift runtime.
 *
 * The runtime's swift_once on Linux takes a per-once PI futex (swift/Threading/Impl/Linux/
 * ulock.h) whose word holds the owner's kernel TID, and caches each thread's TID in a
 * thread-local (`ulock_get_tid()::tid`). fork() copies the forking thread's thread-locals into the
 * child, so the child's main thread keeps its parent's TID. A once it takes then names a thread
 * of another process as its owner: a second thread contending for it gets FUTEX_LOCK_PI refused
 * and retries, and the owner's unlock finds the waiters bit set, gets FUTEX_UNLOCK_PI refused
 * (EPERM: not the owner) and retries too — both spin forever. Python's multiprocessing forks by
 * default on Linux, and pre-forking servers fork after loading their libraries, so a host that
 * ran a recovery before forking could hang its workers (Tests/runtime/fork_once.swift shows it).
 *
 * The fix: clear the cached TID in the child (pthread_atfork), so the child's main thread asks
 * the kernel again. The variable is the runtime's own; it is reachable when the runtime is linked
 * into libmodeltree.so (MODELTREE_STATIC_STDLIB, every distributed build), which Package.swift
 * tells this file by MODELTREE_STATIC_RUNTIME. With the toolchain's shared runtime it is not
 * exported and nothing is done. (A weak reference cannot stand in for the switch: the address of
 * an undefined weak thread-local is not NULL in a shared library, and writing it crashes.)
 */
#include "fork_guard.h"

#include <pthread.h>

#ifdef MODELTREE_STATIC_RUNTIME
/* swift::threading_impl::linux::ulock_get_tid()::tid, by its mangled name. */
extern __thread int _ZZN5swift14threading_impl5linux13ulock_get_tidEvE3tid;

static void forget_parent_tid(void) { _ZZN5swift14threading_impl5linux13ulock_get_tidEvE3tid = 0; }

__attribute__((constructor)) static void install_fork_guard(void) {
    (void)pthread_atfork(NULL, NULL, forget_parent_tid);
}
#endif
