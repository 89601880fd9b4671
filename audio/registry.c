/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.c - find, load, initialise and call host audio drivers.
 *
 * Theory of operation:
 *  - A driver spec is "name[,key=value...]".  Names and keys are lower-case
 *    words ([a-z0-9_-], starting with a letter); values are non-empty and
 *    may contain '='; a comma inside a value is written ",," as in QEMU's
 *    option syntax ("alsa,device=plughw:0,,0").  Every key may appear once.  The keys a
 *    driver accepts are listed in its VsndAudioDriver.option_keys.
 *  - null and wav are built in; a program may add drivers linked into it
 *    (vsnd_audio_register_driver(): the tests' scriptable fake), checked
 *    like a module's table and then found by name like null and wav.
 *    alsa, pulse and pipewire are GModules
 *    named "<name>.so" in $VSND_DRIVERDIR, else the configured DRIVERDIR.
 *    Each exports VSND_AUDIO_MODULE_SYMBOL returning its table; the table's
 *    abi_version must equal VSND_AUDIO_ABI_VERSION and its name the file's.
 *    Modules are made resident: driver libraries start threads and register
 *    atexit handlers, so unloading them is never safe.
 *  - "auto" initialises pipewire, pulse, alsa in turn (init connects to the
 *    server for real) and falls back to null; it logs what it chose and,
 *    at debug level, why each earlier candidate was passed over.
 *  - The per-stream wrappers answer -ENOTSUP for operations a driver
 *    leaves NULL, and vsnd_audio_open() re-checks the parameters cheaply so
 *    no driver ever sees a frame size of zero or an unknown rate.
 * Start-up errors (spec, module, options, init) are translated; errors of
 * stream operations go to the log and are not.
 * Main thread only.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <gmodule.h>
#include <string.h>

#include "builtin.h"
#include "iov-util.h"
#include "pcm-format.h"
#include "registry.h"
#include "i18n.h"


#ifndef DRIVERDIR
#define DRIVERDIR "/usr/lib/vhost-user-snd/drivers"
#endif

struct VsndAudio {
    const VsndAudioDriver *drv;
    VsndAudioBackend *be;
    bool manual_clock; /* the spec said clock=manual (and the driver took it) */
};

static const VsndAudioDriver *const builtin_drivers[] = {
    &vsnd_audio_null_driver,
    &vsnd_audio_wav_driver,
};

/* Drivers the program linked in and registered: few, never unregistered. */
static const VsndAudioDriver *registered_drivers[4];
static size_t n_registered;

static const char *const module_drivers[] = { "alsa", "pulse", "pipewire" };
static const char *const auto_order[] = { "pipewire", "pulse", "alsa" };
static const char *const known_drivers[] = {
    "auto", "null", "wav", "alsa", "pulse", "pipewire", NULL,
};

const char *const *vsnd_audio_known_drivers(void)
{
    return known_drivers;
}

static bool valid_word(const char *s, size_t len)
{
    if (len == 0 || !g_ascii_islower(s[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_islower(s[i]) && !g_ascii_isdigit(s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    }
    return true;
}

/* Split at single commas; ",," stands for a literal comma. */
static GStrv split_spec(const char *spec)
{
    GPtrArray *items = g_ptr_array_new();
    GString *cur = g_string_new(NULL);

    for (const char *p = spec; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            g_ptr_array_add(items, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(items, g_string_free(cur, FALSE));
    g_ptr_array_add(items, NULL);
    return (GStrv)g_ptr_array_free(items, FALSE);
}

gboolean vsnd_audio_parse_spec(const char *spec, char **ret_name, GHashTable **ret_options,
                               GError **error)
{
    g_autoptr(GHashTable) options = NULL;
    g_auto(GStrv) items = NULL;

    if (!spec || !*spec) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("empty audio driver specification (expected name[,key=value...])"));
        return FALSE;
    }
    items = split_spec(spec);
    if (!valid_word(items[0], strlen(items[0]))) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("invalid audio driver name \"%s\" in \"%s\" "
                    "(expected a lower-case name such as \"pulse\")"), items[0], spec);
        return FALSE;
    }
    options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 1; items[i]; i++) {
        const char *item = items[i];
        const char *eq = strchr(item, '=');
        size_t klen = eq ? (size_t)(eq - item) : strlen(item);
        g_autofree char *key = g_strndup(item, klen);

        if (!*item) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("empty option in audio driver specification \"%s\""), spec);
            return FALSE;
        }
        if (!valid_word(item, klen)) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("invalid option name \"%s\" in audio driver specification \"%s\""),
                        key, spec);
            return FALSE;
        }
        if (!eq) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("option \"%s\" of audio driver \"%s\" needs a value (%s=VALUE)"),
                        key, items[0], key);
            return FALSE;
        }
        if (!eq[1]) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("option \"%s\" of audio driver \"%s\" has an empty value"), key,
                        items[0]);
            return FALSE;
        }
        if (g_hash_table_contains(options, key)) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("option \"%s\" given twice for audio driver \"%s\""), key, items[0]);
            return FALSE;
        }
        g_hash_table_insert(options, g_steal_pointer(&key), g_strdup(eq + 1));
    }
    *ret_name = g_strdup(items[0]);
    *ret_options = g_steal_pointer(&options);
    return TRUE;
}

