// Package redact removes secrets and personal data from log messages before
// anything is stored: AWS credentials, bearer tokens, JWTs, passwords, email
// addresses, card numbers and Korean resident registration numbers, plus the
// deployment's own regular expressions (REDACT_PATTERNS).
//
// A match is replaced by a placeholder that names its rule, such as
// "[REDACTED:email]". Where a rule keys on context (password=..., Bearer ...,
// aws_secret_access_key=...), the context stays and only the value goes.
//
// Redact runs on every log event, so the built-in rules are hand-written
// scanners rather than regular expressions: each looks for a cheap trigger
// first (a byte such as '@' or 'J', a separator, a long enough run of digits)
// and validates only there. A message that holds no secret is returned as it
// came, without allocating.
//
// # Decisions on edge cases
//
// aws_access_key_id: one of the ten documented prefixes (AKIA, ASIA, ...)
// and 16 characters of [A-Z2-7], and nothing word-like on either side: not
// inside a longer token, with '_' counting as part of a word as in a regexp \b.
//
// aws_secret_access_key: exactly 40 characters of [A-Za-z0-9/+], and only
// as the value of a key whose name ends in secretaccesskey or secretkey,
// compared without case and skipping '_', '-' and '.' (aws_secret_access_key=,
// "SecretAccessKey":", secret_key: , AWS_SECRET_ACCESS_KEY=). A bare
// 40-character string is left alone: git SHAs and many ids look the same.
//
// bearer_token: "bearer" in any case, as a word, then blanks and an RFC 6750
// credential; the scheme word stays. After an Authorization header name
// (Authorization:, "authorization":, Proxy-Authorization=, Go's
// map[Authorization:[...]]) the Basic or Bearer credential goes whatever it
// looks like. Elsewhere the credential must look like one, so prose such as
// "bearer authentication" survives: at least 8 characters with a digit, or at
// least 20. Basic credentials are counted under bearer_token too.
//
// jwt: "eyJ" at the start of a base64url token, a '.', a second segment that
// starts with "eyJ", a '.', and a signature segment that may be empty.
//
// password: the value after a key, in key=value, key: value, "key":"value",
// 'key': 'value' and JSON escaped inside a JSON string (\"key\":\"value\"), at
// any depth of escaping. A key matches when it ends in password, passwd, pwd,
// pass, secret, apikey or token (which covers client_secret, api_key and
// access_token), compared without case and skipping '_', '-' and '.', and
// that name starts the key or one of its components: after _ - . or at a
// camelCase hump. So db_password, x-api-key, clientSecret, accessToken,
// spring.datasource.password and --password match. A name that merely starts
// with one does not (password_reset_sent=true, tokenizer=, passwordless:), nor
// one that hides it inside a word (bypass=), nor the word in prose ("password
// changed"). Unquoted null, true and false and values that open an object or
// an array are not secrets. PWD= (the shell's working directory) is a pwd key
// too, and nextToken= (a pagination cursor) a token key: both are redacted.
// URLs with userinfo (scheme://user:pass@host, also JSON-escaped :\/\/) lose
// the password only; a URL with a user and no password is left alone.
//
// email: local@domain.tld with a domain of at least two labels and a TLD of
// two or more letters, so user@localhost, npm scopes (@types/node), Go module
// versions (chi/v5@v5.1.0) and Java object ids (Foo@1a2b3c) are not
// addresses. Not an address either: the user part of a URL
// (https://user@host), and scp-style remotes and host:port, where the domain
// is followed by ':' and a visible character other than a quote
// (git@github.com:org/repo.git) — they name hosts, not people. Image names
// such as icon@2x.png are skipped.
//
// card_number: 13 to 19 digits that pass the Luhn check and start with 2-6,
// written in one run or in groups separated by single spaces or single dashes
// (the first group of four digits, the rest of three to six, one kind of
// separator throughout). The number must stand alone: a digit run that is part
// of a longer word or number (a 56-digit CloudWatch event id, a float's
// fraction, an id with letters, a resource id such as eni-0123...) is never
// cut into a card-sized window. Epoch timestamps (milli-, micro- and
// nanoseconds) start with 1 and so are never card numbers. The value of a key
// named id or ending in an id component (span_id, spanId, requestID) is an
// identifier, not a card, even when it happens to pass the Luhn check.
//
// kr_rrn: YYMMDD-GNNNNNN with a real month and day (29 February allowed, the
// century being unknown) and G from 1 to 8 (5-8: foreign residents). With the
// dash that is enough: numbers issued since October 2020 need not satisfy the
// check digit. Without the dash the 13 digits must also satisfy the check digit
// (weights 2,3,4,5,6,7,8,9,2,3,4,5, mod 11; for foreign residents the
// variant that adds 2 is accepted too), and must not be a plausible epoch
// millisecond timestamp (1400000000000 to 2099999999999, years 2014 to 2036):
// undashed numbers of people born in YY 14 to 20 are therefore missed. The
// number must stand alone as a card number must, and an undashed one under
// an id key is an id.
//
// Custom rules are the deployment's regular expressions. Each match becomes
// "[REDACTED:custom]"; when the expression has a group named secret, only that
// group is replaced. Empty matches are ignored.
//
// When matches of different rules overlap, the placeholder covers their union
// and names the rule whose match starts first (on a tie, the longer match, then
// the rule listed first). A match that is a placeholder already stays as it
// is, so redacting an output again changes nothing for the built-in rules;
// custom expressions that match inside placeholders can break that.
package redact

