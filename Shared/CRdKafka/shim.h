#ifndef ENGAGE_CRDKAFKA_SHIM_H
#define ENGAGE_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <string.h>

/* rd_kafka_producev is variadic and cannot be called from Swift; this wraps rd_kafka_produceva,
   which returns its error directly (the thread-local last-error is racy). On success librdkafka
   owns `headers`; on failure the caller still does. The payload and key are copied. */
static inline rd_kafka_error_t *engage_produce(rd_kafka_t *rk, const char *topic,
                                               const void *key, size_t key_len,
                                               const void *value, size_t value_len,
                                               rd_kafka_headers_t *headers, void *opaque) {
    rd_kafka_vu_t vus[6];
    int n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC; vus[n].u.cstr = topic; n++;
    if (key) { vus[n].vtype = RD_KAFKA_VTYPE_KEY; vus[n].u.mem.ptr = (void *)key; vus[n].u.mem.size = key_len; n++; }
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE; vus[n].u.mem.ptr = (void *)value; vus[n].u.mem.size = value_len; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[n].u.i = RD_KAFKA_MSG_F_COPY; n++;
    if (headers) { vus[n].vtype = RD_KAFKA_VTYPE_HEADERS; vus[n].u.headers = headers; n++; }
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[n].u.ptr = opaque; n++;
    return rd_kafka_produceva(rk, vus, (size_t)n);
}

#endif
