package redact

// findKeyIDs finds AWS access key ids: one of the documented prefixes, which
// all start with 'A', and 16 characters of [A-Z2-7], with no word character on
// either side.
func findKeyIDs(s string, m *matches) {
	for i := 0; ; {
		p := indexFrom(s, i, 'A')
		if p < 0 || p+20 > len(s) {
			return
		}
		i = p + 1
		if s[p+3] != 'A' || p > 0 && is(s[p-1], cWord) || p+20 < len(s) && is(s[p+20], cWord) {
			continue
		}
		switch s[p : p+4] {
		case "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA":
		default:
			continue
		}
		if inClass(s[p+4:p+20], cB32) {
			m.add(p, p+20, ruleKeyID)
			i = p + 20
		}
	}
}

func inClass(s string, c uint16) bool {
	for i := 0; i < len(s); i++ {
		if !is(s[i], c) {
			return false
		}
	}
	return true
}

// secretKeyName reports whether the key that ends at e names an AWS secret
// access key: it ends in secretaccesskey or secretkey, compared without case
// and skipping '_', '-' and '.'.
func secretKeyName(s string, e int) bool {
	_, ok := endsWithName(s, e, "secretaccesskey")
	if !ok {
		_, ok = endsWithName(s, e, "secretkey")
	}
	return ok
}
