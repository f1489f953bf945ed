/*
 * rdkafka_bench: the librdkafka client side of scripts/bench.
 *
 * One mode a run, one "RESULT key=value ..." line on stdout, messages on
 * stderr, exit 0 only when the run was clean:
 *
 *   produce  COUNT records of SIZE bytes to TOPIC, record i to partition
 *            i % PARTITIONS; the value starts with the record's sequence
 *            number within its partition (u64 LE) and its send time (u64
 *            LE, CLOCK_MONOTONIC ns). Any delivery error fails the run.
 *   consume  read every partition of TOPIC from the beginning until COUNT
 *            records arrived; each partition's sequence numbers must be
 *            0, 1, 2, ... (no gap, no duplicate, no reordering) and the
 *            high watermarks must add up to COUNT (nothing extra stored).
 *   latency  one thread sends COUNT records spaced INTERVAL_US apart
 *            (linger.ms=0); a consumer with the default fetch.wait.max.ms
 *            measures send-to-receive delay: p50, p99, max.
 *   mock     produce, as above, to librdkafka's in-process mock cluster
 *            (test.mock.num.brokers=1): the client's own ceiling on this
 *            machine. Produce only: a mock partition keeps just its last
 *            ~5 MB, so there is nothing to read back.
 *
 * Producer: linger.ms=5, 5 requests in flight, no idempotence, no
 * compression, queues of 1 M records / 1 GiB. Consumer: librdkafka's
 * defaults (fetch.wait.max.ms=500), the legacy per-partition API, so no
 * group coordinator is involved. --set KEY=VALUE passes any other
 * librdkafka property (experiments; scripts/bench does not use it).
 *
 * Every loop is bounded by a deadline (--timeout-s).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define HEADER_BYTES 16
#define MAX_PARTITIONS 1024

struct opts {
    const char *mode;
    const char *brokers;
    const char *topic;
    long count;
    int size;
    const char *acks;
    int partitions;
    int create;
    double timeout_s;
    long interval_us;
    int linger_ms;
    int n_extra;
    const char *extra[16];
};

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rdkafka_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double secs_since(uint64_t t0) { return (double)(now_ns() - t0) / 1e9; }

/* CPU seconds used by this process (every librdkafka thread) so far. */
static double cpu_secs(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", k, v, err);
}

/* --set KEY=VALUE options, applied last (experiments). */
static void set_extra(rd_kafka_conf_t *conf, const struct opts *o) {
    for (int i = 0; i < o->n_extra; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", o->extra[i]);
        char *eq = strchr(kv, '=');
        if (!eq) die("--set wants KEY=VALUE, got %s", kv);
        *eq = 0;
        set(conf, kv, eq + 1);
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

/* ---- produce ---- */

struct delivery {
    long ok;
    long failed;
    char first_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct delivery *d = opaque;
    if (m->err) {
        if (d->failed++ == 0)
            snprintf(d->first_error, sizeof d->first_error, "partition %d: %s",
                     (int)m->partition, rd_kafka_err2str(m->err));
    } else {
        d->ok++;
    }
}

static rd_kafka_t *new_producer(const struct opts *o, struct delivery *d) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char linger[32];
    snprintf(linger, sizeof linger, "%d", o->linger_ms);
    set(conf, "bootstrap.servers", o->brokers);
    set(conf, "acks", o->acks);
    set(conf, "linger.ms", linger);
    set(conf, "max.in.flight.requests.per.connection", "5");
    set(conf, "enable.idempotence", "false");
    set(conf, "compression.codec", "none");
    set(conf, "queue.buffering.max.messages", "1000000");
    set(conf, "queue.buffering.max.kbytes", "1048576");
    set(conf, "batch.num.messages", "10000");
    set(conf, "message.timeout.ms", "60000");
    set(conf, "socket.nagle.disable", "true");
    set_extra(conf, o);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, d);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) die("producer: %s", err);
    return rk;
}

