/* Unit tests for buildinfo.c: real Go 1.19 build info (shrunk cross-built
 * fixtures, and the full binaries of build/goapps when built), synthetic
 * ELF files built in memory for the layouts no local toolchain makes
 * (pre-1.18 pointers, both classes and byte orders, no section headers),
 * damaged files, and the version, settings and GOMAXPROCS rules. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/util.h"

#ifndef GOAPPS
#define GOAPPS FIXTURES "/../../build/goapps"
#endif

static const uint8_t sentinel_start[16] = { 0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02,
                                            0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6 };
static const uint8_t sentinel_end[16] = { 0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72,
                                          0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2 };

/* ---- synthetic ELF files ---- */

struct synth {
        bool is64, be;
        bool inline_strings;   /* Go >= 1.18 layout; false: pointers */
        bool sections;         /* section headers with .go.buildinfo */
        unsigned hdr_shift;    /* header offset inside the data segment */
        const char *version;
        const char *modinfo;   /* the text; wrapped in sentinels unless raw_mod */
        bool raw_mod;
        unsigned ptr_size;     /* 0: 8 for ELF64, 4 for ELF32 */
        bool data_exec;        /* data segment R-X instead of RW */
        bool nobits;           /* the section is SHT_NOBITS */
        int bad_ptr;           /* pre-1.18: 1 version pointer outside every segment,
                                  2 module info length past the segment's end */
};

#define DATA_OFF 0x200u
#define DATA_VADDR 0x40200u
#define SYNTH_MAX 8192

struct w {
        uint8_t *b;
        bool be;
};

static void put(struct w *w, size_t off, uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                w->b[off + (w->be ? n - 1 - i : i)] = (uint8_t)(v >> (8 * i));
}

static size_t put_uvarint(uint8_t *p, uint64_t v) {
        size_t n = 0;

        while (v >= 0x80) {
                p[n++] = (uint8_t)(v | 0x80);
                v >>= 7;
        }
        p[n++] = (uint8_t)v;
        return n;
}

