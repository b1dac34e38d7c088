/*
 * token: issue and verify, and every libjwt trap in PITFALLS.  Hostile
 * tokens are built by hand (header.payload.signature, HMAC from libsodium)
 * since libjwt would not make them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "runner.h"
#include "auth/token.h"

#define NOW		1764000000L	/* 2025-11-24T16:00:00Z */
#define CRAFT_MAX	16384
#define SECRET		"test-secret-0123456789abcdef-0123456789"
#define JTI		"AAAAAAAAAAAAAAAAAAAAAA"
#define SID		"BBBBBBBBBBBBBBBBBBBBBB"
#define HDR_HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

enum mac { MAC_NONE, MAC_HS256, MAC_HS512 };

static struct token_config	 cfg;

static void
setup(void)
{
	ck_assert_int_ne(sodium_init(), -1);
	cfg.secret = (const unsigned char *)SECRET;
	cfg.secret_len = strlen(SECRET);
	cfg.alg = JWT_ALG_HS256;
	cfg.issuer = "mockpie";
	cfg.access_ttl = 900;
	cfg.refresh_ttl = 7 * 24 * 3600;
	cfg.leeway = 30;
	cfg.platform = 0;	/* CK_FORK=no runs the tests in one process */
}

/* Appends the base64url of len bytes of src at dst; returns its end. */
static char *
b64url(char *dst, char *end, const void *src, size_t len)
{
	size_t	 need;

	need = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_uint_le(need, (size_t)(end - dst));
	sodium_bin2base64(dst, need, src, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return dst + strlen(dst);
}

/* Builds header.payload.signature into out (size bytes) with key. */
static void
craft(char *out, size_t size, const char *hdr, const char *payload,
    enum mac mac, const char *key)
{
	unsigned char	 sig[crypto_auth_hmacsha512_BYTES];
	char		*p, *end = out + size;
	size_t		 signed_len, siglen = 0;

	p = b64url(out, end, hdr, strlen(hdr));
	*p++ = '.';
	p = b64url(p, end, payload, strlen(payload));
	signed_len = (size_t)(p - out);
	if (mac == MAC_HS256) {
		crypto_auth_hmacsha256_state	 st;

		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key,
		    strlen(key));
		crypto_auth_hmacsha256_update(&st, (unsigned char *)out,
		    signed_len);
		crypto_auth_hmacsha256_final(&st, sig);
		siglen = crypto_auth_hmacsha256_BYTES;
	} else if (mac == MAC_HS512) {
		crypto_auth_hmacsha512_state	 st;

		crypto_auth_hmacsha512_init(&st, (const unsigned char *)key,
		    strlen(key));
		crypto_auth_hmacsha512_update(&st, (unsigned char *)out,
		    signed_len);
		crypto_auth_hmacsha512_final(&st, sig);
		siglen = crypto_auth_hmacsha512_BYTES;
	}
	*p++ = '.';
	*p = '\0';
	if (siglen > 0)
		(void)b64url(p, end, sig, siglen);
}

/* The claims of a good access token at NOW, as JSON, into out. */
static void
good_payload(char *out, size_t size, const char *typ)
{
	int	 n;

	n = snprintf(out, size, "{\"iss\":\"mockpie\",\"sub\":\"42\","
	    "\"iat\":%ld,\"exp\":%ld,\"jti\":\"" JTI "\",\"sid\":\"" SID "\","
	    "\"typ\":\"%s\"}", NOW, NOW + 900, typ);
	ck_assert(n > 0 && (size_t)n < size);
}

/* Asserts str is refused as want at NOW, for the reason why if not NULL. */
static void
assert_refused(enum token_type want, const char *str, const char *why)
{
	struct token	 t;

	ck_assert_int_eq(token_verify(&cfg, want, str, NOW, &t), -1);
	ck_assert_ptr_nonnull(t.why);
	if (why != NULL)
		ck_assert_str_eq(t.why, why);
	ck_assert_int_eq(t.sub, 0);
	ck_assert_str_eq(t.jti, "");
}

