/* Fuzzes the API's request body: arbitrary bytes POSTed to /api/v1/consultations with a valid
 * key, against an in-memory store. Whatever comes in, the answer is one of the documented
 * statuses with a JSON body; a 201 is then read back (GET) and ended (DELETE), which must work. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "core/log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "fuzz-api-key-0123456789"
#define NOW 1780000000LL
/* The in-memory database grows with every consultation made; start afresh now and then. */
#define REOPEN_EVERY 2000

static const uint8_t secret[32] = "fuzz-secret-fuzz-secret-fuzz-sec";
static struct sig_config cfg;
static struct store *store;
static unsigned calls;

static void setup(void)
{
    char err[256];
    log_level_set(LOG_ERROR);
    sig_config_defaults(&cfg);
    if (sig_config_set(&cfg, "api-keys", KEY, "fuzz", err, sizeof(err)) < 0 ||
        sig_config_set(&cfg, "public-url", "https://video.example.nhs.uk", "fuzz", err,
                       sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
}

static void check_resp(const struct api_resp *r)
{
    switch (r->status) {
    case 201:
    case 200:
    case 400:
    case 413:
        break;
    case 204:
        if (r->body != NULL)
            __builtin_trap();
        return;
    default:
        /* 404, 405, 409, 500, 503: none of them is something a body can cause. */
        __builtin_trap();
    }
    if (r->body == NULL || strlen(r->body) != r->body_len)
        __builtin_trap();
    json_t *root = json_loads(r->body, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL || !json_is_object(root))
        __builtin_trap();
    if (r->status >= 400 &&
        !json_is_string(json_object_get(json_object_get(root, "error"), "code")))
        __builtin_trap();
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (store == NULL || ++calls % REOPEN_EVERY == 0) {
        store_close(store);
        store = NULL;
        if (store_open(&store, ":memory:") < 0)
            abort();
    }
    struct api_ctx ctx = {
        .cfg = &cfg,
        .store = store,
        .token_secret = secret,
        .token_secret_len = sizeof(secret),
    };
    struct api_req req = {
        .method = "POST",
        .path = "/api/v1/consultations",
        .authorization = "Bearer " KEY,
        .body = (const char *)data,
        .body_len = size,
        .now = NOW,
    };
    struct api_resp resp;
    if (api_handle(&ctx, &req, &resp) != 0)
        __builtin_trap();
    check_resp(&resp);

    if (resp.status == 201) {
        char path[128];
        json_t *root = json_loads(resp.body, 0, NULL);
        const char *id = json_string_value(json_object_get(root, "id"));
        if (id == NULL)
            __builtin_trap();
        snprintf(path, sizeof(path), "/api/v1/consultations/%s", id);
        json_decref(root);
        struct api_resp r2;
        req.body = NULL;
        req.body_len = 0;
        req.method = "GET";
        req.path = path;
        if (api_handle(&ctx, &req, &r2) != 0 || r2.status != 200)
            __builtin_trap();
        check_resp(&r2);
        api_resp_free(&r2);
        req.method = "DELETE";
        if (api_handle(&ctx, &req, &r2) != 0 || r2.status != 204)
            __builtin_trap();
        api_resp_free(&r2);
    }
    api_resp_free(&resp);
    return 0;
}
