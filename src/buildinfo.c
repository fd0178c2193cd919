/* buildinfo.c: the Go build information of an ELF binary, read the way
 * `go version -m` reads it, in C.
 *
 * The Go linker writes a 32-byte header into the writable data, in its own
 * section .go.buildinfo when section headers are kept:
 *   0..13  "\xff Go buildinf:"
 *   14     pointer size (4 or 8)
 *   15     flags: 0x2 = the strings follow inline (Go >= 1.18), 0x1 = big endian
 *   16..31 Go >= 1.18: zero; before: two pointers to Go string headers
 *          (runtime.buildVersion and runtime.modinfo)
 * Go >= 1.18 then stores two uvarint-length-prefixed strings: the version
 * and the module info, which is framed by two 16-byte sentinels.
 *
 * Everything is read through one accessor (img_get) that serves either a
 * caller's buffer (buildinfo_parse: a pure function) or bounded pread()s
 * on a file (buildinfo_read: headers, the name table and the build info
 * only, never the whole binary), so both share every bounds check. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/util.h"

#define BI_MAGIC "\xff Go buildinf:"
#define BI_MAGIC_LEN 14
#define BI_HDR_LEN 32
#define BI_ALIGN 16
/* How far into its segment or section the header may sit: Go's own reader
 * looks at the first 64 KiB of the data. */
#define BI_SCAN_MAX ((uint64_t)64 << 10)
#define BI_VERSION_MAX 1024
/* A module info of thousands of dependencies stays far below this. */
#define BI_MODINFO_MAX ((uint64_t)4 << 20)
/* Program and section header tables, the section name table. */
#define BI_TABLE_MAX ((uint64_t)4 << 20)
#define BI_FILE_MAX ((uint64_t)1 << 30)
#define BI_SECTION_NAME ".go.buildinfo"

/* The sentinels cmd/go wraps the module info in (16 bytes each); Go checks
 * only the newline before the end one, and so do we. */
#define BI_SENTINEL_LEN 16

struct img {
        const uint8_t *buf; /* buffer mode; NULL: read from fd */
        int fd;
        uint64_t size;
};

struct view {
        const uint8_t *p;
        void *owned;
};

static void view_done(struct view *v) {
        free(v->owned);
        v->p = NULL;
        v->owned = NULL;
}

/* The bytes [off, off+len) of the image, or -EBADMSG when they are not all
 * inside it (a truncated or inconsistent file). */
static int img_get(const struct img *m, uint64_t off, uint64_t len, struct view *ret) {
        uint8_t *p;
        size_t done = 0;

        if (off > m->size || len > m->size - off)
                return -EBADMSG;
        if (m->buf) {
                *ret = (struct view){ m->buf + off, NULL };
                return 0;
        }
        /* Every caller bounds len far below this; keep the allocation
         * bounded even if one forgets. */
        if (len > BI_MODINFO_MAX)
                return -EBADMSG;
        p = malloc(len ? len : 1);
        if (!p)
                return -ENOMEM;
        while (done < len) {
                ssize_t k = pread(m->fd, p + done, len - done, (off_t)(off + done));

                if (k < 0) {
                        int r;

                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        free(p);
                        return r;
                }
                if (k == 0) { /* the file shrank under us */
                        free(p);
                        return -EBADMSG;
                }
                done += (size_t)k;
        }
        *ret = (struct view){ p, p };
        return 0;
}