START_TEST(issued_access_token_is_accepted_with_its_claims)
{
	struct token	 issued, got;
	char		*s;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW, &issued);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(issued.typ, TOKEN_ACCESS);
	ck_assert_int_eq(issued.exp, NOW + 900);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s, NOW + 60, &got),
	    0);
	ck_assert_ptr_null(got.why);
	ck_assert_int_eq(got.typ, TOKEN_ACCESS);
	ck_assert_int_eq(got.sub, 42);
	ck_assert_str_eq(got.jti, issued.jti);
	ck_assert_str_eq(got.sid, SID);
	ck_assert_int_eq(got.iat, NOW);
	ck_assert_int_eq(got.exp, NOW + 900);
	free(s);
}
END_TEST

START_TEST(issued_refresh_token_is_accepted_for_seven_days)
{
	struct token	 issued, got;
	char		*s;

	s = token_issue(&cfg, TOKEN_REFRESH, 9007199254740993LL, SID, NOW,
	    &issued);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_REFRESH, s,
	    NOW + 7 * 24 * 3600 - 1, &got), 0);
	ck_assert_int_eq(got.typ, TOKEN_REFRESH);
	ck_assert_int_eq(got.sub, 9007199254740993LL);	/* not a double */
	ck_assert_str_eq(got.jti, issued.jti);
	free(s);
}
END_TEST

START_TEST(two_issued_tokens_have_different_ids)
{
	struct token	 a, b;
	char		*s1, *s2;

	s1 = token_issue(&cfg, TOKEN_ACCESS, 1, SID, NOW, &a);
	s2 = token_issue(&cfg, TOKEN_ACCESS, 1, SID, NOW, &b);
	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_nonnull(s2);
	ck_assert_str_ne(a.jti, b.jti);
	ck_assert_str_ne(s1, s2);
	free(s1);
	free(s2);
}
END_TEST

START_TEST(new_id_is_22_base64url_characters)
{
	char	 a[TOKEN_ID_LEN + 1], b[TOKEN_ID_LEN + 1];
	size_t	 i;

	token_new_id(a);
	token_new_id(b);
	ck_assert_uint_eq(strlen(a), TOKEN_ID_LEN);
	ck_assert_str_ne(a, b);
	for (i = 0; i < TOKEN_ID_LEN; i++)
		ck_assert_ptr_nonnull(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
}
END_TEST

START_TEST(issue_refuses_bad_subject_or_session)
{
	struct token	 t;

	ck_assert_ptr_null(token_issue(&cfg, TOKEN_ACCESS, 0, SID, NOW, &t));
	ck_assert_ptr_nonnull(t.why);
	ck_assert_ptr_null(token_issue(&cfg, TOKEN_ACCESS, 1, "short", NOW,
	    &t));
	ck_assert_ptr_null(token_issue(&cfg, TOKEN_ACCESS, 1,
	    "BBBBBBBBBBBBBBBBBBBBB+", NOW, &t));
	ck_assert_ptr_null(token_issue(&cfg, TOKEN_ACCESS, 1, NULL, NOW, &t));
}
END_TEST

/* Proves craft() makes tokens libjwt accepts: refusals below are real. */
START_TEST(hand_made_hs256_token_is_accepted)
{
	struct token	 t;
	char		 pl[512], tok[CRAFT_MAX];

	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, tok, NOW, &t), 0);
	ck_assert_int_eq(t.sub, 42);
	ck_assert_str_eq(t.jti, JTI);
	ck_assert_str_eq(t.sid, SID);
}
END_TEST

START_TEST(alg_none_token_is_refused)
{
	char	 pl[512], tok[CRAFT_MAX];

	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), "{\"alg\":\"none\",\"typ\":\"JWT\"}", pl,
	    MAC_NONE, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
	craft(tok, sizeof(tok), "{\"alg\":\"none\"}", pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
	craft(tok, sizeof(tok), "{\"alg\":\"None\"}", pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
}
END_TEST

START_TEST(hs512_token_signed_with_our_key_is_refused_under_hs256)
{
	char	 pl[512], tok[CRAFT_MAX];

	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl,
	    MAC_HS512, SECRET);
	assert_refused(TOKEN_ACCESS, tok, "token algorithm not allowed");
}
END_TEST

START_TEST(lowercase_hs256_header_is_refused)
{
	char	 pl[512], tok[CRAFT_MAX];

	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", pl,
	    MAC_HS256, SECRET);
	/* libjwt reads it as HS256 and accepts it: the pin must not. */
	assert_refused(TOKEN_ACCESS, tok, "token algorithm not allowed");
}
END_TEST

