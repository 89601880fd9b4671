/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-vm.c - QEMU + Linux guest for the real-guest tests (see guest-vm.h).
 */
#include "config.h"

#include "guest-vm.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define GV_MEM_MB 256
#define GV_DISK_BYTES (128u << 20)

struct GuestVm {
    char *name;
    char *tmpdir;
    char *disk_path;
    char *qmp_path;
    char *err_path;
    pid_t pid;
    int status;
    bool reaped;
    int in_fd;    /* console input (QEMU's stdin) */
    int qmp_fd;
    GThread *reader;
    GMutex lock;
    GCond cond;
    GString *console; /* everything the console printed, \r removed */
    size_t consumed;  /* gv_wait() has taken everything before this */
    bool eof;
};

char *gv_cache_dir(void)
{
    const char *env = g_getenv("VSND_GUEST_CACHE");
    if (env && *env)
        return g_strdup(env);
    return g_build_filename(g_get_user_cache_dir(), "vhost-user-snd", "guest", NULL);
}

char **gv_kernels(void)
{
    g_autofree char *dir = gv_cache_dir();
    g_autofree char *list = g_build_filename(dir, "kernels", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    if (g_file_get_contents(list, &text, NULL, NULL)) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
            g_autofree char *v = g_strstrip(g_strdup(*l));
            g_autofree char *vmlinuz = g_build_filename(dir, v, "vmlinuz", NULL);
            if (*v && g_file_test(vmlinuz, G_FILE_TEST_IS_REGULAR))
                g_ptr_array_add(out, g_steal_pointer(&v));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

char *gv_qemu_path(void)
{
    const char *env = g_getenv("VSND_QEMU");
    if (env && *env)
        return g_strdup(env);
    return g_find_program_in_path("qemu-system-x86_64");
}

bool gv_require(void)
{
    g_autofree char *qemu = gv_qemu_path();
    g_auto(GStrv) kernels = gv_kernels();
    const char *why = NULL;
    if (!qemu)
        why = "qemu-system-x86_64 (>= 10.0, bookworm-backports) is not installed";
    else if (!kernels[0])
        why = "no guest kernel in the cache: run build-aux/fetch-guest-kernels.sh";
    if (!why)
        return true;
    if (g_strcmp0(g_getenv("CI"), "true") == 0 || g_strcmp0(g_getenv("VSND_GUEST"), "1") == 0) {
        g_test_fail_printf("%s", why);
        return false;
    }
    g_test_skip(why);
    return false;
}

/* ---- initramfs ------------------------------------------------------- */

static void cpio_entry(GByteArray *a, const char *name, unsigned int mode, const void *data,
                       size_t len)
{
    static unsigned int ino = 1000;
    char hdr[111];
    size_t namelen = strlen(name) + 1;
    g_snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
               ino++, mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, namelen, 0u);
    g_byte_array_append(a, (const guint8 *)hdr, 110);
    g_byte_array_append(a, (const guint8 *)name, (guint)namelen);
    static const guint8 zeros[4];
    g_byte_array_append(a, zeros, (4 - a->len % 4) % 4);
    if (len)
        g_byte_array_append(a, data, (guint)len);
    g_byte_array_append(a, zeros, (4 - a->len % 4) % 4);
}

GBytes *gv_cpio(const GvFile *files, size_t n_files)
{
    GByteArray *a = g_byte_array_new();
    g_autoptr(GHashTable) dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; i < n_files; i++) {
        const char *p = files[i].path;
        while (*p == '/')
            p++;
        /* parents first, each once */
        for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
            char *dir = g_strndup(p, (gsize)(s - p));
            if (g_hash_table_add(dirs, dir))
                cpio_entry(a, dir, 040755, NULL, 0);
        }
        gsize len = 0;
        const void *data = g_bytes_get_data(files[i].contents, &len);
        cpio_entry(a, p, 0100644, data, len);
    }
    cpio_entry(a, "TRAILER!!!", 0, NULL, 0);
    return g_byte_array_free_to_bytes(a);
}

static bool newer(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_mtime > sb.st_mtime;
}