static uint64_t rd(const uint8_t *p, unsigned n, bool be) {
        uint64_t v = 0;

        for (unsigned i = 0; i < n; i++)
                v = (v << 8) | p[be ? i : n - 1 - i];
        return v;
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

struct seg {
        uint32_t flags;
        uint64_t offset, vaddr, filesz;
};

struct elf {
        bool is64, be;
        uint64_t phoff, shoff, phnum, shnum, shstrndx;
        unsigned phentsize, shentsize;
        struct seg *segs; /* PT_LOAD only */
        size_t nsegs;
};

static void elf_done(struct elf *e) {
        free(e->segs);
        e->segs = NULL;
        e->nsegs = 0;
}

/* Section header fields, by class. */
struct shdr {
        uint32_t name, type;
        uint64_t offset, size;
        uint32_t link, info;
};

static void shdr_decode(const struct elf *e, const uint8_t *p, struct shdr *s) {
        bool be = e->be;

        s->name = (uint32_t)rd(p, 4, be);
        s->type = (uint32_t)rd(p + 4, 4, be);
        if (e->is64) {
                s->offset = rd(p + 24, 8, be);
                s->size = rd(p + 32, 8, be);
                s->link = (uint32_t)rd(p + 40, 4, be);
                s->info = (uint32_t)rd(p + 44, 4, be);
        } else {
                s->offset = rd(p + 16, 4, be);
                s->size = rd(p + 20, 4, be);
                s->link = (uint32_t)rd(p + 24, 4, be);
                s->info = (uint32_t)rd(p + 28, 4, be);
        }
}

/* A table of num entries of entsize bytes at off, bounded. */
static int get_table(const struct img *m, uint64_t off, uint64_t num, unsigned entsize, struct view *ret) {
        /* num <= 2^32 and entsize <= 2^16: the product cannot overflow. */
        if (num > UINT32_MAX || num * entsize > BI_TABLE_MAX)
                return -EBADMSG;
        return img_get(m, off, num * entsize, ret);
}

static int elf_load(const struct img *m, struct elf *ret) {
        struct elf e = {};
        struct view v = {};
        const uint8_t *p;
        unsigned ehsize;
        struct shdr sh0 = {};
        bool have_sh0 = false;
        int r;

        if (m->size < SELFMAG)
                return -ENOEXEC;
        r = img_get(m, 0, min_u64(m->size, 64), &v);
        if (r < 0)
                return r;
        p = v.p;
        if (memcmp(p, ELFMAG, SELFMAG) != 0) {
                view_done(&v);
                return -ENOEXEC;
        }
        /* From here on it claims to be ELF: anything wrong is inconsistent. */
        r = -EBADMSG;
        if (m->size < EI_NIDENT)
                goto out;
        if (p[EI_CLASS] == ELFCLASS64)
                e.is64 = true;
        else if (p[EI_CLASS] != ELFCLASS32)
                goto out;
        if (p[EI_DATA] == ELFDATA2MSB)
                e.be = true;
        else if (p[EI_DATA] != ELFDATA2LSB)
                goto out;
        ehsize = e.is64 ? 64 : 52;
        if (m->size < ehsize)
                goto out;
        if (e.is64) {
                e.phoff = rd(p + 32, 8, e.be);
                e.shoff = rd(p + 40, 8, e.be);
                e.phentsize = (unsigned)rd(p + 54, 2, e.be);
                e.phnum = rd(p + 56, 2, e.be);
                e.shentsize = (unsigned)rd(p + 58, 2, e.be);
                e.shnum = rd(p + 60, 2, e.be);
                e.shstrndx = rd(p + 62, 2, e.be);
        } else {
                e.phoff = rd(p + 28, 4, e.be);
                e.shoff = rd(p + 32, 4, e.be);
                e.phentsize = (unsigned)rd(p + 42, 2, e.be);
                e.phnum = rd(p + 44, 2, e.be);
                e.shentsize = (unsigned)rd(p + 46, 2, e.be);
                e.shnum = rd(p + 48, 2, e.be);
                e.shstrndx = rd(p + 50, 2, e.be);
        }
        view_done(&v);

        /* Extended numbering: the real counts live in section header 0
         * when they do not fit the ELF header's 16-bit fields. */
        if (e.shoff != 0 && (e.shnum == 0 || e.phnum == PN_XNUM || e.shstrndx == SHN_XINDEX)) {
                if (e.shentsize < (e.is64 ? 64u : 40u))
                        goto out;
                r = img_get(m, e.shoff, e.shentsize, &v);
                if (r < 0)
                        goto out;
                shdr_decode(&e, v.p, &sh0);
                view_done(&v);
                have_sh0 = true;
                r = -EBADMSG;
        }
        if (e.shoff != 0 && e.shnum == 0 && have_sh0)
                e.shnum = sh0.size;
        if (e.shstrndx == SHN_XINDEX)
                e.shstrndx = have_sh0 ? sh0.link : SHN_UNDEF;
        if (e.phnum == PN_XNUM && have_sh0)
                e.phnum = sh0.info;
        if (e.shoff == 0)
                e.shnum = 0;
        if (e.shnum > 0 && e.shentsize < (e.is64 ? 64u : 40u))
                goto out;

        if (e.phoff != 0 && e.phnum > 0) {
                if (e.phentsize < (e.is64 ? 56u : 32u))
                        goto out;
                r = get_table(m, e.phoff, e.phnum, e.phentsize, &v);
                if (r < 0)
                        goto out;
                e.segs = calloc(e.phnum, sizeof *e.segs);
                if (!e.segs) {
                        r = -ENOMEM;
                        goto out;
                }
                r = -EBADMSG;
                for (uint64_t i = 0; i < e.phnum; i++) {
                        const uint8_t *ph = v.p + i * e.phentsize;
                        struct seg s;

                        if (rd(ph, 4, e.be) != PT_LOAD)
                                continue;
                        if (e.is64) {
                                s.flags = (uint32_t)rd(ph + 4, 4, e.be);
                                s.offset = rd(ph + 8, 8, e.be);
                                s.vaddr = rd(ph + 16, 8, e.be);
                                s.filesz = rd(ph + 32, 8, e.be);
                        } else {
                                s.offset = rd(ph + 4, 4, e.be);
                                s.vaddr = rd(ph + 8, 4, e.be);
                                s.filesz = rd(ph + 16, 4, e.be);
                                s.flags = (uint32_t)rd(ph + 24, 4, e.be);
                        }
                        /* A segment whose file bytes run past the end:
                         * a truncated binary. */
                        if (s.offset > m->size || s.filesz > m->size - s.offset) {
                                view_done(&v);
                                goto out;
                        }
                        e.segs[e.nsegs++] = s;
                }
                view_done(&v);
        }
        *ret = e;
        return 0;
out:
        view_done(&v);
        elf_done(&e);
        return r;
}

/* 1 and the section's file range when .go.buildinfo exists, 0 when there
 * is no such section (or no section names at all). */
static int find_section(const struct img *m, const struct elf *e, uint64_t *ret_off, uint64_t *ret_size) {
        struct view tab = {}, strtab = {};
        struct shdr s;
        uint64_t strsize;
        int r = 0;

        if (e->shnum == 0)
                return 0;
        if (e->shstrndx == SHN_UNDEF || e->shstrndx >= e->shnum)
                return 0;
        r = get_table(m, e->shoff, e->shnum, e->shentsize, &tab);
        if (r < 0)
                return r;
        shdr_decode(e, tab.p + e->shstrndx * e->shentsize, &s);
        if (s.type == SHT_NOBITS || s.size > BI_TABLE_MAX) {
                r = -EBADMSG;
                goto out;
        }
        strsize = s.size;
        r = img_get(m, s.offset, strsize, &strtab);
        if (r < 0)
                goto out;
        r = 0;
        for (uint64_t i = 0; i < e->shnum; i++) {
                shdr_decode(e, tab.p + i * e->shentsize, &s);
                if (s.name >= strsize || strsize - s.name < sizeof BI_SECTION_NAME ||
                    memcmp(strtab.p + s.name, BI_SECTION_NAME, sizeof BI_SECTION_NAME) != 0)
                        continue;
                if (s.type == SHT_NOBITS || s.offset > m->size || s.size > m->size - s.offset) {
                        r = -EBADMSG;
                        goto out;
                }
                *ret_off = s.offset;
                *ret_size = s.size;
                r = 1;
                break;
        }
out:
        view_done(&strtab);
        view_done(&tab);
        return r;
}

/* The first 16-byte aligned header in [off, off+len) (alignment measured
 * from base, the address or offset off stands for). */
static int scan_magic(const struct img *m, uint64_t off, uint64_t len, uint64_t base, uint64_t *ret) {
        struct view v = {};
        int r;

        len = min_u64(len, BI_SCAN_MAX);
        if (len < BI_HDR_LEN)
                return 0;
        r = img_get(m, off, len, &v);
        if (r < 0)
                return r;
        r = 0;
        for (uint64_t i = (BI_ALIGN - base % BI_ALIGN) % BI_ALIGN; i + BI_HDR_LEN <= len; i += BI_ALIGN)
                if (memcmp(v.p + i, BI_MAGIC, BI_MAGIC_LEN) == 0) {
                        *ret = off + i;
                        r = 1;
                        break;
                }
        view_done(&v);
        return r;
}

/* The file offset of the header, and lim: the end of the file range the
 * data that follows it may use (its section or, beyond, its segment). */
static int locate(const struct img *m, const struct elf *e, uint64_t *ret_hdr, uint64_t *ret_lim) {
        uint64_t off = 0, size = 0, hdr = 0;
        int r;

        r = find_section(m, e, &off, &size);
        if (r < 0)
                return r;
        if (r > 0) {
                uint64_t lim = off + size;

                r = scan_magic(m, off, size, off, &hdr);
                if (r < 0)
                        return r;
                if (r == 0) /* named .go.buildinfo but without the magic */
                        return -EBADMSG;
                for (size_t i = 0; i < e->nsegs; i++) {
                        const struct seg *s = &e->segs[i];

                        if (off >= s->offset && off - s->offset < s->filesz && s->offset + s->filesz > lim)
                                lim = s->offset + s->filesz;
                }
                *ret_hdr = hdr;
                *ret_lim = lim;
                return 0;
        }

        /* No section headers (or no name table): the linker puts the
         * header at the start of the data, so scan writable, non-executable
         * loaded segments as Go does. */
        for (size_t i = 0; i < e->nsegs; i++) {
                const struct seg *s = &e->segs[i];

                if ((s->flags & (PF_X | PF_W)) != PF_W)
                        continue;
                r = scan_magic(m, s->offset, s->filesz, s->vaddr, &hdr);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_hdr = hdr;
                        *ret_lim = s->offset + s->filesz;
                        return 0;
                }
        }
        return -ENOMSG;
}

