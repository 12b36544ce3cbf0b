package redact

import "strings"

// credentialNames are the password rule's key names, lower-cased without
// '_', '-' and '.'. client_secret and access_token end in secret and token.
var credentialNames = [...]string{"password", "passwd", "pwd", "pass", "secret", "apikey", "token"}

// keyValue looks at the key before the separator at sep and, when it names
// a secret, adds the value after it. It returns where the next key may start.
func keyValue(s string, sep int, m *matches, on *[ruleCustom]bool) int {
	e := keyEnd(s, sep)
	if e < 3 {
		return sep + 1
	}
	switch uint16(s[e-2]|0x20)<<8 | uint16(s[e-1]|0x20) {
	case 'r'<<8 | 'd', 'w'<<8 | 'd', 's'<<8 | 's', 'e'<<8 | 't', 'e'<<8 | 'n': // password, passwd, pwd, pass, secret, token
		if on[rulePassword] && credentialKey(s, e) {
			return passwordValue(s, sep, m)
		}
	case 'e'<<8 | 'y': // apikey, secretaccesskey
		if on[ruleSecretKey] && secretKeyName(s, e) {
			if end := secretKeyValue(s, sep, m); end > 0 {
				return end
			}
		}
		if on[rulePassword] && credentialKey(s, e) {
			return passwordValue(s, sep, m)
		}
	case 'o'<<8 | 'n': // authorization
		if on[ruleBearer] && e >= len("authorization") && hasFoldPrefix(s, e-len("authorization"), "authorization") &&
			(e == len("authorization") || !is(s[e-len("authorization")-1], cAlnum)) {
			return authorizationValue(s, sep, m)
		}
	}
	return sep + 1
}

func passwordValue(s string, sep int, m *matches) int {
	start, end, ok := valueAfter(s, sep)
	if !ok {
		return sep + 1
	}
	m.add(start, end, rulePassword)
	return end
}

// secretKeyValue adds the value after sep when it is exactly 40 characters of
// [A-Za-z0-9/+], and returns its end, or 0.
func secretKeyValue(s string, sep int, m *matches) int {
	i := sep + 1
	for stop := i + 8; i < len(s) && i < stop && (s[i] == '"' || s[i] == '\\' || s[i] == '\'' || is(s[i], cBlank)); i++ {
	}
	end := i
	for end < len(s) && is(s[end], cB64) {
		end++
	}
	if end-i != 40 || end < len(s) && (is(s[end], cB64URL) || s[end] == '=') {
		return 0
	}
	m.add(i, end, ruleSecretKey)
	return end
}

// authorizationValue adds the credential of an Authorization header with the
// Basic or Bearer scheme after sep, whatever it looks like, and returns its
// end. Between the separator and the scheme may come blanks, quotes and '['
// (Go prints headers as map[Authorization:[Bearer ...]]).
func authorizationValue(s string, sep int, m *matches) int {
	j := sep + 1
	for stop := j + 8; j < len(s) && j < stop && (s[j] == '"' || s[j] == '\'' || s[j] == '\\' || s[j] == '[' || is(s[j], cBlank)); j++ {
	}
	var scheme int
	switch {
	case hasFoldPrefix(s, j, "basic"):
		scheme = len("basic")
	case hasFoldPrefix(s, j, "bearer"):
		scheme = len("bearer")
	default:
		return sep + 1
	}
	start := skipBlanks(s, j+scheme)
	end := credentialEnd(s, start)
	if start == j+scheme || end == start {
		return sep + 1
	}
	m.add(start, end, ruleBearer)
	return end
}

// credentialKey reports whether the key that ends at e names a credential:
// it ends in one of credentialNames, compared without case and skipping '_',
// '-' and '.' between letters, and that name starts the key or one of its
// components (after _ - . or at a camelCase hump). So db_password, x-api-key
// and clientSecret match, password_reset_sent and bypass do not.
func credentialKey(s string, e int) bool {
	for _, name := range credentialNames {
		if q, ok := endsWithName(s, e, name); ok && componentStart(s, q) {
			return true
		}
	}
	return false
}

// endsWithName reports whether s[:e] ends with name (lower-case letters),
// ignoring case and any '_', '-' and '.' between its letters, and returns
// where the match starts.
func endsWithName(s string, e int, name string) (int, bool) {
	j := e
	for k := len(name) - 1; k >= 0; k-- {
		for k < len(name)-1 && j > 0 && isSeparator(s[j-1]) {
			j--
		}
		if j == 0 || s[j-1]|0x20 != name[k] {
			return 0, false
		}
		j--
	}
	return j, true
}