/* The base initramfs of @kernel, built once per build tree. */
static char *gv_image(const char *kernel, GError **error)
{
    const char *src = g_getenv("VSND_SRCDIR");
    const char *build = g_getenv("G_TEST_BUILDDIR");
    g_autofree char *script = g_build_filename(src ? src : ".", "tests", "guest", "mkinitramfs.sh", NULL);
    g_autofree char *init = g_build_filename(src ? src : ".", "tests", "guest", "guest-init.sh", NULL);
    g_autofree char *dir = g_build_filename(build ? build : ".", "guest-images", NULL);
    g_autofree char *cache = gv_cache_dir();
    g_autofree char *kdir = g_build_filename(cache, kernel, NULL);
    g_autofree char *name = g_strconcat(kernel, ".cpio", NULL);
    char *image = g_build_filename(dir, name, NULL);
    if (g_file_test(image, G_FILE_TEST_EXISTS) && !newer(script, image) && !newer(init, image))
        return image;
    g_mkdir_with_parents(dir, 0755);
    const char *argv[] = {"/bin/sh", script, kdir, image, init, NULL};
    int status = -1;
    g_autofree char *err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err, &status,
                      error) ||
        !g_spawn_check_wait_status(status, NULL)) {
        if (error && !*error)
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "mkinitramfs.sh failed: %s", err);
        g_free(image);
        return NULL;
    }
    return image;
}

/* ---- console --------------------------------------------------------- */

typedef struct ReaderArgs {
    GuestVm *vm;
    int fd;
} ReaderArgs;

static gpointer reader_main(gpointer data)
{
    ReaderArgs *ra = data;
    GuestVm *vm = ra->vm;
    char buf[4096];
    for (;;) {
        ssize_t n = read(ra->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        g_mutex_lock(&vm->lock);
        if (n <= 0) {
            vm->eof = true;
            g_cond_broadcast(&vm->cond);
            g_mutex_unlock(&vm->lock);
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != '\r')
                g_string_append_c(vm->console, buf[i]);
        g_cond_broadcast(&vm->cond);
        g_mutex_unlock(&vm->lock);
    }
    close(ra->fd);
    g_free(ra);
    return NULL;
}

static void console_write(GuestVm *vm, const char *text)
{
    size_t len = strlen(text);
    while (len) {
        ssize_t n = write(vm->in_fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

void gv_send(GuestVm *vm, const char *cmd)
{
    g_assert(!strchr(cmd, '\n'));
    console_write(vm, cmd);
    console_write(vm, "\n");
}

/* A "@@ <digits>" line at or after @from, bounded by [*start, *end). */
static bool find_status(const GString *s, size_t from, size_t *start, size_t *end, int *status)
{
    for (size_t i = from; i + 3 < s->len; i++) {
        if ((i > 0 && s->str[i - 1] != '\n') || strncmp(s->str + i, "@@ ", 3) != 0)
            continue;
        size_t j = i + 3;
        int v = 0;
        bool digits = false;
        while (j < s->len && g_ascii_isdigit(s->str[j])) {
            v = v * 10 + (s->str[j] - '0');
            digits = true;
            j++;
        }
        if (digits && j < s->len && s->str[j] == '\n') {
            *start = i;
            *end = j + 1;
            *status = v;
            return true;
        }
    }
    return false;
}

/* Looks at the console from vm->consumed on; returns true when what it
 * waits for is there (and may advance vm->consumed past it).  Called with
 * vm->lock held. */
typedef bool (*ConsoleMatch)(GuestVm *vm, void *data);

/* Waits under the console lock until @match succeeds, the console ends or
 * @timeout_s passes; one loop for every kind of wait. */
static bool console_wait(GuestVm *vm, ConsoleMatch match, void *data, double timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    bool found;

    g_mutex_lock(&vm->lock);
    while (!(found = match(vm, data)) && !vm->eof &&
           g_cond_wait_until(&vm->cond, &vm->lock, deadline))
        ;
    g_mutex_unlock(&vm->lock);
    return found;
}

typedef struct {
    char **out;
    int status;
} StatusWait;

/* The next "@@ <status>" line; what came before it goes to *out. */
static bool match_status(GuestVm *vm, void *data)
{
    StatusWait *w = data;
    size_t start, end;

    if (!find_status(vm->console, vm->consumed, &start, &end, &w->status))
        return false;
    if (w->out)
        *w->out = g_strndup(vm->console->str + vm->consumed, start - vm->consumed);
    vm->consumed = end;
    return true;
}

int gv_wait(GuestVm *vm, char **out, double timeout_s)
{
    StatusWait w = { out, -1 };

    if (console_wait(vm, match_status, &w, timeout_s))
        return w.status;
    if (out) {
        g_mutex_lock(&vm->lock);
        *out = g_strdup(vm->console->str + vm->consumed);
        g_mutex_unlock(&vm->lock);
    }
    return -1;
}

int gv_run(GuestVm *vm, const char *cmd, char **out, double timeout_s)
{
    gv_send(vm, cmd);
    return gv_wait(vm, out, timeout_s);
}

static bool match_text(GuestVm *vm, void *data)
{
    return strstr(vm->console->str + vm->consumed, data) != NULL;
}

bool gv_wait_for(GuestVm *vm, const char *needle, double timeout_s)
{
    return console_wait(vm, match_text, (void *)needle, timeout_s);
}

/* The whole "@@ready" line: the reader may have delivered only part of it. */
static bool match_ready(GuestVm *vm, void *data)
{
    const char *p = strstr(vm->console->str + vm->consumed, "@@ready");
    const char *nl = p ? strchr(p, '\n') : NULL;

    if (!nl)
        return false;
    vm->consumed = (size_t)(nl + 1 - vm->console->str);
    return true;
}

bool gv_wait_ready(GuestVm *vm, double timeout_s)
{
    return console_wait(vm, match_ready, NULL, timeout_s);
}

char *gv_console(GuestVm *vm)
{
    g_mutex_lock(&vm->lock);
    char *s = g_strdup(vm->console->str);
    g_mutex_unlock(&vm->lock);
    return s;
}

/* ---- QMP --------------------------------------------------------------- */

/* One line from the monitor (blocking, with the socket's timeout). */
static char *qmp_line(GuestVm *vm)
{
    GString *s = g_string_new(NULL);
    char c;
    for (;;) {
        ssize_t n = read(vm->qmp_fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_string_free(s, TRUE);
            return NULL;
        }
        if (c == '\n')
            return g_string_free(s, FALSE);
        g_string_append_c(s, c);
    }
}

/* Read until a reply ("return" or "error"), skipping events. */
static char *qmp_reply(GuestVm *vm, GError **error)
{
    for (;;) {
        g_autofree char *line = qmp_line(vm);
        if (!line) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "QMP monitor closed");
            return NULL;
        }
        if (strstr(line, "\"return\""))
            return g_steal_pointer(&line);
        if (strstr(line, "\"error\"")) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "QMP: %s", line);
            return NULL;
        }
    }
}

