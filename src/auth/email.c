/*
 * The canonical form of an email address (SPEC 2, issue 13.3): the local
 * part under Unicode compatibility caseless matching (NFKC of its case
 * fold), the domain as its IDNA A-label after UTS 46 processing; invisible
 * and unsafe code points refused rather than dropped.  Refusals are worded
 * like the email-validator package behind Pydantic's EmailStr.  Whether an
 * address is taken is the user store's question.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <uniname.h>
#include <uninorm.h>
#include <unistr.h>

#include "lib/arena.h"
#include "auth/email.h"

/* RFC 5322 3.2.3 atext, besides letters and digits. */
#define ATEXT_SPECIALS	"!#$%&'*+-/=?^_`{|}~"

/* UTS 46 non-transitional processing (IDNA2008 semantics for U+00DF,
 * U+03C2, ZWJ, ZWNJ) of NFC input.  Not IDN2_USE_STD3_ASCII_RULES:
 * libidn2 2.3.3 then drops a disallowed '_' instead of refusing it, so
 * the host name rules are checked on the result here. */
#define EMAIL_IDNA_FLAGS	(IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* Unicode White_Space beyond ASCII, and the invisible U+200B and U+FEFF. */
static int
is_space(ucs4_t c)
{
	return c == ' ' || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200b) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static int
