package redact

// bearerAt adds the credential after the word "bearer", in any case, that
// starts at p, and returns where scanning goes on. Away from an Authorization
// header the credential must look like one (see the package comment), which
// keeps prose such as "bearer authentication" intact.
func bearerAt(s string, p int, m *matches) int {
	if !hasFoldPrefix(s, p, "bearer") || p > 0 && is(s[p-1], cWord) {
		return p + 1
	}
	start := skipBlanks(s, p+len("bearer"))
	if start == p+len("bearer") {
		return p + 1
	}
	end := credentialEnd(s, start)
	if n := end - start; n >= 20 || n >= 8 && hasDigit(s[start:end]) {
		m.add(start, end, ruleBearer)
		return end
	}
	return p + 1
}

// credentialEnd returns the end of an RFC 6750 b64token starting at i:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". It returns i
// when there is none, or when what follows the '=' tail would continue a word
// (expires_in=3600 is not a credential).
func credentialEnd(s string, i int) int {
	j := i
	for j < len(s) && is(s[j], cB64Token) {
		j++
	}
	if j == i {
		return i
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	if j < len(s) && is(s[j], cB64Token) {
		return i
	}
	return j
}

func skipBlanks(s string, i int) int {
	for i < len(s) && is(s[i], cBlank) {
		i++
	}
	return i
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if is(s[i], cDigit) {
			return true
		}
	}
	return false
}

// findJWTs finds JSON Web Tokens. It keys on 'J', rarer in logs than 'e', and
// checks for "ey" before it.
func findJWTs(s string, m *matches) {
	for i := 0; ; {
		p := indexFrom(s, i, 'J')
		if p < 0 {
			return
		}
		i = p + 1
		start := p - 2
		if start < 0 || s[start] != 'e' || s[start+1] != 'y' || start > 0 && is(s[start-1], cB64URL) {
			continue
		}
		header := segmentEnd(s, p+1)
		if header-start < 8 || header >= len(s) || s[header] != '.' || !hasPrefixAt(s, header+1, "eyJ") {
			continue
		}
		payload := segmentEnd(s, header+4)
		if payload >= len(s) || s[payload] != '.' {
			continue
		}
		end := segmentEnd(s, payload+1)
		m.add(start, end, ruleJWT)
		i = end
	}
}

func segmentEnd(s string, i int) int {
	for i < len(s) && is(s[i], cB64URL) {
		i++
	}
	return i
}

func hasPrefixAt(s string, i int, prefix string) bool {
	return i <= len(s) && len(s)-i >= len(prefix) && s[i:i+len(prefix)] == prefix
}
