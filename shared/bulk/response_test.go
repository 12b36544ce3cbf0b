package bulk

import (
	"testing"

	"github.com/valyala/fastjson"
)

func TestParseResponse(t *testing.T) {
	t.Parallel()
	var p fastjson.Parser
	body := []byte(`{"took":3,"errors":true,"items":[` +
		`{"create":{"_index":"a","_id":"1","status":201}},` +
		`{"create":{"_index":"a","_id":"2","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]","caused_by":{"type":"number_format_exception","reason":"For input string: \"y\""}}}},` +
		`{"index":{"_index":"a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}}]}`)
	res := make([]ItemResult, 3)
	if err := parseResponse(&p, body, res); err != nil {
		t.Fatal(err)
	}
	if res[0] != (ItemResult{Status: 201}) || res[1].Type != "mapper_parsing_exception" ||
		res[1].Reason != `failed to parse field [x]: For input string: "y"` || res[2].Status != 429 {
		t.Errorf("results = %+v", res)
	}
	for name, bad := range map[string]string{
		"not json":    `{`,
		"short":       `{"items":[{"create":{"status":201}}]}`,
		"no status":   `{"items":[{"create":{}},{"create":{}},{"create":{}}]}`,
		"two actions": `{"items":[{"create":{"status":201},"index":{}},{"create":{"status":201}},{"create":{"status":201}}]}`,
	} {
		if err := parseResponse(&p, []byte(bad), res); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"took":1,"errors":false,"items":[{"create":{"status":201}}]}`), 1)
	f.Add([]byte(`{"items":[{"create":{"status":409,"error":"x"}}]}`), 1)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		var p fastjson.Parser
		res := make([]ItemResult, n)
		if err := parseResponse(&p, body, res); err == nil {
			for _, r := range res {
				if r.Status == 0 {
					t.Fatal("accepted an item without status")
				}
			}
		}
	})
}
