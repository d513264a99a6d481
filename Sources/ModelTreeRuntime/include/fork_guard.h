/* fork_guard.h — see fork_guard.c: keeps a forked child of a process that used the Swift runtime
 * from livelocking in swift_once. A constructor installs it when the library loads (when the
 * runtime is linked in); there is nothing to call. */
#ifndef MODELTREE_FORK_GUARD_H
#define MODELTREE_FORK_GUARD_H
#endif
