/* Storage faults on demand, for tests: a read-only file system or an I/O error.
 *
 * Loaded into the station process with LD_PRELOAD. It wraps the C library's file calls that
 * SQLite uses; for files under the folder $FAULTY_IO_UNDER it fails them while a control
 * file exists, the way a failing SD card does:
 *
 *   $FAULTY_IO_CONTROL.erofs  opening for writing, writing, syncing and truncating fail
 *                             with EROFS (the kernel remounted the card read-only)
 *   $FAULTY_IO_CONTROL.eio    writing, syncing and truncating fail with EIO (the card
 *                             returns errors); opening still works
 *
 * Removing the control file ends the fault. Everything else passes straight through.
 * Built by tests/faulty_io.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int active(const char *suffix) {
    const char *control = getenv("FAULTY_IO_CONTROL");
    char path[PATH_MAX];
    if (control == NULL) return 0;
    snprintf(path, sizeof path, "%s.%s", control, suffix);
    return access(path, F_OK) == 0;
}

static int under(const char *path) {
    const char *folder = getenv("FAULTY_IO_UNDER");
    return folder != NULL && path != NULL && strncmp(path, folder, strlen(folder)) == 0;
}

static int fd_under(int fd) {
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) return 0;
    path[n] = '\0';
    return under(path);
}

/* The errno a write to this fd must fail with now, or 0. */
static int write_fault(int fd) {
    if (!fd_under(fd)) return 0;
    if (active("erofs")) return EROFS;
    if (active("eio")) return EIO;
    return 0;
}

static int open_fault(const char *path, int flags) {
    int writes = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
    return writes && under(path) && active("erofs") ? EROFS : 0;
}

#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)
#define FAIL_IF(err) do { int e_ = (err); if (e_) { errno = e_; return -1; } } while (0)

ssize_t write(int fd, const void *buf, size_t n) {
    REAL(write);
    FAIL_IF(write_fault(fd));
    return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    REAL(pwrite);
    FAIL_IF(write_fault(fd));
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
    REAL(pwrite64);
    FAIL_IF(write_fault(fd));
    return real(fd, buf, n, off);
}

int fsync(int fd) {
    REAL(fsync);
    FAIL_IF(write_fault(fd));
    return real(fd);
}

int fdatasync(int fd) {
    REAL(fdatasync);
    FAIL_IF(write_fault(fd));
    return real(fd);
}

int ftruncate(int fd, off_t length) {
    REAL(ftruncate);
    FAIL_IF(write_fault(fd));
    return real(fd, length);
}

int ftruncate64(int fd, off64_t length) {
    REAL(ftruncate64);
    FAIL_IF(write_fault(fd));
    return real(fd, length);
}

static mode_t mode_arg(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

/* open and openat (and their 64-bit names): the mode argument only comes with O_CREAT. */
#define OPEN(name, ...)                                                     \
    va_list ap;                                                             \
    va_start(ap, flags);                                                    \
    mode_t mode = mode_arg(flags, ap);                                      \
    va_end(ap);                                                             \
    REAL(name);                                                             \
    FAIL_IF(open_fault(path, flags));                                       \
    return real(__VA_ARGS__, flags, mode)

int open(const char *path, int flags, ...) { OPEN(open, path); }
int open64(const char *path, int flags, ...) { OPEN(open64, path); }
int openat(int dirfd, const char *path, int flags, ...) { OPEN(openat, dirfd, path); }
int openat64(int dirfd, const char *path, int flags, ...) { OPEN(openat64, dirfd, path); }