// componentStart reports whether a key component starts at q: at the start
// of the key, after a separator, or at an upper-case letter after a
// lower-case letter or a digit.
func componentStart(s string, q int) bool {
	if q == 0 {
		return true
	}
	c := s[q-1]
	if !is(c, cIdent) || isSeparator(c) {
		return true
	}
	return 'A' <= s[q] && s[q] <= 'Z' && ('a' <= c && c <= 'z' || '0' <= c && c <= '9')
}

func isSeparator(c byte) bool { return c == '_' || c == '-' || c == '.' }

// lastComponent returns where the last component of key[:end] starts: after
// a separator, or at an upper-case letter that follows a lower-case letter
// or a digit.
func lastComponent(key string, end int) int {
	for i := end - 1; i >= 0; i-- {
		c := key[i]
		if isSeparator(c) {
			return i + 1
		}
		if i > 0 && 'A' <= c && c <= 'Z' {
			if p := key[i-1]; 'a' <= p && p <= 'z' || '0' <= p && p <= '9' {
				return i
			}
		}
	}
	return 0
}

// keyEnd returns where the key before the separator at sep ends, skipping
// blanks and a closing quote that may be escaped (\" in JSON inside a JSON
// string).
func keyEnd(s string, sep int) int {
	j := sep
	for stop := sep - 4; j > 0 && j > stop && is(s[j-1], cBlank); j-- {
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		j--
		for stop := j - 8; j > 0 && j > stop && s[j-1] == '\\'; j-- {
		}
	}
	return j
}

// keyFrom returns the key name that ends at end: at most 64 characters of
// [A-Za-z0-9_.-], or "" when the run is longer than that.
func keyFrom(s string, end int) string {
	j := end
	for j > 0 && end-j < 64 && is(s[j-1], cIdent) {
		j--
	}
	if j > 0 && is(s[j-1], cIdent) {
		return ""
	}
	return s[j:end]
}

// valueAfter returns the bounds of the value after the separator at sep.
// A quoted value runs to its closing quote, found at the value's depth of
// escaping (a quote written \" closes at the next \" that is not itself an
// escaped \\\"), or to the end of the line when it is not closed. An unquoted
// value runs to a blank or a delimiter. Empty values, placeholders, unquoted
// null/true/false and values that open an object or an array are not values.
func valueAfter(s string, sep int) (start, end int, ok bool) {
	i := sep + 1
	if s[sep] == ':' && i < len(s) && s[i] == '=' { // Go's :=
		i++
	}
	i = skipBlanks(s, i)
	b := i
	for i < len(s) && s[i] == '\\' && i-b < 8 {
		i++
	}
	if k := i - b; k > 0 || i < len(s) && (s[i] == '"' || s[i] == '\'') {
		if i >= len(s) || s[i] != '"' && s[i] != '\'' || k&(k+1) != 0 {
			return 0, 0, false // not a quote, or a quote at no depth (k is not 2^d-1)
		}
		start = i + 1
		end = closingQuote(s, start, s[i], k)
		if end == start || isPlaceholder(s[start:end]) {
			return 0, 0, false
		}
		return start, end, true
	}
	start = i
	for i < len(s) && !is(s[i], cValueEnd) {
		i++
	}
	switch v := s[start:i]; {
	case v == "", v[0] == '[', v[0] == '{', v == "null", v == "true", v == "false":
		return 0, 0, false
	}
	return start, i, true
}

// closingQuote returns where the value that starts at start ends: before the
// quote q that is preceded by k backslashes modulo 2(k+1), k being the
// number before the opening quote, or at the end of the line.
func closingQuote(s string, start int, q byte, k int) int {
	for j := start; j < len(s); j++ {
		c := s[j]
		if c == '\n' {
			return j
		}
		if c != q {
			continue
		}
		n := 0
		for b := j - 1; b >= start && s[b] == '\\'; b-- {
			n++
		}
		if n%(2*(k+1)) == k {
			return j - k
		}
	}
	return len(s)
}

// isPlaceholder reports whether v is one of the placeholders.
func isPlaceholder(v string) bool {
	if !strings.HasPrefix(v, placeholderPrefix) {
		return false
	}
	for _, p := range placeholders {
		if v == p {
			return true
		}
	}
	return false
}
