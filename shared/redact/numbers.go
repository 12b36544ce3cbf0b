package redact

import "math/bits"

// findNumbers finds card numbers and resident registration numbers. Both are
// written with at least 13 characters of [0-9 -]: it looks for such runs
// (see numberRun) and parses the digit groups inside them.
func findNumbers(s string, m *matches, card, rrn bool) {
	for i := 0; ; {
		start, end := numberRun(s, i)
		if start < 0 {
			return
		}
		i = end
		numbersIn(s, start, end, m, card, rrn)
	}
}

// numberRun finds the first maximal run of [0-9 -] that is at least 13 long
// and starts at or after i, and returns its bounds, or -1, -1. The caller
// passes 0 or the end of a run it got before, so s[i-1] is never in the run.
//
// Every run of 13 covers one of the bytes 13 apart from s[i+12] on, so the
// scan probes only those, eight at a time (see cardRunBytes). Three quarters
// of log text is not in the class. Around a probe that is, it counts the
// bytes of the class eight at a time on each side, and only where the run
// may reach 13 does it measure it (see runAround).
func numberRun(s string, i int) (int, int) {
	p := i + 12
	for ; p+7*13+9 <= len(s); p += 8 * 13 { // the last probe and the word after it are in s
		t := s[p : p+7*13+1] // one bounds check for the eight probes
		g := uint64(t[0]) | uint64(t[13])<<8 | uint64(t[2*13])<<16 | uint64(t[3*13])<<24 |
			uint64(t[4*13])<<32 | uint64(t[5*13])<<40 | uint64(t[6*13])<<48 | uint64(t[7*13])<<56
		for h := cardRunBytes(g); h != 0; h &= h - 1 {
			q := p + 13*(bits.TrailingZeros64(h)>>3)
			// shortRun, written out: a call here costs as much as the test
			l := bits.LeadingZeros64(^cardRunBytes(load8(s, q-8))&highs) >> 3
			r := bits.TrailingZeros64(^cardRunBytes(load8(s, q+1))&highs) >> 3
			if l+1+r < 13 && l < 8 && r < 8 {
				continue
			}
			if start, end := runAround(s, q); end-start >= 13 {
				return start, end
			}
		}
	}
	for ; p < len(s); p += 13 {
		if !is(s[p], cCardRun) || p+9 <= len(s) && shortRun(s, p) {
			continue
		}
		if start, end := runAround(s, p); end-start >= 13 {
			return start, end
		}
	}
	return -1, -1
}

// shortRun reports whether the run of [0-9 -] that covers q is shorter than
// 13, looking at the eight bytes on each side at once; false means it may not
// be. s[q-8:q+9] must be there.
func shortRun(s string, q int) bool {
	l := bits.LeadingZeros64(^cardRunBytes(load8(s, q-8))&highs) >> 3  // in the class just before q, up to 8
	r := bits.TrailingZeros64(^cardRunBytes(load8(s, q+1))&highs) >> 3 // just after, up to 8
	return l+1+r < 13 && l < 8 && r < 8
}

// runAround returns the bounds of the run of [0-9 -] that covers p, going
// eight bytes at a time while it can.
func runAround(s string, p int) (int, int) {
	start, end := p, p+1
	for start >= 8 {
		n := bits.LeadingZeros64(^cardRunBytes(load8(s, start-8))&highs) >> 3
		start -= n
		if n < 8 {
			break
		}
	}
	if start < 8 {
		for start > 0 && is(s[start-1], cCardRun) {
			start--
		}
	}
	for end+8 <= len(s) {
		n := bits.TrailingZeros64(^cardRunBytes(load8(s, end))&highs) >> 3
		end += n
		if n < 8 {
			return start, end
		}
	}
	for end < len(s) && is(s[end], cCardRun) {
		end++
	}
	return start, end
}

// cardRunBytes marks (bit 7 of each byte) the bytes of w that are digits,
// spaces or dashes: the class cCardRun, without a table. Bytes of 0x80 and
// above are never marked.
func cardRunBytes(w uint64) uint64 {
	const low7, spaces, dashes = ones * 0x7f, ones * ' ', ones * '-'
	a := w & low7
	digits := (a + ones*(0x80-'0')) &^ (a + ones*(0x80-'9'-1)) // a >= '0' and not a > '9'
	blanks := ^(((a ^ spaces) + low7) & ((a ^ dashes) + low7)) // a lane of a^x is zero only when adding low7 leaves bit 7 clear
	return (digits | blanks) &^ w & highs
}

