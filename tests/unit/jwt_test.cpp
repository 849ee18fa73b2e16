// JWT: only valid HS256 tokens with the right secret and a future exp pass.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <string>

#include "check.h"
#include "board/jwt.h"

static std::string b64(const std::string &s) {
    char out[1024];
    sodium_bin2base64(out, sizeof out, (const unsigned char *)s.data(), s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static std::string make(const std::string &header, const std::string &payload, const char *secret) {
    std::string data = b64(header) + "." + b64(payload);
    unsigned char mac[32];
    unsigned int n = 32;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data.data(), data.size(), mac, &n);
    return data + "." + b64(std::string((char *)mac, 32));
}

static int verify(const std::string &tok, const char *secret, const char **why, char *sub) {
    int64_t iat;
    return jwt_verify(tok.data(), tok.size(), secret, 1000, sub, 32, &iat, why);
}

TEST(jwt_accepts_a_valid_hs256_token) {
    const char *why;
    char sub[32];
    CHECK(verify(make("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"alice\",\"exp\":2000}", "k3y"), "k3y", &why, sub) == 0);
    CHECK_STR(sub, "alice");
    CHECK(why == NULL);
}

TEST(jwt_rejects_everything_else) {
    const char *why;
    char sub[32];
    const std::string good = "{\"sub\":\"alice\",\"exp\":2000}";
    CHECK(verify(make("{\"alg\":\"HS256\"}", good, "other"), "k3y", &why, sub) < 0);
    CHECK_STR(why, "bad token signature");
    CHECK(verify(make("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"exp\":999}", "k3y"), "k3y", &why, sub) < 0);
    CHECK_STR(why, "token expired");
    CHECK(verify(make("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\"}", "k3y"), "k3y", &why, sub) < 0);
    CHECK(verify(make("{\"alg\":\"none\"}", good, "k3y"), "k3y", &why, sub) < 0);
    CHECK_STR(why, "only HS256 tokens are accepted");
    CHECK(verify(b64("{\"alg\":\"none\"}") + "." + b64(good) + ".", "k3y", &why, sub) < 0);
    CHECK(verify(make("{\"alg\":\"HS512\"}", good, "k3y"), "k3y", &why, sub) < 0);
    CHECK(verify(make("{\"alg\":\"HS256\"}", good, "k3y"), "", &why, sub) < 0); // tokens off
    CHECK(verify("not.a.token!", "k3y", &why, sub) < 0);
    CHECK(verify("onlyonepart", "k3y", &why, sub) < 0);
    CHECK(verify("a.b.c.d", "k3y", &why, sub) < 0);
    CHECK(verify("", "k3y", &why, sub) < 0);
    std::string padded = make("{\"alg\":\"HS256\"}", good, "k3y") + "=";
    CHECK(verify(padded, "k3y", &why, sub) < 0);
    CHECK(verify(make("{\"alg\":\"HS256\"}", "[1,2]", "k3y"), "k3y", &why, sub) < 0);
}

TEST(jwt_issue_round_trips) {
    char tok[JWT_MAX], sub[32];
    const char *why;
    int64_t iat = 0;
    CHECK(jwt_issue("bob", 5000, 900123, "s3cret", tok, sizeof tok) > 0);
    CHECK(strchr(tok, '=') == NULL); // no base64 padding in JWTs
    CHECK(jwt_verify(tok, strlen(tok), "s3cret", 1000, sub, sizeof sub, &iat, &why) == 0);
    CHECK_STR(sub, "bob");
    CHECK(iat == 900123); // milliseconds survive: revocations within a second tell tokens apart
    CHECK(jwt_verify(tok, strlen(tok), "s3cret", 6000, sub, sizeof sub, &iat, &why) < 0);
}

TEST(jwt_checks_nbf_and_iat) {
    const char *why;
    char sub[32];
    const char *h = "{\"alg\":\"HS256\"}";
    // now is 1000 in verify(); JWT_SKEW_S of slack for clocks that differ
    CHECK(verify(make(h, "{\"sub\":\"a1\",\"exp\":2000,\"nbf\":1500}", "k"), "k", &why, sub) < 0);
    CHECK_STR(why, "token not valid yet");
    CHECK(verify(make(h, "{\"sub\":\"a1\",\"exp\":2000,\"iat\":1500}", "k"), "k", &why, sub) < 0);
    CHECK_STR(why, "token issued in the future");
    CHECK(verify(make(h, "{\"sub\":\"a1\",\"exp\":2000,\"iat\":\"soon\"}", "k"), "k", &why, sub) < 0);
    CHECK(verify(make(h, "{\"sub\":\"a1\",\"exp\":2000,\"nbf\":1030,\"iat\":1030}", "k"), "k", &why, sub) == 0);
    CHECK(verify(make(h, "{\"sub\":\"a1\",\"exp\":2000,\"nbf\":900,\"iat\":900.5}", "k"), "k", &why, sub) == 0);
}
