/* Unit tests for src/config.c: every malformed fixture in
 * tests/fixtures/config/bad (data-driven: its first line says the expected
 * position and message), the good fixtures and config/gorral.yaml, and the
 * semantics one by one. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gorral/config.h"
#include "gorral/limits.h"
#include "gorral/log.h"
#include "gorral/service.h"
#include "gorral/util.h"

#define CFG FIXTURES "/config"

static char *test_env[] = { "HOME=/root", "PORT=8080", "EMPTY=", "PATH=/usr/bin:/bin", "GORRAL_TEST=1", NULL };

static struct config_context ctx_default(void) {
        return (struct config_context){ .environ = test_env, .root = CFG "/root" };
}

static struct config *parse_ok(const char *yaml, const struct config_context *ctx, struct config_diags *d) {
        struct config *c = NULL;
        int r = config_parse(yaml, strlen(yaml), CFG "/inline.yaml", ctx, &c, d);

        if (r != 0)
                config_diags_print(stderr, d);
        cr_assert_eq(r, 0, "config_parse: %d", r);
        cr_assert_not_null(c);
        return c;
}

/* Parse, expect -EINVAL and a diagnostic at line:col containing msg. */
static void parse_bad(const char *yaml, unsigned line, unsigned col, const char *msg) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;
        bool found = false;
        int r = config_parse(yaml, strlen(yaml), "inline.yaml", &ctx, &c, &d);

        cr_assert_eq(r, -EINVAL, "want -EINVAL, got %d for:\n%s", r, yaml);
        cr_assert_null(c);
        for (size_t i = 0; i < d.n; i++)
                if (d.v[i].line == line && d.v[i].column == col && strstr(d.v[i].message, msg))
                        found = true;
        if (!found)
                config_diags_print(stderr, &d);
        cr_assert(found, "no %u:%u: %s", line, col, msg);
        config_diags_done(&d);
}

static const char *env_get(char **env, const char *k) {
        size_t n = strlen(k);

        for (; env && *env; env++)
                if (strncmp(*env, k, n) == 0 && (*env)[n] == '=')
                        return *env + n + 1;
        return NULL;
}

Test(config, bad_fixtures_data_driven) {
        _cleanup_closedir_ DIR *dir = opendir(CFG "/bad");
        struct dirent *de;
        unsigned n = 0;

        cr_assert_not_null(dir);
        while ((de = readdir(dir))) {
                char path[512], *buf = NULL, want_file[128] = "", msg[512];
                const char *exp, *rest;
                unsigned line, col;
                struct config_context ctx = ctx_default();
                struct config_diags d = { 0 };
                struct config *c = NULL;
                bool found = false;
                int r, k;

                if (!strstr(de->d_name, ".yaml"))
                        continue;
                snprintf(path, sizeof path, CFG "/bad/%s", de->d_name);
                cr_assert_eq(read_file(path, 1 << 20, &buf, NULL), 0, "%s", path);
                exp = strstr(buf, "# expect: ");
                cr_assert(exp == buf, "%s: no '# expect:' first line", de->d_name);
                exp += 10;
                /* [FILE:]LINE:COL: message */
                if (!(exp[0] >= '0' && exp[0] <= '9')) {
                        const char *colon = strchr(exp, ':');

                        snprintf(want_file, sizeof want_file, "%.*s", (int)(colon - exp), exp);
                        exp = colon + 1;
                }
                k = sscanf(exp, "%u:%u: ", &line, &col);
                cr_assert_eq(k, 2, "%s: bad expect line", de->d_name);
                rest = strchr(strchr(exp, ':') + 1, ':') + 2;
                snprintf(msg, sizeof msg, "%.*s", (int)strcspn(rest, "\n"), rest);

                r = config_load(path, &ctx, &c, &d);
                cr_expect_eq(r, -EINVAL, "%s: want -EINVAL, got %d", de->d_name, r);
                for (size_t i = 0; i < d.n; i++) {
                        const char *f = d.v[i].file;
                        bool file_ok = *want_file ? strlen(f) >= strlen(want_file) &&
                                                            !strcmp(f + strlen(f) - strlen(want_file), want_file)
                                                  : !strcmp(f, path);

                        if (file_ok && !d.v[i].warning && d.v[i].line == line && d.v[i].column == col &&
                            strstr(d.v[i].message, msg))
                                found = true;
                }
                if (!found)
                        config_diags_print(stderr, &d);
                cr_expect(found, "%s: no error %s%s%u:%u: %s", de->d_name, want_file, *want_file ? ":" : "", line,
                          col, msg);
                config_free(c);
                config_diags_done(&d);
                free(buf);
                n++;
        }
        cr_assert_geq(n, 40, "only %u bad fixtures", n);
        cr_log_info("%u malformed fixtures checked", n);
}

/* The issue's example, verbatim: /etc/api.env is served by a read hook. */
static int fake_read(void *userdata, const char *path, size_t max, char **ret, size_t *ret_len) {
        (void)userdata;
        if (strcmp(path, "/etc/api.env") == 0) {
                *ret = strdup("API_KEY=secret\nGOGC=100\n");
                if (ret_len)
                        *ret_len = strlen(*ret);
                return 0;
        }
        return read_file(path, max, ret, ret_len);
}