/* Build s into buf (SYNTH_MAX bytes); returns the length. */
static size_t synth_build(const struct synth *s, uint8_t *buf) {
        struct w w = { buf, s->be };
        unsigned ps = s->ptr_size ? s->ptr_size : (s->is64 ? 8 : 4);
        unsigned ehsize = s->is64 ? 64 : 52, phsize = s->is64 ? 56 : 32, shsize = s->is64 ? 64 : 40;
        uint8_t mod[4096];
        size_t modlen = 0, p, data_end, hdr = DATA_OFF + s->hdr_shift;
        size_t vlen = strlen(s->version), mlen_at = 0, md_at = 0;

        memset(buf, 0, SYNTH_MAX);
        if (s->raw_mod) {
                modlen = strlen(s->modinfo);
                memcpy(mod, s->modinfo, modlen);
        } else if (s->modinfo) {
                memcpy(mod, sentinel_start, 16);
                modlen = strlen(s->modinfo);
                memcpy(mod + 16, s->modinfo, modlen);
                memcpy(mod + 16 + modlen, sentinel_end, 16);
                modlen += 32;
        }

        /* The build info. */
        memcpy(buf + hdr, "\xff Go buildinf:", 14);
        buf[hdr + 14] = (uint8_t)ps;
        buf[hdr + 15] = (uint8_t)((s->inline_strings ? 2 : 0) | (s->be ? 1 : 0));
        p = hdr + 32;
        if (s->inline_strings) {
                p += put_uvarint(buf + p, vlen);
                memcpy(buf + p, s->version, vlen);
                p += vlen;
                p += put_uvarint(buf + p, modlen);
                memcpy(buf + p, mod, modlen);
                p += modlen;
        } else {
                size_t vh = p, mh = p + 2 * ps, vd = p + 4 * ps, md = vd + vlen;

                put(&w, hdr + 16, s->bad_ptr == 1 ? 0x9990000 : DATA_VADDR + (vh - DATA_OFF), ps);
                put(&w, hdr + 16 + ps, DATA_VADDR + (mh - DATA_OFF), ps);
                put(&w, vh, DATA_VADDR + (vd - DATA_OFF), ps);
                put(&w, vh + ps, vlen, ps);
                put(&w, mh, DATA_VADDR + (md - DATA_OFF), ps);
                put(&w, mh + ps, modlen, ps);
                mlen_at = mh + ps;
                md_at = md;
                memcpy(buf + vd, s->version, vlen);
                memcpy(buf + md, mod, modlen);
                p = md + modlen;
        }
        data_end = (p + 15) & ~(size_t)15;
        if (s->bad_ptr == 2) /* 16 bytes past the segment, still inside the file */
                put(&w, mlen_at, data_end - md_at + 16, ps);

        /* ELF header. */
        memcpy(buf, "\x7f" "ELF", 4);
        buf[4] = s->is64 ? 2 : 1;
        buf[5] = s->be ? 2 : 1;
        buf[6] = 1;
        put(&w, 16, 2, 2);                 /* ET_EXEC */
        put(&w, 18, s->is64 ? 62 : 3, 2); /* machine */
        put(&w, 20, 1, 4);
        if (s->is64) {
                put(&w, 32, ehsize, 8);    /* phoff */
                put(&w, 52, ehsize, 2);
                put(&w, 54, phsize, 2);
                put(&w, 56, 2, 2);
                put(&w, 58, shsize, 2);
        } else {
                put(&w, 28, ehsize, 4);
                put(&w, 40, ehsize, 2);
                put(&w, 42, phsize, 2);
                put(&w, 44, 2, 2);
                put(&w, 46, shsize, 2);
        }

        /* Two PT_LOAD: text (R-X) over the headers, data (RW-) at DATA_OFF. */
        for (unsigned i = 0; i < 2; i++) {
                size_t ph = ehsize + i * phsize;
                uint64_t off = i ? DATA_OFF : 0, vaddr = i ? DATA_VADDR : 0x40000, filesz = i ? data_end - DATA_OFF : DATA_OFF;
                uint32_t flags = i ? (s->data_exec ? 5 : 6) : 5;

                put(&w, ph, 1, 4);
                if (s->is64) {
                        put(&w, ph + 4, flags, 4);
                        put(&w, ph + 8, off, 8);
                        put(&w, ph + 16, vaddr, 8);
                        put(&w, ph + 24, vaddr, 8);
                        put(&w, ph + 32, filesz, 8);
                        put(&w, ph + 40, filesz, 8);
                        put(&w, ph + 48, 0x1000, 8);
                } else {
                        put(&w, ph + 4, off, 4);
                        put(&w, ph + 8, vaddr, 4);
                        put(&w, ph + 12, vaddr, 4);
                        put(&w, ph + 16, filesz, 4);
                        put(&w, ph + 20, filesz, 4);
                        put(&w, ph + 24, flags, 4);
                        put(&w, ph + 28, 0x1000, 4);
                }
        }
        if (!s->sections)
                return data_end;

        /* Sections: null, .go.buildinfo (the data segment), .shstrtab. */
        static const char names[] = "\0.go.buildinfo\0.shstrtab";
        size_t stroff = data_end, shoff = (stroff + sizeof names + 7) & ~(size_t)7;

        memcpy(buf + stroff, names, sizeof names);
        if (s->is64) {
                put(&w, 40, shoff, 8);
                put(&w, 60, 3, 2);
                put(&w, 62, 2, 2);
        } else {
                put(&w, 32, shoff, 4);
                put(&w, 48, 3, 2);
                put(&w, 50, 2, 2);
        }
        for (unsigned i = 1; i < 3; i++) {
                size_t sh = shoff + i * shsize;
                uint32_t name = i == 1 ? 1 : 15, type = i == 1 ? (s->nobits ? 8 : 1) : 3;
                uint64_t off = i == 1 ? DATA_OFF : stroff, size = i == 1 ? data_end - DATA_OFF : sizeof names;
                uint64_t addr = i == 1 ? DATA_VADDR : 0;

                put(&w, sh, name, 4);
                put(&w, sh + 4, type, 4);
                if (s->is64) {
                        put(&w, sh + 16, addr, 8);
                        put(&w, sh + 24, off, 8);
                        put(&w, sh + 32, size, 8);
                } else {
                        put(&w, sh + 12, addr, 4);
                        put(&w, sh + 16, off, 4);
                        put(&w, sh + 20, size, 4);
                }
        }
        return shoff + 3 * shsize;
}