import (
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strings"
)

// ruleID numbers the rules: the built-ins in the order of config.RedactRules,
// then all custom rules together.
type ruleID uint8

const (
	ruleKeyID ruleID = iota
	ruleSecretKey
	ruleBearer
	ruleJWT
	rulePassword
	ruleEmail
	ruleCard
	ruleRRN
	ruleCustom
	nRules
)

// CustomName is the name, in placeholders and Counts, of every custom rule.
const CustomName = "custom"

// placeholders[id] replaces a match of rule id.
var placeholders = func() (p [nRules]string) {
	for id := range nRules {
		p[id] = "[REDACTED:" + ruleName(id) + "]"
	}
	return p
}()

const placeholderPrefix = "[REDACTED:"

func ruleName(id ruleID) string {
	if id == ruleCustom {
		return CustomName
	}
	return builtins[id].Name
}

// Rule is one redaction rule: a built-in scanner or a custom expression.
type Rule struct {
	// Name is what its placeholders and counts are called: a built-in rule
	// name, or CustomName.
	Name string
	// Description says what the rule finds, Example is a line it redacts.
	Description string
	Example     string
	// Pattern is the expression of a custom rule; nil for built-ins.
	Pattern *regexp.Regexp

	secret  int    // custom: index of the group named "secret", or -1
	literal string // custom: a literal every match contains, or ""
	anchor  int    // custom: the byte of literal that the search looks for
}

// Builtins returns the built-in rules in the order of their names in
// config.RedactRules.
func Builtins() []Rule { return slices.Clone(builtins[:]) }

// BuiltinNames returns the names of the built-in rules, the names REDACT takes.
func BuiltinNames() []string {
	names := make([]string, len(builtins))
	for i, r := range builtins {
		names[i] = r.Name
	}
	return names
}

// ErrUnknownRule is returned, wrapped, by New for a built-in rule name it
// does not know.
var ErrUnknownRule = errors.New("redact: unknown rule")

// Redactor applies a fixed set of rules. It is built once, at cold start, and
// is immutable, so one Redactor is safe for concurrent use. A nil Redactor
// redacts nothing.
type Redactor struct {
	on     [ruleCustom]bool // built-in rules in use, by id
	rules  []Rule
	custom []Rule
}

// New builds a Redactor from built-in rule names (see BuiltinNames) and
// custom expressions. An unknown name is an error that names it.
func New(builtin []string, custom []*regexp.Regexp) (*Redactor, error) {
	r := &Redactor{}
	for _, name := range builtin {
		i := slices.IndexFunc(builtins[:], func(b Rule) bool { return b.Name == strings.ToLower(name) })
		if i < 0 {
			return nil, fmt.Errorf("%w %q; known: %s", ErrUnknownRule, name, strings.Join(BuiltinNames(), ", "))
		}
		r.on[i] = true
	}
	for id, on := range r.on {
		if on {
			r.rules = append(r.rules, builtins[id])
		}
	}
	for i, re := range custom {
		if re == nil {
			return nil, fmt.Errorf("redact: custom rule %d is nil", i)
		}
		r.custom = append(r.custom, newCustom(re))
	}
	r.rules = append(r.rules, r.custom...)
	return r, nil
}

