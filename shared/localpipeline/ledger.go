package localpipeline

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tributary-logs/tributary/shared/cwlogs"
)

// Ledger follows every generated event to its end, so a run can prove that
// nothing was lost and nothing duplicated.
type Ledger struct {
	events      map[string]*eventFate
	corrupt     int // records that can only end as ProcessingFailed
	directLines int // lines put straight into the stream (ids made by transform)
	directSeen  int
}

type eventFate struct {
	Raw int // times it reached raw/
}

func newLedger() *Ledger { return &Ledger{events: map[string]*eventFate{}} }

func (l *Ledger) generated(evs []cwlogs.LogEvent) {
	for _, e := range evs {
		l.events[e.ID] = &eventFate{}
	}
}

// raw records the events of one Ok record's NDJSON.
func (l *Ledger) raw(ndjson []byte) error {
	for _, line := range bytes.Split(bytes.TrimSuffix(ndjson, []byte("\n")), []byte("\n")) {
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("transform wrote a line that is not JSON: %w", err)
		}
		if f, ok := l.events[rec.ID]; ok {
			f.Raw++
		} else {
			l.directSeen++
		}
	}
	return nil
}

// Problems lists every event not accounted for exactly once.
func (l *Ledger) Problems() []string {
	var out []string
	lost, dup := 0, 0
	for id, f := range l.events {
		switch {
		case f.Raw == 0:
			lost++
			if lost <= 5 {
				out = append(out, "lost before raw/: "+id)
			}
		case f.Raw > 1:
			dup++
			if dup <= 5 {
				out = append(out, fmt.Sprintf("in raw/ %d times: %s", f.Raw, id))
			}
		}
	}
	if lost > 5 || dup > 5 {
		out = append(out, fmt.Sprintf("%d lost and %d duplicated in all", lost, dup))
	}
	if l.directSeen != l.directLines {
		out = append(out, fmt.Sprintf("%d direct-put lines reached raw/, want %d", l.directSeen, l.directLines))
	}
	return out
}
