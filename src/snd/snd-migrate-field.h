/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-migrate-field.h - records of a device-state blob described once:
 * a table of fields (name, wire type, where the value lives in a C struct,
 * how it is checked) from which the record's GVariant type, its save, its
 * parse and its per-field checks are all derived.  snd-migrate.c keeps the
 * table of a PCM stream's fields (over SndPcmSnapshot); a new field is one
 * line there (HACKING.md, "Adding a field to the device state").
 *
 * Wire: the fields of format 1 (@added false) form one positional tuple
 * per record, the records an array under the table's key; a field added
 * later travels under its own key "<key>.<name>", an array with one value
 * per record, so a reader that does not know it ignores it, and a blob
 * without it loads with the value 0 (or no bytes).  Main thread or any:
 * no state.
 */
#ifndef VSND_SND_MIGRATE_FIELD_H
#define VSND_SND_MIGRATE_FIELD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a state was refused (GError domain SND_MIGRATE_ERROR). */
typedef enum {
    SND_MIGRATE_ERROR_INVALID,     /* malformed, corrupted or inconsistent */
    SND_MIGRATE_ERROR_UNSUPPORTED, /* newer format, or not this topology */
} SndMigrateError;
#define SND_MIGRATE_ERROR (vsnd_migrate_error_quark())
GQuark vsnd_migrate_error_quark(void);

typedef enum {
    SND_MIG_U8,    /* "y" into an integer or enum member of any width */
    SND_MIG_BOOL,  /* "b" into a bool member */
    SND_MIG_U32,   /* "u" into an integer or enum member */
    SND_MIG_BYTES, /* "ay" into a const uint8_t * member and a size_t (@len_offset);
                    * the bytes stay in the parsed blob */
} SndMigType;

typedef enum {
    SND_MIG_AT_MOST, /* value (bytes: length) at most @max, else INVALID */
    SND_MIG_SAME,    /* equal to this device's own record, else UNSUPPORTED
                      * (topology: what the device is, not what it did) */
} SndMigCheck;

typedef struct SndMigField {
    const char *name;    /* in messages; the key suffix of an added field */
    SndMigType type;
    size_t offset;       /* of the member in the record struct */
    size_t width;        /* its size: 1, 2, 4 or 8 */
    SndMigCheck check;
    uint64_t max;        /* SND_MIG_AT_MOST */
    bool added;          /* not in format 1's tuple: own key, absent = 0 */
    size_t len_offset;   /* SND_MIG_BYTES: the size_t length member */
} SndMigField;

/* Offset and width of member @m of struct @T, for a table entry. */
#define SND_MIG_MEMBER(T, m) offsetof(T, m), sizeof(((T *)NULL)->m)

typedef struct SndMigTable {
    const char *key;     /* payload key of the records */
    const SndMigField *fields;
    size_t n;
    size_t stride;       /* sizeof the record struct */
} SndMigTable;

/* Refuse a state as SND_MIGRATE_ERROR_INVALID ("device state: " + @fmt).
 * Return: false. */
bool vsnd_mig_invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Key @key of the payload dictionary @dict, of type @type: NULL when
 * absent (@error set only when @required) or of another type (@error). */
GVariant *vsnd_mig_lookup(GVariant *dict, const char *key, const char *type, bool required,
                          GError **error);

/* GVariant type of one record's tuple, e.g. "(yybuuuyyyubay)" (free it). */
char *vsnd_mig_record_type(const SndMigTable *t);
/* Add @n records at @recs to the "a{sv}" builder @dict. */
void vsnd_mig_save(const SndMigTable *t, GVariantBuilder *dict, const void *recs, uint32_t n);
/*
 * vsnd_mig_parse() - fill @recs (@n records, zeroed by the caller) from the
 * payload dictionary @dict and check every field against the table; SAME
 * fields against @own (this device's records).  A missing or mistyped
 * key, a record count other than @n, a value out of bounds: false with
 * @error (SND_MIGRATE_ERROR).  Bytes members point into @dict.
 */
bool vsnd_mig_parse(const SndMigTable *t, GVariant *dict, void *recs, uint32_t n,
                    const void *own, GError **error);

#endif /* VSND_SND_MIGRATE_FIELD_H */