static const char modtext[] = "path\texample.com/svc\n"
                              "mod\texample.com/svc\tv1.2.3\th1:abc=\n"
                              "dep\tgithub.com/a/b\tv0.1.0\th1:x=\n"
                              "dep\tgithub.com/c/d\tv1.0.0\t\n"
                              "=>\t../d\t(devel)\t\n"
                              "build\t-compiler=gc\n"
                              "build\t-ldflags=\"-s -w -X main.v=1\"\n"
                              "build\tCGO_ENABLED=0\n"
                              "build\tDefaultGODEBUG=panicnil=1,containermaxprocs=0\n";

static void check_synth(struct synth s) {
        static uint8_t buf[SYNTH_MAX];
        struct go_buildinfo b = {};
        size_t n = synth_build(&s, buf);
        int r = buildinfo_parse(buf, n, &b);

        cr_assert_eq(r, 0, "is64=%d be=%d inline=%d sections=%d shift=%u: r=%d", s.is64, s.be, s.inline_strings,
                     s.sections, s.hdr_shift, r);
        cr_assert_str_eq(b.go_version, s.version);
        cr_assert_str_eq(b.modinfo, s.modinfo);
        cr_assert_str_eq(b.path, "example.com/svc");
        cr_assert_str_eq(b.main_module, "example.com/svc");
        cr_assert_str_eq(b.main_version, "v1.2.3");
        cr_assert_eq(b.big_endian, s.be);
        cr_assert_eq(b.ptr_size, s.is64 ? 8u : 4u);
        cr_assert_eq(b.elf_class, s.is64 ? 64u : 32u);
        cr_assert_eq(b.inline_strings, s.inline_strings);
        buildinfo_done(&b);
        cr_assert_null(b.go_version);
}

Test(buildinfo, synthetic_every_layout) {
        for (unsigned m = 0; m < 16; m++) {
                struct synth s = {
                        .is64 = m & 1, .be = m & 2, .inline_strings = m & 4, .sections = m & 8,
                        .version = (m & 4) ? "go1.21.5" : "go1.16.15", .modinfo = modtext,
                };

                check_synth(s);
                s.hdr_shift = 0x40; /* not at the start of the data: found by the aligned scan */
                check_synth(s);
        }
}

static int synth_parse(const struct synth *s, struct go_buildinfo *b) {
        static uint8_t buf[SYNTH_MAX];
        size_t n = synth_build(s, buf);

        return buildinfo_parse(buf, n, b);
}

Test(buildinfo, synthetic_not_found_and_damaged) {
        struct go_buildinfo b = {};
        struct synth base = { .is64 = true, .inline_strings = true, .version = "go1.20.1", .modinfo = modtext };
        struct synth s;

        /* Misaligned header: Go's reader would not find it either. */
        s = base;
        s.hdr_shift = 8;
        cr_assert_eq(synth_parse(&s, &b), -ENOMSG);
        /* Only in an executable segment: not data. */
        s = base;
        s.data_exec = true;
        cr_assert_eq(synth_parse(&s, &b), -ENOMSG);
        /* A named .go.buildinfo that occupies no file bytes. */
        s = base;
        s.sections = true;
        s.nobits = true;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Named, but the magic is not in it. */
        s = base;
        s.sections = true;
        s.hdr_shift = 8;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Pointer size 3. */
        s = base;
        s.ptr_size = 3;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Pre-1.18 pointer to nowhere. */
        s = base;
        s.inline_strings = false;
        s.bad_ptr = 1;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Pre-1.18 string running past the end of its segment (into the
         * section table, so still inside the file). */
        s.bad_ptr = 2;
        s.sections = true;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        s.is64 = false;
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Empty version. */
        s = base;
        s.version = "";
        cr_assert_eq(synth_parse(&s, &b), -EBADMSG);
        /* Module info without its sentinels: no module info, as in Go. */
        s = base;
        s.raw_mod = true;
        cr_assert_eq(synth_parse(&s, &b), 0);
        cr_assert_str_eq(b.modinfo, "");
        cr_assert_null(b.path);
        buildinfo_done(&b);
        /* No module info at all. */
        s = base;
        s.modinfo = NULL;
        cr_assert_eq(synth_parse(&s, &b), 0);
        cr_assert_str_eq(b.go_version, "go1.20.1");
        cr_assert_str_eq(b.modinfo, "");
        buildinfo_done(&b);
}

