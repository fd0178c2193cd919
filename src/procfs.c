/* procfs.c: per-process samples from /proc (see procfs.h).
 *
 * Re-reading with pread(fd, buf, n, 0) is safe on these files: /proc/PID
 * stat and status, and cgroup.procs, are seq_files, and a read at offset 0
 * makes seq_file start again from the first record and regenerate the
 * text (seq_read_iter resets its iterator for ki_pos 0), so each pread is
 * a fresh snapshot; stat and status are printed by one show() call, so a
 * read that gets the whole file in one go is consistent in itself. A read
 * that fills the buffer might have been cut: it is refused (-EFBIG), never
 * parsed. */
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "gorral/procfs.h"
#include "gorral/util.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* stat is about 350 bytes, status about 1.4 KiB (a Go service's, with
 * its 8 KiB Mems_allowed on big NUMA hosts being the exception: that
 * makes -EFBIG, and ctx switches are optional). */
#define PROC_BUF 4096
/* How much of cgroup.procs a group sample reads. */
#define PROC_GROUP_PROCS_MAX ((size_t)64 << 10)

/* ---- parsers ---- */

static int bad(struct proc_parse_error *reterr, unsigned line, size_t col0, const char *reason) {
        if (reterr)
                *reterr = (struct proc_parse_error){ .line = line, .column = (unsigned)col0 + 1, .reason = reason };
        return -EBADMSG;
}

/* An optionally negative decimal at buf[*pos], ending at a space, '\n' or
 * the end. Its magnitude goes to *ret_u (when not NULL: the fields nobody
 * keeps are only checked, which is most of them), its sign to *ret_neg. */
static bool stat_number(const char *buf, size_t n, size_t *pos, uint64_t *ret_u, bool *ret_neg) {
        size_t p = *pos, start;
        bool neg = false;

        if (p < n && buf[p] == '-') {
                neg = true;
                p++;
        }
        start = p;
        while (p < n && buf[p] >= '0' && buf[p] <= '9')
                p++;
        if (p == start || p - start > 20 || (p < n && buf[p] != ' ' && buf[p] != '\n'))
                return false;
        if (ret_u && parse_u64_n(buf + start, p - start, ret_u) < 0)
                return false;
        *ret_neg = neg;
        *pos = p;
        return true;
}

int proc_parse_stat(const char *buf, size_t n, struct proc_stat *ret, struct proc_parse_error *reterr) {
        struct proc_stat st = {};
        const char *open, *close;
        size_t pos = 0;
        uint64_t u;
        bool neg;

        /* comm may hold anything but NUL, newlines included: the whole
         * file is one record and columns are byte offsets from its start. */
        if (memchr(buf, '\0', n))
                return bad(reterr, 1, (size_t)((const char *)memchr(buf, '\0', n) - buf), "NUL byte");
        if (!stat_number(buf, n, &pos, &u, &neg) || neg || u == 0 || u > INT32_MAX)
                return bad(reterr, 1, 0, "field 1 (pid) is not a positive number");
        st.pid = (pid_t)u;
        if (pos + 1 >= n || buf[pos] != ' ' || buf[pos + 1] != '(')
                return bad(reterr, 1, pos, "expected \" (\" after the pid");
        open = buf + pos + 1;
        close = memrchr(open, ')', n - (size_t)(open - buf));
        if (!close)
                return bad(reterr, 1, n, "no ')' ending field 2 (comm)");
        pos = (size_t)(close - buf) + 1;
        /* ") S " : the state is one character between two spaces. */
        if (pos + 2 >= n || buf[pos] != ' ' || buf[pos + 2] != ' ' || buf[pos + 1] == ' ' || buf[pos + 1] == '\n')
                return bad(reterr, 1, pos, "expected \" STATE \" after the comm");
        st.state = buf[pos + 1];
        pos += 2;
        for (unsigned field = 4; field <= 24; field++) {
                size_t start;
                bool keep;

                if (pos >= n || buf[pos] != ' ')
                        return bad(reterr, 1, pos, "fewer than 24 fields");
                start = ++pos;
                keep = field == 4 || field == 14 || field == 15 || field == 20 || field == 22 || field == 24;
                if (!stat_number(buf, n, &pos, keep ? &u : NULL, &neg))
                        return bad(reterr, 1, start, "a field is not a decimal number");
                /* The fields kept are unsigned in the kernel; ppid is a pid. */
                switch (field) {
                case 4:
                        if (neg || u > INT32_MAX)
                                return bad(reterr, 1, start, "field 4 (ppid) out of range");
                        st.ppid = (pid_t)u;
                        break;
                case 14: case 15: case 20: case 22: case 24:
                        if (neg)
                                return bad(reterr, 1, start, "negative value in an unsigned field");
                        if (field == 14)
                                st.utime_ticks = u;
                        else if (field == 15)
                                st.stime_ticks = u;
                        else if (field == 20)
                                st.num_threads = u;
                        else if (field == 22)
                                st.starttime_ticks = u;
                        else
                                st.rss_pages = u;
                        break;
                default:
                        break;
                }
        }
        *ret = st;
        return 0;
}

