package lambdaruntime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// EqualJSON reports whether a and b hold the same JSON value: object key
// order and whitespace are ignored, and numbers compare by exact value
// (1, 1.0 and 1e0 are equal; no float64 rounding). Each input must be exactly
// one JSON value; an error says which one is not.
func EqualJSON(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, fmt.Errorf("first document: %w", err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, fmt.Errorf("second document: %w", err)
	}
	return equalValue(va, vb), nil
}

// NormalizeJSON re-encodes one JSON value with sorted object keys, two-space
// indentation, no HTML escaping and a final newline, so two normalized
// documents are equal as text when they differ only in formatting and key
// order. Number literals are kept as written. Use it for golden files.
func NormalizeJSON(b []byte) ([]byte, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return out.Bytes(), nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the first value")
	}
	return v, nil
}

func equalValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !equalValue(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		ra, okA := new(big.Rat).SetString(a.String())
		rb, okB := new(big.Rat).SetString(b.String())
		return okA && okB && ra.Cmp(rb) == 0
	default: // string, bool, nil
		return a == b
	}
}
