package redact

// This file is a frozen copy of the built-in scanners as of commit 406efc0,
// before they were rewritten for speed, with every function and table renamed
// with a "ref" prefix (and comments dropped; see git history for them). It is
// the oracle of the differential tests in reference_compare_test.go: the fast
// scanners must find exactly what these simple ones find. Do not optimize it.

import (
	"math/bits"
	"strings"
)

func refFindKeysAndBearers(s string, m *matches, on *[ruleCustom]bool) {
	var bees uint64
	if on[ruleBearer] {
		bees = ones * 'b'
	}
	next := 0
	i := 0
	for ; i+16 <= len(s); i += 16 {
		h1, h2 := refTriggerBytes(refLoad8(s, i), bees), refTriggerBytes(refLoad8(s, i+8), bees)
		if h1|h2 == 0 {
			continue
		}
		for k, h := range [2]uint64{h1, h2} {
			for ; h != 0; h &= h - 1 {
				p := i + 8*k + bits.TrailingZeros64(h)>>3
				if p < next {
					continue
				}
				if c := s[p]; c == ':' || c == '=' {
					if refKeyTail(s, p) {
						next = refKeyValue(s, p, m, on)
					}
				} else if c|0x20 == 'b' && p+1 < len(s) && s[p+1]|0x20 == 'e' {
					next = refBearerAt(s, p, m)
				}
			}
		}
		if next > i+16 {
			i = next - 16
		}
	}
	for ; i < len(s); i++ {
		if i < next {
			continue
		}
		if c := s[i]; c == ':' || c == '=' {
			if refKeyTail(s, i) {
				next = refKeyValue(s, i, m, on)
			}
		} else if bees != 0 && c|0x20 == 'b' && i+1 < len(s) && s[i+1]|0x20 == 'e' {
			next = refBearerAt(s, i, m)
		}
	}
}

func refTriggerBytes(w, bees uint64) uint64 {
	const colons, equals, bit5 = ones * ':', ones * '=', ones * 0x20
	a, b, c := w^colons, w^equals, w|bit5^bees
	return ((a-ones)&^a | (b-ones)&^b | (c-ones)&^c) & highs
}

func refKeyTail(s string, p int) bool {
	if p < 7 {
		return true
	}
	j := p - 1
	if s[j] == '"' {
		j--
	}
	t := refTailLast[s[j]] & refTailPrev[s[j-1]] & refTail3[s[j-2]]
	if t == tailIon {
		return s[j-5]|0x20 == 'z'
	}
	return t|refKeySkip[s[j]] != 0
}

var refTailLast, refTailPrev, refTail3 = func() (last, prev, third [256]uint8) {
	for bit, tail := range [...]string{"ord", "swd", "pwd", "ass", "ret", "key", "ken", "ion"} {
		for k, t := range [...]*[256]uint8{&third, &prev, &last} {
			c := tail[k]
			t[c] |= 1 << bit
			t[c-'a'+'A'] |= 1 << bit
		}
	}
	return last, prev, third
}()

var refKeySkip = func() (t [256]uint8) {
	for _, c := range []byte(" \t\"'\\") {
		t[c] = 1
	}
	return t
}()