// Rules returns the rules r applies: built-ins first, in their fixed order,
// then custom rules in the order given.
func (r *Redactor) Rules() []Rule {
	if r == nil {
		return nil
	}
	return slices.Clone(r.rules)
}

// Redact returns s with every match replaced by its rule's placeholder, and
// how many placeholders each rule put in. When nothing matches it returns s
// itself and allocates nothing.
func (r *Redactor) Redact(s string) (string, Counts) {
	if r == nil || len(s) == 0 {
		return s, Counts{}
	}
	var m matches
	r.find(s, &m)
	if m.n == 0 {
		return s, Counts{}
	}
	return m.apply(s)
}

// find collects the matches of every rule in use, in any order.
func (r *Redactor) find(s string, m *matches) {
	if r.on[ruleKeyID] {
		findKeyIDs(s, m)
	}
	if r.on[rulePassword] || r.on[ruleSecretKey] || r.on[ruleBearer] {
		findKeysAndBearers(s, m, &r.on)
	}
	if r.on[ruleJWT] {
		findJWTs(s, m)
	}
	if r.on[rulePassword] || r.on[ruleEmail] {
		findAt(s, m, r.on[ruleEmail], r.on[rulePassword])
	}
	if r.on[ruleCard] || r.on[ruleRRN] {
		findNumbers(s, m, r.on[ruleCard], r.on[ruleRRN])
	}
	for i := range r.custom {
		findCustom(s, m, &r.custom[i])
	}
}

// Counts is how many placeholders each rule put into one message. It is a
// small value: add it up per batch and emit it as metrics.
type Counts struct {
	n [nRules]uint32
}

// Total is the number of placeholders of all rules.
func (c Counts) Total() int {
	t := 0
	for _, n := range c.n {
		t += int(n)
	}
	return t
}

// Of returns the count of the rule called name (a built-in name or
// CustomName); 0 for a name it does not know.
func (c Counts) Of(name string) int {
	for id := range nRules {
		if ruleName(id) == name {
			return int(c.n[id])
		}
	}
	return 0
}

// All yields each rule name whose count is not zero, with its count, in the
// order of the rules.
func (c Counts) All() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		for id, n := range c.n {
			if n > 0 && !yield(ruleName(ruleID(id)), int(n)) {
				return
			}
		}
	}
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	for i, n := range o.n {
		c.n[i] += n
	}
}

// span is one match: s[start:end] belongs to rule.
type span struct {
	start, end int32 // messages are far below 2 GiB (a Lambda payload is at most 6 MB)
	rule       ruleID
}

// matches collects spans; the first few live in the array, on the caller's
// stack, so finding nothing or a few things allocates nothing here.
type matches struct {
	n     int
	fixed [8]span
	more  []span
}

func (m *matches) add(start, end int, rule ruleID) {
	sp := span{int32(start), int32(end), rule}
	if m.n < len(m.fixed) {
		m.fixed[m.n] = sp
		m.n++
		return
	}
	if m.more == nil {
		m.more = append(make([]span, 0, 2*len(m.fixed)), m.fixed[:]...)
	}
	m.more = append(m.more, sp)
	m.n++
}

func (m *matches) spans() []span {
	if m.more != nil {
		return m.more
	}
	return m.fixed[:m.n]
}

// apply writes s with the spans replaced. Overlapping spans become one
// placeholder, named after the span that starts first. A span that is a
// placeholder already stays as it is.
func (m *matches) apply(s string) (string, Counts) {
	sp := m.spans()
	slices.SortFunc(sp, func(a, b span) int {
		switch {
		case a.start != b.start:
			return int(a.start - b.start)
		case a.end != b.end:
			return int(b.end - a.end)
		}
		return int(a.rule) - int(b.rule)
	})
	var c Counts
	var b strings.Builder
	b.Grow(len(s) + len(sp)*len("[REDACTED:aws_secret_access_key]"))
	last := int32(0)
	for i := 0; i < len(sp); {
		cur := sp[i]
		for i++; i < len(sp) && sp[i].start < cur.end; i++ {
			cur.end = max(cur.end, sp[i].end)
		}
		if isPlaceholder(s[cur.start:cur.end]) {
			continue // already redacted
		}
		b.WriteString(s[last:cur.start])
		b.WriteString(placeholders[cur.rule])
		c.n[cur.rule]++
		last = cur.end
	}
	if last == 0 {
		return s, c
	}
	b.WriteString(s[last:])
	return b.String(), c
}