static const struct {
        const char *key;
        unsigned bit;
        bool kb; /* "   17844 kB" */
} status_keys[] = {
        { "Threads", PROC_STATUS_THREADS, false },
        { "VmRSS", PROC_STATUS_VMRSS, true },
        { "voluntary_ctxt_switches", PROC_STATUS_VCSW, false },
        { "nonvoluntary_ctxt_switches", PROC_STATUS_NVCSW, false },
};

int proc_parse_status(const char *buf, size_t n, struct proc_status *ret, struct proc_parse_error *reterr) {
        struct proc_status st = {};
        size_t pos = 0, len;
        const char *line;
        unsigned lineno = 0;

        while (buf_next_line(buf, n, &pos, &line, &len)) {
                const char *colon = memchr(line, ':', len), *nul = memchr(line, '\0', len);
                size_t klen, p, start;
                uint64_t v;
                size_t i;

                lineno++;
                if (nul)
                        return bad(reterr, lineno, (size_t)(nul - line), "NUL byte");
                if (!colon || colon == line)
                        return bad(reterr, lineno, colon ? 0 : len, "not a \"Key:\" line");
                klen = (size_t)(colon - line);
                for (i = 0; i < ELEMENTSOF(status_keys); i++)
                        if (strlen(status_keys[i].key) == klen && memcmp(line, status_keys[i].key, klen) == 0)
                                break;
                if (i == ELEMENTSOF(status_keys))
                        continue;
                if (st.present & status_keys[i].bit)
                        return bad(reterr, lineno, 0, "key given twice");
                /* "Key:\t<spaces>digits" (VmRSS then " kB"). */
                p = klen + 1;
                if (p >= len || line[p] != '\t')
                        return bad(reterr, lineno, p, "expected a tab after the ':'");
                p++;
                while (p < len && line[p] == ' ')
                        p++;
                start = p;
                while (p < len && line[p] >= '0' && line[p] <= '9')
                        p++;
                if (parse_u64_n(line + start, p - start, &v) < 0)
                        return bad(reterr, lineno, start, "value is not an unsigned decimal number");
                if (status_keys[i].kb) {
                        if (len - p != 3 || memcmp(line + p, " kB", 3) != 0)
                                return bad(reterr, lineno, p, "expected \" kB\" after the number");
                        if (v > UINT64_MAX / 1024)
                                return bad(reterr, lineno, start, "value out of range");
                        v *= 1024;
                        p = len;
                }
                if (p != len)
                        return bad(reterr, lineno, p, "trailing characters after the value");
                switch (status_keys[i].bit) {
                case PROC_STATUS_THREADS: st.threads = v; break;
                case PROC_STATUS_VMRSS: st.rss_bytes = v; break;
                case PROC_STATUS_VCSW: st.voluntary_ctxt_switches = v; break;
                default: st.nonvoluntary_ctxt_switches = v; break;
                }
                st.present |= status_keys[i].bit;
        }
        *ret = st;
        return 0;
}

/* ---- one process ---- */

struct proc_sampler {
        pid_t pid;
        int stat_fd, status_fd, fd_dir;
        bool fd_size_ok;        /* procfs: fstat's st_size is the fd count */
        long clk_tck, page_size;
        unsigned status_every, until_status;
};

void proc_sampler_status_every(struct proc_sampler *s, unsigned every) {
        s->status_every = every ? every : 1;
        s->until_status = 0;
}

pid_t proc_sampler_pid(const struct proc_sampler *s) {
        return s->pid;
}

struct proc_sampler *proc_sampler_free(struct proc_sampler *s) {
        if (!s)
                return NULL;
        safe_close(s->stat_fd);
        safe_close(s->status_fd);
        safe_close(s->fd_dir);
        free(s);
        return NULL;
}
DEFINE_CLEANUP_FUNC(struct proc_sampler *, proc_sampler_free)