static bool qmp_connect(GuestVm *vm, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, vm->qmp_path, sizeof sa.sun_path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            struct timeval tv = {.tv_sec = 20};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            vm->qmp_fd = fd;
            break;
        }
        close(fd);
        if (g_get_monotonic_time() > deadline || !gv_qemu_alive(vm)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "QMP socket %s: no connection",
                        vm->qmp_path);
            return false;
        }
        g_usleep(20000);
    }
    g_autofree char *greeting = qmp_line(vm);
    if (!greeting || !strstr(greeting, "QMP")) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "QMP: no greeting");
        return false;
    }
    g_autofree char *r = gv_qmp(vm, "{\"execute\": \"qmp_capabilities\"}", error);
    return r != NULL;
}

char *gv_qmp(GuestVm *vm, const char *json, GError **error)
{
    g_autofree char *line = g_strconcat(json, "\n", NULL);
    if (vm->qmp_fd < 0 || write(vm->qmp_fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "QMP: cannot send %s", json);
        return NULL;
    }
    return qmp_reply(vm, error);
}

/* ---- process ----------------------------------------------------------- */

static bool reap(GuestVm *vm, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!vm->reaped) {
        pid_t r = waitpid(vm->pid, &vm->status, WNOHANG);
        if (r == vm->pid) {
            vm->reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR) {
            vm->reaped = true;
            vm->status = -1;
            break;
        }
        if (g_get_monotonic_time() > deadline)
            return false;
        g_usleep(10000);
    }
    return true;
}

bool gv_qemu_alive(GuestVm *vm)
{
    return !reap(vm, 0);
}

char *gv_qemu_log(GuestVm *vm)
{
    char *text = NULL;
    if (!g_file_get_contents(vm->err_path, &text, NULL, NULL))
        text = g_strdup("");
    return text;
}

