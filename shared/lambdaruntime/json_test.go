package lambdaruntime

import "testing"

func TestEqualJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
		err  string
	}{
		{`{"a":1,"b":[1,2]}`, "{ \"b\" : [1, 2],\n \"a\": 1 }", true, ""},
		{`1`, `1.0`, true, ""},
		{`100`, `1e2`, true, ""},
		{`12345678901234567890`, `12345678901234567891`, false, ""}, // beyond float64 precision
		{`0.1`, `0.10000000000000001`, false, ""},
		{`[1,2]`, `[2,1]`, false, ""},
		{`{"a":null}`, `{}`, false, ""},
		{`{"a":"1"}`, `{"a":1}`, false, ""},
		{`"é"`, `"\u00e9"`, true, ""},
		{`true`, `true`, true, ""},
		{`{"a":[{"b":{}}]}`, `{"a":[{"b":[]}]}`, false, ""},
		{`{`, `{}`, false, "first document: invalid JSON: unexpected EOF"},
		{`{}`, `{} {}`, false, "second document: invalid JSON: data after the first value"},
		{`{}`, ``, false, "second document: invalid JSON: EOF"},
	} {
		got, err := EqualJSON([]byte(tc.a), []byte(tc.b))
		errStr := ""
		if err != nil {
			errStr = err.Error()
		}
		if got != tc.want || errStr != tc.err {
			t.Errorf("EqualJSON(%s, %s) = %v, %q; want %v, %q", tc.a, tc.b, got, errStr, tc.want, tc.err)
		}
	}
}

func TestNormalizeJSON(t *testing.T) {
	t.Parallel()
	got, err := NormalizeJSON([]byte(`{"b":[1.50,{"d":"<x>","c":null}],"a":12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "a": 12345678901234567890,
  "b": [
    1.50,
    {
      "c": null,
      "d": "<x>"
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := NormalizeJSON([]byte(`nope`)); err == nil {
		t.Error("NormalizeJSON accepted invalid JSON")
	}
}