static int read_uvarint(const struct img *m, uint64_t off, uint64_t lim, uint64_t *ret_v, uint64_t *ret_next) {
        struct view v = {};
        uint64_t val = 0, avail;
        int r;

        if (off >= lim)
                return -EBADMSG;
        avail = min_u64(lim - off, 10);
        r = img_get(m, off, avail, &v);
        if (r < 0)
                return r;
        r = -EBADMSG;
        for (unsigned i = 0; i < avail; i++) {
                uint8_t b = v.p[i];

                if (i == 9 && b > 1) /* more than 64 bits */
                        break;
                val |= (uint64_t)(b & 0x7f) << (7 * i);
                if (b < 0x80) {
                        *ret_v = val;
                        *ret_next = off + i + 1;
                        r = 0;
                        break;
                }
        }
        view_done(&v);
        return r;
}

/* len bytes at off, copied and NUL-terminated (they may hold NULs: the
 * module info sentinels do). */
static int read_bytes(const struct img *m, uint64_t off, uint64_t len, char **ret, size_t *ret_len) {
        struct view v = {};
        char *s;
        int r;

        r = img_get(m, off, len, &v);
        if (r < 0)
                return r;
        s = malloc(len + 1);
        if (!s) {
                view_done(&v);
                return -ENOMEM;
        }
        memcpy(s, v.p, len);
        s[len] = 0;
        view_done(&v);
        *ret = s;
        *ret_len = len;
        return 0;
}

