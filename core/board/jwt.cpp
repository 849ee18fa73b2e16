#include "board/jwt.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const int B64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

// Decodes one base64url segment (no padding, as JWT requires) into out.
static int b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax, size_t *outlen) {
    const char *end;
    if (sodium_base642bin(out, outmax, in, inlen, NULL, outlen, &end, B64) != 0 || end != in + inlen) return -1;
    return 0;
}

static void sign(const char *secret, const char *data, size_t len, unsigned char mac[32]) {
    unsigned int maclen = 32;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, len, mac, &maclen);
}

int jwt_verify(const char *token, size_t len, const char *secret, int64_t now, char *sub, size_t sublen,
               int64_t *iat_ms, const char **why) {
    *why = "malformed token";
    if (len == 0 || len > JWT_MAX) return -1;
    const char *dot1 = (const char *)memchr(token, '.', len);
    if (!dot1) return -1;
    const char *dot2 = (const char *)memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) return -1;

    unsigned char header[JWT_MAX], payload[JWT_MAX], mac[64];
    size_t hlen, plen, mlen;
    if (b64_decode(token, (size_t)(dot1 - token), header, sizeof header - 1, &hlen) ||
        b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof payload - 1, &plen) ||
        b64_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), mac, sizeof mac, &mlen))
        return -1;
    header[hlen] = payload[plen] = 0;

    // the algorithm is checked before anything is trusted: no "none", no RS/HS512 confusion
    cJSON *h = cJSON_ParseWithLength((const char *)header, hlen);
    cJSON *alg = h ? cJSON_GetObjectItem(h, "alg") : NULL;
    bool parsed = cJSON_IsObject(h);
    bool hs256 = cJSON_IsString(alg) && !strcmp(alg->valuestring, "HS256");
    cJSON_Delete(h);
    if (!hs256) {
        if (parsed) *why = "only HS256 tokens are accepted";
        return -1;
    }
    if (!secret || !*secret) {
        *why = "tokens are not enabled on this server";
        return -1;
    }
    unsigned char want[32];
    sign(secret, token, (size_t)(dot2 - token), want);
    if (mlen != sizeof want || CRYPTO_memcmp(want, mac, sizeof want) != 0) {
        *why = "bad token signature";
        return -1;
    }
    cJSON *p = cJSON_ParseWithLength((const char *)payload, plen);
    cJSON *s = p ? cJSON_GetObjectItem(p, "sub") : NULL;
    cJSON *exp = p ? cJSON_GetObjectItem(p, "exp") : NULL;
    cJSON *nbf = p ? cJSON_GetObjectItem(p, "nbf") : NULL;
    cJSON *iat = p ? cJSON_GetObjectItem(p, "iat") : NULL;
    int rc = -1;
    if (!cJSON_IsString(s) || !cJSON_IsNumber(exp)) *why = "token needs sub and exp";
    else if ((nbf && !cJSON_IsNumber(nbf)) || (iat && !cJSON_IsNumber(iat))) *why = "malformed token";
    else if (exp->valuedouble <= (double)now) *why = "token expired";
    else if (nbf && nbf->valuedouble > (double)(now + JWT_SKEW_S)) *why = "token not valid yet";
    else if (iat && iat->valuedouble > (double)(now + JWT_SKEW_S)) *why = "token issued in the future";
    else if (strlen(s->valuestring) >= sublen) *why = "bad sub";
    else {
        snprintf(sub, sublen, "%s", s->valuestring);
        // a negative or absurd iat counts as none (the caller is strict then)
        *iat_ms = iat && iat->valuedouble >= 0 ? (int64_t)(iat->valuedouble * 1000.0 + 0.5) : -1;
        *why = NULL;
        rc = 0;
    }
    cJSON_Delete(p);
    return rc;
}

int jwt_issue(const char *sub, int64_t exp, int64_t iat_ms, const char *secret, char *out, size_t outlen) {
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "sub", sub);
    cJSON_AddNumberToObject(p, "iat", (double)iat_ms / 1000.0);
    cJSON_AddNumberToObject(p, "exp", (double)exp);
    char *payload = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    if (!payload) return -1;
    char buf[JWT_MAX];
    size_t hb = sodium_base64_ENCODED_LEN(sizeof header - 1, B64);
    size_t pb = sodium_base64_ENCODED_LEN(strlen(payload), B64);
    int rc = -1;
    if (hb + pb + 2 + 44 < sizeof buf && hb + pb + 46 < outlen) {
        sodium_bin2base64(buf, hb, (const unsigned char *)header, sizeof header - 1, B64);
        size_t n = strlen(buf);
        buf[n++] = '.';
        sodium_bin2base64(buf + n, pb, (const unsigned char *)payload, strlen(payload), B64);
        n += strlen(buf + n);
        unsigned char mac[32];
        sign(secret, buf, n, mac);
        buf[n++] = '.';
        sodium_bin2base64(buf + n, sizeof buf - n, mac, sizeof mac, B64);
        rc = snprintf(out, outlen, "%s", buf);
    }
    cJSON_free(payload);
    return rc;
}
