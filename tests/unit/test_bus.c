/* Unit tests for the pure parts of src/bus.c: the object path labels
 * (the same as systemd's sd_bus_path_encode, checked against the real one
 * when libsystemd.so.0 can be loaded), their inverse, the view diff that
 * decides PropertiesChanged and the finding signals, and --dbus parsing. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/bus.h"

static void esc(const char *in, const char *want) {
        char buf[256], back[256];
        int r = bus_label_escape(in, buf, sizeof buf);

        cr_assert_geq(r, 0, "escape %s", in);
        cr_expect_str_eq(buf, want, "escape '%s'", in);
        cr_expect_eq((size_t)r, strlen(want));
        r = bus_label_unescape(buf, back, sizeof back);
        cr_assert_geq(r, 0, "unescape %s", buf);
        cr_expect_str_eq(back, in, "round trip of '%s'", in);
}

Test(bus, label_escape) {
        esc("web", "web");
        esc("api-1", "api_2d1");
        esc("1api", "_31api");          /* a leading digit is escaped */
        esc("a1", "a1");
        esc("my_svc", "my_5fsvc");
        esc("", "_");
        esc("A-Z", "A_2dZ");
}

Test(bus, label_escape_bounds) {
        char buf[8];

        cr_expect_eq(bus_label_escape("abcdefgh", buf, sizeof buf), -ENOBUFS);
        cr_expect_eq(bus_label_escape("-------", buf, 8), -ENOBUFS);
        cr_expect_eq(bus_label_escape("ab-", buf, 6), 5);     /* "ab_2d" + NUL */
        cr_expect_eq(bus_label_escape("ab-", buf, 5), -ENOBUFS);
        cr_expect_eq(bus_label_escape("", buf, 1), -ENOBUFS);
}

Test(bus, label_unescape_rejects) {
        char buf[64];

        cr_expect_eq(bus_label_unescape("", buf, sizeof buf), -EINVAL);
        cr_expect_eq(bus_label_unescape("a_2", buf, sizeof buf), -EINVAL);
        cr_expect_eq(bus_label_unescape("a_zz", buf, sizeof buf), -EINVAL);
        cr_expect_eq(bus_label_unescape("a_00", buf, sizeof buf), -EINVAL);   /* no NUL inside a name */
        cr_expect_eq(bus_label_unescape("a-b", buf, sizeof buf), -EINVAL);
        cr_expect_eq(bus_label_unescape("a/b", buf, sizeof buf), -EINVAL);
        cr_expect_eq(bus_label_unescape("abcdef", buf, 4), -ENOBUFS);
}

/* The same labels as libsystemd's own encoder, for every name a config
 * may give (and a few it may not). */
Test(bus, label_escape_matches_sd_bus_path_encode) {
        typedef int (*encode_fn)(const char *prefix, const char *external_id, char **ret_path);
        void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        encode_fn enc;
        const char *names[] = { "web", "api-1", "1api", "a", "Z9", "x_y", "a--b", "9", "-", "_", "caf\xc3\xa9" };

        if (!h) {
                cr_skip_test("libsystemd.so.0 cannot be loaded: %s", dlerror());
                return;
        }
        enc = (encode_fn)dlsym(h, "sd_bus_path_encode");
        cr_assert(enc);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                char *p = NULL, mine[256], want[300];

                cr_assert_geq(enc("/p", names[i], &p), 0);
                cr_assert_geq(bus_label_escape(names[i], mine, sizeof mine), 0);
                snprintf(want, sizeof want, "/p/%s", mine);
                cr_expect_str_eq(p, want, "'%s'", names[i]);
                free(p);
        }
}

static void view(struct bus_service_view *v, const char *name, const char *state) {
        memset(v, 0, sizeof *v);
        snprintf(v->name, sizeof v->name, "%s", name);
        snprintf(v->state, sizeof v->state, "%s", state);
        snprintf(v->cgroup_mode, sizeof v->cgroup_mode, "own");
        v->threads = v->goroutines = v->rss_bytes = BUS_UNKNOWN;
}

static void add_finding(struct bus_service_view *v, const char *det, const char *summary) {
        snprintf(v->findings[v->n_findings].detector, sizeof v->findings[0].detector, "%s", det);
        snprintf(v->findings[v->n_findings].summary, sizeof v->findings[0].summary, "%s", summary);
        v->n_findings++;
}

