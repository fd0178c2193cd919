/* procfs.h: per-process samples from /proc (L1), for the monitor.
 *
 * Two pure parsers over buffers (proc_parse_stat, proc_parse_status) and
 * two readers that keep their files open and re-read them with
 * pread(fd, buf, n, 0) every sample:
 *   - struct proc_sampler: one process (a service's main process);
 *   - struct proc_group: every process of a cgroup (its cgroup.procs),
 *     summed, bounded to PROC_GROUP_MAX_PIDS processes.
 *
 * What is read, and why (measured on this host, 6.18, 2 vCPU; one
 * pread of a kept-open fd, CPU time):
 *   /proc/PID/stat     3.3-3.8 us  threads, utime+stime, rss, starttime
 *   /proc/PID/status   9.1-9.5 us  the same plus the context switches
 *   fstat(/proc/PID/fd) 0.6-0.8 us open fds (st_size, Linux >= 6.2)
 *   getdents64 of it   5.7 us for 11 fds, 120 us for 280
 * So a sample reads stat and fstat()s the fd directory; status only with
 * PROC_SAMPLE_CTXSW. Its voluntary/nonvoluntary_ctxt_switches are the
 * main thread's alone (the kernel prints the leader task's counters, not
 * the thread group's: 1 against 844-1277 for each of 4 busy threads,
 * measured), so for a Go service they say little, at 2.5x the cost.
 * utime/stime in stat are the whole thread group's.
 *
 * An fd on /proc/PID/... belongs to that process, not to the number: once
 * it exits its files say ESRCH (reads) or ENOENT (fstat of fd/), even if
 * the pid is reused, so a sampler never reports another process. Nothing
 * here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where a buffer was found malformed: 1-based line and byte column, and a
 * static sentence. */
struct proc_parse_error {
        unsigned line, column;
        const char *reason;
};

/* /proc/PID/stat, in the kernel's units (clock ticks, pages). comm (field
 * 2) may hold spaces and ')': it ends at the last ')' of the buffer.
 * Fields after rss (24) are not looked at: kernels append fields. */
struct proc_stat {
        pid_t pid;
        char state;                  /* 'R', 'S', 'Z', ... */
        pid_t ppid;
        uint64_t utime_ticks;        /* sysconf(_SC_CLK_TCK) per second */
        uint64_t stime_ticks;
        uint64_t num_threads;
        uint64_t starttime_ticks;    /* since boot */
        uint64_t rss_pages;          /* sysconf(_SC_PAGESIZE) each; 0 for a kernel thread */
};
/* 0, or -EBADMSG with *reterr (may be NULL) set: fewer than 24 fields, no
 * "(comm)", a field that is not a number, a NUL byte. */
int proc_parse_stat(const char *buf, size_t n, struct proc_stat *ret, struct proc_parse_error *reterr);

/* /proc/PID/status: the fields a sample uses, each with its presence bit
 * (a kernel thread and a zombie have no VmRSS). */
enum {
        PROC_STATUS_THREADS = 1u << 0,
        PROC_STATUS_VMRSS = 1u << 1,
        PROC_STATUS_VCSW = 1u << 2,
        PROC_STATUS_NVCSW = 1u << 3,
};
struct proc_status {
        unsigned present;            /* PROC_STATUS_* */
        uint64_t threads;
        uint64_t rss_bytes;          /* VmRSS (the file says kB: KiB) */
        uint64_t voluntary_ctxt_switches;    /* the main thread's (see the top) */
        uint64_t nonvoluntary_ctxt_switches;
};
/* Every line must be "Key:" then a value; the four keys above must have a
 * well-formed value ("Threads:\t56", "VmRSS:\t   17844 kB"); other lines
 * are skipped. 0 or -EBADMSG with *reterr (may be NULL) set. */
int proc_parse_status(const char *buf, size_t n, struct proc_status *ret, struct proc_parse_error *reterr);

/* One sample, converted to bytes and microseconds; a value not read is
 * absent (its bit clear), never 0. */
enum {
        PROC_HAS_THREADS = 1u << 0,
        PROC_HAS_CPU = 1u << 1,      /* utime_usec, stime_usec */
        PROC_HAS_RSS = 1u << 2,
        PROC_HAS_START = 1u << 3,
        PROC_HAS_FDS = 1u << 4,
        PROC_HAS_CTXSW = 1u << 5,    /* voluntary/nonvoluntary */
};
struct proc_sample {
        unsigned present;            /* PROC_HAS_* */
        uint64_t threads;
        uint64_t utime_usec, stime_usec;
        uint64_t rss_bytes;
        uint64_t starttime_usec;     /* since boot: tells a new process behind a pid */
        uint64_t fds;                /* open file descriptors */
        uint64_t voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
};