is_control(ucs4_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/*
 * email-validator's check_unsafe_chars(): letters, numbers, punctuation
 * and symbols only, no mark first; beyond it, every Default_Ignorable
 * code point (soft hyphen, joiners, bidi controls, variation selectors,
 * fillers), which would make two spellings of one address look the same.
 */
static int
is_unsafe(ucs4_t c, int first)
{
	if (uc_is_property_default_ignorable_code_point(c))
		return 1;
	if (uc_is_general_category(c, UC_CATEGORY_C) ||
	    uc_is_general_category(c, UC_CATEGORY_Z))
		return 1;
	return first && uc_is_general_category(c, UC_CATEGORY_M);
}

/* Python's unicodedata.name(c, "U+XXXX"), as email-validator shows it. */
static const char *
cp_display(struct arena *a, ucs4_t c)
{
	char	 name[UNINAME_MAX];

	if (unicode_character_name(c, name) != NULL)
		return arena_strdup(a, name);
	return arena_printf(a, c < 0xffff ? "U+%04X" : "U+%08X", c);
}

/*
 * NULL when [s, s + len) holds no unsafe code point, else the refusal
 * naming the first EMAIL_UNSAFE_SHOWN of them, sorted, each once.
 * s is valid UTF-8.
 */
static const char *
unsafe_problem(struct arena *a, const char *s, size_t len)
{
	const uint8_t	*p = (const uint8_t *)s, *end = p + len;
	ucs4_t		 c, bad[EMAIL_UNSAFE_SHOWN], t;
	size_t		 n = 0, i, j;
	const char	*msg;
	int		 k;

	for (i = 0; p < end; p += k, i++) {
		if ((k = u8_mbtouc(&c, p, end - p)) <= 0)
			return "The email address is not valid UTF-8.";
		if (!is_unsafe(c, i == 0))
			continue;
		for (j = 0; j < n && bad[j] != c; j++)
			;
		if (j == n && n < EMAIL_UNSAFE_SHOWN)
			bad[n++] = c;
	}
	if (n == 0)
		return NULL;
	for (i = 1; i < n; i++)		/* insertion sort of at most 4 */
		for (j = i; j > 0 && bad[j - 1] > bad[j]; j--) {
			t = bad[j];
			bad[j] = bad[j - 1];
			bad[j - 1] = t;
		}
	msg = "The email address contains unsafe characters: ";
	for (i = 0; i < n; i++)
		msg = arena_printf(a, "%s%s%s", msg, i == 0 ? "" : ", ",
		    cp_display(a, bad[i]));
	return arena_printf(a, "%s.", msg);
}

/* The local part, canonical (NUL-terminated): NULL when fine, else why. */
static const char *
local_problem(struct arena *a, const char *s)
{
	size_t		 len = strlen(s);
	const char	*p;

	if (len == 0)
		return "There must be something before the @-sign.";
	if (len > EMAIL_LOCAL_MAX)
		return arena_printf(a, "The email address is too long before "
		    "the @-sign (%zu byte%s too many).",
		    len - EMAIL_LOCAL_MAX, plural(len - EMAIL_LOCAL_MAX));
	if (s[0] == '.')
		return "An email address cannot start with a period.";
	if (s[len - 1] == '.')
		return "An email address cannot have a period immediately "
		    "before the @-sign.";
	for (p = s; *p != '\0'; p++) {
		if (p[0] == '.' && p[1] == '.')
			return "An email address cannot have two periods in a "
			    "row.";
		if ((unsigned char)*p >= 0x80 || *p == '.' ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(ATEXT_SPECIALS, *p))
			continue;
		return arena_printf(a, "The email address contains invalid "
		    "characters before the @-sign: '%c'.", *p);
	}
	return NULL;
}

/*
 * The domain d (NUL-terminated, ASCII unless the caller checks only its
 * ASCII bytes): NULL when it is a host name, else why not.
 */
static const char *
domain_problem(struct arena *a, const char *d)
{
	const char	*p, *label;
	size_t		 len;

	if (*d == '\0')
		return "There must be something after the @-sign.";
	if (d[0] == '.')
		return "An email address cannot have a period immediately "
		    "after the @-sign.";
	if (d[strlen(d) - 1] == '.')
		return "An email address cannot end with a period.";
	if (strstr(d, "..") != NULL)
		return "An email address cannot have two periods in a row.";
	if (strchr(d, '.') == NULL)
		return "The part after the @-sign is not valid. It should have "
		    "a period.";
	for (p = d; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80 || *p == '.' || *p == '-' ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			continue;
		return arena_printf(a, "The part after the @-sign contains "
		    "invalid characters: '%c'.", *p);
	}
	for (label = d; *label != '\0'; label += len + (label[len] == '.')) {
		len = strcspn(label, ".");
		if (label[0] == '-' || label[len - 1] == '-')
			return "A part after the @-sign cannot start or end "
			    "with a hyphen.";
		if (len > EMAIL_LABEL_MAX)
			return arena_printf(a, "After the @-sign, periods "
			    "cannot be separated by so many characters (%zu "
			    "character%s too many).", len - EMAIL_LABEL_MAX,
			    plural(len - EMAIL_LABEL_MAX));
	}
	return NULL;
}

static int
all_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* NULL when the whole address's alphabet and length are fine, else why. */
static const char *
whole_problem(struct arena *a, const char *email)
{
	const uint8_t	*p = (const uint8_t *)email;
	size_t		 n = 0;
	ucs4_t		 c;
	int		 k;

	for (; *p != '\0'; p += k, n++) {
		if ((k = u8_strmbtouc(&c, p)) <= 0)
			return "The email address is not valid UTF-8.";
		if (is_control(c) || is_space(c))
			return "The email address cannot contain spaces or "
			    "control characters.";
	}
	if (n > EMAIL_MAX)
		return arena_printf(a, "The email address is too long (%zu "
		    "character%s too many).", n - EMAIL_MAX,
		    plural(n - EMAIL_MAX));
	return NULL;
}

/* The local part [s, s + len) folded: NFKC(fold(...)), in the arena. */
static char *
local_fold(struct arena *a, const char *s, size_t len)
{
	uint8_t	*f;
	size_t	 flen = 0, i;
	char	*out;

	/*
	 * ASCII, nearly every address: the full case fold of ASCII is its
	 * lower case and NFKC leaves it alone, so the result is the same
	 * without libunistring's fold and normalisation tables (316 KiB a
	 * worker would map for nothing, and their cost at every login).
	 */
	for (i = 0; i < len && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == len) {
		out = arena_strndup(a, s, len);
		for (i = 0; i < len; i++)
			if (out[i] >= 'A' && out[i] <= 'Z')
				out[i] = (char)(out[i] - 'A' + 'a');
		return out;
	}
	/* Unicode 3.13 D146, compatibility caseless matching */
	if ((f = u8_casefold((const uint8_t *)s, len, NULL, UNINORM_NFKC,
	    NULL, &flen)) == NULL)
		return NULL;
	out = arena_strndup(a, (const char *)f, flen);
	free(f);
	return out;
}

/* The domain as its A-label (UTS 46), in the arena; NULL with *why. */
static char *
domain_ascii(struct arena *a, const char *d, const char **why)
{
	char	*ascii = NULL, *out;
	int	 rc;

	if ((rc = idn2_to_ascii_8z(d, &ascii, EMAIL_IDNA_FLAGS)) !=
	    IDN2_OK) {
		*why = arena_printf(a, "The part after the @-sign contains "
		    "invalid characters (%s).", idn2_strerror(rc));
		return NULL;
	}
	out = arena_strdup(a, ascii);
	idn2_free(ascii);
	return out;
}

/*
 * The canonical form of email (NUL-terminated UTF-8, or not), living in
 * the arena: the local part as NFKC of its full Unicode case fold, "@",
 * the domain as the lower-case A-label of its UTS 46 processing.  Equal
 * for carol@bücher.de, carol@XN--BCHER-KVA.DE and the NFD spelling, for
 * a fullwidth domain and its ASCII one, for \u212Aim and kim.  NULL, with
 * *why (static or in the arena), when the address is refused: not UTF-8,
 * spaces or controls, default-ignorable or other unsafe code points, a
 * domain UTS 46 refuses, or bad syntax of the canonical form.
 */
const char *
email_canonical(struct arena *a, const char *email, const char **why)
{
	const char	*at, *dom;
	char		*local, *domain, *canon;

	if ((*why = whole_problem(a, email)) != NULL)
		return NULL;
	if ((at = strchr(email, '@')) == NULL) {
		*why = "An email address must have an @-sign.";
		return NULL;
	}
	if (strchr(at + 1, '@') != NULL) {
		*why = "An email address must have exactly one @-sign.";
		return NULL;
	}
	if (at == email) {
		*why = "There must be something before the @-sign.";
		return NULL;
	}
	dom = at + 1;
	if ((*why = unsafe_problem(a, email, at - email)) != NULL ||
	    (*why = unsafe_problem(a, dom, strlen(dom))) != NULL)
		return NULL;
	if ((local = local_fold(a, email, at - email)) == NULL) {
		*why = "The email address is not valid UTF-8.";
		return NULL;
	}
	/* folding may make what it refuses: U+FE6B is "@", U+2474 "(1)" */
	if ((*why = unsafe_problem(a, local, strlen(local))) != NULL ||
	    (*why = local_problem(a, local)) != NULL)
		return NULL;
	/* the old wording for ASCII domains; libidn2's for the rest */
	if (all_ascii(dom) && (*why = domain_problem(a, dom)) != NULL)
		return NULL;
	if ((domain = domain_ascii(a, dom, why)) == NULL)
		return NULL;
	/* mapping may make "." or "_" of U+3002 or U+FF3F */
	if ((*why = domain_problem(a, domain)) != NULL)
		return NULL;
	canon = arena_printf(a, "%s@%s", local, domain);
	if ((*why = whole_problem(a, canon)) != NULL)
		return NULL;
	return canon;
}
