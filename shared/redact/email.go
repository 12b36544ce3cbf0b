package redact

import "strings"

// findAt visits every '@': it is where an email address is, and where a URL
// with userinfo (scheme://user:password@host) keeps its password.
func findAt(s string, m *matches, email, userinfo bool) {
	floor := 0 // where the last address ended: the next one's local part starts here or later
	for i := 0; ; {
		a := indexFrom(s, i, '@')
		if a < 0 {
			return
		}
		i = a + 1
		if u := userinfoStart(s, a); u >= 0 {
			// A URL's user[:password]@host is never an address.
			last := lastAt(s, a)
			if c := strings.IndexByte(s[u:last], ':'); userinfo && c >= 0 && u+c+1 < last {
				m.add(u+c+1, last, rulePassword)
			}
			i = last + 1
			continue
		}
		if email {
			if start, end := address(s, a, floor); end > 0 {
				m.add(start, end, ruleEmail)
				i, floor = end, end
			}
		}
	}
}

// userinfoStart returns where the userinfo of a URL starts when the '@' at a
// ends one, or -1. Userinfo follows "://" (or JSON's escaped ":\/\/") and a
// scheme.
func userinfoStart(s string, a int) int {
	j := a
	for stop := a - 256; j > 0 && j > stop && (is(s[j-1], cUserinfo) || s[j-1] == ':' || s[j-1] == '@'); j-- {
	}
	switch {
	case j >= 4 && s[j-3:j] == "://" && is(s[j-4], cAlnum):
		return j
	case j >= 6 && s[j-5:j] == `:\/\/` && is(s[j-6], cAlnum):
		return j
	}
	return -1
}

// lastAt returns the last '@' of the URL authority in which a is the first:
// an unescaped '@' in a password belongs to the password.
func lastAt(s string, a int) int {
	last := a
	for j := a + 1; j < len(s) && j < a+256; j++ {
		c := s[j]
		switch {
		case c == '@':
			last = j
		case is(c, cUserinfo) || c == ':' || c == '[' || c == ']':
		default:
			return last
		}
	}
	return last
}

// address returns the bounds of the email address around the '@' at a, or
// -1, -1. Its local part starts at floor or later: after the address before
// it, as it will once that is redacted. See the package comment for what is
// not an address.
func address(s string, a, floor int) (int, int) {
	l := a
	for l > floor && is(s[l-1], cLocal) {
		l--
		if a-l > 64 {
			return -1, -1
		}
	}
	if l == a || s[l] == '.' || s[a-1] == '.' || l > 0 && s[l-1] == '@' {
		return -1, -1
	}
	e := a + 1
	for e < len(s) && is(s[e], cDomain) {
		e++
	}
	for e > a+1 && (s[e-1] == '.' || s[e-1] == '-') { // the end of a sentence or a dash after it
		e--
	}
	if !domain(s[a+1 : e]) {
		return -1, -1
	}
	if e < len(s) {
		switch c := s[e]; {
		case c == '_' || c == '@':
			return -1, -1
		case c == ':' && e+1 < len(s) && '!' <= s[e+1] && s[e+1] <= '~' && s[e+1] != '"' && s[e+1] != '\'' && s[e+1] != '`':
			// scp-style remote, git@github.com:org/repo.git, or host:port.
			// Any visible character counts, so that what follows being
			// redacted ("[REDACTED:...") does not change the decision.
			return -1, -1
		}
	}
	return l, e
}

// domain reports whether d is a domain name with at least two labels and a
// top-level label of two or more letters, and is not an image scale suffix
// such as 2x.png.
func domain(d string) bool {
	labels, start := 0, 0
	for k := 0; k <= len(d); k++ {
		if k < len(d) && d[k] != '.' {
			continue
		}
		label := d[start:k]
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if labels == 0 && len(label) >= 2 && label[len(label)-1] == 'x' && strings.Trim(label[:len(label)-1], "0123456789") == "" {
			return false // icon@2x.png
		}
		labels++
		start = k + 1
	}
	if labels < 2 {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if c := tld[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