Test(bus, view_diff) {
        struct bus_service_view a, b;

        view(&a, "web", "running");
        view(&b, "web", "running");
        cr_expect_eq(bus_view_diff(&a, &b), 0u);
        snprintf(b.state, sizeof b.state, "stopping");
        b.main_pid = 7;
        cr_expect_eq(bus_view_diff(&a, &b), (unsigned)(BUS_PROP_STATE | BUS_PROP_MAIN_PID));
        view(&b, "web", "running");
        b.threads = 5;
        b.rss_bytes = 1 << 20;
        cr_expect_eq(bus_view_diff(&a, &b), (unsigned)(BUS_PROP_THREADS | BUS_PROP_RSS));
        view(&b, "web", "running");
        snprintf(b.sub_state, sizeof b.sub_state, "held");
        snprintf(b.cgroup_mode, sizeof b.cgroup_mode, "scope");
        b.restarts = 1;
        b.goroutines = 0;
        cr_expect_eq(bus_view_diff(&a, &b),
                     (unsigned)(BUS_PROP_SUB_STATE | BUS_PROP_CGROUP_MODE | BUS_PROP_RESTARTS | BUS_PROP_GOROUTINES));
}

Test(bus, view_diff_findings) {
        struct bus_service_view a, b;

        view(&a, "web", "running");
        view(&b, "web", "running");
        add_finding(&a, "leak", "goroutines +300/h");
        add_finding(&b, "leak", "goroutines +900/h");
        /* A new summary of the same finding: not a change of Findings (as). */
        cr_expect_eq(bus_view_diff(&a, &b), 0u);
        add_finding(&b, "threads", "9000 of 10000");
        cr_expect_eq(bus_view_diff(&a, &b), (unsigned)BUS_PROP_FINDINGS);
        cr_expect(bus_view_has_finding(&b, "threads"));
        cr_expect_not(bus_view_has_finding(&a, "threads"));
        cr_expect(bus_view_has_finding(&a, "leak"));
        view(&b, "web", "running");
        add_finding(&b, "memory", "x");
        cr_expect_eq(bus_view_diff(&a, &b), (unsigned)BUS_PROP_FINDINGS);   /* same count, another detector */
}

Test(bus, parse_kind) {
        enum bus_kind k;

        cr_expect_eq(bus_parse_kind("system", &k), 0);
        cr_expect_eq(k, BUS_KIND_SYSTEM);
        cr_expect_eq(bus_parse_kind("session", &k), 0);
        cr_expect_eq(k, BUS_KIND_SESSION);
        cr_expect_eq(bus_parse_kind("no", &k), 0);
        cr_expect_eq(k, BUS_KIND_NONE);
        cr_expect_eq(bus_parse_kind("unix:path=/run/x", &k), 0);
        cr_expect_eq(k, BUS_KIND_ADDRESS);
        cr_expect_eq(bus_parse_kind("systme", &k), -EINVAL);
        cr_expect_eq(bus_parse_kind("", &k), -EINVAL);
        cr_expect_eq(bus_parse_kind(NULL, &k), -EINVAL);
}

Test(bus, lib_loads) {
        const char *err = NULL;
        int r = bus_lib_load(&err);

        if (r == -ENOENT)
                cr_skip_test("no libsystemd.so.0 here: %s", err);
        cr_expect_eq(r, 0, "%s", err ? err : "");
        cr_expect_str_eq(bus_lib_describe(), "yes (libsystemd, loaded at run time)");
}

Test(bus, scopes_pure) {
        enum bus_scopes_kind k;
        char buf[BUS_SCOPE_UNIT_MAX];

        cr_expect_eq(bus_parse_scopes("auto", &k), 0);
        cr_expect_eq(k, BUS_SCOPES_AUTO);
        cr_expect_eq(bus_parse_scopes("user", &k), 0);
        cr_expect_eq(k, BUS_SCOPES_USER);
        cr_expect_eq(bus_parse_scopes("system", &k), 0);
        cr_expect_eq(k, BUS_SCOPES_SYSTEM);
        cr_expect_eq(bus_parse_scopes("no", &k), 0);
        cr_expect_eq(k, BUS_SCOPES_NO);
        cr_expect_eq(bus_parse_scopes("yes", &k), -EINVAL);
        cr_expect_eq(bus_parse_scopes(NULL, &k), -EINVAL);
        cr_expect_eq(bus_scope_unit_name("api-1", 1234, buf, sizeof buf), 23);
        cr_expect_str_eq(buf, "gorral-api-1-1234.scope");
        cr_expect_eq(bus_scope_unit_name("api-1", 1234, buf, 10), -ENOBUFS);
        /* The longest name and pid fit the buffer the supervisor keeps. */
        {
                char name[BUS_SERVICE_NAME_MAX + 1];

                memset(name, 'x', BUS_SERVICE_NAME_MAX);
                name[BUS_SERVICE_NAME_MAX] = '\0';
                cr_expect_geq(bus_scope_unit_name(name, 4194304, buf, sizeof buf), 0);
        }
        cr_expect_str_eq(bus_cgroup_mode_name(BUS_CGROUP_SCOPE), "scope");
        cr_expect_str_eq(bus_cgroup_mode_name(BUS_CGROUP_DELEGATED), "delegated");
        cr_expect_str_eq(bus_cgroup_mode_name(BUS_CGROUP_OWN), "own");
        cr_expect_str_eq(bus_cgroup_mode_name(BUS_CGROUP_NONE), "none");
}