Test(config, issue_example) {
        static const char yaml[] =
                "log: {format: logfmt, level: info}\n"
                "control: {socket: /run/gorral.sock}\n"
                "state_dir: /var/lib/gorral\n"
                "output: {prefix: true}\n"
                "defaults: {restart: on-failure, stop_timeout: 10s}\n"
                "services:\n"
                "  migrate:\n"
                "    command: [/app/migrate, --once]\n"
                "    restart: \"no\"\n"
                "  api:\n"
                "    command: [/app/api, -listen, \":8080\"]\n"
                "    depends_on: {migrate: completed, cache: ready}\n"
                "    env: {GOGC: \"200\"}\n"
                "    env_file: /etc/api.env\n"
                "    working_dir: /app\n"
                "    user: 1000\n"
                "    group: 1000\n"
                "    umask: \"0027\"\n"
                "    restart: on-failure\n"
                "    backoff: {initial: 100ms, max: 30s, jitter: 20%}\n"
                "    restart_budget: {restarts: 5, window: 1m}\n"
                "    start_grace: 1s\n"
                "    stop_signal: SIGTERM\n"
                "    stop_timeout: 10s\n"
                "    critical: true\n"
                "    resources: {cpu: 0.5, memory: 256MiB}\n"
                "    go: {gomaxprocs: auto, rounding: ceil, min_procs: 2, gomemlimit: auto, mem_ratio: 0.9}\n"
                "    ready: {tcp: \"127.0.0.1:8080\", timeout: 30s}\n"
                "  cache:\n"
                "    command: [/app/cache]\n"
                "    ready: {notify: true}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c;
        const struct config_service *m, *a, *k;

        ctx.read_file = fake_read;
        ctx.root = CFG "/rootless"; /* numbers need no /etc/passwd */
        c = parse_ok(yaml, &ctx, &d);
        cr_assert_eq(d.n_errors, 0);
        cr_assert_eq(c->log_format, LOG_FORMAT_LOGFMT);
        cr_assert_eq(c->log_level, LOG_LEVEL_INFO);
        cr_assert_str_eq(c->control_socket, "/run/gorral.sock");
        cr_assert_str_eq(c->state_dir, "/var/lib/gorral");
        cr_assert(c->output_prefix);
        cr_assert_eq(c->n_services, 3);
        m = &c->services[0];
        a = &c->services[1];
        k = &c->services[2];
        cr_assert_str_eq(m->name, "migrate");
        cr_assert_str_eq(a->name, "api");
        cr_assert_str_eq(k->name, "cache");
        cr_assert_eq(a->line, 10);
        cr_assert_eq(a->column, 3);
        /* "no" is the policy, quoted or not; defaults apply elsewhere. */
        cr_assert_eq(m->restart, SERVICE_RESTART_NO);
        cr_assert_eq(k->restart, SERVICE_RESTART_ON_FAILURE);
        cr_assert_eq(m->stop_timeout_usec, 10000000);
        cr_assert_str_eq(m->argv[0], "/app/migrate");
        cr_assert_str_eq(m->argv[1], "--once");
        cr_assert_null(m->argv[2]);
        cr_assert_str_eq(a->argv[2], ":8080");
        /* env wins over env_file: GOGC 200 over 100. */
        cr_assert_str_eq(env_get(a->env, "GOGC"), "200");
        cr_assert_str_eq(env_get(a->env, "API_KEY"), "secret");
        cr_assert_str_eq(env_get(a->env, "PORT"), "8080"); /* inherited */
        cr_assert_str_eq(a->working_dir, "/app");
        cr_assert(a->has_uid && a->uid == 1000 && a->has_gid && a->gid == 1000);
        cr_assert_eq(a->n_groups, 0);
        cr_assert(a->has_umask);
        cr_assert_eq(a->umask, 027);
        cr_assert_eq(a->backoff_initial_usec, 100000);
        cr_assert_eq(a->backoff_max_usec, 30000000);
        cr_assert_eq(a->jitter_pct, 20);
        cr_assert_eq(a->restart_budget, 5);
        cr_assert_eq(a->restart_window_usec, 60000000);
        cr_assert_eq(a->start_grace_usec, 1000000);
        cr_assert_eq(a->stop_signal, SIGTERM);
        cr_assert(a->critical);
        cr_assert(!m->critical);
        cr_assert(a->has_cpu);
        cr_assert_eq(a->cpu_quota_us, 50000);
        cr_assert_eq(a->cpu_period_us, 100000);
        cr_assert(a->has_memory);
        cr_assert_eq(a->memory_bytes, 256ULL << 20);
        cr_assert_eq(a->gomaxprocs_mode, CONFIG_GO_AUTO);
        cr_assert_eq(a->gomemlimit_mode, CONFIG_GO_AUTO);
        cr_assert_eq(a->rounding, LIMITS_ROUND_CEIL);
        cr_assert_eq(a->min_procs, 2);
        cr_assert(a->min_procs_set);
        cr_assert_eq(a->mem_ratio_ppm, 900000);
        cr_assert_eq(a->ready, CONFIG_PROBE_TCP);
        cr_assert_str_eq(a->ready_tcp, "127.0.0.1:8080");
        cr_assert_eq(a->ready_timeout_usec, 30000000);
        cr_assert_eq(a->ready_interval_usec, 1000000);
        cr_assert_eq(k->ready, CONFIG_PROBE_NOTIFY);
        cr_assert_eq(a->n_deps, 2);
        cr_assert_str_eq(a->deps[0].name, "migrate");
        cr_assert_eq(a->deps[0].condition, CONFIG_DEP_COMPLETED);
        cr_assert_str_eq(a->deps[1].name, "cache");
        cr_assert_eq(a->deps[1].condition, CONFIG_DEP_READY);
        config_free(c);
        config_diags_done(&d);
}

Test(config, shipped_example_is_ok) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;
        int r = config_load(FIXTURES "/../../config/gorral.yaml", &ctx, &c, &d);

        config_diags_print(stderr, &d);
        cr_assert_eq(r, 0);
        cr_assert_eq(d.n, 0, "config/gorral.yaml has %zu diagnostics", d.n);
        cr_assert_eq(c->n_services, 3);
        cr_assert_eq(c->n_remap_exit, 1);
        cr_assert_eq(c->remap_exit[0].from, 143);
        cr_assert_eq(c->remap_exit[0].to, 0);
        cr_assert_eq(c->n_rewrite, 1);
        cr_assert_eq(c->rewrite[0].from, SIGWINCH);
        cr_assert_eq(c->rewrite[0].to, 0);
        /* defaults (through << of an x- anchor) reach every service. */
        for (size_t i = 0; i < c->n_services; i++)
                cr_assert_eq(c->services[i].stop_timeout_usec, 10000000);
        cr_assert_eq(c->services[0].restart, SERVICE_RESTART_NO);
        cr_assert_eq(c->services[2].restart, SERVICE_RESTART_ON_FAILURE);
        cr_assert_str_eq(env_get(c->services[1].env, "GREETING"), "hello, world");
        cr_assert_str_eq(env_get(c->services[1].env, "LISTEN"), ":8080");
        cr_assert_eq(c->services[2].gomaxprocs_mode, CONFIG_GO_OFF);
        cr_assert_eq(c->services[2].gomemlimit_mode, CONFIG_GO_OFF);
        cr_assert_eq(c->services[1].pdeathsig, SIGKILL);
        config_free(c);
        config_diags_done(&d);
}

