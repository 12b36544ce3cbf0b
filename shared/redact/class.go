package redact

import "strings"

// Byte classes. Every scanner works on bytes through this one table, so a
// test is a load and a mask, and the sets that decide where a secret starts
// and ends are written down once.
const (
	cDigit    uint16 = 1 << iota // 0-9
	cB32                         // A-Z 2-7: the alphabet of AWS key ids
	cWord                        // A-Z a-z 0-9 _: a regexp \w
	cB64URL                      // A-Z a-z 0-9 _ -: JWT segments
	cB64                         // A-Z a-z 0-9 + /: AWS secret access keys
	cCardRun                     // 0-9 space -: what a card number or RRN is written with
	cLocal                       // A-Z a-z 0-9 . _ % + -: the local part of an email address
	cDomain                      // A-Z a-z 0-9 . -: a domain name
	cB64Token                    // A-Z a-z 0-9 - . _ ~ + /: an HTTP credential (RFC 6750 b64token, without its '=' tail)
	cIdent                       // A-Z a-z 0-9 _ . -: a key name such as db_password or x-api-key
	cUserinfo                    // what a URL's userinfo may hold, besides ':' (RFC 3986 unreserved, pct-encoded, sub-delims)
	cValueEnd                    // ends an unquoted value: blanks, separators, quotes, closing brackets
	cAlnum                       // A-Z a-z 0-9
	cBlank                       // space, tab
)

var class = func() (t [256]uint16) {
	in := func(set string, b byte) bool { return strings.IndexByte(set, b) >= 0 }
	for i := range t {
		b := byte(i)
		digit := '0' <= b && b <= '9'
		alnum := digit || 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z'
		var f uint16
		if digit {
			f |= cDigit
		}
		if 'A' <= b && b <= 'Z' || '2' <= b && b <= '7' {
			f |= cB32
		}
		if alnum {
			f |= cAlnum | cWord | cB64URL | cB64 | cLocal | cDomain | cB64Token | cIdent | cUserinfo
		}
		if b == '_' {
			f |= cWord | cB64URL
		}
		if b == '-' {
			f |= cB64URL
		}
		if in("+/", b) {
			f |= cB64
		}
		if digit || in(" -", b) {
			f |= cCardRun
		}
		if in("._%+-", b) {
			f |= cLocal
		}
		if in(".-", b) {
			f |= cDomain
		}
		if in("-._~+/", b) {
			f |= cB64Token
		}
		if in("_.-", b) {
			f |= cIdent
		}
		if in("-._~%!$&'()*+,;=", b) {
			f |= cUserinfo
		}
		if in(" \t\r\n\f\v,;&\"'`)]}<>\\|", b) {
			f |= cValueEnd
		}
		if in(" \t", b) {
			f |= cBlank
		}
		t[i] = f
	}
	return t
}()

func is(b byte, m uint16) bool { return class[b]&m != 0 }

func indexFrom(s string, from int, c byte) int {
	if from >= len(s) {
		return -1
	}
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// hasFoldPrefix reports whether s[i:] starts with lower, ignoring ASCII case;
// lower must be lower-case letters.
func hasFoldPrefix(s string, i int, lower string) bool {
	if i < 0 || len(s)-i < len(lower) {
		return false
	}
	for k := 0; k < len(lower); k++ {
		if s[i+k]|0x20 != lower[k] {
			return false
		}
	}
	return true
}