/* The file offset of [addr, addr+len) through the PT_LOAD segments. */
static int vaddr_to_off(const struct elf *e, uint64_t addr, uint64_t len, uint64_t *ret) {
        for (size_t i = 0; i < e->nsegs; i++) {
                const struct seg *s = &e->segs[i];

                if (addr < s->vaddr || addr - s->vaddr >= s->filesz)
                        continue;
                if (len > s->filesz - (addr - s->vaddr))
                        return -EBADMSG;
                *ret = s->offset + (addr - s->vaddr);
                return 0;
        }
        return -EBADMSG;
}

/* Pre-1.18: a Go string header {data pointer, length} at addr. */
static int read_go_string(const struct img *m, const struct elf *e, uint64_t addr, unsigned ps, bool be,
                          uint64_t max, char **ret, size_t *ret_len) {
        struct view v = {};
        uint64_t off, data, len;
        int r;

        r = vaddr_to_off(e, addr, 2 * ps, &off);
        if (r < 0)
                return r;
        r = img_get(m, off, 2 * ps, &v);
        if (r < 0)
                return r;
        data = rd(v.p, ps, be);
        len = rd(v.p + ps, ps, be);
        view_done(&v);
        if (len > max)
                return -EBADMSG;
        if (len == 0)
                off = 0;
        else {
                r = vaddr_to_off(e, data, len, &off);
                if (r < 0)
                        return r;
        }
        return read_bytes(m, off, len, ret, ret_len);
}

static bool version_valid(const char *v) {
        if (!*v)
                return false;
        for (; *v; v++)
                if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
                        return false;
        return true;
}

/* The value of the first line starting with key (a "word\t"), up to the
 * end of the line. */