static void create_topic(rd_kafka_t *rk, const char *topic, int partitions, double timeout_s) {
    char err[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    if (!nt) die("NewTopic: %s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, (int)(timeout_s * 1000));
    if (!ev) die("CreateTopics %s: no answer in %.0f s", topic, timeout_s);
    if (rd_kafka_event_error(ev))
        die("CreateTopics %s: %s", topic, rd_kafka_event_error_string(ev));
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_topic_result_error(tr[i]))
            die("CreateTopics %s: %s", topic, rd_kafka_topic_result_error_string(tr[i]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

static int run_produce(const struct opts *o) {
    struct delivery d = {0};
    rd_kafka_t *rk = new_producer(o, &d);
    if (o->create) create_topic(rk, o->topic, o->partitions, o->timeout_s);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    unsigned char *buf = malloc((size_t)o->size);
    if (!buf) die("out of memory");
    for (int i = 0; i < o->size; i++) buf[i] = (unsigned char)('a' + i % 26);
    uint64_t *seq = calloc((size_t)o->partitions, sizeof *seq);
    const double cpu0 = cpu_secs();
    const uint64_t t0 = now_ns();
    const uint64_t deadline = t0 + (uint64_t)(o->timeout_s * 1e9);
    int p = 0;
    for (long i = 0; i < o->count; i++) {
        put_u64(buf, seq[p]);
        put_u64(buf + 8, now_ns());
        while (rd_kafka_produce(rkt, p, RD_KAFKA_MSG_F_COPY, buf, (size_t)o->size, NULL, 0,
                                NULL) == -1) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(e));
            rd_kafka_poll(rk, 1);
            if (now_ns() > deadline) die("produce: timed out after %ld records", i);
        }
        seq[p]++;
        if (++p == o->partitions) p = 0;
        if ((i & 4095) == 0) rd_kafka_poll(rk, 0);
        if (d.failed) break;
    }
    int left_ms = (int)((double)(deadline > now_ns() ? deadline - now_ns() : 0) / 1e6);
    rd_kafka_flush(rk, left_ms);
    const double secs = secs_since(t0);
    const double cpu = cpu_secs() - cpu0;
    const int outq = rd_kafka_outq_len(rk);
    printf("RESULT mode=produce topic=%s count=%ld size=%d acks=%s partitions=%d secs=%.3f "
           "msgs_per_s=%.0f mb_per_s=%.1f client_cpu_pct=%.0f delivered=%ld errors=%ld "
           "undelivered=%d\n",
           o->topic, o->count, o->size, o->acks, o->partitions, secs, (double)d.ok / secs,
           (double)d.ok * o->size / 1e6 / secs, 100 * cpu / secs, d.ok, d.failed, outq);
    fflush(stdout);
    if (d.failed) fprintf(stderr, "rdkafka_bench: first delivery error: %s\n", d.first_error);
    int ok = d.failed == 0 && outq == 0 && d.ok == o->count;
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(buf);
    free(seq);
    return ok ? 0 : 1;
}

/* ---- consume ---- */

static rd_kafka_t *new_consumer(const struct opts *o) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", o->brokers);
    set(conf, "enable.partition.eof", "false");
    set(conf, "socket.nagle.disable", "true");
    set_extra(conf, o);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) die("consumer: %s", err);
    return rk;
}

/* No group: the legacy per-partition consumer needs no coordinator. */
static rd_kafka_queue_t *start_all(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int partitions,
                                   int64_t offset) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    for (int p = 0; p < partitions; p++)
        if (rd_kafka_consume_start_queue(rkt, p, offset, q) == -1)
            die("consume_start %d: %s", p, rd_kafka_err2str(rd_kafka_last_error()));
    return q;
}

static void stop_all(rd_kafka_topic_t *rkt, int partitions) {
    for (int p = 0; p < partitions; p++) rd_kafka_consume_stop(rkt, p);
}