Test(buildinfo, synthetic_bad_lengths) {
        static uint8_t buf[SYNTH_MAX];
        struct synth s = { .is64 = true, .inline_strings = true, .version = "go1.20.1", .modinfo = modtext };
        struct go_buildinfo b = {};
        size_t n = synth_build(&s, buf), hdr = DATA_OFF;

        /* Version length past the data. */
        buf[hdr + 32] = 0xff;
        buf[hdr + 33] = 0x7f;
        cr_assert_eq(buildinfo_parse(buf, n, &b), -EBADMSG);
        /* A uvarint longer than 64 bits. */
        memset(buf + hdr + 32, 0xff, 10);
        buf[hdr + 42] = 0x01;
        cr_assert_eq(buildinfo_parse(buf, n, &b), -EBADMSG);
        /* A NUL inside the version. */
        n = synth_build(&s, buf);
        buf[hdr + 34] = 0;
        cr_assert_eq(buildinfo_parse(buf, n, &b), -EBADMSG);
        /* A NUL inside the module info text. */
        n = synth_build(&s, buf);
        buf[hdr + 33 + 8 + 2 + 16 + 3] = 0;
        cr_assert_eq(buildinfo_parse(buf, n, &b), -EBADMSG);
        /* A data segment that runs past the end of the file. */
        n = synth_build(&s, buf);
        cr_assert_eq(buildinfo_parse(buf, n - 1, &b), -EBADMSG);
}

/* Every prefix of every layout: an error, never a crash or a read past
 * the end (ASan checks the latter). */
Test(buildinfo, synthetic_every_truncation) {
        static uint8_t buf[SYNTH_MAX];

        for (unsigned m = 0; m < 16; m++) {
                struct synth s = { .is64 = m & 1, .be = m & 2, .inline_strings = m & 4, .sections = m & 8,
                                   .version = "go1.19.8", .modinfo = modtext };
                size_t n = synth_build(&s, buf);

                for (size_t k = 0; k < n; k++) {
                        struct go_buildinfo b = {};
                        uint8_t *copy = malloc(k ? k : 1);
                        int r;

                        memcpy(copy, buf, k);
                        r = buildinfo_parse(copy, k, &b);
                        cr_assert(r == -ENOEXEC || r == -EBADMSG || r == -ENOMSG || r == 0, "m=%u k=%zu r=%d", m,
                                  k, r);
                        if (r == 0)
                                buildinfo_done(&b);
                        free(copy);
                }
        }
}

Test(buildinfo, not_elf) {
        struct go_buildinfo b = {};

        cr_assert_eq(buildinfo_parse("", 0, &b), -ENOEXEC);
        cr_assert_eq(buildinfo_parse(NULL, 0, &b), -ENOEXEC);
        cr_assert_eq(buildinfo_parse("#!/bin/sh\necho hi\n", 18, &b), -ENOEXEC);
        cr_assert_eq(buildinfo_parse("\x7f" "EL", 3, &b), -ENOEXEC);
        cr_assert_eq(buildinfo_parse("\x7f" "ELF", 4, &b), -EBADMSG);
        cr_assert_eq(buildinfo_parse("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", 16, &b), -EBADMSG);
        cr_assert_eq(buildinfo_read(FIXTURES "/buildinfo/goprobe-386.expected", &b), -ENOEXEC);
        cr_assert_eq(buildinfo_read(FIXTURES "/buildinfo/does-not-exist", &b), -ENOENT);
        cr_assert_eq(buildinfo_read(FIXTURES "/buildinfo", &b), -EISDIR);
        cr_assert_eq(buildinfo_read("/dev/null", &b), -EINVAL);
        cr_assert_null(b.go_version);
}

Test(buildinfo, non_go_elf) {
        struct go_buildinfo b = {};
        const char *bins[] = { "/bin/true", "/bin/sh", "/usr/bin/env" };

        for (size_t i = 0; i < ELEMENTSOF(bins); i++)
                if (access(bins[i], R_OK) == 0)
                        cr_assert_eq(buildinfo_read(bins[i], &b), -ENOMSG, "%s", bins[i]);
}

/* ---- real Go 1.19 build info ---- */