static const char *line_value(const char *text, const char *key, size_t *ret_len) {
        size_t kl = strlen(key);

        for (const char *l = text; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t ll = nl ? (size_t)(nl - l) : strlen(l);

                if (ll >= kl && memcmp(l, key, kl) == 0) {
                        *ret_len = ll - kl;
                        return l + kl;
                }
                l = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* Fill path, main_module and main_version from the module info. */
static int fill_modinfo_fields(struct go_buildinfo *b) {
        const char *v;
        size_t n;

        v = line_value(b->modinfo, "path\t", &n);
        if (v) {
                b->path = strndup(v, n);
                if (!b->path)
                        return -ENOMEM;
        }
        v = line_value(b->modinfo, "mod\t", &n);
        if (v) {
                const char *t = memchr(v, '\t', n);
                size_t pl = t ? (size_t)(t - v) : n;

                b->main_module = strndup(v, pl);
                if (!b->main_module)
                        return -ENOMEM;
                if (t) {
                        const char *ver = t + 1, *end = v + n;
                        const char *t2 = memchr(ver, '\t', (size_t)(end - ver));

                        b->main_version = strndup(ver, (size_t)((t2 ? t2 : end) - ver));
                        if (!b->main_version)
                                return -ENOMEM;
                }
        }
        return 0;
}

static int parse_img(const struct img *m, struct go_buildinfo *ret) {
        struct elf e = {};
        struct view h = {};
        struct go_buildinfo b = {};
        char *mod = NULL;
        size_t modlen = 0, verlen = 0;
        uint64_t hdr = 0, lim = 0;
        unsigned ps;
        uint8_t flags;
        int r;

        r = elf_load(m, &e);
        if (r < 0)
                return r;
        r = locate(m, &e, &hdr, &lim);
        if (r < 0)
                goto out;
        r = img_get(m, hdr, BI_HDR_LEN, &h);
        if (r < 0)
                goto out;
        ps = h.p[14];
        flags = h.p[15];
        r = -EBADMSG;
        if (ps != 4 && ps != 8)
                goto out;
        b.ptr_size = ps;
        b.big_endian = flags & 1;
        b.elf_class = e.is64 ? 64 : 32;
        b.inline_strings = flags & 2;

        if (b.inline_strings) {
                uint64_t len, off;

                r = read_uvarint(m, hdr + BI_HDR_LEN, lim, &len, &off);
                if (r < 0)
                        goto out;
                r = -EBADMSG;
                if (len > BI_VERSION_MAX || len > lim - off)
                        goto out;
                r = read_bytes(m, off, len, &b.go_version, &verlen);
                if (r < 0)
                        goto out;
                r = read_uvarint(m, off + len, lim, &len, &off);
                if (r < 0)
                        goto out;
                r = -EBADMSG;
                if (len > BI_MODINFO_MAX || len > lim - off)
                        goto out;
                r = read_bytes(m, off, len, &mod, &modlen);
                if (r < 0)
                        goto out;
        } else {
                /* Old binaries say big endian with any non-zero flags. */
                bool be = flags != 0;

                b.big_endian = be;
                r = read_go_string(m, &e, rd(h.p + 16, ps, be), ps, be, BI_VERSION_MAX, &b.go_version, &verlen);
                if (r < 0)
                        goto out;
                r = read_go_string(m, &e, rd(h.p + 16 + ps, ps, be), ps, be, BI_MODINFO_MAX, &mod, &modlen);
                if (r < 0)
                        goto out;
        }
        r = -EBADMSG;
        if (strlen(b.go_version) != verlen || !version_valid(b.go_version))
                goto out;

        /* Strip the sentinels; a module info without them is no module info
         * (Go's rule). What is left must be text: a NUL would silently cut
         * it short. */
        if (modlen >= 2 * BI_SENTINEL_LEN + 1 && mod[modlen - BI_SENTINEL_LEN - 1] == '\n') {
                if (memchr(mod + BI_SENTINEL_LEN, 0, modlen - 2 * BI_SENTINEL_LEN))
                        goto out;
                b.modinfo = strndup(mod + BI_SENTINEL_LEN, modlen - 2 * BI_SENTINEL_LEN);
        } else
                b.modinfo = strdup("");
        if (!b.modinfo) {
                r = -ENOMEM;
                goto out;
        }
        r = fill_modinfo_fields(&b);
        if (r < 0)
                goto out;
        *ret = b;
        b = (struct go_buildinfo){};
        r = 0;
out:
        free(mod);
        view_done(&h);
        buildinfo_done(&b);
        elf_done(&e);
        return r;
}

int buildinfo_parse(const void *buf, size_t n, struct go_buildinfo *ret) {
        struct img m = { .buf = buf, .fd = -1, .size = n };

        if (!buf && n > 0)
                return -EINVAL;
        if (!buf) /* an empty file is no ELF */
                return -ENOEXEC;
        return parse_img(&m, ret);
}

int buildinfo_read(const char *path, struct go_buildinfo *ret) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        struct img m;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t)st.st_size > BI_FILE_MAX)
                return -EFBIG;
        m = (struct img){ .buf = NULL, .fd = fd, .size = (uint64_t)st.st_size };
        return parse_img(&m, ret);
}