START_TEST(hs512_configuration_accepts_hs512_and_refuses_hs256)
{
	struct token	 t;
	char		*s, pl[512], tok[CRAFT_MAX];

	cfg.alg = JWT_ALG_HS512;
	s = token_issue(&cfg, TOKEN_ACCESS, 7, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s, NOW, &t), 0);
	free(s);
	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, "token algorithm not allowed");
}
END_TEST

START_TEST(token_signed_with_another_secret_is_refused)
{
	struct token_config	 other = cfg;
	struct token		 t;
	char			*s, pl[512], tok[CRAFT_MAX];

	other.secret = (const unsigned char *)
	    "another-secret-0123456789abcdef-0123456";
	other.secret_len = strlen((const char *)other.secret);
	s = token_issue(&other, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	assert_refused(TOKEN_ACCESS, s, "token signature or encoding invalid");
	free(s);
	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, "");
	assert_refused(TOKEN_ACCESS, tok, NULL);
}
END_TEST

START_TEST(token_expired_beyond_leeway_is_refused)
{
	struct token	 t;
	char		*s;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s,
	    NOW + 900 + 30, &t), -1);
	ck_assert_str_eq(t.why, "token expired");
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s,
	    NOW + 86400, &t), -1);
	free(s);
}
END_TEST

START_TEST(token_expired_within_leeway_is_accepted)
{
	struct token	 t;
	char		*s;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s,
	    NOW + 900 + 29, &t), 0);
	free(s);
}
END_TEST

START_TEST(token_issued_in_the_future_is_refused_beyond_leeway)
{
	struct token	 t;
	char		*s;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW + 31, &t);
	ck_assert_ptr_nonnull(s);
	assert_refused(TOKEN_ACCESS, s, "token issued in the future");
	free(s);
	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW + 30, &t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s, NOW, &t), 0);
	free(s);
}
END_TEST

START_TEST(access_token_is_refused_as_refresh_token)
{
	struct token	 t;
	char		*s;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	assert_refused(TOKEN_REFRESH, s, "token type mismatch");
	free(s);
}
END_TEST

START_TEST(refresh_token_is_refused_as_access_token)
{
	struct token	 t;
	char		*s;

	s = token_issue(&cfg, TOKEN_REFRESH, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	assert_refused(TOKEN_ACCESS, s, "token type mismatch");
	free(s);
}
END_TEST

static const char *const claims[][2] = {
	{ "iss", "\"mockpie\"" }, { "sub", "\"42\"" },
	{ "iat", "1764000000" }, { "exp", "1764000900" },
	{ "jti", "\"" JTI "\"" }, { "sid", "\"" SID "\"" },
	{ "typ", "\"access\"" },
};
#define NCLAIMS	((int)(sizeof(claims) / sizeof(claims[0])))

/* The good claims with claim skip left out, or replaced by "name":value. */
static void
payload_without(char *out, size_t size, int skip, const char *value)
{
	size_t	 len = 0;
	int	 i, n;

	out[len++] = '{';
	for (i = 0; i < NCLAIMS; i++) {
		if (i == skip && value == NULL)
			continue;
		n = snprintf(out + len, size - len, "%s\"%s\":%s",
		    len > 1 ? "," : "", claims[i][0],
		    i == skip ? value : claims[i][1]);
		ck_assert(n > 0 && (size_t)n < size - len);
		len += (size_t)n;
	}
	ck_assert_uint_lt(len + 1, size);
	out[len++] = '}';
	out[len] = '\0';
}

START_TEST(token_missing_a_claim_is_refused)
{
	char	 pl[512], tok[CRAFT_MAX];

	payload_without(pl, sizeof(pl), _i, NULL);
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
}
END_TEST

START_TEST(token_with_all_claims_is_accepted)
{
	struct token	 t;
	char		 pl[512], tok[CRAFT_MAX];

	payload_without(pl, sizeof(pl), -1, NULL);
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, tok, NOW, &t), 0);
}
END_TEST

