/* shm: a POSIX shared memory object mapped whole.  The mapping itself is
 * an mmap object (mv_mmap_new); this file only names, creates and sizes
 * the object, and removes it again when it created it and a later step
 * failed, so a failed call leaves nothing behind. */
#include "../view.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_FLAGS (MV_SHM_CREATE | MV_SHM_EXCL | MV_SHM_READONLY)

static int shm_os_error(mv_error *err, int errnum, const char *op, const char *name)
{
    mv_error_set(err, MV_EOS, "shm: %s '%s': %s", op, name, strerror(errnum));
    if (err)
        err->os_errno = errnum;
    return MV_EOS;
}

/* One leading slash, no other, 1 .. NAME_MAX bytes after it (what glibc's
 * shm_open accepts as one file name under /dev/shm). */
static int check_name(const char *name, mv_error *err)
{
    if (!name)
        return mv_error_set(err, MV_EVALUE, "shm: name must not be NULL");
    size_t n = strnlen(name, (size_t)NAME_MAX + 2);
    if (name[0] != '/')
        return mv_error_set(err, MV_EVALUE, "shm: name '%.*s' must start with '/'", 64, name);
    if (n < 2)
        return mv_error_set(err, MV_EVALUE, "shm: name '/' is empty after the '/'");
    if (n > (size_t)NAME_MAX + 1)
        return mv_error_set(err, MV_EVALUE, "shm: name '%.*s...' is longer than %d bytes", 32,
                            name, NAME_MAX + 1);
    if (memchr(name + 1, '/', n - 1))
        return mv_error_set(err, MV_EVALUE, "shm: name '%s' has a '/' after the first byte", name);
    return 0;
}

/* Open `name`, creating it (mode 0600) when asked; *created says whether
 * this call made it.  O_CREAT alone cannot tell, so creation is tried with
 * O_EXCL first and an existing object opened without it; the loop covers
 * another process removing the name in between. */
static int open_object(const char *name, int flags, int oflag, bool *created, mv_error *err)
{
    *created = false;
    for (int tries = 0;; tries++) {
        if (flags & MV_SHM_CREATE) {
            int fd = shm_open(name, oflag | O_CREAT | O_EXCL, 0600);
            if (fd >= 0) {
                *created = true;
                return fd;
            }
            if (errno != EEXIST || (flags & MV_SHM_EXCL))
                return shm_os_error(err, errno, "cannot create", name);
        }
        int fd = shm_open(name, oflag, 0600);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT || !(flags & MV_SHM_CREATE) || tries >= 8)
            return shm_os_error(err, errno, "cannot open", name);
    }
}

mv_object *mv_shm_open(const char *name, int flags, ptrdiff_t size, mv_error *err)
{
    if (check_name(name, err) < 0)
        return NULL;
    if (flags & ~SHM_FLAGS) {
        mv_error_set(err, MV_EVALUE, "shm: invalid flags 0x%x", (unsigned)flags);
        return NULL;
    }
    if ((flags & MV_SHM_EXCL) && !(flags & MV_SHM_CREATE)) {
        mv_error_set(err, MV_EVALUE, "shm: MV_SHM_EXCL needs MV_SHM_CREATE");
        return NULL;
    }
    if (size < 0) {
        mv_error_set(err, MV_EVALUE, "shm: size must be >= 0, not %td", size);
        return NULL;
    }
    if ((off_t)size != size) {
        mv_error_set(err, MV_EOVERFLOW, "shm: size %td does not fit in off_t", size);
        return NULL;
    }

    bool readonly = (flags & MV_SHM_READONLY) != 0;
    /* Creating sets the size, and ftruncate needs a writable descriptor
     * even when the mapping will be read-only. */
    int oflag = (readonly && !(flags & MV_SHM_CREATE)) ? O_RDONLY : O_RDWR;
    bool created;
    int fd = open_object(name, flags, oflag, &created, err);
    if (fd < 0)
        return NULL;

    mv_object *obj = NULL;
    if (flags & MV_SHM_CREATE) {
        if (ftruncate(fd, (off_t)size) < 0) {
            shm_os_error(err, errno, "cannot set the size of", name);
            goto done;
        }
    } else {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            shm_os_error(err, errno, "cannot stat", name);
            goto done;
        }
        if (size != 0 && (intmax_t)st.st_size != (intmax_t)size) {
            mv_error_set(err, MV_EVALUE, "shm: size %td does not match the size of '%s' (%jd bytes)",
                         size, name, (intmax_t)st.st_size);
            goto done;
        }
    }
    obj = mv_mmap_new(fd, readonly ? MV_MAP_READ : MV_MAP_WRITE, 0, -1, name, err);

done:
    close(fd);
    if (!obj && created)
        shm_unlink(name);
    return obj;
}

int mv_shm_unlink(const char *name, mv_error *err)
{
    int rc = check_name(name, err);
    if (rc < 0)
        return rc;
    if (shm_unlink(name) < 0)
        return shm_os_error(err, errno, "cannot unlink", name);
    return 0;
}