// numbersIn looks at each group of digits in s[start:end] in turn and tries
// the shapes that can start there: 13-19 digits in one group (a card, or an
// undashed RRN), four digits and more groups (a card), six digits, a dash and
// seven digits (an RRN).
func numbersIn(s string, start, end int, m *matches, card, rrn bool) {
	for p := start; p < end; {
		if !is(s[p], cDigit) {
			p++
			continue
		}
		g := p
		for p < end && is(s[p], cDigit) {
			p++
		}
		if !leftAlone(s, g) {
			continue
		}
		switch n := p - g; {
		case n >= 13 && n <= 19:
			if !rightAlone(s, p) {
				continue
			}
			d := s[g:p]
			switch {
			case identifierValue(s, g):
			case card && cardNumber(d):
				m.add(g, p, ruleCard)
			case rrn && n == 13 && residentNumber(d, false):
				m.add(g, p, ruleRRN)
			}
		case n == 4 && card:
			if e := groupedCard(s, g, end); e > 0 && !identifierValue(s, g) {
				m.add(g, e, ruleCard)
				p = e
			}
		case n == 6 && rrn:
			if p+8 <= end && s[p] == '-' && digitsAt(s, p+1, 7) && rightAlone(s, p+8) {
				var d [13]byte
				copy(d[:6], s[g:p])
				copy(d[6:], s[p+1:p+8])
				if residentNumber(string(d[:]), true) {
					m.add(g, p+8, ruleRRN)
					p += 8
				}
			}
		}
	}
}

// leftAlone reports whether a number starting at i stands alone on its left:
// not after a letter, a digit or '_', nor after the point of a decimal, nor
// joined by a dash to a word before it (eni-0123..., a resource id). A ']'
// there counts as a word: it ends a placeholder, and what was there before
// redaction was one.
func leftAlone(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	if is(c, cWord) || i >= 2 && (c == '.' && is(s[i-2], cDigit) || c == '-' && (is(s[i-2], cAlnum) || s[i-2] == ']')) {
		return false
	}
	return true
}

// rightAlone reports whether a number ending at i stands alone on its right,
// the mirror of leftAlone.
func rightAlone(s string, i int) bool {
	if i == len(s) {
		return true
	}
	c := s[i]
	if is(c, cWord) || i+1 < len(s) && (c == '.' && is(s[i+1], cDigit) || c == '-' && (is(s[i+1], cAlnum) || s[i+1] == '[')) {
		return false
	}
	return true
}

// identifierValue reports whether the value starting at v is the value of a
// key named like an identifier (id, span_id, eventId, "requestID"): those
// hold ids that may happen to pass the Luhn check, not card numbers.
func identifierValue(s string, v int) bool {
	i := v - 1
	for stop := v - 8; i >= 0 && i > stop && (s[i] == '"' || s[i] == '\'' || s[i] == '\\' || is(s[i], cBlank)); i-- {
	}
	if i <= 0 || s[i] != ':' && s[i] != '=' {
		return false
	}
	key := keyFrom(s, keyEnd(s, i))
	c := lastComponent(key, len(key))
	return len(key)-c == 2 && key[c]|0x20 == 'i' && key[c+1]|0x20 == 'd'
}

func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !is(s[k], cDigit) {
			return false
		}
	}
	return true
}

// groupedCard returns the end of a card number written in groups that starts
// with the four digits at g, or 0. Later groups have three to six digits and
// the same separator, a single space or a single dash. The longest grouping
// that is a valid card wins.
func groupedCard(s string, g, limit int) int {
	p := g + 4
	if p+1 >= limit || s[p] != ' ' && s[p] != '-' {
		return 0
	}
	sep := s[p]
	var ends, totals [5]int // after each later group: where it ends, how many digits so far
	var digits [19]byte
	copy(digits[:], s[g:p])
	n, total := 0, 4
	for n < len(ends) && p+1 < limit && s[p] == sep && is(s[p+1], cDigit) {
		q := p + 1
		for q < limit && is(s[q], cDigit) {
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
		if totals[n] >= 13 && rightAlone(s, ends[n]) && cardNumber(string(digits[:totals[n]])) {
			return ends[n]
		}
	}
	return 0
}

// cardNumber reports whether the digits d can be a payment card number: a
// major industry identifier from 2 to 6 and a valid Luhn check digit.
func cardNumber(d string) bool {
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

// residentNumber reports whether 13 digits can be a Korean resident
// registration number: a real month and day, a gender digit from 1 to 8 and,
// when it was written without its dash, a valid check digit and not an epoch
// timestamp in milliseconds.
func residentNumber(d string, dashed bool) bool {
	month := int(d[2]-'0')*10 + int(d[3]-'0')
	day := int(d[4]-'0')*10 + int(d[5]-'0')
	if month < 1 || month > 12 || day < 1 || day > daysIn[month] || d[6] < '1' || d[6] > '8' {
		return false
	}
	if dashed {
		return true
	}
	if d < "1400000000000" || d >= "2100000000000" {
		return residentCheck(d)
	}
	return false
}

var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// residentCheck verifies the check digit: 11 minus the weighted sum mod 11,
// mod 10. Foreign residents' numbers (gender digit 5-8) may use the variant
// that adds 2.
func residentCheck(d string) bool {
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