static int run_consume(const struct opts *o) {
    rd_kafka_t *rk = new_consumer(o);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    uint64_t *next = calloc((size_t)o->partitions, sizeof *next);
    rd_kafka_message_t **batch = calloc(10000, sizeof *batch);
    long got = 0, bad = 0;
    uint64_t bytes = 0, t_first = 0;
    double cpu_first = 0;
    const uint64_t t0 = now_ns();
    const uint64_t deadline = t0 + (uint64_t)(o->timeout_s * 1e9);
    rd_kafka_queue_t *q = start_all(rk, rkt, o->partitions, RD_KAFKA_OFFSET_BEGINNING);
    while (got < o->count && now_ns() < deadline) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch, 10000);
        if (n < 0) die("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = batch[i];
            if (m->err) {
                fprintf(stderr, "rdkafka_bench: consume error partition %d: %s\n",
                        (int)m->partition, rd_kafka_message_errstr(m));
                bad++;
            } else if (m->partition < 0 || m->partition >= o->partitions ||
                       m->len < HEADER_BYTES) {
                if (bad++ < 5) fprintf(stderr, "rdkafka_bench: unexpected record\n");
            } else {
                if (!t_first) {
                    t_first = now_ns();
                    cpu_first = cpu_secs();
                }
                uint64_t s = get_u64(m->payload);
                if (s != next[m->partition] && bad++ < 5)
                    fprintf(stderr,
                            "rdkafka_bench: partition %d offset %" PRId64 ": sequence %" PRIu64
                            ", expected %" PRIu64 "\n",
                            (int)m->partition, m->offset, s, next[m->partition]);
                next[m->partition] = s + 1;
                bytes += m->len;
                got++;
            }
            rd_kafka_message_destroy(m);
        }
    }
    const uint64_t t_end = now_ns();
    const double cpu = cpu_secs() - cpu_first;
    stop_all(rkt, o->partitions);
    /* Nothing beyond what we read may be stored: the high watermarks must
     * add up to the count. */
    int64_t stored = 0;
    for (int p = 0; p < o->partitions; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, 10000);
        if (e) die("watermarks %d: %s", p, rd_kafka_err2str(e));
        stored += hi - lo;
    }
    /* Throughput is timed from the first record (connection set-up and
     * metadata excluded), unless that span is too short to mean anything. */
    const double total_secs = (double)(t_end - t0) / 1e9;
    double secs = (double)(t_end - (t_first ? t_first : t0)) / 1e9;
    if (secs < 0.01) secs = total_secs;
    const int order_ok = bad == 0 && got == o->count && stored == o->count;
    printf("RESULT mode=consume topic=%s count=%ld partitions=%d got=%ld stored=%" PRId64
           " secs=%.3f total_secs=%.3f msgs_per_s=%.0f mb_per_s=%.1f client_cpu_pct=%.0f errors=%ld "
           "check=%s\n",
           o->topic, o->count, o->partitions, got, stored, secs, total_secs,
           secs > 0 ? (double)got / secs : 0, secs > 0 ? (double)bytes / 1e6 / secs : 0,
           secs > 0 ? 100 * cpu / secs : 0, bad,
           order_ok ? "ok" : "FAILED");
    fflush(stdout);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    free(next);
    free(batch);
    return order_ok ? 0 : 1;
}

/* ---- latency ---- */

struct sender {
    const struct opts *o;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    struct delivery d;
    volatile int go;
    int failed;
};

static void *send_spaced(void *arg) {
    struct sender *s = arg;
    const struct opts *o = s->o;
    unsigned char *buf = calloc(1, (size_t)o->size);
    struct timespec next;
    while (!s->go) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = 0; i < o->count; i++) {
        next.tv_nsec += o->interval_us * 1000;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        put_u64(buf, (uint64_t)i);
        put_u64(buf + 8, now_ns());
        if (rd_kafka_produce(s->rkt, 0, RD_KAFKA_MSG_F_COPY, buf, (size_t)o->size, NULL, 0,
                             NULL) == -1) {
            fprintf(stderr, "rdkafka_bench: produce: %s\n",
                    rd_kafka_err2str(rd_kafka_last_error()));
            s->failed = 1;
            break;
        }
        rd_kafka_poll(s->rk, 0);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    rd_kafka_flush(s->rk, 30000);
    if (s->d.failed || rd_kafka_outq_len(s->rk)) s->failed = 1;
    free(buf);
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_latency(const struct opts *o) {
    struct opts po = *o;
    po.linger_ms = o->linger_ms;
    struct sender s = {.o = &po};
    s.rk = new_producer(&po, &s.d);
    if (o->create) create_topic(s.rk, o->topic, 1, o->timeout_s);
    s.rkt = rd_kafka_topic_new(s.rk, o->topic, NULL);

    rd_kafka_t *ck = new_consumer(o);
    rd_kafka_topic_t *ct = rd_kafka_topic_new(ck, o->topic, NULL);
    rd_kafka_queue_t *q = start_all(ck, ct, 1, RD_KAFKA_OFFSET_BEGINNING);
    /* Let the consumer connect and settle into its long poll. */
    const uint64_t settle = now_ns() + 1500000000ull;
    while (now_ns() < settle) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
        if (m) {
            fprintf(stderr, "rdkafka_bench: latency topic %s is not empty\n", o->topic);
            rd_kafka_message_destroy(m);
            return 1;
        }
    }
    pthread_t th;
    pthread_create(&th, NULL, send_spaced, &s);
    uint64_t *delay = calloc((size_t)o->count, sizeof *delay);
    long got = 0, bad = 0;
    const uint64_t deadline = now_ns() + (uint64_t)(o->timeout_s * 1e9);
    s.go = 1;
    while (got < o->count && now_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
        if (!m) continue;
        const uint64_t t = now_ns();
        if (m->err || m->len < HEADER_BYTES) {
            bad++;
        } else {
            uint64_t seq = get_u64(m->payload);
            if (seq != (uint64_t)got) bad++;
            delay[got++] = t - get_u64((const unsigned char *)m->payload + 8);
        }
        rd_kafka_message_destroy(m);
    }
    pthread_join(th, NULL);
    rd_kafka_consume_stop(ct, 0);
    int ok = !s.failed && bad == 0 && got == o->count;
    if (got > 0) {
        qsort(delay, (size_t)got, sizeof *delay, cmp_u64);
        printf("RESULT mode=latency topic=%s count=%ld got=%ld interval_us=%ld acks=%s "
               "linger_ms=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%ld "
               "check=%s\n",
               o->topic, o->count, got, o->interval_us, o->acks, o->linger_ms,
               delay[got / 2] / 1e6, delay[got * 90 / 100] / 1e6, delay[got * 99 / 100] / 1e6,
               delay[got - 1] / 1e6, bad, ok ? "ok" : "FAILED");
    } else {
        printf("RESULT mode=latency topic=%s count=%ld got=0 check=FAILED\n", o->topic, o->count);
    }
    fflush(stdout);
    rd_kafka_topic_destroy(ct);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(ck);
    rd_kafka_topic_destroy(s.rkt);
    rd_kafka_destroy(s.rk);
    free(delay);
    return ok ? 0 : 1;
}