static const char *driver_dir(void)
{
    const char *dir = g_getenv("VSND_DRIVERDIR");

    return dir && *dir ? dir : DRIVERDIR;
}

static bool is_module_driver(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(module_drivers); i++) {
        if (strcmp(module_drivers[i], name) == 0)
            return true;
    }
    return false;
}

static const VsndAudioDriver *load_module(const char *name, GError **error)
{
    g_autofree char *path = g_strdup_printf("%s/%s.so", driver_dir(), name);
    VsndAudioModuleEntry entry = NULL;
    const VsndAudioDriver *drv;
    GModule *mod;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    _("audio driver \"%s\" is not installed: module %s not found "
                    "(built without it, or its package is missing)"), name, path);
        return NULL;
    }
    mod = g_module_open(path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
    if (!mod) {
        /* Typically names the missing host library, e.g. libpulse.so.0. */
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    _("audio driver \"%s\" cannot be loaded from %s: %s"), name, path,
                    g_module_error());
        return NULL;
    }
    if (!g_module_symbol(mod, VSND_AUDIO_MODULE_SYMBOL, (gpointer *)&entry) || !entry) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                    _("%s is not a vhost-user-snd audio driver (no %s symbol)"), path,
                    VSND_AUDIO_MODULE_SYMBOL);
        g_module_close(mod);
        return NULL;
    }
    drv = entry();
    if (!drv || drv->abi_version != VSND_AUDIO_ABI_VERSION) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    _("audio driver module %s has driver ABI version %u, this daemon needs %u "
                    "(module from another build?)"), path, drv ? drv->abi_version : 0,
                    VSND_AUDIO_ABI_VERSION);
        g_module_close(mod);
        return NULL;
    }
    if (!drv->name || strcmp(drv->name, name) != 0 || !drv->init || !drv->open) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                    _("audio driver module %s does not implement driver \"%s\""), path, name);
        g_module_close(mod);
        return NULL;
    }
    g_module_make_resident(mod);
    g_debug("loaded audio driver module %s", path);
    return drv;
}

/* A driver linked into the program: built in or registered. */
static const VsndAudioDriver *find_linked(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(builtin_drivers); i++) {
        if (strcmp(builtin_drivers[i]->name, name) == 0)
            return builtin_drivers[i];
    }
    for (size_t i = 0; i < n_registered; i++) {
        if (strcmp(registered_drivers[i]->name, name) == 0)
            return registered_drivers[i];
    }
    return NULL;
}