/* What a sampler reads besides /proc/PID/stat. */
enum {
        PROC_SAMPLE_FDS = 1u << 0,   /* the open fd count (default) */
        PROC_SAMPLE_CTXSW = 1u << 1, /* /proc/PID/status too (see the top) */
        PROC_SAMPLE_DEFAULT = PROC_SAMPLE_FDS,
};

/* Why a read failed, for the caller to log once (with the pid and file it
 * names) and count. */
struct proc_read_error {
        const char *file;            /* "stat", "status", "fd" or "cgroup.procs" (static) */
        pid_t pid;                   /* 0 for cgroup.procs */
        int err;                     /* -EBADMSG, -EFBIG, -errno */
        struct proc_parse_error where; /* for -EBADMSG */
};

struct proc_sampler;

/* Open /proc/PID's files under proc_root (NULL: "/proc"; tests give a
 * fixture tree). 0; -ESRCH/-ENOENT when there is no such process; -EINVAL
 * for pid <= 0; -ENOMEM; -errno from open(). A part that cannot be opened
 * (EACCES on fd/ without ptrace access) is left out, and absent from every
 * sample, until the sampler is opened again. */
int proc_sampler_open(const char *proc_root, pid_t pid, unsigned what, struct proc_sampler **ret);
/* Read one sample. 0; -ESRCH when the process is gone (then the sampler is
 * spent: free it); -EBADMSG when a file's content was refused; -EFBIG when
 * it outgrew the buffer (4 KiB); -errno. On failure *ret_err (may be NULL)
 * says which file and why. *ret is written only on success. */
int proc_sampler_read(struct proc_sampler *s, struct proc_sample *ret, struct proc_read_error *ret_err);
/* PROC_SAMPLE_CTXSW: read status at the next sample and then every
 * every-th one only (0 or 1: every sample); in between the context
 * switches are absent (PROC_HAS_CTXSW clear), not stale. status is the
 * dearest file of a sample (about 12 us here: the kernel formats some 60
 * lines for two numbers). */
void proc_sampler_status_every(struct proc_sampler *s, unsigned every);
pid_t proc_sampler_pid(const struct proc_sampler *s);
struct proc_sampler *proc_sampler_free(struct proc_sampler *s); /* NULL-safe; returns NULL */

/* Processes summed at most per sample, each with two kept-open fds (stat
 * and fd/): a service with more has a truncated sum (the first
 * PROC_GROUP_MAX_PIDS in cgroup.procs order) and says so. */
#define PROC_GROUP_MAX_PIDS 64

/* The sum over a cgroup's processes. threads, CPU, rss and fds add up
 * (starttime is never present here). The CPU sum is not a counter: it
 * drops when a process exits (its time goes to the parent, gorral, not in
 * the cgroup); the cgroup's cpu.stat usage is the one that only grows. */
struct proc_group_sample {
        struct proc_sample sum;      /* present: what every summed process gave */
        unsigned n_pids;             /* in cgroup.procs */
        unsigned n_summed;           /* in the sum */
        unsigned n_gone;             /* listed, then exited before being read */
        unsigned n_failed;           /* listed, but a read failed otherwise (*ret_err) */
        bool truncated;              /* more than PROC_GROUP_MAX_PIDS distinct pids */
        bool has_main;               /* the proc_group_set_main() process was read: */
        struct proc_sample main;     /* its own sample */
};

struct proc_group;

/* cgroup_dir: the cgroup whose cgroup.procs lists the processes (the
 * service's v2 directory, or its v1 cpu or memory one). proc_root as
 * above. 0, -ENOENT when there is no cgroup.procs, -ENOMEM, -errno. */
int proc_group_open(const char *proc_root, const char *cgroup_dir, unsigned what, struct proc_group **ret);
/* Read cgroup.procs and sample each process (samplers of processes seen
 * last time are kept, others opened, those gone closed). n_pids counts the
 * entries of cgroup.procs (the kernel may list a pid twice), reading at
 * most 64 KiB of it (about 9000 pids). 0, also when some processes failed
 * (n_failed, the first one's error in *ret_err, may be NULL): the sum is
 * then absent (sum.present 0), the counts are still there. -EBADMSG (*ret_err) when cgroup.procs is malformed;
 * -ENODEV when the cgroup was removed; -errno. An empty cgroup is 0 with
 * n_pids 0 and zero sums. */
int proc_group_read(struct proc_group *g, struct proc_group_sample *ret, struct proc_read_error *ret_err);
/* The service's main process, when it is one of the group's: sampled with
 * what (e.g. PROC_SAMPLE_CTXSW as well) and status every status_every-th
 * sample, and its own sample returned in ->main, so that nobody reads its
 * stat a second time for its own figures (4 us a sample here). Takes
 * effect when its sampler is next opened (call it before the first read). */
void proc_group_set_main(struct proc_group *g, pid_t pid, unsigned what, unsigned status_every);
struct proc_group *proc_group_free(struct proc_group *g); /* NULL-safe; returns NULL */
