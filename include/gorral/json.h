/* json.h: a small strict JSON reader and a bounded JSON writer, for the
 * control protocol (one object per line) and anything else that speaks it.
 *
 * Reader: json_parse() is pure over (buf, len): RFC 8259 with no
 * extensions (no comments, no trailing commas, no NaN), UTF-8 checked
 * (overlong forms, surrogates and lone \u surrogates refused), duplicate
 * member names refused (two parsers must never disagree on what a request
 * said), "\u0000" refused (strings come out as C strings). Depth, node
 * count and members per object are bounded. It builds a tree in two
 * passes (count, then fill one exactly sized array), so a document costs
 * one node array plus one string arena no larger than the input.
 * Numbers: an integer in int64 range is JSON_INT; one with a fraction or
 * an exponent is JSON_REAL; an integer out of range is an error.
 *
 * Writer: appends to a growable buffer capped at max bytes; the first
 * error (-ENOBUFS past the cap, -ENOMEM, -E2BIG nested too deep) is
 * sticky and makes every later call a no-op, so a caller writes a whole
 * document and checks once. Commas and colons are placed by the writer.
 * Strings are escaped; invalid UTF-8 becomes U+FFFD, so the output is
 * always valid JSON. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
        JSON_NULL,
        JSON_BOOL,
        JSON_INT,
        JSON_REAL,
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
        _JSON_TYPE_INVALID = -EINVAL,
};

struct json_value {
        enum json_type type;
        const char *key;                 /* member name inside an object, else NULL */
        union {
                bool boolean;
                int64_t integer;
                double real;
                struct {
                        const char *str; /* decoded UTF-8, NUL-terminated, no NUL inside */
                        size_t len;
                };
                size_t n_children;       /* JSON_ARRAY, JSON_OBJECT */
        };
        struct json_value *child;        /* first element or member (containers) */
        struct json_value *next;         /* next sibling */
};

struct json_doc {
        struct json_value *root;
        struct json_value *nodes;        /* root == nodes */
        char *strings;
        size_t n_nodes;
};

struct json_limits {
        size_t max_depth;                /* containers nested; a scalar document is depth 0 */
        size_t max_nodes;                /* values in the whole document */
};
#define JSON_MAX_DEPTH_CAP 256           /* max_depth is clamped to this (the reader recurses) */
#define JSON_MAX_MEMBERS 1024            /* per object: keeps the duplicate check cheap */
#define JSON_DEFAULT_DEPTH 32
#define JSON_DEFAULT_NODES 4096

struct json_error {
        size_t offset;                   /* byte offset of the offending byte */
        const char *what;                /* static text: "expected ':'", ... */
};

/* Parse exactly one JSON value (whitespace around it allowed) from buf.
 * lim NULL: JSON_DEFAULT_*. 0 with *ret set (free with json_doc_free),
 * or -EINVAL (malformed), -ERANGE (integer out of int64), -E2BIG (too
 * deep, too many nodes or members), -ENOMEM. On -EINVAL, -ERANGE and
 * -E2BIG, *reterr (when not NULL) says where and what. */
int json_parse(const char *buf, size_t len, const struct json_limits *lim, struct json_doc **ret,
               struct json_error *reterr);
struct json_doc *json_doc_free(struct json_doc *d);   /* NULL-safe, returns NULL */
static inline void json_doc_freep(struct json_doc **d) { json_doc_free(*d); }

/* Member of an object by name; NULL when v is not an object or has none. */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* The string member's text; NULL when absent or not a string. */
const char *json_get_string(const struct json_value *v, const char *key);
const char *json_type_to_string(enum json_type t);

/* The length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes
 * there (at most n) are not one. */
size_t utf8_sequence_len(const unsigned char *s, size_t n);

struct json_writer {
        char *buf;                       /* NUL-terminated when not NULL */
        size_t len, cap, max;
        int error;                       /* first -errno, sticky */
        unsigned depth;
        uint64_t has_items;              /* bit d: the container at depth d holds a value */
        uint64_t is_object;              /* bit d: the container at depth d is an object */
        bool after_key;
};
#define JSON_WRITER_MAX_DEPTH 63
/* json_uint() past INT64_MAX writes valid JSON that json_parse() refuses
 * (-ERANGE): the reader keeps integers exact and int64. */

/* max: the most bytes the document may take (the NUL not counted). */
void json_writer_init(struct json_writer *w, size_t max);
void json_writer_done(struct json_writer *w);          /* frees buf; init again to reuse */
/* Drop what was written and the error; keep the buffer and max. */
void json_writer_reset(struct json_writer *w);
/* 0, or the first error. */
static inline int json_writer_error(const struct json_writer *w) { return w->error; }
/* Take the buffer (malloc'd, NUL-terminated; "" when nothing was written)
 * and its length; the writer is left empty. 0 or the sticky error. */
int json_writer_steal(struct json_writer *w, char **ret, size_t *ret_len);

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);
/* A member name; the next call writes its value. */
void json_key(struct json_writer *w, const char *key);
void json_string(struct json_writer *w, const char *s);       /* NULL writes null */
void json_string_n(struct json_writer *w, const char *s, size_t n);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_real(struct json_writer *w, double v);              /* non-finite writes null */
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* Bytes written as they are, in the place of one value: the caller vouches
 * that they are one valid JSON value. */
void json_raw(struct json_writer *w, const char *s, size_t n);
/* A parsed value, re-encoded compactly (member order kept). */
void json_value(struct json_writer *w, const struct json_value *v);

/* Member shorthands: key then value. */
static inline void json_member_string(struct json_writer *w, const char *k, const char *s) { json_key(w, k); json_string(w, s); }
static inline void json_member_int(struct json_writer *w, const char *k, int64_t v) { json_key(w, k); json_int(w, v); }
static inline void json_member_uint(struct json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_uint(w, v); }
static inline void json_member_bool(struct json_writer *w, const char *k, bool v) { json_key(w, k); json_bool(w, v); }
static inline void json_member_null(struct json_writer *w, const char *k) { json_key(w, k); json_null(w); }
