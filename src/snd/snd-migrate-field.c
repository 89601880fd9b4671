/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-migrate-field.c - save, parse and check records from their field
 * table (snd-migrate-field.h).
 *
 * The tuple is built child by child with g_variant_new_tuple(): GVariant's
 * serialization depends only on the type and the values, so this writes
 * the very bytes the positional "(yybuuuyyyubay)" format string wrote
 * (tests/data/snd-migrate pins them).  Integers are read and written
 * through the member's width, so a field may be an enum, a bool or any
 * fixed-width integer of the record struct.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-migrate-field.h"

G_DEFINE_QUARK(vsnd-migrate-error-quark, vsnd_migrate_error)

static const char *const wire_type[] = {
    [SND_MIG_U8] = "y",
    [SND_MIG_BOOL] = "b",
    [SND_MIG_U32] = "u",
    [SND_MIG_BYTES] = "ay",
};

bool vsnd_mig_invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, SND_MIGRATE_ERROR, SND_MIGRATE_ERROR_INVALID, "device state: %s", msg);
    return false;
}

GVariant *vsnd_mig_lookup(GVariant *dict, const char *key, const char *type, bool required,
                          GError **error)
{
    g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);

    if (!v) {
        if (required) {
            vsnd_mig_invalid(error, "\"%s\" missing", key);
        }
        return NULL;
    }
    if (!g_variant_is_of_type(v, G_VARIANT_TYPE(type))) {
        vsnd_mig_invalid(error, "\"%s\" has type %s, not %s", key, g_variant_get_type_string(v),
                         type);
        return NULL;
    }
    return g_steal_pointer(&v);
}

static uint64_t get_int(const void *rec, const SndMigField *f)
{
    const uint8_t *p = (const uint8_t *)rec + f->offset;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;

    switch (f->width) {
    case 1:
        memcpy(&v8, p, 1);
        return v8;
    case 2:
        memcpy(&v16, p, 2);
        return v16;
    case 4:
        memcpy(&v32, p, 4);
        return v32;
    default:
        memcpy(&v64, p, 8);
        return v64;
    }
}

static void put_int(void *rec, const SndMigField *f, uint64_t v)
{
    uint8_t *p = (uint8_t *)rec + f->offset;
    uint8_t v8 = (uint8_t)v;
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;

    switch (f->width) {
    case 1:
        memcpy(p, &v8, 1);
        break;
    case 2:
        memcpy(p, &v16, 2);
        break;
    case 4:
        memcpy(p, &v32, 4);
        break;
    default:
        memcpy(p, &v, 8);
        break;
    }
}

static const uint8_t **bytes_data(const void *rec, const SndMigField *f)
{
    return (const uint8_t **)((uintptr_t)rec + f->offset);
}

static size_t *bytes_len(const void *rec, const SndMigField *f)
{
    return (size_t *)((uintptr_t)rec + f->len_offset);
}

static GVariant *value_new(const SndMigField *f, const void *rec)
{
    const uint8_t *data;
    size_t len;

    switch (f->type) {
    case SND_MIG_U8:
        return g_variant_new_byte((guint8)get_int(rec, f));
    case SND_MIG_BOOL:
        return g_variant_new_boolean(get_int(rec, f) != 0);
    case SND_MIG_U32:
        return g_variant_new_uint32((guint32)get_int(rec, f));
    default:
        len = *bytes_len(rec, f);
        data = len ? *bytes_data(rec, f) : (const uint8_t *)"";
        return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data, len, 1);
    }
}