/* Compare b with `go version -m` output: "NAME: goX" then "\tLINE" lines,
 * which are the module info lines. */
static void compare_go_version_m(const struct go_buildinfo *b, const char *expected) {
        const char *colon = strstr(expected, ": ");
        const char *nl = strchr(expected, '\n');
        _cleanup_free_ char *mod = NULL;
        size_t o = 0;

        cr_assert_not_null(colon);
        cr_assert_not_null(nl);
        cr_assert_eq((size_t)(nl - colon - 2), strlen(b->go_version));
        cr_assert_eq(strncmp(colon + 2, b->go_version, (size_t)(nl - colon - 2)), 0);
        mod = malloc(strlen(expected) + 1);
        for (const char *l = nl + 1; *l; l++)
                if (l[-1] == '\n' && *l == '\t')
                        continue; /* drop the indentation */
                else
                        mod[o++] = *l;
        mod[o] = 0;
        cr_assert_str_eq(b->modinfo, mod);
}

static const struct {
        const char *name;
        unsigned elf_class;
        bool be;
        const char *goarch;
} fixtures[] = {
        { "goprobe-386", 32, false, "386" },
        { "goprobe-mips", 32, true, "mips" },
        { "goprobe-s390x", 64, true, "s390x" },
        { "goprobe-arm64", 64, false, "arm64" },
        { "goprobe-mod-amd64", 64, false, "amd64" },
};

Test(buildinfo, real_fixtures) {
        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
                char path[512], exp[512];
                _cleanup_free_ char *expected = NULL, *file = NULL, *arch = NULL;
                size_t n;
                struct go_buildinfo b = {}, b2 = {};

                snprintf(path, sizeof path, FIXTURES "/buildinfo/%s.elf", fixtures[i].name);
                snprintf(exp, sizeof exp, FIXTURES "/buildinfo/%s.expected", fixtures[i].name);
                cr_assert_eq(read_file(exp, 65536, &expected, &n), 0);
                cr_assert_eq(buildinfo_read(path, &b), 0, "%s", path);
                cr_assert_str_eq(b.go_version, "go1.19.8");
                cr_assert_eq(b.elf_class, fixtures[i].elf_class);
                cr_assert_eq(b.big_endian, fixtures[i].be, "%s", fixtures[i].name);
                cr_assert_eq(b.ptr_size, fixtures[i].elf_class / 8);
                cr_assert(b.inline_strings);
                compare_go_version_m(&b, expected);
                cr_assert_eq(buildinfo_setting(&b, "GOARCH", &arch), 0);
                cr_assert_str_eq(arch, fixtures[i].goarch);
                cr_assert_eq(buildinfo_runtime_sizes_gomaxprocs(&b), 0);

                /* The pure parser over the whole file agrees with the reader. */
                cr_assert_eq(read_file(path, 65536, &file, &n), 0);
                cr_assert_eq(buildinfo_parse(file, n, &b2), 0);
                cr_assert_str_eq(b2.modinfo, b.modinfo);
                buildinfo_done(&b);
                buildinfo_done(&b2);
        }
}

Test(buildinfo, real_fixture_settings) {
        struct go_buildinfo b = {};
        struct go_build_setting *s = NULL;
        size_t n = 0;
        char *v = NULL;

        cr_assert_eq(buildinfo_read(FIXTURES "/buildinfo/goprobe-mips.elf", &b), 0);
        cr_assert_str_eq(b.path, "goprobe");
        cr_assert_null(b.main_module);
        cr_assert_eq(buildinfo_setting(&b, "-ldflags", &v), 0);
        cr_assert_str_eq(v, "-s -w"); /* unquoted */
        free(v);
        cr_assert_eq(buildinfo_setting(&b, "-trimpath", &v), -ENOENT);
        cr_assert_eq(buildinfo_settings(&b, &s, &n), 0);
        cr_assert_eq(n, 6);
        cr_assert_str_eq(s[0].key, "-compiler");
        cr_assert_str_eq(s[0].value, "gc");
        cr_assert_str_eq(s[5].key, "GOMIPS");
        cr_assert_str_eq(s[5].value, "softfloat");
        buildinfo_settings_free(s, n);
        buildinfo_done(&b);

        cr_assert_eq(buildinfo_read(FIXTURES "/buildinfo/goprobe-mod-amd64.elf", &b), 0);
        cr_assert_str_eq(b.path, "example.com/goprobe");
        cr_assert_str_eq(b.main_module, "example.com/goprobe");
        cr_assert_str_eq(b.main_version, "(devel)");
        cr_assert_eq(buildinfo_setting(&b, "-trimpath", &v), 0);
        cr_assert_str_eq(v, "true");
        free(v);
        buildinfo_done(&b);
}