/* Claim index and a hostile value for it. */
static const struct {
	int		 claim;
	const char	*value;
} bad_claims[] = {
	{ 3, "\"1764000900\"" },		/* exp as a string */
	{ 3, "1764000900.0" },			/* exp as a real */
	{ 3, "null" },
	{ 3, "true" },
	{ 2, "\"1764000000\"" },		/* iat as a string */
	{ 2, "1764000000.5" },
	{ 0, "\"evil\"" },			/* wrong iss */
	{ 0, "\"mockpie \"" },
	{ 0, "[\"mockpie\"]" },
	{ 1, "42" },				/* sub as an integer */
	{ 1, "\"\"" },
	{ 1, "\"0\"" },
	{ 1, "\"-1\"" },
	{ 1, "\"042\"" },
	{ 1, "\"42x\"" },
	{ 1, "\"99999999999999999999\"" },	/* beyond long long */
	{ 1, "\"4\\u00002\"" },			/* NUL inside */
	{ 4, "\"\"" },				/* jti empty */
	{ 4, "\"AAAA\"" },
	{ 4, "\"AAAAAAAAAAAAAAAAAAAAA=\"" },
	{ 4, "\"AAAAAAAAAAAAAAAAAAAAAAA\"" },
	{ 5, "\"BBBBBBBBBBBBBBBBBBBBB/\"" },	/* sid */
	{ 5, "7" },
	{ 6, "\"Access\"" },			/* typ */
	{ 6, "\"refresh\"" },
	{ 6, "0" },
};
#define NBAD	((int)(sizeof(bad_claims) / sizeof(bad_claims[0])))

START_TEST(token_with_a_bad_claim_value_is_refused)
{
	char	 pl[512], tok[CRAFT_MAX];

	payload_without(pl, sizeof(pl), bad_claims[_i].claim,
	    bad_claims[_i].value);
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
}
END_TEST

START_TEST(string_exp_is_refused_not_read_as_zero)
{
	char	 pl[512], tok[CRAFT_MAX];

	payload_without(pl, sizeof(pl), 3, "\"99999999999\"");
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok,
	    "token exp missing or not an integer");
}
END_TEST

START_TEST(token_with_wrong_issuer_is_refused)
{
	struct token_config	 other = cfg;
	struct token		 t;
	char			*s;

	other.issuer = "someone-else";
	s = token_issue(&other, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	assert_refused(TOKEN_ACCESS, s, "token issuer mismatch");
	free(s);
}
END_TEST

START_TEST(cut_or_padded_token_is_refused)
{
	struct token	 t;
	char		*s, buf[TOKEN_MAX_LEN + 16];
	size_t		 len;

	s = token_issue(&cfg, TOKEN_ACCESS, 42, SID, NOW, &t);
	ck_assert_ptr_nonnull(s);
	len = strlen(s);
	ck_assert_uint_lt(len + 8, sizeof(buf));
	memcpy(buf, s, len + 1);
	buf[len - 1] = '\0';			/* last char removed */
	assert_refused(TOKEN_ACCESS, buf, NULL);
	memcpy(buf, s, len);			/* extra chars */
	memcpy(buf + len, "A", 2);
	assert_refused(TOKEN_ACCESS, buf, NULL);
	memcpy(buf + len, "AAAA", 5);
	assert_refused(TOKEN_ACCESS, buf, NULL);
	memcpy(buf + len, "=", 2);
	assert_refused(TOKEN_ACCESS, buf, "token malformed");
	memcpy(buf + len, ".", 2);
	assert_refused(TOKEN_ACCESS, buf, "token malformed");
	memcpy(buf + len, " ", 2);
	assert_refused(TOKEN_ACCESS, buf, "token malformed");
	memcpy(buf, s, len + 1);		/* a flipped payload byte */
	buf[strchr(s, '.') - s + 5] ^= 1;
	assert_refused(TOKEN_ACCESS, buf, NULL);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, s, NOW, &t), 0);
	free(s);
}
END_TEST