void buildinfo_done(struct go_buildinfo *b) {
        if (!b)
                return;
        free(b->go_version);
        free(b->path);
        free(b->main_module);
        free(b->main_version);
        free(b->modinfo);
        *b = (struct go_buildinfo){};
}

static int parse_num(const char **p, unsigned *ret) {
        unsigned v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > 100000)
                        return -EINVAL;
                v = v * 10 + (unsigned)(*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

int go_version_parse(const char *v, unsigned *ret_major, unsigned *ret_minor, unsigned *ret_patch) {
        unsigned major, minor = 0, patch = 0, pre;
        const char *p;

        if (!v || strncmp(v, "go", 2) != 0)
                return -EINVAL;
        p = v + 2;
        if (parse_num(&p, &major) < 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (parse_num(&p, &minor) < 0)
                        return -EINVAL;
                if (*p == '.') {
                        p++;
                        if (parse_num(&p, &patch) < 0)
                                return -EINVAL;
                }
        }
        /* Pre-releases ("go1.25rc1", "go1.21beta2") count as the release
         * they lead to: the runtime's behaviour is already that one's. */
        if (strncmp(p, "rc", 2) == 0 || strncmp(p, "beta", 4) == 0) {
                p += p[0] == 'r' ? 2 : 4;
                if (patch != 0 || parse_num(&p, &pre) < 0)
                        return -EINVAL;
        }
        /* GOEXPERIMENT suffixes: " X:boringcrypto" after a space, or since
         * Go 1.26 (go.dev/issue/75953) "-X:goroutineleakprofile" after a
         * version without a '-' of its own. */
        if (*p != 0 && *p != ' ' && strncmp(p, "-X:", 3) != 0)
                return -EINVAL;
        *ret_major = major;
        *ret_minor = minor;
        *ret_patch = patch;
        return 0;
}

static size_t utf8_put(char *o, uint32_t c) {
        if (c < 0x80) {
                o[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                o[0] = (char)(0xc0 | (c >> 6));
                o[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                o[0] = (char)(0xe0 | (c >> 12));
                o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                o[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* The length of the Go string literal at the start of s[0..n), or -EINVAL. */
static ssize_t go_quoted_prefix(const char *s, size_t n) {
        if (n < 2)
                return -EINVAL;
        if (s[0] == '`') {
                const char *e = memchr(s + 1, '`', n - 1);

                return e ? e - s + 1 : -EINVAL;
        }
        if (s[0] != '"')
                return -EINVAL;
        for (size_t i = 1; i < n; i++) {
                if (s[i] == '\n')
                        return -EINVAL;
                if (s[i] == '\\')
                        i++;
                else if (s[i] == '"')
                        return (ssize_t)i + 1;
        }
        return -EINVAL;
}

int go_unquote(const char *s, size_t n, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t o = 0;

        if (n < 2 || s[0] != s[n - 1] || (s[0] != '"' && s[0] != '`'))
                return -EINVAL;
        out = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        if (s[0] == '`') {
                for (size_t i = 1; i < n - 1; i++) {
                        if (s[i] == '`' || s[i] == 0)
                                return -EINVAL;
                        if (s[i] != '\r') /* Go drops CRs in raw strings */
                                out[o++] = s[i];
                }
                out[o] = 0;
                *ret = out;
                out = NULL;
                return 0;
        }
        for (size_t i = 1; i < n - 1; i++) {
                uint32_t c;
                unsigned digits;

                if (s[i] == '"' || s[i] == '\n' || s[i] == 0)
                        return -EINVAL;
                if (s[i] != '\\') {
                        out[o++] = s[i];
                        continue;
                }
                if (++i >= n - 1)
                        return -EINVAL;
                switch (s[i]) {
                case 'a': out[o++] = '\a'; continue;
                case 'b': out[o++] = '\b'; continue;
                case 'f': out[o++] = '\f'; continue;
                case 'n': out[o++] = '\n'; continue;
                case 'r': out[o++] = '\r'; continue;
                case 't': out[o++] = '\t'; continue;
                case 'v': out[o++] = '\v'; continue;
                case '\\': out[o++] = '\\'; continue;
                case '"': out[o++] = '"'; continue;
                case 'x': digits = 2; break;
                case 'u': digits = 4; break;
                case 'U': digits = 8; break;
                case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
                        if (i + 2 >= n - 1)
                                return -EINVAL;
                        c = 0;
                        for (unsigned k = 0; k < 3; k++) {
                                if (s[i + k] < '0' || s[i + k] > '7')
                                        return -EINVAL;
                                c = c * 8 + (uint32_t)(s[i + k] - '0');
                        }
                        if (c > 255 || c == 0)
                                return -EINVAL;
                        out[o++] = (char)c;
                        i += 2;
                        continue;
                default:
                        return -EINVAL;
                }
                if (n - 1 - (i + 1) < digits)
                        return -EINVAL;
                c = 0;
                for (unsigned k = 0; k < digits; k++) {
                        int h = hex_digit(s[i + 1 + k]);

                        if (h < 0)
                                return -EINVAL;
                        c = c * 16 + (uint32_t)h;
                }
                i += digits;
                if (c == 0)
                        return -EINVAL;
                if (digits == 2)
                        out[o++] = (char)c; /* a raw byte */
                else {
                        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                                return -EINVAL;
                        o += utf8_put(out + o, c);
                }
        }
        out[o] = 0;
        *ret = out;
        out = NULL;
        return 0;
}

static bool contains_any(const char *s, size_t n, const char *set) {
        for (size_t i = 0; i < n; i++)
                if (s[i] == 0 || strchr(set, s[i]))
                        return true;
        return false;
}

/* One "build\t" line body (after the tab), as Go's ParseBuildInfo reads it. */
static int parse_setting(const char *kv, size_t n, struct go_build_setting *ret) {
        _cleanup_free_ char *key = NULL, *value = NULL;
        const char *raw;
        size_t rawlen;
        int r;

        if (n == 0 || kv[0] == '=')
                return -EBADMSG;
        if (kv[0] == '"' || kv[0] == '`') {
                ssize_t kl = go_quoted_prefix(kv, n);

                if (kl < 0 || (size_t)kl == n || kv[kl] != '=')
                        return -EBADMSG;
                r = go_unquote(kv, (size_t)kl, &key);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
                raw = kv + kl + 1;
                rawlen = n - (size_t)kl - 1;
        } else {
                const char *eq = memchr(kv, '=', n);

                if (!eq || contains_any(kv, (size_t)(eq - kv), " \t\r\n\"`"))
                        return -EBADMSG;
                key = strndup(kv, (size_t)(eq - kv));
                if (!key)
                        return -ENOMEM;
                raw = eq + 1;
                rawlen = n - (size_t)(eq - kv) - 1;
        }
        if (rawlen > 0 && (raw[0] == '"' || raw[0] == '`')) {
                r = go_unquote(raw, rawlen, &value);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
        } else {
                if (contains_any(raw, rawlen, " \t\r\n\"`"))
                        return -EBADMSG;
                value = strndup(raw, rawlen);
                if (!value)
                        return -ENOMEM;
        }
        ret->key = key;
        ret->value = value;
        key = value = NULL;
        return 0;
}

void buildinfo_settings_free(struct go_build_setting *s, size_t n) {
        if (!s)
                return;
        for (size_t i = 0; i < n; i++) {
                free(s[i].key);
                free(s[i].value);
        }
        free(s);
}

int buildinfo_settings(const struct go_buildinfo *b, struct go_build_setting **ret, size_t *ret_n) {
        struct go_build_setting *v = NULL;
        size_t n = 0, cap = 0;
        int r;

        if (!b || !b->modinfo)
                return -EINVAL;
        for (const char *l = b->modinfo; *l;) {
                const char *nl = strchr(l, '\n');
                size_t ll = nl ? (size_t)(nl - l) : strlen(l);

                if (ll >= 6 && memcmp(l, "build\t", 6) == 0) {
                        r = GROW_ARRAY(v, cap, n + 1, SIZE_MAX);
                        if (r < 0)
                                goto fail;
                        r = parse_setting(l + 6, ll - 6, &v[n]);
                        if (r < 0)
                                goto fail;
                        n++;
                }
                if (!nl)
                        break;
                l = nl + 1;
        }
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        buildinfo_settings_free(v, n);
        return r;
}

int buildinfo_setting(const struct go_buildinfo *b, const char *key, char **ret) {
        struct go_build_setting *s = NULL;
        size_t n = 0;
        int r;

        r = buildinfo_settings(b, &s, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n; i++)
                if (strcmp(s[i].key, key) == 0) {
                        *ret = s[i].value;
                        s[i].value = NULL;
                        r = 0;
                        break;
                }
        buildinfo_settings_free(s, n);
        return r;
}

void buildinfo_deps_free(struct go_module *m, size_t n) {
        if (!m)
                return;
        for (size_t i = 0; i < n; i++) {
                free(m[i].path);
                free(m[i].version);
                free(m[i].sum);
                free(m[i].replace_path);
                free(m[i].replace_version);
        }
        free(m);
}

/* Split "a\tb[\tc]" into 2 or 3 fields. */
static int split_fields(const char *s, size_t n, char *f[3]) {
        const char *end = s + n;
        unsigned k = 0;

        f[0] = f[1] = f[2] = NULL;
        while (k < 3) {
                const char *t = memchr(s, '\t', (size_t)(end - s));
                const char *fe = t ? t : end;

                f[k] = strndup(s, (size_t)(fe - s));
                if (!f[k])
                        goto nomem;
                k++;
                if (!t)
                        break;
                s = t + 1;
                if (k == 3) /* a fourth field */
                        goto bad;
        }
        if (k < 2)
                goto bad;
        if (!f[2] && !(f[2] = strdup("")))
                goto nomem;
        return 0;
bad:
        for (unsigned i = 0; i < 3; i++)
                free(f[i]);
        return -EBADMSG;
nomem:
        for (unsigned i = 0; i < 3; i++)
                free(f[i]);
        return -ENOMEM;
}

int buildinfo_deps(const struct go_buildinfo *b, struct go_module **ret, size_t *ret_n) {
        struct go_module *v = NULL;
        size_t n = 0, cap = 0;
        bool last_was_dep = false;
        int r;

        if (!b || !b->modinfo)
                return -EINVAL;
        for (const char *l = b->modinfo; *l;) {
                const char *nl = strchr(l, '\n');
                size_t ll = nl ? (size_t)(nl - l) : strlen(l);
                char *f[3];

                if (ll >= 4 && memcmp(l, "dep\t", 4) == 0) {
                        r = GROW_ARRAY(v, cap, n + 1, SIZE_MAX);
                        if (r < 0)
                                goto fail;
                        r = split_fields(l + 4, ll - 4, f);
                        if (r < 0)
                                goto fail;
                        v[n++] = (struct go_module){ .path = f[0], .version = f[1], .sum = f[2] };
                        last_was_dep = true;
                } else if (ll >= 3 && memcmp(l, "=>\t", 3) == 0) {
                        r = split_fields(l + 3, ll - 3, f);
                        if (r < 0)
                                goto fail;
                        /* A replacement of the main module (after "mod")
                         * is not a dependency's. */
                        if (last_was_dep && !v[n - 1].replace_path) {
                                v[n - 1].replace_path = f[0];
                                v[n - 1].replace_version = f[1];
                                free(f[2]);
                        } else {
                                for (unsigned i = 0; i < 3; i++)
                                        free(f[i]);
                        }
                        last_was_dep = false;
                } else
                        last_was_dep = false;
                if (!nl)
                        break;
                l = nl + 1;
        }
        *ret = v;
        *ret_n = n;
        return 0;
fail:
        buildinfo_deps_free(v, n);
        return r;
}

int buildinfo_runtime_sizes_gomaxprocs(const struct go_buildinfo *b) {
        _cleanup_free_ char *godebug = NULL;
        unsigned major, minor, patch;
        int r, on = 1;

        if (!b || !b->go_version)
                return -EINVAL;
        r = go_version_parse(b->go_version, &major, &minor, &patch);
        if (r < 0)
                return r;
        if (major < 1 || (major == 1 && minor < 25))
                return 0;
        /* The module's go line and //go:debug directives land in
         * DefaultGODEBUG: "containermaxprocs=0" there turns the cgroup
         * sizing off (a main module that says go < 1.25 gets it too). */
        r = buildinfo_setting(b, "DefaultGODEBUG", &godebug);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return r;
        for (const char *p = godebug; *p;) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);
                static const char k[] = "containermaxprocs=";

                /* The last occurrence wins, as in the runtime. */
                if (l >= sizeof k - 1 && memcmp(p, k, sizeof k - 1) == 0)
                        on = !(l == sizeof k && p[sizeof k - 1] == '0');
                if (!c)
                        break;
                p = c + 1;
        }
        return on;
}
