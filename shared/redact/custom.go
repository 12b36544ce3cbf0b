package redact

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// newCustom makes a rule of a deployment's expression. It finds a literal
// that every match must contain, so that most messages are rejected by a
// byte search instead of running the expression, and picks the byte of it
// that is likely rarest in logs to search for.
func newCustom(re *regexp.Regexp) Rule {
	c := Rule{Name: CustomName, Description: "custom expression " + re.String(), Pattern: re, secret: re.SubexpIndex("secret")}
	c.literal, _ = re.LiteralPrefix()
	if c.literal == "" {
		if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
			c.literal = requiredLiteral(t.Simplify())
		}
	}
	for i := 0; i < len(c.literal); i++ {
		if byteRank(c.literal[i]) < byteRank(c.literal[c.anchor]) {
			c.anchor = i
		}
	}
	return c
}

// requiredLiteral returns the longest case-sensitive literal that every match
// of t contains, or "" when it finds none.
func requiredLiteral(t *syntax.Regexp) string {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(t.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return requiredLiteral(t.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range t.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// byteRank guesses how common a byte is in log text, from 1 (rare) to 9.
func byteRank(c byte) int {
	for rank, set := range [...]string{
		"QZJXKVWYBFGHMPU",         // upper-case letters outside common words
		"!#$%&*+;<>?@[\\]^`{|}~'", // rare punctuation
		"qzjx",                    // rare lower-case letters
		"ETAOINSRLCD_=()",         // upper-case letters of INFO, ERROR, GET...
		"kwyvbgf",                 // lower-case letters, less common
		"-/6789",                  // dashes, slashes, digits
		"pmuhcld012345",           // lower-case letters and digits, common
		"etaoinsr",                // the commonest letters
	} {
		if strings.IndexByte(set, c) >= 0 {
			return rank + 1
		}
	}
	if c >= 0x80 {
		return 8 // UTF-8 text
	}
	return 9 // blanks, quotes, ':', ',', '.', control bytes
}

// findCustom adds the matches of a custom rule, or of its group named secret.
func findCustom(s string, m *matches, c *Rule) {
	if c.literal != "" && !c.contains(s) {
		return
	}
	if !c.Pattern.MatchString(s) {
		return
	}
	for _, loc := range c.Pattern.FindAllStringSubmatchIndex(s, -1) {
		start, end := loc[0], loc[1]
		if c.secret > 0 {
			start, end = loc[2*c.secret], loc[2*c.secret+1]
		}
		if start >= 0 && end > start {
			m.add(start, end, ruleCustom)
		}
	}
}

// contains reports whether s contains the rule's literal, searching for its
// anchor byte.
func (c *Rule) contains(s string) bool {
	lit, a := c.literal, c.anchor
	for i := a; i < len(s); {
		j := strings.IndexByte(s[i:], lit[a])
		if j < 0 {
			return false
		}
		i += j
		if i-a+len(lit) <= len(s) && s[i-a:i-a+len(lit)] == lit {
			return true
		}
		i++
	}
	return false
}