gboolean vsnd_audio_register_driver(const VsndAudioDriver *drv, GError **error)
{
    if (!drv || drv->abi_version != VSND_AUDIO_ABI_VERSION) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "audio driver table has ABI version %u, this daemon needs %u",
                    drv ? drv->abi_version : 0, VSND_AUDIO_ABI_VERSION);
        return FALSE;
    }
    if (!drv->name || !valid_word(drv->name, strlen(drv->name)) || !drv->init || !drv->open) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    "audio driver table \"%s\" lacks a lower-case name, init() or open()",
                    drv->name ? drv->name : "(null)");
        return FALSE;
    }
    if (strcmp(drv->name, "auto") == 0 || find_linked(drv->name) || is_module_driver(drv->name)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_BUSY,
                    "audio driver \"%s\" exists already", drv->name);
        return FALSE;
    }
    if (n_registered == G_N_ELEMENTS(registered_drivers)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                    "no room to register audio driver \"%s\" (%zu registered)", drv->name,
                    n_registered);
        return FALSE;
    }
    registered_drivers[n_registered++] = drv;
    return TRUE;
}

static const VsndAudioDriver *find_driver(const char *name, GError **error)
{
    const VsndAudioDriver *drv = find_linked(name);

    if (drv)
        return drv;
    if (is_module_driver(name))
        return load_module(name, error);
    {
        g_autofree char *known = g_strjoinv(", ", (char **)known_drivers);
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    _("unknown audio driver \"%s\" (known: %s)"), name, known);
    }
    return NULL;
}

gboolean vsnd_audio_driver_option_keys(const char *name, const char *const **ret_keys,
                                       GError **error)
{
    static const char *const none[] = { NULL };
    const VsndAudioDriver *drv;

    if (strcmp(name, "auto") == 0) {
        *ret_keys = none;
        return TRUE;
    }
    drv = find_driver(name, error);
    if (!drv)
        return FALSE;
    *ret_keys = drv->option_keys ? drv->option_keys : none;
    return TRUE;
}

static gboolean check_options(const VsndAudioDriver *drv, GHashTable *options, GError **error)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, options);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        bool ok = false;

        for (const char *const *k = drv->option_keys; k && *k; k++)
            ok = ok || strcmp(*k, key) == 0;
        if (!ok) {
            g_autofree char *known = drv->option_keys ?
                g_strjoinv(", ", (char **)drv->option_keys) : g_strdup("none");
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("unknown option \"%s\" for audio driver \"%s\" (known: %s)"),
                        (const char *)key, drv->name, known);
            return FALSE;
        }
    }
    return TRUE;
}

static VsndAudio *audio_init(const VsndAudioDriver *drv, GHashTable *options,
                             const char *vm_name, GError **error)
{
    VsndAudioBackend *be;
    VsndAudio *a;

    if (!check_options(drv, options, error))
        return NULL;
    be = drv->init(options, vm_name, error);
    if (!be) {
        if (error && !*error)
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                        _("audio driver \"%s\" failed to start"), drv->name);
        return NULL;
    }
    a = g_new0(VsndAudio, 1);
    a->drv = drv;
    a->be = be;
    /* check_options() let "clock" through only to a driver that takes it,
     * and init() refused any value but real and manual. */
    a->manual_clock = g_strcmp0(g_hash_table_lookup(options, "clock"), "manual") == 0;
    return a;
}

static VsndAudio *audio_auto(const char *vm_name, GError **error)
{
    g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);
    const VsndAudioDriver *drv;
    VsndAudio *a;

    for (size_t i = 0; i < G_N_ELEMENTS(auto_order); i++) {
        g_autoptr(GError) err = NULL;

        drv = find_driver(auto_order[i], &err);
        a = drv ? audio_init(drv, none, vm_name, &err) : NULL;
        if (a) {
            g_message("audio driver auto: using %s", drv->name);
            return a;
        }
        g_debug("audio driver auto: %s not usable: %s", auto_order[i], err->message);
    }
    a = audio_init(&vsnd_audio_null_driver, none, vm_name, error);
    if (a)
        g_message("audio driver auto: no audio server reachable, using null (silence)");
    return a;
}

