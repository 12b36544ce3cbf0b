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

// run finds the first maximal run of bytes of class m that is at least n
// long and starts at or after i, and returns its bounds, or -1, -1. The caller
// passes 0 or the end of a run it got before, so s[i-1] is never in m.
//
// It looks at the last byte of each window of n bytes first: when that byte
// is not in m no run of n bytes can cover it, and the search moves on by a
// whole window. On ordinary log text it reads a fraction of the bytes.
func run(s string, i, n int, m uint16) (int, int) {
	known := 0 // s[i:known] is known to be in m, when known > i
	for i+n <= len(s) {
		k := i + n - 1
		if class[s[k]]&m == 0 {
			i = k + 1
			continue
		}
		j := k - 1
		for stop := max(i, known); j >= stop && class[s[j]]&m != 0; j-- {
		}
		if j >= max(i, known) {
			i, known = j+1, k+1
			continue
		}
		end := k + 1
		for end < len(s) && class[s[end]]&m != 0 {
			end++
		}
		return i, end
	}
	return -1, -1
}

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
