// Package config reads each function's settings from its environment once, at
// cold start, into a typed struct. A missing or malformed variable stops the
// function with one message that names the variable, so a bad deployment fails
// loudly at init instead of mangling data later.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LookupFunc matches os.LookupEnv; tests pass a map-backed one.
type LookupFunc func(string) (string, bool)

// Error names the variable that is wrong and why.
type Error struct {
	Variable string
	Reason   string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s %s", e.Variable, e.Reason) }

// reader collects the first error of each variable; Load functions report all
// of them at once so one deploy fixes every mistake.
type reader struct {
	lookup LookupFunc
	errs   []error
	read   map[string]bool
}

func newReader(lookup LookupFunc) *reader {
	return &reader{lookup: lookup, read: map[string]bool{}}
}

func (r *reader) raw(name string) (string, bool) {
	r.read[name] = true
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, &Error{Variable: name, Reason: fmt.Sprintf(format, args...)})
}

func (r *reader) required(name string) string {
	v, ok := r.raw(name)
	if !ok {
		r.fail(name, "is required but not set")
	}
	return v
}

func (r *reader) str(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "is %q; want one of %s", v, strings.Join(allowed, ", "))
	return def
}

func (r *reader) integer(name string, def, min, max int64) int64 {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(name, "is %q; want an integer", v)
		return def
	}
	if n < min || n > max {
		r.fail(name, "is %d; want %d..%d", n, min, max)
		return def
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "is %q; want true or false", v)
		return def
	}
	return b
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(name, "is %q; want a duration such as 30s", v)
		return def
	}
	return d
}

// list accepts a JSON array of strings or a comma-separated list.
func (r *reader) list(name string) []string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	if strings.HasPrefix(v, "[") {
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			r.fail(name, "is not a JSON list of strings: %v", err)
			return nil
		}
		return out
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// regexps compiles a list of patterns; a JSON list is needed when a pattern
// contains a comma.
func (r *reader) regexps(name string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range r.list(name) {
		re, err := regexp.Compile(p)
		if err != nil {
			r.fail(name, "has an invalid regular expression %q: %v", p, err)
			continue
		}
		out = append(out, re)
	}
	return out
}

// arn checks the shape only; whether it exists is learned on first use.
func (r *reader) arn(name string, required bool) string {
	var v string
	if required {
		v = r.required(name)
	} else {
		v = r.str(name, "")
	}
	if v != "" && !strings.HasPrefix(v, "arn:") {
		r.fail(name, "is %q; want an ARN (arn:aws:...)", v)
	}
	return v
}

func (r *reader) err() error {
	return errors.Join(r.errs...)
}

func (r *reader) names() []string {
	out := make([]string, 0, len(r.read))
	for n := range r.read {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Common is what every function reads.
type Common struct {
	Region   string
	LogLevel string
}

func readCommon(r *reader) Common {
	return Common{
		Region:   r.required("AWS_REGION"),
		LogLevel: r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
	}
}