static struct config *load_good(const char *name, struct config_diags *d) {
        struct config_context ctx = ctx_default();
        struct config *c = NULL;
        char path[256];
        int r;

        snprintf(path, sizeof path, CFG "/good/%s", name);
        r = config_load(path, &ctx, &c, d);
        config_diags_print(stderr, d);
        cr_assert_eq(r, 0, "%s: %d", name, r);
        cr_assert_eq(d->n_errors, 0);
        return c;
}

Test(config, good_fixture_issue_example_relative_env_file) {
        struct config_diags d = { 0 };
        struct config *c = load_good("issue-example.yaml", &d);

        /* env_file ../env/api.env is relative to the config's directory. */
        cr_assert_str_eq(env_get(c->services[1].env, "API_MODE"), "production");
        cr_assert_str_eq(env_get(c->services[1].env, "QUOTED"), "a \"b\" c");
        cr_assert_str_eq(env_get(c->services[1].env, "SINGLE"), "$HOME stays");
        cr_assert_str_eq(env_get(c->services[1].env, "EMPTY"), "");
        config_free(c);
        config_diags_done(&d);
}

Test(config, anchors_and_merge_keys) {
        struct config_diags d = { 0 };
        struct config *c = load_good("anchors.yaml", &d);
        const struct config_service *one = &c->services[0], *two = &c->services[1], *three = &c->services[2];

        cr_assert_eq(c->n_services, 3);
        /* one: <<: [*slow, *base]: slow's stop_timeout wins over base's. */
        cr_assert_eq(one->stop_timeout_usec, 60000000);
        cr_assert_eq(one->start_grace_usec, 3000000);
        cr_assert_eq(one->restart, SERVICE_RESTART_ALWAYS);
        cr_assert_str_eq(one->argv[0], "/bin/worker");
        cr_assert_str_eq(one->argv[2], "jobs");
        cr_assert_str_eq(env_get(one->env, "FROM"), "base");
        /* two: its own restart wins over the merged one. */
        cr_assert_eq(two->restart, SERVICE_RESTART_ON_FAILURE);
        cr_assert_eq(two->stop_timeout_usec, 5000000);
        /* three: defaults (merged from base); x-note ignored. */
        cr_assert_eq(three->restart, SERVICE_RESTART_ALWAYS);
        cr_assert_eq(three->stop_timeout_usec, 5000000);
        config_free(c);
        config_diags_done(&d);
}

Test(config, interpolation) {
        struct config_diags d = { 0 };
        struct config *c = load_good("interpolation.yaml", &d);
        char **argv = c->services[0].argv;

        cr_assert_str_eq(argv[1], "--listen=:8080");
        cr_assert_str_eq(argv[2], "fallback");
        cr_assert_str_eq(argv[3], "${PORT}");
        cr_assert_str_eq(argv[4], "a$b");
        cr_assert_str_eq(env_get(c->services[0].env, "A"), "was-empty");
        cr_assert_str_eq(env_get(c->services[0].env, "B"), "");
        cr_assert_str_eq(env_get(c->services[0].env, "C"), "80800");
        cr_assert_eq(c->services[0].stop_timeout_usec, 90000000);
        config_free(c);
        config_diags_done(&d);
}

Test(config, typing_from_the_schema) {
        struct config_diags d = { 0 };
        struct config *c = load_good("typing.yaml", &d);
        const struct config_service *s = &c->services[0];

        cr_assert_str_eq(s->argv[1], "on");
        cr_assert_str_eq(s->argv[2], "off");
        cr_assert_str_eq(s->argv[3], "yes");
        cr_assert_str_eq(s->argv[4], "0x10");
        cr_assert_str_eq(s->argv[5], "1e3");
        cr_assert_str_eq(s->argv[6], "~");
        cr_assert_eq(s->restart, SERVICE_RESTART_NO);
        cr_assert(s->critical);
        cr_assert(!s->setsid);
        cr_assert_str_eq(env_get(s->env, "GOGC"), "200");
        cr_assert_str_eq(env_get(s->env, "DEBUG"), "on");
        cr_assert_str_eq(env_get(s->env, "FLAG"), "false");
        cr_assert_str_eq(env_get(s->env, "OCTAL"), "0755");
        cr_assert_str_eq(env_get(s->env, "FLOAT"), "1.50");
        cr_assert_null(env_get(s->env, "NULLISH")); /* null: from gorral's env, unset there */
        cr_assert_eq(s->umask, 022);
        /* user app: uid/gid from passwd, supplementary from group. */
        cr_assert(s->has_uid && s->uid == 1000 && s->has_gid && s->gid == 1000);
        cr_assert_eq(s->n_groups, 3);
        cr_assert_eq(s->groups[0], 1000);
        cr_assert_eq(s->groups[1], 1001);
        cr_assert_eq(s->groups[2], 2000);
        cr_assert_eq(s->gomaxprocs_mode, CONFIG_GO_OFF);
        cr_assert_eq(s->ready, CONFIG_PROBE_EXEC);
        cr_assert_str_eq(s->ready_exec[1], "--quick");
        config_free(c);
        config_diags_done(&d);
}