/* The full binaries of `make goapps`, when built (the fixtures above do not
 * depend on them). */
static bool goapps_built(void) {
        return access(GOAPPS "/goprobe", R_OK) == 0;
}

Test(buildinfo, goapps_binaries) {
        static const struct {
                const char *name, *key, *value;
        } cases[] = {
                { "goprobe", "CGO_ENABLED", "1" },
                { "goprobe-trimpath", "-trimpath", "true" },
                { "goprobe-nocgo", "CGO_ENABLED", "0" },
                { "goprobe-stripped", "-ldflags", "-s -w" },
                { "goservice", "GOOS", "linux" },
        };

        if (!goapps_built())
                cr_skip_test("build/goapps not built (make goapps)");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char path[512];
                struct go_buildinfo b = {};
                char *v = NULL;
                unsigned ma, mi, pa;

                snprintf(path, sizeof path, GOAPPS "/%s", cases[i].name);
                if (access(path, R_OK) != 0)
                        continue;
                cr_assert_eq(buildinfo_read(path, &b), 0, "%s", path);
                cr_assert_eq(go_version_parse(b.go_version, &ma, &mi, &pa), 0);
                cr_assert_eq(ma, 1);
                cr_assert_eq(mi, 19, "%s", b.go_version);
                cr_assert_eq(buildinfo_setting(&b, cases[i].key, &v), 0, "%s %s", path, cases[i].key);
                cr_assert_str_eq(v, cases[i].value);
                free(v);
                cr_assert_eq(buildinfo_runtime_sizes_gomaxprocs(&b), 0);
                buildinfo_done(&b);
        }
}

/* A real binary with its section headers removed (as sstrip does): found
 * by scanning the writable segment, as `go version -m` does. */
Test(buildinfo, goapps_without_section_headers) {
        _cleanup_free_ char *file = NULL;
        size_t n;
        struct go_buildinfo a = {}, b = {};

        if (!goapps_built())
                cr_skip_test("build/goapps not built (make goapps)");
        cr_assert_eq(read_file(GOAPPS "/goprobe", 64 << 20, &file, &n), 0);
        cr_assert_eq(buildinfo_parse(file, n, &a), 0);
        cr_assert_eq(file[4], 2); /* ELF64 LE: e_shoff at 40, e_shnum at 60, e_shstrndx at 62 */
        memset(file + 40, 0, 8);
        memset(file + 60, 0, 4);
        cr_assert_eq(buildinfo_parse(file, n, &b), 0);
        cr_assert_str_eq(a.go_version, b.go_version);
        cr_assert_str_eq(a.modinfo, b.modinfo);
        buildinfo_done(&a);
        buildinfo_done(&b);
}

/* ---- versions, settings, the GOMAXPROCS rule ---- */

