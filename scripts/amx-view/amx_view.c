// Shows which oneDNN kernels a program would run on an Intel processor with AMX, on a
// processor without it (see README.md). Loaded into the program with LD_PRELOAD:
//  - CPUID is made to fault (Linux's ARCH_SET_CPUID, where the processor offers it) and is
//    answered here: the real values, plus the AMX feature bits, the tile palette and the
//    caches of a Sapphire Rapids core, under Intel's vendor name;
//  - the system calls by which oneDNN asks Linux for the AMX register state succeed;
//  - primitives whose kernel is an AMX one are not executed (this processor cannot run
//    them): their destination is filled with ones, so what follows sees no stale values and
//    nothing it may not divide by (attention divides by sums of its scores), and they are
//    counted by kind and kernel with the time the filling took, printed when the program
//    ends (if there were any); while oneDNN's verbose mode is on, each prints an "exec"
//    line as oneDNN would, with the kernel and a time of 0, so that readers of those lines
//    (`bench --kernels`, tst_onednn_kernel_choice) see it.
// Everything else runs as usual, so the time a program takes here is the time of all its
// work except the AMX kernels, plus the filling.
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_SET_CPUID 0x1012
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_MASK_XTILE (3ul << 17)

// The system call without libc, usable inside the signal handler and not routed through
// this file's own syscall() below.
static long raw_arch_prctl(long code, long arg) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_arch_prctl), "D"(code), "S"(arg)
                     : "rcx", "r11", "memory");
    return ret;
}

static void set_words(unsigned r[4], unsigned a, unsigned b, unsigned c, unsigned d) {
    r[0] = a; r[1] = b; r[2] = c; r[3] = d;
}

static void answer_cpuid(unsigned leaf, unsigned subleaf, unsigned r[4]) {
    raw_arch_prctl(ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
    raw_arch_prctl(ARCH_SET_CPUID, 0);
    switch (leaf) {
    case 0x0:  // highest leaf (the tile leaves are 0x1D and 0x1E) and "GenuineIntel"
        if (r[0] < 0x1e) r[0] = 0x1e;
        r[1] = 0x756e6547; r[3] = 0x49656e69; r[2] = 0x6c65746e;
        break;
    case 0x4:  // caches: 48 KB L1 data, 2 MB L2, 105 MB L3, each level shared by 2 threads
        if (subleaf == 0) set_words(r, 0x4021, (11u << 22) | 63, 63, 0);
        else if (subleaf == 1) set_words(r, 0x4043, (15u << 22) | 63, 2047, 0);
        else if (subleaf == 2) set_words(r, 0x4063, (14u << 22) | 63, 114687, 0);
        else set_words(r, 0, 0, 0, 0);
        break;
    case 0x7:  // AMX-BF16, AMX-TILE, AMX-INT8
        if (subleaf == 0) r[3] |= (1u << 22) | (1u << 24) | (1u << 25);
        break;
    case 0xb:  // topology: 2 threads per core, one core
        if (subleaf == 0) set_words(r, 1, 2, 0x100, 0);
        else if (subleaf == 1) set_words(r, 1, 2, 0x201, 0);
        else set_words(r, 0, 0, subleaf, 0);
        break;
    case 0x1d:  // tile palette 1: 8 KB, 8 tiles of 1 KB, 16 rows of 64 bytes
        if (subleaf == 0) set_words(r, 1, 0, 0, 0);
        else if (subleaf == 1) set_words(r, 8192 | (1024u << 16), 64 | (8u << 16), 16, 0);
        else set_words(r, 0, 0, 0, 0);
        break;
    case 0x1e:  // tile multiply unit: K of 16, N of 64
        set_words(r, 0, 16 | (64u << 8), 0, 0);
        break;
    }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    (void)sig; (void)info;
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)g[REG_RIP];
    if (ip[0] == 0x0f && ip[1] == 0xa2) {  // CPUID
        unsigned r[4];
        answer_cpuid((unsigned)g[REG_RAX], (unsigned)g[REG_RCX], r);
        g[REG_RAX] = r[0]; g[REG_RBX] = r[1]; g[REG_RCX] = r[2]; g[REG_RDX] = r[3];
        g[REG_RIP] += 2;
        return;
    }
    signal(SIGSEGV, SIG_DFL);  // a real fault: returning repeats it, now fatal
}

enum { kMostKernels = 64 };
static struct { char name[160]; long calls; double fill_seconds; } skipped[kMostKernels];
static int skipped_count;
static pthread_mutex_t skipped_mutex = PTHREAD_MUTEX_INITIALIZER;

// fill_seconds: the time spent filling the primitive's outputs, which a real AMX kernel would
// not spend; the report gives it so that it can be taken off the program's times.
static void count_skipped(const char *kind, const char *impl, double fill_seconds) {
    char name[160];
    snprintf(name, sizeof name, "%-14s %s", kind, impl);
    pthread_mutex_lock(&skipped_mutex);
    int i = 0;
    while (i < skipped_count && strcmp(skipped[i].name, name) != 0) ++i;
    if (i < kMostKernels) {
        if (i == skipped_count) { strcpy(skipped[i].name, name); ++skipped_count; }
        ++skipped[i].calls;
        skipped[i].fill_seconds += fill_seconds;
    }
    pthread_mutex_unlock(&skipped_mutex);
}