Test(config, env_precedence_and_inherit) {
        static const char yaml[] =
                "services:\n"
                "  a:\n"
                "    command: [x]\n"
                "    env_file: env/api.env\n"
                "    env: {API_MODE: from-env, PORT: \"9090\"}\n"
                "  b:\n"
                "    command: [x]\n"
                "    env_inherit: none\n"
                "    env: [ONLY=1, HOME]\n"
                "  c:\n"
                "    command: [x]\n"
                "    env_inherit: [PORT, NOT_SET]\n"
                "    env_file: env/api.env\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);
        char **a = c->services[0].env, **b = c->services[1].env, **cc = c->services[2].env;
        size_t nb = 0;

        /* inherited < env_file < env */
        cr_assert_str_eq(env_get(a, "API_MODE"), "from-env");
        cr_assert_str_eq(env_get(a, "PORT"), "9090");
        cr_assert_str_eq(env_get(a, "HOME"), "/root");
        cr_assert_str_eq(env_get(a, "QUOTED"), "a \"b\" c");
        for (; b[nb]; nb++)
                ;
        cr_assert_eq(nb, 2);
        cr_assert_str_eq(env_get(b, "ONLY"), "1");
        cr_assert_str_eq(env_get(b, "HOME"), "/root");
        cr_assert_str_eq(env_get(cc, "PORT"), "8080");
        cr_assert_null(env_get(cc, "HOME"));
        cr_assert_null(env_get(cc, "NOT_SET"));
        cr_assert_str_eq(env_get(cc, "API_MODE"), "production");
        config_free(c);
        config_diags_done(&d);
}

Test(config, defaults_apply_and_service_key_wins) {
        static const char yaml[] =
                "defaults:\n"
                "  restart: always\n"
                "  env: {A: '1'}\n"
                "  backoff: {initial: 1s, max: 10s}\n"
                "  go: {rounding: floor}\n"
                "services:\n"
                "  a: {command: [x]}\n"
                "  b: {command: [x], restart: 'no', env: {B: '2'}, backoff_max: 20s, min_procs: 3}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);
        const struct config_service *a = &c->services[0], *b = &c->services[1];

        cr_assert_eq(a->restart, SERVICE_RESTART_ALWAYS);
        cr_assert_str_eq(env_get(a->env, "A"), "1");
        cr_assert_eq(a->backoff_initial_usec, 1000000);
        cr_assert_eq(a->rounding, LIMITS_ROUND_FLOOR);
        cr_assert_eq(a->min_procs, 1); /* floor's minimum */
        cr_assert(!a->min_procs_set);
        cr_assert_eq(b->restart, SERVICE_RESTART_NO);
        cr_assert_null(env_get(b->env, "A")); /* a service's env replaces the default's */
        cr_assert_str_eq(env_get(b->env, "B"), "2");
        cr_assert_eq(b->backoff_initial_usec, 1000000);
        cr_assert_eq(b->backoff_max_usec, 20000000);
        cr_assert_eq(b->min_procs, 3);
        config_free(c);
        config_diags_done(&d);
}

Test(config, run_option_spellings) {
        static const char yaml[] = "log_format: json\nlog_level: debug\nservices:\n"
                                   "  a: {command: [x], no_limits: true, cpus: 4, strict: yes}\n"
                                   "  b: {command: [x], no_gomaxprocs: true, go: {gomemlimit: 100MiB}}\n"
                                   "  c: {command: [x], no_gomemlimit: false}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);

        cr_assert_eq(c->log_format, LOG_FORMAT_JSON);
        cr_assert_eq(c->log_level, LOG_LEVEL_DEBUG);
        cr_assert_eq(c->services[0].gomaxprocs_mode, CONFIG_GO_OFF);
        cr_assert_eq(c->services[0].gomemlimit_mode, CONFIG_GO_OFF);
        cr_assert_eq(c->services[0].cpus_override, 4);
        cr_assert(c->services[0].strict);
        cr_assert_eq(c->services[1].gomaxprocs_mode, CONFIG_GO_OFF);
        cr_assert_eq(c->services[1].gomemlimit_mode, CONFIG_GO_FIXED);
        cr_assert_eq(c->services[1].gomemlimit, 100ULL << 20);
        cr_assert_eq(c->services[2].gomemlimit_mode, CONFIG_GO_AUTO);
        config_free(c);
        config_diags_done(&d);
        parse_bad("services:\n  d: {command: [x], no_gomaxprocs: true, go: {gomaxprocs: 3}}\n", 2, 47,
                  "services.d.go.gomaxprocs: given twice (also as services.d.no_gomaxprocs at 2:21)");
        parse_bad("log: {format: json}\nlog_format: logfmt\nservices: {a: {command: [x]}}\n", 2, 1,
                  "log_format: given twice");
}

Test(config, run_defaults) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok("services:\n  a:\n    command: [x]\n", &ctx, &d);
        const struct config_service *a = &c->services[0];

        cr_assert_eq(c->log_format, -1);
        cr_assert_eq(c->log_level, -1);
        cr_assert_null(c->control_socket);
        cr_assert_null(c->state_dir);
        cr_assert(!c->output_prefix);
        cr_assert_eq(a->restart, SERVICE_RESTART_NO);
        cr_assert_eq(a->backoff_initial_usec, 100000);
        cr_assert_eq(a->backoff_max_usec, 30000000);
        cr_assert_eq(a->jitter_pct, 20);
        cr_assert_eq(a->restart_budget, 5);
        cr_assert_eq(a->restart_window_usec, 60000000);
        cr_assert_eq(a->start_grace_usec, 1000000);
        cr_assert_eq(a->stop_signal, SIGTERM);
        cr_assert_eq(a->stop_timeout_usec, 10000000);
        cr_assert(!a->has_uid && !a->has_gid && !a->has_umask && !a->has_cpu && !a->has_memory);
        cr_assert_eq(a->gomaxprocs_mode, CONFIG_GO_AUTO);
        cr_assert_eq(a->min_procs, 2);
        cr_assert_eq(a->mem_ratio_ppm, 900000);
        cr_assert_eq(a->ready, CONFIG_PROBE_NONE);
        cr_assert_eq(a->n_deps, 0);
        /* env_inherit all by default */
        cr_assert_str_eq(env_get(a->env, "GORRAL_TEST"), "1");
        config_free(c);
        config_diags_done(&d);
}