START_TEST(token_of_5000_bytes_is_refused_before_decoding)
{
	char	*pl, *tok;
	int	 n;

	/* Correctly signed, so only its length can refuse it. */
	pl = malloc(CRAFT_MAX);
	tok = malloc(CRAFT_MAX);
	ck_assert_ptr_nonnull(pl);
	ck_assert_ptr_nonnull(tok);
	good_payload(pl, CRAFT_MAX, "access");
	n = snprintf(pl + strlen(pl) - 1, CRAFT_MAX - strlen(pl) + 1,
	    ",\"pad\":\"%03600d\"}", 0);
	ck_assert_int_gt(n, 0);
	craft(tok, CRAFT_MAX, HDR_HS256, pl, MAC_HS256, SECRET);
	ck_assert_uint_gt(strlen(tok), 4900);
	ck_assert_uint_lt(strlen(tok), 5100);
	assert_refused(TOKEN_ACCESS, tok, "token too long");
	free(pl);
	free(tok);
}
END_TEST

START_TEST(empty_or_missing_token_is_refused)
{
	assert_refused(TOKEN_ACCESS, "", "token empty");
	assert_refused(TOKEN_ACCESS, NULL, "token empty");
	assert_refused(TOKEN_ACCESS, "..", "token malformed");
	assert_refused(TOKEN_ACCESS, "abc", "token malformed");
}
END_TEST

START_TEST(payload_that_is_a_json_array_is_refused)
{
	char	 tok[CRAFT_MAX];

	craft(tok, sizeof(tok), HDR_HS256, "[\"iss\",\"mockpie\"]", MAC_HS256,
	    SECRET);
	/* libjwt decodes an array payload; no claim can be read from it */
	assert_refused(TOKEN_ACCESS, tok, "token exp missing or not an integer");
	craft(tok, sizeof(tok), HDR_HS256, "42", MAC_HS256, SECRET);
	assert_refused(TOKEN_ACCESS, tok, NULL);
}
END_TEST

START_TEST(config_with_empty_or_short_key_is_refused)
{
	struct token_config	 c = cfg;
	const char		*why = NULL;

	ck_assert_int_eq(token_config_check(&c, &why), 0);
	ck_assert_ptr_null(why);
	c.secret = (const unsigned char *)"";
	c.secret_len = 0;
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	ck_assert_ptr_nonnull(why);
	c.secret = NULL;
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	c.secret = (const unsigned char *)SECRET;
	c.secret_len = 31;
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	c.secret_len = 32;
	ck_assert_int_eq(token_config_check(&c, &why), 0);
	c.alg = JWT_ALG_NONE;
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	c.alg = JWT_ALG_RS256;
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	c.alg = JWT_ALG_HS384;
	ck_assert_int_eq(token_config_check(&c, &why), 0);
	c.issuer = "";
	ck_assert_int_eq(token_config_check(&c, &why), -1);
	ck_assert_int_eq(token_config_check(NULL, &why), -1);
}
END_TEST

START_TEST(empty_key_config_verifies_nothing)
{
	struct token_config	 c = cfg;
	struct token		 t;
	char			 pl[512], tok[CRAFT_MAX];

	/*
	 * With key_len 0 libjwt accepts any signature (as alg none): verify
	 * must refuse the configuration before decoding.
	 */
	c.secret = (const unsigned char *)"";
	c.secret_len = 0;
	good_payload(pl, sizeof(pl), "access");
	craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, "whatever");
	ck_assert_int_eq(token_verify(&c, TOKEN_ACCESS, tok, NOW, &t), -1);
	ck_assert_str_eq(t.why, "jwt secret shorter than 32 bytes");
	c.secret = NULL;
	ck_assert_int_eq(token_verify(&c, TOKEN_ACCESS, tok, NOW, &t), -1);
	ck_assert_str_eq(t.why, "jwt secret shorter than 32 bytes");
	ck_assert_ptr_null(token_issue(&c, TOKEN_ACCESS, 42, SID, NOW, &t));
}
END_TEST

START_TEST(stamp_and_anchor_claims_come_back_as_issued)
{
	struct token_subject	 subj = { 42, SID, "0123abcdef", JTI, NULL };
	struct token		 issued, t;
	char			*str;

	ck_assert_ptr_nonnull(str = token_issue_for(&cfg, TOKEN_ACCESS, &subj,
	    NOW, &issued));
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, str, NOW, &t), 0);
	ck_assert_str_eq(t.stamp, "0123abcdef");
	ck_assert_str_eq(t.anchor, JTI);
	free(str);
	/* neither: the fields are empty, the token still good */
	ck_assert_ptr_nonnull(str = token_issue(&cfg, TOKEN_ACCESS, 42, SID,
	    NOW, &issued));
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, str, NOW, &t), 0);
	ck_assert_str_eq(t.stamp, "");
	ck_assert_str_eq(t.anchor, "");
	free(str);
	/* a stamp or anchor that is not an id is never issued */
	subj.stamp = "not a stamp";
	ck_assert_ptr_null(token_issue_for(&cfg, TOKEN_ACCESS, &subj, NOW,
	    &issued));
	subj.stamp = NULL;
	subj.anchor = "short";
	ck_assert_ptr_null(token_issue_for(&cfg, TOKEN_ACCESS, &subj, NOW,
	    &issued));
}
END_TEST