Test(buildinfo, go_version_parse) {
        static const struct {
                const char *v;
                int r;
                unsigned ma, mi, pa;
        } t[] = {
                { "go1.19.8", 0, 1, 19, 8 },
                { "go1.25rc1", 0, 1, 25, 0 },
                { "go1.21beta2", 0, 1, 21, 0 },
                { "go1.22", 0, 1, 22, 0 },
                { "go1.21.0", 0, 1, 21, 0 },
                { "go1", 0, 1, 0, 0 },
                { "go1.22.3 X:boringcrypto", 0, 1, 22, 3 },
                { "go2.0.1", 0, 2, 0, 1 },
                { "devel go1.26-abcdef Mon Jan 1 00:00:00 2026 +0000", -EINVAL, 0, 0, 0 },
                { "go1.19.8rc1", -EINVAL, 0, 0, 0 },
                { "go1.", -EINVAL, 0, 0, 0 },
                { "go", -EINVAL, 0, 0, 0 },
                { "", -EINVAL, 0, 0, 0 },
                { "1.19.8", -EINVAL, 0, 0, 0 },
                { "go1.19.8-bookworm", -EINVAL, 0, 0, 0 },
                { "go1.x", -EINVAL, 0, 0, 0 },
                { "go99999999999.1", -EINVAL, 0, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                unsigned ma = 77, mi = 77, pa = 77;
                int r = go_version_parse(t[i].v, &ma, &mi, &pa);

                cr_assert_eq(r, t[i].r, "%s: %d", t[i].v, r);
                if (r == 0) {
                        cr_assert_eq(ma, t[i].ma, "%s", t[i].v);
                        cr_assert_eq(mi, t[i].mi, "%s", t[i].v);
                        cr_assert_eq(pa, t[i].pa, "%s", t[i].v);
                } else
                        cr_assert(ma == 77 && mi == 77 && pa == 77, "outputs written on failure");
        }
        cr_assert_eq(go_version_parse(NULL, NULL, NULL, NULL), -EINVAL);
}

static struct go_buildinfo fake(const char *version, const char *modinfo) {
        return (struct go_buildinfo){ .go_version = strdup(version), .modinfo = strdup(modinfo) };
}

Test(buildinfo, runtime_sizes_gomaxprocs) {
        static const struct {
                const char *v, *mod;
                int want;
        } t[] = {
                { "go1.19.8", "path\tx\n", 0 },
                { "go1.24.6", "path\tx\n", 0 },
                { "go1.25.0", "path\tx\nbuild\tGOOS=linux\n", 1 },
                { "go1.25rc1", "", 1 },
                { "go1.26.1", "build\tDefaultGODEBUG=containermaxprocs=0,updatemaxprocs=0\n", 0 },
                { "go1.25.1", "build\tDefaultGODEBUG=asynctimerchan=1,containermaxprocs=0\n", 0 },
                { "go1.25.1", "build\tDefaultGODEBUG=updatemaxprocs=0\n", 1 },
                { "go1.25.1", "build\tDefaultGODEBUG=containermaxprocs=0,containermaxprocs=1\n", 1 },
                { "go1.25.1", "build\tDefaultGODEBUG=xcontainermaxprocs=0\n", 1 },
                { "go1.25.1", "build\tDefaultGODEBUG=\"containermaxprocs=0\"\n", 0 },
                { "devel go1.26-abc", "", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                struct go_buildinfo b = fake(t[i].v, t[i].mod);

                cr_assert_eq(buildinfo_runtime_sizes_gomaxprocs(&b), t[i].want, "%s %s", t[i].v, t[i].mod);
                buildinfo_done(&b);
        }
}

Test(buildinfo, settings_quoting) {
        struct go_buildinfo b = fake("go1.22.0", "path\tx\n"
                                                 "build\t-ldflags=\"-X main.version=1.0 -s\"\n"
                                                 "build\t\"we=ird key\"=`raw \"value\"`\n"
                                                 "build\t-tags=netgo\n"
                                                 "build\tCGO_CFLAGS=\n"
                                                 "build\tvcs.time=2024-01-02T03:04:05Z\n"
                                                 "build\tX=\"tab\\there \\u00e9\\x41\"\n");
        struct go_build_setting *s = NULL;
        size_t n = 0;
        char *v = NULL;

        cr_assert_eq(buildinfo_settings(&b, &s, &n), 0);
        cr_assert_eq(n, 6);
        cr_assert_str_eq(s[0].value, "-X main.version=1.0 -s");
        cr_assert_str_eq(s[1].key, "we=ird key");
        cr_assert_str_eq(s[1].value, "raw \"value\"");
        cr_assert_str_eq(s[3].key, "CGO_CFLAGS");
        cr_assert_str_eq(s[3].value, "");
        cr_assert_str_eq(s[5].value, "tab\there \xc3\xa9" "A");
        buildinfo_settings_free(s, n);
        cr_assert_eq(buildinfo_setting(&b, "vcs.time", &v), 0);
        cr_assert_str_eq(v, "2024-01-02T03:04:05Z");
        free(v);
        cr_assert_eq(buildinfo_setting(&b, "missing", &v), -ENOENT);
        buildinfo_done(&b);

        /* Lines Go's own parser rejects. */
        static const char *bad[] = {
                "build\t=v\n", "build\tnoequals\n", "build\tk=a b\n", "build\t\"k\"v\n",
                "build\tk=\"unterminated\n", "build\t\"k=v\n", "build\tk=\"\\q\"\n", "build\tk w=v\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                b = fake("go1.22.0", bad[i]);
                cr_assert_eq(buildinfo_settings(&b, &s, &n), -EBADMSG, "%s", bad[i]);
                buildinfo_done(&b);
        }
}

Test(buildinfo, go_unquote) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                { "\"\"", "" },
                { "\"a\\\\b\\\"c\"", "a\\b\"c" },
                { "\"\\a\\b\\f\\n\\r\\t\\v\"", "\a\b\f\n\r\t\v" },
                { "\"\\101\\x42\\u0043\\U0001F600\"", "ABC\xf0\x9f\x98\x80" },
                { "`a\\nb`", "a\\nb" },
                { "`x\ry`", "xy" },
        };
        static const char *bad[] = {
                "", "\"", "\"abc", "abc\"", "'a'", "\"\\\"", "\"\\x4\"", "\"\\x00\"", "\"\\000\"",
                "\"\\400\"", "\"\\ud800\"", "\"\\U00110000\"", "\"\\'\"", "\"a\nb\"", "`a`b`", "\"a\"b\"",
        };
        char *r = NULL;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                cr_assert_eq(go_unquote(ok[i].in, strlen(ok[i].in), &r), 0, "%s", ok[i].in);
                cr_assert_str_eq(r, ok[i].out);
                free(r);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(go_unquote(bad[i], strlen(bad[i]), &r), -EINVAL, "%s", bad[i]);
}