static GPtrArray *qemu_argv(GuestVm *vm, const GvConfig *cfg, const char *qemu,
                            const char *initrd, const char *incoming)
{
    g_autofree char *cache = gv_cache_dir();
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
#define ARG(...) g_ptr_array_add(a, g_strdup_printf(__VA_ARGS__))
    ARG("%s", qemu);
    ARG("-accel");
    ARG("tcg");
    ARG("-nodefaults");
    ARG("-no-user-config");
    ARG("-display");
    ARG("none");
    ARG("-m");
    ARG("%dM", GV_MEM_MB);
    ARG("-object");
    ARG("memory-backend-memfd,id=mem,size=%dM,share=on%s", GV_MEM_MB,
        cfg->hugepages ? ",hugetlb=on,hugetlbsize=2M" : "");
    ARG("-machine");
    ARG("pc,memory-backend=mem");
    ARG("-chardev");
    ARG("stdio,id=con,signal=off");
    ARG("-serial");
    ARG("chardev:con");
    ARG("-kernel");
    ARG("%s/%s/vmlinuz", cache, cfg->kernel);
    ARG("-initrd");
    ARG("%s", initrd);
    ARG("-append");
    ARG("console=ttyS0 loglevel=1 panic=0%s%s", cfg->kernel_args ? " " : "",
        cfg->kernel_args ? cfg->kernel_args : "");
    ARG("-chardev");
    if (cfg->reconnect_ms > 0)
        ARG("socket,id=snd0,path=%s,reconnect-ms=%d", cfg->socket_path, cfg->reconnect_ms);
    else
        ARG("socket,id=snd0,path=%s", cfg->socket_path);
    ARG("-device");
    ARG("vhost-user-snd-pci,chardev=snd0%s", cfg->controls ? ",controls=on" : "");
    ARG("-drive");
    ARG("file=%s,if=virtio,format=raw,cache=writethrough", vm->disk_path);
    ARG("-qmp");
    ARG("unix:%s,server=on,wait=off", vm->qmp_path);
    if (incoming) {
        ARG("-incoming");
        ARG("%s", incoming);
    }
#undef ARG
    g_ptr_array_add(a, NULL);
    return a;
}

static GuestVm *gv_new(const GvConfig *cfg, GError **error)
{
    GuestVm *vm = g_new0(GuestVm, 1);
    vm->pid = -1;
    vm->reaped = true;
    vm->in_fd = -1;
    vm->qmp_fd = -1;
    g_mutex_init(&vm->lock);
    g_cond_init(&vm->cond);
    vm->console = g_string_new(NULL);
    vm->name = g_strdup(cfg->name ? cfg->name : "guest");
    vm->tmpdir = g_dir_make_tmp("vsnd-guest-XXXXXX", error);
    if (!vm->tmpdir) {
        gv_free(vm);
        return NULL;
    }
    vm->qmp_path = g_build_filename(vm->tmpdir, "qmp.sock", NULL);
    vm->err_path = g_build_filename(vm->tmpdir, "qemu.log", NULL);
    return vm;
}

static bool gv_spawn(GuestVm *vm, const GvConfig *cfg, const char *initrd, const char *incoming,
                     GError **error);

GuestVm *gv_start(const GvConfig *cfg, GError **error)
{
    g_autofree char *base = gv_image(cfg->kernel, error);
    if (!base)
        return NULL;

    g_autoptr(GuestVm) vm = gv_new(cfg, error);
    if (!vm)
        return NULL;
    vm->disk_path = g_build_filename(vm->tmpdir, "xfer.img", NULL);

    /* initrd = base image + this test's files */
    g_autofree char *initrd = g_build_filename(vm->tmpdir, "initrd.cpio", NULL);
    g_autofree char *image = NULL;
    gsize image_len = 0;
    if (!g_file_get_contents(base, &image, &image_len, error))
        return NULL;
    g_autoptr(GBytes) extra = gv_cpio(cfg->files, cfg->n_files);
    g_autoptr(GByteArray) all = g_byte_array_new();
    g_byte_array_append(all, (guint8 *)image, (guint)image_len);
    /* the kernel wants the next archive 4-byte aligned */
    static const guint8 zeros[4];
    g_byte_array_append(all, zeros, (4 - all->len % 4) % 4);
    gsize extra_len;
    const guint8 *extra_data = g_bytes_get_data(extra, &extra_len);
    g_byte_array_append(all, extra_data, (guint)extra_len);
    if (!g_file_set_contents(initrd, (char *)all->data, all->len, error))
        return NULL;
    int dfd = open(vm->disk_path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (dfd < 0 || ftruncate(dfd, GV_DISK_BYTES) != 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", vm->disk_path,
                    g_strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return NULL;
    }
    close(dfd);
    if (!gv_spawn(vm, cfg, initrd, NULL, error))
        goto fail;
    if (!gv_wait_ready(vm, 60)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s: the guest never became ready",
                    vm->name);
        goto fail;
    }
    return g_steal_pointer(&vm);

fail : {
    g_autofree char *log = gv_qemu_log(vm);
    g_autofree char *con = gv_console(vm);
    g_prefix_error(error, "QEMU: %s\nconsole: %s\n", log, con);
    return NULL;
}
}

