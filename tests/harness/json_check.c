/* A small JSON well-formedness checker for CLI tests (`--json` output). */
#include "json_check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *json_value(const char *s);
static const char *json_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}
static const char *json_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (; *s && *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)s[i]))
						return NULL;
				s += 4;
			} else if (!strchr("\"\\/bfnrt", *s) || !*s) {
				return NULL;
			}
		}
	}
	return *s == '"' ? s + 1 : NULL;
}
static const char *json_seq(const char *s, char close, bool object)
{
	s = json_ws(s + 1);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (object) {
			if (!(s = json_string(json_ws(s))))
				return NULL;
			s = json_ws(s);
			if (*s++ != ':')
				return NULL;
		}
		if (!(s = json_value(s)))
			return NULL;
		s = json_ws(s);
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}
static const char *json_value(const char *s)
{
	s = json_ws(s);
	if (*s == '{')
		return json_seq(s, '}', true);
	if (*s == '[')
		return json_seq(s, ']', false);
	if (*s == '"')
		return json_string(s);
	if (strncmp(s, "true", 4) == 0)
		return s + 4;
	if (strncmp(s, "false", 5) == 0)
		return s + 5;
	if (strncmp(s, "null", 4) == 0)
		return s + 4;
	if (*s == '-' || isdigit((unsigned char)*s)) {
		char *end;
		strtod(s, &end);
		return end;
	}
	return NULL;
}
bool json_ok(const char *s)
{
	const char *e = json_value(s);
	return e && *json_ws(e) == '\0';
}