int proc_sampler_open(const char *proc_root, pid_t pid, unsigned what, struct proc_sampler **ret) {
        _cleanup_(proc_sampler_freep) struct proc_sampler *s = NULL;
        _cleanup_close_ int dfd = -1;
        char path[64];
        _cleanup_free_ char *dir = NULL;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof path, "%d", (int)pid);
        dir = path_join(proc_root && *proc_root ? proc_root : "/proc", path);
        if (!dir)
                return -ENOMEM;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (struct proc_sampler){ .pid = pid, .stat_fd = -1, .status_fd = -1, .fd_dir = -1 };
        s->clk_tck = sysconf(_SC_CLK_TCK);
        s->page_size = sysconf(_SC_PAGESIZE);
        if (s->clk_tck <= 0 || s->page_size <= 0)
                return -EINVAL;

        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        s->stat_fd = openat(dfd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (s->stat_fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        if (what & PROC_SAMPLE_CTXSW) {
                s->status_fd = openat(dfd, "status", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (s->status_fd < 0 && errno == ESRCH)
                        return -ESRCH;
        }
        if (what & PROC_SAMPLE_FDS) {
                /* EACCES without ptrace access to the process: no fd count. */
                s->fd_dir = openat(dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (s->fd_dir >= 0) {
                        struct statfs sfs;

                        /* st_size of /proc/PID/fd is the number of open fds
                         * since Linux 6.2 (0 before); a fixture directory's
                         * st_size is its block size, so only trust procfs. */
                        s->fd_size_ok = fstatfs(s->fd_dir, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
                } else if (errno == ESRCH)
                        return -ESRCH;
        }
        *ret = s;
        s = NULL;
        return 0;
}

/* pread the whole file at offset 0 into buf (PROC_BUF). */
struct linux_dirent64_hdr {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
};

/* Count the entries of an open directory but "." and "..". */
static int count_dir(int fd, uint64_t *ret) {
        char buf[4096] __attribute__((aligned(8)));
        uint64_t count = 0;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        for (;;) {
                long r = syscall(SYS_getdents64, fd, buf, sizeof buf);

                if (r < 0)
                        return negative_errno();
                if (r == 0)
                        break;
                for (long off = 0; off < r;) {
                        struct linux_dirent64_hdr h;
                        const char *name = buf + off + offsetof(struct linux_dirent64_hdr, type) + 1;

                        memcpy(&h, buf + off, sizeof h);
                        if (h.reclen == 0)
                                return -EIO;
                        if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))))
                                count++;
                        off += h.reclen;
                }
        }
        *ret = count;
        return 0;
}

static uint64_t ticks_to_usec(uint64_t ticks, long hz) {
        uint64_t h = (uint64_t)hz;

        return ticks / h * 1000000 + ticks % h * 1000000 / h;
}

static int read_err(struct proc_read_error *e, const char *file, pid_t pid, int err, const struct proc_parse_error *where) {
        if (e) {
                *e = (struct proc_read_error){ .file = file, .pid = pid, .err = err };
                if (where)
                        e->where = *where;
        }
        return err;
}

int proc_sampler_read(struct proc_sampler *s, struct proc_sample *ret, struct proc_read_error *ret_err) {
        char buf[PROC_BUF];
        struct proc_parse_error where;
        struct proc_sample out = {};
        struct proc_stat st;
        ssize_t n;
        int r;

        n = pread_whole(s->stat_fd, buf, sizeof buf);
        if (n < 0)
                return read_err(ret_err, "stat", s->pid, (int)n, NULL);
        r = proc_parse_stat(buf, (size_t)n, &st, &where);
        if (r < 0)
                return read_err(ret_err, "stat", s->pid, r, &where);
        out.threads = st.num_threads;
        out.utime_usec = ticks_to_usec(st.utime_ticks, s->clk_tck);
        out.stime_usec = ticks_to_usec(st.stime_ticks, s->clk_tck);
        out.starttime_usec = ticks_to_usec(st.starttime_ticks, s->clk_tck);
        out.present = PROC_HAS_THREADS | PROC_HAS_CPU | PROC_HAS_START;
        /* A kernel thread and a zombie have no mm: rss 0 means "none",
         * and status has no VmRSS then either. */
        if (st.rss_pages > 0 && st.rss_pages <= UINT64_MAX / (uint64_t)s->page_size) {
                out.rss_bytes = st.rss_pages * (uint64_t)s->page_size;
                out.present |= PROC_HAS_RSS;
        }

        if (s->fd_dir >= 0) {
                struct stat sb;

                if (fstat(s->fd_dir, &sb) < 0)
                        return read_err(ret_err, "fd", s->pid, errno == ENOENT ? -ESRCH : negative_errno(), NULL);
                if (s->fd_size_ok && sb.st_size > 0)
                        out.fds = (uint64_t)sb.st_size;
                else {
                        r = count_dir(s->fd_dir, &out.fds);
                        if (r < 0)
                                return read_err(ret_err, "fd", s->pid, r == -ENOENT ? -ESRCH : r, NULL);
                }
                out.present |= PROC_HAS_FDS;
        }

        if (s->status_fd >= 0 && s->until_status > 0)
                s->until_status--;
        else if (s->status_fd >= 0) {
                struct proc_status ps;

                s->until_status = s->status_every > 1 ? s->status_every - 1 : 0;
                n = pread_whole(s->status_fd, buf, sizeof buf);
                if (n < 0)
                        return read_err(ret_err, "status", s->pid, (int)n, NULL);
                r = proc_parse_status(buf, (size_t)n, &ps, &where);
                if (r < 0)
                        return read_err(ret_err, "status", s->pid, r, &where);
                if ((ps.present & (PROC_STATUS_VCSW | PROC_STATUS_NVCSW)) == (PROC_STATUS_VCSW | PROC_STATUS_NVCSW)) {
                        out.voluntary_ctxt_switches = ps.voluntary_ctxt_switches;
                        out.nonvoluntary_ctxt_switches = ps.nonvoluntary_ctxt_switches;
                        out.present |= PROC_HAS_CTXSW;
                }
        }
        *ret = out;
        return 0;
}