/* ---- mock ---- */

static int run_mock(struct opts *o) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "test.mock.num.brokers", "1");
    char err[512];
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!host) die("mock host: %s", err);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(host);
    if (!mc) die("no mock cluster");
    if (rd_kafka_mock_topic_create(mc, o->topic, o->partitions, 1))
        die("mock topic create failed");
    o->brokers = rd_kafka_mock_cluster_bootstraps(mc);
    o->create = 0;
    int rc = run_produce(o);
    rd_kafka_destroy(host);
    return rc;
}

static void usage(void) {
    fprintf(stderr,
            "usage: rdkafka_bench produce|consume|latency|mock [--brokers HOST:PORT] "
            "[--topic T] [--count N] [--size BYTES] [--acks 1|all] [--partitions N] "
            "[--create] [--timeout-s S] [--interval-us US] [--linger-ms MS] "
            "[--set LIBRDKAFKA_KEY=VALUE]...\n");
    exit(2);
}

int main(int argc, char **argv) {
    struct opts o = {.brokers = "127.0.0.1:9092",
                     .topic = "bench",
                     .count = 100000,
                     .size = 256,
                     .acks = "all",
                     .partitions = 1,
                     .timeout_s = 300,
                     .interval_us = 1000,
                     .linger_ms = 5};
    if (argc < 2) usage();
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--create")) {
            o.create = 1;
            continue;
        }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--brokers")) o.brokers = v;
        else if (!strcmp(a, "--topic")) o.topic = v;
        else if (!strcmp(a, "--count")) o.count = atol(v);
        else if (!strcmp(a, "--size")) o.size = atoi(v);
        else if (!strcmp(a, "--acks")) o.acks = v;
        else if (!strcmp(a, "--partitions")) o.partitions = atoi(v);
        else if (!strcmp(a, "--timeout-s")) o.timeout_s = atof(v);
        else if (!strcmp(a, "--interval-us")) o.interval_us = atol(v);
        else if (!strcmp(a, "--linger-ms")) o.linger_ms = atoi(v);
        else if (!strcmp(a, "--set") && o.n_extra < 16) o.extra[o.n_extra++] = v;
        else usage();
    }
    if (o.count <= 0 || o.size < HEADER_BYTES || o.partitions < 1 ||
        o.partitions > MAX_PARTITIONS || o.timeout_s <= 0 || o.interval_us <= 0)
        die("bad arguments (count > 0, size >= %d, 1 <= partitions <= %d)", HEADER_BYTES,
            MAX_PARTITIONS);
    if (!strcmp(o.mode, "produce")) return run_produce(&o);
    if (!strcmp(o.mode, "consume")) return run_consume(&o);
    if (!strcmp(o.mode, "latency")) return run_latency(&o);
    if (!strcmp(o.mode, "mock")) return run_mock(&o);
    usage();
    return 2;
}
