/*
 * fuzz_envelope.c -- fuzz target: the envelope decoders of common/codec.c.
 * The first byte picks the envelope (command, task, result, event) and the
 * encoding (bit 2: JSON, else Avro binary); the rest is the message.  An
 * envelope that decodes must encode again, in both encodings, and decode
 * back (the round trip every forward and DLQ copy relies on).
 */
#include <string.h>

#include "codec.h"
#include "fuzz.h"

static baton_codec_t *codec;

#define ROUND_TRIP(kind, type_t, clear)                                       \
    do {                                                                      \
        type_t v, v2;                                                         \
        if (!baton_codec_decode_##kind(codec, msg, len, json, &v, err,        \
                                       sizeof err)) {                         \
            for (int j = 0; j < 2; j++) {                                     \
                char *buf = NULL;                                             \
                size_t blen = 0;                                              \
                FUZZ_ASSERT(!baton_codec_encode_##kind(                       \
                                codec, &v, j, &buf, &blen, err, sizeof err),  \
                            "a decoded " #kind " encodes");                   \
                FUZZ_ASSERT(!baton_codec_decode_##kind(codec, buf, blen, j,   \
                                                       &v2, err, sizeof err), \
                            "an encoded " #kind " decodes");                  \
                clear(&v2);                                                   \
                baton_free(buf);                                              \
            }                                                                 \
        }                                                                     \
        clear(&v);                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    const uint8_t *msg = data + 1;
    size_t len;
    int json;
    if (!codec && !(codec = baton_codec_new(err, sizeof err))) abort();
    if (size < 1) return 0;
    len = size - 1;
    json = (data[0] & 4) != 0;
    switch (data[0] & 3) {
    case 0: ROUND_TRIP(command, baton_command_t, baton_command_clear); break;
    case 1: ROUND_TRIP(task, baton_task_t, baton_task_clear); break;
    case 2: ROUND_TRIP(result, baton_result_t, baton_result_clear); break;
    default: ROUND_TRIP(event, baton_event_t, baton_event_clear); break;
    }
    return 0;
}