Test(buildinfo, deps) {
        struct go_buildinfo b = fake("go1.22.0", modtext);
        struct go_module *m = NULL;
        size_t n = 0;

        cr_assert_eq(buildinfo_deps(&b, &m, &n), 0);
        cr_assert_eq(n, 2);
        cr_assert_str_eq(m[0].path, "github.com/a/b");
        cr_assert_str_eq(m[0].version, "v0.1.0");
        cr_assert_str_eq(m[0].sum, "h1:x=");
        cr_assert_null(m[0].replace_path);
        cr_assert_str_eq(m[1].path, "github.com/c/d");
        cr_assert_str_eq(m[1].sum, "");
        cr_assert_str_eq(m[1].replace_path, "../d");
        cr_assert_str_eq(m[1].replace_version, "(devel)");
        buildinfo_deps_free(m, n);
        buildinfo_done(&b);

        b = fake("go1.22.0", "dep\tonlyonefield\n");
        cr_assert_eq(buildinfo_deps(&b, &m, &n), -EBADMSG);
        buildinfo_done(&b);
        b = fake("go1.22.0", "dep\ta\tb\tc\td\n");
        cr_assert_eq(buildinfo_deps(&b, &m, &n), -EBADMSG);
        buildinfo_done(&b);
}

/* ELF extended numbering: e_shnum 0 and e_shstrndx SHN_XINDEX, the real
 * values in section header 0. The segment is made read-only so that only
 * the section table can lead to the build info. */
Test(buildinfo, extended_section_numbering) {
        _cleanup_free_ char *file = NULL;
        size_t n;
        uint64_t shoff;
        struct go_buildinfo b = {};

        cr_assert_eq(read_file(FIXTURES "/buildinfo/goprobe-arm64.elf", 65536, &file, &n), 0);
        cr_assert_eq(file[4], 2); /* ELF64 LE */
        memcpy(&shoff, file + 40, 8);
        cr_assert_lt(shoff + 64, n);
        file[64 + 4] = 4;                    /* p_flags: R only */
        memset(file + 60, 0, 2);             /* e_shnum = 0 */
        memset(file + 62, 0xff, 2);          /* e_shstrndx = SHN_XINDEX */
        file[shoff + 32] = 3;                /* sh[0].sh_size = 3 sections */
        file[shoff + 40] = 2;                /* sh[0].sh_link = name table index */
        cr_assert_eq(buildinfo_parse(file, n, &b), 0);
        cr_assert_str_eq(b.go_version, "go1.19.8");
        buildinfo_done(&b);

        file[shoff + 32] = 0; /* no sections at all: and no writable segment */
        cr_assert_eq(buildinfo_parse(file, n, &b), -ENOMSG);
}