Test(config, host_capacity_is_a_warning) {
        static const char yaml[] = "services:\n  a:\n    command: [x]\n    resources: {cpu: 8, memory: 4GiB}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c;

        ctx.host_cpus = 2;
        ctx.host_memory_bytes = 1ULL << 30;
        c = parse_ok(yaml, &ctx, &d);
        cr_assert_eq(d.n, 2);
        cr_assert_eq(d.n_errors, 0);
        cr_assert(d.v[0].warning && d.v[1].warning);
        cr_assert_eq(d.v[0].line, 4);
        cr_assert_eq(d.v[0].column, 22);
        cr_assert(strstr(d.v[0].message, "more than this host has (2)"));
        cr_assert_eq(d.v[1].column, 33);
        cr_assert_eq(c->services[0].cpu_quota_us, 800000);
        config_free(c);
        config_diags_done(&d);
}

Test(config, numeric_user_without_passwd) {
        static const char yaml[] = "services:\n  a:\n    command: [x]\n    user: 65534\n  b:\n    command: [x]\n"
                                   "    group: 42\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c;

        ctx.root = CFG "/rootless";
        c = parse_ok(yaml, &ctx, &d);
        cr_assert(c->services[0].has_uid && c->services[0].uid == 65534);
        /* Docker's rule: gid 0 when the uid has no entry, with a warning. */
        cr_assert(c->services[0].has_gid && c->services[0].gid == 0);
        cr_assert_eq(d.n, 1);
        cr_assert(d.v[0].warning);
        cr_assert_eq(d.v[0].line, 4);
        cr_assert(!c->services[1].has_uid && c->services[1].has_gid && c->services[1].gid == 42);
        config_free(c);
        config_diags_done(&d);
        /* A name needs the file. */
        {
                static const char y2[] = "services:\n  a:\n    command: [x]\n    user: app\n";

                cr_assert_eq(config_parse(y2, strlen(y2), "f.yaml", &ctx, &c, &d), -EINVAL);
                cr_assert_eq(d.v[0].line, 4);
                cr_assert_eq(d.v[0].column, 11);
                cr_assert(strstr(d.v[0].message, "user \"app\": cannot read"), "%s", d.v[0].message);
                config_diags_done(&d);
        }
}

Test(config, named_group_and_user_with_group) {
        static const char yaml[] = "services:\n  a:\n    command: [x]\n    user: web\n    group: metrics\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);
        const struct config_service *a = &c->services[0];

        cr_assert_eq(a->uid, 1001);
        cr_assert_eq(a->gid, 2000);
        /* web's supplementary groups: metrics (2000) is also web's own... */
        cr_assert_eq(a->n_groups, 1);
        cr_assert_eq(a->groups[0], 2000);
        config_free(c);
        config_diags_done(&d);
}

Test(config, ready_and_deps_forms) {
        static const char yaml[] =
                "services:\n"
                "  a: {command: [x], ready: {tcp: \"[::1]:8080\", interval: 250ms, timeout: 1m}}\n"
                "  b: {command: [x], depends_on: [a], restart: always}\n"
                "  c: {command: [x], depends_on: {a: {condition: ready}, b: started}}\n"
                "  d: {command: [x], ready: {tcp: \"db.local:5432\"}}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);

        cr_assert_eq(c->services[0].ready, CONFIG_PROBE_TCP);
        cr_assert_eq(c->services[0].ready_interval_usec, 250000);
        cr_assert_eq(c->services[0].ready_timeout_usec, 60000000);
        cr_assert_eq(c->services[1].deps[0].condition, CONFIG_DEP_STARTED);
        cr_assert_eq(c->services[2].deps[0].condition, CONFIG_DEP_READY);
        cr_assert_str_eq(c->services[2].deps[1].name, "b");
        cr_assert_str_eq(c->services[3].ready_tcp, "db.local:5432");
        config_free(c);
        config_diags_done(&d);
}

Test(config, completed_on_always_warns) {
        static const char yaml[] = "services:\n  a: {command: [x], restart: always}\n  b: {command: [x], depends_on: "
                                   "{a: completed}}\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);

        cr_assert_eq(d.n, 1);
        cr_assert(d.v[0].warning);
        cr_assert(strstr(d.v[0].message, "never completes"));
        config_free(c);
        config_diags_done(&d);
}

Test(config, positions_and_messages) {
        parse_bad("services:\n  api:\n    command: [x]\n    stop_timeout: 10 seconds\n", 4, 19,
                  "services.api.stop_timeout: invalid duration \"10 seconds\" (expected e.g. 10s, 1m30s");
        /* Characters, not bytes: é is one column. */
        parse_bad("services:\n  é1: {command: [x]}\n  ok: {command: [x], restart: nope}\n", 2, 3,
                  "invalid service name");
        parse_bad("x-é: {ü: 1}\nservices:\n  a: {command: [x], stop_signal: NOPE}\n", 3, 34, "unknown signal");
        parse_bad("services:\n  a: {command: [é], umask: '9'}\n", 2, 28, "invalid umask");
        parse_bad("services:\n  a: {command: [\"ü\"], env: {\"éé\": [1]}}\n", 2, 35, "services.a.env.éé: expected");
        /* Invalid UTF-8: the reader error carries a byte offset only. */
        parse_bad("x-a: \"éé\xfe\"\nservices: {}\n", 1, 9, "invalid input");
        parse_bad("services:\n  a:\n    command: [x]\n   bad: 1\n", 4, 4, "YAML syntax error");
        parse_bad("services:\n  a:\n    command: [x]\n    restart: [no]\n", 4, 14,
                  "services.a.restart: expected no, on-failure or always, got a list");
        parse_bad("services:\n  a:\n    command: [x]\n    critical:\n", 4, 14, "expected true or false, got nothing");
        parse_bad("services:\n  a:\n    command: [x]\n    restart_budget: [1]\n", 4, 21, "expected a mapping, got a list");
        parse_bad("services:\n  a:\n    command: [x]\n    env_file: []\n    env: {A: 1, A: 2}\n", 5, 17,
                  "duplicate variable \"A\"");
        /* Found by fuzz_config: a duplicate top-level mapping leaked the first. */
        parse_bad("remap_exit: {1: 2}\nremap_exit: {3: 4}\nrewrite: {}\nrewrite: {}\nservices: {a: {command: [x]}}\n", 2,
                  1, "duplicate key \"remap_exit\" (first at 1:1)");
}