GuestVm *gv_start_incoming(const GvConfig *cfg, GuestVm *source, const char *uri, GError **error)
{
    g_autoptr(GuestVm) vm = gv_new(cfg, error);
    if (!vm)
        return NULL;
    vm->disk_path = g_strdup(source->disk_path);
    g_autofree char *initrd = g_build_filename(source->tmpdir, "initrd.cpio", NULL);
    if (gv_spawn(vm, cfg, initrd, uri, error))
        return g_steal_pointer(&vm);
    g_autofree char *log = gv_qemu_log(vm);
    g_prefix_error(error, "incoming QEMU: %s\n", log);
    return NULL;
}

/* Fork QEMU with its console on pipes and connect to its monitor. */
static bool gv_spawn(GuestVm *vm, const GvConfig *cfg, const char *initrd, const char *incoming,
                     GError **error)
{
    g_autofree char *qemu = cfg->qemu ? g_strdup(cfg->qemu) : gv_qemu_path();
    if (!qemu) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "qemu-system-x86_64 not found");
        return false;
    }
    g_autoptr(GPtrArray) argv = qemu_argv(vm, cfg, qemu, initrd, incoming);
    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "pipe: %s", g_strerror(errno));
        return false;
    }
    int err_fd = open(vm->err_path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* QEMU must not outlive an aborted test */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_fd, 2);
        execv((char *)argv->pdata[0], (char **)argv->pdata);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_fd);
    if (pid < 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "fork: %s", g_strerror(errno));
        return false;
    }
    vm->pid = pid;
    vm->reaped = false;
    vm->in_fd = in_pipe[1];
    ReaderArgs *ra = g_new0(ReaderArgs, 1);
    ra->vm = vm;
    ra->fd = out_pipe[0];
    vm->reader = g_thread_new("guest-console", reader_main, ra);
    return qmp_connect(vm, error);
}

GBytes *gv_fetch(GuestVm *vm, const char *path, GError **error)
{
    g_autofree char *cmd = g_strdup_printf("stat -c %%s %s && cat %s >/dev/vda && sync", path, path);
    g_autofree char *out = NULL;
    int st = gv_run(vm, cmd, &out, 60);
    if (st != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "fetch %s: status %d: %s", path, st,
                    out);
        return NULL;
    }
    guint64 size = g_ascii_strtoull(out, NULL, 10);
    if (size > GV_DISK_BYTES) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "fetch %s: %s bytes", path, out);
        return NULL;
    }
    int fd = open(vm->disk_path, O_RDONLY | O_CLOEXEC);
    guint8 *buf = g_malloc(size ? size : 1);
    ssize_t n = fd >= 0 ? pread(fd, buf, size, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)size) {
        g_free(buf);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "fetch %s: short read", path);
        return NULL;
    }
    return g_bytes_new_take(buf, size);
}

int gv_stop(GuestVm *vm, int timeout_ms)
{
    if (!vm->reaped) {
        gv_send(vm, "poweroff -f");
        if (!reap(vm, timeout_ms)) {
            kill(vm->pid, SIGTERM);
            if (!reap(vm, 2000)) {
                kill(vm->pid, SIGKILL);
                reap(vm, 5000);
            }
            return -1;
        }
    }
    return vm->status;
}

void gv_free(GuestVm *vm)
{
    if (!vm)
        return;
    if (!vm->reaped) {
        kill(vm->pid, SIGKILL);
        reap(vm, 5000);
    }
    if (vm->in_fd >= 0)
        close(vm->in_fd);
    if (vm->qmp_fd >= 0)
        close(vm->qmp_fd);
    if (vm->reader)
        g_thread_join(vm->reader);
    if (vm->tmpdir) {
        const char *keep = g_getenv("VSND_GUEST_KEEP");
        if (!keep || !*keep) {
            unlink(vm->disk_path);
            unlink(vm->qmp_path);
            unlink(vm->err_path);
            g_autofree char *initrd = g_build_filename(vm->tmpdir, "initrd.cpio", NULL);
            unlink(initrd);
            rmdir(vm->tmpdir);
        }
    }
    g_free(vm->tmpdir);
    g_free(vm->disk_path);
    g_free(vm->qmp_path);
    g_free(vm->err_path);
    g_free(vm->name);
    g_string_free(vm->console, TRUE);
    g_mutex_clear(&vm->lock);
    g_cond_clear(&vm->cond);
    g_free(vm);
}
