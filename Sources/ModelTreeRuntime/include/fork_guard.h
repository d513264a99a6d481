/* fork_guard.h — see fork_guard.c: keeps a forked child of a process that used the Swift
 * runtime from livelocking in swift_once. Installed when the library loads; nothing to call. */
#ifndef MODELTREE_FORK_GUARD_H
#define MODELTREE_FORK_GUARD_H

/** 1 when the runtime's cached thread id is reachable and reset in forked children (the runtime
 *  linked into this binary), 0 with the toolchain's shared runtime. */
int mtr_fork_guard_active(void);

#endif