Test(config, merge_does_not_count_as_duplicate) {
        static const char yaml[] = "x-a: &a {restart: always}\nx-b: &b {restart: \"no\", critical: true}\n"
                                   "services:\n  s:\n    <<: [*a, *b]\n    command: [x]\n";
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok(yaml, &ctx, &d);

        cr_assert_eq(c->services[0].restart, SERVICE_RESTART_ALWAYS);
        cr_assert(c->services[0].critical);
        config_free(c);
        config_diags_done(&d);
}

Test(config, billion_laughs_is_an_error_quickly) {
        char yaml[4096];
        size_t o = 0;
        uint64_t t0 = now_usec();

        o += (size_t)snprintf(yaml + o, sizeof yaml - o, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 20; i++)
                o += (size_t)snprintf(yaml + o, sizeof yaml - o,
                                      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        parse_bad(yaml, 5, 5, "expands to more than 100000 nodes");
        cr_assert_lt(now_usec() - t0, 2000000);
}

Test(config, merge_bomb_is_bounded) {
        /* Each level merges the previous map twice over: merged entries
         * are counted, not only nodes. */
        char yaml[1 << 16];
        size_t o = 0;

        o += (size_t)snprintf(yaml + o, sizeof yaml - o, "m0: &m0 {");
        for (int k = 0; k < 200; k++)
                o += (size_t)snprintf(yaml + o, sizeof yaml - o, "%sk%d: v", k ? ", " : "", k);
        o += (size_t)snprintf(yaml + o, sizeof yaml - o, "}\n");
        for (int i = 1; i < 2000; i++)
                o += (size_t)snprintf(yaml + o, sizeof yaml - o, "m%d: {<<: *m0}\n", i);
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;

        cr_assert_eq(config_parse(yaml, o, "bomb.yaml", &ctx, &c, &d), -EINVAL);
        cr_assert(strstr(d.v[0].message, "merge keys expand") || strstr(d.v[0].message, "expands to more"));
        config_diags_done(&d);
}

Test(config, many_services_fast) {
        size_t cap = 1 << 20, o = 0;
        char *yaml = malloc(cap);
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;
        uint64_t t0;

        cr_assert_not_null(yaml);
        o += (size_t)snprintf(yaml + o, cap - o, "defaults: {restart: on-failure, env_file: env/api.env}\nservices:\n");
        for (int i = 0; i < 200; i++)
                o += (size_t)snprintf(yaml + o, cap - o,
                                      "  svc%d:\n    command: [/bin/svc, \"--id=%d\"]\n    depends_on: [%s%d]\n"
                                      "    env: {ID: \"%d\"}\n    resources: {cpu: 0.1, memory: 64MiB}\n",
                                      i, i, i ? "svc" : "svc", i ? i - 1 : 199, i);
        /* svc0 depends on svc199: a 200-long cycle. Break it. */
        memcpy(strstr(yaml, "depends_on: [svc199]"), "x-none:     [svc199]", 20);
        t0 = now_usec();
        cr_assert_eq(config_parse(yaml, o, CFG "/many.yaml", &ctx, &c, &d), 0);
        cr_log_info("200 services parsed in %.1f ms", (double)(now_usec() - t0) / 1000.0);
        fprintf(stderr, "info: 200 services parsed in %.1f ms\n", (double)(now_usec() - t0) / 1000.0);
        cr_assert_eq(c->n_services, 200);
        cr_assert_str_eq(c->services[199].deps[0].name, "svc198");
        config_free(c);
        config_diags_done(&d);
        free(yaml);
}

Test(config, long_cycle_named) {
        char yaml[8192];
        size_t o = 0;

        o += (size_t)snprintf(yaml + o, sizeof yaml - o, "services:\n");
        for (int i = 0; i < 5; i++)
                o += (size_t)snprintf(yaml + o, sizeof yaml - o, "  s%d: {command: [x], depends_on: [s%d]}\n", i,
                                      (i + 1) % 5);
        parse_bad(yaml, 6, 35, "dependency cycle s0 -> s1 -> s2 -> s3 -> s4 -> s0");
}

Test(config, service_equal_for_reload) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *a = parse_ok("services:\n  a: {command: [x], restart: always}\n", &ctx, &d);
        struct config *b = parse_ok("services:\n  a: {command: [x], restart: on-failure, backoff: {max: 1m}}\n", &ctx, &d);
        struct config *c = parse_ok("services:\n  a: {command: [x, y], restart: always}\n", &ctx, &d);
        struct config *e = parse_ok("\n\nservices:\n  a:\n    command: [x]\n    restart: always\n", &ctx, &d);
        bool only = false;

        cr_assert_eq(config_service_equal(&a->services[0], &e->services[0], &only), 1);
        cr_assert(!only);
        cr_assert_eq(config_service_equal(&a->services[0], &b->services[0], &only), 0);
        cr_assert(only);
        cr_assert_eq(config_service_equal(&a->services[0], &c->services[0], &only), 0);
        cr_assert(!only);
        cr_assert_not_null(config_find_service(a, "a"));
        cr_assert_null(config_find_service(a, "b"));
        config_free(a);
        config_free(b);
        config_free(c);
        config_free(e);
        config_diags_done(&d);
}

Test(config, diags_print_format) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;
        char *out = NULL;
        size_t n = 0;
        FILE *f;
        static const char yaml[] = "services:\n  a:\n    command: [x]\n    resources: {cpu: 64}\n    restart: nope\n";

        ctx.host_cpus = 4;
        cr_assert_eq(config_parse(yaml, strlen(yaml), "f.yaml", &ctx, &c, &d), -EINVAL);
        f = open_memstream(&out, &n);
        config_diags_print(f, &d);
        fclose(f);
        cr_assert_str_eq(out, "f.yaml:4:22: warning: services.a.resources.cpu: 64 CPUs is more than this host has (4)\n"
                              "f.yaml:5:14: services.a.restart: invalid value \"nope\" (expected no, on-failure or "
                              "always)\n");
        free(out);
        config_diags_done(&d);
}

