package emf

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestFlushWritesEMF(t *testing.T) {
	t.Parallel()
	s := New("transform")
	s.now = func() time.Time { return time.UnixMilli(1763787888000) }
	s.Count(RecordsIn, 3)
	s.Count(RecordsIn, 2)
	s.Add(BytesIn, Bytes, 1024)
	var buf bytes.Buffer
	if err := s.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	want := `{"BytesIn":1024,"Function":"transform","RecordsIn":5,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function"]],"Metrics":[{"Name":"BytesIn","Unit":"Bytes"},{"Name":"RecordsIn","Unit":"Count"}],"Namespace":"Tributary"}],"Timestamp":1763787888000}}`
	norm, _ := json.Marshal(got)
	if string(norm) != want {
		t.Errorf("got  %s\nwant %s", norm, want)
	}
	buf.Reset()
	if err := s.Flush(&buf); err != nil || buf.Len() != 0 {
		t.Errorf("second flush wrote %q (err %v), want nothing", buf.String(), err)
	}
}