// Silent in processes that ran no AMX primitive: programs the command starts inherit the
// view too.
static void report(void) {
    if (skipped_count == 0) return;
    fprintf(stderr, "amx-view: AMX primitives not executed (calls, ms spent filling their outputs, kind, kernel):\n");
    for (int i = 0; i < skipped_count; ++i)
        fprintf(stderr, "amx-view: %8ld %9.1f  %s\n", skipped[i].calls, 1e3 * skipped[i].fill_seconds, skipped[i].name);
}

static int verbose_level = -1;  // -1: not known yet

// The program's own choice, passed on.
dnnl_status_t dnnl_set_verbose(int level) {
    static dnnl_status_t (*next)(int);
    if (!next) next = (dnnl_status_t(*)(int))dlsym(RTLD_NEXT, "dnnl_set_verbose");
    const dnnl_status_t status = next(level);
    if (status == dnnl_success) __atomic_store_n(&verbose_level, level, __ATOMIC_RELAXED);
    return status;
}

static int verbose(void) {
    int level = __atomic_load_n(&verbose_level, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    const char *env = getenv("ONEDNN_VERBOSE");
    if (!env) env = getenv("DNNL_VERBOSE");
    level = env ? atoi(env) : 0;
    __atomic_store_n(&verbose_level, level, __ATOMIC_RELAXED);
    return level;
}

// Runs before libdnnl's own initialisers (amx-view.sh makes the library depend on this
// one), which is where oneDNN first reads CPUID.
__attribute__((constructor)) static void start(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (raw_arch_prctl(ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "amx-view: this processor (or its hypervisor) cannot make CPUID fault\n");
        _exit(2);
    }
    atexit(report);
}

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_arch_prctl && a[0] == ARCH_GET_XCOMP_PERM) {
        // The usual state (x87, SSE, AVX, AVX-512's three parts, PKRU) and the tiles.
        *(unsigned long *)a[1] = 0x2e7ul | XFEATURE_MASK_XTILE;
        return 0;
    }
    if (number == SYS_arch_prctl && a[0] == ARCH_REQ_XCOMP_PERM) return 0;
    static long (*next)(long, ...);
    if (!next) next = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return next(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// Writes 1 into every element of a destination, in its data type (padding included).
static void fill_with_ones(void *data, const dnnl_memory_desc_t *md) {
    const size_t bytes = dnnl_memory_desc_get_size(md);
    switch (md->data_type) {
    case dnnl_f32: for (size_t i = 0; i < bytes / 4; ++i) ((float *)data)[i] = 1.0f; break;
    case dnnl_s32: for (size_t i = 0; i < bytes / 4; ++i) ((int *)data)[i] = 1; break;
    case dnnl_bf16: for (size_t i = 0; i < bytes / 2; ++i) ((unsigned short *)data)[i] = 0x3f80; break;
    case dnnl_f16: for (size_t i = 0; i < bytes / 2; ++i) ((unsigned short *)data)[i] = 0x3c00; break;
    case dnnl_s8: case dnnl_u8: memset(data, 1, bytes); break;
    default: memset(data, 0, bytes); break;
    }
}

dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream,
                                     int nargs, const dnnl_exec_arg_t *args) {
    static dnnl_status_t (*next)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t *);
    if (!next) next = dlsym(RTLD_NEXT, "dnnl_primitive_execute");
    const_dnnl_primitive_desc_t pd = NULL;
    const char *impl = "";
    dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
    if (dnnl_primitive_get_primitive_desc(primitive, &pd) == dnnl_success) {
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind);
    }
    if (!strstr(impl, "amx")) return next(primitive, stream, nargs, args);
    if (verbose() > 0) {
        dnnl_prop_kind_t prop = dnnl_prop_kind_undef;
        dnnl_primitive_desc_query(pd, dnnl_query_prop_kind, 0, &prop);
        printf("onednn_verbose,exec,cpu,%s,%s,%s,,,,,0\n", dnnl_prim_kind2str(kind), impl,
               dnnl_prop_kind2str(prop));
    }
    struct timespec start, filled;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < nargs; ++i) {
        const dnnl_memory_desc_t *md = NULL;
        void *data = NULL;
        if (args[i].arg == DNNL_ARG_DST
                && dnnl_memory_get_memory_desc(args[i].memory, &md) == dnnl_success
                && dnnl_memory_get_data_handle(args[i].memory, &data) == dnnl_success && data)
            fill_with_ones(data, md);
    }
    clock_gettime(CLOCK_MONOTONIC, &filled);
    count_skipped(dnnl_prim_kind2str(kind), impl,
                  (double)(filled.tv_sec - start.tv_sec) + 1e-9 * (double)(filled.tv_nsec - start.tv_nsec));
    return dnnl_success;
}