Test(config, too_many_errors_bounded) {
        size_t cap = 1 << 20, o = 0;
        char *yaml = malloc(cap);
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;

        o += (size_t)snprintf(yaml + o, cap - o, "services:\n");
        for (int i = 0; i < 250; i++)
                o += (size_t)snprintf(yaml + o, cap - o, "  s%d: {command: [x], restart: bad}\n", i);
        cr_assert_eq(config_parse(yaml, o, "f.yaml", &ctx, &c, &d), -EINVAL);
        cr_assert_eq(d.n, CONFIG_MAX_DIAGS + 1);
        cr_assert(strstr(d.v[d.n - 1].message, "too many errors"));
        config_diags_done(&d);
        free(yaml);
}

Test(config, missing_file) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = NULL;

        cr_assert_eq(config_load(CFG "/does-not-exist.yaml", &ctx, &c, &d), -EINVAL);
        cr_assert_eq(d.n, 1);
        cr_assert(strstr(d.v[0].message, "cannot read the configuration"));
        config_diags_done(&d);
}

Test(config, watching_keys) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok("metrics: {listen: \"127.0.0.1:9321\"}\n"
                                    "defaults: {sample_interval: 2s}\n"
                                    "services:\n"
                                    "  api:\n"
                                    "    command: [/bin/api]\n"
                                    "    metrics_url: http://127.0.0.1:8080/metrics\n"
                                    "    pprof_url: http://[::1]:8080/debug/pprof/goroutine?debug=1\n"
                                    "    socket: /run/api.sock\n"
                                    "    godebug: {schedtrace: 250ms, gctrace: yes, passthrough: true}\n"
                                    "  off:\n"
                                    "    command: [/bin/off]\n"
                                    "    watch: false\n"
                                    "    godebug: {schedtrace: off}\n",
                                    &ctx, &d);
        const struct config_service *api = config_find_service(c, "api"), *off = config_find_service(c, "off");

        cr_assert_eq(d.n, 0);
        cr_assert_str_eq(c->metrics_listen, "127.0.0.1:9321");
        cr_assert(api->watch, "a file's services are watched by default");
        cr_assert_eq(api->sample_interval_usec, 2000000, "from defaults");
        cr_assert_str_eq(api->metrics_url, "http://127.0.0.1:8080/metrics");
        cr_assert_str_eq(api->pprof_url, "http://[::1]:8080/debug/pprof/goroutine?debug=1");
        cr_assert_str_eq(api->scrape_socket, "/run/api.sock");
        cr_assert_eq(api->schedtrace_usec, 250000);
        cr_assert(api->gctrace && api->trace_passthrough);
        cr_assert_not(off->watch);
        cr_assert_eq(off->schedtrace_usec, 0);
        cr_assert_null(off->metrics_url);
        {
                /* A change to any watching setting is a change (restart). */
                struct config_service cp;
                bool policy = true;

                cr_assert_eq(config_service_copy(&cp, api), 0);
                cr_assert_eq(config_service_equal(&cp, api, &policy), 1);
                free(cp.metrics_url);
                cp.metrics_url = strdup("http://127.0.0.1:8081/metrics");
                cr_assert_eq(config_service_equal(&cp, api, &policy), 0);
                cr_assert_not(policy);
                config_service_done(&cp);
        }
        config_free(c);
        config_diags_done(&d);
}

Test(config, watching_errors) {
        parse_bad("services:\n  a:\n    command: [x]\n    metrics_url: https://127.0.0.1/metrics\n", 4, 18,
                  "invalid URL \"https://127.0.0.1/metrics\"");
        parse_bad("services:\n  a:\n    command: [x]\n    pprof_url: http://user@127.0.0.1/x\n", 4, 16, "invalid URL");
        parse_bad("services:\n  a:\n    command: [x]\n    sample_interval: 50ms\n", 4, 22, "sample_interval");
        parse_bad("services:\n  a:\n    command: [x]\n    godebug: {schedtrace: 1s, tracing: on}\n", 4, 31,
                  "tracing");
        parse_bad("services:\n  a:\n    command: [x]\n    godebug: {gctrace: maybe}\n", 4, 24, "true or false");
        parse_bad("metrics: {listen: \"example.com:9321\"}\nservices:\n  a: {command: [x]}\n", 1, 19,
                  "invalid address");
        parse_bad("metrics: {listen: \"127.0.0.1:99999\"}\nservices:\n  a: {command: [x]}\n", 1, 19,
                  "invalid address");
        parse_bad("metrics: {port: 1}\nservices:\n  a: {command: [x]}\n", 1, 11, "port");
}