char *vsnd_mig_record_type(const SndMigTable *t)
{
    GString *s = g_string_new("(");

    for (size_t k = 0; k < t->n; k++) {
        if (!t->fields[k].added) {
            g_string_append(s, wire_type[t->fields[k].type]);
        }
    }
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

static const void *rec_at(const SndMigTable *t, const void *recs, uint32_t i)
{
    return (const uint8_t *)recs + (size_t)i * t->stride;
}

void vsnd_mig_save(const SndMigTable *t, GVariantBuilder *dict, const void *recs, uint32_t n)
{
    g_autofree char *rtype = vsnd_mig_record_type(t);
    g_autofree char *atype = g_strconcat("a", rtype, NULL);
    g_autofree GVariant **kids = g_new(GVariant *, MAX(t->n, 1));
    GVariantBuilder a;

    g_variant_builder_init(&a, G_VARIANT_TYPE(atype));
    for (uint32_t i = 0; i < n; i++) {
        size_t k = 0;

        for (size_t j = 0; j < t->n; j++) {
            if (!t->fields[j].added) {
                kids[k++] = value_new(&t->fields[j], rec_at(t, recs, i));
            }
        }
        g_variant_builder_add_value(&a, g_variant_new_tuple(kids, k));
    }
    g_variant_builder_add(dict, "{sv}", t->key, g_variant_builder_end(&a));
    for (size_t j = 0; j < t->n; j++) {
        const SndMigField *f = &t->fields[j];
        g_autofree char *key = NULL;
        g_autofree char *ftype = NULL;

        if (!f->added) {
            continue;
        }
        key = g_strconcat(t->key, ".", f->name, NULL);
        ftype = g_strconcat("a", wire_type[f->type], NULL);
        g_variant_builder_init(&a, G_VARIANT_TYPE(ftype));
        for (uint32_t i = 0; i < n; i++) {
            g_variant_builder_add_value(&a, value_new(f, rec_at(t, recs, i)));
        }
        g_variant_builder_add(dict, "{sv}", key, g_variant_builder_end(&a));
    }
}

/* Read @f of record @i from @v (NULL: absent, 0), check it, store it. */
static bool field_read(const SndMigTable *t, const SndMigField *f, GVariant *v, void *rec,
                       const void *own, uint32_t i, GError **error)
{
    const uint8_t *data = NULL;
    gsize len = 0;
    uint64_t val = 0;

    if (v) {
        switch (f->type) {
        case SND_MIG_U8:
            val = g_variant_get_byte(v);
            break;
        case SND_MIG_BOOL:
            val = g_variant_get_boolean(v) ? 1 : 0;
            break;
        case SND_MIG_U32:
            val = g_variant_get_uint32(v);
            break;
        default:
            data = g_variant_get_fixed_array(v, &len, 1);
            val = len;
            break;
        }
    }
    if (f->check == SND_MIG_SAME && own && val != get_int(own, f)) {
        g_set_error(error, SND_MIGRATE_ERROR, SND_MIGRATE_ERROR_UNSUPPORTED,
                    "device state: %s record %u: %s %" G_GUINT64_FORMAT " differs from this "
                    "device's %" G_GUINT64_FORMAT, t->key, i, f->name, val, get_int(own, f));
        return false;
    }
    if (f->check == SND_MIG_AT_MOST && val > f->max) {
        return vsnd_mig_invalid(error, "%s record %u: %s %" G_GUINT64_FORMAT " above %"
                                G_GUINT64_FORMAT, t->key, i, f->name, val, f->max);
    }
    if (f->type == SND_MIG_BYTES) {
        *bytes_data(rec, f) = data;
        *bytes_len(rec, f) = len;
    } else {
        put_int(rec, f, val);
    }
    return true;
}

bool vsnd_mig_parse(const SndMigTable *t, GVariant *dict, void *recs, uint32_t n,
                    const void *own, GError **error)
{
    g_autofree char *rtype = vsnd_mig_record_type(t);
    g_autofree char *atype = g_strconcat("a", rtype, NULL);
    g_autoptr(GVariant) arr = vsnd_mig_lookup(dict, t->key, atype, true, error);
    g_autofree GVariant **added = g_new0(GVariant *, MAX(t->n, 1));
    bool ok = false;

    if (!arr) {
        return false;
    }
    if (g_variant_n_children(arr) != n) {
        return vsnd_mig_invalid(error, "%zu records under \"%s\" for %u",
                                g_variant_n_children(arr), t->key, n);
    }
    for (size_t j = 0; j < t->n; j++) {
        g_autofree char *key = NULL;
        g_autofree char *ftype = NULL;
        GError *e = NULL;

        if (!t->fields[j].added) {
            continue;
        }
        key = g_strconcat(t->key, ".", t->fields[j].name, NULL);
        ftype = g_strconcat("a", wire_type[t->fields[j].type], NULL);
        added[j] = vsnd_mig_lookup(dict, key, ftype, false, &e);
        if (e) {
            g_propagate_error(error, e);
            goto out;
        }
        if (added[j] && g_variant_n_children(added[j]) != n) {
            vsnd_mig_invalid(error, "%zu values of \"%s\" for %u records",
                             g_variant_n_children(added[j]), key, n);
            goto out;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        g_autoptr(GVariant) rec = g_variant_get_child_value(arr, i);
        size_t k = 0;

        for (size_t j = 0; j < t->n; j++) {
            const SndMigField *f = &t->fields[j];
            g_autoptr(GVariant) v = NULL;

            if (!f->added) {
                v = g_variant_get_child_value(rec, k++);
            } else if (added[j]) {
                v = g_variant_get_child_value(added[j], i);
            }
            if (!field_read(t, f, v, (uint8_t *)recs + (size_t)i * t->stride,
                            own ? rec_at(t, own, i) : NULL, i, error)) {
                goto out;
            }
        }
    }
    ok = true;
out:
    for (size_t j = 0; j < t->n; j++) {
        g_clear_pointer(&added[j], g_variant_unref);
    }
    return ok;
}