var refClass = func() (t [256]uint16) {
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

func refIs(b byte, m uint16) bool { return refClass[b]&m != 0 }

func refRun(s string, i, n int, m uint16) (int, int) {
	known := 0
	for i+n <= len(s) {
		k := i + n - 1
		if refClass[s[k]]&m == 0 {
			i = k + 1
			continue
		}
		j := k - 1
		for stop := max(i, known); j >= stop && refClass[s[j]]&m != 0; j-- {
		}
		if j >= max(i, known) {
			i, known = j+1, k+1
			continue
		}
		end := k + 1
		for end < len(s) && refClass[s[end]]&m != 0 {
			end++
		}
		return i, end
	}
	return -1, -1
}

func refIndexFrom(s string, from int, c byte) int {
	if from >= len(s) {
		return -1
	}
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

func refHasFoldPrefix(s string, i int, lower string) bool {
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

func refFindKeyIDs(s string, m *matches) {
	for i := 0; ; {
		p := refIndexFrom(s, i, 'A')
		if p < 0 || p+20 > len(s) {
			return
		}
		i = p + 1
		if s[p+3] != 'A' || p > 0 && refIs(s[p-1], cWord) || p+20 < len(s) && refIs(s[p+20], cWord) {
			continue
		}
		switch s[p : p+4] {
		case "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA":
		default:
			continue
		}
		if refInClass(s[p+4:p+20], cB32) {
			m.add(p, p+20, ruleKeyID)
			i = p + 20
		}
	}
}

func refInClass(s string, c uint16) bool {
	for i := 0; i < len(s); i++ {
		if !refIs(s[i], c) {
			return false
		}
	}
	return true
}

func refSecretKeyName(s string, e int) bool {
	_, ok := refEndsWithName(s, e, "secretaccesskey")
	if !ok {
		_, ok = refEndsWithName(s, e, "secretkey")
	}
	return ok
}

func refBearerAt(s string, p int, m *matches) int {
	if !refHasFoldPrefix(s, p, "bearer") || p > 0 && refIs(s[p-1], cWord) {
		return p + 1
	}
	start := refSkipBlanks(s, p+len("bearer"))
	if start == p+len("bearer") {
		return p + 1
	}
	end := refCredentialEnd(s, start)
	if n := end - start; n >= 20 || n >= 8 && refHasDigit(s[start:end]) {
		m.add(start, end, ruleBearer)
		return end
	}
	return p + 1
}

func refCredentialEnd(s string, i int) int {
	j := i
	for j < len(s) && refIs(s[j], cB64Token) {
		j++
	}
	if j == i {
		return i
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	if j < len(s) && refIs(s[j], cB64Token) {
		return i
	}
	return j
}

func refSkipBlanks(s string, i int) int {
	for i < len(s) && refIs(s[i], cBlank) {
		i++
	}
	return i
}

func refHasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if refIs(s[i], cDigit) {
			return true
		}
	}
	return false
}

func refFindJWTs(s string, m *matches) {
	for i := 0; ; {
		p := refIndexFrom(s, i, 'J')
		if p < 0 {
			return
		}
		i = p + 1
		start := p - 2
		if start < 0 || s[start] != 'e' || s[start+1] != 'y' || start > 0 && refIs(s[start-1], cB64URL) {
			continue
		}
		header := refSegmentEnd(s, p+1)
		if header-start < 8 || header >= len(s) || s[header] != '.' || !refHasPrefixAt(s, header+1, "eyJ") {
			continue
		}
		payload := refSegmentEnd(s, header+4)
		if payload >= len(s) || s[payload] != '.' {
			continue
		}
		end := refSegmentEnd(s, payload+1)
		m.add(start, end, ruleJWT)
		i = end
	}
}

func refSegmentEnd(s string, i int) int {
	for i < len(s) && refIs(s[i], cB64URL) {
		i++
	}
	return i
}

func refHasPrefixAt(s string, i int, prefix string) bool {
	return i <= len(s) && len(s)-i >= len(prefix) && s[i:i+len(prefix)] == prefix
}

var refCredentialNames = [...]string{"password", "passwd", "pwd", "pass", "secret", "apikey", "token"}

func refKeyValue(s string, sep int, m *matches, on *[ruleCustom]bool) int {
	e := refKeyEnd(s, sep)
	if e < 3 {
		return sep + 1
	}
	switch uint16(s[e-2]|0x20)<<8 | uint16(s[e-1]|0x20) {
	case 'r'<<8 | 'd', 'w'<<8 | 'd', 's'<<8 | 's', 'e'<<8 | 't', 'e'<<8 | 'n':
		if on[rulePassword] && refCredentialKey(s, e) {
			return refPasswordValue(s, sep, m)
		}
	case 'e'<<8 | 'y':
		if on[ruleSecretKey] && refSecretKeyName(s, e) {
			if end := refSecretKeyValue(s, sep, m); end > 0 {
				return end
			}
		}
		if on[rulePassword] && refCredentialKey(s, e) {
			return refPasswordValue(s, sep, m)
		}
	case 'o'<<8 | 'n':
		if on[ruleBearer] && e >= len("authorization") && refHasFoldPrefix(s, e-len("authorization"), "authorization") &&
			(e == len("authorization") || !refIs(s[e-len("authorization")-1], cAlnum)) {
			return refAuthorizationValue(s, sep, m)
		}
	}
	return sep + 1
}

func refPasswordValue(s string, sep int, m *matches) int {
	start, end, ok := refValueAfter(s, sep)
	if !ok {
		return sep + 1
	}
	m.add(start, end, rulePassword)
	return end
}

func refSecretKeyValue(s string, sep int, m *matches) int {
	i := sep + 1
	for stop := i + 8; i < len(s) && i < stop && (s[i] == '"' || s[i] == '\\' || s[i] == '\'' || refIs(s[i], cBlank)); i++ {
	}
	end := i
	for end < len(s) && refIs(s[end], cB64) {
		end++
	}
	if end-i != 40 || end < len(s) && (refIs(s[end], cB64URL) || s[end] == '=') {
		return 0
	}
	m.add(i, end, ruleSecretKey)
	return end
}

func refAuthorizationValue(s string, sep int, m *matches) int {
	j := sep + 1
	for stop := j + 8; j < len(s) && j < stop && (s[j] == '"' || s[j] == '\'' || s[j] == '\\' || s[j] == '[' || refIs(s[j], cBlank)); j++ {
	}
	var scheme int
	switch {
	case refHasFoldPrefix(s, j, "basic"):
		scheme = len("basic")
	case refHasFoldPrefix(s, j, "bearer"):
		scheme = len("bearer")
	default:
		return sep + 1
	}
	start := refSkipBlanks(s, j+scheme)
	end := refCredentialEnd(s, start)
	if start == j+scheme || end == start {
		return sep + 1
	}
	m.add(start, end, ruleBearer)
	return end
}

func refCredentialKey(s string, e int) bool {
	for _, name := range refCredentialNames {
		if q, ok := refEndsWithName(s, e, name); ok && refComponentStart(s, q) {
			return true
		}
	}
	return false
}

func refEndsWithName(s string, e int, name string) (int, bool) {
	j := e
	for k := len(name) - 1; k >= 0; k-- {
		for k < len(name)-1 && j > 0 && refIsSeparator(s[j-1]) {
			j--
		}
		if j == 0 || s[j-1]|0x20 != name[k] {
			return 0, false
		}
		j--
	}
	return j, true
}

func refComponentStart(s string, q int) bool {
	if q == 0 {
		return true
	}
	c := s[q-1]
	if !refIs(c, cIdent) || refIsSeparator(c) {
		return true
	}
	return 'A' <= s[q] && s[q] <= 'Z' && ('a' <= c && c <= 'z' || '0' <= c && c <= '9')
}

func refIsSeparator(c byte) bool { return c == '_' || c == '-' || c == '.' }

func refLastComponent(key string, end int) int {
	for i := end - 1; i >= 0; i-- {
		c := key[i]
		if refIsSeparator(c) {
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

func refKeyEnd(s string, sep int) int {
	j := sep
	for stop := sep - 4; j > 0 && j > stop && refIs(s[j-1], cBlank); j-- {
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		j--
		for stop := j - 8; j > 0 && j > stop && s[j-1] == '\\'; j-- {
		}
	}
	return j
}

func refKeyFrom(s string, end int) string {
	j := end
	for j > 0 && end-j < 64 && refIs(s[j-1], cIdent) {
		j--
	}
	if j > 0 && refIs(s[j-1], cIdent) {
		return ""
	}
	return s[j:end]
}

func refValueAfter(s string, sep int) (start, end int, ok bool) {
	i := sep + 1
	if s[sep] == ':' && i < len(s) && s[i] == '=' {
		i++
	}
	i = refSkipBlanks(s, i)
	b := i
	for i < len(s) && s[i] == '\\' && i-b < 8 {
		i++
	}
	if k := i - b; k > 0 || i < len(s) && (s[i] == '"' || s[i] == '\'') {
		if i >= len(s) || s[i] != '"' && s[i] != '\'' || k&(k+1) != 0 {
			return 0, 0, false
		}
		start = i + 1
		end = refClosingQuote(s, start, s[i], k)
		if end == start || refIsPlaceholder(s[start:end]) {
			return 0, 0, false
		}
		return start, end, true
	}
	start = i
	for i < len(s) && !refIs(s[i], cValueEnd) {
		i++
	}
	switch v := s[start:i]; {
	case v == "", v[0] == '[', v[0] == '{', v == "null", v == "true", v == "false":
		return 0, 0, false
	}
	return start, i, true
}

func refClosingQuote(s string, start int, q byte, k int) int {
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

func refIsPlaceholder(v string) bool {
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

func refFindNumbers(s string, m *matches, card, rrn bool) {
	for i := 0; ; {
		start, end := refRun(s, i, 13, cCardRun)
		if start < 0 {
			return
		}
		i = end
		refNumbersIn(s, start, end, m, card, rrn)
	}
}

func refNumbersIn(s string, start, end int, m *matches, card, rrn bool) {
	for p := start; p < end; {
		if !refIs(s[p], cDigit) {
			p++
			continue
		}
		g := p
		for p < end && refIs(s[p], cDigit) {
			p++
		}
		if !refLeftAlone(s, g) {
			continue
		}
		switch n := p - g; {
		case n >= 13 && n <= 19:
			if !refRightAlone(s, p) {
				continue
			}
			d := s[g:p]
			switch {
			case refIdentifierValue(s, g):
			case card && refCardNumber(d):
				m.add(g, p, ruleCard)
			case rrn && n == 13 && refResidentNumber(d, false):
				m.add(g, p, ruleRRN)
			}
		case n == 4 && card:
			if e := refGroupedCard(s, g, end); e > 0 && !refIdentifierValue(s, g) {
				m.add(g, e, ruleCard)
				p = e
			}
		case n == 6 && rrn:
			if p+8 <= end && s[p] == '-' && refDigitsAt(s, p+1, 7) && refRightAlone(s, p+8) {
				var d [13]byte
				copy(d[:6], s[g:p])
				copy(d[6:], s[p+1:p+8])
				if refResidentNumber(string(d[:]), true) {
					m.add(g, p+8, ruleRRN)
					p += 8
				}
			}
		}
	}
}

func refLeftAlone(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	if refIs(c, cWord) || i >= 2 && (c == '.' && refIs(s[i-2], cDigit) || c == '-' && (refIs(s[i-2], cAlnum) || s[i-2] == ']')) {
		return false
	}
	return true
}

func refRightAlone(s string, i int) bool {
	if i == len(s) {
		return true
	}
	c := s[i]
	if refIs(c, cWord) || i+1 < len(s) && (c == '.' && refIs(s[i+1], cDigit) || c == '-' && (refIs(s[i+1], cAlnum) || s[i+1] == '[')) {
		return false
	}
	return true
}

func refIdentifierValue(s string, v int) bool {
	i := v - 1
	for stop := v - 8; i >= 0 && i > stop && (s[i] == '"' || s[i] == '\'' || s[i] == '\\' || refIs(s[i], cBlank)); i-- {
	}
	if i <= 0 || s[i] != ':' && s[i] != '=' {
		return false
	}
	key := refKeyFrom(s, refKeyEnd(s, i))
	c := refLastComponent(key, len(key))
	return len(key)-c == 2 && key[c]|0x20 == 'i' && key[c+1]|0x20 == 'd'
}

func refDigitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !refIs(s[k], cDigit) {
			return false
		}
	}
	return true
}

func refGroupedCard(s string, g, limit int) int {
	p := g + 4
	if p+1 >= limit || s[p] != ' ' && s[p] != '-' {
		return 0
	}
	sep := s[p]
	var ends, totals [5]int
	var digits [19]byte
	copy(digits[:], s[g:p])
	n, total := 0, 4
	for n < len(ends) && p+1 < limit && s[p] == sep && refIs(s[p+1], cDigit) {
		q := p + 1
		for q < limit && refIs(s[q], cDigit) {
			q++
		}
		size := q - p - 1
		if size < 3 || size > 6 || total+size > 19 {
			break
		}
		copy(digits[total:], s[p+1:q])
		total += size
		ends[n], totals[n] = q, total
		n++
		p = q
	}
	for n--; n >= 0; n-- {
		if totals[n] >= 13 && refRightAlone(s, ends[n]) && refCardNumber(string(digits[:totals[n]])) {
			return ends[n]
		}
	}
	return 0
}

func refCardNumber(d string) bool {
	if len(d) < 13 || len(d) > 19 || d[0] < '2' || d[0] > '6' {
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

func refResidentNumber(d string, dashed bool) bool {
	month := int(d[2]-'0')*10 + int(d[3]-'0')
	day := int(d[4]-'0')*10 + int(d[5]-'0')
	if month < 1 || month > 12 || day < 1 || day > refDaysIn[month] || d[6] < '1' || d[6] > '8' {
		return false
	}
	if dashed {
		return true
	}
	if d < "1400000000000" || d >= "2100000000000" {
		return refResidentCheck(d)
	}
	return false
}

var refDaysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func refResidentCheck(d string) bool {
	weights := [12]int{2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5}
	sum := 0
	for i, w := range weights {
		sum += int(d[i]-'0') * w
	}
	last := int(d[12] - '0')
	if (11-sum%11)%10 == last {
		return true
	}
	return d[6] >= '5' && (13-sum%11)%10 == last
}

func refFindAt(s string, m *matches, email, userinfo bool) {
	floor := 0
	for i := 0; ; {
		a := refIndexFrom(s, i, '@')
		if a < 0 {
			return
		}
		i = a + 1
		if u := refUserinfoStart(s, a); u >= 0 {

			last := refLastAt(s, a)
			if c := strings.IndexByte(s[u:last], ':'); userinfo && c >= 0 && u+c+1 < last {
				m.add(u+c+1, last, rulePassword)
			}
			i = last + 1
			continue
		}
		if email {
			if start, end := refAddress(s, a, floor); end > 0 {
				m.add(start, end, ruleEmail)
				i, floor = end, end
			}
		}
	}
}

func refUserinfoStart(s string, a int) int {
	j := a
	for stop := a - 256; j > 0 && j > stop && (refIs(s[j-1], cUserinfo) || s[j-1] == ':' || s[j-1] == '@'); j-- {
	}
	switch {
	case j >= 4 && s[j-3:j] == "://" && refIs(s[j-4], cAlnum):
		return j
	case j >= 6 && s[j-5:j] == `:\/\/` && refIs(s[j-6], cAlnum):
		return j
	}
	return -1
}

func refLastAt(s string, a int) int {
	last := a
	for j := a + 1; j < len(s) && j < a+256; j++ {
		c := s[j]
		switch {
		case c == '@':
			last = j
		case refIs(c, cUserinfo) || c == ':' || c == '[' || c == ']':
		default:
			return last
		}
	}
	return last
}

func refAddress(s string, a, floor int) (int, int) {
	l := a
	for l > floor && refIs(s[l-1], cLocal) {
		l--
		if a-l > 64 {
			return -1, -1
		}
	}
	if l == a || s[l] == '.' || s[a-1] == '.' || l > 0 && s[l-1] == '@' {
		return -1, -1
	}
	e := a + 1
	for e < len(s) && refIs(s[e], cDomain) {
		e++
	}
	for e > a+1 && (s[e-1] == '.' || s[e-1] == '-') {
		e--
	}
	if !refDomain(s[a+1 : e]) {
		return -1, -1
	}
	if e < len(s) {
		switch c := s[e]; {
		case c == '_' || c == '@':
			return -1, -1
		case c == ':' && e+1 < len(s) && '!' <= s[e+1] && s[e+1] <= '~' && s[e+1] != '"' && s[e+1] != '\'' && s[e+1] != '`':

			return -1, -1
		}
	}
	return l, e
}

func refDomain(d string) bool {
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
			return false
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

func refLoad8(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// refFind is Redactor.find with the reference scanners.
func refFind(r *Redactor, s string, m *matches) {
	if r.on[ruleKeyID] {
		refFindKeyIDs(s, m)
	}
	if r.on[rulePassword] || r.on[ruleSecretKey] || r.on[ruleBearer] {
		refFindKeysAndBearers(s, m, &r.on)
	}
	if r.on[ruleJWT] {
		refFindJWTs(s, m)
	}
	if r.on[rulePassword] || r.on[ruleEmail] {
		refFindAt(s, m, r.on[ruleEmail], r.on[rulePassword])
	}
	if r.on[ruleCard] || r.on[ruleRRN] {
		refFindNumbers(s, m, r.on[ruleCard], r.on[ruleRRN])
	}
	for i := range r.custom {
		findCustom(s, m, &r.custom[i])
	}
}

// refRedact is Redactor.Redact with the reference scanners.
func refRedact(r *Redactor, s string) (string, Counts) {
	if r == nil || len(s) == 0 {
		return s, Counts{}
	}
	var m matches
	refFind(r, s, &m)
	if m.n == 0 {
		return s, Counts{}
	}
	return m.apply(s)
}
