package redact

import "math/bits"

// findKeysAndBearers is one pass over the message for the rules that start at
// a separator (':' or '=' after a key: password, aws_secret_access_key,
// Authorization headers) or at the word "bearer". It marks those bytes eight
// at a time and visits the marks of 32 bytes in one loop, and drops almost
// every separator by the last three letters of the key before it, without a
// call (see keyTail): JSON logs have a separator every 30 bytes or so, and
// few keys end like password, secret or token do. For "bearer" it marks the
// pair "be" rather than 'b' alone: a 'b' is frequent in log text, a "be"
// twenty times less so.
func findKeysAndBearers(s string, m *matches, on *[ruleCustom]bool) {
	bearer := on[ruleBearer]
	next := 0 // scanning goes on here: not inside a value already taken
	i := 0
	for ; i+33 <= len(s) || len(s) >= 33 && i < len(s)-1; i += 32 { // s[i+32] is the 'e' of a "be" at i+31
		// The last block ends one byte before the end of s and overlaps the
		// one before: done are its first done bytes. The last byte of s
		// needs no look, as no value and no "be" follows it. A message
		// of 470 bytes or so spends a tenth of its time in the loops
		// below otherwise.
		done := 0
		if i+33 > len(s) {
			done = i - (len(s) - 33)
			i = len(s) - 33
		}
		w1, w2, w3, w4 := load8(s, i), load8(s, i+8), load8(s, i+16), load8(s, i+24)
		h1, h2, h3, h4 := separators(w1), separators(w2), separators(w3), separators(w4)
		if bearer { // the same every time: predicted
			h1 |= bePairs(w1, load8(s, i+1))
			h2 |= bePairs(w2, load8(s, i+9))
			h3 |= bePairs(w3, load8(s, i+17))
			h4 |= bePairs(w4, load8(s, i+25))
		}
		// One bit a byte, in order, so one loop with one exit visits them all.
		marks := gatherMarks(h1) | gatherMarks(h2)<<8 | gatherMarks(h3)<<16 | gatherMarks(h4)<<24
		marks &^= 1<<done - 1
		for ; marks != 0; marks &= marks - 1 {
			p := i + bits.TrailingZeros64(marks)
			if p < next {
				continue
			}
			if c := s[p]; (c == ':' || c == '=') && keyTail(s, p) || bearer && c|0x20 == 'b' && s[p+1]|0x20 == 'e' {
				next = trigger(s, p, m, on)
			}
		}
		if done > 0 {
			return
		}
		if next > i+32 {
			i = next - 32
		}
	}
	for ; i+9 <= len(s); i += 8 { // what is left, a word at a time
		h := separators(load8(s, i))
		if bearer {
			h |= bePairs(load8(s, i), load8(s, i+1))
		}
		for ; h != 0; h &= h - 1 {
			p := i + bits.TrailingZeros64(h)>>3
			if p < next {
				continue
			}
			if c := s[p]; (c == ':' || c == '=') && keyTail(s, p) || bearer && c|0x20 == 'b' && s[p+1]|0x20 == 'e' {
				next = trigger(s, p, m, on)
			}
		}
		if next > i+8 {
			i = next - 8
		}
	}
	for ; i < len(s); i++ {
		if i < next {
			continue
		}
		if c := s[i]; (c == ':' || c == '=') && keyTail(s, i) || bearer && c|0x20 == 'b' && i+1 < len(s) && s[i+1]|0x20 == 'e' {
			next = trigger(s, i, m, on)
		}
	}
}

// trigger adds what the key or the word "bearer" at p introduces, once the
// quick test in the scan has let it through, and returns where scanning goes
// on.
func trigger(s string, p int, m *matches, on *[ruleCustom]bool) int {
	if c := s[p]; c == ':' || c == '=' {
		return keyValue(s, p, m, on)
	}
	return bearerAt(s, p, m)
}

// gatherMarks packs the marks of h (bit 7 of each byte) into its low eight
// bits, byte k's mark in bit k: the multiplication moves each mark to a bit
// of its own in the top byte, without carries.
func gatherMarks(h uint64) uint64 {
	return (h >> 7) * 0x0102040810204080 >> 56
}

// separators marks (bit 7 of each byte) the bytes of w that are ':' or '='.
// It may also mark the byte just above a marked one (the borrow of this
// cheaper test can spill over); the scan looks at each marked byte itself
// anyway.
//
// A byte of a or b below 0x80 has bit 7 set in a-1 or b-1 only when it is
// zero, and a byte of 0x80 and above is so in both a and b, which a&b keeps:
// one mask for both tests, an operation less than two.
func separators(w uint64) uint64 {
	const colons, equals = ones * ':', ones * '='
	a, b := w^colons, w^equals
	return ((a - ones) | (b - ones)) &^ (a & b) & highs
}

// bePairs marks, like separators, the bytes of w that start a "be" in
// either case, next being the word one byte further on.
func bePairs(w, next uint64) uint64 {
	const bit5, bees, ees = ones * 0x20, ones * 'b', ones * 'e'
	c := (w | bit5 ^ bees) | (next | bit5 ^ ees)
	return (c - ones) &^ c & highs
}

// keyTail reports whether the key before the separator at p may be one this
// package looks at: its last three letters are those of password, passwd,
// pwd, pass, secret, token, apikey, secretaccesskey or authorization (whose
// 'z' it checks too), or the separator follows something this quick look
// does not handle (blanks, escaped or single quotes), or the key is too close
// to the start to look at. keyValue decides the rest.
func keyTail(s string, p int) bool {
	if p < 7 {
		return true
	}
	j := p - 1 - int(quoteAfterKey[s[p-1]]) // a table, not a branch: half the keys are quoted
	t := uint8(tails[s[j]]) & uint8(tails[s[j-1]]>>8) & uint8(tails[s[j-2]]>>16)
	if t == tailIon {
		return s[j-5]|0x20 == 'z'
	}
	return t|keySkip[s[j]] != 0
}

// The last three letters of the key names keyTail knows, one bit each per
// name. tails holds, for each byte, the bits of the names whose last letter
// it is (low byte), whose letter before the last (second byte) and whose
// third letter from the end (third byte): a key may be one when the three
// bytes it reads share a bit. One table, not three: one address in the loop.
const tailIon = 1 << 7 // authorization

var tails = func() (t [256]uint32) {
	for bit, tail := range [...]string{"ord", "swd", "pwd", "ass", "ret", "key", "ken", "ion"} {
		for k, shift := range [...]uint{16, 8, 0} { // tail[0] is third from the end
			c := tail[k]
			t[c] |= 1 << bit << shift
			t[c-'a'+'A'] |= 1 << bit << shift
		}
	}
	return t
}()

// quoteAfterKey is 1 for a double quote: keyTail skips one after the key.
var quoteAfterKey = [256]uint8{'"': 1}

// keySkip marks what may stand between a key and its separator besides one
// double quote: blanks, quotes, backslashes. keyTail leaves those to keyValue.
var keySkip = func() (t [256]uint8) {
	for _, c := range []byte(" \t\"'\\") {
		t[c] = 1
	}
	return t
}()