/* ---- every process of a cgroup ---- */

struct proc_member {
        pid_t pid;
        struct proc_sampler *s;
};

struct proc_group {
        char *proc_root;
        unsigned what;
        pid_t main_pid;               /* 0: none */
        unsigned main_what, main_status_every;
        int procs_fd;
        struct proc_member m[PROC_GROUP_MAX_PIDS];
        size_t n;
};

struct proc_group *proc_group_free(struct proc_group *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n; i++)
                proc_sampler_free(g->m[i].s);
        safe_close(g->procs_fd);
        free(g->proc_root);
        free(g);
        return NULL;
}
DEFINE_CLEANUP_FUNC(struct proc_group *, proc_group_free)

void proc_group_set_main(struct proc_group *g, pid_t pid, unsigned what, unsigned status_every) {
        g->main_pid = pid;
        g->main_what = what | g->what;
        g->main_status_every = status_every;
}

int proc_group_open(const char *proc_root, const char *cgroup_dir, unsigned what, struct proc_group **ret) {
        _cleanup_(proc_group_freep) struct proc_group *g = NULL;
        _cleanup_free_ char *path = path_join(cgroup_dir, "cgroup.procs");

        if (!path)
                return -ENOMEM;
        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->procs_fd = -1;
        g->what = what;
        if (proc_root && *proc_root && !(g->proc_root = strdup(proc_root)))
                return -ENOMEM;
        g->procs_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (g->procs_fd < 0)
                return negative_errno();
        *ret = g;
        g = NULL;
        return 0;
}

/* The distinct pids of cgroup.procs, the first PROC_GROUP_MAX_PIDS of them
 * (in file order), and the number of entries. */
static int read_procs(struct proc_group *g, pid_t *pids, size_t *ret_n, unsigned *ret_entries, bool *ret_trunc,
                      struct proc_read_error *ret_err) {
        char buf[PROC_BUF];
        size_t carry = 0, n_pids = 0;
        uint64_t off = 0;
        unsigned entries = 0, lineno = 0;
        bool trunc = false;

        /* Sequential preads: seq_file continues where the last read ended
         * when the offset is that position (and restarts at 0). */
        while (off < PROC_GROUP_PROCS_MAX) {
                ssize_t k;
                size_t len, start = 0;

                do
                        k = pread(g->procs_fd, buf + carry, sizeof buf - carry, (off_t)off);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return read_err(ret_err, "cgroup.procs", 0, negative_errno(), NULL);
                off += (uint64_t)k;
                len = carry + (size_t)k;
                for (size_t i = 0; i < len; i++) {
                        uint64_t v;
                        bool seen = false;

                        if (buf[i] != '\n')
                                continue;
                        lineno++;
                        if (parse_u64_n(buf + start, i - start, &v) < 0 || v == 0 || v > INT32_MAX) {
                                struct proc_parse_error w = { .line = lineno, .column = 1,
                                                              .reason = "not a positive pid" };
                                return read_err(ret_err, "cgroup.procs", 0, -EBADMSG, &w);
                        }
                        entries++;
                        start = i + 1;
                        for (size_t j = 0; j < n_pids && !seen; j++)
                                seen = pids[j] == (pid_t)v;
                        if (seen)
                                continue;
                        if (n_pids < PROC_GROUP_MAX_PIDS)
                                pids[n_pids++] = (pid_t)v;
                        else
                                trunc = true;
                }
                carry = len - start;
                if (k == 0) {
                        if (carry > 0) {
                                struct proc_parse_error w = { .line = lineno + 1, .column = 1,
                                                              .reason = "last line has no newline" };
                                return read_err(ret_err, "cgroup.procs", 0, -EBADMSG, &w);
                        }
                        break;
                }
                if (carry == sizeof buf) {
                        struct proc_parse_error w = { .line = lineno + 1, .column = 1, .reason = "line too long" };
                        return read_err(ret_err, "cgroup.procs", 0, -EBADMSG, &w);
                }
                memmove(buf, buf + start, carry);
        }
        if (off >= PROC_GROUP_PROCS_MAX)
                trunc = true;
        *ret_n = n_pids;
        *ret_entries = entries;
        *ret_trunc = trunc;
        return 0;
}