VsndAudio *vsnd_audio_new(const char *spec, const char *vm_name, GError **error)
{
    g_autofree char *name = NULL;
    g_autoptr(GHashTable) options = NULL;
    const VsndAudioDriver *drv;

    if (!vsnd_audio_parse_spec(spec, &name, &options, error))
        return NULL;
    if (!vm_name || !*vm_name)
        vm_name = "vhost-user-snd";
    if (strcmp(name, "auto") == 0) {
        if (g_hash_table_size(options) > 0) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("audio driver \"auto\" takes no options; name a driver to pass options"));
            return NULL;
        }
        return audio_auto(vm_name, error);
    }
    drv = find_driver(name, error);
    if (!drv)
        return NULL;
    return audio_init(drv, options, vm_name, error);
}

void vsnd_audio_free(VsndAudio *a)
{
    if (!a)
        return;
    if (a->drv->fini)
        a->drv->fini(a->be);
    g_free(a);
}

const char *vsnd_audio_name(const VsndAudio *a)
{
    return a->drv->name;
}

bool vsnd_audio_manual_clock(const VsndAudio *a)
{
    return a->manual_clock;
}

int vsnd_audio_query_caps(VsndAudio *a, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    if (!a->drv->query_caps)
        return -ENOTSUP;
    return a->drv->query_caps(a->be, dir, ret_caps);
}

VsndAudioStream *vsnd_audio_open(VsndAudio *a, const VsndPcmParams *params,
                                 const VsndAudioStreamEvents *events, void *opaque,
                                 GError **error)
{
    unsigned int frame = vsnd_pcm_frame_bytes(params->format, params->channels);

    if (params->direction != VSND_DIR_OUTPUT && params->direction != VSND_DIR_INPUT) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    "invalid stream direction %d", (int)params->direction);
        return NULL;
    }
    if (frame == 0 || params->channels == 0 || vsnd_pcm_rate_hz(params->rate) == 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "unsupported stream parameters: format %u, rate %u, %u channels",
                    params->format, params->rate, params->channels);
        return NULL;
    }
    if (params->period_bytes == 0 || params->period_bytes % frame ||
        params->buffer_bytes < params->period_bytes) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    "invalid stream buffer: period %u bytes, buffer %u bytes, frame %u bytes",
                    params->period_bytes, params->buffer_bytes, frame);
        return NULL;
    }
    if (!a->drv->open) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "audio driver \"%s\" cannot open streams", a->drv->name);
        return NULL;
    }
    return a->drv->open(a->be, params, events, opaque, error);
}

void vsnd_audio_close(VsndAudio *a, VsndAudioStream *s)
{
    if (s && a->drv->close)
        a->drv->close(s);
}

#define CALL_OP(op, ...) \
    (a->drv->op ? a->drv->op(__VA_ARGS__) : -ENOTSUP)

int vsnd_audio_start(VsndAudio *a, VsndAudioStream *s)
{
    return CALL_OP(start, s);
}

int vsnd_audio_stop(VsndAudio *a, VsndAudioStream *s)
{
    return CALL_OP(stop, s);
}

int vsnd_audio_drain(VsndAudio *a, VsndAudioStream *s)
{
    return CALL_OP(drain, s);
}

/* An empty transfer never reaches a driver. */
ssize_t vsnd_audio_write(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                         unsigned int iovcnt)
{
    if (vsnd_iov_size(iov, iovcnt) == 0)
        return a->drv->write ? 0 : -ENOTSUP;
    return CALL_OP(write, s, iov, iovcnt);
}

ssize_t vsnd_audio_read(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                        unsigned int iovcnt)
{
    if (vsnd_iov_size(iov, iovcnt) == 0)
        return a->drv->read ? 0 : -ENOTSUP;
    return CALL_OP(read, s, iov, iovcnt);
}

int vsnd_audio_get_latency(VsndAudio *a, VsndAudioStream *s, uint32_t *ret_bytes)
{
    return CALL_OP(get_latency, s, ret_bytes);
}

int vsnd_audio_set_volume(VsndAudio *a, VsndAudioStream *s, uint32_t volume, bool mute)
{
    return CALL_OP(set_volume, s, volume, mute);
}

bool vsnd_audio_is_connected(VsndAudio *a, VsndDirection dir, const char *target)
{
    /* A driver that cannot tell has its end always present. */
    return a->drv->is_connected ? a->drv->is_connected(a->be, dir, target) : true;
}
