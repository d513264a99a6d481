/*
 * harness.h — a tiny test runner for the C suite: each test runs in a fresh process of its own (this
 * program exec'd again: a crash or abort is a failure of that test, not of the suite), with a time
 * limit, and the run ends with the line "N passed, N failed".
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdio.h>

/** Exit code of a test that could not run here (an input was not given). */
#define HARNESS_SKIP 77

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/** Number of failed checks in the running test (in the child process). */
extern int harness_failures;

void harness_fail(const char *file, int line, const char *what);
/** Ends the running test as skipped, giving the reason. */
void harness_skip(const char *reason);
/** Runs the tests whose names contain one of `filters` (all if none); returns the exit status. */
int harness_run(const test_case *tests, size_t count, char **filters, int filter_count);

/** Records a failure and continues. */
#define CHECK(cond) \
    do { if (!(cond)) harness_fail(__FILE__, __LINE__, #cond); } while (0)
/** Records a failure and leaves the test function. */
#define REQUIRE(cond) \
    do { if (!(cond)) { harness_fail(__FILE__, __LINE__, #cond); return; } } while (0)
/** Checks that a call returns a status, printing both statuses and the message if not. */
#define CHECK_STATUS(expected, call) \
    do { \
        modeltree_status_t s_ = (call); \
        if (s_ != (expected)) { \
            char what_[512]; \
            snprintf(what_, sizeof what_, "%s returned %d (%s), expected %d; message: %s", #call, \
                     (int)s_, modeltree_status_string(s_), (int)(expected), \
                     modeltree_last_error_message()); \
            harness_fail(__FILE__, __LINE__, what_); \
        } \
    } while (0)
#define REQUIRE_OK(call) \
    do { \
        int before_ = harness_failures; \
        CHECK_STATUS(MODELTREE_OK, call); \
        if (harness_failures != before_) return; \
    } while (0)

#endif
