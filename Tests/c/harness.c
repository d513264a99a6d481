/* harness.c — see harness.h. */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int harness_failures = 0;

void harness_fail(const char *file, int line, const char *what) {
    harness_failures++;
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, what);
}

void harness_skip(const char *reason) {
    fprintf(stderr, "    skipped: %s\n", reason);
    exit(HARNESS_SKIP);
}

static int selected(const char *name, char **filters, int filter_count) {
    if (filter_count == 0) return 1;
    for (int i = 0; i < filter_count; i++)
        if (strstr(name, filters[i])) return 1;
    return 0;
}

/* Each test runs in a fresh process: fork, then exec this same program with the same arguments
 * and HARNESS_ONE naming the test. A fork alone would hand the test a copy of this process's
 * state, and the Swift runtime's state does not survive fork (its swift_once locks cache the
 * forking thread's kernel TID; under TSan the runtime runs in this process before main). */
static char **own_arguments(void) {
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return NULL;
    static char text[65536];
    size_t size = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    if (size == 0 || size == sizeof text - 1) return NULL;
    text[size] = 0;
    size_t count = 0;
    for (size_t i = 0; i < size; i++) count += text[i] == 0;
    char **argv = calloc(count + 1, sizeof *argv);
    if (!argv) return NULL;
    for (size_t i = 0, k = 0; i < size && k < count; i += strlen(text + i) + 1) argv[k++] = text + i;
    return argv;
}

int harness_run(const test_case *tests, size_t count, char **filters, int filter_count) {
    const char *one = getenv("HARNESS_ONE");
    if (one) {   /* the exec'd child: run the one test here */
        char name[256];
        snprintf(name, sizeof name, "%s", one);
        unsetenv("HARNESS_ONE");
        for (size_t i = 0; i < count; i++)
            if (!strcmp(tests[i].name, name)) {
                alarm(300); /* a hung test fails instead of hanging the suite */
                tests[i].fn();
                /* exit, not _exit: LeakSanitizer checks for leaks in its exit handler */
                exit(harness_failures ? 1 : 0);
            }
        fprintf(stderr, "no test named %s\n", name);
        exit(2);
    }
    char **self = own_arguments();
    if (!self) {
        printf("FAIL (could not read /proc/self/cmdline to run each test in a fresh process)\n");
        return 1;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (!selected(tests[i].name, filters, filter_count)) continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("HARNESS_ONE", tests[i].name, 1);
            execv("/proc/self/exe", self);
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
            printf("FAIL %s (could not run: fork/wait failed)\n", tests[i].name);
            failed++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            printf("ok   %s\n", tests[i].name);
            passed++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == HARNESS_SKIP) {
            printf("skip %s\n", tests[i].name);
            skipped++;
        } else if (WIFSIGNALED(status)) {
            printf("FAIL %s (killed by signal %d%s)\n", tests[i].name, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? ": timed out" : "");
            failed++;
        } else {
            printf("FAIL %s (exit %d)\n", tests[i].name, WEXITSTATUS(status));
            failed++;
        }
        fflush(stdout);
    }
    free(self);
    if (skipped) printf("%d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