START_TEST(bad_stamp_or_anchor_claims_are_refused)
{
	static const char *const extra[] = {
		"\"ust\":7", "\"ust\":\"\"", "\"ust\":\"a b\"",
		"\"ust\":\"" "0123456789012345678901234567890123456789"
		"012345678901234567890123456789\"",
		"\"anc\":true", "\"anc\":\"short\"",
		"\"anc\":\"AAAAAAAAAAAAAAAAAAAAA!\"",
	};
	char		 pl[1024], tok[CRAFT_MAX];
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		n = snprintf(pl, sizeof(pl), "{\"iss\":\"mockpie\","
		    "\"sub\":\"42\",\"iat\":%ld,\"exp\":%ld,\"jti\":\"" JTI
		    "\",\"sid\":\"" SID "\",\"typ\":\"access\",%s}", NOW,
		    NOW + 900, extra[i]);
		ck_assert(n > 0 && (size_t)n < sizeof(pl));
		craft(tok, sizeof(tok), HDR_HS256, pl, MAC_HS256, SECRET);
		assert_refused(TOKEN_ACCESS, tok, NULL);
	}
}
END_TEST

START_TEST(platform_tokens_carry_the_email_in_sub_and_the_id_in_uid)
{
	struct token_subject	 subj = { 42, SID, NULL, NULL, "ann@example.com" };
	struct token		 issued, t;
	jwt_t			*jwt;
	char			*a, *r;

	cfg.platform = 1;
	ck_assert_ptr_nonnull(a = token_issue_for(&cfg, TOKEN_ACCESS, &subj,
	    NOW, &issued));
	ck_assert_ptr_nonnull(r = token_issue_for(&cfg, TOKEN_REFRESH, &subj,
	    NOW, &issued));
	ck_assert_int_eq(jwt_decode(&jwt, a, NULL, 0), 0);
	ck_assert_str_eq(jwt_get_grant(jwt, "sub"), "ann@example.com");
	ck_assert_str_eq(jwt_get_grant(jwt, "uid"), "42");
	ck_assert_int_ne(jwt_get_grant_bool(jwt, "refresh"), 1);
	jwt_free(jwt);
	ck_assert_int_eq(jwt_decode(&jwt, r, NULL, 0), 0);
	ck_assert_int_eq(jwt_get_grant_bool(jwt, "refresh"), 1);
	jwt_free(jwt);
	/* mockpie reads its own claims: the id comes back from uid */
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, a, NOW, &t), 0);
	ck_assert_int_eq(t.sub, 42);
	ck_assert_int_eq(token_verify(&cfg, TOKEN_REFRESH, r, NOW, &t), 0);
	/* and a platform token needs the email */
	subj.email = NULL;
	ck_assert_ptr_null(token_issue_for(&cfg, TOKEN_ACCESS, &subj, NOW,
	    &issued));
	free(a);
	free(r);
}
END_TEST