int proc_group_read(struct proc_group *g, struct proc_group_sample *ret, struct proc_read_error *ret_err) {
        pid_t pids[PROC_GROUP_MAX_PIDS];
        struct proc_member next[PROC_GROUP_MAX_PIDS];
        struct proc_group_sample out = {};
        size_t n_pids = 0, n_next = 0;
        unsigned present = PROC_HAS_THREADS | PROC_HAS_CPU | PROC_HAS_RSS;
        bool failed = false;
        int r;

        if (g->what & PROC_SAMPLE_FDS)
                present |= PROC_HAS_FDS;
        if (g->what & PROC_SAMPLE_CTXSW)
                present |= PROC_HAS_CTXSW;
        r = read_procs(g, pids, &n_pids, &out.n_pids, &out.truncated, ret_err);
        if (r < 0)
                return r;

        /* Keep the samplers of pids still listed, open the new ones. */
        for (size_t i = 0; i < n_pids; i++) {
                struct proc_sampler *s = NULL;

                for (size_t j = 0; j < g->n; j++)
                        if (g->m[j].s && g->m[j].pid == pids[i]) {
                                s = g->m[j].s;
                                g->m[j].s = NULL;
                                break;
                        }
                if (!s) {
                        bool main = g->main_pid && pids[i] == g->main_pid;

                        r = proc_sampler_open(g->proc_root, pids[i], main ? g->main_what : g->what, &s);
                        if (r == 0 && main)
                                proc_sampler_status_every(s, g->main_status_every);
                        if (r == -ESRCH) {
                                out.n_gone++;
                                continue;
                        }
                        if (r < 0) {
                                out.n_failed++;
                                if (!failed)
                                        read_err(ret_err, "stat", pids[i], r, NULL);
                                failed = true;
                                continue;
                        }
                }
                next[n_next++] = (struct proc_member){ .pid = pids[i], .s = s };
        }
        for (size_t j = 0; j < g->n; j++)
                proc_sampler_free(g->m[j].s);
        memcpy(g->m, next, n_next * sizeof *next);
        g->n = n_next;

        for (size_t i = 0; i < g->n; i++) {
                struct proc_read_error e;
                struct proc_sample p;

                r = proc_sampler_read(g->m[i].s, &p, &e);
                if (r == -ESRCH) {
                        out.n_gone++;
                        continue;
                }
                if (r < 0) {
                        out.n_failed++;
                        if (!failed && ret_err)
                                *ret_err = e;
                        failed = true;
                        continue;
                }
                if (g->main_pid && g->m[i].pid == g->main_pid) {
                        /* Its context switches stay its own: the sum has
                         * them only when every member was asked for them. */
                        out.main = p;
                        out.has_main = true;
                }
                /* rss is absent for a zombie: it adds nothing, so do not
                 * let it make the whole sum absent. */
                if (!(p.present & PROC_HAS_RSS))
                        p.present |= PROC_HAS_RSS;
                present &= p.present;
                out.sum.threads += p.threads;
                out.sum.utime_usec += p.utime_usec;
                out.sum.stime_usec += p.stime_usec;
                out.sum.rss_bytes += p.rss_bytes;
                out.sum.fds += p.fds;
                out.sum.voluntary_ctxt_switches += p.voluntary_ctxt_switches;
                out.sum.nonvoluntary_ctxt_switches += p.nonvoluntary_ctxt_switches;
                out.n_summed++;
        }
        /* A sum that misses a process it could not read is not one. */
        out.sum.present = out.n_failed ? 0 : present & ~PROC_HAS_START;
        *ret = out;
        return 0;
}