Test(config, detection_keys) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok("state_dir: /var/lib/gorral\n"
                                    "alerts:\n"
                                    "  am: {alertmanager: \"http://127.0.0.1:9093\", resend_interval: 45s}\n"
                                    "  hook: {webhook: \"http://127.0.0.1:9000/x\"}\n"
                                    "  page: {exec: [/bin/page, --now], timeout: 3s}\n"
                                    "services:\n"
                                    "  api:\n"
                                    "    command: [/bin/api]\n"
                                    "    pprof_url: http://127.0.0.1:8080/debug/pprof/goroutine\n"
                                    "    on_limit_change: restart\n"
                                    "    dump: {sigquit: true, keep: 3}\n"
                                    "    detect:\n"
                                    "      actions: [log, am]\n"
                                    "      leak: {metrics: [goroutines, threads], min_goroutines: 80, actions: [am, page, restart]}\n"
                                    "      throttling: {above: 0.3, window: 20s}\n"
                                    "      memory: false\n"
                                    "      threshold:\n"
                                    "        - {metric: goroutines, above: 5000, for: 10}\n"
                                    "        - {metric: open_fds, above: 1000, severity: critical}\n"
                                    "  quiet:\n"
                                    "    command: [/bin/quiet]\n"
                                    "    detect: false\n",
                                    &ctx, &d);
        const struct config_service *api = config_find_service(c, "api"), *quiet = config_find_service(c, "quiet");

        cr_assert_eq(d.n, 0);
        cr_assert_eq(c->n_sinks, 3);
        cr_expect_eq(c->sinks[0].kind, CONFIG_SINK_ALERTMANAGER);
        cr_expect_eq(c->sinks[0].resend_usec, 45000000);
        cr_expect_eq(c->sinks[1].kind, CONFIG_SINK_WEBHOOK);
        cr_expect_eq(c->sinks[2].kind, CONFIG_SINK_EXEC);
        cr_expect_str_eq(c->sinks[2].argv[1], "--now");
        cr_expect_eq(c->sinks[2].timeout_usec, 3000000);
        cr_expect_eq(c->sinks[1].timeout_usec, 5000000, "http default");
        /* The detector's own actions win; the others take detect.actions. */
        cr_expect(api->actions[DETECTOR_LEAK].restart);
        cr_expect_eq(api->actions[DETECTOR_LEAK].n_sinks, 2);
        cr_expect_str_eq(api->actions[DETECTOR_LEAK].sink[1], "page");
        cr_expect_eq(api->actions[DETECTOR_THREADS].n_sinks, 1);
        cr_expect_str_eq(api->actions[DETECTOR_THREADS].sink[0], "am");
        cr_expect(!api->actions[DETECTOR_THREADS].restart);
        cr_expect(api->actions[DETECTOR_LIMIT_CHANGE].restart, "on_limit_change: restart");
        cr_expect(api->detect.leak_metric[DETECT_LEAK_THREADS] && !api->detect.leak_metric[DETECT_LEAK_RSS]);
        cr_expect_eq(api->detect.leak[DETECT_LEAK_GOROUTINES].min_growth, 80);
        cr_expect_eq(api->detect.throttle_above, 0.3);
        cr_expect_eq(api->detect.throttle_window, 20);
        cr_expect(!api->detect.enabled[DETECTOR_MEMORY]);
        cr_expect(api->detect.enabled[DETECTOR_THRESHOLD]);
        cr_expect_eq(api->detect.n_threshold, 2);
        cr_expect_eq(api->detect.threshold[0].for_samples, 10);
        cr_expect_eq(api->detect.threshold[1].severity, DETECT_CRITICAL);
        cr_expect(api->dump_sigquit);
        cr_expect_eq(api->dump_keep, 3);
        for (int k = 0; k < DETECTOR__COUNT; k++)
                cr_expect(!quiet->detect.enabled[k]);
        cr_expect_eq(quiet->dump_keep, 5);
        {
                /* Detection changes apply in place: a policy change. */
                struct config_service cp;
                bool policy = false;

                cr_assert_eq(config_service_copy(&cp, api), 0);
                cr_assert_eq(config_service_equal(&cp, api, &policy), 1);
                cp.detect.throttle_above = 0.5;
                cr_assert_eq(config_service_equal(&cp, api, &policy), 0);
                cr_assert(policy);
                config_service_done(&cp);
        }
        config_free(c);
        config_diags_done(&d);
}

Test(config, detection_errors) {
        parse_bad("services:\n  a:\n    command: [x]\n    detect: {leaks: {}}\n", 4, 14, "unknown detector \"leaks\"");
        parse_bad("services:\n  a:\n    command: [x]\n    detect: {leak: {min_goroutine: 5}}\n", 4, 21,
                  "unknown key \"min_goroutine\"");
        parse_bad("services:\n  a:\n    command: [x]\n    detect: {throttling: {above: 2}}\n", 4, 34,
                  "above: '2' is not a share");
        parse_bad("services:\n  a:\n    command: [x]\n    detect: {leak: {actions: [pager]}}\n", 4, 31,
                  "unknown action \"pager\"");
        parse_bad("services:\n  a:\n    command: [x]\n    detect: {threshold: {metric: goroutines}}\n", 4, 25,
                  "a threshold needs a metric and above or below");
        parse_bad("services:\n  a:\n    command: [x]\n    on_limit_change: reboot\n", 4, 22, "log or restart");
        parse_bad("services:\n  a:\n    command: [x]\n    dump: {keep: 0}\n", 4, 18, "dump.keep");
        parse_bad("alerts:\n  am: {alertmanager: \"https://am.example:9093\"}\nservices:\n  a: {command: [x]}\n", 2,
                  22, "relay");
        parse_bad("alerts:\n  am: {webhook: \"http://127.0.0.1/x\", exec: [y]}\nservices:\n  a: {command: [x]}\n", 2,
                  7, "exactly one of");
        parse_bad("alerts:\n  log: {webhook: \"http://127.0.0.1/x\"}\nservices:\n  a: {command: [x]}\n", 2, 3,
                  "invalid name");
        parse_bad("alerts:\n  am: {alertmanager: \"http://127.0.0.1:9093\", resend_interval: 10s}\nservices:\n"
                  "  a: {command: [x]}\n", 2, 64, "at least 30s");
}

/* watchdog: a service's WatchdogSec=, and on_watchdog. */
Test(config, service_watchdog) {
        struct config_context ctx = ctx_default();
        struct config_diags d = { 0 };
        struct config *c = parse_ok("services:\n"
                                    "  a: {command: [/bin/a], watchdog: 30s}\n"
                                    "  b: {command: [/bin/b], watchdog: 1m30s, on_watchdog: log}\n"
                                    "  c: {command: [/bin/c]}\n",
                                    &ctx, &d);
        const struct config_service *a = config_find_service(c, "a"), *b = config_find_service(c, "b"),
                                    *cc = config_find_service(c, "c");

        cr_assert_eq(d.n, 0);
        cr_expect_eq(a->watchdog_usec, 30000000);
        cr_expect(a->actions[DETECTOR_WATCHDOG].restart, "restart by default, as systemd's watchdog");
        cr_expect_eq(b->watchdog_usec, 90000000);
        cr_expect(!b->actions[DETECTOR_WATCHDOG].restart, "on_watchdog: log");
        cr_expect_eq(cc->watchdog_usec, 0);
        config_free(c);
        config_diags_done(&d);
        parse_bad("services:\n  a:\n    command: [x]\n    watchdog: 5ms\n", 4, 15, "watchdog");
        parse_bad("services:\n  a:\n    command: [x]\n    watchdog: soon\n", 4, 15, "watchdog");
        parse_bad("services:\n  a:\n    command: [x]\n    on_watchdog: reboot\n", 4, 18, "log or restart");
}