START_TEST(tokens_the_original_issued_are_read_only_in_platform_mode)
{
	struct legacy_token	 lt;
	struct token		 t;
	char			 acc[1024], ref[1024], bad[1024];
	char			*ours;

	/* what PyJWT writes for the original: sub, exp; "refresh": true */
	craft(acc, sizeof(acc), HDR_HS256,
	    "{\"sub\":\"ann@example.com\",\"exp\":1764000900}", MAC_HS256,
	    SECRET);
	craft(ref, sizeof(ref), HDR_HS256, "{\"sub\":\"ann@example.com\","
	    "\"refresh\":true,\"exp\":1764600000}", MAC_HS256, SECRET);
	cfg.platform = 0;
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, acc, NOW,
	    &lt), -1);
	cfg.platform = 1;
	ck_assert_int_eq(token_verify(&cfg, TOKEN_ACCESS, acc, NOW, &t), -1);
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, acc, NOW,
	    &lt), 0);
	ck_assert_str_eq(lt.email, "ann@example.com");
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_REFRESH, ref, NOW,
	    &lt), 0);
	/* an access token is no refresh token */
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_REFRESH, acc, NOW,
	    &lt), -1);
	/* expired (PyJWT has no leeway by default), or signed otherwise */
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, acc,
	    1764000900L, &lt), -1);
	craft(bad, sizeof(bad), HDR_HS256,
	    "{\"sub\":\"ann@example.com\",\"exp\":1764000900}", MAC_HS256,
	    "another-secret-0123456789abcdef-012345");
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, bad, NOW,
	    &lt), -1);
	/* no sub, or no exp */
	craft(bad, sizeof(bad), HDR_HS256, "{\"exp\":1764000900}", MAC_HS256,
	    SECRET);
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, bad, NOW,
	    &lt), -1);
	craft(bad, sizeof(bad), HDR_HS256, "{\"sub\":\"ann@example.com\"}",
	    MAC_HS256, SECRET);
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, bad, NOW,
	    &lt), -1);
	/* one of mockpie's never passes as the original's */
	cfg.platform = 0;
	ck_assert_ptr_nonnull(ours = token_issue(&cfg, TOKEN_ACCESS, 42, SID,
	    NOW, &t));
	cfg.platform = 1;
	ck_assert_int_eq(token_verify_legacy(&cfg, TOKEN_ACCESS, ours, NOW,
	    &lt), -1);
	free(ours);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("token");
	TCase	*tc;

	tc = tcase_create("issue");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, issued_access_token_is_accepted_with_its_claims);
	tcase_add_test(tc, issued_refresh_token_is_accepted_for_seven_days);
	tcase_add_test(tc, two_issued_tokens_have_different_ids);
	tcase_add_test(tc, new_id_is_22_base64url_characters);
	tcase_add_test(tc, issue_refuses_bad_subject_or_session);
	tcase_add_test(tc, config_with_empty_or_short_key_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("algorithm");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, hand_made_hs256_token_is_accepted);
	tcase_add_test(tc, alg_none_token_is_refused);
	tcase_add_test(tc,
	    hs512_token_signed_with_our_key_is_refused_under_hs256);
	tcase_add_test(tc, lowercase_hs256_header_is_refused);
	tcase_add_test(tc, hs512_configuration_accepts_hs512_and_refuses_hs256);
	tcase_add_test(tc, token_signed_with_another_secret_is_refused);
	tcase_add_test(tc, empty_key_config_verifies_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("claims");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, token_expired_beyond_leeway_is_refused);
	tcase_add_test(tc, token_expired_within_leeway_is_accepted);
	tcase_add_test(tc, token_issued_in_the_future_is_refused_beyond_leeway);
	tcase_add_test(tc, access_token_is_refused_as_refresh_token);
	tcase_add_test(tc, refresh_token_is_refused_as_access_token);
	tcase_add_test(tc, token_with_all_claims_is_accepted);
	tcase_add_loop_test(tc, token_missing_a_claim_is_refused, 0, NCLAIMS);
	tcase_add_loop_test(tc, token_with_a_bad_claim_value_is_refused, 0,
	    NBAD);
	tcase_add_test(tc, string_exp_is_refused_not_read_as_zero);
	tcase_add_test(tc, token_with_wrong_issuer_is_refused);
	tcase_add_test(tc, payload_that_is_a_json_array_is_refused);
	tcase_add_test(tc, stamp_and_anchor_claims_come_back_as_issued);
	tcase_add_test(tc, bad_stamp_or_anchor_claims_are_refused);
	tcase_add_test(tc,
	    platform_tokens_carry_the_email_in_sub_and_the_id_in_uid);
	tcase_add_test(tc,
	    tokens_the_original_issued_are_read_only_in_platform_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("shape");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, cut_or_padded_token_is_refused);
	tcase_add_test(tc, token_of_5000_bytes_is_refused_before_decoding);
	tcase_add_test(tc, empty_or_missing_token_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
